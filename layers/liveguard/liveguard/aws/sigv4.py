"""AWS Signature Version 4 for one JSON POST, in the standard library.

botocore signs the same way but costs about 0.3 s to import, and httpx-based signers bring httpx
(0.13 s): too much for the ingress's cold start. This is the header-signing subset SQS's JSON
protocol needs, cross-checked against botocore's signer in the tests.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime

ALGORITHM = "AWS4-HMAC-SHA256"


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    for part in (region, service, "aws4_request"):
        key = _hmac(key, part)
    return key


def sign_headers(
    *,
    method: str,
    host: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    region: str,
    service: str,
    access_key: str,
    secret_key: str,
    session_token: str | None = None,
    now: datetime | None = None,
) -> dict[str, str]:
    """``headers`` plus Host, X-Amz-Date, X-Amz-Security-Token and Authorization, all signed.

    ``path`` must already be URI-encoded; the request has no query string (SQS's JSON protocol).
    """
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    signed = {**headers, "Host": host, "X-Amz-Date": amz_date}
    if session_token:
        signed["X-Amz-Security-Token"] = session_token
    canonical = {name.lower(): " ".join(value.strip().split()) for name, value in signed.items()}
    names = sorted(canonical)
    canonical_request = "\n".join(
        [
            method,
            path or "/",
            "",
            "".join(f"{name}:{canonical[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
    )
    signature = hmac.new(
        signing_key(secret_key, date, region, service), to_sign.encode("utf-8"), hashlib.sha256
    )
    signed["Authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, "
        f"Signature={signature.hexdigest()}"
    )
    return signed
