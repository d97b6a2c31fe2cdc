"""Smoke tests: the local control plane behaves like a real cluster in the ways Faro needs."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from faro.kube.client import KubeClient
from tests.harness.cluster import LocalCluster, wait_for
from tests.harness.logs import PodLogs
from tests.harness.manifests import bare_pod, deployment
from tests.harness.pods import container_status, crash_container, wait_running


def test_deployment_gets_replicaset_and_running_pods(cluster: LocalCluster, namespace: str) -> None:
    cluster.apply(deployment("web", replicas=2), namespace)

    rs = wait_for("a ReplicaSet", lambda: cluster.get("replicasets", namespace=namespace)["items"])
    assert rs[0]["metadata"]["ownerReferences"][0]["kind"] == "Deployment"
    assert rs[0]["metadata"]["ownerReferences"][0]["name"] == "web"

    def running_pods() -> list[Any]:
        pods = cluster.get("pods", namespace=namespace)["items"]
        ok = [p for p in pods if p["status"].get("phase") == "Running"]
        return ok if len(ok) == 2 else []

    pods = wait_for("2 running pods", running_pods)
    for p in pods:
        assert p["metadata"]["ownerReferences"][0]["uid"] == rs[0]["metadata"]["uid"]
        assert p["spec"]["nodeName"]
        assert container_status(p, "app")["state"]["running"]["startedAt"]
    cluster.kubectl("rollout", "status", "-n", namespace, "deployment/web", "--timeout=30s")


def test_events_from_scheduler_controllers_and_kwok(cluster: LocalCluster, namespace: str) -> None:
    cluster.apply(deployment("ev", replicas=1), namespace)

    def reasons() -> set[tuple[str, str]] | None:
        seen = {(e["reason"], e["involvedObject"]["kind"]) for e in cluster.events(namespace)}
        want = {
            ("ScalingReplicaSet", "Deployment"),
            ("SuccessfulCreate", "ReplicaSet"),
            ("Scheduled", "Pod"),
            ("Started", "Pod"),
        }
        return seen if want <= seen else None

    wait_for("scheduler, controller and KWOK events", reasons)


async def test_log_follow_stream_receives_appended_lines(cluster: LocalCluster, namespace: str) -> None:
    cluster.apply(bare_pod("logger"), namespace)
    await asyncio.to_thread(wait_running, cluster, namespace, "logger")
    logs = PodLogs(cluster, namespace, "logger")
    logs.install(["app"])
    logs.write("app", "before the stream")
    await asyncio.to_thread(logs.wait_served, "app")

    client = await KubeClient.connect(str(cluster.kubeconfig))
    got: list[bytes] = []
    try:
        stream = client.stream_lines(
            f"/api/v1/namespaces/{namespace}/pods/logger/log",
            {"container": "app", "follow": True, "timestamps": True},
        )

        async def read() -> None:
            async for line in stream:
                got.append(line)
                if line.endswith(b"after 3"):
                    return

        reader = asyncio.create_task(read())
        await asyncio.sleep(1.0)  # the stream is open and has delivered the existing line
        assert any(g.endswith(b"before the stream") for g in got)
        for i in range(1, 4):
            logs.write("app", f"after {i}")
            await asyncio.sleep(0.1)
        await asyncio.wait_for(reader, 20)
    finally:
        await client.close()
    texts = [g.split(b" ", 1)[1] for g in got]
    assert texts == [b"before the stream", b"after 1", b"after 2", b"after 3"]
    assert got[0].split(b" ", 1)[0].endswith(b"Z")  # timestamps=true prefixes RFC3339


def test_previous_logs_after_crash(cluster: LocalCluster, namespace: str) -> None:
    cluster.apply(bare_pod("crasher"), namespace)
    wait_running(cluster, namespace, "crasher")
    logs = PodLogs(cluster, namespace, "crasher")
    logs.install(["app"])
    logs.write("app", "instance 0 starting", "instance 0 fatal error")
    logs.wait_served("app")

    pod = crash_container(cluster, namespace, "crasher", "app", exit_code=3, logs=logs)
    st = container_status(pod, "app")
    assert st["restartCount"] == 1
    assert st["lastState"]["terminated"]["exitCode"] == 3
    logs.write("app", "instance 1 starting")

    previous = cluster.kubectl("logs", "-n", namespace, "crasher", "-c", "app", "--previous")
    current = cluster.kubectl("logs", "-n", namespace, "crasher", "-c", "app")
    assert previous.splitlines() == ["instance 0 starting", "instance 0 fatal error"]
    assert current.splitlines() == ["instance 1 starting"]

    reasons = {e["reason"] for e in cluster.events(namespace) if e["involvedObject"]["name"] == "crasher"}
    assert "BackOff" in reasons


def test_crash_shows_crashloopbackoff_then_restarts(cluster: LocalCluster, namespace: str) -> None:
    cluster.apply(bare_pod("looper"), namespace)
    wait_running(cluster, namespace, "looper")
    cluster.kubectl("annotate", "pod", "-n", namespace, "looper", "faro.dev/restart-delay=3s")
    pod = crash_container(cluster, namespace, "looper", "app", exit_code=137, wait_restart=False)
    st = container_status(pod, "app")
    assert st["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert st["lastState"]["terminated"]["exitCode"] == 137
    again = wait_running(cluster, namespace, "looper")
    assert container_status(again, "app")["restartCount"] == 1


def test_crd_and_custom_resources_can_be_listed_and_watched(cluster: LocalCluster, namespace: str) -> None:
    group = f"{namespace}.faro.test"
    cluster.apply(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"widgets.{group}"},
            "spec": {
                "group": group,
                "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                        "subresources": {"status": {}},
                    }
                ],
            },
        }
    )
    try:
        cluster.kubectl("wait", "--for=condition=Established", f"crd/widgets.{group}", "--timeout=30s")
        wait_for(
            "the Widget kind in discovery",
            lambda: cluster.run_kubectl("get", f"widgets.{group}", "-n", namespace).returncode == 0,
        )

        async def watch_one() -> dict[str, Any]:
            client = await KubeClient.connect(str(cluster.kubeconfig))
            try:
                path = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
                listing = await client.get_json(path)
                assert listing["items"] == []
                rv = listing["metadata"]["resourceVersion"]
                stream = client.stream_lines(path, {"watch": True, "resourceVersion": rv})
                creator = asyncio.create_task(
                    asyncio.to_thread(
                        cluster.apply,
                        {
                            "apiVersion": f"{group}/v1",
                            "kind": "Widget",
                            "metadata": {"name": "w1"},
                            "spec": {"size": 3},
                        },
                        namespace,
                    )
                )
                import orjson

                async for line in stream:
                    ev = orjson.loads(line)
                    await creator
                    return dict(ev)
                raise AssertionError("watch ended without an event")
            finally:
                await client.close()

        ev = asyncio.run(watch_one())
        assert ev["type"] == "ADDED"
        assert ev["object"]["metadata"]["name"] == "w1"
        assert ev["object"]["spec"] == {"size": 3}
        listed = cluster.get(f"widgets.{group}", namespace=namespace)["items"]
        assert [w["metadata"]["name"] for w in listed] == ["w1"]
    finally:
        cluster.kubectl("delete", "crd", f"widgets.{group}", "--wait=false", check=False)


def test_graceful_deletion_is_observable(cluster: LocalCluster, namespace: str) -> None:
    cluster.apply(bare_pod("goner"), namespace)
    wait_running(cluster, namespace, "goner")
    cluster.kubectl("delete", "pod", "-n", namespace, "goner", "--grace-period=3", "--wait=false")

    terminating = wait_for(
        "deletionTimestamp",
        lambda: (
            (cluster.get_or_none("pod", "goner", namespace) or {})
            .get("metadata", {})
            .get("deletionTimestamp")
        ),
    )
    assert terminating
    pod = cluster.get_or_none("pod", "goner", namespace)
    assert pod is not None and pod["metadata"]["deletionGracePeriodSeconds"] == 3
    wait_for(
        "the pod to be gone",
        lambda: cluster.get_or_none("pod", "goner", namespace) is None,
        timeout=20,
    )
    reasons = {e["reason"] for e in cluster.events(namespace) if e["involvedObject"]["name"] == "goner"}
    assert "Killing" in reasons


@pytest.mark.parametrize(("exit_code", "phase"), [(0, "Succeeded"), (2, "Failed")])
def test_job_pod_succeeds_or_fails_on_demand(
    cluster: LocalCluster, namespace: str, exit_code: int, phase: str
) -> None:
    cluster.apply(
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "job"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {
                        "annotations": {
                            "faro.dev/exit-code": str(exit_code),
                            "faro.dev/run-time": "500ms",
                        }
                    },
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "work", "image": "example.com/job:1"}],
                    },
                },
            },
        },
        namespace,
    )

    def finished() -> dict[str, Any] | None:
        job = cluster.get("job", "job", namespace)
        conds = {c["type"]: c["status"] for c in job.get("status", {}).get("conditions", [])}
        return job if conds.get("Complete") == "True" or conds.get("Failed") == "True" else None

    job = finished_job = wait_for("the Job to finish", finished, timeout=60)
    conds = {c["type"] for c in finished_job["status"]["conditions"] if c["status"] == "True"}
    assert ("Complete" in conds) == (exit_code == 0)
    pods = cluster.get("pods", namespace=namespace)["items"]
    assert pods and pods[0]["status"]["phase"] == phase
    assert container_status(pods[0], "work")["state"]["terminated"]["exitCode"] == exit_code
    assert job["metadata"]["name"] == "job"
