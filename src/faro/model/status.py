"""A snapshot of a running capture, for /metrics, /health, /ready and the status view.

The capture engine fills it in; the operations layer only reads it. Keeping it plain data
in the model layer lets both sides share it without importing each other.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field

LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class Histogram:
    """Cumulative-on-export histogram with fixed buckets (seconds)."""

    buckets: tuple[float, ...] = LAG_BUCKETS
    counts: list[int] = field(default_factory=lambda: [0] * (len(LAG_BUCKETS) + 1))
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[tuple[str, int]]:
        out, running = [], 0
        for bound, n in zip((*self.buckets, float("inf")), self.counts, strict=True):
            running += n
            out.append(("+Inf" if bound == float("inf") else repr(bound), running))
        return out


@dataclass
class WatchStatus:
    resource: str
    namespace: str
    synced: bool
    lists: int = 0
    watches: int = 0
    relists: int = 0
    gone: int = 0
    reconnects: int = 0
    events: int = 0
    errors: dict[int, int] = field(default_factory=dict)
    last_error: str = ""


@dataclass
class StoryDigest:
    resource_type: str
    namespace: str
    name: str
    episode: int
    completion: str
    events: int
    path: str = ""


@dataclass
class HandlerStatus:
    """One library event handler's queue (sinks/handlers.py)."""

    name: str
    delivered: int = 0
    retries: int = 0
    dropped: dict[str, int] = field(default_factory=dict)  # by reason
    depth: int = 0


@dataclass
class Status:
    started_at: float
    now: float
    ready: bool = False
    watches: list[WatchStatus] = field(default_factory=list)
    open_stories: int = 0
    stories_closed: dict[str, int] = field(default_factory=dict)
    events_processed: dict[str, int] = field(default_factory=dict)  # by resource type
    workers: int = 0
    queue_depth: int = 0
    log_streams_active: int = 0
    log_streams_waiting: int = 0
    log_lines: int = 0
    log_lines_dropped: int = 0
    gaps: dict[tuple[str, str], int] = field(default_factory=dict)  # (resource, reason)
    held_expired: int = 0
    lag: Histogram = field(default_factory=Histogram)
    recent: list[StoryDigest] = field(default_factory=list)
    handlers: list[HandlerStatus] = field(default_factory=list)  # filled in by api/
    task_restarts: dict[str, int] = field(default_factory=dict)  # by kind: reflector, log_stream, ...
    memory_bytes: int = 0  # resident set size now
    events_per_minute: float = 0.0  # watch events handled over the last minute

    @property
    def uptime(self) -> float:
        return self.now - self.started_at

    @property
    def events_total(self) -> int:
        return sum(self.events_processed.values())


def human_duration(seconds: float) -> str:
    """An uptime as the specification's /health shows it ("1h30m"): the two largest units,
    like kubectl's ages (45s, 12m3s, 1h30m, 2d4h)."""
    s = max(int(seconds), 0)
    d, rest = divmod(s, 86400)
    h, rest = divmod(rest, 3600)
    m, sec = divmod(rest, 60)
    if d:
        return f"{d}d{h}h" if h else f"{d}d"
    if h:
        return f"{h}h{m}m" if m else f"{h}h"
    if m:
        return f"{m}m{sec}s" if sec else f"{m}m"
    return f"{sec}s"


@dataclass
class EventRate:
    """Events per minute from (time, running total) samples taken at each tick: the total
    now minus the total a minute ago (scaled up while the process is younger than that)."""

    samples: list[tuple[float, int]] = field(default_factory=list)

    def sample(self, at: float, total: int) -> None:
        self.samples.append((at, total))
        del self.samples[: bisect.bisect_left(self.samples, (at - 60.0, -1))]  # older than a minute

    def per_minute(self, at: float, total: int) -> float:
        if not self.samples:
            return 0.0
        t0, n0 = self.samples[0]
        return (total - n0) * 60.0 / max(at - t0, 1.0)
