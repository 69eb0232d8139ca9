"""Room lifecycle: create, destroy, update, read, list."""

from __future__ import annotations

from typing import Annotated, Literal, Self

from pydantic import Field, model_validator

from .base import (
    INVALID_PARAMETER,
    LIVE,
    Command,
    EmptyReply,
    Reply,
    ReplyAccount,
    ReplyModel,
    Request,
    RoomId,
    TencentModel,
    UserId,
    max_bytes,
    max_items,
    tencent_limit,
)

TakeSeatMode = Literal["FreeToTake", "ApplyToTake"]
Categories = Annotated[list[int], max_items(3)]
RoomName = Annotated[str, max_bytes(100)]
Notice = Annotated[str, max_bytes(100)]
Url = Annotated[str, max_bytes(200)]


class NewRoomInfo(TencentModel):
    room_id: RoomId = Field(alias="RoomId")
    room_type: Literal["Live"] = Field(default="Live", alias="RoomType")
    # Required by the newest create_room doc (a seat layout template id, e.g. VideoDynamicGrid9Seats).
    seat_template: str | None = Field(default=None, alias="SeatTemplate", min_length=1)
    room_name: RoomName | None = Field(default=None, alias="RoomName")
    owner_account: UserId | None = Field(default=None, alias="Owner_Account")
    cover_url: Url | None = Field(default=None, alias="CoverURL")
    background_url: Url | None = Field(default=None, alias="BackgroundURL")
    notice: Notice | None = Field(default=None, alias="Notice")
    is_message_disabled: bool | None = Field(default=None, alias="IsMessageDisabled")
    category: Categories | None = Field(default=None, alias="Category")
    is_public_visible: bool | None = Field(default=None, alias="IsPublicVisible")
    is_seat_enabled: bool | None = Field(default=None, alias="IsSeatEnabled")
    take_seat_mode: TakeSeatMode | None = Field(default=None, alias="TakeSeatMode")
    max_seat_count: int | None = Field(default=None, alias="MaxSeatCount", ge=1)
    max_member_count: int | None = Field(default=None, alias="MaxMemberCount", ge=1)
    activity_status: int | None = Field(default=None, alias="ActivityStatus")
    is_unlimited_room_enabled: bool | None = Field(default=None, alias="IsUnlimitedRoomEnabled")
    keep_owner_on_seat: bool | None = Field(default=None, alias="KeepOwnerOnSeat")
    custom_info: str | None = Field(default=None, alias="CustomInfo")


class RoomInfoChange(TencentModel):
    room_id: RoomId = Field(alias="RoomId")
    room_name: RoomName | None = Field(default=None, alias="RoomName")
    cover_url: Url | None = Field(default=None, alias="CoverURL")
    background_url: Url | None = Field(default=None, alias="BackgroundURL")
    notice: Notice | None = Field(default=None, alias="Notice")
    is_message_disabled: bool | None = Field(default=None, alias="IsMessageDisabled")
    category: Categories | None = Field(default=None, alias="Category")
    is_public_visible: bool | None = Field(default=None, alias="IsPublicVisible")
    take_seat_mode: TakeSeatMode | None = Field(default=None, alias="TakeSeatMode")
    max_member_count: int | None = Field(default=None, alias="MaxMemberCount", ge=1)
    activity_status: int | None = Field(default=None, alias="ActivityStatus")
    is_unlimited_room_enabled: bool | None = Field(default=None, alias="IsUnlimitedRoomEnabled")
    custom_info: str | None = Field(default=None, alias="CustomInfo")

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.model_fields_set - {"room_id"}:
            raise tencent_limit(INVALID_PARAMETER, "an update must change at least one field besides RoomId")
        return self


class RoomInfo(ReplyModel):
    """A room as Tencent reports it (get_room_info, callbacks). Every field may be missing."""

    room_id: str | None = Field(default=None, alias="RoomId")
    room_name: str | None = Field(default=None, alias="RoomName")
    room_type: str | None = Field(default=None, alias="RoomType")
    owner_account: ReplyAccount | None = Field(default=None, alias="Owner_Account")
    create_time: int | None = Field(default=None, alias="CreateTime")
    is_seat_enabled: bool | None = Field(default=None, alias="IsSeatEnabled")
    # Older replies send TakeSeatMode as a number.
    take_seat_mode: str | int | None = Field(default=None, alias="TakeSeatMode")
    max_seat_count: int | None = Field(default=None, alias="MaxSeatCount")
    max_member_count: int | None = Field(default=None, alias="MaxMemberCount")
    is_message_disabled: bool | None = Field(default=None, alias="IsMessageDisabled")
    cover_url: str | None = Field(default=None, alias="CoverURL")
    background_url: str | None = Field(default=None, alias="BackgroundURL")
    notice: str | None = Field(default=None, alias="Notice")
    category: list[int] | None = Field(default=None, alias="Category")
    activity_status: int | None = Field(default=None, alias="ActivityStatus")
    view_count: int | None = Field(default=None, alias="ViewCount")
    is_public_visible: bool | None = Field(default=None, alias="IsPublicVisible")
    custom_info: str | None = Field(default=None, alias="CustomInfo")


class RoomStatistic(ReplyModel):
    total_viewers: int = Field(default=0, alias="TotalViewers")
    total_gifts_sent: int = Field(default=0, alias="TotalGiftsSent")
    total_gift_coins: int = Field(default=0, alias="TotalGiftCoins")
    total_unique_gift_senders: int = Field(default=0, alias="TotalUniqueGiftSenders")
    total_likes_received: int = Field(default=0, alias="TotalLikesReceived")


class CreateRoom(Request[EmptyReply]):
    command = Command(LIVE, "create_room")
    room_info: NewRoomInfo = Field(alias="RoomInfo")


class DestroyRoomReply(Reply):
    statistic: RoomStatistic = Field(default_factory=RoomStatistic, alias="Statistic")


class DestroyRoom(Request[DestroyRoomReply]):
    command = Command(LIVE, "destroy_room")
    room_id: RoomId = Field(alias="RoomId")


class UpdateRoomInfo(Request[EmptyReply]):
    command = Command(LIVE, "update_room_info")
    room_info: RoomInfoChange = Field(alias="RoomInfo")


class GetRoomInfoReply(Reply):
    room_info: RoomInfo = Field(alias="RoomInfo")


class GetRoomInfo(Request[GetRoomInfoReply]):
    command = Command(LIVE, "get_room_info")
    room_id: RoomId = Field(alias="RoomId")


class RoomSummary(ReplyModel):
    room_id: str = Field(alias="RoomId")
    room_name: str | None = Field(default=None, alias="RoomName")
    owner_account: ReplyAccount | None = Field(default=None, alias="Owner_Account")
    cover_url: str | None = Field(default=None, alias="CoverURL")
    category: list[int] | None = Field(default=None, alias="Category")
    create_time: int | None = Field(default=None, alias="CreateTime")
    activity_status: int | None = Field(default=None, alias="ActivityStatus")
    view_count: int | None = Field(default=None, alias="ViewCount")


class GetRoomListReply(Reply):
    next: str = Field(default="", alias="Next")
    room_list: list[RoomSummary] = Field(default_factory=list, alias="RoomList")


class GetRoomList(Request[GetRoomListReply]):
    """One page of rooms, by ViewCount descending; pass the reply's ``next`` until it is empty."""

    command = Command(LIVE, "get_room_list")
    next: str = Field(default="", alias="Next")
    count: int = Field(default=20, alias="Count", ge=1, le=20)
    sort_direction: int | None = Field(default=None, alias="SortDirection")
