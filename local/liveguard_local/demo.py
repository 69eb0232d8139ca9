"""`make demo`, for now: the Tencent Live emulator, an app user, LiveClient, and the webhooks between.

A host creates a room and sets metadata from the app; LiveClient (as the app admin) reads it,
deletes a key, is refused locally for an over-limit write, and destroys the room. Every webhook the
emulator fires lands on a loopback receiver that checks its signature, and the timeline is printed.
It exits 0 only if every expected effect is visible in the emulator's state and webhooks.
"""

from __future__ import annotations

import json
import secrets
import sys
from typing import Any

import httpx

from liveguard.tencent.client import LiveClient
from liveguard.tencent.commands.metadata import DelRoomMetadata, GetRoomMetadata
from liveguard.tencent.commands.rooms import DestroyRoom
from liveguard.tencent.errors import TencentApiError
from liveguard_local.emulator.server import Emulator, EmulatorConfig
from liveguard_local.receiver import WebhookReceiver

SDK_APP_ID = 1400000001
ADMIN = "administrator"
ROOM = "demo-room"


def step(text: str) -> None:
    print(f"\n== {text}")


def main() -> int:
    key, token = secrets.token_hex(16), secrets.token_hex(16)  # made up for this run only
    failures: list[str] = []

    def expect(condition: bool, what: str) -> None:
        print(f"   {'ok  ' if condition else 'FAIL'} {what}")
        if not condition:
            failures.append(what)

    with (
        WebhookReceiver(token=token) as receiver,
        Emulator(
            EmulatorConfig(
                sdk_app_id=SDK_APP_ID,
                secret_key=key,
                admin=ADMIN,
                webhook_url=receiver.url,
                callback_token=token,
            )
        ) as emulator,
        httpx.Client(timeout=10) as http,
    ):
        print(f"emulator {emulator.base_url}, webhooks -> {receiver.url} (signed)")
        client = LiveClient(
            sdk_app_id=SDK_APP_ID,
            secret_key=key,
            admin_identifier=ADMIN,
            base_url=emulator.base_url,
            http=http,
        )

        def app(action: str, user: str, **fields: Any) -> dict[str, Any]:
            reply: dict[str, Any] = http.post(
                f"{emulator.base_url}/emulator/v1/client/{action}",
                json={"UserId": user, "Platform": "iOS", **fields},
            ).json()
            print(f"   app  {user}: {action} -> ErrorCode {reply['ErrorCode']} {reply.get('ErrorInfo', '')}")
            return reply

        step("a host creates a room in the app, and a viewer comes in")
        app("create_room", "host", RoomId=ROOM, RoomName="Chess night")
        app("enter_room", "viewer", RoomId=ROOM)

        step("the host sets room metadata from the app")
        app(
            "set_room_metadata",
            "host",
            RoomId=ROOM,
            Metadata=[{"Key": "topic", "Value": "chess"}, {"Key": "lang", "Value": "en"}],
        )

        step("LiveClient (the app admin) reads it, then deletes a key")
        metadata = client.call(GetRoomMetadata(room_id=ROOM)).as_dict()
        print(f"   rest get_room_metadata -> {metadata}")
        expect(metadata == {"topic": "chess", "lang": "en"}, "the admin reads what the host set")
        client.call(DelRoomMetadata(room_id=ROOM, keys=["lang"]))
        print("   rest del_room_metadata lang -> OK")

        step("an over-limit write is refused before it is sent, with Tencent's code")
        try:
            client.execute(
                "set_room_metadata", {"RoomId": ROOM, "Metadata": [{"Key": "big", "Value": "x" * 3000}]}
            )
        except TencentApiError as error:
            print(f"   {error}")
            expect(error.code == 100501 and error.local, "refused locally with 100501")

        step("LiveClient destroys the room")
        statistic = client.call(DestroyRoom(room_id=ROOM)).statistic
        print(f"   rest destroy_room -> Statistic {json.dumps(statistic.model_dump(by_alias=True))}")
        expect(statistic.total_viewers >= 1, "the room's statistics count the viewer's entry")

        step("what the emulator says now")
        room = http.get(f"{emulator.base_url}/emulator/v1/rooms/{ROOM}")
        expect(room.status_code == 404, "the room is gone")
        deliveries = http.get(f"{emulator.base_url}/emulator/v1/webhooks").json()["webhooks"]
        receiver.wait_for("Live.CallbackAfterDestroyRoom")

        step("the webhooks, in order")
        for delivery in deliveries:
            body = delivery["body"]
            who = body.get("Operator_Account", "")
            print(
                f"   {delivery['command']:<40} {delivery['query'].get('OptPlatform', ''):<8} "
                f"operator={who!s:<14} {delivery['outcome']} {delivery['latency_ms']:.1f} ms"
            )
        commands = [delivery["command"] for delivery in deliveries]
        for expected in (
            "Live.CallbackAfterCreateRoom",
            "Live.CallbackAfterMemberStateChanged",
            "Live.CallbackAfterSetMetadata",
            "Live.CallbackAfterDelMetadata",
            "Live.CallbackAfterDestroyRoom",
        ):
            expect(expected in commands, f"{expected} was delivered")
        expect(all(r.signature == "valid" for r in receiver.received), "every webhook's Sign verified")
        expect(all(d["outcome"] == "ok" for d in deliveries), "every delivery succeeded")

    print(f"\n{'demo passed' if not failures else f'demo FAILED: {failures}'}")
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
