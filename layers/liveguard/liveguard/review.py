"""The review queue: comments a rule held (verdict ``hold``) waiting for a reviewer, in the state table.

A held comment is one item, written by the moderator in the same TransactWriteItems as its decision's
journal entry (``StateTable.record_decision(..., held=...)``)::

    held comment  REVIEW  HOLD#<event id>   room, sender, msg_body, cloud_custom_data, rule, reason,
                                            matches, at_ms, expires_at, strikes, status, ...
                                            expires (TTL) a day after expires_at

All holds share the ``REVIEW`` partition, so ``liveguard review list`` is one Query (never a Scan)
across rooms, and an id (or a unique prefix of it) finds its item with one Query. The partition takes
DynamoDB's 1,000 writes a second: holds are for borderline comments a person reads, not for floods
(drop those). TTL deletes an item only eventually, so ``expires_at`` is checked explicitly: an expired
hold is not listed and cannot be approved (a conditional write).

A reviewer's decision is a conditional update of the item (``held`` to ``approved`` or ``denied``):
approving twice sends once. Approving queues one ``send_group_msg`` action (Chat's REST API: the
comment goes into the room as its original sender), whose id derives from the hold, so the actions
queue's deduplication and the actuator's idempotency run it once however often it is queued.

The re-sent message comes back to LiveGuard as Group.CallbackBeforeSendMsg with Operator_Account =
our admin: an echo, which LiveGuard never moderates, so it is not held again. Its CloudCustomData
names the hold (``RESEND_MARK``) for whoever reads the room, but that mark is never trusted: a viewer
can type any CloudCustomData, and a viewer's message with the mark is moderated like any other.

This module imports no boto3 (the layout and the models; the table's adapter is
``liveguard.aws.state_table``, the operator commands ``liveguard_ops.review``).
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from liveguard.rules.outcome import TermHit

REVIEW_PARTITION = "REVIEW"
HOLD_PREFIX = "HOLD#"
HOLD_KEEP_AFTER_EXPIRY = 86_400
"""TTL deletes a hold a day after it expired: until then ``show`` can say it expired, not "unknown"."""
STRIKE_WINDOW = 7 * 86_400
"""The window of the sender's strikes a held comment shows (all the table keeps: STRIKE_TTL)."""
RESEND_MARK = "liveguard_approved_hold"
"""The key of the re-sent message's CloudCustomData (a JSON object) that names the hold approved."""
APPROVE_RULE = "review-approve"
"""The ``rule`` of the send_group_msg action an approval queues (its id derives from it and the hold)."""

HoldStatus = Literal["held", "approved", "denied"]


def hold_sk(hold_id: str) -> str:
    return f"{HOLD_PREFIX}{hold_id}"


class HeldComment(BaseModel):
    """A comment held for review, with what a reviewer needs to decide: who, where, what (the
    message as Tencent sent it), why (the rule, its reason, what its terms matched), when, and the
    sender's strikes in the room (those kept, this decision's included)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[0-9a-f]{64}$", description="the event id of the held comment")
    room: str = Field(min_length=1)
    sender: str = Field(min_length=1, description="From_Account")
    msg_body: list[dict[str, Any]] = Field(description="MsgBody as Tencent sent it")
    cloud_custom_data: str | None = None
    rule: str = Field(min_length=1)
    reason: str = ""
    notify: bool = Field(description="whether the sender was told it awaits review")
    matches: list[TermHit] = Field(default_factory=list)
    at_ms: int = Field(ge=0, description="unix ms: when the ingress received it")
    expires_at: int = Field(ge=0, description="unix seconds: after this it cannot be approved")
    strikes: int = Field(default=0, ge=0, description="the sender's strikes in the room, this one's included")
    status: HoldStatus = "held"
    decided_at_ms: int | None = Field(default=None, ge=0)
    decided_by: str | None = None
    strike_on_deny: bool | None = Field(default=None, description="denied with a strike against the sender")

    def expired(self, now: float) -> bool:
        return now >= self.expires_at

    def values(self) -> dict[str, Any]:
        """The item as it is stored."""
        return {
            "pk": REVIEW_PARTITION,
            "sk": hold_sk(self.id),
            **self.model_dump(mode="json", exclude_none=True),
            "expiration": self.expires_at + HOLD_KEEP_AFTER_EXPIRY,
        }

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> HeldComment:
        return cls.model_validate({k: v for k, v in values.items() if k in cls.model_fields})

    def texts(self) -> list[str]:
        """The Text of each TIMTextElem."""
        found = []
        for element in self.msg_body:
            content = element.get("MsgContent")
            if element.get("MsgType") == "TIMTextElem" and isinstance(content, dict):
                text = content.get("Text")
                if isinstance(text, str):
                    found.append(text)
        return found


def resend_custom_data(hold: HeldComment) -> str:
    """The re-sent message's CloudCustomData: the original's JSON object with ``RESEND_MARK`` added,
    or (no original, or not a JSON object) a new object that keeps the original text under
    ``original``. Only for the audit and the apps: LiveGuard never trusts it."""
    original = hold.cloud_custom_data
    document: dict[str, Any] = {}
    if original:
        try:
            parsed = json.loads(original)
        except ValueError:
            parsed = None
        document = parsed if isinstance(parsed, dict) else {"original": original}
    document[RESEND_MARK] = hold.id
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"))


def resend_params(hold: HeldComment) -> dict[str, Any]:
    """The send_group_msg body that re-sends the held comment into its room as its sender. Random is
    fixed by the hold: Tencent takes the same Random within 5 minutes as the same message, one more
    guard against a double send beside the action's idempotency."""
    return {
        "GroupId": hold.room,
        "From_Account": hold.sender,
        "Random": int(hold.id[:8], 16),
        "MsgBody": hold.msg_body,
        "CloudCustomData": resend_custom_data(hold),
    }
