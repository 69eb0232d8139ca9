"""The emulator's webhook delivery, against a real HTTP receiver on loopback.

The receiver records every request and answers as each test tells it (status, body, delay). Tests that
need a timeout use a short one so the whole file stays fast.
"""

from __future__ import annotations

import json
import random
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from liveguard.tencent.webhook_signature import WebhookSignatureError, verify_webhook_signature
from liveguard_local.emulator.callbacks import Callback
from liveguard_local.emulator.webhooks import ANSWER_TEXT_LIMIT, WebhookDispatcher

SDK_APP_ID = 1400000001
TOKEN = "emulator-callback-token"
OK = {"ActionStatus": "OK", "ErrorInfo": "", "ErrorCode": 0}
TIMEOUT = 0.3  # instead of Tencent's 2 s, to keep the slow cases fast
SLOW = 0.6  # a receiver this slow misses TIMEOUT
SET_METADATA = "Live.CallbackAfterSetMetadata"
DEL_METADATA = "Live.CallbackAfterDelMetadata"
BEFORE_MSG = "Group.CallbackBeforeSendMsg"
BEFORE_GIFT = "Live.CallbackBeforeSendGift"
RECORD_FIELDS = {
    "id",
    "command",
    "order_key",
    "kind",
    "query",
    "signed",
    "body",
    "status",
    "answer",
    "latency_ms",
    "outcome",
    "attempt",
    "duplicate",
    "at",
}


# --- a receiver on loopback ------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    path: str
    raw_query: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any
    at: float  # time.monotonic() on arrival


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: Any = field(default_factory=lambda: OK)  # JSON-encoded, unless bytes
    delay: float = 0.0


class Receiver:
    """Records every POST and answers with ``self.answer(received)``."""

    def __init__(self) -> None:
        self.answer: Callable[[Received], Reply] = lambda received: Reply()
        self.received: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True
            timeout = 5  # idle keep-alive connections end on their own

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received = Received(
                    path=parts.path,
                    raw_query=parts.query,
                    query=dict(parse_qsl(parts.query)),
                    headers={name.lower(): value for name, value in self.headers.items()},
                    body=json.loads(raw),
                    at=time.monotonic(),
                )
                with receiver._lock:
                    receiver.received.append(received)
                reply = receiver.answer(received)
                time.sleep(reply.delay)
                payload = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the dispatcher gave up waiting, as it should have

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01})
        self._thread.daemon = True

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/tencent/callback"

    def requests(self) -> list[Received]:
        with self._lock:
            return list(self.received)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def dispatchers() -> Iterator[list[WebhookDispatcher]]:
    made: list[WebhookDispatcher] = []
    yield made
    for dispatcher in made:
        dispatcher.close()


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    # One client for the module: building one (its TLS context) costs tens of milliseconds.
    with httpx.Client(trust_env=False) as client:
        yield client


@pytest.fixture
def make(
    receiver: Receiver, dispatchers: list[WebhookDispatcher], http: httpx.Client
) -> Callable[..., WebhookDispatcher]:
    """A dispatcher pointed at the receiver (pass url=None for none), closed after the test."""

    def build(**options: Any) -> WebhookDispatcher:
        options.setdefault("url", receiver.url)
        options.setdefault("timeout", TIMEOUT)
        options.setdefault("http", http)
        dispatcher = WebhookDispatcher(SDK_APP_ID, **options)
        dispatchers.append(dispatcher)
        return dispatcher

    return build


def after(
    room: str = "room-1", seq: int = 0, command: str = SET_METADATA, platform: str = "RESTAPI"
) -> Callback:
    body = {
        "CallbackCommand": command,
        "Operator_Account": "administrator",
        "RoomId": room,
        "Metadata": [{"Key": "seq", "Value": str(seq)}],
        "Seq": seq,
        "EventTime": 1_739_965_885_831,
    }
    return Callback(command=command, body=body, order_key=room, platform=platform, client_ip="10.0.0.7")


def message(text: str = "hello") -> Callback:
    body = {
        "CallbackCommand": BEFORE_MSG,
        "GroupId": "room-1",
        "Type": "Live",
        "From_Account": "viewer",
        "Operator_Account": "viewer",
        "Random": 123456,
        "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}],
        "EventTime": 1_670_574_414_123,
    }
    return Callback(command=BEFORE_MSG, body=body, order_key="room-1", platform="Android")


def gift() -> Callback:
    body = {
        "CallbackCommand": BEFORE_GIFT,
        "Operator_Account": "viewer",
        "RoomId": "room-1",
        "GiftWater": {"From_Account": "viewer", "To_Account": ["host"], "GiftId": "rose", "Count": 1},
    }
    return Callback(command=BEFORE_GIFT, body=body, order_key="room-1", platform="iOS")


def seqs(requests: list[Received], room: str) -> list[int]:
    return [request.body["Seq"] for request in requests if request.body["RoomId"] == room]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- the request Tencent sends --------------------------------------------------------------------


def test_after_callback_is_posted_with_tencents_query_parameters_in_order(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a dispatcher without a token, with an HTTP client of its own
    dispatcher = make(http=None)
    # When an after-callback fires from an Android user
    dispatcher.after(after(platform="Android"))
    assert dispatcher.drain()
    # Then Tencent's parameters arrive, in Tencent's order
    [request] = receiver.requests()
    assert request.path == "/tencent/callback"
    assert request.raw_query == (
        f"SdkAppid={SDK_APP_ID}&CallbackCommand={SET_METADATA}&contenttype=json&ClientIP=10.0.0.7&OptPlatform=Android"
    )


def test_after_callback_body_is_the_callbacks_json(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a dispatcher
    dispatcher = make()
    callback = after(seq=7)
    # When the callback is delivered
    dispatcher.after(callback)
    assert dispatcher.drain()
    # Then the body is the callback's, sent as JSON
    [request] = receiver.requests()
    assert request.body == callback.body
    assert request.headers["content-type"] == "application/json"


def test_receivers_own_query_string_is_kept(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a URL that carries its own query parameter
    dispatcher = make(url=f"{receiver.url}?tenant=acme")
    # When a callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then Tencent's parameters are appended to it rather than replacing it
    [request] = receiver.requests()
    assert request.query["tenant"] == "acme"
    assert request.query["CallbackCommand"] == SET_METADATA


def test_signed_callback_carries_a_sign_the_layers_verifier_accepts(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a dispatcher with a token
    dispatcher = make(token=TOKEN)
    # When a callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then Sign and RequestTime come last and verify against the token and the wall clock
    [request] = receiver.requests()
    assert list(request.query)[-2:] == ["Sign", "RequestTime"]
    assert (
        abs(
            verify_webhook_signature(TOKEN, request.query["Sign"], request.query["RequestTime"]) - time.time()
        )
        < 5
    )


def test_no_sign_is_sent_without_a_token(receiver: Receiver, make: Callable[..., WebhookDispatcher]) -> None:
    # Given a dispatcher without a token
    dispatcher = make()
    # When a callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then neither Sign nor RequestTime is sent
    [request] = receiver.requests()
    assert "Sign" not in request.query
    assert "RequestTime" not in request.query


def test_no_sign_is_sent_when_the_token_is_disabled(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a token that has been switched off
    dispatcher = make(token=TOKEN)
    dispatcher.set_token(None, enabled=False)
    # When a callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then it goes unsigned
    [request] = receiver.requests()
    assert "Sign" not in request.query


def test_a_token_set_later_signs_with_the_new_token(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a dispatcher given its token through set_callback_token
    dispatcher = make()
    dispatcher.set_token("later-token", enabled=True)
    # When a callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then the new token signs it
    [request] = receiver.requests()
    verify_webhook_signature("later-token", request.query["Sign"], request.query["RequestTime"])


def test_set_token_with_none_keeps_the_current_values(make: Callable[..., WebhookDispatcher]) -> None:
    # Given a dispatcher with a token in use
    dispatcher = make(token=TOKEN)
    # When only the switch is changed, then only the token
    dispatcher.set_token(None, enabled=False)
    after_switch = dispatcher.get_token()
    dispatcher.set_token("rotated", enabled=None)
    # Then each call kept what it was not given
    assert after_switch == (TOKEN, False)
    assert dispatcher.get_token() == ("rotated", False)


# --- which callbacks are sent ---------------------------------------------------------------------


def test_nothing_is_sent_without_a_url(receiver: Receiver, make: Callable[..., WebhookDispatcher]) -> None:
    # Given a dispatcher with no URL
    dispatcher = make(url=None)
    # When an after-callback fires
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then nothing is sent nor recorded
    assert receiver.requests() == []
    assert dispatcher.deliveries() == []


def test_set_callback_sends_only_the_listed_commands(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a callback URL configured for SetMetadata only
    dispatcher = make(url=None)
    dispatcher.set_callback(receiver.url, [SET_METADATA])
    # When SetMetadata and DelMetadata fire
    dispatcher.after(after(seq=1, command=DEL_METADATA))
    dispatcher.after(after(seq=2, command=SET_METADATA))
    assert dispatcher.drain()
    # Then only SetMetadata arrives
    assert [request.query["CallbackCommand"] for request in receiver.requests()] == [SET_METADATA]


def test_a_url_from_the_constructor_receives_every_command(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a dispatcher configured with a URL at start-up
    dispatcher = make()
    # When two different commands fire
    dispatcher.after(after(seq=1, command=DEL_METADATA))
    dispatcher.after(after(seq=2, command=SET_METADATA))
    assert dispatcher.drain()
    # Then both arrive
    assert [request.query["CallbackCommand"] for request in receiver.requests()] == [
        DEL_METADATA,
        SET_METADATA,
    ]


# --- the two sides: Live (live_config) and Chat (the Chat console) ----------------------------------

CHAT_TOKEN = "chat-console-token"
AFTER_MSG = "Group.CallbackAfterSendMsg"


def test_chat_side_callbacks_go_to_the_chat_url_signed_with_the_chat_token(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a Live URL and token, and a separate Chat URL and token (configured in Chat's console)
    chat = Receiver()
    chat.start()
    try:
        dispatcher = make(token=TOKEN, chat_url=chat.url, chat_token=CHAT_TOKEN)
        # When a Live callback and two Chat-side callbacks (an after- and a before-callback) fire
        dispatcher.after(after(command=SET_METADATA))
        dispatcher.after(after(command=AFTER_MSG))
        dispatcher.before(message())
        assert dispatcher.drain()
        # Then the Live one reached the Live URL signed with the Live token
        [live] = receiver.requests()
        assert live.query["CallbackCommand"] == SET_METADATA
        verify_webhook_signature(TOKEN, live.query["Sign"], live.query["RequestTime"])
        # And the Chat ones reached the Chat URL signed with the Chat token only
        assert sorted(request.query["CallbackCommand"] for request in chat.requests()) == [
            AFTER_MSG,
            BEFORE_MSG,
        ]
        for request in chat.requests():
            verify_webhook_signature(CHAT_TOKEN, request.query["Sign"], request.query["RequestTime"])
            with pytest.raises(WebhookSignatureError):
                verify_webhook_signature(TOKEN, request.query["Sign"], request.query["RequestTime"])
    finally:
        chat.stop()


def test_without_a_chat_configuration_both_sides_share_the_live_url_and_token(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given one URL and one token, and the token rotated over REST later
    dispatcher = make(token=TOKEN)
    dispatcher.set_token("rotated", enabled=True)
    # When a Live and a Chat-side callback fire
    dispatcher.after(after(command=SET_METADATA))
    dispatcher.after(after(command=AFTER_MSG))
    assert dispatcher.drain()
    # Then both reach that URL, signed with the current Live token
    assert [request.query["CallbackCommand"] for request in receiver.requests()] == [SET_METADATA, AFTER_MSG]
    for request in receiver.requests():
        verify_webhook_signature("rotated", request.query["Sign"], request.query["RequestTime"])


def test_a_chat_token_alone_signs_only_the_chat_side(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given one URL, the Live token and a different Chat token
    dispatcher = make(token=TOKEN, chat_token=CHAT_TOKEN)
    # When a Live and a Chat-side callback fire
    dispatcher.after(after(command=SET_METADATA))
    dispatcher.after(after(command=AFTER_MSG))
    assert dispatcher.drain()
    # Then each is signed with its own side's token
    live, chat = receiver.requests()
    verify_webhook_signature(TOKEN, live.query["Sign"], live.query["RequestTime"])
    verify_webhook_signature(CHAT_TOKEN, chat.query["Sign"], chat.query["RequestTime"])


def test_get_callback_reports_tencents_command_list_for_a_url_given_at_start_up(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a dispatcher started with a URL (an app configured in the console), and one without
    configured, blank = make(), make(url=None)
    # Then the first reports that URL with every documented command, the second nothing
    url, commands = configured.get_callback() or ("", [])
    assert url == receiver.url
    assert {SET_METADATA, BEFORE_MSG, BEFORE_GIFT} <= set(commands)
    assert blank.get_callback() is None


# --- after-callbacks: asynchronous, ordered per room ------------------------------------------------


def test_after_returns_before_the_receiver_answers(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver that takes a while to answer
    receiver.answer = lambda received: Reply(delay=0.25)
    dispatcher = make()
    # When an after-callback fires
    started = time.monotonic()
    dispatcher.after(after())
    elapsed = time.monotonic() - started
    # Then the caller is not held up
    assert elapsed < 0.1
    assert dispatcher.drain()


def test_after_callbacks_of_each_room_arrive_in_order(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver with jittery answer times
    jitter = random.Random(3)
    receiver.answer = lambda received: Reply(delay=jitter.random() * 0.005)
    dispatcher = make()
    # When callbacks for two rooms fire interleaved
    for seq in range(25):
        dispatcher.after(after(room="room-a", seq=seq))
        dispatcher.after(after(room="room-b", seq=seq))
    assert dispatcher.drain()
    # Then each room's callbacks arrive in the order they fired
    requests = receiver.requests()
    assert seqs(requests, "room-a") == list(range(25))
    assert seqs(requests, "room-b") == list(range(25))


def test_a_slow_room_does_not_hold_up_another_room(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver that is slow for one room only
    receiver.answer = lambda received: Reply(delay=0.2 if received.body["RoomId"] == "slow" else 0.0)
    dispatcher = make()
    # When the slow room's callbacks fire before the fast room's
    for seq in range(3):
        dispatcher.after(after(room="slow", seq=seq))
    for seq in range(3):
        dispatcher.after(after(room="fast", seq=seq))
    assert dispatcher.drain()
    # Then the fast room is done before the slow room's second callback is even sent,
    # and the slow room still kept its order
    requests = receiver.requests()
    slow = [request.at for request in requests if request.body["RoomId"] == "slow"]
    fast = [request.at for request in requests if request.body["RoomId"] == "fast"]
    assert max(fast) < slow[1]
    assert seqs(requests, "slow") == [0, 1, 2]


def test_failed_after_callback_is_recorded_and_not_retried_by_default(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver answering HTTP 500
    receiver.answer = lambda received: Reply(status=500, body={"error": "boom"})
    dispatcher = make()
    # When an after-callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then one failed attempt is recorded
    [record] = dispatcher.deliveries()
    assert (record["outcome"], record["status"], record["answer"]) == ("http_error", 500, {"error": "boom"})
    assert len(receiver.requests()) == 1


def test_timed_out_after_callback_is_not_retried_by_default(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver slower than the timeout
    receiver.answer = lambda received: Reply(delay=SLOW)
    dispatcher = make()
    # When an after-callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then the single attempt is recorded as a timeout
    assert [(r["outcome"], r["attempt"]) for r in dispatcher.deliveries()] == [("timeout", 1)]


def test_timed_out_after_callback_is_retried_when_enabled(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver slow only the first time, and retry on timeout switched on
    calls = iter([SLOW])
    receiver.answer = lambda received: Reply(delay=next(calls, 0.0))
    dispatcher = make(retry_after_on_timeout=True, token=TOKEN)
    # When an after-callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then it is sent again, signed afresh, and the retry succeeds
    assert [(r["outcome"], r["attempt"]) for r in dispatcher.deliveries()] == [("timeout", 1), ("ok", 2)]
    first, second = receiver.requests()
    assert first.body == second.body
    verify_webhook_signature(TOKEN, second.query["Sign"], second.query["RequestTime"])


def test_retry_on_timeout_gives_up_after_two_more_attempts(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver that is always too slow, and retry on timeout switched on
    receiver.answer = lambda received: Reply(delay=SLOW)
    dispatcher = make(retry_after_on_timeout=True)
    # When an after-callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then three attempts in all are made
    assert [(r["outcome"], r["attempt"]) for r in dispatcher.deliveries()] == [
        ("timeout", 1),
        ("timeout", 2),
        ("timeout", 3),
    ]


# --- before-callbacks: the answer is obeyed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("error_code", "expected"),
    [(0, 0), (1, 1), (2, 2), (10100, 10100), (10200, 10200), ("1", 1), ("2", 2)],
    ids=["deliver", "reject", "drop", "pass-through-low", "pass-through-high", "text-reject", "text-drop"],
)
def test_before_send_msg_answer_code_is_returned(
    receiver: Receiver, make: Callable[..., WebhookDispatcher], error_code: int | str, expected: int
) -> None:
    # Given a receiver answering with an ErrorCode
    receiver.answer = lambda received: Reply(body={"ErrorCode": error_code, "ErrorInfo": "policy"})
    dispatcher = make()
    # When a message's before-callback is delivered
    answer = dispatcher.before(message())
    # Then the verdict is the receiver's
    assert (answer.error_code, answer.error_info, answer.outcome) == (expected, "policy", "answered")


def test_before_send_gift_answer_code_is_returned(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver refusing gifts with a pass-through code
    receiver.answer = lambda received: Reply(body={"ErrorCode": 102150, "ErrorInfo": "no gifts here"})
    dispatcher = make()
    # When a gift's before-callback is delivered
    answer = dispatcher.before(gift())
    # Then the verdict is the receiver's
    assert (answer.error_code, answer.outcome) == (102150, "answered")


def test_rewritten_msg_body_is_passed_on_with_error_code_0(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver that rewrites the message
    rewritten = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "***"}}]
    receiver.answer = lambda received: Reply(
        body={"ErrorCode": 0, "MsgBody": rewritten, "CloudCustomData": "masked"}
    )
    dispatcher = make()
    # When a message's before-callback is delivered
    answer = dispatcher.before(message("bad word"))
    # Then the rewrite comes back with the verdict to deliver
    assert (answer.error_code, answer.msg_body, answer.cloud_custom_data) == (0, rewritten, "masked")


def test_rewrite_is_dropped_when_error_code_is_not_0(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver that rejects and also sends a MsgBody
    rewritten = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "***"}}]
    receiver.answer = lambda received: Reply(
        body={"ErrorCode": 1, "MsgBody": rewritten, "CloudCustomData": "masked"}
    )
    dispatcher = make()
    # When a message's before-callback is delivered
    answer = dispatcher.before(message())
    # Then the rewrite is ignored, as Tencent only delivers it with ErrorCode 0
    assert (answer.error_code, answer.msg_body, answer.cloud_custom_data) == (1, None, None)


def test_slow_receiver_lets_the_message_through_by_default(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver slower than the timeout
    receiver.answer = lambda received: Reply(delay=SLOW, body={"ErrorCode": 1})
    dispatcher = make()
    # When a message's before-callback is delivered
    started = time.monotonic()
    answer = dispatcher.before(message())
    # Then the sender waited about the timeout and the message is delivered
    assert time.monotonic() - started < SLOW
    assert (answer.error_code, answer.outcome) == (0, "timeout")


def test_slow_receiver_blocks_the_gift_by_default(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver slower than the timeout
    receiver.answer = lambda received: Reply(delay=SLOW)
    dispatcher = make()
    # When a gift's before-callback is delivered
    answer = dispatcher.before(gift())
    # Then the gift is blocked
    assert (answer.error_code, answer.outcome) == (1, "timeout")


def test_reject_policy_rejects_the_message_on_timeout(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a slow receiver and messages configured to be rejected on failure
    receiver.answer = lambda received: Reply(delay=SLOW)
    dispatcher = make(message_failure_policy="reject")
    # When a message's before-callback is delivered
    answer = dispatcher.before(message())
    # Then the message is rejected
    assert (answer.error_code, answer.outcome) == (1, "timeout")


def test_allow_policy_lets_the_gift_through_on_timeout(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a slow receiver and gifts configured to be allowed on failure (Tencent's "not block" switch)
    receiver.answer = lambda received: Reply(delay=SLOW)
    dispatcher = make(gift_failure_policy="allow")
    # When a gift's before-callback is delivered
    answer = dispatcher.before(gift())
    # Then the gift goes through
    assert (answer.error_code, answer.outcome) == (0, "timeout")


@pytest.mark.parametrize(
    ("reply", "recorded"),
    [
        (Reply(status=500, body={"ErrorCode": 1}), "http_error"),
        (Reply(body=b"<html>busy</html>"), "not_json"),
        (Reply(body=[{"ErrorCode": 1}]), "not_json"),
        (Reply(body={"ActionStatus": "OK"}), "ok"),
        (Reply(body={"ErrorCode": "one"}), "ok"),
        (Reply(body={"ErrorCode": True}), "ok"),
    ],
    ids=["http-500", "not-json", "json-array", "no-error-code", "word-error-code", "bool-error-code"],
)
@pytest.mark.parametrize(
    ("callback", "default_code"), [(message(), 0), (gift(), 1)], ids=["message-delivered", "gift-blocked"]
)
def test_unusable_answer_is_an_error_resolved_by_the_default_policy(
    receiver: Receiver,
    make: Callable[..., WebhookDispatcher],
    reply: Reply,
    recorded: str,
    callback: Callback,
    default_code: int,
) -> None:
    # Given a receiver whose answer carries no usable verdict
    receiver.answer = lambda received: reply
    dispatcher = make()
    # When a before-callback is delivered
    answer = dispatcher.before(callback)
    # Then Tencent's default applies, the outcome is "error", and the record says why
    assert (answer.error_code, answer.outcome) == (default_code, "error")
    [record] = dispatcher.deliveries()
    assert record["outcome"] == recorded


def test_unreachable_receiver_is_an_error_recorded_as_connection_error(
    make: Callable[..., WebhookDispatcher],
) -> None:
    # Given a URL where nothing listens
    dispatcher = make(url=f"http://127.0.0.1:{free_port()}/callback")
    # When a message's before-callback is delivered
    answer = dispatcher.before(message())
    # Then the message is delivered by default and the attempt recorded
    assert (answer.error_code, answer.outcome) == (0, "error")
    assert [(r["outcome"], r["status"], r["answer"]) for r in dispatcher.deliveries()] == [
        ("connection_error", None, None)
    ]


def test_before_without_a_url_is_not_configured(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a dispatcher with no URL
    dispatcher = make(url=None)
    # When a gift's before-callback fires
    answer = dispatcher.before(gift())
    # Then nothing is sent and the gift goes through, as Tencent calls nobody
    assert (answer.error_code, answer.outcome, answer.delivery_id) == (0, "not_configured", None)
    assert receiver.requests() == []


def test_before_for_an_unlisted_command_is_not_configured(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a callback URL configured without the message before-callback
    dispatcher = make(url=None)
    dispatcher.set_callback(receiver.url, [SET_METADATA])
    # When a message's before-callback fires
    answer = dispatcher.before(message())
    # Then nothing is sent and the message is delivered
    assert (answer.error_code, answer.outcome) == (0, "not_configured")
    assert receiver.requests() == []


def test_before_answer_points_at_its_delivery_record(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a dispatcher
    dispatcher = make()
    # When a before-callback is answered
    answer = dispatcher.before(message())
    # Then its delivery_id is the id of the "before" record
    [record] = dispatcher.deliveries()
    assert (answer.delivery_id, record["kind"], record["answer"]) == (record["id"], "before", OK)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.dictionaries(
        st.sampled_from(["ErrorCode", "ErrorInfo", "MsgBody", "CloudCustomData", "Other"]),
        json_values | st.integers().map(str),
    )
)
def test_any_json_answer_yields_a_consistent_verdict(
    receiver: Receiver, make: Callable[..., WebhookDispatcher], reply: dict[str, Any]
) -> None:
    # Given a receiver answering an arbitrary JSON object
    receiver.answer = lambda received: Reply(body=reply)
    dispatcher = make(url=receiver.url)
    # When a message's before-callback is delivered
    answer = dispatcher.before(message())
    # Then the verdict is either the receiver's or the default, and a rewrite only goes with code 0
    assert answer.outcome in ("answered", "error")
    if answer.outcome == "error":
        assert answer.error_code == 0
    if answer.msg_body is not None or answer.cloud_custom_data is not None:
        assert answer.error_code == 0


# --- faults ------------------------------------------------------------------------------------


def test_duplicate_next_delivers_the_next_n_after_callbacks_twice(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a fault duplicating the next two after-callbacks
    dispatcher = make()
    dispatcher.set_faults(duplicate_next=2)
    # When three callbacks fire
    for seq in range(3):
        dispatcher.after(after(seq=seq))
    assert dispatcher.drain()
    # Then the first two arrive twice in a row, the third once
    assert seqs(receiver.requests(), "room-1") == [0, 0, 1, 1, 2]
    assert [r["duplicate"] for r in dispatcher.deliveries()] == [False, True, False, True, False]


def test_a_duplicate_is_signed_afresh(receiver: Receiver, make: Callable[..., WebhookDispatcher]) -> None:
    # Given a signing dispatcher that duplicates the next callback
    dispatcher = make(token=TOKEN)
    dispatcher.set_faults(duplicate_next=1)
    # When it fires
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then both copies carry the same body and a Sign that verifies
    first, second = receiver.requests()
    assert first.body == second.body
    for request in (first, second):
        verify_webhook_signature(TOKEN, request.query["Sign"], request.query["RequestTime"])


def test_duplicate_share_one_duplicates_every_after_callback(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a fault duplicating every after-callback
    dispatcher = make()
    dispatcher.set_faults(duplicate_share=1.0)
    # When two callbacks fire
    dispatcher.after(after(seq=0))
    dispatcher.after(after(seq=1))
    assert dispatcher.drain()
    # Then each arrives twice
    assert seqs(receiver.requests(), "room-1") == [0, 0, 1, 1]


def test_seeded_duplicate_share_picks_the_same_callbacks(make: Callable[..., WebhookDispatcher]) -> None:
    # Given two dispatchers duplicating half their callbacks with the same seed
    picked: list[list[int]] = []
    for _ in range(2):
        dispatcher = make()
        dispatcher.set_faults(duplicate_share=0.5, seed=7)
        # When the same twenty callbacks fire on each
        for seq in range(20):
            dispatcher.after(after(seq=seq))
        assert dispatcher.drain()
        picked.append([r["body"]["Seq"] for r in dispatcher.deliveries() if r["duplicate"]])
    # Then the same callbacks are duplicated, some but not all
    assert picked[0] == picked[1]
    assert 0 < len(picked[0]) < 20


def test_before_callbacks_are_never_duplicated(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a fault duplicating every callback
    dispatcher = make()
    dispatcher.set_faults(duplicate_share=1.0)
    # When a before-callback is delivered
    dispatcher.before(message())
    # Then it is sent once
    assert len(receiver.requests()) == 1


def test_delay_fault_slows_delivery_without_counting_against_the_timeout(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a delay longer than the timeout (the slowness is Tencent's, not the receiver's)
    dispatcher = make()
    dispatcher.set_faults(delay=TIMEOUT + 0.1)
    # When a before-callback is delivered
    started = time.monotonic()
    answer = dispatcher.before(message())
    # Then it took at least the delay and was still answered
    assert time.monotonic() - started >= TIMEOUT + 0.1
    assert answer.outcome == "answered"


def test_clear_faults_stops_duplicating(receiver: Receiver, make: Callable[..., WebhookDispatcher]) -> None:
    # Given a duplicate fault that has been cleared
    dispatcher = make()
    dispatcher.set_faults(duplicate_share=1.0)
    dispatcher.clear_faults()
    # When a callback fires
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then it arrives once
    assert len(receiver.requests()) == 1


@pytest.mark.parametrize(
    "faults",
    [{"delay": -1.0}, {"duplicate_share": 1.5}, {"duplicate_share": -0.1}, {"duplicate_next": -1}],
    ids=["negative-delay", "share-above-one", "negative-share", "negative-next"],
)
def test_impossible_faults_are_refused(
    make: Callable[..., WebhookDispatcher], faults: dict[str, Any]
) -> None:
    # Given a dispatcher
    dispatcher = make()
    # When impossible faults are set, then they are refused
    with pytest.raises(ValueError, match=r"delay|duplicate"):
        dispatcher.set_faults(**faults)


# --- records -------------------------------------------------------------------------------------


def test_a_record_holds_every_field_and_is_json(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a signing dispatcher
    dispatcher = make(token=TOKEN)
    callback = after(seq=3)
    # When an after-callback is delivered
    dispatcher.after(callback)
    assert dispatcher.drain()
    # Then its record describes the attempt and survives JSON
    [record] = dispatcher.deliveries()
    assert set(record) == RECORD_FIELDS
    assert json.loads(json.dumps(record)) == record
    assert record["command"] == SET_METADATA
    assert (record["order_key"], record["kind"], record["body"]) == ("room-1", "after", callback.body)
    assert (record["status"], record["answer"], record["outcome"]) == (200, OK, "ok")
    assert (record["attempt"], record["duplicate"], record["signed"]) == (1, False, True)
    assert record["latency_ms"] >= 0
    assert abs(record["at"] - time.time()) < 5


def test_a_record_query_leaves_out_the_sign(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a signing dispatcher
    dispatcher = make(token=TOKEN)
    # When a callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then the recorded query has everything sent but the Sign
    [request] = receiver.requests()
    [record] = dispatcher.deliveries()
    assert record["query"] == {name: value for name, value in request.query.items() if name != "Sign"}


def test_a_long_non_json_answer_is_recorded_cut_to_2_kb(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a receiver answering a long page of text
    receiver.answer = lambda received: Reply(body=b"x" * 5000)
    dispatcher = make()
    # When a callback is delivered
    dispatcher.after(after())
    assert dispatcher.drain()
    # Then the record keeps its first 2 KB
    [record] = dispatcher.deliveries()
    assert (record["outcome"], record["answer"]) == ("not_json", "x" * ANSWER_TEXT_LIMIT)


def test_deliveries_is_a_copy(make: Callable[..., WebhookDispatcher]) -> None:
    # Given a recorded delivery
    dispatcher = make()
    dispatcher.after(after())
    assert dispatcher.drain()
    # When a caller changes what it was given
    dispatcher.deliveries()[0]["body"]["RoomId"] = "changed"
    # Then the record is untouched
    assert dispatcher.deliveries()[0]["body"]["RoomId"] == "room-1"


def test_clear_forgets_the_records_but_not_the_ids(make: Callable[..., WebhookDispatcher]) -> None:
    # Given a recorded delivery that has been cleared
    dispatcher = make()
    dispatcher.after(after(seq=0))
    assert dispatcher.drain()
    dispatcher.clear()
    # When another is delivered
    dispatcher.after(after(seq=1))
    assert dispatcher.drain()
    # Then only the new one is there, with a new id
    [record] = dispatcher.deliveries()
    assert (record["body"]["Seq"], record["id"]) == (1, 2)


# --- drain and close -----------------------------------------------------------------------------


def test_drain_waits_until_every_queued_callback_was_attempted(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given callbacks queued for several rooms behind a slightly slow receiver
    receiver.answer = lambda received: Reply(delay=0.01)
    dispatcher = make()
    for seq in range(5):
        for room in ("a", "b", "c"):
            dispatcher.after(after(room=room, seq=seq))
    # When draining
    drained = dispatcher.drain()
    # Then every one of them has been recorded
    assert drained
    assert len(dispatcher.deliveries()) == 15


def test_drain_reports_false_when_deliveries_outlast_it(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a callback held up by a slow receiver
    receiver.answer = lambda received: Reply(delay=0.25)
    dispatcher = make()
    dispatcher.after(after())
    # When draining for less time than that
    drained = dispatcher.drain(timeout=0.05)
    # Then drain says it is not done
    assert not drained
    assert dispatcher.drain()


def test_close_is_idempotent_and_later_callbacks_are_not_sent(
    receiver: Receiver, make: Callable[..., WebhookDispatcher]
) -> None:
    # Given a closed dispatcher
    dispatcher = make()
    dispatcher.close()
    dispatcher.close()
    # When a callback fires
    dispatcher.after(after())
    # Then nothing is sent and nothing is pending
    assert dispatcher.drain(timeout=0.1)
    assert receiver.requests() == []
