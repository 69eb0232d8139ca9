"""The seam between the emulated backend (world) and webhook delivery (webhooks).

The world describes each callback Tencent would fire as a `Callback`; the dispatcher delivers
after-callbacks asynchronously (in order per `order_key`) and before-callbacks synchronously,
answering with a `BeforeAnswer` that already applies Tencent's timeout/error defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

RESTAPI = "RESTAPI"


@dataclass(frozen=True)
class Actor:
    """Who made a change: the app admin over REST, or an app user from a client platform."""

    user_id: str
    platform: str = RESTAPI  # OptPlatform: RESTAPI, Android, iOS, Web, Windows, Mac, iPad, Unknown
    client_ip: str = "127.0.0.1"


@dataclass(frozen=True)
class Callback:
    command: str  # CallbackCommand, e.g. "Live.CallbackAfterSetMetadata"
    body: dict[str, Any]  # the documented body, including "CallbackCommand" and "EventTime" (ms)
    order_key: str  # the RoomId (or GroupId); "app" for app-level callbacks
    platform: str = RESTAPI  # OptPlatform query parameter
    client_ip: str = "127.0.0.1"  # ClientIP query parameter


BeforeOutcome = Literal["answered", "timeout", "error", "not_configured"]


@dataclass(frozen=True)
class BeforeAnswer:
    """What the backend must do with a message or gift after its before-callback.

    ``error_code`` is already resolved: the receiver's ErrorCode when it answered, else Tencent's
    default for that callback (messages are delivered: 0; gifts are blocked: 1), or whatever the
    emulator was configured to do instead. For messages: 0 deliver (with ``msg_body`` /
    ``cloud_custom_data`` rewritten when given), 1 reject (the sender gets 10016), 2 drop silently,
    10100..10200 reject with that code. For gifts: 0 allow, 1 reject, 102100..102200 reject with it.
    """

    error_code: int
    error_info: str = ""
    msg_body: list[dict[str, Any]] | None = None
    cloud_custom_data: str | None = None
    outcome: BeforeOutcome = "answered"
    delivery_id: int | None = None  # the record in GET /emulator/v1/webhooks
    extra: dict[str, Any] = field(default_factory=dict)


class WebhookHooks(Protocol):
    """What the world needs from webhook delivery."""

    def after(self, callback: Callback) -> None:
        """Queue an after-callback; returns at once."""

    def before(self, callback: Callback) -> BeforeAnswer:
        """Deliver a before-callback and wait (at most the timeout) for the verdict."""

    def set_callback(self, url: str, commands: list[str]) -> None:
        """live_config/set_callback and update_callback: the URL, and the commands it receives."""

    def get_callback(self) -> tuple[str, list[str]] | None:
        """live_config/get_callback: (URL, commands), None when nothing is configured."""

    def set_token(self, token: str | None, enabled: bool | None) -> None:
        """live_config/set_callback_token: change the token and/or whether it is used."""

    def get_token(self) -> tuple[str | None, bool]:
        """live_config/get_callback_token: (token, enabled)."""
