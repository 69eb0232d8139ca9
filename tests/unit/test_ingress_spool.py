"""The ingress when SQS cannot take an event: kept in the spool and answered as if queued, within
Tencent's budget; 503 only when the spool cannot take it either; a room's later events never
overtake the ones this instance kept."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from liveguard.aws.sqs import SqsSendError
from liveguard.ingress import ANSWER_BUDGET, Ingress
from liveguard.rules.verdict import Verdict
from liveguard.spool import KeptEvent, spool_shard
from liveguard_local.events import CALLBACK_BODIES

from .conftest import ActingOnEveryCallback, FakeClock
from .test_ingress import NOW, SECRET, QueueDownError, RecordingQueue, Rules, answer, event_for


@dataclass
class FakeSpool:
    """An in-memory spool: ``down`` makes every call fail; ``drain`` empties it as the drain would
    (the activity mark stays up: the real drain takes it down only once it has been idle a while)."""

    down: bool = False
    kept: dict[tuple[int, str], KeptEvent] = field(default_factory=dict)
    marked: list[int] = field(default_factory=list)
    timeouts: list[float] = field(default_factory=list)
    mark_reads: int = 0
    room_reads: int = 0

    def _check(self) -> None:
        if self.down:
            raise OSError("table unreachable")

    def keep(self, event: KeptEvent, *, timeout: float) -> None:
        self.timeouts.append(timeout)
        self._check()
        self.kept[(event.shard, event.key()["sk"]["S"])] = event

    def room_has_kept(self, group: str, *, timeout: float) -> bool:
        self.room_reads += 1
        self._check()
        return any(event.group == group for event in self.kept.values())

    def is_active(self, *, timeout: float) -> bool:
        self.mark_reads += 1
        self._check()
        return bool(self.marked)

    def mark_active(self, *, at_ms: int, timeout: float) -> None:
        self._check()
        self.marked.append(at_ms)

    def events(self) -> list[KeptEvent]:
        return sorted(self.kept.values(), key=lambda event: (event.received_at, event.event_id))

    def drain(self) -> list[KeptEvent]:
        drained, self.kept = self.events(), {}
        return drained


def make(queue: RecordingQueue, spool: FakeSpool, clock: FakeClock, rules: Any = None) -> Ingress:
    """An ingress whose rules (by default) act on every callback, so every event is queued or kept."""
    options: dict[str, Any] = {"rules": rules if rules is not None else ActingOnEveryCallback()}
    return Ingress(
        queue=queue,
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-events-dev.fifo",
        secret=lambda: SECRET,
        clock=lambda: NOW + clock.now,
        monotonic=clock,
        sleep=clock.sleep,
        spool=spool,
        **options,
    )


def metadata_event(room: str, value: str) -> dict[str, Any]:
    body = {**CALLBACK_BODIES["Live.CallbackAfterSetMetadata"], "RoomId": room}
    body["Metadata"] = [{"Key": "topic", "Value": value}]
    return event_for("Live.CallbackAfterSetMetadata", body)


def down(times: int = 1000) -> list[Exception]:
    return [QueueDownError(retryable=True) for _ in range(times)]


def test_an_event_sqs_cannot_take_is_kept_and_answered_ok_within_the_budget():
    # Given SQS refusing every send, and the spool taking writes
    clock, spool = FakeClock(now=0.0), FakeSpool()
    queue = RecordingQueue(failures=down())
    # When a callback arrives
    status, body = answer(make(queue, spool, clock).handle(metadata_event("r1", "chess")))
    # Then Tencent gets its OK, within the budget, and SQS had its tries first
    assert (status, body["ErrorCode"]) == (200, 0)
    assert clock.now < ANSWER_BUDGET
    assert queue.attempts > 1
    # And the event is kept exactly as it would have been queued: same group, dedup id and body
    [kept] = spool.events()
    envelope = json.loads(kept.body)
    assert (kept.group, kept.event_id) == ("r1", envelope["id"])
    assert envelope["event"]["Metadata"] == [{"Key": "topic", "Value": "chess"}]
    # And the spool write had time left for itself
    assert spool.timeouts[0] >= 0.1


def test_a_kept_before_callback_is_still_answered_with_its_verdict():
    clock, spool = FakeClock(now=0.0), FakeSpool()
    reject = Verdict(action="reject", code=1, rule="banned-terms", reason="banned term")
    ingress = make(RecordingQueue(failures=down()), spool, clock, Rules(reject))
    status, body = answer(ingress.handle(event_for("Group.CallbackBeforeSendMsg")))
    assert (status, body["ErrorCode"], body["ErrorInfo"]) == (200, 1, "banned term")
    assert json.loads(spool.events()[0].body)["decision"]["rule"] == "banned-terms"


def test_when_neither_sqs_nor_the_spool_takes_the_event_the_answer_is_503():
    clock = FakeClock(now=0.0)
    status, body = answer(
        make(RecordingQueue(failures=down()), FakeSpool(down=True), clock).handle(metadata_event("r1", "a"))
    )
    assert (status, body["ErrorCode"]) == (503, 50301)
    assert clock.now < ANSWER_BUDGET


def test_a_message_sqs_refuses_for_its_content_is_not_kept():
    # SQS will never take it: keeping it would hold its room in the spool for good.
    refusal = SqsSendError("bad characters", retryable=False, error_type="InvalidMessageContents", status=400)
    spool = FakeSpool()
    status, _ = answer(
        make(RecordingQueue(failures=[refusal]), spool, FakeClock(now=0.0)).handle(metadata_event("r1", "a"))
    )
    assert status == 503
    assert spool.events() == []


def test_after_an_sqs_failure_events_go_straight_to_the_spool_for_a_few_seconds():
    # Given an SQS failure that made this instance keep an event
    clock, spool = FakeClock(now=0.0), FakeSpool()
    queue = RecordingQueue(failures=down())
    ingress = make(queue, spool, clock)
    ingress.handle(metadata_event("r1", "a"))
    attempts = queue.attempts
    # When another room's event arrives a second later
    clock.now += 1.0
    started = clock.now
    status, _ = answer(ingress.handle(metadata_event("r2", "b")))
    # Then it is kept at once, without spending the budget on SQS
    assert status == 200
    assert queue.attempts == attempts
    assert clock.now == started
    assert sorted(event.group for event in spool.events()) == ["r1", "r2"]


def test_a_rooms_events_are_kept_behind_its_kept_ones_until_the_drain_has_queued_them():
    # Given an event of room r1 kept while SQS was down
    clock, spool = FakeClock(now=0.0), FakeSpool()
    queue = RecordingQueue(failures=down())
    ingress = make(queue, spool, clock)
    assert answer(ingress.handle(metadata_event("r1", "first")))[0] == 200
    assert len(spool.events()) == 1
    # When SQS is back (the hold has passed) and r1's next event arrives before the drain ran
    queue.failures.clear()
    clock.now += 10
    assert answer(ingress.handle(metadata_event("r1", "second")))[0] == 200
    # Then it is kept behind the first rather than sent ahead of it
    assert queue.sent == []
    assert [json.loads(e.body)["event"]["Metadata"][0]["Value"] for e in spool.events()] == [
        "first",
        "second",
    ]
    # And another room's event goes straight to SQS
    assert answer(ingress.handle(metadata_event("r2", "other")))[0] == 200
    assert [message["group"] for message in queue.sent] == ["r2"]
    # And once the drain has queued r1's kept events, r1's next event goes straight to SQS too
    spool.drain()
    clock.now += 2
    assert answer(ingress.handle(metadata_event("r1", "third")))[0] == 200
    assert [message["group"] for message in queue.sent] == ["r2", "r1"]
    assert spool.events() == []


def test_while_nothing_is_kept_the_guard_reads_only_the_mark_at_most_once_a_second():
    # Given SQS well and an empty spool
    clock, spool = FakeClock(now=0.0), FakeSpool()
    queue = RecordingQueue()
    ingress = make(queue, spool, clock)
    # When ten events arrive within a second, then one more a second later
    for index in range(10):
        ingress.handle(metadata_event(f"r{index}", "x"))
        clock.now += 0.05
    clock.now += 1
    ingress.handle(metadata_event("r10", "x"))
    # Then all are queued, the mark was read twice, and no room was asked about
    assert len(queue.sent) == 11
    assert (spool.mark_reads, spool.room_reads) == (2, 0)


def test_another_instance_keeps_a_rooms_event_behind_the_one_this_instance_kept():
    # Given instance A, which kept r1's event while SQS refused it, and instance B, which never
    # saw SQS fail, both on the same spool
    clock, spool = FakeClock(now=0.0), FakeSpool()
    queue_a, queue_b = RecordingQueue(failures=down()), RecordingQueue()
    a, b = make(queue_a, spool, clock), make(queue_b, spool, clock)
    b.handle(metadata_event("r0", "before"))  # B read the mark before anything was kept
    assert answer(a.handle(metadata_event("r1", "first")))[0] == 200
    assert spool.marked
    # When SQS is back and r1's next event reaches B (its view of the mark a second old or more)
    queue_a.failures.clear()
    clock.now += 1
    assert answer(b.handle(metadata_event("r1", "second")))[0] == 200
    # Then B keeps it behind the first instead of sending it ahead
    assert [message["group"] for message in queue_b.sent] == ["r0"]
    assert [json.loads(e.body)["event"]["Metadata"][0]["Value"] for e in spool.events()] == [
        "first",
        "second",
    ]
    # And a room with nothing kept goes straight to SQS, from either instance
    b.handle(metadata_event("r2", "other"))
    assert [message["group"] for message in queue_b.sent] == ["r0", "r2"]


def test_an_instance_that_keeps_refreshes_the_mark_every_few_seconds_not_every_event():
    clock, spool = FakeClock(now=0.0), FakeSpool()
    ingress = make(RecordingQueue(failures=down()), spool, clock)
    for index in range(12):  # 12 events over 6 s, SQS down throughout
        ingress.handle(metadata_event(f"r{index}", "x"))
        clock.now += 0.5
    assert len(spool.events()) == 12
    assert len(spool.marked) == 2


def test_when_the_spool_fails_for_a_kept_room_sqs_still_gets_the_event():
    # Given r1 with a kept event, then the spool failing while SQS is back
    clock, spool = FakeClock(now=0.0), FakeSpool()
    queue = RecordingQueue(failures=down())
    ingress = make(queue, spool, clock)
    ingress.handle(metadata_event("r1", "first"))
    queue.failures.clear()
    clock.now += 10
    spool.down = True
    # When r1's next event arrives, Then it is queued rather than lost
    assert answer(ingress.handle(metadata_event("r1", "second")))[0] == 200
    assert [message["group"] for message in queue.sent] == ["r1"]


def test_the_kept_events_shard_is_the_rooms():
    clock, spool = FakeClock(now=0.0), FakeSpool()
    ingress = make(RecordingQueue(failures=down()), spool, clock)
    for room in ("r1", "r2", "r3"):
        ingress.handle(metadata_event(room, "x"))
    assert {(event.group, event.shard) for event in spool.events()} == {
        (room, spool_shard(room)) for room in ("r1", "r2", "r3")
    }


@dataclass
class TimingOutQueue:
    """SQS not answering: every send uses up its whole timeout, then fails."""

    clock: FakeClock
    timeouts: list[float] = field(default_factory=list)

    def send_message(self, queue_url: str, body: str, *, group_id, deduplication_id, timeout) -> object:
        self.timeouts.append(timeout)
        self.clock.now += timeout
        raise TimeoutError("timed out")


def test_an_sqs_that_does_not_answer_still_leaves_the_spool_time_within_the_budget():
    # Given SQS timing out on every send
    clock, spool = FakeClock(now=0.0), FakeSpool()
    queue = TimingOutQueue(clock)
    # When a callback arrives
    status, _ = answer(make(queue, spool, clock).handle(metadata_event("r1", "slow")))
    # Then SQS's tries end early enough for the spool write to have its full timeout, and Tencent
    # is answered 200 within the budget
    assert status == 200
    assert spool.timeouts == [0.2]
    assert clock.now < ANSWER_BUDGET
