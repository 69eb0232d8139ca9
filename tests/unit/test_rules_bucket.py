"""The functions' boto3-free reader of the rules bucket: its GET is signed as botocore signs S3's,
and S3's answers become a bundle, None (304), NothingPublished or BundleUnreadable."""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

import liveguard.aws.rules_bucket as rules_bucket
from liveguard.aws.protocol import AwsCredentials
from liveguard.aws.rules_bucket import RulesBucketReader
from liveguard.rules.bundle import BundleUnreadable, NothingPublished

MOMENT = datetime(2026, 11, 21, 23, 59, 58, tzinfo=UTC)
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # AWS's documented example key


class Answer:
    def __init__(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.status = status
        self._body = body
        self._headers = {"Content-Length": str(len(body)), **(headers or {})}

    def getheader(self, name: str) -> str | None:
        return self._headers.get(name)

    def getheaders(self) -> list[tuple[str, str]]:
        return list(self._headers.items())

    def read(self, limit: int = -1) -> bytes:
        return self._body


class Recorded:
    """Stands in for http.client's connection: records the request, gives the answer it is told."""

    answer: ClassVar[Answer] = Answer(304)
    requests: ClassVar[list[tuple[str, str, str, dict[str, str]]]] = []

    def __init__(self, host: str, timeout: float) -> None:
        self.host = host

    def request(self, method: str, path: str, headers: dict[str, str]) -> None:
        Recorded.requests.append((self.host, method, path, dict(headers)))

    def getresponse(self) -> Answer:
        return Recorded.answer

    def close(self) -> None:
        pass


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> type[Recorded]:
    Recorded.requests = []
    monkeypatch.setattr(rules_bucket.http.client, "HTTPSConnection", Recorded)
    monkeypatch.setattr(rules_bucket.http.client, "HTTPConnection", Recorded)
    monkeypatch.setattr(
        rules_bucket, "sign_headers", functools.partial(rules_bucket.sign_headers, now=MOMENT)
    )
    return Recorded


def reader(endpoint: str | None = None, token: str | None = None) -> RulesBucketReader:
    return RulesBucketReader(
        "liveguard-rules-x", "rules/active.json", region="eu-west-1",
        credentials=AwsCredentials("AKIDEXAMPLE", SECRET, token), endpoint=endpoint,
    )  # fmt: skip


@pytest.mark.parametrize("token", [None, "session-token-value"])
@pytest.mark.parametrize(
    ("endpoint", "url"),
    [
        (None, "https://liveguard-rules-x.s3.eu-west-1.amazonaws.com/rules/active.json"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000/liveguard-rules-x/rules/active.json"),
    ],
)
def test_the_get_is_signed_as_botocore_signs_s3s(recorded, monkeypatch, token, endpoint, url):
    # Given the reader for the regional endpoint (virtual-hosted) or moto's (path-style)
    # When it reads the live bundle, and botocore signs the same GET at the same moment
    reader(endpoint, token).read('"etag-1"')
    host, method, path, headers = recorded.requests[0]
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: MOMENT.replace(tzinfo=None))
    request = AWSRequest(method="GET", url=url, headers={})
    S3SigV4Auth(Credentials("AKIDEXAMPLE", SECRET, token), "s3", "eu-west-1").add_auth(request)
    # Then the request goes where botocore's would, with the same signature
    assert f"{'https' if endpoint is None else 'http'}://{host}{path}" == url
    assert method == "GET"
    assert headers["Authorization"] == request.headers["Authorization"]
    # And it is conditional on the ETag it was given
    assert headers["If-None-Match"] == '"etag-1"'


def test_a_200_is_the_bundle_with_its_version_and_metadata(recorded):
    # Given S3 answering the object
    headers = {
        "ETag": '"e1"',
        "x-amz-version-id": "v-1",
        "x-amz-meta-sha256": "abc",
        "x-amz-meta-source": "r.yaml",
    }
    recorded.answer = Answer(200, b"{}", headers)
    # When it is read
    found = reader().read()
    # Then the bytes, ETag, version id and metadata come back
    assert found is not None
    assert (found.body, found.etag, found.version_id) == (b"{}", '"e1"', "v-1")
    assert found.metadata == {"sha256": "abc", "source": "r.yaml"}


def test_a_304_is_nothing_new(recorded):
    recorded.answer = Answer(304)
    assert reader().read('"e1"') is None


@pytest.mark.parametrize("status", [403, 404])
def test_a_missing_object_is_nothing_published(recorded, status):
    recorded.answer = Answer(status)
    with pytest.raises(NothingPublished):
        reader().read()


@pytest.mark.parametrize(("status", "retryable"), [(500, True), (503, True), (400, False)])
def test_other_answers_are_unreadable_and_say_whether_to_retry(recorded, status, retryable):
    recorded.answer = Answer(status)
    with pytest.raises(BundleUnreadable) as unreadable:
        reader().read()
    assert unreadable.value.retryable is retryable


def test_a_network_failure_is_unreadable_and_retryable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a connection that fails
    class Refused(Recorded):
        def request(self, *args: Any, **kwargs: Any) -> None:
            raise ConnectionRefusedError("refused")

    monkeypatch.setattr(rules_bucket.http.client, "HTTPSConnection", Refused)
    # When the bucket is read
    with pytest.raises(BundleUnreadable) as unreadable:
        reader().read()
    # Then another try may help
    assert unreadable.value.retryable
