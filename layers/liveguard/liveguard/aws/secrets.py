"""The Tencent secret read from Secrets Manager through Powertools parameters, cached, with bounded
timeouts and every failure a ``SecretUnusable`` that never holds the secret's values.

Powertools' parameters package imports boto3 (about 0.3 s); it is imported on first use, so the
ingress module itself loads fast (or, under SnapStart, during the snapshot's init).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from liveguard.settings import SecretUnusable, TencentSecret, parse_tencent_secret

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters import SecretsProvider

# After a failed read, callers get the same failure for this long without a call: a batch of events
# fails in milliseconds, not one timeout each, and a throttled store is not hammered by every webhook.
RETRY_AFTER = 5.0


@dataclass
class _SecretReader:
    """A Powertools provider (its client and cache) and the last failure of the store behind it."""

    provider: SecretsProvider
    failure: SecretUnusable | None = None
    failed_at: float = 0.0


def _reader(connect_timeout: float, read_timeout: float, attempts: int) -> _SecretReader:
    """One reader per process and client configuration. It is kept where Powertools keeps its own
    default providers, so that clearing those (as tests do between AWS endpoints) resets it too."""
    from aws_lambda_powertools.utilities.parameters import SecretsProvider
    from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS

    key = f"liveguard-secrets:{connect_timeout}:{read_timeout}:{attempts}"
    if key not in DEFAULT_PROVIDERS:
        from botocore.config import Config

        config = Config(
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": attempts},
        )
        DEFAULT_PROVIDERS[key] = _SecretReader(SecretsProvider(boto_config=config))
    reader: _SecretReader = DEFAULT_PROVIDERS[key]
    return reader


def load_tencent_secret(
    arn: str,
    max_age: int = 300,
    *,
    connect_timeout: float = 2.0,
    read_timeout: float = 3.0,
    attempts: int = 3,
) -> TencentSecret:
    """The Tencent secret through Powertools parameters, cached for ``max_age`` seconds.

    Every failure is a ``SecretUnusable`` without the secret's values: the store unreachable,
    throttling or refusing (retryable; repeated without a call for ``RETRY_AFTER`` seconds), or a
    secret that is not JSON or not our settings. The timeouts and attempts bound one read (the
    defaults fit a queue consumer's 30 s; the ingress, answering within Tencent's 2 s, passes less).

    Powertools' parameters package imports boto3 (about 0.3 s); it is imported here, on first use,
    so the ingress module itself loads fast.
    """
    from aws_lambda_powertools.utilities.parameters.exceptions import (
        GetParameterError,
        TransformParameterError,
    )
    from botocore.exceptions import BotoCoreError

    reader = _reader(connect_timeout, read_timeout, attempts)
    if reader.failure is not None and time.monotonic() - reader.failed_at < RETRY_AFTER:
        raise SecretUnusable(reader.failure.reason, retryable=reader.failure.retryable)
    try:
        raw = reader.provider.get(arn, transform="json", max_age=max_age)
    except GetParameterError as error:
        # Powertools wraps the client's error (ClientError, EndpointConnectionError...): its text is
        # AWS's message about the call, which never holds the secret's value.
        failure = SecretUnusable(f"the Tencent secret could not be read: {str(error)[:300]}", retryable=True)
    except TransformParameterError:
        failure = SecretUnusable("the Tencent secret is not a JSON object", retryable=False)
    except BotoCoreError as error:  # making the client: no region, no credentials
        failure = SecretUnusable(
            f"the Tencent secret could not be read: {type(error).__name__}", retryable=True
        )
    else:
        reader.failure = None
        return parse_tencent_secret(raw)
    reader.failure, reader.failed_at = failure, time.monotonic()
    raise failure
