"""Verdict ``hold``: what Tencent is answered, what the rules file accepts, what the moderator keeps for
the reviewer (in the decision's one journal write), and the re-send's body and mark."""

from __future__ import annotations

import copy
import json
import textwrap

import pytest

from liveguard.memory import MemoryState
from liveguard.messages import CallbackQuery, EventEnvelope, event_id, message_group
from liveguard.moderator import Moderator
from liveguard.review import RESEND_MARK, HeldComment, resend_custom_data, resend_params
from liveguard.rules.compiled import RuleSet
from liveguard.rules.engine import InlineRules, evaluate, snapshots_from_admin
from liveguard.rules.loader import RulesInvalid, parse_rules
from liveguard.rules.model import HOLD_DEFAULT_SECONDS
from liveguard_local.events import CALLBACK_BODIES
from tests.unit.rules.fakes import ADMIN, NOW, ROOM, comment, gift


def rules(text: str) -> RuleSet:
    return parse_rules(
        f"version: 1\nterms:\n  borderline: [maybe spam]\nrules:\n{textwrap.indent(text, '  ')}"
    )


def hold_rule(verdict: str, *, on: str = "Group.CallbackBeforeSendMsg", extra: str = "") -> str:
    when = "{terms: [borderline]}"
    return f"- name: hold-borderline\n  on: [{on}]\n  when: {when}\n  verdict: {verdict}\n{extra}"


def mistake(text: str) -> str:
    with pytest.raises(RulesInvalid) as raised:
        rules(text)
    return str(raised.value)


# --- what Tencent is answered ------------------------------------------------------------------------


def test_a_hold_that_tells_the_sender_answers_10100_with_the_reason_so_the_client_shows_it():
    # Given a hold that notifies (the default) with a reason
    inline = InlineRules(rules(hold_rule('{action: hold, reason: "a moderator will read it"}')), admin=ADMIN)
    # When a comment it holds arrives
    verdict = inline.verdict(comment("is this maybe spam?"))
    # Then Tencent is answered 10100 (passed through to the client with our ErrorInfo): not delivered
    assert verdict is not None
    assert (verdict.action, verdict.code, verdict.rule) == ("hold", 10100, "hold-borderline")
    assert verdict.reply() == {
        "ActionStatus": "OK",
        "ErrorCode": 10100,
        "ErrorInfo": "a moderator will read it",
    }
    assert verdict.expires == HOLD_DEFAULT_SECONDS


def test_a_hold_without_a_reason_tells_the_sender_it_awaits_review():
    verdict = InlineRules(rules(hold_rule("hold")), admin=ADMIN).verdict(comment("maybe spam"))
    assert verdict is not None
    assert verdict.reply()["ErrorInfo"] == "your comment awaits review"


def test_a_hold_that_tells_nobody_answers_2_so_the_sender_sees_it_sent():
    verdict = InlineRules(
        rules(hold_rule("{action: hold, notify: false, expires: 600}")), admin=ADMIN
    ).verdict(comment("maybe spam"))
    assert verdict is not None
    assert (verdict.action, verdict.code, verdict.expires) == ("hold", 2, 600)
    assert verdict.reply()["ErrorCode"] == 2


def test_a_comment_with_a_forged_resend_mark_is_held_like_any_other():
    # Given a viewer's comment whose CloudCustomData claims an approved hold (a viewer types anything)
    forged = comment("maybe spam").model_copy(
        update={"cloud_custom_data": json.dumps({RESEND_MARK: "0" * 64, "moderation_approved_resend": True})}
    )
    # When the rules decide it
    verdict = InlineRules(rules(hold_rule("hold")), admin=ADMIN).verdict(forged)
    # Then it is held: only an echo of our own admin goes through unmoderated
    assert verdict is not None
    assert verdict.action == "hold"


# --- what the rules file accepts ---------------------------------------------------------------------


def test_hold_applies_to_messages_only():
    message = mistake(hold_rule("hold", on="Live.CallbackBeforeSendGift"))
    assert "hold applies to messages" in message


@pytest.mark.parametrize(
    ("verdict", "words"),
    [
        ("{action: reject, notify: false}", "notify: only for action: hold"),
        ("{action: drop, expires: 60}", "expires: only for action: hold"),
        ("{action: hold, expires: 0}", "greater than or equal to 1"),
        ("{action: hold, expires: 604801}", "less than or equal to 604800"),
        ("{action: hold, notify: yes}", 'write true or false, not "yes"'),
    ],
)
def test_hold_settings_are_checked(verdict, words):
    assert words in mistake(hold_rule(verdict))


# --- what the moderator keeps for the reviewer -------------------------------------------------------


def held_envelope(
    text: str, *, data: str | None = None, sender: str = "viewer-7"
) -> tuple[EventEnvelope, RuleSet]:
    rule_set = rules(hold_rule('{action: hold, reason: "soon", expires: 900}', extra="  strike: true\n"))
    body = copy.deepcopy(CALLBACK_BODIES["Group.CallbackBeforeSendMsg"])
    body.update(
        GroupId=ROOM,
        From_Account=sender,
        Operator_Account=sender,
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    )
    body.pop("CloudCustomData", None)
    if data is not None:
        body["CloudCustomData"] = data
    the_id = event_id(1400000000, "Group.CallbackBeforeSendMsg", json.dumps(body).encode())
    inline = InlineRules(rule_set, admin=ADMIN).verdict(comment(text, sender=sender))
    envelope = EventEnvelope(
        id=the_id,
        command="Group.CallbackBeforeSendMsg",
        received_at=int(NOW * 1000),
        query=CallbackQuery(),
        event=body,
        decision=inline,
        group=message_group(ROOM),
    )
    return envelope, rule_set


class NoQueue:
    def send(self, messages: object) -> None:
        raise AssertionError("a hold queues no action")

    def delay(self, delayed: object) -> None:
        raise AssertionError("a hold queues no action")


def test_the_moderator_keeps_the_held_comment_with_its_context_in_the_decisions_journal_write():
    # Given a sender with two strikes in the room, and a hold rule that also strikes
    state = MemoryState(strikes=[(ROOM, "viewer-7", NOW - 60), (ROOM, "viewer-7", NOW - 30)])
    envelope, rule_set = held_envelope("is this maybe spam?", data='{"badge":"vip"}')
    moderator = Moderator(
        state=state,
        actions=NoQueue(),
        delayed=NoQueue(),
        evaluate=evaluate,
        rules=rule_set,
        admin=ADMIN,
        snapshots_from_admin=snapshots_from_admin,
    )
    # When the moderator handles the held comment
    moderator.moderate(envelope)
    # Then the review queue holds it: room, sender, the message as sent, why, when, the strikes
    held = state.held[envelope.id]
    assert (held.room, held.sender, held.rule, held.reason, held.notify) == (
        ROOM,
        "viewer-7",
        "hold-borderline",
        "soon",
        True,
    )
    assert held.msg_body == envelope.event["MsgBody"]
    assert held.cloud_custom_data == '{"badge":"vip"}'
    assert [hit.term for hit in held.matches] == ["maybe spam"]
    assert (held.at_ms, held.expires_at, held.status) == (envelope.received_at, int(NOW) + 900, "held")
    assert held.strikes == 3  # two kept, and this decision's
    # And the decision is journalled as a hold
    record = state.recorded_decision(ROOM, envelope.id, envelope.received_at)
    assert record is not None
    assert record.verdict is not None
    assert (record.verdict.action, record.verdict.code) == ("hold", 10100)


def test_a_redelivered_held_comment_is_kept_once():
    state = MemoryState()
    envelope, rule_set = held_envelope("maybe spam")
    moderator = Moderator(
        state=state,
        actions=NoQueue(),
        delayed=NoQueue(),
        evaluate=evaluate,
        rules=rule_set,
        admin=ADMIN,
        snapshots_from_admin=snapshots_from_admin,
    )
    moderator.moderate(envelope)
    first = state.held[envelope.id]
    moderator.moderate(envelope)
    assert list(state.held.values()) == [first]


# --- the re-send -------------------------------------------------------------------------------------


def a_hold(data: str | None) -> HeldComment:
    return HeldComment(
        id="ab" * 32,
        room=ROOM,
        sender="viewer-7",
        msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}],
        cloud_custom_data=data,
        rule="hold-borderline",
        notify=True,
        at_ms=0,
        expires_at=60,
    )


@pytest.mark.parametrize(
    ("original", "resent"),
    [
        (None, {RESEND_MARK: "ab" * 32}),
        ('{"badge":"vip"}', {"badge": "vip", RESEND_MARK: "ab" * 32}),
        ("plain words", {"original": "plain words", RESEND_MARK: "ab" * 32}),
        ("[1, 2]", {"original": "[1, 2]", RESEND_MARK: "ab" * 32}),
    ],
)
def test_the_resend_keeps_the_viewers_custom_data_and_names_the_hold(original, resent):
    assert json.loads(resend_custom_data(a_hold(original))) == resent


def test_the_resend_goes_to_the_room_as_the_sender_with_the_original_body_and_a_random_fixed_by_the_hold():
    params = resend_params(a_hold(None))
    assert (params["GroupId"], params["From_Account"], params["Random"]) == (ROOM, "viewer-7", 0xABABABAB)
    assert params["MsgBody"] == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}]


def test_a_gift_is_never_held():
    # (the loader refuses hold on gifts; the engine's InlineRules on a gift with only message rules)
    assert InlineRules(rules(hold_rule("hold")), admin=ADMIN).verdict(gift()) is None
