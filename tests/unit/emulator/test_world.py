"""The emulated Tencent backend: rooms, metadata, members, seats, messages, gifts, auto-destroy.

The world is driven directly, with an in-memory ``FakeHooks`` standing in for webhook delivery: it
records after-callbacks and answers before-callbacks with a configurable ``BeforeAnswer``.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from liveguard_local.emulator.body import Body
from liveguard_local.emulator.callbacks import RESTAPI, Actor, BeforeAnswer, Callback
from liveguard_local.emulator.clock import Clock
from liveguard_local.emulator.errors import ApiError
from liveguard_local.emulator.limits import (
    ADMIN_LIMIT_EXCEEDED,
    BANNED_FROM_ROOM,
    DEFAULT_MAX_SEAT_COUNT,
    INVALID_PARAMETER,
    MESSAGE_TOO_LARGE,
    NO_PERMISSION,
    NO_VALID_KEY,
    NOT_IN_GROUP,
    REJECTED_BY_CALLBACK,
    ROOM_EXISTS,
    ROOM_NOT_FOUND,
    SEATS_DISABLED,
    SENDER_MUTED,
    SYSTEM_OPERATOR,
    TOO_MANY_KEYS,
    VALUE_TOO_LARGE,
    VALUES_TOO_LARGE,
)
from liveguard_local.emulator.world import World

ADMIN = "administrator"
REST = Actor(ADMIN)
HALF_HOUR = 1800.0


@dataclass
class FakeHooks:
    """Webhook delivery in memory: after-callbacks recorded, before-callbacks answered as configured."""

    answer: BeforeAnswer = field(default_factory=lambda: BeforeAnswer(error_code=0))
    after_calls: list[Callback] = field(default_factory=list)
    before_calls: list[Callback] = field(default_factory=list)
    asked: threading.Event = field(default_factory=threading.Event)  # set when a before-callback arrives
    hold: threading.Event | None = None  # when set, before-callbacks wait for it (a slow receiver)
    url: str | None = None
    commands: list[str] = field(default_factory=list)
    token: str | None = None
    token_enabled: bool = False

    def after(self, callback: Callback) -> None:
        self.after_calls.append(callback)

    def before(self, callback: Callback) -> BeforeAnswer:
        self.before_calls.append(callback)
        self.asked.set()
        if self.hold is not None:
            self.hold.wait(5)
        return self.answer

    def set_callback(self, url: str, commands: list[str]) -> None:
        self.url, self.commands = url, commands

    def get_callback(self) -> tuple[str, list[str]] | None:
        return None if self.url is None else (self.url, self.commands)

    def set_token(self, token: str | None, enabled: bool | None) -> None:
        if token is not None:
            self.token = token
        if enabled is not None:
            self.token_enabled = enabled

    def get_token(self) -> tuple[str | None, bool]:
        return self.token, self.token_enabled

    def fired(self) -> list[str]:
        return [callback.command for callback in self.after_calls]

    def last(self, command: str) -> Callback:
        return [callback for callback in self.after_calls if callback.command == command][-1]


def user(name: str, platform: str = "Android", client_ip: str = "10.0.0.7") -> Actor:
    return Actor(name, platform=platform, client_ip=client_ip)


def without_time(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "EventTime"}


def text(value: str) -> list[dict[str, Any]]:
    return [{"MsgType": "TIMTextElem", "MsgContent": {"Text": value}}]


@pytest.fixture
def hooks() -> FakeHooks:
    return FakeHooks()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(hooks: FakeHooks, clock: Clock) -> World:
    return World(ADMIN, clock, hooks, auto_destroy_after=HALF_HOUR)


def make_room(world: World, room_id: str = "room-1", owner: str = "host", **fields: Any) -> str:
    world.create_room(REST, {"RoomId": room_id, "RoomType": "Live", "Owner_Account": owner, **fields})
    return room_id


def refusal(call: Any, *args: Any, **kwargs: Any) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(*args, **kwargs)
    return caught.value


# --- rooms ----------------------------------------------------------------------------------------


def test_create_room_fires_the_callback_with_the_full_room_info(world: World, hooks: FakeHooks) -> None:
    # Given an app admin creating a room over REST
    # When the room is created
    info = world.create_room(REST, {"RoomId": "room-1", "RoomType": "Live", "Owner_Account": "host"})
    # Then Live.CallbackAfterCreateRoom carries the operator and the whole RoomInfo, from RESTAPI
    callback = hooks.last("Live.CallbackAfterCreateRoom")
    assert without_time(callback.body) == {
        "CallbackCommand": "Live.CallbackAfterCreateRoom",
        "Operator_Account": ADMIN,
        "RoomInfo": {
            "RoomId": "room-1",
            "RoomName": "room-1",
            "RoomType": "Live",
            "Owner_Account": "host",
            "CreateTime": info["CreateTime"],
            "CoverURL": "",
            "BackgroundURL": "",
            "Notice": "",
            "IsMessageDisabled": False,
            "Category": [],
            "IsPublicVisible": True,
            "IsSeatEnabled": True,
            "TakeSeatMode": "FreeToTake",
            "MaxSeatCount": DEFAULT_MAX_SEAT_COUNT,
            "MaxMemberCount": 1000,
            "ActivityStatus": 0,
            "IsUnlimitedRoomEnabled": False,
            "KeepOwnerOnSeat": False,
            "CustomInfo": "",
            "ViewCount": 0,
        },
    }
    assert (callback.order_key, callback.platform) == ("room-1", RESTAPI)


def test_event_time_is_the_emulated_clock_in_milliseconds(
    world: World, hooks: FakeHooks, clock: Clock
) -> None:
    # Given the emulated clock moved an hour ahead
    clock.advance(3600)
    # When a room is created
    make_room(world)
    # Then EventTime is that clock's time in milliseconds
    event_time = hooks.last("Live.CallbackAfterCreateRoom").body["EventTime"]
    assert abs(event_time - clock.now_ms()) < 1000


def test_room_gets_the_default_number_of_seats(world: World) -> None:
    # Given a room created without MaxSeatCount
    make_room(world)
    # When its seats are listed
    seats = world.seat_list("room-1")
    # Then it has the default ten, all empty
    assert [seat["Index"] for seat in seats] == list(range(DEFAULT_MAX_SEAT_COUNT))
    assert all("Member_Account" not in seat for seat in seats)


def test_owner_defaults_to_the_creator(world: World) -> None:
    # Given a create_room without Owner_Account
    world.create_room(user("carol"), {"RoomId": "room-1", "RoomType": "Live"})
    # When the room is read
    info = world.get_room_info("room-1")
    # Then the creator owns it
    assert info["Owner_Account"] == "carol"


def test_creating_an_existing_room_is_refused_with_100003(world: World) -> None:
    # Given a room
    make_room(world)
    # When it is created again
    error = refusal(make_room, world)
    # Then Tencent's "room already exists" comes back
    assert error.code == ROOM_EXISTS


def test_room_id_over_48_bytes_is_an_invalid_parameter(world: World) -> None:
    # Given a RoomId of 49 bytes
    # When the room is created
    error = refusal(world.create_room, REST, {"RoomId": "r" * 49, "RoomType": "Live"})
    # Then 100002 names the field
    assert error.code == INVALID_PARAMETER
    assert "RoomInfo.RoomId" in error.info


def test_room_id_is_counted_in_utf8_bytes(world: World) -> None:
    # Given a RoomId of 17 characters but 51 bytes
    # When the room is created
    error = refusal(world.create_room, REST, {"RoomId": "房" * 17, "RoomType": "Live"})
    # Then it is refused as too long
    assert error.code == INVALID_PARAMETER


def test_missing_room_type_is_refused_naming_it(world: World) -> None:
    # Given a RoomInfo without RoomType
    # When the room is created
    error = refusal(world.create_room, REST, {"RoomId": "room-1"})
    # Then 100002 names RoomType
    assert (error.code, "RoomInfo.RoomType" in error.info) == (INVALID_PARAMETER, True)


def test_room_type_other_than_live_is_refused_with_100006(world: World) -> None:
    # Given a RoomInfo for a conference room
    # When the room is created
    error = refusal(world.create_room, REST, {"RoomId": "room-1", "RoomType": "Conference"})
    # Then Tencent's "room type must be Live" comes back
    assert error.code == NO_PERMISSION


@pytest.mark.parametrize(
    ("field_name", "value"),
    [
        ("IsMessageDisabled", "yes"),
        ("MaxSeatCount", "10"),
        ("MaxSeatCount", True),
        ("Category", [1, 2, 3, 4]),
        ("Category", ["music"]),
        ("TakeSeatMode", "Anyone"),
        ("RoomName", "n" * 101),
        ("CoverURL", "u" * 201),
        ("Notice", "n" * 101),
    ],
)
def test_ill_typed_or_oversized_room_field_is_refused_naming_it(
    world: World, field_name: str, value: object
) -> None:
    # Given a RoomInfo with one field of the wrong type or past its limit
    # When the room is created
    error = refusal(make_room, world, **{field_name: value})
    # Then 100002 names that field and no room exists
    assert error.code == INVALID_PARAMETER
    assert field_name in error.info
    assert refusal(world.get_room_info, "room-1").code == ROOM_NOT_FOUND


@pytest.mark.parametrize(
    "call",
    [
        lambda w: w.get_room_info("nowhere"),
        lambda w: w.destroy_room(REST, "nowhere"),
        lambda w: w.set_metadata(REST, "nowhere", [("k", "v")]),
        lambda w: w.enter_room(user("alice"), "nowhere"),
        lambda w: w.send_message(REST, "nowhere", text("hi"), via_rest=True),
        lambda w: w.seat_list("nowhere"),
        lambda w: w.stats("nowhere"),
    ],
    ids=["get_room_info", "destroy_room", "set_metadata", "enter_room", "send_message", "seats", "stats"],
)
def test_unknown_room_is_refused_with_100004(world: World, call: Any) -> None:
    # Given no room "nowhere"
    # When anything is done to it
    error = refusal(call, world)
    # Then Tencent's "room does not exist" comes back
    assert error.code == ROOM_NOT_FOUND


def test_update_fires_the_callback_with_the_full_room_info_after_the_change(
    world: World, hooks: FakeHooks
) -> None:
    # Given a room
    make_room(world, CustomInfo="kept")
    # When the admin renames it and mutes everyone
    world.update_room_info(REST, {"RoomId": "room-1", "RoomName": "Quiz night", "IsMessageDisabled": True})
    # Then the callback carries the whole RoomInfo as it now is
    body = hooks.last("Live.CallbackAfterUpdateRoomInfo").body
    assert body["Operator_Account"] == ADMIN
    assert body["RoomInfo"] == world.get_room_info("room-1")
    assert (body["RoomInfo"]["RoomName"], body["RoomInfo"]["IsMessageDisabled"]) == ("Quiz night", True)
    assert body["RoomInfo"]["CustomInfo"] == "kept"


def test_update_that_changes_nothing_is_refused(world: World) -> None:
    # Given a room
    make_room(world)
    # When an update names only the room
    error = refusal(world.update_room_info, REST, {"RoomId": "room-1"})
    # Then it is an invalid parameter
    assert error.code == INVALID_PARAMETER


def test_destroy_answers_the_statistic_and_fires_destroy_by_user(world: World, hooks: FakeHooks) -> None:
    # Given a room one viewer entered and left
    make_room(world)
    world.enter_room(user("alice"), "room-1")
    world.leave_room(user("alice"), "room-1")
    info = world.get_room_info("room-1")
    # When the admin destroys it
    statistic = world.destroy_room(REST, "room-1")
    # Then destroy answers the Statistic and the callback carries it with the RoomInfo
    assert statistic == {
        "TotalViewers": 1,
        "TotalGiftsSent": 0,
        "TotalGiftCoins": 0,
        "TotalUniqueGiftSenders": 0,
        "TotalLikesReceived": 0,
    }
    assert without_time(hooks.last("Live.CallbackAfterDestroyRoom").body) == {
        "CallbackCommand": "Live.CallbackAfterDestroyRoom",
        "Operator_Account": ADMIN,
        "RoomId": "room-1",
        "EventType": "DestroyByUser",
        "RoomInfo": info,
        "Statistic": statistic,
    }


def test_destroyed_room_is_gone(world: World) -> None:
    # Given a destroyed room
    make_room(world)
    world.destroy_room(REST, "room-1")
    # When it is read
    error = refusal(world.get_room_info, "room-1")
    # Then it does not exist
    assert error.code == ROOM_NOT_FOUND


def test_room_list_is_sorted_by_view_count_and_paged(world: World) -> None:
    # Given three public rooms with 0, 2 and 1 entries, and a private one
    for room_id, viewers in (("quiet", 0), ("busy", 2), ("mid", 1)):
        make_room(world, room_id)
        for index in range(viewers):
            world.enter_room(user(f"v{index}"), room_id)
    make_room(world, "hidden", IsPublicVisible=False)
    # When the list is read two at a time
    first, next_page = world.room_list("", 2)
    second, last = world.room_list(next_page, 2)
    # Then the most viewed come first, the private room is left out, and Next ends with ""
    assert [room["RoomId"] for room in first + second] == ["busy", "mid", "quiet"]
    assert [room["ViewCount"] for room in first] == [2, 1]
    assert (next_page != "", last) == (True, "")


def test_room_list_count_over_20_is_refused(world: World) -> None:
    # Given a request for 21 rooms
    # When the list is read
    error = refusal(world.room_list, "", 21)
    # Then it is an invalid parameter naming Count
    assert (error.code, "Count" in error.info) == (INVALID_PARAMETER, True)


# --- metadata -------------------------------------------------------------------------------------


def test_set_metadata_fires_the_callback_with_the_keys_set(world: World, hooks: FakeHooks) -> None:
    # Given a room
    make_room(world)
    # When the admin sets two keys
    world.set_metadata(REST, "room-1", [("key1", "value1"), ("key2", "value2")])
    # Then the callback carries them, and the room holds them
    assert without_time(hooks.last("Live.CallbackAfterSetMetadata").body) == {
        "CallbackCommand": "Live.CallbackAfterSetMetadata",
        "Operator_Account": ADMIN,
        "RoomId": "room-1",
        "Metadata": [{"Key": "key1", "Value": "value1"}, {"Key": "key2", "Value": "value2"}],
    }
    assert world.get_metadata("room-1") == [
        {"Key": "key1", "Value": "value1"},
        {"Key": "key2", "Value": "value2"},
    ]


def test_set_metadata_overwrites_a_key_in_place(world: World) -> None:
    # Given a room with keys a and b
    make_room(world)
    world.set_metadata(REST, "room-1", [("a", "1"), ("b", "2")])
    # When a is set again
    world.set_metadata(REST, "room-1", [("a", "3")])
    # Then a keeps its place with the new value
    assert world.get_metadata("room-1") == [{"Key": "a", "Value": "3"}, {"Key": "b", "Value": "2"}]


def test_eleventh_key_is_refused_with_100500_and_nothing_changes(world: World, hooks: FakeHooks) -> None:
    # Given a room holding ten keys
    make_room(world)
    world.set_metadata(REST, "room-1", [(f"k{i}", "v") for i in range(10)])
    fired = len(hooks.after_calls)
    # When an eleventh key is set along with a change to an existing one
    error = refusal(world.set_metadata, REST, "room-1", [("k0", "changed"), ("k10", "v")])
    # Then 100500 comes back, the room is as it was, and no callback fires
    assert error.code == TOO_MANY_KEYS
    assert world.get_metadata("room-1", ["k0"]) == [{"Key": "k0", "Value": "v"}]
    assert len(world.get_metadata("room-1")) == 10
    assert len(hooks.after_calls) == fired


def test_value_over_2_kb_is_refused_with_100501(world: World) -> None:
    # Given a value of 683 three-byte characters (2049 bytes)
    make_room(world)
    # When it is set
    error = refusal(world.set_metadata, REST, "room-1", [("k", "字" * 683)])
    # Then 100501 comes back
    assert error.code == VALUE_TOO_LARGE


def test_values_over_16_kb_in_all_are_refused_with_100502(world: World) -> None:
    # Given a room holding eight values of 2 KB
    make_room(world)
    world.set_metadata(REST, "room-1", [(f"k{i}", "v" * 2048) for i in range(8)])
    # When one more byte would be stored
    error = refusal(world.set_metadata, REST, "room-1", [("extra", "v")])
    # Then 100502 comes back
    assert error.code == VALUES_TOO_LARGE


def test_key_over_50_bytes_is_an_invalid_parameter(world: World) -> None:
    # Given a key of 51 bytes
    make_room(world)
    # When it is set
    error = refusal(world.set_metadata, REST, "room-1", [("k" * 51, "v")])
    # Then 100002 names the key
    assert (error.code, "Metadata[0].Key" in error.info) == (INVALID_PARAMETER, True)


def test_del_metadata_ignores_absent_keys_and_reports_those_deleted(world: World, hooks: FakeHooks) -> None:
    # Given a room with keys a and b
    make_room(world)
    world.set_metadata(REST, "room-1", [("a", "1"), ("b", "2")])
    # When a and an absent key are deleted
    world.del_metadata(REST, "room-1", ["a", "absent"])
    # Then a is gone, b stays, and the callback lists the key deleted
    assert world.get_metadata("room-1") == [{"Key": "b", "Value": "2"}]
    assert without_time(hooks.last("Live.CallbackAfterDelMetadata").body) == {
        "CallbackCommand": "Live.CallbackAfterDelMetadata",
        "Operator_Account": ADMIN,
        "RoomId": "room-1",
        "Keys": ["a"],
    }


def test_deleting_only_absent_keys_is_refused_with_100503(world: World) -> None:
    # Given a room with key a
    make_room(world)
    world.set_metadata(REST, "room-1", [("a", "1")])
    # When only absent keys are deleted
    error = refusal(world.del_metadata, REST, "room-1", ["x", "y"])
    # Then 100503 comes back
    assert error.code == NO_VALID_KEY


def test_get_metadata_returns_only_the_named_keys_that_exist(world: World) -> None:
    # Given a room with keys a and b
    make_room(world)
    world.set_metadata(REST, "room-1", [("a", "1"), ("b", "2")])
    # When b and an absent key are asked for
    # Then only b comes back
    assert world.get_metadata("room-1", ["b", "absent"]) == [{"Key": "b", "Value": "2"}]


KEYS = st.sampled_from([f"k{i}" for i in range(14)])
VALUES = st.text(alphabet="ab字", max_size=900)
OPERATIONS = st.lists(
    st.one_of(
        st.tuples(
            st.just("set"),
            st.lists(st.tuples(KEYS, VALUES), min_size=1, max_size=4, unique_by=lambda i: i[0]),
        ),
        st.tuples(st.just("del"), st.lists(KEYS, min_size=1, max_size=4)),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(operations=OPERATIONS)
def test_any_sequence_of_set_and_del_keeps_the_metadata_limits(operations: list[tuple[str, Any]]) -> None:
    # Given a room
    world = World(ADMIN, Clock(), FakeHooks())
    make_room(world)
    for kind, argument in operations:
        before = world.get_metadata("room-1")
        # When any set or delete is made
        refused: ApiError | None = None
        try:
            if kind == "set":
                world.set_metadata(REST, "room-1", argument)
            else:
                world.del_metadata(REST, "room-1", argument)
        except ApiError as error:
            refused = error
        # Then a refusal is one of the documented codes and leaves the metadata as it was
        if refused is not None:
            assert refused.code in {TOO_MANY_KEYS, VALUE_TOO_LARGE, VALUES_TOO_LARGE, NO_VALID_KEY}
            assert world.get_metadata("room-1") == before
        # And the room never holds more than 10 keys or 16 KB of values
        after = world.get_metadata("room-1")
        assert len(after) <= 10
        assert sum(len(entry["Value"].encode()) for entry in after) <= 16 * 1024


# --- members --------------------------------------------------------------------------------------


def test_entering_fires_member_online_with_the_users_platform_and_ip(world: World, hooks: FakeHooks) -> None:
    # Given a room
    make_room(world)
    # When alice enters from iOS
    world.enter_room(user("alice", platform="iOS", client_ip="203.0.113.9"), "room-1")
    # Then the member-state callback says Online, Enter, from her platform and address
    callback = hooks.last("Live.CallbackAfterMemberStateChanged")
    assert without_time(callback.body) == {
        "CallbackCommand": "Live.CallbackAfterMemberStateChanged",
        "RoomId": "room-1",
        "EventType": "Online",
        "EventCause": "Enter",
        "MemberList": [{"Member_Account": "alice"}],
    }
    assert (callback.platform, callback.client_ip) == ("iOS", "203.0.113.9")


def test_leaving_fires_member_offline(world: World, hooks: FakeHooks) -> None:
    # Given alice in a room
    make_room(world)
    world.enter_room(user("alice"), "room-1")
    # When she leaves
    world.leave_room(user("alice"), "room-1")
    # Then the callback says Offline, Leave, and she is no longer listed
    body = hooks.last("Live.CallbackAfterMemberStateChanged").body
    assert (body["EventType"], body["EventCause"], body["MemberList"]) == (
        "Offline",
        "Leave",
        [{"Member_Account": "alice"}],
    )
    assert world.member_list("room-1") == ([], "", 0)


def test_every_entry_counts_as_a_viewer(world: World) -> None:
    # Given alice entering, leaving and entering again, and bob entering once
    make_room(world)
    for name in ("alice", "alice", "bob"):
        world.enter_room(user(name), "room-1")
        if name == "alice":
            world.leave_room(user(name), "room-1")
    # When the statistics are read
    # Then three entries are counted, and the room reports them as ViewCount
    assert world.stats("room-1")["TotalViewers"] == 3
    assert world.get_room_info("room-1")["ViewCount"] == 3


def test_entering_while_inside_changes_nothing(world: World, hooks: FakeHooks) -> None:
    # Given alice in a room
    make_room(world)
    world.enter_room(user("alice"), "room-1")
    fired = len(hooks.after_calls)
    # When she enters again
    world.enter_room(user("alice"), "room-1")
    # Then no callback fires and she is counted once
    assert len(hooks.after_calls) == fired
    assert world.stats("room-1")["TotalViewers"] == 1


def test_ban_removes_the_member_and_fires_offline_kicked(world: World, hooks: FakeHooks) -> None:
    # Given alice and bob in a room
    make_room(world)
    world.enter_room(user("alice"), "room-1")
    world.enter_room(user("bob"), "room-1")
    # When the admin bans alice and carol (not in the room) for ten minutes
    world.ban(REST, "room-1", ["alice", "carol"], 600)
    # Then only alice is removed, reported Offline and Kicked (trtc.io 64424) by the admin's call,
    # and bob stays
    callback = hooks.last("Live.CallbackAfterMemberStateChanged")
    assert (callback.body["EventType"], callback.body["EventCause"]) == ("Offline", "Kicked")
    assert callback.body["MemberList"] == [{"Member_Account": "alice"}]
    assert callback.platform == RESTAPI
    assert world.member_list("room-1")[0] == ["bob"]


def test_banned_user_cannot_enter_until_the_ban_ends(world: World) -> None:
    # Given alice banned for ten minutes
    make_room(world)
    world.ban(REST, "room-1", ["alice"], 600)
    # When she tries to enter
    error = refusal(world.enter_room, user("alice"), "room-1")
    # Then she is refused with the emulator's banned code
    assert error.code == BANNED_FROM_ROOM


def test_banned_user_can_enter_once_the_ban_has_expired(world: World, clock: Clock) -> None:
    # Given alice banned for ten minutes, and ten minutes passed
    make_room(world)
    world.ban(REST, "room-1", ["alice"], 600)
    clock.advance(600)
    # When she enters
    world.enter_room(user("alice"), "room-1")
    # Then she is in, and the ban is no longer listed
    assert world.member_list("room-1")[0] == ["alice"]
    assert world.banned_list("room-1") == ([], 0)


def test_unbanned_user_can_enter_at_once(world: World) -> None:
    # Given alice banned, then unbanned
    make_room(world)
    world.ban(REST, "room-1", ["alice"], 600)
    world.unban(REST, "room-1", ["alice"])
    # When she enters
    world.enter_room(user("alice"), "room-1")
    # Then she is in
    assert world.member_list("room-1")[0] == ["alice"]


def test_ban_of_more_than_20_accounts_is_refused(world: World) -> None:
    # Given 21 accounts
    make_room(world)
    # When they are banned at once
    error = refusal(world.ban, REST, "room-1", [f"u{i}" for i in range(21)], 60)
    # Then it is an invalid parameter
    assert error.code == INVALID_PARAMETER


def test_banned_list_reports_banned_until_and_pages_with_next_offset(world: World, clock: Clock) -> None:
    # Given three banned accounts
    make_room(world)
    world.ban(REST, "room-1", ["a", "b", "c"], 600)
    until = int(clock.now()) + 600
    # When the list is read two at a time
    first, next_offset = world.banned_list("room-1", 0, 2)
    second, done = world.banned_list("room-1", next_offset, 2)
    # Then every ban is listed once with its end, and NextOffset 0 ends the list
    assert [entry["Member_Account"] for entry in first + second] == ["a", "b", "c"]
    assert all(abs(entry["BannedUntil"] - until) <= 1 for entry in first + second)
    assert (next_offset, done) == (2, 0)


def test_muted_member_s_messages_are_refused_with_10017(world: World, hooks: FakeHooks) -> None:
    # Given alice in a room, muted for a minute
    make_room(world)
    world.enter_room(user("alice"), "room-1")
    world.mute(REST, "room-1", ["alice"], 60)
    # When she comments
    result = world.send_message(user("alice"), "room-1", text("hello"), via_rest=False)
    # Then the comment is rejected with 10017 before any moderation callback
    assert (result["outcome"], result["error_code"]) == ("rejected", SENDER_MUTED)
    assert hooks.before_calls == []


def test_mute_ends_when_its_time_has_passed(world: World, clock: Clock) -> None:
    # Given alice muted for a minute, and a minute passed
    make_room(world)
    world.enter_room(user("alice"), "room-1")
    world.mute(REST, "room-1", ["alice"], 60)
    clock.advance(60)
    # When she comments
    result = world.send_message(user("alice"), "room-1", text("hello"), via_rest=False)
    # Then it is delivered
    assert result["outcome"] == "delivered"


def test_mute_time_zero_lifts_a_mute(world: World) -> None:
    # Given alice muted
    make_room(world)
    world.enter_room(user("alice"), "room-1")
    world.mute(REST, "room-1", ["alice"], 600)
    # When the admin mutes her for 0 seconds
    world.mute(REST, "room-1", ["alice"], 0)
    # Then she is no longer listed and may speak
    assert world.muted_list("room-1") == []
    assert world.send_message(user("alice"), "room-1", text("hi"), via_rest=False)["outcome"] == "delivered"


def test_muted_list_reports_muted_until(world: World, clock: Clock) -> None:
    # Given alice muted for a minute
    make_room(world)
    world.mute(REST, "room-1", ["alice"], 60)
    # When the muted list is read
    entries = world.muted_list("room-1")
    # Then it reports when the mute ends
    assert entries == [{"Member_Account": "alice", "MutedUntil": int(clock.now()) + 60}]


def test_muted_list_holds_every_mute_in_one_reply(world: World) -> None:
    # Given 150 members muted (more than any page size)
    make_room(world)
    accounts = [f"viewer-{n:03}" for n in range(150)]
    world.mute(REST, "room-1", accounts, 600)
    # When the muted list is read
    entries = world.muted_list("room-1")
    # Then all 150 are there: Tencent's get_muted_member_list has no paging (trtc.io 69894)
    assert [entry["Member_Account"] for entry in entries] == accounts


def test_room_with_messages_disabled_refuses_the_audience(world: World) -> None:
    # Given a room where messages are disabled, and alice in it
    make_room(world, IsMessageDisabled=True)
    world.enter_room(user("alice"), "room-1")
    # When she comments
    result = world.send_message(user("alice"), "room-1", text("hi"), via_rest=False)
    # Then she gets 10017
    assert (result["outcome"], result["error_code"]) == ("rejected", SENDER_MUTED)


@pytest.mark.parametrize("speaker", ["host", "moderator"])
def test_room_with_messages_disabled_lets_owner_and_admins_speak(world: World, speaker: str) -> None:
    # Given a room where messages are disabled, with moderator as room admin
    make_room(world, IsMessageDisabled=True)
    world.modify_admin(REST, "room-1", ["moderator"], "add")
    world.enter_room(user(speaker), "room-1")
    # When the owner or the admin comments
    result = world.send_message(user(speaker), "room-1", text("hi"), via_rest=False)
    # Then the comment is delivered
    assert result["outcome"] == "delivered"


def test_modify_admin_fires_the_callback_with_lower_case_op_type(world: World, hooks: FakeHooks) -> None:
    # Given a room
    make_room(world)
    # When the admin makes two users room admins
    world.modify_admin(REST, "room-1", ["user1", "user2"], "add")
    # Then the callback carries them with opType "add", and they are listed
    assert without_time(hooks.last("Live.CallbackAfterModifyAdmin").body) == {
        "CallbackCommand": "Live.CallbackAfterModifyAdmin",
        "RoomId": "room-1",
        "Operator_Account": ADMIN,
        "Admin_Account": ["user1", "user2"],
        "opType": "add",
    }
    assert world.admin_list("room-1") == ["user1", "user2"]


def test_sixth_room_admin_is_refused_with_100020(world: World) -> None:
    # Given a room with five admins
    make_room(world)
    world.modify_admin(REST, "room-1", [f"a{i}" for i in range(5)], "add")
    # When a sixth is added
    error = refusal(world.modify_admin, REST, "room-1", ["a5"], "add")
    # Then 100020 comes back and the five remain
    assert error.code == ADMIN_LIMIT_EXCEEDED
    assert len(world.admin_list("room-1")) == 5


def test_deleting_an_admin_removes_it(world: World) -> None:
    # Given two room admins
    make_room(world)
    world.modify_admin(REST, "room-1", ["a", "b"], "add")
    # When one is deleted
    world.modify_admin(REST, "room-1", ["a"], "delete")
    # Then the other remains
    assert world.admin_list("room-1") == ["b"]


# --- seats ----------------------------------------------------------------------------------------


def seated_room(world: World, *members: str, **fields: Any) -> str:
    make_room(world, MaxSeatCount=3, **fields)
    for member in members:
        world.enter_room(user(member), "room-1")
    return "room-1"


def test_pick_user_on_seat_fires_the_whole_seat_list(world: World, hooks: FakeHooks) -> None:
    # Given alice in a room of three seats
    seated_room(world, "alice")
    # When the admin puts her on seat 1
    world.pick_user_on_seat(REST, "room-1", "alice", 1)
    # Then the seat callback lists every seat, Member_Account only on hers
    assert without_time(hooks.last("Mic.CallbackAfterSeatInfoChanged").body) == {
        "CallbackCommand": "Mic.CallbackAfterSeatInfoChanged",
        "RoomId": "room-1",
        "SeatList": [
            {"Index": 0, "IsTakenDisabled": False, "IsVideoDisabled": False, "IsAudioDisabled": False},
            {
                "Index": 1,
                "Member_Account": "alice",
                "IsTakenDisabled": False,
                "IsVideoDisabled": False,
                "IsAudioDisabled": False,
            },
            {"Index": 2, "IsTakenDisabled": False, "IsVideoDisabled": False, "IsAudioDisabled": False},
        ],
    }


def test_only_a_member_of_the_room_can_be_put_on_a_seat(world: World) -> None:
    # Given a room alice is not in
    seated_room(world)
    # When the admin puts her on a seat
    error = refusal(world.pick_user_on_seat, REST, "room-1", "alice", 0)
    # Then it is an invalid parameter naming Member_Account
    assert (error.code, "Member_Account" in error.info) == (INVALID_PARAMETER, True)


def test_an_occupied_seat_cannot_be_given_to_another(world: World) -> None:
    # Given alice on seat 0
    seated_room(world, "alice", "bob")
    world.pick_user_on_seat(REST, "room-1", "alice", 0)
    # When bob is put on seat 0
    error = refusal(world.pick_user_on_seat, REST, "room-1", "bob", 0)
    # Then it is refused
    assert error.code == INVALID_PARAMETER


def test_a_locked_seat_cannot_be_taken(world: World) -> None:
    # Given seat 2 locked
    seated_room(world, "alice")
    world.lock_seat(REST, "room-1", 2, forbid_taken=True)
    # When alice is put on it
    error = refusal(world.pick_user_on_seat, REST, "room-1", "alice", 2)
    # Then it is refused
    assert (error.code, "locked" in error.info) == (INVALID_PARAMETER, True)


def test_a_seat_index_past_the_last_seat_is_refused(world: World) -> None:
    # Given a room of three seats and alice in it
    seated_room(world, "alice")
    # When she is put on seat 3
    error = refusal(world.pick_user_on_seat, REST, "room-1", "alice", 3)
    # Then the index is an invalid parameter
    assert (error.code, "Index" in error.info) == (INVALID_PARAMETER, True)


def test_locking_an_occupied_seat_removes_its_user(world: World, hooks: FakeHooks) -> None:
    # Given alice on seat 1
    seated_room(world, "alice")
    world.pick_user_on_seat(REST, "room-1", "alice", 1)
    # When seat 1 is locked
    world.lock_seat(REST, "room-1", 1, forbid_taken=True, forbid_audio=True)
    # Then the seat is empty and locked, and the callback says so
    seat = hooks.last("Mic.CallbackAfterSeatInfoChanged").body["SeatList"][1]
    assert seat == {"Index": 1, "IsTakenDisabled": True, "IsVideoDisabled": False, "IsAudioDisabled": True}
    assert world.member_list("room-1")[0] == ["alice"]


def test_kick_user_off_seat_frees_the_seat(world: World) -> None:
    # Given alice on seat 0
    seated_room(world, "alice")
    world.pick_user_on_seat(REST, "room-1", "alice", 0)
    # When she is kicked off
    world.kick_user_off_seat(REST, "room-1", "alice")
    # Then seat 0 is empty and she is still in the room
    assert "Member_Account" not in world.seat_list("room-1")[0]
    assert world.member_list("room-1")[0] == ["alice"]


def test_kicking_someone_who_is_not_seated_is_refused(world: World) -> None:
    # Given alice in the room but on no seat
    seated_room(world, "alice")
    # When she is kicked off a seat
    error = refusal(world.kick_user_off_seat, REST, "room-1", "alice")
    # Then it is an invalid parameter
    assert error.code == INVALID_PARAMETER


def test_leaving_the_room_frees_the_seat_before_going_offline(world: World, hooks: FakeHooks) -> None:
    # Given alice on seat 0
    seated_room(world, "alice")
    world.pick_user_on_seat(REST, "room-1", "alice", 0)
    hooks.after_calls.clear()
    # When she leaves the room
    world.leave_room(user("alice"), "room-1")
    # Then her seat is freed, then she goes offline
    assert hooks.fired() == ["Mic.CallbackAfterSeatInfoChanged", "Live.CallbackAfterMemberStateChanged"]
    assert "Member_Account" not in world.seat_list("room-1")[0]


def test_seat_commands_in_a_room_without_seats_get_100211(world: World) -> None:
    # Given a room with seats disabled and alice in it
    seated_room(world, "alice", IsSeatEnabled=False)
    # When she is put on a seat
    error = refusal(world.pick_user_on_seat, REST, "room-1", "alice", 0)
    # Then the room refuses seat connection
    assert error.code == SEATS_DISABLED


def test_switch_seat_moves_a_seated_user_to_an_empty_seat(world: World) -> None:
    # Given alice on seat 0
    seated_room(world, "alice")
    world.pick_user_on_seat(REST, "room-1", "alice", 0)
    # When she is switched to seat 2
    world.switch_seat(REST, "room-1", "alice", 2)
    # Then she sits on 2 and 0 is empty
    seats = world.seat_list("room-1")
    assert ("Member_Account" in seats[0], seats[2].get("Member_Account")) == (False, "alice")


def test_take_seat_without_an_index_takes_the_first_free_seat(world: World) -> None:
    # Given alice on seat 0 and seat 1 locked
    seated_room(world, "alice", "bob")
    world.pick_user_on_seat(REST, "room-1", "alice", 0)
    world.lock_seat(REST, "room-1", 1, forbid_taken=True)
    # When bob takes a seat
    index = world.take_seat(user("bob"), "room-1")
    # Then he gets seat 2
    assert index == 2


# --- messages -------------------------------------------------------------------------------------


def room_with(world: World, *members: str) -> str:
    make_room(world)
    for member in members:
        world.enter_room(user(member), "room-1")
    return "room-1"


def test_comment_asks_the_before_send_callback_with_the_documented_body(
    world: World, hooks: FakeHooks
) -> None:
    # Given alice in a room
    room_with(world, "alice")
    # When she comments with custom data
    world.send_message(user("alice"), "room-1", text("hello"), '{"k": 1}', via_rest=False)
    # Then Group.CallbackBeforeSendMsg carries the group, sender, random, id and body
    callback = hooks.before_calls[-1]
    body = callback.body
    assert without_time({key: value for key, value in body.items() if key not in ("Random", "MsgId")}) == {
        "CallbackCommand": "Group.CallbackBeforeSendMsg",
        "GroupId": "room-1",
        "Type": "Live",
        "From_Account": "alice",
        "Operator_Account": "alice",
        "MsgBody": text("hello"),
        "CloudCustomData": '{"k": 1}',
    }
    assert 0 <= body["Random"] < 2**32
    assert isinstance(body["MsgId"], str)
    assert isinstance(body["EventTime"], int)
    assert (callback.order_key, callback.platform) == ("room-1", "Android")


def test_delivered_comment_fires_after_send_with_seq_and_time(world: World, hooks: FakeHooks) -> None:
    # Given alice in a room
    room_with(world, "alice")
    # When two comments are delivered
    world.send_message(user("alice"), "room-1", text("one"), via_rest=False)
    result = world.send_message(user("alice"), "room-1", text("two"), via_rest=False)
    # Then the after-callback adds MsgSeq and MsgTime (seconds) to the before body
    before = hooks.before_calls[-1].body
    after = hooks.last("Group.CallbackAfterSendMsg").body
    assert after["CallbackCommand"] == "Group.CallbackAfterSendMsg"
    assert (after["MsgSeq"], after["MsgBody"], after["MsgId"]) == (2, text("two"), before["MsgId"])
    assert abs(after["MsgTime"] - after["EventTime"] // 1000) <= 1
    assert (result["outcome"], result["msg_seq"]) == ("delivered", 2)
    assert world.stats("room-1")["TotalMsgCount"] == 2


def test_rejected_comment_gives_the_sender_10016_and_reaches_nobody(world: World, hooks: FakeHooks) -> None:
    # Given moderation answering ErrorCode 1
    room_with(world, "alice")
    hooks.answer = BeforeAnswer(error_code=1)
    # When alice comments
    result = world.send_message(user("alice"), "room-1", text("spam"), via_rest=False)
    # Then she gets 10016, no after-callback fires, and nothing is counted
    assert (result["outcome"], result["error_code"]) == ("rejected", REJECTED_BY_CALLBACK)
    assert "Group.CallbackAfterSendMsg" not in hooks.fired()
    assert world.stats("room-1")["TotalMsgCount"] == 0


def test_pass_through_code_reaches_the_sender(world: World, hooks: FakeHooks) -> None:
    # Given moderation answering 10150 with its own message
    room_with(world, "alice")
    hooks.answer = BeforeAnswer(error_code=10150, error_info="be nice")
    # When alice comments
    result = world.send_message(user("alice"), "room-1", text("rude"), via_rest=False)
    # Then she gets that code and message
    assert (result["outcome"], result["error_code"], result["error_info"]) == ("rejected", 10150, "be nice")


def test_dropped_comment_looks_sent_to_the_sender_but_reaches_nobody(world: World, hooks: FakeHooks) -> None:
    # Given moderation answering ErrorCode 2
    room_with(world, "alice")
    hooks.answer = BeforeAnswer(error_code=2)
    # When alice comments
    result = world.send_message(user("alice"), "room-1", text("quiet"), via_rest=False)
    # Then she sees no error, but no after-callback fires and nothing is counted
    assert (result["outcome"], result["error_code"]) == ("dropped", 0)
    assert "Group.CallbackAfterSendMsg" not in hooks.fired()
    assert world.stats("room-1")["TotalMsgCount"] == 0


def test_rewritten_comment_is_delivered_as_rewritten(world: World, hooks: FakeHooks) -> None:
    # Given moderation answering 0 with a new MsgBody
    room_with(world, "alice")
    hooks.answer = BeforeAnswer(error_code=0, msg_body=text("***"))
    # When alice comments
    result = world.send_message(user("alice"), "room-1", text("darn"), via_rest=False)
    # Then the rewritten body is delivered and carried by the after-callback
    assert (result["outcome"], result["msg_body"]) == ("delivered", text("***"))
    assert hooks.last("Group.CallbackAfterSendMsg").body["MsgBody"] == text("***")


def test_user_outside_the_room_cannot_comment(world: World, hooks: FakeHooks) -> None:
    # Given a room alice is not in
    room_with(world)
    # When she comments
    result = world.send_message(user("alice"), "room-1", text("hi"), via_rest=False)
    # Then she gets 10007 and moderation is never asked
    assert (result["outcome"], result["error_code"]) == ("rejected", NOT_IN_GROUP)
    assert hooks.before_calls == []


def test_admin_sends_over_rest_as_a_user_who_is_not_in_the_room(world: World, hooks: FakeHooks) -> None:
    # Given a room bob is not in
    room_with(world)
    # When the admin sends a message as bob over REST
    result = world.send_message(REST, "room-1", text("notice"), via_rest=True, sender="bob")
    # Then it is delivered from bob, operated by the admin, from RESTAPI
    callback = hooks.last("Group.CallbackAfterSendMsg")
    assert result["outcome"] == "delivered"
    assert (callback.body["From_Account"], callback.body["Operator_Account"]) == ("bob", ADMIN)
    assert callback.platform == RESTAPI


def test_message_over_8_kb_is_refused_with_80002(world: World) -> None:
    # Given alice in a room
    room_with(world, "alice")
    # When she sends 8193 bytes of text
    result = world.send_message(user("alice"), "room-1", text("x" * 8193), via_rest=False)
    # Then it is refused as too large
    assert (result["outcome"], result["error_code"]) == ("rejected", MESSAGE_TOO_LARGE)


def test_malformed_msg_body_is_an_invalid_parameter(world: World) -> None:
    # Given a message body without MsgContent
    room_with(world, "alice")
    # When it is sent
    error = refusal(world.send_message, user("alice"), "room-1", [{"MsgType": "TIMTextElem"}], via_rest=False)
    # Then it is an invalid parameter naming the element
    assert (error.code, "MsgBody[0]" in error.info) == (INVALID_PARAMETER, True)


def test_room_destroyed_while_moderation_answers_refuses_the_message(world: World, hooks: FakeHooks) -> None:
    # Given alice in a room, and a moderation receiver that answers only when told
    room_with(world, "alice")
    hooks.hold = threading.Event()
    outcome: dict[str, Any] = {}

    def comment() -> None:
        try:
            world.send_message(user("alice"), "room-1", text("hi"), via_rest=False)
        except ApiError as error:
            outcome["code"] = error.code

    sender = threading.Thread(target=comment)
    sender.start()
    assert hooks.asked.wait(2)
    # When the room is destroyed before the answer arrives
    world.destroy_room(REST, "room-1")
    hooks.hold.set()
    sender.join(2)
    # Then the message is refused as for a room that does not exist
    assert outcome == {"code": ROOM_NOT_FOUND}


def test_a_slow_moderation_answer_does_not_hold_up_another_room(world: World, hooks: FakeHooks) -> None:
    # Given a comment in room-1 waiting for its moderation answer
    room_with(world, "alice")
    make_room(world, "room-2")
    hooks.hold = threading.Event()
    sender = threading.Thread(
        target=world.send_message, args=(user("alice"), "room-1", text("hi")), kwargs={"via_rest": False}
    )
    sender.start()
    assert hooks.asked.wait(2)
    # When bob enters room-2 meanwhile
    entered = threading.Thread(target=world.enter_room, args=(user("bob"), "room-2"))
    entered.start()
    entered.join(1)
    # Then he gets in without waiting for the answer
    finished = not entered.is_alive()
    hooks.hold.set()
    sender.join(2)
    assert finished
    assert world.member_list("room-2")[0] == ["bob"]


# --- gifts and likes ------------------------------------------------------------------------------


def test_gift_asks_the_before_send_gift_callback_with_its_gift_water(world: World, hooks: FakeHooks) -> None:
    # Given a catalogue rose of 10 coins, and alice in the room
    world.catalogue.add_gift(Body({"GiftId": "rose", "Coins": 10, "DefaultName": "Rose"}))
    room_with(world, "alice")
    # When she sends three roses to the host
    world.send_gift(user("alice"), "room-1", "rose", 3, ["host"])
    # Then the callback carries the gift water, with the rose's unit price
    body = hooks.before_calls[-1].body
    assert without_time(body) == {
        "CallbackCommand": "Live.CallbackBeforeSendGift",
        "Operator_Account": "alice",
        "RoomId": "room-1",
        "GiftWater": {
            "From_Account": "alice",
            "To_Account": ["host"],
            "Time": body["GiftWater"]["Time"],
            "GiftId": "rose",
            "Count": 3,
            "Coins": 10,
        },
    }


def test_allowed_gifts_count_in_the_statistics(world: World) -> None:
    # Given alice and bob in a room
    room_with(world, "alice", "bob")
    # When alice sends 2 gifts and then 1, and bob 4 (gifts not in the catalogue cost 1 coin)
    for sender, count in (("alice", 2), ("alice", 1), ("bob", 4)):
        assert world.send_gift(user(sender), "room-1", "heart", count, ["host"])["outcome"] == "sent"
    # Then 7 gifts worth 7 coins from 2 senders are counted, and alice's own tally is 3
    stats = world.stats("room-1")
    assert (stats["TotalGiftsSent"], stats["TotalGiftCoins"], stats["TotalUniqueGiftSenders"]) == (7, 7, 2)
    assert world.gift_count("room-1", "alice") == {
        "Sequence": 3,
        "TotalCount": 3,
        "TotalCoins": 3,
        "GiftSenderCount": 2,
    }


def test_refused_gift_gives_the_sender_the_code_and_counts_nothing(world: World, hooks: FakeHooks) -> None:
    # Given moderation refusing gifts with ErrorCode 1
    room_with(world, "alice")
    hooks.answer = BeforeAnswer(error_code=1)
    # When alice sends one
    result = world.send_gift(user("alice"), "room-1", "heart", 1, ["host"])
    # Then she gets the emulator's gift refusal code and nothing is counted
    assert (result["outcome"], result["error_code"]) == ("rejected", REJECTED_BY_CALLBACK)
    assert world.stats("room-1")["TotalGiftsSent"] == 0


def test_gift_pass_through_code_reaches_the_sender(world: World, hooks: FakeHooks) -> None:
    # Given moderation answering 102150
    room_with(world, "alice")
    hooks.answer = BeforeAnswer(error_code=102150, error_info="balance too low")
    # When alice sends a gift
    result = world.send_gift(user("alice"), "room-1", "heart", 1, ["host"])
    # Then she gets that code
    assert (result["error_code"], result["error_info"]) == (102150, "balance too low")


def test_likes_count_in_the_statistics(world: World) -> None:
    # Given alice in a room
    room_with(world, "alice")
    # When she likes it 5 times, then once
    world.like(user("alice"), "room-1", 5)
    world.like(user("alice"), "room-1")
    # Then 6 likes are counted
    assert world.stats("room-1")["TotalLikesReceived"] == 6


def test_only_members_can_like(world: World) -> None:
    # Given a room alice is not in
    room_with(world)
    # When she likes it
    error = refusal(world.like, user("alice"), "room-1")
    # Then she gets 10007
    assert error.code == NOT_IN_GROUP


# --- auto-destroy ---------------------------------------------------------------------------------


def test_room_left_empty_is_destroyed_by_the_system(world: World, hooks: FakeHooks, clock: Clock) -> None:
    # Given a room alice entered and left
    room_with(world, "alice")
    world.leave_room(user("alice"), "room-1")
    # When half an hour passes and anything is asked of the emulator
    clock.advance(HALF_HOUR)
    error = refusal(world.get_room_info, "room-1")
    # Then the room was destroyed by the system, with its statistics
    assert error.code == ROOM_NOT_FOUND
    callback = hooks.last("Live.CallbackAfterDestroyRoom")
    assert (callback.body["EventType"], callback.body["Operator_Account"]) == (
        "DestroyBySystem",
        SYSTEM_OPERATOR,
    )
    assert callback.body["Statistic"]["TotalViewers"] == 1


def test_room_empty_for_less_than_the_limit_is_kept(world: World, clock: Clock) -> None:
    # Given a room left empty
    room_with(world, "alice")
    world.leave_room(user("alice"), "room-1")
    # When a second less than half an hour passes
    clock.advance(HALF_HOUR - 1)
    # Then the room is still there
    assert world.tick() == []
    assert world.get_room_info("room-1")["RoomId"] == "room-1"


def test_room_nobody_ever_entered_is_kept(world: World, clock: Clock) -> None:
    # Given a room created over REST that nobody entered
    make_room(world)
    # When a day passes
    clock.advance(86400)
    # Then it is still there
    assert world.tick() == []


def test_room_with_robots_is_kept(world: World, clock: Clock) -> None:
    # Given a room left empty of people but with a robot
    room_with(world, "alice")
    world.add_robots(REST, "room-1", ["robot-1"])
    world.leave_room(user("alice"), "room-1")
    # When an hour passes
    clock.advance(2 * HALF_HOUR)
    # Then it is still there
    assert world.tick() == []


def test_removing_the_last_robot_starts_the_empty_time_anew(world: World, clock: Clock) -> None:
    # Given a room empty of people for an hour with a robot, then the robot removed
    room_with(world, "alice")
    world.add_robots(REST, "room-1", ["robot-1"])
    world.leave_room(user("alice"), "room-1")
    clock.advance(2 * HALF_HOUR)
    world.del_robots(REST, "room-1", ["robot-1"])
    # When a minute passes, then half an hour
    clock.advance(60)
    kept = world.tick()
    clock.advance(HALF_HOUR)
    # Then it is kept at first, and destroyed once empty for half an hour
    assert (kept, world.tick()) == ([], ["room-1"])


def test_auto_destroy_time_can_be_shortened(world: World, clock: Clock) -> None:
    # Given auto-destroy after ten minutes, and a room left empty
    world.set_auto_destroy_after(600)
    room_with(world, "alice")
    world.leave_room(user("alice"), "room-1")
    # When ten minutes pass
    clock.advance(600)
    # Then the system destroys it
    assert world.tick() == ["room-1"]


def test_someone_entering_stops_the_auto_destroy_countdown(world: World, clock: Clock) -> None:
    # Given a room left empty for 29 minutes, then entered by bob
    room_with(world, "alice")
    world.leave_room(user("alice"), "room-1")
    clock.advance(HALF_HOUR - 60)
    world.enter_room(user("bob"), "room-1")
    # When another hour passes
    clock.advance(2 * HALF_HOUR)
    # Then the room is kept
    assert world.tick() == []


# --- inspection -----------------------------------------------------------------------------------


def test_snapshot_shows_the_whole_room_as_json(world: World) -> None:
    # Given a room with metadata, a member on a seat, an admin, a ban, a mute and a comment
    room_with(world, "alice")
    world.set_metadata(REST, "room-1", [("topic", "cats")])
    world.pick_user_on_seat(REST, "room-1", "alice", 0)
    world.modify_admin(REST, "room-1", ["mod"], "add")
    world.ban(REST, "room-1", ["troll"], 60)
    world.mute(REST, "room-1", ["loud"], 60)
    world.send_message(user("alice"), "room-1", text("hi"), via_rest=False)
    # When the snapshot is taken
    snapshot = json.loads(json.dumps(world.snapshot("room-1")))
    # Then it holds all of it
    assert snapshot["Metadata"] == [{"Key": "topic", "Value": "cats"}]
    assert snapshot["MemberList"] == [{"Member_Account": "alice"}]
    assert snapshot["SeatList"][0]["Member_Account"] == "alice"
    assert snapshot["Admin_Account"] == ["mod"]
    assert [entry["Member_Account"] for entry in snapshot["BannedAccountList"]] == ["troll"]
    assert [entry["Member_Account"] for entry in snapshot["MutedAccountList"]] == ["loud"]
    assert [(m["MsgSeq"], m["Outcome"]) for m in snapshot["Messages"]] == [(1, "delivered")]
    assert snapshot["Statistic"]["TotalMsgCount"] == 1


def test_reset_forgets_every_room(world: World) -> None:
    # Given a room
    make_room(world)
    # When the world is reset
    world.reset()
    # Then no room remains
    assert world.room_ids() == []
