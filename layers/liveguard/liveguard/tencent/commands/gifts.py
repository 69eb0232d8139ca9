"""Gifts: sending and counting gifts in a room, and the app's gift catalogue (gifts, categories,
their translations and which gift sits in which category).

Tencent documents the catalogue commands at 1 call/s (answering 100012 past it), unlike the
200/s of ``send_gift`` and ``get_gift_count``. Tencent's pages show catalogue replies beside the
envelope (``GiftInfo`` next to ``RequestId``) while its own console reads them from ``Response``;
the reply models accept both spellings they have been seen in and keep whatever else arrives.
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, AliasChoices, Field, model_validator

from .base import (
    INVALID_PARAMETER,
    LIVE,
    Command,
    EmptyReply,
    Reply,
    ReplyModel,
    Request,
    RoomId,
    UserId,
    json_text,
    max_bytes,
    tencent_limit,
)

ID_MAX_BYTES = 20
URL_MAX_BYTES = 200
EXTENSION_INFO_MAX_BYTES = 100
GIFT_NAME_MAX_BYTES = 20
GIFT_DESC_MAX_BYTES = 20
CATEGORY_NAME_MAX_BYTES = 20
CATEGORY_DESC_MAX_BYTES = 60
SUPPORTED_LANGUAGES = frozenset({"en", "zh-Hans", "zh-Hant"})
CALLED_TOO_OFTEN = 100012  # the catalogue commands' answer past their 1 call/s


def _supported_language(value: str) -> str:
    if value not in SUPPORTED_LANGUAGES:
        supported = ", ".join(sorted(SUPPORTED_LANGUAGES))
        raise tencent_limit(INVALID_PARAMETER, f"one of {supported}, got {value!r}")
    return value


GiftId = Annotated[str, Field(min_length=1), max_bytes(ID_MAX_BYTES)]
"""A gift id: 1 to 20 bytes (the longest add_gift accepts, so no longer id can name a gift)."""
CategoryId = Annotated[str, Field(min_length=1), max_bytes(ID_MAX_BYTES)]
"""A gift category id: 1 to 20 bytes."""
GiftIds = Annotated[list[GiftId], Field(min_length=1)]
Language = Annotated[str, AfterValidator(_supported_language)]
"""A language Tencent keeps gift texts in: "en", "zh-Hans" or "zh-Hant"."""
ResourceUrl = Annotated[str, max_bytes(URL_MAX_BYTES)]
ExtensionInfo = Annotated[str, max_bytes(EXTENSION_INFO_MAX_BYTES), AfterValidator(json_text)]
GiftName = Annotated[str, max_bytes(GIFT_NAME_MAX_BYTES)]
GiftDesc = Annotated[str, max_bytes(GIFT_DESC_MAX_BYTES)]
CategoryName = Annotated[str, max_bytes(CATEGORY_NAME_MAX_BYTES)]
CategoryDesc = Annotated[str, max_bytes(CATEGORY_DESC_MAX_BYTES)]


# --- in a room ------------------------------------------------------------------------------------


class SendGift(Request[EmptyReply]):
    """Send ``count`` of a catalogue gift from one account to the receivers (200 calls/s)."""

    command = Command(LIVE, "send_gift")
    room_id: RoomId = Field(alias="RoomId")
    gift_id: GiftId = Field(alias="GiftId")
    # In Tencent's example body though missing from its field table; always sent.
    count: int = Field(default=1, alias="Count", ge=1)
    from_account: UserId = Field(alias="From_Account")
    receiver_list_account: Annotated[list[UserId], Field(min_length=1)] = Field(alias="ReceiverList_Account")


class GetGiftCountReply(Reply):
    sequence: int = Field(default=0, alias="Sequence")
    total_count: int = Field(default=0, alias="TotalCount")
    total_coins: int = Field(default=0, alias="TotalCoins")
    gift_sender_count: int = Field(default=0, alias="GiftSenderCount")


class GetGiftCount(Request[GetGiftCountReply]):
    """Gift statistics for one account in a room (200 calls/s)."""

    command = Command(LIVE, "get_gift_count")
    room_id: RoomId = Field(alias="RoomId")
    from_account: UserId = Field(alias="From_Account")


# --- the catalogue: gifts -------------------------------------------------------------------------


class GiftText(ReplyModel):
    """A gift's name and description in one language."""

    language: str | None = Field(default=None, alias="Language")
    name: str = Field(default="", alias="Name")
    desc: str = Field(default="", alias="Desc")


class Gift(ReplyModel):
    """A catalogue gift as Tencent reports it (get_gift, get_gift_info_list)."""

    gift_id: str = Field(alias="GiftId")
    # Tencent's field table spells it IconURL, its example IconUrl.
    icon_url: str | None = Field(default=None, validation_alias=AliasChoices("IconUrl", "IconURL"))
    resource_url: str | None = Field(default=None, alias="ResourceUrl")
    coins: int = Field(default=0, alias="Coins")
    level: int = Field(default=0, alias="Level")
    extension_info: str | None = Field(default=None, alias="ExtensionInfo")
    default_name: str | None = Field(default=None, alias="DefaultName")
    default_desc: str | None = Field(default=None, alias="DefaultDesc")
    # The list's entries carry the name and description in the asked language, and all translations.
    name: str | None = Field(default=None, alias="Name")
    desc: str | None = Field(default=None, alias="Desc")
    create_time: int | None = Field(default=None, alias="CreateTime")
    language_list: list[GiftText] = Field(default_factory=list, alias="LanguageList")


class AddGift(Request[EmptyReply]):
    """Add a gift to the app's catalogue (1 call/s; Tencent documents at most 16 gifts)."""

    command = Command(LIVE, "add_gift")
    gift_id: GiftId = Field(alias="GiftId")
    icon_url: ResourceUrl | None = Field(default=None, alias="IconUrl")
    resource_url: ResourceUrl | None = Field(default=None, alias="ResourceUrl")
    coins: int = Field(alias="Coins", ge=0)
    level: int | None = Field(default=None, alias="Level", ge=0)
    extension_info: ExtensionInfo | None = Field(default=None, alias="ExtensionInfo")
    default_name: GiftName = Field(alias="DefaultName")
    default_desc: GiftDesc | None = Field(default=None, alias="DefaultDesc")


# Body not confirmed from Tencent's docs.
class EditGift(Request[EmptyReply]):
    """Change a catalogue gift; fields left unset are not sent.

    No doc page was found: the fields are those Tencent's own console (TUILiveKit_Manager) sends,
    checked against add_gift's limits.
    """

    command = Command(LIVE, "edit_gift")
    gift_id: GiftId = Field(alias="GiftId")
    icon_url: ResourceUrl | None = Field(default=None, alias="IconUrl")
    resource_url: ResourceUrl | None = Field(default=None, alias="ResourceUrl")
    coins: int | None = Field(default=None, alias="Coins", ge=0)
    level: int | None = Field(default=None, alias="Level", ge=0)
    extension_info: ExtensionInfo | None = Field(default=None, alias="ExtensionInfo")
    default_name: GiftName | None = Field(default=None, alias="DefaultName")
    default_desc: GiftDesc | None = Field(default=None, alias="DefaultDesc")

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.model_fields_set - {"gift_id"}:
            raise tencent_limit(INVALID_PARAMETER, "an edit must change a field besides GiftId")
        return self


class GetGiftReply(Reply):
    gift_info: Gift | None = Field(default=None, alias="GiftInfo")


class GetGift(Request[GetGiftReply]):
    """Read one catalogue gift (1 call/s)."""

    command = Command(LIVE, "get_gift")
    gift_id: GiftId = Field(alias="GiftId")


class DelGift(Request[EmptyReply]):
    """Remove a gift, its translations and its category memberships (1 call/s)."""

    command = Command(LIVE, "del_gift")
    gift_id: GiftId = Field(alias="GiftId")


class CategoryText(ReplyModel):
    """A category's name and description in one language."""

    language: str | None = Field(default=None, alias="Language")
    category_name: str = Field(default="", alias="CategoryName")
    category_desc: str = Field(default="", alias="CategoryDesc")


class GiftCategory(ReplyModel):
    """A gift category as Tencent reports it (get_gift_category, get_gift_info_list)."""

    category_id: str = Field(alias="CategoryId")
    extension_info: str | None = Field(default=None, alias="ExtensionInfo")
    default_name: str | None = Field(default=None, alias="DefaultName")
    default_desc: str | None = Field(default=None, alias="DefaultDesc")
    category_name: str | None = Field(default=None, alias="CategoryName")
    category_desc: str | None = Field(default=None, alias="CategoryDesc")
    gift_id_list: list[str] = Field(default_factory=list, alias="GiftIdList")
    language_list: list[CategoryText] = Field(default_factory=list, alias="LanguageList")


class GetGiftInfoListReply(Reply):
    gift_list: list[Gift] = Field(default_factory=list, alias="GiftList")
    category_list: list[GiftCategory] = Field(default_factory=list, alias="CategoryList")
    total_count: int | None = Field(default=None, alias="TotalCount")


# Body not confirmed from Tencent's docs.
class GetGiftInfoList(Request[GetGiftInfoListReply]):
    """The whole catalogue: every gift and every category.

    No doc page was found: Tencent's own console sends an empty body and reads ``GiftList``,
    ``CategoryList`` and ``TotalCount`` from ``Response``.
    """

    command = Command(LIVE, "get_gift_info_list")


# --- the catalogue: gift translations -------------------------------------------------------------


class GetGiftLanguageReply(Reply):
    # Tencent's page shows GiftInfo; its console reads Language.
    gift_info: GiftText | None = Field(default=None, alias="GiftInfo")
    language: GiftText | None = Field(default=None, alias="Language")

    @property
    def text(self) -> GiftText:
        """The translation, under whichever name Tencent sent it (empty when there is none)."""
        return self.gift_info or self.language or GiftText()


class GetGiftLanguage(Request[GetGiftLanguageReply]):
    """Read a gift's name and description in one language (1 call/s)."""

    command = Command(LIVE, "get_gift_language")
    gift_id: GiftId = Field(alias="GiftId")
    language: Language = Field(alias="Language")


class SetGiftLanguage(Request[EmptyReply]):
    """Set a gift's name and description in one language; unset fields keep their value (1 call/s).

    The first time a language is set for a gift, ``name`` is required.
    """

    command = Command(LIVE, "set_gift_language")
    gift_id: GiftId = Field(alias="GiftId")
    language: Language = Field(alias="Language")
    name: GiftName | None = Field(default=None, alias="Name")
    desc: GiftDesc | None = Field(default=None, alias="Desc")


class DelGiftLanguage(Request[EmptyReply]):
    command = Command(LIVE, "del_gift_language")
    gift_id: GiftId = Field(alias="GiftId")
    language: Language = Field(alias="Language")


# --- the catalogue: categories --------------------------------------------------------------------


class AddGiftCategory(Request[EmptyReply]):
    """Add a gift category (1 call/s; Tencent documents at most 3 categories)."""

    command = Command(LIVE, "add_gift_category")
    category_id: CategoryId = Field(alias="CategoryId")
    extension_info: ExtensionInfo | None = Field(default=None, alias="ExtensionInfo")
    default_name: CategoryName = Field(alias="DefaultName")
    default_desc: CategoryDesc | None = Field(default=None, alias="DefaultDesc")


# Body not confirmed from Tencent's docs.
class EditGiftCategory(Request[EmptyReply]):
    """Change a gift category's default texts; fields left unset are not sent.

    No doc page was found: the fields are those Tencent's own console (TUILiveKit_Manager) sends,
    checked against add_gift_category's limits.
    """

    command = Command(LIVE, "edit_gift_category")
    category_id: CategoryId = Field(alias="CategoryId")
    default_name: CategoryName | None = Field(default=None, alias="DefaultName")
    default_desc: CategoryDesc | None = Field(default=None, alias="DefaultDesc")

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not self.model_fields_set - {"category_id"}:
            raise tencent_limit(INVALID_PARAMETER, "an edit must change a field besides CategoryId")
        return self


# Body not confirmed from Tencent's docs.
class DelGiftCategory(Request[EmptyReply]):
    """Remove a gift category.

    Tencent's page (1071/76851) was found but not its field table: the body is the one Tencent's
    own console sends.
    """

    command = Command(LIVE, "del_gift_category")
    category_id: CategoryId = Field(alias="CategoryId")


class GetGiftCategoryReply(Reply):
    # Tencent's page shows GiftCategoryInfo; its console also reads Category.
    gift_category_info: GiftCategory | None = Field(default=None, alias="GiftCategoryInfo")
    category: GiftCategory | None = Field(default=None, alias="Category")


class GetGiftCategory(Request[GetGiftCategoryReply]):
    """Read one gift category (1 call/s)."""

    command = Command(LIVE, "get_gift_category")
    category_id: CategoryId = Field(alias="CategoryId")


# --- the catalogue: category translations ---------------------------------------------------------


class GetGiftCategoryLanguageReply(Reply):
    # Tencent's page shows CategoryInfo; its console reads Language.
    category_info: CategoryText | None = Field(default=None, alias="CategoryInfo")
    language: CategoryText | None = Field(default=None, alias="Language")

    @property
    def text(self) -> CategoryText:
        """The translation, under whichever name Tencent sent it (empty when there is none)."""
        return self.category_info or self.language or CategoryText()


class GetGiftCategoryLanguage(Request[GetGiftCategoryLanguageReply]):
    """Read a category's name and description in one language (1 call/s)."""

    command = Command(LIVE, "get_gift_category_language")
    category_id: CategoryId = Field(alias="CategoryId")
    language: Language = Field(alias="Language")


class SetGiftCategoryLanguage(Request[EmptyReply]):
    """Set a category's name and description in one language; unset fields keep their value (1 call/s).

    The first time a language is set for a category, ``category_name`` is required. Tencent states
    no length for either text.
    """

    command = Command(LIVE, "set_gift_category_language")
    category_id: CategoryId = Field(alias="CategoryId")
    language: Language = Field(alias="Language")
    category_name: str | None = Field(default=None, alias="CategoryName")
    category_desc: str | None = Field(default=None, alias="CategoryDesc")


class DelGiftCategoryLanguage(Request[EmptyReply]):
    command = Command(LIVE, "del_gift_category_language")
    category_id: CategoryId = Field(alias="CategoryId")
    language: Language = Field(alias="Language")


# --- the catalogue: which gift is in which category -----------------------------------------------


class AddGiftCategoryRelationsReply(Reply):
    invalid_gift_id_list: list[str] = Field(default_factory=list, alias="InvalidGiftIdList")
    """The gifts Tencent did not add (drop them from the request before asking again)."""


class AddGiftCategoryRelations(Request[AddGiftCategoryRelationsReply]):
    """Put gifts into a category, beside those already there (1 call/s)."""

    command = Command(LIVE, "add_gift_category_relations")
    category_id: CategoryId = Field(alias="CategoryId")
    gift_id_list: GiftIds = Field(alias="GiftIdList")


class DelGiftCategoryRelations(Request[EmptyReply]):
    """Take gifts out of a category (1 call/s)."""

    command = Command(LIVE, "del_gift_category_relations")
    category_id: CategoryId = Field(alias="CategoryId")
    gift_id_list: GiftIds = Field(alias="GiftIdList")
