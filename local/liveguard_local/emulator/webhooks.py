"""Webhook delivery as Tencent does it: after-callbacks queued per room, before-callbacks answered in time.

``WebhookDispatcher`` implements the ``WebhookHooks`` seam (see ``callbacks.py``). Every request is a
POST of the callback's JSON body to the configured URL, with Tencent's query parameters appended
(``SdkAppid``, ``CallbackCommand``, ``contenttype=json``, ``ClientIP``, ``OptPlatform``, and
``Sign`` + ``RequestTime`` when token authentication is on) and a 2-second timeout.

Tencent has two callback configurations for a TUILiveKit app: the Live side's (``live_config`` REST
commands or the Live console; ``Live.*`` and ``Mic.*``) and the Chat side's (the Chat console; every
other namespace: ``Group.*``, ``Follow.*``, ``ContentCallback.*``), each with its own URL and token,
signed the same way. The dispatcher holds both: the Chat side's URL and token default to the Live
side's, so an emulator given one URL and one token sends everything there, signed with it.

After-callbacks go through a small pool of daemon worker threads fed by one FIFO queue per
``order_key``: a key is served by at most one worker at a time, so a room's callbacks never overtake
each other, while other rooms are served in parallel (round robin) by the other workers. Before-
callbacks run in the caller's thread and come back as a ``BeforeAnswer`` with Tencent's defaults
already applied when the receiver fails to answer.

Every delivery attempt is recorded for ``GET /emulator/v1/webhooks``; faults make delivery slow or
duplicated so LiveGuard's idempotency and latency budget can be tested.
"""

from __future__ import annotations

import copy
import json
import logging
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from liveguard.tencent.webhook_signature import webhook_sign
from liveguard.webhooks.commands import GIFT_BEFORE, is_live_side

from .callbacks import BeforeAnswer, BeforeOutcome, Callback

logger = logging.getLogger(__name__)


# Tencent's retry-on-timeout setting is a switch with no documented count; two more tries, at once,
# is enough to exercise at-least-once delivery without stretching a test past a few timeouts.
RETRIES_ON_TIMEOUT = 2
# Enough to show what a receiver said without letting a misbehaving one fill the emulator's memory.
ANSWER_TEXT_LIMIT = 2048
# The oldest records are forgotten past this; an emulator left running for days must not grow forever.
MAX_RECORDS = 10_000
DEFAULT_MAX_WORKERS = 16
# Idle workers leave after this long, so an emulator with no traffic holds no threads.
_WORKER_IDLE_EXIT = 5.0

CONSOLE_COMMANDS = (
    "Live.CallbackAfterCreateRoom",
    "Live.CallbackAfterDestroyRoom",
    "Live.CallbackAfterUpdateRoomInfo",
    "Live.CallbackAfterSetMetadata",
    "Live.CallbackAfterDelMetadata",
    "Live.CallbackAfterCreateRoomReachingThreshold",
    "Live.CallbackAfterMemberStateChanged",
    "Live.CallbackAfterChangeOwner",
    "Live.CallbackAfterModifyAdmin",
    "Mic.CallbackAfterSeatInfoChanged",
    "Live.CallbackAfterCreateBattle",
    "Live.CallbackAfterStartBattle",
    "Live.CallbackAfterEndBattle",
    "Live.CallbackBeforeSendGift",
    "Group.CallbackBeforeSendMsg",
    "Group.CallbackAfterSendMsg",
    "Follow.CallbackAfterFollowAdd",
    "Follow.CallbackAfterFollowDelete",
)
"""Tencent's webhook command list (trtc.io/document/64413): what ``get_callback`` reports for a URL
given at start-up (an app configured in the console with every callback switched on)."""


_DECIMAL_INTEGER = re.compile(r"-?[0-9]{1,12}")

DeliveryOutcome = Literal["ok", "http_error", "not_json", "timeout", "connection_error"]
MessageFailurePolicy = Literal["deliver", "reject"]
GiftFailurePolicy = Literal["block", "allow"]


@dataclass(frozen=True)
class _Queued:
    """An after-callback waiting for its turn, with the URL that was configured when it fired."""

    callback: Callback
    url: str
    twice: bool  # a duplicate-delivery fault picked it


@dataclass(frozen=True)
class _Attempt:
    record: dict[str, Any]
    outcome: DeliveryOutcome
    answer: Any  # the parsed JSON answer when there was one, else None


class WebhookDispatcher:
    """Delivers the emulator's callbacks to the configured URL, records each attempt, and injects faults.

    Thread-safe. Tokens are never logged nor recorded. At most ``max_workers`` rooms are delivered to
    at once; the others wait their turn, round robin. Call ``close()`` when done (idempotent).

    ``url`` and ``token`` are the Live side's configuration as if made in the console (``url`` with
    every command on); ``chat_url`` and ``chat_token`` the Chat console's, for every namespace other
    than ``Live.`` and ``Mic.``: each defaults to the Live side's current value.
    """

    def __init__(
        self,
        sdk_app_id: int,
        *,
        url: str | None = None,
        token: str | None = None,
        chat_url: str | None = None,
        chat_token: str | None = None,
        timeout: float = 2.0,
        message_failure_policy: MessageFailurePolicy = "deliver",
        gift_failure_policy: GiftFailurePolicy = "block",
        retry_after_on_timeout: bool = False,
        http: httpx.Client | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
    ) -> None:
        if timeout <= 0:
            raise ValueError("the webhook timeout must be positive")
        if message_failure_policy not in ("deliver", "reject"):
            raise ValueError("message_failure_policy is 'deliver' or 'reject'")
        if gift_failure_policy not in ("block", "allow"):
            raise ValueError("gift_failure_policy is 'block' or 'allow'")
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self._sdk_app_id = sdk_app_id
        self._timeout = timeout
        self._message_policy = message_failure_policy
        self._gift_policy = gift_failure_policy
        self._retry_after_on_timeout = retry_after_on_timeout
        self._max_workers = max_workers

        self._lock = threading.Lock()
        self._work = threading.Condition(self._lock)  # workers wait here for a ready key
        self._settled = threading.Condition(self._lock)  # drain() waits here for pending == 0
        self._stop = threading.Event()  # cuts fault delays short on close()

        # The Live side's configuration: None until set_callback (or a URL at start-up) creates it.
        self._url = url or None
        self._commands: frozenset[str] | None = None  # None: every command (a URL from the constructor)
        self._token = token
        self._token_enabled = token is not None
        # The Chat console's: None follows the Live side's.
        self._chat_url = chat_url or None
        self._chat_token = chat_token or None

        self._delay = 0.0
        self._duplicate_share = 0.0
        self._duplicate_next = 0
        self._random = random.Random()  # noqa: S311 - picks faults to inject, not secrets

        self._queues: dict[str, deque[_Queued]] = {}
        self._ready: deque[str] = deque()  # keys with queued callbacks and no worker on them
        self._scheduled: set[str] = set()  # keys in _ready or being served
        self._pending = 0  # queued or in-flight after-callbacks
        self._workers = 0
        self._idle = 0
        self._threads: list[threading.Thread] = []
        self._closed = False

        self._records: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDS)
        self._next_id = 1

        self._owns_http = http is None
        # trust_env=False: a developer's HTTP(S)_PROXY must not swallow calls to a receiver on loopback.
        # No pool limit: each busy room holds a connection; waiting for one would look like a slow receiver.
        self._http = http or httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            trust_env=False,
            limits=httpx.Limits(max_connections=None, max_keepalive_connections=max_workers),
        )

    # --- configuration (live_config: set/update/get_callback, set/get_callback_token) -------------

    def set_callback(self, url: str, commands: list[str]) -> None:
        """Send callbacks to ``url``, and only the ``commands`` listed (an empty list sends none).

        The list filters every callback, the Chat side's too, as Tencent's one command list names
        ``Group.*`` and ``Follow.*`` beside ``Live.*``. Callbacks already queued keep the URL they were
        queued with, as they fired before the change.
        """
        with self._lock:
            self._url = url or None
            self._commands = frozenset(commands)

    def get_callback(self) -> tuple[str, list[str]] | None:
        """The Live side's (URL, commands), or None when no configuration exists."""
        with self._lock:
            if self._url is None:
                return None
            commands = CONSOLE_COMMANDS if self._commands is None else sorted(self._commands)
            return self._url, list(commands)

    def set_token(self, token: str | None, enabled: bool | None) -> None:
        """Change the token and/or whether requests are signed; ``None`` keeps the current value."""
        with self._lock:
            if token is not None:
                self._token = token
            if enabled is not None:
                self._token_enabled = enabled

    def get_token(self) -> tuple[str | None, bool]:
        """The token and whether it is in use."""
        with self._lock:
            return self._token, self._token_enabled

    # --- faults ------------------------------------------------------------------------------------

    def set_faults(
        self,
        delay: float = 0.0,
        duplicate_share: float = 0.0,
        duplicate_next: int = 0,
        *,
        seed: int | None = None,
    ) -> None:
        """Replace the webhook faults: ``delay`` seconds before every attempt, and after-callbacks sent twice.

        A callback is duplicated when ``duplicate_next`` is still positive (counting down), else with
        probability ``duplicate_share``, decided when it is queued. ``seed`` reseeds that draw so a
        test can reproduce it.
        """
        if delay < 0:
            raise ValueError("delay cannot be negative")
        if not 0.0 <= duplicate_share <= 1.0:
            raise ValueError("duplicate_share is between 0 and 1")
        if duplicate_next < 0:
            raise ValueError("duplicate_next cannot be negative")
        with self._lock:
            self._delay = delay
            self._duplicate_share = duplicate_share
            self._duplicate_next = duplicate_next
            if seed is not None:
                self._random.seed(seed)

    def clear_faults(self) -> None:
        """No delay, no duplicates."""
        self.set_faults()

    # --- delivery ----------------------------------------------------------------------------------

    def after(self, callback: Callback) -> None:
        """Queue an after-callback behind the earlier ones of its ``order_key``; returns at once.

        Dropped without a trace when no URL is set, the command is not enabled, or the dispatcher is
        closed: Tencent sends nothing in the first two cases.
        """
        with self._lock:
            url = self._target(callback.command)
            if self._closed or url is None:
                return
            twice = self._take_duplicate()
            key = callback.order_key
            self._queues.setdefault(key, deque()).append(_Queued(callback, url, twice))
            self._pending += 1
            if key not in self._scheduled:
                self._scheduled.add(key)
                self._ready.append(key)
            # More ready keys than idle workers to take them: another room would wait, so add a worker.
            if len(self._ready) > self._idle and self._workers < self._max_workers:
                self._spawn_worker()
            self._work.notify()

    def before(self, callback: Callback) -> BeforeAnswer:
        """Deliver a before-callback and wait (at most the timeout) for the verdict.

        The receiver's ``ErrorCode`` (an integer or a decimal string) is obeyed; ``MsgBody`` (a
        non-empty list of objects) and ``CloudCustomData`` (a string) are passed on only with
        ErrorCode 0. A timeout, a failed connection, a non-200 status, a body that is not a JSON object
        or one without a usable ErrorCode resolves to the failure policy: messages are delivered (0)
        and gifts blocked (1) by default. Never retried, as at Tencent.
        """
        with self._lock:
            target = self._target(callback.command)
            if self._closed or target is None:
                # Tencent calls nobody, and the message or gift simply goes through.
                return BeforeAnswer(error_code=0, outcome="not_configured")
            url = target
        attempt = self._attempt(callback, "before", url, attempt=1, duplicate=False)
        delivery_id: int = attempt.record["id"]
        if attempt.outcome != "ok":
            failed: BeforeOutcome = "timeout" if attempt.outcome == "timeout" else "error"
            return self._fallback(callback.command, failed, delivery_id, attempt.outcome)
        answer: dict[str, Any] = attempt.answer
        error_code = _error_code(answer.get("ErrorCode"))
        if error_code is None:
            return self._fallback(callback.command, "error", delivery_id, "no usable ErrorCode")
        error_info = answer.get("ErrorInfo")
        msg_body = answer.get("MsgBody")
        custom_data = answer.get("CloudCustomData")
        rewrite = error_code == 0  # Tencent only delivers a rewrite along with ErrorCode 0
        return BeforeAnswer(
            error_code=error_code,
            error_info=error_info if isinstance(error_info, str) else "",
            msg_body=copy.deepcopy(msg_body) if rewrite and _is_msg_body(msg_body) else None,
            cloud_custom_data=custom_data if rewrite and isinstance(custom_data, str) else None,
            outcome="answered",
            delivery_id=delivery_id,
        )

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every queued after-callback has been attempted; False if ``timeout`` ran out first."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._pending > 0:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._settled.wait(remaining)
            return True

    # --- records -----------------------------------------------------------------------------------

    def deliveries(self) -> list[dict[str, Any]]:
        """A JSON-able copy of every recorded attempt, oldest first.

        Each has ``id``, ``command``, ``order_key``, ``kind`` ("after" | "before"), ``query`` (the
        parameters sent, without ``Sign``), ``signed``, ``body``, ``status`` (HTTP status or None),
        ``answer`` (the parsed JSON, else the raw text cut to 2 KB, None without a response),
        ``latency_ms``, ``outcome`` ("ok" | "http_error" | "not_json" | "timeout" |
        "connection_error"), ``attempt`` (1 and up), ``duplicate`` and ``at`` (unix seconds).
        """
        with self._lock:
            return copy.deepcopy(list(self._records))

    def clear(self) -> None:
        """Forget the records (ids keep counting up, so a ``delivery_id`` never points at another one)."""
        with self._lock:
            self._records.clear()

    def close(self) -> None:
        """Drop queued after-callbacks, stop the workers, and close the HTTP client if it is ours."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for queue in self._queues.values():
                self._pending -= len(queue)
                queue.clear()
            self._scheduled.difference_update(self._ready)
            self._ready.clear()
            self._stop.set()
            self._work.notify_all()
            self._settled.notify_all()
            threads = list(self._threads)
        # A worker may be inside a request: give it the timeout to finish before the client goes.
        deadline = time.monotonic() + self._timeout + 1.0
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._owns_http:
            self._http.close()

    # --- internals ---------------------------------------------------------------------------------

    def _target(self, command: str) -> str | None:
        """The URL Tencent would call for ``command``, None when it calls none. Call with the lock held."""
        if self._commands is not None and command not in self._commands:
            return None
        if is_live_side(command):
            return self._url
        return self._chat_url or self._url

    def _signing_token(self, command: str) -> str | None:
        """The token ``command`` is signed with, None when unsigned. Call with the lock held."""
        live_token = self._token if self._token_enabled else None
        if is_live_side(command):
            return live_token
        return self._chat_token or live_token

    def _take_duplicate(self) -> bool:
        """Whether the duplicate fault picks the callback being queued. Call with the lock held."""
        if self._duplicate_next > 0:
            self._duplicate_next -= 1
            return True
        return self._duplicate_share > 0 and self._random.random() < self._duplicate_share

    def _spawn_worker(self) -> None:
        """Start one more worker. Call with the lock held."""
        self._threads = [thread for thread in self._threads if thread.is_alive()]
        thread = threading.Thread(target=self._work_loop, name="emulator-webhooks", daemon=True)
        self._workers += 1
        self._threads.append(thread)
        thread.start()

    def _work_loop(self) -> None:
        while True:
            with self._lock:
                while not self._ready:
                    if self._closed:
                        self._workers -= 1
                        return
                    self._idle += 1
                    woken = self._work.wait(_WORKER_IDLE_EXIT)
                    self._idle -= 1
                    if not woken and not self._ready:
                        self._workers -= 1
                        return
                key = self._ready.popleft()
                item = self._queues[key].popleft()
            try:
                self._deliver_after(item)
            except Exception:
                # A bug here must not stall the room's queue nor hang drain(): log it loudly, go on.
                logger.exception("after-callback %s for %s failed unexpectedly", item.callback.command, key)
            finally:
                with self._lock:
                    queue = self._queues.get(key)
                    if queue:
                        self._ready.append(key)  # to the back: other rooms get their turn first
                    else:
                        self._queues.pop(key, None)
                        self._scheduled.discard(key)
                    self._pending -= 1
                    if self._pending == 0:
                        self._settled.notify_all()

    def _deliver_after(self, item: _Queued) -> None:
        """Send one after-callback, retrying timeouts when enabled, then again if it is to be duplicated."""
        for duplicate in (False, True) if item.twice else (False,):
            for attempt_number in range(1, RETRIES_ON_TIMEOUT + 2):
                if self._stop.is_set():
                    return
                attempt = self._attempt(item.callback, "after", item.url, attempt_number, duplicate)
                if attempt.outcome != "timeout" or not self._retry_after_on_timeout:
                    break

    def _attempt(
        self, callback: Callback, kind: Literal["after", "before"], url: str, attempt: int, duplicate: bool
    ) -> _Attempt:
        """POST ``callback`` once, record the attempt, and classify what came back."""
        with self._lock:
            delay = self._delay
            token = self._signing_token(callback.command)
        if delay > 0:
            # The slowness is Tencent's, not the receiver's: it does not count against the timeout.
            self._stop.wait(delay)
        query: dict[str, str] = {
            "SdkAppid": str(self._sdk_app_id),
            "CallbackCommand": callback.command,
            "contenttype": "json",
            "ClientIP": callback.client_ip,
            "OptPlatform": callback.platform,
        }
        params = dict(query)
        if token is not None:
            # Wall-clock time, not the emulator's clock: the receiver checks freshness against its own.
            request_time = str(int(time.time()))
            params["Sign"] = webhook_sign(token, request_time)
            params["RequestTime"] = request_time
            query["RequestTime"] = request_time

        status: int | None = None
        answer: Any = None
        recorded_answer: Any = None
        outcome: DeliveryOutcome
        at = time.time()
        started = time.perf_counter()
        try:
            # Appended to the receiver's own query string, as Tencent does, rather than replacing it.
            target = httpx.URL(url).copy_merge_params(params)
            response = self._http.post(target, json=callback.body, timeout=self._timeout)
        except httpx.TimeoutException:
            outcome = "timeout"
        except (httpx.HTTPError, httpx.InvalidURL):
            outcome = "connection_error"
        else:
            status = response.status_code
            parsed, is_json = _parse_json(response.content)
            recorded_answer = parsed if is_json else _cut(response.content)
            if status != 200:
                outcome = "http_error"
            elif not isinstance(parsed, dict):
                outcome = "not_json"
            else:
                outcome = "ok"
                answer = parsed
        latency_ms = round((time.perf_counter() - started) * 1000, 1)

        record: dict[str, Any] = {
            "command": callback.command,
            "order_key": callback.order_key,
            "kind": kind,
            "query": query,
            "signed": token is not None,
            "body": _json_copy(callback.body),
            "status": status,
            "answer": recorded_answer,
            "latency_ms": latency_ms,
            "outcome": outcome,
            "attempt": attempt,
            "duplicate": duplicate,
            "at": round(at, 3),
        }
        with self._lock:
            record = {"id": self._next_id, **record}
            self._next_id += 1
            self._records.append(record)
        if outcome != "ok":
            logger.info(
                "%s-callback %s for %s: %s (attempt %d)",
                kind,
                callback.command,
                callback.order_key,
                outcome,
                attempt,
            )
        return _Attempt(record, outcome, answer)

    def _fallback(self, command: str, outcome: BeforeOutcome, delivery_id: int, reason: str) -> BeforeAnswer:
        """The verdict when the receiver gave none: Tencent's default, or the configured opposite."""
        if command == GIFT_BEFORE:
            code = 1 if self._gift_policy == "block" else 0
        else:
            # Tencent's general rule for before-callbacks is to let the event through.
            code = 0 if self._message_policy == "deliver" else 1
        return BeforeAnswer(
            error_code=code, outcome=outcome, delivery_id=delivery_id, extra={"reason": reason}
        )


def _parse_json(raw: bytes) -> tuple[Any, bool]:
    """The JSON value in ``raw`` and True, or (None, False). NaN and Infinity are not JSON."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant), True
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None, False


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _cut(raw: bytes) -> str:
    return raw[:ANSWER_TEXT_LIMIT].decode("utf-8", errors="replace")


def _json_copy(body: dict[str, Any]) -> Any:
    """A deep copy that is certainly JSON-able (the world's body is sent as JSON, so it must be)."""
    return json.loads(json.dumps(body))


def _error_code(value: Any) -> int | None:
    """ErrorCode as an int, from an integer or a decimal string; None for anything else."""
    if isinstance(value, bool):  # True is an int to Python, but no error code
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and _DECIMAL_INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _is_msg_body(value: Any) -> bool:
    return isinstance(value, list) and len(value) > 0 and all(isinstance(element, dict) for element in value)
