"""The default rules shipped in the layer, one scenario at a time (Given/When/Then)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from liveguard.rules.compiled import RuleSet
from liveguard.rules.engine import evaluate, snapshots_from_admin
from liveguard.rules.loader import DEFAULT_RULES, load_rules, parse_rules
from liveguard.rules.outcome import AddStrike, Decision, RecordSanction, RecordViolation
from liveguard.tencent.commands import COMMANDS
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
    moderation,
    room_created,
    room_updated,
)

DEFAULTS = load_rules()
MINUTE = 60


def decide(
    callback, state: MemoryState | None = None, rules: RuleSet = DEFAULTS, now: float = NOW
) -> Decision:
    return evaluate(callback, state or MemoryState(), rules, now=now, admin=ADMIN, event_id="e" * 64)


def defaults_with(old: str, new: str) -> RuleSet:
    """The defaults with one tunable changed, as a user would edit their copy of the file."""
    text = DEFAULT_RULES.read_text(encoding="utf-8")
    assert old in text
    return parse_rules(text.replace(old, new, 1), base_dir=DEFAULT_RULES.parent)


def commands(decision: Decision) -> list[str]:
    return [action.command for action in decision.actions]


# --- 1. banned terms in metadata -------------------------------------------------------------------


def test_a_banned_term_in_metadata_set_by_a_user_deletes_those_keys_and_strikes_the_user():
    # Given a viewer sets two keys, one of them holding a banned term (in full-width capitals)
    callback = metadata_set({"topic": "ＢＵＹ followers here", "lang": "en"})
    # When the defaults decide
    decision = decide(callback)
    # Then only that key is deleted and the viewer is struck
    assert decision.fired == ["metadata-terms"]
    assert [(a.command, a.params) for a in decision.actions] == [
        ("del_room_metadata", {"RoomId": ROOM, "Keys": ["topic"]})
    ]
    assert decision.changes == [AddStrike(room_id=ROOM, rule="metadata-terms", user_id="viewer-7")]


def test_clean_metadata_fires_no_rule():
    assert decide(metadata_set({"topic": "chess", "lang": "en"})).fired == []


def test_metadata_the_admin_sets_is_not_moderated_as_a_user_s():
    # Given the admin itself sets a value with a banned term (evaluated directly, not as an echo)
    decision = decide(metadata_set({"topic": "buy followers"}, by=ADMIN))
    # Then no user rule fires
    assert decision.fired == []


# --- 2. protected keys -----------------------------------------------------------------------------


def test_a_user_changing_a_protected_key_gets_the_approved_value_restored():
    # Given the admin approved lg.rules-version = 1
    state = MemoryState(approved={(ROOM, "lg.rules-version"): "1"})
    # When a viewer overwrites it
    decision = decide(metadata_set({"lg.rules-version": "9", "topic": "chess"}), state)
    # Then the approved value is set back, and nothing else is touched
    assert decision.fired == ["protect-keys"]
    assert [(a.command, a.params) for a in decision.actions] == [
        ("set_room_metadata", {"RoomId": ROOM, "Metadata": [{"Key": "lg.rules-version", "Value": "1"}]})
    ]


def test_a_protected_key_without_an_approved_value_is_deleted_when_a_user_sets_it():
    decision = decide(metadata_set({"lg.owner": "me"}))
    assert [(a.command, a.params) for a in decision.actions] == [
        ("del_room_metadata", {"RoomId": ROOM, "Keys": ["lg.owner"]})
    ]


def test_a_user_deleting_a_protected_key_gets_it_restored():
    state = MemoryState(approved={(ROOM, "lg.rules-version"): "1"})
    decision = decide(metadata_deleted(["lg.rules-version"]), state)
    assert [(a.command, a.params) for a in decision.actions] == [
        ("set_room_metadata", {"RoomId": ROOM, "Metadata": [{"Key": "lg.rules-version", "Value": "1"}]})
    ]


def test_deleting_a_protected_key_that_had_no_approved_value_needs_no_action():
    assert decide(metadata_deleted(["lg.never-set"])).actions == []


def test_setting_a_protected_key_to_its_approved_value_needs_no_action():
    state = MemoryState(approved={(ROOM, "lg.rules-version"): "1"})
    assert decide(metadata_set({"lg.rules-version": "1"}), state).actions == []


def test_keys_outside_the_protected_prefix_are_the_users_to_change():
    assert "protect-keys" not in decide(metadata_set({"topic": "x"})).fired
    assert decide(metadata_deleted(["topic"])).fired == []


def test_the_admin_s_own_metadata_echo_becomes_the_value_protect_keys_restores():
    # Given LiveGuard's own set_room_metadata came back as the admin's echo
    state = MemoryState()
    state.apply(
        snapshots_from_admin(metadata_set({"lg.rules-version": "2"}, by=ADMIN)), event_id="a" * 64, now=NOW
    )
    # When a viewer deletes the key later
    decision = decide(metadata_deleted(["lg.rules-version"]), state)
    # Then the admin's value is the one restored
    assert decision.actions[0].params["Metadata"] == [{"Key": "lg.rules-version", "Value": "2"}]


def test_the_protected_prefix_is_tunable():
    rules = defaults_with("keys: {prefix: [lg.]}", "keys: {prefix: [app.], names: [topic]}")
    assert decide(metadata_set({"lg.x": "1"}), rules=rules).fired == []
    assert decide(metadata_set({"topic": "1"}), rules=rules).fired == ["protect-keys"]


# --- 3. banned terms in comments -------------------------------------------------------------------


def test_a_banned_term_in_a_comment_is_masked_by_default_and_the_sender_struck():
    decision = decide(comment("hey Buy Followers now!"))
    assert decision.verdict is not None
    assert (decision.verdict.action, decision.verdict.code, decision.verdict.rule) == (
        "rewrite",
        0,
        "comment-terms",
    )
    assert decision.verdict.msg_body == [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hey ************* now!"}}
    ]
    assert decision.changes == [AddStrike(room_id=ROOM, rule="comment-terms", user_id="viewer-7")]


def test_a_masked_comment_keeps_its_other_elements_as_they_were():
    callback = event(
        "Group.CallbackBeforeSendMsg",
        MsgBody=[
            {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1, "Data": "smile"}},
            {"MsgType": "TIMTextElem", "MsgContent": {"Text": "free coins", "Extra": 1}},
        ],
    )
    verdict = decide(callback).verdict
    assert verdict is not None
    assert verdict.msg_body == [
        {"MsgType": "TIMFaceElem", "MsgContent": {"Index": 1, "Data": "smile"}},
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "**********", "Extra": 1}},
    ]


@pytest.mark.parametrize(("action", "verdict", "code"), [("reject", "reject", 1), ("drop", "drop", 2)])
def test_a_comment_can_be_rejected_or_dropped_instead(action, verdict, code):
    rules = defaults_with("verdict: {action: mask", f"verdict: {{action: {action}")
    decision = decide(comment("free coins"), rules=rules)
    assert decision.verdict is not None
    assert (decision.verdict.action, decision.verdict.code) == (verdict, code)
    assert decision.verdict.msg_body is None


def test_a_clean_comment_gets_no_verdict_and_no_strike():
    decision = decide(comment("nice move"))
    assert decision.verdict is None
    assert decision.changes == []


def test_the_delivered_copy_of_a_message_is_not_struck_a_second_time():
    assert decide(comment("free coins", before=False)) == Decision()


# --- 4. strikes: mute, then ban --------------------------------------------------------------------


def test_the_third_strike_within_ten_minutes_mutes_the_user_for_ten_minutes():
    # Given two strikes in the last ten minutes
    state = MemoryState().strike("viewer-7", at=NOW - 5 * MINUTE, times=2)
    # When a third banned comment comes
    decision = decide(comment("free coins"), state)
    # Then the user is muted for 600 s, and the mute is remembered until then
    assert decision.fired == ["comment-terms", "strikes-mute"]
    mute = decision.actions[0]
    assert (mute.command, mute.params) == (
        "mute_member",
        {"RoomId": ROOM, "MemberList_Account": ["viewer-7"], "MuteTime": 600},
    )
    assert (
        RecordSanction(
            room_id=ROOM, rule="strikes-mute", user_id="viewer-7", sanction="muted", until=int(NOW) + 600
        )
        in decision.changes
    )


def test_the_sixth_strike_bans_the_user_for_an_hour_instead_of_muting():
    state = MemoryState().strike("viewer-7", at=NOW - MINUTE, times=5)
    decision = decide(comment("free coins"), state)
    assert decision.fired == ["comment-terms", "strikes-ban"]
    assert [(a.command, a.params["Duration"]) for a in decision.actions] == [("ban_member", 3600)]
    assert decision.changes[-1] == RecordSanction(
        room_id=ROOM, rule="strikes-ban", user_id="viewer-7", sanction="banned", until=int(NOW) + 3600
    )


def test_strikes_older_than_the_window_do_not_count():
    state = MemoryState().strike("viewer-7", at=NOW - 11 * MINUTE, times=5)
    assert decide(comment("free coins"), state).fired == ["comment-terms"]


def test_strikes_in_another_room_do_not_count():
    state = MemoryState().strike("viewer-7", at=NOW - MINUTE, times=5, room="other-room")
    assert decide(comment("free coins"), state).fired == ["comment-terms"]


def test_a_clean_comment_from_a_struck_user_does_not_mute_again():
    state = MemoryState().strike("viewer-7", at=NOW - MINUTE, times=4)
    assert decide(comment("hello"), state).fired == []


def test_strikes_from_metadata_count_toward_the_same_threshold():
    state = MemoryState().strike("viewer-7", at=NOW - MINUTE, times=2)
    decision = decide(metadata_set({"topic": "free coins"}), state)
    assert decision.fired == ["metadata-terms", "strikes-mute"]


def test_three_banned_comments_in_a_row_mute_on_the_third():
    # Given each decision's changes are recorded, as the moderator does
    state = MemoryState()
    fired = []
    for second in range(3):
        decision = decide(comment("free coins"), state, now=NOW + second)
        state.apply(decision.changes, event_id="e" * 64, now=NOW + second)
        fired.append(decision.fired)
    # Then only the third mutes
    assert fired == [["comment-terms"], ["comment-terms"], ["comment-terms", "strikes-mute"]]


def test_the_strike_thresholds_are_tunable():
    rules = defaults_with(
        "strikes: {within: 600, at_least: 3, below: 6}", "strikes: {within: 60, at_least: 2, below: 6}"
    )
    state = MemoryState().strike("viewer-7", at=NOW - 30)
    assert "strikes-mute" in decide(comment("free coins"), state, rules=rules).fired


# --- 5. content moderation results -----------------------------------------------------------------


def test_a_flagged_result_warns_the_host_with_a_violation_alert_and_counts_a_violation():
    decision = decide(moderation("Porn"))
    assert decision.fired == ["moderation-warn"]
    (warning,) = decision.actions
    assert warning.command == "send_custom_msg"
    assert warning.params["RoomId"] == ROOM
    assert warning.params["Sender_Account"] == ADMIN
    assert warning.params["BusinessId"] == "violation_alert"
    assert json.loads(warning.params["Data"]) == {
        "version": "1.0",
        "messageSource": "live_background",
        "messageType": "violation_alert",
        "content": {
            "violationType": "Porn",
            "violationTime": int(NOW),
            "violationContent": "content flagged as Porn",
            "handleSuggestion": "stop the violating content; a second violation within an hour ends the live",
        },
    }
    assert decision.changes == [RecordViolation(room_id=ROOM, rule="moderation-warn", violation="moderation")]


def test_a_second_flagged_result_within_the_hour_warns_then_destroys_the_room():
    state = MemoryState().violate("moderation", at=NOW - 30 * MINUTE)
    decision = decide(moderation("terror"), state)
    assert decision.fired == ["moderation-warn", "moderation-destroy"]
    assert commands(decision) == ["send_custom_msg", "destroy_room"]
    assert decision.actions[1].params == {"RoomId": ROOM}


def test_a_flagged_result_after_the_hour_only_warns():
    state = MemoryState().violate("moderation", at=NOW - 61 * MINUTE)
    assert commands(decide(moderation("Porn"), state)) == ["send_custom_msg"]


def test_a_label_not_configured_is_ignored():
    assert decide(moderation("Ad")).fired == []


def test_the_labels_are_tunable():
    rules = defaults_with("labels: [Porn, Terror]", "labels: [Ad]")
    assert decide(moderation("Ad"), rules=rules).fired == ["moderation-warn"]


def test_a_result_for_one_to_one_content_concerns_no_room_and_fires_nothing():
    assert decide(moderation("Porn", room=None)) == Decision()


# --- 6. room name and notice -----------------------------------------------------------------------


def test_a_banned_room_name_at_creation_is_reset_and_counted():
    decision = decide(room_created(name="free coins here"))
    assert decision.fired == ["room-defaults", "room-info-terms"]
    reset = decision.actions[1]
    assert (reset.command, reset.params) == (
        "update_room_info",
        {"RoomInfo": {"RoomId": ROOM, "RoomName": ROOM, "Notice": ""}},
    )
    assert decision.changes == [RecordViolation(room_id=ROOM, rule="room-info-terms", violation="room-info")]


def test_a_banned_notice_on_update_is_reset():
    decision = decide(room_updated(notice="add me on telegram"))
    assert decision.fired == ["room-info-terms"]
    assert commands(decision) == ["update_room_info"]


def test_a_second_banned_room_info_within_the_hour_destroys_the_room():
    state = MemoryState().violate("room-info", at=NOW - 10 * MINUTE)
    decision = decide(room_updated(name="cheap followers"), state)
    assert decision.fired == ["room-info-terms", "room-info-repeat"]
    assert commands(decision) == ["update_room_info", "destroy_room"]


def test_a_clean_room_update_fires_nothing():
    assert decide(room_updated(name="Chess night", notice="welcome")).fired == []


# --- 7. gifts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("sanction", ["muted", "banned"])
def test_a_gift_from_a_sanctioned_user_is_rejected_inline(sanction):
    state = MemoryState(sanctions={(ROOM, "viewer-7"): (sanction, NOW + 60)})
    decision = decide(gift(), state)
    assert decision.verdict is not None
    assert (decision.verdict.action, decision.verdict.code, decision.verdict.rule) == (
        "reject",
        1,
        "gift-from-sanctioned",
    )


def test_a_gift_after_the_sanction_ended_is_allowed():
    state = MemoryState(sanctions={(ROOM, "viewer-7"): ("muted", NOW - 1)})
    assert decide(gift(), state).verdict is None


def test_a_gift_over_the_coin_cap_is_rejected_and_one_at_the_cap_allowed():
    over = decide(gift(count=101, coins=1000)).verdict
    assert over is not None
    assert (over.code, over.rule) == (1, "gift-over-cap")
    assert decide(gift(count=100, coins=1000)).verdict is None


def test_the_coin_cap_is_tunable():
    rules = defaults_with("coins_over: 100000", "coins_over: 500")
    assert decide(gift(count=1, coins=1000), rules=rules).verdict is not None


# --- 8. room defaults -------------------------------------------------------------------------------


def test_a_new_room_gets_the_default_metadata():
    decision = decide(room_created())
    assert decision.fired == ["room-defaults"]
    assert decision.actions[0].params == {
        "RoomId": ROOM,
        "Metadata": [{"Key": "lg.rules-version", "Value": "1"}],
    }


def test_a_default_rule_can_be_switched_off():
    rules = defaults_with("- name: room-defaults\n", "- name: room-defaults\n    enabled: false\n")
    assert decide(room_created(), rules=rules).fired == []
    assert "room-defaults" in rules.disabled


# --- every action validates --------------------------------------------------------------------------

SCENARIOS: dict[str, Callable[[], Decision]] = {
    "metadata terms": lambda: decide(metadata_set({"topic": "free coins", "a": "buy followers"})),
    "protect restore": lambda: decide(
        metadata_set({"lg.rules-version": "x", "lg.new": "y"}),
        MemoryState(approved={(ROOM, "lg.rules-version"): "1"}),
    ),
    "protect delete": lambda: decide(
        metadata_deleted(["lg.rules-version"]), MemoryState(approved={(ROOM, "lg.rules-version"): "1"})
    ),
    "mute": lambda: decide(comment("free coins"), MemoryState().strike("viewer-7", at=NOW, times=2)),
    "ban": lambda: decide(comment("free coins"), MemoryState().strike("viewer-7", at=NOW, times=5)),
    "metadata ban": lambda: decide(
        metadata_set({"topic": "free coins"}), MemoryState().strike("viewer-7", at=NOW, times=5)
    ),
    "moderation destroy": lambda: decide(moderation("Porn"), MemoryState().violate("moderation", at=NOW)),
    "room info destroy": lambda: decide(
        room_created(name="free coins", notice="free coins"), MemoryState().violate("room-info", at=NOW)
    ),
    "room update": lambda: decide(room_updated(name="free coins")),
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_action_of_every_default_scenario_validates_against_its_command(scenario):
    # Given a default-rule scenario that produces actions
    decision = SCENARIOS[scenario]()
    assert decision.actions
    # When each action's params are validated as LiveClient will before sending
    for action in decision.actions:
        request = COMMANDS[action.command].model_validate(action.params)
        # Then they are accepted, and already in the form Tencent is sent
        assert request.to_wire() == action.params


# --- evasions the default terms catch, and what matched ------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("get fr\u200bee c0ins now", "get *********** now"),
        ("FREE   COINS!!", "************!!"),
        ("b.u.y f.o.l.l.o.w.e.r.s", "***********************"),
        ("快加微信吧", "快***吧"),
    ],
)
def test_the_default_terms_catch_evasions_and_mask_exactly_them(text, masked):
    decision = decide(comment(text))
    assert decision.verdict is not None
    assert decision.verdict.msg_body is not None
    assert decision.verdict.msg_body[0]["MsgContent"]["Text"] == masked


def test_a_decision_says_which_term_matched_where():
    decision = decide(comment("ok fr33 coins"))
    [hit] = decision.matches
    assert (hit.rule, hit.list, hit.term, hit.field, hit.start, hit.end, hit.text) == (
        "comment-terms",
        "banned",
        "free coins",
        "MsgBody",
        3,
        13,
        "fr33 coins",
    )
