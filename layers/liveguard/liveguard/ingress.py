"""The front door: authenticate a Tencent callback, model it, decide before-callbacks, queue it when
a rule can act on it.

``Ingress.handle`` takes an API Gateway proxy event, in payload format 2.0 (the stack's HTTP API) or
1.0 (a REST API's), and returns the proxy response, which both formats read alike. It never
raises: every input gets a 2xx (queued, or answered and counted ``NotQueued`` when no rule acts on
it), a 4xx (refused, nothing queued) or a 5xx (the event could not be queued, so Tencent must not
believe it was). Logs name the event id and command, never the token, the signature or the body.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from liveguard.messages import CallbackQuery, EventEnvelope, event_id, message_group
from liveguard.rules.verdict import ALLOW_ALL, CompiledRules, Verdict, decide, tencent_default
from liveguard.settings import SecretUnusable, TencentSecret
from liveguard.spool import MESSAGE_REFUSALS, KeptEvent, SpoolGuard
from liveguard.tencent.webhook_signature import WebhookSignatureError, verify_webhook_signature
from liveguard.webhooks.commands import is_live_side
from liveguard.webhooks.models import (
    BEFORE_COMMANDS,
    CallbackInvalid,
    UnknownCallback,
    is_command_name,
    parse_callback,
)

if TYPE_CHECKING:  # the ports are annotations only: the ingress's cold start does not load them
    from liveguard.ports import EventQueue, EventSpool, FloodCounters, Metrics

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
# Tencent waits 2 s. Keep a margin for API Gateway and the network on both sides.
ANSWER_BUDGET = 1.5
# Of that budget, what SQS's tries leave for keeping the event in the spool when they all fail: one
# PutItem (a few ms when DynamoDB is well; its timeout below) and a second try.
KEEP_RESERVE = 0.45
KEEP_TIMEOUT = 0.2
# The guard's reads on the answer's path (the activity mark, "has this room kept events?").
KEPT_CHECK_TIMEOUT = 0.1
OK_REPLY = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}
# Tencent's bodies are five levels deep at most; a deeper one is not Tencent's, and past a few hundred
# levels the JSON, validation and serialisation libraries each give up in their own way.
MAX_DEPTH = 32
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class Refusal:
    """Why a callback is refused: the HTTP status, a non-zero ErrorCode and the metric's reason."""

    BAD_APP = (401, 40101, "sdkappid")
    UNSIGNED = (401, 40102, "unsigned")
    BAD_TIME = (401, 40103, "request_time")
    STALE = (401, 40104, "stale")
    BAD_SIGN = (401, 40105, "signature")
    TOO_LARGE = (413, 41301, "too_large")
    NO_COMMAND = (400, 40001, "no_command")
    NOT_JSON = (400, 40002, "not_json")
    BAD_SHAPE = (400, 40003, "invalid")
    UNAVAILABLE = (503, 50301, "queue_unavailable")
    NOT_CONFIGURED = (503, 50302, "not_configured")


SIGNATURE_REFUSALS = {
    "missing": Refusal.UNSIGNED,
    "malformed_time": Refusal.BAD_TIME,
    "stale": Refusal.STALE,
    "mismatch": Refusal.BAD_SIGN,
}


class BodyUnreadable(ValueError):  # noqa: N818 - the domain's word: the body is unreadable
    """A body that is not a JSON document LiveGuard will read; the message names why, never the body."""


def _no_surrogates(text: str) -> str:
    """Lone surrogates (from ``\\ud800`` escapes, or a proxy event's own) as U+FFFD: Python keeps them
    in a str, but no UTF-8 encoder, queue or log line takes them, and a viewer can type the escape."""
    if text.isascii():  # the common case, and a C-speed scan
        return text
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def _clean(value: object, depth_left: int) -> object:
    """The parsed body with lone surrogates replaced in every key and string, refused past ``MAX_DEPTH``
    levels. Iterative: a hostile body must not exhaust the interpreter's stack."""
    root = [value]
    stack: list[tuple[list[Any] | dict[str, Any], int]] = [(root, depth_left + 1)]
    while stack:
        container, left = stack.pop()
        if left < 0:
            raise BodyUnreadable(f"body: nested deeper than {MAX_DEPTH} levels")
        if isinstance(container, dict):
            for key in list(container):
                item = container[key]
                fixed = _no_surrogates(key)
                if fixed != key:
                    del container[key]
                    container[fixed] = item
                if isinstance(item, str):
                    container[fixed] = _no_surrogates(item)
                elif isinstance(item, (dict, list)):
                    stack.append((item, left - 1))
        else:
            for index, item in enumerate(container):
                if isinstance(item, str):
                    container[index] = _no_surrogates(item)
                elif isinstance(item, (dict, list)):
                    stack.append((item, left - 1))
    return root[0]


def read_body(raw: bytes) -> object:
    """The body as JSON. Bytes that are not UTF-8 are read as U+FFFD; lone surrogates become U+FFFD;
    nesting past ``MAX_DEPTH`` is refused. Raises BodyUnreadable."""
    text = raw.decode("utf-8", "replace")
    try:
        value = json.loads(text)
    except RecursionError:
        raise BodyUnreadable(f"body: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError:  # JSONDecodeError, and integers past Python's 4300-digit conversion limit
        raise BodyUnreadable("body: not JSON") from None
    # Walk the document only when it could be too deep or could hold a surrogate: the common body
    # has a handful of brackets and no \ud8xx escape, and costs two scans of its text.
    if text.count("{") + text.count("[") > MAX_DEPTH or _SURROGATE_ESCAPE.search(text):
        value = _clean(value, MAX_DEPTH)
    return value


@dataclass(frozen=True)
class Request:
    """What the ingress reads of an API Gateway proxy event: ``queryStringParameters``, ``body`` and
    ``isBase64Encoded``, which payload formats 1.0 and 2.0 name alike. Where 2.0 differs in them, no
    code is needed: a repeated query name arrives as one comma-joined value (1.0 keeps the last), which
    no check accepts (a joined Sign fails the signature, a joined CallbackCommand is not a command
    name); an empty body is absent (read as empty); a body API Gateway did not take for text arrives
    base64-encoded with the flag set, as a REST API's binary body does. Headers, cookies and
    ``rawQueryString`` are not read."""

    query: dict[str, str]
    body: bytes

    @classmethod
    def from_proxy_event(cls, event: object) -> Request:
        """Any event gives a Request (a missing or mistyped part reads as empty); raises ValueError
        only for a body flagged base64 that is not."""
        if not isinstance(event, Mapping):
            return cls({}, b"")
        query = event.get("queryStringParameters")
        raw = event.get("body")
        if not isinstance(raw, str):
            raw = ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(raw, validate=True)
        else:
            body = raw.encode("utf-8", "surrogatepass")
        if not isinstance(query, Mapping):
            return cls({}, body)
        return cls(
            {_no_surrogates(str(k)): _no_surrogates(str(v)) for k, v in query.items() if v is not None},
            body,
        )


def _response(status: int, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps(payload, ensure_ascii=False, separators=(",", ":")),
        "isBase64Encoded": False,
    }


class Ingress:
    """One per process: the queue client, the spool, the cached secret loader and the compiled rules."""

    def __init__(
        self,
        *,
        queue: EventQueue,
        queue_url: str,
        secret: Callable[[], TencentSecret],
        rules: CompiledRules = ALLOW_ALL,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        allow_unsigned: bool = False,
        spool: EventSpool | None = None,
        counters: FloodCounters | None = None,
    ) -> None:
        """``allow_unsigned``: accept callbacks of a side the secret has no token for (a console test).
        Off, they are refused 503 50302: a missing token must not mean unauthenticated.
        ``counters``: the shared flood counters, updated for the events of commands a rate, repeat or
        raid condition listens to (``RuleSet.counter_plan``); None: nothing is counted."""
        self.queue = queue
        self.queue_url = queue_url
        # Where an event goes when SQS cannot take it (liveguard.spool); None: answer 503 instead.
        self.spool = spool
        self.counters = counters
        self.guard = SpoolGuard(monotonic=monotonic, clock=clock)
        self.secret = secret
        self.rules = rules
        if metrics is None:
            # Here, not at the top: the function passes its own, and the in-memory module loads the
            # state's models, which the ingress otherwise never needs.
            from liveguard.memory import NoMetrics

            metrics = NoMetrics()
        self.metrics: Metrics = metrics
        self._clock = clock
        self._monotonic = monotonic
        self._sleep = sleep
        self.allow_unsigned = allow_unsigned
        if allow_unsigned:
            logger.warning(
                "ALLOW_UNSIGNED_CALLBACKS is on: callbacks of a side the secret has no token for are "
                "accepted unauthenticated; for a console test only"
            )

    def handle(self, event: Mapping[str, Any], remaining_ms: int | None = None) -> dict[str, Any]:
        """Answer one callback delivery (an API Gateway proxy event, payload format 1.0 or 2.0)."""
        started = self._monotonic()
        budget = ANSWER_BUDGET if remaining_ms is None else min(ANSWER_BUDGET, remaining_ms / 1000 - 0.2)
        deadline = started + max(budget, 0.05)
        try:
            request = Request.from_proxy_event(event)
        except (binascii.Error, ValueError):
            return self._refuse(Refusal.NOT_JSON, "body: not valid base64")
        if len(request.body) > MAX_BODY_BYTES:
            return self._refuse(Refusal.TOO_LARGE, f"the body is over {MAX_BODY_BYTES} bytes")
        try:
            secret = self.secret()
        except SecretUnusable as unusable:  # its reason names keys, never values
            logger.error(
                "tencent secret unusable",
                extra={
                    "error": type(unusable).__name__,
                    "reason": unusable.reason,
                    "retryable": unusable.retryable,
                },
            )
            return self._refuse(Refusal.NOT_CONFIGURED, "LiveGuard is not configured")
        except (ValidationError, ValueError, KeyError) as exc:  # str() may hold values: not logged
            logger.error("tencent secret unusable", extra={"error": type(exc).__name__})
            return self._refuse(Refusal.NOT_CONFIGURED, "LiveGuard is not configured")
        refusal = self._authenticate(request.query, secret)
        if refusal is not None:
            return refusal
        command = request.query.get("CallbackCommand", "")
        if not command:
            return self._refuse(Refusal.NO_COMMAND, "CallbackCommand: missing from the query string")
        if not is_command_name(command):
            return self._refuse(Refusal.NO_COMMAND, "CallbackCommand: not a callback command name")
        try:
            body = read_body(request.body)
        except BodyUnreadable as unreadable:
            return self._refuse(Refusal.NOT_JSON, str(unreadable), command=command)
        try:
            callback = parse_callback(command, body)
        except CallbackInvalid as invalid:
            return self._refuse(Refusal.BAD_SHAPE, str(invalid), command=command)
        named = callback.callback_command
        if is_live_side(named) != is_live_side(command):
            # The query's command chose the token that signed this; a body naming the other side's
            # event would let one side's token speak for the other. Tencent's own mismatches stay
            # within a side.
            return self._refuse(
                Refusal.BAD_SHAPE, "CallbackCommand: the body's names the other Tencent side", command=command
            )
        if named != command:
            # Tencent's own pages show the query's CallbackCommand differing from the body's; the
            # body's names the event (parse_callback). Accepted, and counted so a new case is seen.
            self.metrics.add_metric("CommandMismatch", "Count", 1)
            logger.warning(
                "CallbackCommand differs between query and body; the body's is used",
                extra={"query_command": command, "command": named},
            )
        for field, value in callback.unknown_values().items():
            self.metrics.add_metric(f"UnknownValue_{field}", "Count", 1)
            logger.warning(
                "a value Tencent did not document; accepted",
                extra={"command": named, "field": field, "value": value[:64]},
            )
        return self._accept(secret, request, named, callback, deadline)

    def _authenticate(self, query: Mapping[str, str], secret: TencentSecret) -> dict[str, Any] | None:
        if query.get("SdkAppid", query.get("SdkAppId")) != str(secret.sdk_app_id):
            return self._refuse(Refusal.BAD_APP, "SdkAppid: not this app's")
        # The query's CallbackCommand names the side (Live or Chat) that signed it with its own token.
        command = query.get("CallbackCommand", "")
        token = secret.callback_token_for(command)
        if token is None:
            side = "Live" if is_live_side(command) else "Chat"
            if not self.allow_unsigned:
                logger.error(
                    "no webhook token for this side: refused (set CallbackToken, or ALLOW_UNSIGNED_CALLBACKS "
                    "for a console test)",
                    extra={"side": side},
                )
                return self._refuse(
                    Refusal.NOT_CONFIGURED, f"LiveGuard has no webhook token for the {side} side"
                )
            self.metrics.add_metric("UnsignedAccepted", "Count", 1)
            logger.warning("callback accepted unsigned (ALLOW_UNSIGNED_CALLBACKS)", extra={"side": side})
            return None
        try:
            verify_webhook_signature(
                token.get_secret_value(),
                query.get("Sign"),
                query.get("RequestTime"),
                now=self._clock(),
            )
        except WebhookSignatureError as error:
            return self._refuse(SIGNATURE_REFUSALS[str(error.reason)], str(error))
        return None

    def _accept(
        self, secret: TencentSecret, request: Request, command: str, callback: Any, deadline: float
    ) -> dict[str, Any]:
        known = not isinstance(callback, UnknownCallback)
        echo = callback.operator is not None and callback.operator == secret.admin_identifier
        received_at = int(self._clock() * 1000)
        # Counted before deciding (the inline verdict reads the counts), never for our own echoes.
        counts = self._count(command, callback, received_at) if known and not echo else None
        verdict: Verdict | None = None
        if command in BEFORE_COMMANDS:
            verdict = self._decide(command, callback, echo, counts)
        # Unknown commands share one dimension value: a caller must not mint metric series.
        self.metrics.add_dimension("Command", command if known else "Unknown")
        reply = _response(200, verdict.reply() if verdict is not None else OK_REPLY)
        if not known:
            self.metrics.add_metric("UnknownCommand", "Count", 1)
        if not self._acts_on(command, echo):
            # No rule listens to it (rules name only modelled commands), or it is an echo of our
            # admin whose record no rule reads: answered as it would have been, and no AWS call.
            self.metrics.add_metric("NotQueued", "Count", 1)
            log = {"command": command, "echo": echo}
            if not known:
                logger.warning("unknown callback command: answered, not queued (rules name none)", extra=log)
            else:
                logger.debug("callback answered; not queued: no rule acts on it", extra=log)
            return reply
        the_id = event_id(secret.sdk_app_id, command, request.body)
        envelope = EventEnvelope(
            id=the_id,
            command=command,
            received_at=received_at,
            query=CallbackQuery(
                client_ip=request.query.get("ClientIP"), opt_platform=request.query.get("OptPlatform")
            ),
            event=callback.model_dump(mode="json", by_alias=True, exclude_unset=True),
            decision=verdict,
            known=known,
            echo=echo,
            group=message_group(callback.room_key),
            rules_version=self._rules_version(),
            counts=counts,
        )
        log = {"event_id": the_id, "command": command, "group": envelope.group, "echo": echo}
        if not self._queue(envelope, deadline, log):
            return self._refuse(Refusal.UNAVAILABLE, "the event could not be queued; deliver it again")
        self.metrics.add_metric("Accepted", "Count", 1)
        # One line per accepted event is the costliest part of a warm invocation: DEBUG, so
        # production samples it (POWERTOOLS_LOGGER_SAMPLE_RATE); refusals and failures always log.
        logger.debug("callback queued", extra=log)
        return reply

    def _acts_on(self, command: str, echo: bool) -> bool:
        """Whether a rule can act on the event; True when the rules cannot say (they failed to load):
        then the event is queued, as before-callbacks are when their verdict fails."""
        try:
            return self.rules.acts_on(command, echo=echo)
        except Exception:  # a broken rules file must not lose events: queue, and say so
            logger.exception("the rules could not say what they act on; queued", extra={"command": command})
            self.metrics.add_metric("RulesFailed", "Count", 1)
            return True

    def _rules_version(self) -> str | None:
        """The version of the rules that decided inline and chose to queue (None when they cannot say:
        the version is a stamp, never a reason to lose the event)."""
        try:
            return self.rules.version or None
        except Exception:  # the rules failed to load: _acts_on has said so already
            return None

    def _count(self, command: str, callback: Any, received_at: int) -> dict[str, int] | None:
        """The event's flood counts, when a rule counts its command's events (else None, at no cost)."""
        if self.counters is None:
            return None
        try:
            plan = self.rules.counter_plan(command)
            if plan is None:
                return None
            from liveguard.rules.engine import counted_event

            counted = counted_event(callback)
            return None if counted is None else self.counters.count(plan, counted, received_at)
        except Exception:  # counting must not cost the answer: decided without counts, and said
            logger.exception("flood counting failed; deciding without counts", extra={"command": command})
            self.metrics.add_metric("CountersFailed", "Count", 1)
            return None

    def _decide(
        self, command: str, callback: Any, echo: bool, counts: dict[str, int] | None = None
    ) -> Verdict:
        if echo:
            return decide(callback)  # our own messages are never moderated
        try:
            verdict = decide(callback, self.rules, counts)
        except Exception:  # a broken rule must not cost Tencent's answer: fall back and say so
            logger.exception("inline rules failed; answering Tencent's default", extra={"command": command})
            self.metrics.add_metric("VerdictFailed", "Count", 1)
            verdict = tencent_default(command)
        self.metrics.add_metric(f"Verdict{verdict.action.capitalize()}", "Count", 1)
        return verdict

    def _queue(self, envelope: EventEnvelope, deadline: float, log: dict[str, Any]) -> bool:
        """Queue the event on SQS, or keep it in the spool; False when neither took it.

        With a spool, SQS's tries stop ``KEEP_RESERVE`` before the deadline so that keeping the
        event still fits in the answer. An event goes straight to the spool while its room has an
        earlier event there (``SpoolGuard``: no overtaking), and, for a few seconds after SQS
        failed on this instance, every event does."""
        body = envelope.message_body()
        if self.spool is None:
            return self._send(envelope, body, deadline, log) is None
        guard = self.guard
        if guard.sqs_on_hold:
            why = "sqs_on_hold"
        elif guard.must_keep(envelope.group, self.spool, KEPT_CHECK_TIMEOUT):
            why = "room_has_kept_events"
        else:
            why = ""
        if why:
            if self._keep(envelope, body, deadline, {**log, "why": why}):
                return True
            # Losing the event is worse than the risk of it overtaking its room's kept events.
            return self._send(envelope, body, deadline, log) is None
        error = self._send(envelope, body, deadline - KEEP_RESERVE, log)
        if error is None:
            return True
        if getattr(error, "error_type", "") in MESSAGE_REFUSALS:
            return False  # SQS refuses this message itself: the drain could never queue it either
        guard.sqs_failed()
        return self._keep(envelope, body, deadline, {**log, "why": "sqs_failed"})

    def _send(
        self, envelope: EventEnvelope, body: str, deadline: float, log: dict[str, Any]
    ) -> Exception | None:
        """SendMessage, retried with jitter until ``deadline``; the last error, or None once sent."""
        attempt = 0
        while True:
            attempt += 1
            left = deadline - self._monotonic()
            try:
                self.queue.send_message(
                    self.queue_url,
                    body,
                    group_id=envelope.group,
                    deduplication_id=envelope.id,
                    timeout=max(min(left, 1.0), 0.05),
                )
                return None
            except Exception as error:  # any failure to queue is kept or answered 5xx, never swallowed
                retryable = bool(getattr(error, "retryable", True))
                pause = random.uniform(0, min(0.2, 0.025 * 2**attempt))  # noqa: S311 - jitter
                if not retryable or self._monotonic() + pause + 0.05 >= deadline:
                    self.metrics.add_metric("QueueFailed", "Count", 1)
                    logger.error(
                        "could not queue the event",
                        extra={
                            **log,
                            "attempts": attempt,
                            "error": type(error).__name__,
                            "detail": str(error)[:300],
                        },
                    )
                    return error
                self._sleep(pause)

    def _keep(self, envelope: EventEnvelope, body: str, deadline: float, log: dict[str, Any]) -> bool:
        """Write the event to the spool, as it would have been queued; tried twice within the deadline."""
        assert self.spool is not None
        kept = KeptEvent(
            event_id=envelope.id,
            group=envelope.group,
            received_at=envelope.received_at,
            body=body,
            kept_at=int(self._clock() * 1000),
        )
        error: Exception | None = None
        for _ in range(2):
            left = deadline - self._monotonic()
            if left < 0.02:
                break
            try:
                self.spool.keep(kept, timeout=min(left, KEEP_TIMEOUT))
            except Exception as failure:  # counted and logged below; the caller answers 503
                error = failure
                continue
            self.guard.kept(
                self.spool, timeout=max(min(deadline - self._monotonic(), KEPT_CHECK_TIMEOUT), 0.02)
            )
            self.metrics.add_metric("EventsKept", "Count", 1)
            logger.info("event kept in the spool for the drain", extra=log)
            return True
        self.metrics.add_metric("KeepFailed", "Count", 1)
        logger.error(
            "could not keep the event in the spool either",
            extra={
                **log,
                "error": type(error).__name__ if error else "no time left",
                "detail": str(error)[:300] if error else "",
            },
        )
        return False

    def _refuse(
        self, refusal: tuple[int, int, str], why: str, *, command: str | None = None
    ) -> dict[str, Any]:
        status, code, reason = refusal
        self.metrics.add_metric(f"Refused_{reason}", "Count", 1)
        logger.warning("callback refused", extra={"reason": reason, "status": status, "command": command})
        return _response(status, {"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": why})
