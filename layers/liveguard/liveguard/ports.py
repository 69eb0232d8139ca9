"""The ports: what the services (ingress, moderator, actuator, drain) need of the world, as protocols.

The services are written against these and never name a concrete adapter. The adapters that talk
to AWS live under ``liveguard.aws`` (one per file); ``liveguard.memory`` keeps the ones that stay in
the process (the in-memory state store, dropped metrics); ``functions/*/app.py`` are the only places
that choose which adapter fills which port. This module holds protocols and nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from liveguard.rules.outcome import StateView

if TYPE_CHECKING:
    from liveguard.counters import CountedEvent, CounterPlan
    from liveguard.messages import ActionMessage
    from liveguard.review import HeldComment
    from liveguard.rules.bundle import PublishedBundle
    from liveguard.rules.outcome import StateChange
    from liveguard.spool import KeptEvent
    from liveguard.state import AuditRecord
    from liveguard.tencent.commands import Reply


# --- queues ----------------------------------------------------------------------------------------


class EventQueue(Protocol):
    """liveguard-events.fifo as the ingress and the drain send to it (``liveguard.aws.sqs``)."""

    def send_message(
        self, queue_url: str, body: str, *, group_id: str | None, deduplication_id: str | None, timeout: float
    ) -> object:
        """Send one message; raise an exception with a ``retryable`` attribute on failure."""


class ActionQueue(Protocol):
    """liveguard-actions.fifo as the moderator sends to it (``liveguard.aws.action_queue``)."""

    def send(self, messages: Sequence[ActionMessage]) -> None:
        """Queue every message, in order, or raise."""


class DelayedActionQueue(Protocol):
    """The delayed-actions queue (``liveguard.aws.delayed_action_queue``): a standard queue where an
    action waits for its time outside its room's FIFO group, read by the actuator as a second source."""

    def delay(self, delayed: Sequence[tuple[ActionMessage, int]]) -> None:
        """Queue each action to become visible after its delay (0-900 s), or raise."""


class DeadLetterQueue(Protocol):
    """The events DLQ (``liveguard.aws.dead_letter_queue``): where the moderator puts a record no
    retry can process."""

    def send(self, body: str, *, group: str, deduplication_id: str, reason: str) -> None:
        """Put a message that can never be processed where an operator will see it, or raise."""


class ActuatorQueues(Protocol):
    """The actuator's two sends beside its event sources (``liveguard.aws.actuator_queues``)."""

    def dead_letter(self, body: Mapping[str, Any], *, group: str, deduplication_id: str) -> None:
        """Send to the actions DLQ; raise on failure, so the record fails and is tried again."""

    def delay(self, action: ActionMessage, seconds: int) -> None:
        """Send to the delayed-actions queue, visible after ``seconds`` (0-900); raise on failure, so
        the record fails and is tried again."""


# --- the spool -------------------------------------------------------------------------------------


class EventSpool(Protocol):
    """What the ingress needs of the spool (``liveguard.aws.dynamodb.DynamoDbSpool``). Every call
    raises (any exception) when the table did not answer."""

    def keep(self, event: KeptEvent, *, timeout: float) -> None:
        """Store the event durably."""

    def room_has_kept(self, group: str, *, timeout: float) -> bool:
        """Whether the spool holds an event of this message group (strongly consistent)."""

    def is_active(self, *, timeout: float) -> bool:
        """Whether the spool's activity mark is set (some ingress kept an event lately)."""

    def mark_active(self, *, at_ms: int, timeout: float) -> None:
        """Set the activity mark, stamped ``at_ms``."""


class FloodCounters(Protocol):
    """The shared flood counters as the ingress updates them (``liveguard.aws.dynamodb.DynamoDbCounters``)."""

    def count(self, plan: CounterPlan, event: CountedEvent, now_ms: int) -> dict[str, int] | None:
        """Count the event in the counters ``plan`` names; its counts by ``liveguard.counters.count_key``
        (this event included), the ones taken when the store failed part-way, None when none were.
        Never raises for the store's failure: it is logged and counted."""


class SpoolPages(Protocol):
    """What the drain needs of the spool (``liveguard.aws.dynamodb.DynamoDbSpool``)."""

    def page(
        self, shard: int, *, limit: int = ..., start_key: Any = ..., timeout: float = ...
    ) -> tuple[list[KeptEvent], Any]:
        """One page of a shard's kept events, in (room, arrival) order, and where the next starts."""

    def remove(self, event: KeptEvent, *, timeout: float = ...) -> bool:
        """Delete a kept event once it is queued; False when it was already gone."""

    def clear_mark(self, *, older_than_ms: int, timeout: float = ...) -> bool:
        """Clear the activity mark unless an ingress set it since ``older_than_ms``."""


# --- state and audit -------------------------------------------------------------------------------


class AuditLog(Protocol):
    """Where the audit records go (``liveguard.aws.state_table.StateTable``)."""

    def audit(self, room_id: str | None, record: AuditRecord) -> None:
        """Write (or overwrite) an audit record in the room's partition (None: the app's)."""


class StateStore(StateView, AuditLog, Protocol):
    """The moderator's state: what the rules read, the changes they make, the decision journal.
    ``liveguard.aws.state_table.StateTable`` in DynamoDB; ``liveguard.memory.MemoryState`` in memory."""

    def apply(self, changes: Iterable[StateChange], *, event_id: str, now: float) -> None:
        """Write the state changes of the event ``event_id`` (at ``now``, unix seconds). Repeatable:
        a second apply of the same event's changes writes nothing new, and an older event's snapshot
        or sanction never replaces a newer one's."""

    def record_decision(
        self, room_id: str | None, record: AuditRecord, *, now: float, held: HeldComment | None = None
    ) -> AuditRecord:
        """Journal a decision and write its state changes (as ``apply`` at ``now``) and its held
        comment (a ``hold`` verdict's, ``liveguard.review``), unless its event has a journal entry
        already; return the record that stands. The journal is the moderator's
        idempotency: no other record is kept per event. All or nothing where the store can; where it
        cannot (more changes than one transaction holds), the entry is written first with outcome
        ``WRITING`` and replaced by ``record`` once the changes are: an entry left ``WRITING`` tells a
        retry to write the changes again."""

    def recorded_decision(self, room_id: str | None, event_id: str, at_ms: int) -> AuditRecord | None:
        """The journalled decision of the event received at ``at_ms``, if any."""

    def recorded_decisions(
        self, events: Iterable[tuple[str | None, str, int]]
    ) -> dict[tuple[str | None, str, int], AuditRecord]:
        """The journalled decisions of many events (room, event id, received at ms), read at once;
        events without one are left out."""


# --- Tencent, idempotency, metrics -----------------------------------------------------------------


class CommandRunner(Protocol):
    """What the actuator needs of Tencent (``liveguard.tencent.client.LiveClient``)."""

    def execute(self, command: str, params: Mapping[str, Any], *, deadline: float | None = None) -> Reply:
        """Run one REST command; raise ``TencentApiError`` when Tencent refused it."""


class Idempotency(Protocol):
    """Run-once over an at-least-once queue (``liveguard.aws.idempotency.PowertoolsIdempotency``)."""

    def once(
        self, function: Callable[..., dict[str, Any]], *, key_argument: str, key_prefix: str | None = None
    ) -> Callable[..., dict[str, Any]]:
        """``function`` run at most once per ``id`` of its ``key_argument``: a repeat returns the
        first run's result with ``replayed`` set. A run that raises is not remembered."""

    def register_lambda_context(self, context: Any) -> None:
        """Once per invocation: a run cut short by a timeout may be retried once the time is up."""


class Metrics(Protocol):
    """CloudWatch metrics (Powertools' ``Metrics``, flushed by the handler)."""

    def add_metric(self, name: str, unit: str, value: float) -> None: ...

    def add_dimension(self, name: str, value: str) -> None: ...


class RulesSource(Protocol):
    """The published rules' live bundle (``liveguard.aws.rules_bucket.RulesBucketReader``)."""

    @property
    def location(self) -> str:
        """Where it is, for logs (``s3://bucket/key``)."""

    def read(self, if_none_match: str | None = None) -> PublishedBundle | None:
        """The live bundle; None when its ETag is still ``if_none_match``. Raises NothingPublished,
        or BundleUnreadable (``retryable`` when another try may succeed)."""
