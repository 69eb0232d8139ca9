"""The emulator's clock: real time plus an offset that tests can advance (bans, mutes, auto-destroy)."""

from __future__ import annotations

import threading
import time


class Clock:
    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Unix seconds, as the emulated Tencent sees them."""
        with self._lock:
            return time.time() + self._offset

    def now_ms(self) -> int:
        """Unix milliseconds (EventTime in webhooks)."""
        return int(self.now() * 1000)

    def advance(self, seconds: float) -> float:
        """Move emulated time forward (never back); return the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    @property
    def offset(self) -> float:
        with self._lock:
            return self._offset
