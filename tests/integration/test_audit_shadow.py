"""`liveguard audit ROOM` on events shadow rules fired on, against moto's server: the record the
moderator journals (the engine's would-have firings in AuditRecord.shadow, written by the real
StateTable) is printed with "would have" lines, in text and in --json."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from liveguard.aws.state_table import StateTable
from liveguard.rules.engine import evaluate
from liveguard.rules.loader import parse_rules
from liveguard.rules.outcome import EmptyState
from liveguard.rules.verdict import ALLOW
from liveguard.state import AuditRecord
from liveguard.webhooks.models import parse_callback
from liveguard_local.events import CALLBACK_BODIES
from liveguard_ops.cli import main
from tests.aws import commands_moto_server, create_state_table

ROOM = "live-room-1"
AT_MS = 1_800_000_000_000  # 2027-01-15T08:00:00.000Z
RULES = """\
version: 1
terms:
  spam: [free coins]
rules:
  - name: terms-mask
    mode: shadow
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [spam]}
    verdict: mask
    strike: true
  - name: terms-mute
    mode: shadow
    on: [Group.CallbackBeforeSendMsg]
    when: {strikes: {within: 600, at_least: 1}}
    then:
      - command: mute_member
        params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: 600}
"""


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch, commands_moto_server(patch) as url:
        yield url


@pytest.fixture
def local_file(tmp_path: Path, endpoint: str) -> Path:
    """A room whose one audited event only shadow rules fired on, journalled as the moderator does,
    and the local stack's file naming its table."""
    client = boto3.client("dynamodb", endpoint_url=endpoint)
    name = f"liveguard-state-{uuid.uuid4().hex[:8]}"
    create_state_table(client, name)
    body = {
        **CALLBACK_BODIES["Group.CallbackBeforeSendMsg"],
        "GroupId": ROOM,
        "From_Account": "viewer-7",
        "Operator_Account": "viewer-7",
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "free coins!"}}],
    }
    event = parse_callback("Group.CallbackBeforeSendMsg", body)
    decision = evaluate(
        event,
        EmptyState(),
        parse_rules(RULES),
        now=AT_MS / 1000,
        admin="admin",
        event_id="e" * 64,
        answered=ALLOW,
    )
    record = AuditRecord(
        id="e" * 64,
        at_ms=AT_MS,
        kind="event",
        command="Group.CallbackBeforeSendMsg",
        rules=list(decision.fired),
        verdict=ALLOW,
        shadow=list(decision.shadow),
        outcome="decided",
    )
    StateTable(name, client).record_decision(ROOM, record, now=AT_MS / 1000)
    path = tmp_path / "local.json"
    path.write_text(
        json.dumps({"aws_credentials": {"AWS_ENDPOINT_URL": endpoint}, "tables": {"StateTable": name}})
    )
    return path


def test_the_timeline_shows_what_shadow_rules_would_have_done(local_file, capsys):
    # When the room's audit is asked for
    status = main(["audit", ROOM, "--local-file", str(local_file)])
    # Then the event is shown with no live rule and its answer, then a "would have" line per shadow
    # rule with the verdict, the masked MsgBody, the match, the action and the strike
    assert status == 0
    assert capsys.readouterr().out.splitlines() == [
        "2027-01-15T08:00:00.000Z  event  Group.CallbackBeforeSendMsg  rules (none)  verdict deliver",
        "    would have  rule terms-mask (shadow)  verdict rewrite",
        '      MsgBody  [{"MsgType":"TIMTextElem","MsgContent":{"Text":"**********!"}}]',
        '      matched  list spam  term "free coins"  in MsgBody: "free coins"',
        "      change   strike viewer-7",
        "    would have  rule terms-mute (shadow)",
        '      action   mute_member {"RoomId":"live-room-1","MemberList_Account":["viewer-7"],'
        '"MuteTime":600}',
    ]


def test_json_carries_the_shadow_firings_whole(local_file, capsys):
    status = main(["audit", ROOM, "--local-file", str(local_file), "--json"])
    assert status == 0
    (line,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (line["rules"], line["actions"], line["changes"]) == ([], [], [])
    mask, mute = line["shadow"]
    assert (mask["rule"], mask["decides"], mask["verdict"]["action"], mask["verdict"]["code"]) == (
        "terms-mask",
        True,
        "rewrite",
        0,
    )
    assert mask["changes"] == [
        {"room_id": ROOM, "rule": "terms-mask", "kind": "strike", "user_id": "viewer-7", "count": 1}
    ]
    assert mute["actions"][0]["command"] == "mute_member"


def test_user_finds_the_events_shadow_rules_would_have_struck_them_on(local_file, capsys):
    assert main(["audit", ROOM, "--local-file", str(local_file), "--user", "viewer-7", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["audit", ROOM, "--local-file", str(local_file), "--user", "viewer-9", "--json"]) == 0
    assert capsys.readouterr().out == ""
