"""Seat (mic) management, under room_engine_http_mic."""

from __future__ import annotations

from pydantic import Field

from .base import MIC, Command, EmptyReply, Reply, ReplyAccount, ReplyModel, Request, RoomId, UserId


class Seat(ReplyModel):
    index: int = Field(alias="Index")
    member_account: ReplyAccount | None = Field(default=None, alias="Member_Account")  # absent when empty
    is_taken_disabled: bool = Field(default=False, alias="IsTakenDisabled")
    is_video_disabled: bool = Field(default=False, alias="IsVideoDisabled")
    is_audio_disabled: bool = Field(default=False, alias="IsAudioDisabled")


class GetSeatListReply(Reply):
    seat_list: list[Seat] = Field(default_factory=list, alias="SeatList")


class GetSeatList(Request[GetSeatListReply]):
    command = Command(MIC, "get_seat_list")
    room_id: RoomId = Field(alias="RoomId")


class PickUserOnSeat(Request[EmptyReply]):
    """Put a member of the room on a seat."""

    command = Command(MIC, "pick_user_on_seat")
    room_id: RoomId = Field(alias="RoomId")
    member_account: UserId = Field(alias="Member_Account")
    index: int = Field(alias="Index", ge=0)


class KickUserOffSeat(Request[EmptyReply]):
    command = Command(MIC, "kick_user_off_seat")
    room_id: RoomId = Field(alias="RoomId")
    member_account: UserId = Field(alias="Member_Account")


class LockSeat(Request[EmptyReply]):
    """Lock a seat (locking an occupied seat first removes its user)."""

    command = Command(MIC, "lock_seat")
    room_id: RoomId = Field(alias="RoomId")
    index: int = Field(alias="Index", ge=0)
    forbid_taken: bool | None = Field(default=None, alias="ForbidTaken")
    forbid_video: bool | None = Field(default=None, alias="ForbidVideo")
    forbid_audio: bool | None = Field(default=None, alias="ForbidAudio")


class SwitchSeat(Request[EmptyReply]):
    """Move a user to an empty seat (older API version)."""

    command = Command(MIC, "switch_seat")
    room_id: RoomId = Field(alias="RoomId")
    member_account: UserId = Field(alias="Member_Account")
    to_index: int = Field(alias="ToIndex", ge=0)
