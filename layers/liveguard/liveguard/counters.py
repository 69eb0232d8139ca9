"""Flood counters: how many recent events a user or a room sent, how often a user repeated a text,
how many users arrived in a room, shared by every ingress instance through the state table.

The ingress sees every webhook, so it counts: for each event of a command that a ``rate``,
``repeat`` or ``raid`` condition listens to (``RuleSet.counter_plan``), before deciding. The counts,
this event included, decide its before-callback inline and travel in the event's envelope
(``EventEnvelope.counts``) to the moderator, which decides after-callbacks and actions on the same
numbers without counting again (a redelivered SQS message is not counted twice).

Layout: one item per counted subject, in the room's counter partition (apart from its ``ROOM#``
one: the ingress may write counters and nothing else, which IAM can only say by partition key), its
time buckets as attributes::

    user rate + arrivals  COUNT#<room>  <command>#USER#<user>             u<w>_<i>: n, seen: ms
    repeat                COUNT#<room>  <command>#REPEAT#<user>#<hash>    r<w>_<i>: n
    room rate + raid      COUNT#<room>  <command>#ROOM                    n<w>_<i>: n, a<w>_<i>: n

``<w>`` is the bucket width in seconds (a tenth of the longest window the rules read that counter
over, at least 1 s), ``<i>`` the bucket's index (unix ms // (w * 1000)). One event is one UpdateItem
per item it touches (``ADD`` 1 to its bucket, ``REMOVE`` the buckets that just left the longest
window, ``SET`` the TTL), answered with the item as it was (``ALL_OLD``): the count of any window is
the sum of the buckets it overlaps, plus this event. The text of a repeat is never stored: its key
holds a 64-bit hash of the text as term matching normalises it (``liveguard.rules.normalise``).

Error bound: a count covers the buckets that overlap the window, so it covers the last ``within``
seconds and less than one bucket (a tenth of the longest window, at least 1 s) before them: it is
never below the true count, and above it by at most the events of that one bucket's part outside the
window. Increments are atomic, so each event sees the count one higher than the event before it
(unless a bucket left the window between them): exactly one event brings a count to ``at_least``,
which is what ``once`` fires on.

Pure: the stores that hold the items are ``liveguard.aws.dynamodb.DynamoDbCounters`` (the ingress's,
time-bounded) and ``liveguard.memory.MemoryState`` (``liveguard rules test``, unit tests).
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

Kind = Literal["user", "room", "repeat", "raid"]
KINDS: tuple[Kind, ...] = ("user", "room", "repeat", "raid")
ARRIVED = "raid:arrived"
"""The counts' flag (1 or 0): whether this event's user arrived (raid's ``once`` holds only then)."""
BUCKETS_PER_WINDOW = 10
COUNT_KEY = re.compile(r"^(?:(?:user|room|repeat|raid):[1-9][0-9]{0,6}|raid:arrived)$")
"""The keys of ``EventEnvelope.counts``: ``<kind>:<within>`` and ``raid:arrived``."""
_FAMILY: dict[Kind, str] = {"user": "u", "room": "n", "repeat": "r", "raid": "a"}
_SPACES = re.compile(r"\s+")


def count_key(kind: Kind, within: int) -> str:
    """The key of a count in ``EventEnvelope.counts`` (and the engine's lookup)."""
    return f"{kind}:{within}"


def bucket_width(longest: int) -> int:
    """Seconds per bucket for a counter read over windows up to ``longest`` seconds."""
    return max(1, math.ceil(longest / BUCKETS_PER_WINDOW))


@dataclass(frozen=True)
class CounterPlan:
    """What one command's events are counted for: every (counter, window) an enabled rule reads."""

    command: str
    windows: frozenset[tuple[Kind, int]]

    def longest(self, kind: Kind) -> int | None:
        found = [within for counted, within in self.windows if counted == kind]
        return max(found) if found else None

    def of(self, kind: Kind) -> list[int]:
        return sorted(within for counted, within in self.windows if counted == kind)


@dataclass(frozen=True)
class CountedEvent:
    """What counting needs of an event: its room, its acting user, its text's hash (messages)."""

    room: str
    user: str | None
    text_hash: str | None


def text_hash(texts: Sequence[str]) -> str | None:
    """64 bits of SHA-256 over the texts as term matching normalises them (folded, invisible
    characters and marks dropped, look-alikes read as letters), whitespace runs as one space: a copy
    with a zero-width space or other case is the same text. None for a message with no text."""
    from liveguard.rules.normalise import fold

    joined = _SPACES.sub(" ", fold(" ".join(texts))).strip()
    if not joined:
        return None
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()[:16]


class CountersUnavailable(Exception):  # noqa: N818 - the domain's word: the counters are unavailable
    """A counter store did not answer (in time); the counts it would have given are unknown.
    ``partial``: the counts ``count`` had taken before it failed."""

    partial: dict[str, int]

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.partial = {}


class CounterStore(Protocol):
    """Where the counters' items live: one atomic update of one item, answered with the item as it
    was (DynamoDB's UpdateItem with ReturnValues=ALL_OLD)."""

    def bump(
        self,
        room_id: str,
        sk: str,
        add: Mapping[str, int],
        remove: Sequence[str],
        *,
        seen_ms: int | None,
        expires: int,
    ) -> Mapping[str, int]:
        """Add to ``add``'s attributes, remove ``remove``'s, set ``seen`` (when given) and the TTL;
        the item's numeric attributes before. Raises CountersUnavailable."""


# --- buckets ---------------------------------------------------------------------------------------


def _name(kind: Kind, width: int, index: int) -> str:
    return f"{_FAMILY[kind]}{width}_{index}"


def _indices(width: int, within: int, now_ms: int) -> range:
    """The indices of the buckets that overlap ``[now - within, now]``."""
    size = width * 1000
    return range(max(now_ms - within * 1000, 0) // size, now_ms // size + 1)


def window_count(old: Mapping[str, int], kind: Kind, width: int, within: int, now_ms: int) -> int:
    """The count over ``within`` seconds from an item's buckets (as they were before this event)."""
    return sum(int(old.get(_name(kind, width, index), 0)) for index in _indices(width, within, now_ms))


def _stale(kind: Kind, width: int, longest: int, now_ms: int) -> list[str]:
    """The buckets that have just left the longest window: as many as a window has, so an item keeps
    about two windows of buckets whatever the traffic (a pause longer than that leaves some behind,
    ignored by counts, until the item's TTL deletes it)."""
    window = _indices(width, longest, now_ms)
    return [_name(kind, width, index) for index in range(max(window.start - len(window), 0), window.start)]


def _expires(plan: CounterPlan, kinds: Iterable[Kind], now_ms: int) -> int:
    longest = max((plan.longest(kind) or 0) for kind in kinds)
    return now_ms // 1000 + longest + bucket_width(longest) + 60


def counter_pk(room_id: str) -> str:
    """The partition of a room's counters."""
    return f"COUNT#{room_id}"


def user_key(command: str, user: str) -> str:
    return f"{command}#USER#{user}"


def repeat_key(command: str, user: str, digest: str) -> str:
    return f"{command}#REPEAT#{user}#{digest}"


def room_key(command: str) -> str:
    return f"{command}#ROOM"


# --- counting one event ----------------------------------------------------------------------------


def count(store: CounterStore, plan: CounterPlan, event: CountedEvent, now_ms: int) -> dict[str, int]:
    """Count one event in every counter ``plan`` names and return the counts, this event included,
    by ``count_key``: at most three updates (the user's item, the text's, the room's). A counter the
    event has no subject for (no acting user, no text) gives no count, so its conditions do not hold.
    Raises CountersUnavailable with ``partial`` set to the counts taken before the store failed."""
    counts: dict[str, int] = {}
    try:
        _count(store, plan, event, now_ms, counts)
    except CountersUnavailable as error:
        error.partial = counts
        raise
    return counts


def _count(
    store: CounterStore, plan: CounterPlan, event: CountedEvent, now_ms: int, counts: dict[str, int]
) -> None:
    command = plan.command
    user_rate, raid, repeat, room_rate = (plan.longest(kind) for kind in ("user", "raid", "repeat", "room"))
    arrived = False
    if event.user is not None and (user_rate or raid):
        add: dict[str, int] = {}
        remove: list[str] = []
        if user_rate:
            width = bucket_width(user_rate)
            add[_name("user", width, now_ms // (width * 1000))] = 1
            remove += _stale("user", width, user_rate, now_ms)
        kinds: list[Kind] = [kind for kind in ("user", "raid") if plan.longest(kind)]
        old = store.bump(
            event.room,
            user_key(command, event.user),
            add,
            remove,
            seen_ms=now_ms if raid else None,
            expires=_expires(plan, kinds, now_ms),
        )
        if user_rate:
            width = bucket_width(user_rate)
            for within in plan.of("user"):
                counts[count_key("user", within)] = window_count(old, "user", width, within, now_ms) + 1
        if raid:
            seen = old.get("seen")
            arrived = seen is None or int(seen) < now_ms - raid * 1000
    if repeat and event.user is not None and event.text_hash is not None:
        width = bucket_width(repeat)
        old = store.bump(
            event.room,
            repeat_key(command, event.user, event.text_hash),
            {_name("repeat", width, now_ms // (width * 1000)): 1},
            _stale("repeat", width, repeat, now_ms),
            seen_ms=None,
            expires=_expires(plan, ["repeat"], now_ms),
        )
        for within in plan.of("repeat"):
            counts[count_key("repeat", within)] = window_count(old, "repeat", width, within, now_ms) + 1
    if room_rate or (raid and event.user is not None):
        add, remove = {}, []
        if room_rate:
            width = bucket_width(room_rate)
            add[_name("room", width, now_ms // (width * 1000))] = 1
            remove += _stale("room", width, room_rate, now_ms)
        if raid:
            # A user who did not arrive adds 0: the update still answers the room's arrivals.
            width = bucket_width(raid)
            add[_name("raid", width, now_ms // (width * 1000))] = 1 if arrived else 0
            remove += _stale("raid", width, raid, now_ms)
        kinds = [kind for kind in ("room", "raid") if plan.longest(kind)]
        old = store.bump(
            event.room, room_key(command), add, remove, seen_ms=None, expires=_expires(plan, kinds, now_ms)
        )
        if room_rate:
            width = bucket_width(room_rate)
            for within in plan.of("room"):
                counts[count_key("room", within)] = window_count(old, "room", width, within, now_ms) + 1
        if raid:
            width = bucket_width(raid)
            for within in plan.of("raid"):
                counts[count_key("raid", within)] = window_count(old, "raid", width, within, now_ms) + int(
                    arrived
                )
            counts[ARRIVED] = int(arrived)
