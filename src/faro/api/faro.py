"""The library entry point: Faro(config, callbacks).run().

This layer wires the capture engine to its outputs (story files, JSONL, the JSON export,
the caller's callbacks and event handlers) and owns the client's lifetime. Story callbacks
are plain functions called on the event loop; they must be quick (hand heavy work to a queue
of your own). Event handlers (`add_event_handler`) get every matched change through queues
of their own instead (sinks/handlers.py), so they may be slow or fail.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

from faro._version import __version__
from faro.capture.engine import Callbacks, Engine
from faro.capture.fold.router import OnMatched
from faro.config import FaroConfig, ResourceRule
from faro.errors import ConfigError, OutputError
from faro.kube.client import KubeClient
from faro.model.events import StoryEvent, WatchEvent, WatchType
from faro.model.status import Status
from faro.model.story import Story
from faro.ops.server import OpsServer
from faro.ops.status_view import StatusView
from faro.sinks.base import FanOut, Sink
from faro.sinks.files import StoryFiles
from faro.sinks.handlers import Delivery, EventHandler, Handlers
from faro.sinks.json_export import JsonExport
from faro.sinks.jsonl import JsonlSink
from faro.sinks.matched import MatchedEvent, MatchedType

T = TypeVar("T")

log = logging.getLogger("faro")
# One line per matched change, with the specification's prefix: `CONFIG [ADDED] v1/pods ns/name`.
# INFO when json_export is on (the export's companion in the log), DEBUG otherwise.
matched_log = logging.getLogger("faro.matched")
_MATCHED: dict[WatchType, MatchedType] = {
    WatchType.ADDED: "ADDED",
    WatchType.MODIFIED: "UPDATED",
    WatchType.DELETED: "DELETED",
}
HANDLER_DRAIN_SECONDS = 10.0

EventCallback = Callable[[Story, StoryEvent], None]
StoryCallback = Callable[[Story, Path | None], None]
ReadyCallback = Callable[[], None]


class Faro:
    """Capture resource stories from a cluster.

    >>> faro = Faro(FaroConfig(resources=[ResourceRule(gvr="apps/v1/Deployment")]))
    >>> faro.run_sync()  # until stop(), auto_shutdown_sec, or SIGINT in the CLI
    """

    def __init__(
        self,
        config: FaroConfig,
        *,
        on_event: EventCallback | None = None,
        on_story_closed: StoryCallback | None = None,
        on_ready: ReadyCallback | None = None,
        settle: float = 3.0,
        journal_every: float = 5.0,
        status_view: bool = False,
    ) -> None:
        if not isinstance(config, FaroConfig):
            raise TypeError(f"Faro needs a FaroConfig, not {type(config).__name__}")
        self.config = config
        self._on_event = on_event
        self._on_story_closed = on_story_closed
        self._on_ready = on_ready
        self._settle = settle
        self._status_view = status_view
        self.ops: OpsServer | None = None
        self._engine: Engine | None = None
        self._stop_requested = False
        self._running = False
        self._starting: asyncio.Future[Any] | None = None
        self.files = (
            StoryFiles(Path(config.output_dir), __version__, journal_every) if config.write_stories else None
        )
        self._event_handlers: list[EventHandler] = []
        self.export_path: Path | None = None  # the JSON export file of the last run (json_export)
        self._status: Callable[[], Status] | None = None
        # Counts, not the stories: a long-running capture must not keep every story in memory.
        self.closed_count = 0
        self.written_count = 0
        self._failure: OutputError | None = None  # the first output failure; run() raises it
        self.callback_errors = 0  # exceptions raised by the caller's callbacks (logged, not raised)

    @property
    def engine(self) -> Engine | None:
        return self._engine

    def status(self) -> Status | None:
        """A snapshot of the capture (what /metrics shows: watches, stories, event handlers'
        queues and counts); None before the first run has started capturing."""
        return self._status() if self._status is not None else None

    def add_event_handler(self, handler: EventHandler) -> None:
        """Have handler.on_matched(event: MatchedEvent) called for every matched change of
        every primary object (ADDED, UPDATED, DELETED), before run(); several may be added.

        Each handler has a queue of its own (handler_queue_size) and `workers` workers:
        changes of one object arrive in order; one that raises is retried with exponential
        backoff (handler_backoff_base doubling up to handler_backoff_max), at most
        handler_max_retries times, then dropped, logged and counted. A plain `def` runs on a
        thread, an `async def` on the event loop. A change that finds the queue full is
        dropped and counted (faro_handler_dropped_total): the watches never wait for a
        handler. On stop the queues are drained for up to 10 seconds."""
        if not callable(getattr(handler, "on_matched", None)):
            raise TypeError(
                f"an event handler needs an on_matched(event) method; {type(handler).__name__} has none"
            )
        if self._running:
            raise RuntimeError("add event handlers before run()")
        self._event_handlers.append(handler)

    def stop(self) -> None:
        """Ask a running capture to stop: open stories are flushed with completion=shutdown.
        Before the capture has started (credentials, discovery: an exec plugin or an API
        server that does not answer), there is nothing to flush and the start is abandoned."""
        self._stop_requested = True
        if self._starting is not None and not self._starting.done():
            self._starting.cancel()
        elif self._engine is not None:
            self._engine.stop()

    async def run(self) -> None:
        """Capture until stop() (or auto_shutdown_sec). Closed stories reach the
        on_story_closed callback (and the output directory).

        Raises ConfigError before anything is watched if the outputs cannot be written, and
        OutputError after stopping if writing failed while it ran (a full disk, say): the
        capture stops then, flushing what it still can. One run at a time; once it has
        returned, run() may be called again (a stop() between runs stops the next at once)."""
        if self._running:
            raise RuntimeError("this Faro is already running; stop() it first, or make another")
        self._running = True
        try:
            await self._run()
        finally:
            self._running = False
            self._stop_requested = False  # a stop() was for this run, not for the next one

    async def _run(self) -> None:
        self._failure = None
        async with contextlib.AsyncExitStack() as stack:  # closes in reverse order, whatever fails
            sinks: list[Sink] = []
            if self.files is not None:
                self.files.prepare()
                stack.callback(self.files.unprepare)  # last: directories nothing was written to go
                sinks.append(self.files)
            if self.config.jsonl:
                sinks.append(JsonlSink(self.config.jsonl))
            if self.config.json_export:
                export = JsonExport(Path(self.config.output_dir))
                export.open()
                self.export_path = export.path
                sinks.append(export)
            sinks.append(self._handlers())
            fan = FanOut(sinks, self._failed)
            # every sink's last writes (the journal's still in flight too); one may have failed
            stack.push_async_callback(self._closing, lambda: asyncio.to_thread(fan.close))
            client = await self._start(
                KubeClient.connect(
                    self.config.kubeconfig, self.config.context, pool_size=200 + self.config.max_log_streams
                )
            )
            if client is None:
                return  # stopped while connecting
            stack.push_async_callback(client.close)
            await self._capture(client, fan)
        if self._failure is not None:
            raise self._failure

    async def _closing(self, close: Callable[[], Awaitable[None]]) -> None:
        try:
            await close()
        except OutputError as exc:
            self._failure = self._failure or exc

    def _handlers(self) -> Handlers:
        c = self.config
        delivery = Delivery(
            workers=c.workers,
            capacity=c.handler_queue_size,
            max_retries=c.handler_max_retries,
            base_delay=c.handler_backoff_base,
            max_delay=c.handler_backoff_max,
        )
        return Handlers(self._event_handlers, delivery)

    async def _capture(self, client: KubeClient, fan: FanOut) -> None:
        handlers = next(s for s in fan.sinks if isinstance(s, Handlers))
        engine = Engine(self.config, client, self._callbacks(fan), settle=self._settle)

        def status() -> Status:
            s = engine.status()
            s.handlers = handlers.status()
            return s

        self._status = status
        specs = await self._start(engine.resolve())  # bad resource names fail here, before any output
        if specs is None:
            return  # stopped during discovery
        if self.files is not None:
            engine.resume(self.files.journal.resumable())
        self._engine = engine
        if self._stop_requested:
            engine.stop()
        timer = None
        if self.config.auto_shutdown_sec:
            timer = asyncio.get_running_loop().call_later(self.config.auto_shutdown_sec, engine.stop)
        if self.config.metrics_port:
            self.ops = OpsServer(status, self.config.metrics_address, self.config.metrics_port)
            try:
                await self.ops.start()
            except OSError as exc:
                await self.ops.stop()
                addr = f"{self.config.metrics_address}:{self.config.metrics_port}"
                reason = (exc.strerror or str(exc)).rsplit("): ", 1)[-1]  # asyncio repeats the address
                raise ConfigError(f"cannot serve metrics on {addr}: {reason}") from None
            log.info("metrics, /health and /ready on http://%s:%d", self.ops.host, self.ops.port)
        view = asyncio.create_task(StatusView(status).run()) if self._status_view else None
        handlers.start(engine.supervisor)  # a worker that fails unexpectedly is restarted alone
        drain = HANDLER_DRAIN_SECONDS
        try:
            await engine.run(specs)
        except asyncio.CancelledError:
            drain = 0.0  # cancelled (a crash, the caller's timeout): stop without waiting
            raise
        finally:
            await handlers.stop(drain)  # every change was offered: the engine has drained
            if timer is not None:
                timer.cancel()
            if view is not None:
                view.cancel()
                await asyncio.gather(view, return_exceptions=True)
            if self.ops is not None:
                await self.ops.stop()

    async def _start(self, step: Coroutine[Any, Any, T]) -> T | None:
        """A step of starting that stop() may abandon: None if it was stopped."""
        if self._stop_requested:
            step.close()
            return None
        self._starting = asyncio.ensure_future(step)
        try:
            return await asyncio.shield(self._starting)
        except asyncio.CancelledError:
            if self._starting.cancelled() and self._stop_requested:
                return None
            self._starting.cancel()  # we were cancelled ourselves: take the step with us
            raise
        finally:
            self._starting = None

    def _failed(self, exc: OutputError) -> None:
        """An output failed while capturing: stop (run() raises the first such failure)."""
        if self._failure is None:
            self._failure = exc
            log.error("%s; stopping the capture", exc)
        self.stop()

    def _call(self, name: str, callback: Callable[..., None], *args: object) -> None:
        """Call one of the caller's callbacks. One that raises must not break the capture: it
        runs in the middle of recording an event (a pod's lifecycle, its log streams), so its
        exception is logged — the first with its traceback, then every 1000th — and counted."""
        try:
            callback(*args)
        except Exception:
            self.callback_errors += 1
            if self.callback_errors == 1:
                log.exception("the %s callback raised; Faro goes on (later failures are counted)", name)
            elif self.callback_errors % 1000 == 0:
                log.error("callbacks have raised %d times (the last: %s)", self.callback_errors, name)

    def run_sync(self) -> None:
        asyncio.run(self.run())

    def _matched(self, fan: FanOut) -> OnMatched | None:
        """The router's callback for matched changes; None (no work at all in the router)
        when nothing would use them."""
        exported = any(isinstance(s, JsonExport) for s in fan.sinks)
        handled = any(isinstance(s, Handlers) and s for s in fan.sinks)
        level = logging.INFO if exported else logging.DEBUG
        if not exported and not handled and not matched_log.isEnabledFor(level):
            return None

        def on_matched(ev: WatchEvent, obj: dict[str, Any], rule: ResourceRule) -> None:
            meta = ev.meta
            ns, name = meta.get("namespace") or "", meta.get("name") or ""
            key = f"{ns}/{name}" if ns else name
            m = MatchedEvent(_MATCHED[ev.type], obj, str(ev.resource.gvr), key, rule, ev.observed_at)
            matched_log.log(
                level, "CONFIG [%s] %s %s", m.event_type, m.gvr, key, extra={"correlation_id": ev.uid}
            )
            fan.on_matched(m)

        return on_matched

    def _callbacks(self, fan: FanOut) -> Callbacks:
        def on_event(story: Story, ev: StoryEvent) -> None:
            fan.on_event(story, ev)
            if self._on_event is not None:
                self._call("on_event", self._on_event, story, ev)

        def on_close(story: Story) -> None:
            path = fan.on_close(story)
            self.closed_count += 1
            self.written_count += path is not None
            log.info(
                "story closed: %s %s/%s episode %d (%s, %d events)%s",
                story.resource_type,
                story.namespace,
                story.resource_name,
                story.episode,
                story.completion,
                story.event_count,
                f" -> {path}" if path else "",
                extra={"correlation_id": story.correlation_id},
            )
            if self._on_story_closed is not None:
                self._call("on_story_closed", self._on_story_closed, story, path)

        def on_ready() -> None:
            log.info("ready: all watches synced")
            if self._on_ready is not None:
                self._call("on_ready", self._on_ready)

        return Callbacks(
            on_event=on_event,
            on_close=on_close,
            on_ready=on_ready,
            on_tick=fan.on_tick,
            on_matched=self._matched(fan),
        )
