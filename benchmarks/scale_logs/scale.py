"""Scale with KWOK: Faro's start-up, memory and idle CPU among 10,000 pods of no story.

Why: a capture tool runs beside everything else in a cluster; what it costs must depend on
what it captures, not on how big the cluster is. This creates bare pods (10 per namespace in
`bench-scale-NNNN`, scheduled onto a dedicated tainted KWOK node so nobody else's pods are
displaced; KWOK and the scheduler emit Scheduled/Pulled/Started Events for each) plus a
1-replica Deployment `bench-primary` in the first 5 namespaces, then runs Faro (the library,
in a child process so its RSS is its own) with those Deployments as primaries: nearly every
pod and Event belongs to no story. Measured: process start -> on_ready, RSS and CPU over an
idle window, and RSS before/after more unrelated pods are created while Faro runs.

Usage: python -m benchmarks.scale_logs.scale populate --first 0 --last 1000
       | measure [--grow 1000:1500] | cleanup
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from benchmarks.common.paths import REPO, module
from faro.errors import ApiError, KubeError
from faro.kube.client import KubeClient

PREFIX = "bench-scale-"
NODE = "faro-bench-0"  # tainted: only pods that tolerate faro.dev/bench land there
PER_NS = 10
PRIMARIES = 5
META = {"Accept": "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"}


def env() -> None:
    os.environ.setdefault("KUBECONFIG", str(Path.home() / ".cache/faro/kwok/clusters/faro/kubeconfig.yaml"))
    bins = sorted((Path.home() / ".cache/faro/testbed").glob("*/bin"))
    if bins and str(bins[-1]) not in os.environ["PATH"]:
        os.environ["PATH"] = f"{bins[-1]}:{os.environ['PATH']}"


async def connect() -> KubeClient:
    return await KubeClient.connect(os.environ["KUBECONFIG"], pool_size=64)


def pod_spec() -> dict[str, Any]:
    """A plausible small pod: one container with env, ports, resources; grace 1 s."""
    return {
        "nodeSelector": {"faro.dev/bench": "true"},
        "tolerations": [{"key": "faro.dev/bench", "operator": "Exists", "effect": "NoSchedule"}],
        "terminationGracePeriodSeconds": 1,
        "containers": [
            {
                "name": "app",
                "image": "example.com/app:1.4.2",
                "ports": [{"containerPort": 8080, "name": "http"}],
                "env": [{"name": "MODE", "value": "bench"}, {"name": "LOG_LEVEL", "value": "info"}],
                "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
            }
        ],
    }


def pod(name: str, labels: dict[str, str]) -> dict[str, Any]:
    meta = {"name": name, "labels": labels, "annotations": {"team": "bench", "faro.dev/bench": "scale"}}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod_spec()}


def deployment(name: str) -> dict[str, Any]:
    tpl = {"metadata": {"labels": {"app": name}}, "spec": pod_spec()}
    spec = {"replicas": 1, "selector": {"matchLabels": {"app": name}}, "template": tpl}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name}, "spec": spec}


async def post(kc: KubeClient, path: str, body: dict[str, Any]) -> None:
    for attempt in range(40):  # a new namespace's default ServiceAccount comes a moment later (403)
        try:
            await kc.request_json("POST", path, body=body)
            return
        except ApiError as exc:
            if exc.status == 409:  # already there (a reused population)
                return
            if exc.status not in (403, 429, 500, 503) or attempt == 39:
                raise
        await asyncio.sleep(0.5)


async def ensure_node(kc: KubeClient) -> None:
    labels = {"type": "kwok", "faro.dev/bench": "true", "kubernetes.io/hostname": NODE}
    meta = {"name": NODE, "annotations": {"kwok.x-k8s.io/node": "fake"}, "labels": labels}
    taints = [{"key": "faro.dev/bench", "value": "true", "effect": "NoSchedule"}]
    await post(
        kc,
        "/api/v1/nodes",
        {"apiVersion": "v1", "kind": "Node", "metadata": meta, "spec": {"taints": taints}},
    )
    for _ in range(60):  # KWOK's node-initialize stage makes it Ready within a second or so
        conditions = (await kc.get_json(f"/api/v1/nodes/{NODE}"))["status"].get("conditions", [])
        if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            return
        await asyncio.sleep(0.5)
    raise RuntimeError(f"node {NODE} did not become Ready")


async def run_all(jobs: list[Any], concurrency: int = 48) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(job: Any) -> None:
        async with sem:
            await job

    await asyncio.gather(*(one(j) for j in jobs))


async def count(kc: KubeClient, path: str, selector: str, fields: str | None = None) -> int:
    """How many objects match, metadata only, paginated."""
    n, cont = 0, None
    while True:
        q = {"labelSelector": selector, "fieldSelector": fields, "limit": 5000, "continue": cont}
        page = await kc.request_json("GET", path, q, headers=META)
        n += len(page.get("items") or [])
        cont = page["metadata"].get("continue")
        if not cont:
            return n


async def wait_running(kc: KubeClient, selector: str, timeout: float = 600) -> None:
    t0 = time.monotonic()
    while await count(kc, "/api/v1/pods", selector, "status.phase!=Running"):
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(f"pods {selector} not Running after {timeout}s")
        await asyncio.sleep(1)


async def populate(first: int, last: int) -> dict[str, Any]:
    """Namespaces first..last-1, PER_NS bare pods each; Deployments in the first PRIMARIES."""
    async with await connect() as kc:
        await ensure_node(kc)
        t0 = time.monotonic()
        names = [f"{PREFIX}{i:04d}" for i in range(first, last)]
        await run_all([post(kc, "/api/v1/namespaces", {"metadata": {"name": n}}) for n in names])
        labels = [{"app": f"idle-{j}", "faro-bench": "scale"} for j in range(PER_NS)]
        pods = [(ns, pod(f"idle-{j}", labels[j])) for ns in names for j in range(PER_NS)]
        jobs = [post(kc, f"/api/v1/namespaces/{ns}/pods", body) for ns, body in pods]
        dep, primaries = deployment("bench-primary"), names[: max(0, PRIMARIES - first)]
        jobs += [post(kc, f"/apis/apps/v1/namespaces/{ns}/deployments", dep) for ns in primaries]
        await run_all(jobs)
        posted = time.monotonic() - t0
        await wait_running(kc, "faro-bench=scale")
        running = time.monotonic() - t0
        events = await count(kc, "/api/v1/events", "", None)
    n = len(pods)
    return dict(namespaces=len(names), pods=n, post_s=posted, running_s=running, events=events)


async def delete_namespaces(prefix: str, timeout: float = 900) -> float:
    """Delete every namespace starting with prefix; wait until they are gone. Retries through
    apiserver restarts (the cluster is shared with test suites that restart it)."""
    t0 = time.monotonic()
    async with await connect() as kc:
        while time.monotonic() - t0 < timeout:
            try:
                items = (await kc.request_json("GET", "/api/v1/namespaces", headers=META))["items"]
                left = [i["metadata"] for i in items if i["metadata"]["name"].startswith(prefix)]
                if not left:
                    break
                live = [m["name"] for m in left if not m.get("deletionTimestamp")]
                await run_all([kc.request_json("DELETE", f"/api/v1/namespaces/{n}") for n in live], 16)
            except KubeError as exc:  # ApiError too
                print(f"delete {prefix}*: {exc}; retrying", file=sys.stderr)
            await asyncio.sleep(2)
    return time.monotonic() - t0


async def faro_child() -> None:
    """The measured process: Faro with the bench-primary Deployments as primaries."""
    from faro import Faro, FaroConfig, ResourceRule

    # what the interpreter and Faro's imports cost before any cluster object is read
    print(f"imported {psutil.Process().memory_info().rss / 2**20:.1f}", flush=True)
    rule = ResourceRule(
        gvr="apps/v1/Deployment", namespace_patterns=[f"{PREFIX}.*"], name_pattern="bench-primary"
    )
    opts = {"include_logs": False, "write_stories": False, "metrics_port": 0, "correlation_timeout": 3600}
    config = FaroConfig(resources=[rule], kubeconfig=os.environ["KUBECONFIG"], **opts)
    t0 = time.monotonic()
    faro = Faro(config, on_ready=lambda: print(f"ready {time.monotonic() - t0:.3f}", flush=True))
    task = asyncio.create_task(faro.run())
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        e = faro.engine
        if line.strip() == "stats" and e is not None:
            c = e.correlator
            stats = {
                "processed": sum(e.processed.values()),
                "open_stories": len(e.book.open),
                "closed": faro.closed_count,
                "graph_nodes": len(c.parents),
                "bound": len(c.bound),
                "held": sum(map(len, c.held.values())),
                "held_expired": c.expired,
                "reflector_known": sum(len(r._known) for r in e.reflectors),
                "watch_restarts": sum(r.stats.relists + r.stats.reconnects for r in e.reflectors),
            }
            print(json.dumps(stats), flush=True)
    faro.stop()
    await task


class Child:
    """The Faro child process plus RSS/CPU sampling from outside (psutil)."""

    def __init__(self) -> None:
        self.t0 = time.monotonic()
        cmd, pipe = module("scale_logs.scale", "faro"), subprocess.PIPE
        self.p = subprocess.Popen(cmd, stdin=pipe, stdout=pipe, text=True, bufsize=1, cwd=REPO)
        self.ps = psutil.Process(self.p.pid)

    def line(self) -> str:
        assert self.p.stdout is not None
        return self.p.stdout.readline().strip()

    def stats(self) -> dict[str, Any]:
        assert self.p.stdin is not None
        self.p.stdin.write("stats\n")  # line-buffered: sent now
        return dict(json.loads(self.line()), rss_mb=self.rss())

    def rss(self) -> float:
        return float(self.ps.memory_info().rss / 2**20)

    def cpu(self) -> float:
        return float(sum(self.ps.cpu_times()[:2]))

    def stop(self) -> None:
        if self.p.stdin is not None:
            self.p.stdin.close()
        self.p.wait(timeout=60)


def idle(child: Child, seconds: float) -> dict[str, Any]:
    """CPU% and RSS (sampled every second) over an idle window."""
    cpu0, t0, samples = child.cpu(), time.monotonic(), []
    while time.monotonic() - t0 < seconds:
        time.sleep(1)
        samples.append(child.rss())
    dt = time.monotonic() - t0
    cpu_pct = 100 * (child.cpu() - cpu0) / dt
    return dict(cpu_pct=cpu_pct, rss_end_mb=samples[-1], rss_max_mb=max(samples), idle_s=dt)


def measure(idle_s: float = 60, settle: float = 10, grow: tuple[int, int] | None = None) -> dict[str, Any]:
    """One run: start -> ready, settle, idle window; optionally grow the population meanwhile."""
    child = Child()
    try:
        head = child.line()
        if head.startswith("imported"):
            out_imported = float(head.split()[1])
            head = child.line()
        else:
            out_imported = None
        if not head.startswith("ready"):
            raise RuntimeError(f"faro child did not become ready: {head!r}")
        out: dict[str, Any] = {"spawn_to_ready_s": time.monotonic() - child.t0}
        out["rss_at_ready_mb"] = child.rss()
        out["rss_imported_mb"] = out_imported
        out["run_to_ready_s"] = float(head.split()[1])
        time.sleep(settle)
        out["after_settle"] = child.stats()
        out.update(idle(child, idle_s))
        out["after_idle"] = child.stats()
        if grow is not None:
            out["grow"] = asyncio.run(populate(*grow))
            time.sleep(settle + 5)  # Faro catches up with the new pods and their Events
            out["after_grow"] = child.stats()
            out["grow_idle"] = idle(child, 20)
        return out
    finally:
        child.stop()


def main() -> None:
    env()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["populate", "measure", "faro", "cleanup"])
    ap.add_argument("--first", type=int, default=0)
    ap.add_argument("--last", type=int, default=1000)
    ap.add_argument("--idle", type=float, default=60)
    ap.add_argument("--grow", help="first:last namespaces to create while Faro runs")
    a = ap.parse_args()
    if a.command == "faro":
        asyncio.run(faro_child())
    elif a.command == "populate":
        print(json.dumps(asyncio.run(populate(a.first, a.last))))
    elif a.command == "measure":
        grow = tuple(int(x) for x in a.grow.split(":")) if a.grow else None
        print(json.dumps(measure(a.idle, grow=grow), indent=1))  # type: ignore[arg-type]
    else:
        print(json.dumps({"delete_s": asyncio.run(delete_namespaces(PREFIX))}))


if __name__ == "__main__":
    main()
