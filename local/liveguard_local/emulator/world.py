"""The emulated Tencent Live backend: rooms and what happens in them, and the app's gift catalogue.

``World`` is Tencent's side of every REST command and every end-user action. It keeps the state in
memory, answers with Tencent's error codes (``ApiError``) and describes every change as the callback
Tencent would fire (``WebhookHooks.after``), in the order the changes happened.

Locking: one re-entrant lock guards all state. After-callbacks are queued while it is held, so their
order is the order of the changes. Before-callbacks (message and gift moderation) can take up to
2 s, so they are called with the lock released: check, release, ask, re-acquire, re-check the room,
apply. A slow moderation hook in one room never stalls another room.

Where Tencent's docs are silent the emulator makes a choice; each is a named constant (in ``limits``
for this module) with the reason (see also docs/emulator.md).
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from .body import Body, invalid, room_id_of, utf8_len
from .callbacks import Actor, BeforeAnswer, Callback, WebhookHooks
from .catalogue import GiftCatalogue
from .clock import Clock
from .errors import ApiError
from .limits import (
    ADMIN_LIMIT_EXCEEDED,
    BANNED_FROM_ROOM,
    DEFAULT_AUTO_DESTROY_AFTER,
    ENTER,
    GIFT_PASS_THROUGH,
    GIFT_REJECTED,
    KICKED,
    LEAVE,
    MAX_BAN_ACCOUNTS,
    MAX_KEY_BYTES,
    MAX_MESSAGE_BYTES,
    MAX_METADATA_KEYS,
    MAX_ROOM_ADMINS,
    MAX_TOTAL_VALUE_BYTES,
    MAX_VALUE_BYTES,
    MEMBER_PAGE_SIZE,
    MESSAGE_PASS_THROUGH,
    MESSAGE_TOO_LARGE,
    NO_PERMISSION,
    NO_VALID_KEY,
    NOT_IN_GROUP,
    REJECTED_BY_CALLBACK,
    ROOM_EXISTS,
    ROOM_LIST_MAX_COUNT,
    ROOM_NOT_FOUND,
    SEATS_DISABLED,
    SENDER_MUTED,
    SYSTEM_ACTOR,
    TOO_MANY_KEYS,
    VALUE_TOO_LARGE,
    VALUES_TOO_LARGE,
)
from .room import (
    UPDATABLE,
    GiftOutcome,
    GiftRecord,
    MessageOutcome,
    MessageRecord,
    Room,
    Seat,
    check_msg_body,
    message_bytes,
    new_room_info,
    room_info_fields,
)


class World:
    """Tencent's live backend for one app: every room, the gift catalogue, and the callbacks they fire.

    Every public method first runs ``tick()`` (so advancing the clock and then making any call
    applies auto-destroy), then checks as Tencent does and raises ``ApiError`` with Tencent's code.
    """

    def __init__(
        self,
        admin: str,
        clock: Clock,
        hooks: WebhookHooks,
        *,
        auto_destroy_after: float = DEFAULT_AUTO_DESTROY_AFTER,
    ) -> None:
        self.admin = admin
        self.clock = clock
        self.hooks = hooks
        self._lock = threading.RLock()
        self._rooms: dict[str, Room] = {}
        self._initial_auto_destroy_after = auto_destroy_after
        self._auto_destroy_after = auto_destroy_after
        self._msg_counter = 0
        self.catalogue = GiftCatalogue(self._lock, clock)

    # --- housekeeping -------------------------------------------------------------------------

    def tick(self) -> list[str]:
        """Apply the passage of time: expire bans and mutes, auto-destroy rooms left empty.

        A room is destroyed by the system (``DestroyBySystem``) once nobody has been in it for
        ``auto_destroy_after`` seconds, counted from the last member leaving; a room nobody ever
        entered, and a room with robots, is kept (seed page "Live room auto-destroy mechanism").
        Returns the ids of the rooms destroyed.
        """
        with self._lock:
            return self._tick()

    def set_auto_destroy_after(self, seconds: float) -> None:
        """Change how long an empty room survives (Tencent allows 10 min to 24 h; any positive time here)."""
        if seconds <= 0:
            raise ValueError("auto-destroy needs a positive number of seconds")
        with self._lock:
            self._auto_destroy_after = seconds

    @property
    def auto_destroy_after(self) -> float:
        with self._lock:
            return self._auto_destroy_after

    def reset(self) -> None:
        """Forget every room and the gift catalogue; auto-destroy goes back to its initial setting."""
        with self._lock:
            self._rooms.clear()
            self.catalogue.clear()
            self._auto_destroy_after = self._initial_auto_destroy_after

    def room_ids(self) -> list[str]:
        with self._lock:
            self._tick()
            return list(self._rooms)

    def snapshot(self, room_id: str) -> dict[str, Any]:
        """The whole state of one room, JSON-able (GET /emulator/v1/rooms/<RoomId>)."""
        with self._lock:
            self._tick()
            room = self._room(room_id)
            now = self.clock.now()
            return {
                "RoomInfo": room.room_info(),
                "Metadata": [{"Key": key, "Value": value} for key, value in room.metadata.items()],
                "MemberList": [{"Member_Account": account} for account in room.members],
                "BannedAccountList": self._active(room.banned, now, "BannedUntil"),
                "MutedAccountList": self._active(room.muted, now, "MutedUntil"),
                "Admin_Account": list(room.admins),
                "SeatList": room.seat_list(),
                "RobotList_Account": list(room.robots),
                "Messages": [message.wire() for message in room.messages],
                "Gifts": [gift.wire() for gift in room.gifts],
                "Statistic": room.stats.with_messages(),
                "GiftCountBySender": {
                    account: {"TotalCount": count, "TotalCoins": coins}
                    for account, (count, coins) in room.stats.gifts_by_sender.items()
                },
                "EverEntered": room.ever_entered,
                "EmptySince": room.empty_since,
                "AutoDestroyAt": self._auto_destroy_at(room),
            }

    # --- rooms ------------------------------------------------------------------------------

    def create_room(self, actor: Actor, room_info: Mapping[str, Any] | Body) -> dict[str, Any]:
        """create_room: a new room from its RoomInfo; the owner defaults to the actor. Returns RoomInfo."""
        body = room_info if isinstance(room_info, Body) else Body(room_info, "RoomInfo")
        with self._lock:
            self._tick()
            info = new_room_info(body, actor.user_id, self.clock.now())
            if info["RoomId"] in self._rooms:
                raise ApiError(ROOM_EXISTS, f"room {info['RoomId']!r} already exists")
            room = Room(info=info, seats=[Seat(index) for index in range(info["MaxSeatCount"])])
            self._rooms[room.room_id] = room
            self._after(
                actor,
                room,
                "Live.CallbackAfterCreateRoom",
                {"Operator_Account": actor.user_id, "RoomInfo": room.room_info()},
            )
            return room.room_info()

    def destroy_room(self, actor: Actor, room_id: str, *, by_user: bool = False) -> dict[str, int]:
        """destroy_room (DestroyByUser); returns the room's Statistic.

        ``by_user``: an app user asks, not the app admin, and only the owner may (else 100006).
        """
        with self._lock:
            self._tick()
            room = self._room(room_id)
            if by_user and actor.user_id != room.owner:
                raise ApiError(NO_PERMISSION, f"only the owner may destroy the room, not {actor.user_id}")
            return self._destroy(room, actor, "DestroyByUser")

    def update_room_info(
        self, actor: Actor, room_info: Mapping[str, Any] | Body, *, by_user: bool = False
    ) -> dict[str, Any]:
        """update_room_info: change the given fields (others kept); returns the full RoomInfo after.

        ``by_user``: an app user asks, and only the owner or a room admin may (else 100006).
        """
        body = room_info if isinstance(room_info, Body) else Body(room_info, "RoomInfo")
        room_id = room_id_of(body)
        changes = room_info_fields(body, UPDATABLE)
        if not changes:
            raise invalid(body.path or "the body", "must change at least one field besides RoomId")
        with self._lock:
            self._tick()
            room = self._room(room_id)
            self._check_moderator(room, actor, by_user)
            room.info.update(changes)
            self._after(
                actor,
                room,
                "Live.CallbackAfterUpdateRoomInfo",
                {"Operator_Account": actor.user_id, "RoomInfo": room.room_info()},
            )
            return room.room_info()

    def get_room_info(self, room_id: str) -> dict[str, Any]:
        with self._lock:
            self._tick()
            return self._room(room_id).room_info()

    def room_list(
        self, next_cursor: str = "", count: int = ROOM_LIST_MAX_COUNT
    ) -> tuple[list[dict[str, Any]], str]:
        """get_room_list: public rooms by ViewCount descending; ``Next`` is the offset, "" when done."""
        if not 1 <= count <= ROOM_LIST_MAX_COUNT:
            raise invalid("Count", f"must be between 1 and {ROOM_LIST_MAX_COUNT}")
        if next_cursor and not next_cursor.isdigit():
            raise invalid("Next", "must be a Next value from an earlier reply")
        offset = int(next_cursor or "0")
        with self._lock:
            self._tick()
            rooms = sorted(
                (room for room in self._rooms.values() if room.info["IsPublicVisible"]),
                key=lambda room: (-room.stats.total_viewers, -room.info["CreateTime"], room.room_id),
            )
            page = rooms[offset : offset + count]
            summaries = [
                {
                    key: info[key]
                    for key in (
                        "RoomId",
                        "RoomName",
                        "Owner_Account",
                        "CoverURL",
                        "Category",
                        "CreateTime",
                        "ActivityStatus",
                        "ViewCount",
                    )
                }
                for info in (room.room_info() for room in page)
            ]
            more = offset + count < len(rooms)
            return summaries, str(offset + count) if more else ""

    # --- metadata ---------------------------------------------------------------------------

    def set_metadata(
        self, actor: Actor, room_id: str, items: Sequence[tuple[str, str]], *, by_user: bool = False
    ) -> None:
        """set_room_metadata: add or overwrite keys; refused as a whole when a limit would be passed.

        ``by_user``: an app user asks, and only the owner or a room admin may (else 100006).
        """
        if not items:
            raise invalid("Metadata", "must hold at least one key")
        seen: set[str] = set()
        for index, (key, value) in enumerate(items):
            if not key or utf8_len(key) > MAX_KEY_BYTES:
                raise invalid(f"Metadata[{index}].Key", f"must be 1 to {MAX_KEY_BYTES} bytes")
            if key in seen:
                raise invalid(f"Metadata[{index}].Key", f"appears more than once: {key!r}")
            seen.add(key)
            if utf8_len(value) > MAX_VALUE_BYTES:
                raise ApiError(VALUE_TOO_LARGE, f"the value of {key!r} is over {MAX_VALUE_BYTES} bytes")
        with self._lock:
            self._tick()
            room = self._room(room_id)
            self._check_moderator(room, actor, by_user)
            merged = dict(room.metadata)
            merged.update(items)
            if len(merged) > MAX_METADATA_KEYS:
                raise ApiError(TOO_MANY_KEYS, f"a room holds at most {MAX_METADATA_KEYS} metadata keys")
            total = sum(utf8_len(value) for value in merged.values())
            if total > MAX_TOTAL_VALUE_BYTES:
                raise ApiError(
                    VALUES_TOO_LARGE,
                    f"metadata values would total {total} bytes, over {MAX_TOTAL_VALUE_BYTES}",
                )
            room.metadata = merged
            self._after(
                actor,
                room,
                "Live.CallbackAfterSetMetadata",
                {
                    "Operator_Account": actor.user_id,
                    "RoomId": room.room_id,
                    "Metadata": [{"Key": key, "Value": value} for key, value in items],
                },
            )

    def del_metadata(
        self, actor: Actor, room_id: str, keys: Sequence[str], *, by_user: bool = False
    ) -> list[str]:
        """del_room_metadata: keys not present are ignored, but if none is present: 100503.

        Returns (and the callback carries) the keys actually deleted. ``by_user`` as for set_metadata.
        """
        with self._lock:
            self._tick()
            room = self._room(room_id)
            self._check_moderator(room, actor, by_user)
            deleted = [key for key in dict.fromkeys(keys) if key in room.metadata]
            if not deleted:
                raise ApiError(NO_VALID_KEY, "none of the given keys is in the room's metadata")
            for key in deleted:
                del room.metadata[key]
            self._after(
                actor,
                room,
                "Live.CallbackAfterDelMetadata",
                {"Operator_Account": actor.user_id, "RoomId": room.room_id, "Keys": deleted},
            )
            return deleted

    def get_metadata(self, room_id: str, keys: Sequence[str] = ()) -> list[dict[str, str]]:
        """get_room_metadata: the named keys that exist, or every key when none is named."""
        with self._lock:
            self._tick()
            room = self._room(room_id)
            wanted = keys or list(room.metadata)
            return [{"Key": key, "Value": room.metadata[key]} for key in wanted if key in room.metadata]

    # --- members ----------------------------------------------------------------------------

    def enter_room(self, actor: Actor, room_id: str) -> dict[str, Any]:
        """A user enters: refused while banned; counts a viewer. Entering while inside changes nothing."""
        with self._lock:
            self._tick()
            room = self._room(room_id)
            now = self.clock.now()
            until = room.banned.get(actor.user_id)
            if until is not None and until > now:
                raise ApiError(BANNED_FROM_ROOM, f"{actor.user_id} is banned from the room until {until}")
            if actor.user_id in room.members:
                return room.room_info()
            room.members[actor.user_id] = now
            room.ever_entered = True
            room.empty_since = None
            room.stats.total_viewers += 1
            self._member_state(actor, room, "Online", ENTER, [actor.user_id])
            return room.room_info()

    def leave_room(self, actor: Actor, room_id: str) -> None:
        """A user leaves (and leaves its seat). Leaving a room one is not in changes nothing."""
        with self._lock:
            self._tick()
            room = self._room(room_id)
            if actor.user_id in room.members:
                self._remove_members(actor, room, [actor.user_id])

    def member_list(self, room_id: str, next_cursor: str = "") -> tuple[list[str], str, int]:
        """get_member_list: one page of online members, the Next cursor ("" = done), MemberCount."""
        if next_cursor and not next_cursor.isdigit():
            raise invalid("Next", "must be a Next value from an earlier reply")
        offset = int(next_cursor or "0")
        with self._lock:
            self._tick()
            members = list(self._room(room_id).members)
            page = members[offset : offset + MEMBER_PAGE_SIZE]
            more = offset + MEMBER_PAGE_SIZE < len(members)
            return page, str(offset + MEMBER_PAGE_SIZE) if more else "", len(members)

    def ban(self, actor: Actor, room_id: str, accounts: Sequence[str], duration: int) -> None:
        """ban_member: remove the accounts from the room (Offline, cause Kicked) and keep them out."""
        if not accounts or len(accounts) > MAX_BAN_ACCOUNTS:
            raise invalid("MemberList_Account", f"must hold 1 to {MAX_BAN_ACCOUNTS} accounts")
        if duration < 1:
            raise invalid("Duration", "must be at least 1 second")
        with self._lock:
            self._tick()
            room = self._room(room_id)
            until = int(self.clock.now()) + duration
            for account in accounts:
                room.banned[account] = until
            online = [account for account in dict.fromkeys(accounts) if account in room.members]
            if online:
                self._remove_members(actor, room, online, cause=KICKED)

    def unban(self, actor: Actor, room_id: str, accounts: Sequence[str]) -> None:
        with self._lock:
            self._tick()
            room = self._room(room_id)
            for account in accounts:
                room.banned.pop(account, None)

    def banned_list(
        self, room_id: str, offset: int = 0, limit: int = 100
    ) -> tuple[list[dict[str, Any]], int]:
        """get_banned_member_list: a page of active bans and NextOffset (0 = done)."""
        return self._page_of(room_id, offset, limit)

    def mute(self, actor: Actor, room_id: str, accounts: Sequence[str], mute_time: int) -> None:
        """mute_member: refuse the accounts' messages for ``mute_time`` seconds; 0 lifts the mute."""
        if mute_time < 0:
            raise invalid("MuteTime", "must be at least 0")
        with self._lock:
            self._tick()
            room = self._room(room_id)
            until = int(self.clock.now()) + mute_time
            for account in accounts:
                if mute_time == 0:
                    room.muted.pop(account, None)
                else:
                    room.muted[account] = until

    def muted_list(self, room_id: str) -> list[dict[str, Any]]:
        """get_muted_member_list: every active mute, in one list (Tencent's command has no paging)."""
        with self._lock:
            self._tick()
            room = self._room(room_id)
            return self._active(room.muted, self.clock.now(), "MutedUntil")

    def modify_admin(self, actor: Actor, room_id: str, accounts: Sequence[str], op_type: str) -> None:
        """modify_admin: add or delete room admins (at most 5 per room: 100020)."""
        if op_type not in ("add", "delete"):
            raise invalid("OpType", "must be add or delete")
        if not accounts:
            raise invalid("Admin_Account", "must hold at least one account")
        with self._lock:
            self._tick()
            room = self._room(room_id)
            given = list(dict.fromkeys(accounts))
            if op_type == "add":
                after = room.admins + [account for account in given if account not in room.admins]
                if len(after) > MAX_ROOM_ADMINS:
                    raise ApiError(ADMIN_LIMIT_EXCEEDED, f"a room has at most {MAX_ROOM_ADMINS} admins")
            else:
                after = [account for account in room.admins if account not in given]
            room.admins = after
            self._after(
                actor,
                room,
                "Live.CallbackAfterModifyAdmin",
                {
                    "RoomId": room.room_id,
                    "Operator_Account": actor.user_id,
                    "Admin_Account": given,
                    "opType": op_type,  # lower-case in the webhook, OpType in the REST call
                },
            )

    def admin_list(self, room_id: str) -> list[str]:
        with self._lock:
            self._tick()
            return list(self._room(room_id).admins)

    # --- seats ------------------------------------------------------------------------------

    def seat_list(self, room_id: str) -> list[dict[str, Any]]:
        with self._lock:
            self._tick()
            return self._room(room_id).seat_list()

    def pick_user_on_seat(self, actor: Actor, room_id: str, account: str, index: int) -> None:
        """pick_user_on_seat: an online member onto a free, unlocked seat."""
        with self._lock:
            self._tick()
            room = self._seated_room(room_id)
            self._seat_member(actor, room, account, self._free_seat(room, index))

    def take_seat(self, actor: Actor, room_id: str, index: int | None = None) -> int:
        """A user takes a seat: the one given, or the first free one. Returns the seat's index.

        The emulator grants an ApplyToTake application at once (no approval dialogue is emulated).
        """
        with self._lock:
            self._tick()
            room = self._seated_room(room_id)
            if index is None:
                seat = next((s for s in room.seats if s.member is None and not s.taken_disabled), None)
                if seat is None:
                    raise invalid("Index", "no seat is free")
            else:
                seat = self._free_seat(room, index)
            self._seat_member(actor, room, actor.user_id, seat)
            return seat.index

    def leave_seat(self, actor: Actor, room_id: str) -> None:
        self.kick_user_off_seat(actor, room_id, actor.user_id)

    def kick_user_off_seat(self, actor: Actor, room_id: str, account: str) -> None:
        with self._lock:
            self._tick()
            room = self._seated_room(room_id)
            seat = room.seat_of(account)
            if seat is None:
                raise invalid("Member_Account", f"{account} is on no seat")
            seat.member = None
            self._seats_changed(actor, room)

    def lock_seat(
        self,
        actor: Actor,
        room_id: str,
        index: int,
        *,
        forbid_taken: bool | None = None,
        forbid_video: bool | None = None,
        forbid_audio: bool | None = None,
    ) -> None:
        """lock_seat: change the given locks; locking an occupied seat first removes its user."""
        with self._lock:
            self._tick()
            room = self._seated_room(room_id)
            seat = self._seat(room, index)
            if forbid_taken is not None:
                seat.taken_disabled = forbid_taken
                if forbid_taken:
                    seat.member = None
            if forbid_video is not None:
                seat.video_disabled = forbid_video
            if forbid_audio is not None:
                seat.audio_disabled = forbid_audio
            self._seats_changed(actor, room)

    def switch_seat(self, actor: Actor, room_id: str, account: str, to_index: int) -> None:
        """switch_seat (old version): move a seated user to an empty seat."""
        with self._lock:
            self._tick()
            room = self._seated_room(room_id)
            current = room.seat_of(account)
            if current is None:
                raise invalid("Member_Account", f"{account} is on no seat")
            target = self._free_seat(room, to_index, field_name="ToIndex")
            current.member = None
            target.member = account
            self._seats_changed(actor, room)

    # --- robots -----------------------------------------------------------------------------

    def add_robots(self, actor: Actor, room_id: str, accounts: Sequence[str]) -> None:
        """add_robot: robots sit in the room (they keep it from auto-destroy; they are not members)."""
        with self._lock:
            self._tick()
            room = self._room(room_id)
            room.robots += [account for account in dict.fromkeys(accounts) if account not in room.robots]

    def del_robots(self, actor: Actor, room_id: str, accounts: Sequence[str]) -> None:
        with self._lock:
            self._tick()
            room = self._room(room_id)
            room.robots = [robot for robot in room.robots if robot not in accounts]
            if not room.robots and not room.members and room.ever_entered:
                # The room is empty from now on, not since its last member left.
                room.empty_since = self.clock.now()

    def robots(self, room_id: str) -> list[str]:
        with self._lock:
            self._tick()
            return list(self._room(room_id).robots)

    def check_room(self, room_id: str) -> None:
        """Refuse with 100004 unless the room exists (for commands that need only that: resume_mcu_task)."""
        with self._lock:
            self._tick()
            self._room(room_id)

    # --- messages, gifts, likes -------------------------------------------------------------

    def send_message(
        self,
        actor: Actor,
        room_id: str,
        msg_body: list[dict[str, Any]],
        cloud_custom_data: str | None = None,
        *,
        via_rest: bool,
        sender: str | None = None,
    ) -> dict[str, Any]:
        """A message into the room's barrage, moderated by Group.CallbackBeforeSendMsg.

        ``sender`` is From_Account (default: the actor); over REST the admin sends as any account,
        who need not be in the room. Refusals the sender sees come back as ``outcome`` "rejected"
        with the code: 10007 not in the room, 10017 muted (or all muted and not owner/admin),
        80002 over 8 KB, 10016 or 10100..10200 from the callback. "dropped": the sender sees
        success, nobody receives it, no after-callback. Raises ApiError only for 100002/100004.
        """
        from_account = sender or actor.user_id
        body = check_msg_body(msg_body)
        with self._lock:
            self._tick()
            room = self._room(room_id)
            refusal = self._message_refusal(room, from_account, body, via_rest)
            if refusal is not None:
                code, info = refusal
                self._record_message(room, from_account, actor, body, cloud_custom_data, "rejected", code)
                return self._message_result("rejected", body, cloud_custom_data, code, info)
            self._msg_counter += 1
            random = secrets.randbelow(2**32)
            fields: dict[str, Any] = {
                "GroupId": room.room_id,
                "Type": "Live",
                "From_Account": from_account,
                "Operator_Account": actor.user_id,
                "Random": random,
                "MsgId": f"{self._msg_counter}-{int(self.clock.now())}-{random}",
                "MsgBody": body,
            }
            if cloud_custom_data is not None:
                fields["CloudCustomData"] = cloud_custom_data
            before = self._callback(
                actor, room, "Group.CallbackBeforeSendMsg", json.loads(json.dumps(fields))
            )
        # The moderation hook may take its full 2 s: never with the lock held.
        answer = self.hooks.before(before)
        with self._lock:
            room = self._same_room(room)
            outcome, code, info = _message_verdict(answer)
            if outcome == "rejected":
                self._record_message(room, from_account, actor, body, cloud_custom_data, "rejected", code)
                return self._message_result("rejected", body, cloud_custom_data, code, info)
            if outcome == "dropped":
                self._record_message(room, from_account, actor, body, cloud_custom_data, "dropped", 0)
                return self._message_result("dropped", body, cloud_custom_data, 0, "")
            delivered_body = check_msg_body(answer.msg_body) if answer.msg_body is not None else body
            delivered_data = (
                answer.cloud_custom_data if answer.cloud_custom_data is not None else cloud_custom_data
            )
            room.last_msg_seq += 1
            room.stats.total_msg_count += 1
            msg_time = int(self.clock.now())
            self._record_message(
                room, from_account, actor, delivered_body, delivered_data, "delivered", 0, room.last_msg_seq
            )
            after_fields = {
                **fields,
                "MsgBody": delivered_body,
                "MsgSeq": room.last_msg_seq,
                "MsgTime": msg_time,
            }
            after_fields.pop("CloudCustomData", None)
            if delivered_data is not None:
                after_fields["CloudCustomData"] = delivered_data
            self._after(actor, room, "Group.CallbackAfterSendMsg", after_fields)
            result = self._message_result("delivered", delivered_body, delivered_data, 0, "")
            return result | {"msg_seq": room.last_msg_seq, "msg_time": msg_time}

    def send_gift(
        self,
        actor: Actor,
        room_id: str,
        gift_id: str,
        count: int,
        receivers: Sequence[str],
        *,
        sender: str | None = None,
        via_rest: bool = False,
    ) -> dict[str, Any]:
        """A gift, moderated by Live.CallbackBeforeSendGift; allowed gifts count in the statistics.

        ``sender`` is From_Account (default: the actor), who must be in the room unless via REST.
        GiftWater.Coins is the gift's unit price (catalogue, else ``DEFAULT_GIFT_COINS``).
        Returns {"outcome": "sent"|"rejected", "error_code", "error_info", "coins" (count * price)}.
        """
        from_account = sender or actor.user_id
        if count < 1:
            raise invalid("Count", "must be at least 1")
        if not receivers:
            raise invalid("ReceiverList_Account", "must name at least one receiver")
        price = self.catalogue.price(gift_id)
        with self._lock:
            self._tick()
            room = self._room(room_id)
            now = int(self.clock.now())
            record = GiftRecord(now, from_account, list(receivers), gift_id, count, price, "rejected", 0)
            if not via_rest and from_account not in room.members:
                record.error_code = NOT_IN_GROUP
                room.gifts.append(record)
                return _gift_result(
                    "rejected", NOT_IN_GROUP, f"{from_account} is not in the room", price * count
                )
            before = self._callback(
                actor,
                room,
                "Live.CallbackBeforeSendGift",
                {
                    "Operator_Account": actor.user_id,
                    "RoomId": room.room_id,
                    "GiftWater": {
                        "From_Account": from_account,
                        "To_Account": list(receivers),
                        "Time": now,
                        "GiftId": gift_id,
                        "Count": count,
                        "Coins": price,
                    },
                },
            )
        answer = self.hooks.before(before)
        with self._lock:
            room = self._same_room(room)
            if answer.error_code != 0:
                code = answer.error_code if answer.error_code in GIFT_PASS_THROUGH else GIFT_REJECTED
                record.error_code = code
                room.gifts.append(record)
                return _gift_result("rejected", code, answer.error_info or "gift refused", price * count)
            record.outcome = "sent"
            room.gifts.append(record)
            stats = room.stats
            stats.total_gifts_sent += count
            stats.total_gift_coins += count * price
            stats.gift_events += 1
            sent, coins = stats.gifts_by_sender.get(from_account, (0, 0))
            stats.gifts_by_sender[from_account] = (sent + count, coins + count * price)
            return _gift_result("sent", 0, "", price * count)

    def gift_count(self, room_id: str, from_account: str) -> dict[str, int]:
        """get_gift_count: one sender's gifts in the room, beside the room's gift events and senders."""
        with self._lock:
            self._tick()
            stats = self._room(room_id).stats
            count, coins = stats.gifts_by_sender.get(from_account, (0, 0))
            return {
                "Sequence": stats.gift_events,
                "TotalCount": count,
                "TotalCoins": coins,
                "GiftSenderCount": len(stats.gifts_by_sender),
            }

    def like(self, actor: Actor, room_id: str, count: int = 1) -> int:
        """A user in the room likes it ``count`` times; returns the room's TotalLikesReceived."""
        if count < 1:
            raise invalid("Count", "must be at least 1")
        with self._lock:
            self._tick()
            room = self._room(room_id)
            if actor.user_id not in room.members:
                raise ApiError(NOT_IN_GROUP, f"{actor.user_id} is not in the room")
            room.stats.total_likes_received += count
            return room.stats.total_likes_received

    def stats(self, room_id: str) -> dict[str, int]:
        """get_room_stats / get_room_statistic: the Statistic plus TotalMsgCount."""
        with self._lock:
            self._tick()
            return self._room(room_id).stats.with_messages()

    # --- internals (the lock is held) -------------------------------------------------------

    def _tick(self) -> list[str]:
        now = self.clock.now()
        destroyed = []
        for room in list(self._rooms.values()):
            for table in (room.banned, room.muted):
                for account in [account for account, until in table.items() if until <= now]:
                    del table[account]
            at = self._auto_destroy_at(room)
            if at is not None and now >= at:
                self._destroy(room, SYSTEM_ACTOR, "DestroyBySystem")
                destroyed.append(room.room_id)
        return destroyed

    def _auto_destroy_at(self, room: Room) -> float | None:
        if room.robots or room.members or not room.ever_entered or room.empty_since is None:
            return None
        return room.empty_since + self._auto_destroy_after

    def _room(self, room_id: str) -> Room:
        room = self._rooms.get(room_id)
        if room is None:
            raise ApiError(ROOM_NOT_FOUND, f"room {room_id!r} does not exist or has been destroyed")
        return room

    def _same_room(self, room: Room) -> Room:
        """After a before-callback: the room must still be there (not destroyed, nor re-created)."""
        self._tick()
        if self._rooms.get(room.room_id) is not room:
            raise ApiError(ROOM_NOT_FOUND, f"room {room.room_id!r} was destroyed meanwhile")
        return room

    @staticmethod
    def _check_moderator(room: Room, actor: Actor, by_user: bool) -> None:
        if by_user and not room.is_moderator(actor.user_id):
            raise ApiError(NO_PERMISSION, f"{actor.user_id} is neither the owner nor a room admin")

    def _seated_room(self, room_id: str) -> Room:
        room = self._room(room_id)
        if not room.info["IsSeatEnabled"]:
            raise ApiError(SEATS_DISABLED, "this room does not support seat connection")
        return room

    @staticmethod
    def _seat(room: Room, index: int, field_name: str = "Index") -> Seat:
        if not 0 <= index < len(room.seats):
            raise invalid(field_name, f"must be a seat index from 0 to {len(room.seats) - 1}")
        return room.seats[index]

    def _free_seat(self, room: Room, index: int, field_name: str = "Index") -> Seat:
        seat = self._seat(room, index, field_name)
        if seat.taken_disabled:
            raise invalid(field_name, f"seat {index} is locked")
        if seat.member is not None:
            raise invalid(field_name, f"seat {index} is taken by {seat.member}")
        return seat

    def _seat_member(self, actor: Actor, room: Room, account: str, seat: Seat) -> None:
        if account not in room.members:
            raise invalid("Member_Account", f"{account} must be a member of the room")
        current = room.seat_of(account)
        if current is not None:
            raise invalid("Member_Account", f"{account} is already on seat {current.index}")
        seat.member = account
        self._seats_changed(actor, room)

    def _remove_members(self, actor: Actor, room: Room, accounts: list[str], *, cause: str = LEAVE) -> None:
        """Take the accounts out of the room (and off their seats); ``cause`` is the EventCause of the
        Offline callback: Leave when they left, Kicked when an admin or the owner removed them."""
        seats = [seat for seat in room.seats if seat.member in accounts]
        for seat in seats:
            seat.member = None
        if seats:
            self._seats_changed(actor, room)
        for account in accounts:
            del room.members[account]
        if not room.members:
            room.empty_since = self.clock.now()
        self._member_state(actor, room, "Offline", cause, accounts)

    def _destroy(self, room: Room, actor: Actor, event_type: str) -> dict[str, int]:
        del self._rooms[room.room_id]
        statistic = room.stats.statistic()
        self._after(
            actor,
            room,
            "Live.CallbackAfterDestroyRoom",
            {
                "Operator_Account": actor.user_id,
                "RoomId": room.room_id,
                "EventType": event_type,
                "RoomInfo": room.room_info(),
                "Statistic": dict(statistic),
            },
        )
        return statistic

    def _page_of(self, room_id: str, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        if offset < 0:
            raise invalid("Offset", "must be at least 0")
        if not 1 <= limit <= 100:
            raise invalid("Limit", "must be between 1 and 100")
        with self._lock:
            self._tick()
            room = self._room(room_id)
            entries = self._active(room.banned, self.clock.now(), "BannedUntil")
            page = entries[offset : offset + limit]
            more = offset + limit < len(entries)
            return page, offset + limit if more else 0

    @staticmethod
    def _active(table: Mapping[str, int], now: float, until_field: str) -> list[dict[str, Any]]:
        return [
            {"Member_Account": account, until_field: until} for account, until in table.items() if until > now
        ]

    def _message_refusal(
        self, room: Room, sender: str, body: list[dict[str, Any]], via_rest: bool
    ) -> tuple[int, str] | None:
        if not via_rest and sender not in room.members:
            return NOT_IN_GROUP, f"{sender} is not in the room"
        until = room.muted.get(sender)
        if until is not None and until > self.clock.now():
            return SENDER_MUTED, f"{sender} is muted until {until}"
        # Mute-all spares the owner and room admins; the app admin itself is never muted.
        if room.info["IsMessageDisabled"] and not room.is_moderator(sender) and sender != self.admin:
            return SENDER_MUTED, "the room's messages are disabled"
        size = message_bytes(body)
        if size > MAX_MESSAGE_BYTES:
            return MESSAGE_TOO_LARGE, f"the message is {size} bytes, over {MAX_MESSAGE_BYTES}"
        return None

    def _record_message(
        self,
        room: Room,
        sender: str,
        actor: Actor,
        body: list[dict[str, Any]],
        cloud_custom_data: str | None,
        outcome: MessageOutcome,
        code: int,
        msg_seq: int | None = None,
    ) -> None:
        room.messages.append(
            MessageRecord(
                msg_seq, int(self.clock.now()), sender, actor.platform, body, cloud_custom_data, outcome, code
            )
        )

    @staticmethod
    def _message_result(
        outcome: MessageOutcome,
        body: list[dict[str, Any]],
        cloud_custom_data: str | None,
        code: int,
        info: str,
    ) -> dict[str, Any]:
        return {
            "outcome": outcome,
            "error_code": code,
            "error_info": info,
            "msg_body": body,
            "cloud_custom_data": cloud_custom_data,
        }

    def _member_state(
        self, actor: Actor, room: Room, event_type: str, cause: str, accounts: list[str]
    ) -> None:
        self._after(
            actor,
            room,
            "Live.CallbackAfterMemberStateChanged",
            {
                "RoomId": room.room_id,
                "EventType": event_type,
                "EventCause": cause,
                "MemberList": [{"Member_Account": account} for account in accounts],
            },
        )

    def _seats_changed(self, actor: Actor, room: Room) -> None:
        self._after(
            actor,
            room,
            "Mic.CallbackAfterSeatInfoChanged",
            {"RoomId": room.room_id, "SeatList": room.seat_list()},
        )

    def _callback(self, actor: Actor, room: Room, command: str, fields: dict[str, Any]) -> Callback:
        body = {"CallbackCommand": command, **fields, "EventTime": self.clock.now_ms()}
        return Callback(
            command, body, order_key=room.room_id, platform=actor.platform, client_ip=actor.client_ip
        )

    def _after(self, actor: Actor, room: Room, command: str, fields: dict[str, Any]) -> None:
        # Queued with the lock held, so callbacks leave in the order the changes happened.
        self.hooks.after(self._callback(actor, room, command, fields))


def _message_verdict(answer: BeforeAnswer) -> tuple[MessageOutcome, int, str]:
    """What Group.CallbackBeforeSendMsg's answer means for the sender (reference §6.1).

    0 deliver, 2 drop silently, 10100..10200 reject with that code; 1, and any other code (which
    Tencent does not document), reject with 10016.
    """
    if answer.error_code == 0:
        return "delivered", 0, ""
    if answer.error_code == 2:  # Tencent's "discard silently"
        return "dropped", 0, ""
    if answer.error_code in MESSAGE_PASS_THROUGH:
        return "rejected", answer.error_code, answer.error_info
    return "rejected", REJECTED_BY_CALLBACK, answer.error_info or "refused by the before-send callback"


def _gift_result(outcome: GiftOutcome, code: int, info: str, coins: int) -> dict[str, Any]:
    return {"outcome": outcome, "error_code": code, "error_info": info, "coins": coins}
