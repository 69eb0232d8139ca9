"""Faults injected through the emulator's HTTP control API, and LiveClient's answer to them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest

from liveguard.tencent.client import LiveClient
from liveguard.tencent.commands.rooms import CreateRoom, DestroyRoom
from liveguard.tencent.errors import TencentApiError

from .conftest import ADMIN, KEY, SDK_APP_ID


def faults(emulator, http, **body) -> httpx.Response:
    return http.post(f"{emulator.base_url}/emulator/v1/faults", json=body)


def create(client, room_id: str = "r1") -> None:
    client.call(CreateRoom.model_validate({"RoomInfo": {"RoomId": room_id, "Owner_Account": "host"}}))


def test_the_next_n_calls_fail_with_the_given_code_and_liveclient_retries_through(client, emulator, http):
    # Given destroy_room fails twice with an internal error
    create(client)
    faults(emulator, http, rest=[{"command": "destroy_room", "code": 100001, "next": 2}])
    # When LiveClient destroys the room
    client.call(DestroyRoom(room_id="r1"))
    # Then it took three calls, and the room is gone
    codes = [c["code"] for c in http.get(f"{emulator.base_url}/emulator/v1/calls").json()["calls"]]
    assert codes[-3:] == [100001, 100001, 0]
    assert http.get(f"{emulator.base_url}/emulator/v1/rooms/r1").status_code == 404


def test_a_share_of_calls_fails(client, emulator, http, raw_call):
    faults(emulator, http, rest=[{"command": "get_room_list", "code": 60018, "share": 1.0}])
    assert raw_call("get_room_list", {})["ErrorCode"] == 60018
    faults(emulator, http, clear=True)
    assert raw_call("get_room_list", {})["ErrorCode"] == 0


def test_a_closed_connection_is_a_retryable_error_for_liveclient(emulator, http):
    faults(emulator, http, rest=[{"command": "get_room_info", "close": True, "share": 1.0}])
    client = LiveClient(
        sdk_app_id=SDK_APP_ID, secret_key=KEY, admin_identifier=ADMIN, base_url=emulator.base_url,
        http=http, max_attempts=2, backoff_base=0.01,
    )  # fmt: skip
    with pytest.raises(TencentApiError) as raised:
        client.execute("get_room_info", {"RoomId": "r1"})
    assert raised.value.retryable
    assert raised.value.code is None


def test_latency_past_the_callers_deadline_is_a_timeout(emulator, http):
    faults(emulator, http, rest=[{"command": "get_room_info", "latency": 1.0, "share": 1.0}])
    client = LiveClient(
        sdk_app_id=SDK_APP_ID, secret_key=KEY, admin_identifier=ADMIN, base_url=emulator.base_url,
        http=http, max_attempts=1, timeout=0.3,
    )  # fmt: skip
    with pytest.raises(TencentApiError) as raised:
        client.execute("get_room_info", {"RoomId": "r1"})
    assert "Timeout" in raised.value.info


def test_a_fault_without_an_effect_is_refused_with_the_field(emulator, http):
    reply = faults(emulator, http, rest=[{"command": "destroy_room", "share": 2}])
    assert reply.status_code == 400
    assert reply.json()["details"][0]["field"].endswith("share")


def test_duplicated_webhooks_arrive_twice(app_user, emulator, http, receiver):
    faults(emulator, http, webhooks={"duplicate_next": 1})
    app_user("create_room", "host", RoomId="r1")
    assert len(receiver.wait_for("Live.CallbackAfterCreateRoom", count=2)) == 2


def test_reset_forgets_rooms_calls_and_faults(client, emulator, http):
    create(client)
    faults(emulator, http, rest=[{"command": "destroy_room", "code": 100001, "share": 1.0}])
    http.post(f"{emulator.base_url}/emulator/v1/reset")
    assert http.get(f"{emulator.base_url}/emulator/v1/calls").json()["calls"] == []
    assert http.get(f"{emulator.base_url}/emulator/v1/faults").json()["rest"] == []
    assert http.get(f"{emulator.base_url}/emulator/v1/rooms/r1").status_code == 404


def test_the_command_line_starts_the_emulator_and_stops_on_sigterm():
    # Given `python -m liveguard_local.emulator` on a free port
    process = subprocess.Popen(
        [sys.executable, "-m", "liveguard_local.emulator", "--port", "0", "--secret-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline()
        # Then it prints its base URL, and answers there
        base_url = first_line.rsplit(" ", 1)[-1].strip()
        assert base_url.startswith("http://127.0.0.1:")
        assert httpx.get(f"{base_url}/emulator/v1/calls").json() == {"calls": []}
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
    assert KEY not in first_line
