"""Ports filled in this process: the state store in memory, and metrics that go nowhere.

``MemoryState`` is a ``liveguard.ports.StateStore`` that behaves as the DynamoDB state table does
(the same windows to the millisecond, repeatable applies, the newest event's word for snapshots and
sanctions, the decision journal, audit records in the table's shape), so ``liveguard rules test``
decides as production would and the services' unit tests need no DynamoDB. The state tests run
against both stores. Nothing is written anywhere.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from liveguard.review import HeldComment
from liveguard.rules.outcome import Sanction, StateChange
from liveguard.state import (
    RECORD_FIELDS,
    AuditRecord,
    audit_sk,
    audit_values,
    ms_key,
    room_pk,
    strike_sk,
)


@dataclass
class MemoryState:
    """State in dicts and lists. Times given in seconds (``from_file``, the seed lists) are kept as
    they are; counting compares them in milliseconds, as the table's keys do."""

    strikes: list[tuple[str, str, float]] = field(default_factory=list)  # (room, user, at)
    violations: list[tuple[str, str, float]] = field(default_factory=list)  # (room, kind, at)
    approved: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (room, key) -> value
    sanctions: dict[tuple[str, str], tuple[Sanction, float]] = field(default_factory=dict)  # -> (kind, until)
    reads: int = 0  # how many times the state was consulted
    _applied: set[tuple[str, ...]] = field(default_factory=set)
    """The keys of the strikes and violations written by ``apply``: the table's sort keys."""
    _written_at: dict[tuple[str, str, str], int] = field(default_factory=dict)
    """When (event ms) each snapshot and sanction was written, so an older event cannot replace it."""
    _audit: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (pk, sk) -> record
    counters: dict[tuple[str, str], tuple[dict[str, int], int]] = field(default_factory=dict)
    """The flood counters' items (``liveguard.counters``): (room, sk) -> (attributes, expires)."""
    now: float | None = None
    """When the counters are read (their TTL): ``rules test`` sets it; None: never expired."""
    held: dict[str, HeldComment] = field(default_factory=dict)
    """The review queue's held comments, by id (``liveguard.review``)."""

    @classmethod
    def from_file(cls, path: str | Path, now: float) -> MemoryState:
        """``{"strikes": [{"room", "user", "ago"?, "count"?}], "violations": [{"room", "kind", "ago"?,
        "count"?}], "snapshots": {room: {key: value}}, "sanctions": [{"room", "user", "sanction",
        "left"}]}``; ``ago`` and ``left`` are seconds before and after now."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("the state file must hold a JSON object")
        state = cls()
        for item in data.get("strikes", []):
            at = now - float(item.get("ago", 0))
            state.strikes.extend([(str(item["room"]), str(item["user"]), at)] * int(item.get("count", 1)))
        for item in data.get("violations", []):
            at = now - float(item.get("ago", 0))
            state.violations.extend([(str(item["room"]), str(item["kind"]), at)] * int(item.get("count", 1)))
        for room, values in data.get("snapshots", {}).items():
            for key, value in values.items():
                state.approved[(room, key)] = None if value is None else str(value)
        for item in data.get("sanctions", []):
            if item["sanction"] not in ("muted", "banned"):
                raise ValueError(f"a sanction is muted or banned, not {item['sanction']!r}")
            state.sanctions[(str(item["room"]), str(item["user"]))] = (
                item["sanction"],
                now + float(item["left"]),
            )
        return state

    # --- StateView ---

    def strike_count(self, room_id: str, user_id: str, window_seconds: int, now: float) -> int:
        self.reads += 1
        low, high = _window(window_seconds, now)
        return sum(
            1 for r, u, at in self.strikes if (r, u) == (room_id, user_id) and low <= _at_ms(at) <= high
        )

    def approved_value(self, room_id: str, key: str) -> str | None:
        self.reads += 1
        return self.approved.get((room_id, key))

    def violation_count(self, room_id: str, kind: str, window_seconds: int, now: float) -> int:
        self.reads += 1
        low, high = _window(window_seconds, now)
        return sum(
            1 for r, k, at in self.violations if (r, k) == (room_id, kind) and low <= _at_ms(at) <= high
        )

    def sanction(self, room_id: str, user_id: str, now: float) -> Sanction | None:
        self.reads += 1
        found = self.sanctions.get((room_id, user_id))
        return found[0] if found is not None and found[1] > now else None

    # --- flood counters (liveguard.counters.CounterStore) ---

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
        """DynamoDB's UpdateItem (ADD, REMOVE, SET; ReturnValues=ALL_OLD) on a counter item; an item
        past its TTL is gone, as DynamoDB's TTL would eventually make it."""
        found = self.counters.get((room_id, sk))
        old = dict(found[0]) if found is not None and (self.now is None or found[1] > self.now) else {}
        item = dict(old)
        for name in remove:
            item.pop(name, None)
        for name, value in add.items():
            item[name] = item.get(name, 0) + value
        if seen_ms is not None:
            item["seen"] = seen_ms
        self.counters[(room_id, sk)] = (item, expires)
        return old

    # --- writes ---

    def apply(self, changes: Iterable[StateChange], *, event_id: str, now: float) -> None:
        """The table's ``apply``: keyed by the event, so a second apply of its changes adds nothing."""
        at_ms = round(now * 1000)
        key: tuple[str, ...]
        for change in changes:
            if change.kind == "strike":
                for ordinal in range(1, change.count + 1):  # one item each, as in the table
                    key = (
                        "strike",
                        change.room_id,
                        strike_sk(change.user_id, at_ms, event_id, change.rule, ordinal),
                    )
                    if key not in self._applied:
                        self._applied.add(key)
                        self.strikes.append((change.room_id, change.user_id, at_ms / 1000))
            elif change.kind == "violation":
                key = ("violation", change.room_id, change.violation, ms_key(at_ms), event_id[:16])
                if key not in self._applied:
                    self._applied.add(key)
                    self.violations.append((change.room_id, change.violation, at_ms / 1000))
            elif change.kind == "snapshot":
                if self._newest(("snapshot", change.room_id, change.key), at_ms):
                    self.approved[(change.room_id, change.key)] = change.value
            elif self._newest(("sanction", change.room_id, change.user_id), at_ms):
                self.sanctions[(change.room_id, change.user_id)] = (change.sanction, float(change.until))

    def audit(self, room_id: str | None, record: AuditRecord | Mapping[str, Any]) -> None:
        if not isinstance(record, AuditRecord):
            record = AuditRecord.model_validate(record)
        # As DynamoDB keeps it: an attribute that is None is left out (nested Nones stay, as NULL).
        values = {k: v for k, v in audit_values(room_id, record).items() if v is not None}
        self._audit[(values["pk"], values["sk"])] = values

    def record_decision(
        self, room_id: str | None, record: AuditRecord, *, now: float, held: HeldComment | None = None
    ) -> AuditRecord:
        standing = self._journalled(room_id, record.id, record.at_ms)
        if standing is not None:
            return standing
        self.audit(room_id, record)
        self.apply(record.changes, event_id=record.id, now=now)
        if held is not None:
            self.held[held.id] = held
        return record

    def recorded_decisions(
        self, events: Iterable[tuple[str | None, str, int]]
    ) -> dict[tuple[str | None, str, int], AuditRecord]:
        found = {event: self._journalled(*event) for event in events}
        return {event: record for event, record in found.items() if record is not None}

    def recorded_decision(self, room_id: str | None, event_id: str, at_ms: int) -> AuditRecord | None:
        return self._journalled(room_id, event_id, at_ms)

    def _journalled(self, room_id: str | None, event_id: str, at_ms: int) -> AuditRecord | None:
        values = self._audit.get((room_pk(room_id), audit_sk(at_ms, event_id)))
        if values is None:
            return None
        return AuditRecord.model_validate({k: v for k, v in values.items() if k in RECORD_FIELDS})

    def audit_for_room(
        self, room_id: str | None, since: float | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """The table's ``audit_for_room``: a room's audit records, oldest first, as plain dicts."""
        pk = room_pk(room_id)
        low = "AUDIT#" if since is None else f"AUDIT#{ms_key(math.floor(since * 1000))}"
        keys = sorted(sk for p, sk in self._audit if p == pk and sk.startswith("AUDIT#") and sk >= low)
        records = [
            {k: v for k, v in self._audit[(pk, sk)].items() if k in RECORD_FIELDS or k == "room"}
            for sk in keys
        ]
        return records if limit is None else records[:limit]

    def _newest(self, key: tuple[str, str, str], at_ms: int) -> bool:
        """Whether an event at ``at_ms`` may write ``key``: none was written, or by an event no newer."""
        if self._written_at.get(key, at_ms) > at_ms:
            return False
        self._written_at[key] = at_ms
        return True


def _at_ms(at: float) -> int:
    return round(at * 1000)


def _window(window_seconds: int, now: float) -> tuple[int, int]:
    """The table's window (``now - window <= at <= now``, to the millisecond), with ``now`` rounded
    as a time is when it is written: ``rules test`` decides at a ``now`` finer than a millisecond,
    and a strike written at that ``now`` must count at it."""
    high = _at_ms(now)
    return max(high - window_seconds * 1000, 0), high


class NoMetrics:
    """Metrics that go nowhere: the services' default when no ``Metrics`` is given."""

    def add_metric(self, name: str, unit: str, value: float) -> None:
        pass

    def add_dimension(self, name: str, value: str) -> None:
        pass
