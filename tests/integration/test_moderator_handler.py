"""functions/moderator/app.py called with SQS batch events, against moto's DynamoDB, SQS and Secrets
Manager, with the real engine and the default rules: partial batch failures, redelivery, echoes, and
the actions it queues."""

from __future__ import annotations

import copy
import json
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters

from liveguard.aws.state_table import StateTable
from liveguard.messages import CallbackQuery, EventEnvelope, action_id, event_id, message_group
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET
from tests.aws import FAKE_CREDENTIALS, create_state_table, moto_server
from tests.functions import lambda_context, load_function

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_BATCH = ROOT / "events" / "sqs" / "moderator-batch.json"
ADMIN = LOCAL_SECRET["AdminIdentifier"]
# Names of this module's own: moto's servers in one process share their state.
TABLE = "liveguard-state-moderator-test"
RECEIVED_AT = 1_800_000_000_000
BANNED = "buy followers"  # in the layer's default banned terms


CONTEXT = lambda_context("ModeratorFunction", memory_mb=512, remaining_ms=60_000)


def fifo(sqs: Any, name: str) -> str:
    url: str = sqs.create_queue(
        QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )["QueueUrl"]
    return url


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def aws(monkeypatch_module) -> Iterator[dict[str, Any]]:
    """moto's server with the state table, the actions queue, the events DLQ and the Tencent secret."""
    with moto_server() as endpoint:
        for key, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
            monkeypatch_module.setenv(key, value)
        sqs, dynamodb = boto3.client("sqs"), boto3.client("dynamodb")
        create_state_table(dynamodb, TABLE)
        resources = {
            "sqs": sqs,
            "dynamodb": dynamodb,
            "actions_url": fifo(sqs, "liveguard-actions-moderator-test.fifo"),
            "dlq_url": fifo(sqs, "liveguard-events-dlq-moderator-test.fifo"),
            "delayed_url": sqs.create_queue(QueueName="liveguard-delayed-actions-moderator-test")["QueueUrl"],
        }
        secret_arn = boto3.client("secretsmanager").create_secret(
            Name="liveguard/moderator-test/tencent", SecretString=json.dumps(LOCAL_SECRET)
        )["ARN"]
        for key, value in {
            "ACTIONS_QUEUE_URL": resources["actions_url"],
            "DELAYED_ACTIONS_QUEUE_URL": resources["delayed_url"],
            "STATE_TABLE_NAME": TABLE,
            "TENCENT_SECRET_ARN": secret_arn,
            "POWERTOOLS_METRICS_NAMESPACE": "LiveGuardTest",
            "POWERTOOLS_SERVICE_NAME": "liveguard-moderator",
            "AWS_LAMBDA_FUNCTION_NAME": "liveguard-moderator-test",
        }.items():
            monkeypatch_module.setenv(key, value)
        monkeypatch_module.delenv("RULES_FILE", raising=False)
        monkeypatch_module.delenv("EVENTS_DLQ_URL", raising=False)
        # Powertools keeps one Secrets Manager client per process, made on first use: another test
        # module's (bound to its own endpoint) must not answer for this one.
        parameters.base.DEFAULT_PROVIDERS.clear()
        yield resources
        parameters.base.DEFAULT_PROVIDERS.clear()


def load_handler(name: str, **environment: str) -> ModuleType:
    """The moderator module, imported as Lambda would: once, with its environment set."""
    return load_function("moderator", module_name=name, environment=environment)


@pytest.fixture(scope="module")
def handler(aws) -> ModuleType:
    """Without EVENTS_DLQ_URL: a malformed record fails until SQS moves it to the DLQ."""
    return load_handler("moderator_app")


@pytest.fixture(scope="module")
def handler_with_dlq(aws) -> ModuleType:
    """With EVENTS_DLQ_URL: a malformed record goes to the DLQ at once."""
    return load_handler("moderator_app_dlq", EVENTS_DLQ_URL=aws["dlq_url"])


def drain(aws: dict[str, Any], url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while (
        batch := aws["sqs"]
        .receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=10,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        .get("Messages", [])
    ):
        for message in batch:
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)
    return messages


@pytest.fixture
def queued(aws) -> Any:
    """Empty queues before a test; after it, what the moderator queued for the actuator."""
    drain(aws, aws["actions_url"])
    drain(aws, aws["dlq_url"])
    return lambda: drain(aws, aws["actions_url"])


@pytest.fixture
def state(aws) -> StateTable:
    return StateTable(TABLE, client=aws["dynamodb"])


def envelope(command: str, *, room: str, at: int = RECEIVED_AT, **changes: Any) -> EventEnvelope:
    """What the ingress queues for CALLBACK_BODIES[command], moved to ``room``, with ``changes``."""
    body = copy.deepcopy(CALLBACK_BODIES[command])
    if "RoomInfo" in body and "RoomId" in body["RoomInfo"]:
        body["RoomInfo"]["RoomId"] = room
    for key in ("RoomId", "GroupId"):
        if key in body:
            body[key] = room
    body.update(changes)
    raw = json.dumps(body).encode()
    return EventEnvelope(
        id=event_id(LOCAL_SECRET["SdkAppId"], command, raw),
        command=command,
        received_at=at,
        query=CallbackQuery(client_ip="203.0.113.7", opt_platform="Android"),
        event=body,
        echo=body.get("Operator_Account") == ADMIN,
        group=message_group(room),
    )


def comment(room: str, text: str, *, sender: str = "viewer-7", at: int = RECEIVED_AT) -> EventEnvelope:
    return envelope(
        "Group.CallbackBeforeSendMsg",
        room=room,
        at=at,
        From_Account=sender,
        Operator_Account=sender,
        Random=at,
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    )


def record(body: str, *, group: str, message_id: str | None = None) -> dict[str, Any]:
    return {
        "messageId": message_id or str(uuid.uuid4()),
        "receiptHandle": "handle",
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": str(RECEIVED_AT),
            "SequenceNumber": "1",
            "MessageGroupId": group,
            "MessageDeduplicationId": "dedup",
            "ApproximateFirstReceiveTimestamp": str(RECEIVED_AT),
        },
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:liveguard-events-test.fifo",
        "awsRegion": "us-east-1",
    }


def batch(*envelopes: EventEnvelope) -> dict[str, Any]:
    return {"Records": [record(e.model_dump_json(), group=e.group) for e in envelopes]}


def invoke(handler: ModuleType, event: dict[str, Any]) -> list[str]:
    """The ids of the records the handler reports as failed."""
    response = handler.lambda_handler(event, CONTEXT)
    return [failure["itemIdentifier"] for failure in response["batchItemFailures"]]


def emitted(capsys: pytest.CaptureFixture[str]) -> defaultdict[str, float]:
    """The totals of the metrics the handler printed (EMF lines without a breakdown dimension); a
    count the handler did not publish is zero."""
    totals: defaultdict[str, float] = defaultdict(float)
    for line in capsys.readouterr().out.splitlines():
        try:
            blob = json.loads(line)
        except ValueError:
            continue
        if not isinstance(blob, dict) or "_aws" not in blob:
            continue
        if any({"Command", "Rule"} & set(d) for d in blob["_aws"]["CloudWatchMetrics"][0]["Dimensions"]):
            continue
        for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
            value = blob[definition["Name"]]
            totals[definition["Name"]] = sum(value) if isinstance(value, list) else value
    return totals


# --- decisions -------------------------------------------------------------------------------------


def test_a_banned_term_in_user_metadata_queues_its_deletion_for_the_room(handler, queued, state):
    # Given a viewer who set metadata holding a banned term
    event = envelope(
        "Live.CallbackAfterSetMetadata",
        room="room-meta",
        Metadata=[{"Key": "bio", "Value": f"{BANNED} here"}, {"Key": "lang", "Value": "en"}],
    )
    # When the moderator handles the batch
    assert invoke(handler, batch(event)) == []
    # Then one action waits: delete that key, grouped by the room, deduplicated by the action id
    (message,) = queued()
    body = json.loads(message["Body"])
    assert body["command"] == "del_room_metadata"
    assert body["params"]["RoomId"] == "room-meta"
    assert body["params"]["Keys"] == ["bio"]
    assert body["cause"] == event.id
    assert body["id"] == action_id(event.id, body["rule"], body["command"], body["params"])
    assert message["Attributes"]["MessageGroupId"] == "room-meta"
    assert message["Attributes"]["MessageDeduplicationId"] == body["id"]
    # And the viewer has a strike, and the decision is in the room's audit
    assert state.strike_count("room-meta", "viewer-7", 600, RECEIVED_AT / 1000) == 1
    (audit,) = state.audit_for_room("room-meta")
    assert audit["id"] == event.id
    assert "metadata-terms" in audit["rules"]
    assert audit["outcome"] == "decided"


def test_a_third_banned_comment_within_ten_minutes_mutes_the_sender(handler, queued, state):
    # Given three comments with a banned term from one viewer, a minute apart, in one batch
    comments = [comment("room-mute", f"{BANNED} {n}", at=RECEIVED_AT + n * 60_000) for n in range(3)]
    # When the moderator handles them
    assert invoke(handler, batch(*comments)) == []
    # Then the third one mutes the viewer for 10 minutes, and the mute is remembered
    mutes = [json.loads(m["Body"]) for m in queued() if json.loads(m["Body"])["command"] == "mute_member"]
    assert [m["cause"] for m in mutes] == [comments[2].id]
    assert mutes[0]["params"]["MemberList_Account"] == ["viewer-7"]
    assert state.strike_count("room-mute", "viewer-7", 600, RECEIVED_AT / 1000 + 130) == 3
    assert state.sanction("room-mute", "viewer-7", RECEIVED_AT / 1000 + 130) == "muted"


def test_the_sample_batch_is_moderated_without_a_failure(handler, queued):
    event = json.loads(SAMPLE_BATCH.read_text())
    assert invoke(handler, event) == []


# --- partial failures ------------------------------------------------------------------------------


def test_a_bad_record_fails_only_its_own_message_group(handler, queued, state):
    # Given a batch: room A's two comments, and room B's malformed record followed by a good one
    a1, a2 = comment("room-a", f"{BANNED} a1"), comment("room-a", f"{BANNED} a2", at=RECEIVED_AT + 1)
    b2 = comment("room-b", f"{BANNED} b2", at=RECEIVED_AT + 2)
    event = batch(a1, a2)
    bad, good_b = record("{not json", group="room-b"), record(b2.model_dump_json(), group="room-b")
    event["Records"][1:1] = [bad, good_b]  # a1, bad, b2, a2
    # When the moderator handles it
    failed = invoke(handler, event)
    # Then room B's records fail (the bad one and the one behind it, so FIFO order holds) and only they
    assert failed == [bad["messageId"], good_b["messageId"]]
    # And room A's were done, room B's good one was not touched
    assert state.strike_count("room-a", "viewer-7", 600, RECEIVED_AT / 1000 + 1) == 2
    assert state.strike_count("room-b", "viewer-7", 600, RECEIVED_AT / 1000 + 1) == 0
    assert len(queued()) == 0  # comments strike but queue nothing below the mute threshold


def test_a_batch_whose_every_record_fails_is_reported_not_raised(handler, queued):
    bad = record("{not json", group="room-d")
    assert invoke(handler, {"Records": [bad]}) == [bad["messageId"]]


def test_a_malformed_record_goes_to_the_events_dlq_at_once_when_it_is_configured(
    handler_with_dlq, aws, queued
):
    # Given a batch with a record that is not an event envelope
    bad = record('{"v": 1, "id": "nope"}', group="room-c", message_id="bad-1")
    # When the moderator (with EVENTS_DLQ_URL) handles it
    failed = invoke(handler_with_dlq, {"Records": [bad]})
    # Then it is not failed back to the events queue, but waits in the DLQ as it came, with the reason
    assert failed == []
    (letter,) = drain(aws, aws["dlq_url"])
    assert letter["Body"] == bad["body"]
    assert letter["Attributes"]["MessageGroupId"] == "room-c"
    assert "not an event envelope" in letter["MessageAttributes"]["Reason"]["StringValue"]


# --- redelivery ------------------------------------------------------------------------------------


def test_a_redelivered_event_neither_strikes_again_nor_queues_new_actions(handler, queued, state, capsys):
    # Given an event that was moderated (its action queued and taken)
    event = envelope(
        "Live.CallbackAfterSetMetadata", room="room-redo", Metadata=[{"Key": "bio", "Value": BANNED}]
    )
    assert invoke(handler, batch(event)) == []
    (action,) = queued()
    capsys.readouterr()
    # When SQS delivers the same event again
    assert invoke(handler, batch(event)) == []
    # Then nothing new is queued: only its action again, under its deduplication id (SQS drops the
    # copy within 5 minutes, the actuator's idempotency within 24 h; the earlier delivery may have
    # stopped before queueing it); the strike is still one, and the metrics say it was a replay
    (copy,) = queued()
    dedup = "MessageDeduplicationId"
    assert (copy["Body"], copy["Attributes"][dedup]) == (action["Body"], action["Attributes"][dedup])
    assert state.strike_count("room-redo", "viewer-7", 600, RECEIVED_AT / 1000) == 1
    assert len(state.audit_for_room("room-redo")) == 1
    metrics = emitted(capsys)
    assert metrics["EventsReplayed"] == 1
    assert metrics["ActionsEmitted"] == 0
    assert metrics["RulesFired"] == 0


def test_a_quiet_event_leaves_nothing_in_the_state_table(handler, queued, aws):
    # Given a comment no rule acts on
    event = comment("room-idem", "hello")
    # When the moderator handles it
    assert invoke(handler, batch(event)) == []
    # Then nothing was written: no journal entry in its room, no idempotency record anywhere
    items = aws["dynamodb"].scan(TableName=TABLE)["Items"]
    assert [item for item in items if item["pk"]["S"] == "ROOM#room-idem"] == []
    assert [item for item in items if item["pk"]["S"].startswith("idempotency#")] == []


def test_a_clean_batch_publishes_what_happened_and_no_zeros(handler, capsys):
    # Given two comments no rule acts on
    events = [comment("room-zero", "hello"), comment("room-zero", "welcome")]
    # When the moderator handles them in one batch
    assert invoke(handler, batch(*events)) == []
    # Then the batch's metrics say two events were processed, and carry no count that stayed zero
    # (a Sum over no data is no data: the same to every alarm, at half the bytes logged per batch)
    published: list[tuple[str, float]] = []
    for line in capsys.readouterr().out.splitlines():
        blob = json.loads(line) if line.startswith('{"_aws"') else None
        if blob is not None:
            published += [
                (m["Name"], sum(blob[m["Name"]])) for m in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            ]
    assert ("EventsProcessed", 2.0) in published
    assert [name for name, value in published if value == 0] == []


# --- echoes ----------------------------------------------------------------------------------------


def test_an_echo_is_skipped_but_its_metadata_is_recorded_as_approved(handler, queued, state, capsys):
    # Given our admin's own SetMetadata coming back as a callback, on a protected key
    echo = envelope(
        "Live.CallbackAfterSetMetadata",
        room="room-echo",
        Operator_Account=ADMIN,
        Metadata=[{"Key": "lg.rules-version", "Value": "1"}],
    )
    assert echo.echo
    # When the moderator handles it
    assert invoke(handler, batch(echo)) == []
    # Then no rule acted on it, but the value is now the approved one, and the echo is audited
    assert queued() == []
    assert state.approved_value("room-echo", "lg.rules-version") == "1"
    assert [r["outcome"] for r in state.audit_for_room("room-echo")] == ["echo"]
    metrics = emitted(capsys)
    assert metrics["EchoesSkipped"] == 1
    assert metrics["ActionsEmitted"] == 0


def test_a_protected_key_changed_by_a_user_is_restored_to_the_echoed_value(handler, queued):
    # Given the admin set lg.rules-version=1 (its echo recorded), then a viewer changed it
    room = "room-protect"
    approved = envelope(
        "Live.CallbackAfterSetMetadata",
        room=room,
        Operator_Account=ADMIN,
        Metadata=[{"Key": "lg.rules-version", "Value": "1"}],
    )
    changed = envelope(
        "Live.CallbackAfterSetMetadata",
        room=room,
        at=RECEIVED_AT + 1000,
        Metadata=[{"Key": "lg.rules-version", "Value": "hacked"}],
    )
    # When the moderator handles both
    assert invoke(handler, batch(approved, changed)) == []
    # Then the approved value is set back
    (message,) = queued()
    body = json.loads(message["Body"])
    assert body["command"] == "set_room_metadata"
    assert body["params"]["Metadata"] == [{"Key": "lg.rules-version", "Value": "1"}]
