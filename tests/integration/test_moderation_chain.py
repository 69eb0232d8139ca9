"""The whole chain, with nothing of ours mocked: the emulator's webhooks -> the ingress handler ->
the events queue (moto) -> the moderator handler -> the actions queue -> the actuator handler ->
LiveClient -> the emulator, whose state shows the effect. SQS records are received from moto and
deleted only when the handler reports them done, as Lambda's event source mapping does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import httpx
import pytest

from liveguard.tencent.client import LiveClient
from liveguard_local.emulator.server import Emulator, EmulatorConfig
from liveguard_local.receiver import Received, WebhookReceiver
from tests.aws import FAKE_CREDENTIALS, create_state_table, moto_server
from tests.functions import lambda_context, load_function

from .conftest import ADMIN, KEY, SDK_APP_ID, TOKEN

ROOT = Path(__file__).resolve().parents[2]
FIFO = {"FifoQueue": "true", "ContentBasedDeduplication": "false"}


CONTEXT = lambda_context("chain", memory_mb=512, remaining_ms=25_000, request_id="chain")


def load(name: str) -> ModuleType:
    return load_function(name, module_name=f"chain_{name}")


@pytest.fixture(scope="module")
def chain() -> Iterator[dict[str, Any]]:
    from aws_lambda_powertools.utilities.parameters import base

    with (
        pytest.MonkeyPatch.context() as patch,
        WebhookReceiver(token=TOKEN) as receiver,
        Emulator(
            EmulatorConfig(
                sdk_app_id=SDK_APP_ID,
                secret_key=KEY,
                admin=ADMIN,
                webhook_url=receiver.url,
                callback_token=TOKEN,
            )
        ) as emulator,
        moto_server() as endpoint,
    ):
        for key, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(key, value)
        sqs = boto3.client("sqs")
        urls = {
            name: sqs.create_queue(QueueName=f"chain-{name}.fifo", Attributes=FIFO)["QueueUrl"]
            for name in ("events", "events-dlq", "actions", "actions-dlq")
        }
        urls["delayed-actions"] = sqs.create_queue(QueueName="chain-delayed-actions")["QueueUrl"]
        table = "chain-state"
        create_state_table(boto3.client("dynamodb"), table)
        secret = {
            "SdkAppId": SDK_APP_ID,
            "SecretKey": KEY,
            "AdminIdentifier": ADMIN,
            "CallbackToken": TOKEN,
            "ApiBaseUrl": emulator.base_url,
        }
        arn = boto3.client("secretsmanager").create_secret(
            Name="chain/tencent", SecretString=json.dumps(secret)
        )["ARN"]
        for key, value in {
            "EVENTS_QUEUE_URL": urls["events"],
            "EVENTS_DLQ_URL": urls["events-dlq"],
            "ACTIONS_QUEUE_URL": urls["actions"],
            "DELAYED_ACTIONS_QUEUE_URL": urls["delayed-actions"],
            "ACTIONS_DLQ_URL": urls["actions-dlq"],
            "STATE_TABLE_NAME": table,
            "TENCENT_SECRET_ARN": arn,
            "ACTUATOR_CONCURRENCY": "1",
            "POWERTOOLS_METRICS_NAMESPACE": "LiveGuardChain",
        }.items():
            patch.setenv(key, value)
        base.DEFAULT_PROVIDERS.clear()  # Powertools keeps one Secrets Manager client per process
        handlers = {name: load(name) for name in ("ingress", "moderator", "actuator")}

        def through_ingress(received: Received) -> dict[str, Any]:
            # The webhook receiver is the ingress: before-callbacks get its verdict, synchronously.
            event = {
                "queryStringParameters": received.query,
                "body": json.dumps(received.body),
                "isBase64Encoded": False,
                "requestContext": {"requestId": "chain"},
            }
            answer: dict[str, Any] = json.loads(handlers["ingress"].lambda_handler(event, CONTEXT)["body"])
            return answer

        receiver.answer = through_ingress
        with httpx.Client(timeout=10) as http:
            yield {
                "emulator": emulator,
                "receiver": receiver,
                "sqs": sqs,
                "urls": urls,
                "http": http,
                **handlers,
            }
        base.DEFAULT_PROVIDERS.clear()


def drain_into(chain: dict[str, Any], queue: str, handler: ModuleType) -> int:
    """Receive what waits in ``queue`` and feed it to the handler as Lambda would; return how many."""
    sqs, url = chain["sqs"], chain["urls"][queue]
    handled = 0
    while True:
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], WaitTimeSeconds=0
        ).get("Messages", [])
        if not messages:
            return handled
        records = [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m["Attributes"],
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{url.rsplit('/', 1)[-1]}",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
        response = handler.lambda_handler({"Records": records}, CONTEXT)
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        for message in messages:
            if message["MessageId"] not in failed:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        handled += len(messages) - len(failed)
        if failed:
            return handled


def pump(chain: dict[str, Any]) -> None:
    """Let the emulator's webhooks reach the ingress, then run both queues dry, until nothing moves."""
    for _ in range(10):
        chain["http"].get(f"{chain['emulator'].base_url}/emulator/v1/webhooks")  # waits for deliveries
        moved = drain_into(chain, "events", chain["moderator"]) + drain_into(
            chain, "actions", chain["actuator"]
        )
        if not moved:
            return


def room(chain: dict[str, Any], room_id: str) -> dict[str, Any]:
    state: dict[str, Any] = (
        chain["http"].get(f"{chain['emulator'].base_url}/emulator/v1/rooms/{room_id}").json()
    )
    return state


def metadata(chain: dict[str, Any], room_id: str) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in room(chain, room_id)["Metadata"]}


def act(chain: dict[str, Any], action: str, user: str, **fields: Any) -> dict[str, Any]:
    reply: dict[str, Any] = (
        chain["http"]
        .post(f"{chain['emulator'].base_url}/emulator/v1/client/{action}", json={"UserId": user, **fields})
        .json()
    )
    return reply


def test_a_new_room_gets_its_default_metadata_and_offensive_metadata_is_deleted(chain):
    # Given a host who starts a live
    act(chain, "create_room", "host", RoomId="chain-1")
    pump(chain)
    # Then rule 8 set the room's default metadata through the actuator
    assert metadata(chain, "chain-1").get("lg.rules-version") == "1"
    # When the host sets metadata holding a banned term
    act(
        chain,
        "set_room_metadata",
        "host",
        RoomId="chain-1",
        Metadata=[{"Key": "promo", "Value": "Buy Followers!"}],
    )
    pump(chain)
    # Then rule 1 deleted that key, and the default stayed
    values = metadata(chain, "chain-1")
    assert "promo" not in values
    assert values.get("lg.rules-version") == "1"


def test_a_protected_key_changed_by_a_user_is_restored(chain):
    act(chain, "create_room", "host", RoomId="chain-2")
    pump(chain)
    act(
        chain,
        "set_room_metadata",
        "host",
        RoomId="chain-2",
        Metadata=[{"Key": "lg.rules-version", "Value": "hacked"}],
    )
    pump(chain)
    assert metadata(chain, "chain-2")["lg.rules-version"] == "1"


def test_offensive_comments_are_masked_inline_and_their_sender_muted(chain):
    act(chain, "create_room", "host", RoomId="chain-3")
    act(chain, "enter_room", "troll", RoomId="chain-3")
    pump(chain)
    # When a viewer posts three comments with banned terms
    replies = []
    for _ in range(3):
        replies.append(act(chain, "send_text_msg", "troll", RoomId="chain-3", Text="free coins here"))
        pump(chain)
    # Then each was delivered masked, and the third strike muted them
    assert [reply["Response"]["text"] for reply in replies] == ["********** here"] * 3
    assert act(chain, "send_text_msg", "troll", RoomId="chain-3", Text="hello")["ErrorCode"] == 10017


def test_a_ban_comes_back_as_kicked_and_the_ingress_accepts_it(chain):
    # Given a viewer in a room
    act(chain, "create_room", "host", RoomId="chain-kick")
    act(chain, "enter_room", "bob", RoomId="chain-kick")
    pump(chain)
    # When the app admin bans him over REST, as LiveGuard's own actions do
    client = LiveClient(
        sdk_app_id=SDK_APP_ID,
        secret_key=KEY,
        admin_identifier=ADMIN,
        base_url=chain["emulator"].base_url,
        http=chain["http"],
    )
    client.execute("ban_member", {"RoomId": "chain-kick", "MemberList_Account": ["bob"], "Duration": 600})
    pump(chain)
    # Then Tencent's callback says Offline/Kicked (trtc.io 64424), and the ingress answered it OK
    deliveries = chain["http"].get(f"{chain['emulator'].base_url}/emulator/v1/webhooks").json()["webhooks"]
    kicked = [
        delivery
        for delivery in deliveries
        if delivery["order_key"] == "chain-kick" and delivery["body"].get("EventCause") == "Kicked"
    ]
    assert [(d["body"]["EventType"], d["status"], d["answer"]["ErrorCode"]) for d in kicked] == [
        ("Offline", 200, 0)
    ]
