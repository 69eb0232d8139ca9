"""The actuator's two SQS calls beside its own event source, through boto3: its ``ActuatorQueues``.

Dead-letter an action that must not be tried again (into the actions DLQ, with why), and defer one
whose time has not come (ChangeMessageVisibility on the received message).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

logger = logging.getLogger(__name__)


class SqsActuatorQueues:
    """The actions DLQ and the actions queue's visibility, through one boto3 SQS client."""

    def __init__(self, *, actions_queue_url: str, dlq_url: str, client: Any = None) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        if client is None:
            import boto3

            client = boto3.client("sqs")
        self.sqs = client
        self.actions_queue_url = actions_queue_url
        self.dlq_url = dlq_url
        self._refusals = (BotoCoreError, ClientError)

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

    def defer(self, receipt_handle: str, seconds: int) -> bool:
        """Hide a received message for ``seconds``; False (logged) when SQS refused."""
        try:
            self.sqs.change_message_visibility(
                QueueUrl=self.actions_queue_url, ReceiptHandle=receipt_handle, VisibilityTimeout=seconds
            )
        except self._refusals as exc:
            logger.warning(
                "could not defer the action; it returns after the visibility timeout instead",
                extra={"error": type(exc).__name__, "detail": str(exc)[:300]},
            )
            return False
        return True
