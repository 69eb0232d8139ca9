"""`liveguard dlq replay`: dead letters back to their queue once the cause is fixed, in each group's
order, with the group and deduplication id they had (docs/operations.md is the runbook around it).

Nothing here prints a body's user content: a line names a message's id, group, command and why it was
dead-lettered.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from liveguard.messages import message_group
from liveguard_ops.stack import QUEUE_OUTPUTS, OpsError, QueueKind, aws_client, locate


@dataclass
class ReplayReport:
    replayed: int = 0
    failed: int = 0
    left: int = 0
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.failed == 0


@dataclass(frozen=True)
class _Replay:
    """One dead letter, as it goes back: the body, the group and the dedup id it is sent with."""

    body: str
    group: str
    deduplication_id: str
    label: str  # id, group, command: what the operator sees
    key: str  # the message's own id (event or action id): replayed once per run
    why: str  # what it died of, when the dead letter says


def prepare(kind: QueueKind, message: Mapping[str, Any]) -> _Replay:
    """What to send back for one received DLQ message.

    Kept: the body (an action loses the ``error`` the actuator added when it dead-lettered it; a
    malformed action's ``raw`` body is unwrapped), the MessageGroupId, and the MessageDeduplicationId
    it carried (else the body's id, else a digest of the body).
    """
    text = str(message.get("Body", ""))
    attributes: Mapping[str, Any] = message.get("Attributes") or {}
    try:
        parsed: Any = json.loads(text)
    except ValueError:
        parsed = None
    why = ""
    if kind == "events":
        reason = (message.get("MessageAttributes") or {}).get("Reason") or {}
        why = str(reason.get("StringValue") or "")
    if kind != "events" and isinstance(parsed, dict) and "error" in parsed:
        error = parsed.pop("error")
        if isinstance(error, Mapping):
            code = error.get("code")
            why = f"{'' if code is None else f'ErrorCode {code}: '}{error.get('info') or ''}".strip()
        if set(parsed) == {"raw"} and isinstance(parsed["raw"], str):  # not an ActionMessage at all
            text = parsed["raw"]
            try:
                parsed = json.loads(text)
            except ValueError:
                parsed = None
        else:
            text = json.dumps(parsed, ensure_ascii=False, separators=(",", ":"))
    body_id = parsed.get("id") if isinstance(parsed, dict) and isinstance(parsed.get("id"), str) else None
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    group = str(attributes.get("MessageGroupId") or "")
    if not group and isinstance(parsed, dict):
        if kind == "events" and isinstance(parsed.get("group"), str):
            group = parsed["group"]
        elif kind != "events" and isinstance(parsed.get("room"), str):
            group = message_group(parsed["room"])
    group = group or message_group(None)
    deduplication_id = str(attributes.get("MessageDeduplicationId") or body_id or digest)
    command = parsed.get("command") if isinstance(parsed, dict) else None
    name = (body_id or str(message.get("MessageId") or digest))[:16]
    label = f"{name}  group {group}" + (f"  {command}" if isinstance(command, str) else "")
    return _Replay(text, group, deduplication_id, label, body_id or digest, why)


def replay_dead_letters(
    sqs: Any,
    *,
    kind: QueueKind,
    source_url: str,
    dlq_url: str,
    limit: int | None = None,
    dry_run: bool = False,
    out: Callable[[str], None] = print,
    wait_seconds: int = 1,
    visibility_timeout: int = 120,
) -> ReplayReport:
    """Move up to ``limit`` messages from ``dlq_url`` back to ``source_url``, in each group's order.

    A message is deleted from the DLQ only once its send succeeded. After a failure its group's
    later messages stay (order holds); so does a message whose id was already replayed in this run
    (it failed again at once: replaying it again would loop). Whatever stays is made visible again
    at the end, as is everything a dry run looked at.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    report = ReplayReport()
    fifo = source_url.endswith(".fifo")
    held_groups: set[str] = set()
    replayed_keys: set[str] = set()
    seen_messages: set[str] = set()
    to_release: list[str] = []

    def say(line: str) -> None:
        report.lines.append(line)
        out(line)

    handled = 0
    while limit is None or handled < limit:
        wanted = 10 if limit is None else min(10, limit - handled)
        try:
            received = sqs.receive_message(
                QueueUrl=dlq_url,
                MaxNumberOfMessages=wanted,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
                VisibilityTimeout=visibility_timeout,
                WaitTimeSeconds=wait_seconds,
            ).get("Messages", [])
        except (BotoCoreError, ClientError) as error:
            say(f"FAILED    cannot receive from the {kind} DLQ: {error}")
            report.failed += 1
            break
        fresh = [message for message in received if message["MessageId"] not in seen_messages]
        # Seen already: a long run's first messages came round again. Put them back, and stop when
        # nothing new comes.
        to_release.extend(m["ReceiptHandle"] for m in received if m["MessageId"] in seen_messages)
        if not fresh:
            break
        for message in fresh:
            seen_messages.add(message["MessageId"])
            handled += 1
            replay = prepare(kind, message)
            was = f"  (was: {replay.why})" if replay.why else ""
            if dry_run:
                say(f"would replay  {replay.label}{was}")
                report.replayed += 1
                to_release.append(message["ReceiptHandle"])
                continue
            if replay.group in held_groups:
                say(f"left      {replay.label}: behind a message of its group that stays")
                report.left += 1
                to_release.append(message["ReceiptHandle"])
                continue
            if replay.key in replayed_keys:
                say(f"left      {replay.label}: replayed once in this run already, and failed again")
                report.left += 1
                held_groups.add(replay.group)
                to_release.append(message["ReceiptHandle"])
                continue
            send: dict[str, Any] = {"QueueUrl": source_url, "MessageBody": replay.body}
            if fifo:
                send["MessageGroupId"] = replay.group
                send["MessageDeduplicationId"] = replay.deduplication_id
            try:
                sqs.send_message(**send)
            except (BotoCoreError, ClientError) as error:
                say(f"FAILED    {replay.label}: not sent, kept in the DLQ: {error}")
                report.failed += 1
                held_groups.add(replay.group)
                to_release.append(message["ReceiptHandle"])
                continue
            replayed_keys.add(replay.key)
            try:
                sqs.delete_message(QueueUrl=dlq_url, ReceiptHandle=message["ReceiptHandle"])
            except (BotoCoreError, ClientError) as error:
                say(
                    f"FAILED    {replay.label}: sent, but not deleted from the DLQ (a second replay "
                    f"within 5 minutes is deduplicated): {error}"
                )
                report.failed += 1
                continue
            say(f"replayed  {replay.label}{was}")
            report.replayed += 1
    for receipt_handle in to_release:
        # Should this fail, the message becomes visible again after the visibility timeout anyway.
        with contextlib.suppress(BotoCoreError, ClientError):
            sqs.change_message_visibility(QueueUrl=dlq_url, ReceiptHandle=receipt_handle, VisibilityTimeout=0)
    if dry_run:
        say(f"{kind} DLQ: {report.replayed} would be replayed (dry run: nothing moved)")
    else:
        say(
            f"{kind} DLQ -> {kind} queue: {report.replayed} replayed, {report.failed} failed, "
            f"{report.left} left in the DLQ"
        )
    return report


def dlq_replay_command(args: argparse.Namespace) -> int:
    if args.limit is not None and args.limit < 1:
        print("liveguard dlq replay: --limit must be at least 1", file=sys.stderr)
        return 2
    try:
        stack = locate(args)
        source_name, dlq_name = QUEUE_OUTPUTS[args.queue]
        source_url, dlq_url = stack.output(source_name), stack.output(dlq_name)
        sqs = aws_client("sqs", endpoint=stack.endpoint, region=stack.region)
    except OpsError as error:
        print(f"liveguard dlq replay: {error}", file=sys.stderr)
        return 2
    print(f"{args.queue} DLQ {dlq_url} -> {source_url}" + (" (dry run)" if args.dry_run else ""))
    report = replay_dead_letters(
        sqs,
        kind=args.queue,
        source_url=source_url,
        dlq_url=dlq_url,
        limit=args.limit,
        dry_run=args.dry_run,
    )
    return 0 if report.ok else 1
