"""`liveguard review list | show | approve | deny`: the comments rules held (verdict ``hold``) and a
reviewer's decisions on them (``liveguard.review``; the table's side ``liveguard.aws.review_queue``).

- ``list [--room R] [--json]``: the holds waiting for a decision, oldest first (one Query of the
  review partition; expired ones are not listed).
- ``show ID``: one hold with its context: the message, the rule and what matched, the sender's strikes.
- ``approve ID``: a conditional write (held, not expired: approving twice sends once), then one
  ``send_group_msg`` action on the actions queue, which the actuator runs once (its id derives from the
  hold): the comment appears in its room as its original sender. Approving an approved hold queues the
  same action again (it still runs once), which finishes an approval whose queueing failed.
- ``deny ID [--strike]``: a conditional write; ``--strike`` counts a strike against the sender in the
  room (in the same write), which the rules' strike thresholds see from the sender's next event.

An ID is a hold's id or a unique prefix of it (at least 8 of its hex digits). Bad input (an id that is
not one, unknown, or ambiguous; no stack) is one line and exit 2; a hold that cannot be decided
(expired, or decided the other way) is one line and exit 1. Decisions appear in `liveguard audit ROOM`.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from liveguard_ops.audit import iso_time
from liveguard_ops.stack import TABLE_OUTPUT, OpsError, aws_client, locate

if TYPE_CHECKING:
    from liveguard.aws.review_queue import ReviewQueue
    from liveguard.review import HeldComment

MIN_ID_PREFIX = 8
_ID_PREFIX = re.compile(r"^[0-9a-f]{8,64}$")
ACTIONS_OUTPUT = "ActionsQueueUrl"


class ReviewError(Exception):
    """One line for the operator, with the exit code."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def review_command(args: argparse.Namespace) -> int:
    """Run one `liveguard review` subcommand: exit 0 done, 1 refused or AWS failed, 2 bad input."""
    from botocore.exceptions import BotoCoreError, ClientError

    name = f"liveguard review {args.review_command}"
    try:
        return _run(args)
    except ReviewError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return error.code
    except OpsError as error:
        print(f"{name}: {error}", file=sys.stderr)
        return 2
    except (BotoCoreError, ClientError) as error:
        print(f"{name}: AWS refused: {error}", file=sys.stderr)
        return 1


def _run(args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    from liveguard.aws.review_queue import ReviewQueue

    command = args.review_command
    hold_id = getattr(args, "id", None)
    if hold_id is not None and not _ID_PREFIX.match(hold_id):
        raise ReviewError(
            f"{hold_id!r} is not a hold id: give the id `liveguard review list` shows"
            f" (at least {MIN_ID_PREFIX} of its hex digits)"
        )
    stack = locate(args)
    table = stack.output(TABLE_OUTPUT)
    queue = ReviewQueue(table, aws_client("dynamodb", endpoint=stack.endpoint, region=stack.region))
    now = time.time()
    if command == "list":
        holds = queue.pending(now=now, room=args.room)
        for hold in holds:
            out(_as_json(hold) if args.json else _line(hold, now))
        if not holds and not args.json:
            print("nothing held for review" + (f" in room {args.room}" if args.room else ""), file=sys.stderr)
        return 0
    hold = _one(queue, str(hold_id))
    if command == "show":
        out(_as_json(hold) if args.json else "\n".join(_details(hold, now)))
        return 0
    by = args.by or _operator()
    if command == "approve":
        return _approve(queue, hold, stack, now=now, by=by, out=out)
    return _deny(queue, hold, now=now, by=by, strike=args.strike, out=out)


def _approve(queue: ReviewQueue, hold: HeldComment, stack: Any, *, now: float, by: str, out: Any) -> int:
    from liveguard.aws.action_queue import ActionsNotQueued, SqsActionQueue
    from liveguard.aws.review_queue import HoldNotPending, resend_action

    if hold.status == "approved":
        action = resend_action(hold)  # the same id: it still runs once
        note = "already approved; its send queued again (it runs once)"
    else:
        _refuse_unless_pending(hold, now, "approve")
        try:
            hold, action = queue.approve(hold, now=now, by=by)
        except HoldNotPending as standing:
            _refuse_unless_pending(standing.hold, now, "approve")
            raise
        note = "approved"
    actions = SqsActionQueue(
        stack.output(ACTIONS_OUTPUT), aws_client("sqs", endpoint=stack.endpoint, region=stack.region)
    )
    try:
        actions.send([action])
    except ActionsNotQueued as error:
        raise ReviewError(
            f"hold {hold.id[:16]} approved, but its send was not queued ({error}): run approve again", 1
        ) from None
    out(
        f"hold {hold.id[:16]} {note}: send_group_msg {action.id[:16]} queued"
        f" ({hold.sender} in room {hold.room})"
    )
    return 0


def _deny(queue: ReviewQueue, hold: HeldComment, *, now: float, by: str, strike: bool, out: Any) -> int:
    from liveguard.aws.review_queue import HoldNotPending

    if hold.status == "denied":
        out(f"hold {hold.id[:16]} already denied at {iso_time(hold.decided_at_ms or 0)}: nothing done")
        return 0
    _refuse_unless_pending(hold, now, "deny")
    try:
        queue.deny(hold, now=now, by=by, strike=strike)
    except HoldNotPending as standing:
        _refuse_unless_pending(standing.hold, now, "deny")
        raise
    struck = f"; a strike against {hold.sender} in room {hold.room}" if strike else ""
    out(f"hold {hold.id[:16]} denied{struck}")
    return 0


def _refuse_unless_pending(hold: HeldComment, now: float, verb: str) -> None:
    if hold.status != "held":
        raise ReviewError(
            f"hold {hold.id[:16]} was {hold.status} at {iso_time(hold.decided_at_ms or 0)}: cannot {verb} it",
            1,
        )
    if hold.expired(now):
        raise ReviewError(
            f"hold {hold.id[:16]} expired at {iso_time(hold.expires_at * 1000)}: cannot {verb} it", 1
        )


def _one(queue: ReviewQueue, prefix: str) -> HeldComment:
    found = queue.find(prefix)
    if not found:
        raise ReviewError(f"no hold {prefix} (expired holds are deleted a day after they expire)")
    if len(found) > 1:
        raise ReviewError(f"{prefix} names {len(found)} holds: give more of the id")
    return found[0]


def _operator() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _text(hold: HeldComment) -> str:
    texts = hold.texts()
    if texts:
        return json.dumps(" ".join(texts), ensure_ascii=False)
    return "(" + ", ".join(str(element.get("MsgType")) for element in hold.msg_body) + ")"


def _line(hold: HeldComment, now: float) -> str:
    left = max(0, int(hold.expires_at - now))
    return (
        f"{hold.id[:16]}  {iso_time(hold.at_ms)}  room {hold.room}  from {hold.sender}  rule {hold.rule}"
        f"  strikes {hold.strikes}  expires in {left // 60}m{left % 60:02d}s  {_text(hold)}"
    )


def _details(hold: HeldComment, now: float) -> list[str]:
    state = "expired" if hold.status == "held" and hold.expired(now) else hold.status
    lines = [
        f"hold      {hold.id}",
        f"status    {state}"
        + (f" at {iso_time(hold.decided_at_ms)} by {hold.decided_by}" if hold.decided_at_ms else ""),
        f"room      {hold.room}",
        f"sender    {hold.sender}  (strikes in the room: {hold.strikes})",
        f"held at   {iso_time(hold.at_ms)}  by rule {hold.rule}"
        + (f": {hold.reason}" if hold.reason else "")
        + ("  (sender told)" if hold.notify else "  (sender not told)"),
        f"expires   {iso_time(hold.expires_at * 1000)}",
        f"text      {_text(hold)}",
        f"MsgBody   {json.dumps(hold.msg_body, ensure_ascii=False, separators=(',', ':'))}",
    ]
    if hold.cloud_custom_data is not None:
        lines.append(f"CloudCustomData  {json.dumps(hold.cloud_custom_data, ensure_ascii=False)}")
    lines.extend(
        f"matched   list {hit.list}  term {json.dumps(hit.term, ensure_ascii=False)}"
        f"  in {hit.field}: {json.dumps(hit.text, ensure_ascii=False)}"
        for hit in hold.matches
    )
    return lines


def _as_json(hold: HeldComment) -> str:
    document = {"time": iso_time(hold.at_ms), **hold.model_dump(mode="json")}
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
