"""Inline rules get the state they need, live: functions/ingress/app.py with a before-gift rule that
counts the sender's strikes, against moto's server (SQS, Secrets Manager, the state table), and the
moderator handler auditing what the ingress decided.

- With the strikes in the state table, the ingress reads them (one count Query) and refuses the gift.
- With a state table that does not answer, the gift is decided as if there were none (delivered),
  within Tencent's budget, counted (``InlineStateUnavailable``); and the moderator, which does see
  the strikes, does not record the rule as having fired.
"""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest

from liveguard.aws.state_table import StateTable
from liveguard.rules.outcome import AddStrike
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event
from tests.aws import FAKE_CREDENTIALS, create_state_table, moto_server
from tests.functions import lambda_context, load_function

FIFO = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
TABLE = "inline-state-test"
RULE = "no-gifts-after-strikes"
RULES = f"""\
version: 1
rules:
  - name: {RULE}
    on: [Live.CallbackBeforeSendGift]
    when: {{strikes: {{within: 600, at_least: 2, new_only: false}}}}
    verdict: {{action: reject, reason: too many strikes}}
"""
CONTEXT = lambda_context("IngressFunction")


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """moto's server with the events and actions queues, the secret and the state table; the
    functions' environment pointing at them, with RULES_FILE the gift rule above."""
    from aws_lambda_powertools.utilities.parameters import base

    rules_file = tmp_path_factory.mktemp("inline-state") / "rules.yaml"
    rules_file.write_text(RULES, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch, moto_server() as endpoint:
        for key, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(key, value)
        sqs = boto3.client("sqs")
        urls = {
            name: sqs.create_queue(QueueName=f"inline-{name}.fifo", Attributes=FIFO)["QueueUrl"]
            for name in ("events", "actions")
        }
        urls["delayed"] = sqs.create_queue(QueueName="inline-delayed-actions")["QueueUrl"]
        dynamodb = boto3.client("dynamodb")
        create_state_table(dynamodb, TABLE)
        arn = boto3.client("secretsmanager").create_secret(
            Name="inline/tencent", SecretString=json.dumps(LOCAL_SECRET)
        )["ARN"]
        for key, value in {
            "EVENTS_QUEUE_URL": urls["events"],
            "ACTIONS_QUEUE_URL": urls["actions"],
            "DELAYED_ACTIONS_QUEUE_URL": urls["delayed"],
            "STATE_TABLE_NAME": TABLE,
            "TENCENT_SECRET_ARN": arn,
            "RULES_FILE": str(rules_file),
            "POWERTOOLS_METRICS_NAMESPACE": "LiveGuardTest",
        }.items():
            patch.setenv(key, value)
        base.DEFAULT_PROVIDERS.clear()  # Powertools keeps one Secrets Manager client per process
        yield {"sqs": sqs, "urls": urls, "dynamodb": dynamodb}
        base.DEFAULT_PROVIDERS.clear()


@pytest.fixture(scope="module")
def moderator(aws) -> ModuleType:
    return load_function("moderator", module_name="inline_state_moderator")


def struck(aws: dict[str, Any], room: str, user: str, times: int) -> None:
    """``times`` strikes against ``user`` in ``room`` a minute ago, as the moderator records them."""
    table = StateTable(TABLE, client=aws["dynamodb"])
    for n in range(times):
        table.apply(
            [AddStrike(room_id=room, rule="comment-terms", user_id=user)],
            event_id=uuid.uuid4().hex * 2,
            now=time.time() - 60 - n,
        )


def gift_event(room: str, user: str, seq: int = 0) -> dict[str, Any]:
    body = json.loads(json.dumps(CALLBACK_BODIES["Live.CallbackBeforeSendGift"]))
    body.update(RoomId=room, Operator_Account=user, Seq=seq)  # a distinct event for each seq
    body["GiftWater"]["From_Account"] = user
    return proxy_event("Live.CallbackBeforeSendGift", json.dumps(body))


def received(aws: dict[str, Any]) -> list[dict[str, Any]]:
    messages = (
        aws["sqs"]
        .receive_message(
            QueueUrl=aws["urls"]["events"], MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"]
        )
        .get("Messages", [])
    )
    for message in messages:
        aws["sqs"].delete_message(QueueUrl=aws["urls"]["events"], ReceiptHandle=message["ReceiptHandle"])
    return messages


def moderate(moderator: ModuleType, messages: list[dict[str, Any]]) -> dict[str, Any]:
    records = [
        {
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m["Attributes"],
            "messageAttributes": {},
            "md5OfBody": m["MD5OfBody"],
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:inline-events.fifo",
            "awsRegion": "us-east-1",
        }
        for m in messages
    ]
    response: dict[str, Any] = moderator.lambda_handler(
        {"Records": records}, lambda_context("ModeratorFunction", remaining_ms=30_000)
    )
    return response


def audit(aws: dict[str, Any], room: str) -> list[dict[str, Any]]:
    return StateTable(TABLE, client=aws["dynamodb"]).audit_for_room(room)


def metric_names(output: str) -> set[str]:
    """The metrics Powertools printed (EMF, one JSON document a line)."""
    names: set[str] = set()
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                names.update(metric["Name"] for metric in directive["Metrics"])
    return names


def test_a_gift_from_a_struck_user_is_refused_live_by_a_rule_that_counts_strikes(aws, moderator):
    ingress = load_function("ingress", module_name="inline_state_ingress")
    room, user = f"inline-{uuid.uuid4().hex[:8]}", "viewer-7"
    # Given the sender struck once in the room: a gift is allowed
    struck(aws, room, user, times=1)
    allowed = ingress.lambda_handler(gift_event(room, user, seq=1), CONTEXT)
    assert json.loads(allowed["body"])["ErrorCode"] == 0
    received(aws)
    # When the sender, struck a second time, sends another gift
    struck(aws, room, user, times=1)
    response = ingress.lambda_handler(gift_event(room, user, seq=2), CONTEXT)
    # Then the ingress refuses it, with the rule's reason
    reply = json.loads(response["body"])
    assert (response["statusCode"], reply["ErrorCode"], reply["ErrorInfo"]) == (200, 1, "too many strikes")
    # And queues it with the verdict, which the moderator's audit records as decided by the rule
    (message,) = received(aws)
    assert json.loads(message["Body"])["decision"]["rule"] == RULE
    assert moderate(moderator, [message]) == {"batchItemFailures": []}
    (record,) = audit(aws, room)
    assert (record["rules"], record["verdict"]["action"]) == ([RULE], "reject")


@pytest.fixture
def silent_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ingress's DynamoDB endpoint takes connections and never answers (SQS stays well)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{listener.getsockname()[1]}")
        yield


def test_when_the_table_does_not_answer_in_time_the_gift_is_delivered_and_the_audit_says_no_rule_fired(
    aws, moderator, silent_table, capsys
):
    room, user = f"inline-{uuid.uuid4().hex[:8]}", "viewer-9"
    struck(aws, room, user, times=2)
    # Given an ingress whose state table does not answer
    ingress = load_function("ingress", module_name="inline_state_ingress_silent_table")
    capsys.readouterr()
    # When the struck sender sends a gift
    started = time.monotonic()
    response = ingress.lambda_handler(gift_event(room, user), CONTEXT)
    took = time.monotonic() - started
    # Then it is decided as if there were no strikes: delivered, well within Tencent's 2 s
    assert (response["statusCode"], json.loads(response["body"])["ErrorCode"]) == (200, 0)
    assert took < 1.0
    # And the fallback is counted
    assert "InlineStateUnavailable" in metric_names(capsys.readouterr().out)
    # And when the moderator, which does see the strikes, handles the queued gift
    (message,) = received(aws)
    assert json.loads(message["Body"])["decision"]["action"] == "deliver"
    assert moderate(moderator, [message]) == {"batchItemFailures": []}
    # Then its audit does not say the rule fired: it did not decide this gift
    assert [record["rules"] for record in audit(aws, room)] == []
