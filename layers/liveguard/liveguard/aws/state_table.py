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

from liveguard.review import HeldComment
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
    WRITING,
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


TRANSACTION_ITEMS = 100
"""TransactWriteItems' ceiling."""
BATCH_GET_ITEMS = 100
"""BatchGetItem's ceiling."""


def _change_items(
    changes: Iterable[StateChange], *, event_id: str, now: float
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The items a decision's changes write: those keyed by the event (strikes, violations; written
    as they are) and those that keep the newest event's word (snapshots, sanctions)."""
    at_ms = round(now * 1000)
    at_s = at_ms // 1000
    keyed: list[dict[str, Any]] = []
    newest: list[dict[str, Any]] = []
    for change in changes:
        if isinstance(change, AddStrike):
            keyed.extend(
                {
                    "pk": room_pk(change.room_id),
                    "sk": strike_sk(change.user_id, at_ms, event_id, change.rule, ordinal),
                    "user_id": change.user_id,
                    "rule": change.rule,
                    "event_id": event_id,
                    "at": at_ms,
                    "expiration": at_s + STRIKE_TTL,
                }
                for ordinal in range(1, change.count + 1)
            )
        elif isinstance(change, RecordViolation):
            keyed.append(
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
            newest.append(
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
            newest.append(
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
    return keyed, newest


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
        keyed, newest = _change_items(changes, event_id=event_id, now=now)
        for values in keyed:
            self._put(values)
        for values in newest:
            self._put_newest(values)

    def audit(self, room_id: str | None, record: AuditRecord | Mapping[str, Any]) -> None:
        """Write (or overwrite) an audit record in the room's partition."""
        if not isinstance(record, AuditRecord):
            record = AuditRecord.model_validate(record)
        self._put(audit_values(room_id, record))

    def record_decision(
        self, room_id: str | None, record: AuditRecord, *, now: float, held: HeldComment | None = None
    ) -> AuditRecord:
        """Journal a decision and write its state changes, unless its event already has a journal
        entry; return the record that stands (a retried event then carries out its first decision).

        One TransactWriteItems holds the journal entry (conditional on its absence), every change and
        the held comment of a ``hold`` verdict (``liveguard.review``): all are written or none. A
        snapshot or sanction keeps the newest event's word (its own condition); when a newer event's
        stands, the transaction is cancelled and written again without the items that lost, which is
        rare (a late redelivery of an old event)."""
        keyed, newest = _change_items(record.changes, event_id=record.id, now=now)
        if held is not None:
            keyed.append(held.values())  # keyed by the event: a rewrite writes the same item
        if 1 + len(keyed) + len(newest) > TRANSACTION_ITEMS:
            # More changes than a transaction holds: the journal entry first, as "writing" (a retry
            # that finds it writes the changes again), then the changes, then the entry as it is.
            first = record.model_copy(update={"outcome": WRITING})
            try:
                self.client.put_item(**self._journal_request(room_id, first))
            except self.client.exceptions.ConditionalCheckFailedException:
                return self._standing(room_id, record, now, held)
            self.apply(record.changes, event_id=record.id, now=now)
            if held is not None:
                self._put(held.values())
            self.audit(room_id, record)
            return record
        writes = [
            self._journal_request(room_id, record),
            *(self._put_request(v) for v in keyed),
            *(self._newest_request(v) for v in newest),
        ]
        while True:
            try:
                self.client.transact_write_items(TransactItems=[{"Put": write} for write in writes])
                return record
            except self.client.exceptions.TransactionCanceledException as cancelled:
                codes = [reason.get("Code") for reason in cancelled.response.get("CancellationReasons") or []]
                if not codes or codes[0] == "ConditionalCheckFailed":
                    return self._standing(room_id, record, now, held)
                lost = {index for index, code in enumerate(codes) if code == "ConditionalCheckFailed"}
                if not lost:
                    raise
                for index in sorted(lost):
                    logger.info(
                        "state kept: a newer event already wrote it",
                        extra={"sk": writes[index]["Item"]["sk"]["S"], "event_id": record.id},
                    )
                writes = [write for index, write in enumerate(writes) if index not in lost]

    def _journal_request(self, room_id: str | None, record: AuditRecord) -> dict[str, Any]:
        """A put of a decision's journal entry, only where its event has none."""
        return self._put_request(audit_values(room_id, record), "attribute_not_exists(sk)")

    def _put_request(self, values: Mapping[str, Any], condition: str | None = None) -> dict[str, Any]:
        request: dict[str, Any] = {"TableName": self.table_name, "Item": to_item(values)}
        if condition is not None:
            request["ConditionExpression"] = condition
        return request

    def _newest_request(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A put that keeps the newest event's word: it writes only over an item no newer than it."""
        return {
            **self._put_request(values, "attribute_not_exists(sk) OR #at <= :at"),
            "ExpressionAttributeNames": {"#at": "at"},
            "ExpressionAttributeValues": {":at": to_attribute(values["at"])},
        }

    def _standing(
        self, room_id: str | None, record: AuditRecord, now: float, held: HeldComment | None = None
    ) -> AuditRecord:
        standing = self.recorded_decision(room_id, record.id, record.at_ms)
        if standing is None:  # deleted in between (TTL): ours stands after all
            self.audit(room_id, record)
            self.apply(record.changes, event_id=record.id, now=now)
            if held is not None:
                self._put(held.values())
            return record
        return standing

    def recorded_decision(self, room_id: str | None, event_id: str, at_ms: int) -> AuditRecord | None:
        """The audit record of the event received at ``at_ms``, if it was written."""
        item = self._get_partition(room_pk(room_id), audit_sk(at_ms, event_id))
        return _record_from_item(item) if item else None

    def recorded_decisions(
        self, events: Iterable[tuple[str | None, str, int]]
    ) -> dict[tuple[str | None, str, int], AuditRecord]:
        """The journal entries of many events (room, event id, received at ms) at once: one
        BatchGetItem per 100, strongly consistent. Events without one are left out."""
        wanted = {
            (room_pk(room), audit_sk(at_ms, event_id)): (room, event_id, at_ms)
            for room, event_id, at_ms in events
        }
        found: dict[tuple[str | None, str, int], AuditRecord] = {}
        keys = list(wanted)
        for start in range(0, len(keys), BATCH_GET_ITEMS):
            request: dict[str, Any] = {
                self.table_name: {
                    "Keys": [
                        {"pk": {"S": pk}, "sk": {"S": sk}} for pk, sk in keys[start : start + BATCH_GET_ITEMS]
                    ],
                    "ConsistentRead": True,
                }
            }
            while request:
                answer = self.client.batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    found[wanted[(item["pk"]["S"], item["sk"]["S"])]] = _record_from_item(item)
                request = answer.get("UnprocessedKeys") or {}
        return found

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
            self.client.put_item(**self._newest_request(values))
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
