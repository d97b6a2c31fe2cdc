"""Deliver every matched change to the library's event handlers, in per-key order, with retries.

Why a queue per handler, and not a plain call from the router: a handler does what the
caller wants with a change (call an API, write a database, page someone), which may be
slow or fail. The watches must never wait for it, and one handler must never hold up
another, so the router only enqueues (no await) and each handler drains its own queue with
its own workers. The semantics are client-go's rate-limited work queue, adapted to a queue
of changes rather than of keys (a handler gets every change, not the latest state):

- Changes of one key (resource type + namespace/name) are delivered in order, and one key
  is never handled by two workers at once; later changes of a key wait behind a failing one.
  Other keys are not blocked by it.
- A handler that raises is retried with per-key exponential backoff, as client-go's
  ItemExponentialFailureRateLimiter: base delay (5 ms) doubling at each failure, capped
  (30 s). After `max_retries` retries (5: six attempts in all) the change is dropped,
  logged (the first such drop with its traceback, then every 1000th) and counted; the key's
  backoff starts over with its next change.
- Plain `def on_matched` handlers run on threads (a pool of `workers` threads of their own,
  so a slow handler never blocks the event loop nor starves Faro's own thread work);
  `async def on_matched` handlers are awaited on the loop.
- Backpressure is a bounded queue that *drops*: when a handler's queue holds `capacity`
  changes, a new change for it is dropped, counted as
  faro_handler_dropped_total{reason="queue_full"}, and a warning is logged once. Waiting
  instead (as the watch pipeline does) would let one stuck handler stall every watch, and
  with them the stories and every other handler; a handler that must see every change
  needs a queue large enough for its bursts, and the counter says when it was not.
- On shutdown the queues are drained (retries included) for a bounded time, then stopped;
  what is still queued then is logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import functools
import inspect
import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from faro.kube.supervise import Supervisor
from faro.model.status import HandlerStatus
from faro.sinks.base import Sink
from faro.sinks.matched import MatchedEvent

log = logging.getLogger("faro.handlers")

QUEUE_FULL = "queue_full"
RETRIES_EXHAUSTED = "retries_exhausted"

_Key = tuple[str, str]


class EventHandler(Protocol):
    """What `Faro.add_event_handler` takes: an object with `on_matched(event)`, plain or
    async. Raising means "failed, retry"; the return value is ignored."""

    def on_matched(self, event: MatchedEvent) -> Any: ...


@dataclass(frozen=True)
class Delivery:
    """How changes reach a handler (the config's handler_* keys and workers)."""

    workers: int = 5
    capacity: int = 10_000
    max_retries: int = 5
    base_delay: float = 0.005
    max_delay: float = 30.0


class HandlerQueue:
    """One handler's bounded queue, per-key ordering, retries and counters."""

    def __init__(self, handler: EventHandler, name: str, delivery: Delivery = Delivery()) -> None:
        self.handler = handler
        self.name = name
        self._workers = max(1, delivery.workers)
        self._capacity = max(1, delivery.capacity)
        self._max_retries = delivery.max_retries
        self._base = delivery.base_delay
        self._max = delivery.max_delay
        self._async = inspect.iscoroutinefunction(handler.on_matched)
        self._pending: dict[_Key, deque[MatchedEvent]] = {}  # a key's changes not yet done
        self._ready: asyncio.Queue[_Key] = asyncio.Queue()  # keys neither in flight nor backing off
        self._failures: dict[_Key, int] = {}
        self._timers: dict[_Key, asyncio.TimerHandle] = {}  # keys backing off
        self._tasks: list[asyncio.Task[None]] = []
        self._threads: concurrent.futures.ThreadPoolExecutor | None = None
        self._idle = asyncio.Event()
        self._idle.set()
        self.depth = 0  # changes queued, in flight or waiting for a retry
        self.delivered = 0
        self.retries = 0
        self.dropped = {RETRIES_EXHAUSTED: 0, QUEUE_FULL: 0}

    def start(self, supervisor: Supervisor | None = None) -> None:
        if not self._async:
            self._threads = concurrent.futures.ThreadPoolExecutor(
                self._workers, thread_name_prefix=f"faro-handler-{self.name}"
            )
        sup = supervisor or Supervisor()
        self._tasks = [
            asyncio.create_task(
                sup.run("handler", f"event handler {self.name} worker {i}", self._work),
                name=f"faro-handler-{self.name}-{i}",
            )
            for i in range(self._workers)
        ]

    def offer(self, ev: MatchedEvent) -> bool:
        """Enqueue without waiting; False (dropped, counted) if the queue is full."""
        if self.depth >= self._capacity:
            self.dropped[QUEUE_FULL] += 1
            if self.dropped[QUEUE_FULL] == 1:
                log.warning(
                    "event handler %s is behind: its queue of %d changes is full, so new changes "
                    'for it are dropped (counted in faro_handler_dropped_total{reason="queue_full"}; '
                    "raise handler_queue_size or make the handler faster)",
                    self.name,
                    self._capacity,
                )
            return False
        self.depth += 1
        self._idle.clear()
        key = (ev.gvr, ev.key)
        waiting = self._pending.get(key)
        if waiting is None:
            self._pending[key] = deque((ev,))
            self._ready.put_nowait(key)
        else:
            waiting.append(ev)  # behind the key's earlier changes (queued, in flight or backing off)
        return True

    async def _work(self) -> None:
        while True:
            key = await self._ready.get()
            ev = self._pending[key][0]
            try:
                await self._call(ev)
            except Exception as exc:
                if self._retry(key, ev, exc):
                    continue  # the key stays pending, its later changes behind this one
            else:
                self.delivered += 1
                self._failures.pop(key, None)
            self._done(key)

    async def _call(self, ev: MatchedEvent) -> None:
        if self._async:
            await self.handler.on_matched(ev)
        else:  # as asyncio.to_thread does, on this handler's own threads
            call = functools.partial(contextvars.copy_context().run, self.handler.on_matched, ev)
            await asyncio.get_running_loop().run_in_executor(self._threads, call)

    def _retry(self, key: _Key, ev: MatchedEvent, exc: Exception) -> bool:
        """Schedule the key again after its backoff; False once its retries are spent."""
        failures = self._failures.get(key, 0)
        if failures >= self._max_retries:
            self._failures.pop(key, None)
            self.dropped[RETRIES_EXHAUSTED] += 1
            n = self.dropped[RETRIES_EXHAUSTED]
            if n == 1:
                log.error(
                    "event handler %s failed %d times on %s %s %s; the change is dropped "
                    "(later drops are counted in faro_handler_dropped_total)",
                    self.name,
                    failures + 1,
                    ev.event_type,
                    ev.gvr,
                    ev.key,
                    exc_info=exc,
                )
            elif n % 1000 == 0:
                log.error("event handler %s: %d changes dropped after retries (last: %r)", self.name, n, exc)
            return False
        self._failures[key] = failures + 1
        self.retries += 1
        delay = min(self._base * 2**failures, self._max)
        log.debug(
            "event handler %s failed on %s %s (%r); retry in %.3fs", self.name, ev.gvr, ev.key, exc, delay
        )
        self._timers[key] = asyncio.get_running_loop().call_later(delay, self._again, key)
        return True

    def _again(self, key: _Key) -> None:
        del self._timers[key]
        self._ready.put_nowait(key)

    def _done(self, key: _Key) -> None:
        waiting = self._pending[key]
        waiting.popleft()
        if waiting:
            self._ready.put_nowait(key)  # at the back: keys take turns
        else:
            del self._pending[key]
        self.depth -= 1
        if self.depth == 0:
            self._idle.set()

    async def drain(self) -> None:
        """Wait until every change offered so far is delivered or dropped."""
        await self._idle.wait()

    async def close(self, timeout: float = 10.0) -> None:
        """Drain for at most timeout seconds, then stop the workers."""
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            log.warning("shutdown: event handler %s: %d changes were not delivered", self.name, self.depth)
        for t in self._timers.values():
            t.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._threads is not None:
            # A sync handler still running goes on in its thread; nothing waits for it here.
            self._threads.shutdown(wait=False, cancel_futures=True)
            self._threads = None

    def status(self) -> HandlerStatus:
        return HandlerStatus(self.name, self.delivered, self.retries, dict(self.dropped), self.depth)


class Handlers(Sink):
    """Every handler of a run: one queue each, started and closed together."""

    def __init__(self, handlers: Iterable[EventHandler], delivery: Delivery = Delivery()) -> None:
        self.queues: list[HandlerQueue] = []
        names: dict[str, int] = {}
        for h in handlers:
            name = type(h).__name__
            names[name] = names.get(name, 0) + 1
            if names[name] > 1:  # two of one class: metric label sets must differ
                name = f"{name}-{names[name]}"
            self.queues.append(HandlerQueue(h, name, delivery))

    def __bool__(self) -> bool:
        return bool(self.queues)

    def start(self, supervisor: Supervisor | None = None) -> None:
        for q in self.queues:
            q.start(supervisor)

    def on_matched(self, event: MatchedEvent) -> None:
        self.offer(event)

    def offer(self, ev: MatchedEvent) -> None:
        for q in self.queues:
            q.offer(ev)

    async def stop(self, timeout: float = 10.0) -> None:
        """Drain every queue, together, for at most timeout seconds; then stop them."""
        await asyncio.gather(*(q.close(timeout) for q in self.queues))

    def status(self) -> list[HandlerStatus]:
        return [q.status() for q in self.queues]
