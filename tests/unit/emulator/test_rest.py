"""REST dispatch: every command LiveClient has is answered, with bodies checked as Tencent checks them.

LiveClient's request and reply models are used here only as the other side of the contract: the
valid bodies below must be what LiveClient sends, and every reply must parse with its reply model.
"""

from __future__ import annotations

from typing import Any

import pytest

from liveguard.tencent.commands import COMMANDS
from liveguard.tencent.commands.gifts import GetGiftInfoListReply, GetGiftLanguageReply
from liveguard.tencent.commands.members import GetMemberListReply
from liveguard.tencent.commands.messages import SendMsgReply
from liveguard.tencent.commands.rooms import GetRoomInfoReply
from liveguard_local.emulator.callbacks import RESTAPI, Actor, BeforeAnswer
from liveguard_local.emulator.clock import Clock
from liveguard_local.emulator.errors import ApiError
from liveguard_local.emulator.limits import (
    CHAT_INVALID_PARAMETER,
    INVALID_PARAMETER,
    MESSAGE_TOO_LARGE,
    REJECTED_BY_CALLBACK,
    SENDER_MUTED,
    UNKNOWN_COMMAND,
)
from liveguard_local.emulator.rest import MSG_DROPPED, REST_COMMANDS, handle_rest
from liveguard_local.emulator.world import World

from .test_world import FakeHooks

ADMIN = "administrator"
REST = Actor(ADMIN)

VALID: dict[str, dict[str, Any]] = {
    "create_room": {
        "RoomInfo": {"RoomId": "room-2", "RoomType": "Live", "SeatTemplate": "VideoDynamicGrid9Seats"}
    },
    "destroy_room": {"RoomId": "room-1"},
    "update_room_info": {"RoomInfo": {"RoomId": "room-1", "RoomName": "Quiz night"}},
    "get_room_info": {"RoomId": "room-1"},
    "get_room_list": {"Next": "", "Count": 20},
    "set_room_metadata": {"RoomId": "room-1", "Metadata": [{"Key": "k", "Value": "v"}]},
    "del_room_metadata": {"RoomId": "room-1", "Keys": ["topic"]},
    "get_room_metadata": {"RoomId": "room-1", "Keys": []},
    "get_member_list": {"RoomId": "room-1", "Next": ""},
    "ban_member": {"RoomId": "room-1", "MemberList_Account": ["bob"], "Duration": 60, "Reason": "spam"},
    "unban_member": {"RoomId": "room-1", "MemberList_Account": ["bob"]},
    "get_banned_member_list": {"RoomId": "room-1", "Offset": 0, "Limit": 100},
    "mute_member": {"RoomId": "room-1", "MemberList_Account": ["bob"], "MuteTime": 60},
    "get_muted_member_list": {"RoomId": "room-1"},
    "modify_admin": {"RoomId": "room-1", "Admin_Account": ["bob"], "OpType": "add"},
    "get_admin_list": {"RoomId": "room-1"},
    "send_text_msg": {
        "RoomId": "room-1",
        "Sender_Account": "alice",
        "TextContent": "hello",
        "ExtensionInfo": '{"k": 1}',
    },
    "send_custom_msg": {
        "RoomId": "room-1",
        "Sender_Account": ADMIN,
        "BusinessId": "violation_alert",
        "Data": '{"version": "1.0"}',
    },
    "send_group_msg": {
        "GroupId": "room-1",
        "From_Account": "viewer-7",
        "Random": 7,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "approved"}}],
        "CloudCustomData": '{"liveguard_approved_hold": "x"}',
    },
    "get_room_stats": {"RoomId": "room-1"},
    "get_room_statistic": {"RoomId": "room-1"},
    "send_gift": {
        "RoomId": "room-1",
        "GiftId": "rose",
        "Count": 2,
        "From_Account": "alice",
        "ReceiverList_Account": ["host"],
    },
    "get_gift_count": {"RoomId": "room-1", "From_Account": "alice"},
    "add_gift": {"GiftId": "tulip", "Coins": 5, "DefaultName": "Tulip"},
    "edit_gift": {"GiftId": "rose", "Coins": 20},
    "get_gift": {"GiftId": "rose"},
    "del_gift": {"GiftId": "rose"},
    "get_gift_info_list": {},
    "get_gift_language": {"GiftId": "rose", "Language": "en"},
    "set_gift_language": {"GiftId": "rose", "Language": "zh-Hans", "Name": "玫瑰"},
    "del_gift_language": {"GiftId": "rose", "Language": "en"},
    "add_gift_category": {"CategoryId": "sweets", "DefaultName": "Sweets"},
    "edit_gift_category": {"CategoryId": "flowers", "DefaultDesc": "pretty"},
    "del_gift_category": {"CategoryId": "flowers"},
    "get_gift_category": {"CategoryId": "flowers"},
    "get_gift_category_language": {"CategoryId": "flowers", "Language": "en"},
    "set_gift_category_language": {"CategoryId": "flowers", "Language": "zh-Hant", "CategoryName": "花"},
    "del_gift_category_language": {"CategoryId": "flowers", "Language": "en"},
    "add_gift_category_relations": {"CategoryId": "flowers", "GiftIdList": ["rose"]},
    "del_gift_category_relations": {"CategoryId": "flowers", "GiftIdList": ["rose"]},
    "add_robot": {"RoomId": "room-1", "RobotList_Account": ["robot-2"]},
    "get_robot": {"RoomId": "room-1"},
    "del_robot": {"RoomId": "room-1", "RobotList_Account": ["robot-1"]},
    "resume_mcu_task": {"RoomId": "room-1"},
    "get_seat_list": {"RoomId": "room-1"},
    "pick_user_on_seat": {"RoomId": "room-1", "Member_Account": "bob", "Index": 1},
    "kick_user_off_seat": {"RoomId": "room-1", "Member_Account": "alice"},
    "lock_seat": {
        "RoomId": "room-1",
        "Index": 2,
        "ForbidTaken": True,
        "ForbidVideo": True,
        "ForbidAudio": True,
    },
    "switch_seat": {"RoomId": "room-1", "Member_Account": "alice", "ToIndex": 3},
    "set_callback": {
        "Url": "https://example.com/hook",
        "CallbackCommandList": ["Live.CallbackAfterCreateRoom"],
    },
    "update_callback": {
        "Url": "https://example.com/hook-2",
        "CallbackCommandList": ["Live.CallbackAfterDestroyRoom"],
    },
    "get_callback": {},
    "set_callback_token": {"Token": "xxxxyyyy", "IsTokenEnable": True},
    "get_callback_token": {},
}
PRECONDITIONS: dict[str, tuple[str, ...]] = {
    # Commands that answer only once something exists (100301, 100302 otherwise)
    "update_callback": ("set_callback",),
    "get_callback": ("set_callback",),
    "get_callback_token": ("set_callback_token",),
}

REQUIRED_FIELDS = [
    pytest.param(name, field.alias, id=f"{name} without {field.alias}")
    for name, model in COMMANDS.items()
    for field in model.model_fields.values()
    if field.is_required()
]


@pytest.fixture
def hooks() -> FakeHooks:
    return FakeHooks()


@pytest.fixture
def world(hooks: FakeHooks) -> World:
    """room-1 owned by host, alice (on seat 0) and bob in it, metadata "topic", a robot, and a
    catalogue with a rose in the flowers category, both with English texts."""
    world = World(ADMIN, Clock(), hooks)
    call(
        world, "create_room", {"RoomInfo": {"RoomId": "room-1", "RoomType": "Live", "Owner_Account": "host"}}
    )
    for name in ("alice", "bob"):
        world.enter_room(Actor(name, platform="Android"), "room-1")
    call(world, "pick_user_on_seat", {"RoomId": "room-1", "Member_Account": "alice", "Index": 0})
    call(world, "set_room_metadata", {"RoomId": "room-1", "Metadata": [{"Key": "topic", "Value": "cats"}]})
    call(world, "add_robot", {"RoomId": "room-1", "RobotList_Account": ["robot-1"]})
    call(world, "add_gift", {"GiftId": "rose", "Coins": 10, "DefaultName": "Rose"})
    call(world, "set_gift_language", {"GiftId": "rose", "Language": "en", "Name": "Rose", "Desc": "red"})
    call(world, "add_gift_category", {"CategoryId": "flowers", "DefaultName": "Flowers"})
    call(
        world, "set_gift_category_language", {"CategoryId": "flowers", "Language": "en", "CategoryName": "F"}
    )
    call(world, "add_gift_category_relations", {"CategoryId": "flowers", "GiftIdList": ["rose"]})
    return world


def call(world: World, command: str, body: dict[str, Any]) -> dict[str, Any]:
    """A REST command by the name LiveClient knows it under, as the app admin."""
    service = COMMANDS[command].command.service
    return handle_rest(world, service, command, body, REST)


def refused(world: World, command: str, body: dict[str, Any]) -> ApiError:
    with pytest.raises(ApiError) as caught:
        call(world, command, body)
    return caught.value


# --- every command --------------------------------------------------------------------------------


def test_every_command_live_client_has_is_dispatched() -> None:
    # Given LiveClient's command registry
    expected = {(model.command.service, name) for name, model in COMMANDS.items()}
    # When the emulator's table is compared with it
    # Then both hold the same (service, command) pairs, and each has a valid body below
    assert set(REST_COMMANDS) == expected
    assert set(VALID) == set(COMMANDS)


@pytest.mark.parametrize("command", sorted(VALID))
def test_valid_body_is_answered_with_what_the_reply_model_reads(world: World, command: str) -> None:
    # Given a body LiveClient would send for the command
    body = VALID[command]
    COMMANDS[command].model_validate(body)
    for earlier in PRECONDITIONS.get(command, ()):
        call(world, earlier, VALID[earlier])
    # When the emulator runs it
    response = call(world, command, body)
    # Then it answers a Response object that LiveClient's reply model parses
    assert isinstance(response, dict)
    COMMANDS[command].reply_model.model_validate({**response, "RequestId": "req-1"})


@pytest.mark.parametrize(("command", "field_name"), REQUIRED_FIELDS)
def test_body_missing_a_required_field_is_refused_naming_it(
    world: World, command: str, field_name: str
) -> None:
    # Given a valid body without one of its required fields
    for earlier in PRECONDITIONS.get(command, ()):
        call(world, earlier, VALID[earlier])
    body = {key: value for key, value in VALID[command].items() if key != field_name}
    # When the emulator runs it
    error = refused(world, command, body)
    # Then 100002 (Chat's commands: 10004) names the field
    chat = COMMANDS[command].command.service == "group_open_http_svc"
    assert error.code == (CHAT_INVALID_PARAMETER if chat else INVALID_PARAMETER)
    assert field_name in error.info


@pytest.mark.parametrize(
    ("service", "command"),
    [("live_engine_http_srv", "kick_member"), ("live_engine_http_srv", "get_seat_list"), ("nowhere", "x")],
)
def test_unknown_command_is_refused_with_60009(world: World, service: str, command: str) -> None:
    # Given a command the service does not have
    # When it is called
    with pytest.raises(ApiError) as caught:
        handle_rest(world, service, command, {}, REST)
    # Then 60009 comes back
    assert caught.value.code == UNKNOWN_COMMAND


# --- body checks ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "changes", "field_name"),
    [
        pytest.param("get_room_info", {"RoomId": "r" * 49}, "RoomId", id="RoomId over 48 bytes"),
        pytest.param("get_room_list", {"Count": 21}, "Count", id="Count over 20"),
        pytest.param(
            "ban_member",
            {"MemberList_Account": [f"u{i}" for i in range(21)]},
            "MemberList_Account",
            id="ban 21",
        ),
        pytest.param("ban_member", {"Duration": "60"}, "Duration", id="Duration as a string"),
        pytest.param("ban_member", {"Reason": "r" * 201}, "Reason", id="Reason over 200 bytes"),
        pytest.param("get_banned_member_list", {"Limit": 101}, "Limit", id="Limit over 100"),
        pytest.param("mute_member", {"MuteTime": -1}, "MuteTime", id="negative MuteTime"),
        pytest.param("pick_user_on_seat", {"Index": -1}, "Index", id="negative seat"),
        pytest.param("send_text_msg", {"ExtensionInfo": "k=v"}, "ExtensionInfo", id="ExtensionInfo not JSON"),
        pytest.param("add_gift", {"GiftId": "g" * 21}, "GiftId", id="GiftId over 20 bytes"),
        pytest.param("get_gift_language", {"Language": "fr"}, "Language", id="unsupported Language"),
        pytest.param("set_callback", {"Url": "ftp://example.com"}, "Url", id="Url not http"),
        pytest.param("set_callback_token", {"Token": "t" * 129}, "Token", id="Token over 128 characters"),
    ],
)
def test_field_past_its_limit_is_refused_naming_it(
    world: World, command: str, changes: dict[str, Any], field_name: str
) -> None:
    # Given a valid body with one field past Tencent's limit or of the wrong type
    # When the emulator runs it
    error = refused(world, command, {**VALID[command], **changes})
    # Then 100002 names the field
    assert (error.code, field_name in error.info) == (INVALID_PARAMETER, True)


# --- rooms and members ----------------------------------------------------------------------------


def test_rest_changes_fire_callbacks_from_restapi_with_the_admin_as_operator(
    world: World, hooks: FakeHooks
) -> None:
    # Given the app admin calling over REST
    # When it destroys a room
    call(world, "destroy_room", {"RoomId": "room-1"})
    # Then the callback comes from RESTAPI with the admin as operator
    callback = hooks.last("Live.CallbackAfterDestroyRoom")
    assert (callback.platform, callback.body["Operator_Account"]) == (RESTAPI, ADMIN)


def test_get_room_info_answers_the_room_as_live_client_reads_it(world: World) -> None:
    # Given room-1
    # When its info is read
    reply = GetRoomInfoReply.model_validate(call(world, "get_room_info", {"RoomId": "room-1"}))
    # Then the owner, type and viewers are there
    info = reply.room_info
    assert (info.room_id, info.owner_account, info.room_type, info.view_count) == (
        "room-1",
        "host",
        "Live",
        2,
    )


def test_member_list_pages_with_next_and_counts_everyone(world: World) -> None:
    # Given 150 members in room-1 (alice, bob and 148 more)
    for index in range(148):
        world.enter_room(Actor(f"viewer-{index}", platform="Web"), "room-1")
    # When the list is read page by page
    first = GetMemberListReply.model_validate(call(world, "get_member_list", {"RoomId": "room-1"}))
    second = GetMemberListReply.model_validate(
        call(world, "get_member_list", {"RoomId": "room-1", "Next": first.next})
    )
    # Then every member comes once, MemberCount counts all, and Next ends empty
    members = [m.member_account for m in first.member_list + second.member_list]
    assert (len(members), len(set(members)), first.member_count, second.next) == (150, 150, 150, "")


# --- messages -------------------------------------------------------------------------------------


def test_text_message_answers_its_time_and_sequence(world: World, hooks: FakeHooks) -> None:
    # Given room-1
    # When the admin sends a text as alice with extension info
    reply = SendMsgReply.model_validate(call(world, "send_text_msg", VALID["send_text_msg"]))
    # Then the reply has MsgTime and MsgSeq, and the extension info travels as CloudCustomData
    assert (reply.msg_seq, reply.dropped) == (1, False)
    assert reply.msg_time is not None
    body = hooks.last("Group.CallbackAfterSendMsg").body
    assert body["MsgBody"] == [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}]
    assert body["CloudCustomData"] == '{"k": 1}'


def test_custom_message_carries_the_business_id_in_desc(world: World, hooks: FakeHooks) -> None:
    # Given room-1
    # When the admin sends a violation alert
    call(world, "send_custom_msg", VALID["send_custom_msg"])
    # Then it travels as a custom element with the BusinessId in Desc
    assert hooks.last("Group.CallbackAfterSendMsg").body["MsgBody"] == [
        {"MsgType": "TIMCustomElem", "MsgContent": {"Data": '{"version": "1.0"}', "Desc": "violation_alert"}}
    ]


def test_message_refused_by_moderation_is_an_api_error(world: World, hooks: FakeHooks) -> None:
    # Given moderation refusing with ErrorCode 1
    hooks.answer = BeforeAnswer(error_code=1)
    # When the admin sends a text
    error = refused(world, "send_text_msg", VALID["send_text_msg"])
    # Then the call fails with 10016
    assert error.code == REJECTED_BY_CALLBACK


def test_message_dropped_by_moderation_succeeds_with_a_drop_reason(world: World, hooks: FakeHooks) -> None:
    # Given moderation dropping messages
    hooks.answer = BeforeAnswer(error_code=2)
    # When the admin sends a text
    reply = SendMsgReply.model_validate(call(world, "send_text_msg", VALID["send_text_msg"]))
    # Then the call succeeds but says the message was dropped
    assert (reply.dropped, reply.msg_drop_reason) == (True, MSG_DROPPED)


def test_text_over_8_kb_is_refused_with_80002(world: World) -> None:
    # Given a text of 8193 bytes
    # When the admin sends it
    error = refused(world, "send_text_msg", {**VALID["send_text_msg"], "TextContent": "x" * 8193})
    # Then it is too large
    assert error.code == MESSAGE_TOO_LARGE


def test_muted_sender_is_refused_over_rest_too(world: World) -> None:
    # Given alice muted
    call(world, "mute_member", {"RoomId": "room-1", "MemberList_Account": ["alice"], "MuteTime": 60})
    # When the admin sends a text as alice
    error = refused(world, "send_text_msg", VALID["send_text_msg"])
    # Then 10017 comes back
    assert error.code == SENDER_MUTED


# --- gifts ----------------------------------------------------------------------------------------


def test_gift_refused_by_moderation_is_an_api_error_with_its_code(world: World, hooks: FakeHooks) -> None:
    # Given moderation answering 102150
    hooks.answer = BeforeAnswer(error_code=102150, error_info="no")
    # When the admin sends a gift as alice
    error = refused(world, "send_gift", VALID["send_gift"])
    # Then the call fails with that code
    assert error.code == 102150


def test_sent_gift_counts_at_its_catalogue_price(world: World) -> None:
    # Given a rose of 10 coins
    # When alice sends two over REST
    call(world, "send_gift", VALID["send_gift"])
    # Then her gift count shows 2 gifts worth 20 coins
    assert call(world, "get_gift_count", VALID["get_gift_count"]) == {
        "Sequence": 1,
        "TotalCount": 2,
        "TotalCoins": 20,
        "GiftSenderCount": 1,
    }


def test_gift_catalogue_lists_gifts_with_categories_and_translations(world: World) -> None:
    # Given the catalogue of the fixture
    # When the whole catalogue is read
    reply = GetGiftInfoListReply.model_validate(call(world, "get_gift_info_list", {}))
    # Then the rose is listed with its price and English text, inside the flowers category
    rose = reply.gift_list[0]
    assert (rose.gift_id, rose.coins, rose.language_list[0].name, reply.total_count) == (
        "rose",
        10,
        "Rose",
        1,
    )
    assert reply.category_list[0].gift_id_list == ["rose"]
    assert reply.category_list[0].language_list[0].category_name == "F"


def test_gift_language_is_read_back(world: World) -> None:
    # Given the rose's English text
    # When it is read
    reply = GetGiftLanguageReply.model_validate(call(world, "get_gift_language", VALID["get_gift_language"]))
    # Then its name and description come back
    assert (reply.text.name, reply.text.desc) == ("Rose", "red")


def test_first_translation_of_a_gift_needs_a_name(world: World) -> None:
    # Given a rose without a Chinese text
    # When a Chinese description alone is set
    error = refused(world, "set_gift_language", {"GiftId": "rose", "Language": "zh-Hant", "Desc": "紅"})
    # Then Name is required
    assert (error.code, "Name" in error.info) == (INVALID_PARAMETER, True)


def test_adding_a_gift_twice_is_refused(world: World) -> None:
    # Given a rose in the catalogue
    # When it is added again
    error = refused(world, "add_gift", {"GiftId": "rose", "Coins": 1, "DefaultName": "Rose"})
    # Then it is refused
    assert error.code == INVALID_PARAMETER


def test_catalogue_holds_at_most_16_gifts(world: World) -> None:
    # Given the rose and 15 more gifts
    for index in range(15):
        call(world, "add_gift", {"GiftId": f"g{index}", "Coins": 1, "DefaultName": "g"})
    # When a 17th is added
    error = refused(world, "add_gift", {"GiftId": "g15", "Coins": 1, "DefaultName": "g"})
    # Then it is refused
    assert error.code == INVALID_PARAMETER


def test_relations_to_unknown_gifts_come_back_as_invalid(world: World) -> None:
    # Given a catalogue without a tulip
    # When the rose and a tulip are put into a category
    response = call(
        world, "add_gift_category_relations", {"CategoryId": "flowers", "GiftIdList": ["rose", "tulip"]}
    )
    # Then the tulip is reported invalid
    assert response == {"InvalidGiftIdList": ["tulip"]}


def test_deleting_a_gift_takes_it_out_of_its_categories(world: World) -> None:
    # Given the rose in the flowers category
    # When the rose is deleted
    call(world, "del_gift", {"GiftId": "rose"})
    # Then the category no longer lists it, and the rose cannot be read
    assert call(world, "get_gift_category", {"CategoryId": "flowers"})["GiftCategoryInfo"]["GiftIdList"] == []
    assert refused(world, "get_gift", {"GiftId": "rose"}).code == INVALID_PARAMETER


# --- webhook configuration ------------------------------------------------------------------------


def test_set_callback_configures_the_url_and_commands(world: World, hooks: FakeHooks) -> None:
    # Given a webhook URL and the commands it wants
    # When set_callback is called
    call(world, "set_callback", VALID["set_callback"])
    # Then delivery is configured with them
    assert (hooks.url, hooks.commands) == ("https://example.com/hook", ["Live.CallbackAfterCreateRoom"])


def test_set_callback_on_an_app_with_a_configuration_answers_100300(world: World, hooks: FakeHooks) -> None:
    # Given an app whose webhook configuration exists (made over REST or in the console)
    call(world, "set_callback", VALID["set_callback"])
    # When set_callback is called again with another URL
    error = refused(world, "set_callback", {**VALID["set_callback"], "Url": "https://example.com/other"})
    # Then Tencent's 100300 comes back and the configuration is unchanged (trtc.io 64420)
    assert error.code == 100300
    assert hooks.url == "https://example.com/hook"


def test_update_callback_replaces_an_existing_configuration(world: World, hooks: FakeHooks) -> None:
    # Given an app with a webhook configuration
    call(world, "set_callback", VALID["set_callback"])
    # When update_callback gives another URL and command list
    call(world, "update_callback", VALID["update_callback"])
    # Then delivery uses them, and get_callback reads them back
    assert (hooks.url, hooks.commands) == ("https://example.com/hook-2", ["Live.CallbackAfterDestroyRoom"])
    assert call(world, "get_callback", {}) == {
        "Url": "https://example.com/hook-2",
        "CallbackCommandList": ["Live.CallbackAfterDestroyRoom"],
    }


@pytest.mark.parametrize("command", ["update_callback", "get_callback"])
def test_without_a_configuration_update_and_get_callback_answer_100301(
    world: World, hooks: FakeHooks, command: str
) -> None:
    # Given an app without a webhook configuration
    # When it is updated or read
    error = refused(world, command, VALID[command])
    # Then Tencent's 100301 comes back (269/117540) and nothing was configured
    assert error.code == 100301
    assert hooks.url is None


def test_get_callback_token_before_any_token_answers_100302(world: World) -> None:
    # Given an app whose webhook token was never set
    # When it is read
    error = refused(world, "get_callback_token", {})
    # Then Tencent's 100302 comes back (trtc.io 69529)
    assert error.code == 100302


def test_get_muted_member_list_answers_every_mute_without_paging(world: World) -> None:
    # Given 120 accounts muted in room-1
    accounts = [f"viewer-{n:03}" for n in range(120)]
    call(world, "mute_member", {"RoomId": "room-1", "MemberList_Account": accounts, "MuteTime": 600})
    # When the muted list is asked for, even with the paging fields other commands have
    reply = call(world, "get_muted_member_list", {"RoomId": "room-1", "Offset": 100, "Limit": 1})
    # Then every mute comes back in one reply, and nothing hints at more pages (trtc.io 69894)
    assert [entry["Member_Account"] for entry in reply["MutedAccountList"]] == accounts
    assert set(reply) == {"MutedAccountList"}


def test_first_token_needs_both_fields(world: World) -> None:
    # Given no token set yet
    # When only the token is given
    error = refused(world, "set_callback_token", {"Token": "xxxxyyyy"})
    # Then IsTokenEnable is required
    assert (error.code, "IsTokenEnable" in error.info) == (INVALID_PARAMETER, True)


def test_later_token_changes_need_only_the_field_changed(world: World) -> None:
    # Given a token set and enabled
    call(world, "set_callback_token", {"Token": "xxxxyyyy", "IsTokenEnable": True})
    # When only IsTokenEnable is changed
    call(world, "set_callback_token", {"IsTokenEnable": False})
    # Then the token is kept and disabled
    assert call(world, "get_callback_token", {}) == {"Token": "xxxxyyyy", "IsTokenEnable": False}
