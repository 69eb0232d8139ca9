"""The SQS adapters of the moderator against moto: liveguard-actions.fifo (``SqsActionQueue``): order,
groups, deduplication, refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from liveguard.aws.action_queue import ActionsNotQueued, SqsActionQueue
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
