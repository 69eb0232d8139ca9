"""`liveguard local send` against a real local stack (LocalStack from template.yaml, a rules file of
its own): a hand-written comment is signed, posted, decided inline and moderated; `local up` names
the rules file; one comment with terms from two lists counts one strike, also when sent twice.

The CLI runs as its own process, as a developer runs it, and finds the stack through local.json."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from liveguard_local.stack import LocalStack
from liveguard_ops.cli import main
from tests.e2e.conftest import e2e_stack, eventually

ROOT = Path(__file__).resolve().parents[2]

RULES = """\
version: 1
terms:
  spam: [free coins]
  abuse: [badword]
rules:
  - name: spam
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [spam]}
    verdict: {action: mask}
    strike: true
  - name: abuse
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [abuse]}
    verdict: {action: mask}
    strike: true
  - name: struck-twice
    on: [Group.CallbackBeforeSendMsg]
    when: {strikes: {within: 600, at_least: 2}}
    violation: struck-twice
"""


@dataclass
class Sent:
    code: int
    out: str
    err: str


@dataclass
class Running:
    stack: LocalStack
    rules: Path
    local_file: Path

    def send(
        self, command: str, body: str, *, stdin: str | None = None, local_file: Path | None = None
    ) -> Sent:
        """`liveguard local send COMMAND BODY` in its own process."""
        where = str(local_file or self.local_file)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "liveguard_ops.cli",
                "local",
                "send",
                command,
                body,
                "--local-file",
                where,
            ],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Sent(done.returncode, done.stdout, done.stderr)

    def items(self, room: str, prefix: str) -> list[dict[str, Any]]:
        settings = self.stack.settings()
        credentials = settings["aws_credentials"]
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=settings["endpoints"]["aws"],
            region_name=credentials["AWS_REGION"],
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        )
        found: list[dict[str, Any]] = dynamodb.query(
            TableName=settings["tables"]["StateTable"],
            KeyConditionExpression="pk = :room AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":room": {"S": f"ROOM#{room}"}, ":prefix": {"S": prefix}},
            ConsistentRead=True,
        )["Items"]
        return found


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with e2e_stack(tmp_path_factory, "local-send", rules=RULES) as stack:
        assert stack.options.rules is not None
        yield Running(stack, stack.options.rules, stack.settings_path)


def comment(room: str, text: str, *, sender: str = "viewer-7") -> dict[str, Any]:
    return {
        "CallbackCommand": "Group.CallbackBeforeSendMsg",
        "GroupId": room,
        "Type": "Live",
        "From_Account": sender,
        "Operator_Account": sender,
        "Random": secrets.randbelow(2**32),
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
        "EventTime": 1_800_000_000_000,
    }


def write(path: Path, body: dict[str, Any]) -> str:
    path.write_text(json.dumps(body), encoding="utf-8")
    return str(path)


def answer(sent: Sent) -> dict[str, Any]:
    """The JSON answer `local send` printed after its status line."""
    status, _, rest = sent.out.partition("\n")
    assert status.startswith("HTTP 200 from http://127.0.0.1:"), sent.out + sent.err
    parsed: dict[str, Any] = json.loads(rest)
    return parsed


def room() -> str:
    return f"send-{secrets.token_hex(4)}"


def test_local_up_names_the_rules_file_it_runs_and_what_it_holds(running):
    lines = running.stack.describe().splitlines()
    holds = "3 rules (3 enabled), 1 callbacks, term lists: spam (1), abuse (1)"
    assert f"  rules     {running.rules.resolve()}: {holds}" in lines


def test_a_hand_written_comment_is_answered_with_the_rules_verdict(running, tmp_path):
    # Given a comment with a banned term, written by hand
    body = write(tmp_path / "comment.json", comment(room(), "free coins here"))
    # When it is sent to the local stack
    sent = running.send("Group.CallbackBeforeSendMsg", body)
    # Then the ingress authenticated it and answered the mask verdict, with the rewritten MsgBody
    assert sent.code == 0, sent.err
    reply = answer(sent)
    assert reply["ErrorCode"] == 0
    assert reply["MsgBody"][0]["MsgContent"]["Text"] == "********** here"


def test_an_events_file_is_sent_with_its_body_and_signed_afresh(running):
    # Given the API Gateway event under events/ (its Sign and RequestTime long stale)
    # When it is sent
    sent = running.send(
        "Group.CallbackBeforeSendMsg", str(ROOT / "events/callbacks/Group.CallbackBeforeSendMsg.json")
    )
    # Then its body reached the ingress, signed now: delivered as typed (no rule matches "red packet")
    assert sent.code == 0, sent.err
    assert answer(sent)["ErrorCode"] == 0


@pytest.mark.parametrize(
    "event", sorted((ROOT / "events/callbacks").glob("*.json")), ids=lambda path: path.stem
)
def test_every_event_under_events_callbacks_is_accepted_by_the_stack(running, capsys, event: Path):
    # Given an API Gateway event under events/callbacks/ (named after its CallbackCommand)
    # When it is sent (in process: the same main() the command runs)
    code = main(["local", "send", event.stem, str(event), "--local-file", str(running.local_file)])
    # Then the ingress authenticated and accepted it
    out = capsys.readouterr().out
    assert code == 0, out
    assert json.loads(out.partition("\n")[2])["ErrorCode"] == 0


def test_a_body_can_come_from_stdin(running):
    sent = running.send("Group.CallbackBeforeSendMsg", "-", stdin=json.dumps(comment(room(), "badword!")))
    assert sent.code == 0, sent.err
    assert answer(sent)["MsgBody"][0]["MsgContent"]["Text"] == "*******!"


def test_one_comment_with_terms_from_two_lists_counts_one_strike(running, tmp_path):
    # Given a comment holding a term of each list (two rules with strike: true fire)
    where = room()
    body = write(tmp_path / "both.json", comment(where, "free coins, badword"))
    # When it is sent, and sent again (a redelivery of the same callback)
    assert running.send("Group.CallbackBeforeSendMsg", body).code == 0
    assert running.send("Group.CallbackBeforeSendMsg", body).code == 0
    # Then the moderator decided it once, and the sender has one strike: the threshold of two
    # was not reached
    eventually(lambda: running.items(where, "AUDIT#"), "the moderator's decision")
    assert len(running.items(where, "STRIKE#")) == 1
    assert running.items(where, "VIOL#") == []
    # And a second comment reaches it
    assert (
        running.send(
            "Group.CallbackBeforeSendMsg", write(tmp_path / "2.json", comment(where, "badword"))
        ).code
        == 0
    )
    eventually(lambda: running.items(where, "VIOL#"), "the threshold's violation")
    assert len(running.items(where, "STRIKE#")) == 2


def test_a_body_naming_another_command_is_refused_in_one_line(running, tmp_path):
    body = write(tmp_path / "comment.json", comment(room(), "hello"))
    sent = running.send("Live.CallbackBeforeSendGift", body)
    assert sent.code == 2
    assert sent.out == ""
    assert sent.err == (
        f"liveguard local send: {body}: the body's CallbackCommand is 'Group.CallbackBeforeSendMsg', "
        "not 'Live.CallbackBeforeSendGift'\n"
    )


def test_a_command_under_the_wrong_namespace_gets_did_you_mean(running, tmp_path):
    body = write(tmp_path / "comment.json", comment(room(), "hello"))
    sent = running.send("Group.CallbackBeforeSendGift", body)
    assert sent.code == 2
    assert sent.err == (
        "liveguard local send: unknown CallbackCommand 'Group.CallbackBeforeSendGift' "
        '(did you mean "Live.CallbackBeforeSendGift"?)\n'
    )


def test_a_missing_body_file_is_one_line_and_exit_2(running, tmp_path):
    sent = running.send("Group.CallbackBeforeSendMsg", str(tmp_path / "nope.json"))
    assert (sent.code, sent.err) == (2, f"liveguard local send: {tmp_path / 'nope.json'}: no such file\n")


def test_no_local_stack_running_is_one_line_and_exit_2(running, tmp_path):
    # Given a local.json left behind by a stack whose process has exited
    stale = tmp_path / "local.json"
    settings = running.stack.settings()
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    stale.write_text(json.dumps({**settings, "pid": int(finished.stdout)}), encoding="utf-8")
    body = write(tmp_path / "comment.json", comment(room(), "hello"))
    # When a callback is sent with it, and with no local.json at all
    gone = running.send("Group.CallbackBeforeSendMsg", body, local_file=stale)
    absent = running.send("Group.CallbackBeforeSendMsg", body, local_file=tmp_path / "none.json")
    # Then each says there is no local stack, in one line, exit 2
    assert gone.code == absent.code == 2
    assert gone.err.startswith("liveguard local send: no local stack running:")
    assert absent.err.startswith("liveguard local send: no local stack running:")
    assert gone.err.count("\n") == absent.err.count("\n") == 1
