"""The delayed-actions queue through boto3: the moderator's and the actuator's ``DelayedActionQueue``.

A standard queue, because only a standard queue takes a delay per message (DelaySeconds, 0-900 s;
FIFO queues refuse it): an action that must wait (a rule's ``delay_seconds``, a retry's backoff)
waits here, outside its room's FIFO group, and the actuator runs it when SQS hands it over. No group
and no deduplication id: a repeat send is caught by the actuator's idempotency on the action id.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from liveguard.aws.action_queue import send_batches
from liveguard.messages import MAX_DELAY_SECONDS

if TYPE_CHECKING:
    from liveguard.messages import ActionMessage


class SqsDelayedActionQueue:
    """liveguard-delayed-actions through boto3: one message per action, DelaySeconds per message."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sqs")
        self.queue_url = queue_url
        self.client = client

    def delay(self, delayed: Sequence[tuple[ActionMessage, int]]) -> None:
        send_batches(
            self.client,
            self.queue_url,
            [
                {
                    "MessageBody": message.message_body(),
                    "DelaySeconds": min(max(int(seconds), 0), MAX_DELAY_SECONDS),
                }
                for message, seconds in delayed
            ],
            what="delayed actions",
        )
