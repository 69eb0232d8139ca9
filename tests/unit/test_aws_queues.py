"""The SQS adapters of the moderator against moto: liveguard-actions.fifo (``SqsActionQueue``): order,
groups, deduplication, refusals; the delayed-actions queue (``SqsDelayedActionQueue``): a delay per
message, no group."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from liveguard.aws.action_queue import ActionsNotQueued, SqsActionQueue
from liveguard.aws.batch import from_fifo_queue
from liveguard.aws.delayed_action_queue import SqsDelayedActionQueue
from liveguard.messages import ActionMessage, action_id, message_group
from tests.aws import FAKE_CREDENTIALS

ROOM = "live-room-1"


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("sqs")


def fifo_queue(sqs: Any, name: str = "liveguard-actions-test.fifo") -> str:
    url: str = sqs.create_queue(
        QueueName=name, Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "false"}
    )["QueueUrl"]
    return url


def receive_all(sqs: Any, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], WaitTimeSeconds=0
    ).get("Messages", []):
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)
    return messages


def test_actions_reach_sqs_in_order_with_the_room_as_group_and_the_action_id_as_dedup(sqs):
    # Given twelve actions for one room (more than one SendMessageBatch holds)
    url = fifo_queue(sqs)
    cause = "e" * 64
    messages = [
        ActionMessage(
            id=action_id(cause, "r", "del_room_metadata", {"RoomId": "房间 1", "Keys": [f"k{i}"]}),
            command="del_room_metadata",
            params={"RoomId": "房间 1", "Keys": [f"k{i}"]},
            room="房间 1",
            rule="r",
            cause=cause,
        )
        for i in range(12)
    ]
    # When they are queued
    SqsActionQueue(url, client=sqs).send(messages)
    # Then all twelve wait, in order, grouped by the room's SQS-safe group and deduplicated by id
    received = receive_all(sqs, url)
    assert [json.loads(m["Body"])["id"] for m in received] == [m.id for m in messages]
    assert {m["Attributes"]["MessageGroupId"] for m in received} == {message_group("房间 1")}
    assert [m["Attributes"]["MessageDeduplicationId"] for m in received] == [m.id for m in messages]


def test_an_action_queued_twice_is_received_once(sqs):
    url = fifo_queue(sqs)
    params = {"RoomId": ROOM}
    message = ActionMessage(
        id=action_id("e" * 64, "r", "destroy_room", params),
        command="destroy_room",
        params=params,
        room=ROOM,
        rule="r",
        cause="e" * 64,
    )
    queue = SqsActionQueue(url, client=sqs)
    queue.send([message])
    queue.send([message])
    assert len(receive_all(sqs, url)) == 1


def test_actions_sqs_refuses_fail_the_event():
    # Given an SQS that refuses one entry of the batch
    class Refusing:
        def send_message_batch(self, **_: Any) -> dict[str, Any]:
            return {"Successful": [], "Failed": [{"Id": "0", "Code": "InternalError", "SenderFault": False}]}

    params = {"RoomId": ROOM}
    message = ActionMessage(
        id=action_id("e" * 64, "r", "destroy_room", params),
        command="destroy_room",
        params=params,
        room=ROOM,
        rule="r",
        cause="e" * 64,
    )
    # Then queueing raises, so the event is retried
    with pytest.raises(ActionsNotQueued, match="InternalError"):
        SqsActionQueue("https://sqs/q.fifo", client=Refusing()).send([message])


# --- the delayed-actions queue (standard) ----------------------------------------------------------


def delayed_action(key: str, not_before: int = 1_800_000_000) -> ActionMessage:
    params = {"RoomId": ROOM, "Keys": [key]}
    return ActionMessage(
        id=action_id("d" * 64, "r", "del_room_metadata", params),
        command="del_room_metadata",
        params=params,
        room=ROOM,
        rule="r",
        cause="d" * 64,
        not_before=not_before,
    )


def test_delayed_actions_are_sent_each_with_its_own_delay_and_no_group(sqs):
    # Given the delayed-actions queue (standard) and twelve actions, one due at once
    url: str = sqs.create_queue(QueueName="liveguard-delayed-actions-test")["QueueUrl"]
    delayed = [(delayed_action(f"k{i}"), 0 if i == 0 else 60) for i in range(12)]
    # When they are queued (more than one SendMessageBatch holds)
    SqsDelayedActionQueue(url, client=sqs).delay(delayed)
    # Then only the one due at once can be received; the others wait for their delay
    [ready] = receive_all(sqs, url)
    assert json.loads(ready["Body"])["params"]["Keys"] == ["k0"]
    assert "MessageGroupId" not in ready.get("Attributes", {})
    waiting = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessagesDelayed"])
    assert waiting["Attributes"]["ApproximateNumberOfMessagesDelayed"] == "11"


def test_a_delay_past_sqss_ceiling_is_sent_as_900_seconds(sqs):
    # Given a client that records what it is asked to send
    sent: list[dict[str, Any]] = []

    class Recording:
        def send_message_batch(self, **request: Any) -> dict[str, Any]:
            sent.extend(request["Entries"])
            return {"Successful": []}

    # When an action is delayed by more than SQS's 900 s
    SqsDelayedActionQueue("https://sqs/q", client=Recording()).delay([(delayed_action("k"), 1500)])
    # Then it is sent with the longest delay SQS takes; the actuator delays it again when it returns
    assert [entry["DelaySeconds"] for entry in sent] == [900]


def test_a_refused_delayed_action_raises(sqs):
    class Refusing:
        def send_message_batch(self, **_: Any) -> dict[str, Any]:
            return {"Failed": [{"Id": "0", "Code": "InternalError", "SenderFault": False}]}

    with pytest.raises(ActionsNotQueued, match="InternalError"):
        SqsDelayedActionQueue("https://sqs/q", client=Refusing()).delay([(delayed_action("k"), 5)])


@pytest.mark.parametrize(
    ("arn", "fifo"),
    [
        ("arn:aws:sqs:us-east-1:123456789012:liveguard-actions-dev.fifo", True),
        ("arn:aws:sqs:us-east-1:123456789012:liveguard-delayed-actions-dev", False),
    ],
)
def test_a_batch_is_read_as_fifo_only_when_its_queue_is_a_fifo_queue(arn, fifo):
    assert from_fifo_queue({"Records": [{"eventSourceARN": arn}]}) is fifo
