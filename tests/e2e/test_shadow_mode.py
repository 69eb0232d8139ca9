"""Shadow mode end to end: the local stack (template.yaml) with rules of its own, driven over HTTP.

A comment that shadow rules would reject and mask, and whose sender they would strike and mute, is
delivered unchanged in the emulator's room; no REST action of theirs reaches the emulator; no strike
is recorded in the state table; and `liveguard audit ROOM` shows what they would have done. A live
rule on the room's info (``settle``) is the marker: its action is queued in the room's FIFO groups
behind anything the comment could have caused, so once it has landed nothing more can come."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from liveguard.aws.state_table import StateTable
from liveguard_local.driver import Driver
from liveguard_local.stack import LocalStack
from liveguard_ops.cli import main

from .conftest import e2e_stack, eventually

HOST, VIEWER = "host", "viewer"
TEXT = "get FREE COINS now"
RULES = """\
version: 1
terms:
  banned: [free coins]
rules:
  - name: terms-reject
    mode: shadow
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [banned]}
    verdict: {action: reject, reason: spam}
    strike: true
  - name: terms-mask
    mode: shadow
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [banned]}
    verdict: mask
  - name: strikes-mute
    mode: shadow
    on: [Group.CallbackBeforeSendMsg]
    when: {strikes: {within: 600, at_least: 1}}
    then:
      - command: mute_member
        params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: 600}
    sanction: {kind: muted, seconds: 600}
  - name: settle
    on: [Live.CallbackAfterUpdateRoomInfo]
    when: {actor: any}
    then:
      - command: set_room_metadata
        params: {RoomId: "{room_id}", Metadata: [{Key: settled, Value: "{event_id}"}]}
"""


@pytest.fixture(scope="module")
def shadow_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Driver]]:
    """The whole app on loopback with the rules above."""
    with e2e_stack(tmp_path_factory, "e2e-shadow", rules=RULES) as local, httpx.Client(timeout=10) as http:
        yield local, Driver.of(local, http)


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["ErrorCode"] == 0, reply
    response: dict[str, Any] = reply.get("Response") or {}
    return response


def settle(stack: Driver, room_id: str) -> None:
    """Wait until everything LiveGuard would do in the room so far is done (see the module's doc)."""
    ok(stack.act("update_room_info", HOST, RoomId=room_id, Notice=secrets.token_hex(3)))
    eventually(lambda: "settled" in stack.metadata(room_id), "the settle rule's metadata")


def audit(local: LocalStack, room_id: str, capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    capsys.readouterr()
    assert main(["audit", room_id, "--local-file", str(local.settings_path), *args]) == 0
    return capsys.readouterr().out.splitlines()


def test_a_comment_shadow_rules_would_reject_is_delivered_unchanged_and_audited_as_would_have(
    shadow_stack, capsys
):
    local, stack = shadow_stack
    room_id = f"shadow-{secrets.token_hex(3)}"
    ok(stack.act("create_room", HOST, RoomId=room_id))
    ok(stack.act("enter_room", VIEWER, RoomId=room_id))
    # When a viewer posts a comment the shadow rules would reject (or mask), strike and mute
    reply = ok(stack.act("send_text_msg", VIEWER, RoomId=room_id, Text=TEXT))
    # Then Tencent was answered as if they were not there: the comment is delivered unchanged
    assert reply["text"] == TEXT
    room = stack.room(room_id)
    assert room is not None
    assert [
        (message["Outcome"], message["MsgBody"][0]["MsgContent"]["Text"])
        for message in room["Messages"]
        if message["From_Account"] == VIEWER
    ] == [("delivered", TEXT)]
    # And once LiveGuard has handled the room's events, no REST action of theirs reached the emulator
    # (the only calls for the room are the settle rule's), and the viewer is not muted
    settle(stack, room_id)
    assert {call["command"] for call in stack.calls(room_id=room_id)} == {"set_room_metadata"}
    room = stack.room(room_id)
    assert room is not None
    assert room["MutedAccountList"] == []
    # And no strike or sanction is recorded in the state table
    aws = local.settings()
    client = boto3.client(
        "dynamodb",
        endpoint_url=aws["endpoints"]["aws"],
        region_name=aws["region"],
        aws_access_key_id=aws["aws_credentials"]["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws["aws_credentials"]["AWS_SECRET_ACCESS_KEY"],
    )
    state = StateTable(aws["tables"]["StateTable"], client)
    now = time.time()
    assert state.strike_count(room_id, VIEWER, 600, now + 1) == 0
    assert state.sanction(room_id, VIEWER, now) is None
    # And the room's audit shows the comment with what each shadow rule would have done
    lines = audit(local, room_id, capsys)
    event = next(index for index, line in enumerate(lines) if "Group.CallbackBeforeSendMsg" in line)
    assert "rules (none)  verdict deliver" in lines[event]
    would_have = [line.strip() for line in lines[event + 1 :] if line.startswith("    ")]
    assert would_have[0] == "would have  rule terms-reject (shadow)  verdict reject (ErrorCode 1): spam"
    assert "change   strike viewer" in would_have
    assert "would have  rule terms-mask (shadow)  verdict rewrite (not the answer)" in would_have
    assert any(
        line.startswith('MsgBody  [{"MsgType":"TIMTextElem"') and "get ********** now" in line
        for line in would_have
    )
    assert "would have  rule strikes-mute (shadow)" in would_have
    assert any(line.startswith("action   mute_member ") for line in would_have)
    # And --json carries the same, whole
    records = [json.loads(line) for line in audit(local, room_id, capsys, "--json")]
    (comment,) = [record for record in records if record["command"] == "Group.CallbackBeforeSendMsg"]
    assert (comment["rules"], comment["actions"], comment["changes"]) == ([], [], [])
    assert [(firing["rule"], firing["decides"]) for firing in comment["shadow"]] == [
        ("terms-reject", True),
        ("terms-mask", False),
        ("strikes-mute", False),
    ]
    assert comment["shadow"][0]["verdict"]["code"] == 1
