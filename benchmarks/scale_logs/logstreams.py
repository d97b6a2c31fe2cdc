"""500 concurrent container-log follow streams through the apiserver: Faro beside stern.

Why: following every container of every pod in a story is Faro's heaviest I/O. One trial
creates 500 pods in 5 namespaces (`bench-logs-N`, on the tainted KWOK bench node of
scale.py), each with a KWOK `Logs` object pointing at a CRI-format file under
$FARO_TESTBED_LOGS/<ns>/<pod>/app.log holding one line; starts ONE consumer (Faro, the
library in a child process with those pods as primaries, include_logs=True,
max_log_streams=500; or stern, `stern -A -l <trial> -o raw --max-log-requests 1000`); once
the consumer has every pod's first line (all streams open), a Go writer (logwriter/) appends
`<pod> <seq> <padding>` lines, open loop at a fixed total rate, round robin over the pods.
Then the pods are deleted (grace 1 s) and every line the consumer got is matched with what
was written: lines/s, lost and duplicated lines (exactly which), RSS and CPU.

Usage: python -m benchmarks.scale_logs.logstreams trial --consumer faro|stern --rate 5000 --seconds 20
       [--diag profile|memory] | cleanup
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from array import array
from pathlib import Path
from typing import Any

import orjson
import psutil

from benchmarks.common.paths import BIN, REPO, module
from benchmarks.diagnostics import logdiag
from benchmarks.ingest.consumers import GcClock
from benchmarks.scale_logs import scale

NAMESPACES = [f"bench-logs-{i}" for i in range(5)]
LOGDIR = Path(os.environ.get("FARO_TESTBED_LOGS", Path.home() / ".cache/faro/kwok/clusters/faro/faro-logs"))
STERN, WRITER = BIN / "stern", BIN / "logwriter"  # built by scale_logs/run.py
KWOK = "/apis/kwok.x-k8s.io/v1alpha1"
JSON_PATCH = {"Content-Type": "application/json-patch+json"}
PAD = "lorem ipsum dolor sit amet " * 3  # ~100-byte lines


def cri(text: str) -> bytes:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return f"{stamp}000Z stdout F {text}\n".encode()


def tally(got: dict[str, Any], text: str) -> None:
    """Count `<pod> <seq> ...`; anything else (not written by us) is kept under "".

    Seqs go in 4-byte arrays: this runs inside the measured Faro process, whose RSS should be
    Faro's (a list of ints cost ~36 bytes per line, ~14 MB at 400,000 lines)."""
    parts = text.split(" ", 2)
    if len(parts) >= 2 and parts[1].isdigit():
        seqs = got.get(parts[0])
        if seqs is None:
            seqs = got[parts[0]] = array("I")
        seqs.append(int(parts[1]))
    else:
        got.setdefault("", []).append(text[:200])


def pods_of(trial: str, n: int) -> list[tuple[str, str]]:
    return [(NAMESPACES[i % len(NAMESPACES)], f"{trial}-p{i:03d}") for i in range(n)]


async def setup(trial: str, n: int) -> float:
    """Files with line 0, Logs objects, then the pods; returns seconds until all Running."""
    t0 = time.monotonic()
    async with await scale.connect() as kc:
        await scale.ensure_node(kc)
        ns_jobs = [scale.post(kc, "/api/v1/namespaces", {"metadata": {"name": n}}) for n in NAMESPACES]
        await scale.run_all(ns_jobs)
        labels = {"bench-trial": trial, "faro-bench": "logs"}
        body = {"apiVersion": "v1", "kind": "Pod", "spec": scale.pod_spec()}
        logs_jobs, pod_jobs = [], []
        for ns, pod in (pods := pods_of(trial, n)):
            d = LOGDIR / ns / pod
            d.mkdir(parents=True, exist_ok=True)
            (d / "app.log").write_bytes(cri(f"{pod} 0 {PAD}"))
            meta = {"name": pod, "labels": labels}
            entry = {"containers": ["app"], "follow": True, "logsFile": str(d / "app.log")}
            logs = {"apiVersion": KWOK[6:], "kind": "Logs", "metadata": meta, "spec": {"logs": [entry]}}
            logs_jobs.append(scale.post(kc, f"{KWOK}/namespaces/{ns}/logs", logs))
            pod_jobs.append(scale.post(kc, f"/api/v1/namespaces/{ns}/pods", {**body, "metadata": meta}))
        await scale.run_all(logs_jobs)  # KWOK must know a pod's Logs before a stream asks for them
        await scale.run_all(pod_jobs)
        await scale.wait_running(kc, f"bench-trial={trial}", 180)
        # stern skips containers without a containerID, which the testbed's KWOK stages do not set

        def set_id(ns: str, p: str) -> Any:
            body = [{"op": "add", "path": "/status/containerStatuses/0/containerID", "value": f"kwok://{p}"}]
            return kc.request_json(
                "PATCH", f"/api/v1/namespaces/{ns}/pods/{p}/status", None, body, JSON_PATCH
            )

        await scale.run_all([set_id(ns, p) for ns, p in pods])
    return time.monotonic() - t0


async def delete(trial: str, kind: str) -> None:
    """Delete the trial's pods (grace 1 s) or its Logs objects."""
    q = {"labelSelector": f"bench-trial={trial}", "gracePeriodSeconds": 1}
    async with await scale.connect() as kc:
        base = {"pods": "/api/v1", "logs": KWOK}[kind]
        for ns in NAMESPACES:
            await kc.request_json("DELETE", f"{base}/namespaces/{ns}/{kind}", q)


async def faro_child(trial: str, out: Path) -> None:
    """Faro with the trial's pods as primaries; reports progress 4x/s, dumps seqs at the end."""
    from faro import Faro, FaroConfig, ResourceRule

    got: dict[str, Any] = {}
    rule = ResourceRule(gvr="v1/Pod", namespace_names=NAMESPACES, label_selector=f"bench-trial={trial}")
    opts = {"include_logs": True, "max_log_streams": 500, "write_stories": False, "correlation_timeout": 3600}
    config = FaroConfig(resources=[rule], kubeconfig=os.environ["KUBECONFIG"], metrics_port=0, **opts)

    def on_event(story: Any, ev: Any) -> None:
        if ev.event_type.value == "CONTAINER_LOG" and ev.action == "log":
            tally(got, ev.data["line"])

    faro = Faro(config, on_event=on_event, settle=1.0)

    gc_clock = GcClock()

    async def progress() -> None:
        while True:
            lm = faro.engine.logs if faro.engine else None
            n = sum(len(v) for k, v in got.items() if k)  # "" holds lines we did not write
            extra = f"{lm.active} {lm.reconnects} {lm.lines} {lm.dropped}" if lm else "0 0 0 0"
            counts = [*gc_clock.collections, *gc_clock.garbage]
            gcs = " ".join([*(f"{x:.4f}" for x in gc_clock.seconds), *map(str, counts)])
            print(f"n {n} {faro.closed_count} {extra} {gcs}", flush=True)
            await asyncio.sleep(0.25)

    task, ticker = asyncio.create_task(faro.run()), asyncio.create_task(progress())
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    faro.stop()
    await task
    ticker.cancel()
    out.write_bytes(orjson.dumps({k: list(v) for k, v in got.items()}))


class Consumer:
    """A consumer process (tree) with its progress: lines received and, for Faro, stories closed."""

    def __init__(self, kind: str, trial: str, tmp: Path, diag: str | None = None) -> None:
        self.kind, self.tmp, self.n, self.closed, self.faro, self.notes = kind, tmp, 0, 0, [0, 0, 0, 0], {}
        self.gc = [0.0] * 9
        if kind == "faro":
            cmd = module("scale_logs.logstreams", "faro", "--trial", trial, "--out", str(tmp / "faro.json"))
            env = {**os.environ, logdiag.ENV: str(tmp / "heap.json")} if diag == "memory" else None
            if diag == "profile":  # py-spy starts Faro and writes the samples when it exits
                cmd = [*logdiag.spy_prefix(tmp / "profile.txt"), *cmd]
            pipe = subprocess.PIPE
            self.p = subprocess.Popen(cmd, stdin=pipe, stdout=pipe, text=True, env=env, cwd=REPO)
            threading.Thread(target=self._read_faro, daemon=True).start()
        else:
            args = f"-A -l bench-trial={trial} --max-log-requests 1000 -o raw --color never".split()
            self.out, self.err = (tmp / "stern.out").open("wb"), (tmp / "stern.err").open("wb")
            cmd = [str(STERN), *args, "--kubeconfig", os.environ["KUBECONFIG"]]
            self.p = subprocess.Popen(cmd, stdout=self.out, stderr=self.err)
            threading.Thread(target=self._read_stern, daemon=True).start()
        self.ps = psutil.Process(self.p.pid)

    def _read_faro(self) -> None:
        assert self.p.stdout is not None
        for line in self.p.stdout:
            parts = line.split()
            if parts and parts[0] == "n":
                self.n, self.closed = int(parts[1]), int(parts[2])
                self.faro = [int(x) for x in parts[3:7]]
                # the cyclic GC by generation: seconds, collections, objects found unreachable
                self.gc = [float(x) for x in parts[7:16]]

    def _read_stern(self) -> None:
        with (self.tmp / "stern.out").open("rb") as f:
            while self.p.poll() is None:
                self.n += f.read().count(b"\n")
                time.sleep(0.25)

    def tcp(self) -> int:
        """TCP connections the consumer holds (one per stream over HTTP/1.1; HTTP/2 multiplexes)."""
        n = 0
        for p in [self.ps, *self.ps.children(recursive=True)]:
            with contextlib.suppress(psutil.Error):
                n += sum(c.status == psutil.CONN_ESTABLISHED for c in p.net_connections(kind="tcp"))
        return n

    def usage(self) -> tuple[float, float]:
        """(RSS MB, CPU s) summed over the process and its children."""
        procs = [self.ps, *self.ps.children(recursive=True)]
        rss = sum(p.memory_info().rss for p in procs) / 2**20
        return rss, sum(p.cpu_times().user + p.cpu_times().system for p in procs)

    def finish(self) -> dict[str, Any]:  # pod -> its seqs (a list or an array), "" -> other lines
        if self.kind == "faro":
            assert self.p.stdin is not None
            self.p.stdin.close()
            self.p.wait(timeout=60)
            return dict(orjson.loads((self.tmp / "faro.json").read_bytes()))
        self.p.terminate()
        self.p.wait(timeout=30)
        for fh in (self.out, self.err):
            fh.close()
        err = (self.tmp / "stern.err").read_text(errors="replace").splitlines()
        fails = [x for x in err if "failed to tail" in x]
        self.notes = {"tails_started": sum(x.startswith("+") for x in err), "tail_errors": len(fails)}
        got: dict[str, Any] = {}
        for line in (self.tmp / "stern.out").read_bytes().splitlines():
            tally(got, line.decode(errors="replace"))
        return got


def kwok_inotify() -> int:
    """inotify instances held by the KWOK controller (one per follow stream it serves)."""
    n = -1
    for p in psutil.process_iter(["name"]):
        if p.info["name"] == "kwok-controller":
            n = 0
            for fd in Path(f"/proc/{p.pid}/fd").iterdir():
                with contextlib.suppress(OSError):  # closed meanwhile
                    n += "inotify" in os.readlink(fd)
    return n


def wait(cond: Any, timeout: float, sample: Any) -> float:
    t0 = time.monotonic()
    while not cond() and time.monotonic() - t0 < timeout:
        sample()
        time.sleep(0.25)
    return time.monotonic() - t0


def trial(
    kind: str, rate: int, seconds: float, name: str, n: int = 500, diag: str | None = None
) -> dict[str, Any]:
    """One trial; `diag` ("profile" or "memory", Faro only) makes it a diagnostic (logdiag.py)."""
    (tmp := Path(f"/tmp/faro-logbench-{name}")).mkdir(exist_ok=True)
    res: dict[str, Any] = {"consumer": kind, "rate": rate, "pods": n, "setup_s": asyncio.run(setup(name, n))}
    c = Consumer(kind, name, tmp, diag)
    peak = {"rss": 0.0, "inotify": 0, "active": 0}

    def sample() -> None:
        peak["rss"] = max(peak["rss"], c.usage()[0])
        peak["inotify"], peak["active"] = max(peak["inotify"], kwok_inotify()), max(peak["active"], c.faro[0])

    try:
        res["all_streams_s"] = wait(lambda: c.n >= n, 150, sample)
        cpu0, gc0 = c.usage()[1], c.gc
        pods = ",".join(f"{ns}/{pod}" for ns, pod in pods_of(name, n))
        cmd = [str(WRITER), "-dir", str(LOGDIR), "-pods", pods, "-rate", str(rate), "-seconds", str(seconds)]
        w = subprocess.Popen([*cmd, "-pad", PAD], stdout=subprocess.PIPE, text=True)
        wait(lambda: w.poll() is not None, seconds + 30, sample)
        assert w.stdout is not None and w.wait() == 0, "the log writer failed"
        wrote = json.loads(w.stdout.read())
        total = sum(wrote["written"].values())
        last = [c.n, time.time()]

        def progressed() -> bool:
            if c.n != last[0]:
                last[:] = [c.n, time.time()]
            return c.n >= total or time.time() - last[1] > 10

        wait(progressed, 60, sample)
        res["cpu_s"], res["rss_mb"] = c.usage()[1] - cpu0, c.usage()[0]
        if kind == "faro":  # its time in the cyclic GC over the same window as cpu_s
            d = [b - a for a, b in zip(gc0, c.gc, strict=True)]
            res["gc_s"], res["gc_collections"], res["gc_garbage"] = d[:3], [int(x) for x in d[3:6]], d[6:]
        res["tcp"] = c.tcp()  # once, here: reading every socket's state is not free
        if diag == "memory":  # now, while every line is held: the stories are still open
            res["heap"] = logdiag.request_heap(c.p.pid, tmp / "heap.json")
        asyncio.run(delete(name, "pods"))
        if kind == "faro":
            wait(lambda: c.closed >= n, 90, sample)
        else:
            time.sleep(5)
        res["faro_counters"] = dict(zip(["active", "reconnects", "lines", "dropped"], c.faro, strict=True))
        got = c.finish()
        if diag == "profile":
            res["profile"] = logdiag.profile(tmp / "profile.txt")
    finally:
        if c.p.poll() is None:
            c.p.kill()
        asyncio.run(delete(name, "logs"))
    junk = got.pop("", [])
    lost = {p: sorted(set(range(k)) - set(got.get(p, []))) for p, k in wrote["written"].items()}
    received = sum(map(len, got.values()))
    res.update(
        written=total,
        received=received,
        duplicates=received - sum(len(set(v)) for v in got.values()),
        lost=sum(map(len, lost.values())),
        lost_pods={p: v[:5] for p, v in lost.items() if v},
        write_s=wrote["end"] - wrote["start"],
        written_per_s=(total - n) / (wrote["end"] - wrote["start"]),
        lines_per_s=(last[0] - n) / max(last[1] - wrote["start"], 1e-9),
        caught_up_after_s=last[1] - wrote["end"],
        peak_rss_mb=peak["rss"],
        kwok_inotify_peak=peak["inotify"],
        faro_active_peak=peak["active"],
        stern=c.notes,
        missing_before_delete=total - last[0],
        junk_lines=len(junk),
        junk_examples=sorted(set(junk))[:3],
    )
    for ns, pod in pods_of(name, n):
        shutil.rmtree(LOGDIR / ns / pod, ignore_errors=True)
    return res


def main() -> None:
    scale.env()
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", choices=["trial", "faro", "cleanup"])
    ap.add_argument("--consumer", choices=["faro", "stern"], default="faro")
    ap.add_argument("--trial", default="t0")
    ap.add_argument("--pods", type=int, default=500)
    ap.add_argument("--rate", type=int, default=5000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--out", type=Path)
    ap.add_argument("--diag", choices=["profile", "memory"], help="a diagnostic Faro trial (logdiag.py)")
    a = ap.parse_args()
    if a.command == "faro":
        logdiag.start_tracing()
        asyncio.run(faro_child(a.trial, a.out))
    elif a.command == "trial":
        print(json.dumps(trial(a.consumer, a.rate, a.seconds, a.trial, a.pods, a.diag), indent=1))
    else:
        print(json.dumps({"delete_s": asyncio.run(scale.delete_namespaces("bench-logs-"))}))


if __name__ == "__main__":
    main()
