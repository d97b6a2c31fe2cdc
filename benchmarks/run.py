"""Regenerate every benchmark and docs/benchmarks.md with one command.

Why: benchmark numbers are only worth something if anyone can reproduce them, on any
machine, without knowing the steps. This builds what is missing (the Go replay server and
informer into ~/.cache/faro/bench/bin, py-spy into the venv), records and synthesizes the
watch recording if it is not cached (record.py, synth.py: needs the local cluster), then
runs the ingest benchmark (ingest.py), the profile (hotspots.py), the in-process cost of
each stage of recording a pod change (stages.py; again on a copy compiled by mypyc,
compiled.py, a diagnostic) and the capture lag
benchmark on the real cluster (lag.py), saves results.json next to the recording and writes
the page (report.py). Each measurement is bounded (every consumer run < 2 minutes).

Usage:  .venv/bin/python benchmarks/run.py [--runs 3] [--lag-seconds 10] [--skip-lag]
        [--rerecord] [--report-only]
Defaults: KUBECONFIG = the testbed cluster's, kubectl from the testbed's bin directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
CACHE = Path.home() / ".cache/faro/bench"
TESTBED_KUBECONFIG = Path.home() / ".cache/faro/kwok/clusters/faro/kubeconfig.yaml"


def _env() -> None:
    os.environ.setdefault("KUBECONFIG", str(TESTBED_KUBECONFIG))
    bins = sorted((Path.home() / ".cache/faro/testbed").glob("*/bin"))
    if bins:
        os.environ["PATH"] = f"{bins[-1]}:{os.environ['PATH']}"


def _sh(*cmd: str, cwd: Path | None = None) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def build() -> None:
    """Go binaries are rebuilt when their source is newer than the binary."""
    (CACHE / "bin").mkdir(parents=True, exist_ok=True)
    for name in ("replay", "informer"):
        src, binary = HERE / name, CACHE / "bin" / name
        newest = max(p.stat().st_mtime for p in src.iterdir())
        if not binary.exists() or binary.stat().st_mtime < newest:
            print(f"building {name} ...", file=sys.stderr)
            _sh("go", "build", "-o", str(binary), ".", cwd=src)
    if not (Path(sys.executable).parent / "py-spy").exists():
        print("installing py-spy into the venv ...", file=sys.stderr)
        _sh(sys.executable, "-m", "pip", "install", "-q", "py-spy")


def recording(rerecord: bool) -> None:
    if rerecord or not (CACHE / "sample" / "pods.jsonl").exists():
        print("recording a real sample on the cluster (about 1 minute) ...", file=sys.stderr)
        subprocess.run([sys.executable, str(HERE / "record.py")], check=True)
    # a recording from before the pods' owners were listed is synthesized again
    if rerecord or not (CACHE / "recording" / "lists").exists():
        subprocess.run([sys.executable, str(HERE / "synth.py")], check=True)


def snapshot_source() -> str:
    """Measure one version of Faro: the working tree may be edited while the suite runs (15
    minutes), so src/faro is copied once, named by its digest, and put first on the path of
    this process and of every child (PYTHONPATH beats the editable install's .pth entry)."""
    import hotspots

    tmp = CACHE / "src" / f"tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(REPO / "src" / "faro", tmp / "faro", ignore=shutil.ignore_patterns("__pycache__"))
    digest = hotspots.source_digest(tmp / "faro")
    dest = CACHE / "src" / digest
    if dest.exists():
        shutil.rmtree(tmp)
    else:
        tmp.rename(dest)
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(dest), os.environ.get("PYTHONPATH")]))
    sys.path.insert(0, str(dest))
    return digest


def compiled_stages() -> dict[str, Any]:
    """stages.py's pod-event stages on the mypyc-compiled copy of the snapshot."""
    import compiled

    path = os.pathsep.join([str(compiled.build()), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    cmd = [sys.executable, str(HERE / "stages.py"), "--no-log-lines"]
    done = subprocess.run(
        cmd, env={**os.environ, "PYTHONPATH": path}, check=True, capture_output=True, text=True
    )
    return dict(json.loads(done.stdout))


def machine() -> dict[str, Any]:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    mem_kb = int(
        next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1]
    )
    faro = _sh(sys.executable, "-c", "import faro; print(faro.__version__)")
    kubectl = json.loads(_sh("kubectl", "version", "--client", "-o", "json"))["clientVersion"]["gitVersion"]
    return {
        "cpu": cpu,
        "nproc": int(_sh("nproc")),
        "mem_gib": mem_kb / 2**20,
        "python": platform.python_version() + f" ({platform.python_implementation()})",
        "go": _sh("go", "version").removeprefix("go version "),
        "faro": faro,
        "kubectl": kubectl,
        "load_before": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--lag-seconds", type=float, default=10)
    ap.add_argument("--lag-rates", default="100,500,1000")
    ap.add_argument("--skip-lag", action="store_true")
    ap.add_argument("--rerecord", action="store_true", help="record the real sample again")
    ap.add_argument("--report-only", action="store_true", help="rewrite the doc from results.json")
    args = ap.parse_args()
    _env()
    sys.path.insert(0, str(HERE))
    import report

    results_file = CACHE / "results.json"
    if not args.report_only:
        import hotspots
        import ingest
        import lag
        import turns

        digest = snapshot_source()  # the source as launched, even if it waits for its turn
        turns.take_turn()
        t0 = time.time()
        build()
        recording(args.rerecord)
        res: dict[str, Any] = {
            "machine": machine(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        }
        meta = json.loads((CACHE / "recording" / "meta.json").read_text())
        n = {s: meta[s]["events"] for s in ("pods", "events")}
        res["recording"] = meta
        res["ingest"] = {}
        for name in ingest.SCENARIOS:
            print(f"ingest: {name}, {args.runs} runs", file=sys.stderr)
            res["ingest"][name] = [r.__dict__ for r in ingest.scenario(name, args.runs, n)]
        print("profile: py-spy on Faro", file=sys.stderr)
        res["profile"] = hotspots.profile(n["pods"])
        print("stages: in-process cost per pod event", file=sys.stderr)
        res["stages"] = json.loads(_sh(sys.executable, str(HERE / "stages.py")))
        print("stages: the same, compiled with mypyc (diagnostic)", file=sys.stderr)
        res["stages_mypyc"] = compiled_stages()
        res["lag"] = []
        if not args.skip_lag:
            rates = [int(r) for r in args.lag_rates.split(",")]
            try:
                for run in range(args.runs):
                    print(
                        f"lag: run {run + 1}, rates {rates}, {args.lag_seconds:.0f} s each", file=sys.stderr
                    )
                    res["lag"] += lag.run_lag(rates, args.lag_seconds, run)
            finally:
                lag.cleanup()
        res["machine"]["load_after"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        res["source"] = {"snapshot": digest, "tree_after": hotspots.source_digest(REPO / "src" / "faro")}
        res["duration_s"] = time.time() - t0
        results_file.write_text(json.dumps(res, indent=1))
        print(f"results: {results_file}", file=sys.stderr)
    out = REPO / "docs" / "benchmarks.md"
    out.write_text(report.render(json.loads(results_file.read_text())))
    print(f"wrote {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
