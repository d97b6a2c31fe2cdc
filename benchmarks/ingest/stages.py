"""What each stage of recording a pod change costs, in-process: the 0.6x-raw budget, itemized.

Why: the ingest benchmark says how far Faro is from the raw limit; this says where the
distance is, stage by stage, with no network, queue or event loop in the way, in a few
seconds. Each stage runs on the same recorded pod events (the replay's pods stream, the
first --events of them) in the order Faro runs them, on inputs prepared beforehand; the
prepared inputs are moved out of the cyclic GC's sight (gc.freeze) so that each stage pays
only for the garbage it makes, as it would in Faro. `route` is the whole of Faro's per-event
domain work (capture/fold/router.py: head, decode, strip, diff, encode, story buffer, pod
lifecycle, owner graph), each pod a primary as in the ingest benchmark; the stages above it
are its parts. Medians of --repeat runs.

It also measures what a container log line costs a story, in a fresh process: RSS per
line with 500 stories of 801 lines (~100-byte lines, as in the log-stream benchmark), and
the time to add a line and to write it out, and what journalling those open stories costs:
the first pass (everything), then a pass after 20 more lines per story; each both until
written and on the caller's thread alone (the writing is on a worker thread).

run.py also runs the pod-event stages on the copy compiled by mypyc (compiled.py), with
PYTHONPATH set to it and --no-log-lines.

Usage: python -m benchmarks.ingest.stages [--events 20000] [--repeat 5] [--no-log-lines]   (prints JSON)
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from benchmarks.common.paths import CACHE, REPO, module
from benchmarks.diagnostics.compiled import compiled_modules
from faro.capture.container_logs.stream import Instance, log_event
from faro.capture.filters import PrimaryRule
from faro.capture.fold.diff import changes
from faro.capture.fold.owner_graph import Correlator
from faro.capture.fold.pod_lifecycle import PodLifecycle
from faro.capture.fold.redact import strip_object
from faro.capture.fold.roles import CHILD, PRIMARY
from faro.capture.fold.router import Router
from faro.capture.fold.story_book import StoryBook
from faro.config import ResourceRule
from faro.kube.decode import line_head
from faro.model.events import EventType, StoryEvent, WatchEvent, WatchType
from faro.model.refs import GVR, ResourceType
from faro.model.story import Story
from faro.sinks.files import StoryFiles

RECORDING = CACHE / "recording/pods.jsonl.gz"
PODS = ResourceType(GVR("", "v1", "pods"), "Pod", True, frozenset({"list", "watch"}))
RS = ResourceType(GVR("apps", "v1", "replicasets"), "ReplicaSet", True, frozenset({"list", "watch"}))
TYPES = {t.value: t for t in WatchType}


def _events(lines: list[bytes]) -> Iterator[WatchEvent]:
    """One at a time, as a reflector makes them: a decoded event must not outlive its turn."""
    for i, line in enumerate(lines):
        typ, head = line_head(line, go_order=True)  # as a reflector of a built-in type does
        meta = head.metadata.as_dict()
        yield WatchEvent(TYPES[typ], PODS, None, 1e9 + i / 1e3, raw=line, meta=meta, wrapped=True)


def _route(lines: list[bytes]) -> Callable[[], None]:
    rule = PrimaryRule.compile(ResourceRule(gvr="v1/Pod", namespace_patterns=[".*"]), PODS)
    roles, rules = frozenset({PRIMARY, CHILD}), (rule,)

    def run() -> None:
        book = StoryBook(cluster="bench", on_event=lambda s, e: None, on_close=lambda s: None)
        router = Router(book, Correlator())
        for ev in _events(lines):
            router.route(ev, roles, rules)

    return run


def _route_unrelated(lines: list[bytes]) -> Callable[[], None]:
    """The same pod events, none in a story: their ReplicaSets are known and in none (the
    deployment scenario's 7 apps of 8), so each is a graph entry and nothing more."""
    owners = {r.uid for line in lines for r in line_head(line)[1].metadata.ownerReferences}
    roles: frozenset[str] = frozenset({CHILD})

    def run() -> None:
        book = StoryBook(cluster="bench", on_event=lambda s, e: None, on_close=lambda s: None)
        router = Router(book, Correlator())
        for uid in owners:
            router.correlator.observe(WatchEvent(WatchType.ADDED, RS, {"metadata": {"uid": uid}}, 1e9))
        for ev in _events(lines):
            router.route(ev, roles, ())

    return run


def stages(lines: list[bytes]) -> dict[str, Callable[[], Any]]:
    """Stage name -> a run over every event (or every update, for the diff)."""
    objs = [orjson.loads(line)["object"] for line in lines]
    stripped = [strip_object(o) for o in objs]
    blobs = [orjson.dumps(s) for s in stripped]
    last: dict[str, dict[str, Any]] = {}
    pairs = []
    for line, s in zip(lines, stripped, strict=True):
        uid = s["metadata"]["uid"]
        if uid in last and b'"MODIFIED"' in line[:24]:
            pairs.append((last[uid], s))
        last[uid] = s
    events = [
        StoryEvent("cid", 1e9, EventType.RESOURCE_UPDATE, "pod", "ns", "Pod", "update", s, data_json=b)
        for s, b in zip(stripped, blobs, strict=True)
    ]

    def loop(f: Callable[[Any], Any], xs: list[Any]) -> Callable[[], None]:
        def run() -> None:
            for x in xs:
                f(x)

        return run

    def story_add() -> None:
        story = Story("cid", 1, "v1/Pod", "pod", "ns", "bench", 1e9)
        for ev in events:
            story.add(ev)

    def podlife() -> None:
        pl = PodLifecycle()
        for o in objs:
            pl.observe(o, 1e9)

    return {
        "raw: orjson.loads of the watch line": loop(orjson.loads, lines),
        "head: msgspec read of type and metadata": loop(lambda x: line_head(x, go_order=True), lines),
        "strip managedFields and redact": loop(strip_object, objs),
        "encode the stripped object": loop(orjson.dumps, stripped),
        "decode the last state (for the diff)": loop(orjson.loads, blobs),
        "diff against the last state": lambda: [changes(a, b) for a, b in pairs],
        "pod lifecycle transitions": podlife,
        "encode and store the story event": story_add,
        "route: all of the above, end to end": _route(lines),
        "route: a pod event of no story (head, graph entry)": _route_unrelated(lines),
    }


def measure(events: int, repeat: int) -> dict[str, Any]:
    with gzip.open(RECORDING) as f:
        lines = [x for x in f.read().split(b"\n") if x][:events]
    runs = stages(lines)
    gc.collect()
    gc.freeze()  # the prepared inputs are not what is measured
    out: dict[str, Any] = {"events": len(lines), "repeat": repeat, "us_per_event": {}}
    for name, run in runs.items():
        times = []
        for _ in range(repeat):
            t = time.perf_counter()
            run()
            times.append(time.perf_counter() - t)
            gc.collect()
        out["us_per_event"][name] = round(statistics.median(times) / len(lines) * 1e6, 2)
    return out


JOURNAL_NEW_LINES = 20  # per story between two journal passes (5 s at 4 lines/s)


def log_lines(stories: int = 500, per_story: int = 801) -> dict[str, float]:
    """Run in a fresh process (--log-lines): RSS growth is only meaningful there."""

    def rss() -> int:
        return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    pad = "lorem ipsum dolor sit amet " * 3
    base, kept = rss(), []
    t = time.perf_counter()
    for p in range(stories):
        pod = f"logs-p{p:03d}"
        story = Story(
            f"{p:08d}-aaaa-bbbb-cccc-dddddddddddd", 1, "v1/Pod", pod, "bench-logs-1", "bench", 1.8e9
        )
        inst = Instance("bench-logs-1", pod, f"uid-{p}", "app", 0)
        for i in range(per_story):
            ev = log_event(
                inst, 1.8e9 + i / 20, "log", time="2027-01-15T08:00:00.123456789Z", line=f"{pod} {i} {pad}"
            )
            ev.correlation_id = story.correlation_id
            story.add(ev)
        kept.append(story)
    added = time.perf_counter() - t
    grown = rss() - base
    t = time.perf_counter()
    written = sum(len(s.to_json("bench", indent=False)) for s in kept)
    write_s = time.perf_counter() - t
    n = stories * per_story
    out = {
        "lines": n,
        "rss_bytes_per_line": round(grown / n),
        "add_us": round(added / n * 1e6, 2),
        "write_us": round(write_s / n * 1e6, 2),
        "written_bytes_per_line": round(written / n),
        "journal_new_lines": JOURNAL_NEW_LINES,
    }
    with tempfile.TemporaryDirectory() as tmp:
        files = StoryFiles(Path(tmp), "bench")
        for label, more in (("journal_first", 0), ("journal_next", JOURNAL_NEW_LINES)):
            for story in kept:
                inst = Instance("bench-logs-1", story.resource_name, "uid", "app", 0)
                for i in range(more):
                    story.add(log_event(inst, 1.9e9 + i, "log", time="2027-01-15T08:00:05Z", line=pad))
            to_write = files.journal.pass_size(kept)
            t = time.perf_counter()
            files.journal.write_open(kept)  # as a capture does: the writing is on a worker thread
            out[f"{label}_loop_s"] = round(time.perf_counter() - t, 3)
            files.close()
            out[f"{label}_s"] = round(time.perf_counter() - t, 3)
            out[f"{label}_mb"] = round(to_write / 2**20, 1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--log-lines", action="store_true", help="only the log-line part (in this process)")
    ap.add_argument("--no-log-lines", action="store_true", help="only the pod-event stages")
    args = ap.parse_args()
    if args.log_lines:
        print(json.dumps(log_lines()))
        return
    out = measure(args.events, args.repeat)
    out["compiled_modules"] = len(compiled_modules())  # 0, unless run on compiled.py's copy
    if args.no_log_lines:
        print(json.dumps(out, indent=1))
        return
    child = subprocess.run(module("ingest.stages", "--log-lines"), capture_output=True, text=True, cwd=REPO)
    if child.returncode == 0:
        out["log_line"] = json.loads(child.stdout)
    else:  # the pod-event stages stand on their own: say why the log-line figures are missing
        lines = child.stderr.strip().splitlines() or [f"exit status {child.returncode}"]
        out["log_line_error"] = lines[-1][:300]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
