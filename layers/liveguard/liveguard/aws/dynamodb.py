"""DynamoDB GetItem, PutItem, UpdateItem, DeleteItem and Query over HTTPS, signed with SigV4, in the
standard library; and the ingress's views of the state table.

The ingress decides before-callbacks inline, with the state their rules ask for: a sender's mute or
ban (one GetItem of a SANCTION# item), a user's strikes or a room's violations within a window (one
Query counting their items), each time-bounded (``InlineStateView``). When SQS cannot take an event,
the ingress keeps it in the table's spool (``liveguard.spool``): one PutItem. For the callbacks a
``rate``, ``repeat`` or ``raid`` rule listens to, it counts the event in the flood counters
(``DynamoDbCounters``, ``liveguard.counters``): one UpdateItem per counter item. boto3 costs about 0.3 s
to import, more than the ingress's whole cold start, so this is DynamoDB's JSON protocol
(``X-Amz-Target: DynamoDB_20120810.<Operation>``) as one small POST on a kept-alive connection
(``liveguard.aws.protocol``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from liveguard.aws.protocol import AwsCallError, AwsJsonClient
from liveguard.spool import ACTIVE_KEY, KeptEvent, group_prefix, spool_pk, spool_shard

if TYPE_CHECKING:
    from liveguard.ports import Metrics
    from liveguard.rules.outcome import Sanction

logger = logging.getLogger(__name__)

# Tencent waits 2 s for a before-callback's verdict: a slow table must not use that up. One read
# gives up after this long (the client's default timeout), and all of one decision's reads share
# INLINE_STATE_BUDGET.
INLINE_READ_TIMEOUT = 0.3
INLINE_STATE_BUDGET = 0.5
# After the table did not answer in time, decide without it for this long: during an outage, at
# most one decision a second waits for a read that fails.
INLINE_STATE_HOLD = 1.0
# Less time left than this for a read: not worth starting one.
MIN_READ_TIME = 0.02


class DynamoDbError(AwsCallError):
    """A DynamoDB call that did not succeed. ``retryable`` says whether another try may."""


RETRYABLE_ERROR_TYPES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "ThrottlingException",
        "InternalServerError",
        "ServiceUnavailable",
    }
)


Key = Mapping[str, Mapping[str, str]]


class DynamoDbClient(AwsJsonClient):
    """The four item calls LiveGuard's boto3-free paths make, over one kept-alive connection."""

    service = "dynamodb"
    target_prefix = "DynamoDB_20120810."
    error = DynamoDbError
    retryable_error_types = RETRYABLE_ERROR_TYPES

    def __init__(self, *, timeout: float = INLINE_READ_TIMEOUT, **options: Any) -> None:
        super().__init__(timeout=timeout, **options)

    def get_item(
        self,
        table_name: str,
        key: Mapping[str, Mapping[str, str]],
        *,
        consistent_read: bool = False,
        timeout: float | None = None,
    ) -> dict[str, Any] | None:
        """The item under ``key`` (both in DynamoDB JSON, e.g. ``{"pk": {"S": "..."}}``), or None."""
        payload = {"TableName": table_name, "Key": dict(key), "ConsistentRead": consistent_read}
        item = self.call("GetItem", payload, timeout).get("Item")
        return item if isinstance(item, dict) else None

    def put_item(
        self, table_name: str, item: Mapping[str, Mapping[str, str]], *, timeout: float | None = None
    ) -> None:
        """Write ``item`` (DynamoDB JSON), replacing any item under its key."""
        self.call("PutItem", {"TableName": table_name, "Item": dict(item)}, timeout)

    def update_item(
        self,
        table_name: str,
        key: Key,
        expression: str,
        *,
        names: Mapping[str, str],
        values: Mapping[str, Mapping[str, str]],
        return_values: str = "NONE",
        timeout: float | None = None,
    ) -> dict[str, Any]:
        """Update the item under ``key`` with ``expression`` (its ``#name`` and ``:value``
        placeholders in ``names`` and ``values``); the attributes ``return_values`` asks for."""
        payload: dict[str, Any] = {
            "TableName": table_name,
            "Key": dict(key),
            "UpdateExpression": expression,
            "ExpressionAttributeNames": dict(names),
            "ExpressionAttributeValues": dict(values),
            "ReturnValues": return_values,
        }
        attributes = self.call("UpdateItem", payload, timeout).get("Attributes")
        return attributes if isinstance(attributes, dict) else {}

    def delete_item(
        self,
        table_name: str,
        key: Key,
        *,
        condition: str | None = None,
        values: Mapping[str, Mapping[str, str]] | None = None,
        timeout: float | None = None,
    ) -> bool:
        """Delete the item under ``key``, if ``condition`` (a ConditionExpression over ``values``)
        holds; False when it did not."""
        payload: dict[str, Any] = {"TableName": table_name, "Key": dict(key)}
        if condition is not None:
            payload["ConditionExpression"] = condition
        if values:
            payload["ExpressionAttributeValues"] = dict(values)
        try:
            self.call("DeleteItem", payload, timeout)
        except DynamoDbError as error:
            if condition is not None and error.error_type == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def query_partition(
        self,
        table_name: str,
        pk: str,
        *,
        limit: int,
        start_key: Key | None = None,
        sk_prefix: str | None = None,
        consistent_read: bool = True,
        timeout: float | None = None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of the partition ``pk`` (its sort keys beginning with ``sk_prefix``, if given) in
        sort-key order: (items, the key to continue from)."""
        payload: dict[str, Any] = {
            "TableName": table_name,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": pk}},
            "Limit": limit,
            "ConsistentRead": consistent_read,
        }
        if sk_prefix is not None:
            payload["KeyConditionExpression"] += " AND begins_with(sk, :prefix)"
            payload["ExpressionAttributeValues"][":prefix"] = {"S": sk_prefix}
        if start_key is not None:
            payload["ExclusiveStartKey"] = dict(start_key)
        answer = self.call("Query", payload, timeout)
        items = [item for item in answer.get("Items") or [] if isinstance(item, dict)]
        last = answer.get("LastEvaluatedKey")
        return items, last if isinstance(last, dict) else None

    def count_range(
        self,
        table_name: str,
        pk: str,
        low: str,
        high: str,
        *,
        attribute: str,
        value: str,
        start_key: Key | None = None,
        consistent_read: bool = True,
        timeout: float | None = None,
    ) -> tuple[int, dict[str, Any] | None]:
        """One page's count (``Select=COUNT``) of the partition ``pk``'s items whose sort key is
        between ``low`` and ``high`` (both included) and whose ``attribute`` is ``value``:
        (count, the key to continue from)."""
        payload: dict[str, Any] = {
            "TableName": table_name,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :low AND :high",
            "FilterExpression": "#attribute = :value",
            "ExpressionAttributeNames": {"#attribute": attribute},
            "ExpressionAttributeValues": {
                ":pk": {"S": pk},
                ":low": {"S": low},
                ":high": {"S": high},
                ":value": {"S": value},
            },
            "Select": "COUNT",
            "ConsistentRead": consistent_read,
        }
        if start_key is not None:
            payload["ExclusiveStartKey"] = dict(start_key)
        answer = self.call("Query", payload, timeout)
        last = answer.get("LastEvaluatedKey")
        return int(answer.get("Count", 0)), last if isinstance(last, dict) else None


class StateUnavailable(Exception):  # noqa: N818 - the domain's word: the state is unavailable
    """The table did not answer a read within the decision's time (or is on hold after it did not)."""


class InlineStateView:
    """The ingress's ``StateView``: the state a before-callback's rules ask for, read from the state
    table within Tencent's 2 s. The engine asks only for what a rule it evaluates needs, after that
    rule's other conditions hold, and each thing once per decision.

    - ``sanction``: one eventually consistent GetItem of the user's SANCTION# item.
    - ``strike_count`` / ``violation_count``: one strongly consistent Query, ``Select=COUNT``, over
      the window's sort keys (``liveguard.state.strike_range`` / ``violation_range``), as the
      moderator's ``StateTable`` counts; more pages only for a count past DynamoDB's 1 MB page.
    - ``approved_value``: None. Approved values are read only by actions' variables, which the
      ingress does not render (the moderator does).

    Time-bounded: one read gives up after ``read_timeout``, all the reads of one decision share
    ``budget`` (reads carrying the same ``now`` are one decision's: the engine passes each its
    decision's time), and after the table did not answer, reads are not tried for ``hold`` seconds.
    The fallback when the table does not answer in time: decide as if the count were 0 and there
    were no sanction (the comment delivered, the gift allowed, unless another condition decides),
    log a warning and count ``InlineStateUnavailable`` (once per decision).
    """

    def __init__(
        self,
        table_name: str,
        client: DynamoDbClient | None = None,
        *,
        metrics: Metrics | None = None,
        read_timeout: float = INLINE_READ_TIMEOUT,
        budget: float = INLINE_STATE_BUDGET,
        hold: float = INLINE_STATE_HOLD,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table_name = table_name
        self.client = client or DynamoDbClient.from_environment()
        self.metrics = metrics
        self.read_timeout = read_timeout
        self.budget = budget
        self.hold = hold
        self._monotonic = monotonic
        self._decision: float | None = None
        self._deadline = 0.0
        self._reported = False
        self._hold_until = 0.0

    def strike_count(self, room_id: str, user_id: str, window_seconds: int, now: float) -> int:
        from liveguard.state import room_pk, strike_range

        low, high = strike_range(user_id, window_seconds, now)
        return self._count(room_pk(room_id), low, high, "user_id", user_id, now, what="strikes")

    def violation_count(self, room_id: str, kind: str, window_seconds: int, now: float) -> int:
        from liveguard.state import room_pk, violation_range

        low, high = violation_range(kind, window_seconds, now)
        return self._count(room_pk(room_id), low, high, "violation", kind, now, what="violations")

    def approved_value(self, room_id: str, key: str) -> str | None:
        return None

    def sanction(self, room_id: str, user_id: str, now: float) -> Sanction | None:
        # Here, not at the top: the ingress imports this module for its spool on every cold start,
        # and the state's models (about 30 ms) only for a decision that reads state.
        from liveguard.aws.state_table import active_sanction
        from liveguard.state import room_pk, sanction_sk

        key = {"pk": {"S": room_pk(room_id)}, "sk": {"S": sanction_sk(user_id)}}
        try:
            item = self.client.get_item(self.table_name, key, timeout=self._time_for_a_read(now))
        except (StateUnavailable, DynamoDbError) as error:
            self._unavailable(now, "sanction", error)
            return None
        return active_sanction(item, now)

    def _count(
        self, pk: str, low: str, high: str, attribute: str, value: str, now: float, *, what: str
    ) -> int:
        total = 0
        start: dict[str, Any] | None = None
        try:
            while True:
                count, start = self.client.count_range(
                    self.table_name,
                    pk,
                    low,
                    high,
                    attribute=attribute,
                    value=value,
                    start_key=start,
                    timeout=self._time_for_a_read(now),
                )
                total += count
                if start is None:
                    return total
        except (StateUnavailable, DynamoDbError) as error:
            self._unavailable(now, what, error)
            return 0

    def _time_for_a_read(self, now: float) -> float:
        """How long the next read of the decision at ``now`` may take; raises StateUnavailable when
        the decision's budget is spent or the table is on hold."""
        clock = self._monotonic()
        if now != self._decision:
            self._decision, self._deadline, self._reported = now, clock + self.budget, False
        if clock < self._hold_until:
            raise StateUnavailable("the state table did not answer in time just before; not asked")
        left = min(self._deadline - clock, self.read_timeout)
        if left < MIN_READ_TIME:
            raise StateUnavailable("no time left in the decision's budget for state reads")
        return left

    def _unavailable(self, now: float, what: str, error: Exception) -> None:
        clock = self._monotonic()
        if clock >= self._hold_until:  # a read failed or ran out of time (not the hold itself)
            self._hold_until = clock + self.hold
        if self._reported and now == self._decision:
            return
        self._reported = True
        if self.metrics is not None:
            self.metrics.add_metric("InlineStateUnavailable", "Count", 1)
        logger.warning(
            "state unknown: the state table did not answer in time; deciding as if there were none",
            extra={
                "read": what,
                "error": getattr(error, "error_type", "") or type(error).__name__,
                "detail": str(error)[:200],
            },
        )


# Counting shares the decision's time with the state reads: all the updates of one event (at most
# three) share COUNT_BUDGET, each gives up after INLINE_READ_TIMEOUT, and after the table did not answer
# no update is tried for INLINE_STATE_HOLD.
COUNT_BUDGET = 0.4


class DynamoDbCounters:
    """The flood counters (``liveguard.counters``) in the state table, as the ingress updates them:
    each item one UpdateItem (``ADD`` the event's bucket, ``REMOVE`` the buckets that left the
    window, ``SET`` the TTL, ``ReturnValues=ALL_OLD``), within Tencent's 2 s.

    Time-bounded as ``InlineStateView`` is: one update gives up after ``timeout``, the updates of one
    event share ``budget``, and after the table did not answer (or throttled), none is tried for
    ``hold`` seconds. The fallback: the counts not taken are missing, so their conditions do not hold
    (the event is decided as if there were no flood); a warning is logged and ``CountersUnavailable``
    counted once per event."""

    def __init__(
        self,
        table_name: str,
        client: DynamoDbClient | None = None,
        *,
        metrics: Metrics | None = None,
        timeout: float = INLINE_READ_TIMEOUT,
        budget: float = COUNT_BUDGET,
        hold: float = INLINE_STATE_HOLD,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.table_name = table_name
        self.client = client or DynamoDbClient.from_environment()
        self.metrics = metrics
        self.timeout = timeout
        self.budget = budget
        self.hold = hold
        self._monotonic = monotonic
        self._deadline = 0.0
        self._hold_until = 0.0

    def count(self, plan: Any, event: Any, now_ms: int) -> dict[str, int] | None:
        """The event's counts (``liveguard.counters.count``) by ``count_key``; the counts taken before
        the table failed when it did (None when it gave none)."""
        from liveguard.counters import CountersUnavailable, count

        self._deadline = self._monotonic() + self.budget
        try:
            return count(self, plan, event, now_ms)
        except CountersUnavailable as error:
            clock = self._monotonic()
            if clock >= self._hold_until and not str(error).startswith("on hold"):
                self._hold_until = clock + self.hold
            if self.metrics is not None:
                self.metrics.add_metric("CountersUnavailable", "Count", 1)
            logger.warning(
                "counts unknown: the state table did not answer in time; rate, repeat and raid"
                " conditions without a count do not hold",
                extra={"command": plan.command, "detail": str(error)[:200]},
            )
            return error.partial or None

    def bump(
        self,
        room_id: str,
        sk: str,
        add: Mapping[str, int],
        remove: Any,
        *,
        seen_ms: int | None,
        expires: int,
    ) -> Mapping[str, int]:
        from liveguard.counters import CountersUnavailable, counter_pk

        clock = self._monotonic()
        if clock < self._hold_until:
            raise CountersUnavailable("on hold: the state table did not answer in time just before")
        left = min(self._deadline - clock, self.timeout)
        if left < MIN_READ_TIME:
            raise CountersUnavailable("no time left in the event's budget for counting")
        names: dict[str, str] = {"#x": "expiration"}
        values: dict[str, dict[str, str]] = {":x": {"N": str(expires)}}
        sets = ["#x = :x"]
        if seen_ms is not None:
            names["#s"], values[":s"] = "seen", {"N": str(seen_ms)}
            sets.append("#s = :s")
        adds = []
        for index, (name, value) in enumerate(add.items()):
            names[f"#a{index}"], values[f":a{index}"] = name, {"N": str(value)}
            adds.append(f"#a{index} :a{index}")
        removes = []
        for index, name in enumerate(remove):
            names[f"#r{index}"] = name
            removes.append(f"#r{index}")
        expression = "SET " + ", ".join(sets)
        if adds:
            expression += " ADD " + ", ".join(adds)
        if removes:
            expression += " REMOVE " + ", ".join(removes)
        key = {"pk": {"S": counter_pk(room_id)}, "sk": {"S": sk}}
        try:
            old = self.client.update_item(
                self.table_name,
                key,
                expression,
                names=names,
                values=values,
                return_values="ALL_OLD",
                timeout=left,
            )
        except DynamoDbError as error:
            raise CountersUnavailable(f"{error.error_type or 'error'}: {str(error)[:150]}") from None
        return {
            name: int(value["N"])
            for name, value in old.items()
            if isinstance(value, dict) and "N" in value and name not in ("expiration",)
        }


class DynamoDbSpool:
    """The spool (``liveguard.spool``) in the state table: the ingress keeps events here when SQS
    cannot take them, and the drain reads them back in order and deletes each once it is queued."""

    def __init__(self, table_name: str, client: DynamoDbClient | None = None) -> None:
        self.table_name = table_name
        self.client = client or DynamoDbClient.from_environment()

    # --- the ingress's side (liveguard.spool.EventSpool) ---

    def keep(self, event: KeptEvent, *, timeout: float) -> None:
        self.client.put_item(self.table_name, event.to_item(), timeout=timeout)

    def room_has_kept(self, group: str, *, timeout: float) -> bool:
        items, _ = self.client.query_partition(
            self.table_name,
            spool_pk(spool_shard(group)),
            limit=1,
            sk_prefix=group_prefix(group),
            timeout=timeout,
        )
        return bool(items)

    def is_active(self, *, timeout: float) -> bool:
        return (
            self.client.get_item(self.table_name, ACTIVE_KEY, consistent_read=True, timeout=timeout)
            is not None
        )

    def mark_active(self, *, at_ms: int, timeout: float) -> None:
        self.client.put_item(self.table_name, {**ACTIVE_KEY, "marked_at": {"N": str(at_ms)}}, timeout=timeout)

    # --- the drain's side (liveguard.drain.SpoolPages) ---

    def page(
        self, shard: int, *, limit: int = 100, start_key: Key | None = None, timeout: float = 2.0
    ) -> tuple[list[KeptEvent], dict[str, Any] | None]:
        """One page of a shard's kept events, room by room, each room's oldest first."""
        items, last = self.client.query_partition(
            self.table_name, spool_pk(shard), limit=limit, start_key=start_key, timeout=timeout
        )
        return [KeptEvent.from_item(item) for item in items], last

    def remove(self, event: KeptEvent, *, timeout: float = 2.0) -> bool:
        """Delete a kept event once it is queued; False when another drain deleted it first."""
        return self.client.delete_item(
            self.table_name, event.key(), condition="attribute_exists(pk)", timeout=timeout
        )

    def clear_mark(self, *, older_than_ms: int, timeout: float = 2.0) -> bool:
        """Take the activity mark down if no ingress refreshed it since ``older_than_ms``."""
        return self.client.delete_item(
            self.table_name,
            ACTIVE_KEY,
            condition="attribute_exists(pk) AND marked_at < :cutoff",
            values={":cutoff": {"N": str(older_than_ms)}},
            timeout=timeout,
        )
