"""Pod-level actions for tests: crash a container on demand, delete gracefully.

Crashes are performed by the KWOK stages in testbed/stages/container-crash.yaml; this
module only rotates the log (the dying instance's output becomes `previous`) and asks.
"""

from __future__ import annotations

from typing import Any

from tests.harness.cluster import LocalCluster, wait_for
from tests.harness.logs import PodLogs


def container_status(pod: dict[str, Any], container: str) -> dict[str, Any]:
    for st in pod.get("status", {}).get("containerStatuses", []):
        if st["name"] == container:
            return dict(st)
    raise AssertionError(f"no status for container {container!r}")


def wait_running(cluster: LocalCluster, namespace: str, pod: str, timeout: float = 30) -> dict[str, Any]:
    def running() -> dict[str, Any] | None:
        obj = cluster.get_or_none("pod", pod, namespace)
        if obj and obj.get("status", {}).get("phase") == "Running":
            sts = obj["status"].get("containerStatuses", [])
            if sts and all("running" in st.get("state", {}) for st in sts):
                return dict(obj)
        return None

    return wait_for(f"pod {namespace}/{pod} running", running, timeout)


def crash_container(
    cluster: LocalCluster,
    namespace: str,
    pod: str,
    container: str,
    exit_code: int = 1,
    logs: PodLogs | None = None,
    wait_restart: bool = True,
) -> dict[str, Any]:
    """Make `container` die with `exit_code` and come back; returns the pod after the restart."""
    before = container_status(wait_running(cluster, namespace, pod), container)["restartCount"]
    if logs is not None:
        logs.rotate(container)
    cluster.kubectl(
        "annotate",
        "pod",
        "-n",
        namespace,
        pod,
        "--overwrite",
        f"faro.dev/crash={container}",
        f"faro.dev/crash-exit-code={exit_code}",
    )

    def crashed() -> dict[str, Any] | None:
        obj = cluster.get_or_none("pod", pod, namespace)
        if obj is None:
            return None
        st = container_status(obj, container)
        if st["restartCount"] <= before:
            return None
        if wait_restart and "running" not in st.get("state", {}):
            return None
        return dict(obj)

    return wait_for(f"container {container} of {namespace}/{pod} to crash", crashed, 30)
