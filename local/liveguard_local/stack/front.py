"""The local API Gateway: the template's Api routes over HTTP, each request a REST proxy event.

A request matching an ``Api`` event's path and method becomes the event API Gateway's REST API gives
a Lambda proxy integration (``resource``, ``path``, ``httpMethod``, headers and query parameters,
single- and multi-valued, ``body`` with ``isBase64Encoded``, ``requestContext`` with a ``requestId``);
the function's proxy response (``statusCode``, headers, ``body``) becomes the HTTP response. As API
Gateway does: an unknown route answers 403 ``Missing Authentication Token``, a failed, timed-out or
malformed invocation answers 502, and the stage's throttling (``MethodSettings`` on ``/*``) answers
429 over its rate and burst. Routes are served at their own path, without the stage prefix, as
``sam local start-api`` does.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .template import ACCOUNT_ID, ApiRoute, ApiSpec
from .workers import Result

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit


class TokenBucket:
    """API Gateway's stage throttling: ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.capacity = float(max(burst, 1))
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = threading.Lock()

    def take(self) -> bool:
        with self._lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
            self.updated = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True


@dataclass(frozen=True)
class Route:
    function: str
    route: ApiRoute
    api: ApiSpec
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, function: str, route: ApiRoute, api: ApiSpec) -> Route:
        parts = []
        for segment in route.path.strip("/").split("/"):
            match = re.fullmatch(r"\{(\w+)(\+?)\}", segment)
            if match is None:
                parts.append(re.escape(segment))
            elif match.group(2):
                parts.append(f"(?P<{match.group(1)}>.+)")
            else:
                parts.append(f"(?P<{match.group(1)}>[^/]+)")
        return cls(function, route, api, re.compile("/" + "/".join(parts)))

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.route.method not in ("ANY", method):
            return None
        found = self.pattern.fullmatch(path)
        return None if found is None else found.groupdict()


Invoke = Callable[[str, dict[str, Any]], Result]
Report = Callable[[str, str, Result, str, str], None]  # function, records, result, outcome, detail


def proxy_event(
    route: Route,
    method: str,
    path: str,
    query: str,
    headers: list[tuple[str, str]],
    body: bytes,
    client_ip: str,
    path_parameters: dict[str, str],
) -> dict[str, Any]:
    """The REST API proxy integration's event for one request."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    single.setdefault("X-Forwarded-For", client_ip)
    multi.setdefault("X-Forwarded-For", [client_ip])
    parameters: dict[str, str] = {}
    multi_parameters: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        parameters[name] = value
        multi_parameters.setdefault(name, []).append(value)
    text: str | None
    encoded = False
    if not body:
        text = None
    else:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
    now = datetime.now(UTC)
    stage = route.api.stage
    return {
        "resource": route.route.path,
        "path": path,
        "httpMethod": method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": parameters or None,
        "multiValueQueryStringParameters": multi_parameters or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": route.route.path,
            "httpMethod": method,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": client_ip, "userAgent": single.get("User-Agent")},
            "domainName": single.get("Host", "localhost"),
            "apiId": route.api.logical_id,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


def proxy_response(result: Result) -> tuple[int, list[tuple[str, str]], bytes]:
    """The HTTP answer for an invocation: the proxy response, or API Gateway's 502."""
    failed = (502, [("Content-Type", "application/json")], b'{"message": "Internal server error"}')
    payload = result.payload
    if result.status != "ok" or not isinstance(payload, dict):
        return failed
    try:
        status = int(payload.get("statusCode", 200))
        headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
        for name, values in (payload.get("multiValueHeaders") or {}).items():
            headers.extend((str(name), str(value)) for value in values)
        body = payload.get("body") or ""
        data = base64.b64decode(body) if payload.get("isBase64Encoded") else str(body).encode("utf-8")
    except (TypeError, ValueError, AttributeError, binascii.Error):
        return failed
    return status, headers, data


class ApiFront:
    """The HTTP server; bound at construction (so its URL is known), serving once ``serve`` is called."""

    def __init__(self, host: str, port: int) -> None:
        self.routes: list[Route] = []
        self._invoke: Invoke | None = None
        self._report: Report | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve(self, routes: list[Route], invoke: Invoke, report: Report) -> None:
        self.routes, self._invoke, self._report = routes, invoke, report
        for route in routes:
            api = route.api
            if api.rate_limit is not None and api.logical_id not in self._buckets:
                self._buckets[api.logical_id] = TokenBucket(api.rate_limit, api.burst_limit or 1)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass  # one line per invocation is printed instead

            def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                names = {name.lower() for name, _ in headers}
                for name, value in headers:
                    if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(name, value)
                if "content-type" not in names:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _message(self, status: int, message: str) -> None:
                self._answer(status, [], json.dumps({"message": message}).encode())

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length > MAX_BODY_BYTES:
                    self.close_connection = True
                    self._message(413, "Request Too Long")
                    return
                body = self.rfile.read(length) if length else b""
                url = urlsplit(self.path)
                for route in front.routes:
                    parameters = route.match(self.command, url.path)
                    if parameters is not None:
                        break
                else:
                    self._message(403, "Missing Authentication Token")
                    return
                bucket = front._buckets.get(route.api.logical_id)
                if bucket is not None and not bucket.take():
                    self._message(429, "Too Many Requests")
                    return
                event = proxy_event(
                    route,
                    self.command,
                    url.path,
                    url.query,
                    list(self.headers.items()),
                    body,
                    self.client_address[0],
                    parameters,
                )
                assert front._invoke is not None
                assert front._report is not None
                result = front._invoke(route.function, event)
                status, headers, data = proxy_response(result)
                command = (event["queryStringParameters"] or {}).get("CallbackCommand")
                detail = f"{self.command} {url.path}" + (f" {command}" if command else "")
                outcome = str(status) if result.status == "ok" else f"{status} {result.status}"
                front._report(route.function, "1 request", result, outcome, detail)
                self._answer(status, headers, data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

        return Handler
