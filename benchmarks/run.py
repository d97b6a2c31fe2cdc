"""Regenerate the benchmarks of docs/benchmarks.md with one command, part by part.

Why: benchmark numbers are only worth something if anyone can reproduce them, on any machine,
without knowing the steps. This builds what is missing (the Go replay server and informer into
~/.cache/faro/bench/bin, py-spy into the venv), records and synthesizes the watch recording if it
is not cached (ingest/record.py, synth.py: needs the local cluster), then runs the parts:

- ingest: throughput of every consumer on the replay (ingest/throughput.py; replay server, no cluster)
- profile: py-spy on the Faro consumer (diagnostics/hotspots.py; replay server)
- stages: in-process cost of each stage of recording a pod change (ingest/stages.py)
- compiled: the same stages on a copy compiled by mypyc (diagnostics/compiled.py; a diagnostic)
- lag: capture lag on the real cluster (lag/lag.py; needs the testbed cluster)

Each part's results are saved in ~/.cache/faro/bench/results.json as soon as it finishes; a part
that fails is recorded as "part X failed: reason" (in the results and on the page) and the others
still run; `--only` runs some parts and keeps the others' saved results. Time limits follow what
the run measures: each ingest consumer's later runs get 4x its slowest run so far, and the profile
gets 3x the Faro consumer's measured ingest time (plus a minute) rather than a fixed figure. Then
the generated parts of the page are rewritten (ingest/report.py); its prose is hand-written.

Usage:  .venv/bin/python -m benchmarks.run [--only PART[,PART]] [--runs 3] [--lag-seconds 10]
        [--rerecord] [--report-only] [--results FILE] [--page FILE]
        (or `make bench ARGS="--only ingest"`; `python benchmarks/run.py` also works)
Defaults: KUBECONFIG = the testbed cluster's, kubectl from the testbed's bin directory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: start again as the module, from the repository
    _repo = Path(__file__).resolve().parent.parent
    os.chdir(_repo)
    os.execv(sys.executable, [sys.executable, "-m", "benchmarks.run", *sys.argv[1:]])

from benchmarks.common import turns
from benchmarks.common.machine import load, machine, sh
from benchmarks.common.paths import BIN, CACHE, GO_SOURCES, REPO, module, testbed_env
from benchmarks.common.results import Results, now
from benchmarks.common.snapshot import snapshot_source, tree_digest

PARTS = ("ingest", "profile", "stages", "compiled", "lag")
PROFILE_MARGIN = 3.0  # py-spy slowed Faro about 2x where the page was made
DEFAULT_PROFILE_TIMEOUT = 900.0  # when no ingest time of the Faro consumer is known


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def build(names: tuple[str, ...] = ("replay", "informer"), py_spy: bool = True) -> None:
    """Go binaries are rebuilt when their source is newer than the binary."""
    BIN.mkdir(parents=True, exist_ok=True)
    for name in names:
        src, binary = GO_SOURCES[name], BIN / name
        newest = max(p.stat().st_mtime for p in src.iterdir())
        if not binary.exists() or binary.stat().st_mtime < newest:
            log(f"building {name} ...")
            sh("go", "build", "-o", str(binary), ".", cwd=src)
    if py_spy and not (Path(sys.executable).parent / "py-spy").exists():
        log("installing py-spy into the venv ...")
        sh(sys.executable, "-m", "pip", "install", "-q", "py-spy")


def recording(rerecord: bool) -> None:
    if rerecord or not (CACHE / "sample" / "pods.jsonl").exists():
        log("recording a real sample on the cluster (about 1 minute) ...")
        subprocess.run(module("ingest.record"), check=True, cwd=REPO)
    # a recording from before the pods' owners were listed is synthesized again
    if rerecord or not (CACHE / "recording" / "lists").exists():
        subprocess.run(module("ingest.synth"), check=True, cwd=REPO)


def _json(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    done = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=REPO, env=env)
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise RuntimeError(f"{' '.join(cmd[2:4])}: {tail[0]}")
    return dict(json.loads(done.stdout))


def part_ingest(res: Results, runs: int) -> dict[str, Any]:
    from benchmarks.ingest import throughput

    build(py_spy=False)
    meta = json.loads((CACHE / "recording" / "meta.json").read_text())
    n = {s: meta[s]["events"] for s in ("pods", "events")}
    out: dict[str, Any] = {}
    for name in throughput.SCENARIOS:
        log(f"ingest: {name}, {runs} runs")
        out[name] = [r.__dict__ for r in throughput.scenario(name, runs, n)]
    return {"recording": meta, "ingest": out}


def profile_timeout(res: Results) -> float:
    """From the Faro consumer's own measured ingest run (this invocation's or the saved one's)."""
    rows = [r for r in (res.data.get("ingest") or {}).get("pods", []) if r["consumer"] == "faro"]
    walls = [r["extra"].get("wall_s") or r["seconds"] for r in rows if not r["error"]]
    return 60 + PROFILE_MARGIN * max(walls) if walls else DEFAULT_PROFILE_TIMEOUT


def part_profile(res: Results) -> dict[str, Any]:
    from benchmarks.diagnostics import hotspots

    build()
    meta = json.loads((CACHE / "recording" / "meta.json").read_text())
    timeout = profile_timeout(res)
    log(f"profile: py-spy on Faro (time limit {timeout:.0f} s)")
    return {"profile": hotspots.profile(meta["pods"]["events"], timeout=timeout)}


def part_stages() -> dict[str, Any]:
    log("stages: in-process cost per pod event")
    return {"stages": _json(module("ingest.stages"))}


def part_compiled() -> dict[str, Any]:
    """ingest/stages.py's pod-event stages on the mypyc-compiled copy of the snapshot."""
    from benchmarks.diagnostics import compiled

    log("compiled: the stages again, compiled with mypyc (diagnostic)")
    path = os.pathsep.join([str(compiled.build()), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env = {**os.environ, "PYTHONPATH": path}
    return {"stages_mypyc": _json(module("ingest.stages", "--no-log-lines"), env=env)}


def part_lag(runs: int, seconds: float, rates: list[int]) -> dict[str, Any]:
    from benchmarks.lag import lag

    turns.take_turn()  # the cluster: one runner at a time (scale_logs/run.py uses it too)
    out: list[dict[str, Any]] = []
    try:
        for run in range(runs):
            log(f"lag: run {run + 1}, rates {rates}, {seconds:.0f} s each")
            out += lag.run_lag(rates, seconds, run)
    finally:
        lag.cleanup()
    return {"lag": out}


def parse_parts(text: str) -> list[str]:
    parts = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown part(s) {', '.join(unknown)}; the parts: {', '.join(PARTS)}"
        )
    return parts


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--only", type=parse_parts, help=f"run these parts only (of {','.join(PARTS)})")
    ap.add_argument("--skip", type=parse_parts, default=[], help="run every part but these")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lag-seconds", type=float, default=10)
    ap.add_argument("--lag-rates", default="100,500,1000")
    ap.add_argument("--skip-lag", action="store_true", help="the same as --skip lag")
    ap.add_argument("--rerecord", action="store_true", help="record the real sample again")
    ap.add_argument("--report-only", action="store_true", help="rewrite the page from the saved results")
    ap.add_argument("--results", type=Path, default=CACHE / "results.json")
    ap.add_argument("--page", type=Path, default=REPO / "docs" / "benchmarks.md")
    ap.add_argument("--fail", type=parse_parts, default=[], help=argparse.SUPPRESS)  # tests the runner
    args = ap.parse_args()
    testbed_env()
    from benchmarks.ingest import report

    res = Results(args.results)
    if not args.report_only:
        chosen = [
            p for p in (args.only or PARTS) if p not in args.skip and not (args.skip_lag and p == "lag")
        ]
        digest = snapshot_source()  # the source as launched; every part's children import this copy
        t0 = time.time()
        m = machine()
        context = {"machine": m, "source": digest}
        ok = True
        if {"ingest", "profile"} & set(chosen) or args.rerecord:
            ok = res.run_part("recording", lambda: recording(args.rerecord) or {}, context, log)
        rates = [int(r) for r in args.lag_rates.split(",")]
        steps = {
            "ingest": lambda: part_ingest(res, args.runs),
            "profile": lambda: part_profile(res),
            "stages": part_stages,
            "compiled": part_compiled,
            "lag": lambda: part_lag(args.runs, args.lag_seconds, rates),
        }
        failed: list[str] = [] if ok else ["recording"]
        for name in chosen:
            step = steps[name]
            if name in args.fail:
                step = _injected(name)
            if name in ("ingest", "profile") and not ok:
                step = _injected(name, "the recording is missing (part recording failed)")
            if not res.run_part(name, step, {**context, "machine": {**m, "load_before": load()}}, log):
                failed.append(name)
            else:
                res.data["parts"][name]["machine"]["load_after"] = load()
        res.set("source", {"snapshot": digest, "tree_after": tree_digest()})
        last = {"date": now(), "parts": chosen, "failed": failed, "duration_s": time.time() - t0}
        res.set("last_run", last)
        res.save()
        log(f"results: {args.results}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    kept = report.write(args.results, args.page)
    log(
        f"wrote {args.page}"
        + (f" (blocks without results, kept as they were: {', '.join(kept)})" if kept else "")
    )
    if not args.report_only and failed:
        sys.exit(1)


def _injected(name: str, reason: str = "") -> Any:
    def fail() -> dict[str, Any]:
        raise RuntimeError(reason or f"failure injected with --fail {name}")

    return fail


if __name__ == "__main__":
    main()
