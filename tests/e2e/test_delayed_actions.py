"""Delayed actions end to end: a rule's actions with ``delay_seconds`` wait in the delayed-actions
queue, outside their room's FIFO group, and each lands at Tencent (the emulator) when it is due; the
room's immediate actions, and those of its later events, are not held up behind them.

The stack runs its own rules (below) so the timing is the rule's alone: on a room's creation, a
metadata write delayed 3 s, one delayed 5 s, and one at once, in that order (the delayed ones first,
so in one FIFO group they would stand in front of the immediate one); on an update of the room's
info, one more write at once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from liveguard_local.driver import Driver, call_started

from .conftest import e2e_stack, eventually

HOST = "host"
ON_TIME = 2.0  # seconds an action may land after it is due (SQS's whole-second delays, polling)
RULES = """\
version: 1
rules:
  - name: timed
    on: [Live.CallbackAfterCreateRoom]
    when: {actor: user}
    then:
      - command: set_room_metadata
        params: {RoomId: "{room_id}", Metadata: [{Key: after-3, Value: "3"}]}
        delay_seconds: 3
      - command: set_room_metadata
        params: {RoomId: "{room_id}", Metadata: [{Key: after-5, Value: "5"}]}
        delay_seconds: 5
      - command: set_room_metadata
        params: {RoomId: "{room_id}", Metadata: [{Key: at-once, Value: "0"}]}
  - name: behind
    on: [Live.CallbackAfterUpdateRoomInfo]
    when: {actor: user}
    then:
      - command: set_room_metadata
        params: {RoomId: "{room_id}", Metadata: [{Key: behind, Value: "1"}]}
"""


@pytest.fixture(scope="module")
def timed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Driver]:
    """The whole app on loopback with the rules above (the template's visibility timeouts: a record
    that failed would come back only after 180 s, so nothing here may rely on one)."""
    local_stack = e2e_stack(tmp_path_factory, "e2e-delayed", rules=RULES, visibility_timeout=None)
    with local_stack as local, httpx.Client(timeout=10) as http:
        stack = Driver.of(local, http)
        # Warm: the first action of each source makes its LiveClient (and reads the secret), which a
        # deployed stack does once per instance, not per action.
        warm = "delayed-warm-up"
        assert stack.act("create_room", HOST, RoomId=warm)["ErrorCode"] == 0
        eventually(lambda: landed(stack, warm, "after-3"), "the warm-up room's delayed action")
        yield stack


def landed(stack: Driver, room_id: str, key: str) -> dict[str, Any] | None:
    """The REST call that wrote ``key`` into the room's metadata, once it has been made."""
    for call in stack.calls("set_room_metadata", room_id):
        if any(item.get("Key") == key for item in call["body"].get("Metadata", [])):
            return call
    return None


def test_delayed_actions_land_on_time_and_the_actions_behind_them_at_once(timed_stack: Driver) -> None:
    stack = timed_stack
    room_id = f"delayed-{int(time.time() * 1000) % 10**8}"
    # Given a room created at t0: its rule queues writes delayed 3 s and 5 s, then one at once
    t0 = time.time()
    assert stack.act("create_room", HOST, RoomId=room_id)["ErrorCode"] == 0
    # When the host then changes the room's notice, whose rule writes at once
    assert stack.act("update_room_info", HOST, RoomId=room_id, Notice="welcome")["ErrorCode"] == 0
    t1 = time.time()
    # Then the immediate write of the same decision lands at once, not behind the delayed ones
    at_once = eventually(lambda: landed(stack, room_id, "at-once"), "the immediate action")
    assert call_started(at_once) - t0 < ON_TIME
    # And so does the later event's action, in the same room
    behind = eventually(lambda: landed(stack, room_id, "behind"), "the action behind the delayed ones")
    assert call_started(behind) - t1 < ON_TIME
    assert landed(stack, room_id, "after-3") is None
    # And each delayed write lands when it is due: never early, within ON_TIME after
    for key, delay in (("after-3", 3), ("after-5", 5)):
        call = eventually(lambda key=key: landed(stack, room_id, key), f"the action delayed {delay} s")
        started = call_started(call)
        assert t0 + delay <= started, f"{key} ran {t0 + delay - started:.2f} s early"
        # Due at the next whole second after the event's arrival, plus the delay
        assert started <= t0 + delay + 1 + ON_TIME, f"{key} ran {started - t0 - delay:.2f} s after its delay"
    assert {"after-3", "after-5", "at-once", "behind"} <= set(stack.metadata(room_id))
