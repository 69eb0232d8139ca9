"""Our Lambda functions as the runtime meets them, written once for every test: the handler module
imported from ``functions/<name>/app.py`` (``load_function``) and the context Lambda passes it
(``lambda_context``), and an SQS batch run as the SQS functions run one (``process_batch``)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

FUNCTIONS = Path(__file__).resolve().parents[1] / "functions"


@dataclass(frozen=True)
class FakeLambdaContext:
    """What Powertools and our handlers read of Lambda's context."""

    function_name: str
    memory_limit_in_mb: int = 1024
    remaining_ms: int = 5_000
    aws_request_id: str = "test-request"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def lambda_context(
    function: str, *, memory_mb: int = 1024, remaining_ms: int = 5_000, request_id: str = "test-request"
) -> FakeLambdaContext:
    """The context Lambda hands ``function`` (its logical id), with ``remaining_ms`` left to run."""
    return FakeLambdaContext(function, memory_mb, remaining_ms, request_id)


def load_function(
    name: str, *, module_name: str | None = None, environment: Mapping[str, str] | None = None
) -> ModuleType:
    """``functions/<name>/app.py`` imported as a cold start would: a fresh module each call, registered
    as ``module_name`` (default ``<name>_app``), with ``environment`` set while it imports (and put
    back afterwards, since the module reads its environment once, at import)."""
    module_name = module_name or f"{name}_app"
    saved = {key: os.environ.get(key) for key in environment or {}}
    os.environ.update(environment or {})
    try:
        spec = importlib.util.spec_from_file_location(module_name, FUNCTIONS / name / "app.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[module_name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def process_batch(
    record_handler: Callable[..., Any], event: Mapping[str, Any], context: FakeLambdaContext | None = None
) -> dict[str, Any]:
    """An SQS batch through ``record_handler`` as the moderator and the actuator run one: Powertools'
    FIFO processor, or its standard one for a standard queue's records (``liveguard.aws.batch``), and
    ``process_partial_response``; the partial batch response."""
    from aws_lambda_powertools.utilities.batch import process_partial_response

    from liveguard.aws.batch import fifo_batch_processor, from_fifo_queue, standard_batch_processor

    response = process_partial_response(
        event=dict(event),
        record_handler=record_handler,
        processor=fifo_batch_processor() if from_fifo_queue(event) else standard_batch_processor(),
        context=context,  # type: ignore[arg-type]
    )
    return dict(response)
