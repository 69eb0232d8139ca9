"""Fixtures for LiveClient tests: a Tencent answering through httpx's MockTransport, and a fake clock;
rules for the ingress's tests that act on every callback."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import httpx
import pytest
from moto import mock_aws

from liveguard.aws.state_table import StateTable
from liveguard.rules.verdict import ALLOW_ALL, CompiledRules, Verdict
from liveguard.tencent.client import AdminUserSig, LiveClient
from liveguard.tencent.ratelimit import CommandRateLimiter
from tests.aws import FAKE_CREDENTIALS, create_state_table

STATE_TABLE = "liveguard-state-test"
SDK_APP_ID = 1400000001
SECRET_KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
ADMIN = "administrator"

Answer = dict[str, Any] | Exception | Callable[[httpx.Request], httpx.Response]


def ok(response: dict[str, Any] | None = None, request_id: str = "req-ok") -> dict[str, Any]:
    envelope: dict[str, Any] = {
        "ActionStatus": "OK",
        "ErrorCode": 0,
        "ErrorInfo": "",
        "RequestId": request_id,
    }
    if response is not None:
        envelope["Response"] = response
    return envelope


def fail(code: int, info: str = "refused", request_id: str = "req-fail") -> dict[str, Any]:
    return {"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info, "RequestId": request_id}


@dataclass
class FakeTencent:
    """Answers queued replies in order (the last one repeats) and records every request."""

    answers: list[Answer] = field(default_factory=lambda: [ok()])
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return httpx.Response(200, json=answer)

    def bodies(self) -> list[dict[str, Any]]:
        return [json.loads(r.content) for r in self.requests]


@dataclass
class FakeClock:
    now: float = 1000.0
    slept: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture
def tencent() -> FakeTencent:
    return FakeTencent()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_client(tencent: FakeTencent, clock: FakeClock) -> Iterator[Callable[..., LiveClient]]:
    """A LiveClient wired to the fake Tencent, with time that passes only when the client sleeps."""
    http = httpx.Client(transport=httpx.MockTransport(tencent.handle))

    def make(**options: Any) -> LiveClient:
        defaults: dict[str, Any] = {
            "sdk_app_id": SDK_APP_ID,
            "secret_key": SECRET_KEY,
            "admin_identifier": ADMIN,
            "base_url": "https://adminapisgp.im.qcloud.com",
            "http": http,
            "monotonic": clock,
            "sleep": clock.sleep,
            "jitter": lambda low, high: high,  # the longest pause the backoff allows
            "limiter": CommandRateLimiter(clock=clock, sleep=clock.sleep),
        }
        return LiveClient(**{**defaults, **options})

    yield make
    http.close()


@pytest.fixture
def usersig_clock() -> FakeClock:
    return FakeClock(now=1_700_000_000.0)


@pytest.fixture
def admin_usersig(usersig_clock: FakeClock) -> AdminUserSig:
    from pydantic import SecretStr

    return AdminUserSig(SDK_APP_ID, SecretStr(SECRET_KEY), ADMIN, clock=usersig_clock)


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """In-process moto DynamoDB with the state table as template.yaml declares it."""
    for key, value in FAKE_CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb")
        create_state_table(client, STATE_TABLE)
        yield client


@pytest.fixture
def table(dynamodb: Any) -> StateTable:
    return StateTable(STATE_TABLE, client=dynamodb)


class ActingOnEveryCallback:
    """Rules that act on every callback, so the ingress queues all it accepts, with the verdicts of
    ``rules``: for tests about accepting and queueing, not about which callbacks rules act on."""

    def __init__(self, rules: CompiledRules = ALLOW_ALL) -> None:
        self.rules = rules

    def verdict(self, event: Any) -> Verdict | None:
        return self.rules.verdict(event)

    def acts_on(self, command: str, *, echo: bool) -> bool:
        return True
