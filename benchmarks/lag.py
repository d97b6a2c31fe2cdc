"""Capture lag on the real cluster: how long after a write does Faro hand it to the caller?

Why: throughput on a replay says nothing about latency under a live apiserver. Here a driver
patches an annotation (`bench.faro.dev/seq`, a unique number per write) on 50 ConfigMaps in
the namespace `bench-lag` at a fixed open-loop rate, and Faro (the library, in another
process, with those ConfigMaps as primaries) records when each value reaches its on_event
callback. lag = on_event wall time - the driver's write completion time (the PATCH
response), matched by the annotation value. Both processes read the same clock
(time.time()). Writes the apiserver cannot absorb are not hidden: the achieved rate is
reported next to the target, and writes Faro never delivered are counted as missing.

Usage (standalone): python benchmarks/lag.py [--runs 3] [--rates 100,500,1000] [--seconds 10]
The namespace is deleted at the end. Subcommands `watch` and `drive` are the two processes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

NS = "bench-lag"
ANN = "bench.faro.dev/seq"
CONFIGMAPS = 50
MERGE = {"Content-Type": "application/merge-patch+json"}


def connect(kubeconfig: str | None = None) -> tuple[str, ssl.SSLContext | None, dict[str, str]]:
    """(server, TLS context, headers) from a kubeconfig with client-cert or token auth: the
    driver talks aiohttp directly so that its own overhead stays small at 1000 writes/s."""
    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    cfg = yaml.safe_load(Path(path).read_text())
    ctx_name = cfg["current-context"]
    ctx = next(c["context"] for c in cfg["contexts"] if c["name"] == ctx_name)
    cluster = next(c["cluster"] for c in cfg["clusters"] if c["name"] == ctx["cluster"])
    user = next(u["user"] for u in cfg["users"] if u["name"] == ctx["user"])
    tmp = Path(tempfile.mkdtemp(prefix="faro-lag-"))

    def file_of(key: str) -> str | None:
        if user.get(f"{key}-data") or cluster.get(f"{key}-data"):
            import base64

            p = tmp / key
            p.write_bytes(base64.b64decode(user.get(f"{key}-data") or cluster.get(f"{key}-data")))
            return str(p)
        return user.get(key) or cluster.get(key)

    headers = {"Authorization": f"Bearer {user['token']}"} if user.get("token") else {}
    sslctx = None
    if cluster["server"].startswith("https"):
        sslctx = ssl.create_default_context(cafile=file_of("certificate-authority"))
        cert, key = file_of("client-certificate"), file_of("client-key")
        if cert and key:
            sslctx.load_cert_chain(cert, key)
    return cluster["server"], sslctx, headers


async def watch(out: Path) -> None:
    """The Faro side: record (seq -> receipt time) from on_event until stdin closes."""
    from faro import Faro
    from faro.config import FaroConfig, ResourceRule

    received: dict[str, float] = {}

    def on_event(story: Any, ev: Any) -> None:
        seq = ((ev.data.get("metadata") or {}).get("annotations") or {}).get(ANN)
        if seq is not None and seq not in received:
            received[seq] = time.time()

    config = FaroConfig(
        resources=[ResourceRule(gvr="v1/ConfigMap", namespace_names=[NS])],
        json_export=False,
        include_logs=False,
        correlation_timeout=3600,
    )
    faro = Faro(config, on_event=on_event, on_ready=lambda: print("ready", flush=True))
    task = asyncio.create_task(faro.run())
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    faro.stop()
    out.write_bytes(orjson.dumps({"received": received}))
    await task


async def setup(session: aiohttp.ClientSession, server: str) -> None:
    for _ in range(120):  # a namespace still terminating from the last run must go first
        async with session.get(f"{server}/api/v1/namespaces/{NS}") as r:
            ns = await r.json() if r.status == 200 else None
        if ns is not None and not ns["metadata"].get("deletionTimestamp"):
            break
        if ns is None:
            async with session.post(f"{server}/api/v1/namespaces", json={"metadata": {"name": NS}}) as r:
                if r.status not in (201, 409):
                    raise RuntimeError(f"create namespace: {r.status} {await r.text()}")
        await asyncio.sleep(1)
    for i in range(CONFIGMAPS):
        body = {
            "metadata": {"name": f"lag-{i:02d}", "labels": {"app": "bench-lag"}},
            "data": {"config.yaml": "key: value\n" * 40},
        }
        async with session.post(f"{server}/api/v1/namespaces/{NS}/configmaps", json=body) as r:
            if r.status not in (201, 409):
                raise RuntimeError(f"create configmap: {r.status} {await r.text()}")


async def drive(rate: int, seconds: float, first_seq: int, max_inflight: int = 256) -> dict[str, Any]:
    """Open loop: write i is due at t0 + i/rate; at most max_inflight writes outstanding."""
    server, sslctx, headers = connect()
    conn = aiohttp.TCPConnector(ssl=sslctx if sslctx is not None else False, limit=max_inflight)
    done: dict[str, float] = {}
    errors = 0
    sem = asyncio.Semaphore(max_inflight)
    async with aiohttp.ClientSession(connector=conn, headers=headers) as session:
        await setup(session, server)

        async def one(i: int) -> None:
            nonlocal errors
            seq = str(first_seq + i)
            body = orjson.dumps({"metadata": {"annotations": {ANN: seq}}})
            url = f"{server}/api/v1/namespaces/{NS}/configmaps/lag-{i % CONFIGMAPS:02d}"
            try:
                async with session.patch(url, data=body, headers=MERGE) as r:
                    await r.read()
                    if r.status == 200:
                        done[seq] = time.time()
                    else:
                        errors += 1
            except aiohttp.ClientError:
                errors += 1
            finally:
                sem.release()

        loop = asyncio.get_running_loop()
        tasks = []
        total = int(rate * seconds)
        t0 = loop.time()
        start = time.time()
        for i in range(total):
            delay = t0 + i / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            await sem.acquire()
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)
        end = max(done.values(), default=time.time())
    return {
        "rate": rate,
        "target": total,
        "done": done,
        "errors": errors,
        "achieved": len(done) / (end - start),
    }


def quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def run_lag(rates: list[int], seconds: float, run: int = 0) -> list[dict[str, Any]]:
    """One watcher process, then one driver process per rate; returns per-rate statistics."""
    here = Path(__file__).resolve()
    out = Path(tempfile.mkdtemp(prefix="faro-lag-")) / "received.json"
    watcher = subprocess.Popen(
        [sys.executable, str(here), "watch", "--out", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert watcher.stdin is not None and watcher.stdout is not None
    drives = []
    try:
        subprocess.run(
            [sys.executable, str(here), "drive", "--rate", "1", "--seconds", "1"],
            check=True,
            capture_output=True,
        )  # namespace and ConfigMaps exist before Faro lists
        if watcher.stdout.readline().strip() != "ready":
            raise RuntimeError("the Faro watcher did not become ready")
        for k, rate in enumerate(rates):
            p = subprocess.run(
                [
                    sys.executable,
                    str(here),
                    "drive",
                    "--rate",
                    str(rate),
                    "--seconds",
                    str(seconds),
                    "--first-seq",
                    str((k + 1) * 10_000_000),
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=seconds * 4 + 30,
            )
            drives.append(json.loads(p.stdout))
        time.sleep(3)  # let Faro catch up with the last writes
    finally:
        watcher.stdin.close()
        watcher.wait(timeout=60)
    received = orjson.loads(out.read_bytes())["received"]
    stats = []
    for d in drives:
        lags = [received[s] - t for s, t in d["done"].items() if s in received]
        stats.append(
            {
                "run": run,
                "rate": d["rate"],
                "achieved": d["achieved"],
                "writes": len(d["done"]),
                "errors": d["errors"],
                "missing": len(d["done"]) - len(lags),
                "p50_ms": 1000 * quantile(lags, 0.50),
                "p99_ms": 1000 * quantile(lags, 0.99),
                "max_ms": 1000 * max(lags, default=float("nan")),
            }
        )
    return stats


def cleanup() -> None:
    async def go() -> None:
        server, sslctx, headers = connect()
        conn = aiohttp.TCPConnector(ssl=sslctx if sslctx is not None else False)
        async with (
            aiohttp.ClientSession(connector=conn, headers=headers) as s,
            s.delete(f"{server}/api/v1/namespaces/{NS}") as r,
        ):
            await r.read()

    asyncio.run(go())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("command", nargs="?", default="all", choices=["all", "watch", "drive"])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--rates", default="100,500,1000")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--first-seq", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    if args.command == "watch":
        asyncio.run(watch(args.out))
    elif args.command == "drive":
        print(json.dumps(asyncio.run(drive(args.rate, args.seconds, args.first_seq))))
    else:
        try:
            rates = [int(r) for r in args.rates.split(",")]
            stats = [s for run in range(args.runs) for s in run_lag(rates, args.seconds, run)]
        finally:
            cleanup()
        print(json.dumps(stats, indent=1))


if __name__ == "__main__":
    main()
