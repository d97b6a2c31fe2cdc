"""Start-up waits: a slow watch is named after the timeout; a stop while starting is not slow."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any, cast

import pytest

from faro.capture.startup import wait_settled
from faro.kube.watch import Reflector


def _reflector(name: str, synced: bool) -> Reflector:
    r: Any = SimpleNamespace(
        name=name, settled=asyncio.Event(), synced=asyncio.Event(), stats=SimpleNamespace(last_error="")
    )
    if synced:
        r.settled.set()
        r.synced.set()
    return cast(Reflector, r)


async def test_a_watch_that_does_not_sync_in_time_is_named(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "faro.engine")
    await wait_settled([_reflector("v1/Pod@*", False), _reflector("v1/Event@*", True)], asyncio.Event(), 0.05)
    assert [r.getMessage() for r in caplog.records] == ["watch v1/Pod@* not synced after 0.05s: slow"]


async def test_stopping_while_starting_warns_of_nothing(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "faro.engine")
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.01, stop.set)
    t0 = asyncio.get_running_loop().time()
    await wait_settled([_reflector("v1/Pod@*", False)], stop, 5)
    assert asyncio.get_running_loop().time() - t0 < 1
    assert caplog.records == []
