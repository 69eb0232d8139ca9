"""Flood counters, live: functions/ingress/app.py with rate and repeat rules counting in the state
table through its boto3-free DynamoDB client, against moto's server, and the moderator handler
deciding the actions on the counts the envelope carries.

- Two ingress instances share the counters: a user's third message within 10 s is dropped, whichever
  instance takes it; the counter items hold buckets and a hash, never the text.
- The moderator mutes the flooder once, on the envelope's counts; a redelivered message counts
  nothing again and queues the same action (same id).
- With a table that does not answer, messages are delivered within Tencent's budget, the envelope
  carries no counts and ``CountersUnavailable`` is counted.
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
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event
from tests.aws import FAKE_CREDENTIALS, create_state_table, moto_server
from tests.functions import lambda_context, load_function

FIFO = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}
TABLE = "floods-test"
COMMAND = "Group.CallbackBeforeSendMsg"
RULES = """\
version: 1
rules:
  - name: flood-drop
    on: [Group.CallbackBeforeSendMsg]
    when: {rate: {per: user, within: 10, at_least: 3}}
    verdict: {action: drop, reason: slow down}
  - name: flood-mute
    on: [Group.CallbackBeforeSendMsg]
    when: {rate: {per: user, within: 10, at_least: 3, once: true}}
    then:
      - command: mute_member
        params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: 60}
  - name: copies
    on: [Group.CallbackBeforeSendMsg]
    when: {repeat: {within: 60, at_least: 2}}
    verdict: drop
"""
CONTEXT = lambda_context("IngressFunction")


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """moto's server with the queues, the secret and the state table; the functions' environment
    pointing at them, with RULES_FILE the flood rules above."""
    from aws_lambda_powertools.utilities.parameters import base

    rules_file = tmp_path_factory.mktemp("floods") / "rules.yaml"
    rules_file.write_text(RULES, encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch, moto_server() as endpoint:
        for key, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(key, value)
        sqs = boto3.client("sqs")
        urls = {
            name: sqs.create_queue(QueueName=f"floods-{name}.fifo", Attributes=FIFO)["QueueUrl"]
            for name in ("events", "actions")
        }
        urls["delayed"] = sqs.create_queue(QueueName="floods-delayed-actions")["QueueUrl"]
        dynamodb = boto3.client("dynamodb")
        create_state_table(dynamodb, TABLE)
        arn = boto3.client("secretsmanager").create_secret(
            Name="floods/tencent", SecretString=json.dumps(LOCAL_SECRET)
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
    return load_function("moderator", module_name="floods_moderator")


def message_event(room: str, user: str, text: str, seq: int) -> dict[str, Any]:
    body = json.loads(json.dumps(CALLBACK_BODIES[COMMAND]))
    body.update(
        GroupId=room,
        From_Account=user,
        Operator_Account=user,
        Random=seq,
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    )
    return proxy_event(COMMAND, json.dumps(body))


def drain(aws: dict[str, Any], queue: str) -> list[dict[str, Any]]:
    url = aws["urls"][queue]
    messages: list[dict[str, Any]] = []
    while (
        batch := aws["sqs"]
        .receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"])
        .get("Messages", [])
    ):
        for message in batch:
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)
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
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:floods-events.fifo",
            "awsRegion": "us-east-1",
        }
        for m in messages
    ]
    response: dict[str, Any] = moderator.lambda_handler(
        {"Records": records}, lambda_context("ModeratorFunction", remaining_ms=30_000)
    )
    return response


def counter_items(aws: dict[str, Any], room: str) -> list[dict[str, Any]]:
    return aws["dynamodb"].query(
        TableName=TABLE,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": f"COUNT#{room}"}},
        ConsistentRead=True,
    )["Items"]


def metric_names(output: str) -> set[str]:
    names: set[str] = set()
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
                names.update(metric["Name"] for metric in directive["Metrics"])
    return names


def test_two_ingress_instances_share_the_counters_and_the_moderator_mutes_the_flooder_once(aws, moderator):
    first = load_function("ingress", module_name="floods_ingress_a")
    second = load_function("ingress", module_name="floods_ingress_b")
    room, user = f"flood-{uuid.uuid4().hex[:8]}", "viewer-7"
    drain(aws, "events")
    # Given a user sending four different messages, alternately through two ingress instances
    codes = []
    for seq in range(4):
        instance = (first, second)[seq % 2]
        reply = json.loads(
            instance.lambda_handler(message_event(room, user, f"msg {seq}", seq), CONTEXT)["body"]
        )
        codes.append(reply["ErrorCode"])
    # Then the third and fourth are dropped (ErrorCode 2): the instances counted together
    assert codes == [0, 0, 2, 2]
    # And each queued envelope carries its count, this message included
    messages = drain(aws, "events")
    assert [json.loads(m["Body"])["counts"]["user:10"] for m in messages] == [1, 2, 3, 4]
    # And the counter items hold buckets and hashes, never the text
    items = counter_items(aws, room)
    assert {item["sk"]["S"].split("#")[1] for item in items} == {"USER", "REPEAT"}
    assert all("msg" not in json.dumps(item) for item in items)
    # When the moderator handles them
    assert moderate(moderator, messages) == {"batchItemFailures": []}
    # Then it mutes the flooder once, on the count that crossed the rate
    actions = [json.loads(m["Body"]) for m in drain(aws, "actions")]
    assert [(a["command"], a["params"]["MemberList_Account"]) for a in actions] == [("mute_member", [user])]
    # And the room's audit says on which counts each dropped message was decided
    records = StateTable(TABLE, client=aws["dynamodb"]).audit_for_room(room)
    assert [(r["rules"], r["counts"]) for r in records] == [
        (["flood-drop", "flood-mute"], {"user:10": 3, "repeat:60": 1}),
        (["flood-drop"], {"user:10": 4, "repeat:60": 1}),
    ]
    # And a redelivered message counts nothing again and queues the same action again (same id)
    before = counter_items(aws, room)
    assert moderate(moderator, messages[2:3]) == {"batchItemFailures": []}
    assert counter_items(aws, room) == before
    again = [json.loads(m["Body"]) for m in drain(aws, "actions")]
    assert [a["id"] for a in again] in ([], [actions[0]["id"]])


def test_a_copy_is_dropped_however_it_is_disguised(aws):
    ingress = load_function("ingress", module_name="floods_ingress_copies")
    room = f"copies-{uuid.uuid4().hex[:8]}"
    texts = ["Free coins at example", "FREE\u200b coins  at example"]
    codes = [
        json.loads(ingress.lambda_handler(message_event(room, "viewer-8", text, n), CONTEXT)["body"])[
            "ErrorCode"
        ]
        for n, text in enumerate(texts)
    ]
    assert codes == [0, 2]
    drain(aws, "events")


@pytest.fixture
def silent_table(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The ingress's DynamoDB endpoint takes connections and never answers (SQS stays well)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", f"http://127.0.0.1:{listener.getsockname()[1]}")
        yield


def test_when_the_table_does_not_answer_a_flood_is_delivered_in_time_and_the_fallback_counted(
    aws, silent_table, capsys
):
    ingress = load_function("ingress", module_name="floods_ingress_silent")
    room = f"silent-{uuid.uuid4().hex[:8]}"
    drain(aws, "events")
    capsys.readouterr()
    # Given a table that does not answer, when a user sends four messages in a row
    took, codes = [], []
    for seq in range(4):
        started = time.monotonic()
        response = ingress.lambda_handler(message_event(room, "viewer-9", f"m{seq}", seq), CONTEXT)
        took.append(time.monotonic() - started)
        codes.append(json.loads(response["body"])["ErrorCode"])
    # Then all are delivered (the conditions without counts do not hold), each well within 2 s
    assert codes == [0, 0, 0, 0]
    assert max(took) < 1.0
    # And after the first timed out, the others did not wait for the table (it is on hold)
    assert sum(took[1:]) < took[0] + 0.3
    # And the fallback is counted, and the envelopes carry no counts
    assert "CountersUnavailable" in metric_names(capsys.readouterr().out)
    assert [json.loads(m["Body"])["counts"] for m in drain(aws, "events")] == [None] * 4
