"""Ingress: Tencent's webhook callbacks, authenticated, modelled, decided (before-callbacks) and, when
a rule can act on them, queued.

Thin on purpose: Powertools wiring here, the logic in the layer (liveguard.ingress). Everything is
made once per cold start; nothing heavier than pydantic and httpx is imported on the way (the SQS
client and the spool's DynamoDB client are boto3-free; the secret's reader loads boto3 on first use,
or during a SnapStart init). The rules are loaded on the first callback (or during a SnapStart
init): they say which callbacks are queued at all, and decide before-callbacks. With RULES_BUCKET set
they are the bucket's live version, checked every RULES_REFRESH_SECONDS on a background thread and
swapped in at the start of an invocation (liveguard.reloading); else RULES_FILE or the layer's
defaults. When SQS cannot take
an event, it is kept in the state table's spool (liveguard.spool) and the drain function queues it
later. For the commands a rate, repeat or raid rule listens to, it counts the event in the state
table's flood counters (liveguard.counters) before deciding, and queues the counts with it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveguard.aws.dynamodb import DynamoDbCounters, DynamoDbSpool
from liveguard.aws.rules_bucket import RulesBucketReader
from liveguard.aws.secrets import load_tencent_secret
from liveguard.aws.sqs import SqsClient
from liveguard.ingress import Ingress
from liveguard.reloading import LiveInlineRules, LiveRules
from liveguard.settings import IngressEnvironment, SecretUnusable, TencentSecret

if TYPE_CHECKING:
    from liveguard.rules.compiled import RuleSet
    from liveguard.rules.verdict import CompiledRules
logger = Logger()
metrics = Metrics()
# The layer logs through the standard library; give its loggers Powertools' JSON format and context.
copy_config_to_registered_loggers(source_logger=logger, include={"liveguard"})
environment = IngressEnvironment.model_validate(os.environ)


def fallback_rules() -> RuleSet:
    """RULES_FILE or the layer's defaults: the rules when no bucket is set, or nothing is published."""
    from liveguard.rules.loader import load_rules

    return load_rules(environment.rules_file, check_params=False)  # the moderator checks params


state_view = None


def inline_rules(rules: RuleSet) -> CompiledRules:
    """The moderation rules as the ingress uses them: what to queue (what they act on), and
    before-callback verdicts, which read the state their conditions ask for (mutes and bans, strikes,
    violations) from the table (one reader, kept across versions)."""
    global state_view
    from liveguard.aws.dynamodb import InlineStateView
    from liveguard.rules.engine import InlineRules

    table = environment.state_table_name
    if table and state_view is None:
        state_view = InlineStateView(table, metrics=metrics)
    # Echoes of our admin never reach the rules (the ingress answers them itself), so no admin here.
    return InlineRules(rules, state_view, admin="")


def tencent_secret() -> TencentSecret:
    """The secret, cached; one bounded Secrets Manager call when it is due (Tencent waits 2 s), so an
    unreachable or throttling store is answered 503 50302 rather than timing the function out."""
    return load_tencent_secret(
        environment.tencent_secret_arn,
        environment.secret_max_age,
        connect_timeout=0.5,
        read_timeout=1.0,
        attempts=1,
    )


rules = LiveInlineRules(
    LiveRules(
        # 1 s: the cold start's read comes before the first callback's answer (Tencent waits 2 s).
        source=RulesBucketReader.from_environment(
            environment.rules_bucket, environment.rules_key, timeout=1.0
        )
        if environment.rules_bucket
        else None,
        fallback=fallback_rules,
        prepare=inline_rules,
        metrics=metrics,
        refresh_seconds=environment.rules_refresh_seconds,
        background=True,  # the answer never waits for S3 or for a compile
        check_params=False,
    )
)
ingress = Ingress(
    queue=SqsClient.from_environment(),
    queue_url=str(environment.events_queue_url),
    secret=tencent_secret,
    rules=rules,
    metrics=metrics,
    allow_unsigned=environment.allow_unsigned_callbacks,
    spool=DynamoDbSpool(environment.state_table_name) if environment.state_table_name else None,
    # The flood counters: updated only for the commands a rate, repeat or raid rule listens to.
    counters=DynamoDbCounters(environment.state_table_name, metrics=metrics)
    if environment.state_table_name
    else None,
)
if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
    # Under SnapStart this init runs once before the snapshot: pay for boto3, the first secret read
    # and the rules there, not on a restored instance's first callback.
    try:
        ingress.secret()
    except SecretUnusable as unusable:  # the snapshot still answers (503 50302) and reads it again
        logger.error("tencent secret unusable at init", extra={"reason": unusable.reason})
    rules.load()


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # API Gateway's request id (requestContext.requestId in payload formats 2.0 and 1.0 alike), read
    # directly (a JMESPath correlation path costs more per event).
    # Whatever reaches the handler is answered, so nothing here assumes the event's shape.
    request_context = event.get("requestContext") if isinstance(event, dict) else None
    logger.set_correlation_id(request_context.get("requestId") if isinstance(request_context, dict) else None)
    rules.refresh()  # a finished check's rules swapped in; a due check started on its thread
    return ingress.handle(event, context.get_remaining_time_in_millis())
