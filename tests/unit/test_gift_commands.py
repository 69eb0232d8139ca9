"""Gift commands: wire bodies in Tencent's names, Tencent's documented limits, tolerant replies.

Examples are the request and reply bodies from Tencent's gift REST pages (trtc.io/document/72556,
72557, 72845-72859), or what Tencent's own console sends where no page was found.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from liveguard.tencent.commands import COMMANDS, EmptyReply, Reply, Request
from liveguard.tencent.commands.base import INVALID_PARAMETER, LIVE, utf8_len
from liveguard.tencent.commands.gifts import (
    AddGift,
    AddGiftCategory,
    AddGiftCategoryRelations,
    AddGiftCategoryRelationsReply,
    DelGift,
    DelGiftCategory,
    DelGiftCategoryLanguage,
    DelGiftCategoryRelations,
    DelGiftLanguage,
    EditGift,
    EditGiftCategory,
    GetGift,
    GetGiftCategory,
    GetGiftCategoryLanguage,
    GetGiftCategoryLanguageReply,
    GetGiftCategoryReply,
    GetGiftCount,
    GetGiftCountReply,
    GetGiftInfoList,
    GetGiftInfoListReply,
    GetGiftLanguage,
    GetGiftLanguageReply,
    GetGiftReply,
    SendGift,
    SetGiftCategoryLanguage,
    SetGiftLanguage,
)

REQUEST_ID = "Id-8c9858f01e954611ae2d4c1b1ed7d583-O-Seq-52720"
EXTENSION = '{"key": "value"}'

# (request built with Python names, the body Tencent documents, the reply model it answers with)
WIRE_BODIES: list[tuple[Request[Any], dict[str, Any], type[Reply]]] = [
    (
        SendGift(
            room_id="room_id", gift_id="gift1", count=1, from_account="user1", receiver_list_account=["user2"]
        ),
        {
            "RoomId": "room_id",
            "GiftId": "gift1",
            "Count": 1,
            "From_Account": "user1",
            "ReceiverList_Account": ["user2"],
        },
        EmptyReply,
    ),
    (
        GetGiftCount(room_id="room_id", from_account="user1"),
        {"RoomId": "room_id", "From_Account": "user1"},
        GetGiftCountReply,
    ),
    (GetGiftInfoList(), {}, GetGiftInfoListReply),
    (GetGift(gift_id="GId1"), {"GiftId": "GId1"}, GetGiftReply),
    (
        AddGift(
            gift_id="GId1",
            icon_url="https://www.xxx.com/xxx1.png",
            resource_url="https://www.xxx.com/xxx2.png",
            coins=10,
            level=1,
            extension_info=EXTENSION,
            default_name="",
            default_desc="",
        ),
        {
            "GiftId": "GId1",
            "IconUrl": "https://www.xxx.com/xxx1.png",
            "ResourceUrl": "https://www.xxx.com/xxx2.png",
            "Coins": 10,
            "Level": 1,
            "ExtensionInfo": EXTENSION,
            "DefaultName": "",
            "DefaultDesc": "",
        },
        EmptyReply,
    ),
    (
        EditGift(gift_id="GId1", coins=20, default_name="Rose"),
        {"GiftId": "GId1", "Coins": 20, "DefaultName": "Rose"},
        EmptyReply,
    ),
    (DelGift(gift_id="GId1"), {"GiftId": "GId1"}, EmptyReply),
    (
        GetGiftLanguage(gift_id="GId1", language="en"),
        {"GiftId": "GId1", "Language": "en"},
        GetGiftLanguageReply,
    ),
    (
        SetGiftLanguage(gift_id="GId1", language="en", name="name1", desc="desc1"),
        {"GiftId": "GId1", "Language": "en", "Name": "name1", "Desc": "desc1"},
        EmptyReply,
    ),
    (
        DelGiftLanguage(gift_id="GId1", language="en"),
        {"GiftId": "GId1", "Language": "en"},
        EmptyReply,
    ),
    (
        AddGiftCategory(
            category_id="CId2", extension_info=EXTENSION, default_name="name1", default_desc="desc1"
        ),
        {"CategoryId": "CId2", "ExtensionInfo": EXTENSION, "DefaultName": "name1", "DefaultDesc": "desc1"},
        EmptyReply,
    ),
    (DelGiftCategory(category_id="CId2"), {"CategoryId": "CId2"}, EmptyReply),
    (GetGiftCategory(category_id="CId2"), {"CategoryId": "CId2"}, GetGiftCategoryReply),
    (
        EditGiftCategory(category_id="CId2", default_name="name2", default_desc="desc2"),
        {"CategoryId": "CId2", "DefaultName": "name2", "DefaultDesc": "desc2"},
        EmptyReply,
    ),
    (
        GetGiftCategoryLanguage(category_id="CId2", language="en"),
        {"CategoryId": "CId2", "Language": "en"},
        GetGiftCategoryLanguageReply,
    ),
    (
        SetGiftCategoryLanguage(
            category_id="CId2", language="en", category_name="name", category_desc="desc"
        ),
        {"CategoryId": "CId2", "Language": "en", "CategoryName": "name", "CategoryDesc": "desc"},
        EmptyReply,
    ),
    (
        DelGiftCategoryLanguage(category_id="CId2", language="en"),
        {"CategoryId": "CId2", "Language": "en"},
        EmptyReply,
    ),
    (
        AddGiftCategoryRelations(category_id="id1", gift_id_list=["id1", "id2", "id3"]),
        {"CategoryId": "id1", "GiftIdList": ["id1", "id2", "id3"]},
        AddGiftCategoryRelationsReply,
    ),
    (
        DelGiftCategoryRelations(category_id="id1", gift_id_list=["id1", "id2", "id3"]),
        {"CategoryId": "id1", "GiftIdList": ["id1", "id2", "id3"]},
        EmptyReply,
    ),
]


def _command_name(case: tuple[Request[Any], dict[str, Any], type[Reply]]) -> str:
    return case[0].command.name


# A valid body per request model, in Tencent's names; limit cases change one field of it.
VALID: dict[type[Request[Any]], dict[str, Any]] = {
    type(request): wire for request, wire, _ in WIRE_BODIES if wire
} | {EditGift: {"GiftId": "GId1", "Coins": 20}}


def refusal(model: type[Request[Any]], **changes: Any) -> ValidationError:
    body = {**VALID[model], **changes}
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    return caught.value


def reply_from(model: type[Reply], response: dict[str, Any]) -> Reply:
    """Parse as LiveClient does: the envelope's Response, with its RequestId beside it."""
    return model.model_validate({**response, "RequestId": REQUEST_ID})


# --- wire bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_", "wire", "reply_model"), WIRE_BODIES, ids=map(_command_name, WIRE_BODIES)
)
def test_request_is_sent_in_tencents_field_names(
    request_: Request[Any], wire: dict[str, Any], reply_model: type[Reply]
) -> None:
    # Given a gift request built from Python names
    # When it is turned into the JSON body
    body = request_.to_wire()
    # Then the body is Tencent's documented one, sent to the live service under the command's name
    assert body == wire
    assert request_.command.service == LIVE
    assert request_.command.path == f"/v4/{LIVE}/{request_.command.name}"


@pytest.mark.parametrize(
    ("request_", "wire", "reply_model"), WIRE_BODIES, ids=map(_command_name, WIRE_BODIES)
)
def test_command_is_registered_with_its_reply_model(
    request_: Request[Any], wire: dict[str, Any], reply_model: type[Reply]
) -> None:
    # Given a gift command's name
    name = request_.command.name
    # When LiveClient looks it up (queue messages carry only the name and a body)
    model = COMMANDS[name]
    # Then it finds the request model, which parses the documented body and knows its reply
    assert model is type(request_)
    assert model.model_validate(wire) == request_
    assert model.reply_model is reply_model


def test_send_gift_sends_one_gift_when_count_is_not_given() -> None:
    # Given a send_gift without a count
    request = SendGift(
        room_id="room_id", gift_id="gift1", from_account="user1", receiver_list_account=["user2"]
    )
    # When it is turned into the JSON body
    body = request.to_wire()
    # Then Count is still sent, as in Tencent's example
    assert body["Count"] == 1


# --- Tencent's documented limits ------------------------------------------------------------------


def json_text_of(size: int) -> str:
    """A valid JSON string of exactly ``size`` bytes."""
    return '{"k": "' + "v" * (size - len('{"k": ""}')) + '"}'


def url_of(size: int) -> str:
    return "https://x.example/" + "a" * (size - len("https://x.example/"))


TOO_LONG_ID = "g" * 21
TOO_LONG_URL = url_of(201)
TOO_LONG_EXTENSION = json_text_of(101)
HANZI_21_BYTES = "礼" * 7  # 7 characters, 21 bytes: the limits count UTF-8 bytes

TENCENT_LIMITS = [
    pytest.param(SendGift, "RoomId", "r" * 49, id="send_gift RoomId over 48 bytes"),
    pytest.param(SendGift, "GiftId", TOO_LONG_ID, id="send_gift GiftId over 20 bytes"),
    pytest.param(AddGift, "GiftId", TOO_LONG_ID, id="add_gift GiftId over 20 bytes"),
    pytest.param(AddGift, "GiftId", HANZI_21_BYTES, id="add_gift GiftId over 20 bytes in 7 characters"),
    pytest.param(AddGift, "IconUrl", TOO_LONG_URL, id="add_gift IconUrl over 200 bytes"),
    pytest.param(AddGift, "ResourceUrl", TOO_LONG_URL, id="add_gift ResourceUrl over 200 bytes"),
    pytest.param(AddGift, "ExtensionInfo", TOO_LONG_EXTENSION, id="add_gift ExtensionInfo over 100 bytes"),
    pytest.param(AddGift, "ExtensionInfo", "key=value", id="add_gift ExtensionInfo not JSON"),
    pytest.param(AddGift, "DefaultName", HANZI_21_BYTES, id="add_gift DefaultName over 20 bytes"),
    pytest.param(AddGift, "DefaultDesc", "d" * 21, id="add_gift DefaultDesc over 20 bytes"),
    pytest.param(EditGift, "IconUrl", TOO_LONG_URL, id="edit_gift IconUrl over 200 bytes"),
    pytest.param(EditGift, "ExtensionInfo", "{", id="edit_gift ExtensionInfo not JSON"),
    pytest.param(EditGift, "DefaultName", "n" * 21, id="edit_gift DefaultName over 20 bytes"),
    pytest.param(GetGift, "GiftId", TOO_LONG_ID, id="get_gift GiftId over 20 bytes"),
    pytest.param(GetGiftLanguage, "Language", "fr", id="get_gift_language unsupported Language"),
    pytest.param(SetGiftLanguage, "GiftId", TOO_LONG_ID, id="set_gift_language GiftId over 20 bytes"),
    pytest.param(SetGiftLanguage, "Language", "zh-CN", id="set_gift_language unsupported Language"),
    pytest.param(SetGiftLanguage, "Name", HANZI_21_BYTES, id="set_gift_language Name over 20 bytes"),
    pytest.param(SetGiftLanguage, "Desc", "d" * 21, id="set_gift_language Desc over 20 bytes"),
    pytest.param(DelGiftLanguage, "Language", "EN", id="del_gift_language unsupported Language"),
    pytest.param(AddGiftCategory, "CategoryId", TOO_LONG_ID, id="add_gift_category CategoryId over 20 bytes"),
    pytest.param(AddGiftCategory, "ExtensionInfo", TOO_LONG_EXTENSION, id="add_gift_category ExtensionInfo"),
    pytest.param(AddGiftCategory, "DefaultName", "n" * 21, id="add_gift_category DefaultName over 20 bytes"),
    pytest.param(AddGiftCategory, "DefaultDesc", "d" * 61, id="add_gift_category DefaultDesc over 60 bytes"),
    pytest.param(
        EditGiftCategory, "DefaultDesc", "d" * 61, id="edit_gift_category DefaultDesc over 60 bytes"
    ),
    pytest.param(GetGiftCategoryLanguage, "Language", "ja", id="get_gift_category_language unsupported"),
    pytest.param(SetGiftCategoryLanguage, "Language", "ja", id="set_gift_category_language unsupported"),
    pytest.param(DelGiftCategoryLanguage, "Language", "ja", id="del_gift_category_language unsupported"),
]


@pytest.mark.parametrize(("model", "field", "value"), TENCENT_LIMITS)
def test_value_past_a_documented_limit_is_refused_with_tencents_code(
    model: type[Request[Any]], field: str, value: str
) -> None:
    # Given a valid body with one field past the limit Tencent documents for it
    # When the request model validates it
    error = refusal(model, **{field: value})
    # Then it is refused before sending, naming the field and carrying Tencent's invalid-parameter code
    first = error.errors()[0]
    assert first["loc"] == (field,)
    assert first["type"] == "tencent_limit"
    assert first["ctx"]["tencent_code"] == INVALID_PARAMETER


AT_THE_LIMIT = [
    pytest.param(AddGift, "GiftId", "礼" * 6 + "gg", id="add_gift GiftId of 20 bytes"),
    pytest.param(AddGift, "IconUrl", url_of(200), id="add_gift IconUrl of 200 bytes"),
    pytest.param(AddGift, "ExtensionInfo", json_text_of(100), id="add_gift ExtensionInfo of 100 bytes"),
    pytest.param(AddGift, "DefaultName", "n" * 20, id="add_gift DefaultName of 20 bytes"),
    pytest.param(AddGift, "DefaultName", "", id="add_gift empty DefaultName as in Tencent's example"),
    pytest.param(AddGiftCategory, "DefaultDesc", "d" * 60, id="add_gift_category DefaultDesc of 60 bytes"),
    pytest.param(SetGiftLanguage, "Language", "zh-Hant", id="set_gift_language zh-Hant"),
    pytest.param(SetGiftCategoryLanguage, "Language", "zh-Hans", id="set_gift_category_language zh-Hans"),
]


@pytest.mark.parametrize(("model", "field", "value"), AT_THE_LIMIT)
def test_value_at_a_documented_limit_is_accepted(model: type[Request[Any]], field: str, value: str) -> None:
    # Given a valid body with one field exactly at its documented limit
    body = {**VALID[model], field: value}
    # When the request model validates it
    request = model.model_validate(body)
    # Then it is sent as given
    assert request.to_wire()[field] == value


@given(gift_id=st.text(min_size=1, max_size=25))
def test_gift_id_is_accepted_exactly_when_it_fits_in_20_utf8_bytes(gift_id: str) -> None:
    # Given any gift id, in any script
    body = {**VALID[GetGift], "GiftId": gift_id}
    # When get_gift validates it
    try:
        GetGift.model_validate(body)
        accepted = True
    except ValidationError:
        accepted = False
    # Then the 20-byte limit decides, counted in UTF-8 bytes
    assert accepted == (utf8_len(gift_id) <= 20)


MALFORMED = [
    pytest.param(AddGift, {"Coins": None}, "Coins", "missing", id="add_gift Coins required"),
    pytest.param(
        AddGift, {"DefaultName": None}, "DefaultName", "missing", id="add_gift DefaultName required"
    ),
    pytest.param(AddGift, {"Coins": -1}, "Coins", "greater_than_equal", id="add_gift negative Coins"),
    pytest.param(AddGift, {"Level": -1}, "Level", "greater_than_equal", id="add_gift negative Level"),
    pytest.param(AddGift, {"GiftId": ""}, "GiftId", "string_too_short", id="add_gift empty GiftId"),
    pytest.param(SendGift, {"Count": 0}, "Count", "greater_than_equal", id="send_gift no gift"),
    pytest.param(
        SendGift, {"ReceiverList_Account": []}, "ReceiverList_Account", "too_short", id="no receiver"
    ),
    pytest.param(
        SendGift, {"From_Account": ""}, "From_Account", "string_too_short", id="send_gift no sender"
    ),
    pytest.param(GetGiftCount, {"From_Account": ""}, "From_Account", "string_too_short", id="get_gift_count"),
    pytest.param(AddGiftCategoryRelations, {"GiftIdList": []}, "GiftIdList", "too_short", id="add relations"),
    pytest.param(DelGiftCategoryRelations, {"GiftIdList": []}, "GiftIdList", "too_short", id="del relations"),
    pytest.param(AddGift, {"Price": 10}, "Price", "extra_forbidden", id="add_gift unknown field"),
]


@pytest.mark.parametrize(("model", "changes", "field", "error_type"), MALFORMED)
def test_malformed_body_is_refused_naming_the_field(
    model: type[Request[Any]], changes: dict[str, Any], field: str, error_type: str
) -> None:
    # Given a valid body with one field missing (None: left out), empty, out of range or unknown
    body = {key: value for key, value in {**VALID[model], **changes}.items() if value is not None}
    # When the request model validates it
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    # Then the error names that field
    first = caught.value.errors()[0]
    assert first["loc"] == (field,)
    assert first["type"] == error_type


def test_gift_id_in_a_relation_list_is_held_to_the_gift_id_limit() -> None:
    # Given a relation list naming one gift id longer than any gift can have
    # When add_gift_category_relations validates it
    error = refusal(AddGiftCategoryRelations, GiftIdList=["id1", TOO_LONG_ID])
    # Then the error points at that entry and carries Tencent's invalid-parameter code
    first = error.errors()[0]
    assert first["loc"] == ("GiftIdList", 1)
    assert first["ctx"]["tencent_code"] == INVALID_PARAMETER


@pytest.mark.parametrize(
    ("model", "body"),
    [
        pytest.param(EditGift, {"GiftId": "GId1"}, id="edit_gift"),
        pytest.param(EditGiftCategory, {"CategoryId": "CId2"}, id="edit_gift_category"),
    ],
)
def test_edit_that_changes_nothing_is_refused(model: type[Request[Any]], body: dict[str, Any]) -> None:
    # Given an edit naming only what to edit
    # When the request model validates it
    with pytest.raises(ValidationError) as caught:
        model.model_validate(body)
    # Then it is refused as Tencent refuses a malformed body
    assert caught.value.errors()[0]["ctx"]["tencent_code"] == INVALID_PARAMETER


# --- replies --------------------------------------------------------------------------------------

GIFT_INFO = {
    "GiftId": "GId1",
    "IconUrl": "https://www.xxx.com/xxx1.png",
    "ResourceUrl": "https://www.xxx.com/xxx2.png",
    "Coins": 10,
    "Level": 1,
    "ExtensionInfo": EXTENSION,
    "DefaultName": "name1",
    "DefaultDesc": "desc1",
}


def test_gift_count_reply_reads_the_statistics() -> None:
    # Given get_gift_count's documented Response
    response = {"Sequence": 1, "TotalCount": 3, "TotalCoins": 30, "GiftSenderCount": 2}
    # When it is parsed
    reply = reply_from(GetGiftCountReply, response)
    # Then every statistic is read, and the envelope's RequestId kept
    assert isinstance(reply, GetGiftCountReply)
    assert (reply.sequence, reply.total_count, reply.total_coins, reply.gift_sender_count) == (1, 3, 30, 2)
    assert reply.request_id == REQUEST_ID


@pytest.mark.parametrize(
    "icon_key", ["IconUrl", "IconURL"], ids=["as in the example", "as in the field table"]
)
def test_get_gift_reply_reads_the_gift(icon_key: str) -> None:
    # Given get_gift's documented GiftInfo, with the icon under either spelling Tencent uses
    info = {
        **{k: v for k, v in GIFT_INFO.items() if k != "IconUrl"},
        icon_key: "https://www.xxx.com/xxx1.png",
    }
    # When it is parsed
    reply = reply_from(GetGiftReply, {"GiftInfo": info})
    # Then the gift is read in full
    assert isinstance(reply, GetGiftReply)
    gift = reply.gift_info
    assert gift is not None
    assert gift.gift_id == "GId1"
    assert gift.icon_url == "https://www.xxx.com/xxx1.png"
    assert gift.resource_url == "https://www.xxx.com/xxx2.png"
    assert (gift.coins, gift.level) == (10, 1)
    assert gift.extension_info == EXTENSION
    assert (gift.default_name, gift.default_desc) == ("name1", "desc1")


def test_gift_info_list_reply_reads_gifts_and_categories() -> None:
    # Given the catalogue as Tencent's console reads it from Response
    response = {
        "GiftList": [
            {
                **GIFT_INFO,
                "Name": "Rose",
                "Desc": "A rose",
                "CreateTime": 1703589922,
                "LanguageList": [{"Language": "zh-Hans", "Name": "玫瑰", "Desc": "一朵玫瑰"}],
            }
        ],
        "CategoryList": [
            {
                "CategoryId": "CId2",
                "CategoryName": "Popular",
                "GiftIdList": ["GId1"],
                "LanguageList": [{"Language": "en", "CategoryName": "Popular", "CategoryDesc": ""}],
            }
        ],
        "TotalCount": 1,
    }
    # When it is parsed
    reply = reply_from(GetGiftInfoListReply, response)
    # Then gifts, their translations and the categories holding them are read
    assert isinstance(reply, GetGiftInfoListReply)
    (gift,) = reply.gift_list
    assert (gift.gift_id, gift.name, gift.create_time) == ("GId1", "Rose", 1703589922)
    assert gift.language_list[0].name == "玫瑰"
    (category,) = reply.category_list
    assert (category.category_id, category.gift_id_list) == ("CId2", ["GId1"])
    assert category.language_list[0].category_name == "Popular"
    assert reply.total_count == 1


def test_empty_catalogue_reply_has_no_gifts() -> None:
    # Given a catalogue reply with nothing in Response
    # When it is parsed
    reply = reply_from(GetGiftInfoListReply, {})
    # Then there are no gifts and no categories
    assert isinstance(reply, GetGiftInfoListReply)
    assert (reply.gift_list, reply.category_list) == ([], [])


@pytest.mark.parametrize("key", ["GiftInfo", "Language"], ids=["as documented", "as the console reads it"])
def test_gift_language_reply_reads_the_translation(key: str) -> None:
    # Given get_gift_language's translation under either name Tencent uses
    # When it is parsed
    reply = reply_from(GetGiftLanguageReply, {key: {"Name": "name1", "Desc": "desc1"}})
    # Then the translation is read
    assert isinstance(reply, GetGiftLanguageReply)
    assert (reply.text.name, reply.text.desc) == ("name1", "desc1")


@pytest.mark.parametrize(
    "key", ["GiftCategoryInfo", "Category"], ids=["as documented", "as the console reads it"]
)
def test_gift_category_reply_reads_the_category(key: str) -> None:
    # Given get_gift_category's category under either name Tencent uses
    info = {"CategoryId": "CId2", "ExtensionInfo": EXTENSION, "DefaultName": "name1", "DefaultDesc": "desc1"}
    # When it is parsed
    reply = reply_from(GetGiftCategoryReply, {key: info})
    # Then the category is read
    assert isinstance(reply, GetGiftCategoryReply)
    category = reply.gift_category_info or reply.category
    assert category is not None
    assert (category.category_id, category.default_name, category.default_desc) == ("CId2", "name1", "desc1")
    assert category.extension_info == EXTENSION


@pytest.mark.parametrize(
    "key", ["CategoryInfo", "Language"], ids=["as documented", "as the console reads it"]
)
def test_gift_category_language_reply_reads_the_translation(key: str) -> None:
    # Given get_gift_category_language's translation under either name Tencent uses
    # When it is parsed
    reply = reply_from(GetGiftCategoryLanguageReply, {key: {"CategoryName": "name", "CategoryDesc": "desc"}})
    # Then the translation is read
    assert isinstance(reply, GetGiftCategoryLanguageReply)
    assert (reply.text.category_name, reply.text.category_desc) == ("name", "desc")


def test_translation_reply_without_a_translation_reads_as_empty_texts() -> None:
    # Given a get_gift_language reply carrying no translation
    # When it is parsed
    reply = reply_from(GetGiftLanguageReply, {})
    # Then the texts are empty rather than missing
    assert isinstance(reply, GetGiftLanguageReply)
    assert (reply.text.name, reply.text.desc) == ("", "")


def test_relations_reply_lists_the_gifts_tencent_did_not_add() -> None:
    # Given add_gift_category_relations' reply naming gifts it left out
    # When it is parsed
    reply = reply_from(AddGiftCategoryRelationsReply, {"InvalidGiftIdList": ["id3"]})
    # Then those gifts are listed, and none when Tencent names none
    assert isinstance(reply, AddGiftCategoryRelationsReply)
    assert reply.invalid_gift_id_list == ["id3"]
    assert AddGiftCategoryRelationsReply.model_validate({}).invalid_gift_id_list == []


UNKNOWN_FIELDS = [
    pytest.param(
        GetGiftCountReply, {"TotalCount": 1, "TopSender": "user1"}, "TopSender", id="get_gift_count"
    ),
    pytest.param(GetGiftReply, {"GiftInfo": GIFT_INFO, "Hint": "x"}, "Hint", id="get_gift"),
    pytest.param(GetGiftInfoListReply, {"GiftList": [], "Next": "abc"}, "Next", id="get_gift_info_list"),
    pytest.param(
        GetGiftLanguageReply, {"GiftInfo": {"Name": "n"}, "Hint": 1}, "Hint", id="get_gift_language"
    ),
    pytest.param(GetGiftCategoryReply, {"Hint": 1}, "Hint", id="get_gift_category"),
    pytest.param(GetGiftCategoryLanguageReply, {"Hint": 1}, "Hint", id="get_gift_category_language"),
    pytest.param(
        AddGiftCategoryRelationsReply, {"AddedGiftIdList": ["id1"]}, "AddedGiftIdList", id="relations"
    ),
    pytest.param(EmptyReply, {"Sequence": 7}, "Sequence", id="commands answering nothing"),
]


@pytest.mark.parametrize(("model", "response", "unknown"), UNKNOWN_FIELDS)
def test_reply_keeps_fields_tencent_adds(model: type[Reply], response: dict[str, Any], unknown: str) -> None:
    # Given a reply carrying a field the model does not know
    # When it is parsed
    reply = reply_from(model, response)
    # Then the call still succeeds and the field is kept for whoever needs it
    assert reply.model_extra is not None
    assert reply.model_extra[unknown] == response[unknown]


def test_nested_gift_keeps_fields_tencent_adds() -> None:
    # Given a gift carrying a field the model does not know
    # When get_gift's reply is parsed
    reply = reply_from(GetGiftReply, {"GiftInfo": {**GIFT_INFO, "IsEnabled": True}})
    # Then the field is kept on the gift
    assert isinstance(reply, GetGiftReply)
    assert reply.gift_info is not None
    assert reply.gift_info.model_extra == {"IsEnabled": True}
