"""The app's gift catalogue: gifts, gift categories and their translations (gift pages 72845, 72848)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .body import Body, invalid, json_text
from .clock import Clock
from .limits import (
    CATALOGUE_ID_MAX_BYTES,
    CATEGORY_DESC_MAX_BYTES,
    DEFAULT_GIFT_COINS,
    EXTENSION_INFO_MAX_BYTES,
    GIFT_TEXT_MAX_BYTES,
    MAX_CATALOGUE_CATEGORIES,
    MAX_CATALOGUE_GIFTS,
    SUPPORTED_LANGUAGES,
    URL_MAX_BYTES,
)


@dataclass
class CatalogueGift:
    gift_id: str
    coins: int
    default_name: str
    create_time: int
    icon_url: str = ""
    resource_url: str = ""
    level: int = 0
    extension_info: str = ""
    default_desc: str = ""
    languages: dict[str, dict[str, str]] = field(default_factory=dict)  # language -> {Name, Desc}

    def wire(self) -> dict[str, Any]:
        return {
            "GiftId": self.gift_id,
            "IconUrl": self.icon_url,
            "ResourceUrl": self.resource_url,
            "Coins": self.coins,
            "Level": self.level,
            "ExtensionInfo": self.extension_info,
            "DefaultName": self.default_name,
            "DefaultDesc": self.default_desc,
            "CreateTime": self.create_time,
            "LanguageList": [{"Language": lang, **text} for lang, text in self.languages.items()],
        }


@dataclass
class CatalogueCategory:
    category_id: str
    default_name: str
    extension_info: str = ""
    default_desc: str = ""
    gift_ids: list[str] = field(default_factory=list)
    languages: dict[str, dict[str, str]] = field(default_factory=dict)  # {CategoryName, CategoryDesc}

    def wire(self) -> dict[str, Any]:
        return {
            "CategoryId": self.category_id,
            "ExtensionInfo": self.extension_info,
            "DefaultName": self.default_name,
            "DefaultDesc": self.default_desc,
            "GiftIdList": list(self.gift_ids),
            "LanguageList": [{"Language": lang, **text} for lang, text in self.languages.items()],
        }


def _gift_id(body: Body) -> str:
    return body.string("GiftId", max_bytes=CATALOGUE_ID_MAX_BYTES)


def _category_id(body: Body) -> str:
    return body.string("CategoryId", max_bytes=CATALOGUE_ID_MAX_BYTES)


def _language(body: Body) -> str:
    language = body.string("Language")
    if language not in SUPPORTED_LANGUAGES:
        raise invalid(body.name("Language"), f"must be one of {', '.join(SUPPORTED_LANGUAGES)}")
    return language


class GiftCatalogue:
    """The app's gifts and gift categories, with their translations (the catalogue REST commands).

    Every method takes the command's body and answers its ``Response``. Unknown ids and going past
    Tencent's documented counts (16 gifts, 3 categories) are refused with 100002, as Tencent
    documents no dedicated code for them.
    """

    def __init__(self, lock: threading.RLock, clock: Clock) -> None:
        self._lock = lock
        self._clock = clock
        self.gifts: dict[str, CatalogueGift] = {}
        self.categories: dict[str, CatalogueCategory] = {}

    def price(self, gift_id: str) -> int:
        """A gift's unit price; ``DEFAULT_GIFT_COINS`` for an id the catalogue does not hold."""
        with self._lock:
            gift = self.gifts.get(gift_id)
            return gift.coins if gift else DEFAULT_GIFT_COINS

    def clear(self) -> None:
        with self._lock:
            self.gifts.clear()
            self.categories.clear()

    def _gift(self, body: Body) -> CatalogueGift:
        gift_id = _gift_id(body)
        gift = self.gifts.get(gift_id)
        if gift is None:
            raise invalid(body.name("GiftId"), f"names no gift in the catalogue: {gift_id!r}")
        return gift

    def _category(self, body: Body) -> CatalogueCategory:
        category_id = _category_id(body)
        category = self.categories.get(category_id)
        if category is None:
            raise invalid(body.name("CategoryId"), f"names no gift category: {category_id!r}")
        return category

    @staticmethod
    def _gift_fields(body: Body) -> dict[str, Any]:
        fields: dict[str, Any] = {
            "icon_url": body.opt_string("IconUrl", max_bytes=URL_MAX_BYTES),
            "resource_url": body.opt_string("ResourceUrl", max_bytes=URL_MAX_BYTES),
            "coins": body.opt_integer("Coins", minimum=0),
            "level": body.opt_integer("Level", minimum=0),
            "extension_info": json_text(body, "ExtensionInfo", EXTENSION_INFO_MAX_BYTES),
            "default_name": body.opt_string("DefaultName", max_bytes=GIFT_TEXT_MAX_BYTES),
            "default_desc": body.opt_string("DefaultDesc", max_bytes=GIFT_TEXT_MAX_BYTES),
        }
        return {key: value for key, value in fields.items() if value is not None}

    def add_gift(self, body: Body) -> dict[str, Any]:
        gift_id = _gift_id(body)
        body.integer("Coins", minimum=0)
        body.string("DefaultName", max_bytes=GIFT_TEXT_MAX_BYTES, min_length=0)
        fields = self._gift_fields(body)
        with self._lock:
            if gift_id in self.gifts:
                raise invalid(body.name("GiftId"), f"already names a gift: {gift_id!r}")
            if len(self.gifts) >= MAX_CATALOGUE_GIFTS:
                raise invalid(body.name("GiftId"), f"the catalogue holds at most {MAX_CATALOGUE_GIFTS} gifts")
            self.gifts[gift_id] = CatalogueGift(gift_id=gift_id, create_time=int(self._clock.now()), **fields)
        return {}

    def edit_gift(self, body: Body) -> dict[str, Any]:
        fields = self._gift_fields(body)
        if not fields:
            raise invalid("the body", "must change a field besides GiftId")
        with self._lock:
            gift = self._gift(body)
            for key, value in fields.items():
                setattr(gift, key, value)
        return {}

    def get_gift(self, body: Body) -> dict[str, Any]:
        with self._lock:
            return {"GiftInfo": self._gift(body).wire()}

    def del_gift(self, body: Body) -> dict[str, Any]:
        with self._lock:
            gift = self._gift(body)
            del self.gifts[gift.gift_id]
            for category in self.categories.values():
                if gift.gift_id in category.gift_ids:
                    category.gift_ids.remove(gift.gift_id)
        return {}

    def info_list(self, body: Body) -> dict[str, Any]:
        with self._lock:
            return {
                "GiftList": [gift.wire() for gift in self.gifts.values()],
                "CategoryList": [category.wire() for category in self.categories.values()],
                "TotalCount": len(self.gifts),
            }

    def get_gift_language(self, body: Body) -> dict[str, Any]:
        language = _language(body)
        with self._lock:
            text = self._gift(body).languages.get(language)
            return {} if text is None else {"GiftInfo": {"Language": language, **text}}

    def set_gift_language(self, body: Body) -> dict[str, Any]:
        language = _language(body)
        name = body.opt_string("Name", max_bytes=GIFT_TEXT_MAX_BYTES)
        desc = body.opt_string("Desc", max_bytes=GIFT_TEXT_MAX_BYTES)
        with self._lock:
            gift = self._gift(body)
            text = gift.languages.get(language)
            if text is None:
                if name is None:
                    raise invalid(body.name("Name"), "is required the first time a language is set")
                text = gift.languages[language] = {"Name": name, "Desc": ""}
            if name is not None:
                text["Name"] = name
            if desc is not None:
                text["Desc"] = desc
        return {}

    def del_gift_language(self, body: Body) -> dict[str, Any]:
        language = _language(body)
        with self._lock:
            self._gift(body).languages.pop(language, None)
        return {}

    def add_category(self, body: Body) -> dict[str, Any]:
        category_id = _category_id(body)
        default_name = body.string("DefaultName", max_bytes=GIFT_TEXT_MAX_BYTES, min_length=0)
        extension_info = json_text(body, "ExtensionInfo", EXTENSION_INFO_MAX_BYTES) or ""
        default_desc = body.opt_string("DefaultDesc", max_bytes=CATEGORY_DESC_MAX_BYTES) or ""
        with self._lock:
            if category_id in self.categories:
                raise invalid(body.name("CategoryId"), f"already names a category: {category_id!r}")
            if len(self.categories) >= MAX_CATALOGUE_CATEGORIES:
                raise invalid(
                    body.name("CategoryId"),
                    f"the catalogue holds at most {MAX_CATALOGUE_CATEGORIES} categories",
                )
            self.categories[category_id] = CatalogueCategory(
                category_id, default_name, extension_info=extension_info, default_desc=default_desc
            )
        return {}

    def edit_category(self, body: Body) -> dict[str, Any]:
        default_name = body.opt_string("DefaultName", max_bytes=GIFT_TEXT_MAX_BYTES)
        default_desc = body.opt_string("DefaultDesc", max_bytes=CATEGORY_DESC_MAX_BYTES)
        if default_name is None and default_desc is None:
            raise invalid("the body", "must change a field besides CategoryId")
        with self._lock:
            category = self._category(body)
            if default_name is not None:
                category.default_name = default_name
            if default_desc is not None:
                category.default_desc = default_desc
        return {}

    def del_category(self, body: Body) -> dict[str, Any]:
        with self._lock:
            del self.categories[self._category(body).category_id]
        return {}

    def get_category(self, body: Body) -> dict[str, Any]:
        with self._lock:
            return {"GiftCategoryInfo": self._category(body).wire()}

    def get_category_language(self, body: Body) -> dict[str, Any]:
        language = _language(body)
        with self._lock:
            text = self._category(body).languages.get(language)
            return {} if text is None else {"CategoryInfo": {"Language": language, **text}}

    def set_category_language(self, body: Body) -> dict[str, Any]:
        language = _language(body)
        name = body.opt_string("CategoryName")
        desc = body.opt_string("CategoryDesc")
        with self._lock:
            category = self._category(body)
            text = category.languages.get(language)
            if text is None:
                if name is None:
                    raise invalid(body.name("CategoryName"), "is required the first time a language is set")
                text = category.languages[language] = {"CategoryName": name, "CategoryDesc": ""}
            if name is not None:
                text["CategoryName"] = name
            if desc is not None:
                text["CategoryDesc"] = desc
        return {}

    def del_category_language(self, body: Body) -> dict[str, Any]:
        language = _language(body)
        with self._lock:
            self._category(body).languages.pop(language, None)
        return {}

    def add_relations(self, body: Body) -> dict[str, Any]:
        gift_ids = body.strings("GiftIdList", max_item_bytes=CATALOGUE_ID_MAX_BYTES)
        with self._lock:
            category = self._category(body)
            unknown = [gift_id for gift_id in gift_ids if gift_id not in self.gifts]
            for gift_id in gift_ids:
                if gift_id in self.gifts and gift_id not in category.gift_ids:
                    category.gift_ids.append(gift_id)
        return {"InvalidGiftIdList": unknown}

    def del_relations(self, body: Body) -> dict[str, Any]:
        gift_ids = body.strings("GiftIdList", max_item_bytes=CATALOGUE_ID_MAX_BYTES)
        with self._lock:
            category = self._category(body)
            category.gift_ids = [gift_id for gift_id in category.gift_ids if gift_id not in gift_ids]
        return {}

    def snapshot(self) -> dict[str, Any]:
        return self.info_list(Body({}))
