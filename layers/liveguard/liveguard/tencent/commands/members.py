"""Members: the online list, bans (kick and block re-entry), mutes, room admins."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from .base import (
    LIVE,
    Command,
    EmptyReply,
    Reply,
    ReplyAccount,
    ReplyModel,
    Request,
    RoomId,
    UserId,
    max_bytes,
    max_items,
)

MAX_BAN_ACCOUNTS = 20
MAX_ROOM_ADMINS = 5
ADMIN_LIMIT_EXCEEDED = 100020

BanList = Annotated[list[UserId], Field(min_length=1), max_items(MAX_BAN_ACCOUNTS)]


class Member(ReplyModel):
    member_account: ReplyAccount = Field(alias="Member_Account")


class GetMemberListReply(Reply):
    next: str = Field(default="", alias="Next")
    member_count: int = Field(default=0, alias="MemberCount")
    member_list: list[Member] = Field(default_factory=list, alias="MemberList")


class GetMemberList(Request[GetMemberListReply]):
    """Online members (refreshed by Tencent about every 40 s, at most 1000)."""

    command = Command(LIVE, "get_member_list")
    room_id: RoomId = Field(alias="RoomId")
    next: str = Field(default="", alias="Next")


class BanMember(Request[EmptyReply]):
    """Remove the accounts from the room and keep them out for ``duration`` seconds."""

    command = Command(LIVE, "ban_member")
    room_id: RoomId = Field(alias="RoomId")
    member_list_account: BanList = Field(alias="MemberList_Account")
    duration: int = Field(alias="Duration", ge=1)
    reason: Annotated[str, max_bytes(200)] | None = Field(default=None, alias="Reason")


class UnbanMember(Request[EmptyReply]):
    command = Command(LIVE, "unban_member")
    room_id: RoomId = Field(alias="RoomId")
    member_list_account: BanList = Field(alias="MemberList_Account")


class BannedMember(ReplyModel):
    member_account: ReplyAccount = Field(alias="Member_Account")
    banned_until: int = Field(default=0, alias="BannedUntil")


class GetBannedMemberListReply(Reply):
    banned_account_list: list[BannedMember] = Field(default_factory=list, alias="BannedAccountList")
    next_offset: int = Field(default=0, alias="NextOffset")


class GetBannedMemberList(Request[GetBannedMemberListReply]):
    """One page of bans; pass the reply's ``next_offset`` as ``offset`` until it is 0."""

    command = Command(LIVE, "get_banned_member_list")
    room_id: RoomId = Field(alias="RoomId")
    offset: int = Field(default=0, alias="Offset", ge=0)
    limit: int = Field(default=100, alias="Limit", ge=1, le=100)


class MuteMember(Request[EmptyReply]):
    """Stop the accounts' messages for ``mute_time`` seconds; 0 lifts a mute."""

    command = Command(LIVE, "mute_member")
    room_id: RoomId = Field(alias="RoomId")
    member_list_account: Annotated[list[UserId], Field(min_length=1)] = Field(alias="MemberList_Account")
    mute_time: int = Field(alias="MuteTime", ge=0)


class MutedMember(ReplyModel):
    member_account: ReplyAccount = Field(alias="Member_Account")
    muted_until: int | None = Field(default=None, alias="MutedUntil")


class GetMutedMemberListReply(Reply):
    muted_account_list: list[MutedMember] = Field(default_factory=list, alias="MutedAccountList")


class GetMutedMemberList(Request[GetMutedMemberListReply]):
    """Every muted member of the room, in one reply: Tencent's command has no paging
    (request ``{RoomId}`` only, trtc.io/document/69894)."""

    command = Command(LIVE, "get_muted_member_list")
    room_id: RoomId = Field(alias="RoomId")


class ModifyAdmin(Request[EmptyReply]):
    """Add or remove room admins (a room has at most 5)."""

    command = Command(LIVE, "modify_admin")
    room_id: RoomId = Field(alias="RoomId")
    admin_account: Annotated[
        list[UserId], Field(min_length=1), max_items(MAX_ROOM_ADMINS, ADMIN_LIMIT_EXCEEDED)
    ] = Field(alias="Admin_Account")
    op_type: Literal["add", "delete"] = Field(alias="OpType")


class GetAdminListReply(Reply):
    admin_account: list[ReplyAccount] = Field(default_factory=list, alias="Admin_Account")


class GetAdminList(Request[GetAdminListReply]):
    command = Command(LIVE, "get_admin_list")
    room_id: RoomId = Field(alias="RoomId")
