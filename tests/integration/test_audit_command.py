"""`liveguard audit ROOM` against moto's server, reading audit records the real StateTable wrote: a
decided event with matches and actions, an action done, an action failed."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from liveguard.aws.state_table import StateTable
from liveguard.messages import ActionMessage
from liveguard.rules.outcome import AddStrike, TermHit
from liveguard.rules.verdict import Verdict
from liveguard.state import AuditRecord
from liveguard_ops.audit import parse_since
from liveguard_ops.cli import main
from tests.aws import commands_moto_server, create_state_table

ROOM = "live-room-1"
EVENT_ID = "e" * 64
AT_MS = 1_800_000_000_000  # 2027-01-15T08:00:00.000Z
MUTE = ActionMessage(
    id="a" * 64,
    command="forbid_send_msg",
    params={"RoomId": ROOM, "MemberList_Account": ["viewer-7"], "MuteTime": 600},
    room=ROOM,
    rule="banned-words",
    cause=EVENT_ID,
)
KICK = ActionMessage(
    id="b" * 64,
    command="kick_user",
    params={"RoomId": ROOM, "MemberList_Account": ["viewer-9"]},
    room=ROOM,
    rule="repeat-offender",
    cause="c" * 64,
)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch, commands_moto_server(patch) as url:
        yield url


@pytest.fixture
def table(endpoint: str) -> StateTable:
    """A state table with a room's audit as the moderator and the actuator write it."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    name = f"liveguard-state-{uuid.uuid4().hex[:8]}"
    create_state_table(client, name)
    state = StateTable(name, client)
    decided = AuditRecord(
        id=EVENT_ID,
        at_ms=AT_MS,
        kind="event",
        command="Live.CallbackBeforeSendMsg",
        rules=["banned-words"],
        matches=[
            TermHit(
                rule="banned-words",
                list="profanity",
                term="badword",
                field="MsgBody",
                start=0,
                end=7,
                text="b4dword",
            )
        ],
        actions=[MUTE],
        changes=[AddStrike(room_id=ROOM, rule="banned-words", user_id="viewer-7")],
        verdict=Verdict(action="reject", code=1, rule="banned-words", reason="banned word"),
        outcome="decided",
    )
    state.record_decision(ROOM, decided, now=AT_MS / 1000)
    state.audit(ROOM, AuditRecord.of_action(MUTE, at_ms=AT_MS + 1_000, outcome="done"))
    failed = {"code": 100004, "info": "member not in room"}
    state.audit(ROOM, AuditRecord.of_action(KICK, at_ms=AT_MS + 7_200_000, outcome="failed", error=failed))
    # An echo fires no rule: not on the timeline.
    echo = AuditRecord(
        id="d" * 64, at_ms=AT_MS + 500, kind="event", command="Live.CallbackAfterSendMsg", outcome="echo"
    )
    state.audit(ROOM, echo)
    return state


@pytest.fixture
def local_file(tmp_path: Path, endpoint: str, table: StateTable) -> Path:
    """A local stack's file as `liveguard local up` writes it (tables by logical id, moto's URL)."""
    path = tmp_path / "local.json"
    path.write_text(
        json.dumps(
            {"aws_credentials": {"AWS_ENDPOINT_URL": endpoint}, "tables": {"StateTable": table.table_name}}
        )
    )
    return path


def audit(local_file: Path, *args: str) -> int:
    return main(["audit", ROOM, "--local-file", str(local_file), *args])


def test_the_timeline_shows_each_decision_with_its_matches_and_actions_then_their_outcomes(
    local_file, capsys
):
    # When the room's audit is asked for
    status = audit(local_file)
    # Then the event that fired rules, then the actions, oldest first (the echo left out)
    assert status == 0
    assert capsys.readouterr().out.splitlines() == [
        "2027-01-15T08:00:00.000Z  event  Live.CallbackBeforeSendMsg  rules banned-words"
        "  verdict reject (ErrorCode 1): banned word",
        '    matched  list profanity  term "badword"  in MsgBody: "b4dword"',
        '    queued   forbid_send_msg {"RoomId":"live-room-1","MemberList_Account":["viewer-7"],'
        '"MuteTime":600}  (rule banned-words)',
        "2027-01-15T08:00:01.000Z  action forbid_send_msg  done"
        "  (rule banned-words, cause event eeeeeeeeeeeeeeee)",
        "2027-01-15T10:00:00.000Z  action kick_user  failed: ErrorCode 100004: member not in room"
        "  (rule repeat-offender, cause event cccccccccccccccc)",
    ]


def test_json_prints_one_record_per_line(local_file, capsys):
    status = audit(local_file, "--json")
    assert status == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(line["kind"], line["id"][:1], line["outcome"]) for line in lines] == [
        ("event", "e", "decided"),
        ("action", "a", "done"),
        ("action", "b", "failed"),
    ]
    event = lines[0]
    assert event["time"] == "2027-01-15T08:00:00.000Z"
    assert event["room"] == ROOM
    assert event["verdict"]["code"] == 1
    assert event["matches"][0]["text"] == "b4dword"
    assert event["actions"][0]["command"] == "forbid_send_msg"
    assert json.loads(lines[2]["error"])["code"] == 100004


def test_since_keeps_only_what_happened_from_then(local_file, capsys):
    status = audit(local_file, "--since", "2027-01-15T08:00:01Z")
    assert status == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[1] for line in lines] == ["action forbid_send_msg", "action kick_user"]


def test_user_keeps_the_events_and_actions_that_concern_that_user(local_file, capsys):
    status = audit(local_file, "--user", "viewer-7", "--json")
    assert status == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["id"][:1] for line in lines] == ["e", "a"]
    assert audit(local_file, "--user", "viewer-9", "--json") == 0
    assert [json.loads(line)["id"][:1] for line in capsys.readouterr().out.splitlines()] == ["b"]


def test_a_bad_since_is_refused_with_what_to_give(local_file, capsys):
    status = audit(local_file, "--since", "yesterday")
    assert status == 2
    err = capsys.readouterr().err
    assert "--since 'yesterday'" in err
    assert "Traceback" not in err


def test_an_unknown_stack_is_refused_in_one_line(endpoint, capsys):
    status = main(["audit", ROOM, "--stack", "liveguard-nowhere", "--endpoint", endpoint])
    assert status == 2
    err = capsys.readouterr().err
    assert err.startswith("liveguard audit: stack liveguard-nowhere")
    assert "Traceback" not in err


def test_since_takes_durations_back_from_now():
    now = 1_800_000_000.0
    assert parse_since("10m", now=now) == now - 600
    assert parse_since("2h", now=now) == now - 7200
    assert parse_since("1d", now=now) == now - 86400
    assert parse_since("2027-01-15T08:00:00", now=now) == 1_800_000_000.0


def test_the_table_comes_from_the_stacks_state_table_name_output_with_stack(endpoint, table, capsys):
    # Given a deployed stack (moto's CloudFormation) whose StateTableName output names the table
    name = f"liveguard-{uuid.uuid4().hex[:8]}"
    template = {
        "Resources": {"Marker": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": f"{name}-marker"}}},
        "Outputs": {"StateTableName": {"Value": table.table_name}},
    }
    cloudformation = boto3.client("cloudformation", endpoint_url=endpoint)
    cloudformation.create_stack(StackName=name, TemplateBody=json.dumps(template))
    # When the room's audit is asked for by stack name
    status = main(["audit", ROOM, "--stack", name, "--endpoint", endpoint, "--json"])
    # Then it reads that table
    assert status == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
