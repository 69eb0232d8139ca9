"""`liveguard review list|show|approve|deny` against moto's server, on holds the real Moderator wrote
into the real state table (rules with a ``hold`` verdict, the journal's one transaction): listing in
one query across rooms, approving queues exactly one send_group_msg action however often, denying
with a strike, and an expired hold that cannot be approved."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from liveguard.aws.action_queue import SqsActionQueue
from liveguard.aws.delayed_action_queue import SqsDelayedActionQueue
from liveguard.aws.state_table import StateTable
from liveguard.messages import CallbackQuery, EventEnvelope, message_group
from liveguard.moderator import Moderator
from liveguard.review import RESEND_MARK
from liveguard.rules.engine import evaluate, snapshots_from_admin
from liveguard.rules.loader import parse_rules
from liveguard.rules.outcome import EmptyState
from liveguard.webhooks.models import parse_callback
from liveguard_ops.cli import main
from tests.aws import commands_moto_server, create_state_table

ADMIN = "administrator"
RULES = parse_rules(
    """
version: 1
terms:
  borderline: [maybe spam]
rules:
  - name: hold-borderline
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [borderline]}
    verdict: {action: hold, reason: "a moderator will read it", expires: 3600}
"""
)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch, commands_moto_server(patch) as url:
        yield url


class Stack:
    """The state table and the actions queues in moto, and the Moderator that writes into them."""

    def __init__(self, endpoint: str, tmp_path: Path) -> None:
        self.dynamodb = boto3.client("dynamodb", endpoint_url=endpoint)
        self.sqs = boto3.client("sqs", endpoint_url=endpoint)
        suffix = uuid.uuid4().hex[:8]
        self.table = f"liveguard-state-{suffix}"
        create_state_table(self.dynamodb, self.table)
        self.actions_url = self.sqs.create_queue(
            QueueName=f"liveguard-actions-{suffix}.fifo",
            Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"},
        )["QueueUrl"]
        delayed_url = self.sqs.create_queue(QueueName=f"liveguard-delayed-actions-{suffix}")["QueueUrl"]
        self.state = StateTable(self.table, self.dynamodb)
        self.moderator = Moderator(
            state=self.state,
            actions=SqsActionQueue(self.actions_url, self.sqs),
            delayed=SqsDelayedActionQueue(delayed_url, self.sqs),
            evaluate=evaluate,
            rules=RULES,
            admin=ADMIN,
            snapshots_from_admin=snapshots_from_admin,
        )
        self.local_file = tmp_path / "local.json"
        self.local_file.write_text(
            json.dumps(
                {
                    "aws_credentials": {"AWS_ENDPOINT_URL": endpoint},
                    "tables": {"StateTable": self.table},
                    "queues": {"ActionsQueue": self.actions_url},
                }
            )
        )

    def comment(self, room: str, sender: str, text: str, *, age: float = 0.0, data: str | None = None) -> str:
        """A viewer's comment through the ingress's inline verdict and the moderator; its event id."""
        event: dict[str, Any] = {
            "CallbackCommand": "Group.CallbackBeforeSendMsg",
            "GroupId": room,
            "From_Account": sender,
            "Operator_Account": sender,
            "Random": 1,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
        }
        if data is not None:
            event["CloudCustomData"] = data
        received_at = round((time.time() - age) * 1000)
        event_id = hashlib.sha256(f"{room}{sender}{text}{received_at}".encode()).hexdigest()
        callback = parse_callback("Group.CallbackBeforeSendMsg", event)
        inline = evaluate(
            callback, EmptyState(), RULES, now=received_at / 1000, admin=ADMIN, event_id=event_id
        ).verdict
        envelope = EventEnvelope(
            id=event_id,
            command="Group.CallbackBeforeSendMsg",
            received_at=received_at,
            query=CallbackQuery(),
            event=event,
            decision=inline,
            group=message_group(room),
        )
        self.moderator.moderate(envelope)
        return event_id

    def cli(self, *args: str) -> int:
        return main(["review", *args, "--local-file", str(self.local_file)])

    def queued_actions(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            answer = self.sqs.receive_message(QueueUrl=self.actions_url, MaxNumberOfMessages=10)
            messages = answer.get("Messages", [])
            if not messages:
                return found
            found.extend(json.loads(message["Body"]) for message in messages)


@pytest.fixture
def stack(endpoint: str, tmp_path: Path) -> Stack:
    return Stack(endpoint, tmp_path)


def test_list_shows_every_rooms_waiting_holds_oldest_first_and_not_the_expired(stack, capsys):
    # Given held comments in two rooms, one of them held two hours ago (expired after one), and one
    # comment no rule holds
    old = stack.comment("room-a", "eve", "maybe spam from long ago", age=7200)
    first = stack.comment("room-b", "bob", "maybe spam, first", age=60)
    second = stack.comment("room-a", "carol", "maybe spam, second", age=30)
    stack.comment("room-a", "dan", "a fine comment")
    # When the waiting holds are listed, across rooms and for room-a
    assert stack.cli("list") == 0
    across = capsys.readouterr().out.splitlines()
    assert stack.cli("list", "--room", "room-a", "--json") == 0
    in_room = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    # Then both rooms' holds, oldest first, with sender, rule and text; never the expired one
    assert [line.split()[0] for line in across] == [first[:16], second[:16]]
    assert "room room-b  from bob  rule hold-borderline  strikes 0" in across[0]
    assert across[0].endswith('"maybe spam, first"')
    assert old[:16] not in "\n".join(across)
    assert [(hold["id"], hold["sender"], hold["status"]) for hold in in_room] == [(second, "carol", "held")]


def test_show_gives_the_held_comments_context(stack, capsys):
    # Given a held comment carrying CloudCustomData
    held = stack.comment("room-a", "bob", "is this maybe spam?", data='{"badge":"vip"}')
    # When it is shown by a prefix of its id
    assert stack.cli("show", held[:10]) == 0
    lines = capsys.readouterr().out.splitlines()
    # Then the room, sender, rule and reason, the message as sent and what matched are there
    text = "\n".join(lines)
    assert f"hold      {held}" in lines
    assert "status    held" in lines
    assert "sender    bob  (strikes in the room: 0)" in lines
    assert "by rule hold-borderline: a moderator will read it  (sender told)" in text
    assert 'MsgBody   [{"MsgType":"TIMTextElem","MsgContent":{"Text":"is this maybe spam?"}}]' in lines
    assert 'CloudCustomData  "{\\"badge\\":\\"vip\\"}"' in lines
    assert 'matched   list borderline  term "maybe spam"  in MsgBody: "maybe spam"' in lines


def test_approving_queues_exactly_one_send_group_msg_as_the_sender_however_often_it_is_approved(
    stack, capsys
):
    # Given a held comment with the viewer's own CloudCustomData
    held = stack.comment("room-a", "bob", "maybe spam, but fine", data='{"badge":"vip"}')
    # When it is approved twice
    assert stack.cli("approve", held, "--by", "alice") == 0
    assert stack.cli("approve", held) == 0
    out = capsys.readouterr().out.splitlines()
    # Then one send_group_msg is on the actions queue (the second approval's copy deduplicated), to
    # the room as bob with the original MsgBody and the viewer's data plus the hold's mark
    actions = stack.queued_actions()
    assert [action["command"] for action in actions] == ["send_group_msg"]
    params = actions[0]["params"]
    assert (params["GroupId"], params["From_Account"]) == ("room-a", "bob")
    assert params["MsgBody"] == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "maybe spam, but fine"}}]
    assert json.loads(params["CloudCustomData"]) == {"badge": "vip", RESEND_MARK: held}
    assert out[0].startswith(f"hold {held[:16]} approved: send_group_msg")
    assert "already approved" in out[1]
    # And the hold is no longer listed, and the approval is in the room's audit with its reviewer
    assert stack.cli("list") == 0
    assert held[:16] not in capsys.readouterr().out
    assert main(["audit", "room-a", "--local-file", str(stack.local_file)]) == 0
    audit = capsys.readouterr().out
    assert f"review  review.approve  hold {held[:16]}  (rule hold-borderline)  approved by alice" in audit
    assert '"From_Account":"bob"' in audit


def test_denying_with_a_strike_counts_one_strike_against_the_sender_and_cannot_then_be_approved(
    stack, capsys
):
    # Given a held comment
    held = stack.comment("room-a", "mallory", "maybe spam again")
    # When it is denied with a strike, then denied again, then approved
    assert stack.cli("deny", held, "--strike") == 0
    assert stack.cli("deny", held, "--strike") == 0
    approved = stack.cli("approve", held)
    captured = capsys.readouterr()
    # Then one strike stands against mallory in the room, nothing is queued, and approving is refused
    assert stack.state.strike_count("room-a", "mallory", 3600, time.time()) == 1
    assert stack.queued_actions() == []
    assert approved == 1
    assert f"hold {held[:16]} was denied at" in captured.err
    assert "cannot approve it" in captured.err
    # And the denial and its strike are in the room's audit
    assert main(["audit", "room-a", "--user", "mallory", "--local-file", str(stack.local_file)]) == 0
    audit = capsys.readouterr().out
    assert "review.deny" in audit
    assert "strike   against mallory" in audit


def test_an_expired_hold_cannot_be_approved_and_nothing_is_sent(stack, capsys):
    # Given a comment held two hours ago by a rule that keeps holds for one
    held = stack.comment("room-a", "bob", "maybe spam, too late", age=7200)
    # When it is approved
    status = stack.cli("approve", held)
    # Then one line says it expired, exit 1, and nothing is queued
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 1
    assert len(err) == 1
    assert f"hold {held[:16]} expired at" in err[0]
    assert stack.queued_actions() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["show", "not-an-id"], "is not a hold id"),
        (["approve", "abc"], "is not a hold id"),
        (["show", "0123456789abcdef"], "no hold 0123456789abcdef"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(stack, capsys, args, message):
    # When a command is given an id that is not one, or names no hold
    status = stack.cli(*args)
    # Then one line says so, exit 2, no traceback
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2
    assert len(err) == 1
    assert message in err[0]
