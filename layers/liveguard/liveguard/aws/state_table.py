"""The state table in DynamoDB through boto3: the moderator's ``StateStore`` and the actuator's
``AuditLog`` (the layout is ``liveguard.state``'s).

Reads are strongly consistent: the moderator must see its own last writes. boto3 is imported in the
constructor only, when no client is given.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, cast

from liveguard.rules.outcome import (
    AddStrike,
    RecordSanction,
    RecordViolation,
    Sanction,
    SaveSnapshot,
    StateChange,
)
from liveguard.state import (
    HIGH,
    RECORD_FIELDS,
    SANCTIONS,
    SNAPSHOT_TTL,
    STRIKE_TTL,
    VIOLATION_TTL,
    AuditRecord,
    audit_sk,
    audit_values,
    ms_key,
    room_pk,
    sanction_sk,
    snapshot_sk,
    strike_range,
    strike_sk,
    violation_range,
    violation_sk,
)

logger = logging.getLogger(__name__)


def active_sanction(item: Mapping[str, Any] | None, now: float) -> Sanction | None:
    """The sanction a SANCTION# item (DynamoDB JSON) holds at ``now``: None once ``until`` passed
    (TTL deletes expired items only eventually) or when the item is absent or unreadable."""
    if not item:
        return None
    sanction = item.get("sanction", {}).get("S")
    until = item.get("until", {}).get("N")
    try:
        if sanction in SANCTIONS and until is not None and float(until) > now:
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


def _record_from_item(item: Mapping[str, Any]) -> AuditRecord:
    values = from_item(item)
    return AuditRecord.model_validate({k: v for k, v in values.items() if k in RECORD_FIELDS})


class StateTable:
    """The state table through a boto3 DynamoDB client (made from the environment when not given).

    A ``StateView`` for the engine (strongly consistent reads: the moderator must see its own
    last writes), plus the writes the moderator and the actuator make.
    """

    def __init__(self, table_name: str, client: Any = None) -> None:
        if client is None:
            import boto3  # here, not at import time: the ingress imports this package's boto3-free clients

            client = boto3.client("dynamodb")
        self.table_name = table_name
        self.client = client

    # --- StateView ---

    def strike_count(self, room_id: str, user_id: str, window_seconds: int, now: float) -> int:
        """Strikes against the user in the room with ``now - window <= at <= now`` (ms precision)."""
        low, high = strike_range(user_id, window_seconds, now)
        return self._count(room_id, low, high, attribute="user_id", value=user_id)

    def violation_count(self, room_id: str, kind: str, window_seconds: int, now: float) -> int:
        low, high = violation_range(kind, window_seconds, now)
        return self._count(room_id, low, high, attribute="violation", value=kind)

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
        self._put(audit_values(room_id, record))

    def record_decision(self, room_id: str | None, record: AuditRecord) -> AuditRecord:
        """Write the audit record of a decision unless its event already has one, and return the
        record that stands: a retried event then carries out its first decision, not a new one."""
        try:
            self.client.put_item(
                TableName=self.table_name,
                Item=to_item(audit_values(room_id, record)),
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
            values[":low"] = {"S": f"AUDIT#{ms_key(math.floor(since * 1000))}"}
            values[":high"] = {"S": f"AUDIT#{HIGH}"}
        records: list[dict[str, Any]] = []
        for page in self._pages(KeyConditionExpression=condition, ExpressionAttributeValues=values):
            for item in page.get("Items", []):
                values_ = from_item(item)
                records.append({k: v for k, v in values_.items() if k in RECORD_FIELDS or k == "room"})
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
