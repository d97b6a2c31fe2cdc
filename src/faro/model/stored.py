"""Story events as a story keeps them in memory: encoded, and log lines by what differs.

Why: stories hold tens of thousands of events for minutes. Kept as StoryEvents with dicts,
every object in them would be tracked (and walked again and again) by CPython's cyclic GC,
which then dominates Faro's CPU time (docs/benchmarks.md); as bytes they are untracked,
several times smaller, and written out as they are (orjson.Fragment). Container log lines
are most of a chatty story's events, and every line of one container instance shares all of
its JSON but its time and text: a LogLine keeps only those, and the shared JSON once per
instance, which halves what a line costs (docs/benchmarks.md, section 3). Either gives back
exactly the bytes StoryEvent.encode() would have (tests/unit/test_stored.py).
"""

from __future__ import annotations

from typing import Any

import orjson

from faro.model.events import EventType, StoryEvent
from faro.model.timefmt import iso_ms, parse

_LOG_FIELDS = ("pod", "container", "restart", "time", "line")  # logstate.log_event, action "log"


class Frozen:
    """Any story event: its sort key and its JSON."""

    __slots__ = ("blob", "seq", "timestamp")

    def __init__(self, ev: StoryEvent) -> None:
        self.timestamp = ev.timestamp
        self.seq = ev.seq
        # a copy: orjson's output for small events sits in a ~4 KB allocation
        self.blob = bytes(memoryview(ev.encode()))

    def thaw(self) -> StoryEvent:
        return story_event_from_dict(orjson.loads(self.blob), self.seq)


class _Shared:
    """The JSON all lines of one container instance share: before and after the timestamp."""

    __slots__ = ("head", "mid")

    def __init__(self, head: bytes, mid: bytes) -> None:
        self.head, self.mid = head, mid


class LogLine:
    """A container log line: its sort key, its own fields as JSON, and its instance's JSON."""

    __slots__ = ("own", "seq", "shared", "timestamp")

    def __init__(self, ev: StoryEvent, shared: _Shared, time: Any, line: Any) -> None:
        self.timestamp = ev.timestamp
        self.seq = ev.seq
        self.shared = shared
        self.own = orjson.dumps({"time": time, "line": line})[1:] + b"}"  # `"time":…,"line":…}}`

    @property
    def blob(self) -> bytes:
        s = self.shared
        return b"".join((s.head, iso_ms(self.timestamp).encode(), s.mid, self.own))

    def thaw(self) -> StoryEvent:
        return story_event_from_dict(orjson.loads(self.blob), self.seq)


Stored = Frozen | LogLine


class Freezer:
    """Turns story events into stored ones, remembering each log instance's shared JSON."""

    def __init__(self) -> None:
        self._shared: dict[tuple[str, str, str, str, str, str, int], _Shared] = {}

    def __call__(self, ev: StoryEvent) -> Stored:
        if ev.event_type is not EventType.CONTAINER_LOG or ev.action != "log" or ev.data_json is not None:
            return Frozen(ev)
        d = ev.data
        if ev.changes is not None or tuple(d) != _LOG_FIELDS:
            return Frozen(ev)
        pod, container, restart = d["pod"], d["container"], d["restart"]
        if not (isinstance(pod, str) and isinstance(container, str) and type(restart) is int):
            return Frozen(ev)
        key = (ev.correlation_id, ev.source_component, ev.namespace, ev.resource, pod, container, restart)
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = _shared(ev, pod, container, restart)
        return LogLine(ev, shared, d["time"], d["line"])


def _shared(ev: StoryEvent, pod: str, container: str, restart: int) -> _Shared:
    """StoryEvent.encode()'s layout, cut around the timestamp and before the line's own fields."""
    j = orjson.dumps
    head = b'{"correlation_id":' + j(ev.correlation_id) + b',"timestamp":"'
    mid = (
        b'","event_type":' + j(ev.event_type.value) + b',"source_component":' + j(ev.source_component)
        + b',"namespace":' + j(ev.namespace) + b',"resource":' + j(ev.resource)
        + b',"action":' + j(ev.action) + b',"data":{"pod":' + j(pod) + b',"container":' + j(container)
        + b',"restart":' + j(restart) + b","
    )  # fmt: skip
    return _Shared(head, mid)


def story_event_from_dict(e: dict[str, Any], seq: int = 0) -> StoryEvent:
    return StoryEvent(
        correlation_id=e["correlation_id"],
        timestamp=parse(e["timestamp"]) or 0.0,
        event_type=EventType(e["event_type"]),
        source_component=e["source_component"],
        namespace=e["namespace"],
        resource=e["resource"],
        action=e["action"],
        data=e["data"],
        changes=e.get("changes"),
        seq=seq,
    )
