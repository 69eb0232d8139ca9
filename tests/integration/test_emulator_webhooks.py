"""What the emulator sends to a webhook receiver, and how it obeys before-callback answers."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from liveguard.tencent.client import LiveClient
from liveguard.tencent.commands.messages import SendTextMsg
from liveguard.tencent.commands.metadata import SetRoomMetadata
from liveguard.tencent.commands.rooms import CreateRoom
from liveguard_local.emulator.server import Emulator, EmulatorConfig
from liveguard_local.receiver import OK, Received, WebhookReceiver

from .conftest import ADMIN, KEY, SDK_APP_ID, TOKEN


def test_rest_changes_fire_signed_callbacks_marked_as_the_admins(client, receiver):
    # When the admin creates a room and sets metadata through LiveClient
    client.call(CreateRoom.model_validate({"RoomInfo": {"RoomId": "r1", "Owner_Account": "host"}}))
    client.call(SetRoomMetadata.of("r1", {"topic": "chess"}))
    (received,) = receiver.wait_for("Live.CallbackAfterSetMetadata")
    # Then the callback carries Tencent's query, a valid signature, and the documented body
    assert received.signature == "valid"
    assert received.query["SdkAppid"] == str(SDK_APP_ID)
    assert received.query["contenttype"] == "json"
    assert received.query["OptPlatform"] == "RESTAPI"
    assert received.query["ClientIP"]
    assert received.body["Operator_Account"] == ADMIN
    assert received.body["RoomId"] == "r1"
    assert received.body["Metadata"] == [{"Key": "topic", "Value": "chess"}]
    assert abs(received.body["EventTime"] - time.time() * 1000) < 60_000  # milliseconds


def test_user_changes_fire_callbacks_with_the_users_platform_in_order(app_user, receiver):
    app_user("create_room", "host", platform="iOS", RoomId="r1")
    app_user("enter_room", "bob", RoomId="r1")
    app_user("set_room_metadata", "host", platform="iOS", RoomId="r1", Metadata=[{"Key": "k", "Value": "v"}])
    app_user("leave_room", "bob", RoomId="r1")
    receiver.wait_for("Live.CallbackAfterMemberStateChanged", count=3)
    receiver.wait_for("Live.CallbackAfterSetMetadata")
    assert receiver.commands() == [
        "Live.CallbackAfterCreateRoom",
        "Live.CallbackAfterMemberStateChanged",
        "Live.CallbackAfterMemberStateChanged",
        "Live.CallbackAfterSetMetadata",
        "Live.CallbackAfterMemberStateChanged",
    ]
    created = receiver.received[0]
    assert created.query["OptPlatform"] == "iOS"
    assert created.body["RoomInfo"]["Owner_Account"] == "host"
    left = receiver.received[-1].body
    assert (left["EventType"], left["EventCause"], left["MemberList"]) == (
        "Offline",
        "Leave",
        [{"Member_Account": "bob"}],
    )


def test_an_empty_room_is_destroyed_by_the_system_after_the_configured_time(
    app_user, emulator, http, receiver
):
    # Given a room its only viewer has left
    app_user("create_room", "host", RoomId="r1")
    app_user("leave_room", "host", RoomId="r1")
    http.post(f"{emulator.base_url}/emulator/v1/config", json={"auto_destroy_after": 600})
    # When 599 s pass it is still there; at 600 s it is gone
    http.post(f"{emulator.base_url}/emulator/v1/clock", json={"advance": 599})
    assert http.get(f"{emulator.base_url}/emulator/v1/rooms/r1").status_code == 200
    http.post(f"{emulator.base_url}/emulator/v1/clock", json={"advance": 1})
    assert http.get(f"{emulator.base_url}/emulator/v1/rooms/r1").status_code == 404
    (destroyed,) = receiver.wait_for("Live.CallbackAfterDestroyRoom")
    assert destroyed.body["EventType"] == "DestroyBySystem"


# --- before-callbacks: what the sending user sees -------------------------------------------------


def before_answering(answer: Any, **config: Any):
    """An emulator whose webhooks go to a receiver that answers before-callbacks with ``answer``."""

    def respond(received: Received) -> dict[str, Any]:
        if not received.command.startswith(("Group.CallbackBefore", "Live.CallbackBefore")):
            return OK
        if answer == "slow":
            time.sleep(2.3)  # past Tencent's 2 s
            return OK
        if answer == "error":
            raise RuntimeError("the receiver crashed")  # the handler dies: no answer at all
        return answer

    receiver = WebhookReceiver(answer=respond).start()
    emulator = Emulator(
        EmulatorConfig(sdk_app_id=SDK_APP_ID, secret_key=KEY, admin=ADMIN, webhook_url=receiver.url, **config)
    ).start()
    return receiver, emulator


def comment_and_gift(emulator: Emulator) -> tuple[dict[str, Any], dict[str, Any]]:
    with httpx.Client(timeout=10) as http:

        def act(action: str, user: str, **fields: Any) -> dict[str, Any]:
            body = {"UserId": user, "Platform": "Android", **fields}
            reply: dict[str, Any] = http.post(
                f"{emulator.base_url}/emulator/v1/client/{action}", json=body
            ).json()
            return reply

        act("create_room", "host", RoomId="r1")
        act("enter_room", "bob", RoomId="r1")
        comment = act("send_text_msg", "bob", RoomId="r1", Text="buy followers at spam.example")
        gift = act("send_gift", "bob", RoomId="r1", GiftId="rose")
        return comment, gift


@pytest.mark.parametrize(
    ("answer", "comment_code", "comment_outcome", "text", "gift_code"),
    [
        (
            {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""},
            0,
            "delivered",
            "buy followers at spam.example",
            0,
        ),
        ({"ActionStatus": "OK", "ErrorCode": 1, "ErrorInfo": "no"}, 10016, "rejected", None, 10016),
        ({"ActionStatus": "OK", "ErrorCode": 2, "ErrorInfo": ""}, 0, "dropped", None, 10016),
        (
            {
                "ActionStatus": "OK",
                "ErrorCode": 0,
                "ErrorInfo": "",
                "MsgBody": [{"MsgType": "TIMTextElem", "MsgContent": {"Text": "buy followers at ***"}}],
            },
            0,
            "delivered",
            "buy followers at ***",
            0,
        ),
        ({"ActionStatus": "OK", "ErrorCode": 10150, "ErrorInfo": "custom"}, 10150, "rejected", None, 10016),
        ("slow", 0, "delivered", "buy followers at spam.example", 10016),
        ("error", 0, "delivered", "buy followers at spam.example", 10016),
    ],
    ids=["deliver", "reject", "drop", "rewrite", "pass-through-code", "slow", "error"],
)
def test_the_senders_see_what_the_before_callback_decided(
    answer, comment_code, comment_outcome, text, gift_code
):
    # Given a receiver answering before-callbacks so
    receiver, emulator = before_answering(answer)
    try:
        # When a viewer comments and sends a gift
        comment, gift = comment_and_gift(emulator)
    finally:
        emulator.stop()
        receiver.stop()
    # Then the comment is delivered, rejected (with its code), dropped or rewritten, and the gift
    # goes through only on an explicit 0 (a timeout or error blocks it, Tencent's default)
    assert comment["ErrorCode"] == comment_code
    assert comment["Response"]["outcome"] == comment_outcome
    if comment_outcome == "delivered":
        assert comment["Response"]["text"] == text
    assert gift["ErrorCode"] == gift_code


def test_a_gift_is_allowed_on_timeout_when_configured_non_blocking():
    receiver, emulator = before_answering("slow", gift_failure_policy="allow")
    try:
        _, gift = comment_and_gift(emulator)
    finally:
        emulator.stop()
        receiver.stop()
    assert gift["ErrorCode"] == 0


def test_deliveries_are_recorded_with_their_outcome_and_latency(app_user, emulator, http, receiver):
    app_user("create_room", "host", RoomId="r1")
    records = http.get(f"{emulator.base_url}/emulator/v1/webhooks").json()["webhooks"]
    assert [r["command"] for r in records][:2] == [
        "Live.CallbackAfterCreateRoom",
        "Live.CallbackAfterMemberStateChanged",
    ]
    assert all(r["outcome"] == "ok" and r["latency_ms"] >= 0 and r["signed"] for r in records)
    assert all("Sign" not in r["query"] for r in records)  # the signature is not kept


def test_a_failing_receiver_is_recorded_as_a_failed_delivery(emulator_config, http):
    # Given webhooks pointed at a port nobody listens on
    with WebhookReceiver() as gone:
        url = gone.url
    config = EmulatorConfig(
        sdk_app_id=SDK_APP_ID, secret_key=KEY, admin=ADMIN, webhook_url=url, callback_token=TOKEN
    )
    with Emulator(config) as emulator:
        http.post(
            f"{emulator.base_url}/emulator/v1/client/create_room", json={"UserId": "host", "RoomId": "r1"}
        )
        records = http.get(f"{emulator.base_url}/emulator/v1/webhooks").json()["webhooks"]
    assert records
    assert {r["outcome"] for r in records} == {"connection_error"}


# --- kicks and the Chat side ------------------------------------------------------------------------


def test_a_ban_reports_the_member_offline_as_kicked(client, app_user, receiver):
    # Given bob watching a room
    app_user("create_room", "host", RoomId="r1")
    app_user("enter_room", "bob", RoomId="r1")
    # When the admin bans him over REST
    client.execute("ban_member", {"RoomId": "r1", "MemberList_Account": ["bob"], "Duration": 600})
    # Then the member-state callback says Offline with cause Kicked (trtc.io 64424), not Leave
    *_, kicked = receiver.wait_for("Live.CallbackAfterMemberStateChanged", count=3)
    assert (kicked.body["EventType"], kicked.body["EventCause"], kicked.body["MemberList"]) == (
        "Offline",
        "Kicked",
        [{"Member_Account": "bob"}],
    )
    assert kicked.query["OptPlatform"] == "RESTAPI"


def test_chat_side_callbacks_reach_the_chat_url_signed_with_the_chat_token(http):
    # Given an emulator whose Chat console has its own URL and token
    with (
        WebhookReceiver(token=TOKEN) as live,
        WebhookReceiver(token="chat-console-token") as chat,
        Emulator(
            EmulatorConfig(
                sdk_app_id=SDK_APP_ID,
                secret_key=KEY,
                admin=ADMIN,
                webhook_url=live.url,
                callback_token=TOKEN,
                chat_webhook_url=chat.url,
                chat_callback_token="chat-console-token",
            )
        ) as emulator,
    ):
        # When a room is created and a viewer comments in it
        for action, user, fields in (
            ("create_room", "host", {"RoomId": "r1"}),
            ("send_text_msg", "host", {"RoomId": "r1", "Text": "hello"}),
        ):
            http.post(f"{emulator.base_url}/emulator/v1/client/{action}", json={"UserId": user, **fields})
        # Then the Live callbacks reach the Live URL and the comment's the Chat URL, each validly
        # signed with its own side's token
        (created,) = live.wait_for("Live.CallbackAfterCreateRoom")
        (before,) = chat.wait_for("Group.CallbackBeforeSendMsg")
        (sent,) = chat.wait_for("Group.CallbackAfterSendMsg")
        assert [created.signature, before.signature, sent.signature] == ["valid"] * 3
        assert not any(command.startswith("Group.") for command in live.commands())
        assert not any(command.startswith(("Live.", "Mic.")) for command in chat.commands())


def test_a_rest_call_is_in_the_call_log_while_it_still_runs(http):
    # Given a receiver that holds the message before-callback until told to answer
    asked, release = threading.Event(), threading.Event()

    def respond(received: Received) -> dict[str, Any]:
        if received.command == "Group.CallbackBeforeSendMsg":
            asked.set()
            release.wait(5)
        return OK

    with (
        WebhookReceiver(answer=respond) as receiver,
        Emulator(
            EmulatorConfig(sdk_app_id=SDK_APP_ID, secret_key=KEY, admin=ADMIN, webhook_url=receiver.url)
        ) as emulator,
    ):
        client = LiveClient(
            sdk_app_id=SDK_APP_ID,
            secret_key=KEY,
            admin_identifier=ADMIN,
            base_url=emulator.base_url,
            http=http,
        )
        client.call(CreateRoom.model_validate({"RoomInfo": {"RoomId": "r1", "Owner_Account": "host"}}))
        # When the admin sends a message, which waits for its before-callback
        sending = threading.Thread(
            target=lambda: client.call(SendTextMsg(room_id="r1", sender_account="host", text_content="hi"))
        )
        sending.start()
        assert asked.wait(5)

        def logged() -> list[dict[str, Any]]:
            calls = http.get(f"{emulator.base_url}/emulator/v1/calls").json()["calls"]
            return [call for call in calls if call["command"] == "send_text_msg"]

        # Then the call log already shows it, in flight: whoever sees its effects finds the call too
        [in_flight] = logged()
        assert (in_flight["code"], in_flight["info"]) == (None, "in flight")
        release.set()
        sending.join(5)
        # And once it answered, the same entry holds its outcome
        [done] = logged()
        assert (done["code"], done["request_id"] is not None) == (0, True)
