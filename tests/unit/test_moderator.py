"""The moderator's logic: decisions carried out (state, actions, audit) exactly once per event, echoes
recorded and never moderated, malformed records dead-lettered. The state store is the in-memory one
(``liveguard.memory.MemoryState``, which the state tests hold to the table's behaviour); the engine is
a scripted fake here and the real one with the default rules at the end. The SQS adapters are tested
in test_aws_queues.py."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from pydantic import ValidationError

from liveguard.aws.action_queue import ActionsNotQueued
from liveguard.aws.state_table import StateTable
from liveguard.memory import MemoryState
from liveguard.messages import ActionMessage, CallbackQuery, EventEnvelope, action_id, event_id, message_group
from liveguard.moderator import MalformedEvent, Moderator
from liveguard.rules.outcome import (
    Action,
    AddStrike,
    Decision,
    RecordSanction,
    SaveSnapshot,
    StateView,
)
from liveguard.rules.verdict import Verdict
from liveguard.settings import ModeratorEnvironment
from liveguard.state import WRITING
from liveguard.webhooks.models import MessageSent, MessageToSend, RoomMetadataSet
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET
from tests.functions import lambda_context

from .conftest import STATE_TABLE as TABLE

ADMIN = LOCAL_SECRET["AdminIdentifier"]
ROOM = "live-room-1"
RECEIVED_AT = 1_800_000_000_000  # unix ms


def make_envelope(
    command: str,
    *,
    received_at: int = RECEIVED_AT,
    decision: Verdict | None = None,
    **changes: Any,
) -> EventEnvelope:
    """The envelope the ingress would queue for CALLBACK_BODIES[command] with ``changes`` applied."""
    body = {**copy.deepcopy(CALLBACK_BODIES[command]), **changes}
    raw = json.dumps(body).encode()
    operator = body.get("Operator_Account")
    room = body.get("RoomId") or body.get("GroupId") or (body.get("RoomInfo") or {}).get("RoomId")
    return EventEnvelope(
        id=event_id(LOCAL_SECRET["SdkAppId"], command, raw),
        command=command,
        received_at=received_at,
        query=CallbackQuery(client_ip="203.0.113.7", opt_platform="Android"),
        event=body,
        decision=decision,
        echo=operator == ADMIN,
        group=message_group(room),
    )


def comment(text: str, *, sender: str = "viewer-7", at: int = RECEIVED_AT, **changes: Any) -> EventEnvelope:
    return make_envelope(
        "Group.CallbackAfterSendMsg",
        received_at=at,
        From_Account=sender,
        Operator_Account=sender,
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
        Random=at,  # a distinct body, so a distinct event id
        **changes,
    )


def sqs_record(body: str, *, message_id: str = "m-1", group: str = ROOM, receive_count: int = 1) -> SQSRecord:
    return SQSRecord(
        {
            "messageId": message_id,
            "receiptHandle": "handle",
            "body": body,
            "attributes": {
                "ApproximateReceiveCount": str(receive_count),
                "MessageGroupId": group,
                "MessageDeduplicationId": "dedup",
                "SentTimestamp": "1800000000000",
                "SequenceNumber": "1",
            },
            "messageAttributes": {},
            "md5OfBody": "",
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:liveguard-events-test.fifo",
            "awsRegion": "us-east-1",
        }
    )


CONTEXT = lambda_context("ModeratorFunction", remaining_ms=30_000)


# --- fakes -----------------------------------------------------------------------------------------


@dataclass
class SpamEngine:
    """A scripted engine: a comment holding "spam" strikes its sender; the third strike in ten
    minutes (counting this one) mutes them for 10 minutes. It reads strikes through the state view."""

    calls: list[dict[str, Any]] = field(default_factory=list)
    delay_seconds: int = 0

    def __call__(
        self,
        event: Any,
        state: StateView,
        rules: Any,
        *,
        now: float,
        admin: str,
        event_id: str,
        answered: Any = None,
    ) -> Decision:
        self.calls.append({"event": event, "rules": rules, "now": now, "admin": admin, "event_id": event_id})
        if not isinstance(event, MessageSent | MessageToSend) or not any("spam" in t for t in event.texts()):
            return Decision()
        user = event.from_account or ""
        changes: list[Any] = [AddStrike(room_id=event.room_key, rule="spam", user_id=user)]
        actions = [
            Action(
                command="send_custom_msg",
                params={
                    "RoomId": event.room_key,
                    "Sender_Account": admin,
                    "BusinessId": "warn",
                    "Data": user,
                },
                rule="spam",
                delay_seconds=self.delay_seconds,
            )
        ]
        fired = ["spam"]
        if state.strike_count(event.room_key, user, 600, now) + 1 >= 3:
            fired.append("mute")
            changes.append(
                RecordSanction(
                    room_id=event.room_key, rule="mute", user_id=user, sanction="muted", until=int(now) + 600
                )
            )
            actions.append(
                Action(
                    command="mute_member",
                    params={"RoomId": event.room_key, "MemberList_Account": [user], "MuteTime": 600},
                    rule="mute",
                )
            )
        return Decision(actions=actions, changes=changes, fired=fired)


def admin_snapshots(event: Any) -> list[SaveSnapshot]:
    if isinstance(event, RoomMetadataSet):
        return [
            SaveSnapshot(room_id=event.room_id, rule="admin-approval", key=key, value=value)
            for key, value in event.as_dict().items()
        ]
    return []


@dataclass
class RecordingQueue:
    """The actions queue and the delayed-actions queue: keeps what was sent to each; fails the next
    ``failures`` sends."""

    failures: int = 0
    sent: list[ActionMessage] = field(default_factory=list)
    delayed: list[tuple[ActionMessage, int]] = field(default_factory=list)

    def send(self, messages: list[ActionMessage]) -> None:
        if self.failures:
            self.failures -= 1
            raise ActionsNotQueued("SQS is down")
        self.sent.extend(messages)

    def delay(self, delayed: list[tuple[ActionMessage, int]]) -> None:
        if self.failures:
            self.failures -= 1
            raise ActionsNotQueued("SQS is down")
        self.delayed.extend(delayed)


@dataclass
class RecordingDeadLetters:
    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, body: str, *, group: str, deduplication_id: str, reason: str) -> None:
        self.sent.append({"body": body, "group": group, "dedup": deduplication_id, "reason": reason})


def build_moderator(*, state: Any, actions: Any, evaluate: Any, **options: Any) -> Moderator:
    """The moderator under test: ``actions`` (a recording queue) takes its immediate and its delayed
    actions; our admin, the fake admin snapshots and no rules unless ``options`` say otherwise."""
    defaults: dict[str, Any] = {"rules": None, "admin": ADMIN, "snapshots_from_admin": admin_snapshots}
    return Moderator(
        state=state, actions=actions, delayed=actions, evaluate=evaluate, **{**defaults, **options}
    )


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def table() -> MemoryState:
    """The moderator's state store, in memory."""
    return MemoryState()


@pytest.fixture
def engine() -> SpamEngine:
    return SpamEngine()


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def dead_letters() -> RecordingDeadLetters:
    return RecordingDeadLetters()


@pytest.fixture
def moderator(table, engine, queue, dead_letters) -> Moderator:
    return build_moderator(
        state=table,
        actions=queue,
        evaluate=engine,
        rules="the rules",
        dead_letters=dead_letters,
    )


# --- decisions -------------------------------------------------------------------------------------


def test_the_engine_decides_with_the_events_time_the_admin_the_rules_and_the_event_id(moderator, engine):
    # Given a comment received at RECEIVED_AT
    envelope = comment("hello")
    # When it is moderated
    moderator.moderate(envelope)
    # Then the engine saw the parsed callback, at the time the ingress received it
    (call,) = engine.calls
    assert isinstance(call["event"], MessageSent)
    assert call["now"] == RECEIVED_AT / 1000
    assert (call["admin"], call["rules"], call["event_id"]) == (ADMIN, "the rules", envelope.id)


def test_each_action_is_queued_with_its_id_its_room_and_its_cause(moderator, queue):
    # Given a comment that the rules answer with a warning
    envelope = comment("spam!")
    # When it is moderated
    outcome = moderator.moderate(envelope)
    # Then one message waits for the actuator, identified by cause, rule, command and params
    (message,) = queue.sent
    params = {"RoomId": ROOM, "Sender_Account": ADMIN, "BusinessId": "warn", "Data": "viewer-7"}
    assert message == ActionMessage(
        id=action_id(envelope.id, "spam", "send_custom_msg", params),
        command="send_custom_msg",
        params=params,
        room=ROOM,
        rule="spam",
        cause=envelope.id,
    )
    assert outcome.status == "moderated"
    assert outcome.actions == ("send_custom_msg",)


def test_the_state_changes_of_a_decision_are_written(moderator, table):
    moderator.moderate(comment("spam!"))
    assert table.strike_count(ROOM, "viewer-7", 600, RECEIVED_AT / 1000) == 1


def test_the_decision_is_audited_with_its_rules_actions_and_changes(moderator, table):
    # When a spam comment is moderated
    envelope = comment("spam!")
    moderator.moderate(envelope)
    # Then the room's audit says what was decided
    (record,) = table.audit_for_room(ROOM)
    assert record["id"] == envelope.id
    assert record["command"] == "Group.CallbackAfterSendMsg"
    assert record["rules"] == ["spam"]
    assert [a["command"] for a in record["actions"]] == ["send_custom_msg"]
    assert record["changes"][0]["kind"] == "strike"
    assert record["outcome"] == "decided"


def test_the_third_strike_within_the_window_mutes_the_user(moderator, queue, table):
    # Given two earlier spam comments from viewer-7 within ten minutes
    moderator.moderate(comment("spam 1", at=RECEIVED_AT))
    moderator.moderate(comment("spam 2", at=RECEIVED_AT + 60_000))
    # When a third one comes
    outcome = moderator.moderate(comment("spam 3", at=RECEIVED_AT + 120_000))
    # Then the user is muted, and the mute is remembered
    assert outcome.rules == ("spam", "mute")
    assert queue.sent[-1].command == "mute_member"
    assert table.sanction(ROOM, "viewer-7", RECEIVED_AT / 1000 + 130) == "muted"


def test_a_quiet_event_leaves_no_trace(moderator, queue, table):
    # When a harmless comment is moderated
    outcome = moderator.moderate(comment("hello"))
    # Then nothing is queued, and nothing audited
    assert outcome.status == "quiet"
    assert queue.sent == []
    assert table.audit_for_room(ROOM) == []


def test_an_inline_refusal_is_audited_even_when_no_rule_fires_later(moderator, table):
    # Given a gift the ingress refused inline
    refused = Verdict(action="reject", code=1, rule="gift-over-cap", reason="over the cap")
    envelope = make_envelope("Live.CallbackBeforeSendGift", decision=refused)
    # When it is moderated
    moderator.moderate(envelope)
    # Then the audit records what Tencent was answered
    (record,) = table.audit_for_room(ROOM)
    assert record["verdict"]["action"] == "reject"
    assert record["verdict"]["rule"] == "gift-over-cap"


def test_a_delayed_action_carries_when_it_may_run(table, queue, dead_letters):
    # Given rules that warn five minutes after the event
    moderator = build_moderator(
        state=table,
        actions=queue,
        evaluate=SpamEngine(delay_seconds=300),
        clock=lambda: RECEIVED_AT / 1000 + 0.5,
    )
    # When a spam comment arrives at RECEIVED_AT (+ 0.5 s)
    moderator.moderate(comment("spam", at=RECEIVED_AT + 500))
    # Then the action may not run before five minutes after it (whole seconds, never early)
    [(action, _)] = queue.delayed
    assert action.not_before == RECEIVED_AT // 1000 + 1 + 300


def _mixed_decision(event: Any, state: Any, rules: Any, **_: Any) -> Decision:
    """A rule with an immediate action and two delayed ones (3 s and 5 s), all in the event's room."""

    def send(delay: int) -> Action:
        params = {"RoomId": ROOM, "Sender_Account": ADMIN, "BusinessId": f"after-{delay}", "Data": "x"}
        return Action(command="send_custom_msg", params=params, rule="timed", delay_seconds=delay)

    return Decision(actions=[send(3), send(0), send(5)], fired=["timed"])


def test_delayed_actions_wait_in_the_delayed_queue_and_immediate_ones_go_to_the_rooms_group(table, queue):
    # Given a rule with two delayed actions and an immediate one, and the moderator 0.2 s after the event
    moderator = build_moderator(
        state=table,
        actions=queue,
        evaluate=_mixed_decision,
        clock=lambda: RECEIVED_AT / 1000 + 0.2,
    )
    # When the event is moderated
    moderator.moderate(comment("hello"))
    # Then only the immediate action is in the room's FIFO group
    assert [action.params["BusinessId"] for action in queue.sent] == ["after-0"]
    assert queue.sent[0].not_before is None
    # And the delayed ones wait outside it, each with the time left until it is due
    assert [(action.params["BusinessId"], seconds) for action, seconds in queue.delayed] == [
        ("after-3", 3),
        ("after-5", 5),
    ]
    assert [action.not_before for action, _ in queue.delayed] == [
        RECEIVED_AT // 1000 + 3,
        RECEIVED_AT // 1000 + 5,
    ]


def test_a_delay_counts_from_now_so_an_event_that_waited_in_its_queue_is_not_delayed_twice(table, queue):
    # Given the moderator reaching the event 4 s after it arrived (its queue was behind)
    moderator = build_moderator(
        state=table,
        actions=queue,
        evaluate=_mixed_decision,
        clock=lambda: RECEIVED_AT / 1000 + 4,
    )
    # When it is moderated
    moderator.moderate(comment("hello"))
    # Then the 3 s action is already due (no delay) and the 5 s one waits the one second left
    assert [seconds for _, seconds in queue.delayed] == [0, 1]


def test_an_action_on_another_room_goes_to_that_rooms_group(table, queue):
    # Given rules that act on the room named in the action, not the event's
    def engine(event: Any, state: Any, rules: Any, **_: Any) -> Decision:
        return Decision(
            actions=[Action(command="destroy_room", params={"RoomId": "live-room-2"}, rule="battle")],
            fired=["battle"],
        )

    moderator = build_moderator(
        state=table,
        actions=queue,
        evaluate=engine,
    )
    # When a battle event is moderated
    moderator.moderate(make_envelope("Live.CallbackAfterCreateBattle"))
    # Then the action belongs to live-room-2
    assert queue.sent[0].room == "live-room-2"


def test_the_admin_is_read_when_needed(table, queue, engine):
    # Given an admin identifier that comes from the secret, read lazily
    reads: list[int] = []

    def admin() -> str:
        reads.append(1)
        return "the-admin"

    moderator = build_moderator(
        state=table,
        actions=queue,
        evaluate=engine,
        admin=admin,
    )
    # When an event is moderated
    moderator.moderate(comment("hello"))
    # Then the engine was given the secret's admin
    assert engine.calls[0]["admin"] == "the-admin"
    assert reads == [1]


# --- exactly once ----------------------------------------------------------------------------------


def test_a_redelivered_event_is_not_decided_again(moderator, engine, queue, table):
    # Given a spam comment that was moderated
    envelope = comment("spam!")
    moderator.moderate(envelope)
    # When the same event is delivered again
    outcome = moderator.moderate(envelope)
    # Then it is not decided again: one decision, one strike, and its one action queued again under
    # the same id (the first attempt may have stopped before queueing it; SQS and the actuator drop
    # a copy)
    assert outcome.replayed
    assert len(engine.calls) == 1
    (first, again) = queue.sent
    assert first.id == again.id
    assert table.strike_count(ROOM, "viewer-7", 600, RECEIVED_AT / 1000) == 1


def test_a_retry_after_a_failure_carries_out_the_first_decision(moderator, engine, queue, table):
    # Given viewer-7 struck twice already
    moderator.moderate(comment("spam 1", at=RECEIVED_AT))
    moderator.moderate(comment("spam 2", at=RECEIVED_AT + 60_000))
    # And a third spam comment whose actions could not be queued (its strike was written)
    third = comment("spam 3", at=RECEIVED_AT + 120_000)
    queue.failures = 1
    with pytest.raises(ActionsNotQueued):
        moderator.moderate(third)
    # When the event is retried
    outcome = moderator.moderate(third)
    # Then the first decision is carried out (a mute), not a new one counting its own strike twice
    assert outcome.rules == ("spam", "mute")
    assert [m.command for m in queue.sent[-2:]] == ["send_custom_msg", "mute_member"]
    assert len(engine.calls) == 3
    assert table.strike_count(ROOM, "viewer-7", 600, RECEIVED_AT / 1000 + 130) == 3


@dataclass
class FailingJournal(MemoryState):
    """The in-memory store, whose next ``failures`` journal writes fail as DynamoDB can."""

    failures: int = 0

    def record_decision(self, room_id: str | None, record: Any, *, now: float) -> Any:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("the state table did not answer")
        return super().record_decision(room_id, record, now=now)


def test_an_action_is_never_queued_before_its_decision_is_journalled(engine, queue):
    # Given a spam comment whose journal write fails
    state = FailingJournal(failures=1)
    moderator = build_moderator(state=state, actions=queue, evaluate=engine)
    envelope = comment("spam!")
    with pytest.raises(ConnectionError):
        moderator.moderate(envelope)
    # Then nothing was queued: a decision that was not journalled may yet be another one
    assert queue.sent == []
    # And the retry decides, journals and queues it once
    moderator.moderate(envelope)
    assert [m.command for m in queue.sent] == ["send_custom_msg"]
    assert state.strike_count(ROOM, "viewer-7", 600, RECEIVED_AT / 1000) == 1
    assert [r["outcome"] for r in state.audit_for_room(ROOM)] == ["decided"]


def test_a_second_attempt_running_alongside_the_first_carries_out_the_first_decision(engine, queue):
    # Given two deliveries of viewer-7's second spam comment, moderated at once: both read no
    # journal entry, and the first journals its decision (a strike, the second: no mute) first
    state = MemoryState()
    moderator = build_moderator(state=state, actions=queue, evaluate=engine)
    moderator.moderate(comment("spam 1", at=RECEIVED_AT))
    second = comment("spam 2", at=RECEIVED_AT + 60_000)
    moderator.moderate(second)
    first = [m.id for m in queue.sent]
    # When the other attempt, whose journal read came before that write, decides with the first
    # one's strike already counted (a third: it would mute) and goes to journal that
    late = build_moderator(state=state, actions=queue, evaluate=engine)
    late._journalled = lambda room, envelope: None  # type: ignore[method-assign]
    outcome = late.moderate(second)
    # Then the first decision stands: no mute, only its own action queued again under its id
    assert outcome.replayed
    assert outcome.rules == ("spam",)
    assert [m.command for m in queue.sent] == ["send_custom_msg"] * 3
    assert [m.id for m in queue.sent] == [*first, first[-1]]
    assert state.strike_count(ROOM, "viewer-7", 600, RECEIVED_AT / 1000 + 70) == 2


def test_a_decision_cut_short_while_its_changes_were_written_is_finished_by_the_retry(table, engine, queue):
    # Given a spam comment whose journal entry a first attempt wrote before its changes (a decision
    # too big for one transaction) and then stopped: its strike and its action are not done
    first = build_moderator(state=MemoryState(), actions=RecordingQueue(), evaluate=engine)
    envelope = comment("spam!")
    first.moderate(envelope)
    record = first.state.recorded_decision(ROOM, envelope.id, envelope.received_at)
    table.audit(ROOM, record.model_copy(update={"outcome": WRITING}))
    # When the event is retried
    outcome = build_moderator(state=table, actions=queue, evaluate=engine).moderate(envelope)
    # Then that decision is carried out, not decided again: its strike and its action
    assert outcome.rules == tuple(record.rules)
    assert [m.id for m in queue.sent] == [m.id for m in record.actions]
    assert table.strike_count(ROOM, "viewer-7", 600, RECEIVED_AT / 1000) == 1
    assert len(engine.calls) == 1


def test_the_journal_is_the_only_record_a_completed_event_leaves(dynamodb, engine, queue):
    # Given the moderator on the DynamoDB state table (moto)
    moderator = build_moderator(
        state=StateTable(TABLE, client=dynamodb),
        actions=queue,
        evaluate=engine,
    )
    envelope = comment("spam!")
    first = moderator.moderate(envelope)
    # When the event comes again
    again = moderator.moderate(envelope)
    # Then its journalled decision stands: marked as a replay, and nothing ran again
    assert again.replayed
    assert not first.replayed
    assert again.rules == first.rules
    assert len(engine.calls) == 1
    assert len({m.id for m in queue.sent}) == 1
    # And the table holds the decision and its strike, in the room's partition, and nothing else
    stored = sorted(item["sk"]["S"].split("#")[0] for item in dynamodb.scan(TableName=TABLE)["Items"])
    assert stored == ["AUDIT", "STRIKE"]
    assert {item["pk"]["S"] for item in dynamodb.scan(TableName=TABLE)["Items"]} == {f"ROOM#{ROOM}"}


@dataclass
class CountingState(MemoryState):
    """The in-memory store, counting the journal reads."""

    single_reads: int = 0
    batch_reads: int = 0

    def recorded_decision(self, room_id: str | None, event_id: str, at_ms: int) -> Any:
        self.single_reads += 1
        return super().recorded_decision(room_id, event_id, at_ms)

    def recorded_decisions(self, events: Any) -> Any:
        self.batch_reads += 1
        return super().recorded_decisions(events)


def test_a_batch_reads_its_journal_once(engine, queue, dead_letters):
    # Given a batch of five events, one of them decided before
    state = CountingState()
    moderator = build_moderator(
        state=state,
        actions=queue,
        evaluate=engine,
        dead_letters=dead_letters,
    )
    envelopes = [comment(f"spam {n}" if n % 2 else f"hello {n}", at=RECEIVED_AT + n) for n in range(5)]
    moderator.moderate(envelopes[1])
    state.single_reads = 0
    records = [{"body": e.model_dump_json(), "messageId": f"m-{n}"} for n, e in enumerate(envelopes)]
    # When the batch is read ahead and handled
    moderator.read_ahead(records)
    outcomes = [
        moderator.handle_record(sqs_record(e.model_dump_json(), message_id=f"m-{n}"))
        for n, e in enumerate(envelopes)
    ]
    # Then one read served every record, and the decided one was not decided again
    assert (state.batch_reads, state.single_reads) == (1, 0)
    assert [o["status"] for o in outcomes] == ["quiet", "moderated", "quiet", "moderated", "quiet"]
    assert [o["replayed"] for o in outcomes] == [False, True, False, False, False]
    assert len(engine.calls) == 1 + 4


# --- echoes ----------------------------------------------------------------------------------------


def test_an_echo_is_never_moderated_but_its_metadata_becomes_the_approved_value(
    moderator, engine, queue, table
):
    # Given our admin set topic=chess (the echo of our own REST call)
    envelope = make_envelope("Live.CallbackAfterSetMetadata", Operator_Account=ADMIN)
    assert envelope.echo
    # When the echo is moderated
    outcome = moderator.moderate(envelope)
    # Then no rule ran and nothing was queued, but the values are approved and the echo audited
    assert outcome.status == "echo"
    assert engine.calls == []
    assert queue.sent == []
    assert table.approved_value(ROOM, "topic") == "chess"
    (record,) = table.audit_for_room(ROOM)
    assert record["outcome"] == "echo"
    assert len(record["changes"]) == 2


def test_an_event_by_our_admin_is_an_echo_even_if_the_ingress_did_not_say_so(moderator, engine):
    envelope = make_envelope("Live.CallbackAfterSetMetadata", Operator_Account=ADMIN).model_copy(
        update={"echo": False}
    )
    assert moderator.moderate(envelope).status == "echo"
    assert engine.calls == []


def test_an_echo_without_metadata_is_only_audited(moderator, engine, table):
    envelope = make_envelope("Live.CallbackAfterDestroyRoom", Operator_Account=ADMIN)
    outcome = moderator.moderate(envelope)
    assert outcome.status == "echo"
    assert outcome.changes == 0
    assert engine.calls == []
    assert [r["outcome"] for r in table.audit_for_room(ROOM)] == ["echo"]


# --- records ---------------------------------------------------------------------------------------


def test_a_record_is_moderated_from_its_body(moderator, queue):
    envelope = comment("spam!")
    result = moderator.handle_record(sqs_record(envelope.model_dump_json()))
    assert result["status"] == "moderated"
    assert result["event_id"] == envelope.id
    assert len(queue.sent) == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json at all", "not an event envelope"),
        ('{"v": 1, "id": "xyz"}', "not an event envelope: id"),
        (
            make_envelope("Live.CallbackAfterSetMetadata")
            .model_copy(update={"event": {"RoomId": "live-room-1", "Metadata": "oops"}})
            .model_dump_json(),
            "does not fit its command's model: Metadata",
        ),
    ],
    ids=["not-json", "not-an-envelope", "refused-by-its-model"],
)
def test_a_malformed_record_goes_to_the_dead_letter_queue_at_once(moderator, dead_letters, body, reason):
    # When a record that no retry can fix is handled
    result = moderator.handle_record(sqs_record(body, message_id="m-42", group="live-room-9"))
    # Then it is done with: dead-lettered as it came, in its group, with the reason
    assert result["status"] == "malformed"
    (letter,) = dead_letters.sent
    assert letter["body"] == body
    assert (letter["group"], letter["dedup"]) == ("live-room-9", "m-42")
    assert reason in letter["reason"]
    assert moderator.take_tally().malformed == 1


def test_a_malformed_records_reason_never_repeats_its_content(moderator, dead_letters):
    body = json.dumps({"v": 1, "id": "SECRET-LOOKING-VALUE", "command": "x"})
    moderator.handle_record(sqs_record(body))
    assert "SECRET-LOOKING-VALUE" not in dead_letters.sent[0]["reason"]


def test_without_a_dead_letter_queue_a_malformed_record_fails_until_sqs_redrives_it(table, queue, engine):
    moderator = build_moderator(
        state=table,
        actions=queue,
        evaluate=engine,
    )
    with pytest.raises(MalformedEvent):
        moderator.handle_record(sqs_record("not json"))


def test_a_failing_engine_fails_the_record_and_counts_it(table, queue):
    # Given rules that crash
    def broken(*args: Any, **kwargs: Any) -> Decision:
        raise RuntimeError("a bug in a rule")

    moderator = build_moderator(
        state=table,
        actions=queue,
        evaluate=broken,
    )
    # When a record is handled
    with pytest.raises(RuntimeError):
        moderator.handle_record(sqs_record(comment("spam").model_dump_json()))
    # Then the failure is counted for the batch's metrics
    assert moderator.take_tally().failures == 1


def test_the_tally_counts_events_rules_actions_and_echoes(moderator):
    # Given a batch with spam, a quiet comment, an unknown command and an echo
    unknown = make_envelope("Group.CallbackAfterSendMsg").model_copy(
        update={"command": "Live.CallbackAfterSomethingNew", "known": False, "event": {"RoomId": ROOM}}
    )
    for envelope in [
        comment("spam!"),
        comment("hi", at=RECEIVED_AT + 1),
        unknown,
        make_envelope("Live.CallbackAfterSetMetadata", Operator_Account=ADMIN),
    ]:
        moderator.handle_record(sqs_record(envelope.model_dump_json()))
    # When the batch's tally is taken
    tally = moderator.take_tally()
    # Then it counts each by what it was, and starts again
    assert tally.events == {"Group.CallbackAfterSendMsg": 2, "Unknown": 1, "Live.CallbackAfterSetMetadata": 1}
    assert tally.rules == {"spam": 1}
    assert tally.actions == {"send_custom_msg": 1}
    assert tally.echoes == 1
    assert moderator.take_tally().events == {}


# --- the environment -------------------------------------------------------------------------------


def test_the_environment_takes_the_contracts_names():
    environment = ModeratorEnvironment.model_validate(
        {
            "ACTIONS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-actions-dev.fifo",
            "DELAYED_ACTIONS_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-delayed-actions-dev",
            "STATE_TABLE_NAME": "liveguard-state-dev",
            "TENCENT_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:lg/dev/t-AbCdEf",
            "RULES_FILE": "",
        }
    )
    assert environment.rules_file is None
    assert environment.events_dlq_url is None


def test_an_environment_without_the_actions_queue_fails_loudly():
    with pytest.raises(ValidationError, match="ACTIONS_QUEUE_URL"):
        ModeratorEnvironment.model_validate({"STATE_TABLE_NAME": "t-1", "TENCENT_SECRET_ARN": "arn"})


def test_an_environment_without_the_delayed_actions_queue_fails_loudly():
    with pytest.raises(ValidationError, match="DELAYED_ACTIONS_QUEUE_URL"):
        ModeratorEnvironment.model_validate(
            {
                "ACTIONS_QUEUE_URL": "https://sqs/q.fifo",
                "STATE_TABLE_NAME": "t-1",
                "TENCENT_SECRET_ARN": "arn",
            }
        )


# --- with the real engine and the default rules ----------------------------------------------------


@pytest.fixture(scope="module")
def default_rules() -> Any:
    from liveguard.rules.loader import load_rules

    return load_rules()


@pytest.fixture
def guarded(table, queue, default_rules) -> Moderator:
    """The moderator as deployed: the engine, the layer's default rules, the state table."""
    from liveguard.rules.engine import evaluate, snapshots_from_admin

    return build_moderator(
        state=table,
        actions=queue,
        evaluate=evaluate,
        rules=default_rules,
        snapshots_from_admin=snapshots_from_admin,
    )


def flagged(at: int, label: str = "Porn") -> EventEnvelope:
    return make_envelope("ContentCallback.ResultNotify", received_at=at, CtxcbLabel=label, MsgID=f"msg-{at}")


def test_with_the_defaults_a_room_flagged_twice_within_the_hour_is_warned_then_destroyed(guarded, queue):
    # Given cloud moderation flagged the room's content once
    guarded.moderate(flagged(RECEIVED_AT))
    assert [m.command for m in queue.sent] == ["send_custom_msg"]
    # When it flags the room again half an hour later
    outcome = guarded.moderate(flagged(RECEIVED_AT + 1_800_000))
    # Then the host is warned and the room destroyed, the warning first
    assert [m.command for m in queue.sent[1:]] == ["send_custom_msg", "destroy_room"]
    assert outcome.rules == ("moderation-warn", "moderation-destroy")
    assert {m.room for m in queue.sent} == {ROOM}


def test_with_the_defaults_a_flag_a_day_later_only_warns(guarded, queue):
    guarded.moderate(flagged(RECEIVED_AT))
    guarded.moderate(flagged(RECEIVED_AT + 86_400_000))
    assert [m.command for m in queue.sent] == ["send_custom_msg", "send_custom_msg"]


def test_with_the_defaults_a_protected_key_a_user_deleted_is_restored_from_the_admins_echo(guarded, queue):
    # Given our admin set lg.rules-version=1 (the echo of the room-defaults action)
    guarded.moderate(
        make_envelope(
            "Live.CallbackAfterSetMetadata",
            Operator_Account=ADMIN,
            Metadata=[{"Key": "lg.rules-version", "Value": "1"}],
        )
    )
    # When a viewer deletes it
    guarded.moderate(
        make_envelope(
            "Live.CallbackAfterDelMetadata", received_at=RECEIVED_AT + 5000, Keys=["lg.rules-version"]
        )
    )
    # Then LiveGuard sets it back to the approved value
    (message,) = queue.sent
    assert message.command == "set_room_metadata"
    assert message.params["Metadata"] == [{"Key": "lg.rules-version", "Value": "1"}]


def test_with_the_defaults_a_new_room_gets_its_default_metadata(guarded, queue):
    guarded.moderate(make_envelope("Live.CallbackAfterCreateRoom"))
    (message,) = queue.sent
    assert message.command == "set_room_metadata"
    assert message.params["RoomId"] == ROOM
    assert {"Key": "lg.rules-version", "Value": "1"} in message.params["Metadata"]


def test_with_the_defaults_a_retried_fifth_strike_mutes_and_does_not_ban(guarded, queue, table):
    # Given a viewer with four banned comments in ten minutes (muted from the third)
    def banned(n: int) -> EventEnvelope:
        return make_envelope(
            "Group.CallbackBeforeSendMsg",
            received_at=RECEIVED_AT + n * 60_000,
            Random=n,
            MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": f"buy followers {n}"}}],
        )

    for n in range(4):
        guarded.moderate(banned(n))
    # And a fifth whose mute could not be queued the first time (so nothing of it was written)
    queue.failures = 1
    with pytest.raises(ActionsNotQueued):
        guarded.moderate(banned(4))
    # When it is retried: counting its own strike twice would make six, and ban
    outcome = guarded.moderate(banned(4))
    # Then it is decided as the first time, a mute
    assert outcome.rules == ("comment-terms", "strikes-mute")
    assert [m.command for m in queue.sent] == ["mute_member"] * 3
    assert table.strike_count(ROOM, "viewer-7", 600, RECEIVED_AT / 1000 + 300) == 5


# --- the audit of a before-callback records what was decided inline ---------------------------------

STRUCK_GIFTS = """\
version: 1
rules:
  - name: gifts-after-strikes
    on: [Live.CallbackBeforeSendGift]
    when: {strikes: {within: 600, at_least: 2, new_only: false}}
    verdict: {action: reject, reason: struck too often}
"""


@pytest.fixture
def struck(table, queue) -> Moderator:
    """The moderator with the engine and a gift rule that counts strikes; the sender struck twice."""
    from liveguard.rules.engine import evaluate, snapshots_from_admin
    from liveguard.rules.loader import parse_rules

    for earlier in ("e" * 64, "f" * 64):
        table.apply(
            [AddStrike(room_id=ROOM, rule="spam", user_id="viewer-7")],
            event_id=earlier,
            now=RECEIVED_AT / 1000 - 60,
        )
    return build_moderator(
        state=table,
        actions=queue,
        evaluate=evaluate,
        rules=parse_rules(STRUCK_GIFTS),
        snapshots_from_admin=snapshots_from_admin,
    )


def struck_gift(decision: Verdict) -> EventEnvelope:
    body = copy.deepcopy(CALLBACK_BODIES["Live.CallbackBeforeSendGift"])
    return make_envelope(
        "Live.CallbackBeforeSendGift",
        decision=decision,
        Operator_Account="viewer-7",
        GiftWater={**body["GiftWater"], "From_Account": "viewer-7"},
    )


def test_the_audit_never_says_a_rule_fired_when_it_did_not_decide_inline(struck, table):
    # Given a gift the ingress allowed: it decided without the sender's strikes (the table was slow)
    envelope = struck_gift(Verdict(action="deliver", code=0))
    # When the moderator, which sees the two strikes, handles it
    outcome = struck.moderate(envelope)
    # Then nothing is recorded as fired: the gift was delivered, and no rule decided that
    assert outcome.rules == ()
    assert table.audit_for_room(ROOM) == []


# --- what matched is audited and logged ---------------------------------------------------------------

TERMS_RULES = """\
version: 1
terms:
  spam: [free coins]
rules:
  - name: comment-terms
    on: [Group.CallbackAfterSendMsg]
    when: {terms: [spam]}
    strike: true
"""


def test_the_audit_and_the_log_say_what_matched_where(table, queue, caplog):
    # Given the engine with a term list, and a comment hiding a term behind a zero-width space
    from liveguard.rules.engine import evaluate
    from liveguard.rules.loader import parse_rules

    moderator = build_moderator(state=table, actions=queue, evaluate=evaluate, rules=parse_rules(TERMS_RULES))
    text = "get fr\u200bee c0ins now"
    # When it is moderated
    with caplog.at_level("INFO", logger="liveguard.moderator"):
        moderator.moderate(comment(text))
    # Then the audit names the list, the term, the field and the original span
    (record,) = table.audit_for_room(ROOM)
    assert record["matches"] == [
        {
            "rule": "comment-terms",
            "list": "spam",
            "term": "free coins",
            "field": "MsgBody",
            "key": None,
            "index": 0,
            "start": 4,
            "end": 15,
            "text": text[4:15],
        }
    ]
    # And so does the moderator's log line
    (line,) = [r for r in caplog.records if r.getMessage() == "event moderated"]
    assert line.matches == ["comment-terms: spam 'free coins' in MsgBody[4:15]"]
