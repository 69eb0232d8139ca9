"""Configuration models: the Tencent secret (Secrets Manager, JSON) and the functions' environment."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, HttpUrl, SecretStr, model_validator


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


class TencentSecret(BaseModel):
    """The secret's JSON. Unknown keys are refused: a misspelt ``CallbackToken`` must not quietly
    turn webhook authentication off."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    sdk_app_id: int = Field(alias="SdkAppId", gt=0)
    secret_key: SecretStr = Field(alias="SecretKey", min_length=1)
    admin_identifier: str = Field(alias="AdminIdentifier", min_length=1, max_length=32)
    callback_token: Annotated[SecretStr | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="CallbackToken", max_length=128
    )
    api_base_url: Annotated[HttpUrl | None, BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="ApiBaseUrl"
    )
    region: Annotated[TencentRegion | None, BeforeValidator(_lower), BeforeValidator(_blank_is_none)] = Field(
        default=None, alias="Region"
    )

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


class IngressEnvironment(BaseModel):
    """The ingress function's environment, validated once per cold start."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    events_queue_url: HttpUrl = Field(alias="EVENTS_QUEUE_URL")
    tencent_secret_arn: str = Field(alias="TENCENT_SECRET_ARN", min_length=1)
    secret_max_age: int = Field(default=300, alias="TENCENT_SECRET_MAX_AGE", ge=0, le=3600)
    state_table_name: str | None = Field(default=None, alias="STATE_TABLE_NAME", min_length=1)
    rules_file: str | None = Field(default=None, alias="RULES_FILE", min_length=1)


class DrainEnvironment(BaseModel):
    """The spool drain's environment: where kept events are (the state table) and where they go."""

    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)

    events_queue_url: HttpUrl = Field(alias="EVENTS_QUEUE_URL")
    state_table_name: str = Field(alias="STATE_TABLE_NAME", min_length=1)


def load_tencent_secret(arn: str, max_age: int = 300) -> TencentSecret:
    """The Tencent secret through Powertools parameters, cached for ``max_age`` seconds.

    Powertools' parameters package imports boto3 (about 0.3 s); it is imported here, on first use,
    so the ingress module itself loads fast.
    """
    from aws_lambda_powertools.utilities import parameters

    raw = parameters.get_secret(arn, transform="json", max_age=max_age)
    return TencentSecret.model_validate(raw)
