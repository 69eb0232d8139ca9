"""Flood conditions: rate, repeat and raid in a rules file, the shared counters' buckets and windows,
and the engine deciding on the counts, with the in-memory store counting as the table does."""

from __future__ import annotations

import textwrap

import pytest

from liveguard.counters import (
    CounterPlan,
    bucket_width,
    count,
    counter_pk,
    repeat_key,
    room_key,
    text_hash,
    user_key,
    window_count,
)
from liveguard.memory import MemoryState
from liveguard.rules.compiled import RuleSet
from liveguard.rules.engine import InlineRules, counted_event, evaluate
from liveguard.rules.loader import RulesInvalid, parse_rules
from liveguard.rules.outcome import Decision
from liveguard.webhooks.models import Callback
from tests.unit.rules.fakes import ADMIN, NOW, ROOM, comment, event, gift

MESSAGE = "Group.CallbackBeforeSendMsg"
FLOOD = """\
- name: flood-drop
  on: [Group.CallbackBeforeSendMsg]
  when: {rate: {per: user, within: 10, at_least: 3}}
  verdict: drop
- name: flood-mute
  on: [Group.CallbackBeforeSendMsg]
  when: {rate: {per: user, within: 10, at_least: 3, once: true}}
  then:
    - command: mute_member
      params: {RoomId: "{room_id}", MemberList_Account: ["{user_id}"], MuteTime: 60}
"""


def rules(text: str) -> RuleSet:
    return parse_rules(f"version: 1\nrules:\n{textwrap.indent(textwrap.dedent(text), '  ')}")


def refused(text: str) -> str:
    with pytest.raises(RulesInvalid) as caught:
        rules(text)
    return str(caught.value)


def play(rule_set: RuleSet, state: MemoryState, callback: Callback, at: float = NOW) -> Decision:
    """What the ingress and the moderator do together: count the event, then decide on the counts."""
    plan = rule_set.counter_plan(callback.callback_command)
    counted = counted_event(callback)
    counts = count(state, plan, counted, round(at * 1000)) if plan and counted else None
    return evaluate(callback, state, rule_set, now=at, admin=ADMIN, event_id="e" * 64, counts=counts)


# --- the rules file ----------------------------------------------------------------------------------


def test_a_rate_without_per_is_refused_naming_the_rule_and_field():
    message = refused(
        "- {name: r, on: [Group.CallbackBeforeSendMsg], when: {rate: {within: 10, at_least: 3}},"
        " verdict: drop}\n"
    )
    assert message == 'rule "r": when.rate.per: is required'


def test_a_rate_window_over_an_hour_is_refused():
    message = refused(
        "- name: r\n  on: [Group.CallbackBeforeSendMsg]\n"
        "  when: {rate: {per: room, within: 7200, at_least: 3}}\n  verdict: drop\n"
    )
    assert message.startswith('rule "r": when.rate.within: Input should be less than or equal to 3600')


def test_once_and_below_together_are_refused_with_the_reason():
    message = refused(
        "- name: r\n  on: [Group.CallbackBeforeSendMsg]\n"
        "  when: {rate: {per: user, within: 10, at_least: 3, below: 5, once: true}}\n  verdict: drop\n"
    )
    assert "give once or below, not both" in message


def test_a_repeat_of_one_copy_is_refused():
    message = refused(
        "- {name: r, on: [Group.CallbackBeforeSendMsg], when: {repeat: {within: 10, at_least: 1}},"
        " verdict: drop}\n"
    )
    assert message.startswith('rule "r": when.repeat.at_least: Input should be greater than or equal to 2')


def test_a_rate_on_a_callback_that_is_not_a_message_or_gift_is_refused():
    message = refused(
        "- {name: r, on: [Live.CallbackAfterCreateRoom], when: {rate: {per: room, within: 60, at_least: 3}},"
        " violation: busy}\n"
    )
    assert "when.rate: rates are counted only on" in message
    assert "not on Live.CallbackAfterCreateRoom" in message


def test_repeat_and_raid_are_refused_on_gifts_which_have_no_text():
    message = refused(
        "- {name: r, on: [Live.CallbackBeforeSendGift], when: {repeat: {within: 60, at_least: 3}},"
        " verdict: reject}\n"
        "- {name: s, on: [Live.CallbackBeforeSendGift], when: {raid: {within: 60, at_least: 3}},"
        " verdict: reject}\n"
    )
    assert 'rule "r": when.repeat: repeated texts are counted only on' in message
    assert 'rule "s": when.raid: users arriving are counted only on' in message


def test_a_rule_acting_on_every_event_over_a_rate_is_warned_about_and_once_is_not():
    rule_set = rules(
        FLOOD
        + """\
- name: noisy
  on: [Group.CallbackBeforeSendMsg]
  when: {rate: {per: room, within: 10, at_least: 3}}
  strike: true
"""
    )
    assert len(rule_set.warnings) == 1
    assert rule_set.warnings[0].startswith('rule "noisy": when.rate: holds on every event')
    assert "give once: true" in rule_set.warnings[0]


def test_the_rule_set_counts_only_the_commands_a_counting_rule_listens_to():
    rule_set = rules(
        FLOOD
        + """\
- {name: gifts, on: [Live.CallbackBeforeSendGift], when: {rate: {per: room, within: 60, at_least: 50}},
   verdict: reject}
- {name: rooms, on: [Live.CallbackAfterCreateRoom], violation: created}
"""
    )
    assert rule_set.counter_plan(MESSAGE) == CounterPlan(MESSAGE, frozenset({("user", 10)}))
    assert rule_set.counter_plan("Live.CallbackBeforeSendGift") == CounterPlan(
        "Live.CallbackBeforeSendGift", frozenset({("room", 60)})
    )
    assert rule_set.counter_plan("Live.CallbackAfterCreateRoom") is None
    assert rules("- {name: rooms, on: [Live.CallbackAfterCreateRoom], violation: created}\n").counters == {}


# --- the counters ------------------------------------------------------------------------------------


def test_a_bucket_is_a_tenth_of_the_longest_window_and_at_least_a_second():
    assert [bucket_width(window) for window in (1, 9, 10, 11, 60, 3600)] == [1, 1, 1, 2, 6, 360]


def test_a_count_covers_the_window_and_less_than_one_bucket_before_it():
    # Given events at 0 s, 5 s and 10.5 s, in 1 s buckets
    state = MemoryState()
    plan = CounterPlan(MESSAGE, frozenset({("user", 10)}))
    event = counted_event(comment("hi"))
    assert event is not None
    base = 1_800_000_000_000
    for at in (0, 5_000, 10_500):
        count(state, plan, event, base + at)
    ((item, _),) = state.counters.values()
    # Then at 10.5 s the window [0.5 s, 10.5 s] overlaps the bucket of 0 s: counted (never below)
    assert window_count(item, "user", 1, 10, base + 10_500) == 3
    # And at 11 s that bucket has left the window
    assert window_count(item, "user", 1, 10, base + 11_000) == 2
    assert window_count(item, "user", 1, 5, base + 11_000) == 1


def test_buckets_that_left_the_window_are_removed_from_the_item():
    state = MemoryState()
    plan = CounterPlan(MESSAGE, frozenset({("user", 10)}))
    event = counted_event(comment("hi"))
    assert event is not None
    for second in range(0, 60):
        count(state, plan, event, 1_800_000_000_000 + second * 1000)
    ((item, _),) = state.counters.values()
    # Two windows' worth of 1 s buckets at most (the window's 11, and the 11 before them at most)
    assert len(item) <= 22
    assert window_count(item, "user", 1, 10, 1_800_000_059_000) == 11


def test_counter_keys_name_the_room_command_and_user_and_never_the_text():
    text = "buy followers at example dot com"
    digest = text_hash([text])
    assert digest is not None
    assert len(digest) == 16
    assert counter_pk(ROOM) == f"COUNT#{ROOM}"
    assert user_key(MESSAGE, "u1") == f"{MESSAGE}#USER#u1"
    assert room_key(MESSAGE) == f"{MESSAGE}#ROOM"
    key = repeat_key(MESSAGE, "u1", digest)
    assert "followers" not in key
    assert key.endswith(digest)


def test_case_width_and_invisible_characters_do_not_make_a_copy_new():
    same = {
        text_hash(["Buy followers now"]),
        text_hash(["BUY  FOLLOWERS NOW"]),
        text_hash(["Buy fol\u200blowers now"]),
        text_hash(["Ｂｕｙ followers now "]),
    }
    assert len(same) == 1
    assert text_hash(["Buy followers later"]) not in same
    assert text_hash(["\u200b "]) is None


# --- the engine on the counts ------------------------------------------------------------------------


def test_a_user_flooding_has_every_message_over_the_rate_dropped_and_is_muted_once():
    rule_set, state = rules(FLOOD), MemoryState()
    # Given a user who sends five messages in a second
    decisions = [play(rule_set, state, comment(f"spam {n}"), at=NOW + n / 10) for n in range(5)]
    # Then the first two are delivered, and the third and later are dropped
    assert [d.verdict.action if d.verdict else "deliver" for d in decisions] == [
        "deliver",
        "deliver",
        "drop",
        "drop",
        "drop",
    ]
    # And the mute comes with the third only: once per flood
    mutes = [action for d in decisions for action in d.actions]
    assert [(a.command, a.params["MemberList_Account"]) for a in mutes] == [("mute_member", ["viewer-7"])]


def test_another_user_in_the_same_room_is_not_counted_with_the_flooder():
    rule_set, state = rules(FLOOD), MemoryState()
    for n in range(4):
        play(rule_set, state, comment(f"spam {n}"), at=NOW + n / 10)
    assert play(rule_set, state, comment("hello", sender="viewer-8"), at=NOW + 0.5).verdict is None


def test_a_user_slower_than_the_rate_is_never_dropped():
    rule_set, state = rules(FLOOD), MemoryState()
    decisions = [play(rule_set, state, comment(f"chat {n}"), at=NOW + n * 6) for n in range(6)]
    assert all(decision.verdict is None for decision in decisions)


def test_a_copy_paste_is_caught_by_repeat_even_with_invisible_characters():
    rule_set, state = (
        rules(
            "- {name: copies, on: [Group.CallbackBeforeSendMsg], when: {repeat: {within: 60, at_least: 3}},"
            " verdict: drop}\n"
        ),
        MemoryState(),
    )
    texts = ["Join my channel", "join my channel", "other thing", "JOIN\u200b my channel"]
    decisions = [play(rule_set, state, comment(text), at=NOW + n) for n, text in enumerate(texts)]
    assert [d.fired for d in decisions] == [[], [], [], ["copies"]]


def test_a_raid_fires_once_when_enough_users_arrive_and_not_for_regulars_chatting_on():
    rule_set, state = (
        rules(
            """\
            - name: raid-lock
              on: [Group.CallbackBeforeSendMsg]
              when: {raid: {within: 30, at_least: 3, once: true}}
              then:
                - command: update_room_info
                  params: {RoomInfo: {RoomId: "{room_id}", IsMessageDisabled: true}}
                - command: update_room_info
                  params: {RoomInfo: {RoomId: "{room_id}", IsMessageDisabled: false}}
                  delay_seconds: 60
            """
        ),
        MemoryState(),
    )
    # Given two regulars who keep chatting (they arrive once, at the start)
    for n in range(4):
        assert play(rule_set, state, comment("hi", sender="regular-1"), at=NOW + n).fired == []
        assert play(rule_set, state, comment("hi", sender="regular-2"), at=NOW + n).fired == []
    # When a third user arrives, the room has had three arrivals within 30 s: the raid fires
    decision = play(rule_set, state, comment("raid!", sender="raider-1"), at=NOW + 5)
    assert decision.fired == ["raid-lock"]
    assert [(a.params["RoomInfo"]["IsMessageDisabled"], a.delay_seconds) for a in decision.actions] == [
        (True, 0),
        (False, 60),
    ]
    # And neither the regulars nor the raider posting again, nor a fourth arrival, fire it again
    assert play(rule_set, state, comment("hi", sender="regular-1"), at=NOW + 6).fired == []
    assert play(rule_set, state, comment("raid!", sender="raider-1"), at=NOW + 6).fired == []
    assert play(rule_set, state, comment("raid!", sender="raider-2"), at=NOW + 7).fired == []


def test_a_gift_rate_per_room_rejects_gifts_over_it():
    rule_set, state = (
        rules(
            "- {name: gift-storm, on: [Live.CallbackBeforeSendGift],"
            " when: {rate: {per: room, within: 60, at_least: 3}}, verdict: reject}\n"
        ),
        MemoryState(),
    )
    decisions = [play(rule_set, state, gift(sender=f"fan-{n}"), at=NOW + n) for n in range(4)]
    assert [d.verdict.action if d.verdict else "allow" for d in decisions] == [
        "allow",
        "allow",
        "reject",
        "reject",
    ]


def test_without_counts_a_counting_condition_does_not_hold():
    # Given the counts are missing (the table did not answer): the condition does not hold
    rule_set = rules(FLOOD)
    decision = evaluate(comment("x"), MemoryState(), rule_set, now=NOW, admin=ADMIN, event_id="e" * 64)
    assert decision == Decision()
    inline = InlineRules(rule_set, admin=ADMIN)
    assert inline.verdict(comment("x")) is None
    # And with counts it decides inline as the moderator does
    assert inline.verdict(comment("x"), {"user:10": 3}).action == "drop"


def test_the_moderator_decides_on_the_counts_it_is_given_not_on_state():
    rule_set, state = rules(FLOOD), MemoryState()
    counts = {"user:10": 3}
    first = evaluate(comment("x"), state, rule_set, now=NOW, admin=ADMIN, event_id="a" * 64, counts=counts)
    again = evaluate(comment("x"), state, rule_set, now=NOW, admin=ADMIN, event_id="a" * 64, counts=counts)
    assert first == again
    assert [a.command for a in first.actions] == ["mute_member"]
    assert state.counters == {}


def test_an_event_without_a_room_is_not_counted():
    follow = event("Follow.CallbackAfterFollowAdd")
    assert follow.room_key is None
    assert counted_event(follow) is None


def test_a_gift_counts_its_sender_and_has_no_text():
    counted = counted_event(gift(sender="fan-1"))
    assert counted is not None
    assert (counted.room, counted.user, counted.text_hash) == (ROOM, "fan-1", None)
