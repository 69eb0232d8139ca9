"""A webhook receiver on loopback: what LiveGuard's ingress will be, reduced to recording and answering.

Used by `make demo` and by tests that check what the emulator sends. It verifies `Sign` and
`RequestTime` with the layer's verifier when given the token, and answers each callback with what
the ``answer`` function returns (Tencent's OK envelope by default).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from liveguard.tencent.webhook_signature import WebhookSignatureError, verify_webhook_signature

OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}


@dataclass(frozen=True)
class Received:
    command: str
    query: dict[str, str]
    body: Any
    signature: str  # "valid", "unsigned", or the refusal reason


Answer = Callable[[Received], dict[str, Any]]


class WebhookReceiver:
    def __init__(self, token: str | None = None, answer: Answer | None = None) -> None:
        self.token = token
        self.answer: Answer = answer or (lambda received: OK)
        self.received: list[Received] = []
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/tencent/callback"

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def commands(self) -> list[str]:
        with self._lock:
            return [received.command for received in self.received]

    def wait_for(self, command: str, count: int = 1, timeout: float = 5.0) -> list[Received]:
        """Block until ``count`` callbacks of ``command`` have arrived; return them all."""
        with self._arrived:
            self._arrived.wait_for(
                lambda: sum(r.command == command for r in self.received) >= count, timeout=timeout
            )
            return [r for r in self.received if r.command == command]

    def _check_signature(self, query: dict[str, str]) -> str:
        if self.token is None:
            return "unsigned" if "Sign" not in query else "signed, no token to check"
        try:
            verify_webhook_signature(self.token, query.get("Sign"), query.get("RequestTime"))
        except WebhookSignatureError as error:
            return str(error.reason)
        return "valid"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                received = Received(
                    query.get("CallbackCommand", ""), query, body, receiver._check_signature(query)
                )
                answer = receiver.answer(received)
                with receiver._arrived:
                    receiver.received.append(received)
                    receiver._arrived.notify_all()
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
