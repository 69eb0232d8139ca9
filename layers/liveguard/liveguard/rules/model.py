"""The rules file, as written: one pydantic model per part, and the vocabulary a rule may use (the
variables an action's params may name are ``liveguard.rules.variables``).

A rules file is YAML (see docs/rules.md)::

    version: 1
    terms:
      banned: {file: terms/banned.txt}          # or inline: banned: ["buy followers", ...]
    rules:
      - name: comment-terms
        on: [Group.CallbackBeforeSendMsg]
        when: {actor: user, terms: [banned]}
        verdict: {action: mask}
        strike: true

Every model refuses unknown fields (a misspelt condition must not silently match everything). What
cannot be checked field by field (term list names, template variables, which callbacks carry which
fields, action params against Tencent's request models) is checked by the loader, which compiles
the file into a ``RuleSet`` (``liveguard.rules.compiled``). Only pydantic is imported: the ingress
loads rules on its cold start.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Self

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from liveguard.webhooks.commands import (
    BEFORE_COMMANDS,
    CREATE_ROOM,
    DEL_METADATA,
    MESSAGE_AFTER,
    MESSAGE_BEFORE,
    MODERATION_RESULT,
    SET_METADATA,
    UPDATE_ROOM,
)

# --- the vocabulary: callbacks, the fields they carry, the commands actions may run ---------------

METADATA_EVENTS = frozenset({SET_METADATA, DEL_METADATA})
BEFORE_EVENTS = BEFORE_COMMANDS

TEXT_FIELDS: dict[str, tuple[str, ...]] = {
    SET_METADATA: ("Metadata",),
    MESSAGE_BEFORE: ("MsgBody",),
    MESSAGE_AFTER: ("MsgBody",),
    CREATE_ROOM: ("RoomName", "Notice"),
    UPDATE_ROOM: ("RoomName", "Notice"),
    MODERATION_RESULT: ("TextContent",),
}
"""The texts ``when.terms`` can scan, by callback (Tencent's field names): Metadata means the values
set (a match names its keys), MsgBody the Text of every TIMTextElem, TextContent the moderated text."""

ALL_TEXT_FIELDS = frozenset(field for fields in TEXT_FIELDS.values() for field in fields)

WRITE_COMMANDS: frozenset[str] = frozenset(
    {
        # rooms and metadata
        "create_room",
        "destroy_room",
        "update_room_info",
        "set_room_metadata",
        "del_room_metadata",
        # members
        "ban_member",
        "unban_member",
        "mute_member",
        "modify_admin",
        # messages
        "send_text_msg",
        "send_custom_msg",
        "send_group_msg",  # Chat's: a reviewer's approval re-sends a held comment with it
        # seats
        "pick_user_on_seat",
        "kick_user_off_seat",
        "lock_seat",
        "switch_seat",
        # robots, gifts, streams
        "add_robot",
        "del_robot",
        "send_gift",
        "add_gift",
        "edit_gift",
        "del_gift",
        "set_gift_language",
        "del_gift_language",
        "add_gift_category",
        "edit_gift_category",
        "del_gift_category",
        "set_gift_category_language",
        "del_gift_category_language",
        "add_gift_category_relations",
        "del_gift_category_relations",
        "resume_mcu_task",
    }
)
"""LiveClient's write commands a rule may run: every command but the reads (``get_*``) and the app's
callback configuration (``set_callback``, ``update_callback``, ``set_callback_token``), which a rule must
never switch off; the actuator dead-letters anything outside this set.
Kept as names so checking them imports no request model (a unit test keeps it in step with COMMANDS)."""


# --- the file's models ----------------------------------------------------------------------------

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
"""Rule names and violation kinds end up in state keys (``STRIKE#<user>#...#<rule>``): no ``#``."""

NAME_WORDS = (
    "a name is letters, digits, '.', '_', '-', starting with a letter or digit, at most 64"
    " (it is part of state keys, so no '#')"
)
"""What NAME_PATTERN allows, as docs/rules.md says it (the error a wrong name gets)."""


def _name(value: str) -> str:
    if re.fullmatch(NAME_PATTERN, value) is None:
        raise ValueError(NAME_WORDS)
    return value


Name = Annotated[str, AfterValidator(_name)]
Seconds = Annotated[int, Field(ge=1, le=90 * 24 * 3600)]


def _one_or_many(value: object) -> object:
    """``on: Live.CallbackAfterCreateRoom`` reads as ``on: [Live.CallbackAfterCreateRoom]``."""
    return [value] if isinstance(value, str) else value


OneOrMany = Annotated[list[str], BeforeValidator(_one_or_many)]


def _true_or_false(value: object) -> object:
    """Only YAML's ``true``/``false``: pydantic alone would take ``"yes"``, ``"off"`` or ``1`` (the
    loader reads YAML 1.1's ``yes``/``no``/``on``/``off`` as text, so they arrive here as strings)."""
    if not isinstance(value, bool):
        raise ValueError(f'write true or false, not "{value}"')
    return value


Flag = Annotated[bool, BeforeValidator(_true_or_false)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


def _term_source(value: object) -> object:
    return {"terms": value} if isinstance(value, list) else value


class TermFile(_Strict):
    """Terms kept in a file: one a line, ``#`` comments, relative to the rules file."""

    file: str = Field(min_length=1)


class TermSource(_Strict):
    """A named term list: inline ``terms``, a ``file`` (one term a line, ``#`` comments, relative to the
    rules file), or both; how it matches (``liveguard.rules.terms``) and what it allows."""

    file: str | None = Field(default=None, min_length=1)
    terms: list[str] = Field(default_factory=list)
    match: Literal["word", "substring", "regex"] = Field(
        default="word", description="word (between word boundaries), substring, or regex (Python patterns)"
    )
    evasion: Flag = Field(
        default=True, description="read through invisible characters, marks, look-alikes, leetspeak, ..."
    )
    except_: list[str] | TermFile = Field(
        default_factory=list,
        alias="except",
        description="terms or phrases whose span cancels a match inside it (an allow list)",
    )

    @model_validator(mode="after")
    def _has_a_source(self) -> Self:
        if self.file is None and not self.terms:
            raise ValueError("give terms (a list) or a file")
        return self


class KeyFilter(_Strict):
    """Metadata keys a rule is about: any key starting with one of ``prefix`` or named in ``names``."""

    prefix: OneOrMany = Field(default_factory=list)
    names: OneOrMany = Field(default_factory=list)

    @model_validator(mode="after")
    def _selects_something(self) -> Self:
        if not self.prefix and not self.names:
            raise ValueError("give a prefix or names")
        if any(not part for part in [*self.prefix, *self.names]):
            raise ValueError("a prefix or name cannot be empty")
        return self


class _Threshold(_Strict):
    within: Seconds = Field(description="the window, in seconds back from the event")
    at_least: int = Field(ge=1)
    below: int | None = Field(default=None, ge=2)
    new_only: Flag = Field(
        default=True,
        description="fire only on an event whose rules above added one (so the threshold fires on the "
        "event that reaches it, not on every later event)",
    )

    @model_validator(mode="after")
    def _below_above_at_least(self) -> Self:
        if self.below is not None and self.below <= self.at_least:
            raise ValueError("below must be greater than at_least")
        return self


class StrikeThreshold(_Threshold):
    """The acting user's strikes in the room within the window: those in state plus those the rules
    above added for this event."""


class ViolationThreshold(_Threshold):
    """The room's violations of these kinds within the window (state plus those added for this event)."""

    kinds: OneOrMany = Field(min_length=1)


COUNTED_WINDOW_MAX = 3600
"""The longest window a rate, repeat or raid condition counts over: counters are for floods, which a
sliding window of up to an hour catches; longer histories are strikes' and violations'."""


class _Count(_Strict):
    """A count of recent events, kept by shared counters that the ingress updates on every event of
    the command (``liveguard.counters``): holds when the count, this event included, is at least
    ``at_least`` (and below ``below``, if given)."""

    within: int = Field(ge=1, le=COUNTED_WINDOW_MAX, description="the window, in seconds back from the event")
    at_least: int = Field(ge=1, le=1_000_000)
    below: int | None = Field(default=None, ge=2)
    once: Flag = Field(
        default=False,
        description="hold only on the event that brings the count to at_least (once per crossing), so"
        " actions run once per flood while a verdict rule without once keeps deciding every event over",
    )

    @model_validator(mode="after")
    def _bounds(self) -> Self:
        if self.below is not None and self.below <= self.at_least:
            raise ValueError("below must be greater than at_least")
        if self.once and self.below is not None:
            raise ValueError(
                "give once or below, not both (once already means the count is exactly at_least)"
            )
        return self


class RateCondition(_Count):
    """Events of the rule's command (messages, gifts) from the acting user in the room (``per: user``)
    or from anyone in the room (``per: room``) within the window."""

    per: Literal["user", "room"]


class RepeatCondition(_Count):
    """Messages with the same text (as term matching normalises it: case, width, invisible characters
    do not make a copy new) from the acting user in the room within the window."""

    at_least: int = Field(ge=2, le=1_000_000, description="copies, this message included (1 is any message)")


class RaidCondition(_Count):
    """Users arriving in the room within the window: posting there after not posting for at least the
    window (a raid's accounts each count once; regulars chatting on do not)."""

    at_least: int = Field(ge=2, le=1_000_000)


class Conditions(_Strict):
    """``when``: every condition given must hold (absent ones always hold)."""

    actor: Literal["user", "admin", "any"] = "user"
    """``admin`` is in the type only to be refused with the reason (below), not a bare "input should
    be 'user' or 'any'"."""
    rooms: OneOrMany | None = Field(default=None, description="RoomIds or globs (vip-*) the rule is for")
    not_rooms: OneOrMany = Field(default_factory=list, description="RoomIds or globs it is not for")
    terms: OneOrMany | None = Field(default=None, description="term lists to look for in the event's texts")
    fields: OneOrMany | None = Field(default=None, description="which texts (default: all the event carries)")
    keys: KeyFilter | None = None
    labels: OneOrMany | None = Field(default=None, description="CtxcbLabel values (case-insensitive)")
    sanctioned: list[Literal["muted", "banned"]] | None = Field(default=None, min_length=1)
    coins_over: int | None = Field(default=None, ge=0, description="Count x Coins above this")
    strikes: StrikeThreshold | None = None
    violations: ViolationThreshold | None = None
    rate: RateCondition | None = None
    repeat: RepeatCondition | None = None
    raid: RaidCondition | None = None

    @model_validator(mode="after")
    def _actor_can_hold(self) -> Self:
        if self.actor == "admin":
            raise ValueError(
                "actor: admin never holds: an event whose operator is the admin (AdminIdentifier) is"
                " LiveGuard's own REST call coming back, and rules never see those echoes; use"
                " actor: user (the default) or actor: any"
            )
        return self


def _verdict_shorthand(value: object) -> object:
    return {"action": value} if isinstance(value, str) else value


HOLD_DEFAULT_SECONDS = 3600
"""How long a held comment waits for review when the rule does not say (``verdict.expires``)."""
HOLD_MAX_SECONDS = 7 * 24 * 3600
"""The longest a held comment may wait (a week: the strikes kept beside it last as long)."""


class VerdictSpec(_Strict):
    """The answer to a before-callback: reject (ErrorCode 1), drop (2, messages only), mask (deliver
    the message with every term of ``when.terms`` replaced by ``mask_char``) or hold (messages only:
    not delivered, kept for a reviewer; ``notify`` tells the sender it awaits review, ``expires`` is
    how long it may wait)."""

    action: Literal["reject", "drop", "mask", "hold"]
    reason: str = Field(default="", max_length=200)
    mask_char: str = Field(default="*", min_length=1, max_length=1)
    notify: Flag = Field(
        default=True,
        description="hold: tell the sender the comment awaits review (ErrorCode 10100 with the reason);"
        " false: say nothing (ErrorCode 2, the sender sees it sent)",
    )
    expires: int = Field(
        default=HOLD_DEFAULT_SECONDS,
        ge=1,
        le=HOLD_MAX_SECONDS,
        description="hold: seconds the held comment may wait for review; after that it cannot be approved",
    )

    @model_validator(mode="after")
    def _hold_fields_only_on_hold(self) -> Self:
        given = {"notify", "expires"} & self.model_fields_set
        if given and self.action != "hold":
            raise ValueError(f"{' and '.join(sorted(given))}: only for action: hold")
        return self


class ActionSpec(_Strict):
    """A LiveClient write command and its body (Tencent's field names), with ``{variable}`` templates."""

    command: str = Field(min_length=1)
    params: dict[str, Any] = Field(default_factory=dict)
    unless_empty: str | None = Field(default=None, description="skip the action when this variable is empty")
    delay_seconds: int = Field(default=0, ge=0, le=900)


class SanctionSpec(_Strict):
    """Remember a mute or ban of the acting user (the ingress refuses their gifts until it ends)."""

    kind: Literal["muted", "banned"]
    seconds: Seconds


MAX_STRIKES_PER_EVENT = 10
"""The most strikes one event may count (``strike: {count: N}``): a threshold is a handful."""


class StrikeSpec(_Strict):
    """``strike: {count: N}``: the event counts N strikes against the acting user when this rule
    fires (``strike: true`` is ``{count: 1}``). However many rules strike, one event counts the
    largest count among them, never their sum: one comment is one offence."""

    count: int = Field(ge=1, le=MAX_STRIKES_PER_EVENT, strict=True)


def _strike_form(value: object) -> object:
    """``true`` reads as ``{count: 1}``, ``false`` as no strike; a mapping is checked as a StrikeSpec.
    Nothing else: ``1`` or ``"yes"`` is not a boolean here either."""
    if isinstance(value, bool):
        return {"count": 1} if value else None
    if isinstance(value, dict | StrikeSpec):
        return value
    raise ValueError(f'write true or false (or {{count: N}}: N strikes for one event), not "{value}"')


class Rule(_Strict):
    name: Name
    enabled: Flag = True
    description: str = ""
    on: OneOrMany = Field(min_length=1, description="the CallbackCommands the rule listens to")
    when: Conditions = Field(default_factory=Conditions)
    verdict: Annotated[VerdictSpec | None, BeforeValidator(_verdict_shorthand)] = None
    then: list[ActionSpec] = Field(default_factory=list)
    strike: Annotated[StrikeSpec | None, BeforeValidator(_strike_form)] = Field(
        default=None,
        description="count a strike against the acting user (true), or N ({count: N}); one event "
        "counts the largest of its rules' strikes, not their sum",
    )
    violation: Name | None = Field(
        default=None, description="count a violation of this kind against the room"
    )
    sanction: SanctionSpec | None = None
    snapshot: Flag = Field(
        default=False, description="save the matched metadata keys' new values as admin-approved"
    )


class RulesFile(_Strict):
    version: Literal[1] = 1
    terms: dict[str, Annotated[TermSource, BeforeValidator(_term_source)]] = Field(default_factory=dict)
    rules: list[Rule]
