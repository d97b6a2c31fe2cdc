"""A resource story: one primary object's history, and everything it owns, in one record.

The event buffer keeps memory bounded: past its cap it keeps the head (how it started)
and the tail (how it ended), and counts what was cut, so a crash-looping pod cannot eat
Faro's memory but its story still shows the beginning and the end.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from faro.model.buffer.arena import Arena, Taken
from faro.model.buffer.stored import Freezer, Stored, blob, order, seq_of, story_event_from_dict, thaw
from faro.model.events import EventType, Gap, StoryEvent
from faro.model.timefmt import iso_ms, parse

SCHEMA = "faro.story/v1"
_RESUMABLE = (
    "schema",
    "correlation_id",
    "resource_type",
    "resource_name",
    "namespace",
    "cluster",
    "start_time",
    "episode",
    "gaps",
    "completion_reason",  # only when set: why a terminal primary is about to close the story
    "faro_version",
)


class EventBuffer:
    def __init__(self, cap: int) -> None:
        self.cap = max(cap, 2)
        self.head = Arena()  # most stories never fill it; the tail is a ring of the newest
        self.tail: deque[Stored] = deque(maxlen=self.cap - self.cap // 2)
        self.dropped = 0
        self._freeze = Freezer()

    def append(self, ev: StoryEvent) -> None:
        item = self._freeze(ev)
        if len(self.head) < self.cap // 2:
            self.head.append(item)
            return
        if len(self.tail) == self.tail.maxlen:
            self.dropped += 1
        self.tail.append(item)

    def __len__(self) -> int:
        return len(self.head) + len(self.tail)

    def since(self, seq: int) -> Since:
        """What was added after event number seq and is still kept, in arrival order (the
        newest are at the end of the tail, or of the head while it fills). Taken now, built
        when iterated: the journal takes on the event loop and builds on its writer thread."""
        out: list[Stored] = []
        for f in reversed(self.tail):
            if seq_of(f) <= seq:
                out.reverse()
                return Since(None, out)
            out.append(f)
        out.reverse()
        return Since(self.head.take(self.head.first_after(seq), len(self.head)), out)

    def frozen(self) -> list[Stored]:
        """Chronological (stable: equal timestamps keep arrival order)."""
        return sorted([*self.head, *self.tail], key=order)

    def all(self) -> list[StoryEvent]:
        return [thaw(f) for f in self.frozen()]


class Since:
    """EventBuffer.since's answer: the head's part (taken, see arena.Taken) and the tail's."""

    __slots__ = ("_head", "_tail")

    def __init__(self, head: Taken | None, tail: list[Stored]) -> None:
        self._head, self._tail = head, tail

    def __len__(self) -> int:
        return (len(self._head) if self._head is not None else 0) + len(self._tail)

    def __iter__(self) -> Iterator[Stored]:
        if self._head is not None:
            yield from self._head
        yield from self._tail


@dataclass
class Story:
    correlation_id: str
    episode: int
    resource_type: str
    resource_name: str
    namespace: str
    cluster: str
    start_time: float
    cap: int = 20000
    namespaces: set[str] = field(default_factory=set)
    end_time: float | None = None
    completion: str | None = None
    completion_detail: dict[str, Any] | None = None  # why it is terminal (capture/fold/completion.py)
    gaps: list[Gap] = field(default_factory=list)
    members: set[str] = field(default_factory=set)
    last_activity: float = 0.0
    terminal_since: float | None = None
    deleted_at: float | None = None
    seq: int = 0
    seen_keys: set[tuple[Any, ...]] = field(default_factory=set)  # Events already recorded
    buffer: EventBuffer = field(init=False)

    def __post_init__(self) -> None:
        self.buffer = EventBuffer(self.cap)

    @property
    def key(self) -> str:
        return f"{self.correlation_id}#{self.episode}"

    @property
    def event_count(self) -> int:
        return len(self.buffer) + self.buffer.dropped

    def add(self, ev: StoryEvent) -> None:
        self.seq += 1
        ev.seq = self.seq
        self.buffer.append(ev)
        if ev.namespace:
            self.namespaces.add(ev.namespace)

    def to_json(self, faro_version: str, indent: bool = True, episode: int | None = None) -> bytes:
        """The story file's bytes; events are spliced in as already-encoded JSON. `episode`
        overrides the number the file says (sinks/files.py: an earlier run's file has it)."""
        doc = self._document(faro_version, [orjson.Fragment(blob(f)) for f in self.buffer.frozen()])
        if episode is not None:
            doc["metadata"]["episode"] = episode
        return orjson.dumps(doc, option=orjson.OPT_INDENT_2 if indent else 0) + b"\n"

    def header(self, faro_version: str) -> bytes:
        """What a journal needs besides the events to resume this story (from_dict). Counts
        are left out: they change with every event, and then so would every journal pass."""
        m = self._document(faro_version, [])["metadata"]
        return orjson.dumps({"metadata": {k: m[k] for k in _RESUMABLE if k in m}, "events": []})

    def to_dict(self, faro_version: str) -> dict[str, Any]:
        return self._document(faro_version, [orjson.loads(blob(f)) for f in self.buffer.frozen()])

    def _document(self, faro_version: str, events: list[Any]) -> dict[str, Any]:
        truncated: dict[str, Any] = {}
        if self.buffer.dropped:
            truncated["events"] = {
                "dropped": self.buffer.dropped,
                "kept_head": len(self.buffer.head),
                "kept_tail": len(self.buffer.tail),
            }
        completion = {"completion_reason": self.completion_detail} if self.completion_detail else {}
        return {
            "metadata": {
                "schema": SCHEMA,
                "correlation_id": self.correlation_id,
                "resource_type": self.resource_type,
                "resource_name": self.resource_name,
                "namespace": self.namespace,
                "namespaces": sorted(self.namespaces | ({self.namespace} if self.namespace else set())),
                "cluster": self.cluster,
                "start_time": iso_ms(self.start_time),
                "end_time": iso_ms(self.end_time) if self.end_time is not None else None,
                "event_count": self.event_count,
                "completion": self.completion,
                **completion,
                "episode": self.episode,
                "gaps": [
                    {
                        "resource": g.resource,
                        "reason": g.reason,
                        "at": iso_ms(g.at),
                        "detail": g.detail,
                    }
                    for g in self.gaps
                ],
                "truncated": truncated,
                "faro_version": faro_version,
            },
            "events": events,
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Story:
        """Rebuild an open story from its journal (the to_dict() form)."""
        m = doc["metadata"]
        story = cls(
            correlation_id=m["correlation_id"],
            episode=int(m["episode"]),
            resource_type=m["resource_type"],
            resource_name=m["resource_name"],
            namespace=m["namespace"],
            cluster=m.get("cluster", ""),
            start_time=parse(m["start_time"]) or 0.0,
        )
        detail = m.get("completion_reason")
        story.completion_detail = detail if isinstance(detail, dict) and detail else None
        story.gaps = [
            Gap(g["resource"], g["reason"], parse(g["at"]) or 0.0, g.get("detail", "")) for g in m["gaps"]
        ]
        for e in doc["events"]:
            ev = story_event_from_dict(e)
            story.add(ev)
            uid = (e["data"].get("metadata") or {}).get("uid")
            if uid and e["event_type"] in (EventType.RESOURCE_UPDATE, EventType.CORRELATED_EVENT):
                story.members.add(uid)
            story.last_activity = max(story.last_activity, ev.timestamp)
        # What the buffer cut before the journal or story file was written, and so was never in it.
        story.buffer.dropped = max(story.buffer.dropped, int(m.get("event_count") or 0) - len(story.buffer))
        return story
