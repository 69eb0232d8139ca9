"""Lambda's SQS event source mapping, for one source: long-poll, invoke, delete what succeeded.

Each of the source's pollers receives up to ``BatchSize`` messages (gathering for up to
``MaximumBatchingWindowInSeconds`` when the template sets one), invokes the function with the SQS
event Lambda would build, and then, as Lambda does:

- success without ``ReportBatchItemFailures``: every message is deleted;
- with ``ReportBatchItemFailures``: every message but the reported ones is deleted; an empty or null
  response or ``batchItemFailures`` means all succeeded; a failure naming no message of the batch
  (empty, null, unknown id) fails the whole batch;
- a function error, timeout or crash: nothing is deleted.

Nothing is ever put back by hand: undeleted messages become visible again after the queue's
visibility timeout, and go to the DLQ after ``maxReceiveCount`` receives; both are moto's doing.
The number of pollers is the number of concurrent invocations the source may have. ``pause()``
holds the pollers between batches (as disabling an event source mapping does) until ``resume()``:
benchmarks fill a queue with a backlog that way.
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable
from typing import Any

from .template import SqsSource
from .workers import Result

Invoke = Callable[[dict[str, Any]], Result]
Report = Callable[[str, str, Result, str, str], None]  # function, records, result, outcome, detail


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    """A received message as a record of Lambda's SQS event."""
    attributes: dict[str, Any] = {}
    for name, value in (message.get("MessageAttributes") or {}).items():
        binary = value.get("BinaryValue")
        attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode() if binary is not None else None,
            "stringListValues": [],
            "binaryListValues": [],
            "dataType": value.get("DataType", "String"),
        }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": dict(message.get("Attributes") or {}),
        "messageAttributes": attributes,
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


def failed_ids(source: SqsSource, result: Result, batch: list[str]) -> set[str]:
    """The message ids that must stay in the queue after this invocation."""
    if result.status != "ok":
        return set(batch)
    if not source.report_failures:
        return set()
    payload = result.payload
    if payload is None or payload == {}:
        return set()
    if not isinstance(payload, dict):
        return set(batch)
    failures = payload.get("batchItemFailures")
    if failures is None or failures == []:
        return set()
    if not isinstance(failures, list):
        return set(batch)
    ids: set[str] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        if not isinstance(identifier, str) or identifier not in batch:
            return set(batch)
        ids.add(identifier)
    return ids


class SqsPoller:
    """The pollers of one event source mapping."""

    def __init__(
        self,
        function: str,
        source: SqsSource,
        queue_url: str,
        *,
        region: str,
        clients: Callable[[], Any],
        invoke: Invoke,
        report: Report,
        concurrency: int = 1,
        wait_seconds: int = 1,
    ) -> None:
        self.function = function
        self.source = source
        self.queue_url = queue_url
        self.region = region
        self.concurrency = concurrency
        self.wait_seconds = wait_seconds
        self._clients = clients
        self._invoke = invoke
        self._report = report
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._running = threading.Event()
        self._running.set()
        self._parked = 0
        self._parking = threading.Condition()

    def start(self) -> None:
        for index in range(self.concurrency):
            # A client per poller, made here: creating boto3 clients is not thread-safe.
            thread = threading.Thread(
                target=self._run, args=(self._clients(),), name=f"poller-{self.function}-{index}", daemon=True
            )
            self._threads.append(thread)
            thread.start()

    def signal_stop(self) -> None:
        self._stopping.set()

    def pause(self, timeout: float = 35.0) -> bool:
        """Stop taking batches: each poller finishes the batch it holds (its receive, invocation and
        deletes) and waits. True once every poller waits, False if one did not within ``timeout``."""
        self._running.clear()
        with self._parking:
            return self._parking.wait_for(lambda: self._parked >= len(self._threads), timeout)

    def resume(self) -> None:
        """Take batches again after ``pause``."""
        self._running.set()

    def _park(self) -> None:
        with self._parking:
            self._parked += 1
            self._parking.notify_all()
        while not self._running.wait(0.1) and not self._stopping.is_set():
            pass
        with self._parking:
            self._parked -= 1

    def stop(self, timeout: float = 35.0) -> None:
        self._stopping.set()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _run(self, sqs: Any) -> None:
        while not self._stopping.is_set():
            if not self._running.is_set():
                self._park()
                continue
            try:
                messages = self._receive(sqs)
            except Exception as error:  # moto unreachable (stopping) or refusing: try again shortly
                if self._stopping.is_set():
                    return
                queue = self.queue_url.rsplit("/", 1)[-1]
                self._report(
                    self.function, "0 records", _failure(error), "poll failed", f"receive from {queue}"
                )
                self._stopping.wait(1.0)
                continue
            if messages:
                self._handle(sqs, messages)

    def _receive(self, sqs: Any) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        window_end: float | None = None
        while len(batch) < self.source.batch_size and not self._stopping.is_set():
            if window_end is None:
                wait = self.wait_seconds
            else:
                left = window_end - time.monotonic()
                if left <= 0:
                    break
                wait = max(1, min(20, round(left)))
            received = sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(10, self.source.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                MessageSystemAttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            batch.extend(received)
            if not batch:
                return batch  # nothing yet: poll again (the stop flag is checked between polls)
            if self.source.window <= 0:
                break
            if window_end is None:
                window_end = time.monotonic() + self.source.window
        return batch

    def _handle(self, sqs: Any, messages: list[dict[str, Any]]) -> None:
        records = [sqs_record(message, self.source.queue_arn, self.region) for message in messages]
        result = self._invoke({"Records": records})
        ids = [message["MessageId"] for message in messages]
        failed = failed_ids(self.source, result, ids)
        done = [message for message in messages if message["MessageId"] not in failed]
        for start in range(0, len(done), 10):
            chunk = done[start : start + 10]
            try:
                sqs.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                        for index, message in enumerate(chunk)
                    ],
                )
            except Exception as error:  # left in the queue: it comes back, as after a failed delete in AWS
                self._report(self.function, f"{len(chunk)} records", _failure(error), "delete failed", "")
        count = len(messages)
        what = f"{count} record{'s' if count != 1 else ''}"
        outcome: str
        if result.status != "ok":
            outcome = result.status
        elif failed:
            outcome = f"{len(failed)} of {count} failed"
        else:
            outcome = "ok"
        groups = sorted({m.get("Attributes", {}).get("MessageGroupId", "") for m in messages} - {""})
        detail = f"group{'s' if len(groups) > 1 else ''} {', '.join(groups)}"[:120] if groups else ""
        self._report(self.function, what, result, outcome, detail)


def _failure(error: Exception) -> Result:
    return Result("error", error={"errorType": type(error).__name__, "errorMessage": str(error)})
