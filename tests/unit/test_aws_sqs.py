"""The boto3-free SQS path: SigV4 as botocore computes it, and message groups SQS accepts."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from liveguard.aws.protocol import AwsCredentials, endpoint_from_environment
from liveguard.aws.sigv4 import sign_headers
from liveguard.aws.sqs import SqsClient, SqsSendError
from liveguard.messages import APP_GROUP, message_group

MOMENT = datetime(2026, 11, 21, 23, 59, 58, tzinfo=UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # AWS's documented example key


@pytest.mark.parametrize("token", [None, "session-token-value"])
@pytest.mark.parametrize(
    ("host", "path"),
    [("sqs.us-east-1.amazonaws.com", "/"), ("127.0.0.1:5000", "/"), ("localhost:4566", "/q/")],
)
def test_the_signature_is_the_one_botocore_computes(monkeypatch, token, host, path):
    # Given a SendMessage body and a fixed moment
    body = json.dumps(
        {"QueueUrl": "https://sqs/x.fifo", "MessageBody": '{"v": 1}', "MessageGroupId": "r 1"}
    ).encode()
    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "AmazonSQS.SendMessage"}
    # When we sign it, and botocore signs the same request at the same moment
    ours = sign_headers(
        method="POST", host=host, path=path, headers=headers, body=body, region="us-east-1", service="sqs",
        access_key="AKIDEXAMPLE", secret_key=SECRET, session_token=token, now=MOMENT,
    )  # fmt: skip
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: MOMENT.replace(tzinfo=None))
    request = AWSRequest(method="POST", url=f"http://{host}{path}", data=body, headers=dict(headers))
    SigV4Auth(Credentials("AKIDEXAMPLE", SECRET, token), "sqs", "us-east-1").add_auth(request)
    # Then the signatures agree
    assert ours["Authorization"] == request.headers["Authorization"]
    assert ours["X-Amz-Date"] == request.headers["X-Amz-Date"]


@pytest.mark.parametrize(
    ("room", "group"),
    [(None, APP_GROUP), ("live-room-1", "live-room-1"), ("@TGS#2J4SZEAEL", "@TGS#2J4SZEAEL")],
)
def test_room_ids_sqs_accepts_are_their_own_group(room, group):
    assert message_group(room) == group


@given(st.text(min_size=1, max_size=48))
def test_every_room_id_maps_to_a_stable_group_sqs_accepts(room):
    group = message_group(room)
    assert group == message_group(room)
    assert 1 <= len(group) <= 128
    assert all("!" <= char <= "~" for char in group)


def test_distinct_awkward_room_ids_get_distinct_groups():
    assert message_group("房间 1") != message_group("房间 2")


def test_the_endpoint_follows_the_environment_as_boto3_does():
    assert endpoint_from_environment("sqs", "eu-west-1", {}) == "https://sqs.eu-west-1.amazonaws.com/"
    assert (
        endpoint_from_environment("sqs", "x", {"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"})
        == "http://127.0.0.1:5000/"
    )
    env = {"AWS_ENDPOINT_URL": "http://a:1", "AWS_ENDPOINT_URL_SQS": "http://b:2"}
    assert endpoint_from_environment("sqs", "x", env) == "http://b:2/"


def test_credentials_never_show_in_their_repr():
    credentials = AwsCredentials("AKIDEXAMPLE", "very-secret", "token")
    assert "very-secret" not in repr(credentials)
    assert "token" not in repr(credentials)


def test_an_unreachable_endpoint_is_a_retryable_error():
    client = SqsClient(
        region="us-east-1", credentials=AwsCredentials("a", "b"), endpoint="http://127.0.0.1:9/"
    )
    with pytest.raises(SqsSendError) as raised:
        client.send_message(
            "http://127.0.0.1:9/q.fifo", "{}", group_id="g", deduplication_id="d", timeout=0.5
        )
    assert raised.value.retryable
