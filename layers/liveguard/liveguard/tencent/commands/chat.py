"""Chat's REST API (``group_open_http_svc``) where the live API has no equivalent: a group message
with a whole MsgBody and CloudCustomData, sent as any account. LiveGuard uses it to re-send a comment a
reviewer approved into its room as its original sender, as Tencent's TUILiveKit_Manager does
(``liveguard.review``). Chat's page: tencentcloud.com/document/product/1047/34959 (send_group_msg)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field

from .base import Command, Request, RoomId, TencentModel, UserId, tencent_limit
from .messages import MAX_MESSAGE_BYTES, MESSAGE_TOO_LARGE, SendMsgReply

GROUP = "group_open_http_svc"


class MsgElement(TencentModel):
    """One element of a MsgBody (TIMTextElem {Text}, TIMCustomElem {Data, Desc, Ext}, TIMFaceElem ...):
    its content is passed on as Tencent shaped it."""

    msg_type: Annotated[str, Field(min_length=1)] = Field(alias="MsgType")
    msg_content: dict[str, Any] = Field(alias="MsgContent")


def _within_message_size(body: list[MsgElement]) -> list[MsgElement]:
    size = len(json.dumps([e.to_wire() for e in body], ensure_ascii=False).encode("utf-8"))
    if size > MAX_MESSAGE_BYTES:
        raise tencent_limit(MESSAGE_TOO_LARGE, f"MsgBody is at most {MAX_MESSAGE_BYTES} bytes, got {size}")
    return body


class SendGroupMsg(Request[SendMsgReply]):
    """A message into a group (a live room's GroupId is its RoomId) as ``From_Account``, or as the
    admin when absent. It fires Group.CallbackBeforeSendMsg like a client's message, with
    Operator_Account = the admin (34374: "the app admin sends a group message via RESTful APIs")."""

    command = Command(GROUP, "send_group_msg")
    group_id: RoomId = Field(alias="GroupId")
    random: int = Field(
        alias="Random", ge=0, le=2**32 - 1, description="the same Random within 5 minutes: the same message"
    )
    msg_body: Annotated[list[MsgElement], Field(min_length=1), AfterValidator(_within_message_size)] = Field(
        alias="MsgBody"
    )
    from_account: UserId | None = Field(default=None, alias="From_Account")
    cloud_custom_data: str | None = Field(default=None, alias="CloudCustomData")
    msg_priority: Literal["High", "Normal", "Low", "Lowest"] | None = Field(default=None, alias="MsgPriority")
