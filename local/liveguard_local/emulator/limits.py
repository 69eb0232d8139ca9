"""Tencent's error codes and limits, as the emulator applies them, and its defaults.

Documented values name their source; where Tencent's docs are silent the emulator makes a choice,
each a named constant here with the reason (see also docs/emulator.md).
"""

from __future__ import annotations

from .callbacks import Actor

# --- error codes --------------------------------------------------------------------------------
# Documented by Tencent (reference §5, seed pages):
INVALID_PARAMETER = 100002
ROOM_EXISTS = 100003
ROOM_NOT_FOUND = 100004
NO_PERMISSION = 100006
ADMIN_LIMIT_EXCEEDED = 100020
SEATS_DISABLED = 100211  # lock_seat page (647/60716): "this room does not support seat connection"
TOO_MANY_KEYS = 100500
VALUE_TOO_LARGE = 100501
VALUES_TOO_LARGE = 100502
NO_VALID_KEY = 100503
NOT_IN_GROUP = 10007  # Chat: insufficient permission, e.g. sending into a group one is not in
REJECTED_BY_CALLBACK = 10016  # Chat: the before-send callback refused the message
SENDER_MUTED = 10017  # Chat: the sender is muted (or the whole group is)
MESSAGE_TOO_LARGE = 80002
CHAT_INVALID_PARAMETER = 10004  # Chat (1047/34348): a request parameter is invalid
GROUP_NOT_FOUND = 10010  # Chat (1047/34348): the group does not exist or was disbanded
UNKNOWN_COMMAND = 60009
CALLBACK_EXISTS = 100300  # live_config/set_callback when a configuration exists (647/64420)
NO_CALLBACK = 100301  # live_config/update_callback, get_callback when none exists (269/117540)
NO_CALLBACK_TOKEN = 100302  # live_config/get_callback_token when no token was set (trtc.io 69529)
# Emulator choices (Tencent documents no code for these):
BANNED_FROM_ROOM = 100013
"""enter_room by a banned user before BannedUntil (Tencent documents the ban, not the refusal's code)."""
GIFT_REJECTED = REJECTED_BY_CALLBACK
"""A gift the before-callback refused with ErrorCode 1 (or any code outside 102100..102200)."""

# --- Live.CallbackAfterMemberStateChanged EventCause values (trtc.io/document/64424) ---------------
ENTER = "Enter"
LEAVE = "Leave"
KICKED = "Kicked"
"""A member removed by the app admin, the owner or a room admin: ban_member (trtc.io 64424)."""

# --- limits and defaults --------------------------------------------------------------------------
ROOM_ID_MAX_BYTES = 48
ROOM_NAME_MAX_BYTES = 100
NOTICE_MAX_BYTES = 100
URL_MAX_BYTES = 200
MAX_CATEGORIES = 3
MAX_ROOM_ADMINS = 5
MAX_METADATA_KEYS = 10
MAX_KEY_BYTES = 50
MAX_VALUE_BYTES = 2 * 1024
MAX_TOTAL_VALUE_BYTES = 16 * 1024
MAX_BAN_ACCOUNTS = 20
BAN_REASON_MAX_BYTES = 200
MAX_MESSAGE_BYTES = 8 * 1024
MESSAGE_PASS_THROUGH = range(10100, 10201)
GIFT_PASS_THROUGH = range(102100, 102201)
DEFAULT_AUTO_DESTROY_AFTER = 1800.0  # Tencent's default for apps created since 2025-05-20

DEFAULT_MAX_SEAT_COUNT = 10
"""Seats when create_room gives no MaxSeatCount (Tencent: "the package maximum")."""
DEFAULT_MAX_MEMBER_COUNT = 1000
"""MaxMemberCount when not given (Tencent: "the package limit"). Stored and reported, not enforced."""
DEFAULT_GIFT_COINS = 1
"""The unit price of a gift id that is not in the catalogue, so tests need not configure one."""
SYSTEM_OPERATOR = ""
"""Operator_Account of what the system does by itself (auto-destroy): no account did it."""
SYSTEM_ACTOR = Actor(SYSTEM_OPERATOR, platform="Unknown")
MEMBER_PAGE_SIZE = 100
"""Members per get_member_list page (Tencent returns at most 1000; a smaller page exercises Next)."""
ROOM_LIST_MAX_COUNT = 20

# --- the gift catalogue's limits (gift pages 72845, 72848) ----------------------------------------
CATALOGUE_ID_MAX_BYTES = 20
GIFT_TEXT_MAX_BYTES = 20
CATEGORY_DESC_MAX_BYTES = 60
EXTENSION_INFO_MAX_BYTES = 100
MAX_CATALOGUE_GIFTS = 16
MAX_CATALOGUE_CATEGORIES = 3
SUPPORTED_LANGUAGES = ("en", "zh-Hans", "zh-Hant")

TAKE_SEAT_MODES = ("FreeToTake", "ApplyToTake")
CLIENT_PLATFORMS = ("Android", "iOS", "Web", "Windows", "Mac", "iPad", "Unknown")
