"""Reading request bodies the way Tencent checks them, refusing a bad field with 100002 naming it."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import ApiError
from .limits import INVALID_PARAMETER, ROOM_ID_MAX_BYTES


def utf8_len(text: str) -> int:
    """Tencent's limits count UTF-8 bytes, not characters."""
    return len(text.encode("utf-8"))


def invalid(name: str, problem: str) -> ApiError:
    """Tencent's invalid-parameter refusal, naming the field."""
    return ApiError(INVALID_PARAMETER, f"invalid parameter: {name} {problem}")


class Body:
    """A JSON object from a request, read the way Tencent checks it.

    Each reader raises ``ApiError(100002)`` naming the field (with its path, e.g. ``RoomInfo.RoomId``)
    when it is missing or of the wrong type. A JSON ``null`` counts as missing. Unknown fields are
    ignored, as Tencent ignores them.
    """

    def __init__(self, data: object, path: str = "") -> None:
        if not isinstance(data, Mapping):
            raise invalid(path or "the body", "must be a JSON object")
        self._data: Mapping[str, Any] = data
        self.path = path

    def name(self, key: str) -> str:
        """The field's name as an error message shows it."""
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self._data.get(key) is not None

    def as_dict(self) -> dict[str, Any]:
        """The fields given (a JSON null counts as not given)."""
        return {key: value for key, value in self._data.items() if value is not None}

    def _required(self, key: str) -> Any:
        value = self._data.get(key)
        if value is None:
            raise invalid(self.name(key), "is required")
        return value

    def string(
        self,
        key: str,
        *,
        max_bytes: int | None = None,
        min_length: int = 1,
        too_long: int = INVALID_PARAMETER,
    ) -> str:
        value = self._required(key)
        if not isinstance(value, str):
            raise invalid(self.name(key), "must be a string")
        if len(value) < min_length:
            raise invalid(self.name(key), "must not be empty")
        if max_bytes is not None and utf8_len(value) > max_bytes:
            raise ApiError(too_long, f"invalid parameter: {self.name(key)} must be at most {max_bytes} bytes")
        return value

    def opt_string(
        self,
        key: str,
        *,
        max_bytes: int | None = None,
        min_length: int = 0,
        too_long: int = INVALID_PARAMETER,
    ) -> str | None:
        if not self.has(key):
            return None
        return self.string(key, max_bytes=max_bytes, min_length=min_length, too_long=too_long)

    def integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int:
        value = self._required(key)
        # JSON true/false arrive as Python bools, which are ints: refuse them as Tencent would.
        if not isinstance(value, int) or isinstance(value, bool):
            raise invalid(self.name(key), "must be an integer")
        if minimum is not None and value < minimum:
            raise invalid(self.name(key), f"must be at least {minimum}")
        if maximum is not None and value > maximum:
            raise invalid(self.name(key), f"must be at most {maximum}")
        return value

    def opt_integer(self, key: str, *, minimum: int | None = None, maximum: int | None = None) -> int | None:
        return self.integer(key, minimum=minimum, maximum=maximum) if self.has(key) else None

    def boolean(self, key: str) -> bool:
        value = self._required(key)
        if not isinstance(value, bool):
            raise invalid(self.name(key), "must be true or false")
        return value

    def opt_boolean(self, key: str) -> bool | None:
        return self.boolean(key) if self.has(key) else None

    def _list(self, key: str, min_items: int, max_items: int | None, too_many: int) -> list[Any]:
        value = self._required(key)
        if not isinstance(value, list):
            raise invalid(self.name(key), "must be an array")
        if len(value) < min_items:
            raise invalid(self.name(key), f"must hold at least {min_items} entries")
        if max_items is not None and len(value) > max_items:
            raise ApiError(
                too_many, f"invalid parameter: {self.name(key)} must hold at most {max_items} entries"
            )
        return value

    def strings(
        self,
        key: str,
        *,
        min_items: int = 1,
        max_items: int | None = None,
        max_item_bytes: int | None = None,
        too_many: int = INVALID_PARAMETER,
    ) -> list[str]:
        items = self._list(key, min_items, max_items, too_many)
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item:
                raise invalid(f"{self.name(key)}[{index}]", "must be a non-empty string")
            if max_item_bytes is not None and utf8_len(item) > max_item_bytes:
                raise invalid(f"{self.name(key)}[{index}]", f"must be at most {max_item_bytes} bytes")
        return list(items)

    def opt_strings(self, key: str, *, max_item_bytes: int | None = None) -> list[str] | None:
        return self.strings(key, min_items=0, max_item_bytes=max_item_bytes) if self.has(key) else None

    def integers(self, key: str, *, max_items: int | None = None) -> list[int]:
        items = self._list(key, 0, max_items, INVALID_PARAMETER)
        for index, item in enumerate(items):
            if not isinstance(item, int) or isinstance(item, bool):
                raise invalid(f"{self.name(key)}[{index}]", "must be an integer")
        return list(items)

    def objects(self, key: str, *, min_items: int = 1) -> list[Body]:
        items = self._list(key, min_items, None, INVALID_PARAMETER)
        return [Body(item, f"{self.name(key)}[{index}]") for index, item in enumerate(items)]

    def object(self, key: str) -> Body:
        return Body(self._required(key), self.name(key))


def room_id_of(body: Body, key: str = "RoomId") -> str:
    """A RoomId: a string of 1 to 48 bytes."""
    return body.string(key, max_bytes=ROOM_ID_MAX_BYTES)


def metadata_items(body: Body) -> list[tuple[str, str]]:
    """set_room_metadata's ``Metadata`` as (key, value) pairs; their limits are the world's to check."""
    items = body.objects("Metadata", min_items=0)
    return [(item.string("Key", min_length=0), item.string("Value", min_length=0)) for item in items]


def json_text(body: Body, key: str, max_bytes: int | None = None) -> str | None:
    """Tencent's ExtensionInfo: a JSON document escaped into a string."""
    text = body.opt_string(key, max_bytes=max_bytes)
    if text is None:
        return None
    try:
        json.loads(text)
    except ValueError:
        raise invalid(body.name(key), "must be a JSON document in a string") from None
    return text
