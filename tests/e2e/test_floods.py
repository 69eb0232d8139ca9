"""Floods end to end: rate, repeat and raid rules on the local stack, counted by the ingress in the
state table (moto), decided inline, acted on by the moderator and the actuator at the emulator.

The stack runs its own rules (below): a user's fourth message within 10 s and every one after it
dropped, and the user muted once; a second copy of a text within a minute dropped; five users
arriving within 30 s lock the room's messages (update_room_info IsMessageDisabled) and unlock them
3 s later (a delayed action)."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from liveguard_local.driver import Driver

from .conftest import e2e_stack, eventually

HOST = "host"
UNLOCK_AFTER = 3
RULES = f"""\
version: 1
rules:
  - name: flood-drop
    on: [Group.CallbackBeforeSendMsg]
    when: {{rate: {{per: user, within: 10, at_least: 4}}}}
    verdict: {{action: drop, reason: slow down}}
  - name: flood-mute
    on: [Group.CallbackBeforeSendMsg]
    when: {{rate: {{per: user, within: 10, at_least: 4, once: true}}}}
    then:
      - command: mute_member
        params: {{RoomId: "{{room_id}}", MemberList_Account: ["{{user_id}}"], MuteTime: 120}}
  - name: copy-paste
    on: [Group.CallbackBeforeSendMsg]
    when: {{repeat: {{within: 60, at_least: 2}}}}
    verdict: drop
  - name: raid-lock
    on: [Group.CallbackBeforeSendMsg]
    when: {{raid: {{within: 30, at_least: 5, once: true}}}}
    then:
      - command: update_room_info
        params: {{RoomInfo: {{RoomId: "{{room_id}}", IsMessageDisabled: true}}}}
      - command: update_room_info
        params: {{RoomInfo: {{RoomId: "{{room_id}}", IsMessageDisabled: false}}}}
        delay_seconds: {UNLOCK_AFTER}
"""


@pytest.fixture(scope="module")
def flood_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    """The whole app on loopback with the flood rules above."""
    with e2e_stack(tmp_path_factory, "e2e-floods", rules=RULES) as local, httpx.Client(timeout=10) as http:
        yield Driver.of(local, http)


@pytest.fixture
def room_id(request: pytest.FixtureRequest, flood_stack: Driver) -> str:
    """A fresh live room the host created."""
    name = request.node.originalname.removeprefix("test_")[:24].replace("_", "-")
    room = f"{name}-{secrets.token_hex(3)}"
    assert flood_stack.act("create_room", HOST, RoomId=room)["ErrorCode"] == 0
    return room


def say(stack: Driver, room_id: str, user: str, text: str) -> str:
    """A user's comment; its outcome at Tencent (delivered, dropped, or the refusal's ErrorCode)."""
    reply: dict[str, Any] = stack.act("send_text_msg", user, RoomId=room_id, Text=text)
    if reply["ErrorCode"] != 0:
        return str(reply["ErrorCode"])
    return str(reply["Response"]["outcome"])


def enter(stack: Driver, room_id: str, *users: str) -> None:
    for user in users:
        assert stack.act("enter_room", user, RoomId=room_id)["ErrorCode"] == 0


def is_muted(stack: Driver, room_id: str, user: str) -> bool:
    room = stack.room(room_id) or {}
    return any(entry["Member_Account"] == user for entry in room.get("MutedAccountList", []))


def messages_disabled(stack: Driver, room_id: str) -> bool:
    return bool((stack.room(room_id) or {}).get("RoomInfo", {}).get("IsMessageDisabled"))


def test_a_user_flooding_a_room_has_the_excess_dropped_and_is_muted_once(flood_stack, room_id):
    stack = flood_stack
    enter(stack, room_id, "flooder", "bystander")
    # When a viewer sends six comments in a row
    outcomes = [say(stack, room_id, "flooder", f"look at me {n}") for n in range(6)]
    # Then the first three are delivered and the rest dropped inline (or refused once the mute landed)
    assert outcomes[:3] == ["delivered"] * 3
    assert outcomes[3] == "dropped"
    assert set(outcomes[4:]) <= {"dropped", "10017"}
    # And the viewer is muted, by one mute_member call
    eventually(lambda: is_muted(stack, room_id, "flooder"), "the flooder to be muted")
    assert say(stack, room_id, "flooder", "hello?") == "10017"
    time.sleep(1.0)  # time for a second mute, if one were coming
    mutes = [call["body"] for call in stack.calls("mute_member", room_id) if call["code"] == 0]
    assert mutes == [{"RoomId": room_id, "MemberList_Account": ["flooder"], "MuteTime": 120}]
    # And another viewer in the room speaks freely
    assert say(stack, room_id, "bystander", "gg") == "delivered"


def test_a_copy_paste_spam_is_caught_by_repeat_however_it_is_disguised(flood_stack, room_id):
    stack = flood_stack
    enter(stack, room_id, "spammer")
    # When a viewer posts a text, another one, then the first again in other case with a zero-width space
    texts = ["Follow me at spam dot example", "nice stream", "FOLLOW\u200b me at  spam dot example"]
    outcomes = [say(stack, room_id, "spammer", text) for text in texts]
    # Then the copy is dropped, and the different comment went through
    assert outcomes == ["delivered", "delivered", "dropped"]


def test_a_raid_locks_the_room_s_messages_and_the_delayed_undo_unlocks_them(flood_stack, room_id):
    stack = flood_stack
    raiders = [f"raider-{n}" for n in range(6)]
    enter(stack, room_id, *raiders)
    # When five users arrive and post within seconds
    outcomes = [say(stack, room_id, raider, "raid!") for raider in raiders[:5]]
    assert outcomes == ["delivered"] * 5
    locked_at = time.time()
    # Then LiveGuard disables the room's messages (update_room_info IsMessageDisabled: true)
    eventually(lambda: messages_disabled(stack, room_id), "the room's messages to be disabled")
    assert say(stack, room_id, raiders[5], "raid!") == "10017"
    # And enables them again after the rule's delay
    eventually(lambda: not messages_disabled(stack, room_id), "the room's messages to be enabled again")
    assert time.time() - locked_at >= UNLOCK_AFTER - 1
    assert say(stack, room_id, raiders[5], "sorry") == "delivered"
    calls = [
        call["body"]["RoomInfo"] for call in stack.calls("update_room_info", room_id) if call["code"] == 0
    ]
    assert calls == [
        {"RoomId": room_id, "IsMessageDisabled": True},
        {"RoomId": room_id, "IsMessageDisabled": False},
    ]
