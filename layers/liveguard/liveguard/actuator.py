"""The actuator: run each action the moderator queued on liveguard-actions.fifo through LiveClient, once.

``Actuator.handle_batch`` takes the SQS event Lambda delivers (ReportBatchItemFailures) and returns the
partial batch response. Per record:

- a message that is not an ActionMessage is dead-lettered with the reason and completed;
- an action whose command is not one a rule may run (``liveguard.rules.model.WRITE_COMMANDS``: the
  reads and the callback configuration are not) is dead-lettered with the reason, audited as failed and
  never run: whoever can write to the actions queue must not be able to redirect Tencent's webhooks
  or switch their authentication off;
- an action whose ``not_before`` lies ahead is made invisible until then (ChangeMessageVisibility)
  and reported failed, so SQS hands it back when it is due, costing one receive;
- otherwise it runs through Powertools idempotency keyed on the action id, so a redelivered or
  duplicated action does not call Tencent twice. Success and ``gone`` complete it; a retryable
  failure fails the record (SQS retries it after the visibility timeout); ``auth`` and ``permanent``
  dead-letter it with the error, write an audit record and emit a metric.

Every terminal outcome (done, gone, dry_run, failed) is audited under the room through
``StateTable.audit`` (``pk ROOM#<room>``, ``sk AUDIT#<at_ms>#<action id>``; a replay rewrites the same
record, its ``at_ms`` coming from the idempotency store). With ``dry_run`` nothing reaches Tencent.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import time
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from pydantic import ValidationError

from liveguard.messages import ActionMessage, message_group
from liveguard.rules.model import WRITE_COMMANDS
from liveguard.settings import ActuatorEnvironment
from liveguard.state import AuditRecord, StateTable
from liveguard.tencent.commands import Reply
from liveguard.tencent.errors import ErrorCategory, TencentApiError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord
    from aws_lambda_powertools.utilities.typing import LambdaContext

logger = logging.getLogger(__name__)

# Kept back from the Lambda's remaining time when a command gets its deadline: enough to save the
# idempotency record, dead-letter the action and write its audit record after Tencent answers.
DEADLINE_MARGIN = 3.0
# How long an action id is remembered. It must outlast every redelivery (maxReceiveCount times the
# visibility timeout); a day leaves room for a slow queue.
IDEMPOTENCY_TTL = 24 * 3600
MAX_VISIBILITY = 12 * 3600  # SQS's ceiling for ChangeMessageVisibility


class ActionOutcome(StrEnum):
    DONE = "done"  # Tencent carried it out
    GONE = "gone"  # the room is gone, which is what the command wanted (100004 on destroy/metadata)
    DRY_RUN = "dry_run"  # recorded, not sent
    FAILED = "failed"  # auth or permanent: in the actions DLQ
    MALFORMED = "malformed"  # not an ActionMessage: in the actions DLQ


class ActionNotDone(Exception):  # noqa: N818 - a condition of the record, reported to SQS
    """The record must fail so SQS delivers it again (later)."""


class ActionDeferred(ActionNotDone):
    """The action's ``not_before`` lies ahead."""


class ActionRetry(ActionNotDone):
    """Tencent (or the time left) says: try again later."""


class CommandRunner(Protocol):
    """What the actuator needs of LiveClient."""

    def execute(self, command: str, params: Mapping[str, Any], *, deadline: float | None = None) -> Reply: ...


class Metrics(Protocol):
    def add_metric(self, name: str, unit: str, value: float) -> None: ...


class _NoMetrics:
    def add_metric(self, name: str, unit: str, value: float) -> None:
        pass


class ActionAudit(Protocol):
    def record(
        self, action: ActionMessage, outcome: ActionOutcome, at_ms: int, error: Mapping[str, Any] | None
    ) -> None:
        """Write the audit record of an action's outcome (a put keyed by time and id: repeatable)."""


class TableAudit:
    """Audit records in the state table, through ``StateTable.audit`` (the moderator's layout)."""

    def __init__(self, table: StateTable) -> None:
        self.table = table

    def record(
        self, action: ActionMessage, outcome: ActionOutcome, at_ms: int, error: Mapping[str, Any] | None
    ) -> None:
        self.table.audit(
            action.room,
            AuditRecord(
                id=action.id,
                at_ms=at_ms,
                kind="action",
                command=action.command,
                rules=[action.rule],
                actions=[action],
                outcome=str(outcome),
                error=None if error is None else json.dumps(error, ensure_ascii=False, separators=(",", ":")),
            ),
        )


class ActionQueues:
    """The two SQS calls the actuator makes beside its own event source: dead-letter and defer."""

    def __init__(self, sqs: Any, *, actions_queue_url: str, dlq_url: str) -> None:
        self.sqs = sqs
        self.actions_queue_url = actions_queue_url
        self.dlq_url = dlq_url

    def dead_letter(self, body: Mapping[str, Any], *, group: str, deduplication_id: str) -> None:
        """Send to the actions DLQ; raises on failure, so the record fails and is tried again."""
        message: dict[str, Any] = {
            "QueueUrl": self.dlq_url,
            "MessageBody": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        }
        if self.dlq_url.endswith(".fifo"):
            # Our own retries of one delivery share the dedup id; a replay after a fix is a new message.
            message["MessageGroupId"] = group
            message["MessageDeduplicationId"] = deduplication_id
        self.sqs.send_message(**message)

    def defer(self, receipt_handle: str, seconds: int) -> bool:
        """Hide a received message for ``seconds``; False (logged) when SQS refused."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.actions_queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except (BotoCoreError, ClientError) as exc:
            logger.warning(
                "could not defer the action; it returns after the visibility timeout instead",
                extra={"error": type(exc).__name__, "detail": str(exc)[:300]},
            )
            return False
        return True


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
        persistence: BasePersistenceLayer,
        queues: ActionQueues,
        audit: ActionAudit,
        dry_run: bool = False,
        metrics: Metrics | None = None,
        margin: float = DEADLINE_MARGIN,
        idempotency_ttl: int = IDEMPOTENCY_TTL,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = functools.cache(client)
        self.queues = queues
        self.audit = audit
        self.dry_run = dry_run
        self.metrics: Metrics = metrics or _NoMetrics()
        self.margin = margin
        self._clock = clock
        self._monotonic = monotonic
        self._context: LambdaContext | None = None
        self._config = IdempotencyConfig(
            event_key_jmespath="id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=idempotency_ttl,
            response_hook=_mark_replayed,
        )
        # Dry runs keep their own keys: switching DRY_RUN off must not find a "done" from a dry run.
        self._run_once: Callable[..., dict[str, Any]] = idempotent_function(
            self._run,
            data_keyword_argument="action",
            persistence_store=persistence,
            config=self._config,
            key_prefix="dry-run" if dry_run else None,
        )
        self.processor = SqsFifoPartialProcessor(skip_group_on_error=True)
        # A batch whose every record is deferred or retried is the queue working as designed, not a
        # function error: report the failures instead of raising (which would trip the error alarm).
        self.processor.raise_on_entire_batch_failure = False

    @classmethod
    def from_environment(
        cls, environment: ActuatorEnvironment, *, metrics: Metrics | None = None
    ) -> Actuator:
        """The actuator the Lambda runs: boto3 clients, the state table, LiveClient from the secret."""
        import boto3
        from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

        from liveguard.settings import load_tencent_secret
        from liveguard.tencent.client import LiveClient
        from liveguard.tencent.ratelimit import CommandRateLimiter

        dynamodb = boto3.client("dynamodb")

        def live_client() -> CommandRunner:
            secret = load_tencent_secret(environment.tencent_secret_arn)
            # Each concurrent actuator gets its share of every command's rate, so together they
            # stay under Tencent's limit.
            return LiveClient.from_secret(
                secret, limiter=CommandRateLimiter(concurrency=environment.concurrency)
            )

        return cls(
            client=live_client,
            persistence=DynamoDBPersistenceLayer(
                table_name=environment.state_table_name,
                key_attr="pk",
                sort_key_attr="sk",
                expiry_attr="expiration",
                boto3_client=dynamodb,
            ),
            queues=ActionQueues(
                boto3.client("sqs"),
                actions_queue_url=str(environment.actions_queue_url),
                dlq_url=str(environment.actions_dlq_url),
            ),
            audit=TableAudit(StateTable(environment.state_table_name, dynamodb)),
            dry_run=environment.dry_run,
            metrics=metrics,
        )

    def handle_batch(self, event: Mapping[str, Any], context: LambdaContext | None) -> dict[str, Any]:
        """Process one SQS batch; return the partial batch response (failed records' message ids)."""
        self._context = context
        if context is not None:
            self._config.register_lambda_context(context)
        try:
            response: dict[str, Any] = dict(
                process_partial_response(
                    event=dict(event),
                    record_handler=self.handle_record,
                    processor=self.processor,
                    context=context,
                )
            )
        finally:
            self._context = None
        return response

    def handle_record(self, record: SQSRecord) -> ActionOutcome:
        """One record: an ActionOutcome when it is complete; raises ActionNotDone when SQS must redeliver it
        (and any other error, logged, e.g. DynamoDB or SQS unavailable, or an unreadable secret)."""
        try:
            return self._handle(record)
        except ActionNotDone:
            raise
        except Exception:
            # Not swallowed: the record fails and SQS redelivers it. Logged here because the batch
            # processor only records it.
            self.metrics.add_metric("ActionErrored", "Count", 1)
            logger.exception("action could not be handled; SQS will deliver it again")
            raise

    def _handle(self, record: SQSRecord) -> ActionOutcome:
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
        if action.not_before is not None and action.not_before > self._clock():
            self._defer(record, action.not_before - self._clock(), log)
        deadline = self._deadline()
        if deadline is not None and deadline <= self._monotonic():
            self.metrics.add_metric("ActionRetried", "Count", 1)
            raise ActionRetry("no time left in this invocation")
        try:
            result = self._run_once(action=action, deadline=deadline)
        except TencentApiError as error:
            if error.retryable:
                self.metrics.add_metric("ActionRetried", "Count", 1)
                logger.warning("action failed, SQS will retry it", extra={**log, "error": str(error)})
                raise ActionRetry(str(error)) from error
            return self._dead_letter_failed(record, action, error, log)
        except IdempotencyAlreadyInProgressError as busy:
            self.metrics.add_metric("ActionRetried", "Count", 1)
            logger.warning("the same action is running elsewhere; retrying later", extra=log)
            raise ActionRetry(str(busy)) from busy
        outcome = ActionOutcome(result["outcome"])
        self.audit.record(action, outcome, int(result["at_ms"]), None)
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

    def _defer(self, record: SQSRecord, wait: float, log: Mapping[str, Any]) -> None:
        seconds = min(max(math.ceil(wait), 1), MAX_VISIBILITY)
        deferred = self.queues.defer(record.receipt_handle, seconds)
        self.metrics.add_metric("ActionDeferred", "Count", 1)
        logger.info("action not due yet", extra={**log, "wait": seconds, "visibility_changed": deferred})
        raise ActionDeferred(f"not before {seconds}s from now")

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
        self.queues.dead_letter(
            {**action.model_dump(mode="json"), "error": dict(details)},
            group=record.attributes.message_group_id or message_group(action.room),
            deduplication_id=record.message_id,
        )
        self.audit.record(action, ActionOutcome.FAILED, int(self._clock() * 1000), details)
        self.metrics.add_metric("ActionFailed", "Count", 1)
        self.metrics.add_metric(f"ActionFailed{category.capitalize()}", "Count", 1)
        logger.error(message, extra={**log, **details})
        return ActionOutcome.FAILED

    def _deadline(self) -> float | None:
        """A ``time.monotonic()`` instant for LiveClient: the invocation's remaining time, less a margin."""
        if self._context is None:
            return None
        return self._monotonic() + self._context.get_remaining_time_in_millis() / 1000 - self.margin


def _mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this only when the answer comes from the idempotency store."""
    return {**response, "replayed": True} if isinstance(response, dict) else response


def _metric_name(outcome: ActionOutcome) -> str:
    return "".join(part.capitalize() for part in str(outcome).split("_"))


__all__ = [
    "ActionAudit",
    "ActionDeferred",
    "ActionNotDone",
    "ActionOutcome",
    "ActionQueues",
    "ActionRetry",
    "Actuator",
    "CommandRunner",
    "TableAudit",
    "error_record",
]
