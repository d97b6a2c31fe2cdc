"""What each stage of recording a pod change costs, in-process: the 0.6x-raw budget, itemized.

Why: the ingest benchmark says how far Faro is from the raw limit; this says where the
distance is, stage by stage, with no network, queue or event loop in the way, in a few
seconds. Each stage runs on the same recorded pod events (the replay's pods stream, the
first --events of them) in the order Faro runs them, on inputs prepared beforehand; the
prepared inputs are moved out of the cyclic GC's sight (gc.freeze) so that each stage pays
only for the garbage it makes, as it would in Faro. `route` is the whole of Faro's per-event
domain work (capture/router.py: head, decode, strip, diff, encode, story buffer, pod
lifecycle, owner graph), each pod a primary as in the ingest benchmark; the stages above it
are its parts. Medians of --repeat runs.

Usage: python benchmarks/stages.py [--events 20000] [--repeat 5]   (prints JSON)
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from faro.capture.correlate import Correlator
from faro.capture.diff import changes
from faro.capture.filters import PrimaryRule
from faro.capture.plan import CHILD, PRIMARY
from faro.capture.podlife import PodLifecycle
from faro.capture.redact import strip_object
from faro.capture.router import Router
from faro.capture.stories import StoryBook
from faro.config import ResourceRule
from faro.kube.heads import line_head
from faro.model.events import EventType, StoryEvent, WatchEvent, WatchType
from faro.model.refs import GVR, ResourceType
from faro.model.story import Story

RECORDING = Path.home() / ".cache/faro/bench/recording/pods.jsonl.gz"
PODS = ResourceType(GVR("", "v1", "pods"), "Pod", True, frozenset({"list", "watch"}))
TYPES = {t.value: t for t in WatchType}


def _events(lines: list[bytes]) -> Iterator[WatchEvent]:
    """One at a time, as a reflector makes them: a decoded event must not outlive its turn."""
    for i, line in enumerate(lines):
        typ, head = line_head(line)
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
        "head: msgspec read of type and metadata": loop(line_head, lines),
        "strip managedFields and redact": loop(strip_object, objs),
        "encode the stripped object": loop(orjson.dumps, stripped),
        "decode the last state (for the diff)": loop(orjson.loads, blobs),
        "diff against the last state": lambda: [changes(a, b) for a, b in pairs],
        "pod lifecycle transitions": podlife,
        "encode and store the story event": story_add,
        "route: all of the above, end to end": _route(lines),
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    print(json.dumps(measure(args.events, args.repeat), indent=1))


if __name__ == "__main__":
    main()
