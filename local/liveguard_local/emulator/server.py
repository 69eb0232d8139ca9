"""The emulator's HTTP face: Tencent's REST endpoint, the app users' client API, inspection and faults.

    POST /v4/<service>/<command>?sdkappid&identifier&usersig&random&contenttype=json   (as Tencent)
    POST /emulator/v1/client/<action>                                                   (as an app user)
    GET  /emulator/v1/calls | /emulator/v1/webhooks | /emulator/v1/rooms/<RoomId>
    POST /emulator/v1/reset | /emulator/v1/clock | /emulator/v1/faults | /emulator/v1/config

Every API-level answer is HTTP 200 with Tencent's envelope (ActionStatus, ErrorCode, ErrorInfo,
RequestId, Response), as Tencent does.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from liveguard.tencent.usersig import UserSigError, verify_usersig

from .callbacks import Actor
from .client_api import handle_client
from .clock import Clock
from .errors import ApiError
from .faults import FaultsRequest, RestFaults
from .rest import CHAT_SERVICES, REST_COMMANDS, handle_rest
from .webhooks import WebhookDispatcher
from .world import World

MAX_BODY_BYTES = 1024 * 1024
# Documented per-command limits in calls per second; others are 200/s. Over the limit: 60007.
RATE_LIMITS = {"get_room_list": 10, "add_robot": 100, "get_room_stats": 100}
DEFAULT_RATE_LIMIT = 200
MAX_RECORDED_CALLS = 10_000
REDACTED_FIELDS = frozenset({"Token"})  # set_callback_token's token: kept out of the call log
IN_FLIGHT = "in flight"
"""The ``info`` of a recorded call that has not answered yet (its ``code`` is null until it does)."""


@dataclass(frozen=True)
class EmulatorConfig:
    sdk_app_id: int
    secret_key: str
    admin: str
    host: str = "127.0.0.1"
    port: int = 0
    webhook_url: str | None = None
    callback_token: str | None = None
    chat_webhook_url: str | None = None  # the Chat console's URL (Group.*, Follow.*...); default webhook_url
    chat_callback_token: str | None = None  # the Chat console's token; default callback_token
    auto_destroy_after: float = 1800.0
    webhook_timeout: float = 2.0
    message_failure_policy: Literal["deliver", "reject"] = "deliver"
    gift_failure_policy: Literal["block", "allow"] = "block"
    retry_after_on_timeout: bool = False
    tick_interval: float = 1.0


class ClockRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance: float = Field(ge=0, le=366 * 86400, description="seconds to move the emulated clock forward")


class ConfigRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    auto_destroy_after: float | None = Field(default=None, gt=0)


class FrequencyLimiter:
    """Tencent's per-command limit, counted per calendar second of real time."""

    def __init__(self) -> None:
        self._counts: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def admit(self, command: str) -> bool:
        second = int(time.time())
        limit = RATE_LIMITS.get(command, DEFAULT_RATE_LIMIT)
        with self._lock:
            at, count = self._counts.get(command, (second, 0))
            count = count + 1 if at == second else 1
            self._counts[command] = (second, count)
            return count <= limit


def envelope(
    response: dict[str, Any] | None = None, *, code: int = 0, info: str = "", beside: bool = False
) -> dict[str, Any]:
    """Tencent's reply envelope; a success's fields in ``Response`` (Live), or ``beside`` the envelope's
    own (Chat's services, e.g. send_group_msg's MsgTime and MsgSeq)."""
    reply: dict[str, Any] = {
        "ActionStatus": "OK" if code == 0 else "FAIL",
        "ErrorCode": code,
        "ErrorInfo": info,
        "RequestId": f"Id-{uuid.uuid4().hex}-O-Seq-emulator",
    }
    if code == 0 and response:
        if beside:
            reply.update({key: value for key, value in response.items() if key not in reply})
        else:
            reply["Response"] = response
    return reply


class Emulator:
    """The whole emulator, started in-process (tests) or by `liveguard emulator`."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.clock = Clock()
        self.webhooks = WebhookDispatcher(
            config.sdk_app_id,
            url=config.webhook_url,
            token=config.callback_token,
            chat_url=config.chat_webhook_url,
            chat_token=config.chat_callback_token,
            timeout=config.webhook_timeout,
            message_failure_policy=config.message_failure_policy,
            gift_failure_policy=config.gift_failure_policy,
            retry_after_on_timeout=config.retry_after_on_timeout,
        )
        self.world = World(
            config.admin, self.clock, self.webhooks, auto_destroy_after=config.auto_destroy_after
        )
        self.faults = RestFaults()
        self.frequency = FrequencyLimiter()
        self._calls: deque[dict[str, Any]] = deque(maxlen=MAX_RECORDED_CALLS)
        self._calls_lock = threading.Lock()
        self._server = ThreadingHTTPServer((config.host, config.port), _handler_for(self))
        self._server.daemon_threads = True
        self._threads: list[threading.Thread] = []
        self._stopped = threading.Event()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> Emulator:
        serve = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        ticker = threading.Thread(target=self._tick_forever, daemon=True)
        self._threads = [serve, ticker]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self.webhooks.close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _tick_forever(self) -> None:
        # Auto-destroy happens in real time too, not only when a call comes in.
        while not self._stopped.wait(self.config.tick_interval):
            self.world.tick()

    # --- the REST side --------------------------------------------------------------------------

    def rest(
        self, service: str, command: str, query: dict[str, str], raw: bytes
    ) -> tuple[dict[str, Any], bool]:
        """Answer one REST call: (envelope, close the connection instead)."""
        started = time.monotonic()
        body: Any = None
        in_flight: dict[str, Any] | None = None
        try:
            self._authenticate(query)
            if (service, command) not in REST_COMMANDS:
                raise ApiError(60009, f"requested resource wrong: no command {service}/{command}")
            try:
                body = json.loads(raw or b"")
            except ValueError:
                raise ApiError(
                    60003, "request JSON parse error: the body must be JSON (at least {})"
                ) from None
            if not isinstance(body, dict):
                raise ApiError(60003, "request JSON parse error: the body must be a JSON object")
            if not self.frequency.admit(command):
                raise ApiError(60007, f"REST API call frequency exceeded for {command}")
            decision = self.faults.decide(command)
            if decision.latency:
                time.sleep(decision.latency)
            if decision.close:
                self._record(service, command, body, None, "connection closed (fault)", started)
                return {}, True
            if decision.code is not None:
                raise ApiError(decision.code, "injected fault")
            # Recorded before it runs: whoever sees its effect (a room's state, a webhook) finds the call
            # in the log too, even while it still waits (a before-callback) or has not yet answered.
            in_flight = self._record(service, command, body, None, IN_FLIGHT, started)
            actor = Actor(self.config.admin, client_ip="127.0.0.1")
            reply = envelope(
                handle_rest(self.world, service, command, body, actor), beside=service in CHAT_SERVICES
            )
        except ApiError as error:
            reply = envelope(code=error.code, info=error.info)
        if in_flight is None:
            self._record(service, command, body, reply, None, started)
        else:
            self._complete(in_flight, reply, started)
        return reply, False

    def _authenticate(self, query: dict[str, str]) -> None:
        sdkappid = query.get("sdkappid")
        if not sdkappid:
            raise ApiError(60012, "missing sdkappid in the URL")
        if sdkappid != str(self.config.sdk_app_id):
            raise ApiError(70020, f"SDKAppID {sdkappid} not found")
        identifier = query.get("identifier")
        if not identifier:
            raise ApiError(60004, "missing identifier in the URL")
        random = query.get("random", "")
        if not random.isdigit() or int(random) > 0xFFFFFFFF:
            raise ApiError(60002, "random must be a 32-bit unsigned integer")
        if query.get("contenttype") != "json":
            raise ApiError(60002, "contenttype must be json")
        try:
            verify_usersig(
                query.get("usersig", ""),
                sdkappid=self.config.sdk_app_id,
                secret_key=self.config.secret_key,
                identifier=identifier,
                # Real time, not the emulated clock: advancing the clock to expire bans must not
                # expire the client's UserSig, which it made from real time.
            )
        except UserSigError as error:
            raise ApiError(error.tencent_code, f"UserSig refused: {error.reason}") from None
        if identifier != self.config.admin:
            raise ApiError(60010, f"{identifier} is not an app administrator")

    def _record(
        self,
        service: str,
        command: str,
        body: Any,
        reply: dict[str, Any] | None,
        failure: str | None,
        started: float,
    ) -> dict[str, Any]:
        if isinstance(body, dict):
            body = {key: ("<redacted>" if key in REDACTED_FIELDS else value) for key, value in body.items()}
        entry = {
            "at": self.clock.now(),
            "service": service,
            "command": command,
            "body": body,
            "code": None if reply is None else reply["ErrorCode"],
            "info": failure if reply is None else reply["ErrorInfo"],
            "request_id": None if reply is None else reply["RequestId"],
            "latency_ms": round((time.monotonic() - started) * 1000, 3),
        }
        with self._calls_lock:
            self._calls.append(entry)
        return entry

    def _complete(self, entry: dict[str, Any], reply: dict[str, Any], started: float) -> None:
        """Fill in an in-flight call's outcome."""
        with self._calls_lock:
            entry.update(
                code=reply["ErrorCode"],
                info=reply["ErrorInfo"],
                request_id=reply["RequestId"],
                latency_ms=round((time.monotonic() - started) * 1000, 3),
            )

    def calls(self) -> list[dict[str, Any]]:
        with self._calls_lock:
            return [dict(entry) for entry in self._calls]

    # --- the client side and the emulator's own endpoints ---------------------------------------

    def client(self, action: str, raw: bytes, client_ip: str) -> dict[str, Any]:
        try:
            body = json.loads(raw or b"{}")
            if not isinstance(body, dict):
                raise ApiError(60003, "the body must be a JSON object")
            result = handle_client(self.world, action, body, client_ip)
        except ValueError:
            return envelope(code=60003, info="the body must be JSON")
        except ApiError as error:
            return envelope(code=error.code, info=error.info)
        # A comment or gift refused on its way (muted, rejected by the before-callback) is an error
        # to the app, as the SDK reports it; the details stay in Response.
        reply = envelope(result)
        if result.get("outcome") == "rejected" and result.get("error_code"):
            reply.update(
                ActionStatus="FAIL", ErrorCode=result["error_code"], ErrorInfo=result.get("error_info", "")
            )
        return reply

    def reset(self) -> None:
        self.webhooks.drain(timeout=2.0)
        self.world.reset()
        self.webhooks.clear()
        self.webhooks.clear_faults()
        self.faults.clear()
        with self._calls_lock:
            self._calls.clear()

    def set_faults(self, request: FaultsRequest) -> dict[str, Any]:
        if request.clear:
            self.faults.clear()
            self.webhooks.clear_faults()
        self.faults.add(request.rest)
        if request.webhooks is not None:
            self.webhooks.set_faults(**request.webhooks.model_dump())
        return {"rest": self.faults.active()}


def _handler_for(emulator: Emulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: avoid 40 ms stalls

        def log_message(self, format: str, *args: Any) -> None:
            pass  # request lines carry UserSigs; the call log is at GET /emulator/v1/calls

        def _send(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes | None:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY_BYTES:
                self._send(200, envelope(code=60002, info=f"body over {MAX_BODY_BYTES} bytes"))
                self.close_connection = True
                return None
            return self.rfile.read(length)

        def do_POST(self) -> None:
            url = urlsplit(self.path)
            parts = [unquote(part) for part in url.path.strip("/").split("/")]
            raw = self._body()
            if raw is None:
                return
            if len(parts) == 3 and parts[0] == "v4":
                query = {key: values[0] for key, values in parse_qs(url.query).items()}
                reply, close = emulator.rest(parts[1], parts[2], query, raw)
                if close:
                    self.close_connection = True
                    return
                self._send(200, reply)
            elif parts[:3] == ["emulator", "v1", "client"] and len(parts) == 4:
                self._send(200, emulator.client(parts[3], raw, self.client_address[0]))
            elif parts[:2] == ["emulator", "v1"] and len(parts) == 3:
                self._send(*self._control(parts[2], raw))
            else:
                self._send(200, envelope(code=60009, info=f"requested resource wrong: {url.path}"))

        def _control(self, name: str, raw: bytes) -> tuple[int, Any]:
            try:
                payload = json.loads(raw or b"{}")
                if name == "reset":
                    emulator.reset()
                    return 200, {"reset": True}
                if name == "clock":
                    advance = ClockRequest.model_validate(payload).advance
                    now = emulator.clock.advance(advance)
                    emulator.world.tick()
                    return 200, {"now": now, "offset": emulator.clock.offset}
                if name == "faults":
                    return 200, emulator.set_faults(FaultsRequest.model_validate(payload))
                if name == "config":
                    config = ConfigRequest.model_validate(payload)
                    if config.auto_destroy_after is not None:
                        emulator.world.set_auto_destroy_after(config.auto_destroy_after)
                    return 200, config.model_dump(exclude_none=True)
            except ValidationError as exc:
                return 400, {"error": "invalid body", "details": _field_errors(exc)}
            except ValueError:
                return 400, {"error": "the body must be JSON"}
            return 404, {"error": f"no endpoint /emulator/v1/{name}"}

        def do_GET(self) -> None:
            parts = [unquote(part) for part in urlsplit(self.path).path.strip("/").split("/")]
            if parts == ["emulator", "v1", "calls"]:
                self._send(200, {"calls": emulator.calls()})
            elif parts == ["emulator", "v1", "webhooks"]:
                emulator.webhooks.drain(timeout=5.0)
                self._send(200, {"webhooks": emulator.webhooks.deliveries()})
            elif parts[:3] == ["emulator", "v1", "rooms"] and len(parts) == 4:
                try:
                    self._send(200, emulator.world.snapshot(parts[3]))
                except ApiError as error:
                    self._send(404, envelope(code=error.code, info=error.info))
            elif parts == ["emulator", "v1", "faults"]:
                self._send(200, {"rest": emulator.faults.active()})
            else:
                self._send(404, {"error": f"no endpoint {self.path}"})

    return Handler


def _field_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in error["loc"]), "error": error["msg"]} for error in exc.errors()
    ]


__all__ = ["Emulator", "EmulatorConfig", "envelope"]
