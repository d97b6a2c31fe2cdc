"""Capture engine against the real cluster: each test asserts the story's content."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

from faro import ResourceRule
from faro.model.events import EventType
from faro.sinks.files import story_path
from tests.harness.cluster import LocalCluster
from tests.harness.faro_run import FaroRun, kinds, load_story, reasons
from tests.harness.manifests import bare_pod, crd, deployment, job


def rule(gvr: str, namespace: str, **kw: Any) -> ResourceRule:
    return ResourceRule(gvr=gvr, namespace_names=[namespace], **kw)


def doc_of(run: FaroRun, story: Any) -> dict[str, Any]:
    return load_story(story_path(run.config.output_dir, story))


async def test_deployment_rollout_story(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    async with FaroRun(cluster, tmp_path, [rule("apps/v1/Deployment", namespace)]) as run:
        await cluster.aapply(deployment("web", replicas=2), namespace)
        story = await run.story_of("Deployment", "web")
    doc = doc_of(run, story)
    meta = doc["metadata"]
    assert meta["schema"] == "faro.story/v1"
    assert meta["completion"] == "terminal"
    assert meta["resource_type"] == "apps/v1/Deployment"
    assert meta["namespace"] == namespace
    assert kinds(doc, "RESOURCE_UPDATE") == {"Deployment"}
    assert kinds(doc, "CORRELATED_EVENT") >= {"ReplicaSet", "Pod"}
    pods = {
        e["data"]["metadata"]["name"]
        for e in doc["events"]
        if e["resource"] == "Pod" and e["event_type"] == "CORRELATED_EVENT"
    }
    assert len(pods) == 2
    # scheduler, controllers and KWOK (the fake kubelet) all speak in the story
    assert reasons(doc) >= {"ScalingReplicaSet", "SuccessfulCreate", "Scheduled", "Started"}
    sources = {e["source_component"] for e in doc["events"] if e["event_type"] == "K8S_EVENT"}
    assert {"deployment-controller", "replicaset-controller", "default-scheduler"} <= sources
    # schema details: ms UTC timestamps, chronological order, no managedFields, changes on updates
    stamps = [e["timestamp"] for e in doc["events"]]
    assert stamps == sorted(stamps)
    assert all(len(t) == 24 and t.endswith("Z") and t[19] == "." for t in stamps)
    assert all("managedFields" not in e["data"].get("metadata", {}) for e in doc["events"])
    updates = [e for e in doc["events"] if e["event_type"] == "RESOURCE_UPDATE" and e["action"] == "update"]
    assert updates and all(e["changes"] for e in updates)
    assert any(
        c["path"] == "status.availableReplicas" and c["new"] == 2 for e in updates for c in e["changes"]
    )
    # atomic, private file
    path = story_path(tmp_path, story)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


async def test_scale_up_and_second_rollout_are_new_episodes(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    async with FaroRun(cluster, tmp_path, [rule("deployments", namespace)]) as run:
        await cluster.aapply(deployment("app", replicas=1), namespace)
        first = await run.story_of("Deployment", "app")
        await cluster.akubectl("scale", "-n", namespace, "deployment/app", "--replicas=3")
        second = await run.story_of("Deployment", "app", episode=2)
        await cluster.aapply(deployment("app", replicas=3, image="example.com/app:2"), namespace)
        third = await run.story_of("Deployment", "app", episode=3)
    assert first.correlation_id == second.correlation_id == third.correlation_id
    assert story_path(tmp_path, second).name.endswith("-2.json")
    d2, d3 = doc_of(run, second), doc_of(run, third)
    assert d2["metadata"]["completion"] == d3["metadata"]["completion"] == "terminal"
    # the primary's own change opens the episode and carries its full state
    assert any(
        e["event_type"] == "RESOURCE_UPDATE" and e["data"]["spec"]["replicas"] == 3 for e in d2["events"]
    )
    assert any(
        c["path"] == "spec.replicas" and c["old"] == 1 and c["new"] == 3
        for e in d2["events"]
        for c in e.get("changes") or []
    )
    new_rs = [e for e in d3["events"] if e["resource"] == "ReplicaSet" and e["action"] == "add"]
    assert new_rs, "the second rollout's new ReplicaSet is in episode 3"
    images = {
        c["new"]
        for e in d3["events"]
        for c in e.get("changes") or []
        if c["path"].endswith("containers[0].image")
    }
    assert "example.com/app:2" in images


async def test_job_success_and_failure(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    async with FaroRun(cluster, tmp_path, [rule("batch/v1/Job", namespace)]) as run:
        await cluster.aapply([job("ok", 0), job("bad", 3)], namespace)
        ok = await run.story_of("Job", "ok")
        bad = await run.story_of("Job", "bad")
    for story, cond, phase in ((ok, "Complete", "Succeeded"), (bad, "Failed", "Failed")):
        doc = doc_of(run, story)
        assert doc["metadata"]["completion"] == "terminal"
        last_job = [
            e for e in doc["events"] if e["resource"] == "Job" and e["event_type"] == "RESOURCE_UPDATE"
        ][-1]
        conds = {c["type"]: c["status"] for c in last_job["data"]["status"]["conditions"]}
        assert conds.get(cond) == "True"
        pod_phases = {
            e["data"]["status"].get("phase")
            for e in doc["events"]
            if e["resource"] == "Pod" and e["event_type"] == "CORRELATED_EVENT"
        }
        assert phase in pod_phases
    assert "SuccessfulCreate" in reasons(doc_of(run, ok))


async def test_bare_pod_story(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    async with FaroRun(cluster, tmp_path, [rule("v1/Pod", namespace)]) as run:
        await cluster.aapply(bare_pod("solo"), namespace)
        await asyncio.sleep(3)
        await cluster.akubectl("delete", "pod", "-n", namespace, "solo", "--grace-period=1", "--wait=false")
        story = await run.story_of("Pod", "solo")
    doc = doc_of(run, story)
    assert doc["metadata"]["completion"] == "deleted"
    actions = [e["action"] for e in doc["events"] if e["event_type"] == "RESOURCE_UPDATE"]
    assert actions[0] == "add" and actions[-1] == "delete"
    assert {"Scheduled", "Started", "Killing"} <= reasons(doc)
    phases = [
        e["data"].get("status", {}).get("phase")
        for e in doc["events"]
        if e["event_type"] == "RESOURCE_UPDATE"
    ]
    assert "Running" in phases


async def test_custom_resource_primary_with_conditions(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    group = f"{namespace}.faro.test"
    await cluster.aapply(crd(group))
    try:
        await cluster.akubectl("wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=30s")
        await asyncio.sleep(1)
        async with FaroRun(cluster, tmp_path, [rule(f"{group}/v1/Widget", namespace)]) as run:
            await cluster.aapply(
                {
                    "apiVersion": f"{group}/v1",
                    "kind": "Widget",
                    "metadata": {"name": "w1"},
                    "spec": {"size": 1},
                },
                namespace,
            )
            await asyncio.sleep(1)
            assert not run.closed  # no conditions yet: the story stays open
            status = '{"status":{"conditions":[{"type":"Ready","status":"True","reason":"Built"}]}}'
            await cluster.akubectl(
                "patch",
                f"widgets.{group}",
                "w1",
                "-n",
                namespace,
                "--subresource=status",
                "--type=merge",
                "-p",
                status,
            )
            story = await run.story_of("Widget", "w1")
        doc = doc_of(run, story)
        assert doc["metadata"]["completion"] == "terminal"
        assert doc["metadata"]["resource_type"] == f"{group}/v1/Widget"
        assert any(c["path"].startswith("status") for e in doc["events"] for c in e.get("changes") or [])
    finally:
        await cluster.akubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


async def test_custom_resource_whose_status_is_a_plain_string(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    """A CRD without a status subresource or schema lets an object keep anything in `status`.
    Such a primary used to fail in the router at every change (after its own event was
    recorded, before it bound its children), so the pods it owns never reached its story."""
    group = f"{namespace}.faro.test"
    await cluster.aapply(crd(group, kind="Relic", plural="relics", status_subresource=False))
    try:
        await cluster.akubectl("wait", "--for=condition=Established", f"crd/relics.{group}", "--timeout=30s")
        await asyncio.sleep(1)
        async with FaroRun(cluster, tmp_path, [rule(f"{group}/v1/Relic", namespace)]) as run:
            relic = {
                "apiVersion": f"{group}/v1",
                "kind": "Relic",
                "metadata": {"name": "r1"},
                "status": "Running",
            }
            await cluster.aapply(relic, namespace)
            uid = cluster.get(f"relics.{group}", "r1", namespace)["metadata"]["uid"]
            pod = bare_pod("relic-worker")
            pod["metadata"]["ownerReferences"] = [
                {"apiVersion": f"{group}/v1", "kind": "Relic", "name": "r1", "uid": uid}
            ]
            await cluster.aapply(pod, namespace)
            await run.recorded(
                lambda s: (
                    s.resource_name == "r1"
                    and any(e.event_type is EventType.CORRELATED_EVENT for e in s.buffer.all())
                ),
                "r1 holding its pod",
            )
            done = '{"status": {"phase": "Succeeded"}}'
            await cluster.akubectl(
                "patch", f"relics.{group}", "r1", "-n", namespace, "--type=merge", "-p", done
            )
            story = await run.story_of("Relic", "r1")
            assert run.faro.engine is not None and run.faro.engine.pipeline.errors == 0
        doc = doc_of(run, story)
        assert doc["metadata"]["completion"] == "terminal"
        statuses = [e["data"].get("status") for e in doc["events"] if e["event_type"] == "RESOURCE_UPDATE"]
        assert statuses[0] == "Running" and statuses[-1] == {"phase": "Succeeded"}
        assert "Pod" in kinds(doc, "CORRELATED_EVENT")
    finally:
        await cluster.akubectl("delete", "crd", f"relics.{group}", "--wait=false", check=False)


async def test_deletion_with_cascade(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    async with FaroRun(cluster, tmp_path, [rule("apps/v1/Deployment", namespace)]) as run:
        await cluster.aapply(deployment("doomed", replicas=2), namespace)
        await run.story_of("Deployment", "doomed")
        await cluster.akubectl(
            "delete", "deployment", "-n", namespace, "doomed", "--cascade=foreground", "--wait=false"
        )
        story = await run.story_of("Deployment", "doomed", episode=2, timeout=60)
    doc = doc_of(run, story)
    assert doc["metadata"]["completion"] == "deleted"
    deleted = {e["resource"] for e in doc["events"] if e["action"] == "delete"}
    assert {"Deployment", "ReplicaSet", "Pod"} <= deleted
    assert "Killing" in reasons(doc)
