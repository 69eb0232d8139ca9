"""What end users do in the TUILiveKit apps, as ``POST /emulator/v1/client/<action>``.

Every body names the user and its platform: ``{"UserId": "alice", "Platform": "iOS", ...}``
(Platform defaults to Android). The change goes through the same world as the REST commands, so it
fires the same callbacks, with OptPlatform and ClientIP of that user. Each action answers what the
app would show: for a live comment, whether it was delivered, rejected (with the code) or dropped,
and its text as delivered (rewritten when moderation rewrote it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .body import Body, invalid, metadata_items, room_id_of
from .callbacks import Actor
from .errors import ApiError
from .limits import CLIENT_PLATFORMS, UNKNOWN_COMMAND
from .world import World

DEFAULT_PLATFORM = "Android"
_IDENTITY_FIELDS = ("UserId", "Platform")

ClientAction = Callable[[World, Body, Actor], dict[str, Any]]

CLIENT_ACTIONS: dict[str, ClientAction] = {}
"""Every action a user can take, by name."""


def handle_client(world: World, action: str, body: dict[str, Any], client_ip: str) -> dict[str, Any]:
    """Run one user action; unknown actions get 60009, a body without UserId 100002."""
    handler = CLIENT_ACTIONS.get(action)
    if handler is None:
        raise ApiError(UNKNOWN_COMMAND, f"no such client action: {action}")
    request = Body(body)
    user_id = request.string("UserId")
    platform = request.opt_string("Platform", min_length=1) or DEFAULT_PLATFORM
    if platform not in CLIENT_PLATFORMS:
        raise invalid("Platform", f"must be one of {', '.join(CLIENT_PLATFORMS)}")
    return handler(world, request, Actor(user_id, platform=platform, client_ip=client_ip))


def _action(name: str) -> Callable[[ClientAction], ClientAction]:
    def register(handler: ClientAction) -> ClientAction:
        CLIENT_ACTIONS[name] = handler
        return handler

    return register


def _room_fields(body: Body) -> Body:
    """The body without who is asking: what is left describes the room (RoomInfo's field names)."""
    return Body({key: value for key, value in body.as_dict().items() if key not in _IDENTITY_FIELDS})


@_action("create_room")
def _create_room(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    """The host starts a live: the room is created with the user as its owner, and the host enters."""
    info = {**_room_fields(body).as_dict(), "Owner_Account": actor.user_id}
    info.setdefault("RoomType", "Live")
    created = world.create_room(actor, Body(info))
    return {"RoomInfo": world.enter_room(actor, created["RoomId"])}


@_action("enter_room")
def _enter_room(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    return {"RoomInfo": world.enter_room(actor, room_id_of(body))}


@_action("leave_room")
def _leave_room(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    world.leave_room(actor, room_id_of(body))
    return {}


@_action("update_room_info")
def _update_room_info(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    """The owner or a room admin changes the room (RoomInfo's field names, beside RoomId)."""
    return {"RoomInfo": world.update_room_info(actor, _room_fields(body), by_user=True)}


@_action("set_room_metadata")
def _set_room_metadata(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    world.set_metadata(actor, room_id, metadata_items(body), by_user=True)
    return {}


@_action("del_room_metadata")
def _del_room_metadata(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    world.del_metadata(actor, room_id, body.strings("Keys", min_items=0), by_user=True)
    return {}


@_action("send_text_msg")
def _send_text_msg(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    """A live comment: {RoomId, Text, CloudCustomData?}. Answers the outcome and the text as delivered."""
    room_id = room_id_of(body)
    text = body.string("Text")
    cloud_custom_data = body.opt_string("CloudCustomData")
    msg_body = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    result = world.send_message(actor, room_id, msg_body, cloud_custom_data, via_rest=False)
    return {**result, "text": _text_of(result["msg_body"])}


@_action("send_gift")
def _send_gift(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    """{RoomId, GiftId, Count? (1), ReceiverList? (the owner)}: answers sent or rejected with its code."""
    room_id = room_id_of(body)
    gift_id = body.string("GiftId")
    count = body.opt_integer("Count", minimum=1) or 1
    receivers = body.opt_strings("ReceiverList") or [world.get_room_info(room_id)["Owner_Account"]]
    return world.send_gift(actor, room_id, gift_id, count, receivers)


@_action("like")
def _like(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    room_id = room_id_of(body)
    world.like(actor, room_id, body.opt_integer("Count", minimum=1) or 1)
    return {}


@_action("take_seat")
def _take_seat(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    """{RoomId, Index?}: the seat given, or the first free one; answers the seat's Index."""
    room_id = room_id_of(body)
    return {"Index": world.take_seat(actor, room_id, body.opt_integer("Index", minimum=0))}


@_action("leave_seat")
def _leave_seat(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    world.leave_seat(actor, room_id_of(body))
    return {}


@_action("destroy_room")
def _destroy_room(world: World, body: Body, actor: Actor) -> dict[str, Any]:
    """The owner ends the live (others get 100006); answers the room's Statistic."""
    return {"Statistic": world.destroy_room(actor, room_id_of(body), by_user=True)}


def _text_of(msg_body: list[dict[str, Any]]) -> str | None:
    """The comment's text as the audience sees it (None when moderation left no text element)."""
    for element in msg_body:
        if element.get("MsgType") == "TIMTextElem":
            text = element.get("MsgContent", {}).get("Text")
            return text if isinstance(text, str) else None
    return None
