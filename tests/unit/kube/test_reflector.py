"""Reflector edge cases against a scripted API server (aiohttp on loopback): dead streams,
410 in both forms, 429. The real-cluster behaviour is in tests/cluster; these pin the
corner cases a real apiserver will not produce on demand."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from faro.kube.client import KubeClient
from faro.kube.reflector import Reflector
from faro.model.events import Gap, WatchEvent, WatchType
from faro.model.refs import GVR, ResourceType
from tests.fakes.apiserver import fake_apiserver

PODS = ResourceType(GVR("", "v1", "pods"), "Pod", True, frozenset({"list", "watch"}))


def pod(name: str, rv: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}", "resourceVersion": rv}}


class Script:
    """Each LIST returns `lists[i]`; each WATCH plays `watches[i]` (lines, then an action)."""

    def __init__(
        self, lists: list[tuple[str, list[dict[str, Any]]]], watches: list[tuple[list[Any], str]]
    ) -> None:
        self.lists, self.watches = lists, watches
        self.list_calls = 0
        self.watch_calls: list[dict[str, str]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.query.get("watch") == "true":
            i = len(self.watch_calls)
            self.watch_calls.append(dict(request.query))
            lines, then = self.watches[min(i, len(self.watches) - 1)]
            if then == "http410":
                return web.json_response(
                    {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}, status=410
                )
            if then == "http429":
                return web.json_response(
                    {"kind": "Status", "code": 429, "reason": "TooManyRequests"}, status=429
                )
            resp = web.StreamResponse()
            await resp.prepare(request)
            for line in lines:
                await resp.write(json.dumps(line).encode() + b"\n")
            if then == "stall":
                await asyncio.sleep(1.5)
            return resp
        rv, items = self.lists[min(self.list_calls, len(self.lists) - 1)]
        self.list_calls += 1
        return web.json_response({"kind": "PodList", "metadata": {"resourceVersion": rv}, "items": items})


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[tuple[list[Script], Path, list[Script]]]:
    holder: list[Script] = []

    async def dispatch(request: web.Request) -> web.StreamResponse:
        return await holder[0].handle(request)

    async with fake_apiserver({"/api/v1/namespaces/ns/pods": dispatch}, tmp_path / "kc.yaml") as fake:
        yield holder, fake.kubeconfig, holder


async def run_until(
    script: Script, kc: Path, done: Any, **kw: Any
) -> tuple[Reflector, list[WatchEvent], list[Gap]]:
    events: list[WatchEvent] = []
    gaps: list[Gap] = []

    async def emit(ev: WatchEvent) -> None:
        events.append(ev)

    async def on_gap(g: Gap) -> None:
        gaps.append(g)

    client = await KubeClient.connect(str(kc))
    r = Reflector(client, PODS, "ns", emit, on_gap, **kw)
    r._backoff.initial = 0.01  # keep retries fast in tests
    task = asyncio.create_task(r.run())
    try:
        async with asyncio.timeout(10):
            while not done(r, events):
                await asyncio.sleep(0.02)
    finally:
        r.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
    return r, events, gaps


async def test_a_silent_stream_is_dead_and_reconnected_without_relist(server: Any) -> None:
    holder, kc, _ = server
    holder.append(
        Script([("10", [pod("a", "10")])], [([{"type": "MODIFIED", "object": pod("a", "11")}], "stall")])
    )
    # the server's count, not the reflector's: that one grows before the request is sent
    script = holder[0]
    _, _, gaps = await run_until(script, kc, lambda r, ev: len(script.watch_calls) >= 2, dead_after=0.3)
    assert holder[0].list_calls == 1 and not gaps
    assert holder[0].watch_calls[1]["resourceVersion"] == "11"  # resumes from the last RV seen
    assert holder[0].watch_calls[0]["allowWatchBookmarks"] == "true"
    assert 300 <= int(holder[0].watch_calls[0]["timeoutSeconds"]) <= 600


@pytest.mark.parametrize("form", ["in-stream", "http"])
async def test_410_relists_with_synthesized_deletions_and_a_gap(server: Any, form: str) -> None:
    holder, kc, _ = server
    gone_line = {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired"}}
    first_watch = ([gone_line], "end") if form == "in-stream" else ([], "http410")
    holder.append(
        Script(
            [("10", [pod("a", "10"), pod("b", "10")]), ("20", [pod("a", "15")])],
            [first_watch, ([], "stall")],
        )
    )
    r, events, gaps = await run_until(holder[0], kc, lambda r, ev: r.stats.relists >= 1)
    assert r.stats.gone == 1 and holder[0].list_calls == 2
    assert [g.reason for g in gaps] == ["relist"]
    after = events[2:]
    assert [(e.type, e.uid, e.synthetic) for e in after] == [
        (WatchType.MODIFIED, "uid-a", False),
        (WatchType.DELETED, "uid-b", True),
    ]
    assert all(e.gap is gaps[0] for e in after)


async def test_429_backs_off_without_relisting(server: Any) -> None:
    holder, kc, _ = server
    holder.append(Script([("10", [pod("a", "10")])], [([], "http429"), ([], "http429"), ([], "stall")]))
    r, _, gaps = await run_until(holder[0], kc, lambda r, ev: len(holder[0].watch_calls) >= 3)
    assert holder[0].list_calls == 1 and not gaps and r.stats.errors.get(429) == 2
