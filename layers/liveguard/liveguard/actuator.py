"""The actuator: run each action the moderator queued through LiveClient, once.

``Actuator.handle_record`` is the record handler of two sources (functions/actuator/app.py,
``liveguard.aws.batch``): liveguard-actions.fifo (Powertools' FIFO processor: a room's actions in
order) and the delayed-actions queue (a standard queue: actions that waited for their time there,
outside their room's FIFO group). Both get the same handling; it returns for a record that is
complete and raises only when an AWS call failed (SQS must deliver it again). Per record:

- a message that is not an ActionMessage is dead-lettered with the reason and completed;
- an action whose command is not one a rule may run (``liveguard.rules.model.WRITE_COMMANDS``: the
  reads and the callback configuration are not) is dead-lettered with the reason, audited as failed and
  never run: whoever can write to the actions queues must not be able to redirect Tencent's webhooks
  or switch their authentication off;
- an action whose ``not_before`` lies ahead is sent to the delayed-actions queue with the time left
  (at most 900 s, SQS's ceiling; one due later comes back and is sent again) and completed, so it
  never holds its room's FIFO group;
- otherwise it runs through idempotency keyed on the action id, so a redelivered or
  duplicated action does not call Tencent twice. Success and ``gone`` complete it; ``auth`` and
  ``permanent`` dead-letter it with the error, write an audit record and emit a metric. A retryable
  failure (and no time left in the invocation, or the same action running elsewhere) sends it to the
  delayed-actions queue with a backoff (``RETRY_BACKOFF``) and completes the record: the room's later
  actions run at once instead of waiting out a visibility timeout. After ``len(RETRY_BACKOFF)``
  retries it is dead-lettered and audited as failed, as a permanent failure is.

Every terminal outcome (done, gone, dry_run, failed) is audited under the room through the
``AuditLog`` port (``pk ROOM#<room>``, ``sk AUDIT#<at_ms>#<action id>``; a replay rewrites the same
record, its ``at_ms`` coming from the idempotency store). With ``dry_run`` nothing reaches Tencent.

Tencent, the queues, the audit and the idempotency store are injected (``liveguard.ports``);
functions/actuator/app.py wires them.
"""

from __future__ import annotations

import functools
import json
import logging
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from pydantic import ValidationError

from liveguard.memory import NoMetrics
from liveguard.messages import ActionMessage, delay_seconds, message_group
from liveguard.ports import ActuatorQueues, AuditLog, CommandRunner, Idempotency, Metrics
from liveguard.rules.model import WRITE_COMMANDS
from liveguard.state import AuditRecord
from liveguard.tencent.errors import ErrorCategory, TencentApiError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = logging.getLogger(__name__)

# Kept back from the Lambda's remaining time when a command gets its deadline: enough to save the
# idempotency record, dead-letter the action and write its audit record after Tencent answers.
DEADLINE_MARGIN = 3.0
RETRY_BACKOFF = (5, 15, 45, 135, 405)
"""Seconds a retried action waits in the delayed-actions queue before its 1st, 2nd... retry: about
ten minutes of Tencent trouble (rate limits clear in seconds, an internal error in minutes) before
it is dead-lettered. Before, 5 receives 180 s apart with the room held meanwhile."""


class ActionOutcome(StrEnum):
    DONE = "done"  # Tencent carried it out
    GONE = "gone"  # the room is gone, which is what the command wanted (100004 on destroy/metadata)
    DRY_RUN = "dry_run"  # recorded, not sent
    FAILED = "failed"  # auth, permanent, or retryable past RETRY_BACKOFF: in the actions DLQ
    MALFORMED = "malformed"  # not an ActionMessage: in the actions DLQ
    # Not terminal, not audited: the record is complete and the action waits in the delayed-actions queue.
    DELAYED = "delayed"  # its not_before lies ahead
    RETRYING = "retrying"  # a retryable failure; retried after its backoff


def error_record(error: TencentApiError) -> dict[str, Any]:
    """The ``error`` object of a dead letter and an audit record."""
    return {
        "code": error.code,
        "info": error.info,
        "request_id": error.request_id,
        "category": str(error.category),
    }


def _describe(exc: ValidationError) -> str:
    # Field paths and messages only, never the input.
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '<body>'}: {error['msg']}"
        for error in exc.errors()
    )


class Actuator:
    """One per process: the LiveClient (made on first use), the idempotency store, the queues, the audit.

    ``client`` is a factory so that the Tencent secret is read only when a live action first needs
    it (never in dry-run mode), and so tests inject a LiveClient pointed at the emulator.
    """

    def __init__(
        self,
        *,
        client: Callable[[], CommandRunner],
        idempotency: Idempotency | None,
        queues: ActuatorQueues,
        audit: AuditLog,
        dry_run: bool = False,
        metrics: Metrics | None = None,
        margin: float = DEADLINE_MARGIN,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = functools.cache(client)
        self.idempotency = idempotency
        self.queues = queues
        self.audit = audit
        self.dry_run = dry_run
        self.metrics: Metrics = metrics or NoMetrics()
        self.margin = margin
        self._clock = clock
        self._monotonic = monotonic
        # Dry runs keep their own keys: switching DRY_RUN off must not find a "done" from a dry run.
        self._run_once: Callable[..., dict[str, Any]] = (
            self._run
            if idempotency is None
            else idempotency.once(self._run, key_argument="action", key_prefix="dry-run" if dry_run else None)
        )

    def handle_record(self, record: SQSRecord, lambda_context: LambdaContext | None = None) -> ActionOutcome:
        """The batch processor's record handler: an ActionOutcome when the record is complete; raises
        when SQS must redeliver it (logged: DynamoDB or SQS unavailable, an unreadable secret).
        Tencent's deadline comes from the invocation's remaining time, less a margin."""
        if lambda_context is not None and self.idempotency is not None:
            self.idempotency.register_lambda_context(lambda_context)
        try:
            return self._handle(record, lambda_context)
        except Exception:
            # Not swallowed: the record fails and SQS redelivers it. Logged here because the batch
            # processor only records it.
            self.metrics.add_metric("ActionErrored", "Count", 1)
            logger.exception("action could not be handled; SQS will deliver it again")
            raise

    def _handle(self, record: SQSRecord, context: LambdaContext | None) -> ActionOutcome:
        action = self._parse(record)
        if action is None:
            return ActionOutcome.MALFORMED
        log = {
            "action_id": action.id,
            "command": action.command,
            "room": action.room,
            "rule": action.rule,
            "cause": action.cause,
            "receive_count": record.attributes.get("ApproximateReceiveCount"),
        }
        if action.command not in WRITE_COMMANDS:
            return self._refuse_command(record, action, log)
        now = self._clock()
        if action.not_before is not None and action.not_before > now:
            return self._delay(action, delay_seconds(action.not_before, now), log)
        deadline = self._deadline(context)
        if deadline is not None and deadline <= self._monotonic():
            return self._retry(record, action, None, "no time left in this invocation", log)
        try:
            result = self._run_once(action=action, deadline=deadline)
        except TencentApiError as error:
            if error.retryable:
                return self._retry(record, action, error, str(error), log)
            return self._dead_letter_failed(record, action, error, log)
        except IdempotencyAlreadyInProgressError as busy:
            return self._retry(record, action, None, f"the same action is running elsewhere: {busy}", log)
        outcome = ActionOutcome(result["outcome"])
        self._audit(action, outcome, int(result["at_ms"]), None)
        replayed = bool(result.get("replayed"))
        self.metrics.add_metric(
            "ActionDuplicate" if replayed else f"Action{_metric_name(outcome)}", "Count", 1
        )
        logger.info(
            "action already done, not run again" if replayed else f"action {outcome}",
            extra={**log, "outcome": str(outcome), "request_id": result.get("request_id", "")},
        )
        return outcome

    def _run(self, *, action: ActionMessage, deadline: float | None) -> dict[str, Any]:
        """Call Tencent (the idempotent part). Returns the outcome to remember; raises when the action
        did not take effect, so its idempotency record is dropped and a later delivery runs it again."""
        at_ms = int(self._clock() * 1000)
        if self.dry_run:
            return {"outcome": str(ActionOutcome.DRY_RUN), "at_ms": at_ms}
        try:
            reply = self._client().execute(action.command, action.params, deadline=deadline)
        except TencentApiError as error:
            if error.gone:
                return {"outcome": str(ActionOutcome.GONE), "at_ms": at_ms, "request_id": error.request_id}
            raise
        return {"outcome": str(ActionOutcome.DONE), "at_ms": at_ms, "request_id": reply.request_id}

    def _parse(self, record: SQSRecord) -> ActionMessage | None:
        try:
            body = json.loads(record.body)
            if isinstance(body, dict):
                # A dead letter replayed after a fix still carries the error it failed with.
                body.pop("error", None)
            return ActionMessage.model_validate(body)
        except ValidationError as invalid:
            reason = f"not an ActionMessage: {_describe(invalid)}"
        except ValueError:
            reason = "not an ActionMessage: the body is not JSON"
        error = {"code": None, "info": reason, "request_id": "", "category": str(ErrorCategory.PERMANENT)}
        self.queues.dead_letter(
            {"raw": record.body, "error": error},
            group=record.attributes.message_group_id or "malformed",
            deduplication_id=record.message_id,
        )
        self.metrics.add_metric("ActionMalformed", "Count", 1)
        logger.error(
            "malformed action dead-lettered", extra={"message_id": record.message_id, "reason": reason}
        )
        return None

    def _delay(self, action: ActionMessage, seconds: int, log: Mapping[str, Any]) -> ActionOutcome:
        """Not due yet: to the delayed-actions queue with the time left (900 s at most: an action due
        later is sent again when it comes back), so it never holds its room's FIFO group."""
        self.queues.delay(action, seconds)
        self.metrics.add_metric("ActionDelayed", "Count", 1)
        logger.info("action not due yet; waits in the delayed-actions queue", extra={**log, "wait": seconds})
        return ActionOutcome.DELAYED

    def _retry(
        self,
        record: SQSRecord,
        action: ActionMessage,
        error: TencentApiError | None,
        reason: str,
        log: Mapping[str, Any],
    ) -> ActionOutcome:
        """Try again later, from the delayed-actions queue after a backoff; the record is complete,
        so the room's later actions go on. Past the last backoff: dead-lettered, audited as failed."""
        retries = action.retries or 0
        if retries >= len(RETRY_BACKOFF):
            details = {
                **(error_record(error) if error is not None else {"code": None, "request_id": ""}),
                "info": f"{reason} (gave up after {retries} retries)",
                "category": str(ErrorCategory.RETRYABLE),
            }
            return self._dead_letter(
                record, action, details, ErrorCategory.RETRYABLE, log, "action kept failing; dead-lettered"
            )
        wait = RETRY_BACKOFF[retries]
        self.queues.delay(action.model_copy(update={"retries": retries + 1}), wait)
        self.metrics.add_metric("ActionRetried", "Count", 1)
        logger.warning(
            "action not done; retried from the delayed-actions queue",
            extra={**log, "error": reason, "retry": retries + 1, "wait": wait},
        )
        return ActionOutcome.RETRYING

    def _dead_letter_failed(
        self, record: SQSRecord, action: ActionMessage, error: TencentApiError, log: Mapping[str, Any]
    ) -> ActionOutcome:
        return self._dead_letter(
            record, action, error_record(error), error.category, log, "action failed for good, dead-lettered"
        )

    def _refuse_command(
        self, record: SQSRecord, action: ActionMessage, log: Mapping[str, Any]
    ) -> ActionOutcome:
        # Rules can only name WRITE_COMMANDS (the loader checks), so this message did not come from
        # the moderator: dead-letter it for a human to look at, as a permanent failure.
        details = {
            "code": None,
            "info": f"{action.command[:64]!r} is not a command rules may run; not sent to Tencent",
            "request_id": "",
            "category": str(ErrorCategory.PERMANENT),
        }
        self.metrics.add_metric("ActionForbidden", "Count", 1)
        return self._dead_letter(
            record,
            action,
            details,
            ErrorCategory.PERMANENT,
            log,
            "action's command is not one rules may run; dead-lettered, not run",
        )

    def _dead_letter(
        self,
        record: SQSRecord,
        action: ActionMessage,
        details: Mapping[str, Any],
        category: ErrorCategory,
        log: Mapping[str, Any],
        message: str,
    ) -> ActionOutcome:
        """An action that must not be tried again: to the actions DLQ with why, audited as failed."""
        # Without ``retries``: an action replayed after a fix gets its retries again.
        self.queues.dead_letter(
            {**action.model_copy(update={"retries": None}).model_dump(mode="json"), "error": dict(details)},
            group=record.attributes.message_group_id or message_group(action.room),
            deduplication_id=record.message_id,
        )
        self._audit(action, ActionOutcome.FAILED, int(self._clock() * 1000), details)
        self.metrics.add_metric("ActionFailed", "Count", 1)
        self.metrics.add_metric(f"ActionFailed{category.capitalize()}", "Count", 1)
        logger.error(message, extra={**log, **details})
        return ActionOutcome.FAILED

    def _audit(
        self, action: ActionMessage, outcome: ActionOutcome, at_ms: int, error: Mapping[str, Any] | None
    ) -> None:
        """The audit record of an action's outcome (a put keyed by time and id: repeatable)."""
        self.audit.audit(
            action.room, AuditRecord.of_action(action, at_ms=at_ms, outcome=str(outcome), error=error)
        )

    def _deadline(self, context: LambdaContext | None) -> float | None:
        """A ``time.monotonic()`` instant for LiveClient: the invocation's remaining time, less a margin."""
        if context is None:
            return None
        return self._monotonic() + context.get_remaining_time_in_millis() / 1000 - self.margin


def _metric_name(outcome: ActionOutcome) -> str:
    return "".join(part.capitalize() for part in str(outcome).split("_"))


__all__ = [
    "RETRY_BACKOFF",
    "ActionOutcome",
    "Actuator",
    "error_record",
]
