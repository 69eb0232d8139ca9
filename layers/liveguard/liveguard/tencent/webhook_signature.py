"""The ``Sign`` and ``RequestTime`` query parameters Tencent appends to a webhook call.

With callback token authentication on, Tencent sends ``Sign = hex(sha256(Token + RequestTime))``:
plain concatenation, no HMAC, no separator. The signature covers neither the body nor the other
parameters, so it only proves the caller knows the token and when it signed; the freshness window
is what keeps a captured URL from being replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from enum import StrEnum

DEFAULT_WINDOW = 60  # seconds either side of our clock, as Tencent's Live doc prescribes

# Ten digits today; twenty fit any 64-bit time and keep int() away from huge inputs.
_REQUEST_TIME = re.compile(r"-?[0-9]{1,20}")
_LIMIT = 10**20


class WebhookSignatureRejection(StrEnum):
    """Why a webhook call's signature was refused."""

    MISSING = "missing"
    MALFORMED_TIME = "malformed_time"
    STALE = "stale"
    MISMATCH = "mismatch"


class WebhookSignatureError(Exception):
    """A webhook call failed token authentication. The message never holds the token or the expected Sign."""

    def __init__(self, reason: WebhookSignatureRejection, message: str) -> None:
        self.reason = reason
        super().__init__(f"webhook signature refused ({reason}): {message}")


def webhook_sign(token: str, request_time: int | str) -> str:
    """The ``Sign`` Tencent sends for ``request_time``: lowercase hex sha256 of token + RequestTime."""
    return hashlib.sha256(f"{token}{request_time}".encode()).hexdigest()


def verify_webhook_signature(
    token: str,
    sign: str | None,
    request_time: str | int | None,
    *,
    now: float | None = None,
    window: int = DEFAULT_WINDOW,
) -> int:
    """The call's RequestTime, once ``sign`` is shown to be Tencent's for ``token`` and recent enough.

    ``sign`` and ``request_time`` are the query parameters as received. Refuses with
    ``WebhookSignatureError``: MISSING when either is absent or empty, MALFORMED_TIME when RequestTime
    is not a base-10 integer, STALE when it is more than ``window`` seconds from ``now`` (either way),
    MISMATCH when ``sign`` is wrong. ``sign`` is compared case-insensitively, in constant time.
    """
    # An empty token would let anyone compute a valid Sign: a configuration error, not a bad caller.
    if not token:
        raise ValueError("the webhook token is empty")
    if window < 0:
        raise ValueError("window cannot be negative")
    if not sign or request_time is None or request_time == "":
        raise WebhookSignatureError(WebhookSignatureRejection.MISSING, "Sign or RequestTime is absent")

    # bool is an int to Python, but True is no time. Ints are bounded like text so a huge one is refused
    # here rather than failing in str() or in the float arithmetic below.
    if isinstance(request_time, int) and not isinstance(request_time, bool) and abs(request_time) < _LIMIT:
        text = str(request_time)
    elif isinstance(request_time, str) and _REQUEST_TIME.fullmatch(request_time):
        text = request_time
    else:
        raise WebhookSignatureError(
            WebhookSignatureRejection.MALFORMED_TIME, "RequestTime is not a base-10 unix time"
        )
    sent_at = int(text)

    current = time.time() if now is None else now
    age = current - sent_at
    if abs(age) > window:
        when = f"{age:.0f}s old" if age > 0 else f"{-age:.0f}s in the future"
        raise WebhookSignatureError(
            WebhookSignatureRejection.STALE, f"RequestTime {sent_at} is {when}, outside the {window}s window"
        )

    # Tencent signed the RequestTime text as sent (leading zeros and all), so hash that, not int().
    expected = webhook_sign(token, text).encode("ascii")
    # Bytes, not str: compare_digest refuses non-ASCII str, and the Sign is untrusted input.
    if not hmac.compare_digest(expected, sign.lower().encode("utf-8")):
        raise WebhookSignatureError(
            WebhookSignatureRejection.MISMATCH, "Sign does not match the token and RequestTime"
        )
    return sent_at
