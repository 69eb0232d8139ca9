"""What the rules engine reads and produces: the contract between the pure engine and its callers.

The engine is a pure function ``evaluate(event, state, rules, now=...) -> Decision``: it reads state
only through a ``StateView`` and describes state changes and actions as values. The moderator
applies the changes (DynamoDB) and queues the actions; the ingress uses only the verdict.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from liveguard.rules.verdict import Verdict

Sanction = Literal["muted", "banned"]


class StateView(Protocol):
    """Read-only state the rules may consult. Times are unix seconds."""

    def strike_count(self, room_id: str, user_id: str, window_seconds: int, now: float) -> int:
        """Strikes recorded against the user in the room within the last ``window_seconds``."""

    def approved_value(self, room_id: str, key: str) -> str | None:
        """The last admin-approved value of a metadata key; None when there is none."""

    def violation_count(self, room_id: str, kind: str, window_seconds: int, now: float) -> int:
        """Violations of ``kind`` (e.g. a rule name) recorded against the room within the window."""

    def sanction(self, room_id: str, user_id: str, now: float) -> Sanction | None:
        """An active mute or ban LiveGuard issued to the user in the room, if any."""


class EmptyState:
    """No history at all: what the ingress decides with (it has no table access)."""

    def strike_count(self, room_id: str, user_id: str, window_seconds: int, now: float) -> int:
        return 0

    def approved_value(self, room_id: str, key: str) -> str | None:
        return None

    def violation_count(self, room_id: str, kind: str, window_seconds: int, now: float) -> int:
        return 0

    def sanction(self, room_id: str, user_id: str, now: float) -> Sanction | None:
        return None


class _Change(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    room_id: str = Field(min_length=1)
    rule: str = Field(min_length=1)


class AddStrike(_Change):
    """Strikes against the acting user: ``count`` of them (one item each in the table), from the
    rule that asked for them. One event adds at most the largest count among its fired rules."""

    kind: Literal["strike"] = "strike"
    user_id: str = Field(min_length=1)
    count: int = Field(default=1, ge=1, description="how many strikes (a rule's strike: {count: N})")


class RecordViolation(_Change):
    kind: Literal["violation"] = "violation"
    violation: str = Field(min_length=1, description="what is counted, e.g. the rule's name")


class SaveSnapshot(_Change):
    """An admin-approved metadata value (None: the key has no approved value and should not exist)."""

    kind: Literal["snapshot"] = "snapshot"
    key: str = Field(min_length=1)
    value: str | None


class RecordSanction(_Change):
    kind: Literal["sanction"] = "sanction"
    user_id: str = Field(min_length=1)
    sanction: Sanction
    until: int = Field(ge=0, description="unix seconds")


StateChange = Annotated[
    AddStrike | RecordViolation | SaveSnapshot | RecordSanction, Field(discriminator="kind")
]


class Action(BaseModel):
    """A LiveClient write command to run (by name, with Tencent's body), and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    command: str = Field(min_length=1)
    params: dict[str, Any]
    rule: str = Field(min_length=1)
    delay_seconds: int = Field(default=0, ge=0, le=900, description="run no sooner than this after the event")


class TermHit(BaseModel):
    """What a rule's ``when.terms`` matched: the list, the term (as written in it; a regex list's
    pattern), where (the field; the metadata key, or the text element's position among the field's
    texts) and the span of the original text (``text`` is ``original[start:end]``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rule: str = Field(min_length=1)
    list: str = Field(min_length=1)
    term: str
    field: str = Field(min_length=1, description="MsgBody, Metadata, RoomName, Notice or TextContent")
    key: str | None = Field(default=None, description="the metadata key whose value matched")
    index: int = Field(default=0, ge=0, description="which of the field's texts (a message's text elements)")
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    text: str = Field(description="the original characters that made the match (at most 200)")


MAX_HITS = 20
"""Hits a decision keeps (the first ones): enough to say why, small enough for the audit record."""


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict | None = None
    actions: list[Action] = Field(default_factory=list)
    changes: list[StateChange] = Field(default_factory=list)
    fired: list[str] = Field(default_factory=list, description="names of the rules that fired, in order")
    matches: list[TermHit] = Field(
        default_factory=list, description="what the fired rules' terms matched, in order (at most MAX_HITS)"
    )
