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

    @property
    def uptime(self) -> float:
        return self.now - self.started_at
