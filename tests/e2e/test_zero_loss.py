"""Zero loss, end to end: the local stack (template.yaml, the default rules) under Tencent's faults and
duplicate deliveries, and under a crashing moderator, driven over HTTP only.

- Many rooms, with mixed traffic from app users through the emulator's client API (plus the
  cloud-moderation results LiveGuard's callback URL receives), while the emulator fails a share of
  ``destroy_room`` and ``del_room_metadata`` calls with 100001, answers bursts of 60007, and sends a
  share of the webhooks twice. Every expected effect must happen exactly once (successful Tencent
  calls, counted per room and command, not attempts), nothing else may happen, and both DLQs end
  empty.
- The moderator's invocation crashes on every batch holding one room's records (injected at the
  Lambda-runtime level by the stack's ``crash_on_group``, never in the product): that room's effects
  are late but all there, once each and in order, while other rooms are served meanwhile.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from liveguard_local.driver import Driver, call_room
from liveguard_local.stack import LocalStack
from liveguard_local.stack.workers import CrashOnGroup

from .conftest import e2e_stack, eventually

ROOT = Path(__file__).resolve().parents[2]
SCALE = 1.0  # 50 rooms and about 1,100 webhooks (plus ~10 % duplicates) at 1.0
ROOMS = max(10, round(50 * SCALE))
EXPECTED_WEBHOOKS = round(1000 * SCALE)
SETTLE_TIMEOUT = 120.0
CRASHES = 3  # below the queues' maxReceiveCount (5): the crashed records must not dead-letter
CRASH_ROOM = f"crash-{secrets.token_hex(3)}"
DEFAULTS = [{"Key": "lg.rules-version", "Value": "1"}]
VIEWERS = ("v1", "v2", "v3")
BANNED_METADATA = [{"Key": "topic", "Value": "chess"}, {"Key": "promo", "Value": "Buy Followers now"}]
CLEAN_METADATA = [{"Key": "topic", "Value": "chess"}]


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LocalStack, Driver]]:
    """The stack as in conftest (2 s visibility timeout), with the moderator crashing on the first
    ``CRASHES`` batches that hold a record of ``CRASH_ROOM``."""
    crash = CrashOnGroup(function="ModeratorFunction", group=CRASH_ROOM, times=CRASHES)
    local_stack = e2e_stack(tmp_path_factory, "e2e-zero-loss", crash_on_group=crash)
    with local_stack as stack, httpx.Client(timeout=30) as http:
        yield stack, Driver.of(stack, http)


# --- helpers ----------------------------------------------------------------------------------------


def ok(reply: dict[str, Any]) -> dict[str, Any]:
    assert reply["ErrorCode"] == 0, reply
    response: dict[str, Any] = reply.get("Response") or {}
    return response


def faults(driver: Driver, body: dict[str, Any]) -> None:
    response = driver.http.post(f"{driver.emulator_url}/emulator/v1/faults", json=body)
    assert response.status_code == 200, response.text


def burst(driver: Driver, size: int = 3) -> None:
    """The next ``size`` calls of each faulted command get 60007 (over the frequency limit)."""
    faults(
        driver,
        {
            "rest": [
                {"command": "destroy_room", "code": 60007, "next": size},
                {"command": "del_room_metadata", "code": 60007, "next": size},
            ]
        },
    )


def flag(driver: Driver, room_id: str, label: str, request_id: str) -> None:
    response = driver.moderation_result(room_id, user=f"h-{room_id}", label=label, request_id=request_id)
    assert response.status_code == 200, response.text
    assert response.json()["ErrorCode"] == 0


def sqs_client(stack: LocalStack) -> Any:
    import boto3

    credentials = stack.settings()["aws_credentials"]
    return boto3.client(
        "sqs",
        endpoint_url=stack.aws_url,
        region_name=credentials["AWS_REGION"],
        aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=credentials["AWS_SESSION_TOKEN"],
    )


def queue_depths(stack: LocalStack, sqs: Any) -> dict[str, int]:
    """Messages in each of the stack's queues, visible or in flight."""
    depths = {}
    for logical_id, url in stack.settings()["queues"].items():
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        depths[logical_id] = int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )
    return depths


def successes(driver: Driver, rooms: set[str]) -> list[dict[str, Any]]:
    """LiveGuard's successful REST calls for these rooms, oldest first."""
    return [call for call in driver.calls() if call["code"] == 0 and call_room(call) in rooms]


def effects(calls: list[dict[str, Any]]) -> Counter[tuple[str, str, str]]:
    """(room, command, what) for each successful call: the effect, not the attempt."""
    counted: Counter[tuple[str, str, str]] = Counter()
    for call in calls:
        body = call["body"]
        what = ""
        if call["command"] in ("set_room_metadata",):
            what = json.dumps(body["Metadata"], sort_keys=True)
        elif call["command"] == "del_room_metadata":
            what = json.dumps(sorted(body["Keys"]))
        elif call["command"] == "mute_member":
            what = json.dumps([body["MemberList_Account"], body["MuteTime"]])
        elif call["command"] == "send_custom_msg":
            what = json.loads(body["Data"])["content"]["violationType"]
        counted[(str(call_room(call)), call["command"], what)] += 1
    return counted


def settled(stack: LocalStack, sqs: Any) -> bool:
    return all(depth == 0 for depth in queue_depths(stack, sqs).values())


# --- zero loss under faults and duplicates -----------------------------------------------------------


class Plan:
    """Which room gets what, and the effects that must follow, once each."""

    def __init__(self, index: int) -> None:
        self.index = index
        self.room = f"zl-{index:03d}-{secrets.token_hex(2)}"
        self.host = f"h-{self.room}"
        self.banned_name = index % 10 == 0  # room-info-terms: the name is reset
        self.banned_metadata = index % 2 == 0  # metadata-terms: promo is deleted
        self.strikes = index % 5 == 1  # three banned comments: strikes-mute mutes v1
        self.flagged = index % 3 == 0  # moderation-warn twice, then moderation-destroy
        self.duplicate_flag = index % 6 == 0  # the first moderation result is posted twice

    def play(self, driver: Driver) -> None:
        """The app users' part: create, enter, set metadata, comment."""
        name = "Free Coins party" if self.banned_name else f"Room {self.index}"
        ok(driver.act("create_room", self.host, RoomId=self.room, RoomName=name))
        for viewer in VIEWERS:
            ok(driver.act("enter_room", viewer, RoomId=self.room))
        metadata = BANNED_METADATA if self.banned_metadata else CLEAN_METADATA
        ok(driver.act("set_room_metadata", self.host, RoomId=self.room, Metadata=metadata))
        for round_ in range(2):
            for viewer in VIEWERS:
                text = f"nice move {round_}"
                assert ok(driver.act("send_text_msg", viewer, RoomId=self.room, Text=text))["text"] == text
        if self.strikes:
            for strike in range(3):
                reply = ok(driver.act("send_text_msg", "v1", RoomId=self.room, Text=f"free coins {strike}"))
                assert reply["outcome"] == "delivered"

    def moderate(self, driver: Driver) -> None:
        """Tencent's cloud moderation flags the room twice (once delivered twice, for some)."""
        if not self.flagged:
            return
        first = f"{self.room}-porn"
        flag(driver, self.room, "Porn", first)
        if self.duplicate_flag:
            flag(driver, self.room, "Porn", first)  # the same result again: the same event
        flag(driver, self.room, "Terror", f"{self.room}-terror")

    def expected(self) -> Counter[tuple[str, str, str]]:
        room = self.room
        expected: Counter[tuple[str, str, str]] = Counter()
        expected[(room, "set_room_metadata", json.dumps(DEFAULTS, sort_keys=True))] = 1
        if self.banned_name:
            expected[(room, "update_room_info", "")] = 1
        if self.banned_metadata:
            expected[(room, "del_room_metadata", json.dumps(["promo"]))] = 1
        if self.strikes:
            expected[(room, "mute_member", json.dumps([["v1"], 600]))] = 1
        if self.flagged:
            expected[(room, "send_custom_msg", "Porn")] = 1
            expected[(room, "send_custom_msg", "Terror")] = 1
            expected[(room, "destroy_room", "")] = 1
        return expected

    def check_state(self, driver: Driver) -> None:
        room = driver.room(self.room)
        if self.flagged:
            assert room is None, f"{self.room} should be destroyed"
            return
        assert room is not None, f"{self.room} should live"
        metadata = {item["Key"]: item["Value"] for item in room["Metadata"]}
        assert metadata == {"lg.rules-version": "1", "topic": "chess"}, self.room
        if self.banned_name:
            assert (room["RoomInfo"]["RoomName"], room["RoomInfo"]["Notice"]) == (self.room, "")
        muted = {entry["Member_Account"] for entry in room["MutedAccountList"]}
        assert muted == ({"v1"} if self.strikes else set()), self.room
        assert room["BannedAccountList"] == [], self.room


def test_zero_loss_under_tencent_faults_and_duplicate_webhooks(local):
    stack, driver = local
    sqs = sqs_client(stack)
    plans = [Plan(index) for index in range(ROOMS)]
    rooms = {plan.room for plan in plans}
    started = time.monotonic()
    # Given Tencent failing a fifth of the destroys and metadata deletions, in bursts of rate limits
    # too, and delivering a tenth of the webhooks twice
    faults(
        driver,
        {
            "clear": True,
            "rest": [
                {"command": "destroy_room", "code": 100001, "share": 0.2},
                {"command": "del_room_metadata", "code": 100001, "share": 0.2},
            ],
            "webhooks": {"duplicate_share": 0.1},
        },
    )
    burst(driver)
    try:
        # When the app's users play in every room at once
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda plan: plan.play(driver), plans))
        played = time.monotonic() - started
        burst(driver)
        # (the emulator answers once the rooms' webhooks are all delivered: moderation comes after)
        delivered = [hook for hook in driver.webhooks() if hook["order_key"] in rooms]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda plan: plan.moderate(driver), plans))
        burst(driver)
        # Then every expected effect happens, and the queues drain
        expected: Counter[tuple[str, str, str]] = sum((plan.expected() for plan in plans), Counter())
        eventually(
            lambda: not (expected - effects(successes(driver, rooms))),
            "every expected effect",
            timeout=SETTLE_TIMEOUT,
        )
        effected = time.monotonic() - started
        eventually(lambda: settled(stack, sqs), "every queue to drain", timeout=SETTLE_TIMEOUT)
        elapsed = time.monotonic() - started
    finally:
        faults(driver, {"clear": True, "webhooks": {}})

    # Exactly once each, and nothing else
    calls = successes(driver, rooms)
    assert effects(calls) == expected
    for plan in plans:
        plan.check_state(driver)
    # Nothing is left anywhere, DLQs included
    assert queue_depths(stack, sqs) == dict.fromkeys(stack.settings()["queues"], 0)
    # And the faults and duplicates did happen (else this test proves nothing)
    attempts = [call for call in driver.calls() if call_room(call) in rooms]
    codes = Counter(call["code"] for call in attempts)
    assert codes[100001] > 0, codes
    assert codes[60007] > 0, codes
    hooks = [hook for hook in driver.webhooks() if hook["order_key"] in rooms]
    duplicates = sum(1 for hook in hooks if hook["duplicate"])
    outcomes = Counter(hook["outcome"] for hook in hooks)
    assert duplicates > 0
    posted = sum(2 + plan.duplicate_flag for plan in plans if plan.flagged)
    assert len(hooks) - duplicates + posted >= EXPECTED_WEBHOOKS, (len(hooks), duplicates, posted)
    print(
        f"\nzero loss: {len(rooms)} rooms, {len(hooks)} webhook deliveries ({duplicates} duplicates,"
        f" {len(delivered)} before moderation) + {posted} moderation results, {len(calls)} effects"
        f" from {len(attempts)} Tencent calls (100001: {codes[100001]}, 60007: {codes[60007]}),"
        f" played in {played:.1f} s, effects in {effected:.1f} s, settled in {elapsed:.1f} s;"
        f" delivery outcomes {dict(outcomes)}"
    )


# --- a crashing moderator ------------------------------------------------------------------------


def injected_crashes(stack: LocalStack) -> int:
    return sum(
        1
        for invocation in list(stack.invocations)
        if invocation.function == "ModeratorFunction"
        and (invocation.error or {}).get("errorType") == "InjectedCrashError"
    )


def test_a_moderator_crash_loses_nothing_and_blocks_only_its_rooms_group(local):
    stack, driver = local
    sqs = sqs_client(stack)
    faults(driver, {"clear": True, "webhooks": {}})
    host = "crash-host"
    # Given the moderator crashing on every batch with the room's records (the first CRASHES times)
    ok(driver.act("create_room", host, RoomId=CRASH_ROOM, RoomName="Evening chess"))
    ok(driver.act("set_room_metadata", host, RoomId=CRASH_ROOM, Metadata=BANNED_METADATA))
    ok(driver.act("update_room_info", host, RoomId=CRASH_ROOM, Notice="cheap followers here"))
    eventually(lambda: injected_crashes(stack) >= 1, "the first injected crash")
    first_crash = time.monotonic()
    # When other rooms go live meanwhile
    others = [f"bystander-{index}-{secrets.token_hex(2)}" for index in range(5)]
    for room in others:
        ok(driver.act("create_room", f"h-{room}", RoomId=room, RoomName="Evening chess"))
        ok(driver.act("set_room_metadata", f"h-{room}", RoomId=room, Metadata=BANNED_METADATA))
    # Then they are served while the crashing room's group waits
    eventually(
        lambda: all(driver.metadata(room) == {"lg.rules-version": "1", "topic": "chess"} for room in others),
        "the other rooms' effects",
    )
    served = time.monotonic() - first_crash
    # And once the crashes stop, the room's effects all happen, once each, in order
    eventually(lambda: injected_crashes(stack) == CRASHES, "every injected crash")
    eventually(lambda: len(successes(driver, {CRASH_ROOM})) == 3, "the crashing room's effects", timeout=30)
    unblocked = time.monotonic() - first_crash
    eventually(lambda: settled(stack, sqs), "every queue to drain", timeout=30)
    calls = successes(driver, {CRASH_ROOM})
    # The crashing room's group was held until its last crash (no effect of it before), while other
    # rooms were served meanwhile. Judged by when things happened, not by when this test looked:
    # a bystander whose records shared a crashed batch waits a visibility timeout too, as in Lambda.
    last_crash = max(
        invocation.at
        for invocation in list(stack.invocations)
        if (invocation.error or {}).get("errorType") == "InjectedCrashError"
    )
    assert min(call["at"] for call in calls) > last_crash, "the crashing room's group should have waited"
    assert any(call["at"] < last_crash for call in successes(driver, set(others))), (
        "other rooms should have been served while the crashing room's group waited"
    )
    assert [
        (call["command"], call["body"].get("Metadata") or call["body"].get("Keys")) for call in calls
    ] == [
        ("set_room_metadata", DEFAULTS),
        ("del_room_metadata", ["promo"]),
        ("update_room_info", None),
    ]
    room = driver.room(CRASH_ROOM)
    assert room is not None
    assert {item["Key"]: item["Value"] for item in room["Metadata"]} == {
        "lg.rules-version": "1",
        "topic": "chess",
    }
    assert room["RoomInfo"]["Notice"] == ""
    assert injected_crashes(stack) == CRASHES
    for other in others:
        assert Counter(call["command"] for call in successes(driver, {other})) == Counter(
            {"set_room_metadata": 1, "del_room_metadata": 1}
        )
    assert queue_depths(stack, sqs) == dict.fromkeys(stack.settings()["queues"], 0)
    print(
        f"\ncrash: other rooms served {served:.1f} s after the first crash, the room {unblocked:.1f} s after"
    )
