"""Between watchers and the correlator: a bounded queue, per-UID order, a growing pool.

Watchers only enqueue. Items are sharded by UID, so all changes of one object are handled
in order by one worker; a shard's worker is started when the shard has work and stops after
it has been idle a while, so the pool grows with the backlog up to `max_workers`. The queue
is bounded: when it is full, `put` waits, which slows the watchers (their TCP windows fill
and the API server buffers) instead of dropping anything. Nothing is dropped silently.
A waiting `put` resumes only once the backlog is down to half the capacity: resuming it
for every freed slot cost two task switches per event at full load (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Pipeline(Generic[T]):
    def __init__(
        self,
        handler: Callable[[T], Awaitable[None]],
        max_workers: int = 5,
        capacity: int = 1000,
        idle_after: float = 5.0,
    ) -> None:
        self._handler = handler
        self._shards: list[asyncio.Queue[T]] = [asyncio.Queue() for _ in range(max_workers)]
        self._capacity = max(1, capacity)
        self._resume_at = self._capacity // 2
        self._depth = 0
        self._room = asyncio.Event()
        self._room.set()
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._idle_after = idle_after
        self._closed = False
        self.processed = 0
        self.errors = 0

    @property
    def depth(self) -> int:
        """Items queued or being handled."""
        return self._depth

    @property
    def active_workers(self) -> int:
        return len(self._workers)

    async def put(self, key: str, item: T) -> None:
        while self._depth >= self._capacity:
            self._room.clear()
            await self._room.wait()
        self._depth += 1
        shard = zlib.crc32(key.encode()) % len(self._shards)
        self._shards[shard].put_nowait(item)
        if shard not in self._workers and not self._closed:
            self._workers[shard] = asyncio.create_task(self._work(shard), name=f"faro-worker-{shard}")

    async def _work(self, shard: int) -> None:
        q = self._shards[shard]
        try:
            while True:
                if q.empty():
                    try:  # only an idle worker pays for a timer (wait_for makes a task and a handle)
                        item = await asyncio.wait_for(q.get(), self._idle_after)
                    except TimeoutError:
                        if q.empty():
                            return
                        continue
                else:
                    item = q.get_nowait()
                try:
                    await self._handler(item)
                    self.processed += 1
                except Exception:  # one bad object must not stop the capture
                    self.errors += 1

                    logging.getLogger("faro.pipeline").exception("failed to handle an event")
                finally:
                    q.task_done()
                    self._depth -= 1
                    if self._depth <= self._resume_at:
                        self._room.set()
        finally:
            self._workers.pop(shard, None)
            if not q.empty() and not self._closed:  # work arrived as we were leaving
                self._workers[shard] = asyncio.create_task(self._work(shard), name=f"faro-worker-{shard}")

    async def drain(self) -> None:
        """Wait until everything enqueued so far has been handled."""
        for q in self._shards:
            await q.join()

    async def close(self) -> None:
        self._closed = True
        tasks = list(self._workers.values())
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
