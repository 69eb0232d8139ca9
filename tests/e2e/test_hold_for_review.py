"""Hold for review end to end on the local stack (its own rules, below): a comment a rule holds is not
delivered and its sender gets the configured answer; it waits in the review queue; `liveguard review
approve` sends it into the room as its original sender through Chat's send_group_msg (and LiveGuard
does not hold it again); `deny --strike` counts a strike; an expired hold cannot be approved; and a
viewer who forges the re-send's CloudCustomData mark is held like anyone else.

Driven over HTTP (app users through the emulator) and through the `liveguard` command, as an
operator would, reading the stack's local.json."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveguard.review import RESEND_MARK
from liveguard_local.driver import Driver
from liveguard_ops.cli import main

from .conftest import e2e_stack, eventually

HOST, VIEWER = "host", "viewer"
RULES = """\
version: 1
terms:
  borderline: [maybe spam]
  hush: [whisper this]
  fleeting: [fleeting words]
rules:
  - name: hold-borderline
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [borderline]}
    verdict: {action: hold, reason: "your comment awaits review", expires: 3600}
  - name: hold-quietly
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [hush]}
    verdict: {action: hold, notify: false}
  - name: hold-briefly
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [fleeting]}
    verdict: {action: hold, expires: 2}
"""


class Review:
    """The stack, and `liveguard` commands against it (their exit code and output)."""

    def __init__(self, stack: Driver, local_file: Path) -> None:
        self.stack = stack
        self.local_file = local_file

    def run(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        status = main([*args, "--local-file", str(self.local_file)])
        captured = capsys.readouterr()
        return status, captured.out, captured.err

    def held(self, capsys: pytest.CaptureFixture[str], room_id: str) -> list[dict[str, Any]]:
        status, out, _ = self.run(capsys, "review", "list", "--room", room_id, "--json")
        assert status == 0
        return [json.loads(line) for line in out.splitlines()]

    def audit(self, capsys: pytest.CaptureFixture[str], room_id: str) -> list[dict[str, Any]]:
        status, out, _ = self.run(capsys, "audit", room_id, "--json")
        assert status == 0
        return [json.loads(line) for line in out.splitlines()]


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Review]:
    with e2e_stack(tmp_path_factory, "e2e-hold", rules=RULES) as local, httpx.Client(timeout=10) as http:
        yield Review(Driver.of(local, http), local.settings_path)


def start_live(stack: Driver, room_id: str) -> None:
    assert stack.act("create_room", HOST, RoomId=room_id)["ErrorCode"] == 0
    assert stack.act("enter_room", VIEWER, RoomId=room_id)["ErrorCode"] == 0


def comment(stack: Driver, room_id: str, text: str, **fields: Any) -> dict[str, Any]:
    return stack.act("send_text_msg", VIEWER, RoomId=room_id, Text=text, **fields)


def delivered(stack: Driver, room_id: str, text: str) -> list[dict[str, Any]]:
    """The room's delivered messages whose text is ``text``."""
    room = stack.room(room_id) or {}
    return [
        message
        for message in room.get("Messages", [])
        if message["Outcome"] == "delivered"
        and any(element.get("MsgContent", {}).get("Text") == text for element in message["MsgBody"])
    ]


def test_a_held_comment_is_approved_into_the_room_as_its_sender_and_not_held_again(review, room_id, capsys):
    stack = review.stack
    start_live(stack, room_id)
    text = "is this maybe spam?"
    # When the viewer comments words the rule holds, with their own CloudCustomData
    reply = comment(stack, room_id, text, CloudCustomData='{"badge":"vip"}')
    # Then the viewer is told it awaits review (Tencent's pass-through code and our words)
    assert (reply["ErrorCode"], reply["ErrorInfo"]) == (10100, "your comment awaits review")
    # And nobody in the room got it
    assert delivered(stack, room_id, text) == []
    # And it waits in the review queue with its context
    holds = eventually(lambda: review.held(capsys, room_id), "the comment in the review queue")
    assert [(hold["sender"], hold["rule"], hold["status"]) for hold in holds] == [
        (VIEWER, "hold-borderline", "held")
    ]
    hold = holds[0]
    assert hold["msg_body"] == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    assert hold["cloud_custom_data"] == '{"badge":"vip"}'
    assert [match["term"] for match in hold["matches"]] == ["maybe spam"]

    # When a reviewer approves it
    status, _, err = review.run(capsys, "review", "approve", hold["id"][:12])
    assert (status, err) == (0, ""), err
    # Then it appears in the room as the viewer, through one send_group_msg, marked with the hold
    message = eventually(lambda: delivered(stack, room_id, text), "the approved comment in the room")[0]
    assert message["From_Account"] == VIEWER
    assert json.loads(message["CloudCustomData"]) == {"badge": "vip", RESEND_MARK: hold["id"]}
    sends = stack.calls("send_group_msg", room_id)
    assert [(call["body"]["From_Account"], call["code"]) for call in sends] == [(VIEWER, 0)]
    # And LiveGuard let its own re-send through: nothing new is held in the room
    assert review.held(capsys, room_id) == []

    # And the approval and the send's outcome at Tencent are in the room's audit
    def audit_with_send() -> list[dict[str, Any]] | None:
        records = review.audit(capsys, room_id)
        sent = any(r["kind"] == "action" and r["command"] == "send_group_msg" for r in records)
        return records if sent else None

    audit = eventually(audit_with_send, "the send's audit record")
    assert [(r["command"], r["outcome"]) for r in audit if r["kind"] == "review"] == [
        ("review.approve", "approved")
    ]
    assert [r["outcome"] for r in audit if r["command"] == "send_group_msg"] == ["done"]
    # And approving again sends nothing more
    assert review.run(capsys, "review", "approve", hold["id"])[0] == 0
    time.sleep(2)
    assert len(delivered(stack, room_id, text)) == 1
    assert len(stack.calls("send_group_msg", room_id)) == 1


def test_a_silent_hold_tells_the_sender_nothing_and_a_denial_counts_a_strike(review, room_id, capsys):
    stack = review.stack
    start_live(stack, room_id)
    # When the viewer comments words held quietly
    reply = comment(stack, room_id, "please whisper this")
    # Then the viewer's app sees it sent (Tencent's ErrorCode 2: dropped), yet nobody got it
    assert reply["ErrorCode"] == 0
    assert reply["Response"]["outcome"] == "dropped"
    assert delivered(stack, room_id, "please whisper this") == []
    hold = eventually(lambda: review.held(capsys, room_id), "the quiet hold in the review queue")[0]
    assert hold["notify"] is False
    # When a reviewer denies it with a strike
    status, _, err = review.run(capsys, "review", "deny", hold["id"], "--strike")
    assert status == 0, err
    # Then it is gone from the queue, one strike against the viewer is recorded with the denial
    assert review.held(capsys, room_id) == []
    denials = [r for r in review.audit(capsys, room_id) if r["command"] == "review.deny"]
    assert [[(c["kind"], c["user_id"]) for c in r["changes"]] for r in denials] == [[("strike", VIEWER)]]
    # And nothing was sent into the room
    assert delivered(stack, room_id, "please whisper this") == []


def test_an_expired_hold_cannot_be_approved(review, room_id, capsys):
    stack = review.stack
    start_live(stack, room_id)
    # Given a comment held by a rule whose holds expire after 2 s
    assert comment(stack, room_id, "some fleeting words")["ErrorCode"] == 10100
    decided = eventually(
        lambda: [r for r in review.audit(capsys, room_id) if r["rules"] == ["hold-briefly"]],
        "the hold's decision in the audit",
    )
    hold_id = decided[0]["id"]
    time.sleep(max(0.0, decided[0]["at_ms"] / 1000 + 2.5 - time.time()))
    # When a reviewer approves it after it expired
    status, _, err = review.run(capsys, "review", "approve", hold_id)
    # Then one line says it expired, exit 1, and nothing reaches the room
    assert status == 1
    assert len(err.strip().splitlines()) == 1
    assert "expired at" in err
    assert review.held(capsys, room_id) == []
    time.sleep(1)
    assert delivered(stack, room_id, "some fleeting words") == []


def test_a_viewers_forged_resend_mark_is_moderated_like_any_message(review, room_id, capsys):
    stack = review.stack
    start_live(stack, room_id)
    # When a viewer types the re-send's mark into their own CloudCustomData
    forged = json.dumps({RESEND_MARK: "0" * 64, "moderation_approved_resend": True})
    reply = comment(stack, room_id, "maybe spam, trust me", CloudCustomData=forged)
    # Then it is held like any comment: not delivered, and queued for review
    assert reply["ErrorCode"] == 10100
    assert delivered(stack, room_id, "maybe spam, trust me") == []
    holds = eventually(lambda: review.held(capsys, room_id), "the forged comment in the review queue")
    assert [hold["cloud_custom_data"] for hold in holds] == [forged]
