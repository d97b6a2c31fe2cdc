"""Profile Faro's ingest path on the replay, and say where the time goes.

Why: when Faro misses a throughput goal, the report must name the costs, not guess. This
runs the Faro consumer (consumers.py) on the "pods" replay under py-spy, a sampling profiler
outside the process (so pure-Python hot spots are not inflated by the profiler's own
overhead, as a tracing profiler would do), with native frames, so that time spent in
CPython's cyclic garbage collector and inside orjson is visible as such. Only the main
thread's samples count (aiohttp's resolver thread is idle). It also measures, with
tracemalloc, how many bytes of Python heap one recorded pod takes, parsed and as a story
keeps it.

Self time is charged to the innermost Python function, with the native library it was in
when that was not the interpreter itself (e.g. "Reflector._watch > orjson" is orjson.loads);
any sample inside gc_collect_main is charged to the GC whatever triggered it.

Usage: python -m benchmarks.diagnostics.hotspots [--rate 250] [--timeout 600]
(prints JSON; needs py-spy in the venv)
"""

from __future__ import annotations

import argparse
import collections
import json
import re
import shutil
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

from benchmarks.common.paths import CACHE, REPO, SCRATCH, module
from benchmarks.ingest.throughput import Replay

GC = "CPython cyclic GC (gc_collect_main)"
_PYFRAME = re.compile(r"^(?P<func>[^ ]+) \((?P<file>[^)]+\.py):\d+\)$")
_NATIVE = re.compile(r"^(?P<func>[^ ]+) \((?P<lib>[^)]+)\)$")


def _py_name(frame: str) -> str | None:
    m = _PYFRAME.match(frame)
    if not m:
        return None
    file = m["file"]
    file = file.split("site-packages/")[-1] if "site-packages/" in file else file
    return f"{m['func']} ({file})"


def _lib(frame: str) -> str:
    m = _NATIVE.match(frame)
    lib = m["lib"] if m else frame
    return Path(lib).name.split(".")[0].split("/")[-1]


def analyse(raw: Path, top: int = 15, main: str = "consumers.py:", counts: bool = False) -> dict[str, Any]:
    """Self and inclusive time of the main thread (its stacks pass through `main`, the
    script's own file); with `counts`, the raw self-time sample counts too."""
    self_t: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, n = line.rpartition(" ")
        frames = stack.split(";")
        if not any(main in f for f in frames) or any("Thread._bootstrap" in f for f in frames):
            continue  # not the main thread
        count = int(n)
        total += count
        names = [_py_name(f) for f in frames]
        for name in {x for x in names if x}:
            incl[name] += count
        if any(f.startswith("gc_collect_main") for f in frames):
            self_t[GC] += count
            incl[GC] += count
            continue
        last = max(i for i, x in enumerate(names) if x)
        label = names[last] or "?"
        if last + 1 < len(frames):
            lib = _lib(frames[last + 1])
            if not lib.startswith("libpython") and lib != "python3":
                label += f" > {lib}"
        self_t[label] += count

    def pct(c: collections.Counter[str], k: int) -> list[dict[str, Any]]:
        return [{"function": f, "pct": round(100 * n / total, 1)} for f, n in c.most_common(k)]

    faro_incl = collections.Counter(
        {
            k: v
            for k, v in incl.items()
            if ("faro/" in k and not k.startswith("<module>")) or k == GC or k.startswith("wait_for (asyncio")
        }
    )
    out = {"samples": total, "self": pct(self_t, top), "inclusive": pct(faro_incl, top + 5)}
    if counts:
        out["self_counts"] = dict(self_t)
    return out


def object_sizes(sample: Path, n: int = 100_000) -> dict[str, float]:
    """Python heap bytes per recorded pod event: parsed by orjson, and as a story keeps it
    (Faro's strip_object: managedFields dropped), from tracemalloc."""
    import orjson

    from faro.capture.fold.redact import strip_object

    lines = (sample / "pods.jsonl").read_bytes().splitlines()[:n]
    tracemalloc.start()
    objs = [orjson.loads(x) for x in lines]
    parsed, _ = tracemalloc.get_traced_memory()
    kept = [strip_object(o["object"]) for o in objs]
    del objs
    stripped, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    k = len(lines)
    return {"json": sum(map(len, lines)) / k, "parsed": parsed / k, "stripped": stripped / k}


def profile(n: int, rate: int = 250, timeout: float = 600) -> dict[str, Any]:
    """The Faro consumer on the pods replay under py-spy; `timeout` bounds the whole profiled
    run (run.py derives it from the same consumer's measured ingest time)."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise RuntimeError("py-spy is not installed: .venv/bin/pip install py-spy")
    replay = Replay("pods")
    raw = SCRATCH / "faro-profile.txt"
    try:
        spy_args = ["record", "--native", "-r", str(rate), "-f", "raw", "-o", str(raw), "--"]
        faro = ["faro", "--server", replay.url, "--kubeconfig", str(replay.kubeconfig), "--n", str(n)]
        faro += ["--timeout", str(timeout)]
        cmd = [spy, *spy_args, *module("ingest.consumers", *faro)]
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 30, cwd=REPO)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"the profiled Faro run took over {timeout + 30:.0f} s") from None
        line = next((x for x in p.stdout.splitlines() if x.startswith("{")), None)
        if line is None:
            raise RuntimeError(f"py-spy exited {p.returncode}: {p.stderr.strip()[-300:]}")
        result = json.loads(line)
    finally:
        replay.close()
    if result["count"] < n:
        raise RuntimeError(f"the profiled Faro handled {result['count']} of {n} events in {timeout:.0f} s")
    out = analyse(raw)
    out["events_per_s_under_profiler"] = (result["count"] - 1) / (result["last"] - result["first"])
    # in a child: it must import the Faro being measured (the snapshot on PYTHONPATH)
    sizes = subprocess.run(
        module("diagnostics.hotspots", "--object-sizes"), capture_output=True, text=True, check=True, cwd=REPO
    )
    out["object_bytes"] = json.loads(sizes.stdout)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rate", type=int, default=250, help="samples per second")
    ap.add_argument("--raw", type=Path, help="only analyse an existing py-spy raw file")
    ap.add_argument("--object-sizes", action="store_true", help="only the tracemalloc sizes of a pod")
    ap.add_argument("--timeout", type=float, default=600, help="seconds for the profiled run")
    args = ap.parse_args()
    if args.raw:
        print(json.dumps(analyse(args.raw), indent=1))
        return
    if args.object_sizes:
        print(json.dumps(object_sizes(CACHE / "sample")))
        return
    meta = json.loads((CACHE / "recording" / "meta.json").read_text())
    print(json.dumps(profile(meta["pods"]["events"], args.rate, args.timeout), indent=1))


if __name__ == "__main__":
    main()
