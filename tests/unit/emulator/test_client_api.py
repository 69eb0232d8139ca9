"""What end users do in the apps: each action goes through the world and answers what the app shows."""

from __future__ import annotations

from typing import Any

import pytest

from liveguard_local.emulator.callbacks import BeforeAnswer
from liveguard_local.emulator.client_api import CLIENT_ACTIONS, handle_client
from liveguard_local.emulator.clock import Clock
from liveguard_local.emulator.errors import ApiError
from liveguard_local.emulator.limits import (
    INVALID_PARAMETER,
    NO_PERMISSION,
    REJECTED_BY_CALLBACK,
    ROOM_NOT_FOUND,
    SENDER_MUTED,
    UNKNOWN_COMMAND,
)
from liveguard_local.emulator.world import World

from .test_world import REST, FakeHooks

ADMIN = "administrator"
CLIENT_IP = "198.51.100.4"


@pytest.fixture
def hooks() -> FakeHooks:
    return FakeHooks()


@pytest.fixture
def world(hooks: FakeHooks) -> World:
    return World(ADMIN, Clock(), hooks)


def act(world: World, action: str, user_id: str, **body: Any) -> dict[str, Any]:
    return handle_client(world, action, {"UserId": user_id, **body}, CLIENT_IP)


def refused(world: World, action: str, user_id: str, **body: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        act(world, action, user_id, **body)
    return caught.value


@pytest.fixture
def live(world: World) -> World:
    """host live in room-1, alice watching."""
    act(world, "create_room", "host", RoomId="room-1", RoomName="Evening show")
    act(world, "enter_room", "alice", RoomId="room-1")
    return world


def test_every_action_of_the_issue_is_there() -> None:
    # Given the actions the apps offer
    # When the emulator's table is read
    # Then every one is served
    assert set(CLIENT_ACTIONS) == {
        "create_room",
        "enter_room",
        "leave_room",
        "update_room_info",
        "set_room_metadata",
        "del_room_metadata",
        "send_text_msg",
        "send_gift",
        "like",
        "take_seat",
        "leave_seat",
        "destroy_room",
    }


def test_unknown_action_is_refused_with_60009(world: World) -> None:
    # Given an action the apps do not have
    # When it is asked for
    error = refused(world, "fly", "alice")
    # Then 60009 comes back
    assert error.code == UNKNOWN_COMMAND


def test_body_without_user_id_is_refused_naming_it(world: World) -> None:
    # Given a body that does not say who acts
    # When it is sent
    with pytest.raises(ApiError) as caught:
        handle_client(world, "enter_room", {"RoomId": "room-1"}, CLIENT_IP)
    # Then 100002 names UserId
    assert (caught.value.code, "UserId" in caught.value.info) == (INVALID_PARAMETER, True)


def test_unknown_platform_is_refused(world: World) -> None:
    # Given a platform Tencent does not report
    # When a user acts from it
    error = refused(world, "create_room", "host", Platform="Fridge", RoomId="room-1")
    # Then it is an invalid parameter naming Platform
    assert (error.code, "Platform" in error.info) == (INVALID_PARAMETER, True)


def test_create_room_makes_the_user_owner_and_enters_from_android(world: World, hooks: FakeHooks) -> None:
    # Given a host without a platform in the body
    # When the host starts a live
    response = act(world, "create_room", "host", RoomId="room-1")
    # Then the host owns the room, is in it, and both callbacks came from Android at the host's address
    assert response["RoomInfo"]["Owner_Account"] == "host"
    assert hooks.fired() == ["Live.CallbackAfterCreateRoom", "Live.CallbackAfterMemberStateChanged"]
    created = hooks.last("Live.CallbackAfterCreateRoom")
    assert (created.platform, created.client_ip, created.body["Operator_Account"]) == (
        "Android",
        CLIENT_IP,
        "host",
    )


def test_enter_room_answers_the_room(live: World) -> None:
    # Given host live in room-1
    # When bob enters from iOS
    response = act(live, "enter_room", "bob", Platform="iOS", RoomId="room-1")
    # Then he sees the room, and he is in it
    assert response["RoomInfo"]["RoomName"] == "Evening show"
    assert "bob" in live.member_list("room-1")[0]


def test_leave_room_takes_the_user_out(live: World) -> None:
    # Given alice watching
    # When she leaves
    act(live, "leave_room", "alice", RoomId="room-1")
    # Then only the host remains
    assert live.member_list("room-1")[0] == ["host"]


def test_audience_cannot_update_the_room(live: World) -> None:
    # Given alice, a viewer
    # When she renames the room
    error = refused(live, "update_room_info", "alice", RoomId="room-1", RoomName="mine")
    # Then she has no permission
    assert error.code == NO_PERMISSION


def test_room_admin_can_update_the_room(live: World, hooks: FakeHooks) -> None:
    # Given alice made room admin
    live.modify_admin(REST, "room-1", ["alice"], "add")
    # When she changes the notice
    response = act(live, "update_room_info", "alice", RoomId="room-1", Notice="be kind")
    # Then the room changes and the callback names her
    assert response["RoomInfo"]["Notice"] == "be kind"
    assert hooks.last("Live.CallbackAfterUpdateRoomInfo").body["Operator_Account"] == "alice"


def test_owner_sets_and_deletes_metadata(live: World, hooks: FakeHooks) -> None:
    # Given the host
    # When the host sets two keys and deletes one
    act(
        live,
        "set_room_metadata",
        "host",
        RoomId="room-1",
        Metadata=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}],
    )
    act(live, "del_room_metadata", "host", RoomId="room-1", Keys=["a"])
    # Then one key remains and the delete callback names the host
    assert live.get_metadata("room-1") == [{"Key": "b", "Value": "2"}]
    assert hooks.last("Live.CallbackAfterDelMetadata").body["Operator_Account"] == "host"


def test_audience_cannot_set_metadata(live: World) -> None:
    # Given alice, a viewer
    # When she sets a key
    error = refused(
        live, "set_room_metadata", "alice", RoomId="room-1", Metadata=[{"Key": "a", "Value": "1"}]
    )
    # Then she has no permission
    assert error.code == NO_PERMISSION


def test_comment_delivered_shows_its_text(live: World) -> None:
    # Given alice watching
    # When she comments
    response = act(live, "send_text_msg", "alice", RoomId="room-1", Text="hello")
    # Then it is delivered as written
    assert (response["outcome"], response["error_code"], response["text"]) == ("delivered", 0, "hello")


def test_comment_rewritten_by_moderation_shows_the_new_text(live: World, hooks: FakeHooks) -> None:
    # Given moderation rewriting every comment
    hooks.answer = BeforeAnswer(
        error_code=0, msg_body=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": "***"}}]
    )
    # When alice comments
    response = act(live, "send_text_msg", "alice", RoomId="room-1", Text="darn")
    # Then the app shows the rewritten text
    assert (response["outcome"], response["text"]) == ("delivered", "***")


def test_comment_rejected_by_moderation_shows_the_code(live: World, hooks: FakeHooks) -> None:
    # Given moderation rejecting comments
    hooks.answer = BeforeAnswer(error_code=1)
    # When alice comments
    response = act(live, "send_text_msg", "alice", RoomId="room-1", Text="spam")
    # Then the app shows it rejected with 10016
    assert (response["outcome"], response["error_code"]) == ("rejected", REJECTED_BY_CALLBACK)


def test_comment_dropped_by_moderation_looks_sent(live: World, hooks: FakeHooks) -> None:
    # Given moderation dropping comments
    hooks.answer = BeforeAnswer(error_code=2)
    # When alice comments
    response = act(live, "send_text_msg", "alice", RoomId="room-1", Text="psst")
    # Then the app shows no error, and the outcome says dropped
    assert (response["outcome"], response["error_code"]) == ("dropped", 0)


def test_muted_viewer_s_comment_is_rejected_with_10017(live: World) -> None:
    # Given alice muted
    live.mute(REST, "room-1", ["alice"], 60)
    # When she comments
    response = act(live, "send_text_msg", "alice", RoomId="room-1", Text="hi")
    # Then the app shows 10017
    assert (response["outcome"], response["error_code"]) == ("rejected", SENDER_MUTED)


def test_gift_goes_to_the_owner_when_no_receiver_is_named(live: World, hooks: FakeHooks) -> None:
    # Given alice watching
    # When she sends a gift without naming a receiver
    response = act(live, "send_gift", "alice", RoomId="room-1", GiftId="heart")
    # Then it is sent to the host
    assert response["outcome"] == "sent"
    assert hooks.before_calls[-1].body["GiftWater"]["To_Account"] == ["host"]


def test_gift_refused_by_moderation_shows_the_code(live: World, hooks: FakeHooks) -> None:
    # Given moderation refusing gifts
    hooks.answer = BeforeAnswer(error_code=1)
    # When alice sends one
    response = act(live, "send_gift", "alice", RoomId="room-1", GiftId="heart", Count=3)
    # Then the app shows it refused
    assert (response["outcome"], response["error_code"]) == ("rejected", REJECTED_BY_CALLBACK)


def test_like_counts_in_the_room_statistics(live: World) -> None:
    # Given alice watching
    # When she likes the live 3 times
    act(live, "like", "alice", RoomId="room-1", Count=3)
    # Then the room counts 3 likes
    assert live.stats("room-1")["TotalLikesReceived"] == 3


def test_take_seat_and_leave_seat(live: World, hooks: FakeHooks) -> None:
    # Given alice watching
    # When she takes seat 4, then leaves it
    taken = act(live, "take_seat", "alice", RoomId="room-1", Index=4)
    seated = live.seat_list("room-1")[4].get("Member_Account")
    act(live, "leave_seat", "alice", RoomId="room-1")
    # Then she sat on 4 and it is free again, each change announced from her platform
    assert (taken, seated) == ({"Index": 4}, "alice")
    assert "Member_Account" not in live.seat_list("room-1")[4]
    assert hooks.last("Mic.CallbackAfterSeatInfoChanged").platform == "Android"


@pytest.mark.parametrize("user_id", ["alice", "moderator"])
def test_only_the_owner_can_destroy_the_room(live: World, user_id: str) -> None:
    # Given a viewer, and a room admin
    live.modify_admin(REST, "room-1", ["moderator"], "add")
    # When either ends the live
    error = refused(live, "destroy_room", user_id, RoomId="room-1")
    # Then neither has permission
    assert error.code == NO_PERMISSION


def test_owner_destroys_the_room_and_sees_its_statistic(live: World, hooks: FakeHooks) -> None:
    # Given host live with two viewers counted (host and alice)
    # When the host ends the live
    response = act(live, "destroy_room", "host", RoomId="room-1")
    # Then the app shows the statistic, the room is gone, and the callback says DestroyByUser by the host
    assert response["Statistic"]["TotalViewers"] == 2
    assert refused(live, "enter_room", "bob", RoomId="room-1").code == ROOM_NOT_FOUND
    body = hooks.last("Live.CallbackAfterDestroyRoom").body
    assert (body["EventType"], body["Operator_Account"]) == ("DestroyByUser", "host")
