"""One event is one offence: however many rules with ``strike`` fire on it, it counts the largest
strike count among them (``strike: true`` is one, ``strike: {count: N}`` is N), never their sum; the
thresholds below see that count, and applying the decision again (a redelivery) adds nothing."""

from __future__ import annotations

import textwrap

import pytest

from liveguard.rules.compiled import RuleSet
from liveguard.rules.engine import evaluate
from liveguard.rules.loader import RulesInvalid, parse_rules
from liveguard.rules.outcome import AddStrike, Decision
from tests.unit.rules.fakes import ADMIN, NOW, ROOM, MemoryState, comment

TWO_LISTS = "banned: [free coins]\n  slurs: [badword]"


def rules(text: str) -> RuleSet:
    return parse_rules(
        f"version: 1\nterms:\n  {TWO_LISTS}\nrules:\n{textwrap.indent(textwrap.dedent(text), '  ')}"
    )


def decide(rule_set: RuleSet, text: str, state: MemoryState | None = None) -> Decision:
    return evaluate(comment(text), state or MemoryState(), rule_set, now=NOW, admin=ADMIN, event_id="e" * 64)


def strikes(decision: Decision) -> list[tuple[str, int]]:
    return [(change.rule, change.count) for change in decision.changes if isinstance(change, AddStrike)]


def rule(name: str, terms: str, strike: str) -> str:
    when = f"when: {{terms: [{terms}]}}"
    return f"- {{name: {name}, on: [Group.CallbackBeforeSendMsg], {when}, strike: {strike}}}\n"


MUTE_AT_TWO = """\
- name: mute
  on: [Group.CallbackBeforeSendMsg]
  when: {strikes: {within: 600, at_least: 2}}
  violation: muted
"""


def test_a_comment_with_terms_from_two_lists_counts_one_strike():
    # Given two rules that strike, one per term list
    rule_set = rules(rule("spam", "banned", "true") + rule("abuse", "slurs", "true"))
    # When one comment holds a term of each list
    decision = decide(rule_set, "free coins, badword")
    # Then both fire, and the comment counts one strike (the first rule's)
    assert decision.fired == ["spam", "abuse"]
    assert strikes(decision) == [("spam", 1)]


def test_a_comment_with_terms_from_two_lists_does_not_reach_a_threshold_of_two_by_itself():
    rule_set = rules(rule("spam", "banned", "true") + rule("abuse", "slurs", "true") + MUTE_AT_TWO)
    assert "mute" not in decide(rule_set, "free coins, badword").fired


def test_a_rule_that_asks_for_more_strikes_counts_them_on_top_of_the_rules_above():
    # Given a rule worth one strike above a rule worth three
    rule_set = rules(rule("spam", "banned", "true") + rule("abuse", "slurs", "{count: 3}"))
    # When a comment fires both
    decision = decide(rule_set, "free coins, badword")
    # Then the comment counts three: one from the first, two more from the second
    assert strikes(decision) == [("spam", 1), ("abuse", 2)]
    state = MemoryState()
    state.apply(decision.changes, event_id="e" * 64, now=NOW)
    assert state.strike_count(ROOM, "viewer-7", 600, NOW) == 3


def test_a_rule_below_a_heavier_one_adds_nothing():
    rule_set = rules(rule("abuse", "slurs", "{count: 2}") + rule("spam", "banned", "true"))
    decision = decide(rule_set, "free coins, badword")
    assert decision.fired == ["abuse", "spam"]
    assert strikes(decision) == [("abuse", 2)]


def test_a_rule_asking_for_two_strikes_reaches_a_threshold_of_two_on_one_comment():
    rule_set = rules(rule("abuse", "slurs", "{count: 2}") + MUTE_AT_TWO)
    assert decide(rule_set, "badword").fired == ["abuse", "mute"]


def test_strike_true_alone_still_counts_one_strike():
    decision = decide(rules(rule("spam", "banned", "true")), "free coins")
    assert strikes(decision) == [("spam", 1)]


def test_a_redelivered_event_does_not_count_its_strikes_twice():
    # Given a comment's decision worth three strikes, applied once
    rule_set = rules(rule("spam", "banned", "true") + rule("abuse", "slurs", "{count: 3}"))
    decision = decide(rule_set, "free coins, badword")
    state = MemoryState()
    state.apply(decision.changes, event_id="e" * 64, now=NOW)
    # When the same event's changes are applied again
    state.apply(decision.changes, event_id="e" * 64, now=NOW)
    # Then the user still has three strikes
    assert state.strike_count(ROOM, "viewer-7", 600, NOW) == 3


@pytest.mark.parametrize(
    ("written", "said"),
    [
        ("1", 'strike: write true or false (or {count: N}: N strikes for one event), not "1"'),
        ("yes", 'strike: write true or false (or {count: N}: N strikes for one event), not "yes"'),
        ("{count: 0}", "strike.count: Input should be greater than or equal to 1"),
        ("{count: 11}", "strike.count: Input should be less than or equal to 10"),
        ('{count: "2"}', "strike.count: Input should be a valid integer"),
        ("{count: true}", "strike.count: Input should be a valid integer"),
        ("{times: 2}", "strike.count: is required"),
    ],
)
def test_a_strike_that_is_neither_a_boolean_nor_a_count_is_refused(written: str, said: str):
    with pytest.raises(RulesInvalid) as refused:
        rules(rule("spam", "banned", written))
    assert str(refused.value).splitlines()[0] == f'rule "spam": {said}'
