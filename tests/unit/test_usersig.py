"""UserSig generation and verification, cross-checked against Tencent's own TLSSigAPIv2 package."""

from __future__ import annotations

import base64
import json
import zlib
from typing import Any
from unittest import mock

import pytest
import TLSSigAPIv2
from hypothesis import given
from hypothesis import strategies as st

from liveguard.tencent.usersig import (
    DEFAULT_EXPIRE,
    UserSigClaims,
    UserSigError,
    UserSigRejection,
    gen_usersig,
    verify_usersig,
)

SDKAPPID = 1400000000
# The key from the official package's own example; any string will do.
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
OTHER_KEY = "0" * 64
ADMIN = "administrator"
NOW = 1_700_000_000
DAY = 86400

identifiers = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", min_size=1, max_size=32
)
sdkappids = st.integers(min_value=1, max_value=2**32 - 1)
expires = st.integers(min_value=0, max_value=10 * 365 * DAY)
times = st.integers(min_value=0, max_value=2**32 - 1)


def official_sig(
    identifier: str, expire: int = DEFAULT_EXPIRE, *, sdkappid: int = SDKAPPID, now: int = NOW
) -> str:
    """A sig from the official package, signed at ``now``."""
    api = TLSSigAPIv2.TLSSigAPIv2(sdkappid, KEY)
    # The docs name the method genUserSig; the 1.1 release on PyPI calls it gen_sig.
    generate = getattr(api, "genUserSig", None) or api.gen_sig
    with mock.patch.object(TLSSigAPIv2.time, "time", return_value=float(now)):
        return str(generate(identifier, expire))


def official_sig_with_userbuf(identifier: str, expire: int, userbuf: bytes) -> str:
    """A privilege-map style sig (carrying TLS.userbuf) from the official package, signed at NOW."""
    api = TLSSigAPIv2.TLSSigAPIv2(SDKAPPID, KEY)
    with mock.patch.object(TLSSigAPIv2.time, "time", return_value=float(NOW)):
        return str(api.gen_sig_with_userbuf(identifier, expire, userbuf))


def decode(usersig: str) -> dict[str, Any]:
    """The JSON inside a sig, unwrapped independently of the module under test."""
    compressed = base64.b64decode(usersig.translate(str.maketrans("*-_", "+/=")))
    fields: dict[str, Any] = json.loads(zlib.decompress(compressed))
    return fields


def encode(payload: bytes) -> str:
    """Bytes compressed and wrapped as a sig is, so a test can plant any content."""
    return base64.b64encode(zlib.compress(payload)).decode().translate(str.maketrans("+/=", "*-_"))


def encode_fields(fields: dict[str, Any]) -> str:
    return encode(json.dumps(fields).encode())


def verify(
    usersig: str, *, identifier: str = ADMIN, key: str = KEY, sdkappid: int = SDKAPPID, now: int = NOW
) -> UserSigClaims:
    return verify_usersig(usersig, sdkappid=sdkappid, secret_key=key, identifier=identifier, now=now)


def refusal(usersig: str, **kwargs: Any) -> UserSigError:
    with pytest.raises(UserSigError) as caught:
        verify(usersig, **kwargs)
    return caught.value


# --- cross-checks with the official package -------------------------------------------------------


def test_our_sig_verifies_with_our_verifier() -> None:
    # Given a sig we generated
    usersig = gen_usersig(SDKAPPID, KEY, ADMIN, 7 * DAY, now=NOW)

    # When it is verified with the same app, key and identifier
    claims = verify(usersig)

    # Then its claims are what was signed
    assert claims == UserSigClaims(identifier=ADMIN, sdkappid=SDKAPPID, time=NOW, expire=7 * DAY)


def test_official_sig_verifies_with_our_verifier() -> None:
    # Given a sig from Tencent's package
    usersig = official_sig(ADMIN, 7 * DAY)

    # When we verify it
    claims = verify(usersig)

    # Then it is accepted with the official claims
    assert claims == UserSigClaims(identifier=ADMIN, sdkappid=SDKAPPID, time=NOW, expire=7 * DAY)


def test_official_sig_carrying_a_userbuf_verifies_with_our_verifier() -> None:
    # Given an official sig with TLS.userbuf, whose HMAC covers an extra line
    usersig = official_sig_with_userbuf(ADMIN, DAY, b"\x00\x00\x05admin")

    # When we verify it
    claims = verify(usersig)

    # Then it is accepted
    assert claims.expires_at == NOW + DAY


def test_our_sig_carries_exactly_the_official_field_names_and_types() -> None:
    # Given our sig and the official one for the same claims
    ours = decode(gen_usersig(SDKAPPID, KEY, ADMIN, DAY, now=NOW))
    theirs = decode(official_sig(ADMIN, DAY))

    # When their fields are compared by name and type
    shape = {name: type(value) for name, value in ours.items()}

    # Then they are the same, down to the version string
    assert shape == {name: type(value) for name, value in theirs.items()}
    assert shape == {
        "TLS.ver": str,
        "TLS.identifier": str,
        "TLS.sdkappid": int,
        "TLS.expire": int,
        "TLS.time": int,
        "TLS.sig": str,
    }
    assert ours["TLS.ver"] == "2.0"


def test_our_hmac_equals_the_official_one_for_the_same_second(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the official package's clock frozen at NOW
    monkeypatch.setattr(TLSSigAPIv2.time, "time", lambda: float(NOW))
    api = TLSSigAPIv2.TLSSigAPIv2(SDKAPPID, KEY)
    generate = getattr(api, "genUserSig", None) or api.gen_sig

    # When both sign the same claims at NOW
    theirs = decode(generate(ADMIN, DAY))
    ours = decode(gen_usersig(SDKAPPID, KEY, ADMIN, DAY, now=NOW))

    # Then the HMACs are identical
    assert ours["TLS.sig"] == theirs["TLS.sig"]


@given(identifier=identifiers, sdkappid=sdkappids, expire=expires, now=times)
def test_our_whole_sig_equals_the_official_one_for_the_same_second(
    identifier: str, sdkappid: int, expire: int, now: int
) -> None:
    # Given any claims signed by the official package at ``now``
    theirs = official_sig(identifier, expire, sdkappid=sdkappid, now=now)

    # When we sign the same claims at the same second
    ours = gen_usersig(sdkappid, KEY, identifier, expire, now=now)

    # Then the sigs are the same string (same JSON, same zlib stream, same alphabet)
    assert ours == theirs


# --- generation ------------------------------------------------------------------------------------


def test_sig_is_valid_for_180_days_by_default() -> None:
    # Given a sig generated without an expiry
    usersig = gen_usersig(SDKAPPID, KEY, ADMIN, now=NOW)

    # When it is verified
    claims = verify(usersig)

    # Then it lasts 180 days, as the official default
    assert claims.expire == 180 * DAY


def test_sig_is_signed_at_the_current_time_when_now_is_not_given(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a clock reading NOW and a fraction
    monkeypatch.setattr("liveguard.tencent.usersig.time.time", lambda: NOW + 0.75)

    # When a sig is generated without ``now``
    claims = verify(gen_usersig(SDKAPPID, KEY, ADMIN, DAY))

    # Then it was signed at the whole second, as the official package does
    assert claims.time == NOW


def test_claims_expire_at_signing_time_plus_duration() -> None:
    # Given claims signed at NOW for a day
    claims = UserSigClaims(identifier=ADMIN, sdkappid=SDKAPPID, time=NOW, expire=DAY)

    # When their expiry is read
    expires_at = claims.expires_at

    # Then it is a day after signing
    assert expires_at == NOW + DAY


@pytest.mark.parametrize("identifier", ["", "admin\nTLS.sdkappid:1"], ids=["empty", "line-break"])
def test_sig_cannot_be_generated_for_an_unusable_identifier(identifier: str) -> None:
    # Given an identifier that cannot be signed unambiguously
    # When a sig is generated for it
    # Then generation refuses
    with pytest.raises(ValueError, match="identifier"):
        gen_usersig(SDKAPPID, KEY, identifier, now=NOW)


def test_sig_cannot_be_generated_with_a_negative_duration() -> None:
    # Given a negative validity
    # When a sig is generated with it
    # Then generation refuses
    with pytest.raises(ValueError, match="expire"):
        gen_usersig(SDKAPPID, KEY, ADMIN, -1, now=NOW)


@given(identifier=identifiers, sdkappid=sdkappids, expire=expires, now=times)
def test_any_valid_identifier_app_and_duration_round_trip(
    identifier: str, sdkappid: int, expire: int, now: int
) -> None:
    # Given a sig for any valid user ID, app and validity
    usersig = gen_usersig(sdkappid, KEY, identifier, expire, now=now)

    # When it is verified at its last valid second
    claims = verify_usersig(
        usersig, sdkappid=sdkappid, secret_key=KEY, identifier=identifier, now=now + expire
    )

    # Then the claims come back unchanged
    assert claims == UserSigClaims(identifier=identifier, sdkappid=sdkappid, time=now, expire=expire)


# --- refusals --------------------------------------------------------------------------------------


def test_empty_sig_is_refused_as_empty() -> None:
    # Given an empty sig
    # When it is verified
    error = refusal("")

    # Then it is refused as empty, as Tencent would with 70002
    assert (error.reason, error.tencent_code) == (UserSigRejection.EMPTY, 70002)


def _real_fields() -> dict[str, Any]:
    return decode(gen_usersig(SDKAPPID, KEY, ADMIN, DAY, now=NOW))


def _without(name: str) -> str:
    fields = _real_fields()
    del fields[name]
    return encode_fields(fields)


def _with(name: str, value: object) -> str:
    return encode_fields({**_real_fields(), name: value})


MALFORMED = {
    "not-base64": "this is not a sig!",
    "standard-base64-alphabet": base64.b64encode(zlib.compress(b"{}")).decode() + "+/",
    "missing-padding": encode(b"{}").rstrip("_"),
    "not-zlib": base64.b64encode(b"plain bytes, no zlib").decode().translate(str.maketrans("+/=", "*-_")),
    "truncated": gen_usersig(SDKAPPID, KEY, ADMIN, now=NOW)[:-12],
    "zlib-with-trailing-bytes": base64.b64encode(zlib.compress(b"{}") + b"xx")
    .decode()
    .translate(str.maketrans("+/=", "*-_")),
    "not-utf8": encode(b"\xff\xfe{}"),
    "not-json": encode(b"TLS.identifier:administrator"),
    "json-array": encode(b"[1, 2, 3]"),
    "deeply-nested-json": encode(b"[" * 5000 + b"]" * 5000),
    "huge-integer": encode(b'{"TLS.time": ' + b"9" * 5000 + b"}"),
    "zlib-bomb": encode(b'{"TLS.ver": "2.0", "pad": "' + b" " * 1_000_000 + b'"}'),
    "no-version": _without("TLS.ver"),
    "other-version": _with("TLS.ver", "1.0"),
    "no-identifier": _without("TLS.identifier"),
    "no-sdkappid": _without("TLS.sdkappid"),
    "no-time": _without("TLS.time"),
    "no-expire": _without("TLS.expire"),
    "no-hmac": _without("TLS.sig"),
    "sdkappid-as-text": _with("TLS.sdkappid", str(SDKAPPID)),
    "time-as-float": _with("TLS.time", float(NOW)),
    "expire-as-bool": _with("TLS.expire", True),
    "identifier-as-number": _with("TLS.identifier", 42),
    "hmac-as-null": _with("TLS.sig", None),
    "userbuf-as-number": _with("TLS.userbuf", 1),
    "negative-time": _with("TLS.time", -1),
}


@pytest.mark.parametrize("usersig", MALFORMED.values(), ids=MALFORMED.keys())
def test_undecodable_sig_is_refused_as_malformed(usersig: str) -> None:
    # Given a sig that does not decode to well-typed claims
    # When it is verified
    error = refusal(usersig)

    # Then it is refused as malformed, as Tencent would with 70003
    assert (error.reason, error.tencent_code) == (UserSigRejection.MALFORMED, 70003)


def test_sig_with_a_lengthened_expiry_is_refused_as_bad_signature() -> None:
    # Given an official sig whose expiry was stretched after signing
    fields = decode(official_sig(ADMIN, DAY))
    fields["TLS.expire"] = 3650 * DAY
    tampered = encode_fields(fields)

    # When it is verified
    error = refusal(tampered)

    # Then the HMAC gives it away, as Tencent would answer 70009
    assert (error.reason, error.tencent_code) == (UserSigRejection.BAD_SIGNATURE, 70009)


def test_sig_with_a_swapped_identifier_is_refused_as_bad_signature() -> None:
    # Given a user's sig rewritten to claim the admin identifier
    fields = decode(gen_usersig(SDKAPPID, KEY, "viewer_1", DAY, now=NOW))
    fields["TLS.identifier"] = ADMIN
    tampered = encode_fields(fields)

    # When it is verified for the admin
    error = refusal(tampered, identifier=ADMIN)

    # Then it is refused: the HMAC covers the identifier inside the sig
    assert error.reason is UserSigRejection.BAD_SIGNATURE


def test_sig_with_a_tampered_userbuf_is_refused_as_bad_signature() -> None:
    # Given an official userbuf sig whose userbuf was replaced
    fields = decode(official_sig_with_userbuf(ADMIN, DAY, b"room-1"))
    fields["TLS.userbuf"] = base64.b64encode(b"room-2").decode()
    tampered = encode_fields(fields)

    # When it is verified
    error = refusal(tampered)

    # Then it is refused: the userbuf line is part of the signed content
    assert error.reason is UserSigRejection.BAD_SIGNATURE


def test_sig_signed_with_another_key_is_refused_as_bad_signature() -> None:
    # Given a sig signed with a key that is not ours
    usersig = gen_usersig(SDKAPPID, OTHER_KEY, ADMIN, DAY, now=NOW)

    # When it is verified with our key
    error = refusal(usersig)

    # Then it is refused as Tencent refuses another app's sig, with 70009
    assert (error.reason, error.tencent_code) == (UserSigRejection.BAD_SIGNATURE, 70009)


def test_expired_sig_is_refused_as_expired() -> None:
    # Given a day-long sig
    usersig = gen_usersig(SDKAPPID, KEY, ADMIN, DAY, now=NOW)

    # When it is verified one second after its expiry
    error = refusal(usersig, now=NOW + DAY + 1)

    # Then it is refused as expired, as Tencent would with 70001
    assert (error.reason, error.tencent_code) == (UserSigRejection.EXPIRED, 70001)


def test_sig_is_accepted_until_its_last_second() -> None:
    # Given a day-long sig
    usersig = gen_usersig(SDKAPPID, KEY, ADMIN, DAY, now=NOW)

    # When it is verified exactly at signing time plus its duration
    claims = verify(usersig, now=NOW + DAY)

    # Then it is still accepted
    assert claims.expires_at == NOW + DAY


def test_sig_for_another_identifier_is_refused_as_identifier_mismatch() -> None:
    # Given a genuine sig for a viewer
    usersig = gen_usersig(SDKAPPID, KEY, "viewer_1", DAY, now=NOW)

    # When it is presented for the admin
    error = refusal(usersig, identifier=ADMIN)

    # Then it is refused as Tencent refuses a UserID mismatch, with 70013
    assert (error.reason, error.tencent_code) == (UserSigRejection.IDENTIFIER_MISMATCH, 70013)


def test_sig_for_another_app_is_refused_as_sdkappid_mismatch() -> None:
    # Given a genuine sig for another SDKAppID signed with the same key
    usersig = gen_usersig(SDKAPPID + 1, KEY, ADMIN, DAY, now=NOW)

    # When it is presented to our app
    error = refusal(usersig)

    # Then it is refused as Tencent refuses an SDKAppID mismatch, with 70014
    assert (error.reason, error.tencent_code) == (UserSigRejection.SDKAPPID_MISMATCH, 70014)


def test_bad_signature_is_reported_before_any_mismatch_or_expiry() -> None:
    # Given a sig with the wrong key, for another user and app, long expired
    usersig = gen_usersig(SDKAPPID + 1, OTHER_KEY, "viewer_1", 1, now=NOW)

    # When it is verified
    error = refusal(usersig, now=NOW + DAY)

    # Then the signature is what is reported
    assert error.reason is UserSigRejection.BAD_SIGNATURE


def test_identifier_mismatch_is_reported_before_app_mismatch_and_expiry() -> None:
    # Given a genuine sig for another user and app, long expired
    usersig = gen_usersig(SDKAPPID + 1, KEY, "viewer_1", 1, now=NOW)

    # When it is verified
    error = refusal(usersig, now=NOW + DAY)

    # Then the identifier is what is reported
    assert error.reason is UserSigRejection.IDENTIFIER_MISMATCH


def test_app_mismatch_is_reported_before_expiry() -> None:
    # Given a genuine sig for another app, long expired
    usersig = gen_usersig(SDKAPPID + 1, KEY, ADMIN, 1, now=NOW)

    # When it is verified
    error = refusal(usersig, now=NOW + DAY)

    # Then the app is what is reported
    assert error.reason is UserSigRejection.SDKAPPID_MISMATCH


REFUSALS = {
    "empty": ("", {}),
    "malformed": ("garbage!", {}),
    "bad-signature": (gen_usersig(SDKAPPID, OTHER_KEY, ADMIN, DAY, now=NOW), {}),
    "identifier-mismatch": (gen_usersig(SDKAPPID, KEY, "viewer_1", DAY, now=NOW), {}),
    "sdkappid-mismatch": (gen_usersig(SDKAPPID + 1, KEY, ADMIN, DAY, now=NOW), {}),
    "expired": (gen_usersig(SDKAPPID, KEY, ADMIN, DAY, now=NOW), {"now": NOW + 2 * DAY}),
}


@pytest.mark.parametrize(("usersig", "kwargs"), REFUSALS.values(), ids=REFUSALS.keys())
def test_refusal_message_holds_neither_the_key_nor_the_sig(usersig: str, kwargs: dict[str, Any]) -> None:
    # Given a sig refused for any reason
    error = refusal(usersig, **kwargs)

    # When its message is read
    message = str(error)

    # Then neither credential appears in it
    assert KEY not in message
    assert OTHER_KEY not in message
    assert not usersig or usersig not in message


@given(st.text(max_size=400))
def test_arbitrary_text_as_usersig_only_raises_usersig_error(text: str) -> None:
    # Given any text posing as a sig
    # When it is verified
    # Then it is refused, and only ever with a UserSigError
    with pytest.raises(UserSigError):
        verify(text)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
tls_fields = st.dictionaries(
    st.sampled_from(
        ["TLS.ver", "TLS.identifier", "TLS.sdkappid", "TLS.time", "TLS.expire", "TLS.sig", "TLS.userbuf"]
    ),
    json_values | st.just("2.0") | st.just(ADMIN) | st.just(SDKAPPID) | st.just(NOW),
)


@given(tls_fields)
def test_arbitrary_claims_in_a_well_formed_envelope_only_raise_usersig_error(fields: dict[str, Any]) -> None:
    # Given any JSON claims, properly compressed and encoded so they reach the field checks
    usersig = encode_fields(fields)

    # When the sig is verified
    # Then it is refused, and only ever with a UserSigError
    with pytest.raises(UserSigError):
        verify(usersig)
