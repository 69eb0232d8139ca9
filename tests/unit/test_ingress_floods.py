"""The ingress and the flood counters: it counts only the callbacks a counting rule listens to (an
app without such rules pays nothing), decides on the counts and queues them; the table's counters
are time-bounded and fall back to "no count" when the table does not answer."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from pydantic import ValidationError

from liveguard.aws.dynamodb import DynamoDbCounters, DynamoDbError
from liveguard.counters import CountedEvent, CounterPlan
from liveguard.ingress import Ingress
from liveguard.memory import MemoryState
from liveguard.messages import EventEnvelope
from liveguard.rules.engine import InlineRules
from liveguard.rules.loader import parse_rules
from liveguard.settings import TencentSecret
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event

from .test_ingress import RecordingQueue

SECRET = TencentSecret.model_validate(LOCAL_SECRET)
NOW = 1_800_000_000
MESSAGE = "Group.CallbackBeforeSendMsg"
FLOOD = """\
version: 1
rules:
  - name: flood-drop
    on: [Group.CallbackBeforeSendMsg]
    when: {rate: {per: user, within: 10, at_least: 2}}
    verdict: drop
"""
TERMS = """\
version: 1
terms:
  banned: [free coins]
rules:
  - {name: terms, on: [Group.CallbackBeforeSendMsg], when: {terms: [banned]}, verdict: drop}
"""


@dataclass
class RecordingCounters:
    """The ingress's FloodCounters port, counting in memory and recording each call."""

    calls: list[tuple[CounterPlan, CountedEvent, int]] = field(default_factory=list)
    state: MemoryState = field(default_factory=MemoryState)
    error: Exception | None = None

    def count(self, plan: CounterPlan, event: CountedEvent, now_ms: int) -> dict[str, int] | None:
        from liveguard.counters import count

        self.calls.append((plan, event, now_ms))
        if self.error is not None:
            raise self.error
        return count(self.state, plan, event, now_ms)


@dataclass
class Metrics:
    names: list[str] = field(default_factory=list)

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.names.append(name)

    def add_dimension(self, name: str, value: str) -> None:
        pass


def ingress(rules_text: str, counters: Any, metrics: Metrics | None = None) -> tuple[Ingress, RecordingQueue]:
    queue = RecordingQueue()
    made = Ingress(
        queue=queue,
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-events-dev.fifo",
        secret=lambda: SECRET,
        rules=InlineRules(parse_rules(rules_text), admin=SECRET.admin_identifier),
        clock=lambda: NOW,
        counters=counters,
        metrics=metrics,
    )
    return made, queue


def message(user: str = "viewer-7", text: str = "hello", seq: int = 0) -> dict[str, Any]:
    body = {
        **CALLBACK_BODIES[MESSAGE],
        "From_Account": user,
        "Operator_Account": user,
        "Random": seq,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    }
    return proxy_event(MESSAGE, json.dumps(body), request_time=NOW)


def code(response: dict[str, Any]) -> int:
    return int(json.loads(response["body"])["ErrorCode"])


def test_rules_that_count_nothing_never_call_the_counters():
    counters = RecordingCounters()
    front, queue = ingress(TERMS, counters)
    assert code(front.handle(message(text="free coins"))) == 2
    assert counters.calls == []
    assert queue.sent[0]["body"]["counts"] is None


def test_a_counting_rule_is_decided_inline_on_the_counts_and_they_are_queued():
    counters = RecordingCounters()
    front, queue = ingress(FLOOD, counters)
    codes = [code(front.handle(message(seq=n))) for n in range(3)]
    assert codes == [0, 2, 2]
    assert [sent["body"]["counts"] for sent in queue.sent] == [{"user:10": n} for n in (1, 2, 3)]
    plan, event, now_ms = counters.calls[0]
    assert plan == CounterPlan(MESSAGE, frozenset({("user", 10)}))
    assert (event.user, now_ms) == ("viewer-7", NOW * 1000)


def test_an_echo_of_our_admin_is_not_counted():
    counters = RecordingCounters()
    front, _ = ingress(FLOOD, counters)
    front.handle(message(user=SECRET.admin_identifier))
    assert counters.calls == []


def test_a_failure_inside_counting_delivers_counts_the_failure_and_still_queues():
    metrics = Metrics()
    front, queue = ingress(FLOOD, RecordingCounters(error=RuntimeError("bug")), metrics)
    assert code(front.handle(message())) == 0
    assert "CountersFailed" in metrics.names
    assert queue.sent[0]["body"]["counts"] is None


# --- the table's counters: time bounds and the fallback ----------------------------------------------


class FlakyClient:
    """A DynamoDB client whose UpdateItems answer an empty old item, then fail from ``fail_from``."""

    def __init__(self, fail_from: int) -> None:
        self.fail_from = fail_from
        self.calls: list[float] = []

    def update_item(self, table: str, key: Any, expression: str, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs["timeout"])
        if len(self.calls) >= self.fail_from:
            raise DynamoDbError("UpdateItem failed: HTTP 400 ThrottlingException", retryable=True)
        return {}


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_when_the_table_fails_part_way_the_counts_taken_stand_and_the_rest_are_missing():
    metrics, clock = Metrics(), Clock()
    client = FlakyClient(fail_from=2)
    counters = DynamoDbCounters("table", client, metrics=metrics, monotonic=clock)  # type: ignore[arg-type]
    plan = CounterPlan(MESSAGE, frozenset({("user", 10), ("room", 10)}))
    counts = counters.count(plan, CountedEvent("room-1", "viewer-7", None), NOW * 1000)
    # Then the user's count stands and the room's, whose update failed, is missing
    assert counts == {"user:10": 1}
    assert metrics.names == ["CountersUnavailable"]
    # And each update was bounded by the read timeout
    assert all(timeout <= 0.3 for timeout in client.calls)
    # And for the next second the table is not asked at all
    client.calls.clear()
    assert counters.count(plan, CountedEvent("room-1", "viewer-7", None), NOW * 1000) is None
    assert client.calls == []
    clock.now += 1.5
    counters.count(plan, CountedEvent("room-1", "viewer-7", None), NOW * 1000)
    assert client.calls != []


def test_an_envelope_refuses_counts_that_are_not_flood_counts():
    base = {
        "id": "a" * 64,
        "command": MESSAGE,
        "received_at": 0,
        "query": {},
        "event": {},
        "group": "room-1",
    }
    assert EventEnvelope.model_validate({**base, "counts": {"user:10": 3, "raid:arrived": 1}}).counts
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate({**base, "counts": {"strikes:10": 3}})
    with pytest.raises(ValidationError):
        EventEnvelope.model_validate({**base, "counts": {"user:10": -1}})


def test_the_audit_timeline_shows_the_counts_an_event_was_decided_on():
    from liveguard_ops.audit import describe

    record = {
        "at_ms": NOW * 1000,
        "kind": "event",
        "command": MESSAGE,
        "rules": ["flood-drop"],
        "verdict": {"action": "drop", "code": 2},
        "counts": {"user:10": 6, "repeat:60": 1},
    }
    assert describe(record)[1:] == ["    counted  repeat:60=1, user:10=6"]
