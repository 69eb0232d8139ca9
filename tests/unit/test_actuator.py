"""The actuator against moto (DynamoDB for idempotency and audit, SQS for the queues) with a scripted
LiveClient: outcomes, redelivery, duplicates, dead letters, delays and retries through the
delayed-actions queue, and the FIFO group semantics.

The helpers at the top are shared with tests/integration/test_actuator_emulator.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws
from pydantic import ValidationError

from liveguard.actuator import RETRY_BACKOFF, ActionOutcome, Actuator
from liveguard.aws.actuator_queues import SqsActuatorQueues
from liveguard.aws.idempotency import PowertoolsIdempotency, state_table_persistence
from liveguard.aws.state_table import StateTable
from liveguard.memory import MemoryState
from liveguard.messages import ActionMessage, action_id, message_group
from liveguard.settings import ActuatorEnvironment
from liveguard.tencent.commands import EmptyReply, Reply
from liveguard.tencent.errors import TencentApiError
from tests.aws import FAKE_CREDENTIALS, create_state_table
from tests.functions import FakeLambdaContext, lambda_context, load_function, process_batch

CAUSE = "c" * 64
TABLE = "liveguard-state-test"


# --- shared helpers ----------------------------------------------------------------------------


def make_action(
    command: str = "del_room_metadata",
    params: dict[str, Any] | None = None,
    *,
    room: str = "live-1",
    rule: str = "banned-metadata",
    cause: str = CAUSE,
    not_before: int | None = None,
    retries: int | None = None,
) -> ActionMessage:
    params = {"RoomId": room, "Keys": ["topic"]} if params is None else params
    return ActionMessage(
        id=action_id(cause, rule, command, params),
        command=command,
        params=params,
        room=room,
        rule=rule,
        cause=cause,
        not_before=not_before,
        retries=retries,
    )


@dataclass
class Aws:
    """The template's resources for the actuator, in moto (in-process mock or server alike)."""

    sqs: Any
    dynamodb: Any
    table: str
    actions_url: str
    actions_arn: str
    dlq_url: str
    delayed_url: str = ""
    delayed_arn: str = ""

    def send(
        self, action: ActionMessage | str, *, group: str | None = None, dedup: str | None = None
    ) -> None:
        """Queue an action as the moderator does (group = room, dedup id = action id), or a raw body."""
        if isinstance(action, ActionMessage):
            body, group, dedup = action.model_dump_json(), message_group(action.room), action.id
        else:
            body = action
        self.sqs.send_message(
            QueueUrl=self.actions_url,
            MessageBody=body,
            MessageGroupId=group or "live-1",
            MessageDeduplicationId=dedup or str(time.monotonic_ns()),
        )

    def receive_event(self, max_messages: int = 10, *, delayed: bool = False) -> dict[str, Any]:
        """What Lambda hands the function: the received messages as an SQS event (from the actions
        queue, or the delayed-actions queue)."""
        messages = self.sqs.receive_message(
            QueueUrl=self.delayed_url if delayed else self.actions_url,
            MaxNumberOfMessages=max_messages,
            MessageSystemAttributeNames=["All"],
            WaitTimeSeconds=0,
        ).get("Messages", [])
        return {"Records": [self._record(message, delayed=delayed) for message in messages]}

    def _record(self, message: dict[str, Any], *, delayed: bool = False) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": self.delayed_arn if delayed else self.actions_arn,
            "awsRegion": "us-east-1",
        }

    def complete(self, event: dict[str, Any], response: dict[str, Any]) -> None:
        """Delete the records the function completed, as the event source mapping does."""
        failed = {item["itemIdentifier"] for item in response["batchItemFailures"]}
        for record in event["Records"]:
            if record["messageId"] not in failed:
                self.sqs.delete_message(
                    QueueUrl=self._queue_of(record), ReceiptHandle=record["receiptHandle"]
                )

    def _queue_of(self, record: dict[str, Any]) -> str:
        return self.delayed_url if record["eventSourceARN"] == self.delayed_arn else self.actions_url

    def release(self, event: dict[str, Any], response: dict[str, Any] | None = None) -> None:
        """Make received messages (those the response failed, if given) visible again at once,
        as if their visibility timeout had run out."""
        failed = None if response is None else failed_ids(response)
        for record in event["Records"]:
            if failed is not None and record["messageId"] not in failed:
                continue
            self.sqs.change_message_visibility(
                QueueUrl=self._queue_of(record), ReceiptHandle=record["receiptHandle"], VisibilityTimeout=0
            )

    def dead_letters(self) -> list[dict[str, Any]]:
        messages = self.sqs.receive_message(
            QueueUrl=self.dlq_url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        ).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]

    def audit(self, room: str) -> list[dict[str, Any]]:
        """A room's audit records, as an operator reads them (errors as their JSON objects)."""
        records = StateTable(self.table, self.dynamodb).audit_for_room(room)
        return [{**r, "error": json.loads(r["error"])} if r.get("error") else r for r in records]

    def idempotency_records(self) -> list[dict[str, Any]]:
        items = self.dynamodb.scan(TableName=self.table)["Items"]
        return [item for item in items if item["pk"]["S"].startswith("idempotency#")]

    def queues(self) -> SqsActuatorQueues:
        return SqsActuatorQueues(delayed_queue_url=self.delayed_url, dlq_url=self.dlq_url, client=self.sqs)

    def delayed_now(self) -> list[dict[str, Any]]:
        """The delayed-actions queue's messages visible now (bodies), left in the queue."""
        messages = self.sqs.receive_message(
            QueueUrl=self.delayed_url, MaxNumberOfMessages=10, VisibilityTimeout=0, WaitTimeSeconds=0
        ).get("Messages", [])
        return [json.loads(message["Body"]) for message in messages]


def create_resources(suffix: str = "test") -> Aws:
    """The state table and the two FIFO queues, shaped as the template makes them."""
    dynamodb = boto3.client("dynamodb")
    table = f"liveguard-state-{suffix}"
    create_state_table(dynamodb, table)
    sqs = boto3.client("sqs")
    fifo = {
        "FifoQueue": "true",
        "DeduplicationScope": "messageGroup",
        "FifoThroughputLimit": "perMessageGroupId",
    }
    dlq_url = sqs.create_queue(QueueName=f"liveguard-actions-dlq-{suffix}.fifo", Attributes=fifo)["QueueUrl"]
    actions_url = sqs.create_queue(
        QueueName=f"liveguard-actions-{suffix}.fifo", Attributes={**fifo, "VisibilityTimeout": "180"}
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=actions_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    delayed_url = sqs.create_queue(
        QueueName=f"liveguard-delayed-actions-{suffix}", Attributes={"VisibilityTimeout": "180"}
    )["QueueUrl"]
    delayed_arn = sqs.get_queue_attributes(QueueUrl=delayed_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return Aws(sqs, dynamodb, table, actions_url, arn, dlq_url, delayed_url, delayed_arn)


@contextmanager
def fresh_secret_readers() -> Iterator[None]:
    """Powertools parameters keeps one Secrets Manager client per process: drop it before and after,
    so neither this test's mock nor another test's endpoint leaks across."""
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    DEFAULT_PROVIDERS.clear()
    try:
        yield
    finally:
        DEFAULT_PROVIDERS.clear()


def actuator_context(remaining_ms: int = 60_000) -> FakeLambdaContext:
    """The actuator's Lambda context (512 MB), with ``remaining_ms`` left to run."""
    return lambda_context("ActuatorFunction", memory_mb=512, remaining_ms=remaining_ms)


@dataclass
class RecordingMetrics:
    counts: dict[str, float] = field(default_factory=dict)

    def add_metric(self, name: str, unit: str, value: float) -> None:
        self.counts[name] = self.counts.get(name, 0) + value


def failed_ids(response: dict[str, Any]) -> set[str]:
    return {item["itemIdentifier"] for item in response["batchItemFailures"]}


# --- unit fixtures -----------------------------------------------------------------------------

Answer = Reply | TencentApiError


@dataclass
class ScriptedClient:
    """LiveClient's execute(): answers queued replies or errors in order (the last repeats)."""

    answers: list[Answer] = field(default_factory=lambda: [EmptyReply.model_validate({"RequestId": "req-1"})])
    calls: list[tuple[str, dict[str, Any], float | None]] = field(default_factory=list)

    def execute(self, command: str, params: Any, *, deadline: float | None = None) -> Reply:
        self.calls.append((command, dict(params), deadline))
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, TencentApiError):
            raise answer
        return answer


def tencent_error(code: int, command: str = "del_room_metadata") -> TencentApiError:
    return TencentApiError(command=command, code=code, info=f"code {code}", request_id=f"req-{code}")


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws(), fresh_secret_readers():
        yield create_resources()


@pytest.fixture
def client() -> ScriptedClient:
    return ScriptedClient()


@pytest.fixture
def metrics() -> RecordingMetrics:
    return RecordingMetrics()


def make_actuator(aws: Aws, client: Any, metrics: RecordingMetrics | None = None, **options: Any) -> Actuator:
    return Actuator(
        client=lambda: client,
        idempotency=idempotency(aws),
        queues=aws.queues(),
        audit=StateTable(aws.table, aws.dynamodb),
        metrics=metrics,
        **options,
    )


def deliver(
    aws: Aws, actuator: Actuator, context: FakeLambdaContext | None = None, *, delayed: bool = False
) -> dict[str, Any]:
    """Receive a batch (from the actions queue, or the delayed-actions queue), run the actuator on it,
    complete what it completed; return its response."""
    event = aws.receive_event(delayed=delayed)
    assert event["Records"], "nothing to deliver"
    response = process_batch(actuator.handle_record, event, context or actuator_context())
    aws.complete(event, response)
    aws.release(event, response)
    return response


# --- outcomes ----------------------------------------------------------------------------------


def test_an_action_runs_its_command_and_is_audited_as_done(aws, client, metrics):
    # Given a del_room_metadata action on the queue
    action = make_action()
    aws.send(action)
    # When the actuator handles the batch
    response = deliver(aws, make_actuator(aws, client, metrics))
    # Then LiveClient ran the command with its params, the record completed and the room's audit says done
    assert response == {"batchItemFailures": []}
    assert [(command, params) for command, params, _ in client.calls] == [(action.command, action.params)]
    [audit] = aws.audit("live-1")
    assert audit["outcome"] == "done"
    assert audit["kind"] == "action"
    assert audit["id"] == action.id
    assert audit["command"] == "del_room_metadata"
    assert audit["rules"] == ["banned-metadata"]
    assert audit["actions"] == [action.model_dump(mode="json")]
    assert metrics.counts == {"ActionDone": 1}


def test_a_redelivered_action_does_not_call_tencent_again(aws, client, metrics):
    # Given an action that already ran once
    action = make_action()
    actuator = make_actuator(aws, client, metrics)
    aws.send(action)
    event = aws.receive_event()
    process_batch(actuator.handle_record, event, actuator_context())
    # When SQS delivers the same message again (e.g. the deletion was lost)
    response = process_batch(actuator.handle_record, event, actuator_context())
    # Then it completes without a second call, and is counted as a duplicate
    assert response == {"batchItemFailures": []}
    assert len(client.calls) == 1
    assert metrics.counts == {"ActionDone": 1, "ActionDuplicate": 1}
    assert len(aws.audit("live-1")) == 1  # the replay rewrote the same audit record


def test_the_same_action_queued_twice_runs_once(aws, client):
    # Given the same action id in two messages (past SQS's five-minute deduplication window)
    action = make_action()
    aws.send(action.model_dump_json(), group="live-1", dedup="first")
    aws.send(action.model_dump_json(), group="live-1", dedup="second")
    # When both are delivered in one batch
    response = deliver(aws, make_actuator(aws, client))
    # Then Tencent is called once and both records complete
    assert response == {"batchItemFailures": []}
    assert len(client.calls) == 1


@pytest.mark.parametrize("code", [100001, 60007, 70500])
def test_a_retryable_failure_waits_in_the_delayed_queue_and_its_retry_completes_it(aws, metrics, code):
    # Given Tencent fails the first attempt with a retryable code, then succeeds
    client = ScriptedClient([tencent_error(code), EmptyReply.model_validate({"RequestId": "req-ok"})])
    actuator = make_actuator(aws, client, metrics)
    actuator.queues = ImmediateDelays(aws)
    action = make_action()
    aws.send(action)
    # When the batch is delivered
    first = deliver(aws, actuator)
    # Then the record completes (its room's group is not held), nothing is dead-lettered, no
    # idempotency record blocks the retry, and the action waits its first backoff as retry 1
    assert first == {"batchItemFailures": []}
    assert aws.dead_letters() == []
    assert aws.idempotency_records() == []
    assert actuator.queues.delays == [(action.id, 1, RETRY_BACKOFF[0])]
    # And when the delayed-actions queue hands it over, it runs and completes
    assert deliver(aws, actuator, delayed=True) == {"batchItemFailures": []}
    assert len(client.calls) == 2
    assert metrics.counts == {"ActionRetried": 1, "ActionDone": 1}
    assert [audit["outcome"] for audit in aws.audit("live-1")] == ["done"]


def test_a_retryable_failure_is_retried_with_growing_backoff_then_dead_lettered_and_audited(aws, metrics):
    # Given Tencent answers a retryable error every time
    client = ScriptedClient([tencent_error(100001)])
    actuator = make_actuator(aws, client, metrics)
    actuator.queues = ImmediateDelays(aws)
    action = make_action()
    aws.send(action)
    # When the action is delivered, then each of its retries from the delayed-actions queue
    deliver(aws, actuator)
    for _ in RETRY_BACKOFF:
        assert deliver(aws, actuator, delayed=True) == {"batchItemFailures": []}
    # Then it was tried once and retried len(RETRY_BACKOFF) times, each after a longer backoff
    assert len(client.calls) == 1 + len(RETRY_BACKOFF)
    assert actuator.queues.delays == [
        (action.id, retry, wait) for retry, wait in enumerate(RETRY_BACKOFF, start=1)
    ]
    assert list(RETRY_BACKOFF) == sorted(RETRY_BACKOFF)
    # And then it is in the actions DLQ (without its retry count, so a replay after a fix gets them
    # all again) with the last error, audited as failed, and no longer in the delayed-actions queue
    [dead] = aws.dead_letters()
    assert {key: value for key, value in dead.items() if key != "error"} == action.model_dump(mode="json")
    assert dead["error"]["code"] == 100001
    assert dead["error"]["category"] == "retryable"
    assert f"gave up after {len(RETRY_BACKOFF)} retries" in dead["error"]["info"]
    assert [audit["outcome"] for audit in aws.audit("live-1")] == ["failed"]
    assert aws.delayed_now() == []
    assert metrics.counts == {
        "ActionRetried": len(RETRY_BACKOFF),
        "ActionFailed": 1,
        "ActionFailedRetryable": 1,
    }


@pytest.mark.parametrize(("code", "category"), [(100002, "permanent"), (70001, "auth"), (60010, "auth")])
def test_a_permanent_or_auth_failure_is_dead_lettered_with_its_error_and_audited(
    aws, metrics, code, category
):
    # Given Tencent refuses the command for good
    client = ScriptedClient([tencent_error(code)])
    action = make_action()
    aws.send(action)
    # When the batch is delivered
    response = deliver(aws, make_actuator(aws, client, metrics))
    # Then the record completes, and the DLQ holds the action with the error
    assert response == {"batchItemFailures": []}
    error = {"code": code, "info": f"code {code}", "request_id": f"req-{code}", "category": category}
    assert aws.dead_letters() == [{**action.model_dump(mode="json"), "error": error}]
    # And the room's audit records the failure with the error
    [audit] = aws.audit("live-1")
    assert audit["outcome"] == "failed"
    assert audit["error"] == error
    assert metrics.counts == {"ActionFailed": 1, f"ActionFailed{category.capitalize()}": 1}


def test_a_body_refused_locally_is_dead_lettered_without_a_call(aws):
    # Given an action whose params LiveClient refuses before sending (no Keys)
    client = ScriptedClient(
        [TencentApiError(command="del_room_metadata", code=100002, info="Keys: Field required", local=True)]
    )
    aws.send(make_action(params={"RoomId": "live-1"}))
    # When it is delivered
    deliver(aws, make_actuator(aws, client))
    # Then it ends in the DLQ naming the field
    [dead] = aws.dead_letters()
    assert dead["error"]["info"] == "Keys: Field required"


@pytest.mark.parametrize("command", ["destroy_room", "del_room_metadata", "set_room_metadata"])
def test_a_room_already_gone_counts_as_done(aws, metrics, command):
    # Given the room no longer exists (100004), which is the state these commands want
    client = ScriptedClient([tencent_error(100004, command)])
    aws.send(make_action(command, {"RoomId": "live-1"}))
    # When the action is delivered
    response = deliver(aws, make_actuator(aws, client, metrics))
    # Then it completes as gone, and nothing is dead-lettered
    assert response == {"batchItemFailures": []}
    assert aws.dead_letters() == []
    assert [audit["outcome"] for audit in aws.audit("live-1")] == ["gone"]
    assert metrics.counts == {"ActionGone": 1}


def test_a_room_gone_for_a_mute_is_a_permanent_failure(aws):
    # Given 100004 on a command for which a missing room is not the desired state
    client = ScriptedClient([tencent_error(100004, "mute_member")])
    aws.send(make_action("mute_member", {"RoomId": "live-1", "MemberList_Account": ["bob"], "MuteTime": 60}))
    # When it is delivered
    deliver(aws, make_actuator(aws, client))
    # Then it is dead-lettered
    assert [dead["error"]["code"] for dead in aws.dead_letters()] == [100004]


# --- commands no rule may run ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "params"),
    [
        ("set_callback", {"Url": "https://attacker.example/cb", "CallbackCommandList": []}),
        ("update_callback", {"Url": "https://attacker.example/cb", "CallbackCommandList": []}),
        ("set_callback_token", {"Token": "attacker-token", "IsTokenEnable": False}),
        ("get_callback_token", {}),
        ("get_room_list", {}),
        ("get_room_metadata", {"RoomId": "live-1"}),
        ("drop_everything", {"RoomId": "live-1"}),
    ],
)
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_command_rules_may_not_run_is_dead_lettered_with_the_reason_and_never_run(
    aws, client, metrics, command, params, dry_run
):
    # Given someone who can write to the actions queue sends a configuration command or a read
    action = make_action(command, params)
    aws.send(action)
    # When it is delivered
    response = deliver(aws, make_actuator(aws, client, metrics, dry_run=dry_run))
    # Then LiveClient never received it; the record completes into the DLQ with the reason
    assert client.calls == []
    assert response == {"batchItemFailures": []}
    [dead] = aws.dead_letters()
    assert dead["id"] == action.id
    assert dead["error"]["category"] == "permanent"
    assert "is not a command rules may run" in dead["error"]["info"]
    # And the room's audit records it as failed, with the same reason
    [audit] = aws.audit("live-1")
    assert (audit["outcome"], audit["command"]) == ("failed", command)
    assert audit["error"] == dead["error"]
    assert metrics.counts == {"ActionForbidden": 1, "ActionFailed": 1, "ActionFailedPermanent": 1}


# --- malformed messages ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json", "the body is not JSON"),
        ('{"v": 1, "id": "x"}', "id: String should match pattern"),
        ("[1, 2]", "<body>: Input should be a valid dictionary"),
    ],
)
def test_a_malformed_message_is_dead_lettered_with_the_reason_and_completed(
    aws, client, metrics, body, reason
):
    # Given a message that is not an ActionMessage
    aws.send(body)
    # When it is delivered
    response = deliver(aws, make_actuator(aws, client, metrics))
    # Then the record completes, the DLQ holds it verbatim with the reason, and nothing was called
    assert response == {"batchItemFailures": []}
    [dead] = aws.dead_letters()
    assert dead["raw"] == body
    assert reason in dead["error"]["info"]
    assert dead["error"]["category"] == "permanent"
    assert client.calls == []
    assert metrics.counts == {"ActionMalformed": 1}


def test_a_dead_letter_replayed_after_a_fix_runs(aws, client):
    # Given a dead letter (an action plus the error it failed with) moved back to the actions queue
    action = make_action()
    error = {"code": 100002, "info": "x", "request_id": "r", "category": "permanent"}
    aws.send(json.dumps({**action.model_dump(mode="json"), "error": error}), group="live-1", dedup="replay")
    # When it is delivered
    response = deliver(aws, make_actuator(aws, client))
    # Then the action runs
    assert response == {"batchItemFailures": []}
    assert len(client.calls) == 1


class NoQueues:
    """The actuator's queues in memory: dead letters kept."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []

    def dead_letter(self, body: Any, *, group: str, deduplication_id: str) -> None:
        self.sent.append(dict(body))

    def delay(self, action: ActionMessage, seconds: int) -> None:
        raise AssertionError("no body here is a valid action, so none is delayed")


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(
        st.text(), st.dictionaries(st.text(), st.none() | st.integers() | st.text()).map(json.dumps)
    )
)
def test_any_body_either_runs_or_is_dead_lettered_never_crashes(body):
    # Given any body at all (the queue is fed by our moderator, but a replay tool or a person can write to it)
    queues = NoQueues()
    client = ScriptedClient()
    actuator = Actuator(
        client=lambda: client,
        idempotency=None,  # never reached: no body here is a valid action
        queues=queues,
        audit=MemoryState(),
    )
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    record = SQSRecord({"messageId": "m-1", "receiptHandle": "h", "body": body, "attributes": {}})
    # When the actuator handles it, it is dead-lettered with a reason
    assert actuator.handle_record(record) is ActionOutcome.MALFORMED
    assert queues.sent[0]["raw"] == body
    assert queues.sent[0]["error"]["info"].startswith("not an ActionMessage")


# --- scheduling, FIFO groups and time ----------------------------------------------------------


class ImmediateDelays(SqsActuatorQueues):
    """The actuator's queues, with every delay recorded (action id, retries, seconds) and then sent
    with no delay, so a test can hand the action back at once instead of sleeping."""

    def __init__(self, aws: Aws) -> None:
        super().__init__(delayed_queue_url=aws.delayed_url, dlq_url=aws.dlq_url, client=aws.sqs)
        self.delays: list[tuple[str, int, int]] = []

    def delay(self, action: ActionMessage, seconds: int) -> None:
        self.delays.append((action.id, action.retries or 0, seconds))
        super().delay(action, 0)


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_an_action_not_due_yet_waits_in_the_delayed_queue_and_its_record_completes(aws, client, metrics):
    # Given an action due in 120 s, queued in its room's FIFO group
    clock = Clock(1_800_000_000.0)
    action = make_action(not_before=int(clock.now) + 120)
    aws.send(action)
    actuator = make_actuator(aws, client, metrics, clock=clock)
    # When it is delivered now
    response = deliver(aws, actuator)
    # Then its record completes without a call (its room's group goes on), and it waits in the
    # delayed-actions queue, invisible for the 120 s left
    assert response == {"batchItemFailures": []}
    assert client.calls == []
    assert metrics.counts == {"ActionDelayed": 1}
    assert aws.receive_event()["Records"] == []
    assert aws.delayed_now() == []
    # And once it is due, SQS hands it over and it runs
    clock.now += 120
    time_travel(aws)
    assert deliver(aws, actuator, delayed=True) == {"batchItemFailures": []}
    assert [(command, params) for command, params, _ in client.calls] == [(action.command, action.params)]


def time_travel(aws: Aws) -> None:
    """Make every delayed message visible now (moto honours DelaySeconds by its own clock)."""
    from moto.backends import get_backend

    for backend in get_backend("sqs").values():
        for region in backend.values():
            for queue in region.queues.values():
                for message in queue._messages:
                    message.delayed_until = 0


def test_an_action_due_after_sqss_longest_delay_waits_900_s_then_again_for_the_rest(aws, client, metrics):
    # Given an action due in 1,500 s (a replay, or a retry of one): past SQS's 900 s message timer
    clock = Clock(1_800_000_000.0)
    action = make_action(not_before=int(clock.now) + 1500)
    aws.send(action)
    actuator = make_actuator(aws, client, metrics, clock=clock)
    actuator.queues = ImmediateDelays(aws)
    # When it is delivered now, then by the delayed-actions queue 900 s later
    deliver(aws, actuator)
    clock.now += 900
    deliver(aws, actuator, delayed=True)
    # Then it waited 900 s, then the 600 s left, without a call
    assert actuator.queues.delays == [(action.id, 0, 900), (action.id, 0, 600)]
    assert client.calls == []
    # And when it comes back due, it runs
    clock.now += 600
    assert deliver(aws, actuator, delayed=True) == {"batchItemFailures": []}
    assert len(client.calls) == 1
    assert metrics.counts == {"ActionDelayed": 2, "ActionDone": 1}


def test_when_sqs_refuses_the_delay_the_record_fails_and_sqs_delivers_it_again(aws, client, metrics):
    # Given an action not due yet, and a delayed-actions queue that cannot be reached
    clock = Clock(1_800_000_000.0)
    aws.send(make_action(not_before=int(clock.now) + 60))
    actuator = make_actuator(aws, client, metrics, clock=clock)
    actuator.queues.delayed.queue_url = aws.delayed_url + "-missing"  # type: ignore[attr-defined]
    # When it is delivered, the record fails (SQS keeps it) rather than the action being lost
    event = aws.receive_event()
    response = process_batch(actuator.handle_record, event, actuator_context())
    assert failed_ids(response) == {event["Records"][0]["messageId"]}
    assert client.calls == []
    assert metrics.counts == {"ActionErrored": 1}


def test_an_action_whose_time_has_come_runs_at_once(aws, client):
    clock = Clock(1_800_000_000.0)
    aws.send(make_action(not_before=int(clock.now) - 1))
    assert deliver(aws, make_actuator(aws, client, clock=clock)) == {"batchItemFailures": []}
    assert len(client.calls) == 1


def test_a_retryable_failure_does_not_hold_back_the_rest_of_its_room(aws):
    # Given three actions in one batch: two for live-1 (the first will fail, retryably), one for live-2
    client = ScriptedClient([tencent_error(100001), EmptyReply.model_validate({"RequestId": "ok"})])
    first = make_action(params={"RoomId": "live-1", "Keys": ["a"]})
    second = make_action(params={"RoomId": "live-1", "Keys": ["b"]})
    other = make_action(room="live-2", params={"RoomId": "live-2", "Keys": ["a"]})
    for action in (first, second, other):
        aws.send(action)
    event = aws.receive_event()
    # When the batch is handled
    response = process_batch(make_actuator(aws, client).handle_record, event, actuator_context())
    # Then every record completes: live-1's second action ran at once, behind nothing, and the
    # failed one waits for its retry in the delayed-actions queue
    assert response == {"batchItemFailures": []}
    assert [params for _, params, _ in client.calls] == [first.params, second.params, other.params]


def test_an_error_of_aws_still_holds_back_the_rest_of_its_room_but_not_other_rooms(aws):
    # Given three actions in one batch: two for live-1, one for live-2, and a DLQ that cannot be
    # reached when live-1's first action is refused for good
    client = ScriptedClient([tencent_error(100002), EmptyReply.model_validate({"RequestId": "ok"})])
    first = make_action(params={"RoomId": "live-1", "Keys": ["a"]})
    second = make_action(params={"RoomId": "live-1", "Keys": ["b"]})
    other = make_action(room="live-2", params={"RoomId": "live-2", "Keys": ["a"]})
    for action in (first, second, other):
        aws.send(action)
    event = aws.receive_event()
    ids = {json.loads(r["body"])["id"]: r["messageId"] for r in event["Records"]}
    actuator = make_actuator(aws, client)
    actuator.queues.dlq_url = aws.dlq_url + "-missing.fifo"  # type: ignore[attr-defined]
    # When the batch is handled
    response = process_batch(actuator.handle_record, event, actuator_context())
    # Then both live-1 records fail (order within the room is kept), and live-2's ran
    assert failed_ids(response) == {ids[first.id], ids[second.id]}
    assert [params["RoomId"] for _, params, _ in client.calls] == ["live-1", "live-2"]


def test_a_batch_where_everything_fails_is_reported_not_raised(aws):
    # Given a lone action that fails with a retryable error, and no delayed-actions queue to retry from
    aws.send(make_action())
    event = aws.receive_event()
    actuator = make_actuator(aws, ScriptedClient([tencent_error(100001)]))
    actuator.queues.delayed.queue_url = aws.delayed_url + "-missing"  # type: ignore[attr-defined]
    # When it is handled, the response lists it (a function error would trip the errors alarm)
    response = process_batch(actuator.handle_record, event, actuator_context())
    assert failed_ids(response) == {event["Records"][0]["messageId"]}


def test_the_command_deadline_is_the_invocations_remaining_time_less_the_margin(aws, client):
    aws.send(make_action())
    actuator = make_actuator(aws, client, monotonic=lambda: 100.0, margin=3.0)
    deliver(aws, actuator, actuator_context(remaining_ms=20_000))
    [(_, _, deadline)] = client.calls
    assert deadline == pytest.approx(100.0 + 20.0 - 3.0)


def test_with_no_time_left_the_action_is_retried_from_the_delayed_queue_before_any_call(aws, client):
    aws.send(make_action())
    actuator = make_actuator(aws, client, margin=3.0)
    actuator.queues = ImmediateDelays(aws)
    response = deliver(aws, actuator, actuator_context(remaining_ms=2_000))
    assert response == {"batchItemFailures": []}
    assert client.calls == []
    assert [(retries, seconds) for _, retries, seconds in actuator.queues.delays] == [(1, RETRY_BACKOFF[0])]


def test_no_time_left_is_a_retry_for_handle_record_callers(aws, client):
    aws.send(make_action())
    event = aws.receive_event()
    actuator = make_actuator(aws, client, margin=3.0)
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

    outcome = actuator.handle_record(SQSRecord(event["Records"][0]), actuator_context(remaining_ms=1_000))  # type: ignore[arg-type]
    assert outcome is ActionOutcome.RETRYING


# --- dry run -----------------------------------------------------------------------------------


def test_a_dry_run_records_the_action_without_calling_tencent(aws, metrics):
    # Given the actuator in dry-run mode, with a client that must never be made
    def no_client() -> Any:
        raise AssertionError("dry run must not build LiveClient (nor read the secret)")

    action = make_action()
    aws.send(action)
    actuator = Actuator(
        client=no_client,
        idempotency=idempotency(aws),
        queues=aws.queues(),
        audit=StateTable(aws.table, aws.dynamodb),
        dry_run=True,
        metrics=metrics,
    )
    # When the batch is delivered
    response = deliver(aws, actuator)
    # Then the record completes and the audit says dry_run
    assert response == {"batchItemFailures": []}
    assert [audit["outcome"] for audit in aws.audit("live-1")] == ["dry_run"]
    assert metrics.counts == {"ActionDryRun": 1}


def test_a_dry_run_does_not_stop_the_real_run_later(aws, client):
    # Given an action recorded in dry-run mode
    action = make_action()
    aws.send(action)
    deliver(aws, make_actuator(aws, client, dry_run=True))
    # When the same action arrives once dry run is off
    aws.send(action.model_dump_json(), group="live-1", dedup="again")
    deliver(aws, make_actuator(aws, client))
    # Then it runs for real
    assert len(client.calls) == 1


def idempotency(aws: Aws) -> PowertoolsIdempotency:
    """The idempotency the function wires: Powertools' records in the state table."""
    return PowertoolsIdempotency(state_table_persistence(aws.table, aws.dynamodb))


# --- the environment ---------------------------------------------------------------------------

ENVIRONMENT = {
    "DELAYED_ACTIONS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-delayed-actions-dev",
    "ACTIONS_DLQ_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-actions-dlq-dev.fifo",
    "STATE_TABLE_NAME": "liveguard-state-dev",
    "TENCENT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:liveguard-AbCdEf",
}


def test_the_environment_defaults_to_live_runs_at_concurrency_one():
    environment = ActuatorEnvironment.model_validate(ENVIRONMENT)
    assert environment.dry_run is False
    assert environment.concurrency == 1


@pytest.mark.parametrize(("raw", "expected"), [("true", True), ("false", False), ("TRUE", True)])
def test_dry_run_is_read_from_the_environment(raw, expected):
    assert ActuatorEnvironment.model_validate({**ENVIRONMENT, "DRY_RUN": raw}).dry_run is expected


@pytest.mark.parametrize(
    "name", ["DELAYED_ACTIONS_QUEUE_URL", "ACTIONS_DLQ_URL", "STATE_TABLE_NAME", "TENCENT_SECRET_ARN"]
)
def test_a_missing_setting_is_named(name):
    environment = {key: value for key, value in ENVIRONMENT.items() if key != name}
    with pytest.raises(ValidationError) as raised:
        ActuatorEnvironment.model_validate(environment)
    assert raised.value.errors()[0]["loc"] == (name,)


def test_a_concurrency_below_one_is_refused():
    with pytest.raises(ValidationError):
        ActuatorEnvironment.model_validate({**ENVIRONMENT, "ACTUATOR_CONCURRENCY": "0"})


def test_the_lambdas_actuator_divides_tencents_rate_by_both_sources_concurrency(aws, monkeypatch):
    # Given the environment the template sets, with a secret in Secrets Manager: 2 instances on the
    # actions queue, 2 on the delayed-actions queue
    secret = {"SdkAppId": 1400000001, "SecretKey": "k", "AdminIdentifier": "administrator", "Region": "USA"}
    arn = boto3.client("secretsmanager").create_secret(Name="lg", SecretString=json.dumps(secret))["ARN"]
    environment = {
        "DELAYED_ACTIONS_QUEUE_URL": aws.delayed_url,
        "ACTIONS_DLQ_URL": aws.dlq_url,
        "STATE_TABLE_NAME": aws.table,
        "TENCENT_SECRET_ARN": arn,
        "ACTUATOR_CONCURRENCY": "2",
        "DELAYED_ACTIONS_CONCURRENCY": "2",
    }
    # When the function's actuator builds its LiveClient
    live = load_function("actuator", environment=environment).actuator._client()
    # Then each command gets a quarter of its documented rate (four instances may run at once)
    assert live.limiter.rate("set_room_metadata") == 50  # type: ignore[attr-defined]
    assert live.limiter.rate("get_room_list") == 2  # type: ignore[attr-defined]


# --- infrastructure trouble --------------------------------------------------------------------


def test_an_unreadable_secret_fails_the_record_loudly_and_a_later_delivery_runs_it(aws, metrics, caplog):
    # Given LiveClient cannot be made the first time (e.g. Secrets Manager is unavailable)
    attempts: list[int] = []
    client = ScriptedClient()

    def flaky_client() -> Any:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("secret unavailable")
        return client

    aws.send(make_action())
    actuator = Actuator(
        client=flaky_client,
        idempotency=idempotency(aws),
        queues=aws.queues(),
        audit=StateTable(aws.table, aws.dynamodb),
        metrics=metrics,
    )
    # When the record is delivered, it fails, with the error logged and counted
    assert len(deliver(aws, actuator)["batchItemFailures"]) == 1
    assert "action could not be handled" in caplog.text
    assert metrics.counts == {"ActionErrored": 1}
    # And the next delivery makes the client and runs the action
    assert deliver(aws, actuator) == {"batchItemFailures": []}
    assert len(client.calls) == 1


def test_when_the_dlq_cannot_be_reached_the_failed_action_stays_in_its_queue(aws, metrics):
    # Given a permanent failure and a DLQ that does not exist
    aws.send(make_action())
    actuator = make_actuator(aws, ScriptedClient([tencent_error(100002)]), metrics)
    actuator.queues.dlq_url = aws.dlq_url + "-missing.fifo"
    # When the record is delivered, it fails (SQS keeps it) rather than being lost
    assert len(deliver(aws, actuator)["batchItemFailures"]) == 1
    assert metrics.counts == {"ActionErrored": 1}
