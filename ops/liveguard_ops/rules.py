"""`liveguard rules check` and `liveguard rules test`: a rules file validated, and what it decides on
Tencent callbacks (the rules that fire, the verdict, the actions, the state changes), against an
in-memory state and touching nothing (docs/rules.md, "The CLI").
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from liveguard.rules.compiled import RuleSet


def _load(path: str) -> RuleSet | None:
    """The rules file compiled, or None once every mistake in it is printed to stderr."""
    from liveguard.rules.loader import RulesInvalid, load_rules

    try:
        return load_rules(path)
    except RulesInvalid as error:
        print(f"{path}: invalid", file=sys.stderr)
        print(str(error), file=sys.stderr)
        return None


def rules_check_command(args: argparse.Namespace) -> int:
    rules = _load(args.file)
    if rules is None:
        return 1
    print(f"{args.file}: ok, {rules.summary()}")
    for warning in rules.warnings:
        print(f"{args.file}: warning: {warning}")
    return 0


def _read_event(path: str) -> tuple[str, dict[str, Any], bytes, str]:
    """(command, body, raw body, SdkAppid) from a Tencent callback body or an API Gateway proxy event."""
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    query: dict[str, Any] = {}
    # An API Gateway proxy event: payload format 1.0 (a REST API's) or 2.0 (an HTTP API's).
    if "httpMethod" in document or (document.get("version") == "2.0" and "requestContext" in document):
        query = document.get("queryStringParameters") or {}
        raw_text = document.get("body") or ""
        raw = base64.b64decode(raw_text) if document.get("isBase64Encoded") else raw_text.encode("utf-8")
        body = json.loads(raw)
    else:
        body, raw = document, json.dumps(document, ensure_ascii=False).encode("utf-8")
    if not isinstance(body, dict):
        raise ValueError("the callback body is not a JSON object")
    command = query.get("CallbackCommand") or body.get("CallbackCommand")
    if not isinstance(command, str) or not command:
        raise ValueError("no CallbackCommand in the body or the query")
    return command, body, raw, str(query.get("SdkAppid", "local"))


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def _describe_change(change: Any) -> str:
    if change.kind == "strike":
        times = f" x{change.count}" if change.count > 1 else ""
        return f"strike {change.user_id} in {change.room_id}{times}"
    if change.kind == "violation":
        return f"violation {change.violation} in {change.room_id}"
    if change.kind == "snapshot":
        value = "no approved value" if change.value is None else _json(change.value)
        return f"snapshot {change.room_id} {change.key} = {value}"
    return f"sanction {change.user_id} {change.sanction} in {change.room_id} until {change.until}"


def _visible(text: str) -> str:
    """``text`` quoted, its invisible characters written as escapes (``fr\\u200bee``)."""
    import unicodedata

    shown = "".join(
        f"\\u{ord(char):04x}" if unicodedata.category(char) in ("Cf", "Cc", "Zl", "Zp") else char
        for char in text
    )
    return f'"{shown}"'


def _describe_hit(hit: Any) -> str:
    where = f"{hit.field} {hit.key}" if hit.key is not None else hit.field
    if hit.index:
        where += f" #{hit.index}"
    return (
        f"{hit.list} {_json(hit.term)} in {where} [{hit.start}:{hit.end}] {_visible(hit.text)}  [{hit.rule}]"
    )


def _event_json(path: str, command: str, event: Any, decision: Any, before: bool) -> dict[str, Any]:
    """One event's result as ``rules test --json`` prints it."""
    verdict = decision.verdict
    if verdict is None and before:
        answer: dict[str, Any] | None = {"action": "deliver", "code": 0, "rule": None}
    elif verdict is None:
        answer = None
    else:
        answer = {"action": verdict.action, "code": verdict.code, "rule": verdict.rule}
        if verdict.reason:
            answer["reason"] = verdict.reason
        if verdict.msg_body is not None:
            answer["msg_body"] = verdict.msg_body
        if verdict.expires is not None:
            answer["expires"] = verdict.expires  # a hold: how long it may wait for review
    return {
        "event": path,
        "command": command,
        "room": event.room_key,
        "operator": event.operator,
        "echo": False,
        "fired": list(decision.fired),
        "verdict": answer,
        "matches": [hit.model_dump(mode="json") for hit in decision.matches],
        "actions": [action.model_dump(mode="json") for action in decision.actions],
        "changes": [change.model_dump(mode="json") for change in decision.changes],
    }


def _flood_counts(rules: Any, state: Any, event: Any, now: float) -> dict[str, int] | None:
    """The event's flood counts, taken in the in-memory counters as the ingress takes them in the
    table (``liveguard.counters``); None when no rule counts its command."""
    from liveguard.counters import count
    from liveguard.rules.engine import counted_event

    plan = rules.counter_plan(event.callback_command)
    counted = counted_event(event) if plan is not None else None
    if plan is None or counted is None:
        return None
    state.now = now
    return count(state, plan, counted, round(now * 1000))


def _play_echoes(
    tencent: Any, actions: list[Any], state: Any, *, admin: str, applied_as: str, now: float
) -> list[dict[str, Any]]:
    """The callbacks Tencent sends back for ``actions`` (``liveguard_ops.echoes``), the admin's played
    as the moderator plays echoes (never moderated; metadata ones become approved values, applied
    to ``state``); one JSON-ready dict each, in order. A callback not by the admin (a member leaving a
    banned room) is listed, not played: the moderator decides it as any event."""
    from liveguard.rules.engine import snapshots_from_admin
    from liveguard.webhooks.models import CallbackInvalid, parse_callback

    played: list[dict[str, Any]] = []
    for action in actions:
        echo = tencent.run(action)
        if not echo.emulated:
            played.append({"of": echo.command, "rule": echo.rule, "emulated": False})
            continue
        if echo.error is not None:
            code, info = echo.error
            played.append({"of": echo.command, "rule": echo.rule, "error": {"code": code, "info": info}})
            continue
        for command, body in echo.callbacks:
            entry: dict[str, Any] = {"of": echo.command, "rule": echo.rule, "command": command, "body": body}
            try:
                event = parse_callback(command, body)
            except CallbackInvalid as error:
                played.append({**entry, "echo": False, "error": {"code": None, "info": str(error)}})
                continue
            if event.operator != admin:
                played.append({**entry, "echo": False})
                continue
            snapshots = snapshots_from_admin(event)
            state.apply(snapshots, event_id=f"{applied_as}-echo-{len(played)}", now=now)
            played.append(
                {
                    **entry,
                    "echo": True,
                    "changes": [snapshot.model_dump(mode="json") for snapshot in snapshots],
                }
            )
    return played


def _print_echoes(played: list[dict[str, Any]]) -> None:
    for entry in played:
        why = f"  [{entry['of']} of {entry['rule']}]"
        if entry.get("emulated") is False:
            print(f"  echo:    unknown: the emulator does not run {entry['of']}{why}")
            continue
        if "command" not in entry:
            error = entry["error"]
            refused = f"ErrorCode {error['code']} ({error['info']})"
            print(f"  echo:    none: Tencent refuses {entry['of']}: {refused}{why}")
            continue
        body = {
            key: value for key, value in entry["body"].items() if key not in ("CallbackCommand", "EventTime")
        }
        if entry["echo"]:
            print(f"  echo:    {entry['command']} {_json(body)}{why}")
            for change in entry["changes"]:
                value = "no approved value" if change["value"] is None else _json(change["value"])
                print(f"           change: snapshot {change['room_id']} {change['key']} = {value}")
        else:
            print(f"  also:    {entry['command']} {_json(body)}{why}")
            print("           not the admin's: the moderator decides it as any event (not played here)")


def rules_test_command(args: argparse.Namespace) -> int:
    from liveguard.memory import MemoryState
    from liveguard.messages import event_id
    from liveguard.rules.engine import evaluate, snapshots_from_admin
    from liveguard.webhooks.models import BEFORE_COMMANDS, CallbackInvalid, parse_callback

    as_json = bool(getattr(args, "json", False))
    rules = _load(args.file)
    if rules is None:
        return 1
    now = time.time() if args.now is None else args.now
    try:
        state = MemoryState.from_file(args.state, now) if args.state else MemoryState()
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"{args.state}: cannot use this state file: {error}", file=sys.stderr)
        return 1
    if not as_json:
        print(f"{args.file}: {rules.summary()}")
    tencent = None
    if getattr(args, "echoes", False):
        from liveguard_ops.echoes import TencentEchoes

        tencent = TencentEchoes(args.admin)
    status = 0
    for position, path in enumerate(args.events):
        # Each file is an event of its own, even one given twice (a repeat counts again).
        applied_as = f"{position:016d}"
        try:
            command, body, raw, app = _read_event(path)
            event = parse_callback(command, body)
        except (OSError, ValueError, binascii.Error, CallbackInvalid) as error:
            if as_json:
                print(_json({"event": path, "error": f"cannot read this event: {error}"}))
            else:
                print(f"\n{path}: cannot read this event: {error}")
            status = 1
            continue
        who = event.operator or "-"
        if tencent is not None:
            tencent.observe(event, body)
        if event.operator == args.admin:
            snapshots = snapshots_from_admin(event)
            if as_json:
                print(
                    _json(
                        {
                            "event": path,
                            "command": command,
                            "room": event.room_key,
                            "operator": event.operator,
                            "echo": True,
                            "changes": [snapshot.model_dump(mode="json") for snapshot in snapshots],
                        }
                    )
                )
            else:
                print(f"\n{path}: {command}, room {event.room_key or '-'}, operator {who}")
                print("  echo of the admin: recorded, not moderated")
                for snapshot in snapshots:
                    print(f"  change:  {_describe_change(snapshot)}")
            state.apply(snapshots, event_id=applied_as, now=now)
            continue
        # Counted as the ingress counts (in the state's counters), so a flood plays across the events.
        counts = _flood_counts(rules, state, event, now)
        decision = evaluate(
            event,
            state,
            rules,
            now=now,
            admin=args.admin,
            event_id=event_id(app, command, raw),
            counts=counts,
        )
        state.apply(decision.changes, event_id=applied_as, now=now)
        played: list[dict[str, Any]] | None = None
        if tencent is not None:
            played = _play_echoes(
                tencent, decision.actions, state, admin=args.admin, applied_as=applied_as, now=now
            )
        if as_json:
            result = _event_json(path, command, event, decision, command in BEFORE_COMMANDS)
            if counts is not None:
                result["counts"] = counts
            if played is not None:
                result["echoes"] = played
            print(_json(result))
            continue
        print(f"\n{path}: {command}, room {event.room_key or '-'}, operator {who}")
        if counts is not None:
            print(f"  counts:  {', '.join(f'{key}={value}' for key, value in counts.items()) or '(none)'}")
        print(f"  fired:   {', '.join(decision.fired) or '(none)'}")
        verdict = decision.verdict
        if verdict is not None:
            line = f"{verdict.action} (ErrorCode {verdict.code}) by {verdict.rule}"
            if verdict.reason:
                line += f": {verdict.reason}"
            if verdict.expires is not None:
                line += f" (held for review, expires after {verdict.expires} s)"
            print(f"  verdict: {line}")
            if verdict.msg_body is not None:
                print(f"           MsgBody {_json(verdict.msg_body)}")
        elif command in BEFORE_COMMANDS:
            print("  verdict: deliver (ErrorCode 0), no rule decided")
        for hit in decision.matches:
            print(f"  match:   {_describe_hit(hit)}")
        for action in decision.actions:
            delay = f" after {action.delay_seconds} s" if action.delay_seconds else ""
            print(f"  action:  {action.command} {_json(action.params)}{delay}  [{action.rule}]")
        for change in decision.changes:
            print(f"  change:  {_describe_change(change)}  [{change.rule}]")
        if played is not None:
            _print_echoes(played)
    return status
