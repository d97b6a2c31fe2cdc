"""Record the raw watch lines of a golden fold case from the test cluster.

Usage (the testbed cluster must be up; it is reused, not restarted):

    .venv/bin/python -m tests.golden.record_fold deployment-rollout [job-cascade ...]
    .venv/bin/python -m tests.golden.record_fold --all

For each case it deletes and recreates the namespace `golden-<case>`, opens one raw watch
per resource type the case involves (plain HTTPS with the kubeconfig's client certificate,
`?watch=true`, no resourceVersion: a fresh namespace holds nothing to replay), plays the
scenario with kubectl, and writes into tests/golden/stories/<case>/:

- `watch.tsv`: one line per watch line, `<offset>\\t<watch>\\t<the line's exact bytes>`, in
  arrival order; offset is seconds since the recording's t0. JSON lines hold no raw tab
  or newline, so the third field is the API server's bytes unchanged.
- `logs.tsv` (cases with container logs): `<offset>\\t<pod>\\t<container>\\t<restart>\\t<CRI line>`,
  the lines written to the KWOK log files (what the LogManager would read back).
- `recording.json`: t0 (epoch seconds), namespace, and each watch's resource type.

Then regenerate the expected stories: `UPDATE_GOLDEN=1 .venv/bin/pytest -q
tests/unit/capture/test_fold_golden.py`, and review the diff. `case.json` (how the driver
replays and closes the case) is written by hand and left alone. See docs/golden-tests.md.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from tests.harness.cluster import LocalCluster, start_cluster, wait_for
from tests.harness.logs import PodLogs, cri_line

HERE = Path(__file__).resolve().parent / "stories"
IMAGE = "example.com/app:1"

# name -> (group, version, resource, kind, namespaced)
TYPES: dict[str, tuple[str, str, str, str, bool]] = {
    "deployments": ("apps", "v1", "deployments", "Deployment", True),
    "replicasets": ("apps", "v1", "replicasets", "ReplicaSet", True),
    "pods": ("", "v1", "pods", "Pod", True),
    "jobs": ("batch", "v1", "jobs", "Job", True),
    "events": ("", "v1", "events", "Event", True),
    "customruns": ("tekton.dev", "v1beta1", "customruns", "CustomRun", True),
}


class Recorder:
    def __init__(self, cluster: LocalCluster, namespace: str, watches: list[str]) -> None:
        self.cluster = cluster
        self.namespace = namespace
        self.watches = watches
        self.lines: list[tuple[float, str, bytes]] = []
        self.logs: list[tuple[float, str, str, int, bytes]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.t0 = 0.0
        cfg = yaml.safe_load(cluster.kubeconfig.read_text())
        cl, user = cfg["clusters"][0]["cluster"], cfg["users"][0]["user"]
        self.server = cl["server"]
        self.ctx = ssl.create_default_context(cafile=cl["certificate-authority"])
        self.ctx.load_cert_chain(user["client-certificate"], user["client-key"])

    def _path(self, name: str) -> str:
        g, v, r, _, _ = TYPES[name]
        base = f"/apis/{g}/{v}" if g else f"/api/{v}"
        query = "watch=true&allowWatchBookmarks=false&timeoutSeconds=180"
        return f"{self.server}{base}/namespaces/{self.namespace}/{r}?{query}"

    def start(self) -> None:
        self.t0 = time.time()
        ready = []
        for name in self.watches:
            resp = urllib.request.urlopen(self._path(name), context=self.ctx, timeout=600)
            ready.append((name, resp))
        for name, resp in ready:
            threading.Thread(target=self._read, args=(name, resp), daemon=True).start()

    def _open(self, name: str) -> Any:
        for _ in range(30):  # a just-established CRD's resource answers 429 for a moment
            try:
                return urllib.request.urlopen(self._path(name), context=self.ctx, timeout=600)
            except urllib.error.HTTPError as exc:
                if exc.code != 429:
                    raise
                time.sleep(1)
        raise RuntimeError(f"could not watch {name}")

    def _read(self, name: str, resp: Any) -> None:
        while not self.stop.is_set():
            line = resp.readline()  # blocking: the thread is a daemon, dropped once stopped
            if not line:
                return
            at = time.time() - self.t0
            with self.lock:
                if not self.stop.is_set():
                    self.lines.append((at, name, line.rstrip(b"\n")))

    def log(self, logs: PodLogs, restart: int, container: str, text: str) -> None:
        line = cri_line(text)
        with logs.path(container).open("ab") as f:
            f.write(line)
        with self.lock:
            self.logs.append((time.time() - self.t0, logs.pod, container, restart, line.rstrip(b"\n")))

    def finish(self, case: str) -> None:
        with self.lock:
            self.stop.set()
        out = HERE / case
        out.mkdir(parents=True, exist_ok=True)
        with (out / "watch.tsv").open("wb") as f:
            for at, name, line in self.lines:
                assert b"\t" not in line and b"\n" not in line
                f.write(f"{at:.3f}\t{name}\t".encode() + line + b"\n")
        if self.logs:
            with (out / "logs.tsv").open("wb") as f:
                for at, pod, c, restart, line in self.logs:
                    f.write(f"{at:.3f}\t{pod}\t{c}\t{restart}\t".encode() + line + b"\n")
        meta = {
            "t0": round(self.t0, 3),
            "namespace": self.namespace,
            "watches": {
                n: dict(zip(("group", "version", "resource", "kind", "namespaced"), TYPES[n], strict=True))
                for n in self.watches
            },
        }
        (out / "recording.json").write_text(json.dumps(meta, indent=2) + "\n")
        print(f"{case}: {len(self.lines)} watch lines, {len(self.logs)} log lines -> {out}")


def fresh_namespace(cluster: LocalCluster, ns: str) -> None:
    cluster.kubectl("delete", "namespace", ns, "--ignore-not-found", "--wait=true", "--timeout=120s")
    cluster.kubectl("create", "namespace", ns)
    wait_for(
        f"the default service account of {ns}",
        lambda: cluster.run_kubectl("get", "sa", "default", "-n", ns).returncode == 0,
        30,
    )


def k(cluster: LocalCluster, ns: str, *args: str, input: str | None = None) -> str:
    return cluster.kubectl(*args, "-n", ns, input=input)


def deployment_rollout(c: LocalCluster, rec: Recorder, ns: str) -> None:
    dep = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [{"name": "app", "image": IMAGE}]},
            },
        },
    }
    k(c, ns, "apply", "-f", "-", input=json.dumps(dep))
    k(c, ns, "rollout", "status", "deployment/web", "--timeout=60s")
    time.sleep(1)
    k(c, ns, "set", "image", "deployment/web", "app=example.com/app:2")
    k(c, ns, "rollout", "status", "deployment/web", "--timeout=60s")
    time.sleep(3)


def job_cascade(c: LocalCluster, rec: Recorder, ns: str) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "report"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"annotations": {"faro.dev/exit-code": "0", "faro.dev/run-time": "1500"}},
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "work", "image": IMAGE}],
                },
            },
        },
    }
    k(c, ns, "apply", "-f", "-", input=json.dumps(job))
    k(c, ns, "wait", "job/report", "--for=condition=Complete", "--timeout=60s")
    time.sleep(1)
    k(c, ns, "delete", "job", "report", "--wait=false")
    wait_for("the job's pods to be gone", lambda: not c.get("pods", namespace=ns)["items"], 60)
    time.sleep(2)


def crashloop_logs(c: LocalCluster, rec: Recorder, ns: str) -> None:
    logs = PodLogs(c, ns, "flaky")
    logs.install(["app"])
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "flaky", "annotations": {"faro.dev/restart-delay": "1000"}},
        "spec": {"terminationGracePeriodSeconds": 1, "containers": [{"name": "app", "image": IMAGE}]},
    }
    k(c, ns, "apply", "-f", "-", input=json.dumps(pod))

    def running(restarts: int) -> bool:
        p = c.get_or_none("pod", "flaky", ns) or {}
        sts = (p.get("status") or {}).get("containerStatuses") or []
        return bool(sts) and sts[0]["restartCount"] == restarts and "running" in sts[0]["state"]

    for restart in range(3):
        wait_for(f"flaky running (restart {restart})", lambda r=restart: running(r), 30)
        rec.log(logs, restart, "app", f"starting, attempt {restart}")
        time.sleep(0.3)
        rec.log(logs, restart, "app", "panic: cannot reach db:5432: connection refused")
        time.sleep(0.3)
        logs.rotate("app")
        k(
            c,
            ns,
            "annotate",
            "pod",
            "flaky",
            "--overwrite",
            "faro.dev/crash=app",
            "faro.dev/crash-exit-code=2",
        )
    wait_for("flaky running (restart 3)", lambda: running(3), 30)
    time.sleep(2)


def customrun_failed(c: LocalCluster, rec: Recorder, ns: str) -> None:
    run = {
        "apiVersion": "tekton.dev/v1beta1",
        "kind": "CustomRun",
        "metadata": {"name": "deploy-check"},
        "spec": {"customRef": {"apiVersion": "example.dev/v1", "kind": "Check"}, "params": []},
    }
    k(c, ns, "apply", "-f", "-", input=json.dumps(run))
    time.sleep(1)

    def status(st: str, reason: str, msg: str) -> None:
        cond = {
            "type": "Succeeded",
            "status": st,
            "reason": reason,
            "message": msg,
            "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        patch = {"status": {"conditions": [cond], "startTime": "2026-01-01T00:00:00Z"}}
        k(
            c,
            ns,
            "patch",
            "customrun",
            "deploy-check",
            "--subresource=status",
            "--type=merge",
            "-p",
            json.dumps(patch),
        )

    status("Unknown", "Running", "checking rollout")
    time.sleep(1.5)
    status("False", "CheckFailed", "rollout of web did not become ready")
    time.sleep(2)


def _customrun_setup(c: LocalCluster) -> None:
    crd = Path(__file__).resolve().parents[1] / "data" / "crds" / "tekton-customrun.yaml"
    c.kubectl("apply", "-f", str(crd))
    c.kubectl("wait", "crd/customruns.tekton.dev", "--for=condition=Established", "--timeout=60s")


Scenario = Callable[[LocalCluster, Recorder, str], None]
CASES: dict[str, tuple[list[str], Scenario, Callable[[LocalCluster], None] | None]] = {
    "deployment-rollout": (["deployments", "replicasets", "pods", "events"], deployment_rollout, None),
    "job-cascade": (["jobs", "pods", "events"], job_cascade, None),
    "crashloop-logs": (["pods", "events"], crashloop_logs, None),
    "customrun-failed": (["customruns", "events"], customrun_failed, _customrun_setup),
}


def record(cluster: LocalCluster, case: str) -> None:
    watches, scenario, setup = CASES[case]
    ns = f"golden-{case}"
    if setup is not None:
        setup(cluster)
    fresh_namespace(cluster, ns)
    rec = Recorder(cluster, ns, watches)
    rec.start()
    time.sleep(0.5)
    try:
        scenario(cluster, rec, ns)
    finally:
        rec.finish(case)
    cluster.kubectl("delete", "namespace", ns, "--wait=false")


def main(argv: list[str]) -> int:
    names = list(CASES) if argv == ["--all"] else argv
    unknown = [n for n in names if n not in CASES]
    if not names or unknown:
        print(f"usage: record_fold.py --all | CASE...  (cases: {', '.join(CASES)})", file=sys.stderr)
        return 2
    cluster = start_cluster()
    for name in names:
        record(cluster, name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
