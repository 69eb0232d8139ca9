"""The engine's semantics beyond the defaults: ordering, exclusions, templates, thresholds, inline use."""

from __future__ import annotations

import json
import logging
import textwrap

from liveguard.rules.compiled import RuleSet
from liveguard.rules.engine import ADMIN_APPROVAL, InlineRules, evaluate, snapshots_from_admin
from liveguard.rules.loader import load_rules, parse_rules
from liveguard.rules.outcome import Decision, EmptyState, SaveSnapshot
from liveguard.rules.verdict import Verdict, tencent_default
from liveguard.webhooks.models import parse_callback
from tests.unit.rules.fakes import (
    ADMIN,
    NOW,
    ROOM,
    MemoryState,
    comment,
    event,
    gift,
    metadata_deleted,
    metadata_set,
    room_created,
)


def rules(text: str, terms: str = "banned: [free coins]") -> RuleSet:
    return parse_rules(
        f"version: 1\nterms:\n  {terms}\nrules:\n{textwrap.indent(textwrap.dedent(text), '  ')}"
    )


def decide(callback, rule_set: RuleSet, state: MemoryState | None = None) -> Decision:
    return evaluate(callback, state or MemoryState(), rule_set, now=NOW, admin=ADMIN, event_id="e" * 64)


SAY = """\
- name: say
  on: [Live.CallbackAfterCreateRoom]
  when: {{actor: any}}
  then:
    - command: send_custom_msg
      params: {{RoomId: "{{room_id}}", Sender_Account: "{{admin}}", BusinessId: note, Data: {data}}}
"""


def said(data: str) -> str:
    decision = decide(room_created(), rules(SAY.format(data=data)))
    return str(decision.actions[0].params["Data"])


# --- which rules run ---------------------------------------------------------------------------------


def test_an_event_no_rule_listens_to_decides_nothing():
    assert decide(event("Live.CallbackAfterMemberStateChanged"), load_rules()) == Decision()


def test_an_event_without_a_room_decides_nothing():
    rule_set = rules(
        "- {name: follow, on: [Follow.CallbackAfterFollowAdd], when: {actor: any}, strike: true}\n"
    )
    assert decide(event("Follow.CallbackAfterFollowAdd"), rule_set) == Decision()


def test_an_unknown_callback_decides_nothing():
    unknown = parse_callback("Live.CallbackSomethingNew", {"RoomId": ROOM, "Operator_Account": "u"})
    assert decide(unknown, load_rules()) == Decision()


def test_user_rules_skip_the_admin_and_any_rules_do_not():
    rule_set = rules(
        """\
        - {name: users, on: [Live.CallbackAfterCreateRoom], strike: true}
        - {name: anyone, on: [Live.CallbackAfterCreateRoom], when: {actor: any}, violation: any}
        """
    )
    assert decide(room_created(by="host-1"), rule_set).fired == ["users", "anyone"]
    assert decide(room_created(by=ADMIN), rule_set).fired == ["anyone"]


def test_rooms_and_not_rooms_take_globs():
    rule_set = rules(
        "- {name: vip, on: [Group.CallbackBeforeSendMsg], when: {rooms: [vip-*], not_rooms: [vip-test]}, "
        "verdict: reject}\n"
    )
    assert decide(comment("hi", room="vip-1"), rule_set).fired == ["vip"]
    assert decide(comment("hi", room="vip-test"), rule_set).fired == []
    assert decide(comment("hi", room="live-1"), rule_set).fired == []


def test_the_first_rule_with_a_verdict_decides_and_later_rules_still_fire():
    rule_set = rules(
        """\
        - {name: drop-it, on: [Group.CallbackBeforeSendMsg], when: {terms: [banned]}, verdict: drop}
        - name: reject-it
          on: [Group.CallbackBeforeSendMsg]
          when: {terms: [banned]}
          verdict: reject
          strike: true
        """
    )
    decision = decide(comment("free coins"), rule_set)
    assert decision.verdict is not None
    assert decision.verdict.rule == "drop-it"
    assert decision.fired == ["drop-it", "reject-it"]
    assert len(decision.changes) == 1


def test_fields_limit_where_terms_are_looked_for():
    rule_set = rules(
        "- {name: names, on: [Live.CallbackAfterCreateRoom], when: {terms: [banned], fields: [Notice]}, "
        "violation: bad-notice}\n"
    )
    assert decide(room_created(name="free coins"), rule_set).fired == []
    assert decide(room_created(notice="free coins"), rule_set).fired == ["names"]


# --- thresholds --------------------------------------------------------------------------------------

STRIKE_AND_COUNT = """\
- {{name: strike, on: [Group.CallbackBeforeSendMsg], when: {{terms: [banned]}}, strike: true}}
- name: count
  on: [Group.CallbackBeforeSendMsg]
  when: {{strikes: {{within: 600, at_least: 2{extra}}}}}
  violation: counted
"""


def test_a_threshold_counts_state_plus_the_strikes_of_rules_above():
    rule_set = rules(STRIKE_AND_COUNT.format(extra=""))
    state = MemoryState().strike("viewer-7", at=NOW - 599)
    assert decide(comment("free coins"), rule_set, state).fired == ["strike", "count"]


def test_a_strike_just_outside_the_window_does_not_count():
    rule_set = rules(STRIKE_AND_COUNT.format(extra=""))
    # The window holds now - 600 itself (to the millisecond, as the state table counts): one ms before.
    state = MemoryState().strike("viewer-7", at=NOW - 600.001)
    assert decide(comment("free coins"), rule_set, state).fired == ["strike"]


def test_a_threshold_fires_only_when_struck_unless_new_only_is_off():
    state = MemoryState().strike("viewer-7", at=NOW - 10, times=2)
    assert decide(comment("hello"), rules(STRIKE_AND_COUNT.format(extra="")), state).fired == []
    any_event = rules(STRIKE_AND_COUNT.format(extra=", new_only: false"))
    assert decide(comment("hello"), any_event, state).fired == ["count"]


def test_the_upper_bound_of_a_threshold_is_exclusive():
    rule_set = rules(STRIKE_AND_COUNT.format(extra=", below: 3"))
    state = MemoryState().strike("viewer-7", at=NOW - 10, times=2)
    assert decide(comment("free coins"), rule_set, state).fired == ["strike"]


def test_violations_of_several_kinds_count_together():
    rule_set = rules(
        """\
        - {name: a, on: [Live.CallbackAfterCreateRoom], when: {actor: any}, violation: kind-a}
        - {name: b, on: [Live.CallbackAfterUpdateRoomInfo], when: {actor: any}, violation: kind-b}
        - name: both
          on: [Live.CallbackAfterCreateRoom]
          when: {actor: any, violations: {kinds: [kind-a, kind-b], within: 60, at_least: 2}}
          then: [{command: destroy_room, params: {RoomId: "{room_id}"}}]
        """
    )
    state = MemoryState().violate("kind-b", at=NOW - 5)
    assert decide(room_created(), rule_set, state).fired == ["a", "both"]


def test_evaluate_only_reads_state_and_each_count_once():
    # Given the mute and ban rules both count the same window
    state = MemoryState().strike("viewer-7", at=NOW, times=2)
    before = list(state.strikes)
    # When a striking comment is decided
    decide(comment("free coins"), load_rules(), state)
    # Then state is untouched and the window was counted once
    assert state.strikes == before
    assert state.reads == 1


# --- templates and actions ---------------------------------------------------------------------------


def test_json_data_is_rendered_with_typed_variables():
    data = said('{$json: {room: "{room_id}", at: "{now}", text: "by {admin} at {now}"}}')
    assert json.loads(data) == {"room": ROOM, "at": int(NOW), "text": f"by {ADMIN} at {int(NOW)}"}


def test_double_braces_are_literal_braces():
    assert said('"{{not a variable}} {room_id}"') == "{not a variable} " + ROOM


def test_an_action_is_skipped_when_its_unless_empty_variable_is_empty():
    rule_set = rules(
        """\
        - name: restore
          on: [Live.CallbackAfterSetMetadata]
          then:
            - command: set_room_metadata
              params: {RoomId: "{room_id}", Metadata: "{restore_metadata}"}
              unless_empty: restore_metadata
        """
    )
    assert decide(metadata_set({"k": "v"}), rule_set).actions == []


def test_actions_that_two_rules_both_produce_are_queued_once():
    rule_set = rules(
        """\
        - name: one
          on: [Live.CallbackAfterCreateRoom]
          then: [{command: destroy_room, params: {RoomId: "{room_id}"}}]
        - name: two
          on: [Live.CallbackAfterCreateRoom]
          then: [{command: destroy_room, params: {RoomId: "{room_id}"}}]
        """
    )
    decision = decide(room_created(), rule_set)
    assert decision.fired == ["one", "two"]
    assert [action.rule for action in decision.actions] == ["one"]


def test_an_action_whose_rendered_params_tencent_would_refuse_is_skipped_with_a_warning(caplog):
    # Given a rule whose text param is longer than Tencent allows once the variable is filled in
    rule_set = rules(
        """\
        - name: rename
          on: [Live.CallbackAfterCreateRoom]
          then:
            - command: update_room_info
              params: {RoomInfo: {RoomId: "{room_id}", RoomName: "{user_id}{user_id}{user_id}"}}
            - command: destroy_room
              params: {RoomId: "{room_id}"}
        """
    )
    # When the acting user's name makes RoomName exceed 100 bytes
    with caplog.at_level(logging.WARNING, logger="liveguard.rules.engine"):
        decision = decide(room_created(by="u" * 40), rule_set)
    # Then that action is dropped, the other kept, and the reason logged
    assert [action.command for action in decision.actions] == ["destroy_room"]
    assert "update_room_info params do not validate" in caplog.text


def test_a_snapshot_rule_approves_the_matched_keys_new_values():
    rule_set = rules(
        "- {name: trust-host, on: [Live.CallbackAfterSetMetadata, Live.CallbackAfterDelMetadata], "
        "when: {keys: {names: [topic]}}, snapshot: true}\n"
    )
    assert decide(metadata_set({"topic": "chess", "x": "1"}), rule_set).changes == [
        SaveSnapshot(room_id=ROOM, rule="trust-host", key="topic", value="chess")
    ]
    assert decide(metadata_deleted(["topic"]), rule_set).changes == [
        SaveSnapshot(room_id=ROOM, rule="trust-host", key="topic", value=None)
    ]


# --- echoes and inline verdicts ----------------------------------------------------------------------


def test_the_admin_s_metadata_echoes_become_approved_values():
    assert snapshots_from_admin(metadata_set({"lg.a": "1", "lg.b": "2"}, by=ADMIN)) == [
        SaveSnapshot(room_id=ROOM, rule=ADMIN_APPROVAL, key="lg.a", value="1"),
        SaveSnapshot(room_id=ROOM, rule=ADMIN_APPROVAL, key="lg.b", value="2"),
    ]
    assert snapshots_from_admin(metadata_deleted(["lg.a"], by=ADMIN)) == [
        SaveSnapshot(room_id=ROOM, rule=ADMIN_APPROVAL, key="lg.a", value=None)
    ]


def test_other_echoes_give_no_snapshot():
    assert snapshots_from_admin(room_created(by=ADMIN)) == []


def test_inline_rules_answer_before_callbacks_with_the_engine_s_verdict():
    inline = InlineRules(load_rules(), admin=ADMIN)
    verdict = inline.verdict(comment("free coins"))
    assert verdict is not None
    assert verdict.action == "rewrite"
    assert inline.verdict(comment("hello")) is None


def test_inline_rules_have_no_opinion_on_after_callbacks():
    assert InlineRules(load_rules(), admin=ADMIN).verdict(comment("free coins", before=False)) is None


def test_inline_rules_read_the_state_they_are_given():
    muted = MemoryState(sanctions={(ROOM, "viewer-7"): ("muted", 4_000_000_000.0)})
    assert InlineRules(load_rules(), admin=ADMIN).verdict(gift()) is None
    verdict = InlineRules(load_rules(), muted, admin=ADMIN).verdict(gift())
    assert verdict is not None
    assert verdict.reply()["ErrorCode"] == 1


def test_inline_rules_default_to_an_empty_state():
    assert isinstance(InlineRules(load_rules(), admin=ADMIN).state, EmptyState)


COUNTED_GIFTS = """\
- name: gifts-after-strikes
  on: [Live.CallbackBeforeSendGift]
  when: {strikes: {within: 600, at_least: 2, new_only: false}}
  verdict: {action: reject, reason: struck too often}
  strike: true
- name: big-gifts
  on: [Live.CallbackBeforeSendGift]
  when: {coins_over: 10}
  verdict: reject
  violation: big-gift
- name: note-gift
  on: [Live.CallbackBeforeSendGift]
  violation: gift
"""


def decide_answered(callback, rule_set: RuleSet, state: MemoryState, answered: Verdict) -> Decision:
    return evaluate(callback, state, rule_set, now=NOW, admin=ADMIN, event_id="e" * 64, answered=answered)


def test_a_rule_with_a_verdict_that_did_not_decide_inline_is_not_fired_by_the_moderator():
    # Given a gift the ingress allowed (its state read failed: decided as if no strikes), from a user
    # the moderator now sees with two strikes
    state = MemoryState().strike("viewer-7", at=NOW - 10, times=2)
    allowed = Verdict(action="deliver", code=0)
    # When the moderator decides it
    decision = decide_answered(gift(coins=1), rules(COUNTED_GIFTS, terms="{}"), state, allowed)
    # Then the rule that did not decide does not fire (no strike for it), rules without a verdict do,
    # and the verdict is what Tencent was answered
    assert decision.fired == ["note-gift"]
    assert [change.kind for change in decision.changes] == ["violation"]
    assert decision.verdict == allowed


def test_the_rule_that_decided_inline_fires_even_if_the_state_changed_since():
    # Given a gift the ingress refused for its sender's strikes, which have expired by now
    refused = Verdict(action="reject", code=1, rule="gifts-after-strikes", reason="struck too often")
    decision = decide_answered(gift(coins=1), rules(COUNTED_GIFTS, terms="{}"), MemoryState(), refused)
    # Then the rule that decided fires, with its changes
    assert decision.fired == ["gifts-after-strikes", "note-gift"]
    assert [change.kind for change in decision.changes] == ["strike", "violation"]
    assert decision.verdict == refused


def test_rules_with_a_verdict_below_the_one_that_decided_still_fire_for_their_changes():
    state = MemoryState().strike("viewer-7", at=NOW - 10, times=2)
    refused = Verdict(action="reject", code=1, rule="gifts-after-strikes", reason="struck too often")
    decision = decide_answered(gift(coins=100), rules(COUNTED_GIFTS, terms="{}"), state, refused)
    assert decision.fired == ["gifts-after-strikes", "big-gifts", "note-gift"]
    assert decision.verdict == refused


def test_tencents_default_answered_when_the_rules_failed_fires_no_rule_with_a_verdict():
    state = MemoryState().strike("viewer-7", at=NOW - 10, times=2)
    fallback = tencent_default("Live.CallbackBeforeSendGift")
    decision = decide_answered(gift(coins=100), rules(COUNTED_GIFTS, terms="{}"), state, fallback)
    assert decision.fired == ["note-gift"]
    assert decision.verdict == fallback


def test_inline_rules_read_no_state_for_a_rule_that_cannot_change_the_verdict():
    # Given a comment rule that counts strikes but answers no verdict and strikes nobody
    rule_set = rules(
        """\
        - name: warn-struck
          on: [Group.CallbackBeforeSendMsg]
          when: {strikes: {within: 600, at_least: 2, new_only: false}}
          then:
            - command: send_text_msg
              params: {RoomId: "{room_id}", Sender_Account: "{admin}", TextContent: careful}
        """
    )
    state = MemoryState().strike("viewer-7", at=NOW - 10, times=2)
    # When the ingress decides a comment
    verdict = InlineRules(rule_set, state, admin="").verdict(comment("hello"))
    # Then it answers deliver without reading the state (the moderator evaluates that rule)
    assert verdict is None
    assert state.reads == 0
    assert decide(comment("hello"), rule_set, state).fired == ["warn-struck"]
