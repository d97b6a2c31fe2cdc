"""The Python consumers of the ingest benchmark, one per process: Faro end to end, and raw.

Why: each consumer runs in its own child process so the orchestrator (ingest.py) can take
its CPU time from wait4() and so no two consumers share a GIL or an event loop. Each prints
one JSON line {"count", "start", "first", "last"} (Unix seconds): start is before any
request, first is when the first event was counted and last when the n-th was. events/s is
(n-1)/(last-first), the same definition as for the client-go informer and kubectl.

- faro: the public `faro.Faro` with resources v1/Pod in every namespace (pattern ".*"),
  write_stories=False, include_logs=False (the replay server serves no logs) and
  metrics_port=0 (no metrics server to bind), against a
  kubeconfig pointing at the replay server. Every watch event goes through Faro's reflector
  (raw lines, orjson), the pipeline (bounded queue, per-UID workers), the router (strip and
  redact, primary filter, owner graph, pod lifecycle, Event correlation) and the story
  buffers. Counted: events *handled* by the pipeline (`engine.pipeline.processed`, polled
  every 2 ms), not merely read. It also reports the time spent in the cyclic GC and how
  many story events Faro still holds at the end. A diagnostic switch (not a Faro
  configuration), --gc-threshold, raises CPython's gen-0 GC threshold first; and it says how
  many of Faro's modules it ran compiled (the "faro-mypyc" diagnostic of ingest.py: 16).
- raw: the floor Faro's design aims at (docs/design.md, "Hot path"): aiohttp, iterate chunks,
  split on b"\\n", orjson.loads each line; nothing else. With several resources, one stream
  each, concurrently on one event loop.

Each also reports its own peak RSS (VmHWM), which ingest.py reports.

Usage: python -m benchmarks.ingest.consumers faro|raw --server http://127.0.0.1:PORT --n N
       [--resources pods,events] [--kubeconfig FILE] [--timeout 110] [--profile OUT.json]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

TIMEOUT = 110.0


def vmhwm_kb(pid: int | str = "self") -> int:
    """Peak RSS of a process image (VmHWM). wait4's ru_maxrss is not enough: it also counts
    the parent's RSS at the time of the spawn, which survives fork and exec."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    return next((int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM:")), 0)


def done(count: int, start: float, first: float, last: float, **extra: Any) -> None:
    result = {"count": count, "start": start, "first": first, "last": last, "vmhwm_kb": vmhwm_kb(), **extra}
    print(json.dumps(result), flush=True)


class GcClock:
    """Time spent in CPython's cyclic GC, per generation (gc.callbacks: a few per second)."""

    def __init__(self) -> None:
        self.seconds = [0.0, 0.0, 0.0]
        self.collections = [0, 0, 0]
        self.garbage = [0, 0, 0]  # objects found unreachable (cycles refcounting cannot free)
        self._t = 0.0
        gc.callbacks.append(self._cb)

    def _cb(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._t = time.perf_counter()
        else:
            self.seconds[info["generation"]] += time.perf_counter() - self._t
            self.collections[info["generation"]] += 1
            self.garbage[info["generation"]] += info["collected"]


_TYPE_NAMES = {"pods": "v1/Pod", "events": "v1/Event"}  # how faro's engine counts them


async def run_raw(server: str, resources: list[str], n: int) -> None:
    count = 0
    first = 0.0
    finished = asyncio.Event()
    start = time.time()

    async def one(session: aiohttp.ClientSession, resource: str) -> None:
        nonlocal count, first
        url = f"{server}/api/v1/{resource}"
        async with session.get(url, params={"limit": "500"}) as resp:
            rv = (await resp.json())["metadata"]["resourceVersion"]
        params = {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true"}
        async with session.get(url, params=params) as resp:
            pending = b""
            async for chunk in resp.content.iter_any():
                lines = (pending + chunk).split(b"\n")
                pending = lines.pop()
                for line in lines:
                    if line:
                        orjson.loads(line)
                        count += 1
                if count and not first:
                    first = time.time()
                if count >= n:
                    finished.set()
                    return

    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        tasks = [asyncio.create_task(one(session, r)) for r in resources]
        await asyncio.wait_for(finished.wait(), TIMEOUT)
        done(count, start, first, time.time())
        for t in tasks:
            t.cancel()


async def run_faro(
    kubeconfig: str,
    n: int,
    resources: list[str],
    gc_threshold: int | None = None,
    deployment: str | None = None,
) -> None:
    from benchmarks.diagnostics.compiled import compiled_modules
    from faro import Faro  # imported here: the raw consumer must not pay for it
    from faro.config import FaroConfig, ResourceRule

    config = FaroConfig(
        resources=[
            ResourceRule(gvr="apps/v1/Deployment", namespace_patterns=[".*"], name_pattern=deployment)
            if deployment
            else ResourceRule(gvr="v1/Pod", namespace_patterns=[".*"])
        ],
        write_stories=False,
        include_logs=False,
        kubeconfig=kubeconfig,
        correlation_timeout=3600,
        metrics_port=0,
    )
    if gc_threshold:  # diagnostic only: how much of Faro's time is the cyclic GC?
        gc.set_threshold(gc_threshold, 50, 1000)
    counted = [_TYPE_NAMES[r] for r in resources]
    gc_clock = GcClock()
    start = time.time()
    faro = Faro(config)
    task = asyncio.create_task(faro.run())
    first = 0.0
    deadline = time.monotonic() + TIMEOUT
    processed = 0
    while processed < n:
        await asyncio.sleep(0.002)
        if task.done():
            task.result()
            raise SystemExit("faro stopped before handling every event")
        # the recorded streams' events only: the owners' LIST items go through the pipeline too
        handled: dict[str, int] = getattr(faro.engine, "processed", None) or {}
        processed = sum(handled.get(t, 0) for t in counted)
        if processed and not first:
            first = time.time()
        if time.monotonic() > deadline:
            print(f"faro: timeout with {processed} of {n} events", file=sys.stderr)
            break
    last = time.time()
    engine: Any = faro.engine
    open_stories = list(engine.book.open.values()) if engine is not None else []
    kept = list(getattr(faro, "stories_closed", []))  # older Faro kept every closed story here
    closed = getattr(faro, "closed_count", len(kept))
    retained = sum(s.event_count for s in [*open_stories, *kept])
    done(
        processed,
        start,
        first,
        last,
        gc_seconds=[round(x, 3) for x in gc_clock.seconds],
        gc_collections=gc_clock.collections,
        stories_open=len(open_stories),
        stories_closed=closed,
        closed_stories_kept=len(kept),
        story_events_retained=retained,
        compiled_modules=len(compiled_modules()),
    )


def main() -> None:
    global TIMEOUT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("consumer", choices=["faro", "raw"])
    ap.add_argument("--server", required=True)
    ap.add_argument("--kubeconfig")
    ap.add_argument("--n", type=int, required=True)
    ap.add_argument("--resources", default="pods")
    ap.add_argument("--timeout", type=float, default=TIMEOUT, help="give up after this many seconds")
    ap.add_argument("--profile", help="write a pyinstrument session (JSON) here")
    ap.add_argument("--deployment", help="faro: this Deployment is the primary, not every pod")
    ap.add_argument("--gc-threshold", type=int, help="faro: gc.set_threshold(N, 50, 1000) first (diagnostic)")
    args = ap.parse_args()
    TIMEOUT = args.timeout
    if args.consumer == "raw":
        coro = run_raw(args.server, args.resources.split(","), args.n)
    else:
        coro = run_faro(
            args.kubeconfig, args.n, args.resources.split(","), args.gc_threshold, args.deployment
        )
    if args.profile:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        asyncio.run(coro)
        profiler.stop()
        profiler.last_session.save(args.profile)
    else:
        asyncio.run(coro)
    sys.stdout.flush()
    os._exit(0)  # shutting down (flushing thousands of open stories) is not what is measured


if __name__ == "__main__":
    main()
