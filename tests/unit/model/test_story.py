"""faro.model.story: the bounded event buffer and the story document."""

from __future__ import annotations

import datetime as dt
import random

from faro.model.events import EventType, Gap, StoryEvent
from faro.model.story import SCHEMA, EventBuffer, Story
from faro.model.timefmt import iso_ms, parse

T0 = dt.datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=dt.UTC).timestamp()


def _ev(ts: float, action: str, ns: str = "default") -> StoryEvent:
    return StoryEvent(
        "uid-1", ts, EventType.RESOURCE_UPDATE, "faro", ns, "apps/v1/Deployment/web", action, {}
    )


def _story(cap: int = 20000, namespace: str = "default") -> Story:
    return Story("0123456789abcdef", 1, "apps/v1/Deployment", "web", namespace, "kind-faro", T0, cap=cap)


def test_buffer_under_cap_keeps_everything() -> None:
    b = EventBuffer(10)
    for i in range(10):
        b.append(_ev(T0 + i, f"a{i}"))
    assert len(b) == 10
    assert b.dropped == 0
    assert [e.action for e in b.all()] == [f"a{i}" for i in range(10)]


def test_buffer_past_cap_keeps_head_and_tail() -> None:
    b = EventBuffer(4)
    for i in range(10):
        b.append(_ev(T0 + i, f"a{i}"))
    assert len(b) == 4
    assert b.dropped == 6
    assert [e.action for e in b.all()] == ["a0", "a1", "a8", "a9"]


def test_buffer_odd_cap_and_minimum() -> None:
    b = EventBuffer(5)
    for i in range(8):
        b.append(_ev(T0 + i, f"a{i}"))
    assert [e.action for e in b.all()] == ["a0", "a1", "a5", "a6", "a7"]
    assert b.dropped == 3
    tiny = EventBuffer(0)
    for i in range(3):
        tiny.append(_ev(T0 + i, f"a{i}"))
    assert [e.action for e in tiny.all()] == ["a0", "a2"]
    assert tiny.dropped == 1


def test_story_truncation_is_reported() -> None:
    s = _story(cap=4)
    for i in range(7):
        s.add(_ev(T0 + i, f"a{i}"))
    assert s.event_count == 7
    doc = s.to_dict("1.2.3")
    assert doc["metadata"]["truncated"] == {"events": {"dropped": 3, "kept_head": 2, "kept_tail": 2}}
    assert doc["metadata"]["event_count"] == 7
    assert [e["action"] for e in doc["events"]] == ["a0", "a1", "a5", "a6"]


def test_no_truncation_reports_empty() -> None:
    s = _story()
    s.add(_ev(T0, "created"))
    assert s.to_dict("v")["metadata"]["truncated"] == {}


def test_events_sorted_by_timestamp_stably() -> None:
    s = _story()
    s.add(_ev(T0 + 2, "late"))
    s.add(_ev(T0, "first-at-t0"))
    s.add(_ev(T0 + 1, "middle"))
    s.add(_ev(T0, "second-at-t0"))
    s.add(_ev(T0, "third-at-t0"))
    actions = [e["action"] for e in s.to_dict("v")["events"]]
    assert actions == ["first-at-t0", "second-at-t0", "third-at-t0", "middle", "late"]


def test_timestamps_are_iso_ms_utc() -> None:
    assert iso_ms(T0) == "2026-01-02T03:04:05.123Z"
    assert iso_ms(T0 + 0.0004) == "2026-01-02T03:04:05.123Z"  # truncated to milliseconds
    assert iso_ms(dt.datetime(2026, 1, 2, tzinfo=dt.UTC).timestamp()) == "2026-01-02T00:00:00.000Z"
    s = _story()
    s.end_time = T0 + 60.5
    s.add(_ev(T0 + 1.007, "x"))
    doc = s.to_dict("v")
    assert doc["metadata"]["start_time"] == "2026-01-02T03:04:05.123Z"
    assert doc["metadata"]["end_time"] == "2026-01-02T03:05:05.623Z"
    assert doc["events"][0]["timestamp"] == "2026-01-02T03:04:06.130Z"


def test_parse_round_trips_kubernetes_timestamps() -> None:
    assert parse("2026-01-02T03:04:05.123Z") == T0
    assert parse("2026-01-02T03:04:05.123456789Z") == parse("2026-01-02T03:04:05.123456Z")
    assert parse("2026-01-02T03:04:05Z") == dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC).timestamp()
    assert parse("") is None
    assert parse("yesterday") is None


def test_parse_fast_path_agrees_with_the_general_one() -> None:
    """Log lines take a fast path (cached whole second); it must give the very same floats,
    and leave anything that is not `YYYY-MM-DDTHH:MM:SS[.digits]Z` to the general parser."""
    from faro.model.timefmt import _parse_general

    rng = random.Random(7)
    values = []
    for _ in range(20_000):
        second = dt.datetime.fromtimestamp(rng.randint(0, 4_000_000_000), dt.UTC)
        frac = str(rng.randint(0, 10**9 - 1)).rjust(9, "0")[: rng.randint(0, 9)]
        values.append(second.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z")
    odd = [
        "2026-02-30T01:02:03Z",
        "2026-01-02T03:04:05.Z",
        "2026-01-02T03:04:05.12a3Z",
        "2026-01-02T03:04:05.123+02:00",
        " 2026-01-02T03:04:05Z",
        "2026-01-02T03:04:05.\u0661Z",
    ]
    for v in values + odd:
        assert parse(v) == _parse_general(v), v
    assert parse("2026-01-02T03:04:05.123+02:00") == T0 - 7200
    assert parse("2026-02-30T01:02:03Z") is None


def test_story_metadata() -> None:
    s = _story()
    s.add(_ev(T0, "a", ns="default"))
    s.add(_ev(T0, "b", ns="other"))
    s.add(_ev(T0, "c", ns=""))
    s.gaps.append(Gap("v1/pods", "relist", T0, "410 Gone"))
    s.completion = "Deployment rollout complete"
    meta = s.to_dict("9.9.9")["metadata"]
    assert meta["schema"] == SCHEMA
    assert meta["namespaces"] == ["default", "other"]
    assert meta["end_time"] is None
    assert meta["completion"] == "Deployment rollout complete"
    assert meta["gaps"] == [
        {"resource": "v1/pods", "reason": "relist", "at": "2026-01-02T03:04:05.123Z", "detail": "410 Gone"}
    ]
    assert meta["faro_version"] == "9.9.9"
    assert s.key == "0123456789abcdef#1"
    cluster_scoped = _story(namespace="")
    assert cluster_scoped.to_dict("v")["metadata"]["namespaces"] == []
