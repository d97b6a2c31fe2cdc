"""Regenerate the scale and log-stream benchmarks and docs/benchmarks-scale-logs.md.

Why: these two numbers — what Faro costs in a big cluster where it captures little, and
whether it keeps up with hundreds of log streams without losing a line — decide whether it
can be left running. One command rebuilds what is missing (stern v1.33.0 from its Go module
and the Go log writer, into ~/.cache/faro/bench/bin), waits while another benchmark
(benchmarks.run) is using the cluster, then:
- scale.py: creates 5,000 bare pods (500 namespaces) + 5 `bench-primary` Deployments, measures
  Faro --runs times, creates 5,000 more while a Faro runs (RSS before/after), measures Faro
  --runs times at 10,000 pods, deletes the namespaces;
- logstreams.py: for each rate, --runs trials of Faro and of stern on 500 pods; then two
  diagnostic Faro trials (diagnostics/logdiag.py): py-spy at the highest rate, tracemalloc at the
  lowest;
and writes the results (~/.cache/faro/bench/scale-logs.json) and the page's generated blocks
(scale_logs/report.py).

Usage:  .venv/bin/python -m benchmarks.scale_logs.run --inotify-instances 1024 [--runs 3] [--pods 10000]
        [--idle 60] [--rates 5000,20000] [--seconds 20] [--found-runs 1] [--skip-scale] [--skip-logs]
        [--report-only]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.common import turns
from benchmarks.common.paths import CACHE, GO_SOURCES, REPO
from benchmarks.common.snapshot import snapshot_source
from benchmarks.scale_logs import logstreams, scale
from benchmarks.scale_logs import report as report_scale_logs
from faro.errors import ApiError, KubeError

RESULTS = CACHE / "scale-logs.json"
INOTIFY = Path("/proc/sys/fs/inotify/max_user_instances")


def sh(*cmd: str, cwd: Path | None = None) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def build() -> None:
    (CACHE / "bin").mkdir(parents=True, exist_ok=True)
    if not logstreams.STERN.exists():
        print("building stern v1.33.0 ...", file=sys.stderr)
        env = {**os.environ, "GOBIN": str(CACHE / "bin")}
        subprocess.run(["go", "install", "github.com/stern/stern@v1.33.0"], check=True, env=env, cwd="/tmp")
    src = GO_SOURCES["logwriter"]
    newest = max(p.stat().st_mtime for p in src.iterdir())
    if not logstreams.WRITER.exists() or logstreams.WRITER.stat().st_mtime < newest:
        sh("go", "build", "-o", str(logstreams.WRITER), ".", cwd=src)


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((x.split(":", 1)[1].strip() for x in cpuinfo if x.startswith("model name")), "?")
    mem = next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal"))
    kubectl = json.loads(sh("kubectl", "version", "-o", "json"))
    return {
        "cpu": cpu,
        "nproc": int(sh("nproc")),
        "mem_gib": int(mem.split()[1]) / 2**20,
        "python": f"{platform.python_version()} ({platform.python_implementation()})",
        "go": sh("go", "version").removeprefix("go version "),
        "faro": sh(sys.executable, "-c", "import faro; print(faro.__version__)"),
        "server": kubectl.get("serverVersion", {}).get("gitVersion", "?"),
        "inotify_max_user_instances": int(Path("/proc/sys/fs/inotify/max_user_instances").read_text()),
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "source": source_digest(),
        "snapshot": bool(SNAPSHOT),
    }


SNAPSHOT: list[str] = []  # the digest of the copy of src/faro being measured (common/snapshot.py)


def source_digest() -> str:
    """Which Faro was measured: the snapshot's digest, or a hash of the working tree."""
    if SNAPSHOT:
        return SNAPSHOT[0]
    h = hashlib.sha256()
    for p in sorted((REPO / "src" / "faro").rglob("*.py")):
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def run_scale(runs: int, pods: int, idle: float) -> dict[str, Any]:
    half = pods // scale.PER_NS // 2
    out: dict[str, Any] = {"pods": pods, "populate": [], "small": [], "large": []}
    try:
        print(f"scale: creating {half * scale.PER_NS} pods in {half} namespaces", file=sys.stderr)
        out["populate"].append(asyncio.run(scale.populate(0, half)))
        for run in range(runs):
            print(f"scale: Faro at {half * scale.PER_NS} pods, run {run + 1}", file=sys.stderr)
            out["small"].append(measured(lambda _: scale.measure(min(idle, 20))))
        print(f"scale: Faro running while {half * scale.PER_NS} more pods are created", file=sys.stderr)
        out["grow"] = measured(lambda _: scale.measure(20, 10, (half, 2 * half)))
        out["populate"].append(out["grow"]["grow"])
        for run in range(runs):
            print(f"scale: Faro at {2 * half * scale.PER_NS} pods, run {run + 1}", file=sys.stderr)
            out["large"].append(measured(lambda _: scale.measure(idle)))
    finally:
        print("scale: deleting the namespaces", file=sys.stderr)
        out["delete_s"] = asyncio.run(scale.delete_namespaces(scale.PREFIX))  # retries by itself
    return out


def measured(fn: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    """One measurement fn(attempt), again (up to 3 times) if the shared cluster went away under it."""
    for attempt in range(3):
        try:
            return {**guard(), **fn(attempt)}
        except Exception as exc:
            print(f"measurement failed ({exc!r}); measuring again in 30 s", file=sys.stderr)
            time.sleep(30)
    raise RuntimeError("a measurement failed 3 times")


def guard() -> dict[str, Any]:
    """What else loads the machine as this measurement starts (benchmarks/run.py cannot: turns.py)."""
    tests = subprocess.run(["pgrep", "-f", "pytest"], capture_output=True).returncode == 0
    return {"load1": os.getloadavg()[0], "tests_running": tests}


def run_logs(
    runs: int, rates: list[int], seconds: float, limit: int | None, diag: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Trials of both consumers per rate; with `limit`, fs.inotify.max_user_instances is raised
    for the duration (the fake kubelet, like a kubelet, needs one inotify instance per follow
    stream) and restored afterwards. With `diag`, the diagnostic trials go into it."""
    original, trials = int(INOTIFY.read_text()), []
    try:
        if limit:
            INOTIFY.write_text(str(limit))
        for rate in rates:
            for run in range(runs):
                for kind in ("faro", "stern") if run % 2 == 0 else ("stern", "faro"):
                    name = f"{kind[0]}{rate // 1000}k{run}i{limit or original}"
                    print(
                        f"logs: {kind} at {rate} lines/s, run {run + 1}, inotify {limit or original}",
                        file=sys.stderr,
                    )
                    go = functools.partial(logstreams.trial, kind, rate, seconds)
                    one = measured(lambda k, go=go, name=name: go(f"{name}r{k}"))
                    trials.append({"run": run, "inotify_limit": int(INOTIFY.read_text()), **one})
        for what, rate in (("profile", max(rates)), ("memory", min(rates))) if diag is not None else ():
            print(f"logs: diagnostic Faro trial ({what}) at {rate} lines/s", file=sys.stderr)
            go = functools.partial(logstreams.trial, "faro", rate, seconds, diag=what)
            assert diag is not None
            diag[what] = measured(lambda k, go=go, name=f"d{what[0]}{rate // 1000}k": go(f"{name}r{k}"))
    finally:
        INOTIFY.write_text(str(original))
        print("logs: deleting the namespaces", file=sys.stderr)
        asyncio.run(scale.delete_namespaces("bench-logs-"))
        for ns in logstreams.NAMESPACES:
            shutil.rmtree(logstreams.LOGDIR / ns, ignore_errors=True)
    return trials


async def delete_node() -> None:
    async with await scale.connect() as kc:
        for _ in range(60):  # through an apiserver restart by someone else's test
            try:
                await kc.request_json("DELETE", f"/api/v1/nodes/{scale.NODE}")
                return
            except KubeError as exc:
                if isinstance(exc, ApiError) and exc.status == 404:
                    return
                await asyncio.sleep(5)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pods", type=int, default=10_000)
    ap.add_argument("--idle", type=float, default=60)
    ap.add_argument("--rates", default="5000,20000")
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--inotify-instances", type=int, default=0, help="raise the limit for the log trials")
    ap.add_argument("--found-runs", type=int, default=1, help="log trials at the limit as found first")
    ap.add_argument("--skip-scale", action="store_true")
    ap.add_argument("--skip-logs", action="store_true")
    ap.add_argument("--report-only", action="store_true", help="rewrite the page from the saved results")
    a = ap.parse_args()
    scale.env()
    if not a.report_only:
        # Faro runs as child processes (scale.py faro, logstreams.py): they import the copy.
        SNAPSHOT.append(snapshot_source())
        build()
        turns.take_turn()
        t0 = time.time()
        old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
        res: dict[str, Any] = {
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        res["args"] = {k: v for k, v in vars(a).items() if k != "report_only"}
        res["scale"], res["logs"] = old.get("scale"), old.get("logs", [])
        # which invocation measured each part (a part skipped now keeps its earlier numbers)
        res["parts"] = dict(old.get("parts") or {})
        part = {"date": res["date"], "args": res["args"], "source": res["machine"]["source"]}

        def save() -> None:  # after each phase: a crash later loses nothing measured
            res["machine"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
            res["machine"]["source_after"] = source_digest()
            res["duration_s"] = time.time() - t0
            RESULTS.write_text(json.dumps(res, indent=1))

        try:
            if not a.skip_scale:
                res["scale"] = run_scale(a.runs, a.pods, a.idle)
                res["parts"]["scale"] = part
                save()
            rates = [int(r) for r in a.rates.split(",")]
            if not a.skip_logs:  # as found first (a diagnostic: 1 run, lowest rate), then raised
                found = run_logs(a.found_runs, rates[:1], a.seconds, None) if a.inotify_instances else []
                res["log_diag"] = {}
                limit = a.inotify_instances or None
                res["logs"] = found + run_logs(a.runs, rates, a.seconds, limit, res["log_diag"])
                res["parts"]["logs"] = part
                save()
        finally:
            asyncio.run(delete_node())
        print(f"results: {RESULTS}", file=sys.stderr)
    out = REPO / "docs" / "benchmarks-scale-logs.md"
    kept = report_scale_logs.write(json.loads(RESULTS.read_text()) if RESULTS.exists() else {}, out)
    print(f"wrote {out}" + (f" (kept as they were: {', '.join(kept)})" if kept else ""), file=sys.stderr)


if __name__ == "__main__":
    main()
