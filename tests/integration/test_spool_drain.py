"""The spool against moto's server: the ingress keeps what SQS refuses in the state table, and the
drain moves it onto the events queue in each room's order, once, deleting only what SQS took."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from liveguard.aws.dynamodb import DynamoDbClient, DynamoDbSpool
from liveguard.aws.sqs import SqsClient
from liveguard.drain import SpoolDrain
from liveguard.ingress import Ingress
from liveguard.rules.engine import InlineRules
from liveguard.rules.loader import load_rules
from liveguard.settings import TencentSecret
from liveguard.spool import SPOOL_SHARDS, KeptEvent
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event
from tests.aws import FAKE_CREDENTIALS, create_state_table, moto_server

TABLE = "liveguard-state-spool"
SECRET = TencentSecret.model_validate(LOCAL_SECRET)


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    with moto_server() as endpoint, pytest.MonkeyPatch.context() as patch:
        for key, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(key, value)
        dynamodb = boto3.client("dynamodb")
        create_state_table(dynamodb, TABLE)
        yield {"endpoint": endpoint, "sqs": boto3.client("sqs"), "dynamodb": dynamodb}


@pytest.fixture
def queue_url(aws: dict[str, Any], request: pytest.FixtureRequest) -> str:
    url: str = aws["sqs"].create_queue(
        QueueName=f"events-{request.node.name[:40]}-{time.monotonic_ns() % 10**6}.fifo",
        Attributes={
            "FifoQueue": "true",
            "ContentBasedDeduplication": "false",
            "DeduplicationScope": "messageGroup",
            "FifoThroughputLimit": "perMessageGroupId",
        },
    )["QueueUrl"]
    return url


def spool() -> DynamoDbSpool:
    return DynamoDbSpool(TABLE, DynamoDbClient.from_environment(timeout=2.0))


def kept_events(aws: dict[str, Any]) -> list[dict[str, Any]]:
    items = []
    for shard in range(SPOOL_SHARDS):
        items += aws["dynamodb"].query(
            TableName=TABLE,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"SPOOL#{shard:02d}"}},
            ConsistentRead=True,
        )["Items"]
    return items


def received(aws: dict[str, Any], url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while True:
        batch = (
            aws["sqs"]
            .receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"], WaitTimeSeconds=0
            )
            .get("Messages", [])
        )
        if not batch:
            return messages
        for message in batch:
            aws["sqs"].delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        messages.extend(batch)


def kept(room: str, index: int, at_ms: int) -> KeptEvent:
    event_id = f"{index:064x}"
    body = json.dumps({"room": room, "index": index})
    return KeptEvent(event_id=event_id, group=room, received_at=at_ms, body=body, kept_at=at_ms)


def drain_for(url: str) -> SpoolDrain:
    return SpoolDrain(
        spool=spool, queue=lambda: SqsClient.from_environment(timeout=2.0), queue_url=url, workers=2
    )


def test_the_drain_queues_each_rooms_kept_events_in_arrival_order_and_empties_the_spool(aws, queue_url):
    # Given kept events of three rooms, written out of order
    events = [kept(f"room-{n % 3}", n, 1_800_000_000_000 + n) for n in range(30)]
    for event in reversed(events):
        spool().keep(event, timeout=2.0)
    # When the drain runs
    report = drain_for(queue_url).run(time.monotonic() + 60)
    # Then every event is on the queue once, each room's in arrival order, with its group and dedup id
    messages = received(aws, queue_url)
    assert report.drained == 30
    assert len(messages) == 30
    for room in ("room-0", "room-1", "room-2"):
        mine = [m for m in messages if m["Attributes"]["MessageGroupId"] == room]
        assert [json.loads(m["Body"])["index"] for m in mine] == [
            int(e.event_id, 16) for e in events if e.group == room
        ]
        assert [m["Attributes"]["MessageDeduplicationId"] for m in mine] == [
            e.event_id for e in events if e.group == room
        ]
    # And nothing is left in the spool
    assert kept_events(aws) == []
    assert report.oldest_kept_age(time.time()) == 0


class RefusingSender:
    """SQS refusing one room's sends (a fake of SQS, not of our code: the drain's seam is SQS)."""

    def __init__(self, refused: str) -> None:
        self.refused = refused
        self.real = SqsClient.from_environment(timeout=2.0)

    def send_message(self, queue_url: str, body: str, *, group_id, deduplication_id, timeout) -> object:
        if group_id == self.refused:
            raise OSError("connection reset")
        return self.real.send_message(
            queue_url, body, group_id=group_id, deduplication_id=deduplication_id, timeout=timeout
        )


def test_a_room_whose_send_fails_keeps_its_events_in_order_for_the_next_run(aws, queue_url):
    # Given kept events of two rooms, and SQS failing for one of them
    events = [kept(f"held-{n % 2}", 100 + n, 1_800_000_100_000 + n) for n in range(6)]
    for event in events:
        spool().keep(event, timeout=2.0)
    refusing = SpoolDrain(spool=spool, queue=lambda: RefusingSender("held-0"), queue_url=queue_url, workers=1)
    # When the drain runs
    report = refusing.run(time.monotonic() + 60)
    # Then the other room is queued, and the failing room's events all stay kept (none sent ahead)
    assert [m["Attributes"]["MessageGroupId"] for m in received(aws, queue_url)] == ["held-1"] * 3
    assert (report.drained, report.held) == (3, 3)
    assert report.failed >= 1  # once per pass: the run tries again while other rooms move
    assert report.oldest_kept_ms == events[0].received_at
    assert sorted(item["group"]["S"] for item in kept_events(aws)) == ["held-0"] * 3
    # And the next run, SQS well again, queues them in order
    drain_for(queue_url).run(time.monotonic() + 60)
    assert [json.loads(m["Body"])["index"] for m in received(aws, queue_url)] == [100, 102, 104]
    assert kept_events(aws) == []


def test_two_drains_at_once_queue_each_kept_event_once(aws, queue_url):
    # Given kept events, and two drains that both read them before either deletes
    events = [kept("twice", 200 + n, 1_800_000_200_000 + n) for n in range(5)]
    for event in events:
        spool().keep(event, timeout=2.0)
    first, second = drain_for(queue_url), drain_for(queue_url)
    sender = SqsClient.from_environment(timeout=2.0)
    page, _ = spool().page(events[0].shard)
    for event in page:  # the second drain's sends, as if it ran between the first's sends and deletes
        sender.send_message(queue_url, event.body, group_id=event.group, deduplication_id=event.event_id)
    # When the first drain runs, and the second deletes behind it
    report = first.run(time.monotonic() + 60)
    gone = [spool().remove(event) for event in page]
    # Then SQS holds each event once (the dedup id), and the late deletes find nothing to delete
    assert len(received(aws, queue_url)) == 5
    assert report.drained == 5
    assert gone == [False] * 5
    assert second.run(time.monotonic() + 60).drained == 0


def test_the_ingress_keeps_what_sqs_refuses_and_the_drain_queues_it(aws, queue_url):
    # Given an ingress whose queue URL SQS does not know (its sends all fail), with the spool
    missing = queue_url.replace(".fifo", "-missing.fifo")
    ingress = Ingress(
        queue=SqsClient.from_environment(),
        queue_url=missing,
        secret=lambda: SECRET,
        rules=InlineRules(load_rules(check_params=False), admin=""),  # the defaults act on metadata
        spool=spool(),
    )
    now = int(time.time())
    bodies = [
        {**CALLBACK_BODIES["Live.CallbackAfterSetMetadata"], "RoomId": "ing-1", "Seq": n} for n in range(3)
    ]
    # When Tencent delivers three events of a room
    answers = [
        ingress.handle(proxy_event("Live.CallbackAfterSetMetadata", json.dumps(body), request_time=now))
        for body in bodies
    ]
    # Then each is answered 200 and kept
    assert [response["statusCode"] for response in answers] == [200, 200, 200]
    assert len([item for item in kept_events(aws) if item["group"]["S"] == "ing-1"]) == 3
    # And the drain queues them on the real queue, in order, as the ingress would have
    drain_for(queue_url).run(time.monotonic() + 60)
    messages = received(aws, queue_url)
    envelopes = [json.loads(message["Body"]) for message in messages]
    assert [envelope["event"]["Seq"] for envelope in envelopes] == [0, 1, 2]
    assert [m["Attributes"]["MessageDeduplicationId"] for m in messages] == [e["id"] for e in envelopes]
    assert {m["Attributes"]["MessageGroupId"] for m in messages} == {"ing-1"}
    assert kept_events(aws) == []


def test_a_rooms_kept_events_are_found_by_its_own_group_only(aws):
    # Given a kept event of room "a#b" and of room "ab" (groups whose names begin alike)
    for index, group in enumerate(("a#b", "ab")):
        spool().keep(kept(group, 300 + index, 1_800_000_300_000), timeout=2.0)
    # When the ingress asks about room "a"
    # Then it finds nothing for "a", and each of the others finds its own
    assert [spool().room_has_kept(group, timeout=2.0) for group in ("a", "a#b", "ab")] == [False, True, True]
    for item in kept_events(aws):  # leave the spool empty for the next test
        aws["dynamodb"].delete_item(TableName=TABLE, Key={"pk": item["pk"], "sk": item["sk"]})


def test_the_drain_takes_the_activity_mark_down_only_once_the_spool_is_empty_and_the_mark_idle(
    aws, queue_url
):
    # Given the mark set a minute ago and an empty spool
    spool().mark_active(at_ms=int(time.time() * 1000) - 60_000, timeout=2.0)
    assert spool().is_active(timeout=2.0)
    # When the drain runs, Then it takes the mark down
    assert drain_for(queue_url).run(time.monotonic() + 60).mark_cleared
    assert not spool().is_active(timeout=2.0)
    # But a mark an ingress refreshed a moment ago stays up (it may have just kept an event)
    spool().mark_active(at_ms=int(time.time() * 1000), timeout=2.0)
    assert not drain_for(queue_url).run(time.monotonic() + 60).mark_cleared
    assert spool().is_active(timeout=2.0)
    # And so does one with kept events left in the spool
    spool().mark_active(at_ms=int(time.time() * 1000) - 60_000, timeout=2.0)
    spool().keep(kept("mark-room", 400, 1_800_000_400_000), timeout=2.0)
    refusing = SpoolDrain(
        spool=spool, queue=lambda: RefusingSender("mark-room"), queue_url=queue_url, workers=1
    )
    assert not refusing.run(time.monotonic() + 60).mark_cleared
    assert spool().is_active(timeout=2.0)
    drain_for(queue_url).run(time.monotonic() + 60)
    received(aws, queue_url)
