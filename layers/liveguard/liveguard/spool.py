"""The spool: where the ingress keeps an event SQS could not take, until the drain queues it.

Tencent does not retry a refused webhook (before-callbacks never; after-callbacks only on a timeout,
and only if the app enables it: https://trtc.io/document/34354), so an ingress that answers 503 when
SQS is down loses the event. Instead it keeps the event in a second durable store in another
service, the state table, answers as it would have (200, with the inline verdict), and a scheduled
drain (``liveguard.drain``) moves the kept events to the events queue, with the message group and
deduplication id the ingress would have used, once SQS takes them again.

Key layout (the state table's ``pk``/``sk``)::

    kept event      SPOOL#<shard>   <group> <received_at ms, 13 digits>#<event id>
    activity mark   SPOOL#ACTIVE    -            marked_at (unix ms of the last refresh)

``shard`` is a stable hash of the message group (the room) over ``SPOOL_SHARDS`` partitions: every
event of a room lands in one partition, where its events are contiguous and in arrival order, so the
drain reads a room's kept events in order with a strongly consistent Query per shard, and the
ingress asks whether a room has any with one Query (``begins_with``). Spreading rooms over 16
partitions keeps an outage's burst of writes off a single partition key (1,000 write units per
second each), and lets the drain find every kept event with 16 cheap Queries a run, with no index
(a GSI is read eventually consistent: the drain could see a room's second event before its first).
Kept events carry no ``expiration``: nothing removes one but the drain, after SQS accepted it.

What the order guarantee covers is in ``SpoolGuard``.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from liveguard.ports import EventSpool

logger = logging.getLogger(__name__)

SPOOL_SHARDS = 16
SPOOL_PREFIX = "SPOOL#"
# The activity mark: up while the spool may hold events (see SpoolGuard).
ACTIVE_KEY = {"pk": {"S": f"{SPOOL_PREFIX}ACTIVE"}, "sk": {"S": "-"}}
# After SQS failed, an ingress instance keeps every event for this long without trying SQS.
SQS_HOLD = 5.0
# An ingress that keeps events refreshes the mark this often...
MARK_EVERY = 5.0
# ...so the drain may take it down once every shard is empty and it is older than this: every event
# kept under it was written before the drain's last look at the shards.
MARK_IDLE = 15.0
# Error types with which SQS refuses this message itself, not the service being unavailable: keeping
# such an event would only hold its room behind a message SQS will never take. InvalidMessageContents:
# characters outside SQS's allowed set (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/
# APIReference/API_SendMessage.html); the others, a body or attribute SQS finds malformed.
MESSAGE_REFUSALS = frozenset(
    {"InvalidMessageContents", "InvalidParameterValue", "MissingParameter", "InvalidParameterValueException"}
)


def spool_shard(group: str) -> int:
    """The shard of a message group: stable across processes (not Python's salted ``hash``)."""
    return int.from_bytes(hashlib.sha256(group.encode("utf-8")).digest()[:4], "big") % SPOOL_SHARDS


def spool_pk(shard: int) -> str:
    return f"{SPOOL_PREFIX}{shard:02d}"


def spool_sk(group: str, received_at_ms: int, event_id: str) -> str:
    """The group first (a space ends it: SQS group ids hold no space), then arrival order."""
    return f"{group_prefix(group)}{max(received_at_ms, 0):013d}#{event_id}"


def group_prefix(group: str) -> str:
    """What every sort key of the group's kept events begins with, and no other group's."""
    return f"{group} "


class KeptEvent(BaseModel):
    """One event in the spool: the events-queue message exactly as the ingress would have sent it."""

    # defer_build: the ingress imports this module on every cold start and builds one only when SQS
    # fails (as state.AuditRecord).
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    event_id: str = Field(pattern=r"^[0-9a-f]{64}$", description="the FIFO deduplication id")
    group: str = Field(min_length=1, max_length=128, description="the FIFO message group (the room)")
    received_at: int = Field(ge=0, description="unix ms at the ingress: the order within the group")
    body: str = Field(min_length=1, description="the EventEnvelope JSON, as queued")
    kept_at: int = Field(ge=0, description="unix ms when the ingress kept it")

    @property
    def shard(self) -> int:
        return spool_shard(self.group)

    def key(self) -> dict[str, dict[str, str]]:
        return {
            "pk": {"S": spool_pk(self.shard)},
            "sk": {"S": spool_sk(self.group, self.received_at, self.event_id)},
        }

    def to_item(self) -> dict[str, dict[str, str]]:
        return {
            **self.key(),
            "event_id": {"S": self.event_id},
            "group": {"S": self.group},
            "received_at": {"N": str(self.received_at)},
            "body": {"S": self.body},
            "kept_at": {"N": str(self.kept_at)},
        }

    @classmethod
    def from_item(cls, item: Mapping[str, Mapping[str, Any]]) -> KeptEvent:
        return cls(
            event_id=item["event_id"]["S"],
            group=item["group"]["S"],
            received_at=int(item["received_at"]["N"]),
            body=item["body"]["S"],
            kept_at=int(item["kept_at"]["N"]),
        )


class SpoolGuard:
    """One ingress instance's side of the order guarantee: no event of a room goes straight to SQS
    while an earlier event of that room waits in the spool (it would overtake it), whichever
    instance kept that one.

    - Whoever keeps an event also sets the spool's activity mark (``SPOOL#ACTIVE``), at most every
      ``mark_every`` seconds while it keeps. The drain removes the mark only once every shard is
      empty and the mark is older than ``MARK_IDLE`` (the writes it covers happened before the
      drain's last look), so the mark is up from the first kept event until the spool is empty.
    - While the mark is up (read at most once per ``mark_cache`` seconds per instance), each event
      asks the spool whether its room has kept events (one strongly consistent Query on the room's
      contiguous keys) and, if so, is kept behind them. While it is down, nothing is asked: in normal
      operation the guard costs one GetItem per instance per second of traffic.
    - After an SQS failure the instance stops trying SQS for ``hold`` seconds, for every room, so
      that during an outage each event costs one PutItem, not the SQS share of the answer budget.

    Not covered: the first ``mark_cache`` seconds of an outage that only some instances see (SQS
    refusing one instance while taking another's send of the same room at that moment), and a mark
    that could not be written (logged). The moderator's state tolerates those: snapshots and
    sanctions keep the newest event's word, strikes and violations are keyed by the event's time.
    """

    def __init__(
        self,
        *,
        hold: float = SQS_HOLD,
        mark_every: float = MARK_EVERY,
        mark_cache: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.hold = hold
        self.mark_every = mark_every
        self.mark_cache = mark_cache
        self._monotonic = monotonic
        self._clock = clock
        self._sqs_down_until = float("-inf")
        self._marked_at = float("-inf")  # when this instance last set the mark
        self._mark_read_at = float("-inf")
        self._mark_up = False

    def sqs_failed(self) -> None:
        self._sqs_down_until = self._monotonic() + self.hold

    @property
    def sqs_on_hold(self) -> bool:
        return self._monotonic() < self._sqs_down_until

    def kept(self, spool: EventSpool, timeout: float) -> None:
        """After keeping an event: make sure the activity mark is up (an error is logged: without
        the mark, other instances would not look for this room's kept events)."""
        now = self._monotonic()
        self._mark_up, self._mark_read_at = True, now
        if now - self._marked_at < self.mark_every:
            return
        try:
            spool.mark_active(at_ms=int(self._clock() * 1000), timeout=timeout)
        except Exception as error:  # the event is kept all the same; only the guard is weaker
            logger.warning("could not set the spool's activity mark", extra={"error": type(error).__name__})
            return
        self._marked_at = now

    def must_keep(self, group: str, spool: EventSpool, timeout: float) -> bool:
        """Whether the group's next event must go to the spool, behind an earlier kept one."""
        if not self._spool_active(spool, timeout):
            return False
        try:
            return spool.room_has_kept(group, timeout=timeout)
        except Exception:  # cannot tell: keep, which is never out of order (and logs if it fails)
            return True

    def _spool_active(self, spool: EventSpool, timeout: float) -> bool:
        now = self._monotonic()
        if now - self._mark_read_at >= self.mark_cache:
            try:
                self._mark_up = spool.is_active(timeout=timeout)
            except Exception:  # the table is not answering: nothing can be kept now either
                self._mark_up = False
            self._mark_read_at = now
        return self._mark_up
