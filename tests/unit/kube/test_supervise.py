"""The supervisor restarts a failing task alone, with backoff, and counts it."""

from __future__ import annotations

import asyncio
import logging

import pytest

from faro.kube.supervise import Supervisor


async def test_a_task_that_raises_is_restarted_until_it_returns(caplog: pytest.LogCaptureFixture) -> None:
    sup = Supervisor(initial=0.001, cap=0.01)
    calls = 0

    async def flaky() -> None:
        nonlocal calls
        calls += 1
        if calls <= 3:
            raise KeyError(f"bug {calls}")

    with caplog.at_level(logging.WARNING, "faro.supervisor"):
        await asyncio.wait_for(sup.run("reflector", "watch v1/Pod@x", flaky), 5)
    assert calls == 4 and sup.restarts == {"reflector": 3}
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert len(tracebacks) == 1  # the first failure with its traceback, the others in one line
    assert [r.getMessage() for r in caplog.records][1:] == [
        "watch v1/Pod@x failed again (KeyError: 'bug 2'); restarting it",
        "watch v1/Pod@x failed again (KeyError: 'bug 3'); restarting it",
    ]


async def test_one_failing_task_does_not_stop_its_siblings() -> None:
    sup = Supervisor(initial=0.001, cap=0.01)
    ticks = 0

    async def broken() -> None:
        raise RuntimeError("always")

    async def healthy() -> None:
        nonlocal ticks
        while ticks < 20:
            ticks += 1
            await asyncio.sleep(0.005)

    async def both() -> None:
        async with asyncio.TaskGroup() as tg:
            tg.create_task(sup.run("log_stream", "a", broken))
            tg.create_task(sup.run("log_stream", "b", healthy))

    # The broken task never ends, and never cancels the TaskGroup: only the timeout does.
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(both(), 0.5)
    assert ticks == 20 and sup.restarts["log_stream"] >= 2


async def test_cancelling_a_supervised_task_stops_it() -> None:
    sup = Supervisor()
    task = asyncio.create_task(sup.run("ticker", "t", lambda: asyncio.sleep(10)))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert sup.restarts == {}
