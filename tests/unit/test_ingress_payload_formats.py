"""The ingress reads both API Gateway payload formats: 2.0, what the stack's HTTP API sends, and 1.0,
what a REST API in front of it would send. Where 2.0 differs in what the ingress reads (repeated
query names joined with commas, a body absent when empty, a non-text body base64-encoded, header
names in lower case), every event still gets a clear answer, and the same callback gets the same
answer and the same queued envelope in either format."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from liveguard.messages import event_id
from liveguard_local.events import CALLBACK_BODIES, LOCAL_SECRET, proxy_event

from .test_ingress import NOW, RecordingQueue, answer, make

COMMAND = "Live.CallbackAfterSetMetadata"
BODY = json.dumps(CALLBACK_BODIES[COMMAND])


def v2(body: str = BODY, **query: Any) -> dict[str, Any]:
    return proxy_event(COMMAND, body, request_time=NOW, query=query)


def v1(body: str = BODY, **query: Any) -> dict[str, Any]:
    return proxy_event(COMMAND, body, request_time=NOW, query=query, version="1.0")


@pytest.mark.parametrize("build", [v1, v2], ids=["1.0", "2.0"])
def test_the_same_callback_is_accepted_and_queued_alike_in_both_payload_formats(build) -> None:
    # Given the same signed callback in payload format 1.0 or 2.0
    queue = RecordingQueue()
    # When the ingress handles it
    status, reply = answer(make(queue).handle(build()))
    # Then it is accepted and queued under the event id of its body, whatever the format
    assert (status, reply["ErrorCode"]) == (200, 0)
    (sent,) = queue.sent
    assert sent["dedup"] == event_id(LOCAL_SECRET["SdkAppId"], COMMAND, BODY.encode())
    assert sent["body"]["command"] == COMMAND


def test_a_v2_body_base64_encoded_for_a_non_text_content_type_is_decoded() -> None:
    # Given an HTTP API event whose body API Gateway base64-encoded (the sender's content type was
    # not text), with its headers in lower case as 2.0 has them
    queue = RecordingQueue()
    event = v2()
    event["headers"]["content-type"] = "application/octet-stream"
    event["body"] = base64.b64encode(BODY.encode()).decode()
    event["isBase64Encoded"] = True
    # When the ingress handles it
    status, _ = answer(make(queue).handle(event))
    # Then the decoded bytes are the callback: accepted, with the same event id as the text body
    assert status == 200
    assert queue.sent[0]["dedup"] == event_id(LOCAL_SECRET["SdkAppId"], COMMAND, BODY.encode())


def test_a_v2_body_flagged_base64_that_is_not_is_refused_as_not_json() -> None:
    queue = RecordingQueue()
    event = v2()
    event["isBase64Encoded"] = True
    event["body"] = "{not base64"
    assert answer(make(queue).handle(event)) == (
        400,
        {"ActionStatus": "FAIL", "ErrorCode": 40002, "ErrorInfo": "body: not valid base64"},
    )
    assert queue.sent == []


def test_a_v2_event_without_a_body_is_refused_as_not_json_and_nothing_is_queued() -> None:
    # Given an HTTP API event for a POST with no body (2.0 leaves the key out)
    queue = RecordingQueue()
    event = v2()
    del event["body"]
    # When the ingress handles it
    status, reply = answer(make(queue).handle(event))
    # Then it is a clear 400, not a crash
    assert (status, reply["ErrorCode"], reply["ActionStatus"]) == (400, 40002, "FAIL")
    assert queue.sent == []


def test_a_repeated_sign_joined_with_a_comma_in_v2_fails_the_signature_check() -> None:
    # Given a callback whose Sign is sent twice, the good one last: 2.0 joins both with a comma
    queue = RecordingQueue()
    good = v2()["queryStringParameters"]["Sign"]
    event = v2()
    event["queryStringParameters"]["Sign"] = f"{'0' * 64},{good}"
    event["rawQueryString"] += f"&Sign={good}"
    # When the ingress handles it
    status, reply = answer(make(queue).handle(event))
    # Then the signature check refuses it: no value of a repeated Sign is picked and trusted
    assert (status, reply["ErrorCode"]) == (401, 40105)
    assert queue.sent == []


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("CallbackCommand", f"{COMMAND},{COMMAND}", (400, 40001)),  # not a command name
        ("SdkAppid", "1400000001,1400000001", (401, 40101)),  # not the app's id
        ("RequestTime", f"{NOW},{NOW}", (401, 40103)),  # not a time
    ],
)
def test_any_repeated_query_name_joined_with_a_comma_in_v2_is_refused(name, value, expected) -> None:
    queue = RecordingQueue()
    event = v2()
    event["queryStringParameters"][name] = value
    status, reply = answer(make(queue).handle(event))
    assert (status, reply["ErrorCode"]) == expected
    assert queue.sent == []


def test_a_v2_event_without_a_query_string_is_refused_as_unsigned() -> None:
    # Given an HTTP API event with no query string at all (2.0 leaves queryStringParameters out)
    queue = RecordingQueue()
    event = v2()
    del event["queryStringParameters"]
    event["rawQueryString"] = ""
    # When the ingress handles it, then it is refused (no SdkAppid) and nothing is queued
    status, reply = answer(make(queue).handle(event))
    assert (status, reply["ActionStatus"]) == (401, "FAIL")
    assert queue.sent == []


@pytest.mark.parametrize(
    "mangle",
    [
        lambda e: e.update(headers=None),
        lambda e: e.update(headers={"CONTENT-TYPE": "text/plain", "x-dup": "a,b"}),
        lambda e: e.update(cookies=["a=1", "b=2"]),
        lambda e: e.update(requestContext="not an object"),
        lambda e: e.update(version="3.0"),
        lambda e: e.pop("rawQueryString"),
    ],
    ids=[
        "no headers",
        "odd headers",
        "cookies",
        "bad requestContext",
        "unknown version",
        "no rawQueryString",
    ],
)
def test_what_the_ingress_does_not_read_in_a_v2_event_changes_nothing(mangle) -> None:
    # Given a good HTTP API event with a part the ingress does not read changed
    queue = RecordingQueue()
    event = v2()
    mangle(event)
    # When the ingress handles it, then it is accepted as the untouched event is
    assert answer(make(queue).handle(event))[0] == 200
    assert len(queue.sent) == 1
