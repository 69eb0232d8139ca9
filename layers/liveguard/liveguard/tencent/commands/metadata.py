"""Room metadata: at most 10 keys, keys of at most 50 bytes, values of at most 2 KB, 16 KB in all."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from .base import (
    INVALID_PARAMETER,
    LIVE,
    Command,
    EmptyReply,
    Reply,
    ReplyModel,
    Request,
    RoomId,
    TencentModel,
    max_bytes,
    tencent_limit,
    utf8_len,
)

MAX_KEYS = 10
MAX_KEY_BYTES = 50
MAX_VALUE_BYTES = 2 * 1024
MAX_TOTAL_VALUE_BYTES = 16 * 1024
TOO_MANY_KEYS = 100500
VALUE_TOO_LARGE = 100501
VALUES_TOO_LARGE = 100502
NO_VALID_KEY = 100503

MetadataKey = Annotated[str, Field(min_length=1), max_bytes(MAX_KEY_BYTES)]


class MetadataItem(TencentModel):
    key: MetadataKey = Field(alias="Key")
    value: Annotated[str, max_bytes(MAX_VALUE_BYTES, VALUE_TOO_LARGE)] = Field(alias="Value")


def _check_metadata(items: list[MetadataItem]) -> list[MetadataItem]:
    if not items:
        raise tencent_limit(INVALID_PARAMETER, "Metadata must hold at least one key")
    if len(items) > MAX_KEYS:
        raise tencent_limit(TOO_MANY_KEYS, f"at most {MAX_KEYS} keys, got {len(items)}")
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise tencent_limit(INVALID_PARAMETER, "a key appears more than once")
    total = sum(utf8_len(item.value) for item in items)
    if total > MAX_TOTAL_VALUE_BYTES:
        raise tencent_limit(
            VALUES_TOO_LARGE, f"values total at most {MAX_TOTAL_VALUE_BYTES} bytes, got {total}"
        )
    return items


def _check_keys(keys: list[str]) -> list[str]:
    if not keys:
        raise tencent_limit(NO_VALID_KEY, "Keys must name at least one key")
    return keys


class SetRoomMetadata(Request[EmptyReply]):
    """Add or overwrite keys (other keys are left as they are)."""

    command = Command(LIVE, "set_room_metadata")
    room_id: RoomId = Field(alias="RoomId")
    metadata: Annotated[list[MetadataItem], AfterValidator(_check_metadata)] = Field(alias="Metadata")

    @classmethod
    def of(cls, room_id: str, values: dict[str, str]) -> SetRoomMetadata:
        """Build from a plain mapping of key to value."""
        return cls.model_validate(
            {"RoomId": room_id, "Metadata": [{"Key": k, "Value": v} for k, v in values.items()]}
        )


class DelRoomMetadata(Request[EmptyReply]):
    command = Command(LIVE, "del_room_metadata")
    room_id: RoomId = Field(alias="RoomId")
    keys: Annotated[list[MetadataKey], AfterValidator(_check_keys)] = Field(alias="Keys")


class MetadataEntry(ReplyModel):
    key: str = Field(alias="Key")
    value: str = Field(default="", alias="Value")


class GetRoomMetadataReply(Reply):
    metadata: list[MetadataEntry] = Field(default_factory=list, alias="Metadata")

    def as_dict(self) -> dict[str, str]:
        return {entry.key: entry.value for entry in self.metadata}


class GetRoomMetadata(Request[GetRoomMetadataReply]):
    """Read the named keys, or all keys when ``keys`` is empty."""

    command = Command(LIVE, "get_room_metadata")
    room_id: RoomId = Field(alias="RoomId")
    keys: list[MetadataKey] = Field(default_factory=list, alias="Keys")
