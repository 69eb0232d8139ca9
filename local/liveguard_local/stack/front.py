"""The local API Gateway: the template's Api and HttpApi routes over HTTP, each request a proxy event.

A request matching an ``Api`` or ``HttpApi`` event's path and method becomes the event API Gateway
gives a Lambda proxy integration, in the route's payload format. Format 1.0, a REST API's (and an
HTTP API's when the event asks for it): ``resource``, ``path``, ``httpMethod``, headers and query
parameters, single- and multi-valued, ``body`` with ``isBase64Encoded``, ``requestContext`` with a
``requestId``. Format 2.0, an HTTP API's default: ``rawPath`` (with a named stage's segment, as in
AWS), ``rawQueryString``, lowercase ``headers`` and ``queryStringParameters`` with repeated names
joined by commas, ``cookies``, ``requestContext.http`` and ``requestId``, ``body`` (absent when
empty) with ``isBase64Encoded``.
The function's proxy response (``statusCode``, headers, ``body``; in 2.0 also a bare JSON value,
answered 200) becomes the HTTP response. As API Gateway does: an unknown route answers a REST API's
403 ``Missing Authentication Token`` or an HTTP API's 404 ``Not Found``, a failed, timed-out or
malformed invocation answers 502, and the stage's throttling (a REST API's ``MethodSettings`` on
``/*``, an HTTP API's ``DefaultRouteSettings``) answers 429 over its rate and burst. Routes are
served at their own path, without the stage prefix, as ``sam local start-api`` does.
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
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class LocalRequest:
    """One HTTP request to the front, as API Gateway sees it."""

    method: str
    path: str
    query: str
    headers: list[tuple[str, str]]
    body: bytes
    client_ip: str
    path_parameters: dict[str, str] = field(default_factory=dict)


def proxy_event(route: Route, request: LocalRequest) -> dict[str, Any]:
    """The proxy integration's event for one request, in the route's payload format."""
    build = http_api_event if route.route.payload_version == "2.0" else rest_api_event
    return build(route, request)


def rest_api_event(route: Route, request: LocalRequest) -> dict[str, Any]:
    """The payload format 1.0 event (a REST API's proxy integration) for one request."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in request.headers:
        single[name] = value
        multi.setdefault(name, []).append(value)
    single.setdefault("X-Forwarded-For", request.client_ip)
    multi.setdefault("X-Forwarded-For", [request.client_ip])
    parameters: dict[str, str] = {}
    multi_parameters: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        parameters[name] = value
        multi_parameters.setdefault(name, []).append(value)
    text: str | None
    encoded = False
    if not request.body:
        text = None
    else:
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(request.body).decode(), True
    now = datetime.now(UTC)
    stage = route.api.stage
    return {
        "resource": route.route.path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": single,
        "multiValueHeaders": multi,
        "queryStringParameters": parameters or None,
        "multiValueQueryStringParameters": multi_parameters or None,
        "pathParameters": request.path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "local",
            "resourcePath": route.route.path,
            "httpMethod": request.method,
            "extendedRequestId": uuid.uuid4().hex[:16],
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{request.path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {"sourceIp": request.client_ip, "userAgent": single.get("User-Agent")},
            "domainName": single.get("Host", "localhost"),
            "apiId": route.api.logical_id,
        },
        "body": text,
        "isBase64Encoded": encoded,
    }


# Content types whose bodies an HTTP API event carries as text; any other body (and one that is not
# UTF-8) arrives base64-encoded with isBase64Encoded true, so a function must read both.
_TEXT_TYPES = re.compile(
    r"text/.*|application/(.*[+/])?(json|xml|javascript)|application/x-www-form-urlencoded", re.IGNORECASE
)


def http_api_event(route: Route, request: LocalRequest) -> dict[str, Any]:
    """The payload format 2.0 event (an HTTP API's default) for one request: header names in lower
    case, repeated headers and query parameters joined with commas, cookies apart, and no body key
    for an empty body
    (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html)."""
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[lower] = f"{joined[lower]},{value}" if lower in joined else value
    joined.setdefault("x-forwarded-for", request.client_ip)
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    now = datetime.now(UTC)
    stage = route.api.stage
    route_key = f"{route.route.method} {route.route.path}"
    host = joined.get("host", "localhost")
    # A named stage's segment is part of the path API Gateway hands over; $default's is not (served
    # here without it either way, as sam local does).
    raw_path = request.path if stage == "$default" else f"/{stage}{request.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": request.query,
        "headers": joined,
        "requestContext": {
            "accountId": ACCOUNT_ID,
            "apiId": route.api.logical_id,
            "domainName": host,
            "domainPrefix": host.split(".", 1)[0],
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": "HTTP/1.1",
                "sourceIp": request.client_ip,
                "userAgent": joined.get("user-agent", ""),
            },
            "requestId": uuid.uuid4().hex[:16] + "=",
            "routeKey": route_key,
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    if parameters:
        event["queryStringParameters"] = parameters
    if request.path_parameters:
        event["pathParameters"] = request.path_parameters
    if request.body:
        content_type = joined.get("content-type", "").split(";", 1)[0].strip()
        try:
            if not _TEXT_TYPES.fullmatch(content_type):
                raise UnicodeDecodeError("utf-8", request.body, 0, 0, "not a text content type")
            event["body"] = request.body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"], event["isBase64Encoded"] = base64.b64encode(request.body).decode(), True
    return event


def proxy_response(result: Result, payload_version: str = "1.0") -> tuple[int, list[tuple[str, str]], bytes]:
    """The HTTP answer for an invocation: the proxy response, or API Gateway's 502. In payload format
    2.0 a result without ``statusCode`` is the body itself, answered 200 as JSON, as an HTTP API does."""
    v2 = payload_version == "2.0"
    failed_message = b'{"message":"Internal Server Error"}' if v2 else b'{"message": "Internal server error"}'
    failed = (502, [("Content-Type", "application/json")], failed_message)
    payload = result.payload
    if result.status != "ok":
        return failed
    if v2 and not (isinstance(payload, dict) and "statusCode" in payload):
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return 200, [("Content-Type", "application/json")], text.encode("utf-8")
    if not isinstance(payload, dict):
        return failed
    try:
        status = int(payload.get("statusCode", 200))
        headers = [(str(k), str(v)) for k, v in (payload.get("headers") or {}).items()]
        for name, values in (payload.get("multiValueHeaders") or {}).items():
            headers.extend((str(name), str(value)) for value in values)
        if v2:
            headers.extend(("Set-Cookie", str(cookie)) for cookie in payload.get("cookies") or [])
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
                    if front.routes and all(route.api.http for route in front.routes):
                        self._message(404, "Not Found")
                    else:
                        self._message(403, "Missing Authentication Token")
                    return
                bucket = front._buckets.get(route.api.logical_id)
                if bucket is not None and not bucket.take():
                    self._message(429, "Too Many Requests")
                    return
                event = proxy_event(
                    route,
                    LocalRequest(
                        self.command,
                        url.path,
                        url.query,
                        list(self.headers.items()),
                        body,
                        self.client_address[0],
                        parameters,
                    ),
                )
                assert front._invoke is not None
                assert front._report is not None
                result = front._invoke(route.function, event)
                status, headers, data = proxy_response(result, route.route.payload_version)
                command = (event.get("queryStringParameters") or {}).get("CallbackCommand")
                detail = f"{self.command} {url.path}" + (f" {command}" if command else "")
                outcome = str(status) if result.status == "ok" else f"{status} {result.status}"
                front._report(route.function, "1 request", result, outcome, detail)
                self._answer(status, headers, data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle  # noqa: N815

        return Handler
