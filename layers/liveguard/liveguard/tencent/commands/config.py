"""Webhook configuration (live_config): the callback URL and its signing token."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import AfterValidator, ConfigDict, Field, SecretStr, field_serializer, model_validator

from .base import CONFIG, INVALID_PARAMETER, Command, EmptyReply, Reply, Request, tencent_limit


def _http_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise tencent_limit(INVALID_PARAMETER, "Url must start with http:// or https://")
    return value


class SetCallback(Request[EmptyReply]):
    """Create or overwrite the app's single webhook configuration."""

    command = Command(CONFIG, "set_callback")
    url: Annotated[str, AfterValidator(_http_url)] = Field(alias="Url")
    callback_command_list: list[Annotated[str, Field(min_length=1)]] = Field(alias="CallbackCommandList")


class SetCallbackToken(Request[EmptyReply]):
    """Set or change the webhook token; the first call must give both fields."""

    # A rejected token must not be echoed back in the validation error.
    model_config = ConfigDict(hide_input_in_errors=True)

    command = Command(CONFIG, "set_callback_token")
    token: SecretStr | None = Field(default=None, alias="Token", min_length=1, max_length=128)
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
    command = Command(CONFIG, "get_callback_token")
