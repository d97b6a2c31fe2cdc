"""`make run`, the README's first command, as a user runs it: it sets up, plays the demo on
the local cluster and writes the stories the README shows."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.harness.cluster import REPO, LocalCluster


def stories(out: Path) -> dict[tuple[str, str, int], dict[str, Any]]:
    found = {}
    for p in (out / "faro-demo").glob("*.json"):
        doc = json.loads(p.read_text())
        m = doc["metadata"]
        found[(m["resource_type"].rsplit("/", 1)[-1], m["resource_name"], m["episode"])] = doc
    return found


@pytest.mark.timeout(240)
def test_make_run_writes_the_demo_stories(cluster: LocalCluster, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "KUBECONFIG"}  # make run finds its own
    proc = subprocess.run(
        ["make", "run"],
        cwd=REPO,
        env={**env, "FARO_OUTPUT": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=220,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "stories written in" in proc.stdout
    found = stories(tmp_path)
    completion = {k: d["metadata"]["completion"] for k, d in found.items()}
    assert completion[("Deployment", "web", 1)] == "terminal"
    assert completion[("Deployment", "web", 2)] == "terminal"  # the second rollout
    assert completion[("Job", "migrate", 1)] == "terminal"
    assert completion[("Pod", "flaky", 1)] == "deleted"
    build = found[("Build", "release-42", 1)]["metadata"]
    assert build["completion"] == "terminal"
    # the demo's Build says phase Succeeded and Succeeded=True: the phase decides (lifecycle.py)
    assert build["completion_reason"]["outcome"] == "succeeded"
    assert build["completion_reason"]["phase"] == "Succeeded"
    flaky = found[("Pod", "flaky", 1)]["events"]
    restarts = {e["data"]["restart"] for e in flaky if e["event_type"] == "CONTAINER_LOG"}
    assert restarts == {0, 1, 2}, "the output of each of the three container instances"
    lines = [e["data"].get("line", "") for e in flaky if e["event_type"] == "CONTAINER_LOG"]
    crashes = [line for line in lines if line.startswith("fatal")]
    assert crashes == [f"fatal: db:5432 connection refused (attempt {n})" for n in (1, 2)]
