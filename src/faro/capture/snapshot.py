"""The engine's state as a Status snapshot (model/status.py) for the operations layer."""

from __future__ import annotations

import os
import resource
from typing import TYPE_CHECKING

from faro.model.status import Status, WatchStatus
from faro.model.timefmt import now

if TYPE_CHECKING:
    from faro.capture.engine import Engine


_PAGE = os.sysconf("SC_PAGE_SIZE")


def resident_bytes() -> int:
    """The process's resident memory now (Linux /proc); elsewhere its peak."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def snapshot(engine: Engine) -> Status:
    logs = engine.logs
    t = now()
    total = sum(engine.processed.values())
    return Status(
        started_at=engine.started_at,
        now=t,
        memory_bytes=resident_bytes(),
        task_restarts=dict(engine.supervisor.restarts),
        events_per_minute=engine.rate.per_minute(t, total),
        ready=engine.ready.is_set(),
        watches=[
            WatchStatus(
                r.resource.type_name,
                r.namespace or "",
                r.synced.is_set(),
                r.stats.lists,
                r.stats.watches,
                r.stats.relists,
                r.stats.gone,
                r.stats.reconnects,
                r.stats.events,
                dict(r.stats.errors),
                r.stats.last_error,
            )
            for r in engine.reflectors
        ],
        open_stories=len(engine.book.open),
        stories_closed=dict(engine.closed_by),
        events_processed=dict(engine.processed),
        workers=engine.pipeline.active_workers if engine.pipeline else 0,
        queue_depth=engine.pipeline.depth if engine.pipeline else 0,
        log_streams_active=logs.active if logs else 0,
        log_streams_waiting=logs.waiting if logs else 0,
        log_lines=logs.lines if logs else 0,
        log_lines_dropped=logs.dropped if logs else 0,
        gaps=dict(engine.gap_counts),
        held_expired=engine.correlator.expired,
        lag=engine.lag,
        recent=list(engine.recent),
    )
