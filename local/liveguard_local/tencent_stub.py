"""A minimal stand-in for Tencent's REST endpoint on loopback, for benchmarks and client tests.

It checks what every call must carry (sdkappid, identifier, a UserSig that verifies, a uint32
``random``, ``contenttype=json``, a JSON object body), answers with Tencent's envelope, and records
each call's arrival time and the number of TCP connections opened. It knows nothing of rooms: the
Tencent Live emulator is the faithful one; this stub measures the client, not Tencent.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from liveguard.tencent.usersig import UserSigError, verify_usersig

Answer = Callable[[str, dict[str, Any]], dict[str, Any]]


def answer_ok(command: str, body: dict[str, Any]) -> dict[str, Any]:
    return {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", "RequestId": f"stub-{command}"}


def failure(code: int, info: str, request_id: str = "stub") -> dict[str, Any]:
    return {"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info, "RequestId": request_id}


@dataclass
class StubRecord:
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (monotonic time, command)
    connections: int = 0
    refused: list[tuple[str, int]] = field(default_factory=list)  # (command, code)


class TencentStub:
    def __init__(self, sdk_app_id: int, secret_key: str, admin: str, answer: Answer = answer_ok) -> None:
        self.sdk_app_id = sdk_app_id
        self.secret_key = secret_key
        self.admin = admin
        self.answer = answer
        self.record = StubRecord()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="tencent-stub", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> TencentStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _check(self, path: str, query: dict[str, list[str]], raw: bytes) -> tuple[str, dict[str, Any]]:
        """The command and reply for one request (an error envelope when Tencent would refuse it)."""
        parts = path.strip("/").split("/")
        command = parts[-1] if len(parts) == 3 and parts[0] == "v4" else ""
        one = {key: values[0] for key, values in query.items()}
        if not command:
            return "", failure(60009, "requested resource wrong")
        if one.get("sdkappid") != str(self.sdk_app_id):
            return command, failure(70020, "sdkappid not found")
        if one.get("identifier") != self.admin:
            return command, failure(60010, "identifier must be an app admin")
        random = one.get("random", "")
        if not random.isdigit() or int(random) >= 2**32 or one.get("contenttype") != "json":
            return command, failure(60002, "bad query string")
        try:
            verify_usersig(
                one.get("usersig", ""),
                sdkappid=self.sdk_app_id,
                secret_key=self.secret_key,
                identifier=self.admin,
            )
        except UserSigError as error:
            return command, failure(error.tencent_code, str(error.reason))
        try:
            body = json.loads(raw or b"null")
        except ValueError:
            return command, failure(60003, "request JSON parse error")
        if not isinstance(body, dict):
            return command, failure(60003, "request body must be a JSON object")
        return command, self.answer(command, body)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as Tencent's gateway
            # Headers and body go out in separate writes: without this, Nagle's algorithm and the
            # client's delayed ACK add 40 ms to every call.
            disable_nagle_algorithm = True

            def setup(self) -> None:
                super().setup()
                with stub._lock:
                    stub.record.connections += 1

            def do_POST(self) -> None:
                arrived = time.monotonic()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                url = urlsplit(self.path)
                command, reply = stub._check(url.path, parse_qs(url.query), raw)
                with stub._lock:
                    stub.record.arrivals.append((arrived, command))
                    if reply.get("ErrorCode"):
                        stub.record.refused.append((command, int(reply["ErrorCode"])))
                data = json.dumps(reply).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the request line holds the UserSig

        return Handler


@contextmanager
def running_stub(
    sdk_app_id: int, secret_key: str, admin: str, answer: Answer = answer_ok
) -> Iterator[TencentStub]:
    stub = TencentStub(sdk_app_id, secret_key, admin, answer).start()
    try:
        yield stub
    finally:
        stub.stop()
