"""Per-command call-rate limits, so a burst waits here instead of earning a 60007 from Tencent.

Tencent counts calls per command per second. A token bucket would let a full bucket plus a
second's refill through inside one second (twice the limit), so this is a sliding-window log:
at most ``limit`` calls start within any window of ``window`` seconds. The window is a little
longer than a second to absorb jitter between our clock and the moment Tencent counts a call.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

# Documented maximum calls per second; every other command is 200/s.
DEFAULT_RATE = 200
_GIFT_CATALOGUE_COMMANDS = (
    "add_gift",
    "get_gift",
    "del_gift",
    "get_gift_language",
    "set_gift_language",
    "del_gift_language",
    "add_gift_category",
    "get_gift_category",
    "get_gift_category_language",
    "set_gift_category_language",
    "del_gift_category_language",
    "add_gift_category_relations",
    "del_gift_category_relations",
)
DOCUMENTED_RATES: Mapping[str, int] = {
    "get_room_list": 10,
    "add_robot": 100,
    "get_room_stats": 100,
    # Chat's send_group_msg (1047/34959): Chat's REST default of 200 calls/s, named here because it
    # is another service's; a group itself takes 40 messages/s, the excess dropped by priority.
    "send_group_msg": 200,
    # The gift catalogue is configuration, documented at 1 call/s (over it: 100012).
    **dict.fromkeys(_GIFT_CATALOGUE_COMMANDS, 1),
}
DEFAULT_WINDOW = 1.02


class RateLimitWaitTooLong(Exception):  # noqa: N818 - it is a condition, not an error in the code
    """Waiting for a free slot would overrun the caller's deadline."""

    def __init__(self, command: str, wait: float) -> None:
        self.command = command
        self.wait = wait
        super().__init__(f"{command}: rate limit would delay this call {wait:.3f}s, past the deadline")


class SlidingWindowLimiter:
    """At most ``limit`` acquisitions in any ``window`` seconds. Thread-safe."""

    def __init__(
        self,
        limit: int,
        window: float = DEFAULT_WINDOW,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit}")
        if window <= 0:
            raise ValueError(f"window must be positive, got {window}")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._starts: deque[float] = deque()
        self._lock = threading.Lock()

    def _reserve(self, now: float) -> float:
        """Reserve the earliest slot at or after ``now``; return how long to wait for it."""
        starts = self._starts
        while starts and starts[0] <= now - self.window:
            starts.popleft()
        # Reservations may lie in the future (other waiters); the slot frees when the call that
        # is `limit` places back leaves the window.
        at = now if len(starts) < self.limit else starts[-self.limit] + self.window
        # Keep the log sorted (the window arithmetic above relies on it).
        at = max(at, starts[-1]) if starts else at
        starts.append(at)
        return at - now

    def acquire(self, command: str = "", deadline: float | None = None) -> float:
        """Wait for a slot; return the seconds waited. Refuse to wait past ``deadline`` (clock time)."""
        with self._lock:
            now = self._clock()
            wait = self._reserve(now)
            if deadline is not None and now + wait > deadline:
                self._starts.pop()  # give the slot back: nobody will use it
                raise RateLimitWaitTooLong(command, wait)
        if wait > 0:
            self._sleep(wait)
        return wait


class CommandRateLimiter:
    """One sliding window per REST command, at the documented rate divided among ``concurrency``
    processes that share the app's quota (e.g. the actuator's maximum concurrency)."""

    def __init__(
        self,
        overrides: Mapping[str, int] | None = None,
        *,
        concurrency: int = 1,
        window: float = DEFAULT_WINDOW,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")
        self.concurrency = concurrency
        self.window = window
        self._rates = {**DOCUMENTED_RATES, **(overrides or {})}
        self._clock = clock
        self._sleep = sleep
        self._limiters: dict[str, SlidingWindowLimiter] = {}
        self._lock = threading.Lock()

    def rate(self, command: str) -> int:
        """Calls per second this process may make to ``command`` (at least 1)."""
        return max(1, self._rates.get(command, DEFAULT_RATE) // self.concurrency)

    def limiter(self, command: str) -> SlidingWindowLimiter:
        with self._lock:
            limiter = self._limiters.get(command)
            if limiter is None:
                limiter = SlidingWindowLimiter(
                    self.rate(command), self.window, clock=self._clock, sleep=self._sleep
                )
                self._limiters[command] = limiter
            return limiter

    def acquire(self, command: str, deadline: float | None = None) -> float:
        return self.limiter(command).acquire(command, deadline)
