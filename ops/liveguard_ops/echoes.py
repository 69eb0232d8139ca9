"""The callbacks Tencent sends back for LiveGuard's own actions, for `liveguard rules test --echoes`.

Tencent fires a webhook for most REST commands it runs: LiveGuard's ``del_room_metadata`` comes back
as ``Live.CallbackAfterDelMetadata`` with ``Operator_Account`` the admin (an echo), and the moderator
turns the admin's metadata echoes into approved values (``snapshots_from_admin``). Which commands
fire which callbacks, with which bodies, is what the Tencent emulator's ``World`` already knows: a
``TencentEchoes`` runs one in this process (no server, no HTTP), keeps it in step with the events
tested (their rooms, metadata, room info and who is in the room), runs each action on it as the
admin and hands back the callbacks it fires, or Tencent's ErrorCode when it would refuse the action.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from liveguard_local.emulator.callbacks import Actor, BeforeAnswer, Callback
from liveguard_local.emulator.clock import Clock
from liveguard_local.emulator.errors import ApiError
from liveguard_local.emulator.rest import REST_COMMANDS, handle_rest
from liveguard_local.emulator.world import World


@dataclass(frozen=True)
class Echo:
    """What one action made Tencent do: the callbacks it fired, in order, or its refusal."""

    command: str  # the action's REST command
    rule: str
    callbacks: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    error: tuple[int, str] | None = None  # Tencent's ErrorCode and ErrorInfo
    emulated: bool = True  # False: the emulator does not run the command, so its echoes are unknown


class _Recorder:
    """The world's webhook hooks: callbacks recorded rather than delivered; a before-callback answered
    "deliver", as LiveGuard's ingress answers the admin's own messages (never moderated)."""

    def __init__(self) -> None:
        self.fired: list[tuple[str, dict[str, Any]]] = []
        self.quiet = False

    def after(self, callback: Callback) -> None:
        if not self.quiet:
            self.fired.append((callback.command, callback.body))

    def before(self, callback: Callback) -> BeforeAnswer:
        self.after(callback)
        return BeforeAnswer(error_code=0)

    def set_callback(self, url: str, commands: list[str]) -> None:
        pass

    def get_callback(self) -> tuple[str, list[str]] | None:
        return None

    def set_token(self, token: str | None, enabled: bool | None) -> None:
        pass

    def get_token(self) -> tuple[str | None, bool]:
        return None, False


class TencentEchoes:
    """Tencent's side of a rules test: ``observe`` each event tested, ``run`` each action it decided."""

    def __init__(self, admin: str) -> None:
        self.admin = admin
        self._hooks = _Recorder()
        self.world = World(admin, Clock(), self._hooks)

    @contextmanager
    def _quietly(self) -> Iterator[None]:
        self._hooks.quiet = True
        try:
            yield
        finally:
            self._hooks.quiet = False

    def observe(self, event: Any, body: dict[str, Any]) -> None:
        """Bring the world in step with what ``event`` says happened at Tencent (its room exists, its
        metadata and room info changes, who is in the room), firing nothing. A change the world
        refuses (a limit, a key already gone) is left out: the event's word is Tencent's."""
        room = event.room_key
        if not room:
            return
        command = event.callback_command
        with self._quietly():
            try:
                if command == "Live.CallbackAfterDestroyRoom":
                    if room in self.world.room_ids():
                        self.world.destroy_room(Actor(self.admin), room)
                    return
                self._room(room, body.get("RoomInfo") if command == "Live.CallbackAfterCreateRoom" else None)
                actor = Actor(event.operator or self.admin)
                if command == "Live.CallbackAfterSetMetadata":
                    self.world.set_metadata(actor, room, list(event.as_dict().items()))
                elif command == "Live.CallbackAfterDelMetadata":
                    self.world.del_metadata(actor, room, list(event.keys))
                elif command == "Live.CallbackAfterUpdateRoomInfo" and isinstance(body.get("RoomInfo"), dict):
                    self.world.update_room_info(actor, body["RoomInfo"])
                sender = _sender(event)
                if sender is not None and sender != self.admin:
                    self.world.enter_room(Actor(sender), room)  # a sender is in the room
            except ApiError:
                pass

    def _room(self, room: str, info: object) -> None:
        if room in self.world.room_ids():
            return
        given = info if isinstance(info, dict) else {}
        try:
            self.world.create_room(Actor(self.admin), {**given, "RoomId": room, "RoomType": "Live"})
        except ApiError:  # a RoomInfo the emulator reads otherwise: the room, with its defaults
            self.world.create_room(Actor(self.admin), {"RoomId": room, "RoomType": "Live"})

    def run(self, action: Any) -> Echo:
        """Run one decided action (``liveguard.rules.outcome.Action``) as the admin: the callbacks it
        fires, or Tencent's refusal."""
        from liveguard.tencent.commands import COMMANDS

        self._hooks.fired = []
        service = COMMANDS[action.command].command.service
        if (service, action.command) not in REST_COMMANDS:
            return Echo(action.command, action.rule, emulated=False)
        try:
            handle_rest(self.world, service, action.command, dict(action.params), Actor(self.admin))
        except ApiError as error:
            return Echo(action.command, action.rule, error=(error.code, error.info))
        fired, self._hooks.fired = self._hooks.fired, []
        return Echo(action.command, action.rule, callbacks=fired)


def _sender(event: Any) -> str | None:
    """Who sent a message or a gift (they are in the room), else None."""
    water = getattr(event, "gift_water", None)
    if water is not None:
        return str(water.from_account) if water.from_account else None
    sender = getattr(event, "from_account", None)
    return str(sender) if sender else None
