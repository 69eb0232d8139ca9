"""Tencent's webhook callbacks: one model per CallbackCommand, and ``parse_callback`` to read them.

Every callback in the reference (§2, §6.1, §6.3) has a frozen model whose ``callback_command`` is a
``Literal`` (they form the discriminated union ``KnownCallback``); any other command becomes an
``UnknownCallback`` that keeps the body as it came, so a callback Tencent adds tomorrow is queued,
not refused. Every model answers ``room_key``, ``operator`` and ``event_time_ms`` the same way, so the
ingress can group, recognise our own echoes and order events without knowing the command.

Tolerant where Tencent is inconsistent: integers may come as numeric strings (``"EventTime":
"1670574414123"``), accounts as bare numbers (``"Owner_Account": 144115216631667826``), ModifyAdmin's
operation as ``opType`` or ``OpType``; unknown fields are kept (``model_extra``); what does not identify
the event is optional. Strict where it matters: the room (RoomId, GroupId, a battle's rooms) is
1 to 48 bytes of UTF-8, metadata, member, seat and message lists are shaped as documented, and the
subjects of the two before-callbacks (a gift, a message body) are complete, since a verdict is made
on them. A refusal is a ``CallbackInvalid`` naming the field, never echoing the input.

Only pydantic is imported: this module is on the ingress's cold-start path.
"""

from __future__ import annotations

import functools
import re
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Literal, cast, get_args

from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

from liveguard.webhooks.commands import BEFORE_COMMANDS

__all__ = [
    "BEFORE_COMMANDS",
    "BODY",
    "KNOWN_COMMANDS",
    "AdminsModified",
    "BattleCreated",
    "BattleEnded",
    "BattleRoom",
    "BattleStarted",
    "Callback",
    "CallbackInvalid",
    "CallbackModel",
    "ContactItem",
    "DestroyCause",
    "FollowAdded",
    "FollowDeleted",
    "FollowEntry",
    "GiftToSend",
    "GiftWater",
    "KnownCallback",
    "Member",
    "MemberEventCause",
    "MemberEventType",
    "MemberStateChanged",
    "MessageElement",
    "MessageSent",
    "MessageToSend",
    "MetadataItem",
    "ModerationResult",
    "OwnerChanged",
    "RoomCountNearQuota",
    "RoomCreated",
    "RoomDestroyed",
    "RoomInfo",
    "RoomInfoUpdated",
    "RoomMetadataDeleted",
    "RoomMetadataSet",
    "RoomStatistic",
    "Seat",
    "SeatsChanged",
    "UnknownCallback",
    "build_validators",
    "is_command_name",
    "parse_callback",
]

BODY = "<body>"
"""``CallbackInvalid.field`` when the body as a whole is wrong (not a JSON object)."""

MAX_ROOM_ID_BYTES = 48
MAX_METADATA_KEY_BYTES = 50


# --- errors ----------------------------------------------------------------------------------------


class CallbackInvalid(Exception):  # noqa: N818 - the domain's word: the callback is invalid
    """A callback body we refuse: ``field`` is a dotted path (``Metadata.0.Key``, or ``<body>``) and
    ``reason`` one short sentence. Neither ever holds the input's values: bodies can be huge or hostile,
    and this message ends up in logs and in the 400 answer."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    @classmethod
    def from_validation_error(cls, error: ValidationError) -> CallbackInvalid:
        """The first error pydantic found (locations hold only our aliases and list indices)."""
        first = error.errors(include_url=False, include_context=False, include_input=False)[0]
        field = ".".join(str(part) for part in first["loc"]) or BODY
        return cls(field, first["msg"])


# --- field types -----------------------------------------------------------------------------------


def _utf8_size(value: str) -> int:
    try:
        return len(value.encode("utf-8"))
    except UnicodeEncodeError:  # a lone surrogate, which JSON's \ud800 escapes can carry
        raise PydanticCustomError("unicode", "must be valid Unicode text") from None


def _bytes_between(low: int, high: int) -> AfterValidator:
    """Tencent's limits are in UTF-8 bytes, not characters."""

    def check(value: str) -> str:
        size = _utf8_size(value)
        if not low <= size <= high:
            raise PydanticCustomError(
                "utf8_size",
                "must be {low} to {high} bytes (UTF-8), got {size}",
                {"low": low, "high": high, "size": size},
            )
        return value

    return AfterValidator(check)


def _no_bool(value: object) -> object:
    # pydantic's lax int takes True as 1; a JSON true where Tencent documents a number is a mistake.
    if isinstance(value, bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


def _number_to_str(value: object) -> object:
    # Tencent sends some accounts and ids as bare numbers (e.g. Owner_Account 144115216631667826).
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _string_is_one_item(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _is_room_id(value: str) -> bool:
    try:
        return 1 <= len(value.encode("utf-8")) <= MAX_ROOM_ID_BYTES
    except UnicodeEncodeError:
        return False


RoomId = Annotated[str, _bytes_between(1, MAX_ROOM_ID_BYTES)]
"""A room (or its group): 1 to 48 bytes, as Tencent creates them; the ingress groups events by it."""
MetadataKey = Annotated[str, _bytes_between(1, MAX_METADATA_KEY_BYTES)]
Account = Annotated[str, BeforeValidator(_number_to_str)]
"""A UserID, which Tencent may send as a number."""
Id = Annotated[str, BeforeValidator(_number_to_str)]
"""An identifier (GiftId, MsgId, BattleId) that might come as a number."""
Int = Annotated[int, BeforeValidator(_no_bool), Field(ge=-(2**63), le=2**64 - 1)]
"""An integer, also from a numeric string ("1670574414123"), as Tencent sends both; Tencent's integers
are 64-bit, so a larger one is refused rather than carried into arithmetic and storage."""
Count = Annotated[Int, Field(ge=0)]


class _Open:
    """Marks an enum-like field as open: a value Tencent documents is read as its StrEnum member, any
    other string is kept as it came (a value Tencent adds later must not turn an authentic callback
    into a 400) and reported by ``CallbackModel.unknown_values`` so the ingress can count it."""

    __slots__ = ()


OPEN = _Open()


def _open[E: StrEnum](enum: type[E], *, optional: bool = False) -> PlainValidator:
    """Read a string as ``enum``'s member when it is one, else as the string; refuse what is no string
    (a null too, unless the field is ``optional``)."""

    def read(value: object) -> E | str | None:
        if value is None and optional:
            return None
        if not isinstance(value, str):
            raise PydanticCustomError("string_type", "Input should be a valid string")
        try:
            return enum(value)
        except ValueError:
            return value

    return PlainValidator(read)


class MemberEventType(StrEnum):
    """Live.CallbackAfterMemberStateChanged EventType (64424)."""

    ONLINE = "Online"
    OFFLINE = "Offline"


class MemberEventCause(StrEnum):
    """Live.CallbackAfterMemberStateChanged EventCause: trtc.io/document/64424 lists five (older copies
    of the page four, without Kicked)."""

    ENTER = "Enter"
    LEAVE = "Leave"
    HEARTBEAT_INTERRUPT = "HeartbeatInterrupt"
    HEARTBEAT_RECOVER = "HeartbeatRecover"
    KICKED = "Kicked"
    """Kicked or banned by the room's owner or an admin (our own ban_member comes back as this)."""


class DestroyCause(StrEnum):
    """Live.CallbackAfterDestroyRoom EventType (64423)."""

    BY_USER = "DestroyByUser"
    BY_SYSTEM = "DestroyBySystem"


# --- shared bases ----------------------------------------------------------------------------------


class WireModel(BaseModel):
    """A callback body or a part of one: Tencent's names at the wire, Python names inside, unknown
    fields kept, and validation errors that never repeat the input."""

    # defer_build: a cold start pays for the validators of the commands it meets, not for all of them
    # (measured: 25 ms at import and ~2 ms per command met, against 70 ms up front); see build_validators.
    model_config = ConfigDict(
        populate_by_name=True, frozen=True, extra="allow", hide_input_in_errors=True, defer_build=True
    )


class CallbackModel(WireModel):
    """What every documented callback may carry. ``room_key`` is overridden where there is a room."""

    command: ClassVar[str]
    """This model's CallbackCommand (the value of its ``callback_command`` Literal)."""

    operator_account: Account | None = Field(default=None, alias="Operator_Account")
    event_time: Int | None = Field(default=None, alias="EventTime")

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        field = cls.model_fields.get("callback_command")
        if field is not None:
            (cls.command,) = get_args(field.annotation)

    @classmethod
    @functools.cache
    def _open_fields(cls) -> tuple[tuple[str, str], ...]:
        """(attribute, Tencent's name) of every field marked ``OPEN``."""
        return tuple(
            (name, field.alias or name)
            for name, field in cls.model_fields.items()
            if any(isinstance(mark, _Open) for mark in field.metadata)
        )

    def unknown_values(self) -> dict[str, str]:
        """Enum-like fields holding a value this model does not know: Tencent's field name -> value."""
        found: dict[str, str] = {}
        for name, alias in self._open_fields():
            value = getattr(self, name)
            if isinstance(value, str) and not isinstance(value, StrEnum):
                found[alias] = value
        return found

    @property
    def room_key(self) -> str | None:
        """The room the event belongs to (for Group.* its GroupId, for battles the initiating room);
        None when the event concerns no room."""
        return None

    @property
    def operator(self) -> str | None:
        """Operator_Account: who caused the event (our admin when we did, over REST)."""
        return self.operator_account

    @property
    def event_time_ms(self) -> int | None:
        """EventTime: Unix milliseconds, when Tencent sends it."""
        return self.event_time


# --- rooms -----------------------------------------------------------------------------------------


class RoomInfo(WireModel):
    """A room as a callback reports it. DestroyRoom's copy has no RoomId; every field may be missing."""

    room_id: RoomId | None = Field(default=None, alias="RoomId")
    room_name: str | None = Field(default=None, alias="RoomName")
    room_type: str | None = Field(default=None, alias="RoomType")
    owner_account: Account | None = Field(default=None, alias="Owner_Account")
    max_member_count: Int | None = Field(default=None, alias="MaxMemberCount")
    is_message_disabled: bool | None = Field(default=None, alias="IsMessageDisabled")
    custom_info: str | None = Field(default=None, alias="CustomInfo")
    is_seat_enabled: bool | None = Field(default=None, alias="IsSeatEnabled")
    # Older replies send TakeSeatMode as a number.
    take_seat_mode: Id | None = Field(default=None, alias="TakeSeatMode")
    max_seat_count: Int | None = Field(default=None, alias="MaxSeatCount")
    create_time: Int | None = Field(default=None, alias="CreateTime")
    is_public_visible: bool | None = Field(default=None, alias="IsPublicVisible")
    cover_url: str | None = Field(default=None, alias="CoverURL")
    background_url: str | None = Field(default=None, alias="BackgroundURL")
    category: list[Int] | None = Field(default=None, alias="Category")
    activity_status: Int | None = Field(default=None, alias="ActivityStatus")
    view_count: Int | None = Field(default=None, alias="ViewCount")


class IdentifiedRoomInfo(RoomInfo):
    """RoomInfo where the callback's only RoomId is inside it (CreateRoom, UpdateRoomInfo)."""

    room_id: RoomId = Field(alias="RoomId")


class RoomStatistic(WireModel):
    total_viewers: Int | None = Field(default=None, alias="TotalViewers")
    total_gifts_sent: Int | None = Field(default=None, alias="TotalGiftsSent")
    total_gift_coins: Int | None = Field(default=None, alias="TotalGiftCoins")
    total_unique_gift_senders: Int | None = Field(default=None, alias="TotalUniqueGiftSenders")
    total_likes_received: Int | None = Field(default=None, alias="TotalLikesReceived")


class RoomCreated(CallbackModel):
    """Live.CallbackAfterCreateRoom (64422): a room was created, by a client or over REST."""

    callback_command: Literal["Live.CallbackAfterCreateRoom"] = Field(alias="CallbackCommand")
    room_info: IdentifiedRoomInfo = Field(alias="RoomInfo")

    @property
    def room_key(self) -> str:
        return self.room_info.room_id


class RoomDestroyed(CallbackModel):
    """Live.CallbackAfterDestroyRoom (64423): explicitly (DestroyByUser) or when left empty
    (DestroyBySystem); carries the room's last RoomInfo and Statistic."""

    callback_command: Literal["Live.CallbackAfterDestroyRoom"] = Field(alias="CallbackCommand")
    room_id: RoomId = Field(alias="RoomId")
    event_type: Annotated[DestroyCause | str | None, _open(DestroyCause, optional=True), OPEN] = Field(
        default=None, alias="EventType"
    )
    room_info: RoomInfo | None = Field(default=None, alias="RoomInfo")
    statistic: RoomStatistic | None = Field(default=None, alias="Statistic")

    @property
    def room_key(self) -> str:
        return self.room_id


class RoomInfoUpdated(CallbackModel):
    """Live.CallbackAfterUpdateRoomInfo (67938). Whether RoomInfo is whole or only the changed fields
    is unverified: read absent fields as unknown, not as cleared."""

    callback_command: Literal["Live.CallbackAfterUpdateRoomInfo"] = Field(alias="CallbackCommand")
    room_info: IdentifiedRoomInfo = Field(alias="RoomInfo")

    @property
    def room_key(self) -> str:
        return self.room_info.room_id


class MetadataItem(WireModel):
    key: MetadataKey = Field(alias="Key")
    value: str = Field(alias="Value")


class RoomMetadataSet(CallbackModel):
    """Live.CallbackAfterSetMetadata (68222): keys added or overwritten. Our own set_room_metadata
    calls come back here too, with our admin as Operator_Account."""

    callback_command: Literal["Live.CallbackAfterSetMetadata"] = Field(alias="CallbackCommand")
    room_id: RoomId = Field(alias="RoomId")
    metadata: list[MetadataItem] = Field(default_factory=list, alias="Metadata")

    @property
    def room_key(self) -> str:
        return self.room_id

    def as_dict(self) -> dict[str, str]:
        """The keys set and their values (a key given twice: the last value, as applied in order)."""
        return {item.key: item.value for item in self.metadata}


class RoomMetadataDeleted(CallbackModel):
    """Live.CallbackAfterDelMetadata (68223): keys removed from the room's metadata."""

    callback_command: Literal["Live.CallbackAfterDelMetadata"] = Field(alias="CallbackCommand")
    room_id: RoomId = Field(alias="RoomId")
    keys: list[str] = Field(default_factory=list, alias="Keys")

    @property
    def room_key(self) -> str:
        return self.room_id

    def as_dict(self) -> dict[str, None]:
        """The keys deleted, each to None, so a set and a delete apply alike: ``state.update(...)``
        then dropping the Nones."""
        return dict.fromkeys(self.keys)


class RoomCountNearQuota(CallbackModel):
    """Live.CallbackAfterCreateRoomReachingThreshold (70485): the app's room count reached 70% of
    its quota. An app-wide alert: no room."""

    callback_command: Literal["Live.CallbackAfterCreateRoomReachingThreshold"] = Field(
        alias="CallbackCommand"
    )
    cur_room_count: Int | None = Field(default=None, alias="CurRoomCount")
    max_room_count: Int | None = Field(default=None, alias="MaxRoomCount")


# --- users -----------------------------------------------------------------------------------------


class Member(WireModel):
    member_account: Account = Field(alias="Member_Account")


class MemberStateChanged(CallbackModel):
    """Live.CallbackAfterMemberStateChanged (64424): members entered, left, were kicked or banned, lost
    or regained their heartbeat; MemberList may batch several. (The doc's query table spells it
    without "After"; the body's CallbackCommand names the event.)"""

    callback_command: Literal["Live.CallbackAfterMemberStateChanged"] = Field(alias="CallbackCommand")
    room_id: RoomId = Field(alias="RoomId")
    event_type: Annotated[MemberEventType | str, _open(MemberEventType), OPEN] = Field(alias="EventType")
    event_cause: Annotated[MemberEventCause | str | None, _open(MemberEventCause, optional=True), OPEN] = (
        Field(default=None, alias="EventCause")
    )
    member_list: list[Member] = Field(default_factory=list, alias="MemberList")

    @property
    def room_key(self) -> str:
        return self.room_id

    @property
    def accounts(self) -> list[str]:
        return [member.member_account for member in self.member_list]


class OwnerChanged(CallbackModel):
    """Live.CallbackAfterChangeOwner (72553)."""

    callback_command: Literal["Live.CallbackAfterChangeOwner"] = Field(alias="CallbackCommand")
    room_id: RoomId = Field(alias="RoomId")
    current_owner_account: Account | None = Field(default=None, alias="CurrentOwner_Account")
    original_owner_account: Account | None = Field(default=None, alias="OriginalOwner_Account")

    @property
    def room_key(self) -> str:
        return self.room_id


class AdminsModified(CallbackModel):
    """Live.CallbackAfterModifyAdmin (72554). The webhook spells the operation ``opType`` (REST:
    ``OpType``); both are read into ``op_type``, kept as sent ("add" or "delete" documented)."""

    callback_command: Literal["Live.CallbackAfterModifyAdmin"] = Field(alias="CallbackCommand")
    room_id: RoomId = Field(alias="RoomId")
    admin_account: list[Account] = Field(default_factory=list, alias="Admin_Account")
    op_type: str | None = Field(
        default=None, validation_alias=AliasChoices("opType", "OpType"), serialization_alias="opType"
    )

    @property
    def room_key(self) -> str:
        return self.room_id


# --- seats -----------------------------------------------------------------------------------------


class Seat(WireModel):
    index: Int = Field(alias="Index")
    member_account: Account | None = Field(default=None, alias="Member_Account")  # absent: seat empty
    is_taken_disabled: bool | None = Field(default=None, alias="IsTakenDisabled")
    is_video_disabled: bool | None = Field(default=None, alias="IsVideoDisabled")
    is_audio_disabled: bool | None = Field(default=None, alias="IsAudioDisabled")


class SeatsChanged(CallbackModel):
    """Mic.CallbackAfterSeatInfoChanged (64425): the room's seats after a change. (RoomKit's variant
    also carries Operator_Account.)"""

    callback_command: Literal["Mic.CallbackAfterSeatInfoChanged"] = Field(alias="CallbackCommand")
    room_id: RoomId = Field(alias="RoomId")
    seat_list: list[Seat] = Field(default_factory=list, alias="SeatList")

    @property
    def room_key(self) -> str:
        return self.room_id


# --- battles (PK) ----------------------------------------------------------------------------------


class BattleRoom(WireModel):
    room_id: RoomId = Field(alias="RoomId")
    owner_account: Account | None = Field(default=None, alias="Owner_Account")
    score: Int | None = Field(default=None, alias="Score")


class BattleCreated(CallbackModel):
    """Live.CallbackAfterCreateBattle (68259): FromRoomId invites ToRoomIdList. Timeout and Duration
    in milliseconds."""

    callback_command: Literal["Live.CallbackAfterCreateBattle"] = Field(alias="CallbackCommand")
    battle_id: Id = Field(alias="BattleId")
    from_room_id: RoomId = Field(alias="FromRoomId")
    to_room_id_list: list[RoomId] = Field(default_factory=list, alias="ToRoomIdList")
    timeout: Int | None = Field(default=None, alias="Timeout")
    duration: Int | None = Field(default=None, alias="Duration")
    need_response: bool | None = Field(default=None, alias="NeedResponse")
    extension_info: str | None = Field(default=None, alias="ExtensionInfo")

    @property
    def room_key(self) -> str:
        return self.from_room_id


class BattleStarted(CallbackModel):
    """Live.CallbackAfterStartBattle (68260). CreateTime and StartTime in seconds."""

    callback_command: Literal["Live.CallbackAfterStartBattle"] = Field(alias="CallbackCommand")
    battle_id: Id = Field(alias="BattleId")
    from_room_info: BattleRoom = Field(alias="FromRoomInfo")
    to_room_list: list[BattleRoom] = Field(default_factory=list, alias="ToRoomList")
    duration: Int | None = Field(default=None, alias="Duration")
    create_time: Int | None = Field(default=None, alias="CreateTime")
    start_time: Int | None = Field(default=None, alias="StartTime")

    @property
    def room_key(self) -> str:
        return self.from_room_info.room_id


class BattleEnded(BattleStarted):
    """Live.CallbackAfterEndBattle (68261): the start's fields, plus EndTime and OpType (0 time up,
    1 every streamer left after the start, 2 created but never started; kept as an int, so a new
    reason is not refused)."""

    callback_command: Literal["Live.CallbackAfterEndBattle"] = Field(alias="CallbackCommand")  # type: ignore[assignment]
    end_time: Int | None = Field(default=None, alias="EndTime")
    op_type: Int | None = Field(default=None, alias="OpType")


# --- gifts -----------------------------------------------------------------------------------------


class GiftWater(WireModel):
    """One gift sending: Count gifts of GiftId, each worth Coins, from From_Account to To_Account."""

    from_account: Account = Field(alias="From_Account")
    to_account: list[Account] = Field(alias="To_Account")
    gift_id: Id = Field(alias="GiftId")
    count: Count = Field(alias="Count")
    coins: Count = Field(alias="Coins")
    time: Int | None = Field(default=None, alias="Time")  # Unix seconds


class GiftToSend(CallbackModel):
    """Live.CallbackBeforeSendGift (72210), synchronous: our answer allows (0) or blocks (1) the gift,
    and silence for 2 s blocks it unless Live.CallbackBeforeCallBackNotBlock is configured."""

    callback_command: Literal["Live.CallbackBeforeSendGift"] = Field(alias="CallbackCommand")
    room_id: RoomId = Field(alias="RoomId")
    gift_water: GiftWater = Field(alias="GiftWater")

    @property
    def room_key(self) -> str:
        return self.room_id

    @property
    def coins_total(self) -> int:
        """Count x Coins. Doc 72210 defines Coins as "单个礼物价值", the value of one gift (the English
        page's "gift value" is ambiguous; its example has Count 1), and the emulator agrees."""
        return self.gift_water.count * self.gift_water.coins


# --- messages (barrage) ----------------------------------------------------------------------------


class MessageElement(WireModel):
    """One element of a MsgBody: TIMTextElem {Text}, TIMCustomElem {Data, Desc, Ext}, or others."""

    msg_type: str = Field(alias="MsgType")
    msg_content: dict[str, Any] = Field(alias="MsgContent")

    @field_validator("msg_content")
    @classmethod
    def _text_is_text(cls, content: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        # A text element whose Text is not a string would slip past a word list unseen.
        if info.data.get("msg_type") == "TIMTextElem" and not isinstance(content.get("Text", ""), str):
            raise PydanticCustomError("text_type", "a TIMTextElem's Text must be a string")
        return content

    @property
    def text(self) -> str | None:
        """The Text of a TIMTextElem, None for other elements."""
        if self.msg_type != "TIMTextElem":
            return None
        text: str = self.msg_content.get("Text", "")
        return text


class _GroupMessage(CallbackModel):
    """A message to the room's group (GroupId = RoomId for TUILiveKit rooms). ``Type`` is "Live" per
    the Live docs but unverified in production: not relied on."""

    group_id: RoomId = Field(alias="GroupId")
    group_type: str | None = Field(default=None, alias="Type")
    from_account: Account | None = Field(default=None, alias="From_Account")
    random: Int | None = Field(default=None, alias="Random")
    msg_id: Id | None = Field(default=None, alias="MsgId")
    msg_body: list[MessageElement] = Field(alias="MsgBody")
    cloud_custom_data: str | None = Field(default=None, alias="CloudCustomData")

    @property
    def room_key(self) -> str:
        return self.group_id

    def texts(self) -> list[str]:
        """The Text of every TIMTextElem, in order."""
        return [text for element in self.msg_body if (text := element.text) is not None]


class MessageToSend(_GroupMessage):
    """Group.CallbackBeforeSendMsg (74347), synchronous: 0 delivers (possibly rewritten), 1 rejects,
    2 drops silently; silence for 2 s delivers."""

    callback_command: Literal["Group.CallbackBeforeSendMsg"] = Field(alias="CallbackCommand")


class MessageSent(_GroupMessage):
    """Group.CallbackAfterSendMsg (74348): a delivered message, with its MsgSeq and MsgTime (seconds)."""

    callback_command: Literal["Group.CallbackAfterSendMsg"] = Field(alias="CallbackCommand")
    msg_seq: Int | None = Field(default=None, alias="MsgSeq")
    msg_time: Int | None = Field(default=None, alias="MsgTime")


# --- follows ---------------------------------------------------------------------------------------


class FollowEntry(WireModel):
    to_account: Account | None = Field(default=None, alias="To_Account")


class FollowAdded(CallbackModel):
    """Follow.CallbackAfterFollowAdd (74356): From_Account now follows each FollowList entry. No room."""

    callback_command: Literal["Follow.CallbackAfterFollowAdd"] = Field(alias="CallbackCommand")
    from_account: Account | None = Field(default=None, alias="From_Account")
    follow_list: list[FollowEntry] = Field(default_factory=list, alias="FollowList")


class FollowDeleted(CallbackModel):
    """Follow.CallbackAfterFollowDelete (trtc.io/document/70356): From_Account no longer follows the
    accounts in the top-level To_Account array (unlike FollowAdded, there is no FollowList). No room."""

    callback_command: Literal["Follow.CallbackAfterFollowDelete"] = Field(alias="CallbackCommand")
    from_account: Account | None = Field(default=None, alias="From_Account")
    to_account: list[Account] = Field(default_factory=list, alias="To_Account")


# --- content moderation ----------------------------------------------------------------------------


class ContactItem(WireModel):
    """Where the moderated content went: ContactType 1 a user (To_Account), 2 a group (ToGroupId)."""

    contact_type: Int | None = Field(default=None, alias="ContactType")
    to_account: Account | None = Field(default=None, alias="To_Account")
    to_group_id: RoomId | None = Field(default=None, alias="ToGroupId")


class ModerationResult(CallbackModel):
    """ContentCallback.ResultNotify (Chat 1047/78240): a cloud moderation verdict, by default only for
    violations. Field types beyond the reference's list are unverified, so they are kept loose."""

    callback_command: Literal["ContentCallback.ResultNotify"] = Field(alias="CallbackCommand")
    scene: str | None = Field(default=None, alias="Scene")
    sdk_app_id: Int | None = Field(default=None, alias="SdkAppId")
    from_account: Account | None = Field(default=None, alias="From_Account")
    contact_item: ContactItem | None = Field(default=None, alias="ContactItem")
    content_type: str | None = Field(default=None, alias="ContentType")
    # An Array on 1047/78240 (and its example), a String on 1047/77840: a string is read as one item.
    text_content: Annotated[list[Any], BeforeValidator(_string_is_one_item)] = Field(
        default_factory=list, alias="TextContent"
    )
    msg_id: Id | None = Field(default=None, alias="MsgID")
    ctxcb_result: Any = Field(default=None, alias="CtxcbResult")
    ctxcb_request_id: Id | None = Field(default=None, alias="CtxcbRequestId")
    ctxcb_keywords: list[Any] = Field(default_factory=list, alias="CtxcbKeywords")
    ctxcb_suggestion: str | None = Field(default=None, alias="CtxcbSuggestion")
    ctxcb_label: str | None = Field(default=None, alias="CtxcbLabel")
    ctxcb_sub_label: str | None = Field(default=None, alias="CtxcbSubLabel")
    cloud_custom_data: str | None = Field(default=None, alias="CloudCustomData")

    @property
    def room_key(self) -> str | None:
        """The group the content was sent to (a room, for barrage), None for one-to-one content."""
        return self.contact_item.to_group_id if self.contact_item is not None else None


# --- unknown commands ------------------------------------------------------------------------------


class UnknownCallback(WireModel):
    """A command we do not model (yet): the body kept as it came, in ``model_extra``. Never refused,
    so a callback Tencent adds does not break the endpoint; its facts are read where they look like
    the documented ones, and are None otherwise."""

    callback_command: str = Field(alias="CallbackCommand")

    def unknown_values(self) -> dict[str, str]:
        """Nothing to report: an unknown command is counted as a whole (UnknownCommand)."""
        return {}

    def _extra(self, name: str) -> object:
        return (self.model_extra or {}).get(name)

    @property
    def room_key(self) -> str | None:
        for name in ("RoomId", "GroupId"):
            value = self._extra(name)
            if isinstance(value, str) and _is_room_id(value):
                return value
        return None

    @property
    def operator(self) -> str | None:
        value = _number_to_str(self._extra("Operator_Account"))
        return value if isinstance(value, str) else None

    @property
    def event_time_ms(self) -> int | None:
        value = self._extra("EventTime")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
            return int(value)
        return None


# --- the union and the parser ----------------------------------------------------------------------

type KnownCallback = Annotated[
    RoomCreated
    | RoomDestroyed
    | RoomInfoUpdated
    | RoomMetadataSet
    | RoomMetadataDeleted
    | RoomCountNearQuota
    | MemberStateChanged
    | OwnerChanged
    | AdminsModified
    | SeatsChanged
    | BattleCreated
    | BattleStarted
    | BattleEnded
    | GiftToSend
    | MessageToSend
    | MessageSent
    | FollowAdded
    | FollowDeleted
    | ModerationResult,
    Field(discriminator="callback_command"),
]
"""Every documented callback, told apart by CallbackCommand (usable as a pydantic field type)."""

type Callback = KnownCallback | UnknownCallback

_MODELS: dict[str, type[CallbackModel]] = {
    model.command: model for model in get_args(get_args(KnownCallback.__value__)[0])
}

KNOWN_COMMANDS: frozenset[str] = frozenset(_MODELS)


_COMMAND_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}(\.[A-Za-z][A-Za-z0-9_]{0,63}){1,3}")


def is_command_name(value: object) -> bool:
    """A CallbackCommand as Tencent spells them (``Live.CallbackAfterCreateRoom``): a namespace and a
    name, ASCII letters, digits and underscores in two to four dotted parts. Anything else is not a
    command, whatever it claims."""
    return isinstance(value, str) and _COMMAND_NAME.fullmatch(value) is not None


def parse_callback(command: str, body: object) -> Callback:
    """Model a callback body. ``command`` is the query's CallbackCommand. The body's, when present,
    names the event: Tencent's own pages show the two differing (the member-state page's query says
    ``Live.CallbackMemberStateChanged``, the metadata-delete page's ``Live.CallbackAfterSetMetadata``)
    while the body always carries the event's documented name, the one its fields match. A body without
    one takes the query's. The caller compares ``callback_command`` with the query to count mismatches.
    A known command is validated by its model, any other becomes an UnknownCallback. Raises
    CallbackInvalid, and nothing else."""
    if not command:
        raise CallbackInvalid("CallbackCommand", "is missing from the query")
    if not isinstance(body, dict):
        raise CallbackInvalid(BODY, "must be a JSON object")
    named = body.get("CallbackCommand", command)
    if not is_command_name(named):
        raise CallbackInvalid("CallbackCommand", "is not a callback command name")
    if "CallbackCommand" not in body:
        body = {**body, "CallbackCommand": named}
    model = _MODELS.get(named, UnknownCallback)
    try:
        # _MODELS maps each command to the member of KnownCallback whose Literal it is.
        return cast("Callback", model.model_validate(body))
    except ValidationError as error:
        raise CallbackInvalid.from_validation_error(error) from error


def build_validators() -> None:
    """Build every model's validator now rather than on its command's first callback: for an init
    phase that is paid for once (a SnapStart snapshot), or a benchmark that wants steady state."""
    models: list[type[WireModel]] = [*_MODELS.values(), UnknownCallback]
    for model in models:
        model.model_rebuild()
