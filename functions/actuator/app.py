"""Actuator: the actions on liveguard-actions.fifo, run through LiveClient, once each.

Thin on purpose: Powertools wiring here, the logic in the layer (liveguard.actuator). The
environment is validated, and the boto3 clients and the idempotency store made, once per cold
start; LiveClient is made from the Tencent secret on the first live action and kept.
"""

import os

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.utilities.typing import LambdaContext

from liveguard.actuator import Actuator
from liveguard.settings import ActuatorEnvironment

logger = Logger()
metrics = Metrics()
# The layer logs through the standard library; give its loggers Powertools' JSON format and context.
copy_config_to_registered_loggers(source_logger=logger, include={"liveguard"})
environment = ActuatorEnvironment.model_validate(os.environ)
actuator = Actuator.from_environment(environment, metrics=metrics)


@logger.inject_lambda_context
@metrics.log_metrics
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    # A batch's records share one failure semantics: SqsFifoPartialProcessor(skip_group_on_error=True)
    # fails a record and the rest of its room's group, and returns the others' outcomes.
    return actuator.handle_batch(event, context)
