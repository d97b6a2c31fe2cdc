"""Prometheus metrics, declared in one table (kube-state-metrics style).

Each row names a metric, its type, help and labels, and how to read its samples from a
Status snapshot. A custom collector renders the table at scrape time, so the hot path only
bumps plain counters and never touches prometheus_client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from faro.model.status import Status

Samples = Callable[[Status], Iterable[tuple[tuple[str, ...], float]]]


@dataclass(frozen=True)
class Row:
    name: str
    kind: str  # counter | gauge
    help: str
    labels: tuple[str, ...]
    samples: Samples


def _one(f: Callable[[Status], float]) -> Samples:
    return lambda s: [((), f(s))]


def _per_watch(attr: str) -> Samples:
    return lambda s: [((w.resource, w.namespace), float(getattr(w, attr))) for w in s.watches]


TABLE: tuple[Row, ...] = (
    Row(
        "faro_events_processed",
        "counter",
        "Watch events handled, by resource type.",
        ("resource",),
        lambda s: [((r,), float(n)) for r, n in sorted(s.events_processed.items())],
    ),
    Row("faro_correlations_active", "gauge", "Open stories.", (), _one(lambda s: s.open_stories)),
    Row("faro_uptime_seconds", "gauge", "Seconds since the capture started.", (), _one(lambda s: s.uptime)),
    Row("faro_memory_bytes", "gauge", "Resident memory of the process.", (), _one(lambda s: s.memory_bytes)),
    Row(
        "faro_events_per_minute",
        "gauge",
        "Watch events handled over the last minute.",
        (),
        _one(lambda s: s.events_per_minute),
    ),
    Row("faro_worker_pool_size", "gauge", "Pipeline workers running.", (), _one(lambda s: s.workers)),
    Row(
        "faro_queue_depth",
        "gauge",
        "Watch events waiting in the pipeline.",
        (),
        _one(lambda s: s.queue_depth),
    ),
    Row(
        "faro_log_streams_active",
        "gauge",
        "Container log streams open.",
        (),
        _one(lambda s: s.log_streams_active),
    ),
    Row(
        "faro_log_streams_waiting",
        "gauge",
        "Log streams waiting for a slot (--max-log-streams).",
        (),
        _one(lambda s: s.log_streams_waiting),
    ),
    Row("faro_log_lines", "counter", "Container log lines recorded.", (), _one(lambda s: s.log_lines)),
    Row(
        "faro_log_lines_dropped",
        "counter",
        "Log lines cut by per-container caps.",
        (),
        _one(lambda s: s.log_lines_dropped),
    ),
    Row(
        "faro_watch_synced",
        "gauge",
        "1 when the watch has listed at least once.",
        ("resource", "namespace"),
        lambda s: [((w.resource, w.namespace), 1.0 if w.synced else 0.0) for w in s.watches],
    ),
    Row(
        "faro_watch_lists", "counter", "LIST calls completed.", ("resource", "namespace"), _per_watch("lists")
    ),
    Row(
        "faro_watch_watches",
        "counter",
        "WATCH calls opened.",
        ("resource", "namespace"),
        _per_watch("watches"),
    ),
    Row(
        "faro_watch_relists",
        "counter",
        "Relists after the first list.",
        ("resource", "namespace"),
        _per_watch("relists"),
    ),
    Row(
        "faro_watch_gone",
        "counter",
        "410 Gone answers (HTTP or in-stream).",
        ("resource", "namespace"),
        _per_watch("gone"),
    ),
    Row(
        "faro_watch_reconnects",
        "counter",
        "Watch reconnections after an error or a cut.",
        ("resource", "namespace"),
        _per_watch("reconnects"),
    ),
    Row(
        "faro_watch_errors",
        "counter",
        "API errors by HTTP status.",
        ("resource", "namespace", "code"),
        lambda s: [
            ((w.resource, w.namespace, str(c)), float(n))
            for w in s.watches
            for c, n in sorted(w.errors.items())
        ],
    ),
    Row(
        "faro_gaps",
        "counter",
        "Gaps recorded in stories (relists, restarts).",
        ("resource", "reason"),
        lambda s: [((r, why), float(n)) for (r, why), n in sorted(s.gaps.items())],
    ),
    Row(
        "faro_held_expired",
        "counter",
        "Objects/Events held for an owner that never came.",
        (),
        _one(lambda s: s.held_expired),
    ),
    Row(
        "faro_task_restarts",
        "counter",
        "Tasks restarted alone after an unexpected failure, by kind of task.",
        ("task",),
        lambda s: [((k,), float(n)) for k, n in sorted(s.task_restarts.items())],
    ),
    Row(
        "faro_stories_closed",
        "counter",
        "Stories closed, by completion reason.",
        ("completion",),
        lambda s: [((c,), float(n)) for c, n in sorted(s.stories_closed.items())],
    ),
    Row(
        "faro_handler_events",
        "counter",
        "Matched changes delivered to each library event handler.",
        ("handler",),
        lambda s: [((h.name,), float(h.delivered)) for h in s.handlers],
    ),
    Row(
        "faro_handler_retries",
        "counter",
        "Retries of changes a library event handler failed on.",
        ("handler",),
        lambda s: [((h.name,), float(h.retries)) for h in s.handlers],
    ),
    Row(
        "faro_handler_dropped",
        "counter",
        "Matched changes a library event handler never got (retries_exhausted, queue_full).",
        ("handler", "reason"),
        lambda s: [((h.name, r), float(n)) for h in s.handlers for r, n in sorted(h.dropped.items())],
    ),
    Row(
        "faro_handler_queue_depth",
        "gauge",
        "Matched changes waiting for a library event handler (queued, in flight or backing off).",
        ("handler",),
        lambda s: [((h.name,), float(h.depth)) for h in s.handlers],
    ),
)


class StatusCollector(Collector):
    def __init__(self, snapshot: Callable[[], Status]) -> None:
        self._snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        s = self._snapshot()
        for row in TABLE:
            fam: Metric
            if row.kind == "counter":
                fam = CounterMetricFamily(row.name, row.help, labels=row.labels)
            else:
                fam = GaugeMetricFamily(row.name, row.help, labels=row.labels)
            for labels, value in row.samples(s):
                fam.add_metric(list(labels), value)
            yield fam
        lag = HistogramMetricFamily(
            "faro_capture_lag_seconds", "Time from Faro observing a change to its story event.", labels=()
        )
        lag.add_metric([], s.lag.cumulative(), s.lag.total)
        yield lag


def registry_for(snapshot: Callable[[], Status]) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(StatusCollector(snapshot))
    return reg


def exposition(snapshot: Callable[[], Status]) -> bytes:
    return generate_latest(registry_for(snapshot))
