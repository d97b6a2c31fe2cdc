"""Claims about the `faro` command, proven against the real cluster: `--namespace all`
with `--name`, and a capture driven by a YAML config of each shape."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

from tests.harness.cluster import LocalCluster
from tests.harness.logs import PodLogs
from tests.harness.manifests import bare_pod

DURATION = "15s"


def start_faro(cluster: LocalCluster, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "faro", *args, "--duration", DURATION, "--metrics-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cluster.env,
    )


def finish(proc: subprocess.Popen[str]) -> str:
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"faro did not end after --duration {DURATION}: {err[-2000:]}") from None
    assert proc.returncode == 0, err[-2000:]
    return err


def create_pod(
    cluster: LocalCluster, namespace: str, name: str, labels: dict[str, str] | None = None
) -> None:
    PodLogs(cluster, namespace, name).install(["app"])  # a served log: stop does not wait on it
    pod: dict[str, Any] = bare_pod(name)
    pod["metadata"]["labels"] = labels or {}
    cluster.apply(pod, namespace)


def pod_stories(out: Path) -> dict[tuple[str, str], dict[str, Any]]:
    """(namespace, pod name) -> story metadata, for every story file under out."""
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for f in out.rglob("*.json"):
        if ".journal" in f.parts:
            continue
        meta = json.loads(f.read_text())["metadata"]
        assert f.parent.name == meta["namespace"], f  # under OUT/<namespace>/
        found[(meta["namespace"], meta["resource_name"])] = meta
    return found


# 4. --namespace all with --name ----------------------------------------------------------


def test_namespace_all_captures_pods_of_every_namespace_matching_name(
    cluster: LocalCluster, namespace: str, second_namespace: str, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    keep, other = f"keep-{tag}", f"skip-{tag}"
    out = tmp_path / "out"
    proc = start_faro(cluster, "-r", "v1/Pod", "-n", "all", "--name", f"{keep}(-.*)?", "-o", str(out))
    try:
        create_pod(cluster, namespace, keep)
        create_pod(cluster, namespace, f"{keep}-2")
        create_pod(cluster, namespace, other)
        create_pod(cluster, second_namespace, keep)
        create_pod(cluster, second_namespace, f"x-{keep}")  # --name is a full match
    finally:
        finish(proc)
    found = pod_stories(out)
    assert set(found) == {
        (namespace, keep),
        (namespace, f"{keep}-2"),
        (second_namespace, keep),
    }, sorted(found)
    assert {m["completion"] for m in found.values()} == {"shutdown"}
    assert {m["resource_type"] for m in found.values()} == {"v1/Pod"}


# 5. a YAML config of each shape ----------------------------------------------------------


def test_a_config_of_each_shape_captures_exactly_its_matches(
    cluster: LocalCluster, namespace: str, second_namespace: str, tmp_path: Path
) -> None:
    resource_centric = {
        "resources": [{"gvr": "v1/pods", "namespace_names": [namespace], "name_selector": "keep-*"}]
    }
    # the specification's example, with this test's namespace
    namespace_centric = {
        "namespaces": [
            {"name_selector": namespace, "resources": {"v1/pods": {"label_selector": "app=nginx"}}}
        ]
    }
    procs = {}
    for shape, config in (("resource", resource_centric), ("namespace", namespace_centric)):
        cfg = tmp_path / f"{shape}.yaml"
        cfg.write_text(yaml.safe_dump(config))
        procs[shape] = start_faro(cluster, "--config", str(cfg), "-o", str(tmp_path / shape))
    try:
        create_pod(cluster, namespace, "keep-a", {"app": "web"})  # resource-centric: name
        create_pod(cluster, namespace, "drop-a", {"app": "web"})  # neither: another name
        create_pod(cluster, namespace, "nginx-1", {"app": "nginx"})  # namespace-centric: label
        create_pod(cluster, namespace, "other-1", {"app": "other"})  # neither: another label
        create_pod(cluster, second_namespace, "keep-b", {"app": "web"})  # the name, elsewhere
        create_pod(cluster, second_namespace, "nginx-2", {"app": "nginx"})  # the label, elsewhere
    finally:
        for proc in procs.values():
            finish(proc)
    assert set(pod_stories(tmp_path / "resource")) == {(namespace, "keep-a")}
    assert set(pod_stories(tmp_path / "namespace")) == {(namespace, "nginx-1")}
