"""Where Faro's CPU and memory go on 500 log streams: py-spy and tracemalloc, one trial each.

Why: on the log trials Faro uses about twice stern's CPU and several times its memory, and the
benchmark's brief is to name the top costs where Faro falls short, measured, not guessed. Both
tools slow Faro down, so each runs in a diagnostic trial of its own, after the measured ones,
and none of their numbers stands in for a measured one.
- profile: the Faro child runs under `py-spy record --native` (outside the process, so the
  profiler does not inflate pure-Python code); hotspots.analyse reads the main thread's samples.
  Self time is also summed into where it went: the I/O path (event loop, TLS, aiohttp), Faro's
  own code, the trial's on_event counter, the cyclic GC.
- memory: the Faro child runs with tracemalloc; once it has caught up with the writer, SIGUSR1
  makes it write its live Python heap by allocation site (the allocating line and the innermost
  Faro frame above it). What the RSS holds beyond the traced heap is native: OpenSSL's state
  per connection, the interpreter, allocator slack, and tracemalloc's own bookkeeping.
"""

from __future__ import annotations

import collections
import gc
import json
import linecache
import os
import re
import shutil
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import psutil

from benchmarks.diagnostics import hotspots

PROFILE_RATE = 100  # samples/s: 500 streams at 20k lines/s is a busy process; keep py-spy light
FRAMES = 8  # tracemalloc frames per allocation: deep enough to reach Faro from asyncio's internals
ENV = "FARO_BENCH_TRACEMALLOC"  # set for the child: the file to write the heap into

BUCKETS = (
    ("I/O path: event loop, TLS, aiohttp", ("asyncio/", "ssl.py", "selectors.py", "aiohttp/", "socket")),
    ("Faro's own code (faro/)", ("faro/",)),
    ("the trial's on_event counter (benchmark)", ("logstreams.py",)),
)


def spy_prefix(raw: Path) -> list[str]:
    """The command prefix that runs a process under py-spy, writing raw stacks to `raw`."""
    spy = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: .venv/bin/pip install py-spy")
    return [spy, "record", "--native", "-r", str(PROFILE_RATE), "-f", "raw", "-o", str(raw), "--"]


def bucket(label: str) -> str:
    if label == hotspots.GC:
        return label
    for name, marks in BUCKETS:
        if any(m in label for m in marks):
            return name
    return "other (interpreter, start-up, imports)"


def profile(raw: Path) -> dict[str, Any]:
    """hotspots.analyse of the Faro child's main thread, plus self time by bucket."""
    out = hotspots.analyse(raw, top=15, main="logstreams.py:", counts=True)
    sums: collections.Counter[str] = collections.Counter()
    for label, n in out.pop("self_counts").items():
        sums[bucket(label)] += n
    total = out["samples"] or 1
    out["buckets"] = [{"where": k, "pct": round(100 * v / total, 1)} for k, v in sums.most_common()]
    return out


def start_tracing() -> Path | None:
    """In the Faro child: trace allocations from here on, and dump them on SIGUSR1."""
    dest = os.environ.get(ENV)
    if not dest:
        return None
    tracemalloc.start(FRAMES)
    signal.signal(signal.SIGUSR1, lambda *_: _dump(Path(dest)))
    return Path(dest)


def _site(tb: tracemalloc.Traceback) -> tuple[str, str]:
    """(allocating line, innermost Faro frame) of a traceback (frames oldest first)."""
    frames = list(tb)
    alloc = frames[-1]
    faro = next((f for f in reversed(frames) if "/faro/" in f.filename), None)
    return _where(alloc), _where(faro) if faro else ""


def _where(f: tracemalloc.Frame) -> str:
    name = f.filename.split("site-packages/")[-1].split("/lib/python3.11/")[-1]
    if "/faro/" in name:  # src/faro, or the benchmark's copy of it (~/.cache/faro/bench/src/<digest>/faro)
        name = "faro/" + name.rsplit("/faro/", 1)[1]
    code = linecache.getline(f.filename, f.lineno).split("  #")[0].strip()[:70]
    code = code.replace("`", "'").replace("|", "\\|")  # it goes into a Markdown table cell
    return f"{name}:{f.lineno} `{code}`" if code else f"{name}:{f.lineno}"


def _dump(dest: Path) -> None:
    traced, _ = tracemalloc.get_traced_memory()
    rss = psutil.Process().memory_info().rss
    sites: dict[tuple[str, str], list[int]] = collections.defaultdict(lambda: [0, 0])
    for st in tracemalloc.take_snapshot().statistics("traceback"):
        acc = sites[_site(st.traceback)]
        acc[0] += st.size
        acc[1] += st.count
    top = sorted(sites.items(), key=lambda kv: -kv[1][0])[:15]
    rows = [{"site": s, "faro": f, "mb": b / 2**20, "blocks": n} for (s, f), (b, n) in top]
    gc.collect()  # what the cyclic GC walks at every full collection: the tracked objects
    tracked = collections.Counter(type(o).__qualname__ for o in gc.get_objects())
    out = {
        "traced_mb": traced / 2**20,
        "rss_mb": rss / 2**20,
        "sites": rows,
        "gc_tracked": sum(tracked.values()),
        "gc_tracked_top": tracked.most_common(8),
    }
    tmp = dest.with_suffix(".tmp")
    tmp.write_text(json.dumps(out))
    tmp.rename(dest)


def request_heap(pid: int, dest: Path, timeout: float = 180) -> dict[str, Any]:
    """Ask the traced child for its heap and wait for the file (a snapshot takes a while)."""
    dest.unlink(missing_ok=True)
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not dest.exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the traced Faro did not write its heap")
        time.sleep(0.5)
    return dict(json.loads(dest.read_text()))


def _clean(site: str) -> str:
    """A site as the page shows it: results saved before _where dropped the copy's path keep it."""
    return re.sub(r"^faro/bench/src/[0-9a-f]+/", "", site)


def _shares(what: str, unit: str, rows: list[tuple[str, float]]) -> list[str]:
    """A two-column Markdown table of shares, and the blank line after it."""
    return [f"| {what} | {unit} |", "|---|---:|", *(f"| {name} | {pct} |" for name, pct in rows), ""]


def render(diag: dict[str, Any]) -> list[str]:
    """The page's section on the diagnostic trials (scale_logs/run.py's results["log_diag"])."""
    out = [
        "### Where Faro's CPU and memory go (two diagnostic trials)",
        "",
        "Two more Faro trials after the measured ones, each with one tool attached",
        "(`benchmarks/diagnostics/logdiag.py`); they are not in the tables above, since the tools slow Faro",
        "down.",
        "",
    ]
    if p := diag.get("profile"):
        prof = p["profile"]
        out += [
            f"**CPU**: py-spy (`--native`, {PROFILE_RATE} samples/s) on the Faro process at {p['rate']:,} "
            f"lines/s for {p['write_s']:.0f} s: {prof['samples']:,} samples of its main thread over its "
            "whole life (start-up, opening the 500 streams and closing the stories included). Under the "
            f"profiler it captured {p['lines_per_s']:,.0f} lines/s, {p['lost']:,} lost.",
            "",
            *_shares(
                "self time, by where it went",
                "% of samples",
                [(b["where"], b["pct"]) for b in prof["buckets"]],
            ),
            *_shares(
                "function (self time)", "%", [(f"`{r['function']}`", r["pct"]) for r in prof["self"][:12]]
            ),
            *_shares(
                "Faro function (inclusive time)",
                "%",
                [(f"`{r['function']}`", r["pct"]) for r in prof["inclusive"][:12]],
            ),
        ]
    if m := diag.get("memory"):
        heap = m["heap"]
        out += [
            f"**Memory**: tracemalloc ({FRAMES} frames) in the Faro process at {m['rate']:,} lines/s, read "
            f"once Faro had caught up with the writer, holding {m['received']:,} lines in 500 open stories: "
            f"{heap['traced_mb']:.1f} MB of live Python heap, of {heap['rss_mb']:.0f} MB RSS at that moment "
            "(tracemalloc's own bookkeeping included; the measured trials run without it). The rest of the "
            "RSS is native: the interpreter, OpenSSL's state per connection, allocator slack.",
            "",
            *_tracked(heap),
            "| allocated at | innermost Faro frame | MB | blocks |",
            "|---|---|---:|---:|",
            *(
                f"| {_clean(r['site'])} | {_clean(r['faro']) if r['faro'] != r['site'] else '(same)'} "
                f"| {r['mb']:.1f} | {r['blocks']:,} |"
                for r in heap["sites"][:12]
            ),
            "",
        ]
    return out


def discussion(diag: dict[str, Any]) -> str:
    """The discussion's paragraph on the diagnostic trials, from their numbers."""
    out = ""
    if p := diag.get("profile"):
        share = {b["where"]: b["pct"] for b in p["profile"]["buckets"]}
        io, own = share.get(BUCKETS[0][0], 0.0), share.get(BUCKETS[1][0], 0.0)
        gc = share.get(hotspots.GC, 0.0)
        out += (
            f"- **Where Faro's CPU goes** (the profile above): {io:.0f}% of its samples are the I/O path, "
            "paid per chunk on each of its 500 connections (one TLS connection per stream: the event "
            "loop's select, the socket read, TLS decryption, aiohttp's HTTP parser; a chunk is what "
            "arrived during a pause of 0.25 to 1 s); "
            f"{own:.0f}% is Faro's own code (splitting lines, dedup, building, storing and handing "
            f"out each story event), {gc:.0f}% the cyclic GC.\n"
        )
    if m := diag.get("memory"):
        top = m["heap"]["sites"][:3]
        named = "; ".join(f"{_clean(r['site']).split(' ')[0]} {r['mb']:.1f} MB" for r in top)
        out += (
            f"- **Where Faro's memory goes** (the heap table above, {m['received']:,} lines held): "
            f"{m['heap']['traced_mb']:.0f} MB of live Python heap, the largest sites {named}. "
            "TLS read buffers are anonymous mappings (src/faro/kube/tls.py), which tracemalloc does not "
            "see: only the pages a read wrote into are resident.\n"
        )
    return out


def _tracked(heap: dict[str, Any]) -> list[str]:
    if "gc_tracked" not in heap:
        return []
    top = ", ".join(f"`{name}` {n:,}" for name, n in heap["gc_tracked_top"])
    n = heap["gc_tracked"]
    return [f"Objects the cyclic GC tracks then (after a collection): {n:,}; by type: {top}.", ""]
