"""Container logs for KWOK pods: CRI-format files that the kwok controller serves via pods/log.

Each pod gets a KWOK `Logs` object (same name and namespace as the pod) that maps every
container to `<dir>/<ns>/<pod>/<container>.log` and its previous instance to `...previous.log`.
Appending to the file while a follow stream is open delivers the lines to the stream;
`rotate` moves the current file to the previous one, as a kubelet does when a container dies.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from tests.harness.cluster import LocalCluster, wait_for


def cri_line(text: bytes | str, when: dt.datetime | None = None, stream: str = "stdout") -> bytes:
    """One line in the CRI log format: `<RFC3339Nano> <stream> F <content>`."""
    when = when or dt.datetime.now(dt.UTC)
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
    body = text.encode() if isinstance(text, str) else text
    return stamp.encode() + f" {stream} F ".encode() + body + b"\n"


@dataclass
class PodLogs:
    cluster: LocalCluster
    namespace: str
    pod: str

    def path(self, container: str, previous: bool = False) -> Path:
        suffix = ".previous.log" if previous else ".log"
        return self.cluster.log_dir / self.namespace / self.pod / f"{container}{suffix}"

    def install(self, containers: list[str]) -> None:
        """Create the Logs object for this pod and empty files for each container."""
        for c in containers:
            for prev in (False, True):
                p = self.path(c, prev)
                p.parent.mkdir(parents=True, exist_ok=True)
                p.touch()
        self.cluster.apply(
            {
                "apiVersion": "kwok.x-k8s.io/v1alpha1",
                "kind": "Logs",
                "metadata": {"name": self.pod, "namespace": self.namespace},
                "spec": {
                    "logs": [
                        {
                            "containers": [c],
                            "logsFile": str(self.path(c)),
                            "previousLogsFile": str(self.path(c, previous=True)),
                            "follow": True,
                        }
                        for c in containers
                    ]
                },
            }
        )

    def write(self, container: str, *lines: bytes | str) -> None:
        with self.path(container).open("ab") as f:
            for line in lines:
                f.write(cri_line(line))

    def rotate(self, container: str) -> None:
        """The current instance's log becomes the previous one; a new empty log starts."""
        self.path(container).replace(self.path(container, previous=True))
        self.path(container).touch()

    def wait_served(self, container: str, timeout: float = 30) -> None:
        """KWOK learns about Logs objects through a watch; wait until it serves this pod."""
        args = ("logs", "-n", self.namespace, self.pod, "-c", container, "--tail=1")
        wait_for(
            f"KWOK to serve logs of {self.namespace}/{self.pod}/{container}",
            lambda: self.cluster.run_kubectl(*args).returncode == 0,
            timeout,
        )


class NamespaceLogWriter:
    """Gives every pod of a namespace a log as soon as it appears, and writes numbered lines
    to it (`<pod> line <n>`) while the pod is alive and not terminating. `written` records
    exactly what each pod said, for tests to compare with stories."""

    def __init__(
        self, cluster: LocalCluster, namespace: str, container: str = "app", every: float = 0.25
    ) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.container = container
        self.every = every
        self.written: dict[str, list[str]] = {}
        self._logs: dict[str, PodLogs] = {}
        self._stop = False

    def stop(self) -> None:
        self._stop = True

    def run(self) -> None:
        """Blocking loop; run it with asyncio.to_thread and call stop()."""
        import time

        while not self._stop:
            pods = self.cluster.get("pods", namespace=self.namespace)["items"]
            for p in pods:
                name = p["metadata"]["name"]
                if name not in self._logs:
                    self._logs[name] = PodLogs(self.cluster, self.namespace, name)
                    self._logs[name].install([self.container])
                    self.written[name] = []
                if p["metadata"].get("deletionTimestamp") or p["status"].get("phase") != "Running":
                    continue
                n = len(self.written[name])
                line = f"{name} line {n}"
                self._logs[name].write(self.container, line)
                self.written[name].append(line)
            time.sleep(self.every)
