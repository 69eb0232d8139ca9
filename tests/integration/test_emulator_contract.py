"""LiveClient against the emulator over HTTP: every command, Tencent's domain codes, and the limits
LiveClient checks locally answered with the same code by the emulator."""

from __future__ import annotations

import pytest

from liveguard.tencent.client import LiveClient
from liveguard.tencent.commands import COMMANDS
from liveguard.tencent.commands.config import (
    GetCallback,
    GetCallbackToken,
    SetCallback,
    UpdateCallback,
)
from liveguard.tencent.commands.members import (
    BanMember,
    GetAdminList,
    GetBannedMemberList,
    GetMemberList,
    GetMutedMemberList,
    ModifyAdmin,
    MuteMember,
    UnbanMember,
)
from liveguard.tencent.commands.messages import SendCustomMsg, SendTextMsg
from liveguard.tencent.commands.metadata import DelRoomMetadata, GetRoomMetadata, SetRoomMetadata
from liveguard.tencent.commands.rooms import CreateRoom, DestroyRoom, GetRoomInfo, GetRoomList, UpdateRoomInfo
from liveguard.tencent.commands.seats import (
    GetSeatList,
    KickUserOffSeat,
    LockSeat,
    PickUserOnSeat,
    SwitchSeat,
)
from liveguard.tencent.commands.stats import GetRoomStatistic, GetRoomStats
from liveguard.tencent.errors import ErrorCategory, TencentApiError
from liveguard_local.emulator.server import Emulator, EmulatorConfig

from .conftest import ADMIN, KEY, SDK_APP_ID

CHAT = "group_open_http_svc"


def create(client, room_id: str = "r1", owner: str = "host") -> None:
    client.call(CreateRoom.model_validate({"RoomInfo": {"RoomId": room_id, "Owner_Account": owner}}))


def code_of(call) -> int | None:
    with pytest.raises(TencentApiError) as raised:
        call()
    return raised.value.code


def test_every_command_works_end_to_end_through_liveclient(client, app_user, emulator, http, receiver):
    # Given a room with two viewers, made through LiveClient and the app
    create(client)
    assert client.call(GetRoomInfo(room_id="r1")).room_info.owner_account == "host"
    client.call(UpdateRoomInfo.model_validate({"RoomInfo": {"RoomId": "r1", "RoomName": "Chess"}}))
    assert [room.room_id for room in client.call(GetRoomList()).room_list] == ["r1"]
    for viewer in ("bob", "carol"):
        assert app_user("enter_room", viewer, RoomId="r1")["ErrorCode"] == 0

    # metadata
    client.call(SetRoomMetadata.of("r1", {"a": "1", "b": "2"}))
    client.call(DelRoomMetadata(room_id="r1", keys=["a"]))
    assert client.call(GetRoomMetadata(room_id="r1")).as_dict() == {"b": "2"}

    # members, bans, mutes, admins
    members = client.call(GetMemberList(room_id="r1"))
    assert {m.member_account for m in members.member_list} == {"bob", "carol"}
    client.call(BanMember(room_id="r1", member_list_account=["carol"], duration=60, reason="spam"))
    banned = client.call(GetBannedMemberList(room_id="r1")).banned_account_list
    assert [b.member_account for b in banned] == ["carol"]
    client.call(UnbanMember(room_id="r1", member_list_account=["carol"]))
    client.call(MuteMember(room_id="r1", member_list_account=["bob"], mute_time=60))
    assert [m.member_account for m in client.call(GetMutedMemberList(room_id="r1")).muted_account_list] == [
        "bob"
    ]
    client.call(MuteMember(room_id="r1", member_list_account=["bob"], mute_time=0))
    client.call(ModifyAdmin(room_id="r1", admin_account=["bob"], op_type="add"))
    assert client.call(GetAdminList(room_id="r1")).admin_account == ["bob"]
    client.call(ModifyAdmin(room_id="r1", admin_account=["bob"], op_type="delete"))

    # messages and statistics
    sent = client.call(SendTextMsg(room_id="r1", sender_account="bob", text_content="hello"))
    assert sent.msg_seq is not None
    assert not sent.dropped
    client.call(
        SendCustomMsg(room_id="r1", sender_account="administrator", business_id="violation_alert", data="{}")
    )
    client.execute(
        "send_group_msg",
        {
            "GroupId": "r1",
            "From_Account": "carol",
            "Random": 7,
            "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "approved"}}],
        },
    )
    assert client.call(GetRoomStats(room_id="r1")).total_viewers == 2
    assert client.call(GetRoomStatistic(room_id="r1")).total_msg_count == 3

    # seats
    client.call(PickUserOnSeat(room_id="r1", member_account="bob", index=1))
    client.call(SwitchSeat(room_id="r1", member_account="bob", to_index=2))
    seats = client.call(GetSeatList(room_id="r1")).seat_list
    assert [seat.index for seat in seats if seat.member_account == "bob"] == [2]
    client.call(KickUserOffSeat(room_id="r1", member_account="bob"))
    client.call(LockSeat(room_id="r1", index=3, forbid_taken=True))

    # robots and mixing
    client.execute("add_robot", {"RoomId": "r1", "RobotList_Account": ["robot1"]})
    assert client.execute("get_robot", {"RoomId": "r1"}).model_dump(by_alias=True)["RobotList_Account"] == [
        "robot1"
    ]
    client.execute("del_robot", {"RoomId": "r1", "RobotList_Account": ["robot1"]})
    client.execute("resume_mcu_task", {"RoomId": "r1"})

    # the gift catalogue, and a gift sent through the before-callback
    client.execute("add_gift", {"GiftId": "rose", "Coins": 10, "DefaultName": "Rose"})
    client.execute("edit_gift", {"GiftId": "rose", "Coins": 20})
    assert client.execute("get_gift", {"GiftId": "rose"}).model_dump(by_alias=True)["GiftInfo"]["Coins"] == 20
    client.execute("set_gift_language", {"GiftId": "rose", "Language": "en", "Name": "Rose"})
    client.execute("get_gift_language", {"GiftId": "rose", "Language": "en"})
    client.execute("del_gift_language", {"GiftId": "rose", "Language": "en"})
    client.execute("add_gift_category", {"CategoryId": "hot", "DefaultName": "Popular"})
    client.execute("edit_gift_category", {"CategoryId": "hot", "DefaultName": "Hot"})
    client.execute("get_gift_category", {"CategoryId": "hot"})
    client.execute(
        "set_gift_category_language", {"CategoryId": "hot", "Language": "en", "CategoryName": "Hot"}
    )
    client.execute("get_gift_category_language", {"CategoryId": "hot", "Language": "en"})
    client.execute("del_gift_category_language", {"CategoryId": "hot", "Language": "en"})
    client.execute("add_gift_category_relations", {"CategoryId": "hot", "GiftIdList": ["rose"]})
    catalogue = client.execute("get_gift_info_list", {}).model_dump(by_alias=True)
    assert [gift["GiftId"] for gift in catalogue["GiftList"]] == ["rose"]
    client.execute("del_gift_category_relations", {"CategoryId": "hot", "GiftIdList": ["rose"]})
    client.execute(
        "send_gift",
        {
            "RoomId": "r1",
            "GiftId": "rose",
            "Count": 2,
            "From_Account": "bob",
            "ReceiverList_Account": ["host"],
        },
    )
    assert (
        client.execute("get_gift_count", {"RoomId": "r1", "From_Account": "bob"}).model_dump(by_alias=True)[
            "TotalCoins"
        ]
        == 40
    )
    client.execute("del_gift_category", {"CategoryId": "hot"})
    client.execute("del_gift", {"GiftId": "rose"})

    # webhook configuration (the emulator starts configured, as an app set up in the console)
    assert client.execute("get_callback", {}).model_dump()["url"] == receiver.url
    client.execute(
        "update_callback", {"Url": receiver.url, "CallbackCommandList": ["Live.CallbackAfterDestroyRoom"]}
    )
    assert (
        code_of(lambda: client.execute("set_callback", {"Url": receiver.url, "CallbackCommandList": []}))
        == 100300
    )
    client.execute("set_callback_token", {"Token": "rotated-token", "IsTokenEnable": False})
    token = client.execute("get_callback_token", {}).model_dump()
    assert token["token"].get_secret_value() == "rotated-token"
    assert token["is_token_enable"] is False

    # When the room is destroyed
    statistic = client.call(DestroyRoom(room_id="r1")).statistic
    # Then its statistics add up, and every command of LiveClient was answered OK by the emulator
    assert (statistic.total_viewers, statistic.total_gifts_sent, statistic.total_gift_coins) == (2, 2, 40)
    calls = http.get(f"{emulator.base_url}/emulator/v1/calls").json()["calls"]
    # (set_callback only creates: its success is shown on a fresh app below)
    assert {call["command"] for call in calls if call["code"] == 0} == set(COMMANDS) - {"set_callback"}


def test_the_callback_configuration_is_created_once_then_updated_over_http(http):
    # Given an app with no webhook configuration and no token
    config = EmulatorConfig(sdk_app_id=SDK_APP_ID, secret_key=KEY, admin=ADMIN)
    with Emulator(config) as fresh:
        client = LiveClient(
            sdk_app_id=SDK_APP_ID, secret_key=KEY, admin_identifier=ADMIN, base_url=fresh.base_url, http=http
        )
        # Then reading either answers Tencent's "none yet" codes, and update_callback has nothing to update
        assert code_of(lambda: client.call(GetCallback())) == 100301
        assert code_of(lambda: client.call(GetCallbackToken())) == 100302
        body = {"url": "https://example.com/cb", "callback_command_list": ["Live.CallbackAfterCreateRoom"]}
        assert code_of(lambda: client.call(UpdateCallback(**body))) == 100301
        # When set_callback creates it
        client.call(SetCallback(**body))
        # Then a second set_callback answers 100300, update_callback changes it, get_callback reads it
        assert code_of(lambda: client.call(SetCallback(**body))) == 100300
        client.call(UpdateCallback(url="https://example.com/cb2", callback_command_list=[]))
        current = client.call(GetCallback())
        assert (current.url, current.callback_command_list) == ("https://example.com/cb2", [])


def test_an_unknown_room_is_100004_and_gone_for_destroy(client):
    assert code_of(lambda: client.call(GetRoomInfo(room_id="nope"))) == 100004
    with pytest.raises(TencentApiError) as raised:
        client.call(DestroyRoom(room_id="nope"))
    assert raised.value.category is ErrorCategory.GONE


def test_creating_an_existing_room_is_100003(client):
    create(client)
    assert code_of(lambda: create(client)) == 100003


def test_ten_keys_is_the_rooms_total_not_the_calls(client):
    # Given 8 keys in the room
    create(client)
    client.call(SetRoomMetadata.of("r1", {f"k{i}": "v" for i in range(8)}))
    # When 3 more are set in a call LiveClient finds fine on its own
    # Then Tencent (the emulator) refuses it: the room would hold 11
    assert code_of(lambda: client.call(SetRoomMetadata.of("r1", {"x": "1", "y": "2", "z": "3"}))) == 100500
    # and overwriting existing keys is still fine
    client.call(SetRoomMetadata.of("r1", {"k0": "new", "x": "1", "y": "2"}))


def test_sixteen_kb_is_the_rooms_total(client):
    create(client)
    client.call(SetRoomMetadata.of("r1", {f"k{i}": "v" * 2048 for i in range(7)}))
    assert code_of(lambda: client.call(SetRoomMetadata.of("r1", {"k7": "v" * 2048, "k8": "v"}))) == 100502


def test_deleting_only_unknown_keys_is_100503(client):
    create(client)
    client.call(SetRoomMetadata.of("r1", {"a": "1"}))
    assert code_of(lambda: client.call(DelRoomMetadata(room_id="r1", keys=["zzz"]))) == 100503


def test_a_sixth_admin_is_100020(client):
    create(client)
    client.call(ModifyAdmin(room_id="r1", admin_account=["a1", "a2", "a3"], op_type="add"))
    assert (
        code_of(
            lambda: client.call(ModifyAdmin(room_id="r1", admin_account=["a4", "a5", "a6"], op_type="add"))
        )
        == 100020
    )


def test_a_muted_user_cannot_comment_until_the_mute_ends(client, app_user, emulator, http):
    create(client)
    app_user("enter_room", "bob", RoomId="r1")
    client.call(MuteMember(room_id="r1", member_list_account=["bob"], mute_time=600))
    assert app_user("send_text_msg", "bob", RoomId="r1", Text="hi")["ErrorCode"] == 10017
    http.post(f"{emulator.base_url}/emulator/v1/clock", json={"advance": 601})
    assert app_user("send_text_msg", "bob", RoomId="r1", Text="hi")["Response"]["outcome"] == "delivered"


def test_a_banned_user_cannot_enter_until_banned_until(client, app_user, emulator, http):
    create(client)
    app_user("enter_room", "host", RoomId="r1")  # (an empty room would be auto-destroyed meanwhile)
    app_user("enter_room", "carol", RoomId="r1")
    client.call(BanMember(room_id="r1", member_list_account=["carol"], duration=3600))
    assert "carol" not in {m.member_account for m in client.call(GetMemberList(room_id="r1")).member_list}
    assert app_user("enter_room", "carol", RoomId="r1")["ErrorCode"] == 100013
    http.post(f"{emulator.base_url}/emulator/v1/clock", json={"advance": 3601})
    assert app_user("enter_room", "carol", RoomId="r1")["ErrorCode"] == 0


@pytest.mark.parametrize(
    ("command", "body"),
    [
        (
            "set_room_metadata",
            {"RoomId": "r1", "Metadata": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]},
        ),
        ("set_room_metadata", {"RoomId": "r1", "Metadata": [{"Key": "k", "Value": "v" * 2049}]}),
        (
            "set_room_metadata",
            {"RoomId": "r1", "Metadata": [{"Key": f"k{i}", "Value": "v" * 2048} for i in range(9)]},
        ),
        ("set_room_metadata", {"RoomId": "r1", "Metadata": [{"Key": "k" * 51, "Value": "v"}]}),
        ("destroy_room", {"RoomId": "r" * 49}),
        ("ban_member", {"RoomId": "r1", "MemberList_Account": [f"u{i}" for i in range(21)], "Duration": 60}),
        ("modify_admin", {"RoomId": "r1", "Admin_Account": [f"a{i}" for i in range(6)], "OpType": "add"}),
        ("get_room_list", {"Next": "", "Count": 21}),
    ],
    ids=["11-keys", "value-2049", "values-18k", "key-51", "roomid-49", "ban-21", "admins-6", "count-21"],
)
def test_what_liveclient_refuses_locally_the_emulator_refuses_with_the_same_code(
    client, raw_call, command, body
):
    # Given a room, and a body LiveClient will not send
    create(client)
    with pytest.raises(TencentApiError) as raised:
        client.execute(command, body)
    assert raised.value.local
    # When the same body reaches the emulator directly
    reply = raw_call(command, body)
    # Then Tencent's side answers the same code
    assert reply["ErrorCode"] == raised.value.code


# --- Chat's send_group_msg (the re-send of an approved comment) -------------------------------------


def test_send_group_msg_delivers_as_from_account_and_fires_the_callbacks_as_tencent_does(
    client, app_user, emulator, http, receiver
):
    # Given a room, and a viewer's comment to re-send with a mark in its CloudCustomData
    create(client)
    app_user("enter_room", "host", RoomId="r1")
    body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "held, then approved"}}]
    # When the admin sends it through Chat's REST API as the viewer (not in the room)
    sent = client.execute(
        "send_group_msg",
        {"GroupId": "r1", "From_Account": "bob", "Random": 42, "MsgBody": body, "CloudCustomData": '{"m":1}'},
    )
    # Then the reply carries MsgSeq and MsgTime beside the envelope (Chat's shape), read by LiveClient
    assert sent.model_dump()["msg_seq"] is not None
    # And the room shows it delivered as bob, with its CloudCustomData
    messages = http.get(f"{emulator.base_url}/emulator/v1/rooms/r1").json()["Messages"]
    assert [(m["From_Account"], m["MsgBody"], m["CloudCustomData"], m["Outcome"]) for m in messages] == [
        ("bob", body, '{"m":1}', "delivered")
    ]
    # And the before- and after-callbacks name bob as From_Account and the admin as Operator_Account
    before = receiver.wait_for("Group.CallbackBeforeSendMsg")[0].body
    after = receiver.wait_for("Group.CallbackAfterSendMsg")[0].body
    for callback in (before, after):
        assert (callback["From_Account"], callback["Operator_Account"]) == ("bob", ADMIN)
        assert (callback["GroupId"], callback["MsgBody"], callback["CloudCustomData"]) == (
            "r1",
            body,
            '{"m":1}',
        )


def test_send_group_msg_answers_chats_codes_for_an_unknown_group_and_a_bad_body(raw_call, client):
    # Given no group r9, and a room r1
    create(client)
    ok_body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x"}}]
    # When send_group_msg names r9, or gives no Random, or a MsgBody element without MsgContent
    unknown = raw_call("send_group_msg", {"GroupId": "r9", "Random": 1, "MsgBody": ok_body}, service=CHAT)
    no_random = raw_call("send_group_msg", {"GroupId": "r1", "MsgBody": ok_body}, service=CHAT)
    bad_body = raw_call(
        "send_group_msg",
        {"GroupId": "r1", "Random": 1, "MsgBody": [{"MsgType": "TIMTextElem"}]},
        service=CHAT,
    )
    # Then Chat's codes: 10010 no such group, 10004 invalid parameter
    assert (unknown["ErrorCode"], no_random["ErrorCode"], bad_body["ErrorCode"]) == (10010, 10004, 10004)


def test_a_send_group_msg_the_callback_rejects_fails_with_the_callbacks_code(client, receiver):
    # Given a room whose before-send callback answers 10100 with its words
    create(client)
    receiver.answer = lambda received: {
        "ActionStatus": "OK",
        "ErrorCode": 10100,
        "ErrorInfo": "awaits review",
    }
    body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}}]
    # When the admin sends a message as bob
    with pytest.raises(TencentApiError) as raised:
        client.execute(
            "send_group_msg", {"GroupId": "r1", "From_Account": "bob", "Random": 1, "MsgBody": body}
        )
    # Then the call fails with the callback's code and words
    assert (raised.value.code, raised.value.info) == (10100, "awaits review")


def test_what_liveclient_refuses_as_over_8_kb_the_emulator_refuses_with_80002(client, raw_call):
    # Given a room and a message over 8 KB
    create(client)
    body = {
        "GroupId": "r1",
        "Random": 1,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "x" * 9000}}],
    }
    # When LiveClient is asked to send it, and when it reaches the emulator anyway
    with pytest.raises(TencentApiError) as raised:
        client.execute("send_group_msg", body)
    reply = raw_call("send_group_msg", body, service=CHAT)
    # Then both answer Tencent's 80002
    assert (raised.value.local, raised.value.code, reply["ErrorCode"]) == (True, 80002, 80002)
