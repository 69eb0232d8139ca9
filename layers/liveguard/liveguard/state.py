"""LiveGuard's state, as laid out in one DynamoDB table: strikes, violations, metadata snapshots,
sanctions, audit. The layout and the audit record are here; the stores that hold them are
``liveguard.aws.state_table.StateTable`` (DynamoDB) and ``liveguard.memory.MemoryState`` (in memory),
both a ``liveguard.ports.StateStore``.

The moderator reads the state (a ``StateView`` for the rules engine), applies the engine's state
changes to it, and writes an audit record of every decision, which doubles as the decision's
journal: a retried event replays its recorded decision instead of deciding again with state its
first attempt already changed. Operators read a room's audit with ``audit_for_room``.

Items (pk + sk strings, TTL attribute ``expiration`` in unix seconds, times in zero-padded ms)::

    strike     ROOM#<room>  STRIKE#<user>#<at_ms>#<event_id[:16]>#<rule>   expires at + 7 d
                            (...#<rule>#<n> for the n-th of a rule's strike: {count: N}, n >= 2)
    violation  ROOM#<room>  VIOL#<kind>#<at_ms>#<event_id[:16]>             expires at + 30 d
    snapshot   ROOM#<room>  SNAP#<key>        value (absent: no approved value), expires at + 30 d
    sanction   ROOM#<room>  SANCTION#<user>   sanction, until                 expires at until
    audit      ROOM#<room>  AUDIT#<at_ms>#<id>                                expires at + 30 d

Every key is derived from the event (its id and the time the ingress received it), so applying a
redelivered event's changes again rewrites the same items: no double strikes. Snapshots and
sanctions keep the newest event's word (a conditional put on ``at``), so a late redelivery of an
old event cannot roll them back.

This module imports no boto3: the ingress reads the key layout from it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from liveguard.messages import ActionMessage
from liveguard.rules.outcome import ShadowFiring, StateChange, TermHit
from liveguard.rules.verdict import Verdict

DAY = 86_400
STRIKE_TTL = 7 * DAY
VIOLATION_TTL = 30 * DAY
SNAPSHOT_TTL = 30 * DAY
AUDIT_TTL = 30 * DAY
APP_PARTITION = "APP"
"""The partition of events that concern no room (an app-wide alert), e.g. for their audit."""
SANCTIONS: frozenset[str] = frozenset({"muted", "banned"})
# Sorts after every character an at_ms field can be followed by ("#"), so BETWEEN takes the whole ms.
HIGH = "~"

# --- keys ------------------------------------------------------------------------------------------


def room_pk(room_id: str | None) -> str:
    """The partition of a room's items (``APP`` for events without a room)."""
    return APP_PARTITION if room_id is None else f"ROOM#{room_id}"


def ms_key(at_ms: int) -> str:
    """A time in a sort key: zero-padded unix ms, so keys sort by time."""
    return f"{max(at_ms, 0):013d}"


def strike_sk(user_id: str, at_ms: int, event_id: str, rule: str, ordinal: int = 1) -> str:
    """A strike's sort key. The ``ordinal``-th of a rule's ``count`` strikes for one event: the first
    keeps the plain key, the others end ``#<n>``, so a redelivered event rewrites the same items."""
    key = f"STRIKE#{user_id}#{ms_key(at_ms)}#{event_id[:16]}#{rule}"
    return key if ordinal == 1 else f"{key}#{ordinal}"


def violation_sk(kind: str, at_ms: int, event_id: str) -> str:
    return f"VIOL#{kind}#{ms_key(at_ms)}#{event_id[:16]}"


def count_window(window_seconds: int, now: float) -> tuple[int, int]:
    """A count's window as its first and last millisecond, both included: ``now - window <= at <= now``."""
    high = math.floor(now * 1000)
    return max(high - window_seconds * 1000, 0), high


def strike_range(user_id: str, window_seconds: int, now: float) -> tuple[str, str]:
    """The sort keys (``BETWEEN`` low and high) of the user's strikes in a room within the window. A
    user id holding ``#<digits>`` could fall inside another user's range: filter on ``user_id`` too."""
    low, high = count_window(window_seconds, now)
    return f"STRIKE#{user_id}#{ms_key(low)}", f"STRIKE#{user_id}#{ms_key(high)}{HIGH}"


def violation_range(kind: str, window_seconds: int, now: float) -> tuple[str, str]:
    """The sort keys of a room's violations of ``kind`` within the window (filter on ``violation``)."""
    low, high = count_window(window_seconds, now)
    return f"VIOL#{kind}#{ms_key(low)}", f"VIOL#{kind}#{ms_key(high)}{HIGH}"


def snapshot_sk(key: str) -> str:
    return f"SNAP#{key}"


def sanction_sk(user_id: str) -> str:
    return f"SANCTION#{user_id}"


def audit_sk(at_ms: int, record_id: str) -> str:
    return f"AUDIT#{ms_key(at_ms)}#{record_id}"


# --- the audit record ------------------------------------------------------------------------------


WRITING = "writing"
"""The outcome of a journal entry written before its changes: a decision with more changes than one
transaction holds. A retry that finds it writes the changes again; once they are, it is ``decided``."""


class AuditRecord(BaseModel):
    """What happened to one event or one action, and why.

    The moderator writes one per event that made a decision (a rule fired, live or shadow, or there
    were state changes or actions) and one per echo; the actuator writes one per action it ran or gave up on.
    ``actions`` and ``changes`` are complete, so the record also replays a decision.
    """

    # defer_build: the ingress imports this module for its keys, and never builds an audit record.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str = Field(min_length=1, description="the event id, the action id, or the held comment's id")
    at_ms: int = Field(ge=0, description="unix ms: when the ingress received the event, or the action ran")
    kind: Literal["event", "action", "review"] = Field(
        description="review: a reviewer's decision on a held comment (liveguard.review)"
    )
    command: str = Field(min_length=1, description="the CallbackCommand, or the REST command")
    rules: list[str] = Field(default_factory=list, description="the rules that fired, in order")
    matches: list[TermHit] = Field(
        default_factory=list, description="what their terms matched: list, term, field, original span"
    )
    actions: list[ActionMessage] = Field(default_factory=list)
    changes: list[StateChange] = Field(default_factory=list)
    verdict: Verdict | None = None
    shadow: list[ShadowFiring] = Field(
        default_factory=list,
        description="what the shadow rules that fired would have done; none of it was done (the fields"
        " above are the live decision's)",
    )
    counts: dict[str, int] | None = Field(
        default=None, description="the flood counts the event was decided on (EventEnvelope.counts)"
    )
    outcome: str = Field(
        min_length=1,
        description="decided (writing while a decision too big for one transaction is written), echo;"
        " for actions done, gone, ...",
    )
    error: str | None = None
    rules_version: str | None = Field(
        default=None,
        description="the rules (RuleSet.version) that decided the event, or the action's (from its"
        " message); absent in records written before versions existed",
    )
    by: str | None = Field(
        default=None, description="who decided a review (liveguard review approve|deny --by, or the caller)"
    )

    @classmethod
    def of_action(
        cls, action: ActionMessage, *, at_ms: int, outcome: str, error: Mapping[str, Any] | None = None
    ) -> AuditRecord:
        """The audit record of an action's outcome at Tencent (``error``: Tencent's answer, kept as
        compact JSON)."""
        return cls(
            id=action.id,
            at_ms=at_ms,
            kind="action",
            command=action.command,
            rules=[action.rule],
            actions=[action],
            outcome=outcome,
            error=None if error is None else json.dumps(error, ensure_ascii=False, separators=(",", ":")),
            rules_version=action.rules_version,
        )


RECORD_FIELDS = frozenset(AuditRecord.model_fields)


def audit_values(room_id: str | None, record: AuditRecord) -> dict[str, Any]:
    """An audit record as it is stored (and as ``audit_for_room`` returns it, with ``room``)."""
    return {
        "pk": room_pk(room_id),
        "sk": audit_sk(record.at_ms, record.id),
        "room": room_id,
        # Nested Nones stay (as NULL): a SaveSnapshot's value None means "no approved value".
        **record.model_dump(mode="json"),
        "expiration": record.at_ms // 1000 + AUDIT_TTL,
    }
