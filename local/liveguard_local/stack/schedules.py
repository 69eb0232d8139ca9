"""EventBridge's schedule rules, for one ``Schedule`` event: invoke the function every so often.

A thread invokes the function with the event EventBridge sends (``detail-type: Scheduled Event``),
first one interval after the start, then one interval after each run ends (so runs never overlap,
as the drain's timeout under its rate ensures in AWS). The interval is the template's ``rate(...)``,
or a shorter one the stack is given (tests and demos do not wait a minute).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from .template import ACCOUNT_ID, ScheduleSource
from .workers import Result

Invoke = Callable[[dict[str, Any]], Result]
Report = Callable[[str, str, Result, str, str], None]  # function, records, result, outcome, detail


def scheduled_event(rule_arn: str, region: str, now: float | None = None) -> dict[str, Any]:
    """The event EventBridge sends a function for a schedule rule."""
    moment = time.gmtime(now if now is not None else time.time())
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": ACCOUNT_ID,
        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", moment),
        "region": region,
        "resources": [rule_arn],
        "detail": {},
    }


class ScheduledInvoker:
    """One schedule rule's invocations of its function."""

    def __init__(
        self,
        function: str,
        source: ScheduleSource,
        *,
        region: str,
        invoke: Invoke,
        report: Report,
        every: float | None = None,
    ) -> None:
        self.function = function
        self.source = source
        self.region = region
        self.every = every if every is not None else source.every
        self.rule_arn = f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{function}-{source.name}"
        self._invoke = invoke
        self._report = report
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"schedule-{self.function}", daemon=True)
        self._thread.start()

    def signal_stop(self) -> None:
        self._stopping.set()

    def stop(self, timeout: float = 60.0) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self.every):
            self.run_once()

    def run_once(self) -> Result:
        """One invocation, now."""
        result = self._invoke(scheduled_event(self.rule_arn, self.region))
        self.runs += 1
        payload = result.payload if isinstance(result.payload, dict) else {}
        detail = ", ".join(f"{key} {value}" for key, value in payload.items() if value)
        self._report(self.function, "schedule", result, result.status, detail[:120])
        return result
