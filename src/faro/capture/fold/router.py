"""Route one watch event to the stories it concerns: as a primary, as a member, as an Event.

Pure bookkeeping with no I/O and no awaits, so each event is handled atomically and the
pipeline's per-UID order is the order the stories see.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faro.capture.container_logs.manager import LogManager
from faro.capture.filters import EventFilters, PrimaryRule
from faro.capture.fold.owner_graph import Correlator
from faro.capture.fold.pod_lifecycle import PodLifecycle
from faro.capture.fold.redact import strip_object
from faro.capture.fold.roles import CHILD, CRDS, EVENTS, PRIMARY
from faro.capture.fold.story_book import StoryBook, event_keys
from faro.config import ResourceRule
from faro.model.events import EventType, StoryEvent, WatchEvent, WatchType
from faro.model.story import Story
from faro.model.timefmt import parse

# A matched change of a primary: the event, the object as the story holds it (stripped,
# redacted), and the config rule that matched it (the first that does).
OnMatched = Callable[[WatchEvent, dict[str, Any], ResourceRule], None]


@dataclass
class Item:
    """A watch event plus what its reflector is for (roles) and which rules it serves."""

    ev: WatchEvent
    roles: frozenset[str]
    rules: tuple[PrimaryRule, ...] = ()


@dataclass
class Router:
    book: StoryBook
    correlator: Correlator
    redact: bool = True
    logs: LogManager | None = None
    events: EventFilters = field(default_factory=EventFilters)
    podlife: PodLifecycle = field(default_factory=PodLifecycle)
    on_matched: OnMatched | None = None  # library handlers, JSON export; None: no work at all

    def route(self, ev: WatchEvent, roles: frozenset[str], rules: tuple[PrimaryRule, ...]) -> None:
        if CRDS in roles:
            return  # handled by the engine (new kinds to watch), not part of any story
        if EVENTS in roles:
            self.k8s_event(ev)
            return
        if self.book.repeated(ev):
            return  # already recorded from another rule's watch
        obj: dict[str, Any] | None = None  # stripped only if a story records it (most don't)
        released: list[WatchEvent] = []
        meta = ev.meta
        cids: list[str] = []
        hit = _first_match(rules, meta) if PRIMARY in roles else None
        if hit is not None:
            obj = strip_object(ev.obj, self.redact)
            self.book.primary(ev, obj)
            released += self.correlator.bind_primary(ev.uid)
            cids.append(ev.uid)
            if self.on_matched is not None:  # once per change: repeats were skipped above
                self.on_matched(ev, obj, hit.rule)
        elif CHILD not in roles and PRIMARY in roles:
            # Unmatched, it is still an owner Faro has seen: what it owns belongs to no story
            # and is dropped on arrival instead of held for this owner to turn up.
            released += self.correlator.observe(ev)[1]
        if CHILD in roles:
            stories, more = self.correlator.place(ev)
            released += more
            for cid in stories:
                if cid != ev.uid:  # a primary is in its own story as the primary
                    if obj is None:
                        obj = strip_object(ev.obj, self.redact)
                    self.book.child(cid, ev, obj)
                    cids.append(cid)
        if cids and ev.resource.kind == "Pod":
            self._pod(cids, ev)
        for held in released:
            if held.resource.kind == "Event":
                self.k8s_event(held)
            else:
                self.route(held, frozenset({CHILD}), ())

    def resume(self, story: Story, now: float) -> None:
        """Take over a story journalled by a previous run: the book adopts it (a restart gap),
        its members are bound, each container's log resumes where the journal stops, and each
        pod's lifecycle goes on from its last journalled state (no second POD_STARTING)."""
        self.book.resume(story, now)
        self.correlator.bind_primary(story.correlation_id)
        for uid in story.members - {story.correlation_id}:
            self.correlator.bound[uid] = story.correlation_id
        events = story.buffer.all()
        if self.logs is not None:
            self.logs.resume(events)
        for pod, at in _last_pod_states(events).values():
            self.podlife.seed(pod, at)

    def _pod(self, cids: list[str], ev: WatchEvent) -> None:
        deleted = ev.type is WatchType.DELETED
        lifecycle = self.podlife.observe(ev.obj, ev.observed_at, deleted)
        for cid in cids:
            for se in lifecycle:
                self.book.add(cid, se if cid == cids[0] else copy.copy(se))
        if self.logs is not None:
            self.logs.pod_changed(cids, ev.obj, deleted)

    def k8s_event(self, ev: WatchEvent) -> None:
        if ev.type is WatchType.DELETED:
            return  # the apiserver's TTL removed it; it stays in the story
        stories = self.correlator.stories(self.correlator.event_target(ev.about, ev))
        if not stories:
            return  # most Events are about objects of no story: those are never decoded
        obj = ev.obj
        involved = obj.get("involvedObject") or obj.get("regarding") or {}
        series = obj.get("series") or {}
        when = (
            parse(series.get("lastObservedTime"))
            or parse(obj.get("lastTimestamp"))
            or parse(obj.get("eventTime"))
            or parse(obj.get("firstTimestamp"))
            or ev.observed_at
        )
        if 0 <= ev.observed_at - when < 1.0:
            # Event times have second precision; a fresh one is better placed by when we saw it.
            when = ev.observed_at
        source = (obj.get("source") or {}).get("component") or obj.get("reportingComponent") or ""
        if not self.events.wants(obj.get("reason") or "", source):
            return
        keys, data = event_keys(obj), strip_object(obj, self.redact)
        for cid in stories:
            if not self.book.first_sight(cid, keys):
                continue  # the same Event again (a relist, a restarted Faro): already in the story
            self.book.add(
                cid,
                StoryEvent(
                    correlation_id=cid,
                    timestamp=when,
                    event_type=EventType.K8S_EVENT,
                    source_component=source,
                    namespace=(obj.get("metadata") or {}).get("namespace", ""),
                    resource=involved.get("kind", ""),
                    action="add" if ev.type is WatchType.ADDED else "update",
                    data=data,
                ),
            )


def _first_match(rules: tuple[PrimaryRule, ...], meta: dict[str, Any]) -> PrimaryRule | None:
    ns, name = meta.get("namespace", ""), meta.get("name", "")
    for r in rules:
        if r.match(ns, name):
            return r
    return None


def _last_pod_states(events: list[StoryEvent]) -> dict[str, tuple[dict[str, Any], float]]:
    """pod uid -> (its last state in a journalled story, when), for pods not deleted."""
    out: dict[str, tuple[dict[str, Any], float]] = {}
    for ev in events:
        if ev.resource != "Pod" or ev.event_type not in (
            EventType.RESOURCE_UPDATE,
            EventType.CORRELATED_EVENT,
        ):
            continue
        uid = (ev.data.get("metadata") or {}).get("uid", "")
        if ev.action == "delete":
            out.pop(uid, None)
        elif uid:
            out[uid] = (ev.data, ev.timestamp)
    return out
