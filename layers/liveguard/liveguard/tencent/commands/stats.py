"""Room statistics (viewers, gifts, likes, messages)."""

from __future__ import annotations

from pydantic import Field

from .base import LIVE, Command, Reply, Request, RoomId
from .rooms import RoomStatistic


class RoomStatsReply(RoomStatistic, Reply):
    """The statistics destroy_room reports, plus the message count."""

    total_msg_count: int = Field(default=0, alias="TotalMsgCount")


class GetRoomStats(Request[RoomStatsReply]):
    """The documented statistics command (100 calls/s)."""

    command = Command(LIVE, "get_room_stats")
    room_id: RoomId = Field(alias="RoomId")


class GetRoomStatistic(Request[RoomStatsReply]):
    """The command Tencent's own console calls; same body and reply as ``get_room_stats``."""

    command = Command(LIVE, "get_room_statistic")
    room_id: RoomId = Field(alias="RoomId")
