"""liveguard-actions.fifo through boto3: the moderator's ``ActionQueue``.

A decision's actions go in its room's message group (so a room's actions run in order) with the
action id as deduplication id (so an event moderated twice queues each action once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from liveguard.messages import message_group

if TYPE_CHECKING:
    from liveguard.messages import ActionMessage

SQS_BATCH = 10
"""SendMessageBatch's ceiling."""


class ActionsNotQueued(Exception):  # noqa: N818 - the domain's word: the actions were not queued
    """SQS refused some of a decision's actions; the event is retried (the accepted ones dedup)."""


class SqsActionQueue:
    """liveguard-actions.fifo through boto3: group = room, deduplication id = action id."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sqs")
        self.queue_url = queue_url
        self.client = client

    def send(self, messages: Sequence[ActionMessage]) -> None:
        send_batches(
            self.client,
            self.queue_url,
            [
                {
                    "MessageBody": message.message_body(),
                    "MessageGroupId": message_group(message.room),
                    "MessageDeduplicationId": message.id,
                }
                for message in messages
            ],
            what="actions",
        )


def send_batches(client: Any, queue_url: str, entries: Sequence[Mapping[str, Any]], *, what: str) -> None:
    """SendMessageBatch of every entry, in order, 10 at a time; raises ActionsNotQueued naming the
    codes SQS gave when it refused any of a batch (the ones it took deduplicate, or run once by the
    actuator's idempotency, when the sender retries)."""
    for start in range(0, len(entries), SQS_BATCH):
        chunk = entries[start : start + SQS_BATCH]
        answer = client.send_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(index), **entry} for index, entry in enumerate(chunk)],
        )
        failed = answer.get("Failed") or []
        if failed:
            codes = sorted({str(entry.get("Code", "")) for entry in failed})
            raise ActionsNotQueued(f"{len(failed)} of {len(chunk)} {what} refused by SQS: {codes}")
