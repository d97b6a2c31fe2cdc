"""A pod that replaces another names it in its POD_STARTING: a ReplicaSet's replacement of a
deleted pod, and a StatefulSet's `db-0` recreated under the same name, on the real cluster."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from faro import ResourceRule
from tests.harness.cluster import LocalCluster, async_wait_for, wait_for
from tests.harness.faro_run import FaroRun
from tests.harness.manifests import IMAGE, deployment


def statefulset(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "db", "image": IMAGE}]},
            },
        },
    }


def starts(run: FaroRun) -> list[dict[str, Any]]:
    return [e.data for e in run.events if e.event_type.value == "POD_STARTING"]


async def _running_pods(cluster: LocalCluster, namespace: str, app: str, n: int) -> list[dict[str, Any]]:
    def probe() -> list[dict[str, Any]] | None:
        items = cluster.get("pods", namespace=namespace)["items"]
        ours = [
            p
            for p in items
            if p["metadata"].get("labels", {}).get("app") == app
            and not p["metadata"].get("deletionTimestamp")
            and p["status"].get("phase") == "Running"
        ]
        return ours if len(ours) == n else None

    return await asyncio.to_thread(wait_for, f"{n} {app} pods running", probe, 60)


async def test_replacement_pods_name_the_pod_they_replace(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    rules = [
        ResourceRule(gvr="apps/v1/Deployment", namespace_names=[namespace]),
        ResourceRule(gvr="apps/v1/StatefulSet", namespace_names=[namespace]),
    ]
    async with FaroRun(cluster, tmp_path, rules) as run:
        await cluster.aapply([deployment("web", replicas=1), statefulset("db")], namespace)
        (web,) = await _running_pods(cluster, namespace, "web", 1)
        (db,) = await _running_pods(cluster, namespace, "db", 1)
        old_web, old_db = web["metadata"], db["metadata"]
        await cluster.akubectl(
            "delete", "pod", old_web["name"], old_db["name"], "-n", namespace, "--wait=false"
        )

        def replaced(name_prefix: str) -> dict[str, Any] | None:
            return next(
                (s for s in starts(run) if s["pod"].startswith(name_prefix) and "replaces" in s), None
            )

        web_start = await async_wait_for("the web replacement's POD_STARTING", lambda: replaced("web-"), 60)
        db_start = await async_wait_for("db-0 recreated", lambda: replaced("db-0"), 60)
    assert web_start["pod"] != old_web["name"]
    assert web_start["replaces"] == {"pod": old_web["name"], "uid": old_web["uid"], "why": "terminating"}
    assert db_start["pod"] == "db-0"
    assert db_start["replaces"]["pod"] == "db-0" and db_start["replaces"]["uid"] == old_db["uid"]
    # the first pods of each replaced nothing
    firsts = [s for s in starts(run) if s["pod"] in (old_web["name"], "db-0") and "replaces" not in s]
    assert len(firsts) == 2
