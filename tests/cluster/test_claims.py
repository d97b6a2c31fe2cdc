"""Claims of the README and docs/stories.md, each proven against the real cluster:
a quiet story closes as `timeout`, ephemeral containers' logs, a cluster-scoped primary whose
story spans two namespaces, and every count of a repeated Event."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from pathlib import Path
from typing import Any

from faro import ResourceRule, Story
from faro.sinks.files import story_path
from tests.harness.cluster import LocalCluster
from tests.harness.faro_run import FaroRun, load_story
from tests.harness.logs import PodLogs
from tests.harness.manifests import IMAGE, bare_pod, cluster_scoped_crd, deployment
from tests.harness.pods import wait_running


def _iso(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _events_of(story: Story, event_type: str) -> list[Any]:
    return [e for e in story.buffer.all() if e.event_type.value == event_type]


# 1. completion: timeout ------------------------------------------------------------------


async def test_a_story_without_activity_closes_as_timeout(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    timeout = 3.0
    stuck = deployment("quiet", replicas=1)
    stuck["spec"]["template"]["metadata"]["annotations"] = {"faro.dev/create-delay": "1h"}  # never starts
    rules = [ResourceRule(gvr="apps/v1/Deployment", namespace_names=[namespace])]
    async with FaroRun(cluster, tmp_path, rules, correlation_timeout=timeout) as run:
        await cluster.aapply(stuck, namespace)
        story = await run.story_of("Deployment", "quiet", timeout=30)
    assert story.completion == "timeout", run.describe()
    assert story.end_time is not None
    quiet = story.end_time - story.last_activity
    assert quiet >= timeout, f"closed {quiet:.2f}s after its last activity, before the {timeout}s timeout"
    assert quiet < timeout + 3, f"closed {quiet:.2f}s after its last activity (timeout {timeout}s)"
    # it really was a story with activity: the Deployment, its ReplicaSet and the pending pod
    assert {e.resource for e in story.buffer.all()} >= {"Deployment", "ReplicaSet", "Pod"}
    doc = load_story(story_path(tmp_path, story))
    assert doc["metadata"]["completion"] == "timeout"
    assert "completion_reason" not in doc["metadata"]


# 2. ephemeral containers' logs -----------------------------------------------------------


async def test_an_ephemeral_containers_log_is_in_the_pods_story(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    pod = "target"
    logs = PodLogs(cluster, namespace, pod)
    await asyncio.to_thread(logs.install, ["app", "debugger"])
    rules = [ResourceRule(gvr="v1/Pod", namespace_names=[namespace])]
    async with FaroRun(cluster, tmp_path, rules) as run:
        manifest = bare_pod(pod)
        manifest["spec"]["terminationGracePeriodSeconds"] = 1
        await cluster.aapply(manifest, namespace)
        await asyncio.to_thread(wait_running, cluster, namespace, pod)
        debugger = {"name": "debugger", "image": IMAGE, "targetContainerName": "app"}
        patch = ("patch", "pod", pod, "-n", namespace)
        spec = {"spec": {"ephemeralContainers": [debugger]}}
        await cluster.akubectl(
            *patch, "--subresource=ephemeralcontainers", "--type=strategic", "-p", json.dumps(spec)
        )
        # The testbed's KWOK stages have no stage for ephemeral containers: they never get an
        # ephemeralContainerStatuses entry. Do what a kubelet does when it starts one.
        running = {"running": {"startedAt": _iso(dt.datetime.now(dt.UTC))}}
        status = {"name": "debugger", "image": IMAGE, "imageID": "", "ready": False, "restartCount": 0}
        started = {"status": {"ephemeralContainerStatuses": [{**status, "state": running}]}}
        await cluster.akubectl(*patch, "--subresource=status", "--type=merge", "-p", json.dumps(started))
        await asyncio.to_thread(logs.wait_served, "debugger")
        logs.write("app", "app says hi")
        logs.write("debugger", "debugger line 1", "debugger line 2")

        def debugger_lines(s: Story) -> bool:
            got = [
                e.data["line"] for e in _events_of(s, "CONTAINER_LOG") if e.data["container"] == "debugger"
            ]
            return s.resource_name == pod and len(got) >= 2

        await run.recorded(debugger_lines, "with the debugger's two lines", timeout=20)
        logs.write("debugger", "debugger line 3")
        await cluster.akubectl("delete", "pod", pod, "-n", namespace, "--wait=false")
        story = await run.story_of("Pod", pod, timeout=30)
    doc = load_story(story_path(tmp_path, story))
    by_container: dict[str, list[str]] = {}
    for e in doc["events"]:
        if e["event_type"] == "CONTAINER_LOG" and e["action"] == "log":
            by_container.setdefault(e["data"]["container"], []).append(e["data"]["line"])
    assert by_container.get("debugger") == ["debugger line 1", "debugger line 2", "debugger line 3"], (
        by_container
    )
    assert by_container.get("app") == ["app says hi"], by_container


# 3. a cluster-scoped primary owning pods in two namespaces -------------------------------


async def test_a_cluster_scoped_owners_story_spans_two_namespaces(
    cluster: LocalCluster, namespace: str, second_namespace: str, tmp_path: Path
) -> None:
    group = f"{namespace}.fleet.faro.test"
    await cluster.aapply(cluster_scoped_crd(group))
    try:
        await cluster.akubectl("wait", "--for=condition=Established", f"crd/fleets.{group}", "--timeout=30s")
        owner_manifest = {"apiVersion": f"{group}/v1", "kind": "Fleet", "metadata": {"name": "armada"}}
        rules = [ResourceRule(gvr=f"{group}/v1/Fleet")]
        async with FaroRun(cluster, tmp_path, rules) as run:
            await cluster.aapply(owner_manifest)
            owner = await asyncio.to_thread(cluster.get, f"fleets.{group}", "armada")
            ref = {
                "apiVersion": f"{group}/v1",
                "kind": "Fleet",
                "name": "armada",
                "uid": owner["metadata"]["uid"],
            }
            pods = {namespace: "ship-a", second_namespace: "ship-b"}
            for ns, name in pods.items():
                pod = bare_pod(name)
                pod["metadata"]["ownerReferences"] = [ref]
                pod["spec"]["terminationGracePeriodSeconds"] = 1
                await cluster.aapply(pod, ns)
            for ns, name in pods.items():
                await asyncio.to_thread(wait_running, cluster, ns, name)

            def has_both_pods(s: Story) -> bool:
                seen = {(e.namespace, e.source_component) for e in _events_of(s, "CORRELATED_EVENT")}
                return s.resource_name == "armada" and set(pods.items()) <= seen

            await run.recorded(has_both_pods, "with both pods", timeout=20)
            await cluster.akubectl("delete", f"fleets.{group}", "armada", "--wait=false")
            story = await run.story_of("Fleet", "armada", timeout=40)
    finally:
        await cluster.akubectl("delete", "crd", f"fleets.{group}", "--wait=false", check=False)
    path = story_path(tmp_path, story)
    assert path.parent.name == "_cluster", path
    doc = load_story(path)
    meta = doc["metadata"]
    assert meta["resource_type"] == f"{group}/v1/Fleet" and meta["namespace"] == ""
    assert meta["namespaces"] == sorted(pods), meta
    assert meta["completion"] == "deleted", meta
    correlated = {
        (e["namespace"], e["data"]["metadata"]["name"])
        for e in doc["events"]
        if e["event_type"] == "CORRELATED_EVENT"
    }
    assert correlated == set(pods.items()), correlated
    pod_events = {
        (e["namespace"], e["data"]["involvedObject"]["name"])
        for e in doc["events"]
        if e["event_type"] == "K8S_EVENT"
    }
    assert pod_events >= set(pods.items()), pod_events  # each pod's Events are in it too


# 6. every count of a repeated Event ------------------------------------------------------


async def test_every_count_of_a_repeated_event_is_recorded(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    pod = "probed"
    # a served (empty) log: without one, the final log read at stop retries for seconds
    await asyncio.to_thread(PodLogs(cluster, namespace, pod).install, ["app"])
    rules = [ResourceRule(gvr="v1/Pod", namespace_names=[namespace])]
    async with FaroRun(cluster, tmp_path, rules) as run:
        await cluster.aapply(bare_pod(pod), namespace)
        obj = await asyncio.to_thread(wait_running, cluster, namespace, pod)
        first = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=30)
        name = f"{pod}.probe-{uuid.uuid4().hex[:6]}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": {
                "apiVersion": "v1",
                "kind": "Pod",
                "name": pod,
                "namespace": namespace,
                "uid": obj["metadata"]["uid"],
                "fieldPath": "spec.containers{app}",
            },
            "reason": "Probe",
            "message": "Readiness probe failed: connection refused",
            "type": "Warning",
            "source": {"component": "kubelet", "host": obj["spec"].get("nodeName", "")},
            "count": 1,
            "firstTimestamp": _iso(first),
            "lastTimestamp": _iso(first),
        }
        await cluster.akubectl("create", "-f", "-", input=json.dumps(event))
        for count in (2, 3, 4):
            later = {"count": count, "lastTimestamp": _iso(first + dt.timedelta(seconds=5 * count))}
            await cluster.akubectl(
                "patch", "event", name, "-n", namespace, "--type=merge", "-p", json.dumps(later)
            )
        got = await asyncio.to_thread(cluster.get, "event", name, namespace)
        assert got["count"] == 4  # the cluster holds the last one
        uid = got["metadata"]["uid"]

        def counts(s: Story) -> list[int]:
            return [
                e.data.get("count")
                for e in _events_of(s, "K8S_EVENT")
                if (e.data.get("metadata") or {}).get("uid") == uid
            ]

        await run.recorded(lambda s: s.resource_name == pod and 4 in counts(s), "with count 4", timeout=20)
    story = next(s for s in run.closed if s.resource_name == pod)
    doc = load_story(story_path(tmp_path, story))
    recorded = [
        (e["action"], e["data"]["count"], e["data"]["lastTimestamp"])
        for e in doc["events"]
        if e["event_type"] == "K8S_EVENT" and e["data"]["metadata"]["uid"] == uid
    ]
    assert [c for _, c, _ in recorded] == [1, 2, 3, 4], recorded
    assert [a for a, _, _ in recorded] == ["add", "update", "update", "update"], recorded
    stamps = [_iso(first)] + [_iso(first + dt.timedelta(seconds=5 * c)) for c in (2, 3, 4)]
    assert [t for _, _, t in recorded] == stamps, recorded
