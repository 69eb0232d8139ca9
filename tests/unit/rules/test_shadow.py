"""Shadow mode in the engine: a ``mode: shadow`` rule is evaluated and reported in ``Decision.shadow``
as what it would have done, and has no effect on the live decision (verdict, actions, changes, fired)
nor on what live rules see; the ingress never evaluates it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from liveguard.rules.compiled import RuleSet
from liveguard.rules.engine import InlineRules, evaluate
from liveguard.rules.loader import RulesInvalid, parse_rules
from liveguard.rules.outcome import Action, AddStrike, Decision, RecordSanction, ShadowFiring, TermHit
from liveguard.rules.terms import TermList, regex_budget, regex_budget_aside
from liveguard.rules.verdict import Verdict
from tests.unit.rules.fakes import ADMIN, NOW, ROOM, MemoryState, comment, gift

BEFORE = "Group.CallbackBeforeSendMsg"


def rules(*rule_list: dict[str, Any]) -> RuleSet:
    """A rules file with the term list ``banned`` and these rules (JSON is YAML)."""
    document = {"version": 1, "terms": {"banned": ["free coins"]}, "rules": list(rule_list)}
    return parse_rules(json.dumps(document))


def rule(name: str, *, mode: str = "live", on: str = BEFORE, **fields: Any) -> dict[str, Any]:
    return {"name": name, "mode": mode, "on": [on], **fields}


def decide(callback, rule_set: RuleSet, state: MemoryState | None = None, **options) -> Decision:
    return evaluate(
        callback, state or MemoryState(), rule_set, now=NOW, admin=ADMIN, event_id="e" * 64, **options
    )


TERMS = {"terms": ["banned"]}
THIRD_STRIKE = {"strikes": {"within": 600, "at_least": 3}}
MUTE = {
    "then": [
        {
            "command": "mute_member",
            "params": {"RoomId": "{room_id}", "MemberList_Account": ["{user_id}"], "MuteTime": 600},
        }
    ],
    "sanction": {"kind": "muted", "seconds": 600},
}
# A "terms + strikes-mute" pair, as an operator would try it in shadow before going live.
PAIR = (
    rule(
        "terms-reject", mode="shadow", when=TERMS, verdict={"action": "reject", "reason": "spam"}, strike=True
    ),
    rule("terms-mute", mode="shadow", when=THIRD_STRIKE, **MUTE),
)


# --- the live decision is untouched ------------------------------------------------------------------


def test_a_shadow_rule_that_fires_has_no_verdict_actions_or_changes_in_the_live_decision():
    # Given a shadow rule that would reject a comment, strike its sender and mute them
    rule_set = rules(
        rule(
            "terms-reject",
            mode="shadow",
            when=TERMS,
            verdict={"action": "reject", "reason": "spam"},
            strike=True,
            **MUTE,
        )
    )
    # When a comment with a banned term is decided
    decision = decide(comment("free coins here"), rule_set)
    # Then the live decision is empty: no verdict, no action, no change, no rule fired
    assert decision.model_copy(update={"shadow": []}) == Decision()
    # And what it would have done is reported, whole
    assert decision.shadow == [
        ShadowFiring(
            rule="terms-reject",
            verdict=Verdict(action="reject", code=1, rule="terms-reject", reason="spam"),
            decides=True,
            actions=[
                Action(
                    command="mute_member",
                    params={"RoomId": ROOM, "MemberList_Account": ["viewer-7"], "MuteTime": 600},
                    rule="terms-reject",
                )
            ],
            changes=[
                AddStrike(room_id=ROOM, rule="terms-reject", user_id="viewer-7"),
                RecordSanction(
                    room_id=ROOM,
                    rule="terms-reject",
                    user_id="viewer-7",
                    sanction="muted",
                    until=int(NOW) + 600,
                ),
            ],
            matches=[
                TermHit(
                    rule="terms-reject",
                    list="banned",
                    term="free coins",
                    field="MsgBody",
                    start=0,
                    end=10,
                    text="free coins",
                )
            ],
        )
    ]


def test_a_shadow_mask_reports_the_msg_body_it_would_have_delivered():
    rule_set = rules(rule("masked", mode="shadow", when=TERMS, verdict="mask"))
    decision = decide(comment("get free coins!"), rule_set)
    (firing,) = decision.shadow
    assert firing.verdict is not None
    assert (firing.verdict.action, firing.verdict.code) == ("rewrite", 0)
    assert firing.verdict.msg_body == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "get **********!"}}]
    assert decision.verdict is None


def test_a_shadow_rule_that_does_not_hold_is_not_reported():
    rule_set = rules(rule("masked", mode="shadow", when=TERMS, verdict="mask"))
    assert decide(comment("hello"), rule_set) == Decision()


def test_live_rules_decide_exactly_as_without_the_shadow_rules():
    # Given live rules, and the same rules with shadow rules above, between and below them
    live = (
        rule("live-mask", when=TERMS, verdict="mask", strike=True),
        rule("live-mute", when=THIRD_STRIKE, **MUTE),
    )
    shadowed = rules(
        rule("shadow-reject", mode="shadow", when=TERMS, verdict="reject", strike=True),
        live[0],
        rule("shadow-strike", mode="shadow", when=TERMS, strike=True),
        live[1],
        rule("shadow-drop", mode="shadow", when=TERMS, verdict="drop"),
    )
    state = MemoryState().strike("viewer-7", at=NOW - 60, times=1)
    # When the same comment is decided by each
    without = decide(comment("free coins"), rules(*live), state)
    with_shadow = decide(comment("free coins"), shadowed, state)
    # Then the live decision is the same: the earlier strike and live-mask's make two, no mute (with
    # the two shadow strikes it would be four, but live rules never count those); only the shadow
    # firings differ
    assert with_shadow.model_copy(update={"shadow": []}) == without
    assert without.fired == ["live-mask"]
    assert [firing.rule for firing in with_shadow.shadow] == ["shadow-reject", "shadow-strike", "shadow-drop"]


# --- what a shadow rule sees -------------------------------------------------------------------------


def test_shadow_rules_below_count_the_would_have_strikes_of_the_shadow_rules_above():
    # Given a viewer with two strikes, and a terms + strikes-mute pair in shadow
    state = MemoryState().strike("viewer-7", at=NOW - 60, times=2)
    # When the viewer's third offending comment comes
    decision = decide(comment("free coins"), rules(*PAIR), state)
    # Then both shadow rules would have fired: the strike above counts toward the mute below
    assert [firing.rule for firing in decision.shadow] == ["terms-reject", "terms-mute"]
    assert [action.command for action in decision.shadow[1].actions] == ["mute_member"]
    # And nothing happened
    assert (decision.verdict, decision.actions, decision.changes) == (None, [], [])


def test_live_rules_never_count_a_shadow_rules_strikes():
    # Given a viewer with two strikes, a shadow rule that would strike and a live mute below it
    rule_set = rules(
        rule("terms-strike", mode="shadow", when=TERMS, strike=True),
        rule("live-mute", when={"strikes": {"within": 600, "at_least": 3, "new_only": False}}, **MUTE),
    )
    state = MemoryState().strike("viewer-7", at=NOW - 60, times=2)
    # When an offending comment comes
    decision = decide(comment("free coins"), rule_set, state)
    # Then the live mute does not fire: only the shadow rule's would-have strike would make three
    assert decision.fired == []
    assert decision.actions == []
    assert [firing.rule for firing in decision.shadow] == ["terms-strike"]


def test_live_rules_never_count_a_shadow_rules_violations():
    spam = {"violations": {"kinds": ["spam"], "within": 600, "at_least": 1}}
    rule_set = rules(
        rule("terms-violation", mode="shadow", when=TERMS, violation="spam"),
        rule("live-reject", when=spam, verdict="reject"),
        rule("shadow-reject", mode="shadow", when=spam, verdict="reject"),
    )
    decision = decide(comment("free coins"), rule_set)
    assert decision.verdict is None
    assert [firing.rule for firing in decision.shadow] == ["terms-violation", "shadow-reject"]


def test_a_shadow_rule_sees_the_strikes_live_rules_above_it_added():
    rule_set = rules(
        rule("live-strike", when=TERMS, strike=True),
        rule("shadow-mute", mode="shadow", when=THIRD_STRIKE, **MUTE),
    )
    state = MemoryState().strike("viewer-7", at=NOW - 60, times=2)
    decision = decide(comment("free coins"), rule_set, state)
    assert decision.fired == ["live-strike"]
    assert [firing.rule for firing in decision.shadow] == ["shadow-mute"]


# --- which verdict a shadow rule would have given ----------------------------------------------------


def test_a_shadow_verdict_below_a_live_one_would_not_have_decided():
    rule_set = rules(
        rule("live-mask", when=TERMS, verdict="mask"),
        rule("shadow-reject", mode="shadow", when=TERMS, verdict="reject"),
    )
    decision = decide(comment("free coins"), rule_set)
    assert decision.verdict is not None
    assert decision.verdict.rule == "live-mask"
    (firing,) = decision.shadow
    assert firing.verdict is not None
    assert firing.verdict.action == "reject"
    assert not firing.decides


def test_of_two_shadow_verdicts_only_the_first_would_have_decided():
    rule_set = rules(
        rule("first", mode="shadow", when=TERMS, verdict="reject"),
        rule("second", mode="shadow", when=TERMS, verdict="drop"),
    )
    decision = decide(comment("free coins"), rule_set)
    assert [(firing.rule, firing.decides) for firing in decision.shadow] == [
        ("first", True),
        ("second", False),
    ]


ANSWERED = (
    rule("shadow-reject", mode="shadow", when=TERMS, verdict="reject", strike=True),
    rule("live-mask", when=TERMS, verdict="mask"),
    rule("shadow-drop", mode="shadow", when=TERMS, verdict="drop"),
)


def test_with_the_ingress_answer_shadow_rules_with_a_verdict_are_still_evaluated():
    # Given the ingress answered a comment with the live rule's mask
    rule_set = rules(*ANSWERED)
    answered = InlineRules(rule_set, admin=ADMIN).verdict(comment("free coins"))
    assert answered is not None
    assert answered.rule == "live-mask"
    # When the moderator decides it with that answer
    decision = decide(comment("free coins"), rule_set, answered=answered)
    # Then the answer stands and the live rule that gave it fired, with none of the shadow rules' matches
    assert decision.verdict == answered
    assert decision.fired == ["live-mask"]
    assert {hit.rule for hit in decision.matches} <= {"live-mask"}
    # And each shadow rule with a verdict is reported with what it would have answered: the one
    # above the live rule would have decided, the one below would not
    assert [(f.rule, f.verdict.action if f.verdict else None, f.decides) for f in decision.shadow] == [
        ("shadow-reject", "reject", True),
        ("shadow-drop", "drop", False),
    ]
    assert decision.changes == []


def test_with_a_default_answer_shadow_rules_are_evaluated_and_live_verdicts_do_not_fire():
    # Given the ingress answered Tencent's default (no rule decided), say because it timed out
    rule_set = rules(*ANSWERED)
    answered = Verdict(action="deliver", code=0, fallback=True)
    # When the moderator decides it with that answer
    decision = decide(comment("free coins"), rule_set, answered=answered)
    # Then no live rule with a verdict fires, and the shadow rules are still reported
    assert decision.fired == []
    assert decision.verdict == answered
    assert [firing.rule for firing in decision.shadow] == ["shadow-reject", "shadow-drop"]
    assert decision.shadow[0].decides


# --- the ingress -------------------------------------------------------------------------------------


class NoReads(MemoryState):
    """A state view that fails the test if anything reads it."""

    def strike_count(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the ingress read state for a shadow rule")

    def sanction(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("the ingress read state for a shadow rule")


def test_the_ingress_never_evaluates_shadow_rules():
    # Given only shadow rules on comments and gifts, two of them reading state
    rule_set = rules(
        rule("terms-reject", mode="shadow", when=TERMS, verdict="reject"),
        rule(
            "strikes-reject",
            mode="shadow",
            when={"strikes": {"within": 600, "at_least": 1, "new_only": False}},
            verdict="reject",
        ),
        rule(
            "gift-reject",
            mode="shadow",
            on="Live.CallbackBeforeSendGift",
            when={"sanctioned": ["muted"]},
            verdict="reject",
        ),
    )
    inline = InlineRules(rule_set, state=NoReads(), admin=ADMIN)
    # When the ingress decides a comment they would reject, and a gift
    # Then there is no verdict, and no state was read for them
    assert inline.verdict(comment("free coins")) is None
    assert inline.verdict(gift()) is None
    # And their events are still queued, for the moderator to evaluate them
    assert inline.acts_on(BEFORE, echo=False)


# --- the file ----------------------------------------------------------------------------------------


def test_mode_is_live_unless_the_rule_says_shadow():
    plain = {"name": "a", "on": [BEFORE], "verdict": "reject"}
    rule_set = rules(plain, rule("b", verdict="reject"), rule("c", mode="shadow", verdict="reject"))
    assert [(compiled.name, compiled.shadow) for compiled in rule_set.rules] == [
        ("a", False),
        ("b", False),
        ("c", True),
    ]


@pytest.mark.parametrize("mode", ["Shadow", "dry-run", True, ["shadow"], None])
def test_a_mode_other_than_live_or_shadow_is_refused_naming_the_rule(mode):
    with pytest.raises(RulesInvalid) as refused:
        rules(rule("a", mode=mode, verdict="reject"))
    assert refused.value.errors == ["rule \"a\": mode: Input should be 'live' or 'shadow'"]


def test_the_summary_names_the_rules_in_shadow():
    rule_set = rules(*PAIR, rule("live-one", when=TERMS, verdict="mask"))
    assert rule_set.summary().startswith("3 rules (3 enabled, 2 in shadow: terms-reject, terms-mute), ")


def test_a_live_threshold_fed_only_by_shadow_strikes_is_warned_about():
    rule_set = rules(
        rule("terms-strike", mode="shadow", when=TERMS, strike=True),
        rule("live-mute", when=THIRD_STRIKE, **MUTE),
    )
    assert rule_set.warnings == (
        'rule "live-mute": when.strikes: only shadow rules add strikes, and a live rule never counts a'
        " shadow rule's, so the threshold is never reached",
    )


def test_a_live_violation_threshold_fed_only_by_shadow_violations_is_warned_about():
    rule_set = rules(
        rule("terms-violation", mode="shadow", when=TERMS, violation="spam"),
        rule(
            "live-reject",
            when={"violations": {"kinds": ["spam"], "within": 600, "at_least": 1}},
            verdict="reject",
        ),
    )
    assert rule_set.warnings == (
        'rule "live-reject": when.violations.kinds[0]: only shadow rules record violation "spam", and a live'
        " rule never counts a shadow rule's",
    )


def test_a_shadow_threshold_fed_by_shadow_strikes_is_not_warned_about():
    assert rules(*PAIR).warnings == ()


# --- a shadow rule's regex time ----------------------------------------------------------------------


def test_time_spent_in_a_shadow_rules_regex_budget_is_not_taken_from_the_decisions():
    # Given a regex list, and a decision's regex budget of 50 ms
    links = TermList("links", [r"https?://\S+"], match="regex")
    with regex_budget(0.05):
        # When a shadow rule's searches take longer than that, within their own budget
        with regex_budget_aside():
            time.sleep(0.08)
        # Then the live rules' searches after it still have the decision's time: the link is found
        assert [match.text for match in links.matches("see http://spam.example now")] == [
            "http://spam.example"
        ]


def test_a_shadow_rule_would_add_only_the_strikes_beyond_those_the_event_already_counts():
    # Given a live rule striking once, a shadow rule striking twice for the same comment, and a live
    # and a shadow threshold at three strikes below them
    rule_set = rules(
        rule("live-strike", when=TERMS, strike=True),
        rule("shadow-double", mode="shadow", when=TERMS, strike={"count": 2}),
        rule("live-third", when=THIRD_STRIKE, verdict="reject"),
        rule("shadow-third", mode="shadow", when=THIRD_STRIKE, verdict="reject"),
    )
    state = MemoryState().strike("viewer-7", at=NOW - 60, times=1)
    # When an offending comment comes
    decision = decide(comment("free coins"), rule_set, state)
    # Then the event counts one live strike, and the shadow rule would have added one more (one
    # event counts the largest of its rules' counts, not their sum)
    assert decision.changes == [AddStrike(room_id=ROOM, rule="live-strike", user_id="viewer-7")]
    assert decision.shadow[0].changes == [
        AddStrike(room_id=ROOM, rule="shadow-double", user_id="viewer-7", count=1)
    ]
    # And only the shadow threshold counts it: 1 in state + 2 for the event as if it were live
    assert decision.fired == ["live-strike"]
    assert [firing.rule for firing in decision.shadow] == ["shadow-double", "shadow-third"]
