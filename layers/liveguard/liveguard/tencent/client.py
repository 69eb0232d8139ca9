"""LiveClient: Tencent's live REST API (``v4/<service>/<command>``) with typed requests and replies.

One client per process, made at module scope in a handler and reused across invocations: it holds
the pooled HTTP connections, the cached admin UserSig and the per-command rate limits.

    client = LiveClient.from_secret(secret)
    stats = client.call(DestroyRoom(room_id="live-1")).statistic
    client.execute("set_room_metadata", {"RoomId": "live-1", "Metadata": [...]})  # from a queue message
"""

from __future__ import annotations

import logging
import random
import re
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Self, TypeVar

import httpx
from pydantic import SecretStr, ValidationError

from liveguard.settings import TencentSecret

from .commands import COMMANDS, Reply, Request
from .commands.base import INVALID_PARAMETER
from .errors import ErrorCategory, TencentApiError
from .ratelimit import CommandRateLimiter, RateLimitWaitTooLong
from .usersig import gen_usersig

logger = logging.getLogger(__name__)

ReplyT = TypeVar("ReplyT", bound=Reply)

# Tencent gives up on a call after 3 s on its side; wait a little longer so we see its answer.
DEFAULT_TIMEOUT = 4.0
DEFAULT_MAX_ATTEMPTS = 4
ADMIN_USERSIG_TTL = 7 * 86400  # as Tencent's own console server does
ADMIN_USERSIG_REFRESH_BEFORE = 3600
_ENVELOPE_KEYS = frozenset({"ActionStatus", "ErrorCode", "ErrorInfo", "RequestId", "Response"})
UNKNOWN_COMMAND = 60009  # Tencent's "requested resource wrong": the command does not exist


class _RedactUserSig(logging.Filter):
    """httpx logs request URLs at INFO, and ours carry the admin UserSig in the query string."""

    _pattern = re.compile(r"(usersig=)[^&\s'\"]+")

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self._pattern.sub(r"\1<redacted>", record.getMessage())
        record.args = None
        return True


# httpcore's own records never hold the URL; httpx's "HTTP Request: POST <url>" line does.
logging.getLogger("httpx").addFilter(_RedactUserSig())

_shared_http: httpx.Client | None = None
_shared_http_lock = threading.Lock()


def shared_http_client() -> httpx.Client:
    """The process's one pool of keep-alive connections, made on first use."""
    global _shared_http
    with _shared_http_lock:
        if _shared_http is None or _shared_http.is_closed:
            _shared_http = httpx.Client(
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=60),
                timeout=httpx.Timeout(DEFAULT_TIMEOUT, connect=2.0),
                headers={"Content-Type": "application/json", "User-Agent": "liveguard"},
            )
        return _shared_http


class AdminUserSig:
    """The admin's UserSig, generated once and regenerated before it expires or when refused."""

    def __init__(
        self,
        sdk_app_id: int,
        secret_key: SecretStr,
        identifier: str,
        *,
        ttl: int = ADMIN_USERSIG_TTL,
        refresh_before: int = ADMIN_USERSIG_REFRESH_BEFORE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if refresh_before >= ttl:
            raise ValueError("refresh_before must be shorter than ttl")
        self._sdk_app_id = sdk_app_id
        self._secret_key = secret_key
        self._identifier = identifier
        self._ttl = ttl
        self._refresh_before = refresh_before
        self._clock = clock
        self._sig: str | None = None
        self._refresh_at = 0.0
        self._lock = threading.Lock()
        self.generated = 0

    def current(self) -> str:
        with self._lock:
            now = self._clock()
            if self._sig is None or now >= self._refresh_at:
                issued = int(now)
                self._sig = gen_usersig(
                    self._sdk_app_id,
                    self._secret_key.get_secret_value(),
                    self._identifier,
                    self._ttl,
                    now=issued,
                )
                self._refresh_at = issued + self._ttl - self._refresh_before
                self.generated += 1
            return self._sig

    def invalidate(self) -> None:
        with self._lock:
            self._sig = None

    def __repr__(self) -> str:
        return f"AdminUserSig(identifier={self._identifier!r}, generated={self.generated})"


class LiveClient:
    """Calls Tencent's live REST API as the app administrator.

    Every call is rate-limited per command (a burst waits rather than earning a 60007), retried with
    jittered exponential backoff while the failure is retryable and the attempts and the caller's
    ``deadline`` (a ``time.monotonic()`` instant) allow, and re-signed once when the UserSig is
    refused. Failures raise :class:`TencentApiError`.
    """

    def __init__(
        self,
        *,
        sdk_app_id: int,
        secret_key: SecretStr | str,
        admin_identifier: str,
        base_url: str,
        http: httpx.Client | None = None,
        limiter: CommandRateLimiter | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        backoff_base: float = 0.1,
        backoff_cap: float = 2.0,
        usersig: AdminUserSig | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[float, float], float] = random.uniform,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        key = secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key)
        self.sdk_app_id = sdk_app_id
        self.admin_identifier = admin_identifier
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.limiter = limiter or CommandRateLimiter()
        self.usersig = usersig or AdminUserSig(sdk_app_id, key, admin_identifier)
        self._http = http or shared_http_client()
        self._monotonic = monotonic
        self._sleep = sleep
        self._jitter = jitter

    @classmethod
    def from_secret(cls, secret: TencentSecret, **options: Any) -> Self:
        """A client for the app the secret describes (``ApiBaseUrl``, else the region's domain)."""
        return cls(
            sdk_app_id=secret.sdk_app_id,
            secret_key=secret.secret_key,
            admin_identifier=secret.admin_identifier,
            base_url=secret.base_url,
            **options,
        )

    def __repr__(self) -> str:
        return (
            f"LiveClient(sdk_app_id={self.sdk_app_id}, admin={self.admin_identifier!r}, "
            f"base_url={self.base_url!r})"
        )

    def call(self, request: Request[ReplyT], *, deadline: float | None = None) -> ReplyT:
        """Send one command and return its typed reply."""
        reply = self._call(request, deadline)
        assert isinstance(reply, type(request).reply_model)
        return reply  # type: ignore[return-value]  # reply_model is the ReplyT the class was declared with

    def execute(self, command: str, params: Mapping[str, Any], *, deadline: float | None = None) -> Reply:
        """Send a command given by name with a plain body (e.g. from a queue message).

        The body is validated first; a body Tencent would refuse raises TencentApiError with
        ``local=True`` and the ErrorCode Tencent would have given, without spending a call.
        """
        model = COMMANDS.get(command)
        if model is None:
            raise TencentApiError(command=command, code=UNKNOWN_COMMAND, info="no such command", local=True)
        try:
            request = model.model_validate(params)
        except ValidationError as exc:
            raise refused_locally(command, exc) from None
        return self._call(request, deadline)

    def _call(self, request: Request[Any], deadline: float | None) -> Reply:
        command = type(request).command
        body = request.to_wire()
        resigned = False
        attempt = 0
        while True:
            attempt += 1
            try:
                self._acquire(command.name, deadline)
                envelope = self._post(command.path, command.name, body, deadline)
                break
            except TencentApiError as error:
                if error.category is ErrorCategory.AUTH and not resigned:
                    resigned = True
                    self.usersig.invalidate()
                    logger.warning(
                        "tencent auth refused, re-signing once",
                        extra={"command": command.name, "code": error.code, "request_id": error.request_id},
                    )
                    continue
                if not error.retryable or attempt >= self.max_attempts:
                    raise
                pause = self._jitter(0.0, min(self.backoff_cap, self.backoff_base * 2 ** (attempt - 1)))
                if deadline is not None and self._monotonic() + pause >= deadline:
                    raise
                logger.warning(
                    "tencent call failed, retrying",
                    extra={
                        "command": command.name,
                        "code": error.code,
                        "request_id": error.request_id,
                        "attempt": attempt,
                        "pause": round(pause, 3),
                    },
                )
                self._sleep(pause)
        # Most commands answer inside "Response"; some gift pages document their fields beside
        # the envelope's. Take both, "Response" winning.
        payload = {key: value for key, value in envelope.items() if key not in _ENVELOPE_KEYS}
        if isinstance(envelope.get("Response"), dict):
            payload.update(envelope["Response"])
        try:
            return type(request).reply_model.model_validate(
                {**payload, "RequestId": str(envelope.get("RequestId", ""))}
            )
        except ValidationError as exc:
            # The call took effect; only the reply is off-model. Say so rather than guess.
            raise TencentApiError(
                command=command.name,
                code=None,
                info=f"reply does not match the documented shape: {_describe_errors(exc)}",
                request_id=str(envelope.get("RequestId", "")),
                category=ErrorCategory.PERMANENT,
            ) from None

    def _acquire(self, command: str, deadline: float | None) -> None:
        try:
            self.limiter.acquire(command, deadline)
        except RateLimitWaitTooLong as wait:
            raise TencentApiError(
                command=command,
                code=None,
                info=f"deadline would pass while waiting {wait.wait:.3f}s for the rate limit",
                local=True,
                category=ErrorCategory.RETRYABLE,
            ) from None

    def _post(self, path: str, command: str, body: dict[str, Any], deadline: float | None) -> dict[str, Any]:
        timeout = self.timeout
        if deadline is not None:
            timeout = min(timeout, deadline - self._monotonic())
            if timeout <= 0:
                raise TencentApiError(
                    command=command,
                    code=None,
                    info="deadline passed before the call",
                    local=True,
                    category=ErrorCategory.RETRYABLE,
                )
        params = {
            "sdkappid": str(self.sdk_app_id),
            "identifier": self.admin_identifier,
            "usersig": self.usersig.current(),
            "random": str(secrets.randbits(32)),
            "contenttype": "json",
        }
        try:
            response = self._http.post(self.base_url + path, params=params, json=body, timeout=timeout)
        except httpx.TransportError as exc:
            # str(exc) of a transport error names the failure, never the URL (and so never the sig).
            raise TencentApiError(
                command=command,
                code=None,
                info=f"{type(exc).__name__}: {exc}",
                category=ErrorCategory.RETRYABLE,
            ) from None
        return _envelope(command, response)


def _envelope(command: str, response: httpx.Response) -> dict[str, Any]:
    """The reply envelope of a successful call; anything else raises TencentApiError."""
    try:
        envelope = response.json()
    except ValueError:
        envelope = None
    if not isinstance(envelope, dict):
        raise TencentApiError(
            command=command,
            code=None,
            info=f"reply is not a JSON object (HTTP {response.status_code})",
            http_status=response.status_code,
        )
    request_id = str(envelope.get("RequestId", ""))
    raw_code = envelope.get("ErrorCode", 0)
    try:
        code = int(raw_code)
    except (TypeError, ValueError):
        code = None
    failed = code != 0 or str(envelope.get("ActionStatus", "OK")).upper() == "FAIL"
    if failed or response.status_code != 200:
        raise TencentApiError(
            command=command,
            code=code if code else None,
            info=str(envelope.get("ErrorInfo", "")) or f"HTTP {response.status_code}",
            request_id=request_id,
            http_status=response.status_code,
        )
    return envelope


def _describe_errors(exc: ValidationError) -> str:
    # Field paths and messages only: the input may hold a token.
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '<body>'}: {error['msg']}"
        for error in exc.errors()
    )


def refused_locally(command: str, exc: ValidationError) -> TencentApiError:
    """The TencentApiError Tencent would have returned for a body that fails its request model."""
    codes = [error.get("ctx", {}).get("tencent_code") for error in exc.errors()]
    code = next((c for c in codes if isinstance(c, int)), INVALID_PARAMETER)
    return TencentApiError(command=command, code=code, info=_describe_errors(exc), local=True)


__all__ = ["AdminUserSig", "LiveClient", "refused_locally", "shared_http_client"]
