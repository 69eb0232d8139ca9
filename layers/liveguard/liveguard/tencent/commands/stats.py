"""Room statistics (viewers, gifts, likes, messages)."""

from __future__ import annotations

from pydantic import Field

from .base import LIVE, Command, Reply, Request, RoomId


class RoomStatsReply(Reply):
    total_viewers: int = Field(default=0, alias="TotalViewers")
    total_gifts_sent: int = Field(default=0, alias="TotalGiftsSent")
    total_gift_coins: int = Field(default=0, alias="TotalGiftCoins")
    total_unique_gift_senders: int = Field(default=0, alias="TotalUniqueGiftSenders")
    total_likes_received: int = Field(default=0, alias="TotalLikesReceived")
    total_msg_count: int = Field(default=0, alias="TotalMsgCount")


class GetRoomStats(Request[RoomStatsReply]):
    """The documented statistics command (100 calls/s)."""

    command = Command(LIVE, "get_room_stats")
    room_id: RoomId = Field(alias="RoomId")


class GetRoomStatistic(Request[RoomStatsReply]):
    """The command Tencent's own console calls; same body and reply as ``get_room_stats``."""

    command = Command(LIVE, "get_room_statistic")
    room_id: RoomId = Field(alias="RoomId")
