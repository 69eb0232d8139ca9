"""SendMessage to an SQS queue over its JSON protocol, without boto3 (see ``liveguard.aws.protocol``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from liveguard.aws.protocol import AwsCallError, AwsJsonClient

# Error types SQS answers with HTTP 400 that are worth another try.
RETRYABLE_ERROR_TYPES = frozenset(
    {"RequestThrottled", "ThrottlingException", "ServiceUnavailable", "InternalError"}
)


class SqsSendError(AwsCallError):
    """A SendMessage that did not succeed. ``retryable`` says whether another try may."""


@dataclass(frozen=True)
class SentMessage:
    message_id: str
    sequence_number: str | None


class SqsClient(AwsJsonClient):
    """SendMessage only, over one kept-alive connection."""

    service = "sqs"
    target_prefix = "AmazonSQS."
    error = SqsSendError
    retryable_error_types = RETRYABLE_ERROR_TYPES

    def send_message(
        self,
        queue_url: str,
        body: str,
        *,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        timeout: float | None = None,
    ) -> SentMessage:
        payload: dict[str, Any] = {"QueueUrl": queue_url, "MessageBody": body}
        if group_id is not None:
            payload["MessageGroupId"] = group_id
        if deduplication_id is not None:
            payload["MessageDeduplicationId"] = deduplication_id
        answer = self.call("SendMessage", payload, timeout)
        if "MessageId" not in answer:
            raise SqsSendError("SendMessage answered without a MessageId", retryable=True)
        return SentMessage(str(answer["MessageId"]), answer.get("SequenceNumber"))
