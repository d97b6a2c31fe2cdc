"""Start-up order: watches start in waves, each waiting (bounded) for the previous to settle.

Primaries first, then the owners of pods (ReplicaSets, Jobs, ...), then Pods, then Events
and CRDs: children then find their owners already known, so little needs to be held. A
wave waits for its watches to *settle* (listed, or failed), so a forbidden resource delays
nothing.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from faro.capture.plan import CRDS, EVENTS, PRIMARY, WatchSpec
from faro.kube.watch import Reflector

log = logging.getLogger("faro.engine")


def waves(specs: list[WatchSpec]) -> list[list[WatchSpec]]:
    def rank(s: WatchSpec) -> int:
        if PRIMARY in s.roles:
            return 0
        if EVENTS in s.roles or CRDS in s.roles:
            return 3
        return 2 if s.key.resource.kind == "Pod" else 1

    waves: dict[int, list[WatchSpec]] = {}
    for s in specs:
        waves.setdefault(rank(s), []).append(s)
    return [waves[k] for k in sorted(waves)]


async def wait_settled(reflectors: list[Reflector], stop: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.create_task(r.settled.wait()) for r in reflectors]
    if not waits:
        return
    stopping = asyncio.create_task(stop.wait())
    pending: set[asyncio.Task[Any]] = set(waits)
    try:
        async with asyncio.timeout(timeout):
            while pending and not stop.is_set():
                _, pending = await asyncio.wait(pending | {stopping}, return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stopping)
    except TimeoutError:
        pass
    for t in [*waits, stopping]:
        t.cancel()
    if stop.is_set():
        return  # stopped while starting: nothing is slow
    for r in reflectors:
        if not r.synced.is_set():
            log.warning("watch %s not synced after %ss: %s", r.name, timeout, r.stats.last_error or "slow")
