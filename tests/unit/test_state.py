"""The state stores: strike and violation windows, snapshots, sanctions, idempotent re-application,
the decision journal, the audit an operator reads. Each behaviour runs against the DynamoDB table
(moto) and against the in-memory store (``liveguard.memory.MemoryState``), which must behave the same;
a test that reads DynamoDB's items runs against the table only. Also the ingress's boto3-free GetItem
against moto's server."""

from __future__ import annotations

import http.server
import json
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from liveguard.aws.dynamodb import DynamoDbClient, DynamoDbError, InlineStateView
from liveguard.aws.protocol import AwsCredentials
from liveguard.aws.state_table import StateTable, from_attribute, to_attribute
from liveguard.memory import MemoryState
from liveguard.messages import ActionMessage, action_id
from liveguard.ports import StateStore
from liveguard.review import HeldComment
from liveguard.rules.outcome import AddStrike, RecordSanction, RecordViolation, SaveSnapshot
from liveguard.state import WRITING, AuditRecord, room_pk
from tests.aws import create_state_table, moto_server

from .conftest import STATE_TABLE as TABLE
from .conftest import FakeClock

ROOM = "live-room-1"
NOW = 1_800_000_000.0  # unix seconds
EVENT_A = "a" * 64
EVENT_B = "b" * 64
EVENT_C = "c" * 64
TEN_MINUTES = 600


def items(dynamodb: Any, prefix: str) -> list[dict[str, Any]]:
    answer = dynamodb.query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
        ExpressionAttributeValues={":pk": {"S": room_pk(ROOM)}, ":prefix": {"S": prefix}},
    )
    return answer["Items"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test of a store runs on both stores, unless it reads DynamoDB's own items."""
    if "table" in metafunc.fixturenames and "dynamodb" not in metafunc.fixturenames:
        metafunc.parametrize("store", ["dynamodb", "memory"], indirect=True)


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    """Which store a test runs on (the table, unless parametrized)."""
    return str(getattr(request, "param", "dynamodb"))


@pytest.fixture
def table(store: str, request: pytest.FixtureRequest) -> StateStore:
    """The store under test: the state table (moto) or the in-memory store."""
    if store == "memory":
        return MemoryState()
    return StateTable(TABLE, client=request.getfixturevalue("dynamodb"))


def strike(event_id: str, at: float, table: StateStore, user: str = "bob", room: str = ROOM) -> None:
    table.apply([AddStrike(room_id=room, rule="banned-terms", user_id=user)], event_id=event_id, now=at)


# --- strikes ---------------------------------------------------------------------------------------


def test_strikes_within_the_window_are_counted(table):
    # Given two strikes against bob, 5 and 9 minutes ago
    strike(EVENT_A, NOW - 540, table)
    strike(EVENT_B, NOW - 300, table)
    # When the engine counts bob's strikes over 10 minutes
    count = table.strike_count(ROOM, "bob", TEN_MINUTES, NOW)
    # Then both count
    assert count == 2


def test_a_strike_exactly_at_the_start_of_the_window_counts(table):
    strike(EVENT_A, NOW - TEN_MINUTES, table)
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 1


def test_a_strike_a_millisecond_before_the_window_does_not_count(table):
    strike(EVENT_A, NOW - TEN_MINUTES - 0.001, table)
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 0


def test_a_strike_at_now_counts_and_one_after_now_does_not(table):
    strike(EVENT_A, NOW, table)
    strike(EVENT_B, NOW + 0.001, table)
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 1


def test_strikes_of_other_users_and_other_rooms_are_not_counted(table):
    # Given strikes against alice in the room, and against bob in another room
    strike(EVENT_A, NOW - 10, table, user="alice")
    strike(EVENT_B, NOW - 10, table, room="other-room")
    # When bob's strikes in the room are counted
    # Then there are none
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 0


def test_a_user_id_that_looks_like_a_key_does_not_count_for_another_user(table):
    # Given a user whose id is "bob#<a time inside bob's window>"
    strike(EVENT_A, NOW - 10, table, user=f"bob#{int((NOW - 60) * 1000):013d}")
    # When bob's strikes are counted
    # Then that user's strike is not bob's
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 0


def test_reapplying_an_event_does_not_strike_twice(table):
    # Given an event that struck bob
    changes = [AddStrike(room_id=ROOM, rule="banned-terms", user_id="bob")]
    table.apply(changes, event_id=EVENT_A, now=NOW)
    # When the same event's changes are applied again (a redelivery)
    table.apply(changes, event_id=EVENT_A, now=NOW)
    # Then bob has one strike
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 1


def test_two_rules_striking_for_one_event_are_two_strikes(table):
    table.apply(
        [
            AddStrike(room_id=ROOM, rule="banned-terms", user_id="bob"),
            AddStrike(room_id=ROOM, rule="flood", user_id="bob"),
        ],
        event_id=EVENT_A,
        now=NOW,
    )
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 2


def test_a_strike_is_stored_as_the_contract_lays_it_out(table, dynamodb):
    # When an event at NOW + 0.25 s strikes bob
    strike(EVENT_A, NOW + 0.25, table)
    # Then the item's key holds the user, the zero-padded ms, the event id's prefix and the rule,
    # and it expires a week later
    (item,) = items(dynamodb, "STRIKE#")
    assert item["pk"] == {"S": "ROOM#live-room-1"}
    assert item["sk"] == {"S": f"STRIKE#bob#1800000000250#{EVENT_A[:16]}#banned-terms"}
    assert item["expiration"] == {"N": str(1_800_000_000 + 7 * 86_400)}
    assert item["user_id"] == {"S": "bob"}


def test_a_change_of_several_strikes_counts_each_and_a_redelivery_none_again(table):
    # Given an event whose rule asked for three strikes (strike: {count: 3})
    changes = [AddStrike(room_id=ROOM, rule="slurs", user_id="bob", count=3)]
    table.apply(changes, event_id=EVENT_A, now=NOW)
    # When the same event's changes are applied again (a redelivery)
    table.apply(changes, event_id=EVENT_A, now=NOW)
    # Then bob has three strikes
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 3


def test_the_strikes_of_one_change_get_their_own_keys(table, dynamodb):
    # When an event strikes bob three times for one rule
    table.apply([AddStrike(room_id=ROOM, rule="slurs", user_id="bob", count=3)], event_id=EVENT_A, now=NOW)
    # Then the first keeps the plain key and the others end with their ordinal
    key = f"STRIKE#bob#1800000000000#{EVENT_A[:16]}#slurs"
    assert sorted(item["sk"]["S"] for item in items(dynamodb, "STRIKE#")) == [key, f"{key}#2", f"{key}#3"]


def test_many_strikes_are_all_counted_across_pages(table):
    # Given 120 strikes, each from its own event
    for index in range(120):
        strike(f"{index:064x}", NOW - index, table)
    # When they are counted over ten minutes
    # Then all of them are
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 120


# --- violations ------------------------------------------------------------------------------------


def test_violations_are_counted_per_kind_within_the_window(table):
    # Given two content violations in the window, one older, and one of another kind
    for event_id, at, kind in [
        (EVENT_A, NOW - 3600, "content"),
        (EVENT_B, NOW - 60, "content"),
        (EVENT_C, NOW - 30, "room-name"),
        ("d" * 64, NOW - 7200, "content"),
    ]:
        table.apply([RecordViolation(room_id=ROOM, rule="r", violation=kind)], event_id=event_id, now=at)
    # When the room's content violations of the last hour are counted
    count = table.violation_count(ROOM, "content", 3600, NOW)
    # Then the two inside the hour count
    assert count == 2


def test_a_violation_expires_after_thirty_days(table, dynamodb):
    table.apply([RecordViolation(room_id=ROOM, rule="r", violation="content")], event_id=EVENT_A, now=NOW)
    (item,) = items(dynamodb, "VIOL#")
    assert item["sk"] == {"S": f"VIOL#content#1800000000000#{EVENT_A[:16]}"}
    assert item["expiration"] == {"N": str(1_800_000_000 + 30 * 86_400)}


# --- snapshots -------------------------------------------------------------------------------------


def test_a_snapshot_is_the_approved_value(table):
    # Given the admin approved topic=chess
    table.apply(
        [SaveSnapshot(room_id=ROOM, rule="admin", key="topic", value="chess")], event_id=EVENT_A, now=NOW
    )
    # When the engine asks for the approved value
    # Then it is chess
    assert table.approved_value(ROOM, "topic") == "chess"


def test_a_key_without_a_snapshot_has_no_approved_value(table):
    assert table.approved_value(ROOM, "topic") is None


def test_a_snapshot_of_none_means_no_approved_value(table, dynamodb):
    # Given the admin approved chess, then deleted the key
    table.apply(
        [SaveSnapshot(room_id=ROOM, rule="admin", key="topic", value="chess")], event_id=EVENT_A, now=NOW
    )
    table.apply(
        [SaveSnapshot(room_id=ROOM, rule="admin", key="topic", value=None)], event_id=EVENT_B, now=NOW + 1
    )
    # Then the key has no approved value, and the item holds no value attribute
    assert table.approved_value(ROOM, "topic") is None
    (item,) = items(dynamodb, "SNAP#")
    assert "value" not in item


def test_a_late_redelivery_of_an_older_event_does_not_roll_a_snapshot_back(table):
    # Given topic=chess approved at NOW, then topic=go approved a minute later
    table.apply(
        [SaveSnapshot(room_id=ROOM, rule="admin", key="topic", value="chess")], event_id=EVENT_A, now=NOW
    )
    table.apply(
        [SaveSnapshot(room_id=ROOM, rule="admin", key="topic", value="go")], event_id=EVENT_B, now=NOW + 60
    )
    # When the first event's changes are applied again
    table.apply(
        [SaveSnapshot(room_id=ROOM, rule="admin", key="topic", value="chess")], event_id=EVENT_A, now=NOW
    )
    # Then the newer value stands
    assert table.approved_value(ROOM, "topic") == "go"


# --- sanctions -------------------------------------------------------------------------------------


def test_a_sanction_holds_until_its_end(table):
    # Given bob muted until NOW + 600
    table.apply(
        [RecordSanction(room_id=ROOM, rule="strikes", user_id="bob", sanction="muted", until=int(NOW) + 600)],
        event_id=EVENT_A,
        now=NOW,
    )
    # Then he is muted before the end, and not at it or after
    assert table.sanction(ROOM, "bob", NOW + 599) == "muted"
    assert table.sanction(ROOM, "bob", NOW + 600) is None
    assert table.sanction(ROOM, "alice", NOW) is None


def test_a_sanction_expires_from_the_table_at_its_end(table, dynamodb):
    until = int(NOW) + 3600
    table.apply(
        [RecordSanction(room_id=ROOM, rule="strikes", user_id="bob", sanction="banned", until=until)],
        event_id=EVENT_A,
        now=NOW,
    )
    (item,) = items(dynamodb, "SANCTION#")
    assert item["sk"] == {"S": "SANCTION#bob"}
    assert item["sanction"] == {"S": "banned"}
    assert item["until"] == {"N": str(until)}
    assert item["expiration"] == {"N": str(until)}


def test_a_newer_sanction_is_not_replaced_by_an_older_events(table):
    ban = RecordSanction(
        room_id=ROOM, rule="strikes", user_id="bob", sanction="banned", until=int(NOW) + 3600
    )
    mute = RecordSanction(room_id=ROOM, rule="strikes", user_id="bob", sanction="muted", until=int(NOW) + 600)
    # Given bob banned by a later event
    table.apply([ban], event_id=EVENT_B, now=NOW + 10)
    # When an earlier event's mute is applied (late)
    table.apply([mute], event_id=EVENT_A, now=NOW)
    # Then the ban stands
    assert table.sanction(ROOM, "bob", NOW + 700) == "banned"


# --- audit -----------------------------------------------------------------------------------------


def audit_record(record_id: str, at_ms: int, **fields: Any) -> AuditRecord:
    values: dict[str, Any] = {
        "kind": "event",
        "command": "Live.CallbackAfterSetMetadata",
        "outcome": "queued",
    }
    return AuditRecord(id=record_id, at_ms=at_ms, **{**values, **fields})


def test_an_operator_reads_a_rooms_audit_oldest_first(table):
    # Given two decisions and an action's outcome in the room, written out of order
    params = {"RoomId": ROOM, "Keys": ["topic"]}
    message = ActionMessage(
        id=action_id(EVENT_A, "banned-terms", "del_room_metadata", params),
        command="del_room_metadata",
        params=params,
        room=ROOM,
        rule="banned-terms",
        cause=EVENT_A,
    )
    table.audit(ROOM, audit_record(EVENT_B, 1_800_000_002_000))
    table.audit(
        ROOM,
        audit_record(
            EVENT_A,
            1_800_000_001_000,
            rules=["banned-terms"],
            actions=[message],
            changes=[AddStrike(room_id=ROOM, rule="banned-terms", user_id="bob")],
        ),
    )
    table.audit(
        ROOM,
        {
            "id": message.id,
            "at_ms": 1_800_000_003_000,
            "kind": "action",
            "command": "del_room_metadata",
            "rules": ["banned-terms"],
            "outcome": "done",
        },
    )
    # When the operator reads the room's audit
    records = table.audit_for_room(ROOM)
    # Then all three come back in time order, with what was decided
    assert [r["id"] for r in records] == [EVENT_A, EVENT_B, message.id]
    assert records[0]["rules"] == ["banned-terms"]
    assert records[0]["actions"][0]["params"] == params
    assert records[0]["changes"] == [
        {"room_id": ROOM, "rule": "banned-terms", "kind": "strike", "user_id": "bob", "count": 1}
    ]
    assert records[2]["kind"] == "action"
    assert records[2]["outcome"] == "done"


def test_the_audit_since_a_time_leaves_out_older_records(table):
    table.audit(ROOM, audit_record(EVENT_A, 1_800_000_001_000))
    table.audit(ROOM, audit_record(EVENT_B, 1_800_000_005_000))
    assert [r["id"] for r in table.audit_for_room(ROOM, since=1_800_000_002.0)] == [EVENT_B]


def test_an_audit_record_expires_after_thirty_days(table, dynamodb):
    table.audit(ROOM, audit_record(EVENT_A, 1_800_000_001_000))
    (item,) = items(dynamodb, "AUDIT#")
    assert item["sk"] == {"S": f"AUDIT#1800000001000#{EVENT_A}"}
    assert item["expiration"] == {"N": str(1_800_000_001 + 30 * 86_400)}


def test_events_without_a_room_are_audited_under_the_app(table):
    table.audit(None, audit_record(EVENT_A, 1_800_000_001_000))
    assert [r["id"] for r in table.audit_for_room(None)] == [EVENT_A]
    assert table.audit_for_room(ROOM) == []


def test_a_recorded_decision_stands_against_a_second_one(table):
    # Given a decision recorded for an event
    first = audit_record(EVENT_A, 1_800_000_001_000, rules=["banned-terms"], outcome="decided")
    assert table.record_decision(ROOM, first, now=NOW + 1) == first
    # When a retry decides differently and tries to record that
    second = audit_record(EVENT_A, 1_800_000_001_000, rules=["strikes"], outcome="decided")
    standing = table.record_decision(ROOM, second, now=NOW + 1)
    # Then the first decision is the one that stands
    assert standing == first
    assert table.recorded_decision(ROOM, EVENT_A, 1_800_000_001_000) == first


def test_a_decision_never_recorded_is_none(table):
    assert table.recorded_decision(ROOM, EVENT_A, 1_800_000_001_000) is None


def test_a_decision_is_journalled_with_its_state_changes(table):
    # Given a decision that strikes a user, records a violation and mutes them
    changes = [
        AddStrike(room_id=ROOM, rule="banned-terms", user_id="bob"),
        RecordViolation(room_id=ROOM, rule="banned-terms", violation="spam"),
        RecordSanction(room_id=ROOM, rule="mute", user_id="bob", sanction="muted", until=int(NOW) + 600),
    ]
    record = audit_record(
        EVENT_A, 1_800_000_000_000, rules=["banned-terms"], outcome="queued", changes=changes
    )
    # When it is journalled
    assert table.record_decision(ROOM, record, now=NOW) == record
    # Then its changes are in the state with it
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 1
    assert table.violation_count(ROOM, "spam", TEN_MINUTES, NOW) == 1
    assert table.sanction(ROOM, "bob", NOW) == "muted"


def test_a_second_decision_for_an_event_writes_none_of_its_changes(table):
    # Given an event's decision journalled with one strike
    strike_ = [AddStrike(room_id=ROOM, rule="banned-terms", user_id="bob")]
    first = audit_record(EVENT_A, 1_800_000_000_000, rules=["banned-terms"], changes=strike_)
    table.record_decision(ROOM, first, now=NOW)
    # When a retry decides again with a strike of another rule
    other = [AddStrike(room_id=ROOM, rule="strikes", user_id="bob")]
    table.record_decision(
        ROOM, audit_record(EVENT_A, 1_800_000_000_000, rules=["strikes"], changes=other), now=NOW
    )
    # Then the user has the first decision's strike only
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 1


def held_comment(event: str = EVENT_A) -> HeldComment:
    return HeldComment(
        id=event,
        room=ROOM,
        sender="bob",
        msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "maybe spam"}}],
        rule="hold-borderline",
        notify=True,
        at_ms=1_800_000_000_000,
        expires_at=int(NOW) + 3600,
        strikes=1,
    )


class CountingClient:
    """A boto3 client that counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if callable(attribute):

            def counted(*args: Any, **kwargs: Any) -> Any:
                self.calls.append(name)
                return attribute(*args, **kwargs)

            return counted
        return attribute


def test_a_held_comment_is_written_in_its_decisions_one_transaction(dynamodb):
    # Given a hold decision with its strike, and its held comment
    client = CountingClient(dynamodb)
    state = StateTable(TABLE, client=client)
    strike_ = [AddStrike(room_id=ROOM, rule="hold-borderline", user_id="bob")]
    record = audit_record(EVENT_A, 1_800_000_000_000, rules=["hold-borderline"], changes=strike_)
    # When it is journalled
    state.record_decision(ROOM, record, now=NOW, held=held_comment())
    # Then one call wrote the journal entry, the strike and the review queue's item
    assert client.calls == ["transact_write_items"]
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "REVIEW"}, "sk": {"S": f"HOLD#{EVENT_A}"}})[
        "Item"
    ]
    assert HeldComment.from_values({k: from_attribute(v) for k, v in item.items()}) == held_comment()
    # And TTL deletes it a day after it expires
    assert int(item["expiration"]["N"]) == int(NOW) + 3600 + 86_400


def test_a_retried_hold_decision_stands_as_first_journalled(table):
    # Given a held comment journalled
    record = audit_record(EVENT_A, 1_800_000_000_000, rules=["hold-borderline"])
    table.record_decision(ROOM, record, now=NOW, held=held_comment())
    # When a retry journals the same event with a different held comment
    retried = held_comment().model_copy(update={"strikes": 7})
    standing = table.record_decision(ROOM, record, now=NOW, held=retried)
    # Then the first decision stands
    assert standing == record


def test_a_decision_with_more_changes_than_a_transaction_holds_is_journalled_with_them_all(table):
    # Given a decision striking 150 users (a transaction holds 100 items)
    changes = [AddStrike(room_id=ROOM, rule="raid", user_id=f"user-{n}") for n in range(150)]
    record = audit_record(EVENT_A, 1_800_000_000_000, rules=["raid"], outcome="queued", changes=changes)
    # When it is journalled
    assert table.record_decision(ROOM, record, now=NOW) == record
    # Then every change is written, and the journal holds the decision as it is
    assert sum(table.strike_count(ROOM, f"user-{n}", TEN_MINUTES, NOW) for n in range(150)) == 150
    assert table.recorded_decision(ROOM, EVENT_A, 1_800_000_000_000) == record


def test_a_too_big_decision_cut_short_is_left_writing_for_its_retry(dynamodb):
    # Given the state table failing while it writes the changes of a decision too big for one
    # transaction (after its journal entry)
    table = StateTable(TABLE, client=dynamodb)
    changes = [AddStrike(room_id=ROOM, rule="raid", user_id=f"user-{n}") for n in range(150)]
    record = audit_record(EVENT_A, 1_800_000_000_000, rules=["raid"], outcome="queued", changes=changes)
    writes = 0
    put_item = dynamodb.put_item

    def failing_put(**request: Any) -> Any:
        nonlocal writes
        writes += 1
        if writes == 50:
            raise ConnectionError("the state table did not answer")
        return put_item(**request)

    dynamodb.put_item = failing_put
    with pytest.raises(ConnectionError):
        table.record_decision(ROOM, record, now=NOW)
    dynamodb.put_item = put_item
    # Then its journal entry says its changes were being written: the moderator's retry writes them
    # again (an entry that said "decided" would have them all)
    assert table.recorded_decision(ROOM, EVENT_A, 1_800_000_000_000).outcome == WRITING


def test_an_older_events_decision_is_journalled_without_rolling_a_sanction_back(table):
    # Given a ban written by a newer event
    ban = RecordSanction(room_id=ROOM, rule="ban", user_id="bob", sanction="banned", until=int(NOW) + 3600)
    table.record_decision(ROOM, audit_record(EVENT_B, 1_800_000_005_000, changes=[ban]), now=NOW + 5)
    # When an older event's decision (a strike and a shorter mute) arrives late
    mute = RecordSanction(room_id=ROOM, rule="mute", user_id="bob", sanction="muted", until=int(NOW) + 60)
    strike_ = AddStrike(room_id=ROOM, rule="banned-terms", user_id="bob")
    late = audit_record(EVENT_A, 1_800_000_000_000, changes=[strike_, mute])
    standing = table.record_decision(ROOM, late, now=NOW)
    # Then its decision is journalled with its strike, and the ban stands
    assert standing == late
    assert table.recorded_decision(ROOM, EVENT_A, 1_800_000_000_000) == late
    assert table.strike_count(ROOM, "bob", TEN_MINUTES, NOW + 5) == 1
    assert table.sanction(ROOM, "bob", NOW + 5) == "banned"


def test_the_journal_of_many_events_is_read_at_once(table):
    # Given two decided events and one never decided, in two rooms
    decided = [
        (ROOM, EVENT_A, 1_800_000_000_000),
        ("other-room", EVENT_B, 1_800_000_000_500),
    ]
    for room, event, at_ms in decided:
        table.record_decision(room, audit_record(event, at_ms, rules=["r"]), now=at_ms / 1000)
    # When the three are looked up together
    found = table.recorded_decisions([*decided, (ROOM, EVENT_C, 1_800_000_001_000)])
    # Then the two decisions come back, keyed by their events
    assert set(found) == set(decided)
    assert found[(ROOM, EVENT_A, 1_800_000_000_000)].id == EVENT_A


# --- attribute values ------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**15), 10**15) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(JSON)
def test_every_json_value_survives_dynamodb_attribute_values(value):
    assert from_attribute(to_attribute(value)) == value


def test_a_float_survives_dynamodb_attribute_values():
    assert from_attribute(to_attribute(2.5)) == 2.5


# --- the ingress's reads (GetItem, Query counts), against moto's server ------------------------------


# Its own name: moto's servers in one process share their state with every other test's.
SANCTIONS = "liveguard-state-sanctions-test"


class RecordingProxy:
    """Forwards each request to moto's server and keeps what was sent (moto checks no signature)."""

    def __init__(self, upstream: str) -> None:
        self.requests: list[dict[str, Any]] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                proxy.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                forwarded = urllib.request.Request(  # noqa: S310 - loopback only
                    upstream + self.path, data=body, headers=dict(self.headers), method="POST"
                )
                with urllib.request.urlopen(forwarded) as answer:  # noqa: S310 - loopback only
                    payload = answer.read()
                    self.send_response(answer.status)
                self.send_header("Content-Type", "application/x-amz-json-1.0")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> RecordingProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def silent_server() -> Iterator[str]:
    """A state table that takes connections and never answers: the kernel completes the handshake
    (the listen backlog), and nobody ever reads the request."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture(scope="module")
def moto_dynamodb() -> Iterator[tuple[str, Any]]:
    with moto_server() as endpoint:
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        create_state_table(client, SANCTIONS)
        yield endpoint, client


# What a read returns, not how fast: bounds a shared, loaded machine keeps (the ingress's own bounds,
# 0.3 s a read, are tested with a clock of their own below).
UNHURRIED: dict[str, float] = {"read_timeout": 5.0, "budget": 10.0}


def test_the_ingress_reads_a_sanction_with_one_signed_get_item(moto_dynamodb, monkeypatch):
    endpoint, boto = moto_dynamodb
    # Given bob banned in the room (written by the moderator's StateTable, through boto3)
    StateTable(SANCTIONS, client=boto).apply(
        [
            RecordSanction(
                room_id=ROOM, rule="strikes", user_id="bob", sanction="banned", until=int(NOW) + 3600
            )
        ],
        event_id=EVENT_A,
        now=NOW,
    )
    credentials = AwsCredentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "session-token")
    with RecordingProxy(endpoint) as proxy:
        view = InlineStateView(
            SANCTIONS,
            client=DynamoDbClient(region="us-east-1", credentials=credentials, endpoint=proxy.url),
            **UNHURRIED,
        )
        # When the ingress asks for bob's and alice's sanctions
        bob, alice = view.sanction(ROOM, "bob", NOW), view.sanction(ROOM, "alice", NOW)
    # Then bob is banned and alice is not
    assert (bob, alice) == ("banned", None)
    # And each request was a GetItem of the table's SANCTION# item
    first = proxy.requests[0]
    headers = {name.lower(): value for name, value in first["headers"].items()}
    assert headers["x-amz-target"] == "DynamoDB_20120810.GetItem"
    assert headers["content-type"] == "application/x-amz-json-1.0"
    assert json.loads(first["body"]) == {
        "TableName": SANCTIONS,
        "Key": {"pk": {"S": "ROOM#live-room-1"}, "sk": {"S": "SANCTION#bob"}},
        "ConsistentRead": False,
    }
    # And it is signed as botocore signs the same request for DynamoDB
    moment = datetime.strptime(headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    reference = AWSRequest(
        method="POST",
        url=proxy.url + "/",
        data=first["body"],
        headers={"Content-Type": headers["content-type"], "X-Amz-Target": headers["x-amz-target"]},
    )
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: moment.replace(tzinfo=None))
    SigV4Auth(
        Credentials(credentials.access_key_id, credentials.secret_access_key, credentials.session_token),
        "dynamodb",
        "us-east-1",
    ).add_auth(reference)
    assert headers["authorization"] == reference.headers["Authorization"]
    assert headers["x-amz-security-token"] == "session-token"


def test_an_expired_sanction_reads_as_none_at_the_ingress(moto_dynamodb):
    endpoint, boto = moto_dynamodb
    StateTable(SANCTIONS, client=boto).apply(
        [
            RecordSanction(
                room_id=ROOM, rule="strikes", user_id="carol", sanction="muted", until=int(NOW) + 60
            )
        ],
        event_id=EVENT_B,
        now=NOW,
    )
    view = InlineStateView(
        SANCTIONS,
        client=DynamoDbClient(region="us-east-1", credentials=AwsCredentials("a", "b"), endpoint=endpoint),
        **UNHURRIED,
    )
    assert view.sanction(ROOM, "carol", NOW + 30) == "muted"
    assert view.sanction(ROOM, "carol", NOW + 61) is None


def test_a_missing_table_is_an_error_that_names_its_type(moto_dynamodb):
    endpoint, _ = moto_dynamodb
    client = DynamoDbClient(region="us-east-1", credentials=AwsCredentials("a", "b"), endpoint=endpoint)
    with pytest.raises(DynamoDbError) as raised:
        client.get_item("no-such-table", {"pk": {"S": "x"}, "sk": {"S": "y"}})
    assert raised.value.error_type == "ResourceNotFoundException"
    assert not raised.value.retryable


def test_an_unreachable_table_reads_as_no_sanction_and_warns(caplog):
    # Given a state table nobody answers for
    client = DynamoDbClient(
        region="us-east-1", credentials=AwsCredentials("a", "b"), endpoint="http://127.0.0.1:9/"
    )
    view = InlineStateView(SANCTIONS, client=client)
    # When the ingress asks for a sanction
    with caplog.at_level("WARNING", logger="liveguard.aws.dynamodb"):
        sanction = view.sanction(ROOM, "bob", NOW)
    # Then there is none, and a warning says why
    assert sanction is None
    assert "state unknown" in caplog.text


def inline_view(endpoint: str, **options: Any) -> InlineStateView:
    client = DynamoDbClient(region="us-east-1", credentials=AwsCredentials("a", "b"), endpoint=endpoint)
    return InlineStateView(SANCTIONS, client=client, **options)


def test_the_ingress_counts_a_users_strikes_in_the_window_with_one_consistent_count_query(moto_dynamodb):
    endpoint, boto = moto_dynamodb
    room = "count-strikes"
    # Given dave's strikes in the room (written by the moderator's StateTable): two in the last ten
    # minutes, one before, one in another room; and a user whose id falls inside dave's key range
    moderator = StateTable(SANCTIONS, client=boto)
    for event, at, user, where in [
        (EVENT_A, NOW - 30, "dave", room),
        (EVENT_B, NOW - 599, "dave", room),
        (EVENT_C, NOW - 601, "dave", room),
        ("d" * 64, NOW - 30, "dave", "elsewhere"),
        ("e" * 64, NOW - 30, f"dave#{int((NOW - 60) * 1000):013d}", room),
    ]:
        strike(event, at, moderator, user=user, room=where)
    with RecordingProxy(endpoint) as proxy:
        # When the ingress counts dave's strikes within ten minutes
        count = inline_view(proxy.url, **UNHURRIED).strike_count(room, "dave", TEN_MINUTES, NOW)
    # Then it counts what the moderator counts: the two within the window
    assert count == moderator.strike_count(room, "dave", TEN_MINUTES, NOW) == 2
    # With one strongly consistent Query that counts (no items read back)
    (request,) = proxy.requests
    assert {k.lower(): v for k, v in request["headers"].items()}["x-amz-target"] == "DynamoDB_20120810.Query"
    sent = json.loads(request["body"])
    assert (sent["Select"], sent["ConsistentRead"]) == ("COUNT", True)
    assert sent["ExpressionAttributeValues"][":pk"] == {"S": f"ROOM#{room}"}


def test_the_ingress_counts_a_rooms_violations_of_a_kind_in_the_window(moto_dynamodb):
    endpoint, boto = moto_dynamodb
    room = "count-violations"
    moderator = StateTable(SANCTIONS, client=boto)
    # Given the room's violations: two "moderation" within the hour, one older, one of another kind
    for event, at, kind in [
        (EVENT_A, NOW - 10, "moderation"),
        (EVENT_B, NOW - 3599, "moderation"),
        (EVENT_C, NOW - 3601, "moderation"),
        ("d" * 64, NOW - 10, "room-info"),
    ]:
        moderator.apply([RecordViolation(room_id=room, rule="flag", violation=kind)], event_id=event, now=at)
    # When the ingress counts the room's "moderation" violations within the hour
    count = inline_view(endpoint, **UNHURRIED).violation_count(room, "moderation", 3600, NOW)
    # Then it counts what the moderator counts
    assert count == moderator.violation_count(room, "moderation", 3600, NOW) == 2


@dataclass
class ScriptedTable:
    """A DynamoDbClient stand-in: answers count pages in order (an exception is raised), and each call
    takes ``takes`` seconds on the view's clock."""

    pages: list[tuple[int, dict[str, Any] | None] | Exception] = field(default_factory=list)
    clock: FakeClock = field(default_factory=lambda: FakeClock(now=0.0))
    takes: float = 0.0
    timeouts: list[float] = field(default_factory=list)

    def count_range(self, *args: Any, timeout: float, **kwargs: Any) -> tuple[int, dict[str, Any] | None]:
        self.timeouts.append(timeout)
        self.clock.now += self.takes
        page = self.pages.pop(0) if self.pages else (0, None)
        if isinstance(page, Exception):
            raise page
        return page

    def get_item(self, *args: Any, timeout: float, **kwargs: Any) -> dict[str, Any] | None:
        self.timeouts.append(timeout)
        self.clock.now += self.takes
        return None


def scripted_view(table: ScriptedTable, metrics: Any = None) -> InlineStateView:
    return InlineStateView(SANCTIONS, client=table, metrics=metrics, monotonic=table.clock)  # type: ignore[arg-type]


def test_a_count_past_one_page_is_summed_across_pages():
    # Given a count DynamoDB answers in three pages (each page evaluates at most 1 MB)
    table = ScriptedTable(pages=[(1000, {"pk": {"S": "x"}}), (1000, {"pk": {"S": "y"}}), (7, None)])
    # When the ingress counts
    # Then the pages are summed
    assert scripted_view(table).strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 2007


@dataclass
class CountingMetrics:
    counts: dict[str, float] = field(default_factory=dict)

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def add_dimension(self, name: str, value: str) -> None:
        pass


def test_a_table_that_does_not_answer_in_time_reads_as_none_warns_and_counts_once(caplog):
    metrics = CountingMetrics()
    # Given a state table that takes connections and never answers
    with silent_server() as endpoint, caplog.at_level("WARNING", logger="liveguard.aws.dynamodb"):
        view = inline_view(endpoint, metrics=metrics)
        started = time.monotonic()
        # When one decision asks for a sender's strikes, the room's violations and a sanction
        counts = (
            view.strike_count(ROOM, "bob", TEN_MINUTES, NOW),
            view.violation_count(ROOM, "moderation", 3600, NOW),
            view.sanction(ROOM, "bob", NOW),
        )
        took = time.monotonic() - started
    # Then it decides as if there were none, within one read's timeout (the others are not tried)
    assert counts == (0, 0, None)
    assert took < 0.3 + 0.15
    # And a warning says so, and the decision is counted once as decided without its state
    assert "state unknown" in caplog.text
    assert metrics.counts == {"InlineStateUnavailable": 1}


def test_after_the_table_did_not_answer_it_is_not_asked_again_for_a_second():
    metrics = CountingMetrics()
    table = ScriptedTable(pages=[DynamoDbError("timed out", retryable=True), (3, None)])
    view = scripted_view(table, metrics)
    # Given a read that failed
    assert view.strike_count(ROOM, "bob", TEN_MINUTES, NOW) == 0
    # When the next decision comes within the second
    table.clock.now += 0.5
    # Then it is decided without asking the table, and counted
    assert view.strike_count(ROOM, "bob", TEN_MINUTES, NOW + 0.5) == 0
    assert len(table.timeouts) == 1
    assert metrics.counts == {"InlineStateUnavailable": 2}
    # And after the second, the table is asked again
    table.clock.now += 0.6
    assert view.strike_count(ROOM, "bob", TEN_MINUTES, NOW + 1.1) == 3
    assert len(table.timeouts) == 2


def test_one_decisions_reads_share_its_budget():
    metrics = CountingMetrics()
    # Given a table answering each read in 0.2 s
    table = ScriptedTable(pages=[(1, None), (1, None), (1, None), (1, None)], takes=0.2)
    view = scripted_view(table, metrics)
    # When one decision reads four counts
    counts = [view.violation_count(ROOM, kind, 3600, NOW) for kind in ("a", "b", "c", "d")]
    # Then each read may take 0.3 s at most, and all of them 0.5 s: the third gets what is left,
    # and the fourth is not made (it counts as none)
    assert table.timeouts == [pytest.approx(0.3), pytest.approx(0.3), pytest.approx(0.1)]
    assert counts == [1, 1, 1, 0]
    assert metrics.counts == {"InlineStateUnavailable": 1}
    # And a table that slow is not asked for a second; the next decision after that has its own budget
    table.clock.now += 0.5
    assert view.violation_count(ROOM, "a", 3600, NOW + 0.5) == 0
    table.clock.now += 0.6
    assert view.violation_count(ROOM, "a", 3600, NOW + 1.1) == 1
    assert table.timeouts[3:] == [pytest.approx(0.3)]


def test_the_ingress_reads_no_approved_values():
    # Approved values are read only by actions' variables, which the ingress does not render
    table = ScriptedTable()
    assert scripted_view(table).approved_value(ROOM, "lg.topic") is None
    assert table.timeouts == []


def test_the_sanction_lookup_gives_up_quickly():
    client = DynamoDbClient(
        region="us-east-1", credentials=AwsCredentials("a", "b"), endpoint="http://127.0.0.1:9/"
    )
    assert client.timeout == pytest.approx(0.3)
