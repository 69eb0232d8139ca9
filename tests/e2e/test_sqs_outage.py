"""No event lost when SQS is down, end to end: the local stack (template.yaml, the default rules, two
instances of each function) with the events queue refusing every SendMessage for a while in the
middle of several rooms' traffic, driven over HTTP only.

Tencent does not retry a refused webhook, so every delivery must be answered 200 (with its verdict,
for comments) while SQS is down; the ingress keeps those events in the state table's spool. Once
SQS is back, and before the drain has run, each room gets one more event: it must not overtake the
room's kept ones. Then the drain runs (the test invokes it, as its schedule would), and every
expected effect happens exactly once and in each room's order, the audit holds each event once, and
the queues and the spool are empty.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from liveguard.spool import SQS_HOLD
from liveguard_local.driver import Driver
from liveguard_local.stack import LocalStack

from .conftest import e2e_stack, eventually
from .test_zero_loss import DEFAULTS, effects, ok, queue_depths, sqs_client, successes

ROOT = Path(__file__).resolve().parents[2]
ROOMS = 8
SETTLE_TIMEOUT = 90.0
PROMO = [{"Key": "topic", "Value": "chess"}, {"Key": "promo", "Value": "Buy Followers now"}]
NOTE = [{"Key": "note", "Value": "Buy Followers again"}]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Driver]]:
    """The stack as in conftest, with two instances of each function (a room's consecutive callbacks
    reach different ingress instances: the order must hold across instances, not only within one),
    and the spool drain run by the test rather than on its schedule."""
    local_stack = e2e_stack(tmp_path_factory, "e2e-sqs-outage", schedule_interval=3600.0, instances=2)
    with local_stack as stack, httpx.Client(timeout=30) as http:
        yield stack, Driver.of(stack, http)


def dynamodb(stack: LocalStack) -> Any:
    credentials = stack.settings()["aws_credentials"]
    return boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_url,
        region_name=credentials["AWS_REGION"],
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )


def partition(stack: LocalStack, pk: str) -> list[dict[str, Any]]:
    client, table = dynamodb(stack), stack.settings()["tables"]["StateTable"]
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("query").paginate(
        TableName=table,
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": pk}},
        ConsistentRead=True,
    ):
        items += page["Items"]
    return items


def audit_trail(stack: LocalStack, room: str) -> list[tuple[str, ...]]:
    """The room's audit, oldest first (for a failure's message): each record's time, id, command,
    rules, outcome and strikes."""
    return [
        (
            item["sk"]["S"],
            item.get("command", {}).get("S", ""),
            json.dumps(item.get("rules", {}).get("L", [])),
            item.get("outcome", {}).get("S", ""),
        )
        for item in partition(stack, f"ROOM#{room}")
        if item["sk"]["S"].startswith(("AUDIT#", "STRIKE#"))
    ]


def kept(stack: LocalStack) -> list[dict[str, Any]]:
    return [item for shard in range(16) for item in partition(stack, f"SPOOL#{shard:02d}")]


class Room:
    def __init__(self, index: int) -> None:
        self.index = index
        self.room = f"out-{index:02d}-{time.monotonic_ns() % 10**6:06d}"
        self.host = f"h-{self.room}"
        self.strikes = index % 2 == 0  # three banned comments while SQS is down: v1 is muted

    def create(self, driver: Driver) -> None:
        ok(driver.act("create_room", self.host, RoomId=self.room, RoomName=f"Room {self.index}"))
        ok(driver.act("enter_room", "v1", RoomId=self.room))

    def during_outage(self, driver: Driver) -> None:
        ok(driver.act("set_room_metadata", self.host, RoomId=self.room, Metadata=PROMO))
        ok(driver.act("update_room_info", self.host, RoomId=self.room, Notice="cheap followers here"))
        if self.strikes:
            # Comments are before-callbacks, sent at once; the emulator delivers after-callbacks in
            # the background. Wait for those, so that the ingress sees the room's events in this order.
            driver.webhooks()
            for strike in range(3):
                reply = ok(driver.act("send_text_msg", "v1", RoomId=self.room, Text=f"free coins {strike}"))
                # The inline verdict still reaches Tencent: the comment is delivered masked
                assert reply["outcome"] == "delivered"
                assert "free coins" not in reply["text"].lower(), reply

    def after_outage(self, driver: Driver) -> None:
        ok(driver.act("set_room_metadata", self.host, RoomId=self.room, Metadata=NOTE))

    def expected(self) -> list[tuple[str, str]]:
        """This room's effects, in the order its events happened."""
        order = [
            ("set_room_metadata", json.dumps(DEFAULTS, sort_keys=True)),
            ("del_room_metadata", json.dumps(["promo"])),
            ("update_room_info", ""),
        ]
        if self.strikes:
            order.append(("mute_member", json.dumps([["v1"], 600])))
        order.append(("del_room_metadata", json.dumps(["note"])))
        return order


def room_effects(driver: Driver, room: str) -> list[tuple[str, str]]:
    return [(command, what) for (_, command, what) in _ordered_effects(successes(driver, {room}))]


def _ordered_effects(calls: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    ordered = []
    for call in calls:
        ((key, _),) = effects([call]).items()
        ordered.append(key)
    return ordered


def test_every_event_accepted_while_sqs_refuses_sends_is_moderated_once_in_order(local):
    stack, driver = local
    sqs = sqs_client(stack)
    events_queue = stack.settings()["queues"]["EventsQueue"].rsplit("/", 1)[-1]
    rooms = [Room(index) for index in range(ROOMS)]
    names = {room.room for room in rooms}
    first, second = rooms[: ROOMS // 2], rooms[ROOMS // 2 :]
    # Given half the rooms live while SQS is well
    for room in first:
        room.create(driver)
    # (with their default metadata set and its admin echoes delivered, so that no webhook of before
    # the outage is still on its way when the spool is counted)
    eventually(
        lambda: all(driver.metadata(room.room).get("lg.rules-version") == "1" for room in first),
        "the first rooms' default metadata",
        timeout=SETTLE_TIMEOUT,
    )
    driver.webhooks()
    # When the events queue refuses every send for a while, during traffic in every room
    stack.refuse_sqs_sends([events_queue])
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda room: room.create(driver), second))
            list(pool.map(lambda room: room.during_outage(driver), rooms))
        during = [hook for hook in driver.webhooks() if hook["order_key"] in names]  # all delivered
        held = kept(stack)
    finally:
        stack.refuse_sqs_sends([])
    # Then every delivery was answered 200 (Tencent would not have retried a refusal), and the events
    # SQS refused are in the spool, not lost
    assert during
    assert Counter((hook["status"], hook["outcome"]) for hook in during) == {(200, "ok"): len(during)}
    assert len(held) >= len(second) * 2, len(held)
    # And when SQS is back (past the instances' hold after its failures), before the drain ran, each
    # room gets one more event, on either ingress instance
    time.sleep(SQS_HOLD + 0.5)
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda room: room.after_outage(driver), rooms))
    hooks = [hook for hook in driver.webhooks() if hook["order_key"] in names]
    assert {(hook["status"], hook["outcome"]) for hook in hooks} == {(200, "ok")}
    # Then it is kept behind the room's kept events rather than sent ahead of them
    assert len(kept(stack)) == len(held) + len(rooms)
    # And when the drain runs (as its schedule would, every minute)
    drained = eventually(
        lambda: stack.run_scheduled("SpoolDrainFunction") and not kept(stack),
        "the drain to empty the spool",
        timeout=SETTLE_TIMEOUT,
    )
    assert drained

    # Then every room's effects happen, once each, in the order of the events that caused them
    eventually(
        lambda: all(len(room_effects(driver, room.room)) >= len(room.expected()) for room in rooms),
        "every room's effects",
        timeout=SETTLE_TIMEOUT,
    )
    eventually(
        lambda: not kept(stack) and all(depth == 0 for depth in queue_depths(stack, sqs).values()),
        "the spool and every queue to drain",
        timeout=SETTLE_TIMEOUT,
    )
    for room in rooms:
        assert room_effects(driver, room.room) == room.expected(), (room.room, audit_trail(stack, room.room))
    # And the audit records each event's decision once (no event moderated twice)
    for room in rooms:
        decided = [
            item["id"]["S"]
            for item in partition(stack, f"ROOM#{room.room}")
            if item["sk"]["S"].startswith("AUDIT#") and item["kind"]["S"] == "event"
        ]
        assert decided, room.room
        assert [count for count in Counter(decided).values() if count > 1] == [], room.room
    # And nothing is left anywhere: the spool, the queues, the DLQs
    assert kept(stack) == []
    assert queue_depths(stack, sqs) == dict.fromkeys(stack.settings()["queues"], 0)
    drains = [
        i for i in list(stack.invocations) if i.function == "SpoolDrainFunction" and "drained" in i.detail
    ]
    latencies = sorted(float(hook["latency_ms"]) for hook in during)
    print(
        f"\nsqs outage: {len(rooms)} rooms, {len(hooks)} deliveries all answered 200,"
        f" {len(held)} events kept while the events queue refused sends, drained in {len(drains)} runs;"
        f" answer latency during the outage: median {latencies[len(latencies) // 2]:.0f} ms,"
        f" max {latencies[-1]:.0f} ms"
    )
