"""The events DLQ (FIFO) through boto3: the moderator's ``DeadLetterQueue``.

The body is kept as it came, so ``liveguard dlq replay`` can send it back once the cause is fixed;
the reason travels as a message attribute.
"""

from __future__ import annotations

from typing import Any


class SqsDeadLetterQueue:
    """The events DLQ through boto3; the body is kept as it came, so it can be replayed."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        if client is None:
            import boto3

            client = boto3.client("sqs")
        self.queue_url = queue_url
        self.client = client

    def send(self, body: str, *, group: str, deduplication_id: str, reason: str) -> None:
        self.client.send_message(
            QueueUrl=self.queue_url,
            MessageBody=body,
            MessageGroupId=group,
            MessageDeduplicationId=deduplication_id,
            MessageAttributes={"Reason": {"DataType": "String", "StringValue": reason[:1000]}},
        )
