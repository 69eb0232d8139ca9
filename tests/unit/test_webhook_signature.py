"""Token authentication of Tencent's webhook calls: Sign = sha256(Token + RequestTime)."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from liveguard.tencent.webhook_signature import (
    WebhookSignatureError,
    WebhookSignatureRejection,
    verify_webhook_signature,
    webhook_sign,
)

# The example from Tencent's callback documentation.
DOC_TOKEN = "xxxxyyyy"
DOC_TIME = 1669872112
DOC_SIGN = "17773bc39a671d7b9aa835458704d2a6db81360a5940292b587d6d760d484061"

TOKEN = "liveguard-callback-token"
NOW = 1_700_000_000


def refusal(
    sign: str | None, request_time: str | int | None, *, token: str = TOKEN, now: float = NOW
) -> WebhookSignatureError:
    with pytest.raises(WebhookSignatureError) as caught:
        verify_webhook_signature(token, sign, request_time, now=now)
    return caught.value


# --- signing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_time", [DOC_TIME, str(DOC_TIME)], ids=["int", "text"])
def test_documented_example_signs_as_tencent_does(request_time: int | str) -> None:
    # Given the token and RequestTime from Tencent's documentation
    # When the Sign is computed
    sign = webhook_sign(DOC_TOKEN, request_time)

    # Then it is the documented lowercase hex digest
    assert sign == DOC_SIGN


# --- acceptance ------------------------------------------------------------------------------------


def test_documented_example_verifies_at_its_own_time() -> None:
    # Given the documented Sign and RequestTime, as query text
    # When they are verified at that moment
    request_time = verify_webhook_signature(DOC_TOKEN, DOC_SIGN, str(DOC_TIME), now=DOC_TIME)

    # Then the RequestTime comes back as an int
    assert request_time == DOC_TIME


def test_upper_case_sign_is_accepted() -> None:
    # Given a Sign upper-cased on its way through a proxy
    sign = webhook_sign(TOKEN, NOW).upper()

    # When it is verified
    request_time = verify_webhook_signature(TOKEN, sign, str(NOW), now=NOW)

    # Then it is accepted
    assert request_time == NOW


def test_int_request_time_is_accepted() -> None:
    # Given a RequestTime already parsed to an int
    sign = webhook_sign(TOKEN, NOW)

    # When it is verified
    request_time = verify_webhook_signature(TOKEN, sign, NOW, now=NOW)

    # Then it is accepted
    assert request_time == NOW


def test_current_clock_is_used_when_now_is_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a clock reading NOW
    monkeypatch.setattr("liveguard.tencent.webhook_signature.time.time", lambda: float(NOW))

    # When a call signed at NOW is verified without ``now``
    request_time = verify_webhook_signature(TOKEN, webhook_sign(TOKEN, NOW), str(NOW))

    # Then it is fresh
    assert request_time == NOW


@pytest.mark.parametrize("offset", [-60, 60], ids=["60s-old", "60s-ahead"])
def test_request_time_exactly_at_the_window_edge_is_accepted(offset: int) -> None:
    # Given a call signed exactly 60 s away from our clock, either way
    request_time = NOW + offset
    sign = webhook_sign(TOKEN, request_time)

    # When it is verified
    accepted = verify_webhook_signature(TOKEN, sign, str(request_time), now=NOW)

    # Then it is still accepted
    assert accepted == request_time


def test_sign_is_checked_against_request_time_as_sent() -> None:
    # Given a call whose RequestTime text has a leading zero, signed over that text
    text = f"0{NOW}"
    sign = webhook_sign(TOKEN, text)

    # When it is verified
    request_time = verify_webhook_signature(TOKEN, sign, text, now=NOW)

    # Then it is accepted, because Tencent hashed the characters it sent
    assert request_time == NOW


@given(token=st.text(min_size=1, max_size=128), offset=st.integers(min_value=-60, max_value=60))
def test_any_token_round_trips_within_the_window(token: str, offset: int) -> None:
    # Given a call signed with any token inside the window
    request_time = NOW + offset
    sign = webhook_sign(token, request_time)

    # When it is verified with that token
    accepted = verify_webhook_signature(token, sign, str(request_time), now=NOW)

    # Then it is accepted
    assert accepted == request_time


# --- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [-61, 61], ids=["61s-old", "61s-ahead"])
def test_request_time_past_the_window_is_refused_as_stale(offset: int) -> None:
    # Given a correctly signed call 61 s away from our clock, either way
    request_time = NOW + offset
    sign = webhook_sign(TOKEN, request_time)

    # When it is verified
    error = refusal(sign, str(request_time))

    # Then it is refused as stale: it could be a replay
    assert error.reason is WebhookSignatureRejection.STALE


def test_window_can_be_narrowed() -> None:
    # Given a call signed 10 s ago
    sign = webhook_sign(TOKEN, NOW - 10)

    # When it is verified with a 5 s window
    with pytest.raises(WebhookSignatureError) as caught:
        verify_webhook_signature(TOKEN, sign, str(NOW - 10), now=NOW, window=5)

    # Then it is refused as stale
    assert caught.value.reason is WebhookSignatureRejection.STALE


@pytest.mark.parametrize(
    ("sign", "request_time"),
    [
        (None, str(NOW)),
        ("", str(NOW)),
        (webhook_sign(TOKEN, NOW), None),
        (webhook_sign(TOKEN, NOW), ""),
        (None, None),
    ],
    ids=["no-sign", "empty-sign", "no-time", "empty-time", "neither"],
)
def test_call_without_sign_or_request_time_is_refused_as_missing(
    sign: str | None, request_time: str | None
) -> None:
    # Given a call lacking Sign or RequestTime, as when token auth is off at Tencent
    # When it is verified
    error = refusal(sign, request_time)

    # Then it is refused as missing
    assert error.reason is WebhookSignatureRejection.MISSING


@pytest.mark.parametrize(
    "request_time",
    [
        "yesterday",
        f"{NOW}.0",
        f" {NOW}",
        f"+{NOW}",
        f"{NOW:_}",
        "0x6553f100",
        # Arabic-Indic digits: int() takes them, Tencent never sends them.
        "".join(chr(0x0660 + int(digit)) for digit in str(NOW)),
        "9" * 5000,
        10**5000,
        True,
    ],
    ids=[
        "word",
        "decimal",
        "whitespace",
        "plus-sign",
        "underscores",
        "hex",
        "non-ascii-digits",
        "huge-text",
        "huge-int",
        "bool",
    ],
)
def test_non_numeric_request_time_is_refused_as_malformed(request_time: str | int) -> None:
    # Given a RequestTime that is not a plain base-10 integer
    # When it is verified
    error = refusal(webhook_sign(TOKEN, NOW), request_time)

    # Then it is refused as malformed
    assert error.reason is WebhookSignatureRejection.MALFORMED_TIME


def test_sign_made_with_another_token_is_refused_as_mismatch() -> None:
    # Given a fresh call signed with a token that is not ours
    sign = webhook_sign("someone-else", NOW)

    # When it is verified
    error = refusal(sign, str(NOW))

    # Then it is refused as a mismatch
    assert error.reason is WebhookSignatureRejection.MISMATCH


def test_sign_replayed_with_a_fresh_request_time_is_refused_as_mismatch() -> None:
    # Given an old call's Sign with its RequestTime bumped to now
    sign = webhook_sign(TOKEN, NOW - 3600)

    # When it is verified
    error = refusal(sign, str(NOW))

    # Then it is refused as a mismatch
    assert error.reason is WebhookSignatureRejection.MISMATCH


def test_non_ascii_sign_is_refused_as_mismatch() -> None:
    # Given a Sign that is not even hex
    # When it is verified
    error = refusal("ünïcödé", str(NOW))

    # Then it is refused as a mismatch, not a crash in the constant-time compare
    assert error.reason is WebhookSignatureRejection.MISMATCH


def test_empty_token_is_a_configuration_error() -> None:
    # Given no token configured, which would let anyone forge a Sign
    # When a call is verified
    # Then verification refuses to run at all
    with pytest.raises(ValueError, match="token"):
        verify_webhook_signature("", hashlib.sha256(str(NOW).encode()).hexdigest(), str(NOW), now=NOW)


REFUSALS = {
    "missing": (None, str(NOW)),
    "malformed-time": ("abc", "soon"),
    "stale": (webhook_sign(TOKEN, NOW - 3600), str(NOW - 3600)),
    "mismatch": ("0" * 64, str(NOW)),
}


@pytest.mark.parametrize(("sign", "request_time"), REFUSALS.values(), ids=REFUSALS.keys())
def test_refusal_message_holds_neither_the_token_nor_the_expected_sign(
    sign: str | None, request_time: str
) -> None:
    # Given a call refused for any reason
    error = refusal(sign, request_time)

    # When its message is read
    message = str(error)

    # Then neither the token nor the Sign we expected appears in it
    assert TOKEN not in message
    assert webhook_sign(TOKEN, request_time) not in message


@given(sign=st.none() | st.text(), request_time=st.none() | st.text() | st.from_regex(r"\A-?[0-9]{1,12}\Z"))
def test_arbitrary_sign_and_request_time_only_raise_webhook_signature_error(
    sign: str | None, request_time: str | None
) -> None:
    # Given any text as Sign and RequestTime
    # When the call is verified
    # Then it is refused, and only ever with a WebhookSignatureError
    with pytest.raises(WebhookSignatureError):
        verify_webhook_signature(TOKEN, sign, request_time, now=NOW)
