"""The capture engine: discovery -> reflectors -> pipeline -> correlation -> stories.

It owns no I/O of its own beyond the API (through kube/): what happens to story events and
closed stories is up to the callbacks it is given (files, JSONL, library callbacks: see
api/). Reflectors start in waves — primaries, then owners of pods, then pods, then Events —
each wave waiting (bounded) for the previous one to sync, so that at start-up children find
their owners already known and nothing needs to be held.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faro.capture.correlate import Correlator
from faro.capture.filters import PrimaryRule
from faro.capture.pipeline import Pipeline
from faro.capture.plan import CHILD, DEFAULT_CHILD_KINDS, EVENTS, PRIMARY, WatchSpec, plan
from faro.capture.redact import strip_object
from faro.capture.stories import StoryBook
from faro.config import FaroConfig
from faro.kube.client import KubeClient
from faro.kube.discovery import Discovery
from faro.kube.watch import Reflector
from faro.model.events import EventType, Gap, StoryEvent, WatchEvent, WatchType
from faro.model.refs import ResourceType
from faro.model.story import Story
from faro.model.timefmt import now, parse

log = logging.getLogger("faro.engine")


@dataclass
class Callbacks:
    on_event: Callable[[Story, StoryEvent], None] = lambda s, e: None
    on_close: Callable[[Story], None] = lambda s: None
    on_ready: Callable[[], None] = lambda: None
    on_tick: Callable[[list[Story]], None] = lambda open_stories: None


@dataclass
class _Item:
    ev: WatchEvent
    roles: frozenset[str]
    rules: tuple[PrimaryRule, ...] = ()


@dataclass
class Engine:
    config: FaroConfig
    client: KubeClient
    callbacks: Callbacks = field(default_factory=Callbacks)
    settle: float = 3.0
    tick_interval: float = 0.5
    reflectors: list[Reflector] = field(default_factory=list)
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.discovery = Discovery(self.client)
        self.correlator = Correlator()
        self.book = StoryBook(
            cluster=self.client.context or "",
            on_event=self.callbacks.on_event,
            on_close=self._closed,
            settle=self.settle,
            correlation_timeout=self.config.correlation_timeout,
        )
        self.rules: list[PrimaryRule] = []

    def stop(self) -> None:
        self._stop.set()

    async def resolve(self) -> list[WatchSpec]:
        """Discovery and name resolution; raises UnknownResourceError for bad names."""
        await self.discovery.refresh()
        self.rules = [PrimaryRule.compile(r, self.discovery.resolve(r.gvr)) for r in self.config.resources]
        children = self._child_types()
        events = self.discovery.by_kind("", "Event")
        return plan(self.rules, children, events)

    def _child_types(self) -> list[ResourceType]:
        related = self.config.related
        if "all" in related:
            types = [t for t in self.discovery.preferred() if t.watchable and t.kind != "Event"]
        else:
            types = [t for g, k in DEFAULT_CHILD_KINDS if (t := self.discovery.by_kind(g, k)) is not None]
            types += [self.discovery.resolve(name) for name in related]
        seen: set[ResourceType] = set()
        return [t for t in types if not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]

    async def run(self, specs: list[WatchSpec] | None = None) -> None:
        """Capture until stop(); then flush every open story with completion=shutdown."""
        specs = specs if specs is not None else await self.resolve()
        self.correlator.watched_kinds = {s.key.resource.kind for s in specs}
        pipe: Pipeline[_Item] = Pipeline(
            self.handle, max_workers=self.config.workers, capacity=self.config.buffer_size
        )
        self.pipeline = pipe
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(self._ticker(), name="faro-ticker")
                for wave in _waves(specs):
                    started = [self._start(tg, spec, pipe) for spec in wave]
                    await _wait_synced(started, self._stop, timeout=30)
                self.ready.set()
                self.callbacks.on_ready()
                await self._stop.wait()
                raise _Stopped()
        except* _Stopped:
            pass
        try:
            await asyncio.wait_for(pipe.drain(), 10)
        except TimeoutError:
            log.warning("shutdown: %d queued events were not handled", pipe.depth)
        await pipe.close()
        self.book.close_all("shutdown", now())

    def _start(self, tg: asyncio.TaskGroup, spec: WatchSpec, pipeline_: Pipeline[_Item]) -> Reflector:
        roles = frozenset(spec.roles)
        rules = tuple(spec.rules)

        async def emit(ev: WatchEvent) -> None:
            await pipeline_.put(ev.uid, _Item(ev, roles, rules))

        async def on_gap(gap: Gap) -> None:
            self.book.gap(gap)

        k = spec.key
        r = Reflector(self.client, k.resource, k.namespace, emit, on_gap, k.label_selector, k.field_selector)
        self.reflectors.append(r)
        tg.create_task(r.run(), name=f"reflector {r.name}")
        return r

    async def _ticker(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self.tick_interval)
            t = now()
            self.book.tick(t)
            self.correlator.expire(t)
            self.callbacks.on_tick(list(self.book.open.values()))

    def _closed(self, story: Story) -> None:
        if story.completion == "deleted":
            self.correlator.unbind_story(story.correlation_id)
        self.callbacks.on_close(story)

    # -- handling, one watch event at a time (per-UID order is kept by the pipeline) --

    async def handle(self, item: _Item) -> None:
        self._handle(item.ev, item.roles, item.rules)

    def _handle(self, ev: WatchEvent, roles: frozenset[str], rules: tuple[PrimaryRule, ...]) -> None:
        if EVENTS in roles:
            self._k8s_event(ev)
            return
        obj = strip_object(ev.obj, self.config.redact_secrets)
        released: list[WatchEvent] = []
        meta = ev.meta
        if PRIMARY in roles and any(r.match(meta.get("namespace", ""), meta.get("name", "")) for r in rules):
            self.book.primary(ev, obj)
            released += self.correlator.bind_primary(ev.uid)
        if CHILD in roles:
            cid, more = self.correlator.observe(ev)
            released += more
            if cid is not None and cid != ev.uid:
                self.book.child(cid, ev, obj)
        for held in released:
            if held.resource.kind == "Event":
                self._k8s_event(held)
            else:
                self._handle(held, frozenset({CHILD}), ())

    def _k8s_event(self, ev: WatchEvent) -> None:
        if ev.type is WatchType.DELETED:
            return  # the apiserver's TTL removed it; it stays in the story
        obj = ev.obj
        involved = obj.get("involvedObject") or obj.get("regarding") or {}
        cid = self.correlator.event_target(involved.get("uid", ""), ev)
        if cid is None:
            return
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
        data = strip_object(obj, self.config.redact_secrets)
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


class _Stopped(Exception):
    """Raised inside the TaskGroup to cancel every reflector at once on stop()."""


def _waves(specs: list[WatchSpec]) -> list[list[WatchSpec]]:
    def rank(s: WatchSpec) -> int:
        if PRIMARY in s.roles:
            return 0
        if EVENTS in s.roles:
            return 3
        return 2 if s.key.resource.kind == "Pod" else 1

    waves: dict[int, list[WatchSpec]] = {}
    for s in specs:
        waves.setdefault(rank(s), []).append(s)
    return [waves[k] for k in sorted(waves)]


async def _wait_synced(reflectors: list[Reflector], stop: asyncio.Event, timeout: float) -> None:
    waits = [asyncio.create_task(r.synced.wait()) for r in reflectors]
    if not waits:
        return
    stopping = asyncio.create_task(stop.wait())
    pending: set[asyncio.Task[Any]] = set(waits)
    try:
        async with asyncio.timeout(timeout):
            while pending and not stop.is_set():
                _, pending = await asyncio.wait(pending | {stopping}, return_when=asyncio.FIRST_COMPLETED)
                pending.discard(stopping)
    except TimeoutError:
        pass
    for t in [*waits, stopping]:
        t.cancel()
    for r in reflectors:
        if not r.synced.is_set():
            log.warning("watch %s not synced after %ss: %s", r.name, timeout, r.stats.last_error or "slow")
