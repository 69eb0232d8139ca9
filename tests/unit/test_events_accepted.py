"""Every file under events/ is accepted by the handler it is meant for (`sam local invoke -e`):
callbacks by the ingress (200), in the HTTP API's payload format 2.0 and, under events/rest-api/, a
REST API's 1.0; refusals refused as docs/architecture.md documents, and the SQS batches by the
moderator's and the actuator's message models."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventModel,
    APIGatewayProxyEventV2Model,
    SqsModel,
)

from liveguard.ingress import Ingress
from liveguard.messages import ActionMessage, EventEnvelope, message_group
from liveguard.settings import TencentSecret
from liveguard.tencent.commands import COMMANDS
from liveguard.webhooks.models import KNOWN_COMMANDS, UnknownCallback, parse_callback
from liveguard_local.events import resign

from .conftest import ActingOnEveryCallback

EVENTS = Path(__file__).resolve().parents[2] / "events"
LOCAL_SECRET: dict[str, Any] = json.loads((EVENTS / "local-secret.json").read_text())
CALLBACKS = sorted((EVENTS / "callbacks").glob("*.json"))
REFUSALS = sorted((EVENTS / "refusals").glob("*.json"))
REST_API = sorted((EVENTS / "rest-api").glob("*.json"))

# Each refusal file and the answer docs/architecture.md documents for it: (HTTP status, ErrorCode).
DOCUMENTED_REFUSALS = {
    "bad-signature": (401, 40105),
    "unsigned": (401, 40102),
    "stale-request-time": (401, 40104),
    "wrong-sdkappid": (401, 40101),
    "not-json": (400, 40002),
    "missing-room-id": (400, 40003),
    "nested-too-deep": (400, 40002),
    "not-a-command": (400, 40001),
    "too-large": (413, 41301),
}


@dataclass
class RecordingQueue:
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send_message(
        self, queue_url: str, body: str, *, group_id: str | None, deduplication_id: str | None, timeout: float
    ) -> object:
        self.sent.append({"body": body, "group": group_id, "dedup": deduplication_id})
        return object()


def ingress(queue: RecordingQueue) -> Ingress:
    """The ingress logic as functions/ingress/app.py builds it, with the local test secret."""
    secret = TencentSecret.model_validate(LOCAL_SECRET)
    return Ingress(
        queue=queue,
        queue_url="http://127.0.0.1:5000/123456789012/liveguard-events-dev.fifo",
        secret=lambda: secret,
        rules=ActingOnEveryCallback(),  # every callback queued: this is about their envelopes
    )


def load(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def test_there_is_a_callback_event_per_modelled_command_and_each_refusal_is_documented():
    assert {path.stem for path in CALLBACKS} == KNOWN_COMMANDS
    assert {path.stem for path in REFUSALS} == set(DOCUMENTED_REFUSALS)


@pytest.mark.parametrize("path", CALLBACKS, ids=[path.stem for path in CALLBACKS])
def test_every_callback_is_accepted_by_the_ingress(path):
    queue = RecordingQueue()
    event = resign(load(path), LOCAL_SECRET)  # Tencent's signatures last 60 s; `make events` re-signs
    response = ingress(queue).handle(event)
    assert response["statusCode"] == 200, response["body"]
    assert json.loads(response["body"])["ErrorCode"] == 0
    (sent,) = queue.sent
    envelope = EventEnvelope.model_validate_json(sent["body"])
    assert envelope.command == path.stem == event["queryStringParameters"]["CallbackCommand"]
    assert envelope.known
    assert (sent["group"], sent["dedup"]) == (envelope.group, envelope.id)


@pytest.mark.parametrize("path", CALLBACKS + REFUSALS, ids=[path.stem for path in CALLBACKS + REFUSALS])
def test_every_callback_and_refusal_event_is_an_http_apis_payload_format_2_event(path):
    # Given an event file sam local invoke hands the ingress
    event = load(path)
    # When Powertools' model of the HTTP API's event reads it (not ours: AWS's shape, written down)
    parsed = APIGatewayProxyEventV2Model.model_validate(event)
    # Then it is the stack's HTTP API's POST /tencent/callback in payload format 2.0
    assert event["version"] == "2.0"
    assert (parsed.routeKey, parsed.requestContext.http.method) == ("POST /tencent/callback", "POST")
    assert all(name == name.lower() for name in event["headers"])
    assert "multiValueQueryStringParameters" not in event


def test_a_rest_apis_payload_format_1_callback_is_accepted_too():
    # Given the sample of a REST API's event (payload format 1.0), for a REST API fronting the ingress
    (path,) = REST_API
    event = resign(load(path), LOCAL_SECRET)
    APIGatewayProxyEventModel.model_validate(event)  # Powertools' model of a REST API's event
    queue = RecordingQueue()
    # When the ingress handles it
    response = ingress(queue).handle(event)
    # Then it is accepted and queued exactly as the same callback in 2.0 is
    assert (response["statusCode"], json.loads(response["body"])["ErrorCode"]) == (200, 0)
    same_in_v2 = resign(load(EVENTS / "callbacks" / path.name), LOCAL_SECRET)
    queue_v2 = RecordingQueue()
    ingress(queue_v2).handle(same_in_v2)
    (sent,), (sent_v2,) = queue.sent, queue_v2.sent
    envelope, envelope_v2 = (EventEnvelope.model_validate_json(s["body"]) for s in (sent, sent_v2))
    assert envelope.model_dump(exclude={"received_at"}) == envelope_v2.model_dump(exclude={"received_at"})


@pytest.mark.parametrize("path", REFUSALS, ids=[path.stem for path in REFUSALS])
def test_every_refusal_is_refused_as_documented_and_nothing_is_queued(path):
    queue = RecordingQueue()
    event = load(path)
    if path.stem != "stale-request-time":  # that one's age is its fault; the others are signed now
        event = resign(event, LOCAL_SECRET)
    if path.stem == "bad-signature":
        event["queryStringParameters"]["Sign"] = "0" * 64  # resigning made it good
    response = ingress(queue).handle(event)
    reply = json.loads(response["body"])
    assert (response["statusCode"], reply["ErrorCode"]) == DOCUMENTED_REFUSALS[path.stem], reply
    assert reply["ActionStatus"] == "FAIL"
    assert queue.sent == []


def test_the_moderator_batch_is_an_sqs_event_of_queued_envelopes():
    batch = SqsModel.model_validate(load(EVENTS / "sqs" / "moderator-batch.json"))
    assert 1 <= len(batch.Records) <= 10  # the event source's BatchSize
    for record in batch.Records:
        envelope = EventEnvelope.model_validate_json(record.body)
        assert record.attributes.MessageGroupId == envelope.group
        assert record.attributes.MessageDeduplicationId == envelope.id
        callback = parse_callback(envelope.command, envelope.event)
        assert not isinstance(callback, UnknownCallback)
        assert message_group(callback.room_key) == envelope.group


def test_the_actuator_batch_is_an_sqs_event_of_actions_liveclient_accepts():
    batch = SqsModel.model_validate(load(EVENTS / "sqs" / "actuator-batch.json"))
    assert 1 <= len(batch.Records) <= 10
    for record in batch.Records:
        action = ActionMessage.model_validate_json(record.body)
        COMMANDS[action.command].model_validate(action.params)
        assert record.attributes.MessageGroupId == message_group(action.room)
        assert record.attributes.MessageDeduplicationId == action.id
