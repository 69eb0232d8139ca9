"""The ingress handler against input any viewer, or anyone who can reach the URL, can send.

The handler is functions/ingress/app.py as Lambda runs it (Powertools logging and metrics, the secret
read from Secrets Manager, moto in-process), with its events queue replaced by one that judges each
SendMessage as SQS documents it (characters, size, FIFO ids) instead of moto, which takes anything.
Every answer must be a 2xx or a 4xx; nothing is queued on a 4xx; exactly one message on a 2xx; and the
moderator reads every queued message back without error.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from liveguard.messages import EventEnvelope
from liveguard.moderator import read_event
from liveguard.webhooks.models import BEFORE_COMMANDS, KNOWN_COMMANDS
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event
from tests.aws import FAKE_CREDENTIALS
from tests.functions import lambda_context, load_function

from .conftest import ActingOnEveryCallback

ROOT = Path(__file__).resolve().parents[2]
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/liveguard-events-test.fifo"

# SQS's documented rules for SendMessage on a FIFO queue.
SQS_BODY = re.compile("[\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]+")
SQS_ID = re.compile(r"[!-~]{1,128}")
SQS_MAX_BYTES = 256 * 1024


class InvalidMessageContentsError(Exception):
    retryable = False


@dataclass
class SqsRulesQueue:
    """The events queue as SQS judges a SendMessage; keeps the bodies it accepts."""

    sent: list[str] = field(default_factory=list)

    def send_message(
        self, queue_url: str, body: str, *, group_id: str | None, deduplication_id: str | None, timeout: float
    ) -> object:
        if not SQS_BODY.fullmatch(body) or len(body.encode("utf-8")) > SQS_MAX_BYTES:
            raise InvalidMessageContentsError("Invalid characters found")
        assert SQS_ID.fullmatch(group_id or ""), group_id
        assert SQS_ID.fullmatch(deduplication_id or "")
        self.sent.append(body)
        return object()


@pytest.fixture(scope="module")
def ingress_app() -> Iterator[ModuleType]:
    """functions/ingress/app.py imported as Lambda would, the secret in moto's Secrets Manager."""
    with pytest.MonkeyPatch.context() as patch, mock_aws():
        for key, value in FAKE_CREDENTIALS.items():
            patch.setenv(key, value)
        arn = boto3.client("secretsmanager").create_secret(
            Name="liveguard/test/tencent", SecretString=json.dumps(LOCAL_SECRET)
        )["ARN"]
        patch.setenv("EVENTS_QUEUE_URL", QUEUE_URL)
        patch.setenv("TENCENT_SECRET_ARN", arn)
        patch.setenv("POWERTOOLS_METRICS_NAMESPACE", "LiveGuardTest")
        patch.delenv("STATE_TABLE_NAME", raising=False)
        from aws_lambda_powertools.utilities.parameters import base

        base.DEFAULT_PROVIDERS.clear()
        app = load_function("ingress", module_name="ingress_hostile_app")
        # The default rules decide; every callback is queued, since what is queued is what this
        # file is about (which callbacks the rules act on is tests/unit/test_ingress_filter.py's).
        app.ingress.rules = ActingOnEveryCallback(app.rules)
        yield app
        sys.modules.pop("ingress_hostile_app", None)


def deliver(app: ModuleType, event: object) -> tuple[int, dict[str, Any], list[str]]:
    """One delivery through the handler: (status, Tencent reply, bodies queued)."""
    queue = SqsRulesQueue()
    app.ingress.queue = queue
    response = app.lambda_handler(event, lambda_context("IngressFunction"))
    return response["statusCode"], json.loads(response["body"]), queue.sent


def assert_answered_properly(app: ModuleType, event: object) -> tuple[int, dict[str, Any], list[str]]:
    """The properties every request must have, whatever it holds."""
    status, reply, sent = deliver(app, event)
    assert 200 <= status < 500, (status, reply)
    if status >= 400:
        assert sent == []
        assert reply["ActionStatus"] == "FAIL"
        assert reply["ErrorCode"] != 0
    else:
        assert len(sent) == 1
        envelope, callback = read_event(sent[0])
        assert envelope.command == callback.callback_command
    return status, reply, sent


def signed(command: str, body: str, **query: Any) -> dict[str, Any]:
    return proxy_event(command, body, request_time=int(time.time()), query=query)


def example(command: str) -> dict[str, Any]:
    return json.loads(json.dumps(CALLBACK_BODIES[command]))


# --- the families the issue names, one behaviour each ------------------------------------------------


@pytest.mark.parametrize("character", ["\uffff", "\ufffe", "\x00", "\x01", "\x1f", "\x0b"])
def test_a_comment_with_a_character_sqs_refuses_is_queued_with_its_text(ingress_app, character) -> None:
    # Given a comment holding a character SQS refuses in a message body, sent raw (as UTF-8)
    body = example("Group.CallbackAfterSendMsg")
    text = f"hello{character}world"
    body["MsgBody"] = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": text}}]
    event = signed("Group.CallbackAfterSendMsg", json.dumps(body, ensure_ascii=False))

    # When it is delivered
    status, _, sent = assert_answered_properly(ingress_app, event)

    # Then it is accepted, and the moderator reads the viewer's text exactly
    assert status == 200
    _, callback = read_event(sent[0])
    assert callback.texts() == [text]


def test_a_banned_comment_hiding_behind_u_ffff_is_still_masked(ingress_app) -> None:
    # Given a before-send comment with a banned term and U+FFFF (which once cost a 503, so Tencent
    # delivered the comment unmasked)
    body = example("Group.CallbackBeforeSendMsg")
    body["MsgBody"] = [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "buy followers\uffff now"}}]
    event = signed("Group.CallbackBeforeSendMsg", json.dumps(body, ensure_ascii=False))

    # When it is delivered
    status, reply, sent = assert_answered_properly(ingress_app, event)

    # Then Tencent gets a 200 whose verdict does not deliver the comment as sent
    assert status == 200
    envelope = EventEnvelope.model_validate_json(sent[0])
    assert envelope.decision is not None
    assert envelope.decision.action != "deliver"
    assert reply.get("MsgBody") != body["MsgBody"]


@pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\udbff\\u0041", "\\ud83d"])
def test_a_lone_surrogate_escape_in_a_comment_is_read_as_a_replacement_character(ingress_app, escape) -> None:
    # Given a comment whose JSON holds a lone surrogate escape, as any viewer can type
    raw = json.dumps(example("Group.CallbackAfterSendMsg")).replace("red packet", f"red{escape}packet")
    assert escape in raw

    # When it is delivered
    status, _, sent = assert_answered_properly(ingress_app, signed("Group.CallbackAfterSendMsg", raw))

    # Then it is accepted with U+FFFD where the surrogate was
    assert status == 200
    _, callback = read_event(sent[0])
    assert "\ufffd" in callback.texts()[0]


def test_a_lone_surrogate_in_a_key_or_the_query_is_accepted(ingress_app) -> None:
    raw = json.dumps(example("Live.CallbackAfterCreateRoom"))[:-1] + ', "Odd\\udc00Key": "v\\ud800"}'
    event = signed("Live.CallbackAfterCreateRoom", raw, ClientIP="203.0.113.7\ud800", OptPlatform="\udfffWeb")

    status, _, sent = assert_answered_properly(ingress_app, event)

    assert status == 200
    envelope = EventEnvelope.model_validate_json(sent[0])
    assert envelope.query.client_ip == "203.0.113.7\ufffd"
    assert "Odd\ufffdKey" in envelope.event


@pytest.mark.parametrize("depth", [33, 200, 1_000, 5_000, 30_000])
def test_a_deeply_nested_body_is_refused_as_a_bad_request(ingress_app, depth) -> None:
    # Given a room-created body with an extra field nested deeper than any Tencent body
    head = json.dumps(example("Live.CallbackAfterCreateRoom"))[:-1]
    raw = head + ', "Extra": ' + "[" * depth + "]" * depth + "}"

    # When it is delivered
    status, reply, _ = assert_answered_properly(ingress_app, signed("Live.CallbackAfterCreateRoom", raw))

    # Then it is refused as unreadable, naming why
    assert (status, reply["ErrorCode"]) == (400, 40002)
    assert "nested" in reply["ErrorInfo"]


def test_nesting_within_the_limit_is_accepted(ingress_app) -> None:
    head = json.dumps(example("Live.CallbackAfterCreateRoom"))[:-1]
    raw = head + ', "Extra": ' + '{"a": ' * 30 + "1" + "}" * 30 + "}"

    status, _, _ = assert_answered_properly(ingress_app, signed("Live.CallbackAfterCreateRoom", raw))

    assert status == 200


@pytest.mark.parametrize(
    "command", ["Live.CallbackAfterCreateRoom;rm", "Live.\ud800", "Группа.Callback", "x" * 400]
)
def test_a_query_command_that_is_no_command_name_is_refused(ingress_app, command) -> None:
    event = signed(command, json.dumps({"RoomId": "r1"}))

    status, reply, _ = assert_answered_properly(ingress_app, event)

    assert (status, reply["ErrorCode"]) == (400, 40001)


@pytest.mark.parametrize(
    "event",
    [
        None,
        [],
        "text",
        42,
        {"body": 5},
        {"queryStringParameters": "SdkAppid=1"},
        {"queryStringParameters": [1]},
    ],
)
def test_a_malformed_proxy_event_is_refused_not_raised(ingress_app, event) -> None:
    status, _, _ = assert_answered_properly(ingress_app, event)

    assert 400 <= status < 500


# --- the property test over every family ---------------------------------------------------------

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20),
)  # fmt: skip
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
hostile_text = st.text(
    alphabet=st.one_of(
        st.characters(codec="utf-8"),
        st.sampled_from(
            ["\uffff", "\ufffe", "\x00", "\x1f", "\u200b", "\u202e", "\ud7ff", "\ue000", "\ud800", "\udfff"]
        ),
    ),
    max_size=40,
)
COMMANDS = sorted(KNOWN_COMMANDS)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated_callbacks(draw: st.DrawFn) -> tuple[str, str]:
    """A documented example with one field replaced (wrong type, hostile text, huge number) or deleted."""
    command = draw(st.sampled_from(COMMANDS))
    body = example(command)
    path = draw(st.sampled_from(_paths(body)))
    parent = body
    for part in path[:-1]:
        parent = parent[part]
    replacement = draw(
        st.one_of(json_values, hostile_text, st.just("DELETE"), st.sampled_from([2**64, -(2**63) - 1]))
    )
    if replacement == "DELETE" and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return command, json.dumps(body, ensure_ascii=draw(st.booleans()))


@st.composite
def text_level_tricks(draw: st.DrawFn) -> tuple[str, str]:
    """What json.dumps never writes: lone surrogate escapes, duplicate keys, NaN and Infinity,
    numbers past 64 bits or past Python's digit limit, deep nesting, raw control characters."""
    command = draw(st.sampled_from(COMMANDS))
    raw = json.dumps(example(command))
    trick = draw(
        st.sampled_from(["surrogate", "duplicate", "nan", "bignum", "nesting", "control", "truncate"])
    )
    if trick == "surrogate":
        escape = draw(st.sampled_from(["\\ud800", "\\udfff", "\\udbff\\udbff", "\\ud83d\\u0041"]))
        at = draw(st.sampled_from([m.end() - 1 for m in re.finditer(r'"[^"]+"', raw)]))
        raw = raw[:at] + escape + raw[at:]
    elif trick == "duplicate":
        key = draw(st.sampled_from(list(example(command))))
        raw = raw[:-1] + f", {json.dumps(key)}: {json.dumps(draw(json_values))}" + "}"
    elif trick == "nan":
        raw = raw[:-1] + f', "EventTime": {draw(st.sampled_from(["NaN", "Infinity", "-Infinity"]))}' + "}"
    elif trick == "bignum":
        digits = draw(st.sampled_from([20, 40, 400, 5000]))
        raw = raw[:-1] + f', "{draw(st.sampled_from(["EventTime", "Random", "X"]))}": {"9" * digits}' + "}"
    elif trick == "nesting":
        depth = draw(st.integers(min_value=1, max_value=20_000))
        raw = raw[:-1] + ', "Deep": ' + "[" * depth + "]" * depth + "}"
    elif trick == "control":
        raw = raw.replace('"', '"' + draw(st.sampled_from(["\x00", "\x07", "\x1f"])), 1)
    else:
        raw = raw[: draw(st.integers(min_value=0, max_value=len(raw)))]
    return command, raw


odd_queries = st.one_of(
    st.none(),
    st.dictionaries(hostile_text, st.one_of(st.none(), hostile_text), max_size=5),
    st.fixed_dictionaries({"CallbackCommand": hostile_text}),
)


@settings(
    max_examples=700,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=mutated_callbacks())
def test_any_field_replaced_is_answered_properly(ingress_app, case: tuple[str, str]) -> None:
    command, raw = case
    assert_answered_properly(ingress_app, signed(command, raw))


@settings(
    max_examples=700,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=text_level_tricks(), body_command=st.booleans())
def test_any_text_level_trick_is_answered_properly(
    ingress_app, case: tuple[str, str], body_command: bool
) -> None:
    command, raw = case
    status, _, sent = assert_answered_properly(ingress_app, signed(command, raw))
    if status == 200 and command not in BEFORE_COMMANDS:
        assert len(sent) == 1


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(command=st.one_of(st.sampled_from(COMMANDS), hostile_text), document=json_values)
def test_any_json_document_under_any_command_is_answered_properly(
    ingress_app, command: str, document: Any
) -> None:
    assert_answered_properly(ingress_app, signed(command, json.dumps(document)))


@settings(
    max_examples=500,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    command=st.sampled_from(COMMANDS),
    query=odd_queries,
    headers=st.one_of(st.none(), st.dictionaries(hostile_text, hostile_text, max_size=3)),
    as_base64=st.sampled_from([None, "valid", "broken"]),
)
def test_odd_queries_headers_and_base64_bodies_are_answered_properly(
    ingress_app, command: str, query: Any, headers: Any, as_base64: str | None
) -> None:
    event = signed(command, json.dumps(example(command)))
    if query is None:
        event["queryStringParameters"] = None
    else:
        event["queryStringParameters"] = {**event["queryStringParameters"], **query}
    event["headers"] = headers
    if as_base64 == "valid":
        event["body"] = base64.b64encode(event["body"].encode()).decode()
        event["isBase64Encoded"] = True
    elif as_base64 == "broken":
        event["body"] = "not base64!"
        event["isBase64Encoded"] = True
    assert_answered_properly(ingress_app, event)


def test_a_base64_body_is_read_like_a_plain_one(ingress_app) -> None:
    event = signed("Live.CallbackAfterCreateRoom", json.dumps(example("Live.CallbackAfterCreateRoom")))
    event["body"] = base64.b64encode(event["body"].encode()).decode()
    event["isBase64Encoded"] = True

    status, _, sent = assert_answered_properly(ingress_app, event)

    assert status == 200
    assert read_event(sent[0])[0].command == "Live.CallbackAfterCreateRoom"
