"""The moderator with shadow rules (the real engine): what a shadow rule would have done is audited,
in the decision's one journal write, and nothing of it is done: no action queued, no strike,
violation, sanction or snapshot written; its firings are counted apart from the live rules'."""

from __future__ import annotations

from typing import Any

import pytest

from liveguard.aws.state_table import StateTable
from liveguard.memory import MemoryState
from liveguard.moderator import Moderator
from liveguard.rules.engine import evaluate, snapshots_from_admin
from liveguard.rules.loader import parse_rules
from liveguard.rules.verdict import Verdict

from .conftest import STATE_TABLE as TABLE
from .test_moderator import RECEIVED_AT, ROOM, RecordingQueue, build_moderator, comment, make_envelope

SHADOW_RULES = """\
version: 1
terms:
  spam: [free coins]
rules:
  - name: terms-strike
    mode: shadow
    on: [Group.CallbackAfterSendMsg]
    when: {terms: [spam]}
    strike: true
    violation: spam
  - name: terms-mute
    mode: shadow
    on: [Group.CallbackAfterSendMsg]
    when: {strikes: {within: 600, at_least: 1}}
    then:
      - command: mute_member
        params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: 600}
    sanction: {kind: muted, seconds: 600}
  - name: shadow-reject
    mode: shadow
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [spam]}
    verdict: {action: reject, reason: spam}
  - name: live-mask
    on: [Group.CallbackBeforeSendMsg]
    when: {terms: [spam]}
    verdict: mask
    strike: true
"""


def shadowed(state: Any, queue: RecordingQueue) -> Moderator:
    return build_moderator(
        state=state,
        actions=queue,
        evaluate=evaluate,
        rules=parse_rules(SHADOW_RULES),
        snapshots_from_admin=snapshots_from_admin,
    )


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


def before_comment(text: str, answered: Verdict) -> Any:
    return make_envelope(
        "Group.CallbackBeforeSendMsg",
        decision=answered,
        From_Account="viewer-7",
        Operator_Account="viewer-7",
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    )


def test_an_event_only_shadow_rules_fire_on_is_audited_as_would_have_and_nothing_is_done(queue):
    # Given the moderator with a shadow pair that would strike, record a violation, mute and sanction
    state = MemoryState()
    moderator = shadowed(state, queue)
    # When a comment with a term comes
    outcome = moderator.moderate(comment("free coins!"))
    # Then no action is queued, now or later
    assert (queue.sent, queue.delayed) == ([], [])
    # And nothing is written to state: no strike, violation or sanction
    now = RECEIVED_AT / 1000
    assert state.strike_count(ROOM, "viewer-7", 600, now) == 0
    assert state.violation_count(ROOM, "spam", 600, now) == 0
    assert state.sanction(ROOM, "viewer-7", now) is None
    # And the room's audit holds the decision: no live rule, and what each shadow rule would have done
    (record,) = state.audit_for_room(ROOM)
    assert (record["rules"], record["actions"], record["changes"], record["outcome"]) == (
        [],
        [],
        [],
        "decided",
    )
    assert [firing["rule"] for firing in record["shadow"]] == ["terms-strike", "terms-mute"]
    strike, mute = record["shadow"]
    assert [change["kind"] for change in strike["changes"]] == ["strike", "violation"]
    assert strike["matches"][0]["term"] == "free coins"
    assert mute["actions"] == [
        {
            "command": "mute_member",
            "params": {"RoomId": ROOM, "MemberList_Account": ["viewer-7"], "MuteTime": 600},
            "rule": "terms-mute",
            "delay_seconds": 0,
        }
    ]
    assert [change["kind"] for change in mute["changes"]] == ["sanction"]
    # And the outcome names the shadow rules apart from the live ones
    assert (outcome.status, outcome.rules, outcome.shadow, outcome.actions) == (
        "moderated",
        (),
        ("terms-strike", "terms-mute"),
        (),
    )


def test_a_before_callback_keeps_its_answer_and_audits_the_shadow_verdict(queue):
    # Given the ingress answered a comment with the live mask (it does not evaluate shadow rules)
    state = MemoryState()
    moderator = shadowed(state, queue)
    answered = Verdict(
        action="rewrite",
        code=0,
        rule="live-mask",
        msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "**********"}}],
    )
    # When the moderator handles it
    moderator.moderate(before_comment("free coins", answered))
    # Then the audit says what was answered and the live rule's strike is written
    (record,) = state.audit_for_room(ROOM)
    assert record["verdict"]["rule"] == "live-mask"
    assert record["rules"] == ["live-mask"]
    assert state.strike_count(ROOM, "viewer-7", 600, RECEIVED_AT / 1000) == 1
    # And the shadow rule above it is audited with the verdict it would have answered instead
    (firing,) = record["shadow"]
    assert (firing["rule"], firing["decides"]) == ("shadow-reject", True)
    assert (firing["verdict"]["action"], firing["verdict"]["code"], firing["verdict"]["reason"]) == (
        "reject",
        1,
        "spam",
    )


def test_a_shadow_only_decision_costs_one_write_and_leaves_only_its_journal_entry(dynamodb, queue):
    # Given the moderator on the DynamoDB state table (moto), counting the calls that write
    writes: list[str] = []

    def count(event_name: str, **kwargs: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        if operation in ("PutItem", "UpdateItem", "DeleteItem", "TransactWriteItems", "BatchWriteItem"):
            writes.append(operation)

    dynamodb.meta.events.register("before-call.dynamodb.*", count)
    moderator = shadowed(StateTable(TABLE, client=dynamodb), queue)
    # When a comment only shadow rules fire on is moderated
    moderator.moderate(comment("free coins!"))
    # Then one conditional put journalled it, and the table holds that entry alone: no strike,
    # violation or sanction
    assert writes == ["PutItem"]
    items = dynamodb.scan(TableName=TABLE)["Items"]
    assert [item["sk"]["S"].split("#")[0] for item in items] == ["AUDIT"]
    assert [firing["M"]["rule"]["S"] for firing in items[0]["shadow"]["L"]] == ["terms-strike", "terms-mute"]


def test_a_redelivered_shadow_decision_is_read_back_from_the_journal_and_counted_once(dynamodb, queue):
    # Given a comment only shadow rules fired on, moderated once on the DynamoDB state table
    moderator = shadowed(StateTable(TABLE, client=dynamodb), queue)
    envelope = comment("free coins!")
    first = moderator.moderate(envelope)
    # When it is delivered again
    again = moderator.moderate(envelope)
    # Then its journalled decision stands, shadow firings and all, and still nothing is queued
    assert again.replayed
    assert again.shadow == first.shadow == ("terms-strike", "terms-mute")
    assert (queue.sent, queue.delayed) == ([], [])
    # And the metrics count each shadow rule once (a replay is not counted again)
    tally = moderator.take_tally()
    assert tally.shadow == {"terms-strike": 1, "terms-mute": 1}


def test_shadow_firings_are_counted_apart_from_the_live_rules(queue):
    # Given a batch with a comment the shadow pair fires on and one the live mask answered
    moderator = shadowed(MemoryState(), queue)
    answered = Verdict(action="rewrite", code=0, rule="live-mask", msg_body=[])
    moderator.moderate(comment("free coins!"))
    moderator.moderate(before_comment("free coins", answered))
    # When the batch's tally is taken
    tally = moderator.take_tally()
    # Then each shadow rule is counted under shadow, the live rule under rules
    assert tally.shadow == {"terms-strike": 1, "terms-mute": 1, "shadow-reject": 1}
    assert tally.rules == {"live-mask": 1}


def test_a_shadow_hold_holds_nothing_for_review(queue):
    # Given a shadow rule that would hold a comment for review, and no live rule
    state = MemoryState()
    moderator = build_moderator(
        state=state,
        actions=queue,
        evaluate=evaluate,
        rules=parse_rules(
            "version: 1\nterms:\n  spam: [free coins]\nrules:\n"
            "  - {name: terms-hold, mode: shadow, on: [Group.CallbackBeforeSendMsg], when: {terms: [spam]},"
            " verdict: hold}\n"
        ),
        snapshots_from_admin=snapshots_from_admin,
    )
    # When the comment the ingress delivered (it never evaluates shadow rules) is moderated
    moderator.moderate(before_comment("free coins", Verdict(action="deliver", code=0)))
    # Then nothing is held for review, and the audit says it would have been
    assert state.held == {}
    (record,) = state.audit_for_room(ROOM)
    assert record["verdict"]["action"] == "deliver"
    assert [(firing["rule"], firing["verdict"]["action"]) for firing in record["shadow"]] == [
        ("terms-hold", "hold")
    ]
