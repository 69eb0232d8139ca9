"""The ingress logic with a recording queue: answers, retries within the budget, inline verdicts,
and the promise that nothing malformed is ever queued or answered 500."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveguard.ingress import Ingress
from liveguard.rules.verdict import Verdict
from liveguard.settings import TencentSecret
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event

from .conftest import ActingOnEveryCallback, FakeClock

SECRET = TencentSecret.model_validate(LOCAL_SECRET)
NOW = 1_800_000_000


class QueueDownError(Exception):
    def __init__(self, retryable: bool) -> None:
        super().__init__("queue down")
        self.retryable = retryable


@dataclass
class RecordingQueue:
    failures: list[Exception] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 0

    def send_message(self, queue_url: str, body: str, *, group_id, deduplication_id, timeout) -> object:
        self.attempts += 1
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append({"body": json.loads(body), "group": group_id, "dedup": deduplication_id})
        return object()


class Rules:
    def __init__(self, verdict: Verdict | None = None, error: Exception | None = None) -> None:
        self._verdict, self._error = verdict, error

    def verdict(self, event: Any) -> Verdict | None:
        if self._error:
            raise self._error
        return self._verdict

    def acts_on(self, command: str, *, echo: bool) -> bool:
        return True


def make(queue: RecordingQueue, rules: Any = None, clock: FakeClock | None = None) -> Ingress:
    """An ingress whose rules (by default) act on every callback, so it queues all it accepts."""
    clock = clock or FakeClock(now=0.0)
    options: dict[str, Any] = {"rules": rules if rules is not None else ActingOnEveryCallback()}
    return Ingress(
        queue=queue,
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-events-dev.fifo",
        secret=lambda: SECRET,
        clock=lambda: NOW,
        monotonic=clock,
        sleep=clock.sleep,
        **options,
    )


def event_for(command: str, body: Any = None, **query: Any) -> dict[str, Any]:
    raw = body if isinstance(body, str) else json.dumps(CALLBACK_BODIES[command] if body is None else body)
    return proxy_event(command, raw, request_time=NOW, query=query)


def answer(response: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return response["statusCode"], json.loads(response["body"])


def test_an_after_callback_is_answered_ok_once_queued():
    queue = RecordingQueue()
    status, body = answer(make(queue).handle(event_for("Live.CallbackAfterSetMetadata")))
    assert (status, body) == (200, {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0})
    assert queue.sent[0]["group"] == "live-room-1"


def test_a_base64_body_from_api_gateway_is_decoded():
    queue = RecordingQueue()
    event = event_for("Live.CallbackAfterSetMetadata")
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True
    assert answer(make(queue).handle(event))[0] == 200


def test_a_rejecting_rule_is_answered_with_code_1():
    queue = RecordingQueue()
    reject = Verdict(action="reject", code=1, rule="banned-terms", reason="banned term")
    status, body = answer(make(queue, Rules(reject)).handle(event_for("Group.CallbackBeforeSendMsg")))
    assert (status, body["ErrorCode"], body["ErrorInfo"]) == (200, 1, "banned term")
    assert queue.sent[0]["body"]["decision"]["rule"] == "banned-terms"


def test_a_rewrite_is_answered_with_the_new_msg_body():
    masked = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "red ***"}}]
    rewrite = Verdict(action="rewrite", code=0, msg_body=masked, rule="mask")
    _, body = answer(make(RecordingQueue(), Rules(rewrite)).handle(event_for("Group.CallbackBeforeSendMsg")))
    assert body["ErrorCode"] == 0
    assert body["MsgBody"] == masked


@pytest.mark.parametrize(
    ("command", "code"), [("Group.CallbackBeforeSendMsg", 0), ("Live.CallbackBeforeSendGift", 1)]
)
def test_when_the_rules_fail_tencents_default_is_answered_and_the_event_still_queued(command, code):
    queue = RecordingQueue()
    status, body = answer(make(queue, Rules(error=RuntimeError("bad rule"))).handle(event_for(command)))
    assert (status, body["ErrorCode"]) == (200, code)
    assert queue.sent[0]["body"]["decision"]["fallback"] is True


def test_our_own_message_is_never_moderated():
    rules = Rules(Verdict(action="reject", code=1))
    body = {**CALLBACK_BODIES["Group.CallbackBeforeSendMsg"], "Operator_Account": "administrator"}
    _, reply = answer(make(RecordingQueue(), rules).handle(event_for("Group.CallbackBeforeSendMsg", body)))
    assert reply["ErrorCode"] == 0


def test_a_retryable_queue_failure_is_retried_within_the_budget():
    queue = RecordingQueue(failures=[QueueDownError(retryable=True), QueueDownError(retryable=True)])
    status, _ = answer(make(queue).handle(event_for("Live.CallbackAfterSetMetadata")))
    assert status == 200
    assert queue.attempts == 3


def test_a_queue_that_stays_down_gets_503_before_tencents_two_seconds():
    clock = FakeClock(now=0.0)
    queue = RecordingQueue(failures=[QueueDownError(retryable=True)] * 1000)
    status, body = answer(make(queue, clock=clock).handle(event_for("Live.CallbackAfterSetMetadata")))
    assert status == 503
    assert body["ActionStatus"] == "FAIL"
    assert clock.now < 2.0
    assert queue.sent == []


def test_a_permanent_queue_failure_is_not_retried():
    queue = RecordingQueue(failures=[QueueDownError(retryable=False)])
    assert answer(make(queue).handle(event_for("Live.CallbackAfterSetMetadata")))[0] == 503
    assert queue.attempts == 1


def test_the_budget_shrinks_to_what_lambda_has_left():
    clock = FakeClock(now=0.0)
    queue = RecordingQueue(failures=[QueueDownError(retryable=True)] * 1000)
    make(queue, clock=clock).handle(event_for("Live.CallbackAfterSetMetadata"), remaining_ms=600)
    assert clock.now < 0.6


def test_a_misconfigured_secret_is_a_503_not_a_crash():
    def broken() -> TencentSecret:
        return TencentSecret.model_validate({"SdkAppId": 0})

    ingress = Ingress(queue=RecordingQueue(), queue_url="q", secret=broken, clock=lambda: NOW)
    assert answer(ingress.handle(event_for("Live.CallbackAfterSetMetadata")))[0] == 503


JSONS = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
COMMANDS = st.sampled_from(sorted(CALLBACK_BODIES)) | st.text(max_size=30)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    command=COMMANDS,
    body=JSONS.map(json.dumps)
    | st.text(max_size=200)
    | st.sampled_from([json.dumps(b) for b in CALLBACK_BODIES.values()]),
    extra_query=st.dictionaries(
        st.sampled_from(
            ["SdkAppid", "Sign", "RequestTime", "CallbackCommand", "ClientIP", "OptPlatform", "x"]
        ),
        st.text(max_size=40) | st.none(),
        max_size=4,
    ),
    base64_flag=st.booleans(),
)
def test_no_input_gets_a_500_and_nothing_refused_is_queued(command, body, extra_query, base64_flag):
    queue = RecordingQueue()
    event = proxy_event(command, body, request_time=NOW, query=extra_query)
    event["isBase64Encoded"] = base64_flag
    status, reply = answer(make(queue).handle(event))
    assert status in (200, 400, 401, 413)
    assert isinstance(reply["ErrorCode"], int)
    if status != 200:
        assert queue.sent == []
        assert reply["ActionStatus"] == "FAIL"
    else:
        assert len(queue.sent) == 1


@dataclass
class RecordingMetrics:
    counts: dict[str, float] = field(default_factory=dict)

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + value

    def add_dimension(self, name: str, value: str) -> None:
        pass


def make_counted(queue: RecordingQueue) -> tuple[Ingress, RecordingMetrics]:
    metrics = RecordingMetrics()
    clock = FakeClock(now=0.0)
    ingress = Ingress(
        queue=queue,
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-events-dev.fifo",
        secret=lambda: SECRET,
        rules=ActingOnEveryCallback(),
        metrics=metrics,
        clock=lambda: NOW,
        monotonic=clock,
        sleep=clock.sleep,
    )
    return ingress, metrics


def test_a_query_command_differing_from_the_bodys_is_accepted_as_the_bodys_and_counted():
    # Given Tencent's metadata-delete callback under the query its own page shows (the set callback's)
    queue = RecordingQueue()
    ingress, metrics = make_counted(queue)
    body = json.dumps(CALLBACK_BODIES["Live.CallbackAfterDelMetadata"])
    event = proxy_event("Live.CallbackAfterSetMetadata", body, request_time=NOW)

    # When it is delivered
    status, _ = answer(ingress.handle(event))

    # Then it is queued as the delete it is, and the mismatch is counted
    assert status == 200
    assert queue.sent[0]["body"]["command"] == "Live.CallbackAfterDelMetadata"
    assert metrics.counts["CommandMismatch"] == 1


def test_a_kicked_member_is_accepted_without_counting_an_unknown_value():
    queue = RecordingQueue()
    ingress, metrics = make_counted(queue)
    body = {
        **CALLBACK_BODIES["Live.CallbackAfterMemberStateChanged"],
        "EventType": "Offline",
        "EventCause": "Kicked",
    }

    status, _ = answer(ingress.handle(event_for("Live.CallbackAfterMemberStateChanged", body)))

    assert status == 200
    assert queue.sent[0]["body"]["event"]["EventCause"] == "Kicked"
    assert not any(name.startswith("UnknownValue") for name in metrics.counts)


def test_an_undocumented_enum_value_is_accepted_and_counted_by_field():
    # Given a member-state callback with an EventCause no Tencent page lists yet
    queue = RecordingQueue()
    ingress, metrics = make_counted(queue)
    body = {**CALLBACK_BODIES["Live.CallbackAfterMemberStateChanged"], "EventCause": "Teleported"}

    # When it is delivered
    status, _ = answer(ingress.handle(event_for("Live.CallbackAfterMemberStateChanged", body)))

    # Then it is queued as sent, and counted under its field's name
    assert status == 200
    assert queue.sent[0]["body"]["event"]["EventCause"] == "Teleported"
    assert metrics.counts["UnknownValue_EventCause"] == 1


def test_a_body_command_of_the_other_tencent_side_is_refused():
    # Given a Live-side query (checked with the Live token) over a body naming a Chat-side event
    queue = RecordingQueue()
    ingress, _ = make_counted(queue)
    body = json.dumps(CALLBACK_BODIES["Group.CallbackBeforeSendMsg"])
    event = proxy_event("Live.CallbackAfterSetMetadata", body, request_time=NOW)

    # When it is delivered
    status, reply = answer(ingress.handle(event))

    # Then it is refused: one side's token does not speak for the other's events
    assert (status, reply["ErrorCode"]) == (400, 40003)
    assert reply["ErrorInfo"] == "CallbackCommand: the body's names the other Tencent side"
    assert queue.sent == []
