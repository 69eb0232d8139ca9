"""`make demo`, for now: LiveClient against a loopback server that checks calls as Tencent does.

It shows the wire (path, query, body), a typed reply, a request refused locally with Tencent's
ErrorCode, and a rate-limited burst. The Tencent Live emulator (rooms, webhooks) replaces the stub
when it lands.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import httpx

from liveguard.tencent.client import LiveClient
from liveguard.tencent.commands.metadata import SetRoomMetadata
from liveguard.tencent.commands.rooms import CreateRoom, DestroyRoom, GetRoomList
from liveguard.tencent.errors import TencentApiError
from liveguard_local.tencent_stub import answer_ok, running_stub

SDK_APP_ID = 1400000001
ADMIN = "administrator"
DEMO_KEY = "demo-secret-key-not-a-real-one"


def answer(command: str, body: dict[str, Any]) -> dict[str, Any]:
    reply = answer_ok(command, body)
    if command == "destroy_room":
        reply["Response"] = {"Statistic": {"TotalViewers": 3, "TotalLikesReceived": 12}}
    return reply


def show_request(request: httpx.Request) -> None:
    query = {k: ("<UserSig>" if k == "usersig" else v) for k, v in request.url.params.items()}
    print(f"  -> POST {request.url.path} {query}")
    print(f"     {request.content.decode()}")


def main() -> int:
    with running_stub(SDK_APP_ID, DEMO_KEY, ADMIN, answer) as stub:
        http = httpx.Client(event_hooks={"request": [show_request]})
        client = LiveClient(
            sdk_app_id=SDK_APP_ID,
            secret_key=DEMO_KEY,
            admin_identifier=ADMIN,
            base_url=stub.base_url,
            http=http,
        )
        print(f"{client!r}\n")

        print("1. create a room")
        client.call(CreateRoom.model_validate({"RoomInfo": {"RoomId": "demo-room", "Owner_Account": "host"}}))

        print("\n2. set room metadata")
        client.call(SetRoomMetadata.of("demo-room", {"topic": "chess", "lang": "en"}))

        print("\n3. eleven metadata keys: refused before sending, with Tencent's code")
        try:
            client.execute(
                "set_room_metadata",
                {"RoomId": "demo-room", "Metadata": [{"Key": f"k{i}", "Value": "v"} for i in range(11)]},
            )
        except TencentApiError as error:
            print(f"  !! {error}")

        print("\n4. a burst of 15 get_room_list calls (10/s): the client waits rather than earn a 60007")
        http.event_hooks["request"] = []
        started = time.monotonic()
        for _ in range(15):
            client.call(GetRoomList())
        print(f"  15 calls took {time.monotonic() - started:.2f}s")
        http.event_hooks["request"] = [show_request]

        print("\n5. destroy the room: a typed reply")
        reply = client.call(DestroyRoom(room_id="demo-room"))
        statistic = json.dumps(reply.statistic.model_dump(by_alias=True))
        print(f"  <- RequestId {reply.request_id}, Statistic {statistic}")

        refused = stub.record.refused
    print(
        f"\nthe server accepted {len(stub.record.arrivals) - len(refused)} calls and refused {len(refused)}"
    )
    return 0 if not refused else 1


if __name__ == "__main__":
    sys.exit(main())
