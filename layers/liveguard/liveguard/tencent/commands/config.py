"""Webhook configuration (live_config): the callback URL, the commands it receives, and its signing token.

Tencent keeps one configuration per app, created once and updated afterwards: ``set_callback`` on an
app that has one answers 100300, ``update_callback`` (same body) on an app that has none answers
100301, and ``get_callback`` reads it (100301 when there is none). The token is separate:
``get_callback_token`` answers 100302 until ``set_callback_token`` first set one.
(trtc.io/document/64420, 64419, 64418, 69528, 69529; cloud.tencent.com/document/product/269/117540.)
"""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, ConfigDict, Field, SecretStr, field_serializer, model_validator

from .base import CONFIG, INVALID_PARAMETER, Command, EmptyReply, Reply, Request, tencent_limit

CALLBACK_EXISTS = 100300
"""set_callback on an app that already has a configuration: use update_callback."""
NO_CALLBACK = 100301
"""update_callback or get_callback on an app without a configuration: use set_callback."""
NO_CALLBACK_TOKEN = 100302
"""get_callback_token on an app whose token was never set."""
TOKEN_MAX_CHARS = 128


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise tencent_limit(INVALID_PARAMETER, "Url must start with http:// or https://")
    return value


CallbackUrl = Annotated[str, AfterValidator(_http_url)]
CallbackCommandList = list[Annotated[str, Field(min_length=1)]]


class SetCallback(Request[EmptyReply]):
    """Create the app's webhook configuration; Tencent answers 100300 when one exists already."""

    command = Command(CONFIG, "set_callback")
    url: CallbackUrl = Field(alias="Url")
    callback_command_list: CallbackCommandList = Field(alias="CallbackCommandList")


class UpdateCallback(Request[EmptyReply]):
    """Replace the app's webhook configuration; Tencent answers 100301 when there is none yet."""

    command = Command(CONFIG, "update_callback")
    url: CallbackUrl = Field(alias="Url")
    callback_command_list: CallbackCommandList = Field(alias="CallbackCommandList")


class GetCallbackReply(Reply):
    url: str = Field(default="", alias="Url")
    callback_command_list: list[str] = Field(default_factory=list, alias="CallbackCommandList")


class GetCallback(Request[GetCallbackReply]):
    """The app's webhook configuration; Tencent answers 100301 when there is none."""

    command = Command(CONFIG, "get_callback")


class SetCallbackToken(Request[EmptyReply]):
    """Set or change the webhook token; the first call must give both fields."""

    # A rejected token must not be echoed back in the validation error.
    model_config = ConfigDict(hide_input_in_errors=True)

    command = Command(CONFIG, "set_callback_token")
    token: SecretStr | None = Field(default=None, alias="Token", min_length=1, max_length=TOKEN_MAX_CHARS)
    is_token_enable: bool | None = Field(default=None, alias="IsTokenEnable")

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if self.token is None and self.is_token_enable is None:
            raise tencent_limit(INVALID_PARAMETER, "give Token, IsTokenEnable or both")
        return self

    @field_serializer("token", when_used="json")
    def _reveal_on_the_wire(self, token: SecretStr | None) -> str | None:
        return None if token is None else token.get_secret_value()


class GetCallbackTokenReply(Reply):
    token: SecretStr | None = Field(default=None, alias="Token")
    is_token_enable: bool | None = Field(default=None, alias="IsTokenEnable")


class GetCallbackToken(Request[GetCallbackTokenReply]):
    """The webhook token and whether it is in use; Tencent answers 100302 when none was ever set."""

    command = Command(CONFIG, "get_callback_token")
