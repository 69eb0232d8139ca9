"""Messages into a room's barrage, sent as a given user (text) or as data for the apps (custom)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from .base import (
    LIVE,
    Command,
    Reply,
    Request,
    RoomId,
    UserId,
    json_text,
    max_bytes,
)

MAX_MESSAGE_BYTES = 8 * 1024
MESSAGE_TOO_LARGE = 80002


MessageText = Annotated[str, Field(min_length=1), max_bytes(MAX_MESSAGE_BYTES, MESSAGE_TOO_LARGE)]


class SendMsgReply(Reply):
    msg_time: int | None = Field(default=None, alias="MsgTime")
    msg_seq: int | None = Field(default=None, alias="MsgSeq")
    # Set when Tencent accepted the call but dropped the message (e.g. "MsgFreqCtrl").
    msg_drop_reason: str | None = Field(default=None, alias="MsgDropReason")

    @property
    def dropped(self) -> bool:
        return bool(self.msg_drop_reason)


class SendTextMsg(Request[SendMsgReply]):
    command = Command(LIVE, "send_text_msg")
    room_id: RoomId = Field(alias="RoomId")
    sender_account: UserId = Field(alias="Sender_Account")
    text_content: MessageText = Field(alias="TextContent")
    extension_info: Annotated[str, AfterValidator(json_text)] | None = Field(
        default=None, alias="ExtensionInfo"
    )


class SendCustomMsg(Request[SendMsgReply]):
    """A custom message, e.g. BusinessId ``violation_alert`` to warn a host."""

    command = Command(LIVE, "send_custom_msg")
    room_id: RoomId = Field(alias="RoomId")
    sender_account: UserId = Field(alias="Sender_Account")
    business_id: Annotated[str, Field(min_length=1)] = Field(alias="BusinessId")
    data: Annotated[str, max_bytes(MAX_MESSAGE_BYTES, MESSAGE_TOO_LARGE)] = Field(alias="Data")
