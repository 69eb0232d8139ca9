"""The actuator's two sends beside its event sources, through boto3: its ``ActuatorQueues``.

Dead-letter an action that must not be tried again (into the actions DLQ, with why), and send one
that must wait (not due yet, or retried after a retryable failure) to the delayed-actions queue,
where it waits outside its room's FIFO group.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from liveguard.aws.delayed_action_queue import SqsDelayedActionQueue

if TYPE_CHECKING:
    from liveguard.messages import ActionMessage


class SqsActuatorQueues:
    """The actions DLQ and the delayed-actions queue, through one boto3 SQS client."""

    def __init__(self, *, delayed_queue_url: str, dlq_url: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sqs")
        self.sqs = client
        self.dlq_url = dlq_url
        self.delayed = SqsDelayedActionQueue(delayed_queue_url, client)

    def dead_letter(self, body: Mapping[str, Any], *, group: str, deduplication_id: str) -> None:
        """Send to the actions DLQ; raises on failure, so the record fails and is tried again."""
        message: dict[str, Any] = {
            "QueueUrl": self.dlq_url,
            "MessageBody": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        }
        if self.dlq_url.endswith(".fifo"):
            # Our own retries of one delivery share the dedup id; a replay after a fix is a new message.
            message["MessageGroupId"] = group
            message["MessageDeduplicationId"] = deduplication_id
        self.sqs.send_message(**message)

    def delay(self, action: ActionMessage, seconds: int) -> None:
        """Send to the delayed-actions queue, visible after ``seconds``; raises on failure."""
        self.delayed.delay([(action, seconds)])
