"""The state of a room (seats, members, messages, gifts, statistics) and the RoomInfo it is made from."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from .body import Body, invalid, room_id_of, utf8_len
from .errors import ApiError
from .limits import (
    DEFAULT_MAX_MEMBER_COUNT,
    DEFAULT_MAX_SEAT_COUNT,
    MAX_CATEGORIES,
    NO_PERMISSION,
    NOTICE_MAX_BYTES,
    ROOM_NAME_MAX_BYTES,
    TAKE_SEAT_MODES,
    URL_MAX_BYTES,
)

MessageOutcome = Literal["delivered", "rejected", "dropped"]
GiftOutcome = Literal["sent", "rejected"]


# --- the state of a room --------------------------------------------------------------------------


@dataclass
class Seat:
    index: int
    member: str | None = None
    taken_disabled: bool = False
    video_disabled: bool = False
    audio_disabled: bool = False

    def wire(self) -> dict[str, Any]:
        """The seat as SeatList shows it: Member_Account only when someone sits there."""
        seat: dict[str, Any] = {"Index": self.index}
        if self.member is not None:
            seat["Member_Account"] = self.member
        seat["IsTakenDisabled"] = self.taken_disabled
        seat["IsVideoDisabled"] = self.video_disabled
        seat["IsAudioDisabled"] = self.audio_disabled
        return seat


@dataclass
class MessageRecord:
    msg_seq: int | None  # only delivered messages get a sequence number
    msg_time: int
    sender: str
    platform: str
    msg_body: list[dict[str, Any]]
    cloud_custom_data: str | None
    outcome: MessageOutcome
    error_code: int

    def wire(self) -> dict[str, Any]:
        return {
            "MsgSeq": self.msg_seq,
            "MsgTime": self.msg_time,
            "From_Account": self.sender,
            "OptPlatform": self.platform,
            "MsgBody": self.msg_body,
            "CloudCustomData": self.cloud_custom_data,
            "Outcome": self.outcome,
            "ErrorCode": self.error_code,
        }


@dataclass
class GiftRecord:
    time: int
    sender: str
    receivers: list[str]
    gift_id: str
    count: int
    coins: int  # unit price
    outcome: GiftOutcome
    error_code: int

    def wire(self) -> dict[str, Any]:
        return {
            "Time": self.time,
            "From_Account": self.sender,
            "To_Account": self.receivers,
            "GiftId": self.gift_id,
            "Count": self.count,
            "Coins": self.coins,
            "Outcome": self.outcome,
            "ErrorCode": self.error_code,
        }


@dataclass
class RoomStats:
    total_viewers: int = 0  # every entry counts, the same user entering N times counts N
    total_gifts_sent: int = 0
    total_gift_coins: int = 0
    total_likes_received: int = 0
    total_msg_count: int = 0
    gift_events: int = 0
    gifts_by_sender: dict[str, tuple[int, int]] = field(default_factory=dict)  # user -> (count, coins)

    def statistic(self) -> dict[str, int]:
        """What destroy_room answers and Live.CallbackAfterDestroyRoom carries."""
        return {
            "TotalViewers": self.total_viewers,
            "TotalGiftsSent": self.total_gifts_sent,
            "TotalGiftCoins": self.total_gift_coins,
            "TotalUniqueGiftSenders": len(self.gifts_by_sender),
            "TotalLikesReceived": self.total_likes_received,
        }

    def with_messages(self) -> dict[str, int]:
        """What get_room_stats answers."""
        return {**self.statistic(), "TotalMsgCount": self.total_msg_count}


@dataclass
class Room:
    info: dict[str, Any]  # RoomInfo in Tencent's field names
    seats: list[Seat]
    metadata: dict[str, str] = field(default_factory=dict)  # insertion-ordered
    members: dict[str, float] = field(default_factory=dict)  # online member -> entered at
    banned: dict[str, int] = field(default_factory=dict)  # account -> BannedUntil (unix s)
    muted: dict[str, int] = field(default_factory=dict)  # account -> MutedUntil (unix s)
    admins: list[str] = field(default_factory=list)
    robots: list[str] = field(default_factory=list)
    messages: list[MessageRecord] = field(default_factory=list)
    gifts: list[GiftRecord] = field(default_factory=list)
    stats: RoomStats = field(default_factory=RoomStats)
    ever_entered: bool = False  # auto-destroy only applies once someone has entered
    empty_since: float | None = None
    last_msg_seq: int = 0

    @property
    def room_id(self) -> str:
        room_id: str = self.info["RoomId"]
        return room_id

    @property
    def owner(self) -> str:
        owner: str = self.info["Owner_Account"]
        return owner

    def room_info(self) -> dict[str, Any]:
        """A fresh copy of RoomInfo (callbacks keep it after the room changes)."""
        info = dict(self.info)
        info["Category"] = list(info["Category"])
        info["ViewCount"] = self.stats.total_viewers
        return info

    def seat_list(self) -> list[dict[str, Any]]:
        return [seat.wire() for seat in self.seats]

    def seat_of(self, account: str) -> Seat | None:
        return next((seat for seat in self.seats if seat.member == account), None)

    def is_moderator(self, account: str) -> bool:
        """Owner or room admin: who may change the room from a client, and speak when all are muted."""
        return account == self.owner or account in self.admins


# --- RoomInfo: what create_room and update_room_info accept -------------------------------------

UPDATABLE = (
    "RoomName",
    "CoverURL",
    "BackgroundURL",
    "Notice",
    "IsMessageDisabled",
    "Category",
    "IsPublicVisible",
    "TakeSeatMode",
    "MaxMemberCount",
    "ActivityStatus",
    "IsUnlimitedRoomEnabled",
    "CustomInfo",
)
"""The RoomInfo fields update_room_info changes (doc 63403 and the console); others are ignored."""


def _take_seat_mode(body: Body) -> str | None:
    mode = body.opt_string("TakeSeatMode")
    if mode is not None and mode not in TAKE_SEAT_MODES:
        raise invalid(body.name("TakeSeatMode"), f"must be one of {', '.join(TAKE_SEAT_MODES)}")
    return mode


def room_info_fields(body: Body, keys: Iterable[str]) -> dict[str, Any]:
    """The given RoomInfo fields among ``keys``, each checked against Tencent's type and limit."""
    readers: dict[str, Any] = {
        "RoomName": lambda: body.opt_string("RoomName", max_bytes=ROOM_NAME_MAX_BYTES),
        "CoverURL": lambda: body.opt_string("CoverURL", max_bytes=URL_MAX_BYTES),
        "BackgroundURL": lambda: body.opt_string("BackgroundURL", max_bytes=URL_MAX_BYTES),
        "Notice": lambda: body.opt_string("Notice", max_bytes=NOTICE_MAX_BYTES),
        "IsMessageDisabled": lambda: body.opt_boolean("IsMessageDisabled"),
        "Category": lambda: (
            body.integers("Category", max_items=MAX_CATEGORIES) if body.has("Category") else None
        ),
        "IsPublicVisible": lambda: body.opt_boolean("IsPublicVisible"),
        "IsSeatEnabled": lambda: body.opt_boolean("IsSeatEnabled"),
        "TakeSeatMode": lambda: _take_seat_mode(body),
        "MaxSeatCount": lambda: body.opt_integer("MaxSeatCount", minimum=1),
        "MaxMemberCount": lambda: body.opt_integer("MaxMemberCount", minimum=1),
        "ActivityStatus": lambda: body.opt_integer("ActivityStatus"),
        "IsUnlimitedRoomEnabled": lambda: body.opt_boolean("IsUnlimitedRoomEnabled"),
        "KeepOwnerOnSeat": lambda: body.opt_boolean("KeepOwnerOnSeat"),
        "CustomInfo": lambda: body.opt_string("CustomInfo"),
        "SeatTemplate": lambda: body.opt_string("SeatTemplate", min_length=1),
    }
    values: dict[str, Any] = {}
    for key in keys:
        value = readers[key]()
        if value is not None:
            values[key] = value
    return values


def new_room_info(body: Body, default_owner: str, now: float) -> dict[str, Any]:
    room_id = room_id_of(body)
    room_type = body.string("RoomType")
    if room_type != "Live":
        # Tencent's 100006 for a non-Live room ("the room type must be Live").
        raise ApiError(NO_PERMISSION, f"{body.name('RoomType')} must be Live, got {room_type!r}")
    owner = body.opt_string("Owner_Account", min_length=1) or default_owner
    given = room_info_fields(
        body,
        (
            "SeatTemplate",
            "RoomName",
            "CoverURL",
            "BackgroundURL",
            "Notice",
            "IsMessageDisabled",
            "Category",
            "IsPublicVisible",
            "IsSeatEnabled",
            "TakeSeatMode",
            "MaxSeatCount",
            "MaxMemberCount",
            "ActivityStatus",
            "IsUnlimitedRoomEnabled",
            "KeepOwnerOnSeat",
            "CustomInfo",
        ),
    )
    info: dict[str, Any] = {
        "RoomId": room_id,
        "RoomName": given.get("RoomName", room_id),
        "RoomType": "Live",
        "Owner_Account": owner,
        "CreateTime": int(now),
    }
    if "SeatTemplate" in given:  # no default layout is documented: absent unless given
        info["SeatTemplate"] = given["SeatTemplate"]
    info |= {
        "CoverURL": given.get("CoverURL", ""),
        "BackgroundURL": given.get("BackgroundURL", ""),
        "Notice": given.get("Notice", ""),
        "IsMessageDisabled": given.get("IsMessageDisabled", False),
        "Category": given.get("Category", []),
        "IsPublicVisible": given.get("IsPublicVisible", True),
        "IsSeatEnabled": given.get("IsSeatEnabled", True),
        "TakeSeatMode": given.get("TakeSeatMode", "FreeToTake"),
        "MaxSeatCount": given.get("MaxSeatCount", DEFAULT_MAX_SEAT_COUNT),
        "MaxMemberCount": given.get("MaxMemberCount", DEFAULT_MAX_MEMBER_COUNT),
        "ActivityStatus": given.get("ActivityStatus", 0),
        "IsUnlimitedRoomEnabled": given.get("IsUnlimitedRoomEnabled", False),
        "KeepOwnerOnSeat": given.get("KeepOwnerOnSeat", False),
        "CustomInfo": given.get("CustomInfo", ""),
        "ViewCount": 0,
    }
    return info


def message_bytes(msg_body: Sequence[Mapping[str, Any]]) -> int:
    """The size Tencent's 8 KB message limit applies to: the texts of every element."""
    total = 0
    for element in msg_body:
        content = element.get("MsgContent", {})
        if isinstance(content, Mapping):
            total += sum(utf8_len(value) for value in content.values() if isinstance(value, str))
    return total


def check_msg_body(msg_body: object) -> list[dict[str, Any]]:
    if not isinstance(msg_body, list) or not msg_body:
        raise invalid("MsgBody", "must be a non-empty array")
    for index, element in enumerate(msg_body):
        if (
            not isinstance(element, dict)
            or not isinstance(element.get("MsgType"), str)
            or not isinstance(element.get("MsgContent"), dict)
        ):
            raise invalid(f"MsgBody[{index}]", "must be an object with MsgType and MsgContent")
    return json.loads(json.dumps(msg_body))  # type: ignore[no-any-return]  # a deep, JSON-clean copy
