"""A running local stack as its users and Tencent see it, over HTTP: the emulator's client API (app
users acting), its inspection endpoints (rooms, calls, webhooks), and Tencent's Chat side posting a
content-moderation result. ``make demo`` plays its scenario through it; tests/e2e drive it too.

Only the standard library is imported at module level: the stack's function processes are spawned,
and a spawned process imports the main module (the demo) and so this one before its function's
environment is set.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from liveguard.tencent.client import LiveClient
    from liveguard_local.stack import LocalStack

TIMEOUT = 20.0  # seconds to wait for any one asynchronous effect
MODERATION = "ContentCallback.ResultNotify"


def wait_until[T](check: Callable[[], T], timeout: float = TIMEOUT, interval: float = 0.05) -> T | None:
    """Poll ``check`` until it returns something truthy (returned), or None after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


class Driver:
    """A running stack seen from outside, over HTTP only: app users through the emulator's client
    API, its state and records, REST calls as the app admin, and cloud-moderation results posted to
    LiveGuard's callback URL as Tencent sends them (the emulator does not emit those)."""

    def __init__(
        self, http: httpx.Client, *, emulator_url: str, callback_url: str, secret: dict[str, Any]
    ) -> None:
        self.http = http
        self.emulator_url = emulator_url
        self.callback_url = callback_url
        self.sdk_app_id = int(secret["SdkAppId"])
        self.admin_identifier = str(secret["AdminIdentifier"])
        self._secret_key = str(secret["SecretKey"])
        # The moderation result it posts is a Chat-side callback: signed with the Chat side's token.
        self._chat_token = str(secret.get("ChatCallbackToken") or secret["CallbackToken"])
        self._client: LiveClient | None = None

    @classmethod
    def of(cls, stack: LocalStack, http: httpx.Client) -> Driver:
        return cls(
            http,
            emulator_url=stack.emulator_url,
            callback_url=stack.callback_url,
            secret=stack.settings()["secret"],
        )

    # --- the emulator -----------------------------------------------------------------------------

    def act(self, action: str, user: str, platform: str = "Android", **fields: Any) -> dict[str, Any]:
        """An app user's action (POST /emulator/v1/client/<action>); Tencent's envelope."""
        reply: dict[str, Any] = self.http.post(
            f"{self.emulator_url}/emulator/v1/client/{action}",
            json={"UserId": user, "Platform": platform, **fields},
        ).json()
        return reply

    def room(self, room_id: str) -> dict[str, Any] | None:
        """The room's whole state, or None once it does not exist."""
        response = self.http.get(f"{self.emulator_url}/emulator/v1/rooms/{room_id}")
        if response.status_code == 404:
            return None
        response.raise_for_status()
        state: dict[str, Any] = response.json()
        return state

    def metadata(self, room_id: str) -> dict[str, str]:
        room = self.room(room_id) or {}
        return {item["Key"]: item["Value"] for item in room.get("Metadata", [])}

    def webhooks(self) -> list[dict[str, Any]]:
        """Every delivery attempt, oldest first (the emulator answers once pending ones are done)."""
        records: list[dict[str, Any]] = self.http.get(f"{self.emulator_url}/emulator/v1/webhooks").json()[
            "webhooks"
        ]
        return records

    def calls(self, command: str | None = None, room_id: str | None = None) -> list[dict[str, Any]]:
        """The REST calls the emulator received, oldest first; optionally one command, one room."""
        calls: list[dict[str, Any]] = self.http.get(f"{self.emulator_url}/emulator/v1/calls").json()["calls"]
        return [
            call
            for call in calls
            if (command is None or call["command"] == command)
            and (room_id is None or call_room(call) == room_id)
        ]

    # --- as the app admin, and as Tencent's cloud moderation -------------------------------------

    def admin(self, command: str, params: dict[str, Any]) -> None:
        """A REST call as the app admin (what an operator's backend does), through LiveClient."""
        if self._client is None:
            from liveguard.tencent.client import LiveClient

            self._client = LiveClient(
                sdk_app_id=self.sdk_app_id,
                secret_key=self._secret_key,
                admin_identifier=self.admin_identifier,
                base_url=self.emulator_url,
                http=self.http,
            )
        self._client.execute(command, params)

    def moderation_result(
        self, room_id: str, *, user: str, label: str, request_id: str, content_type: str = "Image"
    ) -> httpx.Response:
        """POST a ContentCallback.ResultNotify for content ``user`` sent to ``room_id``, with the query
        Tencent sends (SdkAppid, CallbackCommand, contenttype, ClientIP, OptPlatform, RequestTime and
        Sign, made with the stack's callback token)."""
        from liveguard.tencent.webhook_signature import webhook_sign

        body = {
            "CallbackCommand": MODERATION,
            "Scene": "Group",
            "SdkAppId": self.sdk_app_id,
            "From_Account": user,
            "ContactItem": {"ContactType": 2, "ToGroupId": room_id},
            "ContentType": content_type,
            "TextContent": [],
            "MsgID": f"msg-{request_id}",
            "CtxcbResult": 1,
            "CtxcbRequestId": request_id,
            "CtxcbKeywords": [],
            "CtxcbSuggestion": "Block",
            "CtxcbLabel": label,
            "CtxcbSubLabel": "",
            "CtxcbSubLabelDesc": "",
            "CtxcbLibName": "",
            "CloudCustomData": "",
        }
        stamp = int(time.time())
        query = {
            "SdkAppid": str(self.sdk_app_id),
            "CallbackCommand": MODERATION,
            "contenttype": "json",
            "ClientIP": "127.0.0.1",
            "OptPlatform": "RESTAPI",
            "RequestTime": str(stamp),
            "Sign": webhook_sign(self._chat_token, stamp),
        }
        return self.http.post(
            self.callback_url,
            params=query,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )


def call_room(call: dict[str, Any]) -> str | None:
    """The room a REST call is for: ``RoomId``, ``RoomInfo.RoomId`` (create/update_room_info), or
    Chat's ``GroupId`` (send_group_msg: a live room's group is its RoomId)."""
    body = call["body"] if isinstance(call["body"], dict) else {}
    room = body.get("RoomId") or (body.get("RoomInfo") or {}).get("RoomId") or body.get("GroupId")
    return str(room) if room is not None else None


def call_started(call: dict[str, Any]) -> float:
    """When a REST call reached the emulator (its record is made when it answered). The demo never
    moves the emulator's clock, so the record's time is real time."""
    return float(call["at"]) - float(call["latency_ms"]) / 1000
