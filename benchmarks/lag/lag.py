"""Capture lag on the real cluster: how long after a write does Faro hand it to the caller?

Why: throughput on a replay says nothing about latency under a live apiserver. A driver
patches an annotation (`bench.faro.dev/seq`, a unique number per write) on 50 ConfigMaps in
the namespace `bench-lag` at a fixed open-loop rate, and Faro (the library, in its own
process, with those ConfigMaps as primaries) records when each value reaches its on_event
callback. lag = on_event wall time - the driver's write completion time (the PATCH
response), matched by the annotation value; all processes read the same clock. A bare
control watcher (lagproc.py `rawwatch`) records the same values off the wire, so the
apiserver's own delivery delay and Faro's share of the lag are reported apart. Writes the
apiserver cannot absorb are not hidden: the achieved rate is reported next to the target,
and writes a watcher never saw are counted as missing.

Usage (standalone): python -m benchmarks.lag.lag [--runs 3] [--rates 100,500,1000] [--seconds 10]
(prints JSON). The namespace is deleted at the end.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from benchmarks.common.paths import REPO, module


def quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def _spawn(command: str, out: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        module("lag.lagproc", command, "--out", str(out)),
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _drive(rate: int, seconds: float, first_seq: int) -> dict[str, Any]:
    cmd = module("lag.lagproc", "drive", "--rate", str(rate), "--seconds", str(seconds))
    cmd += ["--first-seq", str(first_seq)]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 4 + 60)
    if p.returncode != 0:
        raise RuntimeError(f"driver at {rate}/s failed: {p.stderr.strip().splitlines()[-1:]}")
    return json.loads(p.stdout)  # type: ignore[no-any-return]


def _stats(d: dict[str, Any], faro: dict[str, float], raw: dict[str, float], run: int) -> dict[str, Any]:
    lags = [faro[s] - t for s, t in d["done"].items() if s in faro]
    raw_lags = [raw[s] - t for s, t in d["done"].items() if s in raw]
    own = [faro[s] - raw[s] for s in d["done"] if s in faro and s in raw]
    return {
        "run": run,
        "rate": d["rate"],
        "achieved": d["achieved"],
        "writes": len(d["done"]),
        "errors": d["errors"],
        "missing": len(d["done"]) - len(lags),
        "raw_missing": len(d["done"]) - len(raw_lags),
        "p50_ms": 1000 * quantile(lags, 0.50),
        "p99_ms": 1000 * quantile(lags, 0.99),
        "max_ms": 1000 * max(lags, default=float("nan")),
        "raw_p50_ms": 1000 * quantile(raw_lags, 0.50),
        "raw_p99_ms": 1000 * quantile(raw_lags, 0.99),
        "own_p50_ms": 1000 * quantile(own, 0.50),
        "own_p99_ms": 1000 * quantile(own, 0.99),
        "patch_p50_ms": d["patch_p50_ms"],
        "patch_p99_ms": d["patch_p99_ms"],
        "driver_cpu_share": d["driver_cpu_s"] / d["seconds"],
    }


def run_lag(rates: list[int], seconds: float, run: int = 0) -> list[dict[str, Any]]:
    """Both watchers, then one driver process per rate; returns per-rate statistics."""
    tmp = Path(tempfile.mkdtemp(prefix="faro-lag-"))
    _drive(1, 1, 0)  # the namespace and ConfigMaps exist before the watchers list them
    watchers = {name: _spawn(name, tmp / f"{name}.json") for name in ("watch", "rawwatch")}
    drives = []
    try:
        for name, w in watchers.items():
            assert w.stdout is not None
            if w.stdout.readline().strip() != "ready":
                raise RuntimeError(f"the {name} process did not become ready")
        for k, rate in enumerate(rates):
            drives.append(_drive(rate, seconds, (k + 1) * 10_000_000))
        time.sleep(3)  # let the watchers catch up with the last writes
    finally:
        for w in watchers.values():
            assert w.stdin is not None
            w.stdin.close()
        for w in watchers.values():
            w.wait(timeout=60)
    faro = orjson.loads((tmp / "watch.json").read_bytes())["received"]
    raw = orjson.loads((tmp / "rawwatch.json").read_bytes())["received"]
    return [_stats(d, faro, raw, run) for d in drives]


def cleanup() -> None:
    subprocess.run(module("lag.lagproc", "cleanup"), check=False, capture_output=True, cwd=REPO)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rates", default="100,500,1000")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    try:
        rates = [int(r) for r in args.rates.split(",")]
        stats = [s for run in range(args.runs) for s in run_lag(rates, args.seconds, run)]
    finally:
        cleanup()
    print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
