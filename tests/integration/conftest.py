"""Integration fixtures: the Tencent Live emulator in-process on a free port, a webhook receiver,
LiveClient pointed at the emulator, and helpers to act as an app user or send raw REST calls."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from liveguard.tencent.client import LiveClient
from liveguard.tencent.usersig import gen_usersig
from liveguard_local.emulator.server import Emulator, EmulatorConfig
from liveguard_local.receiver import WebhookReceiver

SDK_APP_ID = 1400000001
KEY = "emulator-test-key"
ADMIN = "administrator"
TOKEN = "callback-token-for-tests"


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver(token=TOKEN) as server:
        yield server


@pytest.fixture
def emulator_config(receiver: WebhookReceiver) -> EmulatorConfig:
    return EmulatorConfig(
        sdk_app_id=SDK_APP_ID, secret_key=KEY, admin=ADMIN, webhook_url=receiver.url, callback_token=TOKEN
    )


@pytest.fixture
def emulator(emulator_config: EmulatorConfig) -> Iterator[Emulator]:
    with Emulator(emulator_config) as running:
        yield running


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


@pytest.fixture
def client(emulator: Emulator, http: httpx.Client) -> LiveClient:
    return LiveClient(
        sdk_app_id=SDK_APP_ID, secret_key=KEY, admin_identifier=ADMIN, base_url=emulator.base_url, http=http
    )


AppUser = Callable[..., dict[str, Any]]


@pytest.fixture
def app_user(emulator: Emulator, http: httpx.Client) -> AppUser:
    """Act as a TUILiveKit app user: app_user("enter_room", "bob", RoomId="r1") -> the envelope."""

    def act(action: str, user: str, platform: str = "Android", **fields: Any) -> dict[str, Any]:
        body = {"UserId": user, "Platform": platform, **fields}
        reply: dict[str, Any] = http.post(
            f"{emulator.base_url}/emulator/v1/client/{action}", json=body
        ).json()
        return reply

    return act


RawCall = Callable[..., dict[str, Any]]


@pytest.fixture
def raw_call(emulator: Emulator, http: httpx.Client) -> RawCall:
    """A REST call with full control of the query and body (what LiveClient would refuse to send)."""

    def call(
        command: str,
        body: Any = None,
        *,
        service: str = "live_engine_http_srv",
        content: bytes | None = None,
        **query: Any,
    ) -> dict[str, Any]:
        params = {
            "sdkappid": str(SDK_APP_ID),
            "identifier": ADMIN,
            "usersig": gen_usersig(SDK_APP_ID, KEY, ADMIN),
            "random": "12345",
            "contenttype": "json",
        }
        params.update({key: str(value) for key, value in query.items() if value is not None})
        for key in [key for key, value in query.items() if value is None]:
            params.pop(key, None)
        data = content if content is not None else json.dumps({} if body is None else body).encode()
        reply: dict[str, Any] = http.post(
            f"{emulator.base_url}/v4/{service}/{command}", params=params, content=data
        ).json()
        return reply

    return call
