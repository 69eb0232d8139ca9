"""The review queue in the state table through boto3 (the layout and the models: ``liveguard.review``):
what `liveguard review` reads and the reviewer's decisions it writes.

Reads are one Query of the ``REVIEW`` partition (never a Scan); each decision is one
TransactWriteItems: the hold's conditional update (``held`` and not expired, so a second approval or
an approval after expiry changes nothing), its audit record in the room's partition (so
`liveguard audit ROOM` shows it) and, for a denial with a strike, the strike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from liveguard.aws.state_table import from_item, to_attribute, to_item
from liveguard.messages import ActionMessage, action_id
from liveguard.review import (
    APPROVE_RULE,
    HOLD_PREFIX,
    REVIEW_PARTITION,
    HeldComment,
    hold_sk,
    resend_params,
)
from liveguard.rules.outcome import AddStrike
from liveguard.state import STRIKE_TTL, AuditRecord, audit_values, room_pk, strike_sk

SEND_COMMAND = "send_group_msg"


class HoldNotPending(Exception):  # noqa: N818 - the domain's word
    """The hold is no longer waiting for a decision (decided, or expired); ``hold`` is how it stands."""

    def __init__(self, hold: HeldComment) -> None:
        self.hold = hold
        super().__init__(f"hold {hold.id[:16]} is {hold.status}")


def resend_action(hold: HeldComment) -> ActionMessage:
    """The send_group_msg action an approval queues: its id derives from the hold alone, so queueing it
    again (a second approval, a retried one) runs it once."""
    params = resend_params(hold)
    return ActionMessage(
        id=action_id(hold.id, APPROVE_RULE, SEND_COMMAND, params),
        command=SEND_COMMAND,
        params=params,
        room=hold.room,
        rule=APPROVE_RULE,
        cause=hold.id,
    )


class ReviewQueue:
    """The review queue's items in the state table (a boto3 DynamoDB client)."""

    def __init__(self, table_name: str, client: Any) -> None:
        self.table_name = table_name
        self.client = client

    def pending(self, *, now: float, room: str | None = None) -> list[HeldComment]:
        """The holds waiting for a decision (held, not expired), oldest first; ``room``: its only."""
        condition = "#status = :held AND expires_at > :now"
        values: dict[str, Any] = {":held": {"S": "held"}, ":now": to_attribute(int(now))}
        if room is not None:
            condition += " AND room = :room"
            values[":room"] = {"S": room}
        holds = list(self._query("", filter_expression=condition, extra_values=values))
        return sorted(holds, key=lambda hold: (hold.at_ms, hold.id))

    def find(self, prefix: str) -> list[HeldComment]:
        """The holds whose id starts with ``prefix`` (one Query of the partition's ``HOLD#<prefix>``)."""
        return list(self._query(prefix))

    def approve(self, hold: HeldComment, *, now: float, by: str) -> tuple[HeldComment, ActionMessage]:
        """Mark the hold approved (only while held and unexpired) and audit it; return the hold as it
        now stands and the send action to queue. Raises HoldNotPending otherwise."""
        action = resend_action(hold)
        decided = hold.model_copy(update={"status": "approved", "decided_at_ms": _ms(now), "decided_by": by})
        record = AuditRecord(
            id=hold.id,
            at_ms=_ms(now),
            kind="review",
            command="review.approve",
            rules=[hold.rule],
            matches=hold.matches,
            actions=[action],
            outcome="approved",
            by=by,
        )
        self._decide(decided, record, now=now)
        return decided, action

    def deny(self, hold: HeldComment, *, now: float, by: str, strike: bool) -> HeldComment:
        """Mark the hold denied (only while held and unexpired), audit it, and with ``strike`` count a
        strike against its sender in its room, all in one write. Raises HoldNotPending otherwise."""
        decided = hold.model_copy(
            update={"status": "denied", "decided_at_ms": _ms(now), "decided_by": by, "strike_on_deny": strike}
        )
        changes = [AddStrike(room_id=hold.room, rule=hold.rule, user_id=hold.sender)] if strike else []
        record = AuditRecord(
            id=hold.id,
            at_ms=_ms(now),
            kind="review",
            command="review.deny",
            rules=[hold.rule],
            matches=hold.matches,
            changes=list(changes),
            outcome="denied",
            by=by,
        )
        extra = []
        if strike:
            at_ms = _ms(now)
            extra.append(
                {
                    "pk": room_pk(hold.room),
                    # keyed by the hold and the decision's time: one strike per denial
                    "sk": strike_sk(hold.sender, at_ms, hold.id, hold.rule),
                    "user_id": hold.sender,
                    "rule": hold.rule,
                    "event_id": hold.id,
                    "at": at_ms,
                    "expiration": at_ms // 1000 + STRIKE_TTL,
                }
            )
        self._decide(decided, record, now=now, extra=extra)
        return decided

    # --- plumbing ---

    def _decide(
        self,
        decided: HeldComment,
        record: AuditRecord,
        *,
        now: float,
        extra: list[dict[str, Any]] | None = None,
    ) -> None:
        update = {
            "TableName": self.table_name,
            "Key": {"pk": {"S": REVIEW_PARTITION}, "sk": {"S": hold_sk(decided.id)}},
            "UpdateExpression": "SET #status = :decided, decided_at_ms = :at, decided_by = :by"
            + (", strike_on_deny = :strike" if decided.strike_on_deny is not None else ""),
            "ConditionExpression": "#status = :held AND expires_at > :now",
            "ExpressionAttributeNames": {"#status": "status"},
            "ExpressionAttributeValues": {
                ":decided": {"S": decided.status},
                ":held": {"S": "held"},
                ":now": to_attribute(int(now)),
                ":at": to_attribute(decided.decided_at_ms),
                ":by": {"S": decided.decided_by or "unknown"},
                **(
                    {":strike": {"BOOL": decided.strike_on_deny}}
                    if decided.strike_on_deny is not None
                    else {}
                ),
            },
        }
        items = [
            {"Update": update},
            {"Put": {"TableName": self.table_name, "Item": to_item(audit_values(decided.room, record))}},
            *({"Put": {"TableName": self.table_name, "Item": to_item(values)}} for values in extra or []),
        ]
        try:
            self.client.transact_write_items(TransactItems=items)
        except self.client.exceptions.TransactionCanceledException as cancelled:
            codes = [reason.get("Code") for reason in cancelled.response.get("CancellationReasons") or []]
            if codes and codes[0] == "ConditionalCheckFailed":
                standing = self.find(decided.id)
                raise HoldNotPending(standing[0] if standing else decided) from None
            raise

    def _query(
        self, prefix: str, *, filter_expression: str | None = None, extra_values: dict[str, Any] | None = None
    ) -> Iterator[HeldComment]:
        arguments: dict[str, Any] = {
            "TableName": self.table_name,
            "ConsistentRead": True,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {
                ":pk": {"S": REVIEW_PARTITION},
                ":prefix": {"S": HOLD_PREFIX + prefix},
                **(extra_values or {}),
            },
        }
        if filter_expression is not None:
            arguments["FilterExpression"] = filter_expression
            arguments["ExpressionAttributeNames"] = {"#status": "status"}
        while True:
            page = self.client.query(**arguments)
            for item in page.get("Items", []):
                yield HeldComment.from_values(from_item(item))
            if "LastEvaluatedKey" not in page:
                return
            arguments["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _ms(now: float) -> int:
    return round(now * 1000)
