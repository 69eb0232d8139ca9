"""The queue envelopes: what the ingress puts on liveguard-events.fifo (and, later, the actions queue)."""

from __future__ import annotations

import hashlib
import json
import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from liveguard.rules.verdict import Verdict

APP_GROUP = "app"
COUNT_KEY_PATTERN = r"^(?:(?:user|room|repeat|raid):[1-9][0-9]{0,6}|raid:arrived)$"
"""``liveguard.counters.COUNT_KEY`` (kept here too: the envelope's module imports no rules code)."""
# What SQS accepts in a message body (#x9 #xA #xD #x20-#xD7FF #xE000-#xFFFD #x10000-#x10FFFF): a
# viewer's comment holding U+FFFF must not make the queue refuse the event that carries it.
# The complement of that set within Unicode, as a positive class (searched faster than a negated one).
_SQS_REFUSES = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# SQS takes letters, digits and ASCII punctuation in a message group id, up to 128 characters.
_SQS_GROUP = re.compile(r"[!-~]{1,128}")


def message_group(room_key: str | None) -> str:
    """The FIFO message group for a room: the RoomId itself when SQS accepts it, else a stable
    digest of it (a RoomId may hold spaces or non-ASCII text, which SQS refuses)."""
    if room_key is None:
        return APP_GROUP
    if _SQS_GROUP.fullmatch(room_key):
        return room_key
    return "room-" + hashlib.sha256(room_key.encode("utf-8")).hexdigest()[:40]


def sqs_safe(json_text: str) -> str:
    """JSON text with every character SQS refuses in a message body written as a ``\\uXXXX`` escape.
    In JSON text such characters can only stand inside strings (between tokens only tab, newline,
    carriage return and space are allowed, all accepted by SQS), where the escape means the same
    character: whoever reads the message gets the text the viewer sent."""
    # ASCII JSON text is always safe: JSON writers escape control characters inside strings, and only
    # tab, newline, carriage return and space may stand between tokens. A C-speed scan first.
    if json_text.isascii() or _SQS_REFUSES.search(json_text) is None:
        return json_text
    return _SQS_REFUSES.sub(lambda found: f"\\u{ord(found.group()):04x}", json_text)


def event_id(sdk_app_id: int | str, command: str, raw_body: bytes) -> str:
    """SHA-256 over SdkAppid, CallbackCommand and the raw body: the same for a redelivered event,
    so it is the FIFO deduplication id and the moderator's idempotency key."""
    digest = hashlib.sha256()
    for part in (str(sdk_app_id).encode(), b"\n", command.encode(), b"\n", raw_body):
        digest.update(part)
    return digest.hexdigest()


class CallbackQuery(BaseModel):
    """The query parameters worth keeping (the signature and app id have done their job)."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    client_ip: str | None = Field(default=None, alias="ClientIP")
    opt_platform: str | None = Field(default=None, alias="OptPlatform")


class EventEnvelope(BaseModel):
    """One accepted Tencent callback, as queued for the moderator."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    v: Literal[1] = 1
    id: str = Field(pattern=r"^[0-9a-f]{64}$")
    command: str = Field(min_length=1)
    received_at: int = Field(ge=0, description="unix milliseconds at the ingress")
    query: CallbackQuery
    event: dict[str, Any] = Field(description="the parsed callback body, Tencent's field names")
    decision: Verdict | None = Field(default=None, description="the inline verdict, for before-callbacks")
    known: bool = Field(default=True, description="False for a CallbackCommand LiveGuard has no model for")
    echo: bool = Field(default=False, description="caused by our own admin: recorded, never moderated")
    group: str = Field(min_length=1, max_length=128, description="the FIFO message group: room, group or app")
    rules_version: str | None = Field(
        default=None,
        max_length=200,
        description="the ingress's rules (RuleSet.version) that decided inline and chose to queue it;"
        " absent in envelopes queued before versions existed",
    )
    counts: (
        dict[Annotated[str, StringConstraints(pattern=COUNT_KEY_PATTERN)], Annotated[int, Field(ge=0)]] | None
    ) = Field(
        default=None,
        description="the flood counts the ingress took for rate, repeat and raid conditions"
        " (liveguard.counters: '<kind>:<within>' -> count, this event included; 'raid:arrived');"
        " None: not counted (no rule counts this command, or the table did not answer)",
    )

    def message_body(self) -> str:
        """The SQS message body: this envelope as JSON (Tencent's names), safe for SQS."""
        return sqs_safe(self.model_dump_json(by_alias=True))


def action_id(cause: str, rule: str, command: str, params: dict[str, Any]) -> str:
    """Derived from the cause (event id), the rule, the command and the params: re-deciding the same
    event yields the same ids, so the actions queue drops the repeats."""
    canonical = json.dumps(params, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256("\n".join([cause, rule, command, canonical]).encode("utf-8")).hexdigest()


MAX_DELAY_SECONDS = 900
"""SQS's ceiling for a message's DelaySeconds (a standard queue's message timer)."""


def delay_seconds(not_before: int, now: float) -> int:
    """The DelaySeconds that makes an action due at ``not_before`` (unix seconds) visible no sooner:
    0 when it is due, at most 900 (an action due later is delayed again when it comes back)."""
    return min(max(math.ceil(not_before - now), 0), MAX_DELAY_SECONDS)


class ActionMessage(BaseModel):
    """One action on liveguard-actions.fifo (group = room, dedup id = action id), or, while it waits
    for its ``not_before``, on the delayed-actions queue (a standard queue, per-message delay)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[1] = 1
    id: str = Field(pattern=r"^[0-9a-f]{64}$")
    command: str = Field(min_length=1, description="a LiveClient command name, e.g. del_room_metadata")
    params: dict[str, Any] = Field(description="the command's body, Tencent's field names")
    room: str = Field(min_length=1, description="the RoomId the action concerns (the message group's source)")
    rule: str = Field(min_length=1)
    cause: str = Field(pattern=r"^[0-9a-f]{64}$", description="the id of the event that caused it")
    not_before: int | None = Field(default=None, ge=0, description="unix seconds; run no sooner")
    retries: int | None = Field(
        default=None, ge=1, description="how often a retryable failure sent it back to wait (absent: never)"
    )
    rules_version: str | None = Field(
        default=None,
        max_length=200,
        description="the moderator's rules (RuleSet.version) that decided it (absent: older messages)",
    )

    def message_body(self) -> str:
        """The SQS message body: this action as JSON, safe for SQS (params may hold a viewer's text)."""
        return sqs_safe(self.model_dump_json(exclude_none=True))
