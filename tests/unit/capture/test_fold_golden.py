"""Golden tests of the fold: recorded watch lines in, story files out, compared byte for byte.

Each directory under tests/golden/stories/ is a case (docs/golden-tests.md): `watch.tsv`
holds real watch lines recorded from the test cluster (tests/golden/record_fold.py), each
with the watch it came from and its offset in seconds from the recording's t0; `case.json`
says how to replay them (which kinds are primaries, when Faro ticks, relists or restarts,
how the capture ends); `expected/` holds the story files Faro writes for them.

The driver plays the part of the reflectors and the engine with a clock of its own: a line
at offset o is decoded as the reflector decodes it (kube/decode.line_head) into a WatchEvent
observed at t0 + o, and routed at once (the pipeline keeps per-object order; one queue is
that order). The engine's ticker is a tick every `tick_interval` seconds of case time. The
closed stories go through sinks/files.StoryFiles, so what is compared is the file Faro
writes. Nothing is normalised: the Faro version and the cluster name are fixed by the driver.

    UPDATE_GOLDEN=1 .venv/bin/pytest -q tests/unit/capture/test_fold_golden.py

rewrites expected/ from the current fold; review the diff like code.
"""

from __future__ import annotations

import difflib
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

import faro.capture.fold.story_book as story_book_module
from faro.capture.container_logs.stream import Instance, log_event
from faro.capture.filters import PrimaryRule
from faro.capture.fold.owner_graph import Correlator
from faro.capture.fold.router import Router
from faro.capture.fold.story_book import StoryBook
from faro.capture.watches.plan import plan
from faro.config import ResourceRule
from faro.kube.decode import line_head
from faro.kube.reflector import Known, listed_event, vanished
from faro.model.events import Gap, WatchEvent, WatchType
from faro.model.refs import GVR, ResourceType
from faro.model.story import Story
from faro.model.timefmt import parse
from faro.sinks.files import StoryFiles

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "stories"
VERSION = "golden"  # the story files' faro_version: fixed, so nothing needs normalising
CLUSTER = "kwok-faro"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
W = frozenset({"get", "list", "watch"})
_TYPES = {"ADDED": WatchType.ADDED, "MODIFIED": WatchType.MODIFIED, "DELETED": WatchType.DELETED}

# What the engine also watches (DEFAULT_CHILD_KINDS), recorded or not: their kinds are in the
# correlator's watched_kinds, which decides what is held for an owner still to come.
_KNOWN: dict[str, tuple[str, str, str, str, bool]] = {
    "replicasets": ("apps", "v1", "replicasets", "ReplicaSet", True),
    "pods": ("", "v1", "pods", "Pod", True),
    "jobs": ("batch", "v1", "jobs", "Job", True),
    "controllerrevisions": ("apps", "v1", "controllerrevisions", "ControllerRevision", True),
    "endpointslices": ("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    "persistentvolumeclaims": ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True),
    "events": ("", "v1", "events", "Event", True),
}


def _rt(group: str, version: str, resource: str, kind: str, namespaced: bool) -> ResourceType:
    return ResourceType(GVR(group, version, resource), kind, namespaced, W)


@dataclass
class Line:
    at: float  # offset from t0
    watch: str
    raw: bytes


@dataclass
class Case:
    name: str
    dir: Path
    spec: dict[str, Any]
    t0: float
    namespace: str
    types: dict[str, ResourceType]  # watch name -> resource type
    lines: list[Line]
    logs: list[tuple[float, str, str, int, bytes]] = field(default_factory=list)

    @classmethod
    def load(cls, d: Path) -> Case:
        spec = orjson.loads((d / "case.json").read_bytes())
        src = (d / spec["recording"]).resolve() if "recording" in spec else d
        rec = orjson.loads((src / "recording.json").read_bytes())
        types = {
            n: _rt(w["group"], w["version"], w["resource"], w["kind"], w["namespaced"])
            for n, w in rec["watches"].items()
        }
        lines = []
        for row in (src / "watch.tsv").read_bytes().splitlines():
            at, watch, raw = row.split(b"\t", 2)
            lines.append(Line(float(at), watch.decode(), raw))
        logs = []
        if spec.get("logs") and (src / "logs.tsv").exists():
            for row in (src / "logs.tsv").read_bytes().splitlines():
                at, pod, c, restart, raw = row.split(b"\t", 4)
                logs.append((float(at), pod.decode(), c.decode(), int(restart), raw))
        case = cls(d.name, d, spec, float(rec["t0"]), rec["namespace"], types, lines, logs)
        for watch, delay in spec.get("shift", {}).items():  # this watch delivers late
            for ln in case.lines:
                if ln.watch == watch:
                    ln.at += delay
            case.lines.sort(key=lambda ln: ln.at)  # stable: same-time lines keep arrival order
        return case

    def state_at(self, watch: str, at: float) -> dict[str, bytes]:
        """What a LIST of `watch` would return at offset `at`: uid -> the object's bytes, in
        the API server's order (by namespace and name)."""
        objs: dict[str, tuple[tuple[str, str], bytes]] = {}
        for ln in self.lines:
            if ln.watch != watch or ln.at >= at:
                continue
            d = orjson.loads(ln.raw)
            m = d["object"]["metadata"]
            if d["type"] == "DELETED":
                objs.pop(m["uid"], None)
            else:
                objs[m["uid"]] = ((m.get("namespace", ""), m["name"]), orjson.dumps(d["object"]))
        return {uid: b for uid, (_, b) in sorted(objs.items(), key=lambda kv: kv[1][0])}


class Capture:
    """One Faro process's fold, as the engine builds it (engine.py __post_init__/_start)."""

    def __init__(self, case: Case, files: StoryFiles) -> None:
        self.case = case
        s = case.spec
        self.book = StoryBook(
            cluster=CLUSTER,
            on_event=lambda story, ev: None,
            on_close=self._closed,
            settle=s.get("settle", 3.0),
            correlation_timeout=s.get("correlation_timeout", 300.0),
        )
        self.correlator = Correlator()
        self.router = Router(self.book, self.correlator, redact=True, logs=None)
        self.files = files
        by_name = {**{n: _rt(*t) for n, t in _KNOWN.items()}, **case.types}
        rules = [
            PrimaryRule.compile(ResourceRule(gvr=by_name[w].type_name), by_name[w]) for w in s["primaries"]
        ]
        children = [by_name[n] for n in _KNOWN if n != "events"]
        specs = plan(rules, children, by_name["events"])
        self.views = {sp.key.resource: sp.views() for sp in specs}
        self.scope = {sp.key.resource: sp.key.namespace for sp in specs}
        self.correlator.watched_kinds |= {sp.key.resource.kind for sp in specs}
        self.known: dict[str, dict[str, Known]] = {n: {} for n in case.types}

    def _closed(self, story: Story) -> None:
        if story.completion == "deleted":  # Engine._closed
            self.correlator.unbind_story(story.correlation_id)
        self.files.write(story)

    def route(self, ev: WatchEvent) -> None:
        roles, rules = self.views[ev.resource]
        self.router.route(ev, roles, rules)

    def line(self, ln: Line, now: float) -> None:
        """Reflector._handle, with the case's clock."""
        rt = self.case.types[ln.watch]
        typ, head = line_head(ln.raw, go_order="." not in rt.gvr.group and rt.kind != "Event")
        m = head.metadata
        if typ == "BOOKMARK":
            return
        wtype = _TYPES[typ]
        if wtype is WatchType.DELETED:
            self.known[ln.watch].pop(m.uid, None)
        else:
            self.known[ln.watch][m.uid] = Known(m.resourceVersion, m.name, m.namespace)
        ev = WatchEvent(
            wtype,
            rt,
            None,
            now,
            raw=ln.raw,
            meta=m.as_dict(),
            wrapped=True,
            about=head.about,
            about_kind=head.about_kind,
        )
        self.route(ev)

    def list(self, watch: str, now: float, relist: bool) -> None:
        """Reflector._list at `now`: what changed since the last RV known, synthesized
        DELETED events for what vanished, and on a relist a Gap for every open story."""
        rt = self.case.types[watch]
        scope = self.scope.get(rt)
        name = f"{rt.type_name}@{scope or '*'}"
        gap = Gap(name, "relist", now, "410 Gone: resourceVersion too old") if relist else None
        known, seen = self.known[watch], {}
        events = [
            ev
            for raw in self.case.state_at(watch, now).values()
            if (ev := listed_event(rt, raw, now, gap, known, seen)) is not None
        ]
        events += vanished(rt, known, seen, now, gap)
        self.known[watch] = seen
        if gap is not None:
            # on_gap runs once the list is emitted, before the queued events are routed
            self.book.gap(gap)
        for ev in events:
            self.route(ev)

    def log(self, pod: str, container: str, restart: int, cri: bytes) -> None:
        """A line the LogManager read for a pod of a story (manager.py _line/_emit)."""
        uid = next(
            (u for u, (_, n, _) in self.known.get("pods", {}).items() if n == pod),
            "",
        )
        cids = self.correlator.stories(self.correlator.bound.get(uid))
        stamp, _stream, _tag, content = cri.split(b" ", 3)
        ts = stamp.decode()
        inst = Instance(self.case.namespace, pod, uid, container, restart)
        for cid in sorted(cids):
            ev = log_event(inst, parse(ts) or 0.0, "log", time=ts, line=content.decode())
            self.book.add(cid, ev)

    def tick(self, now: float) -> None:
        self.book.tick(now)
        self.correlator.expire(now)


def _timeline(case: Case) -> Iterator[tuple[float, str, Any]]:
    """Every step in case time: lines, log lines, ticks, relists, the restart, the end."""
    s = case.spec
    steps: list[tuple[float, int, str, Any]] = []
    relist = s.get("relist")
    for ln in case.lines:
        if relist and ln.watch == relist["watch"] and relist["down"][0] <= ln.at < relist["down"][1]:
            continue  # its watch is down: the relist at the end of the outage makes up for it
        steps.append((ln.at, 1, "line", ln))
    for at, pod, c, restart, raw in case.logs:
        steps.append((at, 1, "log", (pod, c, restart, raw)))
    if relist:
        steps.append((relist["down"][1], 0, "relist", relist["watch"]))
    if "restart" in s:
        crash, back = s["restart"]["down"]
        steps = [st for st in steps if not crash <= st[0] < back]
        steps += [(crash, 3, "crash", None), (back, 0, "resume", None)]
    end = s["end"]["at"]
    interval = s.get("tick_interval", 0.5)
    n = 1
    while n * interval <= end:
        at = n * interval
        if not ("restart" in s and s["restart"]["down"][0] <= at < s["restart"]["down"][1]):
            steps.append((at, 2, "tick", None))
        n += 1
    steps.sort(key=lambda st: (st[0], st[1]))  # stable: lines at one time keep arrival order
    for at, _, kind, payload in steps:
        if at <= end:
            yield at, kind, payload


def replay(case: Case, out: Path) -> None:
    files = StoryFiles(out, VERSION)
    cap = Capture(case, files)
    for at, kind, payload in _timeline(case):
        now = case.t0 + at
        if kind == "line":
            cap.line(payload, now)
        elif kind == "log":
            cap.log(*payload)
        elif kind == "tick":
            cap.tick(now)
        elif kind == "relist":
            cap.list(payload, now, relist=True)
        elif kind == "crash":  # killed: its last journal pass is all the next one gets
            files.journal.write_open(list(cap.book.open.values()))
            files.journal.close()
        elif kind == "resume":
            cap = Capture(case, files)
            for story in files.journal.resumable():  # Engine.resume
                cap.router.resume(story, now)
            for watch in case.types:  # the start-up lists, in the case's watch order (waves)
                cap.list(watch, now, relist=False)
    end = case.spec["end"]
    if "close_all" in end:
        cap.book.close_all(end["close_all"], case.t0 + end["at"])
    files.close()


def _stories(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*.json"))
        if not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "case.json").exists()) if GOLDEN.is_dir() else []


def _check(name: str, tmp_path: Path) -> None:
    case = Case.load(GOLDEN / name)
    out = tmp_path / "out"
    replay(case, out)
    got = _stories(out)
    expected_dir = case.dir / "expected"
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        for rel, data in got.items():
            (expected_dir / rel).parent.mkdir(parents=True, exist_ok=True)
            (expected_dir / rel).write_bytes(data)
        return
    want = _stories(expected_dir) if expected_dir.is_dir() else {}
    assert got, f"{name}: the replay wrote no story"
    assert sorted(got) == sorted(want), f"{name}: story files differ"
    for rel in want:
        if got[rel] != want[rel]:
            diff = difflib.unified_diff(
                want[rel].decode().splitlines(),
                got[rel].decode().splitlines(),
                f"expected/{rel}",
                f"replayed/{rel}",
                lineterm="",
                n=2,
            )
            pytest.fail(f"{name}: {rel} differs (UPDATE_GOLDEN=1 to accept):\n" + "\n".join(list(diff)[:80]))


@pytest.mark.parametrize("name", CASES)
def test_golden_story(name: str, tmp_path: Path) -> None:
    _check(name, tmp_path)


def test_there_are_cases() -> None:
    assert len(CASES) >= 2


@pytest.mark.skipif(UPDATE, reason="regenerating")
def test_a_changed_fold_fails_the_golden_test(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The golden files pin the fold down: a diff that forgets one kind of change is caught."""
    real = story_book_module.changes

    def lossy(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
        return [c for c in real(old, new) if not str(c.get("path", "")).startswith("status")]

    monkeypatch.setattr(story_book_module, "changes", lossy)
    with pytest.raises(pytest.fail.Exception, match="differs"):
        _check("job-cascade", tmp_path)
