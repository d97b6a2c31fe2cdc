"""A reflector: list, then watch, forever, without ever pretending to a complete history.

Semantics follow client-go's reflector (docs/design.md, "Watching"):
- LIST (resourceVersion "0" first, paginated), then WATCH from the list's RV with
  bookmarks and a random timeoutSeconds in [300, 600); on end of stream, watch again from
  the last RV seen.
- 410 Gone (HTTP status or in-stream ERROR) means our RV is too old: relist, diff against
  what we knew, emit synthesized DELETED events for objects that vanished, and report a Gap
  so consumers never mistake a relist for a complete history.
- Backoff with jitter on errors; 429 backs off without relisting; a stream silent for longer
  than `dead_after` is treated as dead and reconnected.
- A reflector never raises out of `run()`: a 403 on one resource is recorded and retried
  while every other reflector goes on.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import aiohttp
import msgspec
import orjson

from faro.errors import ApiError, KubeError
from faro.kube.backoff import Backoff
from faro.kube.client import KubeClient
from faro.kube.decode import line_head, list_page, object_head
from faro.model.events import Gap, WatchEvent, WatchType
from faro.model.refs import ResourceType
from faro.model.status import WatchStatus
from faro.model.timefmt import now

log = logging.getLogger("faro.watch")

Emit = Callable[[WatchEvent], Awaitable[None]]
OnGap = Callable[[Gap], Awaitable[None]]


_TYPES = {"ADDED": WatchType.ADDED, "MODIFIED": WatchType.MODIFIED, "DELETED": WatchType.DELETED}


class _Gone(Exception):
    """The watch's resourceVersion is too old (410): relist."""


class Known(NamedTuple):
    """What a reflector remembers per object: enough to diff a relist. A tuple of strings,
    so the cyclic GC untracks it (a dataclass per object would be walked forever)."""

    rv: str
    name: str
    namespace: str


class Reflector:
    def __init__(
        self,
        client: KubeClient,
        resource: ResourceType,
        namespace: str | None,
        emit: Emit,
        on_gap: OnGap | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        page_size: int = 500,
        dead_after: float = 150.0,
        timeout_range: tuple[int, int] = (300, 600),
    ) -> None:
        self.client = client
        self.resource = resource
        self.namespace = namespace
        # groups without a dot are kube-apiserver's own (custom resources need one): its
        # built-in types come in Go field order, which lets heads read only a line's prefix;
        # not an Event's, whose head needs what follows its metadata
        self._go_order = "." not in resource.gvr.group and resource.kind != "Event"
        self._emit = emit
        self._on_gap = on_gap
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.page_size = page_size
        self.dead_after = dead_after
        self.timeout_range = timeout_range
        self.synced = asyncio.Event()
        # Set once the first list has either succeeded or failed: start-up waits for this, so
        # a forbidden resource delays nothing (it keeps retrying on its own).
        self.settled = asyncio.Event()
        # Its counters, as the model reports them (the kube layer knows nothing of Prometheus).
        self.stats = WatchStatus(resource.type_name, namespace or "", synced=False)
        self._known: dict[str, Known] = {}
        self._rv = ""
        self._need_list = True
        self._relist_reason = ""
        self._stopping = False
        self._backoff = Backoff()
        self._current: asyncio.Task[None] | None = None
        self._interrupted = False
        # Test hook: while cleared, no new watch is opened (the reflector falls behind).
        self.may_watch = asyncio.Event()
        self.may_watch.set()

    def status(self) -> WatchStatus:
        """A copy of its counters, for a status snapshot."""
        return dataclasses.replace(self.stats, synced=self.synced.is_set(), errors=dict(self.stats.errors))

    @property
    def name(self) -> str:
        scope = self.namespace or "*"
        return f"{self.resource.type_name}@{scope}"

    def stop(self) -> None:
        """Test and shutdown hook: the loop ends after the current step."""
        self._stopping = True

    def interrupt(self) -> None:
        """Test hook: drop the current watch connection, as a network failure would."""
        if self._current is not None and not self._current.done():
            self._interrupted = True
            self._current.cancel()

    def force_relist(self, reason: str) -> None:
        self._need_list = True
        self._relist_reason = reason

    async def run(self) -> None:
        while not self._stopping:
            try:
                if self._need_list:
                    await self._list()
                await self.may_watch.wait()
                self._current = asyncio.create_task(self._watch())
                try:
                    await self._current
                except asyncio.CancelledError:
                    if not self._interrupted:
                        raise
                    self._interrupted = False
                    self.stats.reconnects += 1
                continue  # end of stream: watch again from the last RV
            except _Gone:
                self.stats.gone += 1
                self.force_relist("410 Gone: resourceVersion too old")
                continue
            except ApiError as exc:
                self.stats.errors[exc.status] = self.stats.errors.get(exc.status, 0) + 1
                self.stats.last_error = str(exc)
                if exc.status == 410:
                    self.stats.gone += 1
                    self.force_relist("410 Gone on list continuation")
                    continue
                level = logging.WARNING if exc.status in (403, 404, 429) else logging.ERROR
                log.log(level, "watch %s failed: %s", self.name, exc)
            except (TimeoutError, KubeError, aiohttp.ClientError, ValueError, OSError) as exc:
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                log.info("watch %s interrupted: %s", self.name, self.stats.last_error)
            self.settled.set()
            self.stats.reconnects += 1
            await asyncio.sleep(self._backoff.delay())

    def _query(self) -> dict[str, Any]:
        return {"labelSelector": self.label_selector, "fieldSelector": self.field_selector}

    async def _list(self) -> None:
        """LIST (paginated), diffed against what is known: new and changed objects are
        emitted, vanished ones get a synthesized deletion, and a relist records its gap."""
        relisting = self.synced.is_set()
        t = now()
        gap = Gap(self.name, "relist", t, self._relist_reason) if relisting else None
        seen: dict[str, Known] = {}
        # The first list may be served from the watch cache (resourceVersion=0), as client-go's.
        query = {**self._query(), "limit": self.page_size, "resourceVersion": None if relisting else "0"}
        while query:
            items, query = await self._page(query)
            for raw in items:
                ev = listed_event(self.resource, raw, t, gap, self._known, seen)
                if ev is not None:
                    await self._emit(ev)
        for ev in vanished(self.resource, self._known, seen, t, gap):
            await self._emit(ev)
        self._known = seen
        await self._listed(gap)

    async def _page(self, query: dict[str, Any]) -> tuple[list[msgspec.Raw], dict[str, Any]]:
        """One page of a LIST, and the query of the next ({} after the last, whose
        resourceVersion the watch starts from)."""
        items, cont, rv_list = list_page(
            await self.client.get_bytes(self.resource.path(self.namespace), query)
        )
        if not cont:
            self._rv = rv_list
            return items, {}
        return items, {**self._query(), "limit": self.page_size, "continue": cont}

    async def _listed(self, gap: Gap | None) -> None:
        self.stats.lists += 1
        self._need_list = False
        self.settled.set()
        if gap is not None:
            self.stats.relists += 1
            if self._on_gap is not None:
                await self._on_gap(gap)
        self.synced.set()

    async def _watch(self) -> None:
        query = {
            **self._query(),
            "watch": True,
            "resourceVersion": self._rv,
            "allowWatchBookmarks": True,
            "timeoutSeconds": random.randint(*self.timeout_range),
        }
        self.stats.watches += 1
        stream = self.client.stream_lines(
            self.resource.path(self.namespace), query, read_timeout=self.dead_after
        )
        try:
            async for line in stream:
                if not line:
                    continue
                self._backoff.healthy()
                await self._handle(line)
        except ApiError as exc:
            if exc.status == 410:
                raise _Gone() from None
            raise
        finally:
            await stream.aclose()

    async def _handle(self, line: bytes) -> None:
        typ, head = line_head(line, go_order=self._go_order)
        m = head.metadata
        if typ == "BOOKMARK":
            self._rv = m.resourceVersion or self._rv
            return
        if typ == "ERROR":
            err = ApiError.from_status_object(orjson.loads(line).get("object") or {})
            if err.status == 410:
                raise _Gone()
            raise err
        wtype = _TYPES.get(typ)
        if wtype is None:
            raise ValueError(f"unknown watch event type {typ!r}")
        uid, rv = m.uid, m.resourceVersion
        self._rv = rv or self._rv
        self.stats.events += 1
        if wtype is WatchType.DELETED:
            self._known.pop(uid, None)
        else:
            self._known[uid] = Known(rv, m.name, m.namespace)
        ev = WatchEvent(
            wtype,
            self.resource,
            None,
            now(),
            raw=line,
            meta=m.as_dict(),
            wrapped=True,
            about=head.about,
            about_kind=head.about_kind,
        )
        await self._emit(ev)


def listed_event(
    resource: ResourceType,
    raw: msgspec.Raw,
    at: float,
    gap: Gap | None,
    known: dict[str, Known],
    seen: dict[str, Known],
) -> WatchEvent | None:
    """The event a listed item makes against what was known (None: unchanged); it is
    recorded in seen."""
    head = object_head(raw)
    m = head.metadata
    uid, rv = m.uid, m.resourceVersion
    seen[uid] = Known(rv, m.name, m.namespace)
    old = known.get(uid)
    if old is not None and old.rv == rv:
        return None
    typ = WatchType.ADDED if old is None else WatchType.MODIFIED
    # bytes(): a view would keep the whole page alive while the item waits
    return WatchEvent(
        typ,
        resource,
        None,
        at,
        gap=gap,
        raw=bytes(raw),
        meta=m.as_dict(),
        about=head.about,
        about_kind=head.about_kind,
    )


def vanished(
    resource: ResourceType, known: dict[str, Known], seen: dict[str, Known], at: float, gap: Gap | None
) -> list[WatchEvent]:
    """Synthesized deletions (final state unknown) of what was known and is not listed."""
    out = []
    for uid, k in known.items():
        if uid not in seen:
            meta = {"name": k.name, "namespace": k.namespace, "uid": uid, "resourceVersion": k.rv}
            stub = {"apiVersion": resource.gvr.api_version, "kind": resource.kind, "metadata": meta}
            out.append(WatchEvent(WatchType.DELETED, resource, stub, at, synthetic=True, gap=gap))
    return out
