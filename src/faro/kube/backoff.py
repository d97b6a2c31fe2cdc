"""Jittered exponential backoff, client-go style: 0.8 s doubling to 30 s, reset when healthy."""

from __future__ import annotations

import random
import time


class Backoff:
    def __init__(self, initial: float = 0.8, cap: float = 30.0, reset_after: float = 120.0) -> None:
        self.initial = initial
        self.cap = cap
        self.reset_after = reset_after
        self._next = initial
        self._healthy_since: float | None = None

    def healthy(self) -> None:
        """Mark the start of a healthy period (a watch that connected)."""
        self._healthy_since = time.monotonic()

    def delay(self) -> float:
        """The next delay to sleep; resets first if the last healthy period was long enough."""
        if self._healthy_since is not None and time.monotonic() - self._healthy_since >= self.reset_after:
            self._next = self.initial
        self._healthy_since = None
        d = self._next
        self._next = min(self._next * 2, self.cap)
        return d * random.uniform(1.0, 1.5)  # jitter spreads out a thundering herd of watchers
