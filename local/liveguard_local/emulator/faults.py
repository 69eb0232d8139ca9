"""Faults the emulator can inject, so LiveGuard's retries and zero-loss behaviour can be tested.

REST faults are per command: fail with a given ErrorCode for a share of calls or for the next N
calls, add latency, or close the connection without answering. Webhook faults (slow, duplicated
deliveries) are handed to the dispatcher.
"""

from __future__ import annotations

import random
import threading
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RestFault(BaseModel):
    """One rule: which command, what goes wrong, and how often (``share`` of calls, or the ``next`` N)."""

    model_config = ConfigDict(extra="forbid")

    command: str = Field(min_length=1, description="a REST command name, or * for every command")
    code: int | None = Field(default=None, ge=1, description="answer this ErrorCode instead of executing")
    share: float | None = Field(default=None, ge=0, le=1)
    next: int | None = Field(default=None, ge=1)
    latency: float = Field(default=0.0, ge=0, le=30, description="seconds to wait before answering")
    close: bool = Field(default=False, description="drop the connection without answering")

    @model_validator(mode="after")
    def _one_frequency(self) -> Self:
        if self.share is not None and self.next is not None:
            raise ValueError("give share or next, not both")
        if self.code is None and not self.close and self.latency == 0:
            raise ValueError("a fault needs a code, latency or close")
        return self


class WebhookFaults(BaseModel):
    model_config = ConfigDict(extra="forbid")

    delay: float = Field(default=0.0, ge=0, le=30)
    duplicate_share: float = Field(default=0.0, ge=0, le=1)
    duplicate_next: int = Field(default=0, ge=0)


class FaultsRequest(BaseModel):
    """Body of POST /emulator/v1/faults. ``clear`` removes every fault before adding these."""

    model_config = ConfigDict(extra="forbid")

    clear: bool = False
    rest: list[RestFault] = Field(default_factory=list)
    webhooks: WebhookFaults | None = None


class Decision(BaseModel):
    """What to do with one REST call."""

    latency: float = 0.0
    code: int | None = None
    close: bool = False


class RestFaults:
    """The active REST fault rules; ``decide`` consumes ``next`` counts. Thread-safe."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[RestFault] = []
        self._remaining: list[int | None] = []
        self._random = random.Random(seed)  # noqa: S311 - fault sampling, not security
        self._lock = threading.Lock()

    def add(self, faults: list[RestFault]) -> None:
        with self._lock:
            self._rules.extend(faults)
            self._remaining.extend(fault.next for fault in faults)

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self._remaining.clear()

    def active(self) -> list[dict[str, object]]:
        with self._lock:
            return [
                {**rule.model_dump(exclude_none=True), "remaining": left}
                for rule, left in zip(self._rules, self._remaining, strict=True)
            ]

    def decide(self, command: str) -> Decision:
        """The first matching rule that fires this time decides; latency adds up across rules."""
        decision = Decision()
        with self._lock:
            for index, rule in enumerate(self._rules):
                if rule.command not in (command, "*"):
                    continue
                left = self._remaining[index]
                if left is not None:
                    if left <= 0:
                        continue
                    self._remaining[index] = left - 1
                elif rule.share is not None and self._random.random() >= rule.share:
                    continue
                decision.latency += rule.latency
                if decision.code is None and not decision.close:
                    decision.code = rule.code
                    decision.close = rule.close
        return decision
