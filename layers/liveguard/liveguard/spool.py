"""The spool: where the ingress keeps an event SQS could not take, until the drain queues it.

Tencent does not retry a refused webhook (before-callbacks never; after-callbacks only on a timeout,
and only if the app enables it: https://trtc.io/document/34354), so an ingress that answers 503 when
SQS is down loses the event. Instead it keeps the event in a second durable store in another
service, the state table, answers as it would have (200, with the inline verdict), and a scheduled
drain (``liveguard.drain``) moves the kept events to the events queue, with the message group and
deduplication id the ingress would have used, once SQS takes them again.

Key layout (the state table's ``pk``/``sk``)::

    kept event   SPOOL#<shard>   <received_at ms, 13 digits>#<event id>

``shard`` is a stable hash of the message group (the room) over ``SPOOL_SHARDS`` partitions: every
event of a room lands in one partition, where the sort key orders them by arrival, so the drain
reads a room's kept events in order with a strongly consistent Query per shard. Spreading rooms over
16 partitions keeps an outage's burst of writes off a single partition key (1,000 write units per
second each), and lets the drain find every kept event with 16 cheap Queries a run, with no index
(a GSI is read eventually consistent: the drain could see a room's second event before its first).
Kept events carry no ``expiration``: nothing removes one but the drain, after SQS accepted it.

What the order guarantee covers is in ``KeptGroups``.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

SPOOL_SHARDS = 16
SPOOL_PREFIX = "SPOOL#"
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


def spool_sk(received_at_ms: int, event_id: str) -> str:
    return f"{max(received_at_ms, 0):013d}#{event_id}"


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
        return {"pk": {"S": spool_pk(self.shard)}, "sk": {"S": spool_sk(self.received_at, self.event_id)}}

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


class EventSpool(Protocol):
    """What the ingress needs of the spool (``liveguard.aws.dynamodb.DynamoDbSpool``)."""

    def keep(self, event: KeptEvent, *, timeout: float) -> None:
        """Store the event durably; raise (any exception) when it was not stored."""

    def still_kept(self, event: KeptEvent, *, timeout: float) -> bool:
        """Whether the event is still in the spool (strongly consistent)."""


class KeptGroups:
    """One ingress instance's memory of the rooms it kept events for, so that it never sends a
    room's new event straight to SQS while an earlier one it kept waits in the spool (the new event
    would overtake it).

    For each message group it remembers the last event it kept. A new event of that group is kept
    too, until a strongly consistent read shows that last kept event gone: the drain deletes a
    group's events in order and only once SQS accepted them, so by then every earlier one is queued,
    and a direct send lands behind them. The read is made at most once per ``recheck`` seconds per
    group; in between the group's events are kept without asking.

    After an SQS failure the instance also stops trying SQS for ``hold`` seconds, for every group,
    so that during an outage each event costs one PutItem, not the SQS share of the answer budget.

    Not covered: two instances. An instance that kept nothing for a room may send that room's event
    straight to SQS while another instance's kept events for it wait for the next drain (at most one
    drain interval). The moderator's state tolerates that order: snapshots and sanctions keep the
    newest event's word, strikes and violations are keyed by the event's own time.
    """

    def __init__(
        self,
        *,
        hold: float = 5.0,
        recheck: float = 1.0,
        limit: int = 50_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.hold = hold
        self.recheck = recheck
        self.limit = limit
        self._monotonic = monotonic
        self._sqs_down_until = float("-inf")
        # group -> (its last kept event, when we last found it still kept); oldest first
        self._groups: OrderedDict[str, tuple[KeptEvent, float]] = OrderedDict()

    def sqs_failed(self) -> None:
        self._sqs_down_until = self._monotonic() + self.hold

    @property
    def sqs_on_hold(self) -> bool:
        return self._monotonic() < self._sqs_down_until

    def kept(self, event: KeptEvent) -> None:
        self._groups[event.group] = (event, self._monotonic())
        self._groups.move_to_end(event.group)
        while len(self._groups) > self.limit:  # a bound on memory; the oldest group loses its guard
            self._groups.popitem(last=False)

    def must_keep(self, group: str, spool: EventSpool, timeout: float) -> bool:
        """Whether the group's next event must go to the spool (behind an earlier kept one)."""
        entry = self._groups.get(group)
        if entry is None:
            return False
        last, checked = entry
        now = self._monotonic()
        if now - checked < self.recheck:
            return True
        try:
            kept = spool.still_kept(last, timeout=timeout)
        except Exception:  # cannot tell: keep, which is never out of order
            return True
        if kept:
            self._groups[group] = (last, now)
            return True
        del self._groups[group]
        return False

    def __len__(self) -> int:
        return len(self._groups)
