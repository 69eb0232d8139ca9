"""The drain's choices when things fail, with in-memory fakes of its two ports (the spool's pages and
SQS): when it stops trying a shard, when it stops for time, and what a failed delete holds back."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from liveguard.drain import MAX_FAILURES_IN_A_ROW, STOP_MARGIN, SpoolDrain
from liveguard.spool import KeptEvent, spool_shard

from .conftest import FakeClock


def kept(group: str, index: int) -> KeptEvent:
    return KeptEvent(
        event_id=f"{index:064x}",
        group=group,
        received_at=1_800_000_000_000 + index,
        body=json.dumps({"index": index}),
        kept_at=1_800_000_000_000 + index,
    )


@dataclass
class PagedSpool:
    events: list[KeptEvent]
    failing_removes: set[str] = field(default_factory=set)
    mark_cleared: bool = False

    def page(self, shard: int, *, limit: int = 100, start_key: Any = None, timeout: float = 2.0):
        mine = sorted((e for e in self.events if e.shard == shard), key=lambda e: e.key()["sk"]["S"])
        start = int(start_key or 0)
        page = mine[start : start + limit]
        return page, (start + limit if start + limit < len(mine) else None)

    def clear_mark(self, *, older_than_ms: int, timeout: float = 2.0) -> bool:
        self.mark_cleared = True
        return True

    def remove(self, event: KeptEvent, *, timeout: float = 2.0) -> bool:
        if event.event_id in self.failing_removes:
            self.failing_removes.discard(event.event_id)
            raise OSError("table unreachable")
        if event not in self.events:
            return False
        self.events.remove(event)
        return True


@dataclass
class Sqs:
    down: bool = False
    sent: list[tuple[str, str]] = field(default_factory=list)
    attempts: int = 0

    def send_message(self, queue_url: str, body: str, *, group_id, deduplication_id, timeout) -> object:
        self.attempts += 1
        if self.down:
            raise OSError("connection refused")
        self.sent.append((group_id, deduplication_id))
        return object()


def drain(spool: PagedSpool, sqs: Sqs, clock: FakeClock | None = None) -> SpoolDrain:
    return SpoolDrain(
        spool=lambda: spool,
        queue=lambda: sqs,
        queue_url="q",
        workers=1,
        monotonic=clock or FakeClock(now=0.0),
    )


def rooms_in_one_shard(count: int) -> list[str]:
    found, n = [], 0
    while len(found) < count:
        if spool_shard(f"room-{n}") == 0:
            found.append(f"room-{n}")
        n += 1
    return found


def test_with_sqs_down_a_shard_is_left_after_three_failures_in_a_row():
    # Given five rooms' kept events in one shard, and SQS refusing everything
    events = [kept(room, index) for index, room in enumerate(rooms_in_one_shard(5))]
    spool, sqs = PagedSpool(list(events)), Sqs(down=True)
    # When the drain runs
    report = drain(spool, sqs).run(deadline=100.0)
    # Then it stops trying that shard after three failures, keeps every event, and reports the oldest
    assert sqs.attempts == MAX_FAILURES_IN_A_ROW
    assert (report.drained, report.held) == (0, 5)
    assert report.shards_given_up == {0}
    assert report.oldest_kept_ms == events[0].received_at
    assert spool.events == events


def test_a_run_starts_no_send_in_its_last_seconds():
    # Given kept events, and a run whose time is all but up
    events = [kept(room, index) for index, room in enumerate(rooms_in_one_shard(3))]
    spool, sqs = PagedSpool(list(events)), Sqs()
    # When the drain runs
    report = drain(spool, sqs, FakeClock(now=0.0)).run(deadline=STOP_MARGIN - 0.1)
    # Then it sends nothing (a send cut short by the timeout could be neither deleted nor reported)
    assert sqs.sent == []
    assert report.held == 3


def test_a_kept_event_that_could_not_be_deleted_holds_its_room_and_is_sent_again_next_run():
    # Given a room's two kept events, and the table failing the first one's delete once
    first, second = kept("room-a", 1), kept("room-a", 2)
    spool, sqs = PagedSpool([first, second], failing_removes={first.event_id}), Sqs()
    # When the drain runs
    report = drain(spool, sqs).run(deadline=100.0)
    # Then the first is sent and still kept, and the second waits behind it
    assert sqs.sent == [("room-a", first.event_id)]
    assert report.held == 2
    # And the next run sends the first again (SQS drops it by its dedup id) and then the second
    drain(spool, sqs).run(deadline=100.0)
    assert sqs.sent == [("room-a", first.event_id), ("room-a", first.event_id), ("room-a", second.event_id)]
    assert spool.events == []
    # And once the spool is empty, the run takes the activity mark down
    assert spool.mark_cleared
