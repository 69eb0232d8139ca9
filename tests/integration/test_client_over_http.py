"""LiveClient over real loopback HTTP, against a server that checks calls as Tencent does."""

from __future__ import annotations

import httpx
import pytest

from liveguard.tencent.client import LiveClient
from liveguard.tencent.commands.rooms import DestroyRoom
from liveguard.tencent.errors import ErrorCategory, TencentApiError
from liveguard_local.tencent_stub import running_stub

SDK_APP_ID = 1400000001
KEY = "integration-key"
ADMIN = "administrator"


@pytest.fixture
def stub():
    with running_stub(SDK_APP_ID, KEY, ADMIN) as server:
        yield server


def client_for(base_url: str, http: httpx.Client, key: str = KEY) -> LiveClient:
    return LiveClient(
        sdk_app_id=SDK_APP_ID, secret_key=key, admin_identifier=ADMIN, base_url=base_url, http=http
    )


def test_calls_are_accepted_by_a_server_that_verifies_the_usersig(stub):
    with httpx.Client() as http:
        client = client_for(stub.base_url, http)
        for _ in range(5):
            client.call(DestroyRoom(room_id="room-1"))
    assert stub.record.refused == []
    assert len(stub.record.arrivals) == 5


def test_many_calls_reuse_one_keep_alive_connection(stub):
    # Given one client making sequential calls
    with httpx.Client() as http:
        client = client_for(stub.base_url, http)
        # When it makes 50 calls
        for _ in range(50):
            client.call(DestroyRoom(room_id="room-1"))
    # Then the server saw a single TCP connection
    assert stub.record.connections == 1


def test_a_wrong_key_is_refused_as_tencent_does_and_re_signed_only_once(stub):
    with httpx.Client() as http, pytest.raises(TencentApiError) as raised:
        client_for(stub.base_url, http, key="not-the-app-key").call(DestroyRoom(room_id="room-1"))
    assert raised.value.code == 70009
    assert raised.value.category is ErrorCategory.AUTH
    assert len(stub.record.arrivals) == 2


def test_a_server_that_is_down_is_a_retryable_network_error():
    with running_stub(SDK_APP_ID, KEY, ADMIN) as server:
        base_url = server.base_url
    with httpx.Client() as http, pytest.raises(TencentApiError) as raised:
        LiveClient(
            sdk_app_id=SDK_APP_ID,
            secret_key=KEY,
            admin_identifier=ADMIN,
            base_url=base_url,
            http=http,
            max_attempts=2,
            backoff_base=0.01,
        ).call(DestroyRoom(room_id="room-1"))
    assert raised.value.retryable
    assert raised.value.code is None
