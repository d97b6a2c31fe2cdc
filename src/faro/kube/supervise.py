"""Supervision: a task that fails unexpectedly is restarted alone, with backoff.

Why: the capture runs many long-lived tasks (one reflector per watch, one follow stream per
container, the ticker, the CRD follower) in one TaskGroup. Expected failures (API errors,
cut connections) are handled inside each of them; an unexpected exception — a bug, a
malformed object no test foresaw — would otherwise cancel the TaskGroup and end the whole
capture, or vanish with an unretrieved task. As the specification's supervisor does (004),
the failed task alone is started again after a backoff; its first failure is logged with
the traceback, later ones in one line, and every restart is counted by kind for /metrics.
Each task must be restartable: the factory builds a fresh coroutine over the same state.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from faro.kube.backoff import Backoff

log = logging.getLogger("faro.supervisor")


@dataclass
class Supervisor:
    initial: float = 0.5
    cap: float = 30.0
    restarts: dict[str, int] = field(default_factory=dict)  # by kind of task
    _failed: set[str] = field(default_factory=set)  # task names whose traceback was logged

    async def run(self, kind: str, name: str, start: Callable[[], Awaitable[None]]) -> None:
        """Run start() until it returns; restart it whenever it raises (not when cancelled)."""
        backoff = Backoff(initial=self.initial, cap=self.cap)
        while True:
            try:
                backoff.healthy()
                await start()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.restarts[kind] = self.restarts.get(kind, 0) + 1
                if name not in self._failed:
                    if len(self._failed) < 10_000:  # names of pods' streams: keep it bounded
                        self._failed.add(name)
                    log.exception("%s failed; restarting it alone", name)
                else:
                    log.warning("%s failed again (%s: %s); restarting it", name, type(exc).__name__, exc)
            await asyncio.sleep(backoff.delay())
