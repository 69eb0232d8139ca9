"""The rule variables: what ``{name}`` in an action's params may name, in one table.

Each row says what the variable is (its type, the callbacks that carry it, its meaning), the value
the loader checks params with before any event comes, and how the engine reads it from the event it
is deciding. The loader and the template compiler ask the table which names exist and where; the
engine resolves each variable a fired rule's actions use with one lookup in it and one call. A new
variable is one new row (and a line in docs/rules.md's table).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple, Protocol

from liveguard.rules.model import METADATA_EVENTS
from liveguard.webhooks.commands import CREATE_ROOM, DEL_METADATA, GIFT_BEFORE, MODERATION_RESULT, UPDATE_ROOM
from liveguard.webhooks.models import (
    Callback,
    GiftToSend,
    ModerationResult,
    RoomCreated,
    RoomInfoUpdated,
)


class EventFacts(Protocol):
    """What a variable is read from: the event being decided and what the engine made of it (the
    engine's evaluation of one event is one)."""

    @property
    def event(self) -> Callback: ...

    @property
    def command(self) -> str: ...

    @property
    def room(self) -> str: ...

    @property
    def user(self) -> str | None:
        """Who acted: a message's or moderation result's From_Account, a gift's sender, else
        Operator_Account."""

    @property
    def operator(self) -> str | None: ...

    @property
    def admin(self) -> str: ...

    @property
    def event_id(self) -> str: ...

    @property
    def now(self) -> float: ...

    @property
    def metadata(self) -> dict[str, str | None]:
        """The metadata keys the event touched and what it left in each (None: deleted)."""

    def approved(self, key: str) -> str | None:
        """The key's admin-approved value in the room (None: none)."""


Resolve = Callable[[EventFacts, str, list[str]], Any]
"""A variable's value from (the event's facts, the fired rule's name, the metadata keys it matched)."""


class Variable(NamedTuple):
    kind: Literal["text", "number", "list"]
    commands: frozenset[str] | None
    """The callbacks that carry it; None: every callback."""
    doc: str
    sample: Any
    """What the loader renders params with to validate them before any event comes."""
    resolve: Resolve
    """Its value for a fired rule, as the engine renders the rule's actions."""
    reads_approved: bool = False
    """Read from the room's admin-approved metadata values (``EventFacts.approved``): a rule using it
    needs the admin's metadata echoes recorded."""


def _owner(facts: EventFacts, rule: str, keys: list[str]) -> str:
    event = facts.event
    owner = event.room_info.owner_account if isinstance(event, RoomCreated | RoomInfoUpdated) else None
    return owner or ""


def _restore_metadata(facts: EventFacts, rule: str, keys: list[str]) -> list[dict[str, str]]:
    return [
        {"Key": key, "Value": approved}
        for key in keys
        if (approved := facts.approved(key)) is not None and approved != facts.metadata[key]
    ]


def _unapproved_keys(facts: EventFacts, rule: str, keys: list[str]) -> list[str]:
    if facts.command == DEL_METADATA:
        return []  # the keys are gone: nothing is left unapproved
    return [key for key in keys if facts.approved(key) is None]


def _label(facts: EventFacts, rule: str, keys: list[str]) -> str:
    event = facts.event
    return (event.ctxcb_label if isinstance(event, ModerationResult) else None) or ""


def _sub_label(facts: EventFacts, rule: str, keys: list[str]) -> str:
    event = facts.event
    return (event.ctxcb_sub_label if isinstance(event, ModerationResult) else None) or ""


def _gift_id(facts: EventFacts, rule: str, keys: list[str]) -> str:
    event = facts.event
    return event.gift_water.gift_id if isinstance(event, GiftToSend) else ""


def _coins(facts: EventFacts, rule: str, keys: list[str]) -> int:
    event = facts.event
    return event.coins_total if isinstance(event, GiftToSend) else 0


VARIABLES: dict[str, Variable] = {
    "room_id": Variable(
        "text",
        None,
        "the room: RoomId, a message's GroupId, a moderation result's ToGroupId",
        sample="sample-room",
        resolve=lambda facts, rule, keys: facts.room,
    ),
    "user_id": Variable(
        "text",
        None,
        "who acted: a message's From_Account, a gift's GiftWater.From_Account, a moderation result's "
        "From_Account, else Operator_Account ('' when absent)",
        sample="sample-user",
        resolve=lambda facts, rule, keys: facts.user or "",
    ),
    "operator": Variable(
        "text",
        None,
        "Operator_Account ('' when absent)",
        sample="sample-user",
        resolve=lambda facts, rule, keys: facts.operator or "",
    ),
    "admin": Variable(
        "text",
        None,
        "the app administrator LiveGuard acts as (AdminIdentifier)",
        sample="administrator",
        resolve=lambda facts, rule, keys: facts.admin,
    ),
    "command": Variable(
        "text",
        None,
        "the CallbackCommand",
        sample="Sample.Callback",
        resolve=lambda facts, rule, keys: facts.command,
    ),
    "rule": Variable(
        "text",
        None,
        "the rule's name",
        sample="sample-rule",
        resolve=lambda facts, rule, keys: rule,
    ),
    "event_id": Variable(
        "text",
        None,
        "the event's id (SHA-256, hex)",
        sample="0" * 64,
        resolve=lambda facts, rule, keys: facts.event_id,
    ),
    "now": Variable(
        "number",
        None,
        "the decision's time, unix seconds",
        sample=1700000000,
        resolve=lambda facts, rule, keys: int(facts.now),
    ),
    "owner": Variable(
        "text",
        frozenset({CREATE_ROOM, UPDATE_ROOM}),
        "RoomInfo.Owner_Account ('' when absent)",
        sample="sample-host",
        resolve=_owner,
    ),
    "keys": Variable(
        "list",
        METADATA_EVENTS,
        "the metadata keys the rule matched (by when.keys and when.terms; all the event's keys without them)",
        sample=["sample-key"],
        resolve=lambda facts, rule, keys: list(keys),
    ),
    "restore_metadata": Variable(
        "list",
        METADATA_EVENTS,
        "[{Key, Value}] for each matched key whose last admin-approved value the event changed or deleted",
        sample=[{"Key": "sample-key", "Value": "sample-value"}],
        resolve=_restore_metadata,
        reads_approved=True,
    ),
    "unapproved_keys": Variable(
        "list",
        METADATA_EVENTS,
        "the matched keys the event set that have no admin-approved value",
        sample=["sample-key"],
        resolve=_unapproved_keys,
        reads_approved=True,
    ),
    "label": Variable(
        "text",
        frozenset({MODERATION_RESULT}),
        "CtxcbLabel ('' when absent)",
        sample="Sample",
        resolve=_label,
    ),
    "sub_label": Variable(
        "text",
        frozenset({MODERATION_RESULT}),
        "CtxcbSubLabel ('' when absent)",
        sample="",
        resolve=_sub_label,
    ),
    "gift_id": Variable(
        "text",
        frozenset({GIFT_BEFORE}),
        "GiftWater.GiftId",
        sample="sample-gift",
        resolve=_gift_id,
    ),
    "coins": Variable(
        "number",
        frozenset({GIFT_BEFORE}),
        "GiftWater.Count x GiftWater.Coins",
        sample=1,
        resolve=_coins,
    ),
}
"""What ``{name}`` may name in an action's params, and how each is read."""
