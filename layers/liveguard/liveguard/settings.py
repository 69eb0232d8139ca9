"""Configuration models: the Tencent secret (Secrets Manager, JSON) and the functions' environment.

The secret holds the app's key and the webhook tokens, so nothing here lets a value of it reach a log
line or an exception: ``TencentSecret`` hides its input in validation errors, and reading it
(``liveguard.aws.secrets.load_tencent_secret``) turns every failure into ``SecretUnusable``, whose
message names keys and reasons only.
"""

from __future__ import annotations

import difflib
import ipaddress
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from liveguard.webhooks.commands import is_live_side


class TencentRegion(StrEnum):
    """Data centres with a documented REST domain. Use the one where the SDKAppID lives."""

    SINGAPORE = "singapore"
    USA = "usa"
    CHINA = "china"
    JAKARTA = "jakarta"


REGION_BASE_URLS: dict[TencentRegion, str] = {
    TencentRegion.SINGAPORE: "https://adminapisgp.im.qcloud.com",
    TencentRegion.USA: "https://adminapiusa.im.qcloud.com",
    TencentRegion.CHINA: "https://console.tim.qq.com",
    TencentRegion.JAKARTA: "https://adminapiidn.im.qcloud.com",
}


def _lower(value: object) -> object:
    return value.strip().lower() if isinstance(value, str) else value


def _blank_is_none(value: object) -> object:
    return None if isinstance(value, str) and not value.strip() else value


LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 or ``localhost``: the only hosts a UserSig may travel to over plain http."""
    if host is None:
        return False
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TencentSecret(BaseModel):
    """The secret's JSON. Unknown keys are refused: a misspelt ``CallbackToken`` must not quietly
    turn webhook authentication off. Validation errors never repeat the input (``hide_input_in_errors``):
    a misspelt key's value is the token, a wrongly typed one may be the key."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, hide_input_in_errors=True)

    sdk_app_id: int = Field(alias="SdkAppId", gt=0)
    secret_key: SecretStr = Field(alias="SecretKey", min_length=1)
    admin_identifier: str = Field(alias="AdminIdentifier", min_length=1, max_length=32)
    callback_token: Annotated[SecretStr | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="CallbackToken", max_length=128
    )
    chat_callback_token: Annotated[SecretStr | None, BeforeValidator(_blank_is_none)] = Field(
        default=None,
        alias="ChatCallbackToken",
        max_length=128,
        description="the Chat side's token (Group.*, ContentCallback.*, ...); absent: CallbackToken",
    )
    api_base_url: Annotated[HttpUrl | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="ApiBaseUrl"
    )
    region: Annotated[TencentRegion | None, BeforeValidator(_lower), BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="Region"
    )

    @field_validator("api_base_url")
    @classmethod
    def _https_unless_loopback(cls, url: HttpUrl | None) -> HttpUrl | None:
        # The actuator puts an administrator's UserSig in every request's query string.
        if url is not None and url.scheme != "https" and not is_loopback(url.host):
            raise ValueError(
                "must be an https URL (http only for loopback: 127.0.0.0/8, ::1, localhost), since "
                "every REST call carries an administrator UserSig"
            )
        return url

    @model_validator(mode="after")
    def _needs_a_place_to_call(self) -> Self:
        if self.api_base_url is None and self.region is None:
            raise ValueError(
                "set ApiBaseUrl, or Region (one of: " + ", ".join(r.value for r in TencentRegion) + ")"
            )
        return self

    @property
    def base_url(self) -> str:
        """Where REST calls go: ``ApiBaseUrl`` when set, else the region's documented domain."""
        if self.api_base_url is not None:
            return str(self.api_base_url).rstrip("/")
        assert self.region is not None  # guaranteed by the validator
        return REGION_BASE_URLS[self.region]

    def callback_token_for(self, command: str) -> SecretStr | None:
        """The token a callback named ``command`` (its query CallbackCommand) is signed with.

        Tencent has two callback configurations, each with its own token: the Live side
        (``live_config/set_callback_token``) sends ``Live.*`` and ``Mic.*``; the Chat side (the Chat
        console) sends the rest (``Group.*``, ``ContentCallback.*``, ``Follow.*``, and anything new).
        Without a ``ChatCallbackToken`` the operator gave both sides the ``CallbackToken``.
        """
        if is_live_side(command) or self.chat_callback_token is None:
            return self.callback_token
        return self.chat_callback_token


# --- the functions' environments: validated once per cold start, composed from the pieces they share


class _Environment(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class _EventsQueue(_Environment):
    events_queue_url: HttpUrl = Field(alias="EVENTS_QUEUE_URL")


class _ActionsQueue(_Environment):
    actions_queue_url: HttpUrl = Field(alias="ACTIONS_QUEUE_URL")


class _DelayedActionsQueue(_Environment):
    delayed_actions_queue_url: HttpUrl = Field(alias="DELAYED_ACTIONS_QUEUE_URL")


class _StateTable(_Environment):
    state_table_name: str = Field(alias="STATE_TABLE_NAME", min_length=3, max_length=255)


class _TencentSecretArn(_Environment):
    tencent_secret_arn: str = Field(alias="TENCENT_SECRET_ARN", min_length=1)
    secret_max_age: int = Field(default=300, alias="TENCENT_SECRET_MAX_AGE", ge=0, le=3600)


class _RulesBucket(_Environment):
    """Where the published rules are (``liveguard rules publish``). No bucket: RULES_FILE or the layer's
    defaults, never checked again."""

    rules_bucket: Annotated[str | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="RULES_BUCKET", min_length=3, max_length=63
    )
    rules_key: str = Field(default="rules/active.json", alias="RULES_KEY", min_length=1, max_length=1024)
    rules_refresh_seconds: float = Field(
        default=30.0,
        alias="RULES_REFRESH_SECONDS",
        gt=0,
        le=60,
        description="check the bucket for a new version at most this often (new rules within 60 s)",
    )


class IngressEnvironment(_EventsQueue, _TencentSecretArn, _RulesBucket):
    """The ingress function's environment. The state table is optional here: without it, no spool
    and no inline sanctions."""

    state_table_name: str | None = Field(default=None, alias="STATE_TABLE_NAME", min_length=1)
    rules_file: str | None = Field(default=None, alias="RULES_FILE", min_length=1)
    allow_unsigned_callbacks: bool = Field(
        default=False,
        alias="ALLOW_UNSIGNED_CALLBACKS",
        description="accept callbacks when the secret has no token (a console test); off: 503 50302",
    )


class ModeratorEnvironment(_ActionsQueue, _DelayedActionsQueue, _StateTable, _TencentSecretArn, _RulesBucket):
    """The moderator function's environment."""

    rules_file: Annotated[Path | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="RULES_FILE", description="the rules file; unset: the layer's defaults"
    )
    events_dlq_url: Annotated[HttpUrl | None, BeforeValidator(_blank_is_none)] = Field(
        default=None,
        alias="EVENTS_DLQ_URL",
        description="set: a malformed event goes to the events DLQ at once, not after maxReceiveCount",
    )


class ActuatorEnvironment(_DelayedActionsQueue, _StateTable, _TencentSecretArn):
    """The actuator function's environment."""

    actions_dlq_url: HttpUrl = Field(alias="ACTIONS_DLQ_URL")
    dry_run: bool = Field(default=False, alias="DRY_RUN")
    concurrency: int = Field(
        default=1,
        alias="ACTUATOR_CONCURRENCY",
        ge=1,
        le=1000,
        description="= the actions queue's event source's MaximumConcurrency",
    )
    delayed_actions_concurrency: int = Field(
        default=0,
        alias="DELAYED_ACTIONS_CONCURRENCY",
        ge=0,
        le=1000,
        description="= the delayed-actions queue's event source's MaximumConcurrency",
    )

    @property
    def instances(self) -> int:
        """The most actuator instances at once: both event sources' MaximumConcurrency together."""
        return self.concurrency + self.delayed_actions_concurrency


class DrainEnvironment(_EventsQueue, _StateTable):
    """The spool drain's environment: where kept events are (the state table) and where they go."""


class SecretUnusable(Exception):  # noqa: N818 - a condition of the configuration, like ValueError
    """The Tencent secret could not be read, or is not LiveGuard's settings.

    Its message names the keys at fault and why, never a value: it is logged, and the ingress
    answers 503 50302 when it is raised. ``retryable`` tells a failure of the store (throttling, the
    network, permissions) from a secret whose content is wrong.
    """

    def __init__(self, reason: str, *, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


def describe_secret_errors(error: ValidationError) -> str:
    """What is wrong with a secret, by key, without its values (nor an unknown key that resembles none
    of ours: that may be a pasted token)."""
    known = [str(field.alias) for field in TencentSecret.model_fields.values()]
    problems = []
    for item in error.errors(include_url=False, include_context=False, include_input=False):
        location = ".".join(str(part) for part in item["loc"])
        if item["type"] == "extra_forbidden":
            close = difflib.get_close_matches(location, known, n=1, cutoff=0.75)
            problems.append(
                f"{location}: not a key LiveGuard knows; did you mean {close[0]}?"
                if close
                else f"an unknown key ({len(location)} characters); the keys are {', '.join(known)}"
            )
        else:
            problems.append(f"{location or '<secret>'}: {item['msg']}")
    return "; ".join(problems)


def parse_tencent_secret(raw: Any) -> TencentSecret:
    """Validate the secret's JSON; ``SecretUnusable`` (keys and reasons only) when it does not fit."""
    try:
        return TencentSecret.model_validate(raw)
    except ValidationError as error:
        raise SecretUnusable(
            f"the Tencent secret is not LiveGuard's settings: {describe_secret_errors(error)}",
            retryable=False,
        ) from None
