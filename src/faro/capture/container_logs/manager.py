"""Which container logs to stream, and turning their lines into story events.

For every pod in a story, each container (init, regular, sidecar, ephemeral) gets a follow
stream while it runs; one instance of a container is (pod uid, container, restart number).
When an instance ends — restartCount grows, the container terminates, the pod goes away —
its stream is closed and one more read collects what the stream had not delivered yet
(`previous=true` for an instance that was replaced), deduplicated line by line, so the
crash output is in the story even if the container died before its stream connected.
Streams take turns under --max-log-streams: extra ones wait (FIFO), never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from faro.capture.container_logs.stream import Instance, Stream, container_states, log_event
from faro.capture.filters import LogFilters
from faro.errors import ApiError, KubeError
from faro.kube.backoff import Backoff
from faro.kube.client import KubeClient
from faro.kube.podlog import LineDedup, LogLine, follow, read
from faro.kube.supervise import Supervisor
from faro.model.events import EventType, StoryEvent
from faro.model.timefmt import now, parse

log = logging.getLogger("faro.logs")

Emit = Callable[[str, StoryEvent], None]
FINAL_READ_ATTEMPTS = 5


class LogManager:
    def __init__(
        self,
        client: KubeClient,
        emit: Emit,
        max_streams: int = 50,
        filters: LogFilters | None = None,
        cap: int = 10_000,
        supervisor: Supervisor | None = None,
    ) -> None:
        self.client = client
        self.supervisor = supervisor or Supervisor()
        self.emit = emit
        self.filters = filters or LogFilters()
        self.cap = cap
        self.slots = asyncio.Semaphore(max_streams)
        # One-shot reads are short; they get their own slots so follow streams never starve them.
        self.reads = asyncio.Semaphore(max(4, max_streams // 4))
        self.streams: dict[tuple[str, str], Stream] = {}  # (pod uid, container) -> current instance
        self.waiting = 0
        self.active = 0
        self.lines = 0
        self.reconnects = 0
        self.dropped = 0
        self.early_reads = 0  # streams read as their pod began terminating, before a slot freed
        self._tasks: set[asyncio.Task[None]] = set()
        self._read: dict[Instance, None] = {}  # instances already read to the end (bounded)
        # Where a previous run of Faro stopped reading each instance (see resume).
        self._resumed: dict[tuple[str, str, str, int], LineDedup] = {}

    def resume(self, events: list[StoryEvent]) -> None:
        """Take over where a previous run stopped reading: the journalled log lines of a
        resumed story. Each instance's stream then starts at the last second that run
        recorded and skips the lines of that second it already has, as a reconnect does, so
        a crash of Faro (SIGKILL) loses no line and records none twice."""
        for ev in events:
            d = ev.data
            if ev.event_type is not EventType.CONTAINER_LOG or ev.action != "log" or not d.get("time"):
                continue
            key = (
                ev.namespace,
                str(d.get("pod", "")),
                str(d.get("container", "")),
                int(d.get("restart") or 0),
            )
            dedup = self._resumed.setdefault(key, LineDedup())
            line = LogLine(str(d["time"]), str(d.get("line", "")).encode())
            if line.timestamp[:19] >= dedup.second:
                dedup.accept(line)

    def _stream(self, cids: list[str], inst: Instance, **state: Any) -> Stream:
        """A stream of inst, resuming a previous run's reading of it if there was one."""
        key = (inst.namespace, inst.pod, inst.container, inst.restart)
        dedup = self._resumed.pop(key, None)
        return Stream(set(cids), inst, **state) if dedup is None else Stream(set(cids), inst, dedup, **state)

    def pod_changed(self, cids: list[str], pod: dict[str, Any], deleted: bool = False) -> None:
        """Called for every change of a pod that belongs to stories (sync, never blocks).
        One stream per container feeds every story the pod is in."""
        meta = pod.get("metadata") or {}
        uid, name, ns = meta.get("uid", ""), meta.get("name", ""), meta.get("namespace", "")
        terminating = bool(meta.get("deletionTimestamp"))
        for container, (state, restarts, _id) in container_states(pod).items():
            if not self.filters.wants_container(name, container):
                continue
            key = (uid, container)
            cur = self.streams.get(key)
            if cur is not None:
                cur.cids.update(cids)
                cur.wake.set()
                if restarts > cur.inst.restart or deleted or state != "running":
                    del self.streams[key]
                    self._end(cur, previous=restarts > cur.inst.restart)
                else:
                    self._early_if(terminating, cur)
                    continue
            if restarts > 0 and (state == "running" or state == "waiting"):
                # The instance before this one ended; if we never streamed it, its output is
                # only in the `previous` log now: read it once.
                self._read_once(cids, Instance(ns, name, uid, container, restarts - 1), previous=True)
            if state == "running" and not deleted:
                st = self._stream(cids, Instance(ns, name, uid, container, restarts))
                self._start(st)
                self._early_if(terminating, st)
            elif state == "terminated":
                # It ran and ended between two watch events (or before Faro started).
                self._read_once(cids, Instance(ns, name, uid, container, restarts), previous=False)

    def _early_if(self, terminating: bool, st: Stream) -> None:
        """A stream still waiting for a slot when its pod starts terminating reads what is
        there at once: the log goes with the pod object, seconds later, and the final read
        at termination can come too late (the last words are still added if it does not)."""
        if terminating and not st.following and not st.early:
            st.early = True
            self._spawn(f"early log read {_name(st.inst)}", lambda: self._read_early(st))

    def _read_once(self, cids: list[str], inst: Instance, previous: bool) -> None:
        if inst in self._read:
            return
        self._mark_read(inst)
        st = self._stream(cids, inst, previous=previous, ending=True)
        self._spawn(f"final log read {_name(inst)}", lambda: self._final(st))

    def _mark_read(self, inst: Instance) -> None:
        self._read[inst] = None
        if len(self._read) > 50_000:
            del self._read[next(iter(self._read))]

    def _start(self, st: Stream) -> None:
        self.streams[(st.inst.pod_uid, st.inst.container)] = st
        st.task = self._spawn(f"log stream {_name(st.inst)}", lambda: self._run(st))

    def _spawn(self, name: str, start: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        """A supervised task: one that fails unexpectedly is started again (its stream's
        dedup state survives, so a restart neither loses nor repeats a line)."""
        run = self.supervisor.run("log_stream", name, start)
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(run)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def _end(self, st: Stream, previous: bool) -> None:
        st.ending, st.previous = True, previous
        self._mark_read(st.inst)
        if st.task is not None:
            st.task.cancel()  # _run sees `ending` and does the final read

    async def _run(self, st: Stream) -> None:
        self.waiting += 1
        try:
            async with self.slots:
                self.waiting -= 1
                self.active += 1
                try:
                    async with st.lock:  # an early read in progress moves the resume point first
                        st.following = True
                    await self._follow(st)
                except asyncio.CancelledError:
                    if not st.ending:
                        raise
                finally:
                    self.active -= 1
        except asyncio.CancelledError:
            if not st.ending:
                raise
            self.waiting -= 1  # cancelled while waiting for a slot
        await self._final(st)

    async def _follow(self, st: Stream) -> None:
        backoff = Backoff(initial=0.25, cap=2)
        inst = st.inst
        while not st.ending:
            st.dedup.begin_replay()
            try:
                async for line in follow(
                    self.client, inst.namespace, inst.pod, inst.container, st.dedup.since_time
                ):
                    self._line(st, line)
                    backoff.healthy()
            except Exception as exc:  # a stream fails alone; it is retried while the container runs
                log.debug("log stream %s/%s/%s: %s", inst.namespace, inst.pod, inst.container, exc)
            if not st.ending:  # dropped while the container runs: resume from the last second seen
                self.reconnects += 1
                st.wake.clear()
                # Back off, but any change of the pod (deletion starting, say) retries at once:
                # the pod may be gone soon, and its log with it.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(st.wake.wait(), backoff.delay())

    async def _final(self, st: Stream) -> None:
        """One more read for what the stream missed (the dying instance's last words).
        Retried a few times: losing it to one failed request would lose the crash output."""
        async with st.lock:
            await self._final_reads(st)
        self._flush_tail(st)

    async def _read_early(self, st: Stream) -> None:
        async with st.lock, self.reads:
            if st.following or st.ending:
                return
            st.dedup.begin_replay()
            inst = st.inst
            self.early_reads += 1
            try:
                for line in await read(
                    self.client, inst.namespace, inst.pod, inst.container, st.dedup.since_time
                ):
                    self._line(st, line)
            except (ApiError, KubeError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.debug("early log read %s/%s/%s: %s", inst.namespace, inst.pod, inst.container, exc)

    async def _final_reads(self, st: Stream) -> None:
        inst = st.inst
        backoff = Backoff(initial=0.5, cap=4)
        for attempt in range(FINAL_READ_ATTEMPTS):
            if st.previous and self._restarted_again(inst):
                log.info(
                    "log of %s/%s/%s #%d lost: restarted twice",
                    inst.namespace,
                    inst.pod,
                    inst.container,
                    inst.restart,
                )
                break
            async with self.reads:
                st.dedup.begin_replay()
                try:
                    since = None if st.previous else st.dedup.since_time
                    for line in await read(
                        self.client, inst.namespace, inst.pod, inst.container, since, st.previous
                    ):
                        self._line(st, line)
                    break
                except ApiError as exc:
                    if exc.status == 404:  # the pod is gone: nothing more to read
                        break
                    err: Exception = exc
                except (KubeError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                    err = exc
            log.debug(
                "final log read %s/%s/%s (attempt %d): %s",
                inst.namespace,
                inst.pod,
                inst.container,
                attempt + 1,
                err,
            )
            await asyncio.sleep(backoff.delay())

    def _restarted_again(self, inst: Instance) -> bool:
        """`previous` is the instance before the current one: once the container restarted
        again it is a later instance's log, which must not be filed under this one."""
        cur = self.streams.get((inst.pod_uid, inst.container))
        return cur is not None and cur.inst.restart > inst.restart + 1

    def _line(self, st: Stream, line: LogLine) -> None:
        if not st.dedup.accept(line) or not self.filters.wants_line(line.content):
            return
        self.lines += 1
        text = line.content.decode("utf-8", "replace")
        ev = log_event(st.inst, parse(line.timestamp) or now(), "log", time=line.timestamp, line=text)
        st.lines += 1
        if st.lines <= self.cap // 2:
            self._emit(st, ev)
            return
        if st.tail is None:
            st.tail = deque(maxlen=self.cap - self.cap // 2)
        if len(st.tail) == st.tail.maxlen:
            st.dropped += 1
            self.dropped += 1
        st.tail.append(ev)

    def _flush_tail(self, st: Stream) -> None:
        if st.tail:
            if st.dropped:
                note = "log cap reached: head and tail kept"
                marker = log_event(
                    st.inst, st.tail[0].timestamp, "truncated", dropped_lines=st.dropped, note=note
                )
                self._emit(st, marker)
            while st.tail:
                self._emit(st, st.tail.popleft())

    def _emit(self, st: Stream, ev: StoryEvent) -> None:
        for i, cid in enumerate(sorted(st.cids)):
            self.emit(cid, ev if i == 0 else copy.copy(ev))

    async def close(self) -> None:
        """At shutdown: end every stream with a final read, then wait (bounded)."""
        for st in list(self.streams.values()):
            self._end(st, previous=False)
        self.streams.clear()
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10)
        rest = list(self._tasks)
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)


def _name(inst: Instance) -> str:
    return f"{inst.namespace}/{inst.pod}/{inst.container}#{inst.restart}"
