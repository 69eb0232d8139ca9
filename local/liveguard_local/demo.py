"""`make demo`: the whole of LiveGuard on loopback, played through as the app's users would.

Starts the local stack (moto, the Tencent emulator, the API front and the three functions, each on a
free port), then plays a live room through the emulator's client API, over HTTP only:

- a host creates a room: rule 8 (room-defaults) sets its default metadata;
- a viewer the app made a room admin sets offensive metadata: rule 1 (metadata-terms) deletes it;
- they delete a protected ``lg.`` key: rule 2 (protect-keys) puts the approved value back;
- a viewer posts offensive comments: masked inline (comment-terms), muted at the 3rd strike
  (strikes-mute), their gift refused meanwhile (gift-from-sanctioned), banned at the 6th (strikes-ban);
- cloud moderation flags the room twice: the host is warned (moderation-warn), then the room is
  destroyed (moderation-destroy);
- then, in a second room, operators steer the running stack without a redeploy
  (``liveguard_local.demo_operators``): a published term masks a comment, a rule in shadow lets a
  link through and says what it would have done, then rejects the next link once published live, a
  flood is dropped and its sender muted once, and a held comment is approved into the room.

It prints a timeline of the webhooks, the verdicts LiveGuard answered and the Tencent REST calls, then
a table of the expected effects with the latency from the webhook to the Tencent call that acted on
it, and exits 0 only if every effect is visible in the emulator's state. Everything it started is
stopped on the way out, whatever happens. The stack makes up its secrets for this run; none is
printed.

It drives the stack through ``liveguard_local.driver`` (``Driver``, ``wait_until``), as tests/e2e does.

Only the standard library is imported at module level: the stack's function processes are spawned,
and a spawned process imports the main module (this one) before its function's environment is set.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any

from liveguard_local.driver import MODERATION, Driver, call_started, wait_until

if TYPE_CHECKING:
    pass

ROOM = "evening-chess"
HOST, ROOM_ADMIN, VIEWER = "alice", "bob", "troll"
COMMENT = "Group.CallbackBeforeSendMsg"


# --- what the demo prints ----------------------------------------------------------------------------


def _short(value: Any, width: int = 48) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 1] + "…"


def _texts(body: dict[str, Any]) -> str:
    """A message's elements: its texts quoted, a custom element by its Desc (the BusinessId)."""
    parts = []
    for element in body.get("MsgBody") or []:
        content = element.get("MsgContent") or {}
        if element.get("MsgType") == "TIMTextElem":
            parts.append(json.dumps(content.get("Text", ""), ensure_ascii=False))
        else:
            parts.append(f"[{element.get('MsgType')} {content.get('Desc', '')}]")
    return " ".join(parts)


def describe_webhook(body: dict[str, Any]) -> str:
    """The facts of a callback body worth a line."""
    command = body.get("CallbackCommand", "")
    if command.endswith("CreateRoom") or command.endswith("UpdateRoomInfo"):
        info = body.get("RoomInfo") or {}
        return ", ".join(f"{key}={_short(info[key])}" for key in ("RoomName", "Notice") if key in info)
    if command.endswith("SetMetadata"):
        return ", ".join(f"{m['Key']}={_short(m['Value'], 28)}" for m in body.get("Metadata") or [])
    if command.endswith("DelMetadata"):
        return f"Keys={body.get('Keys')}"
    if command.endswith("MemberStateChanged"):
        members = [m.get("Member_Account") for m in body.get("MemberList") or []]
        return f"{body.get('EventType')}/{body.get('EventCause')} {members}"
    if command.endswith("ModifyAdmin"):
        return f"{body.get('opType')} {body.get('Admin_Account')}"
    if command.endswith("SendMsg"):
        return _texts(body)
    if command.endswith("SendGift"):
        water = body.get("GiftWater") or {}
        return f"{water.get('GiftId')} x{water.get('Count')}"
    if command.endswith("DestroyRoom"):
        return str(body.get("EventType", ""))
    if command == MODERATION:
        return f"label {body.get('CtxcbLabel')} ({body.get('ContentType')} from {body.get('From_Account')})"
    return ""


def describe_verdict(record: dict[str, Any]) -> str:
    """LiveGuard's answer to a before-callback, as Tencent reads it."""
    answer = record.get("answer")
    if not isinstance(answer, dict):
        return f"no answer ({record['outcome']})"
    code = answer.get("ErrorCode")
    if code == 0:
        return f"mask: {_texts(answer)}" if answer.get("MsgBody") is not None else "allow"
    if code == 2:
        return "drop"
    return f"reject {code} ({answer.get('ErrorInfo', '')})"


def describe_call(call: dict[str, Any]) -> str:
    parts = []
    for key, value in (call["body"] or {}).items():
        if key == "RoomId":
            continue
        if key == "Metadata":
            value = {m["Key"]: m["Value"] for m in value}
        if key == "Data" and isinstance(value, str):
            try:
                data = json.loads(value)
                value = f"{data['messageType']}: {data['content']['violationContent']}"
            except (ValueError, KeyError, TypeError):
                pass
        parts.append(f"{key}={_short(value, 40)}")
    return " ".join(parts)


@dataclass
class Effect:
    what: str
    rule: str
    ok: bool
    latency: str  # "312 ms" from webhook to Tencent call, "inline 9 ms" for a verdict, "-" unknown


@dataclass
class Mark:
    webhook_id: int  # the last webhook recorded
    at: float  # and the time: REST calls made from then on


class Demo:
    def __init__(self, driver: Driver, started: float) -> None:
        self.driver = driver
        self.started = started
        self.effects: list[Effect] = []
        self.own_calls: list[tuple[str, dict[str, Any]]] = []
        self.events: list[tuple[float, str]] = []  # what the demo did, for the timeline
        self.printed_webhook = 0
        self.printed_calls = 0
        self.mark = Mark(0, time.time())
        self.room = ROOM  # the room whose state and calls ``expect`` reads

    # --- acting ---------------------------------------------------------------------------------

    def step(self, title: str) -> None:
        self.flush()
        print(f"\n== {title}")

    def begin(self) -> Mark:
        """Remember where the records stand: what comes after is this action's doing."""
        webhooks = self.driver.webhooks()
        self.mark = Mark(webhooks[-1]["id"] if webhooks else 0, time.time())
        return self.mark

    def act(self, action: str, user: str, **fields: Any) -> dict[str, Any]:
        at = time.time()
        reply = self.driver.act(action, user, **fields)
        outcome = reply["ActionStatus"] if reply["ErrorCode"] == 0 else f"FAIL {reply['ErrorCode']}"
        response = reply.get("Response") or {}
        if "text" in response:
            outcome += (
                f', delivered as "{response["text"]}"' if response.get("outcome") == "delivered" else ""
            )
        if reply.get("ErrorInfo"):
            outcome += f" ({reply['ErrorInfo']})"
        shown = {key: value for key, value in fields.items() if key != "RoomId"}
        details = " ".join(f"{key}={_short(value, 40)}" for key, value in shown.items())
        self.events.append((at, f"app      {user}: {action} {details} -> {outcome}"))
        return reply

    def admin(self, command: str, params: dict[str, Any], why: str) -> None:
        """A call the app's own backend makes (as the app admin), not LiveGuard."""
        self.own_calls.append((command, params))
        self.events.append((time.time(), f"operator {why}"))
        self.driver.admin(command, params)

    def moderation(self, label: str, request_id: str) -> float:
        """Tencent's cloud moderation flags the host's stream; returns when it was sent."""
        at = time.time()
        response = self.driver.moderation_result(ROOM, user=HOST, label=label, request_id=request_id)
        self.events.append(
            (
                at,
                f"webhook  {MODERATION:<36} {'moderation':<10} label {label}, the host's stream"
                f" -> {response.status_code} (posted by the demo: the emulator has no cloud moderation)",
            )
        )
        return at

    # --- checking -------------------------------------------------------------------------------

    def webhook_at(self, command: str, who: str, nth: int = 1) -> float | None:
        """When the ``nth`` ``command`` callback for ``who`` since the mark was sent (None: none came)."""

        def find() -> float | None:
            found = [
                record["at"]
                for record in self.driver.webhooks()
                if record["id"] > self.mark.webhook_id
                and record["command"] == command
                and who in (record["body"].get("Operator_Account"), record["body"].get("From_Account"))
            ]
            return float(found[nth - 1]) if len(found) >= nth else None

        return wait_until(find)

    def verdicts(self, command: str) -> list[float]:
        """How long LiveGuard took to answer each ``command`` before-callback since the mark, in ms."""
        return [
            float(record["latency_ms"])
            for record in self.driver.webhooks()
            if record["id"] > self.mark.webhook_id and record["command"] == command
        ]

    def first_call(self, command: str, accept: Callable[[dict[str, Any]], bool]) -> dict[str, Any] | None:
        for call in self.driver.calls(command, self.room):
            if call_started(call) >= self.mark.at - 0.001 and call["code"] == 0 and accept(call["body"]):
                return call
        return None

    def expect(
        self,
        what: str,
        rule: str,
        state: Callable[[dict[str, Any] | None], bool],
        *,
        call: tuple[str, Callable[[dict[str, Any]], bool]] | None = None,
        since: Callable[[], float | None] | None = None,
        inline_ms: float | None = None,
    ) -> bool:
        """Wait for ``call`` (the Tencent call that acts) and for ``state`` (the emulator's room state)
        to hold; record the effect with the latency from ``since`` (the trigger) to the call."""
        acted = wait_until(lambda: self.first_call(*call)) if call is not None else None
        visible = wait_until(lambda: state(self.driver.room(self.room))) is not None
        ok = visible and (call is None or acted is not None)
        latency = "-"
        if inline_ms is not None:
            latency = f"inline {inline_ms:.0f} ms"
        elif acted is not None and since is not None:
            start = since()
            if start is not None:
                latency = f"{(call_started(acted) - start) * 1000:.0f} ms"
        self.effects.append(Effect(what, rule, ok, latency))
        self.flush()
        print(f"   {'ok  ' if ok else 'FAIL'} {what}")
        return ok

    # --- the timeline -----------------------------------------------------------------------------

    def flush(self) -> None:
        """Print what happened since the last flush, in time order."""
        lines: list[tuple[float, str]] = list(self.events)
        self.events.clear()
        admin = self.driver.admin_identifier
        for record in self.driver.webhooks():
            if record["id"] <= self.printed_webhook:
                continue
            self.printed_webhook = record["id"]
            body = record["body"]
            who = body.get("Operator_Account") or body.get("From_Account") or "-"
            echo = who == admin
            who = "admin" if echo else who
            if record["kind"] == "before":
                outcome = f"{describe_verdict(record)}, {record['latency_ms']:.0f} ms"
                kind = "verdict "
            else:
                outcome = f"{record['status']}, {record['latency_ms']:.0f} ms"
                outcome += " (an admin call's echo: no rules run)" if echo else ""
                kind = "webhook "
            lines.append(
                (
                    record["at"],
                    f"{kind} {record['command']:<36} {who:<10} {describe_webhook(body)} -> {outcome}",
                )
            )
        calls = self.driver.calls()
        for call in calls[self.printed_calls :]:
            mine = (call["command"], call["body"]) in self.own_calls
            by = "operator" if mine else "LiveGuard"
            lines.append(
                (
                    call_started(call),
                    f"tencent  {call['command']:<36} {by:<10} {describe_call(call)} -> {call['code']}",
                )
            )
        self.printed_calls = len(calls)
        for at, line in sorted(lines, key=lambda item: item[0]):
            print(f"   {at - self.started:7.3f}s  {line}")


# --- the scenario ------------------------------------------------------------------------------------


def masked(room: dict[str, Any] | None, count: int) -> bool:
    """The viewer's last ``count`` delivered comments hold no banned term, only asterisks."""
    if room is None:
        return False
    delivered = [
        _texts(message)
        for message in room["Messages"]
        if message["From_Account"] == VIEWER and message["Outcome"] == "delivered"
    ][-count:]
    return len(delivered) == count and all("*" in text and "coins" not in text.lower() for text in delivered)


def muted(room: dict[str, Any] | None) -> bool:
    return room is not None and any(m["Member_Account"] == VIEWER for m in room["MutedAccountList"])


def mute_call(body: dict[str, Any]) -> bool:
    return VIEWER in body.get("MemberList_Account", []) and body.get("MuteTime") == 600


def has_key(key: str, value: str | None) -> Callable[[dict[str, Any] | None], bool]:
    def check(room: dict[str, Any] | None) -> bool:
        values = {m["Key"]: m["Value"] for m in (room or {}).get("Metadata", [])}
        return room is not None and values.get(key) == value

    return check


def warned(room: dict[str, Any] | None, admin: str) -> bool:
    """The room's messages hold the violation alert, sent as the admin."""
    for message in (room or {}).get("Messages", []):
        for element in message["MsgBody"]:
            content = element.get("MsgContent") or {}
            if (
                message["From_Account"] == admin
                and element.get("MsgType") == "TIMCustomElem"
                and content.get("Desc") == "violation_alert"
                and json.loads(content.get("Data", "{}")).get("messageType") == "violation_alert"
            ):
                return True
    return False


COMMENTS = ["free coins here!", "FREE COINS for everyone", "get your free coins now"]
MORE_COMMENTS = {4: "free coins, last chance", 5: "Free Coins!!", 6: "free coins free coins"}
DEFAULTS = {"Key": "lg.rules-version", "Value": "1"}


def banned(room: dict[str, Any] | None) -> bool:
    """The viewer is on the room's ban list and no longer in it."""
    return (
        room is not None
        and any(b["Member_Account"] == VIEWER for b in room["BannedAccountList"])
        and all(m["Member_Account"] != VIEWER for m in room["MemberList"])
    )


def play(demo: Demo) -> None:
    admin = demo.driver.admin_identifier

    demo.step(f"{HOST} (the host) starts a live: room {ROOM}")
    demo.begin()
    demo.act("create_room", HOST, RoomId=ROOM, RoomName="Evening chess")
    demo.expect(
        'room defaults set: lg.rules-version = "1"',
        "room-defaults",
        has_key("lg.rules-version", "1"),
        call=("set_room_metadata", lambda body: DEFAULTS in body["Metadata"]),
        since=lambda: demo.webhook_at("Live.CallbackAfterCreateRoom", HOST),
    )

    demo.step(f"{ROOM_ADMIN} and {VIEWER} come in; the app makes {ROOM_ADMIN} a room admin")
    demo.act("enter_room", ROOM_ADMIN, RoomId=ROOM)
    demo.act("enter_room", VIEWER, RoomId=ROOM)
    demo.admin(
        "modify_admin",
        {"RoomId": ROOM, "Admin_Account": [ROOM_ADMIN], "OpType": "add"},
        f"the app's backend makes {ROOM_ADMIN} a room admin (REST modify_admin, as the app admin)",
    )

    demo.step(f"{ROOM_ADMIN} sets room metadata, one value offensive")
    demo.begin()
    topic = {"Key": "topic", "Value": "Sicilian openings"}
    promo = {"Key": "promo", "Value": "free coins for every follower"}
    demo.act("set_room_metadata", ROOM_ADMIN, RoomId=ROOM, Metadata=[topic, promo])
    demo.expect(
        "offensive metadata deleted (promo), the rest kept",
        "metadata-terms",
        lambda room: has_key("promo", None)(room) and has_key("topic", topic["Value"])(room),
        call=("del_room_metadata", lambda body: body["Keys"] == ["promo"]),
        since=lambda: demo.webhook_at("Live.CallbackAfterSetMetadata", ROOM_ADMIN),
    )

    demo.step(f"{ROOM_ADMIN} deletes the protected key lg.rules-version")
    demo.begin()
    demo.act("del_room_metadata", ROOM_ADMIN, RoomId=ROOM, Keys=["lg.rules-version"])
    demo.expect(
        'protected key restored: lg.rules-version = "1"',
        "protect-keys",
        has_key("lg.rules-version", "1"),
        call=("set_room_metadata", lambda body: DEFAULTS in body["Metadata"]),
        since=lambda: demo.webhook_at("Live.CallbackAfterDelMetadata", ROOM_ADMIN),
    )

    demo.step(f"{VIEWER} posts three comments with a banned term")
    demo.begin()
    replies = [demo.act("send_text_msg", VIEWER, RoomId=ROOM, Text=text) for text in COMMENTS]
    verdicts = demo.verdicts(COMMENT)
    demo.expect(
        "comments delivered masked (3 of 3)",
        "comment-terms",
        lambda room: (
            masked(room, 3) and all("*" in (r.get("Response") or {}).get("text", "") for r in replies)
        ),
        inline_ms=max(verdicts) if len(verdicts) == 3 else None,
    )
    demo.expect(
        f"{VIEWER} muted for 600 s at the 3rd strike",
        "strikes-mute",
        muted,
        call=("mute_member", mute_call),
        since=lambda: demo.webhook_at(COMMENT, VIEWER, nth=3),
    )

    demo.step(f"{VIEWER}, muted, sends the host a gift")
    demo.begin()
    reply = demo.act("send_gift", VIEWER, RoomId=ROOM, GiftId="rose", Count=1)
    gift_verdicts = demo.verdicts("Live.CallbackBeforeSendGift")

    def gift_refused(room: dict[str, Any] | None) -> bool:
        gifts = [gift for gift in (room or {}).get("Gifts", []) if gift["From_Account"] == VIEWER]
        return bool(gifts) and gifts[-1]["Outcome"] == "rejected" and reply["ErrorCode"] == 10016

    demo.expect(
        "the muted viewer's gift refused",
        "gift-from-sanctioned",
        gift_refused,
        inline_ms=gift_verdicts[0] if gift_verdicts else None,
    )

    for strike, text in MORE_COMMENTS.items():
        demo.step(f"a moderator lifts the mute early; {VIEWER} posts again (strike {strike})")
        demo.admin(
            "mute_member",
            {"RoomId": ROOM, "MemberList_Account": [VIEWER], "MuteTime": 0},
            f"a moderator lifts {VIEWER}'s mute (REST mute_member MuteTime 0, as the app admin)",
        )
        demo.begin()
        demo.act("send_text_msg", VIEWER, RoomId=ROOM, Text=text)
        if strike < 6:
            demo.expect(
                f"{VIEWER} muted again at strike {strike}",
                "strikes-mute",
                muted,
                call=("mute_member", mute_call),
                since=lambda: demo.webhook_at(COMMENT, VIEWER),
            )
        else:
            demo.expect(
                f"{VIEWER} banned for 3600 s at strike 6, out of the room",
                "strikes-ban",
                banned,
                call=("ban_member", lambda body: VIEWER in body["MemberList_Account"]),
                since=lambda: demo.webhook_at(COMMENT, VIEWER),
            )

    demo.step("Tencent's cloud moderation flags the host's stream (label Porn)")
    demo.begin()
    sent = demo.moderation("Porn", "demo-moderation-1")
    demo.expect(
        "host warned: a violation_alert in the room's messages",
        "moderation-warn",
        lambda room: warned(room, admin),
        call=("send_custom_msg", lambda body: body.get("BusinessId") == "violation_alert"),
        since=lambda: sent,
    )

    demo.step("it flags the stream again, within the hour")
    demo.begin()
    sent_again = demo.moderation("Porn", "demo-moderation-2")
    demo.expect(
        "room destroyed at the 2nd flag",
        "moderation-destroy",
        lambda room: room is None,
        call=("destroy_room", lambda body: True),
        since=lambda: sent_again,
    )
    demo.flush()


def report(demo: Demo, elapsed: float, records: str) -> bool:
    width = max(len(effect.what) for effect in demo.effects)
    print(f"\n{'expected effect':<{width}}  {'rule':<20}  seen  webhook -> Tencent call")
    print(f"{'-' * width}  {'-' * 20}  ----  -----------------------")
    for effect in demo.effects:
        print(
            f"{effect.what:<{width}}  {effect.rule:<20}  {'ok' if effect.ok else 'FAIL':<4}  {effect.latency}"
        )
    passed = sum(effect.ok for effect in demo.effects)
    verdict = "demo passed" if passed == len(demo.effects) else "demo FAILED"
    print(
        f"\n{verdict}: {passed} of {len(demo.effects)} effects visible in the emulator's state"
        f" ({records}, {elapsed:.1f} s)"
    )
    return passed == len(demo.effects)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second one must not cut the clean-up short
    raise KeyboardInterrupt


def main() -> int:
    import httpx

    from liveguard_local.demo_operators import OperatorCommandFailed, play_operators
    from liveguard_local.stack import LocalStack, LocalStackError, LocalStackOptions
    from liveguard_local.stack.core import default_template

    signal.signal(signal.SIGTERM, _interrupt)  # stop everything on SIGTERM too
    started = time.time()
    template = default_template()
    invocations: list[str] = []  # the stack's line per function invocation, shown on failure
    options = LocalStackOptions(
        port=0,
        emulator_port=0,
        aws_port=0,
        template=template,
        # Its own settings and logs, so a `liveguard local up` running beside it is left alone.
        state_dir=template.resolve().parent / ".liveguard" / "demo",
        visibility_timeout=5,  # a failed record comes back in seconds (the template: 180)
        rules_refresh_seconds=2,  # the operators' chapter publishes rules and waits for them
        console=invocations.append,
    )
    stack = LocalStack(options)
    print("starting the local stack: moto, the Tencent emulator, the API and three functions...")
    try:
        with stack, httpx.Client(timeout=10) as http:
            print(
                f"up in {stack.startup_seconds:.1f} s: emulator {stack.emulator_url}, "
                f"webhooks (signed) -> {stack.callback_url}, AWS (moto) {stack.aws_url}"
            )
            print(f"made-up credentials for this run only; function logs in {stack.logs_dir}")
            print(
                "\ntimeline (seconds since start): app = a user's action in the emulator, "
                "webhook/verdict = a callback to LiveGuard and its answer, tencent = a REST call"
            )
            demo = Demo(Driver.of(stack, http), started)
            try:
                play(demo)
                play_operators(demo, stack)
            except httpx.HTTPError as error:  # the stack stopped answering: say so, then clean up
                print(f"   FAIL the stack stopped answering: {error!r}")
                demo.effects.append(Effect("the stack answered throughout", "-", False, "-"))
            except OperatorCommandFailed as error:  # its output is printed above
                print(f"   FAIL {error}")
                demo.effects.append(Effect("the operator's commands succeeded", "-", False, "-"))
            try:
                webhooks, calls = demo.driver.webhooks(), demo.driver.calls()
                records = f"{len(webhooks)} webhooks, {len(invocations)} function invocations, "
                records += f"{len(calls)} Tencent calls"
            except httpx.HTTPError:
                records = f"{len(invocations)} function invocations"
            passed = report(demo, time.time() - started, records)
            if not passed:
                print("\nfunction invocations:")
                print("\n".join(f"   {line}" for line in invocations))
    except LocalStackError as error:
        print(f"demo: the local stack did not start: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ndemo interrupted: everything it started is stopped", file=sys.stderr)
        return 130
    print(f"stopped everything the demo started ({time.time() - started:.1f} s in all)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
