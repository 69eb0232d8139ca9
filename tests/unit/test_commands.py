"""Request models: Tencent's names on the wire, and bad input refused with the field and Tencent's code."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from liveguard.tencent.client import refused_locally
from liveguard.tencent.commands import COMMANDS
from liveguard.tencent.commands.config import (
    GetCallbackTokenReply,
    SetCallback,
    SetCallbackToken,
    UpdateCallback,
)
from liveguard.tencent.commands.members import (
    BanMember,
    GetBannedMemberList,
    GetMutedMemberList,
    GetMutedMemberListReply,
    ModifyAdmin,
    MuteMember,
)
from liveguard.tencent.commands.messages import SendCustomMsg, SendTextMsg
from liveguard.tencent.commands.metadata import DelRoomMetadata, SetRoomMetadata
from liveguard.tencent.commands.rooms import CreateRoom, GetRoomList, UpdateRoomInfo

LIVE_COMMANDS = {
    "create_room", "destroy_room", "update_room_info", "get_room_info", "get_room_list",
    "get_room_metadata", "set_room_metadata", "del_room_metadata", "get_member_list", "ban_member",
    "unban_member", "get_banned_member_list", "mute_member", "get_muted_member_list", "modify_admin",
    "get_admin_list", "send_text_msg", "send_custom_msg", "get_room_statistic", "get_room_stats",
    "get_gift_info_list", "get_gift", "add_gift", "edit_gift", "del_gift", "get_gift_count",
    "get_gift_language", "set_gift_language", "del_gift_language", "add_gift_category",
    "del_gift_category", "get_gift_category", "edit_gift_category", "get_gift_category_language",
    "set_gift_category_language", "del_gift_category_language", "add_gift_category_relations",
    "del_gift_category_relations", "add_robot", "get_robot", "del_robot", "resume_mcu_task",
}  # fmt: skip
MIC_COMMANDS = {"get_seat_list", "pick_user_on_seat", "kick_user_off_seat", "lock_seat", "switch_seat"}
CONFIG_COMMANDS = {
    "set_callback", "update_callback", "get_callback", "set_callback_token", "get_callback_token",
}  # fmt: skip


def tencent_code(exc: ValidationError) -> int:
    return refused_locally("test", exc).code or 0


def test_every_documented_command_has_a_model_under_its_service():
    services = {name: model.command.service for name, model in COMMANDS.items()}
    assert {n for n, s in services.items() if s == "live_engine_http_srv"} >= LIVE_COMMANDS
    assert {n for n, s in services.items() if s == "room_engine_http_mic"} == MIC_COMMANDS
    assert {n for n, s in services.items() if s == "live_config"} == CONFIG_COMMANDS


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_empty_body_names_every_required_field(name):
    # Given a command's request model and its required fields, by Tencent's names
    model = COMMANDS[name]
    required = {field.alias or key for key, field in model.model_fields.items() if field.is_required()}
    if not required:
        # (a command without required fields accepts {}, or says what it needs in a sentence)
        with contextlib.suppress(ValidationError):
            model.model_validate({})
        return
    # When it is given an empty body
    with pytest.raises(ValidationError) as raised:
        model.model_validate({})
    # Then the error names each missing field
    missing = {str(error["loc"][0]) for error in raised.value.errors() if error["type"] == "missing"}
    assert missing == required


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_field_of_the_wrong_type_is_named(name):
    # Given a body where every field holds a nested object no Tencent field accepts
    model = COMMANDS[name]
    if not model.model_fields:
        return
    body = {field.alias or key: {"unexpected": ["shape"]} for key, field in model.model_fields.items()}
    # When validated
    with pytest.raises(ValidationError) as raised:
        model.model_validate(body)
    # Then every field is reported by its Tencent name
    named = {str(error["loc"][0]) for error in raised.value.errors()}
    assert named == set(body)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_unknown_fields_are_refused_rather_than_silently_dropped(name):
    with pytest.raises(ValidationError) as raised:
        COMMANDS[name].model_validate({"RoomID": "typo-of-RoomId"})
    assert any(
        error["type"] == "extra_forbidden" and error["loc"] == ("RoomID",) for error in raised.value.errors()
    )


def test_requests_go_out_with_tencents_field_names_and_without_unset_fields():
    request = BanMember(room_id="live-1", member_list_account=["bob"], duration=600)
    assert request.to_wire() == {"RoomId": "live-1", "MemberList_Account": ["bob"], "Duration": 600}


def test_python_names_and_tencent_names_both_build_a_request():
    by_alias = CreateRoom.model_validate({"RoomInfo": {"RoomId": "r", "Owner_Account": "host"}})
    by_name = CreateRoom(room_info={"room_id": "r", "owner_account": "host"})
    assert by_alias == by_name
    assert by_alias.to_wire() == {"RoomInfo": {"RoomId": "r", "RoomType": "Live", "Owner_Account": "host"}}


# --- documented limits, each with the ErrorCode Tencent gives -------------------------------------------


@pytest.mark.parametrize(
    ("room_id", "ok"),
    [("r" * 48, True), ("r" * 49, False), ("房" * 16, True), ("房" * 17, False), ("", False)],
)
def test_room_ids_are_limited_to_48_bytes_not_characters(room_id, ok):
    body = {"RoomId": room_id, "MemberList_Account": ["bob"], "Duration": 60}
    if ok:
        BanMember.model_validate(body)
        return
    with pytest.raises(ValidationError) as raised:
        BanMember.model_validate(body)
    assert raised.value.errors()[0]["loc"] == ("RoomId",)
    assert tencent_code(raised.value) == 100002


def test_metadata_holds_at_most_ten_keys():
    SetRoomMetadata.of("r", {f"k{i}": "v" for i in range(10)})
    with pytest.raises(ValidationError) as raised:
        SetRoomMetadata.of("r", {f"k{i}": "v" for i in range(11)})
    assert raised.value.errors()[0]["loc"] == ("Metadata",)
    assert tencent_code(raised.value) == 100500


def test_a_metadata_key_is_at_most_50_bytes():
    SetRoomMetadata.of("r", {"k" * 50: "v"})
    with pytest.raises(ValidationError) as raised:
        SetRoomMetadata.of("r", {"k" * 51: "v"})
    assert raised.value.errors()[0]["loc"] == ("Metadata", 0, "Key")
    assert tencent_code(raised.value) == 100002


def test_a_metadata_value_is_at_most_2_kb():
    SetRoomMetadata.of("r", {"k": "v" * 2048})
    with pytest.raises(ValidationError) as raised:
        SetRoomMetadata.of("r", {"k": "é" * 1025})  # 2050 bytes in 1025 characters
    assert raised.value.errors()[0]["loc"] == ("Metadata", 0, "Value")
    assert tencent_code(raised.value) == 100501


def test_all_metadata_values_together_are_at_most_16_kb():
    SetRoomMetadata.of("r", {f"k{i}": "v" * 2048 for i in range(8)})
    with pytest.raises(ValidationError) as raised:
        SetRoomMetadata.of("r", {**{f"k{i}": "v" * 2048 for i in range(8)}, "k8": "v"})
    assert tencent_code(raised.value) == 100502


def test_deleting_no_keys_is_refused_as_tencent_does():
    with pytest.raises(ValidationError) as raised:
        DelRoomMetadata(room_id="r", keys=[])
    assert tencent_code(raised.value) == 100503


def test_setting_the_same_key_twice_in_one_call_is_refused():
    with pytest.raises(ValidationError):
        SetRoomMetadata.model_validate({"RoomId": "r", "Metadata": [{"Key": "a", "Value": "1"}] * 2})


@pytest.mark.parametrize(("count", "ok"), [(20, True), (21, False), (0, False)])
def test_a_ban_names_1_to_20_accounts(count, ok):
    body = {"RoomId": "r", "MemberList_Account": [f"user{i}" for i in range(count)], "Duration": 60}
    if ok:
        BanMember.model_validate(body)
        return
    with pytest.raises(ValidationError) as raised:
        BanMember.model_validate(body)
    assert raised.value.errors()[0]["loc"] == ("MemberList_Account",)


def test_a_ban_reason_is_at_most_200_bytes():
    with pytest.raises(ValidationError) as raised:
        BanMember.model_validate(
            {"RoomId": "r", "MemberList_Account": ["a"], "Duration": 60, "Reason": "x" * 201}
        )
    assert raised.value.errors()[0]["loc"] == ("Reason",)


def test_a_ban_needs_a_positive_duration_and_a_mute_a_non_negative_one():
    with pytest.raises(ValidationError):
        BanMember(room_id="r", member_list_account=["a"], duration=0)
    MuteMember(room_id="r", member_list_account=["a"], mute_time=0)  # 0 lifts a mute
    with pytest.raises(ValidationError):
        MuteMember(room_id="r", member_list_account=["a"], mute_time=-1)


def test_a_room_has_at_most_five_admins():
    ModifyAdmin(room_id="r", admin_account=[f"a{i}" for i in range(5)], op_type="add")
    with pytest.raises(ValidationError) as raised:
        ModifyAdmin(room_id="r", admin_account=[f"a{i}" for i in range(6)], op_type="add")
    assert tencent_code(raised.value) == 100020


def test_admin_operations_are_add_or_delete():
    with pytest.raises(ValidationError) as raised:
        ModifyAdmin.model_validate({"RoomId": "r", "Admin_Account": ["a"], "OpType": "promote"})
    assert raised.value.errors()[0]["loc"] == ("OpType",)


def test_room_names_notices_and_categories_have_tencents_limits():
    with pytest.raises(ValidationError) as raised:
        UpdateRoomInfo.model_validate(
            {
                "RoomInfo": {
                    "RoomId": "r",
                    "RoomName": "n" * 101,
                    "Notice": "n" * 101,
                    "Category": [1, 2, 3, 4],
                }
            }
        )
    assert {error["loc"][-1] for error in raised.value.errors()} == {"RoomName", "Notice", "Category"}


def test_an_update_that_changes_nothing_is_refused():
    with pytest.raises(ValidationError, match="at least one field"):
        UpdateRoomInfo.model_validate({"RoomInfo": {"RoomId": "r"}})


def test_a_room_list_page_is_at_most_20_rooms():
    assert GetRoomList().to_wire() == {"Next": "", "Count": 20}
    with pytest.raises(ValidationError):
        GetRoomList(count=21)


def test_a_banned_list_page_is_at_most_100():
    with pytest.raises(ValidationError):
        GetBannedMemberList(room_id="r", limit=101)


def test_a_text_message_is_at_most_8_kb_and_not_empty():
    SendTextMsg(room_id="r", sender_account="bob", text_content="x" * 8192)
    with pytest.raises(ValidationError) as raised:
        SendTextMsg(room_id="r", sender_account="bob", text_content="x" * 8193)
    assert tencent_code(raised.value) == 80002
    with pytest.raises(ValidationError):
        SendTextMsg(room_id="r", sender_account="bob", text_content="")


def test_extension_info_must_be_json_text():
    SendTextMsg(room_id="r", sender_account="b", text_content="hi", extension_info='{"a": 1}')
    with pytest.raises(ValidationError) as raised:
        SendTextMsg.model_validate(
            {"RoomId": "r", "Sender_Account": "b", "TextContent": "hi", "ExtensionInfo": "{not json"}
        )
    assert raised.value.errors()[0]["loc"] == ("ExtensionInfo",)


def test_a_custom_message_needs_a_business_id():
    with pytest.raises(ValidationError) as raised:
        SendCustomMsg.model_validate(
            {"RoomId": "r", "Sender_Account": "admin", "BusinessId": "", "Data": "{}"}
        )
    assert raised.value.errors()[0]["loc"] == ("BusinessId",)


def test_a_callback_url_must_be_http_or_https():
    SetCallback(
        url="https://example.com/tencent/callback", callback_command_list=["Live.CallbackAfterCreateRoom"]
    )
    with pytest.raises(ValidationError) as raised:
        SetCallback.model_validate({"Url": "ftp://example.com", "CallbackCommandList": []})
    assert raised.value.errors()[0]["loc"] == ("Url",)


@pytest.mark.parametrize("model", [SetCallback, UpdateCallback])
def test_create_and_update_callback_send_the_same_body_and_check_the_url_locally(model):
    # Given the body Tencent documents for both commands (trtc.io 64420, 64419)
    body = {"Url": "https://example.com/cb", "CallbackCommandList": ["Live.CallbackAfterCreateRoom"]}
    # Then each sends it as it is, and refuses a URL that is not http(s) before any call, with 100002
    assert model.model_validate(body).to_wire() == body
    with pytest.raises(ValidationError) as raised:
        model.model_validate({**body, "Url": "ws://example.com/cb"})
    assert tencent_code(raised.value) == 100002


def test_get_muted_member_list_has_no_paging_fields():
    # Given Tencent's command, whose request is {RoomId} only (trtc.io 69894)
    assert GetMutedMemberList(room_id="r1").to_wire() == {"RoomId": "r1"}
    # Then a paging field is refused locally rather than sent, and the reply model expects none
    with pytest.raises(ValidationError):
        GetMutedMemberList.model_validate({"RoomId": "r1", "Offset": 100})
    assert set(GetMutedMemberListReply.model_fields) == {"request_id", "muted_account_list"}


def test_a_callback_token_goes_on_the_wire_but_never_into_reprs_or_errors():
    request = SetCallbackToken(token="tok-123", is_token_enable=True)
    assert request.to_wire() == {"Token": "tok-123", "IsTokenEnable": True}
    assert "tok-123" not in repr(request)
    with pytest.raises(ValidationError) as raised:
        SetCallbackToken(token="t" * 129 + "secret-tail")
    assert "secret-tail" not in str(raised.value)
    assert "tok-9" not in repr(GetCallbackTokenReply.model_validate({"Token": "tok-9"}))


def test_a_callback_token_change_must_change_something():
    with pytest.raises(ValidationError, match="Token, IsTokenEnable"):
        SetCallbackToken()


@given(st.dictionaries(st.text(max_size=8), st.recursive(st.none() | st.integers() | st.text(), st.lists)))
def test_arbitrary_bodies_raise_only_validation_errors(body):
    for model in COMMANDS.values():
        with contextlib.suppress(ValidationError):
            model.model_validate(body)
