"""The emulator authenticates REST calls as Tencent does, to the error code."""

from __future__ import annotations

import time

import pytest

from liveguard.tencent.usersig import gen_usersig

from .conftest import ADMIN, KEY, SDK_APP_ID


def test_a_well_formed_call_succeeds(raw_call):
    reply = raw_call("get_room_list", {"Next": "", "Count": 20})
    assert reply["ActionStatus"] == "OK"
    assert reply["ErrorCode"] == 0
    assert reply["RequestId"]


@pytest.mark.parametrize(
    ("usersig", "code"),
    [
        (lambda: gen_usersig(SDK_APP_ID, KEY, ADMIN, 60, now=int(time.time()) - 3600), 70001),
        (lambda: "", 70002),
        (lambda: "garbage-that-is-no-usersig", 70003),
        (lambda: gen_usersig(SDK_APP_ID, "another-apps-key", ADMIN), 70009),
        (lambda: gen_usersig(SDK_APP_ID, KEY, "someone-else"), 70013),
        (lambda: gen_usersig(1400000002, KEY, ADMIN), 70014),
    ],
    ids=["expired", "empty", "malformed", "wrong-key", "wrong-identifier", "wrong-app"],
)
def test_a_bad_usersig_is_refused_with_tencents_code(raw_call, usersig, code):
    reply = raw_call("get_room_list", {}, usersig=usersig())
    assert (reply["ActionStatus"], reply["ErrorCode"]) == ("FAIL", code)


def test_an_identifier_that_is_not_the_admin_is_refused(raw_call):
    reply = raw_call("get_room_list", {}, identifier="bob", usersig=gen_usersig(SDK_APP_ID, KEY, "bob"))
    assert reply["ErrorCode"] == 60010


def test_an_unknown_sdkappid_is_refused(raw_call):
    assert raw_call("get_room_list", {}, sdkappid=1400999999)["ErrorCode"] == 70020


def test_a_missing_sdkappid_is_refused(raw_call):
    assert raw_call("get_room_list", {}, sdkappid=None)["ErrorCode"] == 60012


def test_a_body_that_is_not_json_is_refused(raw_call):
    assert raw_call("get_room_list", content=b"{not json")["ErrorCode"] == 60003


def test_an_unknown_command_is_refused(raw_call):
    assert raw_call("make_coffee", {})["ErrorCode"] == 60009
    assert raw_call("get_room_list", {}, service="no_such_service")["ErrorCode"] == 60009


def test_more_than_ten_room_list_calls_in_a_second_get_60007(raw_call):
    # Given the first call lands early in a second, so the burst stays within it
    while time.time() % 1 > 0.3:
        time.sleep(0.05)
    codes = [raw_call("get_room_list", {})["ErrorCode"] for _ in range(12)]
    assert codes[:10] == [0] * 10
    assert 60007 in codes[10:]


def test_calls_are_recorded_with_their_result_codes(raw_call, emulator, http):
    raw_call("get_room_info", {"RoomId": "nope"})
    calls = http.get(f"{emulator.base_url}/emulator/v1/calls").json()["calls"]
    assert calls[-1]["command"] == "get_room_info"
    assert calls[-1]["code"] == 100004
