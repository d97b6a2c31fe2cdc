"""A handle on the running test cluster: kubectl, manifests and waiting for conditions.

kubectl (our own build, from the testbed cache) is the driver for writes, because tests
should exercise the cluster the way a user would; Faro's own client is what is under test.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml

REPO = Path(__file__).resolve().parents[2]
TESTBED = REPO / "testbed"
T = TypeVar("T")


@dataclass(frozen=True)
class LocalCluster:
    kubeconfig: Path
    bin_dir: Path
    log_dir: Path
    kwok_workdir: Path
    name: str = "faro"

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "KWOK_WORKDIR": str(self.kwok_workdir),
            "PATH": f"{self.bin_dir}:{os.environ['PATH']}",
        }

    def run_kubectl(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.bin_dir / "kubectl"), *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=60,
        )

    def kubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        proc = self.run_kubectl(*args, input=input)
        if check and proc.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
        return proc.stdout

    def apply(
        self, manifest: dict[str, Any] | list[dict[str, Any]] | str, namespace: str | None = None
    ) -> None:
        text = (
            manifest
            if isinstance(manifest, str)
            else yaml.safe_dump_all(manifest if isinstance(manifest, list) else [manifest])
        )
        args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
        self.kubectl(*args, input=text)

    def get(self, kind: str, name: str | None = None, namespace: str | None = None) -> Any:
        args = ["get", kind] + ([name] if name else []) + ["-o", "json"]
        if namespace:
            args += ["-n", namespace]
        return json.loads(self.kubectl(*args))

    def get_or_none(self, kind: str, name: str, namespace: str | None = None) -> Any:
        args = ["get", kind, name, "-o", "json", "--ignore-not-found"] + (
            ["-n", namespace] if namespace else []
        )
        out = self.kubectl(*args)
        return json.loads(out) if out.strip() else None

    async def akubectl(self, *args: str, input: str | None = None, check: bool = True) -> str:
        return await asyncio.to_thread(self.kubectl, *args, input=input, check=check)

    async def aapply(
        self, manifest: dict[str, Any] | list[dict[str, Any]] | str, namespace: str | None = None
    ) -> None:
        await asyncio.to_thread(self.apply, manifest, namespace)

    def restart_control_plane(self, attempts: int = 3) -> None:
        """Stop and start every component (etcd data is kept): watches break, and RVs from
        before the restart are older than the new apiserver's watch cache.

        kwokctl starts all components at once; now and then the KWOK controller comes up
        before the apiserver and stays idle, so a probe pod must run before we go on. On a
        loaded machine a stopped component can still hold its port when `start` runs (the
        new one then dies with "address already in use"), so start waits for the ports."""
        failure = ""
        for _ in range(attempts):
            self._kwokctl("stop")
            wait_for("the cluster's ports to be free", self._ports_free, 60)
            failure = self._kwokctl("start")
            if failure:
                continue
            try:
                wait_for("the apiserver", self._ready, 60)
            except AssertionError as exc:
                failure = str(exc)
                continue
            if self._kwok_works():
                return
            failure = "KWOK did not run a probe pod"
        raise RuntimeError(f"the control plane did not come back after {attempts} restarts: {failure}")

    def _ready(self) -> bool:
        return self.run_kubectl("get", "--raw=/readyz").returncode == 0

    def _kwokctl(self, verb: str) -> str:
        """Run `kwokctl <verb> cluster`; returns its error output if it failed, else ""."""
        proc = subprocess.run(
            [str(self.bin_dir / "kwokctl"), verb, "cluster", "--name", self.name],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )
        return f"kwokctl {verb} cluster failed: {proc.stderr[-2000:]}" if proc.returncode else ""

    def _ports_free(self) -> bool:
        """True when no process listens on any port of the cluster's components."""
        config = (self.kwok_workdir / "clusters" / self.name / "kwok.yaml").read_text()
        for port in {int(p) for p in re.findall(r"^\s*\w*[pP]ort: (\d+)$", config, re.M)}:
            with socket.socket() as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    s.bind(("", port))
                except OSError:
                    return False
        return True

    def _kwok_works(self) -> bool:
        name = f"probe-{uuid.uuid4().hex[:6]}"
        self.run_kubectl("run", name, "-n", "default", "--image=probe", "--restart=Never")
        try:
            wait_for(
                "a probe pod",
                lambda: (
                    (self.get_or_none("pod", name, "default") or {}).get("status", {}).get("phase")
                    == "Running"
                ),
                15,
            )
            return True
        except AssertionError:
            return False
        finally:
            self.run_kubectl(
                "delete", "pod", name, "-n", "default", "--grace-period=0", "--force", "--wait=false"
            )

    def events(self, namespace: str) -> list[dict[str, Any]]:
        return list(self.get("events", namespace=namespace)["items"])


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0, interval: float = 0.2) -> T:
    """Poll until probe returns something truthy; fail with `what` and the last value."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


async def async_wait_for(what: str, probe: Callable[[], T | None], timeout: float = 30.0) -> T:
    return await asyncio.to_thread(wait_for, what, probe, timeout)


def start_cluster() -> LocalCluster:
    """Start the testbed cluster (or reuse a running one) and return a handle on it."""
    out = subprocess.run([str(TESTBED / "cluster-up.sh")], capture_output=True, text=True, timeout=900)
    if out.returncode != 0:
        raise RuntimeError(f"testbed/cluster-up.sh failed:\n{out.stderr[-4000:]}")
    exports = dict(
        line.removeprefix("export ").split("=", 1)
        for line in out.stdout.splitlines()
        if line.startswith("export ")
    )
    kubeconfig = Path(exports["KUBECONFIG"])
    bin_dir = Path(exports["FARO_TESTBED_BIN"])
    log_dir = Path(exports["FARO_TESTBED_LOGS"])
    return LocalCluster(
        kubeconfig, bin_dir, log_dir, Path(exports["KWOK_WORKDIR"]), exports.get("FARO_CLUSTER_NAME", "faro")
    )


def cluster_was_running() -> bool:
    out = subprocess.run([str(TESTBED / "cluster-status.sh")], capture_output=True, text=True, timeout=60)
    return out.returncode == 0


def stop_cluster() -> None:
    subprocess.run([str(TESTBED / "cluster-down.sh")], capture_output=True, text=True, timeout=300)
