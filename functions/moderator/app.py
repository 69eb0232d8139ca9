"""Moderator: batches from liveguard-events.fifo through the rules; state in DynamoDB; actions onto
liveguard-actions.fifo, the delayed ones onto the delayed-actions queue.

Thin on purpose: the composition root. The adapters (liveguard.aws) are chosen and the rules loaded
and compiled once per cold start: the rules bucket's live version (RULES_BUCKET), checked again
between batches every RULES_REFRESH_SECONDS (liveguard.reloading), else RULES_FILE or the layer's
defaults; the logic is in the layer
(liveguard.moderator). A record that fails fails only its own message group (partial batch response,
liveguard.aws.batch); the rest of the batch is done.
"""

import os

import boto3
from aws_lambda_powertools import Logger, Metrics, single_metric
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveguard.aws.action_queue import SqsActionQueue
from liveguard.aws.batch import fifo_batch_processor
from liveguard.aws.dead_letter_queue import SqsDeadLetterQueue
from liveguard.aws.delayed_action_queue import SqsDelayedActionQueue
from liveguard.aws.rules_bucket import RulesBucketReader
from liveguard.aws.secrets import load_tencent_secret
from liveguard.aws.state_table import StateTable
from liveguard.moderator import Moderator, Tally
from liveguard.reloading import LiveRules
from liveguard.rules.engine import evaluate, snapshots_from_admin
from liveguard.rules.loader import load_rules
from liveguard.settings import ModeratorEnvironment

logger = Logger()
metrics = Metrics()
# The layer logs through the standard library; give its loggers Powertools' JSON format and context.
copy_config_to_registered_loggers(source_logger=logger, include={"liveguard"})
environment = ModeratorEnvironment.model_validate(os.environ)
# One SQS client for the three queues it sends to: each boto3 client costs the cold start its own.
sqs = boto3.client("sqs")
rules = LiveRules(
    source=RulesBucketReader.from_environment(environment.rules_bucket, environment.rules_key)
    if environment.rules_bucket
    else None,
    fallback=lambda: load_rules(environment.rules_file),
    prepare=lambda loaded: loaded,
    metrics=metrics,
    refresh_seconds=environment.rules_refresh_seconds,
    background=False,  # checked between batches: a 304 costs a batch a few ms
)
moderator = Moderator(
    state=StateTable(environment.state_table_name),
    actions=SqsActionQueue(str(environment.actions_queue_url), sqs),
    delayed=SqsDelayedActionQueue(str(environment.delayed_actions_queue_url), sqs),
    evaluate=evaluate,
    rules=rules.current(),
    admin=lambda: (
        load_tencent_secret(environment.tencent_secret_arn, environment.secret_max_age).admin_identifier
    ),
    snapshots_from_admin=snapshots_from_admin,
    dead_letters=SqsDeadLetterQueue(str(environment.events_dlq_url), sqs)
    if environment.events_dlq_url
    else None,
)
processor = fifo_batch_processor()
# The per-command and per-rule metrics carry the service, as the totals do.
BREAKDOWN_DIMENSIONS = {"service": os.environ.get("POWERTOOLS_SERVICE_NAME", "liveguard-moderator")}


def publish(tally: Tally) -> None:
    """The batch's counts as metrics: totals with the function's dimensions, and per command and per
    rule with their own dimension (one EMF line each, a handful per batch; a shadow rule's firings
    as ShadowRuleFired, apart from RuleFired). A count of zero is not published: a Sum over no data
    points is no data, which every alarm here treats as not breaching, and the zeros would double
    the bytes each batch logs."""
    totals = {
        "EventsProcessed": sum(tally.events.values()),
        "RulesFired": sum(tally.rules.values()),
        "ShadowRulesFired": sum(tally.shadow.values()),
        "ActionsEmitted": sum(tally.actions.values()),
        "EchoesSkipped": tally.echoes,
        "EventsReplayed": tally.replayed,
        "EventsMalformed": tally.malformed,
        "EventsFailed": tally.failures,
    }
    for name, value in totals.items():
        if value:
            metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)
    for dimension, name, counts in (
        ("Command", "EventsProcessed", tally.events),
        ("Rule", "RuleFired", tally.rules),
        # Apart from RuleFired: a shadow rule's firing did nothing, and an alarm on RuleFired must not
        # count it; going live moves the rule's count from one to the other.
        ("Rule", "ShadowRuleFired", tally.shadow),
        ("Command", "ActionEmitted", tally.actions),
    ):
        for value, count in counts.items():
            with single_metric(
                name=name,
                unit=MetricUnit.Count,
                value=count,
                default_dimensions={**BREAKDOWN_DIMENSIONS, **metrics.default_dimensions},
            ) as metric:
                metric.add_dimension(name=dimension, value=value)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # One version decides the whole batch: a new one is taken here, between batches.
    rules.refresh()
    moderator.rules = rules.current()
    # The batch's journal in one read: each record then knows whether its event was decided.
    moderator.read_ahead(event.get("Records") or [])
    try:
        response = process_partial_response(
            event=event, record_handler=moderator.handle_record, processor=processor, context=context
        )
    finally:
        publish(moderator.take_tally())
    # The failed records and the ones behind them in their groups: all go back to the queue.
    if response["batchItemFailures"]:
        metrics.add_metric(
            name="RecordsReturned", unit=MetricUnit.Count, value=len(response["batchItemFailures"])
        )
    return dict(response)
