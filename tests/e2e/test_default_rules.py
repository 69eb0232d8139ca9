"""Every default rule's scenario, end to end: the local stack (template.yaml, the default rules) driven
over HTTP only, as in `make demo`, and each effect asserted on the emulator's state.

    app user -> emulator -> webhook -> API front -> ingress -> events queue -> moderator
             -> actions queue -> actuator -> Tencent REST -> emulator state

Effects are asynchronous: each is awaited by polling, never by sleeping. What must *not* happen is
checked after ``settle``: a change LiveGuard answers for certain, queued behind everything before it
in the room's FIFO group, so once its effect is visible every earlier event has been handled."""

from __future__ import annotations

import json
import secrets
from typing import Any

import pytest

from liveguard_local.driver import Driver

from .conftest import eventually

HOST, VIEWER, OTHER, ROOM_ADMIN = "host", "viewer", "fan", "moderator"
DEFAULTS = {"lg.rules-version": "1"}


# --- helpers ----------------------------------------------------------------------------------------


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["ErrorCode"] == 0, reply
    response: dict[str, Any] = reply.get("Response") or {}
    return response


def start_live(stack: Driver, room_id: str, **room_info: Any) -> None:
    """The host creates the room and a viewer comes in; rule 8 has set the defaults."""
    ok(stack.act("create_room", HOST, RoomId=room_id, **room_info))
    ok(stack.act("enter_room", VIEWER, RoomId=room_id))
    eventually(lambda: stack.metadata(room_id) == DEFAULTS, "the room's default metadata")


def state(stack: Driver, room_id: str) -> dict[str, Any]:
    room = stack.room(room_id)
    assert room is not None, f"room {room_id} does not exist"
    return room


def settle(stack: Driver, room_id: str) -> None:
    """Wait until LiveGuard has handled everything that happened in the room so far: the host sets a
    protected key that has no approved value, and protect-keys deletes it, after all before it."""
    key = f"lg.settle-{secrets.token_hex(3)}"
    ok(stack.act("set_room_metadata", HOST, RoomId=room_id, Metadata=[{"Key": key, "Value": "x"}]))
    eventually(
        lambda: (
            any(call["body"]["Keys"] == [key] for call in stack.calls("del_room_metadata", room_id))
            and key not in stack.metadata(room_id)
        ),
        f"LiveGuard to delete {key}",
    )


def comment(stack: Driver, room_id: str, text: str, user: str = VIEWER) -> dict[str, Any]:
    reply = stack.act("send_text_msg", user, RoomId=room_id, Text=text)
    return reply


def delivered(stack: Driver, room_id: str, user: str = VIEWER) -> list[str]:
    return [
        element["MsgContent"]["Text"]
        for message in state(stack, room_id)["Messages"]
        if message["From_Account"] == user and message["Outcome"] == "delivered"
        for element in message["MsgBody"]
        if element["MsgType"] == "TIMTextElem"
    ]


def liveguard_mutes(stack: Driver, room_id: str) -> list[dict[str, Any]]:
    """LiveGuard's mute_member calls (an operator's lift is MuteTime 0)."""
    return [
        call
        for call in stack.calls("mute_member", room_id)
        if call["code"] == 0 and call["body"]["MuteTime"] == 600
    ]


def is_muted(stack: Driver, room_id: str, user: str = VIEWER) -> bool:
    return any(entry["Member_Account"] == user for entry in state(stack, room_id)["MutedAccountList"])


def lift_mute(stack: Driver, room_id: str, user: str = VIEWER) -> None:
    """An operator lifts the mute early (REST mute_member MuteTime 0, as the app admin)."""
    stack.admin("mute_member", {"RoomId": room_id, "MemberList_Account": [user], "MuteTime": 0})
    assert not is_muted(stack, room_id, user)


def alerts(stack: Driver, room_id: str) -> list[dict[str, Any]]:
    """The violation alerts in the room's messages, sent as the admin: their Data, parsed."""
    return [
        json.loads(element["MsgContent"]["Data"])
        for message in state(stack, room_id)["Messages"]
        if message["From_Account"] == stack.admin_identifier
        for element in message["MsgBody"]
        if element["MsgType"] == "TIMCustomElem" and element["MsgContent"]["Desc"] == "violation_alert"
    ]


def flag(stack: Driver, room_id: str, label: str, user: str = HOST) -> None:
    """Tencent's cloud moderation flags content ``user`` sent to the room."""
    response = stack.moderation_result(room_id, user=user, label=label, request_id=secrets.token_hex(8))
    assert response.status_code == 200, response.text
    assert response.json()["ErrorCode"] == 0


def commands(stack: Driver, room_id: str) -> list[str]:
    """The successful REST calls for the room, in order, without the default metadata's."""
    return [
        call["command"]
        for call in stack.calls(room_id=room_id)
        if call["code"] == 0
        and not (
            call["command"] == "set_room_metadata"
            and call["body"]["Metadata"] == [{"Key": "lg.rules-version", "Value": "1"}]
        )
    ]


# --- 8. room-defaults ---------------------------------------------------------------------------------


def test_room_defaults_sets_the_default_metadata_of_a_new_room(stack, room_id):
    # When a host starts a live in the app
    ok(stack.act("create_room", HOST, RoomId=room_id, RoomName="Evening chess"))
    # Then LiveGuard sets the room's default metadata, once, as the admin
    eventually(lambda: stack.metadata(room_id) == DEFAULTS, "the default metadata")
    calls = stack.calls("set_room_metadata", room_id)
    assert [call["body"]["Metadata"] for call in calls] == [[{"Key": "lg.rules-version", "Value": "1"}]]
    assert calls[0]["code"] == 0


# --- 1. metadata-terms --------------------------------------------------------------------------------


def test_metadata_terms_deletes_offensive_values_a_room_admin_set(stack, room_id):
    # Given a viewer the app made a room admin (only the owner or room admins may set metadata)
    start_live(stack, room_id)
    ok(stack.act("enter_room", ROOM_ADMIN, RoomId=room_id))
    stack.admin("modify_admin", {"RoomId": room_id, "Admin_Account": [ROOM_ADMIN], "OpType": "add"})
    # When they set metadata, one value holding a banned term (in another case)
    metadata = [{"Key": "topic", "Value": "openings"}, {"Key": "promo", "Value": "Buy Followers today"}]
    ok(stack.act("set_room_metadata", ROOM_ADMIN, RoomId=room_id, Metadata=metadata))
    # Then LiveGuard deletes that key only
    eventually(lambda: "promo" not in stack.metadata(room_id), "the offensive key to go")
    assert stack.metadata(room_id) == {**DEFAULTS, "topic": "openings"}
    assert [call["body"]["Keys"] for call in stack.calls("del_room_metadata", room_id)] == [["promo"]]


# --- 2. protect-keys ----------------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["changed", "deleted"])
def test_protect_keys_restores_a_protected_key_a_user_changed_or_deleted(stack, room_id, change):
    start_live(stack, room_id)
    # When the host changes or deletes LiveGuard's key
    if change == "changed":
        metadata = [{"Key": "lg.rules-version", "Value": "0"}]
        ok(stack.act("set_room_metadata", HOST, RoomId=room_id, Metadata=metadata))
        assert stack.metadata(room_id) == {"lg.rules-version": "0"}
    else:
        ok(stack.act("del_room_metadata", HOST, RoomId=room_id, Keys=["lg.rules-version"]))
        assert stack.metadata(room_id) == {}
    # Then LiveGuard sets the approved value (its own, from room-defaults) back
    restores = lambda: stack.calls("set_room_metadata", room_id)[1:]  # noqa: E731
    eventually(restores, "the approved value to be set back")
    assert [call["body"]["Metadata"] for call in restores()] == [[{"Key": "lg.rules-version", "Value": "1"}]]
    eventually(lambda: stack.metadata(room_id) == DEFAULTS, "the restored value")


def test_protect_keys_deletes_a_protected_key_set_without_an_approved_value(stack, room_id):
    start_live(stack, room_id)
    # When the host sets an lg. key LiveGuard never approved
    ok(stack.act("set_room_metadata", HOST, RoomId=room_id, Metadata=[{"Key": "lg.vip", "Value": "yes"}]))
    # Then LiveGuard deletes it, and leaves its own key alone
    eventually(lambda: "lg.vip" not in stack.metadata(room_id), "lg.vip to go")
    assert stack.metadata(room_id) == DEFAULTS
    assert [call["body"]["Keys"] for call in stack.calls("del_room_metadata", room_id)] == [["lg.vip"]]


# --- 3. comment-terms ---------------------------------------------------------------------------------


def test_comment_terms_masks_banned_terms_in_a_comment_inline(stack, room_id):
    start_live(stack, room_id)
    # When a viewer posts a comment with banned terms, in any case or width, and a clean one
    masked = comment(stack, room_id, "FREE COINS and ｂｕｙ ｆｏｌｌｏｗｅｒｓ here")
    clean = comment(stack, room_id, "nice move!")
    # Then the first is delivered with the terms masked, character by character; the other as is
    assert ok(masked)["text"] == "********** and ************* here"
    assert ok(clean)["text"] == "nice move!"
    assert delivered(stack, room_id) == ["********** and ************* here", "nice move!"]
    # And one strike is not a sanction: nothing was called on the viewer
    settle(stack, room_id)
    assert liveguard_mutes(stack, room_id) == []


# --- 4. strikes-mute, strikes-ban ---------------------------------------------------------------------


def test_strikes_mute_mutes_a_viewer_at_the_third_strike(stack, room_id):
    start_live(stack, room_id)
    # Given two strikes: masked, nothing more
    for text in ("free coins", "free diamonds"):
        assert ok(comment(stack, room_id, text))["outcome"] == "delivered"
    settle(stack, room_id)
    assert liveguard_mutes(stack, room_id) == []
    assert not is_muted(stack, room_id)
    # When the viewer strikes a third time within 10 minutes
    assert ok(comment(stack, room_id, "coin generator inside"))["outcome"] == "delivered"
    # Then LiveGuard mutes them for 600 s: Tencent refuses their next comment
    eventually(lambda: is_muted(stack, room_id), "the viewer to be muted")
    assert [call["body"]["MemberList_Account"] for call in liveguard_mutes(stack, room_id)] == [[VIEWER]]
    refused = comment(stack, room_id, "hello?")
    assert (refused["ErrorCode"], refused["Response"]["outcome"]) == (10017, "rejected")
    # And another viewer may still speak
    ok(stack.act("enter_room", OTHER, RoomId=room_id))
    assert ok(comment(stack, room_id, "gg", user=OTHER))["outcome"] == "delivered"


def test_strikes_ban_bans_a_viewer_at_the_sixth_strike(stack, room_id):
    start_live(stack, room_id)
    for strike in range(1, 7):
        if is_muted(stack, room_id):
            lift_mute(stack, room_id)  # an operator lifts the mute early; the viewer carries on
        assert ok(comment(stack, room_id, f"free coins #{strike}"))["outcome"] == "delivered"
        if 3 <= strike <= 5:  # strikes 3, 4 and 5 each mute (again)
            eventually(lambda n=strike: len(liveguard_mutes(stack, room_id)) == n - 2, f"mute {strike}")
            eventually(lambda: is_muted(stack, room_id), f"the viewer muted at strike {strike}")
    # Then the 6th strike within 10 minutes bans them for an hour: out of the room, kept out
    eventually(
        lambda: any(
            entry["Member_Account"] == VIEWER for entry in state(stack, room_id)["BannedAccountList"]
        ),
        "the viewer to be banned",
    )
    assert VIEWER not in [member["Member_Account"] for member in state(stack, room_id)["MemberList"]]
    bans = stack.calls("ban_member", room_id)
    assert [(call["body"]["MemberList_Account"], call["body"]["Duration"]) for call in bans] == [
        ([VIEWER], 3600)
    ]
    assert len(liveguard_mutes(stack, room_id)) == 3  # the ban did not mute again
    assert stack.act("enter_room", VIEWER, RoomId=room_id)["ErrorCode"] == 100013


# --- 7. gift-from-sanctioned, gift-over-cap -----------------------------------------------------------


def test_gift_from_sanctioned_refuses_gifts_from_a_muted_viewer(stack, room_id):
    start_live(stack, room_id)
    ok(stack.act("enter_room", OTHER, RoomId=room_id))
    assert ok(stack.act("send_gift", VIEWER, RoomId=room_id, GiftId="rose"))["outcome"] == "sent"
    # Given a viewer LiveGuard muted
    for text in ("free coins", "free coins", "free coins"):
        comment(stack, room_id, text)
    eventually(lambda: is_muted(stack, room_id), "the viewer to be muted")
    # When they send a gift, it is refused inline; another viewer's gift goes through
    refused = stack.act("send_gift", VIEWER, RoomId=room_id, GiftId="rose")
    assert refused["ErrorCode"] == 10016
    assert refused["ErrorInfo"] == "sender is muted or banned"
    assert ok(stack.act("send_gift", OTHER, RoomId=room_id, GiftId="rose"))["outcome"] == "sent"
    gifts = [(gift["From_Account"], gift["Outcome"]) for gift in state(stack, room_id)["Gifts"]]
    assert gifts == [(VIEWER, "sent"), (VIEWER, "rejected"), (OTHER, "sent")]


def test_gift_over_cap_refuses_a_gift_worth_more_than_the_cap(stack, room_id):
    start_live(stack, room_id)
    # A gift not in the catalogue costs 1 coin: Count is its worth. The cap is 100000 coins.
    assert (
        ok(stack.act("send_gift", VIEWER, RoomId=room_id, GiftId="rose", Count=100_000))["coins"] == 100_000
    )
    refused = stack.act("send_gift", VIEWER, RoomId=room_id, GiftId="rose", Count=100_001)
    assert refused["ErrorCode"] == 10016
    assert refused["ErrorInfo"] == "gift over the coin cap"
    gifts = [(gift["Count"], gift["Outcome"]) for gift in state(stack, room_id)["Gifts"]]
    assert gifts == [(100_000, "sent"), (100_001, "rejected")]


# --- 5. moderation-warn, moderation-destroy -----------------------------------------------------------


def test_moderation_warn_warns_the_host_when_cloud_moderation_flags_the_room(stack, room_id):
    start_live(stack, room_id)
    # Given a result with a label the rules do not act on: nothing happens
    flag(stack, room_id, "Ad")
    # When cloud moderation flags the host's content as Porn
    flag(stack, room_id, "Porn")
    # Then the host is warned with the console's violation alert, sent to the room as the admin
    warning = eventually(lambda: alerts(stack, room_id), "the violation alert")
    assert len(warning) == 1
    assert warning[0]["messageType"] == "violation_alert"
    assert warning[0]["content"]["violationType"] == "Porn"
    assert warning[0]["content"]["violationContent"] == "content flagged as Porn"
    # And that was the room's first violation (the Ad result counted none): the room lives on
    settle(stack, room_id)
    assert stack.room(room_id) is not None
    assert "destroy_room" not in commands(stack, room_id)
    assert len(alerts(stack, room_id)) == 1


def test_moderation_destroy_destroys_a_room_flagged_twice_within_the_hour(stack, room_id):
    start_live(stack, room_id)
    flag(stack, room_id, "Porn")
    eventually(lambda: alerts(stack, room_id), "the first warning")
    # When it is flagged again (Terror, the other label the rules act on)
    flag(stack, room_id, "Terror")
    # Then the host is warned again, then the room is destroyed
    eventually(lambda: stack.room(room_id) is None, "the room to be destroyed")
    assert commands(stack, room_id) == ["send_custom_msg", "send_custom_msg", "destroy_room"]
    warnings = [json.loads(call["body"]["Data"]) for call in stack.calls("send_custom_msg", room_id)]
    assert [data["content"]["violationType"] for data in warnings] == ["Porn", "Terror"]


# --- 6. room-info-terms, room-info-repeat -------------------------------------------------------------


def test_room_info_terms_resets_an_offensive_room_name(stack, room_id):
    # When a host creates a room whose name holds a banned term
    start_live(stack, room_id, RoomName="Free Coins giveaway", Notice="welcome")
    # Then LiveGuard resets its name to its id and clears its notice
    eventually(lambda: state(stack, room_id)["RoomInfo"]["RoomName"] == room_id, "the name to be reset")
    assert state(stack, room_id)["RoomInfo"]["Notice"] == ""
    updates = stack.calls("update_room_info", room_id)
    assert [call["body"]["RoomInfo"] for call in updates] == [
        {"RoomId": room_id, "RoomName": room_id, "Notice": ""}
    ]
    # And a first violation does not end the room
    settle(stack, room_id)
    assert stack.room(room_id) is not None
    assert "destroy_room" not in commands(stack, room_id)


def test_room_info_repeat_destroys_a_room_reset_twice_within_the_hour(stack, room_id):
    start_live(stack, room_id, RoomName="Evening chess")
    # Given a notice reset once
    ok(stack.act("update_room_info", HOST, RoomId=room_id, Notice="dm me for prices"))
    eventually(lambda: len(stack.calls("update_room_info", room_id)) == 1, "the first reset")
    eventually(lambda: state(stack, room_id)["RoomInfo"]["Notice"] == "", "the notice to be cleared")
    # When the host puts a banned term in the name
    ok(stack.act("update_room_info", HOST, RoomId=room_id, RoomName="cheap followers"))
    # Then LiveGuard resets it, then destroys the room
    eventually(lambda: stack.room(room_id) is None, "the room to be destroyed")
    assert commands(stack, room_id) == ["update_room_info", "update_room_info", "destroy_room"]
