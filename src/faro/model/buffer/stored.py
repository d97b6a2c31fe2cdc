"""Story events as a story keeps them in memory: encoded, and log lines by what differs.

Why: stories hold tens of thousands of events for minutes. Kept as StoryEvents with dicts,
every object in them would be tracked (and walked again and again) by CPython's cyclic GC,
which then dominates Faro's CPU time (docs/benchmarks.md); as bytes they are several times
smaller and written out as they are (orjson.Fragment). A stored event is an exact tuple of
str/bytes/numbers, which the GC stops tracking at its first collection: instances of a class,
even with __slots__ and only bytes in them, stay tracked, and every full collection walked
each kept log line. A story's head packs them further, into arrays (src/faro/model/buffer/arena.py);
its tail is a ring of these tuples.
Container log lines are most of a chatty story's events, and every line of one container
instance shares all of its JSON but its time and text: a log line keeps only those, and the
shared JSON once per instance, which halves what a line costs (docs/benchmarks.md, section 3).
Either gives back exactly the bytes StoryEvent.encode() would have (tests/unit/model/test_stored.py).
"""

from __future__ import annotations

from operator import itemgetter
from typing import Any

import orjson

from faro.model.events import EventType, StoryEvent
from faro.model.timefmt import iso_ms, parse

_LOG_FIELDS = ("pod", "container", "restart", "time", "line")  # logstate.log_event, action "log"

Shared = tuple[bytes, bytes]  # a log instance's JSON before and after the timestamp
Frozen = tuple[float, int, bytes]  # timestamp, seq, the event's JSON
FrozenLogLine = tuple[float, int, Shared, bytes]  # timestamp, seq, its instance's JSON, `"time":…,"line":…}}`
Stored = Frozen | FrozenLogLine

order = itemgetter(0, 1)  # chronological, then arrival (seq): the sort key of stored events


def freeze(ev: StoryEvent) -> Frozen:
    # a copy: orjson's output for small events sits in a ~4 KB allocation
    return (ev.timestamp, ev.seq, bytes(memoryview(ev.encode())))


def seq_of(s: Stored) -> int:
    return s[1]


def blob(s: Stored) -> bytes:
    """The event's JSON, exactly as StoryEvent.encode() writes it."""
    if len(s) == 3:
        return s[2]
    head, mid = s[2]
    return b"".join((head, iso_ms(s[0]).encode(), mid, s[3]))


def thaw(s: Stored) -> StoryEvent:
    return story_event_from_dict(orjson.loads(blob(s)), s[1])


class Freezer:
    """Turns story events into stored ones, remembering each log instance's shared JSON."""

    def __init__(self) -> None:
        self._shared: dict[tuple[str, str, str, str, str, str, int], Shared] = {}

    def __call__(self, ev: StoryEvent) -> Stored:
        if ev.event_type is not EventType.CONTAINER_LOG or ev.action != "log" or ev.data_json is not None:
            return freeze(ev)
        d = ev.data
        if ev.changes is not None or tuple(d) != _LOG_FIELDS:
            return freeze(ev)
        pod, container, restart = d["pod"], d["container"], d["restart"]
        if not (isinstance(pod, str) and isinstance(container, str) and type(restart) is int):
            return freeze(ev)
        key = (ev.correlation_id, ev.source_component, ev.namespace, ev.resource, pod, container, restart)
        shared = self._shared.get(key)
        if shared is None:
            shared = self._shared[key] = _shared(ev, pod, container, restart)
        own = orjson.dumps({"time": d["time"], "line": d["line"]})[1:] + b"}"
        return (ev.timestamp, ev.seq, shared, own)


def _shared(ev: StoryEvent, pod: str, container: str, restart: int) -> Shared:
    """StoryEvent.encode()'s layout, cut around the timestamp and before the line's own fields."""
    j = orjson.dumps
    head = b'{"correlation_id":' + j(ev.correlation_id) + b',"timestamp":"'
    mid = (
        b'","event_type":' + j(ev.event_type.value) + b',"source_component":' + j(ev.source_component)
        + b',"namespace":' + j(ev.namespace) + b',"resource":' + j(ev.resource)
        + b',"action":' + j(ev.action) + b',"data":{"pod":' + j(pod) + b',"container":' + j(container)
        + b',"restart":' + j(restart) + b","
    )  # fmt: skip
    return (head, mid)


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
