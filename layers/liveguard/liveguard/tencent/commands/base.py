"""What every REST command shares: the wire model conventions, the command registry, and limits.

A command is a request model whose class knows its service, its name and its reply model::

    class DestroyRoom(Request[DestroyRoomReply]):
        command = Command(LIVE, "destroy_room")
        room_id: RoomId = Field(alias="RoomId")

Requests are strict (unknown fields refused, Tencent's documented limits checked before sending,
each limit violation carrying the ErrorCode Tencent would have answered); replies are tolerant
(unknown fields kept, numbers where strings are expected accepted), as Tencent is inconsistent.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic_core import PydanticCustomError

LIVE = "live_engine_http_srv"
MIC = "room_engine_http_mic"
CONFIG = "live_config"

INVALID_PARAMETER = 100002  # Live's "invalid parameter": what Tencent answers for a malformed body


@dataclass(frozen=True, slots=True)
class Command:
    service: str
    name: str

    @property
    def path(self) -> str:
        return f"/v4/{self.service}/{self.name}"

    def __str__(self) -> str:
        return f"{self.service}/{self.name}"


def tencent_limit(code: int, message: str) -> PydanticCustomError:
    """A validation error that carries the ErrorCode Tencent gives for the same mistake."""
    return PydanticCustomError("tencent_limit", message, {"tencent_code": code})


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def max_bytes(limit: int, code: int = INVALID_PARAMETER) -> AfterValidator:
    """Tencent's limits are in UTF-8 bytes, not characters."""

    def check(value: str) -> str:
        size = utf8_len(value)
        if size > limit:
            raise tencent_limit(code, f"at most {limit} bytes (UTF-8), got {size}")
        return value

    return AfterValidator(check)


def max_items(limit: int, code: int = INVALID_PARAMETER) -> AfterValidator:
    def check(value: list[Any]) -> list[Any]:
        if len(value) > limit:
            raise tencent_limit(code, f"at most {limit} entries, got {len(value)}")
        return value

    return AfterValidator(check)


def json_text(value: str) -> str:
    """Tencent's ExtensionInfo fields are JSON documents escaped into a string (they reach the apps
    as CloudCustomData); anything else is refused as Tencent would."""
    try:
        json.loads(value)
    except ValueError:
        raise tencent_limit(
            INVALID_PARAMETER, 'must be a JSON document in a string, e.g. \'{"key": "value"}\''
        ) from None
    return value


def _account_from_number(value: object) -> object:
    # Tencent sends some accounts as bare numbers (e.g. Owner_Account 144115216631667826).
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


RoomId = Annotated[str, Field(min_length=1), max_bytes(48)]
"""A room id as Tencent takes it: 1 to 48 bytes."""
UserId = Annotated[str, Field(min_length=1)]
"""An account (UserID) in a request."""
ReplyAccount = Annotated[str, BeforeValidator(_account_from_number)]
"""An account in a reply, where Tencent may send a number."""


class TencentModel(BaseModel):
    """A request body or a part of one: Tencent's field names at the wire, Python names inside."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="forbid")

    def to_wire(self) -> dict[str, Any]:
        """The JSON body Tencent expects (unset optional fields are left out, not sent as null)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ReplyModel(BaseModel):
    """A part of a reply: tolerant, since Tencent adds fields and varies types."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="allow")


class Reply(ReplyModel):
    """The ``Response`` object of a successful call, with the envelope's RequestId."""

    request_id: str = Field(default="", alias="RequestId")


class EmptyReply(Reply):
    """A command whose success carries nothing but the envelope."""


COMMANDS: dict[str, type[Request[Any]]] = {}
"""Every request model, by command name (names are unique across the three services)."""


class Request[ReplyT: Reply](TencentModel):
    """A REST command's request. Subclass as ``Request[TheReply]`` and set ``command``."""

    command: ClassVar[Command]
    reply_model: ClassVar[type[Reply]]

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "command" not in cls.__dict__:
            return  # the parametrised base Request[X] itself, not a command
        cls.reply_model = _reply_model_of(cls)
        name = cls.command.name
        if name in COMMANDS:
            raise TypeError(f"command {name} is declared twice: {COMMANDS[name].__name__} and {cls.__name__}")
        COMMANDS[name] = cls


def _reply_model_of(cls: type[Request[Any]]) -> type[Reply]:
    for base in cls.__mro__:
        metadata = getattr(base, "__pydantic_generic_metadata__", None)
        if metadata and metadata["origin"] is Request and metadata["args"]:
            reply: type[Reply] = metadata["args"][0]
            return reply
    raise TypeError(f"{cls.__name__} must subclass Request[<its reply model>]")
