"""Powertools idempotency in the state table, set up once for the moderator and the actuator: their
``Idempotency``.

Both key a run on the ``id`` of its message (the event id, the action id), remember a completed run
for a day (longer than any redelivery: maxReceiveCount times the visibility timeout), and mark an
answer that came from the store as ``replayed``. The records live in the state table under
Powertools' own partition (``pk`` "idempotency#<function>").
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import DataRecord

REMEMBER_SECONDS = 24 * 3600
"""How long a completed run is remembered: it must outlast every redelivery."""


def state_table_persistence(table_name: str, client: Any = None) -> BasePersistenceLayer:
    """Powertools' DynamoDB persistence on the state table's keys (``pk``, ``sk``, ``expiration``)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr="pk",
        sort_key_attr="sk",
        expiry_attr="expiration",
        boto3_client=client,
    )


class PowertoolsIdempotency:
    """``idempotent_function`` over one persistence layer, with the configuration both SQS functions
    share."""

    def __init__(
        self, persistence: BasePersistenceLayer, *, remember_seconds: int = REMEMBER_SECONDS
    ) -> None:
        self.persistence = persistence
        self.config = IdempotencyConfig(
            event_key_jmespath="id",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=remember_seconds,
            response_hook=mark_replayed,
        )

    def once(
        self, function: Callable[..., dict[str, Any]], *, key_argument: str, key_prefix: str | None = None
    ) -> Callable[..., dict[str, Any]]:
        wrapped: Callable[..., dict[str, Any]] = idempotent_function(
            function,
            data_keyword_argument=key_argument,
            persistence_store=self.persistence,
            config=self.config,
            key_prefix=key_prefix,
        )
        return wrapped

    def register_lambda_context(self, context: Any) -> None:
        self.config.register_lambda_context(context)


def mark_replayed(response: Any, idempotent_data: DataRecord) -> Any:
    """Powertools calls this only when the answer comes from the idempotency store."""
    return {**response, "replayed": True} if isinstance(response, dict) else response
