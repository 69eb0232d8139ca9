"""Actuator: the actions on liveguard-actions.fifo and on the delayed-actions queue, run through
LiveClient, once each.

Thin on purpose: the composition root. The environment is validated, and the adapters
(liveguard.aws) made, once per cold start; LiveClient is made from the Tencent secret on the first
live action and kept. The logic is in the layer (liveguard.actuator). A record that fails fails only
its own message group (FIFO) or itself (the standard delayed-actions queue): partial batch response,
liveguard.aws.batch.
"""

import os

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveguard.actuator import Actuator
from liveguard.aws.actuator_queues import SqsActuatorQueues
from liveguard.aws.batch import fifo_batch_processor, from_fifo_queue, standard_batch_processor
from liveguard.aws.idempotency import PowertoolsIdempotency, state_table_persistence
from liveguard.aws.secrets import load_tencent_secret
from liveguard.aws.state_table import StateTable
from liveguard.ports import CommandRunner
from liveguard.settings import ActuatorEnvironment

logger = Logger()
metrics = Metrics()
# The layer logs through the standard library; give its loggers Powertools' JSON format and context.
copy_config_to_registered_loggers(source_logger=logger, include={"liveguard"})
environment = ActuatorEnvironment.model_validate(os.environ)
dynamodb = boto3.client("dynamodb")


def live_client() -> CommandRunner:
    """LiveClient from the Tencent secret, on the first live action (never in dry-run mode)."""
    from liveguard.tencent.client import LiveClient
    from liveguard.tencent.ratelimit import CommandRateLimiter

    secret = load_tencent_secret(environment.tencent_secret_arn)
    # Each concurrent actuator (of either event source) gets its share of every command's rate, so
    # together they stay under Tencent's limit.
    return LiveClient.from_secret(secret, limiter=CommandRateLimiter(concurrency=environment.instances))


actuator = Actuator(
    client=live_client,
    idempotency=PowertoolsIdempotency(state_table_persistence(environment.state_table_name, dynamodb)),
    queues=SqsActuatorQueues(
        delayed_queue_url=str(environment.delayed_actions_queue_url), dlq_url=str(environment.actions_dlq_url)
    ),
    audit=StateTable(environment.state_table_name, dynamodb),
    dry_run=environment.dry_run,
    metrics=metrics,
)
# One invocation holds one source's records: the actions queue's (FIFO) or the delayed-actions queue's.
fifo_processor = fifo_batch_processor()
standard_processor = standard_batch_processor()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    processor = fifo_processor if from_fifo_queue(event) else standard_processor
    return dict(
        process_partial_response(
            event=event, record_handler=actuator.handle_record, processor=processor, context=context
        )
    )
