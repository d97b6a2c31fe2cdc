"""faro.capture.pipeline.Pipeline: per-key order, bounded workers, drain, error isolation."""

from __future__ import annotations

import asyncio
import logging
import random

import pytest

from faro.capture.pipeline import Pipeline


async def test_per_key_order_is_preserved_under_concurrency() -> None:
    rng = random.Random(42)
    seen: dict[str, list[int]] = {}
    running = 0
    peak = 0

    async def handler(item: tuple[str, int]) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        key, i = item
        await asyncio.sleep(rng.random() / 1000)
        seen.setdefault(key, []).append(i)
        running -= 1

    p: Pipeline[tuple[str, int]] = Pipeline(handler, max_workers=4, capacity=40)
    keys = [f"uid-{k}" for k in range(12)]
    try:
        for i in range(30):
            for k in keys:
                await p.put(k, (k, i))
        await p.drain()
        assert seen == {k: list(range(30)) for k in keys}
        assert p.processed == 30 * len(keys)
        assert p.errors == 0
        assert p.depth == 0
        assert peak > 1  # shards really ran concurrently
        assert peak <= 4
    finally:
        await p.close()


async def test_drain_waits_for_everything() -> None:
    done: list[int] = []

    async def handler(item: int) -> None:
        await asyncio.sleep(0.005)
        done.append(item)

    p: Pipeline[int] = Pipeline(handler, max_workers=3)
    try:
        for i in range(20):
            await p.put(str(i), i)
        assert len(done) < 20
        await p.drain()
        assert sorted(done) == list(range(20))
    finally:
        await p.close()


async def test_active_workers_never_exceed_max() -> None:
    samples: list[int] = []
    p: Pipeline[int]

    async def handler(item: int) -> None:
        samples.append(p.active_workers)
        await asyncio.sleep(0)

    p = Pipeline(handler, max_workers=2, capacity=4)
    try:
        for i in range(50):
            await p.put(f"key-{i}", i)
            samples.append(p.active_workers)
        await p.drain()
        assert max(samples) == 2
        assert p.active_workers <= 2
    finally:
        await p.close()


async def test_idle_workers_stop_and_restart_on_new_work() -> None:
    handled: list[int] = []

    async def handler(item: int) -> None:
        handled.append(item)

    p: Pipeline[int] = Pipeline(handler, max_workers=2, idle_after=0.02)
    try:
        await p.put("a", 1)
        await p.drain()
        assert p.active_workers == 1
        for _ in range(100):
            if p.active_workers == 0:
                break
            await asyncio.sleep(0.01)
        assert p.active_workers == 0
        await p.put("a", 2)
        await p.drain()
        assert handled == [1, 2]
    finally:
        await p.close()


async def test_handler_exception_is_counted_and_processing_continues(
    caplog: pytest.LogCaptureFixture,
) -> None:
    handled: list[int] = []

    async def handler(item: int) -> None:
        if item % 5 == 0:
            raise RuntimeError(f"bad item {item}")
        handled.append(item)

    p: Pipeline[int] = Pipeline(handler, max_workers=2)
    try:
        with caplog.at_level(logging.ERROR, logger="faro.pipeline"):
            for i in range(1, 21):
                await p.put("same-key", i)
            await p.drain()
        assert p.errors == 4
        assert p.processed == 16
        assert handled == [i for i in range(1, 21) if i % 5]
        assert sum("failed to handle an event" in r.getMessage() for r in caplog.records) == 4
    finally:
        await p.close()


async def test_close_cancels_workers() -> None:
    started = asyncio.Event()

    async def handler(item: int) -> None:
        started.set()
        await asyncio.sleep(60)

    p: Pipeline[int] = Pipeline(handler, max_workers=2)
    await p.put("k", 1)
    await asyncio.wait_for(started.wait(), 5)
    await p.close()
    assert p.active_workers == 0
    await p.put("k", 2)  # after close, nothing new is started
    assert p.active_workers == 0


async def test_put_waits_when_full_and_resumes_when_drained() -> None:
    gate = asyncio.Event()
    handled: list[int] = []

    async def handler(item: int) -> None:
        await gate.wait()
        handled.append(item)

    p: Pipeline[int] = Pipeline(handler, max_workers=2, capacity=10)
    for i in range(10):
        await asyncio.wait_for(p.put(str(i), i), 1)
    assert p.depth == 10
    blocked = asyncio.create_task(p.put("x", 99))
    await asyncio.sleep(0.05)
    assert not blocked.done()  # full: the watcher waits, nothing is dropped
    gate.set()
    await asyncio.wait_for(blocked, 1)
    await asyncio.wait_for(p.drain(), 1)
    assert sorted(handled) == [*range(10), 99] and p.depth == 0
    await p.close()
