"""Robots (imported accounts that sit in a room) and the cloud mixing task."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from .base import LIVE, Command, EmptyReply, Reply, ReplyAccount, Request, RoomId, UserId

RobotList = Annotated[list[UserId], Field(min_length=1)]


class AddRobot(Request[EmptyReply]):
    """Add robots to a room (the accounts must be imported first; 100 calls/s)."""

    command = Command(LIVE, "add_robot")
    room_id: RoomId = Field(alias="RoomId")
    robot_list_account: RobotList = Field(alias="RobotList_Account")


class GetRobotReply(Reply):
    robot_list_account: list[ReplyAccount] = Field(default_factory=list, alias="RobotList_Account")


class GetRobot(Request[GetRobotReply]):
    command = Command(LIVE, "get_robot")
    room_id: RoomId = Field(alias="RoomId")


class DelRobot(Request[EmptyReply]):
    command = Command(LIVE, "del_robot")
    room_id: RoomId = Field(alias="RoomId")
    robot_list_account: RobotList = Field(alias="RobotList_Account")


class ResumeMcuTask(Request[EmptyReply]):
    """Resume the room's cloud mixing (MCU) task."""

    command = Command(LIVE, "resume_mcu_task")
    room_id: RoomId = Field(alias="RoomId")
