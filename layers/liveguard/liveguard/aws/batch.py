"""Powertools' SQS FIFO batch processing, set up once for the moderator and the actuator.

A record that raises fails, and so does the rest of its message group in the batch (a room's events
and actions keep their order); other groups' records are done. A batch whose every record failed is
reported like any other rather than raised: the functions' Errors (and their alarms) then mean a
crash or a timeout, and the failed records come back from SQS just the same.
"""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor


def fifo_batch_processor() -> SqsFifoPartialProcessor:
    """The processor a function keeps at module scope (Powertools' SQS FIFO example, skip on error)."""
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    processor.raise_on_entire_batch_failure = False
    return processor
