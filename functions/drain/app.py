"""Drain: events the ingress kept in the state table's spool (SQS could not take them) onto
liveguard-events.fifo, in each room's arrival order, once each. Runs on a schedule.

Thin on purpose: Powertools wiring here, the logic in the layer (liveguard.drain). The clients are the
ingress's own boto3-free SQS and DynamoDB clients, one pair per worker, made once per cold start.
"""

import os
import time

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveguard.aws.dynamodb import DynamoDbClient, DynamoDbSpool
from liveguard.aws.sqs import SqsClient
from liveguard.drain import SpoolDrain
from liveguard.settings import DrainEnvironment

logger = Logger()
metrics = Metrics()
# The layer logs through the standard library; give its loggers Powertools' JSON format and context.
copy_config_to_registered_loggers(source_logger=logger, include={"liveguard"})
environment = DrainEnvironment.model_validate(os.environ)
drain = SpoolDrain(
    spool=lambda: DynamoDbSpool(environment.state_table_name, DynamoDbClient.from_environment(timeout=2.0)),
    queue=lambda: SqsClient.from_environment(timeout=2.0),
    queue_url=str(environment.events_queue_url),
)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000
    report = drain.run(deadline)
    metrics.add_metric(name="EventsDrained", unit=MetricUnit.Count, value=report.drained)
    metrics.add_metric(name="DrainFailed", unit=MetricUnit.Count, value=report.failed)
    metrics.add_metric(name="KeptEventsHeld", unit=MetricUnit.Count, value=report.held)
    metrics.add_metric(name="DrainAlreadyGone", unit=MetricUnit.Count, value=report.already_gone)
    # What the stale-spool alarm watches: 0 when the spool is empty after the run.
    age = report.oldest_kept_age(time.time())
    metrics.add_metric(name="OldestKeptEventAge", unit=MetricUnit.Seconds, value=round(age, 1))
    summary = {
        "drained": report.drained,
        "failed": report.failed,
        "held": report.held,
        "already_gone": report.already_gone,
        "passes": report.passes,
        "oldest_kept_age_s": round(age, 1),
    }
    if report.drained or report.failed or report.held:
        logger.info("spool drained", extra=summary)
    return summary
