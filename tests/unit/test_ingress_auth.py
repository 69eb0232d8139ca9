"""The ingress's authentication: which token checks a callback (Tencent's Live side and Chat side each
sign with their own), what happens when the secret has none, and a secret that cannot be used."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from liveguard.ingress import Ingress
from liveguard.settings import SecretUnusable, TencentSecret
from liveguard.tencent.webhook_signature import webhook_sign
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event

from .conftest import ActingOnEveryCallback
from .test_ingress import NOW, RecordingQueue, answer

LIVE_TOKEN = "live-side-token-4f1c"
CHAT_TOKEN = "chat-side-token-9a2e"
LIVE_COMMAND = "Live.CallbackAfterSetMetadata"
SEAT_COMMAND = "Mic.CallbackAfterSeatInfoChanged"
CHAT_COMMANDS = [
    "Group.CallbackBeforeSendMsg",
    "ContentCallback.ResultNotify",
    "Follow.CallbackAfterFollowAdd",
]


def secret(**keys: Any) -> TencentSecret:
    body = {key: value for key, value in {**LOCAL_SECRET, **keys}.items() if value is not None}
    return TencentSecret.model_validate(body)


def ingress(the_secret: TencentSecret, queue: RecordingQueue, **options: Any) -> Ingress:
    """An ingress whose rules act on every callback: an authentic one is queued."""
    options.setdefault("rules", ActingOnEveryCallback())
    return Ingress(queue=queue, queue_url="q", secret=lambda: the_secret, clock=lambda: NOW, **options)


def signed(command: str, token: str | None, body: Any = None) -> dict[str, Any]:
    """A delivery of ``command`` signed with ``token`` (None: unsigned, as with authentication off)."""
    raw = json.dumps(CALLBACK_BODIES.get(command, {}) if body is None else body)
    query = {"Sign": None, "RequestTime": None}
    if token is not None:
        query = {"RequestTime": str(NOW), "Sign": webhook_sign(token, NOW)}
    return proxy_event(command, raw, secret={**LOCAL_SECRET, "CallbackToken": None}, query=query)


# --- two sides, two tokens ----------------------------------------------------------------------


@pytest.mark.parametrize("command", CHAT_COMMANDS)
def test_a_chat_side_callback_signed_with_the_chat_token_is_accepted(command):
    # Given a secret with both sides' tokens
    queue = RecordingQueue()
    front = ingress(secret(CallbackToken=LIVE_TOKEN, ChatCallbackToken=CHAT_TOKEN), queue)
    # When the Chat side delivers a callback signed with its token
    status, _ = answer(front.handle(signed(command, CHAT_TOKEN)))
    # Then it is accepted and queued
    assert status == 200
    assert [sent["body"]["command"] for sent in queue.sent] == [command]


@pytest.mark.parametrize("command", [LIVE_COMMAND, SEAT_COMMAND])
def test_a_live_side_callback_signed_with_the_chat_token_is_refused(command):
    queue = RecordingQueue()
    front = ingress(secret(CallbackToken=LIVE_TOKEN, ChatCallbackToken=CHAT_TOKEN), queue)
    status, reply = answer(front.handle(signed(command, CHAT_TOKEN)))
    assert (status, reply["ErrorCode"]) == (401, 40105)
    assert queue.sent == []


@pytest.mark.parametrize("command", [LIVE_COMMAND, SEAT_COMMAND])
def test_a_live_side_callback_signed_with_the_live_token_is_accepted(command):
    queue = RecordingQueue()
    front = ingress(secret(CallbackToken=LIVE_TOKEN, ChatCallbackToken=CHAT_TOKEN), queue)
    assert answer(front.handle(signed(command, LIVE_TOKEN)))[0] == 200
    assert len(queue.sent) == 1


@pytest.mark.parametrize("command", CHAT_COMMANDS)
def test_a_chat_side_callback_signed_with_the_live_token_is_refused_when_the_tokens_differ(command):
    queue = RecordingQueue()
    front = ingress(secret(CallbackToken=LIVE_TOKEN, ChatCallbackToken=CHAT_TOKEN), queue)
    status, reply = answer(front.handle(signed(command, LIVE_TOKEN)))
    assert (status, reply["ErrorCode"]) == (401, 40105)
    assert queue.sent == []


@pytest.mark.parametrize("command", CHAT_COMMANDS)
def test_without_a_chat_token_a_chat_side_callback_is_checked_with_the_callback_token(command):
    # Given an operator who set the same token in both consoles (only CallbackToken in the secret)
    queue = RecordingQueue()
    front = ingress(secret(CallbackToken=LIVE_TOKEN), queue)
    # When the Chat side signs with it, it is accepted; signed with anything else, refused
    assert answer(front.handle(signed(command, LIVE_TOKEN)))[0] == 200
    assert answer(front.handle(signed(command, CHAT_TOKEN)))[0] == 401
    assert len(queue.sent) == 1


def test_an_unknown_namespace_is_the_chat_sides():
    queue = RecordingQueue()
    front = ingress(secret(CallbackToken=LIVE_TOKEN, ChatCallbackToken=CHAT_TOKEN), queue)
    assert answer(front.handle(signed("Brand.NewCallback", CHAT_TOKEN, body={"EventTime": 1})))[0] == 200
    assert answer(front.handle(signed("Brand.NewCallback", LIVE_TOKEN, body={"EventTime": 2})))[0] == 401


# --- no token is not "no authentication" --------------------------------------------------------


@pytest.mark.parametrize("command", [LIVE_COMMAND, "Group.CallbackAfterSendMsg"])
def test_without_a_token_callbacks_are_refused_as_not_configured(command, caplog):
    # Given a secret without any webhook token, and unsigned callbacks not allowed (the default)
    queue = RecordingQueue()
    front = ingress(secret(CallbackToken=None), queue)
    # When a callback arrives, signed or not
    with caplog.at_level(logging.ERROR, logger="liveguard.ingress"):
        unsigned = answer(front.handle(signed(command, None)))
        forged = answer(front.handle(signed(command, "anything")))
    # Then both are refused 503 50302 (Tencent keeps its default), nothing is queued, and the log says why
    assert [(status, reply["ErrorCode"]) for status, reply in (unsigned, forged)] == [(503, 50302)] * 2
    assert queue.sent == []
    assert "no webhook token" in caplog.text


def test_only_the_side_without_a_token_is_refused():
    # Given a secret with only the Chat side's token
    queue = RecordingQueue()
    front = ingress(secret(CallbackToken=None, ChatCallbackToken=CHAT_TOKEN), queue)
    # Then the Live side is not configured, and the Chat side is checked with its token
    assert answer(front.handle(signed(LIVE_COMMAND, None)))[1]["ErrorCode"] == 50302
    assert answer(front.handle(signed("Group.CallbackAfterSendMsg", CHAT_TOKEN)))[0] == 200
    assert answer(front.handle(signed("Group.CallbackAfterSendMsg", None)))[1]["ErrorCode"] == 40102


def test_allowing_unsigned_callbacks_accepts_them_and_says_so(caplog):
    # Given an operator who explicitly allows unsigned callbacks, for a console test
    queue = RecordingQueue()
    with caplog.at_level(logging.WARNING, logger="liveguard.ingress"):
        front = ingress(secret(CallbackToken=None), queue, allow_unsigned=True)
        started = caplog.text
        # When an unsigned callback arrives
        status, _ = answer(front.handle(signed(LIVE_COMMAND, None)))
    # Then it is accepted and queued, and the logs warned at start and for the callback
    assert status == 200
    assert len(queue.sent) == 1
    assert "ALLOW_UNSIGNED_CALLBACKS is on" in started
    assert "accepted unsigned" in caplog.text


def test_allowing_unsigned_callbacks_does_not_switch_off_a_token_that_is_set():
    queue = RecordingQueue()
    front = ingress(secret(CallbackToken=LIVE_TOKEN), queue, allow_unsigned=True)
    assert answer(front.handle(signed(LIVE_COMMAND, None)))[1]["ErrorCode"] == 40102
    assert answer(front.handle(signed(LIVE_COMMAND, CHAT_TOKEN)))[1]["ErrorCode"] == 40105
    assert queue.sent == []


# --- a secret that cannot be used ---------------------------------------------------------------


@pytest.mark.parametrize("retryable", [True, False])
def test_an_unusable_secret_is_a_503_with_its_reason_logged(retryable, caplog):
    def unusable() -> TencentSecret:
        raise SecretUnusable("the Tencent secret could not be read: ThrottlingException", retryable=retryable)

    queue = RecordingQueue()
    front = Ingress(queue=queue, queue_url="q", secret=unusable, clock=lambda: NOW)
    with caplog.at_level(logging.ERROR, logger="liveguard.ingress"):
        status, reply = answer(front.handle(signed(LIVE_COMMAND, LIVE_TOKEN)))
    assert (status, reply["ErrorCode"]) == (503, 50302)
    assert queue.sent == []
    [record] = [r for r in caplog.records if r.getMessage() == "tencent secret unusable"]
    assert record.reason == "the Tencent secret could not be read: ThrottlingException"  # type: ignore[attr-defined]
