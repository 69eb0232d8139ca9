"""The moderator: each queued event through the rules, its state changes into the table, its actions
onto liveguard-actions.fifo (the delayed ones onto the delayed-actions queue), and an audit record of
the decision.

``Moderator.handle_record`` is the record handler of a Powertools ``SqsFifoPartialProcessor``: it
returns for an event that is done (decided, an echo recorded, or malformed and dead-lettered) and
raises for one that should be retried, which fails only that record's message group.

Exactly-once effects on an at-least-once queue, in two layers, with no record per event beyond the
decision itself (a record on which no rule fired writes nothing):

1. The decision journal is the idempotency: the audit record of a decision is written
   (conditionally, in one transaction with the strikes and violations it adds) before its actions
   are queued, and a retried event carries out that recorded decision rather than deciding again
   against state its first attempt already changed (its own strike would count twice). The
   journal entries of a whole batch are read at once (``read_ahead``).
2. Naturally idempotent effects: state items are keyed by the event, and each action's id (the
   FIFO deduplication id, and the actuator's idempotency key) derives from the event and the rule.
   A delayed action sent twice (the standard delayed-actions queue has no deduplication) runs once,
   by the actuator's idempotency on that id.

Where a decision's actions go: an action without a delay to its room's FIFO group, in order; one with
``delay_seconds`` (a ``not_before``) to the delayed-actions queue with the time left until then (SQS's
DelaySeconds, 900 s at most), where it waits outside the group: the room's later actions do not
wait behind it, and it runs when it is due, not when the group reaches it.

The engine, the rules, the queues and the state store are injected (the ports of
``liveguard.ports``): the logic is tested with an in-memory store and fakes, the adapters on their own,
and the handler (functions/moderator/app.py) only wires them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import ValidationError

from liveguard.messages import APP_GROUP, ActionMessage, EventEnvelope, action_id, delay_seconds
from liveguard.ports import ActionQueue, DeadLetterQueue, DelayedActionQueue, StateStore
from liveguard.review import STRIKE_WINDOW, HeldComment
from liveguard.rules.model import HOLD_DEFAULT_SECONDS
from liveguard.rules.outcome import Action, Decision, SaveSnapshot, StateView
from liveguard.rules.verdict import DROP, Verdict
from liveguard.state import WRITING, AuditRecord
from liveguard.webhooks.models import Callback, CallbackInvalid, MessageToSend, parse_callback

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

logger = logging.getLogger(__name__)

UNKNOWN_COMMAND = "Unknown"
"""The metric dimension of every command without a model: callers must not mint metric series."""

Status = Literal["moderated", "quiet", "echo", "malformed"]


# --- what the moderator is given -------------------------------------------------------------------


class Evaluate(Protocol):
    """``liveguard.rules.engine.evaluate``: the pure engine."""

    def __call__(
        self,
        event: Callback,
        state: StateView,
        rules: Any,
        /,
        *,
        now: float,
        admin: str,
        event_id: str,
        answered: Verdict | None,
        counts: Mapping[str, int] | None = None,
    ) -> Decision: ...


AdminSnapshots = Callable[[Callback], Iterable[SaveSnapshot]]
"""``liveguard.rules.engine.snapshots_from_admin``: what an admin echo makes the approved values."""
JournalKey = tuple[str | None, str, int]
"""An event's journal entry: (room, event id, received at ms)."""


class MalformedEvent(Exception):  # noqa: N818 - the domain's word: the event is malformed
    """A record that no retry can process: not an EventEnvelope, or a body its command's model refuses.
    Raised only when there is no dead-letter queue to send it to, so SQS redrives it there after
    maxReceiveCount."""


def read_event(body: str) -> tuple[EventEnvelope, Callback]:
    """An events-queue message body as the moderator reads it: the envelope, then its callback by the
    command's model. Raises ValidationError (not an envelope) or CallbackInvalid (not its command's)."""
    envelope = EventEnvelope.model_validate_json(body)
    return envelope, parse_callback(envelope.command, envelope.event)


# --- what the moderator reports --------------------------------------------------------------------


@dataclass(frozen=True)
class ModerationOutcome:
    """What became of one record."""

    status: Status
    event_id: str | None = None
    command: str | None = None
    rules: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    """The commands of the actions queued (in order)."""
    shadow: tuple[str, ...] = ()
    """The shadow rules that fired (what they would have done is in the audit record only)."""
    changes: int = 0
    replayed: bool = False
    """True when the event had been handled already and nothing was done again."""
    known: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "event_id": self.event_id,
            "command": self.command,
            "rules": list(self.rules),
            "actions": list(self.actions),
            "shadow": list(self.shadow),
            "changes": self.changes,
            "replayed": self.replayed,
            "known": self.known,
        }


@dataclass
class Tally:
    """Counts for the metrics of one batch."""

    events: Counter[str] = field(default_factory=Counter)
    """Events handled, by command (``Unknown`` for commands without a model)."""
    rules: Counter[str] = field(default_factory=Counter)
    shadow: Counter[str] = field(default_factory=Counter)
    """Shadow rules that fired, by rule: counted apart from ``rules`` (nothing was done)."""
    actions: Counter[str] = field(default_factory=Counter)
    """Actions queued, by REST command."""
    echoes: int = 0
    replayed: int = 0
    """Events handled before: nothing was done again."""
    malformed: int = 0
    failures: int = 0
    """Records that raised, so SQS returns them (a malformed one, when there is no DLQ to send it to)."""

    def count(self, outcome: ModerationOutcome) -> None:
        if outcome.status == "malformed":
            self.malformed += 1
            return
        self.events[(outcome.command if outcome.known else None) or UNKNOWN_COMMAND] += 1
        if outcome.replayed:
            self.replayed += 1
            return
        if outcome.status == "echo":
            self.echoes += 1
        self.rules.update(outcome.rules)
        self.shadow.update(outcome.shadow)
        self.actions.update(outcome.actions)


# --- the moderator ---------------------------------------------------------------------------------


class Moderator:
    """One per process, made at cold start with the loaded rules and the clients."""

    def __init__(
        self,
        *,
        state: StateStore,
        actions: ActionQueue,
        delayed: DelayedActionQueue,
        evaluate: Evaluate,
        rules: Any,
        admin: str | Callable[[], str],
        snapshots_from_admin: AdminSnapshots,
        dead_letters: DeadLetterQueue | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.state = state
        self.actions = actions
        self.delayed = delayed
        self._clock = clock
        self.evaluate = evaluate
        self.rules = rules
        self._admin = admin
        self.snapshots_from_admin = snapshots_from_admin
        self.dead_letters = dead_letters
        self.tally = Tally()
        # The batch's journal, read ahead: the events looked up, and the decisions found.
        self._looked_up: set[JournalKey] = set()
        self._journal: dict[JournalKey, AuditRecord] = {}
        # The batch's events read ahead, by SQS message id, for their handlers.
        self._read: dict[str, tuple[EventEnvelope, Callback]] = {}

    @property
    def rules_version(self) -> str | None:
        """The version of the rules in use (``RuleSet.version``), stamped on audit records and actions."""
        return getattr(self.rules, "version", None) or None

    @property
    def admin(self) -> str:
        """The app's AdminIdentifier (read when needed: it lives in the Tencent secret)."""
        return self._admin if isinstance(self._admin, str) else self._admin()

    def take_tally(self) -> Tally:
        """The counts since the last call (one batch's), and start again."""
        tally, self.tally = self.tally, Tally()
        return tally

    def read_ahead(self, records: Iterable[Mapping[str, Any]]) -> None:
        """Before a batch: read the journal entries of all its events at once (one read per 100
        events), so each record's handler knows whether its event was decided without a call.
        The events read here are kept for their handlers, which do not read them again; a record
        that cannot be read here is left to its handler."""
        self._looked_up, self._journal, self._read = set(), {}, {}
        keys: set[JournalKey] = set()
        for record in records:
            try:
                envelope, callback = read_event(str(record.get("body", "")))
            except (ValidationError, CallbackInvalid):
                continue
            self._read[str(record.get("messageId", ""))] = (envelope, callback)
            if not envelope.echo:
                keys.add((callback.room_key, envelope.id, envelope.received_at))
        if keys:
            self._journal = self.state.recorded_decisions(keys)
            self._looked_up = keys

    def handle_record(self, record: SQSRecord) -> dict[str, Any]:
        """The batch processor's record handler: returns when the record is done, raises to retry it."""
        try:
            outcome = self._handle(record)
        except Exception:
            self.tally.failures += 1
            raise
        self.tally.count(outcome)
        return outcome.as_dict()

    def _handle(self, record: SQSRecord) -> ModerationOutcome:
        try:
            if record.message_id in self._read:
                envelope, callback = self._read.pop(record.message_id)
            else:
                envelope, callback = read_event(record.body)
        except ValidationError as error:
            first = error.errors(include_url=False, include_context=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"]) or "<body>"
            return self._reject(record, f"not an event envelope: {where}: {first['msg']}")
        except CallbackInvalid as invalid:
            return self._reject(record, f"the event does not fit its command's model: {invalid}")
        log = {"event_id": envelope.id, "command": envelope.command, "group": envelope.group}
        try:
            outcome = self._moderate(envelope, callback)
        except Exception:
            logger.exception("event not moderated; its message group is retried", extra=log)
            raise
        return outcome

    def moderate(self, envelope: EventEnvelope) -> ModerationOutcome:
        """Moderate one event (outside a batch: the local tools and tests). Raises CallbackInvalid
        when the event does not fit its command's model."""
        callback = parse_callback(envelope.command, envelope.event)
        outcome = self._moderate(envelope, callback)
        self.tally.count(outcome)
        return outcome

    def _reject(self, record: SQSRecord, reason: str) -> ModerationOutcome:
        log = {"message_id": record.message_id, "reason": reason}
        if self.dead_letters is None:
            logger.error("malformed event: failing it until SQS moves it to the DLQ", extra=log)
            self.tally.malformed += 1
            raise MalformedEvent(reason)
        self.dead_letters.send(
            record.body,
            group=record.attributes.message_group_id or "malformed",
            deduplication_id=record.message_id,
            reason=reason,
        )
        logger.error("malformed event: sent to the events DLQ", extra=log)
        return ModerationOutcome(status="malformed")

    # --- one event (the idempotent unit) ---

    def _journalled(self, room: str | None, envelope: EventEnvelope) -> AuditRecord | None:
        key = (room, envelope.id, envelope.received_at)
        if key in self._looked_up:
            self._looked_up.discard(key)  # read once: a second delivery in the batch asks again
            return self._journal.pop(key, None)
        return self.state.recorded_decision(room, envelope.id, envelope.received_at)

    def _moderate(self, envelope: EventEnvelope, callback: Callback) -> ModerationOutcome:
        room = callback.room_key
        at_ms = envelope.received_at
        now = at_ms / 1000
        base = ModerationOutcome(
            status="quiet", event_id=envelope.id, command=envelope.command, known=envelope.known
        )
        admin = self.admin
        # The ingress marks echoes; checked again here in case its secret said otherwise (no loops).
        if envelope.echo or (callback.operator is not None and callback.operator == admin):
            return self._record_echo(envelope, callback, room, base)
        record = self._journalled(room, envelope)
        fresh = False
        if record is None:
            # A before-callback's verdict was answered at the ingress: it stands, and no rule is
            # recorded as firing with a verdict it did not give (the engine's ``answered``).
            inline = envelope.decision
            # The flood counts the ingress took travel with the event: decided on the same numbers,
            # never counted again (a redelivered message is not a new event). Passed only when there
            # are some, so an engine that knows no counts is called as before.
            flood = {"counts": envelope.counts} if envelope.counts is not None else {}
            decision = self.evaluate(
                callback,
                self.state,
                self.rules,
                now=now,
                admin=admin,
                event_id=envelope.id,
                answered=inline,
                **flood,
            )
            if not (
                decision.fired
                or decision.shadow
                or decision.actions
                or decision.changes
                or (inline is not None and inline.action != "deliver")
            ):
                return base
            version = self.rules_version
            actions = [_message(action, envelope, room, version) for action in decision.actions]
            decided = AuditRecord(
                id=envelope.id,
                at_ms=at_ms,
                kind="event",
                command=envelope.command,
                rules=list(decision.fired),
                matches=list(decision.matches),
                actions=actions,
                changes=list(decision.changes),
                # What Tencent was answered, for a before-callback; else the engine's opinion.
                verdict=inline or decision.verdict,
                # What the shadow rules would have done: in the same journal write, never carried out.
                shadow=list(decision.shadow),
                # The counts a rate, repeat or raid rule fired on: why a flood rule fired.
                counts=envelope.counts,
                outcome="decided",
                rules_version=version,
            )
            # The journal entry, every change and a held comment in one write; the entry that stands
            # is the decision.
            held = _held(callback, envelope, decided, self.state, now)
            if held is None:
                record = self.state.record_decision(room, decided, now=now)
            else:
                record = self.state.record_decision(room, decided, now=now, held=held)
            fresh = record is decided
        log = {
            "event_id": envelope.id,
            "command": envelope.command,
            "rules": record.rules,
            "shadow": [firing.rule for firing in record.shadow],
        }
        if not fresh:
            # Journalled already: by an earlier attempt, which may have stopped before queueing its
            # actions, or by one running at the same time. Its decision stands (deciding again would
            # count the event's own strike twice). Its changes are written again if it was cut short
            # while writing them (repeatable: keyed by the event, or the newest event's word), and its
            # actions are queued again under the same ids: the actions queue's deduplication and the
            # actuator's idempotency drop the copies. An entry a version before this one marked
            # "queued" had its actions queued.
            if record.outcome == WRITING:
                self.state.apply(record.changes, event_id=envelope.id, now=now)
            if record.outcome != "queued":
                self._queue(record.actions)
            logger.info("decision already journalled; its actions queued again", extra=log)
        else:
            self._queue(record.actions)
            logger.info(
                "event moderated",
                extra={
                    **log,
                    "actions": [m.command for m in record.actions],
                    "changes": len(record.changes),
                    # What matched, so a moderator reading the log sees why without the audit.
                    "matches": [
                        f"{hit.rule}: {hit.list} {hit.term!r}"
                        f" in {hit.key or hit.field}[{hit.start}:{hit.end}]"
                        for hit in record.matches
                    ],
                },
            )
        return replace(
            base,
            status="moderated",
            rules=tuple(record.rules),
            actions=tuple(m.command for m in record.actions),
            shadow=tuple(firing.rule for firing in record.shadow),
            changes=len(record.changes),
            replayed=not fresh,
        )

    def _queue(self, actions: list[ActionMessage]) -> None:
        """The immediate actions to their rooms' FIFO groups (in order), the delayed ones to the
        delayed-actions queue with the time left from now (the wall clock: the event may have
        waited in its queue), so that none holds its room's group while it waits."""
        immediate = [action for action in actions if action.not_before is None]
        if immediate:
            self.actions.send(immediate)
        now = self._clock()
        waiting = [
            (action, delay_seconds(action.not_before, now))
            for action in actions
            if action.not_before is not None
        ]
        if waiting:
            self.delayed.delay(waiting)

    def _record_echo(
        self, envelope: EventEnvelope, callback: Callback, room: str | None, base: ModerationOutcome
    ) -> ModerationOutcome:
        """Our own admin caused it: never moderated (no loops), but an admin's metadata is the
        approved value that protected keys are restored to."""
        snapshots = list(self.snapshots_from_admin(callback))
        self.state.apply(snapshots, event_id=envelope.id, now=envelope.received_at / 1000)
        self.state.audit(
            room,
            AuditRecord(
                id=envelope.id,
                at_ms=envelope.received_at,
                kind="event",
                command=envelope.command,
                changes=list(snapshots),
                outcome="echo",
                rules_version=self.rules_version,
            ),
        )
        logger.debug("echo recorded", extra={"event_id": envelope.id, "snapshots": len(snapshots)})
        return replace(base, status="echo", changes=len(snapshots))


def _held(
    callback: Callback, envelope: EventEnvelope, decided: AuditRecord, state: StateView, now: float
) -> HeldComment | None:
    """The review queue's item for a comment the answered verdict held (``liveguard.review``): the
    message as Tencent sent it, why, and the sender's strikes in the room (one count read, for a held
    comment only). None for every other decision."""
    verdict = decided.verdict
    if verdict is None or verdict.action != "hold" or not isinstance(callback, MessageToSend):
        return None
    sender = callback.from_account or callback.operator
    raw_body = envelope.event.get("MsgBody")
    if not sender or not isinstance(raw_body, list):
        logger.warning("a held comment without a sender or MsgBody is not queued for review")
        return None
    room = callback.room_key
    added = sum(
        change.count for change in decided.changes if change.kind == "strike" and change.user_id == sender
    )
    return HeldComment(
        id=envelope.id,
        room=room,
        sender=sender,
        msg_body=[element for element in raw_body if isinstance(element, dict)],
        cloud_custom_data=callback.cloud_custom_data,
        rule=verdict.rule or "",
        reason=verdict.reason,
        notify=verdict.code != DROP,
        matches=list(decided.matches),
        at_ms=envelope.received_at,
        expires_at=envelope.received_at // 1000 + (verdict.expires or HOLD_DEFAULT_SECONDS),
        strikes=state.strike_count(room, sender, STRIKE_WINDOW, now) + added,
    )


def _message(action: Action, envelope: EventEnvelope, room: str | None, version: str | None) -> ActionMessage:
    """The actions-queue message of one decided action. Its room (the message group's source) is the
    room the command names, else the event's; its not_before counts from when the event arrived."""
    target = action.params.get("RoomId")
    delay = action.delay_seconds
    return ActionMessage(
        id=action_id(envelope.id, action.rule, action.command, action.params),
        command=action.command,
        params=action.params,
        room=target if isinstance(target, str) and target else (room or APP_GROUP),
        rule=action.rule,
        cause=envelope.id,
        not_before=-(-envelope.received_at // 1000) + delay if delay else None,  # whole seconds, never early
        rules_version=version,
    )
