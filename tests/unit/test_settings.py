"""The Tencent secret's model: required keys, where REST calls go, and nothing secret in its repr."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from pydantic import ValidationError

from liveguard.settings import SecretUnusable, TencentSecret, parse_tencent_secret

BASE = {"SdkAppId": 1400000001, "SecretKey": "k3y-value", "AdminIdentifier": "administrator"}


@pytest.mark.parametrize(
    ("region", "url"),
    [
        ("Singapore", "https://adminapisgp.im.qcloud.com"),
        ("USA", "https://adminapiusa.im.qcloud.com"),
        ("china", "https://console.tim.qq.com"),
        (" JAKARTA ", "https://adminapiidn.im.qcloud.com"),
    ],
)
def test_the_region_picks_its_documented_domain(region, url):
    assert TencentSecret.model_validate({**BASE, "Region": region}).base_url == url


def test_an_explicit_api_base_url_wins_over_the_region():
    secret = TencentSecret.model_validate({**BASE, "Region": "USA", "ApiBaseUrl": "http://127.0.0.1:9000/"})
    assert secret.base_url == "http://127.0.0.1:9000"


def test_a_secret_that_says_nowhere_to_call_is_refused_with_what_to_set():
    with pytest.raises(ValidationError, match="set ApiBaseUrl, or Region"):
        TencentSecret.model_validate(BASE)


def test_an_unknown_region_is_refused_naming_the_field():
    with pytest.raises(ValidationError) as raised:
        TencentSecret.model_validate({**BASE, "Region": "Mars"})
    assert raised.value.errors()[0]["loc"] == ("Region",)


@pytest.mark.parametrize("key", ["SdkAppId", "SecretKey", "AdminIdentifier"])
def test_each_required_key_is_named_when_missing(key):
    body = {**BASE, "Region": "USA"}
    del body[key]
    with pytest.raises(ValidationError) as raised:
        TencentSecret.model_validate(body)
    assert raised.value.errors()[0]["loc"] == (key,)


def test_a_misspelt_key_is_refused_rather_than_ignored():
    # a typo in CallbackToken must not silently switch webhook authentication off
    with pytest.raises(ValidationError) as raised:
        TencentSecret.model_validate({**BASE, "Region": "USA", "Callbacktoken": "t"})
    assert raised.value.errors()[0]["type"] == "extra_forbidden"


def test_a_blank_callback_token_means_no_token():
    assert (
        TencentSecret.model_validate({**BASE, "Region": "USA", "CallbackToken": " "}).callback_token is None
    )


def test_the_sdk_app_id_may_come_as_text():
    assert (
        TencentSecret.model_validate({**BASE, "SdkAppId": "1400000001", "Region": "USA"}).sdk_app_id
        == 1400000001
    )


def test_secrets_do_not_show_in_the_repr():
    secret = TencentSecret.model_validate({**BASE, "Region": "USA", "CallbackToken": "tok-value"})
    assert "k3y-value" not in repr(secret)
    assert "tok-value" not in repr(secret)
    assert secret.secret_key.get_secret_value() == "k3y-value"


# --- where the admin UserSig may go -------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://adminapisgp.im.qcloud.com",
        "http://127.0.0.1:9000",
        "http://127.8.9.10:9000/",
        "http://localhost:9000",
        "http://LOCALHOST",
        "http://[::1]:9000",
    ],
)
def test_an_api_base_url_is_https_or_loopback(url):
    secret = TencentSecret.model_validate({**BASE, "ApiBaseUrl": url})
    assert secret.base_url.lower() == url.rstrip("/").lower()


@pytest.mark.parametrize(
    "url",
    [
        "http://adminapisgp.im.qcloud.com",
        "http://10.0.0.5:9000",
        "http://host.docker.internal:9000",
        "http://localhost.attacker.example",
        "http://[::2]:9000",
        "http://0.0.0.0:9000",
    ],
)
def test_a_plain_http_api_base_url_off_loopback_is_refused_naming_the_key_not_the_value(url):
    # Given a secret that would send the administrator's UserSig in clear over the network
    with pytest.raises(ValidationError) as raised:
        TencentSecret.model_validate({**BASE, "ApiBaseUrl": url})
    # Then the error names ApiBaseUrl and what it must be, and never repeats the URL
    [error] = raised.value.errors()
    assert error["loc"] == ("ApiBaseUrl",)
    assert "https" in error["msg"]
    host = urlsplit(url).hostname
    assert host
    assert host not in str(raised.value)


# --- the Chat side's token ----------------------------------------------------------------------


def test_the_chat_token_is_optional_and_falls_back_to_the_callback_token():
    secret = TencentSecret.model_validate({**BASE, "Region": "USA", "CallbackToken": "live-tok"})
    assert secret.chat_callback_token is None
    assert secret.callback_token_for("Group.CallbackBeforeSendMsg").get_secret_value() == "live-tok"


@pytest.mark.parametrize(
    ("command", "token"),
    [
        ("Live.CallbackAfterCreateRoom", "live-tok"),
        ("Mic.CallbackAfterSeatInfoChanged", "live-tok"),
        ("Group.CallbackBeforeSendMsg", "chat-tok"),
        ("ContentCallback.ResultNotify", "chat-tok"),
        ("Follow.CallbackAfterFollowAdd", "chat-tok"),
        ("Somewhere.New", "chat-tok"),
        ("", "chat-tok"),
        ("LiveX.Callback", "chat-tok"),
    ],
)
def test_the_query_commands_namespace_picks_the_sides_token(command, token):
    secret = TencentSecret.model_validate(
        {**BASE, "Region": "USA", "CallbackToken": "live-tok", "ChatCallbackToken": "chat-tok"}
    )
    assert secret.callback_token_for(command).get_secret_value() == token


def test_the_chat_token_does_not_show_in_the_repr():
    secret = TencentSecret.model_validate({**BASE, "Region": "USA", "ChatCallbackToken": "chat-tok-value"})
    assert "chat-tok-value" not in repr(secret)


# --- what an unusable secret is reported as -----------------------------------------------------


def test_a_misspelt_key_is_reported_by_name_with_the_key_it_resembles():
    with pytest.raises(SecretUnusable) as raised:
        parse_tencent_secret({**BASE, "Region": "USA", "CallbackTokn": "tok-value"})
    assert "CallbackTokn: not a key LiveGuard knows; did you mean CallbackToken?" in str(raised.value)
    assert "tok-value" not in str(raised.value)
    assert raised.value.retryable is False


def test_an_unknown_key_that_resembles_none_of_ours_is_not_named():
    # Given a token pasted where a key's name should be
    with pytest.raises(SecretUnusable) as raised:
        parse_tencent_secret({**BASE, "Region": "USA", "Zx81Qw7Lp3Mn": "1"})
    # Then the report counts its characters and lists the keys, without repeating it
    assert "an unknown key (12 characters)" in str(raised.value)
    assert "Zx81Qw7Lp3Mn" not in str(raised.value)
