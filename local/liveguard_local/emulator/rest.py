"""Tencent's REST commands, as the emulator answers them: read the body, ask the world, shape the reply.

``handle_rest`` serves ``POST /v4/<service>/<command>`` after the server has checked the URL, the
UserSig and the rate limits. It returns the envelope's ``Response`` object (``{}`` when Tencent sends
none) or raises ``ApiError`` with Tencent's code.

Bodies are checked here independently of LiveClient's request models, on purpose: the emulator is
Tencent's side, so a mistake on either side shows up in the contract tests instead of cancelling out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .body import Body, invalid, json_text, metadata_items, room_id_of
from .callbacks import Actor
from .errors import ApiError
from .limits import (
    BAN_REASON_MAX_BYTES,
    CALLBACK_EXISTS,
    CATALOGUE_ID_MAX_BYTES,
    CHAT_INVALID_PARAMETER,
    GROUP_NOT_FOUND,
    INVALID_PARAMETER,
    MAX_BAN_ACCOUNTS,
    MAX_MESSAGE_BYTES,
    MESSAGE_TOO_LARGE,
    NO_CALLBACK,
    NO_CALLBACK_TOKEN,
    ROOM_LIST_MAX_COUNT,
    ROOM_NOT_FOUND,
    UNKNOWN_COMMAND,
)
from .room import check_msg_body
from .world import World

LIVE = "live_engine_http_srv"
MIC = "room_engine_http_mic"
CONFIG = "live_config"
CHAT_GROUP = "group_open_http_svc"
CHAT_SERVICES = frozenset({CHAT_GROUP})
"""Chat's services: their replies carry their fields beside ActionStatus/ErrorCode, not in Response."""
_CHAT_CODES = {INVALID_PARAMETER: CHAT_INVALID_PARAMETER, ROOM_NOT_FOUND: GROUP_NOT_FOUND}
"""The Live codes the world raises, as Chat answers the same mistakes."""

TOKEN_MAX_CHARS = 128
MSG_DROPPED = "MsgDropByCallback"
"""MsgDropReason when the before-send callback drops a REST message (emulator choice; Tencent's
documented example is "MsgFreqCtrl", for frequency control)."""
CUSTOM_MSG_BUSINESS_ID_FIELD = "Desc"
"""send_custom_msg travels as TIMCustomElem {Data, Desc}: the BusinessId goes in Desc (emulator
choice; Tencent does not document the element it builds)."""

Handler = Callable[[World, Body, Actor], dict[str, Any]]

REST_COMMANDS: dict[tuple[str, str], Handler] = {}
"""Every (service, command) the emulator answers, to its handler."""


def handle_rest(
    world: World, service: str, command: str, body: dict[str, Any], actor: Actor
) -> dict[str, Any]:
    """Run one REST command as Tencent would; unknown commands get 60009."""
    handler = REST_COMMANDS.get((service, command))
    if handler is None:
        raise ApiError(UNKNOWN_COMMAND, f"no such command: {service}/{command}")
    return handler(world, Body(body), actor)


def _command(service: str, name: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        REST_COMMANDS[(service, name)] = handler
        return handler

    return register


# --- rooms --------------------------------------------------------------------------------------


@_command(LIVE, "create_room")
def _create_room(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    world.create_room(actor, body.object("RoomInfo"))
    return {}


@_command(LIVE, "destroy_room")
def _destroy_room(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    return {"Statistic": world.destroy_room(actor, room_id_of(body))}


@_command(LIVE, "update_room_info")
def _update_room_info(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    world.update_room_info(actor, body.object("RoomInfo"))
    return {}


@_command(LIVE, "get_room_info")
def _get_room_info(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    return {"RoomInfo": world.get_room_info(room_id_of(body))}


@_command(LIVE, "get_room_list")
def _get_room_list(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    next_cursor = body.opt_string("Next") or ""
    count = body.opt_integer("Count", minimum=1, maximum=ROOM_LIST_MAX_COUNT) or ROOM_LIST_MAX_COUNT
    body.opt_integer("SortDirection")  # accepted; its meaning is undocumented, the order stays ViewCount desc
    rooms, next_page = world.room_list(next_cursor, count)
    return {"Next": next_page, "RoomList": rooms}


# --- metadata -----------------------------------------------------------------------------------


@_command(LIVE, "set_room_metadata")
def _set_room_metadata(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    world.set_metadata(actor, room_id, metadata_items(body))
    return {}


@_command(LIVE, "del_room_metadata")
def _del_room_metadata(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    world.del_metadata(actor, room_id, body.strings("Keys", min_items=0))
    return {}


@_command(LIVE, "get_room_metadata")
def _get_room_metadata(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    return {"Metadata": world.get_metadata(room_id, body.opt_strings("Keys") or [])}


# --- members ------------------------------------------------------------------------------------


@_command(LIVE, "get_member_list")
def _get_member_list(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    members, next_page, count = world.member_list(room_id, body.opt_string("Next") or "")
    return {
        "Next": next_page,
        "MemberCount": count,
        "MemberList": [{"Member_Account": account} for account in members],
    }


@_command(LIVE, "ban_member")
def _ban_member(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    accounts = body.strings("MemberList_Account", max_items=MAX_BAN_ACCOUNTS)
    duration = body.integer("Duration", minimum=1)
    body.opt_string("Reason", max_bytes=BAN_REASON_MAX_BYTES)
    world.ban(actor, room_id, accounts, duration)
    return {}


@_command(LIVE, "unban_member")
def _unban_member(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    world.unban(actor, room_id, body.strings("MemberList_Account"))
    return {}


def _offset_and_limit(body: Body) -> tuple[int, int]:
    offset = body.opt_integer("Offset", minimum=0) or 0
    limit = body.opt_integer("Limit", minimum=1, maximum=100) or 100
    return offset, limit


@_command(LIVE, "get_banned_member_list")
def _get_banned_member_list(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    entries, next_offset = world.banned_list(room_id, *_offset_and_limit(body))
    return {"BannedAccountList": entries, "NextOffset": next_offset}


@_command(LIVE, "mute_member")
def _mute_member(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    accounts = body.strings("MemberList_Account")
    world.mute(actor, room_id, accounts, body.integer("MuteTime", minimum=0))
    return {}


@_command(LIVE, "get_muted_member_list")
def _get_muted_member_list(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    # No paging (trtc.io/document/69894): every mute in one reply; Offset or Limit are ignored.
    return {"MutedAccountList": world.muted_list(room_id_of(body))}


@_command(LIVE, "modify_admin")
def _modify_admin(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    accounts = body.strings("Admin_Account")
    world.modify_admin(actor, room_id, accounts, body.string("OpType"))
    return {}


@_command(LIVE, "get_admin_list")
def _get_admin_list(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    return {"Admin_Account": world.admin_list(room_id_of(body))}


# --- messages -----------------------------------------------------------------------------------


def _message_reply(result: dict[str, Any]) -> dict[str, Any]:
    if result["outcome"] == "rejected":
        raise ApiError(result["error_code"], result["error_info"])
    if result["outcome"] == "dropped":
        # Tencent answers success: the caller learns of the drop only from this field.
        return {"MsgDropReason": MSG_DROPPED}
    return {"MsgTime": result["msg_time"], "MsgSeq": result["msg_seq"]}


@_command(LIVE, "send_text_msg")
def _send_text_msg(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    sender = body.string("Sender_Account")
    text = body.string("TextContent", max_bytes=MAX_MESSAGE_BYTES, too_long=MESSAGE_TOO_LARGE)
    # ExtensionInfo reaches the apps (and the callbacks) as the message's CloudCustomData.
    extension_info = json_text(body, "ExtensionInfo")
    msg_body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    result = world.send_message(actor, room_id, msg_body, extension_info, via_rest=True, sender=sender)
    return _message_reply(result)


@_command(LIVE, "send_custom_msg")
def _send_custom_msg(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    sender = body.string("Sender_Account")
    business_id = body.string("BusinessId")
    data = body.string("Data", min_length=0, max_bytes=MAX_MESSAGE_BYTES, too_long=MESSAGE_TOO_LARGE)
    content = {"Data": data, CUSTOM_MSG_BUSINESS_ID_FIELD: business_id}
    msg_body = [{"MsgType": "TIMCustomElem", "MsgContent": content}]
    result = world.send_message(actor, room_id, msg_body, via_rest=True, sender=sender)
    return _message_reply(result)


@_command(CHAT_GROUP, "send_group_msg")
def _send_group_msg(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    """Chat's group message (1047/34959): {GroupId, Random, MsgBody, From_Account?, CloudCustomData?,
    MsgPriority?}. A live room's group is its RoomId. As From_Account (default: the admin), who need not
    be in the room; it fires Group.CallbackBeforeSendMsg with Operator_Account = the admin, and the
    after-callback with CloudCustomData as delivered. Chat's codes: 10004 invalid parameter, 10010 no
    such group; the reply's MsgTime and MsgSeq stand beside the envelope (``CHAT_SERVICES``)."""
    try:
        room_id = body.string("GroupId")
        body.integer("Random", minimum=0, maximum=2**32 - 1)
        sender = body.opt_string("From_Account") or actor.user_id
        cloud_custom_data = body.opt_string("CloudCustomData")
        msg_body = check_msg_body(body.as_dict().get("MsgBody"))
        result = world.send_message(actor, room_id, msg_body, cloud_custom_data, via_rest=True, sender=sender)
    except ApiError as error:
        raise ApiError(_CHAT_CODES.get(error.code, error.code), error.info) from None
    return _message_reply(result)


# --- statistics ---------------------------------------------------------------------------------


@_command(LIVE, "get_room_stats")
def _get_room_stats(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    return world.stats(room_id_of(body))


@_command(LIVE, "get_room_statistic")
def _get_room_statistic(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    return world.stats(room_id_of(body))


# --- gifts in a room ----------------------------------------------------------------------------


@_command(LIVE, "send_gift")
def _send_gift(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    gift_id = body.string("GiftId", max_bytes=CATALOGUE_ID_MAX_BYTES)
    count = body.opt_integer("Count", minimum=1) or 1
    sender = body.string("From_Account")
    receivers = body.strings("ReceiverList_Account")
    result = world.send_gift(actor, room_id, gift_id, count, receivers, sender=sender, via_rest=True)
    if result["outcome"] == "rejected":
        raise ApiError(result["error_code"], result["error_info"])
    return {}


@_command(LIVE, "get_gift_count")
def _get_gift_count(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    return world.gift_count(room_id, body.string("From_Account"))


# --- the gift catalogue -------------------------------------------------------------------------


def _catalogue(name: str, method: str) -> None:
    """Register a catalogue command: its body goes straight to the catalogue, which answers it."""

    def handler(world: World, body: Body, actor: Actor) -> dict[str, Any]:
        answer: dict[str, Any] = getattr(world.catalogue, method)(body)
        return answer

    handler.__name__ = f"_{name}"
    REST_COMMANDS[(LIVE, name)] = handler


for _name, _method in (
    ("add_gift", "add_gift"),
    ("edit_gift", "edit_gift"),
    ("get_gift", "get_gift"),
    ("del_gift", "del_gift"),
    ("get_gift_info_list", "info_list"),
    ("get_gift_language", "get_gift_language"),
    ("set_gift_language", "set_gift_language"),
    ("del_gift_language", "del_gift_language"),
    ("add_gift_category", "add_category"),
    ("edit_gift_category", "edit_category"),
    ("del_gift_category", "del_category"),
    ("get_gift_category", "get_category"),
    ("get_gift_category_language", "get_category_language"),
    ("set_gift_category_language", "set_category_language"),
    ("del_gift_category_language", "del_category_language"),
    ("add_gift_category_relations", "add_relations"),
    ("del_gift_category_relations", "del_relations"),
):
    _catalogue(_name, _method)


# --- robots and mixing -------------------------------------------------------------------------


@_command(LIVE, "add_robot")
def _add_robot(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    world.add_robots(actor, room_id, body.strings("RobotList_Account"))
    return {}


@_command(LIVE, "get_robot")
def _get_robot(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    return {"RobotList_Account": world.robots(room_id_of(body))}


@_command(LIVE, "del_robot")
def _del_robot(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    world.del_robots(actor, room_id, body.strings("RobotList_Account"))
    return {}


@_command(LIVE, "resume_mcu_task")
def _resume_mcu_task(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    # No mixing is emulated: resuming succeeds for any room that exists.
    world.check_room(room_id_of(body))
    return {}


# --- seats --------------------------------------------------------------------------------------


@_command(MIC, "get_seat_list")
def _get_seat_list(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    return {"SeatList": world.seat_list(room_id_of(body))}


@_command(MIC, "pick_user_on_seat")
def _pick_user_on_seat(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    account = body.string("Member_Account")
    world.pick_user_on_seat(actor, room_id, account, body.integer("Index", minimum=0))
    return {}


@_command(MIC, "kick_user_off_seat")
def _kick_user_off_seat(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    world.kick_user_off_seat(actor, room_id, body.string("Member_Account"))
    return {}


@_command(MIC, "lock_seat")
def _lock_seat(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    index = body.integer("Index", minimum=0)
    world.lock_seat(
        actor,
        room_id,
        index,
        forbid_taken=body.opt_boolean("ForbidTaken"),
        forbid_video=body.opt_boolean("ForbidVideo"),
        forbid_audio=body.opt_boolean("ForbidAudio"),
    )
    return {}


@_command(MIC, "switch_seat")
def _switch_seat(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    account = body.string("Member_Account")
    world.switch_seat(actor, room_id, account, body.integer("ToIndex", minimum=0))
    return {}


# --- webhook configuration ----------------------------------------------------------------------


def _callback_config(body: Body) -> tuple[str, list[str]]:
    url = body.string("Url")
    if not url.startswith(("http://", "https://")):
        raise invalid("Url", "must start with http:// or https://")
    return url, body.strings("CallbackCommandList", min_items=0)


@_command(CONFIG, "set_callback")
def _set_callback(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    url, commands = _callback_config(body)
    if world.hooks.get_callback() is not None:
        raise ApiError(CALLBACK_EXISTS, "the webhook configuration exists already: use update_callback")
    world.hooks.set_callback(url, commands)
    return {}


@_command(CONFIG, "update_callback")
def _update_callback(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    url, commands = _callback_config(body)
    if world.hooks.get_callback() is None:
        raise ApiError(NO_CALLBACK, "no webhook configuration exists: create it with set_callback")
    world.hooks.set_callback(url, commands)
    return {}


@_command(CONFIG, "get_callback")
def _get_callback(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    current = world.hooks.get_callback()
    if current is None:
        raise ApiError(NO_CALLBACK, "no webhook configuration exists: create it with set_callback")
    url, commands = current
    return {"Url": url, "CallbackCommandList": commands}


@_command(CONFIG, "set_callback_token")
def _set_callback_token(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    token = body.opt_string("Token", min_length=1)
    if token is not None and len(token) > TOKEN_MAX_CHARS:
        raise invalid("Token", f"must be 1 to {TOKEN_MAX_CHARS} characters")
    enabled = body.opt_boolean("IsTokenEnable")
    if token is None and enabled is None:
        raise invalid("the body", "must give Token, IsTokenEnable or both")
    current, _ = world.hooks.get_token()
    if current is None:  # the first time, both fields are required
        if token is None:
            raise invalid("Token", "is required the first time the token is set")
        if enabled is None:
            raise invalid("IsTokenEnable", "is required the first time the token is set")
    world.hooks.set_token(token, enabled)
    return {}


@_command(CONFIG, "get_callback_token")
def _get_callback_token(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    token, enabled = world.hooks.get_token()
    if token is None:
        raise ApiError(NO_CALLBACK_TOKEN, "no webhook token is set: set one with set_callback_token")
    return {"Token": token, "IsTokenEnable": enabled}
