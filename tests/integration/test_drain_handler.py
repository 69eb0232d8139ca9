"""functions/drain/app.py called with events/scheduled/spool-drain.json, against moto's SQS and
DynamoDB: what a run queues, what it deletes, and the metrics the stale-spool alarm watches."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest

from liveguard.aws.dynamodb import DynamoDbSpool
from liveguard.spool import KeptEvent
from tests.aws import FAKE_CREDENTIALS, create_state_table, moto_server
from tests.functions import lambda_context, load_function

ROOT = Path(__file__).resolve().parents[2]
EVENT = json.loads((ROOT / "events" / "scheduled" / "spool-drain.json").read_text())
TABLE = "liveguard-state-drain"

DRAIN_CONTEXT = lambda_context("SpoolDrainFunction", memory_mb=256, remaining_ms=50_000)


@pytest.fixture(scope="module")
def aws() -> Iterator[dict[str, Any]]:
    with moto_server() as endpoint, pytest.MonkeyPatch.context() as patch:
        for key, value in {**FAKE_CREDENTIALS, "AWS_ENDPOINT_URL": endpoint}.items():
            patch.setenv(key, value)
        sqs = boto3.client("sqs")
        queue_url = sqs.create_queue(
            QueueName="liveguard-events-drain.fifo",
            Attributes={"FifoQueue": "true", "DeduplicationScope": "messageGroup"},
        )["QueueUrl"]
        create_state_table(boto3.client("dynamodb"), TABLE)
        patch.setenv("EVENTS_QUEUE_URL", queue_url)
        patch.setenv("STATE_TABLE_NAME", TABLE)
        patch.setenv("POWERTOOLS_METRICS_NAMESPACE", "LiveGuardTest")
        patch.setenv("POWERTOOLS_SERVICE_NAME", "liveguard-spool-drain")
        yield {"sqs": sqs, "queue_url": queue_url, "handler": load_function("drain")}


def metrics(out: str) -> dict[str, Any]:
    """The values of the EMF line(s) Powertools printed."""
    values: dict[str, Any] = {}
    for line in out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for metric in document["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = document[metric["Name"]]
                values[metric["Name"]] = sum(value) if isinstance(value, list) else value
    return values


def test_a_scheduled_run_queues_the_kept_events_and_reports_an_empty_spool(aws, capsys):
    # Given three events the ingress kept a minute ago
    spool = DynamoDbSpool(TABLE)
    at = int(time.time() * 1000) - 60_000
    for index in range(3):
        body = json.dumps({"index": index})
        spool.keep(
            KeptEvent(
                event_id=f"{index:064x}", group="room-1", received_at=at + index, body=body, kept_at=at
            ),
            timeout=2.0,
        )
    handler: ModuleType = aws["handler"]
    # When EventBridge's schedule invokes the drain
    summary = handler.lambda_handler(EVENT, DRAIN_CONTEXT)
    # Then they are on the events queue in order, and the run says so in its metrics
    messages = aws["sqs"].receive_message(QueueUrl=aws["queue_url"], MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(message["Body"])["index"] for message in messages] == [0, 1, 2]
    assert (summary["drained"], summary["held"]) == (3, 0)
    published = metrics(capsys.readouterr().out)
    assert published["EventsDrained"] == 3.0
    assert published["OldestKeptEventAge"] == 0.0


def test_a_run_with_sqs_refusing_reports_how_old_the_oldest_kept_event_is(aws, capsys, monkeypatch):
    # Given an event kept ten minutes ago, and a queue URL SQS does not know (every send fails)
    handler: ModuleType = aws["handler"]
    at = int(time.time() * 1000) - 600_000
    kept = KeptEvent(event_id="f" * 64, group="room-2", received_at=at, body="{}", kept_at=at)
    DynamoDbSpool(TABLE).keep(kept, timeout=2.0)
    monkeypatch.setattr(handler.drain, "queue_url", aws["queue_url"].replace(".fifo", "-gone.fifo"))
    # When the drain runs
    summary = handler.lambda_handler(EVENT, DRAIN_CONTEXT)
    # Then the event stays kept, and the age the stale-spool alarm watches is ten minutes
    assert (summary["drained"], summary["held"]) == (0, 1)
    assert summary["failed"] >= 1
    assert metrics(capsys.readouterr().out)["OldestKeptEventAge"] >= 600
    assert DynamoDbSpool(TABLE).page(
        KeptEvent(event_id="f" * 64, group="room-2", received_at=at, body="{}", kept_at=at).shard
    )[0]
    DynamoDbSpool(TABLE).remove(kept)  # leave the spool empty for whatever runs next
