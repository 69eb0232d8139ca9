"""UserSig: the signed ticket Tencent's REST API expects in the ``usersig`` query parameter.

This is TLSSigAPIv2 (``tls-sig-api-v2``) rewritten with the standard library only, byte for byte:
for the same inputs and clock, ``gen_usersig`` returns the same string as the official
``TLSSigAPIv2(sdkappid, key)`` sig. A sig is

    tencent_base64( zlib( json({"TLS.ver": "2.0", "TLS.identifier", "TLS.sdkappid", "TLS.expire",
                                "TLS.time", ["TLS.userbuf",] "TLS.sig"}) ) )

where ``TLS.sig`` is base64(HMAC-SHA256(secret key, the claims as ``TLS.<field>:<value>\\n`` lines))
and tencent_base64 is standard base64 with ``+/=`` swapped for ``*-_``.

The official library has no verifier; ``verify_usersig`` is for our side of the wire (the local
Tencent emulator, tests) and refuses a sig with the ErrorCode Tencent would answer with.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import zlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

VERSION = "2.0"
DEFAULT_EXPIRE = 180 * 86400

# A real sig is a few hundred characters; the caps keep a hostile "sig" from costing us memory or CPU
# (a zlib bomb inflates a thousandfold).
_MAX_SIG_CHARS = 8192
_MAX_JSON_BYTES = 16384

_TO_TENCENT_ALPHABET = str.maketrans("+/=", "*-_")
_FROM_TENCENT_ALPHABET = str.maketrans("*-_", "+/=")
# Only what the official encoder can emit; b64decode would otherwise also take "+" and "/".
_TENCENT_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789*-_")


class UserSigRejection(StrEnum):
    """Why a UserSig was refused; each maps to the ErrorCode Tencent returns for it."""

    EMPTY = "empty"
    MALFORMED = "malformed"
    BAD_SIGNATURE = "bad_signature"
    EXPIRED = "expired"
    IDENTIFIER_MISMATCH = "identifier_mismatch"
    SDKAPPID_MISMATCH = "sdkappid_mismatch"

    @property
    def tencent_code(self) -> int:
        """The ErrorCode Tencent answers a REST call with when its sig fails this way."""
        return _TENCENT_CODES[self]


_TENCENT_CODES: dict[UserSigRejection, int] = {
    UserSigRejection.EMPTY: 70002,
    UserSigRejection.MALFORMED: 70003,
    UserSigRejection.BAD_SIGNATURE: 70009,
    UserSigRejection.EXPIRED: 70001,
    UserSigRejection.IDENTIFIER_MISMATCH: 70013,
    UserSigRejection.SDKAPPID_MISMATCH: 70014,
}


class UserSigError(Exception):
    """A UserSig was refused. The message never repeats the sig or the key: both are credentials."""

    def __init__(self, reason: UserSigRejection, message: str) -> None:
        self.reason = reason
        self.tencent_code = reason.tencent_code
        super().__init__(f"UserSig refused ({reason}, ErrorCode {self.tencent_code}): {message}")


@dataclass(frozen=True, slots=True)
class UserSigClaims:
    """What a verified UserSig asserts. ``time`` is unix seconds at signing, ``expire`` a duration."""

    identifier: str
    sdkappid: int
    time: int
    expire: int

    @property
    def expires_at(self) -> int:
        """Unix second after which the sig is refused as expired."""
        return self.time + self.expire


def gen_usersig(
    sdkappid: int,
    secret_key: str,
    identifier: str,
    expire: int = DEFAULT_EXPIRE,
    *,
    now: int | None = None,
) -> str:
    """A UserSig for ``identifier``, valid for ``expire`` seconds from ``now`` (default: the clock).

    Same output as the official ``TLSSigAPIv2(sdkappid, secret_key)`` sig for ``identifier`` and
    ``expire`` generated at the same second.
    """
    # A line break in the identifier would blur the line-per-claim framing of the signed content.
    if not identifier or "\n" in identifier:
        raise ValueError("identifier must be non-empty and on one line")
    if expire < 0:
        raise ValueError("expire is a duration in seconds and cannot be negative")
    curr_time = int(time.time()) if now is None else int(now)
    # Field order and json.dumps defaults as the official library, so the sigs are identical.
    claims: dict[str, Any] = {
        "TLS.ver": VERSION,
        "TLS.identifier": identifier,
        "TLS.sdkappid": int(sdkappid),
        "TLS.expire": int(expire),
        "TLS.time": curr_time,
    }
    claims["TLS.sig"] = _signature(secret_key, identifier, int(sdkappid), curr_time, int(expire), None)
    compressed = zlib.compress(json.dumps(claims).encode("utf-8"))
    return base64.b64encode(compressed).decode("ascii").translate(_TO_TENCENT_ALPHABET)


def verify_usersig(
    usersig: str,
    *,
    sdkappid: int,
    secret_key: str,
    identifier: str,
    now: int | None = None,
) -> UserSigClaims:
    """The claims of ``usersig`` if Tencent would accept it for ``identifier`` on ``sdkappid``.

    Checks, in this order: it decodes (MALFORMED), its HMAC is right for ``secret_key``
    (BAD_SIGNATURE), it names ``identifier`` (IDENTIFIER_MISMATCH) and ``sdkappid``
    (SDKAPPID_MISMATCH), and ``now`` is not past its expiry (EXPIRED). Sigs carrying ``TLS.userbuf``
    (privilege map keys) verify too. Raises ``UserSigError`` with the reason otherwise.
    """
    if not usersig:
        raise UserSigError(UserSigRejection.EMPTY, "the sig is empty")
    fields = _decode(usersig)
    claims, signature, userbuf = _claims(fields)

    expected = _signature(secret_key, claims.identifier, claims.sdkappid, claims.time, claims.expire, userbuf)
    # Bytes, not str: compare_digest refuses non-ASCII str, and the sig's content is untrusted.
    if not hmac.compare_digest(expected.encode("ascii"), signature.encode("utf-8")):
        raise UserSigError(
            UserSigRejection.BAD_SIGNATURE, "its HMAC does not match: tampered, or signed with another key"
        )
    if claims.identifier != identifier:
        raise UserSigError(
            UserSigRejection.IDENTIFIER_MISMATCH,
            f"the sig is for identifier {_clip(claims.identifier)!r}, the request for {_clip(identifier)!r}",
        )
    if claims.sdkappid != sdkappid:
        raise UserSigError(
            UserSigRejection.SDKAPPID_MISMATCH,
            f"the sig is for SDKAppID {claims.sdkappid}, the request for {sdkappid}",
        )
    current = int(time.time()) if now is None else now
    if current > claims.expires_at:
        raise UserSigError(
            UserSigRejection.EXPIRED,
            f"it expired at {claims.expires_at} (signed at {claims.time} for {claims.expire}s), "
            f"now is {current}",
        )
    return claims


def _signature(
    secret_key: str, identifier: str, sdkappid: int, curr_time: int, expire: int, userbuf: str | None
) -> str:
    content = (
        f"TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{curr_time}\nTLS.expire:{expire}\n"
    )
    if userbuf is not None:
        content += f"TLS.userbuf:{userbuf}\n"
    digest = hmac.new(secret_key.encode("utf-8"), content.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def _malformed(why: str) -> UserSigError:
    return UserSigError(UserSigRejection.MALFORMED, why)


def _decode(usersig: str) -> dict[str, Any]:
    """The JSON object inside a sig, or MALFORMED."""
    if len(usersig) > _MAX_SIG_CHARS:
        raise _malformed(f"it is {len(usersig)} characters long, more than any real sig")
    if not _TENCENT_ALPHABET.issuperset(usersig):
        raise _malformed("it contains characters outside Tencent's base64 alphabet")
    try:
        compressed = base64.b64decode(usersig.translate(_FROM_TENCENT_ALPHABET), validate=True)
    except binascii.Error:
        raise _malformed("it is not valid base64") from None

    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(compressed, _MAX_JSON_BYTES)
    except zlib.error:
        raise _malformed("it is not zlib data") from None
    if inflater.unconsumed_tail:
        raise _malformed(f"it inflates to more than {_MAX_JSON_BYTES} bytes")
    # decompressobj, unlike zlib.decompress, returns what it has for a cut-off stream without complaint.
    if not inflater.eof or inflater.unused_data:
        raise _malformed("its zlib stream is truncated or followed by extra bytes")

    try:
        fields = json.loads(raw.decode("utf-8"))
    # ValueError covers bad UTF-8, bad JSON and over-long integers; RecursionError deep nesting.
    except (ValueError, RecursionError):
        raise _malformed("it does not hold JSON") from None
    if not isinstance(fields, dict):
        raise _malformed("its JSON is not an object")
    return fields


def _claims(fields: dict[str, Any]) -> tuple[UserSigClaims, str, str | None]:
    """The claims, the ``TLS.sig`` value and the optional ``TLS.userbuf`` of a decoded sig."""
    if fields.get("TLS.ver") != VERSION:
        raise _malformed(f"TLS.ver is not {VERSION!r}")
    identifier = _field(fields, "TLS.identifier", str)
    sdkappid = _field(fields, "TLS.sdkappid", int)
    curr_time = _field(fields, "TLS.time", int)
    expire = _field(fields, "TLS.expire", int)
    signature = _field(fields, "TLS.sig", str)
    userbuf = fields.get("TLS.userbuf")
    if userbuf is not None and not isinstance(userbuf, str):
        raise _malformed("TLS.userbuf is not a string")
    if curr_time < 0 or expire < 0:
        raise _malformed("TLS.time and TLS.expire cannot be negative")
    return UserSigClaims(identifier, sdkappid, curr_time, expire), signature, userbuf


def _field[T](fields: dict[str, Any], name: str, kind: type[T]) -> T:
    value = fields.get(name)
    # bool is an int to Python but true/false is not a number to Tencent.
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _malformed(f"{name} is missing or not a {kind.__name__}")
    return value


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
