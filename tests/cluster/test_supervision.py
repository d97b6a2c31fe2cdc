"""Faults injected into one watch and one log stream: each is restarted alone, counted, and
the capture goes on with nothing lost (the specification's supervisor, 004)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from faro import ResourceRule
from faro.capture.container_logs.stream import Stream
from faro.sinks.files import story_path
from tests.harness.cluster import LocalCluster, async_wait_for
from tests.harness.faro_run import FaroRun, load_story
from tests.harness.logs import PodLogs
from tests.harness.manifests import bare_pod
from tests.harness.pods import wait_running


def fail_once(real: Callable[..., Awaitable[None]], failures: list[str]) -> Callable[..., Awaitable[None]]:
    async def injected(*args: Any) -> None:
        if not failures:
            failures.append("injected")
            raise RuntimeError("injected fault")
        await real(*args)

    return injected


async def test_a_failing_watch_and_log_stream_are_restarted_alone(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    logs = PodLogs(cluster, namespace, "sturdy")
    logs.install(["app"])
    logs.write("app", "line 0", "line 1")
    rules = [ResourceRule(gvr="v1/Pod", namespace_names=[namespace])]
    async with FaroRun(cluster, tmp_path, rules) as run:
        engine = run.faro.engine
        assert engine is not None and engine.logs is not None
        pods = next(
            r for k, r in ((k, v.reflector) for k, v in engine.running.items()) if k.resource.kind == "Pod"
        )
        watch_faults: list[str] = []
        pods._watch = fail_once(pods._watch, watch_faults)  # type: ignore[method-assign]
        pods.interrupt()  # the reconnect meets the fault: an exception no reflector expects
        await async_wait_for("the watch to fail", lambda: watch_faults, 10)
        stream_faults: list[str] = []
        real_follow: Callable[[Stream], Awaitable[None]] = engine.logs._follow
        engine.logs._follow = fail_once(real_follow, stream_faults)  # type: ignore[method-assign]

        await cluster.aapply(bare_pod("sturdy"), namespace)  # seen by the restarted watch
        await asyncio.to_thread(wait_running, cluster, namespace, "sturdy")
        await async_wait_for("the log stream to fail", lambda: stream_faults, 20)
        await async_wait_for("the restarted stream to read", lambda: engine.logs.lines >= 2, 20)
        logs.write("app", "line 2")
        await async_wait_for("the third line", lambda: engine.logs.lines >= 3, 20)
        status = engine.status()
        assert status.task_restarts == {"reflector": 1, "log_stream": 1}
        await cluster.akubectl("delete", "pod", "sturdy", "-n", namespace, "--grace-period=1", "--wait=false")
        story = await run.story_of("Pod", "sturdy", timeout=60)
    doc = load_story(story_path(tmp_path, story))
    lines = [
        e["data"]["line"]
        for e in doc["events"]
        if e["event_type"] == "CONTAINER_LOG" and e["action"] == "log"
    ]
    assert lines == ["line 0", "line 1", "line 2"]
    actions = [e["action"] for e in doc["events"] if e["event_type"] == "RESOURCE_UPDATE"]
    assert actions[0] == "add" and actions[-1] == "delete"
    assert doc["metadata"]["completion"] == "deleted"
