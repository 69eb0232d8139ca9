"""Tencent's CallbackCommand names that code acts on by name, and which side of Tencent sends each:
one source for the webhook models, the rules, the ingress, the settings and the emulator.

Standard library only: the settings and the ingress import it on their cold-start path.
"""

from __future__ import annotations

CREATE_ROOM = "Live.CallbackAfterCreateRoom"
UPDATE_ROOM = "Live.CallbackAfterUpdateRoomInfo"
SET_METADATA = "Live.CallbackAfterSetMetadata"
DEL_METADATA = "Live.CallbackAfterDelMetadata"
MESSAGE_BEFORE = "Group.CallbackBeforeSendMsg"
MESSAGE_AFTER = "Group.CallbackAfterSendMsg"
GIFT_BEFORE = "Live.CallbackBeforeSendGift"
MODERATION_RESULT = "ContentCallback.ResultNotify"

BEFORE_COMMANDS: frozenset[str] = frozenset({MESSAGE_BEFORE, GIFT_BEFORE})
"""The synchronous callbacks: Tencent waits (2 s) for our verdict."""

LIVE_SIDE_NAMESPACES = ("Live.", "Mic.")
"""Callbacks Tencent's Live side sends (configured with live_config, signed with its token); every
other namespace is the Chat side's (configured in the Chat console, signed with the Chat token)."""


def is_live_side(command: str) -> bool:
    """Whether Tencent's Live side sends this CallbackCommand (else the Chat side does)."""
    return command.startswith(LIVE_SIDE_NAMESPACES)
