"""An in-memory StateView: what `liveguard rules test` decides with, and the engine tests' state.

Strikes and violations keep their times, approved metadata values and sanctions their contents;
``apply`` records a decision's changes the way the moderator does in DynamoDB. Nothing is written
anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from liveguard.rules.outcome import Sanction, StateChange


@dataclass
class MemoryState:
    strikes: list[tuple[str, str, float]] = field(default_factory=list)  # (room, user, at)
    violations: list[tuple[str, str, float]] = field(default_factory=list)  # (room, kind, at)
    approved: dict[tuple[str, str], str | None] = field(default_factory=dict)  # (room, key) -> value
    sanctions: dict[tuple[str, str], tuple[Sanction, float]] = field(default_factory=dict)  # -> (kind, until)
    reads: int = 0  # how many times the engine consulted the state

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

    def strike_count(self, room_id: str, user_id: str, window_seconds: int, now: float) -> int:
        self.reads += 1
        return sum(
            1
            for r, u, at in self.strikes
            if (r, u) == (room_id, user_id) and now - window_seconds < at <= now
        )

    def approved_value(self, room_id: str, key: str) -> str | None:
        self.reads += 1
        return self.approved.get((room_id, key))

    def violation_count(self, room_id: str, kind: str, window_seconds: int, now: float) -> int:
        self.reads += 1
        return sum(
            1
            for r, k, at in self.violations
            if (r, k) == (room_id, kind) and now - window_seconds < at <= now
        )

    def sanction(self, room_id: str, user_id: str, now: float) -> Sanction | None:
        self.reads += 1
        found = self.sanctions.get((room_id, user_id))
        return found[0] if found is not None and found[1] > now else None

    def apply(self, changes: Iterable[StateChange], now: float) -> None:
        for change in changes:
            if change.kind == "strike":
                self.strikes.append((change.room_id, change.user_id, now))
            elif change.kind == "violation":
                self.violations.append((change.room_id, change.violation, now))
            elif change.kind == "snapshot":
                self.approved[(change.room_id, change.key)] = change.value
            else:
                self.sanctions[(change.room_id, change.user_id)] = (change.sanction, float(change.until))
