"""Callback models: every documented body parses, Tencent's inconsistencies are tolerated, malformed
bodies are refused naming the field (and never echoing the input), unknown commands pass through."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from liveguard.webhooks.models import (
    BEFORE_COMMANDS,
    BODY,
    KNOWN_COMMANDS,
    AdminsModified,
    BattleCreated,
    BattleEnded,
    BattleStarted,
    Callback,
    CallbackInvalid,
    CallbackModel,
    DestroyCause,
    FollowAdded,
    FollowDeleted,
    GiftToSend,
    KnownCallback,
    MemberEventCause,
    MemberStateChanged,
    MessageSent,
    MessageToSend,
    ModerationResult,
    OwnerChanged,
    RoomCountNearQuota,
    RoomCreated,
    RoomDestroyed,
    RoomInfoUpdated,
    RoomMetadataDeleted,
    RoomMetadataSet,
    SeatsChanged,
    UnknownCallback,
    build_validators,
    parse_callback,
)

EVENTS = Path(__file__).resolve().parents[2] / "events" / "callbacks"

# --- the reference's examples ----------------------------------------------------------------------
# Copied verbatim from tencent-live-reference.md §2.2, §6.1. Where the reference gives only a field
# list (DelMetadata, battles, AfterSendMsg, follows, ContentCallback.ResultNotify) the body is built
# from that list, marked "(built)". The threshold example's "CallbackCommand":"..." is filled in.

EXAMPLES: dict[str, str] = {
    "Live.CallbackAfterCreateRoom": """
{"CallbackCommand":"Live.CallbackAfterCreateRoom","Operator_Account":"admin",
 "RoomInfo":{"RoomId":"tandy-test-rest","RoomName":"tandy-test-rest","RoomType":"Live",
  "Owner_Account":"user3","MaxMemberCount":300,"IsMessageDisabled":true,"CustomInfo":"custom123",
  "IsSeatEnabled":true,"TakeSeatMode":"ApplyToTake","MaxSeatCount":16,"CreateTime":1703589922,
  "IsPublicVisible":true,"CoverURL":"cover url","Category":[1,2]}}
""",
    "Live.CallbackAfterDestroyRoom": """
{"CallbackCommand":"Live.CallbackAfterDestroyRoom","Operator_Account":"admin","RoomId":"tandy-test-rest",
 "EventType":"DestroyByUser","EventTime":1703589922780,
 "RoomInfo":{"RoomName":"live name","RoomType":"Live","Owner_Account":144115216631667826,
  "IsSeatEnabled":true,"TakeSeatMode":"FreeToTake","MaxMemberCount":400,"MaxSeatCount":4,
  "Category":[1,2,3],"CustomInfo":"","IsMessageDisabled":false,"CoverURL":"cover url","ActivityStatus":0,
  "IsPublicVisible":false,"ViewCount":0,"BackgroundURL":"background url","IsUnlimitedRoomEnabled":true},
 "Statistic":{"TotalViewers":0,"TotalGiftsSent":0,"TotalGiftCoins":0,"TotalUniqueGiftSenders":0,"TotalLikesReceived":0}}
""",
    "Live.CallbackAfterUpdateRoomInfo": """
{"CallbackCommand":"Live.CallbackAfterUpdateRoomInfo","Operator_Account":"bob",
 "RoomInfo":{"RoomId":"live-room","RoomName":"rname-123","MaxMemberCount":300,"IsMessageDisabled":false,
  "CoverURL":"https://xxxx.png","Category":[1,2,3],"ActivityStatus":1,"IsPublicVisible":false,
  "TakeSeatMode":"ApplyToTake","CustomInfo":"custom123"},
 "EventTime":1670574414123}
""",
    "Live.CallbackAfterSetMetadata": """
{"CallbackCommand":"Live.CallbackAfterSetMetadata","Operator_Account":"brennanli","RoomId":"live-room1111",
 "Metadata":[{"Key":"key1","Value":"value1"},{"Key":"key2","Value":"value2"}],"EventTime":1739965885831}
""",
    # (built) "the DelMetadata counterpart: Keys:[...] instead of Metadata"
    "Live.CallbackAfterDelMetadata": """
{"CallbackCommand":"Live.CallbackAfterDelMetadata","Operator_Account":"brennanli","RoomId":"live-room1111",
 "Keys":["key1","key2"],"EventTime":1739965885831}
""",
    "Live.CallbackAfterCreateRoomReachingThreshold": """
{"CallbackCommand":"Live.CallbackAfterCreateRoomReachingThreshold","Operator_Account":"brennanli","EventTime":1739966441121,"CurRoomCount":400,"MaxRoomCount":500}
""",
    "Live.CallbackAfterMemberStateChanged": """
{"CallbackCommand":"Live.CallbackAfterMemberStateChanged","RoomId":"room_id","EventType":"Online",
 "EventCause":"Enter","MemberList":[{"Member_Account":"jared"},{"Member_Account":"tommy"}],"EventTime":1703589922780}
""",
    "Live.CallbackAfterChangeOwner": """
{"CallbackCommand":"Live.CallbackAfterChangeOwner","RoomId":"room_id","EventTime":1703589922780,"Operator_Account":"admin","CurrentOwner_Account":"user2","OriginalOwner_Account":"user1"}
""",
    "Live.CallbackAfterModifyAdmin": """
{"CallbackCommand":"Live.CallbackAfterModifyAdmin","RoomId":"room_id","EventTime":1703589922780,"Operator_Account":"admin","Admin_Account":["user1","user2"],"opType":"add"}
""",
    "Mic.CallbackAfterSeatInfoChanged": """
{"CallbackCommand":"Mic.CallbackAfterSeatInfoChanged","RoomId":"rid-123",
 "SeatList":[{"Index":1,"Member_Account":144115233775727695,"IsTakenDisabled":false,"IsVideoDisabled":false,"IsAudioDisabled":false}],
 "EventTime":1670574414123}
""",
    # (built) {CallbackCommand, Operator_Account, BattleId, FromRoomId, ToRoomIdList[], Timeout (ms),
    #  Duration (ms), NeedResponse (bool), ExtensionInfo, EventTime}
    "Live.CallbackAfterCreateBattle": """
{"CallbackCommand":"Live.CallbackAfterCreateBattle","Operator_Account":"host1","BattleId":"battle-1",
 "FromRoomId":"room-a","ToRoomIdList":["room-b","room-c"],"Timeout":10000,"Duration":300000,
 "NeedResponse":true,"ExtensionInfo":"","EventTime":1703589922780}
""",
    # (built) {CallbackCommand, BattleId, Duration, CreateTime (s), StartTime (s),
    #  FromRoomInfo{RoomId, Owner_Account}, ToRoomList[{RoomId, Owner_Account}], EventTime}
    "Live.CallbackAfterStartBattle": """
{"CallbackCommand":"Live.CallbackAfterStartBattle","BattleId":"battle-1","Duration":300000,
 "CreateTime":1703589922,"StartTime":1703589930,"FromRoomInfo":{"RoomId":"room-a","Owner_Account":"host1"},
 "ToRoomList":[{"RoomId":"room-b","Owner_Account":"host2"}],"EventTime":1703589930780}
""",
    # (built) {CallbackCommand, BattleId, Duration, CreateTime, StartTime, EndTime, OpType,
    #  FromRoomInfo{RoomId, Score, Owner_Account}, ToRoomList[{RoomId, Score, Owner_Account}], EventTime}
    "Live.CallbackAfterEndBattle": """
{"CallbackCommand":"Live.CallbackAfterEndBattle","BattleId":"battle-1","Duration":300000,
 "CreateTime":1703589922,"StartTime":1703589930,"EndTime":1703590230,"OpType":0,
 "FromRoomInfo":{"RoomId":"room-a","Score":120,"Owner_Account":"host1"},
 "ToRoomList":[{"RoomId":"room-b","Score":80,"Owner_Account":"host2"}],"EventTime":1703590230780}
""",
    "Live.CallbackBeforeSendGift": """
{"CallbackCommand":"Live.CallbackBeforeSendGift","Operator_Account":"brennanli","RoomId":"room_id",
 "GiftWater":{"From_Account":"from","To_Account":["to1"],"Time":1703589922,"GiftId":"gift1","Count":1,"Coins":1000}}
""",
    "Group.CallbackBeforeSendMsg": """
{"CallbackCommand":"Group.CallbackBeforeSendMsg","GroupId":"@TGS#2J4SZEAEL","Type":"Live",
 "From_Account":"jared","Operator_Account":"admin","Random":123456,
 "MsgId":"144115233406643804-1727580296-4026038328",
 "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],
 "CloudCustomData":"your cloud custom data","EventTime":"1670574414123"}
""",
    # (built) "same fields plus MsgSeq and MsgTime (server time, seconds)"
    "Group.CallbackAfterSendMsg": """
{"CallbackCommand":"Group.CallbackAfterSendMsg","GroupId":"@TGS#2J4SZEAEL","Type":"Live",
 "From_Account":"jared","Operator_Account":"admin","Random":123456,
 "MsgId":"144115233406643804-1727580296-4026038328",
 "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"red packet"}}],
 "CloudCustomData":"your cloud custom data","EventTime":"1670574414123","MsgSeq":42,"MsgTime":1670574414}
""",
    # (built) {CallbackCommand, From_Account, FollowList:[{To_Account}], EventTime}
    "Follow.CallbackAfterFollowAdd": """
{"CallbackCommand":"Follow.CallbackAfterFollowAdd","From_Account":"fan1","FollowList":[{"To_Account":"host1"}],"EventTime":1703589922780}
""",
    # trtc.io/document/70356: a top-level To_Account array, no FollowList
    "Follow.CallbackAfterFollowDelete": """
{"CallbackCommand":"Follow.CallbackAfterFollowDelete","From_Account":"fan1","To_Account":["host1","host2"],"EventTime":1703589922780}
""",
    # (built) from the §6.3 field list
    "ContentCallback.ResultNotify": """
{"CallbackCommand":"ContentCallback.ResultNotify","Scene":"Group","SdkAppId":1400000001,"From_Account":"jared",
 "ContactItem":{"ContactType":2,"ToGroupId":"@TGS#2J4SZEAEL"},"ContentType":"Text",
 "TextContent":["red packet"],
 "MsgID":"144115233406643804-1727580296-4026038328","CtxcbResult":1,"CtxcbRequestId":"req-1",
 "CtxcbKeywords":["red packet"],"CtxcbSuggestion":"Review","CtxcbLabel":"Sexy","CtxcbSubLabel":"",
 "CtxcbSubLabelDesc":"","CtxcbLibName":"","CloudCustomData":""}
""",
}

# command: (model, room_key, operator, event_time_ms)
EXPECTED: dict[str, tuple[type[CallbackModel], str | None, str | None, int | None]] = {
    "Live.CallbackAfterCreateRoom": (RoomCreated, "tandy-test-rest", "admin", None),
    "Live.CallbackAfterDestroyRoom": (RoomDestroyed, "tandy-test-rest", "admin", 1703589922780),
    "Live.CallbackAfterUpdateRoomInfo": (RoomInfoUpdated, "live-room", "bob", 1670574414123),
    "Live.CallbackAfterSetMetadata": (RoomMetadataSet, "live-room1111", "brennanli", 1739965885831),
    "Live.CallbackAfterDelMetadata": (RoomMetadataDeleted, "live-room1111", "brennanli", 1739965885831),
    "Live.CallbackAfterCreateRoomReachingThreshold": (RoomCountNearQuota, None, "brennanli", 1739966441121),
    "Live.CallbackAfterMemberStateChanged": (MemberStateChanged, "room_id", None, 1703589922780),
    "Live.CallbackAfterChangeOwner": (OwnerChanged, "room_id", "admin", 1703589922780),
    "Live.CallbackAfterModifyAdmin": (AdminsModified, "room_id", "admin", 1703589922780),
    "Mic.CallbackAfterSeatInfoChanged": (SeatsChanged, "rid-123", None, 1670574414123),
    "Live.CallbackAfterCreateBattle": (BattleCreated, "room-a", "host1", 1703589922780),
    "Live.CallbackAfterStartBattle": (BattleStarted, "room-a", None, 1703589930780),
    "Live.CallbackAfterEndBattle": (BattleEnded, "room-a", None, 1703590230780),
    "Live.CallbackBeforeSendGift": (GiftToSend, "room_id", "brennanli", None),
    "Group.CallbackBeforeSendMsg": (MessageToSend, "@TGS#2J4SZEAEL", "admin", 1670574414123),
    "Group.CallbackAfterSendMsg": (MessageSent, "@TGS#2J4SZEAEL", "admin", 1670574414123),
    "Follow.CallbackAfterFollowAdd": (FollowAdded, None, None, 1703589922780),
    "Follow.CallbackAfterFollowDelete": (FollowDeleted, None, None, 1703589922780),
    "ContentCallback.ResultNotify": (ModerationResult, "@TGS#2J4SZEAEL", None, None),
}


def example(command: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(EXAMPLES[command])
    return body


def refusal(command: str, body: object) -> CallbackInvalid:
    with pytest.raises(CallbackInvalid) as caught:
        parse_callback(command, body)
    return caught.value


def changed(body: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """A deep copy of body with the value at a dotted path replaced (or removed, for DELETE)."""
    result = copy.deepcopy(body)
    *parents, last = path.split(".")
    node: Any = result
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    key: Any = int(last) if isinstance(node, list) else last
    if value is DELETE:
        del node[key]
    else:
        node[key] = value
    return result


DELETE = object()


# --- every documented callback ---------------------------------------------------------------------


def test_every_known_command_has_a_reference_example() -> None:
    # Given the models and the examples
    # Then each command is modelled and has its example, and the before-callbacks are among them
    assert set(EXAMPLES) == KNOWN_COMMANDS == set(EXPECTED)
    assert BEFORE_COMMANDS <= KNOWN_COMMANDS


@pytest.mark.parametrize("command", sorted(EXAMPLES))
def test_reference_example_parses_into_its_model(command: str) -> None:
    # Given the reference's example body for a command
    model, room_key, operator, event_time_ms = EXPECTED[command]

    # When it is parsed with the same command in the query
    callback = parse_callback(command, example(command))

    # Then it is that command's model, with its room, operator and time read right
    assert type(callback) is model
    assert callback.callback_command == command
    assert (callback.room_key, callback.operator, callback.event_time_ms) == (
        room_key,
        operator,
        event_time_ms,
    )


@pytest.mark.parametrize("command", sorted(EXAMPLES))
def test_known_callback_union_picks_the_model_by_callback_command(command: str) -> None:
    # Given the discriminated union as a pydantic type
    adapter: TypeAdapter[Any] = TypeAdapter(KnownCallback)

    # When an example is validated through it
    callback = adapter.validate_python(example(command))

    # Then the member whose Literal is the command is chosen
    assert type(callback) is EXPECTED[command][0]


@pytest.mark.parametrize("path", sorted(EVENTS.glob("*.json")), ids=lambda path: path.stem)
def test_every_sample_event_body_parses_into_its_model(path: Path) -> None:
    # Given a sample API Gateway event from events/callbacks
    event = json.loads(path.read_text())
    command = event["queryStringParameters"]["CallbackCommand"]

    # When its body is parsed
    callback = parse_callback(command, json.loads(event["body"]))

    # Then it is the command's documented model
    assert type(callback) is EXPECTED[command][0]


def test_group_message_texts_are_the_text_elements_in_order() -> None:
    # Given a message mixing text and custom elements
    body = example("Group.CallbackBeforeSendMsg")
    body["MsgBody"] = [
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "hello"}},
        {"MsgType": "TIMCustomElem", "MsgContent": {"Data": "{}", "Desc": "gift"}},
        {"MsgType": "TIMTextElem", "MsgContent": {"Text": "world"}},
    ]

    # When it is parsed
    callback = parse_callback("Group.CallbackBeforeSendMsg", body)

    # Then texts() holds the text elements' Text only
    assert isinstance(callback, MessageToSend)
    assert callback.texts() == ["hello", "world"]


def test_after_send_msg_keeps_seq_and_time() -> None:
    callback = parse_callback("Group.CallbackAfterSendMsg", example("Group.CallbackAfterSendMsg"))

    assert isinstance(callback, MessageSent)
    assert (callback.msg_seq, callback.msg_time, callback.texts()) == (42, 1670574414, ["red packet"])


def test_gift_coins_total_is_count_times_unit_coins() -> None:
    # Given a gift of 3, each worth 1000 coins (doc 72210: Coins is the value of one gift)
    body = changed(example("Live.CallbackBeforeSendGift"), "GiftWater.Count", 3)

    # When it is parsed
    callback = parse_callback("Live.CallbackBeforeSendGift", body)

    # Then the total is 3000
    assert isinstance(callback, GiftToSend)
    assert callback.coins_total == 3000


def test_metadata_callbacks_read_as_dicts() -> None:
    # Given the set and delete examples
    set_ = parse_callback("Live.CallbackAfterSetMetadata", example("Live.CallbackAfterSetMetadata"))
    deleted = parse_callback("Live.CallbackAfterDelMetadata", example("Live.CallbackAfterDelMetadata"))

    # Then set gives keys to values and delete gives keys to None
    assert isinstance(set_, RoomMetadataSet)
    assert isinstance(deleted, RoomMetadataDeleted)
    assert set_.as_dict() == {"key1": "value1", "key2": "value2"}
    assert deleted.as_dict() == {"key1": None, "key2": None}


def test_models_are_frozen() -> None:
    callback = parse_callback("Live.CallbackAfterChangeOwner", example("Live.CallbackAfterChangeOwner"))

    with pytest.raises(ValidationError):
        callback.room_id = "other"  # type: ignore[misc, union-attr]


def test_build_validators_makes_every_model_ready() -> None:
    # Given every validator built up front
    build_validators()

    # Then every example still parses
    for command in EXAMPLES:
        assert parse_callback(command, example(command)).callback_command == command


# --- tolerance -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "path", "sent", "attribute", "read"),
    [
        ("Live.CallbackAfterDestroyRoom", "EventTime", "1703589922780", "event_time_ms", 1703589922780),
        ("Live.CallbackAfterSetMetadata", "EventTime", " 1739965885831 ", "event_time_ms", 1739965885831),
        ("Group.CallbackAfterSendMsg", "MsgTime", "1670574414", "msg_time", 1670574414),
        ("Group.CallbackAfterSendMsg", "MsgSeq", "42", "msg_seq", 42),
        ("Live.CallbackAfterCreateRoomReachingThreshold", "CurRoomCount", "400", "cur_room_count", 400),
        ("Live.CallbackAfterEndBattle", "OpType", "2", "op_type", 2),
        ("Live.CallbackAfterChangeOwner", "Operator_Account", 144115216631667826,
         "operator", "144115216631667826"),
        ("Live.CallbackAfterChangeOwner", "CurrentOwner_Account", 7, "current_owner_account", "7"),
        ("Live.CallbackAfterCreateRoom", "RoomInfo.Owner_Account", 3, "room_info.owner_account", "3"),
        ("Live.CallbackAfterDestroyRoom", "RoomInfo.Owner_Account", 144115216631667826,
         "room_info.owner_account", "144115216631667826"),
        ("Live.CallbackAfterMemberStateChanged", "MemberList.0.Member_Account", 12,
         "accounts", ["12", "tommy"]),
        ("Mic.CallbackAfterSeatInfoChanged", "SeatList.0.Index", "1", "seat_list.0.index", 1),
        ("Mic.CallbackAfterSeatInfoChanged", "SeatList.0.Member_Account", 144115233775727695,
         "seat_list.0.member_account", "144115233775727695"),
        ("Live.CallbackBeforeSendGift", "GiftWater.Count", "2", "coins_total", 2000),
        ("Live.CallbackBeforeSendGift", "GiftWater.Coins", "5", "coins_total", 5),
        ("Live.CallbackBeforeSendGift", "GiftWater.From_Account", 99, "gift_water.from_account", "99"),
        ("Live.CallbackBeforeSendGift", "GiftWater.To_Account", [1, "b"],
         "gift_water.to_account", ["1", "b"]),
        ("Live.CallbackBeforeSendGift", "GiftWater.GiftId", 17, "gift_water.gift_id", "17"),
        ("Live.CallbackAfterModifyAdmin", "Admin_Account", [1, "user2"], "admin_account", ["1", "user2"]),
        ("Group.CallbackBeforeSendMsg", "From_Account", 5, "from_account", "5"),
        ("Group.CallbackBeforeSendMsg", "Random", "123456", "random", 123456),
        ("Live.CallbackAfterCreateRoom", "RoomInfo.TakeSeatMode", 1, "room_info.take_seat_mode", "1"),
    ],
)  # fmt: skip
def test_numbers_as_strings_and_accounts_as_numbers_are_accepted(
    command: str, path: str, sent: object, attribute: str, read: object
) -> None:
    # Given an example where Tencent sends a value in the other type
    body = changed(example(command), path, sent)

    # When it is parsed
    callback = parse_callback(command, body)

    # Then the value is read in the documented type
    value: Any = callback
    for part in attribute.split("."):
        value = value[int(part)] if part.isdigit() else getattr(value, part)
    assert value == read


@pytest.mark.parametrize("spelling", ["opType", "OpType", "op_type"])
def test_modify_admin_operation_is_read_in_any_spelling(spelling: str) -> None:
    # Given ModifyAdmin with the operation under one of its spellings
    body = example("Live.CallbackAfterModifyAdmin")
    body[spelling] = body.pop("opType")

    # When it is parsed
    callback = parse_callback("Live.CallbackAfterModifyAdmin", body)

    # Then op_type holds it, and goes back out as the webhook spells it
    assert isinstance(callback, AdminsModified)
    assert callback.op_type == "add"
    assert callback.model_dump(by_alias=True)["opType"] == "add"


def test_unknown_fields_are_kept_at_every_level() -> None:
    # Given an example with fields Tencent may add some day, at the top and inside
    body = example("Live.CallbackBeforeSendGift")
    body["NewTopField"] = {"a": [1, 2]}
    body["GiftWater"]["Effect"] = "fireworks"

    # When it is parsed
    callback = parse_callback("Live.CallbackBeforeSendGift", body)

    # Then they are kept, and the body round-trips
    assert isinstance(callback, GiftToSend)
    assert callback.model_extra == {"NewTopField": {"a": [1, 2]}}
    assert callback.gift_water.model_extra == {"Effect": "fireworks"}
    assert callback.model_dump(by_alias=True, exclude_unset=True) == body


@pytest.mark.parametrize("command", sorted(EXAMPLES))
def test_a_body_without_callback_command_takes_the_querys(command: str) -> None:
    # Given an example without its CallbackCommand
    body = example(command)
    del body["CallbackCommand"]

    # When it is parsed
    callback = parse_callback(command, body)

    # Then the query's command is used
    assert callback.callback_command == command
    assert type(callback) is EXPECTED[command][0]


def test_optional_fields_may_all_be_missing() -> None:
    # Given the least a room callback can say: its command and its room
    body = {"CallbackCommand": "Live.CallbackAfterDestroyRoom", "RoomId": "r"}

    # When it is parsed
    callback = parse_callback("Live.CallbackAfterDestroyRoom", body)

    # Then it is accepted with nothing else known
    assert isinstance(callback, RoomDestroyed)
    assert (callback.room_key, callback.operator, callback.event_time_ms, callback.event_type) == (
        "r",
        None,
        None,
        None,
    )


# --- strictness ------------------------------------------------------------------------------------

LONG_ROOM = "é" * 25  # 50 bytes, 25 characters


@pytest.mark.parametrize(
    ("command", "path", "value", "field"),
    [
        # the room: present, 1..48 bytes of valid text
        ("Live.CallbackAfterDestroyRoom", "RoomId", DELETE, "RoomId"),
        ("Live.CallbackAfterDestroyRoom", "RoomId", "", "RoomId"),
        ("Live.CallbackAfterDestroyRoom", "RoomId", LONG_ROOM, "RoomId"),
        ("Live.CallbackAfterDestroyRoom", "RoomId", "\ud800", "RoomId"),
        ("Live.CallbackAfterDestroyRoom", "RoomId", 123, "RoomId"),
        ("Live.CallbackAfterDestroyRoom", "RoomId", None, "RoomId"),
        ("Live.CallbackAfterCreateRoom", "RoomInfo", DELETE, "RoomInfo"),
        ("Live.CallbackAfterCreateRoom", "RoomInfo.RoomId", DELETE, "RoomInfo.RoomId"),
        ("Live.CallbackAfterUpdateRoomInfo", "RoomInfo.RoomId", "x" * 49, "RoomInfo.RoomId"),
        ("Live.CallbackAfterMemberStateChanged", "RoomId", DELETE, "RoomId"),
        ("Mic.CallbackAfterSeatInfoChanged", "RoomId", "", "RoomId"),
        ("Group.CallbackBeforeSendMsg", "GroupId", DELETE, "GroupId"),
        ("Group.CallbackAfterSendMsg", "GroupId", LONG_ROOM, "GroupId"),
        ("Live.CallbackAfterCreateBattle", "FromRoomId", DELETE, "FromRoomId"),
        ("Live.CallbackAfterCreateBattle", "ToRoomIdList.1", "", "ToRoomIdList.1"),
        ("Live.CallbackAfterStartBattle", "FromRoomInfo.RoomId", DELETE, "FromRoomInfo.RoomId"),
        ("Live.CallbackAfterEndBattle", "ToRoomList.0.RoomId", LONG_ROOM, "ToRoomList.0.RoomId"),
        ("ContentCallback.ResultNotify", "ContactItem.ToGroupId", LONG_ROOM, "ContactItem.ToGroupId"),
        # metadata
        ("Live.CallbackAfterSetMetadata", "Metadata", {"key1": "value1"}, "Metadata"),
        ("Live.CallbackAfterSetMetadata", "Metadata.0", "key1=value1", "Metadata.0"),
        ("Live.CallbackAfterSetMetadata", "Metadata.1.Key", DELETE, "Metadata.1.Key"),
        ("Live.CallbackAfterSetMetadata", "Metadata.0.Key", "", "Metadata.0.Key"),
        ("Live.CallbackAfterSetMetadata", "Metadata.0.Key", "k" * 51, "Metadata.0.Key"),
        ("Live.CallbackAfterSetMetadata", "Metadata.0.Key", 1, "Metadata.0.Key"),
        ("Live.CallbackAfterSetMetadata", "Metadata.0.Value", 1, "Metadata.0.Value"),
        ("Live.CallbackAfterSetMetadata", "Metadata.1.Value", DELETE, "Metadata.1.Value"),
        ("Live.CallbackAfterDelMetadata", "Keys", "key1", "Keys"),
        ("Live.CallbackAfterDelMetadata", "Keys.1", {"Key": "key2"}, "Keys.1"),
        # members
        ("Live.CallbackAfterMemberStateChanged", "MemberList", "jared", "MemberList"),
        ("Live.CallbackAfterMemberStateChanged", "MemberList.1", {"Account": "tommy"},
         "MemberList.1.Member_Account"),
        ("Live.CallbackAfterMemberStateChanged", "EventType", DELETE, "EventType"),
        ("Live.CallbackAfterMemberStateChanged", "EventType", 1, "EventType"),
        ("Live.CallbackAfterMemberStateChanged", "EventCause", ["Enter"], "EventCause"),
        ("Live.CallbackAfterDestroyRoom", "EventType", {"Type": "DestroyByUser"}, "EventType"),
        # message bodies
        ("Group.CallbackBeforeSendMsg", "MsgBody", DELETE, "MsgBody"),
        ("Group.CallbackBeforeSendMsg", "MsgBody", {"MsgType": "TIMTextElem"}, "MsgBody"),
        ("Group.CallbackBeforeSendMsg", "MsgBody.0", "red packet", "MsgBody.0"),
        ("Group.CallbackBeforeSendMsg", "MsgBody.0.MsgType", DELETE, "MsgBody.0.MsgType"),
        ("Group.CallbackBeforeSendMsg", "MsgBody.0.MsgType", 1, "MsgBody.0.MsgType"),
        ("Group.CallbackBeforeSendMsg", "MsgBody.0.MsgContent", "red packet", "MsgBody.0.MsgContent"),
        ("Group.CallbackAfterSendMsg", "MsgBody.0.MsgContent", DELETE, "MsgBody.0.MsgContent"),
        ("Group.CallbackBeforeSendMsg", "MsgBody.0.MsgContent.Text", ["red", "packet"],
         "MsgBody.0.MsgContent"),
        # gifts
        ("Live.CallbackBeforeSendGift", "GiftWater", DELETE, "GiftWater"),
        ("Live.CallbackBeforeSendGift", "GiftWater", [], "GiftWater"),
        ("Live.CallbackBeforeSendGift", "GiftWater.From_Account", DELETE, "GiftWater.From_Account"),
        ("Live.CallbackBeforeSendGift", "GiftWater.GiftId", DELETE, "GiftWater.GiftId"),
        ("Live.CallbackBeforeSendGift", "GiftWater.Count", -1, "GiftWater.Count"),
        ("Live.CallbackBeforeSendGift", "GiftWater.Count", True, "GiftWater.Count"),
        ("Live.CallbackBeforeSendGift", "GiftWater.Count", 1.5, "GiftWater.Count"),
        ("Live.CallbackBeforeSendGift", "GiftWater.Coins", "lots", "GiftWater.Coins"),
        ("Live.CallbackBeforeSendGift", "GiftWater.Coins", DELETE, "GiftWater.Coins"),
        ("Live.CallbackBeforeSendGift", "GiftWater.To_Account", "to1", "GiftWater.To_Account"),
        ("Live.CallbackBeforeSendGift", "GiftWater.To_Account.0", None, "GiftWater.To_Account.0"),
        # seats
        ("Mic.CallbackAfterSeatInfoChanged", "SeatList.0.Index", DELETE, "SeatList.0.Index"),
        ("Mic.CallbackAfterSeatInfoChanged", "SeatList.0.Index", "first", "SeatList.0.Index"),
        ("Mic.CallbackAfterSeatInfoChanged", "SeatList.0", 1, "SeatList.0"),
        # numbers that are not numbers
        ("Live.CallbackAfterChangeOwner", "EventTime", "yesterday", "EventTime"),
        ("Live.CallbackAfterChangeOwner", "EventTime", "9" * 5000, "EventTime"),
        ("Live.CallbackAfterChangeOwner", "EventTime", False, "EventTime"),
        ("Live.CallbackAfterStartBattle", "BattleId", DELETE, "BattleId"),
    ],
)  # fmt: skip
def test_malformed_field_is_refused_naming_its_path(
    command: str, path: str, value: object, field: str
) -> None:
    # Given a reference example with one field made wrong
    body = changed(example(command), path, value)

    # When it is parsed
    error = refusal(command, body)

    # Then the refusal names the field's dotted path, with a reason, as "field: reason"
    assert error.field == field
    assert error.reason
    assert str(error) == f"{field}: {error.reason}"


@pytest.mark.parametrize(
    ("query_command", "body_command"),
    [
        # Tencent's member-state page: the query drops "After", the body has the documented name.
        ("Live.CallbackMemberStateChanged", "Live.CallbackAfterMemberStateChanged"),
        # Tencent's metadata-delete page: the query names the set callback.
        ("Live.CallbackAfterSetMetadata", "Live.CallbackAfterDelMetadata"),
    ],
)
def test_the_bodys_callback_command_names_the_event_when_the_query_differs(
    query_command: str, body_command: str
) -> None:
    # Given a body as Tencent documents it, under a query naming another command
    body = example(body_command)

    # When it is parsed
    callback = parse_callback(query_command, body)

    # Then it is the body's event, with its fields
    assert type(callback).command == body_command
    assert callback.callback_command == body_command
    assert callback.room_key == body["RoomId"]


@pytest.mark.parametrize(
    "body_command",
    ["", None, 1, ["Live.CallbackAfterDestroyRoom"], "Live.CallbackAfterDestroyRoom ", "Live..Callback",
     "Live.Callback\ud800", "Live.Callbäck", "x" * 300, "A", "CallbackAfterDestroyRoom"],
)  # fmt: skip
def test_a_body_callback_command_that_is_no_command_name_is_refused(body_command: object) -> None:
    # Given a DestroyRoom body whose CallbackCommand is not a command name
    body = example("Live.CallbackAfterDestroyRoom")
    body["CallbackCommand"] = body_command

    # When it is parsed
    error = refusal("Live.CallbackAfterDestroyRoom", body)

    # Then CallbackCommand is named
    assert error.field == "CallbackCommand"


def test_a_member_kicked_or_banned_is_accepted_as_kicked() -> None:
    # Given Tencent's member-state callback for a kick or a ban (trtc.io/document/64424)
    body = example("Live.CallbackAfterMemberStateChanged")
    body.update(EventType="Offline", EventCause="Kicked")

    # When it is parsed
    callback = parse_callback("Live.CallbackAfterMemberStateChanged", body)

    # Then the cause is the documented Kicked, and nothing is unknown
    assert isinstance(callback, MemberStateChanged)
    assert callback.event_cause is MemberEventCause.KICKED
    assert callback.unknown_values() == {}


@pytest.mark.parametrize(
    ("command", "field", "value"),
    [
        ("Live.CallbackAfterMemberStateChanged", "EventCause", "Teleported"),
        ("Live.CallbackAfterMemberStateChanged", "EventType", "Away"),
        ("Live.CallbackAfterDestroyRoom", "EventType", "DestroyByAlien"),
    ],
)
def test_an_enum_value_tencent_adds_later_is_accepted_and_reported(
    command: str, field: str, value: str
) -> None:
    # Given a callback whose enum-like field holds a value no page documents yet
    body = example(command)
    body[field] = value

    # When it is parsed
    callback = parse_callback(command, body)

    # Then it is the command's model, the value kept as sent and reported as unknown
    assert type(callback).command == command
    assert callback.unknown_values() == {field: value}
    assert callback.model_dump(mode="json", by_alias=True)[field] == value


def test_known_enum_values_stay_typed() -> None:
    callback = parse_callback("Live.CallbackAfterDestroyRoom", example("Live.CallbackAfterDestroyRoom"))

    assert isinstance(callback, RoomDestroyed)
    assert isinstance(callback.event_type, DestroyCause)
    assert callback.unknown_values() == {}


def test_follow_delete_reads_the_top_level_to_account_array() -> None:
    # Given Tencent's example (trtc.io/document/70356)
    body = {"CallbackCommand": "Follow.CallbackAfterFollowDelete", "From_Account": "UserID_001",
            "To_Account": ["UserID_002", "UserID_003"], "EventTime": 1702018343678}  # fmt: skip

    # When it is parsed
    callback = parse_callback("Follow.CallbackAfterFollowDelete", body)

    # Then the unfollowed accounts are read
    assert isinstance(callback, FollowDeleted)
    assert callback.to_account == ["UserID_002", "UserID_003"]


@pytest.mark.parametrize("text_content", [["buy followers"], "buy followers"])
def test_moderation_result_text_content_is_read_as_an_array_or_a_string(text_content: object) -> None:
    # Given a content-moderation result whose TextContent is an Array (1047/78240) or a String (1047/77840)
    body = example("ContentCallback.ResultNotify")
    body["TextContent"] = text_content

    # When it is parsed
    callback = parse_callback("ContentCallback.ResultNotify", body)

    # Then the text is there either way
    assert isinstance(callback, ModerationResult)
    assert callback.text_content == ["buy followers"]


@pytest.mark.parametrize("number", [2**64, -(2**63) - 1, 10**30])
def test_an_integer_beyond_64_bits_is_refused(number: int) -> None:
    body = example("Live.CallbackAfterDestroyRoom")
    body["EventTime"] = number

    assert refusal("Live.CallbackAfterDestroyRoom", body).field == "EventTime"


def test_a_query_without_callback_command_is_refused() -> None:
    error = refusal("", example("Live.CallbackAfterDestroyRoom"))

    assert error.field == "CallbackCommand"


@pytest.mark.parametrize("body", [[], [{"RoomId": "r"}], "{}", "", 0, 1.5, None, True], ids=repr)
@pytest.mark.parametrize("command", ["Live.CallbackAfterDestroyRoom", "Some.FutureCallback"])
def test_a_body_that_is_not_an_object_is_refused(command: str, body: object) -> None:
    # Given a body that is valid JSON but not an object
    # When it is parsed
    error = refusal(command, body)

    # Then the body as a whole is named
    assert error.field == BODY == "<body>"
    assert str(error) == "<body>: must be a JSON object"


# --- unknown commands ------------------------------------------------------------------------------


def test_an_unknown_command_keeps_its_body_as_it_came() -> None:
    # Given a callback Tencent might add some day
    body = {
        "CallbackCommand": "Live.CallbackAfterSomethingNew",
        "RoomId": "room-9",
        "Operator_Account": 42,
        "EventTime": "1703589922780",
        "Whatever": [{"deep": None}],
    }

    # When it is parsed
    callback = parse_callback("Live.CallbackAfterSomethingNew", body)

    # Then it is an UnknownCallback holding every field, with the facts read where recognisable
    assert isinstance(callback, UnknownCallback)
    assert callback.callback_command == "Live.CallbackAfterSomethingNew"
    assert callback.model_dump(by_alias=True) == body
    assert (callback.room_key, callback.operator, callback.event_time_ms) == ("room-9", "42", 1703589922780)


def test_an_unknown_command_falls_back_to_group_id_for_its_room() -> None:
    callback = parse_callback("Group.CallbackAfterNewThing", {"GroupId": "@TGS#1", "EventTime": 5})

    assert (callback.room_key, callback.operator, callback.event_time_ms) == ("@TGS#1", None, 5)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"RoomId": "", "Operator_Account": None, "EventTime": "soon"},
        {"RoomId": LONG_ROOM, "Operator_Account": ["a"], "EventTime": True},
        {"RoomId": 12, "GroupId": {"id": 1}, "EventTime": "9" * 40},
        {"RoomId": "\ud800", "EventTime": 1.5},
    ],
)
def test_an_unknown_command_with_odd_fields_is_still_accepted(body: dict[str, Any]) -> None:
    # Given an unknown command whose usual-looking fields are not what they usually are
    # When it is parsed
    callback = parse_callback("Some.FutureCallback", body)

    # Then it is accepted, and the facts it cannot vouch for are None
    assert isinstance(callback, UnknownCallback)
    assert (callback.room_key, callback.operator, callback.event_time_ms) == (None, None, None)


def test_a_known_command_is_matched_case_sensitively() -> None:
    # Given a known command in the wrong case, in both query and body
    body = example("Live.CallbackAfterChangeOwner")
    body["CallbackCommand"] = "live.callbackafterchangeowner"

    # When it is parsed
    callback = parse_callback("live.callbackafterchangeowner", body)

    # Then it is not taken for the documented command
    assert isinstance(callback, UnknownCallback)


# --- untrusted input (property tests) --------------------------------------------------------------

MARKER = "LEAK" + "".join(chr(ord("a") + i % 26) for i in range(196))  # 200 characters
WIRE_NAMES = sorted(
    {
        "CallbackCommand", "RoomId", "GroupId", "EventTime", "Operator_Account", "RoomInfo", "Metadata",
        "Keys", "MemberList", "Member_Account", "EventType", "EventCause", "SeatList", "Index", "MsgBody",
        "MsgType", "MsgContent", "Text", "GiftWater", "Count", "Coins", "To_Account", "From_Account",
        "GiftId", "FromRoomId", "FromRoomInfo", "ToRoomList", "BattleId", "opType", "Key", "Value",
    }
)  # fmt: skip

leaves = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.just(MARKER)
    | st.sampled_from(["", "1670574414123", "é" * 25, "TIMTextElem", "Online", *sorted(KNOWN_COMMANDS)])
)
json_values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(WIRE_NAMES) | st.text(max_size=8) | st.just(MARKER), inner, max_size=5
        )
    ),
    max_leaves=25,
)
commands = st.sampled_from(sorted(KNOWN_COMMANDS)) | st.text(max_size=40) | st.just(MARKER)


def paths_of(value: object, prefix: str = "") -> list[str]:
    """Every dotted path into a JSON value (its objects' keys and its lists' indices)."""
    if isinstance(value, dict):
        items: list[tuple[str, object]] = list(value.items())
    elif isinstance(value, list):
        items = [(str(index), item) for index, item in enumerate(value)]
    else:
        return []
    found: list[str] = []
    for key, item in items:
        path = f"{prefix}.{key}" if prefix else key
        found += [path, *paths_of(item, path)]
    return found


def outcome(command: str, body: object) -> Callback | CallbackInvalid:
    try:
        return parse_callback(command, body)
    except CallbackInvalid as error:
        return error


def assert_parses_or_is_refused_cleanly(command: str, body: object) -> None:
    callback = outcome(command, body)
    if isinstance(callback, CallbackInvalid):
        # A refusal never repeats the input, and stays one short line
        assert MARKER not in str(callback)
        assert MARKER not in callback.field
        assert MARKER not in callback.reason
        assert len(str(callback)) < 200
        return
    # The body's CallbackCommand names the event, when it has one (a field replaced may be that one)
    named = body.get("CallbackCommand", command) if isinstance(body, dict) else command
    expected = EXPECTED[named][0] if named in KNOWN_COMMANDS else UnknownCallback
    assert type(callback) is expected
    # and the facts every model exposes never fail
    assert callback.room_key is None or isinstance(callback.room_key, str)
    assert callback.operator is None or isinstance(callback.operator, str)
    assert callback.event_time_ms is None or isinstance(callback.event_time_ms, int)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(command=commands, body=json_values)
def test_any_json_body_is_modelled_or_refused_cleanly(command: str, body: object) -> None:
    # Given any JSON value as the body, under a known or random command
    # When it is parsed
    # Then it is a model of that command, or a CallbackInvalid that does not echo the input
    assert_parses_or_is_refused_cleanly(command, body)


@settings(max_examples=500, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), command=st.sampled_from(sorted(EXAMPLES)), value=json_values)
def test_an_example_with_any_field_replaced_is_modelled_or_refused_cleanly(
    data: st.DataObject, command: str, value: object
) -> None:
    # Given a reference example with one field, at any depth, replaced by any JSON value
    body = example(command)
    path = data.draw(st.sampled_from(paths_of(body)))
    body = changed(body, path, value)

    # When it is parsed
    # Then it is the command's model, or a CallbackInvalid that does not echo the input
    assert_parses_or_is_refused_cleanly(command, body)


@given(body=st.dictionaries(st.text(max_size=8), json_values, max_size=5))
def test_a_hostile_body_command_never_appears_in_a_refusal(body: dict[str, Any]) -> None:
    # Given a body naming a long hostile command
    body["CallbackCommand"] = MARKER + " "

    # When it is parsed
    error = refusal("Live.CallbackAfterDestroyRoom", body)

    # Then the refusal names the field, not the value
    assert error.field == "CallbackCommand"
    assert MARKER not in str(error)


def test_the_command_names_code_acts_on_are_the_models_own() -> None:
    # One source (liveguard.webhooks.commands) for the names the rules, the ingress and the emulator
    # use; each must be a modelled command, and the synchronous ones exactly the two before-models.
    from liveguard.webhooks import commands

    names = {value for key, value in vars(commands).items() if key.isupper() and isinstance(value, str)}
    assert names <= KNOWN_COMMANDS
    assert {MessageToSend.command, GiftToSend.command} == BEFORE_COMMANDS == commands.BEFORE_COMMANDS
