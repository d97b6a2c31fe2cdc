"""A Faro killed with SIGKILL mid-capture and started again on the same output: the story it
resumes from its journal has every line the pod wrote, once (the README's promise)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from tests.harness.cluster import LocalCluster, wait_for
from tests.harness.faro_run import load_story
from tests.harness.logs import PodLogs
from tests.harness.manifests import bare_pod
from tests.harness.pods import wait_running


def start_faro(cluster: LocalCluster, namespace: str, out: Path, log: BinaryIO) -> subprocess.Popen[bytes]:
    args = ["--resource", "v1/Pod", "-n", namespace, "-o", str(out), "--metrics-port", "0"]
    return subprocess.Popen(
        [sys.executable, "-m", "faro", *args, "--log-format", "json", "--log-level", "debug"],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env={**cluster.env, "KUBECONFIG": str(cluster.kubeconfig)},
    )


class Writer(threading.Thread):
    """Appends `line <n>` to the pod's log at about 50 lines a second until stopped."""

    def __init__(self, logs: PodLogs) -> None:
        super().__init__(daemon=True)
        self.logs, self.written, self.halt = logs, [], threading.Event()

    def run(self) -> None:
        while not self.halt.is_set():
            line = f"line {len(self.written)}"
            self.logs.write("app", line)
            self.written.append(line)
            time.sleep(0.02)


@pytest.mark.timeout(240)
def test_sigkill_and_restart_records_every_log_line_once(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    faro_log = (tmp_path / "faro.log").open("ab")  # both runs' logs, for a failure to show
    logs = PodLogs(cluster, namespace, "chatty")
    logs.install(["app"])
    first = start_faro(cluster, namespace, out, faro_log)
    writer = Writer(logs)
    try:
        cluster.apply([bare_pod("chatty")], namespace)
        wait_running(cluster, namespace, "chatty")
        writer.start()
        journal = out / ".journal"

        def journalled_lines() -> int | None:
            # The events file of the pod's open story (header + events, JSON lines).
            files = [p for p in journal.glob("*") if p.is_file()] if journal.exists() else []
            n = sum(p.read_bytes().count(b'"CONTAINER_LOG"') for p in files)
            return n if n >= 300 else None

        wait_for("the first Faro to journal 300 log lines", journalled_lines, 60, interval=0.5)
        time.sleep(3)  # lines read after the last journal pass: the next run must read them again
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        assert first.returncode == -signal.SIGKILL
        time.sleep(2)  # the pod goes on logging while no Faro watches
        second = start_faro(cluster, namespace, out, faro_log)
        try:
            time.sleep(8)
            writer.halt.set()
            writer.join()
            time.sleep(2)  # the last lines reach the stream
            cluster.kubectl("delete", "pod", "chatty", "-n", namespace, "--grace-period=1", "--wait=false")
            story_file = out / namespace

            def closed() -> Path | None:
                for p in story_file.glob("pod-chatty-*.json"):
                    if load_story(p)["metadata"]["completion"] == "deleted":
                        return p
                return None

            path = wait_for("the resumed story to close as deleted", closed, 90, interval=0.5)
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(30)
    finally:
        writer.halt.set()
        if first.poll() is None:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        faro_log.close()
    doc = load_story(path)
    lines = [
        e["data"]["line"]
        for e in doc["events"]
        if e["event_type"] == "CONTAINER_LOG" and e["action"] == "log"
    ]
    assert len(writer.written) >= 500
    duplicated = len(lines) - len(set(lines))
    missing = sorted(set(writer.written) - set(lines), key=lambda ln: int(ln.split()[1]))
    assert (duplicated, missing[:5]) == (0, []), f"{duplicated} duplicated, {len(missing)} missing"
    assert lines == writer.written  # in order, as written
    assert [g["reason"] for g in doc["metadata"]["gaps"]] == ["restart"]
