"""Operations output from a scripted Status: metrics (golden), /health, /ready, status view."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from rich.console import Console

from faro.model.status import (
    EventRate,
    HandlerStatus,
    Histogram,
    Status,
    StoryDigest,
    WatchStatus,
    human_duration,
)
from faro.ops.metrics import TABLE, exposition
from faro.ops.server import health, ready
from faro.ops.status_view import render

GOLDEN = Path(__file__).parents[2] / "golden" / "metrics.txt"


def scripted() -> Status:
    lag = Histogram()
    for v in (0.002, 0.004, 0.03, 0.3, 4.0):
        lag.observe(v)
    return Status(
        started_at=1000.0,
        now=1042.5,
        ready=True,
        watches=[
            WatchStatus(
                "apps/v1/Deployment",
                "prod",
                True,
                lists=2,
                watches=5,
                relists=1,
                gone=1,
                reconnects=3,
                events=120,
                errors={403: 2, 500: 1},
            ),
            WatchStatus("v1/Pod", "", False, lists=0, watches=0, errors={403: 7}, last_error="403 Forbidden"),
        ],
        open_stories=4,
        stories_closed={"terminal": 10, "deleted": 2},
        events_processed={"apps/v1/Deployment": 120, "v1/Pod": 900},
        workers=3,
        queue_depth=17,
        log_streams_active=50,
        log_streams_waiting=150,
        log_lines=12345,
        log_lines_dropped=6,
        gaps={("apps/v1/Deployment@prod", "relist"): 1, ("faro", "restart"): 2},
        task_restarts={"reflector": 1, "log_stream": 3},
        held_expired=9,
        lag=lag,
        recent=[StoryDigest("apps/v1/Deployment", "prod", "web", 2, "terminal", 88)],
        handlers=[
            HandlerStatus("Notifier", 40, 3, {"queue_full": 2, "retries_exhausted": 1}, 5),
            HandlerStatus("Audit", 42, 0, {"queue_full": 0, "retries_exhausted": 0}, 0),
        ],
        memory_bytes=52_428_800,
        events_per_minute=1530.25,
    )


def test_metrics_exposition_matches_golden() -> None:
    text = exposition(scripted).decode()
    if os.environ.get("FARO_UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_every_table_row_is_exported() -> None:
    text = exposition(scripted).decode()
    for row in TABLE:
        exported = f"{row.name}_total" if row.kind == "counter" else row.name
        assert f"# TYPE {exported} {row.kind}\n" in text
        assert f"# HELP {exported} {row.help}\n" in text
    assert 'faro_capture_lag_seconds_bucket{le="0.005"} 2.0' in text
    assert 'faro_capture_lag_seconds_bucket{le="+Inf"} 5.0' in text


def test_health_has_the_seed_fields() -> None:
    doc = health(scripted())
    assert doc == {
        "status": "healthy",
        "timestamp": "1970-01-01T00:17:22.500Z",
        "uptime": "42s",
        "uptime_seconds": 42.5,
        "active_correlations": 4,
        "active_workers": 3,
        "memory_bytes": 52_428_800,
        "events_processed": 1020,
        "events_per_minute": 1530.2,
    }


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (42.9, "42s"),
        (60, "1m"),
        (723, "12m3s"),
        (5400, "1h30m"),
        (5430, "1h30m"),
        (7200, "2h"),
        (86400 + 4 * 3600 + 59, "1d4h"),
        (3 * 86400, "3d"),
    ],
)
def test_uptime_reads_as_the_specification_shows_it(seconds: float, shown: str) -> None:
    assert human_duration(seconds) == shown


def test_events_per_minute_is_over_the_last_minute() -> None:
    rate = EventRate()
    for t in range(0, 181):  # 10 events a second for two minutes, then 1 a second
        rate.sample(float(t), 10 * min(t, 120) + max(t - 120, 0))
    assert rate.per_minute(180.0, 10 * 120 + 60) == pytest.approx(60.0, rel=0.05)
    assert len(rate.samples) <= 62  # a minute of samples, not the whole history
    young = EventRate()
    young.sample(0.0, 0)
    assert young.per_minute(10.0, 50) == pytest.approx(300.0)
    assert EventRate().per_minute(5.0, 10) == 0.0


def test_ready_lists_watches_not_synced() -> None:
    code, doc = ready(scripted())
    assert code == 503
    assert doc == {"ready": False, "watches": 2, "not_synced": ["v1/Pod@*"]}
    s = scripted()
    s.watches[1].synced = True
    assert ready(s) == (200, {"ready": True, "watches": 2, "not_synced": []})


def test_status_view_renders_watches_rates_and_stories() -> None:
    console = Console(record=True, width=160, force_terminal=True)
    console.print(render(scripted(), events_per_second=250.0))
    out = console.export_text()
    assert "open stories 4" in out and "events/s 250" in out
    assert "log streams 50 (+150 waiting)" in out
    assert "apps/v1/Deployment" in out and "403x7" in out
    assert "prod/web" in out and "terminal" in out
