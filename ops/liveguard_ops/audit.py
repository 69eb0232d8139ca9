"""`liveguard audit ROOM`: what LiveGuard did in a room, oldest first, from the state table's audit
records (``StateTable.audit_for_room``: one query of the room's partition, paginated; never a scan).

A line per event that fired rules (its time, command, the rules, the verdict, the flood counts it was
decided on, what their terms
matched and the actions it queued) and per action the actuator ran or gave up on (its command, its
outcome at Tencent, the rule and the event that caused it). An event on which shadow rules fired
also gets a "would have" line per shadow rule, and lines for the verdict, matches, actions and
state changes it would have given: none of them were (docs/rules.md, Shadow mode). Records of events
that fired no rule, live or shadow (echoes, state changes alone) are left out.

``--user USER`` keeps the records whose acting user is USER: for an event, a user its decision
struck or sanctioned (``changes`` of kind ``strike`` or ``sanction``, their ``user_id``) or a member
one of its queued actions concerns, or one its shadow rules would have struck, sanctioned or acted
on; for an action, a member its params name (``Member_Account`` or ``MemberList_Account``, a string
or a list of them).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from liveguard_ops.stack import TABLE_OUTPUT, OpsError, aws_client, locate

MEMBER_PARAMS = ("Member_Account", "MemberList_Account", "From_Account")
"""The params of Tencent's member commands (mute, ban, kick, ...) that name the member acted on, and
send_group_msg's sender (an approved held comment re-sent as its sender)."""

_DURATION = re.compile(r"^(\d+)([smhd])$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_since(text: str, *, now: float) -> float:
    """Unix seconds from an ISO time (no zone: UTC) or a duration back from ``now`` (``10m``, ``2h``,
    ``1d``, ``30s``); ``ValueError`` saying what is accepted otherwise."""
    duration = _DURATION.match(text.strip())
    if duration:
        return now - int(duration.group(1)) * _SECONDS[duration.group(2)]
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"--since {text!r}: give an ISO time (2026-11-30T01:00:00Z) or a duration (10m, 2h, 1d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def iso_time(at_ms: int) -> str:
    """``2026-11-30T01:02:03.456Z``."""
    moment = datetime.fromtimestamp(at_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at_ms % 1000:03d}Z"


def _members(params: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    for name in MEMBER_PARAMS:
        value = params.get(name)
        values = value if isinstance(value, list) else [value]
        found.extend(str(member) for member in values if isinstance(member, str) and member)
    return found


def acting_users(record: Mapping[str, Any]) -> set[str]:
    """Who a record is about (see the module's docstring)."""
    if record.get("kind") == "action":
        return set(_members(_action_params(record)))
    decisions = [record, *(record.get("shadow") or [])]  # the live decision, and the would-have ones
    users = {
        str(change["user_id"])
        for decision in decisions
        for change in decision.get("changes") or []
        if change.get("kind") in ("strike", "sanction") and change.get("user_id")
    }
    for decision in decisions:
        for action in decision.get("actions") or []:
            users.update(_members(action.get("params") or {}))
    return users


def _action_params(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """An action record's own action (its ``actions`` holds the action it ran)."""
    for action in record.get("actions") or []:
        if action.get("id") == record.get("id"):
            params: Mapping[str, Any] = action.get("params") or {}
            return params
    return {}


def _error(text: str) -> str:
    """The actuator's error (JSON: Tencent's ErrorCode and ErrorInfo, or what went wrong) in words."""
    try:
        error: Any = json.loads(text)
    except ValueError:
        return text
    if isinstance(error, Mapping) and ("code" in error or "info" in error):
        code = error.get("code")
        return f"{'' if code is None else f'ErrorCode {code}: '}{error.get('info') or ''}".strip()
    return text


def timeline(records: Iterable[Mapping[str, Any]], *, user: str | None = None) -> list[Mapping[str, Any]]:
    """The records the command shows, oldest first: actions, and events that fired rules (live or
    shadow)."""
    kept = [
        record
        for record in records
        if (record.get("kind") == "action" or record.get("rules") or record.get("shadow"))
        and (user is None or user in acting_users(record))
    ]
    return sorted(kept, key=lambda record: (int(record["at_ms"]), str(record["id"])))


def _verdict(verdict: Mapping[str, Any] | None) -> str:
    if not verdict:
        return "none"
    code = verdict.get("code")
    text = str(verdict.get("action"))
    if isinstance(code, int) and code != 0:
        text += f" (ErrorCode {code})"
    if verdict.get("reason"):
        text += f": {verdict['reason']}"
    return text


def _queued(action: Mapping[str, Any]) -> str:
    params = json.dumps(action.get("params") or {}, ensure_ascii=False, separators=(",", ":"))
    delay = f"  not before {iso_time(int(action['not_before']) * 1000)}" if action.get("not_before") else ""
    return f"{action.get('command')} {params}  (rule {action.get('rule')}){delay}"


def _version(record: Mapping[str, Any]) -> str:
    """The rules version that decided the record (absent in records older than versions)."""
    version = record.get("rules_version")
    return f"  rules {version}" if version else ""


def describe(record: Mapping[str, Any]) -> list[str]:
    """The lines of one record: a header, then (for an event) one line per match and queued action."""
    at = iso_time(int(record["at_ms"]))
    if record.get("kind") == "review":
        # A reviewer's decision on a held comment (liveguard review approve|deny).
        lines = [
            f"{at}  review  {record.get('command')}  hold {str(record.get('id'))[:16]}"
            f"  (rule {', '.join(record.get('rules') or [])})  {record.get('outcome')}"
            + (f" by {record['by']}" if record.get("by") else "")
        ]
        lines.extend(f"    queued   {_queued(action)}" for action in record.get("actions") or [])
        lines.extend(
            f"    strike   against {change.get('user_id')}"
            for change in record.get("changes") or []
            if change.get("kind") == "strike"
        )
        return lines
    if record.get("kind") == "action":
        outcome = str(record.get("outcome"))
        if record.get("error"):
            outcome += f": {_error(str(record['error']))}"
        action: Mapping[str, Any] = next(iter(record.get("actions") or []), {})
        cause = str(action.get("cause") or "")[:16]
        why = f"rule {action.get('rule')}, cause event {cause}" if action else "no action body"
        return [f"{at}  action {record.get('command')}  {outcome}  ({why}){_version(record)}"]
    lines = [
        f"{at}  event  {record.get('command')}  rules {', '.join(record.get('rules') or []) or '(none)'}"
        f"  verdict {_verdict(record.get('verdict'))}{_version(record)}"
    ]
    lines.extend(f"    matched  {_matched(match)}" for match in record.get("matches") or [])
    counts = record.get("counts") or {}
    if counts:
        lines.append("    counted  " + ", ".join(f"{key}={value}" for key, value in sorted(counts.items())))
    lines.extend(f"    queued   {_queued(action)}" for action in record.get("actions") or [])
    for firing in record.get("shadow") or []:
        lines.extend(_would_have(firing))
    return lines


def _matched(match: Mapping[str, Any]) -> str:
    where = str(match.get("field"))
    if match.get("key"):
        where += f"[{match['key']}]"
    return (
        f"list {match.get('list')}  term {json.dumps(match.get('term'), ensure_ascii=False)}"
        f"  in {where}: {json.dumps(match.get('text'), ensure_ascii=False)}"
    )


def _would_have(firing: Mapping[str, Any]) -> list[str]:
    """A shadow rule's firing: what it would have done (nothing of it was done)."""
    verdict = firing.get("verdict")
    answer = ""
    if verdict:
        answer = f"  verdict {_verdict(verdict)}" + ("" if firing.get("decides") else " (not the answer)")
    lines = [f"    would have  rule {firing.get('rule')} (shadow){answer}"]
    if verdict and verdict.get("msg_body") is not None:
        body = json.dumps(verdict["msg_body"], ensure_ascii=False, separators=(",", ":"))
        lines.append(f"      MsgBody  {body}")
    lines.extend(f"      matched  {_matched(match)}" for match in firing.get("matches") or [])
    for action in firing.get("actions") or []:
        params = json.dumps(action.get("params") or {}, ensure_ascii=False, separators=(",", ":"))
        delay = f"  after {action['delay_seconds']} s" if action.get("delay_seconds") else ""
        lines.append(f"      action   {action.get('command')} {params}{delay}")
    lines.extend(f"      change   {_change(change)}" for change in firing.get("changes") or [])
    return lines


def _change(change: Mapping[str, Any]) -> str:
    kind = change.get("kind")
    if kind == "strike":
        count = change.get("count") or 1
        return f"strike {change.get('user_id')}" + (
            f" x{count}" if isinstance(count, int) and count > 1 else ""
        )
    if kind == "violation":
        return f"violation {change.get('violation')}"
    if kind == "sanction":
        return f"sanction {change.get('user_id')} {change.get('sanction')} until {change.get('until')}"
    return f"snapshot {change.get('key')} = {json.dumps(change.get('value'), ensure_ascii=False)}"


def print_timeline(
    records: Iterable[Mapping[str, Any]], *, as_json: bool = False, out: Callable[[str], None] = print
) -> int:
    """Print the records (already filtered); return how many."""
    count = 0
    for record in records:
        count += 1
        if as_json:
            document = {"time": iso_time(int(record["at_ms"])), **record}
            out(json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True))
        else:
            for line in describe(record):
                out(line)
    return count


def audit_command(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from liveguard.aws.state_table import StateTable

    try:
        since = None if args.since is None else parse_since(args.since, now=time.time())
    except ValueError as error:
        print(f"liveguard audit: {error}", file=sys.stderr)
        return 2
    try:
        stack = locate(args)
        table_name = stack.output(TABLE_OUTPUT)
        client = aws_client("dynamodb", endpoint=stack.endpoint, region=stack.region)
    except OpsError as error:
        print(f"liveguard audit: {error}", file=sys.stderr)
        return 2
    try:
        records = StateTable(table_name, client).audit_for_room(args.room, since)
    except (BotoCoreError, ClientError) as error:
        print(f"liveguard audit: cannot read table {table_name}: {error}", file=sys.stderr)
        return 1
    shown = print_timeline(timeline(records, user=args.user), as_json=args.json)
    if not shown and not args.json:
        print(
            f"nothing audited in room {args.room}" + (" for that user" if args.user else ""), file=sys.stderr
        )
    return 0
