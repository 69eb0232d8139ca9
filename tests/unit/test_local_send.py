"""`liveguard local send`'s pieces: what it reads as the callback, and the query it signs (checked by
the ingress's own verifier). The command against a running stack: tests/e2e/test_local_send.py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from liveguard.settings import TencentSecret
from liveguard.tencent.webhook_signature import verify_webhook_signature
from liveguard_ops.send import read_callback, signed_query
from liveguard_ops.stack import OpsError

ROOT = Path(__file__).resolve().parents[2]
SECRET = TencentSecret.model_validate(
    {
        "SdkAppId": 1400000001,
        "SecretKey": "k",
        "AdminIdentifier": "administrator",
        "CallbackToken": "live-token",
        "ChatCallbackToken": "chat-token",
        "ApiBaseUrl": "http://127.0.0.1:9000",
    }
)
NOW = 1_800_000_000


@pytest.mark.parametrize(
    ("command", "token"),
    [("Live.CallbackBeforeSendGift", "live-token"), ("Group.CallbackBeforeSendMsg", "chat-token")],
)
def test_the_query_is_signed_with_the_token_of_the_commands_side(command: str, token: str):
    # When a callback's query is made
    query = signed_query(command, SECRET, {}, now=NOW)
    # Then it carries Tencent's parameters, and the ingress's verifier takes its Sign for that side's token
    assert {key: query[key] for key in ("SdkAppid", "CallbackCommand", "contenttype", "RequestTime")} == {
        "SdkAppid": "1400000001",
        "CallbackCommand": command,
        "contenttype": "json",
        "RequestTime": str(NOW),
    }
    assert {"ClientIP", "OptPlatform"} <= set(query)
    assert verify_webhook_signature(token, query["Sign"], query["RequestTime"], now=NOW) == NOW


def test_an_events_file_gives_its_body_and_its_client_ip_and_platform():
    # Given an API Gateway event from events/ (a body in a string, a query of its own)
    path = ROOT / "events/callbacks/Group.CallbackBeforeSendMsg.json"
    event = json.loads(path.read_text(encoding="utf-8"))
    # When it is read
    callback = read_callback("Group.CallbackBeforeSendMsg", str(path))
    # Then the body sent is the event's body, byte for byte, with its ClientIP and OptPlatform
    assert callback.raw == event["body"].encode("utf-8")
    assert callback.query == {"ClientIP": "203.0.113.7", "OptPlatform": "Android"}


def test_a_bare_body_is_sent_as_written():
    text = '{"CallbackCommand": "Live.CallbackAfterCreateRoom",  "RoomInfo": {"RoomId": "r"}}'
    callback = read_callback("Live.CallbackAfterCreateRoom", "-", io.StringIO(text))
    assert callback.raw == text.encode("utf-8")
    assert callback.query == {}


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("[1, 2]", "stdin: not a JSON object (a Tencent callback body, or an API Gateway event)"),
        (
            "{nope",
            "stdin: not JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)",
        ),
        (
            "{}",
            "stdin: the body has no CallbackCommand (Tencent's do: add"
            ' "CallbackCommand": "Group.CallbackBeforeSendMsg")',
        ),
        (
            '{"CallbackCommand": "Group.CallbackAfterSendMsg"}',
            "stdin: the body's CallbackCommand is 'Group.CallbackAfterSendMsg',"
            " not 'Group.CallbackBeforeSendMsg'",
        ),
        ('{"version": "2.0", "requestContext": {}}', "stdin: an API Gateway event without a body"),
    ],
)
def test_a_body_that_is_not_the_commands_callback_is_refused_in_one_line(text: str, said: str):
    with pytest.raises(OpsError) as refused:
        read_callback("Group.CallbackBeforeSendMsg", "-", io.StringIO(text))
    assert str(refused.value) == said
