"""functions/ingress/app.py called with the events/ fixtures, against moto's SQS and Secrets Manager."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from liveguard.messages import event_id
from liveguard.rules.loader import load_rules
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event, resign
from tests.aws import FAKE_CREDENTIALS, moto_server
from tests.functions import lambda_context, load_function

ROOT = Path(__file__).resolve().parents[2]
CALLBACK_EVENTS = sorted((ROOT / "events" / "callbacks").glob("*.json"))
REFUSAL_EVENTS = {path.stem: path for path in (ROOT / "events" / "refusals").glob("*.json")}


@pytest.fixture(scope="module")
def aws(monkeypatch_module) -> Iterator[dict[str, Any]]:
    """moto's server with the events queue, its DLQ and the Tencent secret, as the template makes them."""
    with moto_server() as endpoint:
        for key, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
            monkeypatch_module.setenv(key, value)
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(
            QueueName="liveguard-events-test.fifo",
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
                "DeduplicationScope": "messageGroup",
                "FifoThroughputLimit": "perMessageGroupId",
            },
        )["QueueUrl"]
        secret_arn = boto3.client("secretsmanager").create_secret(
            Name="liveguard/test/tencent", SecretString=json.dumps(LOCAL_SECRET)
        )["ARN"]
        monkeypatch_module.setenv("EVENTS_QUEUE_URL", queue_url)
        monkeypatch_module.setenv("TENCENT_SECRET_ARN", secret_arn)
        monkeypatch_module.setenv("POWERTOOLS_METRICS_NAMESPACE", "LiveGuardTest")
        monkeypatch_module.setenv("POWERTOOLS_SERVICE_NAME", "liveguard-ingress")
        yield {"sqs": sqs, "queue_url": queue_url}


@pytest.fixture(scope="module")
def monkeypatch_module() -> Iterator[pytest.MonkeyPatch]:
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@pytest.fixture(scope="module")
def handler(aws) -> ModuleType:
    """The ingress module, imported as Lambda would: once, with its environment set."""
    from aws_lambda_powertools.utilities.parameters import base

    base.DEFAULT_PROVIDERS.clear()  # Powertools keeps one Secrets Manager client per process
    return load_function("ingress")


@pytest.fixture
def queued(aws) -> Any:
    """Drain the queue before a test; after it, a function returning what the test queued."""

    def drain() -> list[dict[str, Any]]:
        messages = []
        while True:
            batch = (
                aws["sqs"]
                .receive_message(
                    QueueUrl=aws["queue_url"],
                    MaxNumberOfMessages=10,
                    AttributeNames=["All"],
                    MessageSystemAttributeNames=["All"],
                    WaitTimeSeconds=0,
                )
                .get("Messages", [])
            )
            if not batch:
                return messages
            for message in batch:
                aws["sqs"].delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
            messages.extend(batch)

    drain()
    return drain


def invoke(handler: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handler.lambda_handler(event, lambda_context("IngressFunction"))
    return response["statusCode"], json.loads(response["body"])


# The default rules (the handler's: no RULES_FILE) listen to these callbacks; the others are not queued.
LISTENED = load_rules().listened
QUEUED_EVENTS = [path for path in CALLBACK_EVENTS if path.stem in LISTENED]
UNQUEUED_EVENTS = [path for path in CALLBACK_EVENTS if path.stem not in LISTENED]


def metric_names(output: str) -> set[str]:
    """The metrics Powertools printed (EMF, one JSON document a line)."""
    names: set[str] = set()
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                names.update(metric["Name"] for metric in directive["Metrics"])
    return names


@pytest.mark.parametrize("path", QUEUED_EVENTS, ids=[path.stem for path in QUEUED_EVENTS])
def test_every_callback_a_rule_listens_to_is_queued_with_its_room_as_group_and_its_event_id_for_dedup(
    handler, queued, path
):
    # Given a callback from events/ that a default rule listens to, signed now
    event = resign(json.loads(path.read_text()))
    command = event["queryStringParameters"]["CallbackCommand"]
    # When the ingress handles it
    status, reply = invoke(handler, event)
    # Then Tencent hears OK, and exactly one message waits in the queue
    assert status == 200
    assert reply["ErrorCode"] == 0
    (message,) = queued()
    envelope = json.loads(message["Body"])
    expected_id = event_id(LOCAL_SECRET["SdkAppId"], command, event["body"].encode())
    assert envelope["id"] == expected_id
    assert message["Attributes"]["MessageDeduplicationId"] == expected_id
    body = CALLBACK_BODIES[command]
    room = body.get("RoomId") or body.get("GroupId") or body.get("RoomInfo", {}).get("RoomId")
    room = room or body.get("FromRoomId") or body.get("FromRoomInfo", {}).get("RoomId")
    room = room or body.get("ContactItem", {}).get("ToGroupId")  # a moderation result about a room's group
    assert message["Attributes"]["MessageGroupId"] == (room or "app")
    assert envelope["command"] == command
    assert envelope["query"] == {"ClientIP": "203.0.113.7", "OptPlatform": "Android"}
    assert envelope["known"] is True


@pytest.mark.parametrize("path", UNQUEUED_EVENTS, ids=[path.stem for path in UNQUEUED_EVENTS])
def test_every_callback_no_rule_listens_to_is_answered_counted_and_not_queued(handler, queued, path, capsys):
    # Given a callback from events/ that no default rule listens to (member changes, battles, seats,
    # delivered comments, follows...), signed now
    event = resign(json.loads(path.read_text()))
    capsys.readouterr()
    # When the ingress handles it
    status, reply = invoke(handler, event)
    # Then Tencent hears OK, it is counted, and nothing is queued
    assert (status, reply) == (200, {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0})
    assert "NotQueued" in metric_names(capsys.readouterr().out)
    assert queued() == []


def test_a_before_callback_is_answered_with_the_verdict_and_queued_with_it(handler, queued):
    event = resign(json.loads((ROOT / "events/callbacks/Group.CallbackBeforeSendMsg.json").read_text()))
    status, reply = invoke(handler, event)
    assert (status, reply["ErrorCode"]) == (200, 0)
    (message,) = queued()
    assert json.loads(message["Body"])["decision"]["action"] == "deliver"


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("bad-signature", 401),
        ("unsigned", 401),
        ("stale-request-time", 401),
        ("wrong-sdkappid", 401),
        ("not-json", 400),
        ("too-large", 413),
        ("missing-room-id", 400),
        ("nested-too-deep", 400),
        ("not-a-command", 400),
    ],
)
def test_every_refusal_is_answered_in_tencents_envelope_and_nothing_is_queued(handler, queued, name, status):
    event = json.loads(REFUSAL_EVENTS[name].read_text())
    if name != "stale-request-time":
        event = resign(event)  # keep only the fault the file is about
    if name == "bad-signature":
        event["queryStringParameters"]["Sign"] = "0" * 64
    got_status, reply = invoke(handler, event)
    assert got_status == status
    assert reply["ActionStatus"] == "FAIL"
    assert reply["ErrorCode"] != 0
    assert reply["ErrorInfo"]
    assert queued() == []


def test_a_refusal_names_the_field_at_fault(handler, queued):
    event = resign(json.loads(REFUSAL_EVENTS["missing-room-id"].read_text()))
    _, reply = invoke(handler, event)
    assert "RoomId" in reply["ErrorInfo"]


def test_a_duplicate_delivery_is_queued_once(handler, queued):
    event = resign(json.loads((ROOT / "events/callbacks/Live.CallbackAfterSetMetadata.json").read_text()))
    assert invoke(handler, event)[0] == 200
    assert invoke(handler, resign(event))[0] == 200  # Tencent's redelivery: new Sign, same body
    assert len(queued()) == 1


def test_our_own_echo_is_queued_marked_as_such(handler, queued):
    body = {
        **CALLBACK_BODIES["Live.CallbackAfterSetMetadata"],
        "Operator_Account": LOCAL_SECRET["AdminIdentifier"],
    }
    event = proxy_event("Live.CallbackAfterSetMetadata", json.dumps(body), query={"OptPlatform": "RESTAPI"})
    assert invoke(handler, event)[0] == 200
    (message,) = queued()
    assert json.loads(message["Body"])["echo"] is True


def test_an_unknown_command_is_answered_and_counted_but_not_queued(handler, queued, capsys):
    # Given a callback Tencent added after LiveGuard's models: no rule can name it
    body = {"CallbackCommand": "Live.CallbackAfterSomethingNew", "RoomId": "live-room-1", "Novel": [1, 2]}
    capsys.readouterr()
    # When it is delivered
    status, reply = invoke(handler, proxy_event("Live.CallbackAfterSomethingNew", json.dumps(body)))
    # Then it is answered OK, counted, and not queued
    assert (status, reply["ErrorCode"]) == (200, 0)
    assert {"UnknownCommand", "NotQueued"} <= metric_names(capsys.readouterr().out)
    assert queued() == []


def test_when_sqs_fails_the_answer_is_5xx_never_200(handler, queued, monkeypatch):
    # Given the queue URL names a queue that does not exist
    monkeypatch.setattr(
        handler.ingress, "queue_url", handler.ingress.queue_url.replace("test.fifo", "gone.fifo")
    )
    event = resign(json.loads((ROOT / "events/callbacks/Live.CallbackAfterSetMetadata.json").read_text()))
    # When a callback arrives
    status, reply = invoke(handler, event)
    # Then Tencent is told it failed, so its retry-on-timeout may redeliver
    assert status == 503
    assert reply["ErrorCode"] != 0


def test_the_token_never_reaches_the_logs(handler, queued, capsys):
    invoke(handler, json.loads(REFUSAL_EVENTS["bad-signature"].read_text()))
    invoke(
        handler,
        resign(json.loads((ROOT / "events/callbacks/Live.CallbackAfterSetMetadata.json").read_text())),
    )
    out = capsys.readouterr()
    assert LOCAL_SECRET["CallbackToken"] not in out.out + out.err
    assert LOCAL_SECRET["SecretKey"] not in out.out + out.err
    assert '"topic"' not in out.out  # bodies are not logged by default


@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_api_gateways_request_id_is_the_correlation_id_of_the_handlers_log_lines(
    handler, queued, monkeypatch, version
):
    # Given a callback API Gateway numbered, in the HTTP API's payload format or a REST API's
    body = json.dumps(CALLBACK_BODIES["Live.CallbackAfterSetMetadata"])
    event = proxy_event("Live.CallbackAfterSetMetadata", body, query={"Sign": "0" * 64}, version=version)
    event["requestContext"]["requestId"] = f"JKJaXmPLvHcESHA-{version}"
    written = io.StringIO()  # where the function's log handlers (Powertools' JSON) write, for this test
    for log_handler in logging.getLogger("liveguard").handlers + handler.logger.handlers:
        monkeypatch.setattr(log_handler, "stream", written)
    # When the handler refuses it (a bad signature: a line is logged)
    status, _ = invoke(handler, event)
    lines = [json.loads(line) for line in written.getvalue().splitlines() if line.startswith("{")]
    # Then the refusal's log line carries API Gateway's request id, to find it in the access log
    refused = [line for line in lines if line["message"] == "callback refused"]
    assert status == 401
    assert [line["correlation_id"] for line in refused] == [f"JKJaXmPLvHcESHA-{version}"]
