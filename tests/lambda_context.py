"""A fake Lambda context, written once: what Powertools and our handlers read of it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FakeLambdaContext:
    function_name: str
    memory_limit_in_mb: int = 1024
    remaining_ms: int = 5_000
    aws_request_id: str = "test-request"

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def lambda_context(function: str, *, memory_mb: int = 1024, remaining_ms: int = 5_000) -> FakeLambdaContext:
    """The context Lambda hands ``function`` (its logical id), with ``remaining_ms`` left to run."""
    return FakeLambdaContext(function, memory_mb, remaining_ms)
