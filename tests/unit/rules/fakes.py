"""An in-memory StateView for engine tests, and events built from Tencent's documented bodies."""

from __future__ import annotations

import copy
from typing import Any

import liveguard.memory
from liveguard.webhooks.models import Callback, parse_callback
from liveguard_local.events import CALLBACK_BODIES

ADMIN = "administrator"
ROOM = "live-room-1"
NOW = 1_800_000_000.0


class MemoryState(liveguard.memory.MemoryState):
    """The CLI's in-memory state, with shorthands to seed strikes and violations."""

    def strike(self, user: str, *, at: float, times: int = 1, room: str = ROOM) -> MemoryState:
        self.strikes.extend([(room, user, at)] * times)
        return self

    def violate(self, kind: str, *, at: float, times: int = 1, room: str = ROOM) -> MemoryState:
        self.violations.extend([(room, kind, at)] * times)
        return self


def body(command: str, **fields: Any) -> dict[str, Any]:
    """Tencent's documented body for ``command`` with ``fields`` replaced."""
    document = copy.deepcopy(CALLBACK_BODIES[command])
    document.update(fields)
    return document


def event(command: str, **fields: Any) -> Callback:
    return parse_callback(command, body(command, **fields))


def comment(text: str, *, sender: str = "viewer-7", room: str = ROOM, before: bool = True) -> Callback:
    command = "Group.CallbackBeforeSendMsg" if before else "Group.CallbackAfterSendMsg"
    return event(
        command,
        GroupId=room,
        From_Account=sender,
        Operator_Account=sender,
        MsgBody=[{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
    )


def metadata_set(values: dict[str, str], *, by: str = "viewer-7", room: str = ROOM) -> Callback:
    return event(
        "Live.CallbackAfterSetMetadata",
        RoomId=room,
        Operator_Account=by,
        Metadata=[{"Key": key, "Value": value} for key, value in values.items()],
    )


def metadata_deleted(keys: list[str], *, by: str = "viewer-7", room: str = ROOM) -> Callback:
    return event("Live.CallbackAfterDelMetadata", RoomId=room, Operator_Account=by, Keys=keys)


def gift(*, sender: str = "viewer-7", count: int = 1, coins: int = 1000, room: str = ROOM) -> Callback:
    water = {
        "From_Account": sender,
        "To_Account": ["host-1"],
        "GiftId": "rose",
        "Count": count,
        "Coins": coins,
    }
    return event("Live.CallbackBeforeSendGift", RoomId=room, Operator_Account=sender, GiftWater=water)


def room_created(*, name: str = "Chess night", notice: str | None = None, by: str = "host-1") -> Callback:
    info = copy.deepcopy(CALLBACK_BODIES["Live.CallbackAfterCreateRoom"]["RoomInfo"])
    info["RoomName"] = name
    if notice is not None:
        info["Notice"] = notice
    return event("Live.CallbackAfterCreateRoom", RoomInfo=info, Operator_Account=by)


def room_updated(*, name: str | None = None, notice: str | None = None, by: str = "host-1") -> Callback:
    info: dict[str, Any] = {"RoomId": ROOM}
    if name is not None:
        info["RoomName"] = name
    if notice is not None:
        info["Notice"] = notice
    return event("Live.CallbackAfterUpdateRoomInfo", RoomInfo=info, Operator_Account=by)


def moderation(label: str, *, room: str | None = ROOM) -> Callback:
    contact = (
        {"ContactType": 2, "ToGroupId": room} if room is not None else {"ContactType": 1, "To_Account": "u"}
    )
    return event("ContentCallback.ResultNotify", CtxcbLabel=label, ContactItem=contact)
