"""The capture engine: discovery -> reflectors -> pipeline -> router -> stories.

It owns no I/O of its own beyond the API (through kube/): what happens to story events and
closed stories is up to the callbacks it is given (files, JSONL, library callbacks: see
api/). Reflectors start in waves — primaries, then owners of pods, then pods, then Events —
each wave waiting (bounded) for the previous one to sync, so that at start-up children find
their owners already known and little needs to be held. CustomResourceDefinitions are
watched too: a CRD (or version) that appears later makes pending rules and `related: all`
kinds watchable within seconds, and a deleted one's reflectors are stopped.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from faro.capture.container_logs.manager import LogManager
from faro.capture.filters import EventFilters, LogFilters, PrimaryRule
from faro.capture.fold.owner_graph import Correlator
from faro.capture.fold.roles import CRDS, PRIMARY
from faro.capture.fold.router import Item, OnMatched, Router
from faro.capture.fold.story_book import StoryBook
from faro.capture.memory import resident_bytes
from faro.capture.pipeline import Pipeline
from faro.capture.watches.plan import DEFAULT_CHILD_KINDS, WatchKey, WatchSpec, plan
from faro.capture.watches.startup import all_forbidden, check_selectors, wait_settled, waves
from faro.config import FaroConfig, ResourceRule
from faro.errors import ConfigError, UnknownResourceError
from faro.kube.client import KubeClient
from faro.kube.discovery import Discovery
from faro.kube.reflector import Reflector
from faro.kube.supervise import Supervisor
from faro.model.events import Gap, StoryEvent, WatchEvent
from faro.model.refs import ResourceType
from faro.model.status import EventRate, Histogram, Status, StoryDigest
from faro.model.story import Story
from faro.model.timefmt import now

log = logging.getLogger("faro.engine")
_BUILTIN_GROUP_SUFFIXES = (".k8s.io", ".kubernetes.io")


@dataclass
class Callbacks:
    on_event: Callable[[Story, StoryEvent], None] = lambda s, e: None
    on_close: Callable[[Story], None] = lambda s: None
    on_ready: Callable[[], None] = lambda: None
    on_tick: Callable[[list[Story]], None] = lambda open_stories: None
    # Every matched change of a primary, once (see Router.on_matched); None costs nothing.
    on_matched: OnMatched | None = None


@dataclass
class _Running:
    spec: WatchSpec
    reflector: Reflector
    task: asyncio.Task[None]


def looks_like_crd(name: str) -> bool:
    """`group/version/Kind` with a non-built-in dotted group: may be installed later."""
    parts = name.split("/")
    return len(parts) == 3 and "." in parts[0] and not parts[0].endswith(_BUILTIN_GROUP_SUFFIXES)


@dataclass
class Engine:
    config: FaroConfig
    client: KubeClient
    callbacks: Callbacks = field(default_factory=Callbacks)
    settle: float = 3.0
    tick_interval: float = 0.5
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.discovery = Discovery(self.client)
        self.supervisor = Supervisor()
        self.correlator = Correlator()
        self.book = StoryBook(
            cluster=self.client.context or "",
            on_event=self.callbacks.on_event,
            on_close=self._closed,
            settle=self.settle,
            correlation_timeout=self.config.correlation_timeout,
            max_open=self.config.max_open_stories,
        )
        c = self.config
        self.logs = (
            LogManager(
                self.client,
                self._log_line,
                max_streams=c.max_log_streams,
                filters=LogFilters(
                    pod=_rx(c.log_pod_pattern),
                    container_include=_rx(c.log_container_include),
                    container_exclude=_rx(c.log_container_exclude),
                    line_include=_rxb(c.log_line_include),
                    line_exclude=_rxb(c.log_line_exclude),
                ),
                cap=c.log_cap,
                supervisor=self.supervisor,
            )
            if c.include_logs
            else None
        )
        events = EventFilters(
            _rx(c.event_reason_include),
            _rx(c.event_reason_exclude),
            _rx(c.event_source_include),
            _rx(c.event_source_exclude),
        )
        self.router = Router(
            self.book,
            self.correlator,
            c.redact_secrets,
            self.logs,
            events,
            on_matched=self.callbacks.on_matched,
        )
        self.rules: list[PrimaryRule] = []
        self.pending: list[ResourceRule] = []
        self.running: dict[WatchKey, _Running] = {}
        self._crd_changed = asyncio.Event()
        self._tg: asyncio.TaskGroup | None = None
        self._fatal: ConfigError | None = None  # why the capture could not go on (raised by run)
        self.pipeline: Pipeline[Item] | None = None
        self.started_at = now()
        self.processed: dict[str, int] = {}
        self.closed_by: dict[str, int] = {}
        self.gap_counts: dict[tuple[str, str], int] = {}
        self.lag = Histogram()
        self.rate = EventRate()
        self.recent: deque[StoryDigest] = deque(maxlen=20)

    @property
    def reflectors(self) -> list[Reflector]:
        return [r.reflector for r in self.running.values()]

    def stop(self) -> None:
        self._stop.set()

    def _log_line(self, cid: str, ev: StoryEvent) -> None:
        self.book.add(cid, ev)

    async def resolve(self) -> list[WatchSpec]:
        """Discovery and name resolution; raises UnknownResourceError for bad names (a
        CRD-qualified name that is not served yet waits instead: see looks_like_crd) and
        ConfigError for selectors the API server rejects."""
        if not self.config.resources:
            raise ConfigError("nothing to watch: the config has no resources")
        await self.discovery.refresh()
        self.rules, self.pending = [], []
        for r in self.config.resources:
            try:
                self.rules.append(PrimaryRule.compile(r, self.discovery.resolve(r.gvr)))
            except UnknownResourceError:
                if not looks_like_crd(r.gvr):
                    raise
                log.warning("resource %s is not served yet; it will be watched once its CRD exists", r.gvr)
                self.pending.append(r)
        await check_selectors(self.client, self.rules)
        return self._plan()

    def _plan(self) -> list[WatchSpec]:
        events = self.discovery.by_kind("", "Event")
        crds = self.discovery.by_kind("apiextensions.k8s.io", "CustomResourceDefinition")
        # CRDs are followed only when it matters: rules waiting for a CRD, `related: all`,
        # or custom resources among the primaries (to stop cleanly when their CRD goes).
        follow = (
            bool(self.pending) or "all" in self.config.related or any(_custom(r.resource) for r in self.rules)
        )
        return plan(self.rules, self._child_types(), events, crds if follow else None)

    def _child_types(self) -> list[ResourceType]:
        related = self.config.related
        if "all" in related:
            types = [t for t in self.discovery.preferred() if t.watchable and t.kind != "Event"]
        else:
            types = [t for g, k in DEFAULT_CHILD_KINDS if (t := self.discovery.by_kind(g, k)) is not None]
            types += [self.discovery.resolve(name) for name in related]
        return list(dict.fromkeys(types))

    def resume(self, stories: list[Story]) -> None:
        """Take over open stories journalled by a previous run (sinks/journal.py)."""
        t = now()
        for story in stories:
            self.router.resume(story, t)

    async def run(self, specs: list[WatchSpec] | None = None) -> None:
        """Capture until stop(); then flush every open story with completion=shutdown."""
        specs = specs if specs is not None else await self.resolve()
        pipe: Pipeline[Item] = Pipeline(
            self.handle, max_workers=self.config.workers, capacity=self.config.buffer_size
        )
        self.pipeline = pipe
        try:
            async with asyncio.TaskGroup() as tg:
                self._tg = tg
                tg.create_task(self.supervisor.run("ticker", "the ticker", self._ticker), name="faro-ticker")
                for wave in waves(specs):
                    started = [self._start(spec) for spec in wave]
                    await wait_settled(started, self._stop, timeout=30)
                    primaries = [r for r, spec in zip(started, wave, strict=True) if PRIMARY in spec.roles]
                    if (denied := all_forbidden(primaries)) is not None:
                        self._fatal = ConfigError(denied)
                        raise _Stopped()
                follow = self.supervisor.run("crds", "the CRD follower", self._follow_crds)
                tg.create_task(follow, name="faro-crds")
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
        if self.logs is not None:
            await self.logs.close()  # the last words of every container still streaming
        self.book.close_all("shutdown", now())
        if self._fatal is not None:
            raise self._fatal

    def _start(self, spec: WatchSpec) -> Reflector:
        assert self._tg is not None and self.pipeline is not None
        pipe = self.pipeline

        async def emit(ev: WatchEvent) -> None:
            if CRDS in spec.roles:
                self._crd_changed.set()
            # roles/rules are read at emit time: a later plan may add roles to this watch
            roles, rules = spec.views()
            await pipe.put(ev.uid, Item(ev, roles, rules))

        async def on_gap(gap: Gap) -> None:
            key = (gap.resource, gap.reason)
            self.gap_counts[key] = self.gap_counts.get(key, 0) + 1
            self.book.gap(gap)

        k = spec.key
        r = Reflector(self.client, k.resource, k.namespace, emit, on_gap, k.label_selector, k.field_selector)
        task = self._tg.create_task(
            self.supervisor.run("reflector", f"watch {r.name}", r.run), name=f"reflector {r.name}"
        )
        self.running[k] = _Running(spec, r, task)
        self.correlator.watched_kinds.add(k.resource.kind)
        return r

    async def _follow_crds(self) -> None:
        """On CRD changes: refresh discovery, start what became watchable, stop what vanished."""
        while True:
            await self._crd_changed.wait()
            await asyncio.sleep(0.5)  # debounce a burst (kubectl apply of many CRDs)
            self._crd_changed.clear()
            try:
                await self.discovery.refresh()
            except Exception as exc:  # keep following; the next change retries
                log.warning("discovery refresh failed: %s", exc)
                continue
            still: list[ResourceRule] = []
            for r in self.pending:
                try:
                    self.rules.append(PrimaryRule.compile(r, self.discovery.resolve(r.gvr)))
                    log.info("resource %s is now served; watching it", r.gvr)
                except UnknownResourceError:
                    still.append(r)
            self.pending = still
            wanted = {s.key: s for s in self._plan()}
            served = {t.gvr for t in self.discovery.types}
            for key, run in list(self.running.items()):
                if key.resource.gvr not in served:
                    log.info("resource %s is no longer served; stopping its watch", key.resource.type_name)
                    run.reflector.stop()
                    run.task.cancel()
                    del self.running[key]
                elif key in wanted:
                    run.spec.update(wanted[key])
            for key, spec in wanted.items():
                if key not in self.running and key.resource.gvr in served:
                    self._start(spec)

    async def _ticker(self) -> None:
        while not self._stop.is_set():
            await asyncio.sleep(self.tick_interval)
            t = now()
            self.book.tick(t)
            self.correlator.expire(t)
            self.rate.sample(t, sum(self.processed.values()))
            self.callbacks.on_tick(list(self.book.open.values()))

    def _closed(self, story: Story) -> None:
        if story.completion == "deleted":
            self.correlator.unbind_story(story.correlation_id)
        reason = story.completion or ""
        self.closed_by[reason] = self.closed_by.get(reason, 0) + 1
        self.callbacks.on_close(story)
        self.recent.append(
            StoryDigest(
                story.resource_type,
                story.namespace,
                story.resource_name,
                story.episode,
                reason,
                story.event_count,
            )
        )

    async def handle(self, item: Item) -> None:
        self.router.route(item.ev, item.roles, item.rules)
        name = item.ev.resource.type_name
        self.processed[name] = self.processed.get(name, 0) + 1
        self.lag.observe(now() - item.ev.observed_at)

    def status(self) -> Status:
        """A snapshot for metrics, health, readiness and the status view: each part's own
        report, composed."""
        t, logs, pipe = now(), self.logs, self.pipeline
        return Status(
            started_at=self.started_at,
            now=t,
            ready=self.ready.is_set(),
            watches=[r.status() for r in self.reflectors],
            open_stories=len(self.book.open),
            stories_closed=dict(self.closed_by),
            events_processed=dict(self.processed),
            workers=pipe.active_workers if pipe else 0,
            queue_depth=pipe.depth if pipe else 0,
            log_streams_active=logs.active if logs else 0,
            log_streams_waiting=logs.waiting if logs else 0,
            log_lines=logs.lines if logs else 0,
            log_lines_dropped=logs.dropped if logs else 0,
            gaps=dict(self.gap_counts),
            held_expired=self.correlator.expired,
            lag=self.lag,
            recent=list(self.recent),
            task_restarts=dict(self.supervisor.restarts),
            memory_bytes=resident_bytes(),
            events_per_minute=self.rate.per_minute(t, sum(self.processed.values())),
        )


def _custom(t: ResourceType) -> bool:
    return "." in t.gvr.group and not t.gvr.group.endswith(_BUILTIN_GROUP_SUFFIXES)


def _rx(p: str | None) -> re.Pattern[str] | None:
    return re.compile(p) if p else None


def _rxb(p: str | None) -> re.Pattern[bytes] | None:
    return re.compile(p.encode()) if p else None


class _Stopped(Exception):
    """Raised inside the TaskGroup to cancel every reflector at once on stop()."""
