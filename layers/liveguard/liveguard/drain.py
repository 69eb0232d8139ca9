"""The spool's drain: kept events onto the events queue, in order, each deleted once SQS took it.

Run on a schedule (functions/drain). Each shard of the spool (``liveguard.spool``) is read in sort-key
order, room by room and each room's in arrival order, and each kept event is sent with the message group and
deduplication id the ingress would have used. A kept event is deleted only after SendMessage
succeeded, with a conditional delete (a concurrent drain that deleted it first is counted, not an
error). When a send fails, the rest of that room's kept events wait for the next run (sending them
would put them ahead of it); after ``MAX_FAILURES_IN_A_ROW`` failures a shard is left for the next
run (SQS is still down). A run repeats its passes while they move events and time is left. A run
that leaves the spool empty takes the activity mark down (``SpoolGuard``): the ingress then stops
asking about kept events.

Exactly once, end to end: a kept event is sent at least once (never deleted unsent); a repeat (a
send whose delete failed, two drains at once, an ingress send that timed out but arrived) carries
the same deduplication id, which SQS drops within 5 minutes, and the moderator is idempotent on the
event id beyond that.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from liveguard.ports import EventQueue, SpoolPages
from liveguard.spool import MARK_IDLE, SPOOL_SHARDS, KeptEvent

logger = logging.getLogger(__name__)

MAX_FAILURES_IN_A_ROW = 3
PAGE_SIZE = 100
SEND_TIMEOUT = 2.0
# Left of the invocation when the drain stops starting new sends.
STOP_MARGIN = 5.0


@dataclass
class DrainReport:
    """What a run did: the counts its metrics publish."""

    drained: int = 0
    failed: int = 0  # sends SQS refused; the event stays kept
    held: int = 0  # kept events left for the next run behind a failed one of their room
    already_gone: int = 0  # sent, but another drain had deleted it first
    passes: int = 0
    mark_cleared: bool = False
    oldest_kept_ms: int | None = None  # received_at of the oldest event still kept after the run
    shards_given_up: set[int] = field(default_factory=set)

    def add(self, other: DrainReport) -> None:
        self.drained += other.drained
        self.failed += other.failed
        self.held += other.held
        self.already_gone += other.already_gone
        self.shards_given_up |= other.shards_given_up
        if other.oldest_kept_ms is not None and (
            self.oldest_kept_ms is None or other.oldest_kept_ms < self.oldest_kept_ms
        ):
            self.oldest_kept_ms = other.oldest_kept_ms

    def oldest_kept_age(self, now: float) -> float:
        """Seconds the oldest event still kept has waited; 0 when the spool is empty."""
        return 0.0 if self.oldest_kept_ms is None else max(0.0, now - self.oldest_kept_ms / 1000)


class SpoolDrain:
    """One per process. ``workers`` shards are drained at once, each worker with its own clients
    (made by the factories: the boto3-free clients hold one connection each)."""

    def __init__(
        self,
        *,
        spool: Callable[[], SpoolPages],
        queue: Callable[[], EventQueue],
        queue_url: str,
        workers: int = 4,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.queue_url = queue_url
        self.workers = max(1, min(workers, SPOOL_SHARDS))
        self._monotonic = monotonic
        self._clock = clock
        self._clients = [(spool(), queue()) for _ in range(self.workers)]

    def run(self, deadline: float) -> DrainReport:
        """Drain until the spool is empty, nothing moves, or ``deadline`` (monotonic) is near."""
        total = DrainReport()
        stop_at = deadline - STOP_MARGIN
        while True:
            total.passes += 1
            passed = self._pass(stop_at)
            total.add(passed)
            # What is left is the last pass's view, not a sum over the passes.
            total.held, total.oldest_kept_ms = passed.held, passed.oldest_kept_ms
            if passed.oldest_kept_ms is None:
                total.mark_cleared = self._clear_mark()
                return total
            if passed.drained == 0 or self._monotonic() >= stop_at:
                return total

    def _clear_mark(self) -> bool:
        """Take the activity mark down if every shard is still empty and no ingress refreshed the
        mark lately: an event kept after this look at its shard came with a fresh mark."""
        looked_ms = int(self._clock() * 1000)
        spool = self._clients[0][0]
        try:
            if any(spool.page(shard, limit=1)[0] for shard in range(SPOOL_SHARDS)):
                return False
            return spool.clear_mark(older_than_ms=looked_ms - int(MARK_IDLE * 1000))
        except Exception as error:  # the next run tries again; the mark only costs the ingress reads
            logger.warning(
                "could not take the spool's activity mark down", extra={"error": type(error).__name__}
            )
            return False

    def _pass(self, stop_at: float) -> DrainReport:
        shards = [list(range(index, SPOOL_SHARDS, self.workers)) for index in range(self.workers)]
        report = DrainReport()
        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="drain") as pool:
            futures = [
                pool.submit(self._drain_shards, owned, spool, sender, stop_at)
                for owned, (spool, sender) in zip(shards, self._clients, strict=True)
            ]
            for future in futures:
                report.add(future.result())
        return report

    def _drain_shards(
        self, shards: list[int], spool: SpoolPages, sender: EventQueue, stop_at: float
    ) -> DrainReport:
        report = DrainReport()
        for shard in shards:
            report.add(self.drain_shard(shard, spool, sender, stop_at))
        return report

    def drain_shard(self, shard: int, spool: SpoolPages, sender: EventQueue, stop_at: float) -> DrainReport:
        """One shard, oldest first; a room whose send failed is held for the rest of the shard."""
        report = DrainReport()
        held: set[str] = set()
        failures_in_row = 0
        start_key: Any = None

        def left_behind(event: KeptEvent) -> None:
            report.held += 1
            if report.oldest_kept_ms is None or event.received_at < report.oldest_kept_ms:
                report.oldest_kept_ms = event.received_at

        while True:
            try:
                page, start_key = spool.page(shard, limit=PAGE_SIZE, start_key=start_key)
            except Exception as error:  # the table: this shard waits for the next run, logged
                logger.error(
                    "could not read the spool", extra={"shard": shard, "error": type(error).__name__}
                )
                report.shards_given_up.add(shard)
                report.oldest_kept_ms = 0  # unknown: report it as old as can be, for the alarm
                return report
            for event in page:
                if event.group in held or shard in report.shards_given_up:
                    left_behind(event)  # (read on, so that the oldest left is known)
                    continue
                if failures_in_row >= MAX_FAILURES_IN_A_ROW or self._monotonic() >= stop_at:
                    report.shards_given_up.add(shard)
                    left_behind(event)
                    continue
                log = {"event_id": event.event_id, "group": event.group, "shard": shard}
                try:
                    sender.send_message(
                        self.queue_url,
                        event.body,
                        group_id=event.group,
                        deduplication_id=event.event_id,
                        timeout=SEND_TIMEOUT,
                    )
                except Exception as error:  # SQS still refusing: the room waits, in order
                    failures_in_row += 1
                    report.failed += 1
                    held.add(event.group)
                    left_behind(event)
                    logger.warning(
                        "could not queue a kept event; its room waits for the next run",
                        extra={**log, "error": type(error).__name__, "detail": str(error)[:300]},
                    )
                    continue
                failures_in_row = 0
                try:
                    removed = spool.remove(event)
                except Exception as error:  # queued but still kept: resent next run (same dedup id)
                    held.add(event.group)
                    left_behind(event)
                    logger.warning(
                        "queued a kept event but could not delete it; it will be sent again",
                        extra={**log, "error": type(error).__name__},
                    )
                    continue
                if removed:
                    report.drained += 1
                else:
                    report.already_gone += 1
            if start_key is None or self._monotonic() >= stop_at + STOP_MARGIN / 2:
                return report  # (out of time: the oldest reported is the oldest seen)
