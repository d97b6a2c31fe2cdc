"""faro.sinks.handlers: per-key order, retries with backoff, drops counted, sync/async, shutdown."""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time

import pytest

from faro.config import ResourceRule
from faro.sinks.handlers import QUEUE_FULL, RETRIES_EXHAUSTED, Delivery, HandlerQueue, Handlers
from faro.sinks.matched import MatchedEvent

RULE = ResourceRule(gvr="apps/v1/Deployment", namespace_names=["ns"])


def _ev(name: str, i: int, event_type: str = "UPDATED") -> MatchedEvent:
    obj = {"metadata": {"name": name, "namespace": "ns", "resourceVersion": str(i)}}
    return MatchedEvent(event_type, obj, "apps/v1/deployments", f"ns/{name}", RULE, 1000.0 + i)  # type: ignore[arg-type]


def _seen(ev: MatchedEvent) -> tuple[str, int]:
    return ev.name, int(ev.object["metadata"]["resourceVersion"])


class Recorder:
    """Async handler: records deliveries; fails the attempts listed in `fail` (by change)."""

    def __init__(self, fail: dict[tuple[str, int], int] | None = None) -> None:
        self.fail = dict(fail or {})
        self.delivered: list[tuple[str, int]] = []
        self.attempts: list[tuple[tuple[str, int], float]] = []

    async def on_matched(self, ev: MatchedEvent) -> None:
        seen = _seen(ev)
        self.attempts.append((seen, time.monotonic()))
        if self.fail.get(seen, 0) > 0:
            self.fail[seen] -= 1
            raise RuntimeError(f"failing {seen}")
        self.delivered.append(seen)


async def test_a_key_waits_behind_its_failing_change_and_other_keys_do_not() -> None:
    h = Recorder(fail={("a", 1): 1})
    q = HandlerQueue(h, "Recorder", Delivery(workers=2, base_delay=0.1))
    q.start()
    try:
        for ev in (_ev("a", 1), _ev("b", 1), _ev("a", 2), _ev("b", 2)):
            assert q.offer(ev)
        await asyncio.wait_for(q.drain(), 5)
    finally:
        await q.close()
    assert [d for d in h.delivered if d[0] == "a"] == [("a", 1), ("a", 2)]  # a:2 after the retried a:1
    assert [d for d in h.delivered if d[0] == "b"] == [("b", 1), ("b", 2)]
    # b was not held up by a's backoff: both of its changes came before a:1 succeeded
    assert h.delivered.index(("b", 2)) < h.delivered.index(("a", 1))
    # a:2 was not attempted before a:1 was delivered
    attempts = [seen for seen, _ in h.attempts]
    assert attempts.index(("a", 2)) > attempts.index(("a", 1), attempts.index(("a", 1)) + 1)
    assert (q.delivered, q.retries, q.dropped[RETRIES_EXHAUSTED], q.depth) == (4, 1, 0, 0)


async def test_retries_back_off_exponentially_then_the_change_is_dropped_and_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = Recorder(fail={("a", 1): 100, ("a", 3): 100})
    q = HandlerQueue(h, "Recorder", Delivery(workers=1, max_retries=4, base_delay=0.01, max_delay=0.04))
    q.start()
    try:
        with caplog.at_level(logging.DEBUG, logger="faro.handlers"):
            q.offer(_ev("a", 1))
            q.offer(_ev("a", 2))  # after a:1 is dropped, a:2 gets through (the backoff starts over)
            q.offer(_ev("a", 3))
            await asyncio.wait_for(q.drain(), 5)
    finally:
        await q.close()
    times = [t for seen, t in h.attempts if seen == ("a", 1)]
    assert len(times) == 5  # the first attempt and max_retries retries
    gaps = [b - a for a, b in itertools.pairwise(times)]
    for gap, want in zip(gaps, (0.01, 0.02, 0.04, 0.04), strict=True):  # doubling, capped
        assert gap >= want - 0.002
    assert gaps[3] < 0.5
    assert h.delivered == [("a", 2)]
    assert (q.retries, q.dropped[RETRIES_EXHAUSTED], q.delivered) == (8, 2, 1)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1  # the first drop, with its traceback; later ones are counted
    assert errors[0].exc_info is not None and "failing ('a', 1)" in str(errors[0].exc_info[1])
    assert "dropped" in errors[0].getMessage() and "ns/a" in errors[0].getMessage()


async def test_sync_handlers_run_on_threads_and_a_slow_one_does_not_block_the_loop() -> None:
    loop_thread = threading.get_ident()

    class Slow:
        def __init__(self) -> None:
            self.threads: list[int] = []
            self.delivered: list[tuple[str, int]] = []

        def on_matched(self, ev: MatchedEvent) -> None:
            self.threads.append(threading.get_ident())
            time.sleep(0.3)
            self.delivered.append(_seen(ev))

    h = Slow()
    q = HandlerQueue(h, "Slow", Delivery(workers=2))
    q.start()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    t = asyncio.create_task(ticker())
    try:
        q.offer(_ev("a", 1))
        q.offer(_ev("b", 1))
        await asyncio.wait_for(q.drain(), 5)
    finally:
        t.cancel()
        await q.close()
    assert sorted(h.delivered) == [("a", 1), ("b", 1)]
    assert loop_thread not in h.threads
    assert ticks >= 10  # the loop went on while the handler slept


async def test_async_handlers_are_awaited_on_the_loop() -> None:
    loop_thread = threading.get_ident()
    threads: list[int] = []

    class Async:
        async def on_matched(self, ev: MatchedEvent) -> None:
            threads.append(threading.get_ident())
            await asyncio.sleep(0)

    q = HandlerQueue(Async(), "Async")
    q.start()
    try:
        q.offer(_ev("a", 1))
        await asyncio.wait_for(q.drain(), 5)
    finally:
        await q.close()
    assert threads == [loop_thread] and q.delivered == 1


async def test_a_full_queue_drops_new_changes_counts_them_and_warns_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    release = asyncio.Event()
    got: list[tuple[str, int]] = []

    class Stuck:
        async def on_matched(self, ev: MatchedEvent) -> None:
            await release.wait()
            got.append(_seen(ev))

    q = HandlerQueue(Stuck(), "Stuck", Delivery(workers=1, capacity=2))
    q.start()
    try:
        with caplog.at_level(logging.WARNING, logger="faro.handlers"):
            accepted = [q.offer(_ev(f"o{i}", i)) for i in range(5)]
        assert accepted == [True, True, False, False, False]  # offer never waits
        assert q.dropped[QUEUE_FULL] == 3 and q.depth == 2
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "queue of 2 changes is full" in warnings[0].getMessage()
        release.set()
        await asyncio.wait_for(q.drain(), 5)
    finally:
        await q.close()
    assert got == [("o0", 0), ("o1", 1)]
    status = q.status()
    assert (status.name, status.delivered, status.dropped, status.depth) == (
        "Stuck",
        2,
        {RETRIES_EXHAUSTED: 0, QUEUE_FULL: 3},
        0,
    )


async def test_shutdown_drains_what_is_queued_and_gives_up_after_its_bound(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Steady:
        def __init__(self) -> None:
            self.n = 0

        async def on_matched(self, ev: MatchedEvent) -> None:
            await asyncio.sleep(0.005)
            self.n += 1

    class Never:
        async def on_matched(self, ev: MatchedEvent) -> None:
            await asyncio.Event().wait()

    steady, never = Steady(), Never()
    hs = Handlers([steady, never], Delivery(workers=2))
    hs.start()
    for i in range(20):
        hs.offer(_ev(f"o{i % 3}", i))
    start = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="faro.handlers"):
        await hs.stop(timeout=1.0)
    assert steady.n == 20  # drained
    assert time.monotonic() - start < 3  # the stuck one did not hold shutdown beyond the bound
    assert any("Never: 20 changes were not delivered" in r.getMessage() for r in caplog.records)


async def test_handlers_are_named_by_class_and_two_of_one_class_get_distinct_names() -> None:
    hs = Handlers([Recorder(), Recorder(), object.__new__(Recorder)])
    assert [q.name for q in hs.queues] == ["Recorder", "Recorder-2", "Recorder-3"]
    assert [s.name for s in hs.status()] == ["Recorder", "Recorder-2", "Recorder-3"]
