"""The library's event handlers and JSON export (spec 002) against the real cluster."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from pathlib import Path

import orjson

from faro import MatchedEvent, ResourceRule
from tests.harness.cluster import LocalCluster
from tests.harness.faro_run import FaroRun
from tests.harness.manifests import deployment


class Recorder:
    """A plain (threaded) handler: what it got, in order."""

    def __init__(self) -> None:
        self.events: list[MatchedEvent] = []
        self._lock = threading.Lock()

    def on_matched(self, event: MatchedEvent) -> None:
        with self._lock:
            self.events.append(event)


class Flaky:
    """An async handler that raises on its first two attempts at the ADDED change."""

    def __init__(self) -> None:
        self.failures = 0
        self.events: list[MatchedEvent] = []

    async def on_matched(self, event: MatchedEvent) -> None:
        if event.event_type == "ADDED" and self.failures < 2:
            self.failures += 1
            raise RuntimeError("not yet")
        self.events.append(event)


async def until(what: str, probe: Callable[[], bool], timeout: float = 30) -> None:
    try:
        async with asyncio.timeout(timeout):
            while not probe():
                await asyncio.sleep(0.1)
    except TimeoutError:
        raise AssertionError(f"{what} within {timeout:.0f} s") from None


async def test_handlers_and_the_export_get_every_change_of_a_deployment_in_order(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    rule = ResourceRule(gvr="apps/v1/Deployment", namespace_names=[namespace])
    run = FaroRun(cluster, tmp_path, [rule], json_export=True)
    recorder, flaky = Recorder(), Flaky()
    run.faro.add_event_handler(recorder)
    run.faro.add_event_handler(flaky)
    key = f"{namespace}/web"
    async with run:
        await cluster.aapply(deployment("web", replicas=1), namespace)
        await until(
            "the Deployment's rollout reached the handler",
            lambda: any(
                e.event_type == "UPDATED" and (e.object.get("status") or {}).get("availableReplicas") == 1
                for e in recorder.events
            ),
        )
        await cluster.akubectl("delete", "deployment", "-n", namespace, "web", "--wait=false")
        await until(
            "the deletion reached the handler",
            lambda: any(e.event_type == "DELETED" for e in recorder.events),
        )
        await until(
            "the flaky handler got the deletion", lambda: any(e.event_type == "DELETED" for e in flaky.events)
        )
    status = run.faro.status()  # after the run: the handlers' queues have drained
    export_path = run.faro.export_path
    assert status is not None and export_path is not None

    mine = [e for e in recorder.events if e.key == key]
    assert mine == recorder.events  # only the matched object
    types = [e.event_type for e in mine]
    assert types[0] == "ADDED" and types[-1] == "DELETED" and len(types) >= 3
    assert set(types[1:-1]) == {"UPDATED"}
    assert all(e.gvr == "apps/v1/deployments" and e.rule == rule for e in mine)
    assert [e.timestamp for e in mine] == sorted(e.timestamp for e in mine)
    assert all("managedFields" not in e.object["metadata"] for e in mine)
    rvs = [e.object["metadata"]["resourceVersion"] for e in mine]
    assert len(set(rvs)) == len(rvs)  # each change once
    uid = mine[0].object["metadata"]["uid"]

    # the export: the same changes, one JSONEvent line each, in a private file in output_dir
    assert export_path.parent == tmp_path and export_path.name.startswith("events-")
    assert export_path.stat().st_mode & 0o777 == 0o600
    lines = [orjson.loads(line) for line in export_path.read_bytes().splitlines()]
    assert [(d["eventType"], d["gvr"], d["namespace"], d["name"], d["uid"]) for d in lines] == [
        (t, "apps/v1/deployments", namespace, "web", uid) for t in types
    ]

    # the handler that raised twice got the ADDED change after its retries, then the rest in order
    assert flaky.failures == 2
    assert [e.event_type for e in flaky.events] == types
    by_name = {h.name: h for h in status.handlers}
    assert by_name["Flaky"].retries == 2 and by_name["Flaky"].delivered == len(types)
    assert by_name["Flaky"].dropped == {"retries_exhausted": 0, "queue_full": 0}
    assert by_name["Recorder"].retries == 0 and by_name["Recorder"].delivered == len(types)
