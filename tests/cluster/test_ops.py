"""Operating Faro against the real cluster: endpoints, signals, the kubectl plugin."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from faro import ResourceRule
from tests.harness.cluster import LocalCluster
from tests.harness.faro_run import FaroRun
from tests.harness.manifests import bare_pod, deployment
from tests.harness.pods import wait_running


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


async def test_metrics_health_ready_during_a_capture(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    port = free_port()
    rules = [ResourceRule(gvr="apps/v1/Deployment", namespace_names=[namespace])]
    async with FaroRun(cluster, tmp_path, rules, metrics_port=port) as run:
        await cluster.aapply(deployment("web", replicas=1), namespace)
        await run.story_of("Deployment", "web")
        code, body = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/health")
        assert code == 200
        doc = json.loads(body)
        assert doc["status"] == "healthy" and doc["active_correlations"] == 0
        assert set(doc) == {
            "status",
            "timestamp",
            "uptime",
            "uptime_seconds",
            "active_correlations",
            "active_workers",
            "memory_bytes",
            "events_processed",
            "events_per_minute",
        }
        # the specification's runtime statistics: "1h30m"-style uptime, memory, events/minute
        assert re.fullmatch(r"\d+s|\d+m(\d+s)?", doc["uptime"]) and doc["uptime_seconds"] > 0
        assert 20 * 2**20 < doc["memory_bytes"] < 2 * 2**30
        assert doc["events_processed"] >= 3 and doc["events_per_minute"] > 0
        code, body = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/ready")
        assert code == 200 and json.loads(body)["ready"] is True
        code, text = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/metrics")
        missing, _ = await asyncio.to_thread(get, f"http://127.0.0.1:{port}/nothing")
    assert missing == 404
    assert code == 200
    assert 'faro_stories_closed_total{completion="terminal"} 1.0' in text
    assert f'faro_watch_synced{{namespace="{namespace}",resource="apps/v1/Deployment"}} 1.0' in text
    processed = [
        ln
        for ln in text.splitlines()
        if ln.startswith('faro_events_processed_total{resource="apps/v1/Deployment"}')
    ]
    assert processed and float(processed[0].split()[-1]) >= 3
    count = [ln for ln in text.splitlines() if ln.startswith("faro_capture_lag_seconds_count")]
    assert count and float(count[0].split()[-1]) > 0


def start_faro(cluster: LocalCluster, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "faro", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**cluster.env, "KUBECONFIG": str(cluster.kubeconfig)},
    )


def test_sigterm_flushes_open_stories(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    stuck = deployment("stuck", replicas=1)
    stuck["spec"]["template"]["metadata"]["annotations"] = {"faro.dev/create-delay": "1h"}
    cluster.apply(stuck, namespace)
    out = tmp_path / "out"
    proc = start_faro(
        cluster,
        "-r",
        "deploy",
        "-n",
        namespace,
        "-o",
        str(out),
        "--metrics-port",
        "0",
        "--log-format",
        "json",
    )
    time.sleep(4)  # started and synced (a story is open: the rollout never completes)
    assert proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    files = list((out / namespace).glob("deployment-stuck-*.json"))
    assert len(files) == 1
    assert json.loads(files[0].read_text())["metadata"]["completion"] == "shutdown"
    assert "stopping, flushing open stories" in err
    # --log-format json: one JSON object per line; lines about a story carry its correlation_id
    records = [json.loads(ln) for ln in err.splitlines() if ln.startswith("{")]
    closed = [r for r in records if r["msg"].startswith("story closed")]
    assert closed and all(len(r["correlation_id"]) == 36 for r in closed)


def test_second_signal_exits_at_once(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    # A running pod whose logs KWOK does not serve: the flush's final log reads retry for
    # seconds, long enough for a second signal to cut the flush short.
    cluster.apply(bare_pod("mute"), namespace)
    wait_running(cluster, namespace, "mute")
    proc = start_faro(cluster, "-r", "pods", "-n", namespace, "-o", str(tmp_path), "--metrics-port", "0")
    time.sleep(4)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.5)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 130, err
    assert time.monotonic() - t0 < 2
    assert "second signal" in err


def test_kubectl_plugin(cluster: LocalCluster) -> None:
    venv_bin = Path(sys.executable).parent
    assert (venv_bin / "kubectl-faro").exists()
    env = {**cluster.env, "PATH": f"{venv_bin}:{cluster.env['PATH']}"}
    proc = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "plugin", "list"], capture_output=True, text=True, env=env
    )
    assert "kubectl-faro" in proc.stdout
    proc = subprocess.run(
        [str(cluster.bin_dir / "kubectl"), "faro", "--version"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0 and proc.stdout.startswith("faro, version"), proc.stderr
    assert os.access(venv_bin / "kubectl-faro", os.X_OK)
