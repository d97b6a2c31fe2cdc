"""Start-up waits: a slow watch is named after the timeout; a stop while starting is not slow."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any, cast

import pytest

from faro.capture.filters import PrimaryRule
from faro.capture.watches.startup import all_forbidden, check_selectors, wait_settled
from faro.config import ResourceRule
from faro.errors import ApiError, ConfigError
from faro.kube.client import KubeClient
from faro.kube.reflector import Reflector
from faro.model.refs import GVR, ResourceType


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


class _Client:
    """Answers every request with the error it was given (or an empty list)."""

    def __init__(self, error: ApiError | None) -> None:
        self.error, self.asked = error, []

    async def get_bytes(self, path: str, query: dict[str, Any] | None = None) -> bytes:
        self.asked.append((path, query))
        if self.error is not None:
            raise self.error
        return b'{"items": []}'


def _rules(**selectors: str) -> list[PrimaryRule]:
    pods = ResourceType(GVR("", "v1", "pods"), "Pod", True, frozenset({"list", "watch"}))
    plain = PrimaryRule.compile(ResourceRule(gvr="v1/Pod", namespace_names=["a"]), pods)
    chosen = PrimaryRule.compile(ResourceRule(gvr="v1/Pod", namespace_names=["web"], **selectors), pods)
    return [plain, chosen]


async def test_selectors_are_asked_for_once_and_a_400_is_the_users_error() -> None:
    ok = _Client(None)
    await check_selectors(cast(KubeClient, ok), _rules(label_selector="app=web"))
    assert ok.asked == [("/api/v1/namespaces/web/pods", {"limit": 1, "labelSelector": "app=web"})]
    bad = _Client(ApiError(400, "BadRequest", "found '=', expected: ',' or 'end of string'"))
    with pytest.raises(ConfigError, match=r"^the API server rejects the selector of v1/Pod: found '='"):
        await check_selectors(cast(KubeClient, bad), _rules(label_selector="a=b=c"))


async def test_a_forbidden_selector_check_is_left_to_the_watches() -> None:
    forbidden = _Client(ApiError(403, "Forbidden", "pods is forbidden"))
    await check_selectors(cast(KubeClient, forbidden), _rules(field_selector="spec.nodeName=n1"))
    assert forbidden.asked == [
        ("/api/v1/namespaces/web/pods", {"limit": 1, "fieldSelector": "spec.nodeName=n1"})
    ]


def _failed(name: str, status: int) -> Reflector:
    r: Any = _reflector(name, False)
    r.stats.errors, r.stats.last_error = {status: 1}, f"{status} Forbidden: {name} is forbidden"
    return cast(Reflector, r)


def test_a_capture_stops_only_when_every_primary_is_forbidden() -> None:
    denied = all_forbidden([_failed("jobs", 403), _failed("deployments", 403)])
    assert denied == (
        "not allowed to watch what the capture is for: 403 Forbidden: jobs is forbidden "
        "(`faro rbac` prints the role a capture needs)"
    )
    assert all_forbidden([_failed("jobs", 403), _reflector("deployments", True)]) is None
    assert all_forbidden([_failed("jobs", 403), _failed("deployments", 500)]) is None
    assert all_forbidden([]) is None  # primaries whose CRD is not served yet
