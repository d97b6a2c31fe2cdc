"""faro.model.buffer.stored: stored story events give back exactly what StoryEvent.encode() writes,
and the cyclic GC does not keep walking them."""

from __future__ import annotations

import gc
import sys
import tracemalloc

import orjson
import pytest

from faro.model.buffer.stored import Freezer, blob, freeze, thaw
from faro.model.events import EventType, StoryEvent
from faro.model.story import Story

LINES = [
    "plain text",
    "",
    'quotes " and backslashes \\ and a tab\t',
    "control \x00\x01\x1f chars",
    "unicode: héllo wörld — 日本語 🚀",
    "\u2028 line separator \u0085 next line",
    "x" * 100_000,
]


def log(
    line: str, at: float = 1_795_700_000.123, restart: int = 0, seq: int = 0, **extra: object
) -> StoryEvent:
    ev = StoryEvent(
        "2f6b0c1e-uid",
        at,
        EventType.CONTAINER_LOG,
        "app",
        "shop",
        "Pod",
        "log",
        {
            "pod": "web-7d9f-abcde",
            "container": "app",
            "restart": restart,
            "time": "2026-11-26T19:00:00.123456789Z",
        }
        | {"line": line}
        | extra,
    )
    ev.seq = seq
    return ev


@pytest.mark.parametrize("line", LINES)
@pytest.mark.parametrize("at", [1_795_700_000.0, 1_795_700_000.9996, 1_795_700_059.0005, 0.0])
def test_a_log_line_gives_back_the_exact_encoding(line: str, at: float) -> None:
    ev = log(line, at, restart=3, seq=7)
    stored = Freezer()(ev)
    assert len(stored) == 4  # a log line: its instance's JSON is shared
    assert blob(stored) == ev.encode()
    back = thaw(stored)  # (timestamps keep milliseconds, as in the story file)
    assert back == thaw(freeze(ev)) and back.seq == 7 and back.data == ev.data


def test_lines_of_one_instance_share_their_json_and_others_do_not() -> None:
    freeze = Freezer()
    a, b = freeze(log("one")), freeze(log("two"))
    other = freeze(log("three", restart=1))
    assert len(a) == len(b) == len(other) == 4
    assert a[2] is b[2]
    assert other[2] is not a[2]
    assert blob(other) == log("three", restart=1).encode()


def test_everything_else_is_stored_whole() -> None:
    freezer = Freezer()
    marker = StoryEvent(
        "c", 1.0, EventType.CONTAINER_LOG, "app", "ns", "Pod", "truncated", {"pod": "p", "dropped_lines": 5}
    )
    with_extra = log("x", stream="stderr")
    update = StoryEvent("c", 1.0, EventType.RESOURCE_UPDATE, "web", "ns", "Deployment", "update", {"a": 1})
    odd_restart = log("x", restart=0)
    odd_restart.data["restart"] = "0"
    for ev in (marker, with_extra, update, odd_restart):
        stored = freezer(ev)
        assert len(stored) == 3
        assert blob(stored) == ev.encode()


def test_a_stored_line_takes_about_half_the_memory() -> None:
    ev = log("GET /api/v1/orders 200 12ms user=4711 " * 3)
    whole, compact = freeze(ev), Freezer()(ev)
    assert len(compact) == 4
    size_whole = sys.getsizeof(whole) + sys.getsizeof(whole[2])
    size_compact = sys.getsizeof(compact) + sys.getsizeof(compact[3])  # [2] is per instance
    assert size_compact < 0.6 * size_whole


def test_story_file_is_the_same_with_compact_lines() -> None:
    def story(events: list[StoryEvent]) -> Story:
        s = Story("2f6b0c1e-uid", 1, "v1/Pod", "web", "shop", "test", 1_795_700_000.0)
        for ev in events:
            s.add(ev)
        return s

    events = [log(line, 1_795_700_000 + i / 7, restart=i % 2) for i, line in enumerate(LINES * 3)]
    events.append(
        StoryEvent("2f6b0c1e-uid", 1_795_700_000.5, EventType.POD_STARTING, "web", "shop", "Pod", "start", {})
    )
    compact = story(events)
    assert any(len(f) == 4 for f in compact.buffer.head)
    expected = [orjson.loads(e.encode()) for e in sorted(events, key=lambda e: (e.timestamp, e.seq))]
    assert orjson.loads(compact.to_json("test"))["events"] == expected
    assert [e.data for e in compact.buffer.all()] == [e["data"] for e in expected]


def test_a_story_head_holds_no_object_per_event_and_little_besides_its_json() -> None:
    """Kept events are not objects the GC must walk, and a line costs its JSON plus a few dozen bytes
    (~160 more as a tuple of a float, an int and bytes)."""
    s = Story("2f6b0c1e-uid", 1, "v1/Pod", "web", "shop", "test", 1_795_700_000.0)
    lines = [log(f"GET /api/v1/orders/{i} 200 12ms", 1_795_700_000 + i, restart=i % 3) for i in range(5_000)]
    gc.collect()
    before = len(gc.get_objects())
    tracemalloc.start()
    for ev in lines:
        s.add(ev)
    used, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    gc.collect()
    assert len(gc.get_objects()) - before < 50
    own = sum(len(blob(f)) - len(f[2][0]) - len(f[2][1]) - 24 for f in s.buffer.head)  # its own JSON
    assert len(s.buffer.head) == 5_000
    assert (used - own) / 5_000 < 100  # arrays and slack; a tuple per line was ~160
    update = StoryEvent("c", 1.0, EventType.RESOURCE_UPDATE, "web", "ns", "Deployment", "update", {"a": 1})
    s.add(update)
    assert [thaw(f).data for f in s.buffer.since(4_999)] == [lines[-1].data, {"a": 1}]
