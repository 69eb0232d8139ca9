"""One AWS JSON-protocol call (SQS, DynamoDB) over a kept-alive ``http.client`` connection, signed
with SigV4, in the standard library.

The ingress answers Tencent within 2 s, from a cold start too; boto3 and botocore take about 0.3 s to
import and build a client, httpx about 0.13 s. Its two AWS calls (SQS SendMessage, DynamoDB GetItem)
are small POSTs with an ``X-Amz-Target`` header: made here, signed by ``liveguard.aws.sigv4``.
Credentials and endpoint come from the environment Lambda provides (``AWS_ACCESS_KEY_ID``,
``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_REGION``); ``AWS_ENDPOINT_URL_<SERVICE>`` /
``AWS_ENDPOINT_URL`` point it at moto locally, as they do boto3.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from liveguard.aws.sigv4 import sign_headers


class AwsCallError(Exception):
    """A call that did not succeed. ``retryable`` says whether another try may."""

    def __init__(
        self, message: str, *, retryable: bool, error_type: str = "", status: int | None = None
    ) -> None:
        self.retryable = retryable
        self.error_type = error_type
        self.status = status
        super().__init__(message)


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str
    session_token: str | None = None

    def __repr__(self) -> str:
        return f"AwsCredentials(access_key_id={self.access_key_id[:4]}…)"

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] = os.environ) -> AwsCredentials:
        """Lambda's credentials from the environment; elsewhere, botocore's credential chain
        (imported only then, so the Lambda path never pays for it)."""
        key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if key and secret:
            return cls(key, secret, environ.get("AWS_SESSION_TOKEN") or None)
        import botocore.session

        found = botocore.session.get_session().get_credentials()
        if found is None:
            raise AwsCallError("no AWS credentials found", retryable=False)
        frozen = found.get_frozen_credentials()
        if not frozen.access_key or not frozen.secret_key:
            raise AwsCallError("incomplete AWS credentials", retryable=False)
        return cls(frozen.access_key, frozen.secret_key, frozen.token)


def region_from_environment(environ: Mapping[str, str] = os.environ) -> str:
    region = environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise AwsCallError("set AWS_REGION (Lambda sets it)", retryable=False)
    return region


def endpoint_from_environment(service: str, region: str, environ: Mapping[str, str] = os.environ) -> str:
    """``AWS_ENDPOINT_URL_<SERVICE>``, else ``AWS_ENDPOINT_URL``, else the service's regional endpoint."""
    custom = environ.get(f"AWS_ENDPOINT_URL_{service.upper()}") or environ.get("AWS_ENDPOINT_URL")
    return (custom or f"https://{service}.{region}.amazonaws.com").rstrip("/") + "/"


class AwsJsonClient:
    """A service's JSON protocol over one kept-alive connection. Thread-safe (calls are serialised).
    Subclasses name the service, the target prefix, their error class and its retryable types."""

    service: ClassVar[str]
    target_prefix: ClassVar[str]
    error: ClassVar[type[AwsCallError]] = AwsCallError
    retryable_error_types: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self, *, region: str, credentials: AwsCredentials, endpoint: str | None = None, timeout: float = 1.0
    ) -> None:
        self.region = region
        self.endpoint = endpoint or endpoint_from_environment(self.service, region)
        self.timeout = timeout
        self._credentials = credentials
        url = urlsplit(self.endpoint)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"{self.service} endpoint must be an http(s) URL, got {self.endpoint!r}")
        self._secure = url.scheme == "https"
        self._host = url.netloc
        self._path = url.path or "/"
        self._connection: http.client.HTTPConnection | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls, **options: Any) -> Any:
        return cls(region=region_from_environment(), credentials=AwsCredentials.from_environment(), **options)

    def close_connection(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _connect(self, timeout: float) -> http.client.HTTPConnection:
        if self._connection is None:
            kind = http.client.HTTPSConnection if self._secure else http.client.HTTPConnection
            self._connection = kind(self._host, timeout=timeout)
        elif self._connection.sock is not None:
            self._connection.sock.settimeout(timeout)
        else:
            self._connection.timeout = timeout
        return self._connection

    def _post(self, operation: str, body: bytes, timeout: float) -> tuple[int, bytes]:
        headers = sign_headers(
            method="POST",
            host=self._host,
            path=self._path,
            headers={
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": self.target_prefix + operation,
            },
            body=body,
            region=self.region,
            service=self.service,
            access_key=self._credentials.access_key_id,
            secret_key=self._credentials.secret_access_key,
            session_token=self._credentials.session_token,
        )
        with self._lock:
            for attempt in (1, 2):
                connection = self._connect(timeout)
                try:
                    connection.request("POST", self._path, body=body, headers=headers)
                    response = connection.getresponse()
                    return response.status, response.read()
                except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                    # The kept-alive connection was closed by the other side: reconnect once.
                    self.close_connection()
                    if attempt == 2:
                        raise
                except (OSError, http.client.HTTPException):
                    self.close_connection()
                    raise
        raise AssertionError("unreachable")

    def call(
        self, operation: str, payload: Mapping[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """The answer of a successful call; any failure raises the client's error class."""
        try:
            status, raw = self._post(
                operation, json.dumps(payload).encode(), timeout if timeout is not None else self.timeout
            )
        except (OSError, http.client.HTTPException) as exc:
            raise self.error(f"{type(exc).__name__}: {exc}", retryable=True) from None
        try:
            answer = json.loads(raw) if raw else {}
        except ValueError:
            answer = None
        if status == 200 and isinstance(answer, dict):
            return answer
        error_type = str(answer.get("__type", "")).rsplit("#", 1)[-1] if isinstance(answer, dict) else ""
        message = str(answer.get("message", answer.get("Message", ""))) if isinstance(answer, dict) else ""
        raise self.error(
            f"{operation} failed: HTTP {status} {error_type} {message}".strip(),
            retryable=status >= 500 or error_type in self.retryable_error_types,
            error_type=error_type,
            status=status,
        )
