"""Only what a rule can act on is queued: the ingress answers every other callback as it would have
(the same status, the same verdict), counts it (``NotQueued``, by command) and makes no AWS call for
it: no SendMessage, no spool read. The rules say what they act on (``RuleSet.acts_on``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from liveguard.ingress import Ingress
from liveguard.rules.engine import InlineRules
from liveguard.rules.loader import RulesInvalid, load_rules, parse_rules
from liveguard.rules.verdict import CompiledRules, DeferredRules
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event

from .conftest import FakeClock
from .test_ingress import NOW, SECRET, RecordingQueue, answer, event_for
from .test_ingress_spool import FakeSpool

OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}


@dataclass
class DimensionedMetrics:
    """Each metric with the Command dimension of its invocation, as Powertools flushes them (an
    invocation's dimensions apply to every metric it counted)."""

    counts: dict[tuple[str, str | None], float] = field(default_factory=dict)
    pending: list[tuple[str, float]] = field(default_factory=list)
    command: str | None = None

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.pending.append((name, value))

    def add_dimension(self, name: str, value: str) -> None:
        assert name == "Command"
        self.command = value

    def flush(self) -> None:
        for name, value in self.pending:
            self.counts[(name, self.command)] = self.counts.get((name, self.command), 0) + value
        self.pending, self.command = [], None

    def names(self) -> set[str]:
        return {name for name, _ in self.counts}


@dataclass
class Front:
    ingress: Ingress
    queue: RecordingQueue
    spool: FakeSpool
    metrics: DimensionedMetrics

    def handle(self, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """One invocation: the answer, and its metrics flushed."""
        try:
            return answer(self.ingress.handle(event))
        finally:
            self.metrics.flush()


def front(rules: CompiledRules) -> Front:
    queue, spool, metrics, clock = RecordingQueue(), FakeSpool(), DimensionedMetrics(), FakeClock(now=0.0)
    ingress = Ingress(
        queue=queue,
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-events-dev.fifo",
        secret=lambda: SECRET,
        rules=rules,
        metrics=metrics,
        clock=lambda: NOW,
        monotonic=clock,
        sleep=clock.sleep,
        spool=spool,
    )
    return Front(ingress, queue, spool, metrics)


@pytest.fixture(scope="module")
def defaults() -> InlineRules:
    """The layer's default rules, as the ingress uses them (no state table: no sanctions or counts)."""
    return InlineRules(load_rules(check_params=False), admin="")


GIFT_RULES = """\
version: 1
rules:
  - {name: gift-over-cap, on: [Live.CallbackBeforeSendGift], when: {coins_over: 10}, verdict: reject}
"""


def test_a_callback_no_rule_listens_to_is_answered_counted_and_costs_no_aws_call(defaults):
    # Given the default rules, none of which listens to delivered comments
    given = front(defaults)
    # When Tencent delivers one
    status, reply = given.handle(event_for("Group.CallbackAfterSendMsg"))
    # Then it is answered OK as before, and counted under its command
    assert (status, reply) == (200, OK)
    assert given.metrics.counts == {("NotQueued", "Group.CallbackAfterSendMsg"): 1}
    # And neither SQS nor the spool (not even its activity mark) is asked anything
    assert given.queue.attempts == 0
    assert (given.spool.mark_reads, given.spool.room_reads, given.spool.kept) == (0, 0, {})
    # While a callback a rule listens to is queued as before
    status, reply = given.handle(event_for("Live.CallbackAfterSetMetadata"))
    assert (status, reply) == (200, OK)
    assert [sent["body"]["command"] for sent in given.queue.sent] == ["Live.CallbackAfterSetMetadata"]
    assert given.metrics.counts[("Accepted", "Live.CallbackAfterSetMetadata")] == 1


def test_a_before_callback_no_rule_listens_to_gets_its_verdict_and_is_not_queued():
    # Given rules about gifts only
    given = front(InlineRules(parse_rules(GIFT_RULES), admin=""))
    # When a comment asks for its verdict
    status, reply = given.handle(event_for("Group.CallbackBeforeSendMsg"))
    # Then it is delivered, as before, counted, and not queued
    assert (status, reply) == (200, OK)
    assert given.metrics.counts == {
        ("VerdictDeliver", "Group.CallbackBeforeSendMsg"): 1,
        ("NotQueued", "Group.CallbackBeforeSendMsg"): 1,
    }
    assert given.queue.attempts == 0
    # While a gift the rules refuse is answered and queued with its verdict, as before
    body = {**CALLBACK_BODIES["Live.CallbackBeforeSendGift"]}
    body["GiftWater"] = {**body["GiftWater"], "Count": 1, "Coins": 50}
    status, reply = given.handle(event_for("Live.CallbackBeforeSendGift", body))
    assert (status, reply["ErrorCode"]) == (200, 1)
    assert [sent["body"]["decision"]["rule"] for sent in given.queue.sent] == ["gift-over-cap"]


def echo_of(command: str) -> dict[str, Any]:
    body = {**CALLBACK_BODIES[command], "Operator_Account": LOCAL_SECRET["AdminIdentifier"]}
    if command == "Group.CallbackBeforeSendMsg":
        body["From_Account"] = LOCAL_SECRET["AdminIdentifier"]
    return event_for(command, body)


def test_an_admin_echo_is_queued_only_when_it_records_what_a_rule_reads(defaults):
    given = front(defaults)
    # When our admin's actions come back: metadata set and deleted, a room created, a message
    for command in (
        "Live.CallbackAfterSetMetadata",
        "Live.CallbackAfterDelMetadata",
        "Live.CallbackAfterCreateRoom",
        "Group.CallbackBeforeSendMsg",
    ):
        status, reply = given.handle(echo_of(command))
        assert (status, reply["ErrorCode"]) == (200, 0)
    # Then only the metadata echoes are queued (they become the approved values protect-keys
    # restores); rules never see echoes, and the others record nothing a rule reads
    assert [(sent["body"]["command"], sent["body"]["echo"]) for sent in given.queue.sent] == [
        ("Live.CallbackAfterSetMetadata", True),
        ("Live.CallbackAfterDelMetadata", True),
    ]
    assert {command for name, command in given.metrics.counts if name == "NotQueued"} == {
        "Live.CallbackAfterCreateRoom",
        "Group.CallbackBeforeSendMsg",
    }


def test_an_unknown_command_is_answered_and_counted_not_queued(defaults):
    # Given a callback Tencent added after LiveGuard's models (no rule can name it)
    given = front(defaults)
    body = {"CallbackCommand": "Live.CallbackAfterSomethingNew", "RoomId": "live-room-1", "Novel": [1]}
    event = proxy_event("Live.CallbackAfterSomethingNew", json.dumps(body), request_time=NOW)
    # When it is delivered
    status, reply = given.handle(event)
    # Then it is answered OK, counted as unknown (one dimension value for them all), and not queued
    assert (status, reply) == (200, OK)
    assert given.metrics.counts == {("UnknownCommand", "Unknown"): 1, ("NotQueued", "Unknown"): 1}
    assert given.queue.attempts == 0


def test_the_rules_are_loaded_once_on_the_first_callback_whatever_it_is():
    built: list[int] = []

    def build() -> CompiledRules:
        built.append(1)
        return InlineRules(load_rules(check_params=False), admin="")

    given = front(DeferredRules(build))
    for command in ("Live.CallbackAfterMemberStateChanged", "Live.CallbackAfterSetMetadata"):
        given.ingress.handle(event_for(command))
    assert built == [1]
    assert len(given.queue.sent) == 1


def test_when_the_rules_cannot_load_every_callback_is_still_queued():
    # Given a rules file that does not load (the moderator's own copy fails the same way, loudly)
    def build() -> CompiledRules:
        raise RulesInvalid(['rule "x": on[0]: unknown CallbackCommand "Nope.Nope"'])

    given = front(DeferredRules(build))
    # When a callback comes
    status, _ = given.handle(event_for("Group.CallbackAfterSendMsg"))
    # Then it is queued rather than lost, and the failure counted
    assert status == 200
    assert len(given.queue.sent) == 1
    assert given.metrics.counts[("RulesFailed", "Group.CallbackAfterSendMsg")] == 1


def test_an_ingress_without_rules_queues_nothing():
    queue = RecordingQueue()
    ingress = Ingress(queue=queue, queue_url="q", secret=lambda: SECRET, clock=lambda: NOW)
    status, _ = answer(ingress.handle(event_for("Live.CallbackAfterSetMetadata")))
    assert status == 200
    assert queue.attempts == 0
