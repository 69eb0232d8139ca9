"""Powertools' SQS batch processing, set up once for the moderator and the actuator.

FIFO (the events and actions queues): a record that raises fails, and so does the rest of its message
group in the batch (a room's events and actions keep their order); other groups' records are done.
Standard (the delayed-actions queue, the actuator's second source): a record that raises fails alone.
A batch whose every record failed is reported like any other rather than raised: the functions'
Errors (and their alarms) then mean a crash or a timeout, and the failed records come back from SQS
just the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, SqsFifoPartialProcessor


def fifo_batch_processor() -> SqsFifoPartialProcessor:
    """The processor a function keeps at module scope (Powertools' SQS FIFO example, skip on error)."""
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    processor.raise_on_entire_batch_failure = False
    return processor


def standard_batch_processor() -> BatchProcessor:
    """The processor for a standard queue (Powertools' SQS example): each record fails alone."""
    processor = BatchProcessor(event_type=EventType.SQS)
    processor.raise_on_entire_batch_failure = False
    return processor


def from_fifo_queue(event: Mapping[str, Any]) -> bool:
    """Whether an SQS event's records come from a FIFO queue. One invocation carries the records of
    one event source mapping, so the first record's queue ARN speaks for the batch."""
    records = event.get("Records") or []
    return bool(records) and str(records[0].get("eventSourceARN", "")).endswith(".fifo")
