"""LiveGuard's state in one DynamoDB table: strikes, violations, metadata snapshots, sanctions, audit.

The moderator reads it through ``StateTable`` (a ``StateView`` for the rules engine), applies the
engine's state changes to it, and writes an audit record of every decision, which doubles as the
decision's journal: a retried event replays its recorded decision instead of deciding again with
state its first attempt already changed. Operators read a room's audit with ``audit_for_room``.

Items (pk + sk strings, TTL attribute ``expiration`` in unix seconds, times in zero-padded ms)::

    strike     ROOM#<room>  STRIKE#<user>#<at_ms>#<event_id[:16]>#<rule>   expires at + 7 d
    violation  ROOM#<room>  VIOL#<kind>#<at_ms>#<event_id[:16]>             expires at + 30 d
    snapshot   ROOM#<room>  SNAP#<key>        value (absent: no approved value), expires at + 30 d
    sanction   ROOM#<room>  SANCTION#<user>   sanction, until                 expires at until
    audit      ROOM#<room>  AUDIT#<at_ms>#<id>                                expires at + 30 d

Every key is derived from the event (its id and the time the ingress received it), so applying a
redelivered event's changes again rewrites the same items: no double strikes. Snapshots and
sanctions keep the newest event's word (a conditional put on ``at``), so a late redelivery of an
old event cannot roll them back.

This module imports no boto3 at import time: the ingress reads the key layout from it.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field

from liveguard.messages import ActionMessage
from liveguard.rules.outcome import (
    AddStrike,
    RecordSanction,
    RecordViolation,
    Sanction,
    SaveSnapshot,
    StateChange,
)
from liveguard.rules.verdict import Verdict

logger = logging.getLogger(__name__)

DAY = 86_400
STRIKE_TTL = 7 * DAY
VIOLATION_TTL = 30 * DAY
SNAPSHOT_TTL = 30 * DAY
AUDIT_TTL = 30 * DAY
APP_PARTITION = "APP"
"""The partition of events that concern no room (an app-wide alert), e.g. for their audit."""
_SANCTIONS: frozenset[str] = frozenset({"muted", "banned"})
# Sorts after every character an at_ms field can be followed by ("#"), so BETWEEN takes the whole ms.
_HIGH = "~"

# --- keys ------------------------------------------------------------------------------------------


def room_pk(room_id: str | None) -> str:
    """The partition of a room's items (``APP`` for events without a room)."""
    return APP_PARTITION if room_id is None else f"ROOM#{room_id}"


def _ms(at_ms: int) -> str:
    return f"{max(at_ms, 0):013d}"


def strike_sk(user_id: str, at_ms: int, event_id: str, rule: str) -> str:
    return f"STRIKE#{user_id}#{_ms(at_ms)}#{event_id[:16]}#{rule}"


def violation_sk(kind: str, at_ms: int, event_id: str) -> str:
    return f"VIOL#{kind}#{_ms(at_ms)}#{event_id[:16]}"


def snapshot_sk(key: str) -> str:
    return f"SNAP#{key}"


def sanction_sk(user_id: str) -> str:
    return f"SANCTION#{user_id}"


def audit_sk(at_ms: int, record_id: str) -> str:
    return f"AUDIT#{_ms(at_ms)}#{record_id}"


def active_sanction(item: Mapping[str, Any] | None, now: float) -> Sanction | None:
    """The sanction a SANCTION# item (DynamoDB JSON) holds at ``now``: None once ``until`` passed
    (TTL deletes expired items only eventually) or when the item is absent or unreadable."""
    if not item:
        return None
    sanction = item.get("sanction", {}).get("S")
    until = item.get("until", {}).get("N")
    try:
        if sanction in _SANCTIONS and until is not None and float(until) > now:
            return cast("Sanction", sanction)
    except ValueError:
        pass
    return None


# --- DynamoDB's attribute values -------------------------------------------------------------------


def to_attribute(value: Any) -> dict[str, Any]:
    """A JSON value as a DynamoDB attribute value (numbers as N, objects as M, arrays as L)."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError("DynamoDB numbers must be finite")
        return {"N": repr(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, Mapping):
        return {"M": {str(k): to_attribute(v) for k, v in value.items()}}
    if isinstance(value, list | tuple):
        return {"L": [to_attribute(v) for v in value]}
    raise TypeError(f"cannot store a {type(value).__name__} in DynamoDB")


def from_attribute(attribute: Mapping[str, Any]) -> Any:
    """The JSON value of a DynamoDB attribute value (the inverse of ``to_attribute``)."""
    ((kind, value),) = attribute.items()
    if kind == "S":
        return value
    if kind == "N":
        number = str(value)
        return int(number) if number.lstrip("-").isdigit() else float(number)
    if kind == "BOOL":
        return bool(value)
    if kind == "NULL":
        return None
    if kind == "M":
        return {k: from_attribute(v) for k, v in value.items()}
    if kind == "L":
        return [from_attribute(v) for v in value]
    if kind in ("SS", "NS"):
        return [from_attribute({kind[0]: v}) for v in value]
    raise TypeError(f"unsupported DynamoDB attribute type {kind}")


def to_item(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {name: to_attribute(value) for name, value in values.items() if value is not None}


def from_item(item: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    return {name: from_attribute(value) for name, value in item.items()}


# --- the audit record ------------------------------------------------------------------------------


class AuditRecord(BaseModel):
    """What happened to one event or one action, and why.

    The moderator writes one per event that made a decision (a rule fired, or there were state
    changes or actions) and one per echo; the actuator writes one per action it ran or gave up on.
    ``actions`` and ``changes`` are complete, so the record also replays a decision.
    """

    # defer_build: the ingress imports this module for its keys, and never builds an audit record.
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)

    id: str = Field(min_length=1, description="the event id, or the action id")
    at_ms: int = Field(ge=0, description="unix ms: when the ingress received the event, or the action ran")
    kind: Literal["event", "action"]
    command: str = Field(min_length=1, description="the CallbackCommand, or the REST command")
    rules: list[str] = Field(default_factory=list, description="the rules that fired, in order")
    actions: list[ActionMessage] = Field(default_factory=list)
    changes: list[StateChange] = Field(default_factory=list)
    verdict: Verdict | None = None
    outcome: str = Field(min_length=1, description="decided, queued, echo; for actions done, gone, ...")
    error: str | None = None


_RECORD_FIELDS = frozenset(AuditRecord.model_fields)


def _record_values(room_id: str | None, record: AuditRecord) -> dict[str, Any]:
    return {
        "pk": room_pk(room_id),
        "sk": audit_sk(record.at_ms, record.id),
        "room": room_id,
        # Nested Nones stay (as NULL): a SaveSnapshot's value None means "no approved value".
        **record.model_dump(mode="json"),
        "expiration": record.at_ms // 1000 + AUDIT_TTL,
    }


def _record_from_item(item: Mapping[str, Any]) -> AuditRecord:
    values = from_item(item)
    return AuditRecord.model_validate({k: v for k, v in values.items() if k in _RECORD_FIELDS})


# --- the table -------------------------------------------------------------------------------------


class StateTable:
    """The state table through a boto3 DynamoDB client (made from the environment when not given).

    A ``StateView`` for the engine (strongly consistent reads: the moderator must see its own
    last writes), plus the writes the moderator and the actuator make.
    """

    def __init__(self, table_name: str, client: Any = None) -> None:
        if client is None:
            import boto3  # here, not at import time: the ingress imports this module for its keys

            client = boto3.client("dynamodb")
        self.table_name = table_name
        self.client = client

    # --- StateView ---

    def strike_count(self, room_id: str, user_id: str, window_seconds: int, now: float) -> int:
        """Strikes against the user in the room with ``now - window <= at <= now`` (ms precision)."""
        low, high = _window(window_seconds, now)
        return self._count(
            room_id,
            f"STRIKE#{user_id}#{_ms(low)}",
            f"STRIKE#{user_id}#{_ms(high)}{_HIGH}",
            # A user id holding "#<digits>" could fall inside another user's key range.
            attribute="user_id",
            value=user_id,
        )

    def violation_count(self, room_id: str, kind: str, window_seconds: int, now: float) -> int:
        low, high = _window(window_seconds, now)
        return self._count(
            room_id,
            f"VIOL#{kind}#{_ms(low)}",
            f"VIOL#{kind}#{_ms(high)}{_HIGH}",
            attribute="violation",
            value=kind,
        )

    def approved_value(self, room_id: str, key: str) -> str | None:
        item = self._get(room_id, snapshot_sk(key))
        value = (item or {}).get("value", {}).get("S")
        return value if isinstance(value, str) else None

    def sanction(self, room_id: str, user_id: str, now: float) -> Sanction | None:
        return active_sanction(self._get(room_id, sanction_sk(user_id)), now)

    # --- writes ---

    def apply(self, changes: Iterable[StateChange], *, event_id: str, now: float) -> None:
        """Write the engine's state changes for the event ``event_id``, which happened at ``now``
        (unix seconds). Idempotent: the keys come from the event, so a second apply rewrites the
        same items; a snapshot or sanction is not overwritten by an older event's."""
        at_ms = round(now * 1000)
        at_s = at_ms // 1000
        for change in changes:
            if isinstance(change, AddStrike):
                self._put(
                    {
                        "pk": room_pk(change.room_id),
                        "sk": strike_sk(change.user_id, at_ms, event_id, change.rule),
                        "user_id": change.user_id,
                        "rule": change.rule,
                        "event_id": event_id,
                        "at": at_ms,
                        "expiration": at_s + STRIKE_TTL,
                    }
                )
            elif isinstance(change, RecordViolation):
                self._put(
                    {
                        "pk": room_pk(change.room_id),
                        "sk": violation_sk(change.violation, at_ms, event_id),
                        "violation": change.violation,
                        "rule": change.rule,
                        "event_id": event_id,
                        "at": at_ms,
                        "expiration": at_s + VIOLATION_TTL,
                    }
                )
            elif isinstance(change, SaveSnapshot):
                self._put_newest(
                    {
                        "pk": room_pk(change.room_id),
                        "sk": snapshot_sk(change.key),
                        "value": change.value,  # None: left out, "no approved value"
                        "rule": change.rule,
                        "event_id": event_id,
                        "at": at_ms,
                        "expiration": at_s + SNAPSHOT_TTL,
                    }
                )
            elif isinstance(change, RecordSanction):
                self._put_newest(
                    {
                        "pk": room_pk(change.room_id),
                        "sk": sanction_sk(change.user_id),
                        "sanction": change.sanction,
                        "until": change.until,
                        "rule": change.rule,
                        "event_id": event_id,
                        "at": at_ms,
                        "expiration": change.until,
                    }
                )
            else:  # pragma: no cover - the union is closed; a new kind must be handled here
                raise TypeError(f"unknown state change {change!r}")

    def audit(self, room_id: str | None, record: AuditRecord | Mapping[str, Any]) -> None:
        """Write (or overwrite) an audit record in the room's partition."""
        if not isinstance(record, AuditRecord):
            record = AuditRecord.model_validate(record)
        self._put(_record_values(room_id, record))

    def record_decision(self, room_id: str | None, record: AuditRecord) -> AuditRecord:
        """Write the audit record of a decision unless its event already has one, and return the
        record that stands: a retried event then carries out its first decision, not a new one."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_item(_record_values(room_id, record)),
                ConditionExpression="attribute_not_exists(sk)",
            )
            return record
        except self.client.exceptions.ConditionalCheckFailedException:
            standing = self.recorded_decision(room_id, record.id, record.at_ms)
            if standing is None:  # deleted in between (TTL): ours stands after all
                self.audit(room_id, record)
                return record
            return standing

    def recorded_decision(self, room_id: str | None, event_id: str, at_ms: int) -> AuditRecord | None:
        """The audit record of the event received at ``at_ms``, if it was written."""
        item = self._get_partition(room_pk(room_id), audit_sk(at_ms, event_id))
        return _record_from_item(item) if item else None

    def audit_for_room(
        self, room_id: str | None, since: float | None = None, *, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """A room's audit records, oldest first (``since``: unix seconds; ``None`` room: the app's).

        Each is a plain dict: id, at_ms, kind, command, rules, actions, changes, verdict, outcome,
        error (when set) and room.
        """
        values: dict[str, Any] = {":pk": {"S": room_pk(room_id)}}
        if since is None:
            condition = "pk = :pk AND begins_with(sk, :prefix)"
            values[":prefix"] = {"S": "AUDIT#"}
        else:
            condition = "pk = :pk AND sk BETWEEN :low AND :high"
            values[":low"] = {"S": f"AUDIT#{_ms(math.floor(since * 1000))}"}
            values[":high"] = {"S": f"AUDIT#{_HIGH}"}
        records: list[dict[str, Any]] = []
        for page in self._pages(KeyConditionExpression=condition, ExpressionAttributeValues=values):
            for item in page.get("Items", []):
                values_ = from_item(item)
                records.append({k: v for k, v in values_.items() if k in _RECORD_FIELDS or k == "room"})
                if limit is not None and len(records) >= limit:
                    return records
        return records

    # --- plumbing ---

    def _get(self, room_id: str, sk: str) -> dict[str, Any] | None:
        return self._get_partition(room_pk(room_id), sk)

    def _get_partition(self, pk: str, sk: str) -> dict[str, Any] | None:
        answer = self.client.get_item(
            TableName=self.table_name,
            Key={"pk": {"S": pk}, "sk": {"S": sk}},
            ConsistentRead=True,
        )
        item: dict[str, Any] | None = answer.get("Item")
        return item

    def _put(self, values: Mapping[str, Any]) -> None:
        self.client.put_item(TableName=self.table_name, Item=to_item(values))

    def _put_newest(self, values: Mapping[str, Any]) -> None:
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_item(values),
                ConditionExpression="attribute_not_exists(sk) OR #at <= :at",
                ExpressionAttributeNames={"#at": "at"},
                ExpressionAttributeValues={":at": to_attribute(values["at"])},
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            logger.info(
                "state kept: a newer event already wrote it",
                extra={"sk": values["sk"], "event_id": values["event_id"]},
            )

    def _pages(self, **query: Any) -> Iterator[dict[str, Any]]:
        arguments: dict[str, Any] = {"TableName": self.table_name, "ConsistentRead": True, **query}
        while True:
            page: dict[str, Any] = self.client.query(**arguments)
            yield page
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _count(self, room_id: str, low: str, high: str, *, attribute: str, value: str) -> int:
        total = 0
        for page in self._pages(
            KeyConditionExpression="pk = :pk AND sk BETWEEN :low AND :high",
            FilterExpression="#attribute = :value",
            ExpressionAttributeNames={"#attribute": attribute},
            ExpressionAttributeValues={
                ":pk": {"S": room_pk(room_id)},
                ":low": {"S": low},
                ":high": {"S": high},
                ":value": {"S": value},
            },
            Select="COUNT",
        ):
            total += int(page.get("Count", 0))
        return total


def _window(window_seconds: int, now: float) -> tuple[int, int]:
    """The window's first and last millisecond, both included."""
    high = math.floor(now * 1000)
    return max(high - window_seconds * 1000, 0), high
