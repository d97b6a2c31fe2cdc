"""Run the ingest benchmark: every consumer on the same recorded watch stream, several times.

Why: throughput numbers only compare when the bytes, the server and the machine state are
the same, so each run measures every consumer back to back against one replay server
(benchmarks/replay), and ratios (Faro / informer, Faro / raw) are taken within a run before
the median is taken over runs. Each consumer runs as a child process; its CPU time comes
from wait4(), its peak RSS from its own VmHWM (see _reap). Consumers: Faro end to end and raw aiohttp+orjson
(consumers.py), a client-go dynamic informer (benchmarks/informer), and
`kubectl get pods -A --watch -o json` (objects counted here, from its stdout).

Scenarios: "pods" (the pods stream, all four consumers) and "pods+events" (pods and core/v1
Events as two watches; kubectl cannot watch two types in one command, so it sits out), where
every pod is one of Faro's primaries: the most work per event it can be given. "deployment"
is the same two watches with Faro told to watch one Deployment (`checkout`, one app of the
recording's eight) in every namespace, as it is typically used: the rest of the stream
belongs to no story. The other consumers do the same work in every scenario. In
"pods", a diagnostic fifth consumer (not a configuration Faro ships) shows the cyclic GC's
share of Faro's time: "faro-gc" raises CPython's gen-0 GC threshold first
(gc.set_threshold(100000, 50, 1000)); a sixth, "faro-mypyc", is the same Faro with its ingest
path compiled by mypyc (compiled.py), to show what compiling would and would not buy.

Usage: python -m benchmarks.ingest.throughput [--runs 3] [--scenario pods|pods+events|deployment|all]
(prints JSON)

Time limits: a consumer's first run may take 10 minutes (a bound on a hang, not a guess at the
machine's speed); its later runs 4x its slowest successful run so far (at least 60 s). A run that
times out is an error row (runs ok < runs), not a crash.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from benchmarks.common.paths import BIN, CACHE, REPO, SCRATCH, module
from benchmarks.ingest.consumers import vmhwm_kb

KUBECTL = os.environ.get("KUBECTL", "kubectl")
KUBECTL_WATCH = ["get", "pods", "-A", "--watch", "-o", "json"]
SCENARIOS = {
    "pods": ["faro", "informer", "kubectl", "raw", "faro-gc", "faro-mypyc"],
    "pods+events": ["faro", "informer", "raw"],
    "deployment": ["faro", "informer", "raw"],
}
STREAMS = {"pods": "pods", "pods+events": "pods,events", "deployment": "pods,events"}
DEPLOYMENT = "checkout"  # the "deployment" scenario's primary, in each namespace
GC_THRESHOLD = 100_000  # faro-gc: gen-0 threshold raised, a diagnostic of the GC's share
KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: replay, cluster: {server: "http://127.0.0.1:%d"}}]
contexts: [{name: replay, context: {cluster: replay, user: anon}}]
current-context: replay
users: [{name: anon, user: {}}]
"""


@dataclass
class Result:
    consumer: str
    run: int
    count: int
    events_per_s: float
    seconds: float
    rss_mb: float
    cpu_s: float
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class Replay:
    """The replay server (a child process), and a kubeconfig that points at it."""

    def __init__(self, streams: str) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "replay"), "-dir", str(CACHE / "recording"), "-streams", streams],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("listening"):
            raise RuntimeError("replay server did not start")
        self.port = int(line.split()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        SCRATCH.mkdir(parents=True, exist_ok=True)
        self.kubeconfig = SCRATCH / f"replay-{self.port}.kubeconfig"
        self.kubeconfig.write_text(KUBECONFIG % self.port)

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait()
        self.kubeconfig.unlink(missing_ok=True)


def _reap(proc: subprocess.Popen[bytes]) -> tuple[float, float]:
    """Wait for a child; (peak RSS in MB, CPU seconds) from the kernel's own accounting. That
    peak RSS is at least this process's RSS when it spawned the child (the kernel carries the
    spawner's high-water mark across fork and exec), so measure() prefers the VmHWM every
    consumer reports of itself."""
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ru.ru_maxrss / 1024, ru.ru_utime + ru.ru_stime


def _command(
    consumer: str, replay: Replay, resources: str, n: int, scenario: str, timeout: float
) -> list[str]:
    kc = str(replay.kubeconfig)
    if consumer == "informer":
        informer = [str(BIN / "informer"), "-kubeconfig", kc, "-resources", resources, "-n", str(n)]
        return [*informer, "-timeout", f"{timeout:.0f}s"]
    if consumer == "kubectl":
        cache = str(SCRATCH / "kubectl-cache")
        return [KUBECTL, "--kubeconfig", kc, "--cache-dir", cache, *KUBECTL_WATCH]
    extra = {"faro-gc": ["--gc-threshold", str(GC_THRESHOLD)]}.get(consumer, [])
    py = consumer.split("-")[0]
    if py == "faro" and scenario == "deployment":
        extra = [*extra, "--deployment", DEPLOYMENT]
    args = [
        "--server",
        replay.url,
        "--kubeconfig",
        kc,
        "--resources",
        resources,
        "--n",
        str(n),
        "--timeout",
        str(timeout),
        *extra,
    ]
    return module("ingest.consumers", py, *args)


def _count_kubectl(proc: subprocess.Popen[bytes], n: int, timeout: float) -> dict[str, float]:
    """kubectl prints each object as indented JSON: one object ends at each b"\\n}\\n"."""
    assert proc.stdout is not None
    count, first, tail = 0, 0.0, b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while count < n and time.monotonic() < deadline:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        data = tail + chunk
        count += data.count(b"\n}\n")
        tail = data[-2:]
        if count and not first:
            first = time.time()
    last = time.time()
    hwm = vmhwm_kb(proc.pid)  # still running: its own peak, before it is asked to stop
    proc.send_signal(signal.SIGTERM)
    return {"count": count, "first": first, "last": last, "vmhwm_kb": hwm}


def measure(
    consumer: str, replay: Replay, resources: str, n: int, run: int, scenario: str, timeout: float = 115
) -> Result:
    """One consumer run; `timeout` is how long it may take to get all n events (it then gives
    up by itself, and is killed 5 s later if it has not)."""
    errfile = SCRATCH / f"{consumer}.stderr"
    env = None
    if consumer == "faro-mypyc":  # the compiled copy first on the path: it shadows the snapshot
        from benchmarks.diagnostics.compiled import build

        try:
            built = build()
        except Exception as exc:  # mypyc refused the source: an error row, the other consumers go on
            return Result(consumer, run, 0, 0.0, 0.0, 0.0, 0.0, f"mypyc build failed: {exc}"[:300])
        path = [str(built), *filter(None, [os.environ.get("PYTHONPATH")])]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    with errfile.open("wb") as err:
        proc = subprocess.Popen(
            _command(consumer, replay, resources, n, scenario, timeout),
            stdout=subprocess.PIPE,
            stderr=err,
            env=env,
            cwd=REPO,
        )
    t0 = time.monotonic()
    killer = threading.Timer(timeout + 5, proc.kill)  # the consumers time out by themselves first
    killer.start()
    try:
        if consumer == "kubectl":
            out = _count_kubectl(proc, n, timeout)
        else:
            assert proc.stdout is not None
            lines = proc.stdout.read().decode().strip().splitlines()
            out = json.loads(lines[-1]) if lines else {"count": 0, "first": 0, "last": 0}
    finally:
        rss, cpu = _reap(proc)
        killer.cancel()
    if out.get("vmhwm_kb"):  # the consumer's own peak; wait4's also counts ours at the spawn
        rss = out["vmhwm_kb"] / 1024
    seconds = out["last"] - out["first"]
    ok = seconds > 0 and out["count"] >= n
    error = "" if ok else f"{out['count']} of {n} events: {errfile.read_text()[-300:].strip()}"
    rate = (out["count"] - 1) / seconds if ok else 0.0
    extra = {k: v for k, v in out.items() if k not in ("count", "start", "first", "last", "vmhwm_kb")}
    extra["wall_s"] = time.monotonic() - t0  # spawn to exit: what a time limit must allow
    return Result(consumer, run, int(out["count"]), rate, seconds, rss, cpu, error, extra)


FIRST_TIMEOUT = 600.0  # a consumer's first run: only a bound on a hang, whatever the machine
MARGIN = 4.0  # later runs may take this many times the consumer's slowest run so far


def limit(walls: list[float]) -> float:
    """The time limit of a consumer's next run, from its earlier runs in this invocation: the
    benchmark has no fixed idea of how fast the machine is."""
    return max(60.0, MARGIN * max(walls)) if walls else FIRST_TIMEOUT


def scenario(name: str, runs: int, n_by_stream: dict[str, int]) -> list[Result]:
    streams = STREAMS[name]
    n = sum(n_by_stream[s] for s in streams.split(","))
    replay = Replay(streams)
    results: list[Result] = []
    walls: dict[str, list[float]] = {}
    try:
        for run in range(runs):
            k = run % len(SCENARIOS[name])
            order = SCENARIOS[name][k:] + SCENARIOS[name][:k]  # rotate: no consumer always goes first
            for consumer in order:
                r = measure(consumer, replay, streams, n, run, name, limit(walls.get(consumer, [])))
                if not r.error:
                    walls.setdefault(consumer, []).append(r.extra["wall_s"])
                print(
                    f"  [{name}] run {run + 1}: {consumer:8} {r.events_per_s:9.0f} ev/s "
                    f"rss {r.rss_mb:7.0f} MB cpu {r.cpu_s:6.1f} s {r.error}",
                    file=sys.stderr,
                )
                results.append(r)
    finally:
        replay.close()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--scenario", default="all", choices=["all", *SCENARIOS])
    args = ap.parse_args()
    meta = json.loads((CACHE / "recording" / "meta.json").read_text())
    n_by_stream = {s: meta[s]["events"] for s in ("pods", "events")}
    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    out = {name: [asdict(r) for r in scenario(name, args.runs, n_by_stream)] for name in names}
    print(json.dumps({"recording": meta, "scenarios": out}, indent=1))


if __name__ == "__main__":
    main()
