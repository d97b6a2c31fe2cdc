"""The processes of the capture lag benchmark (lag.py): Faro, a control watcher, the driver.

Why separate processes: the driver must not steal Faro's event loop or GIL (or the reverse),
and a plain watcher beside Faro tells the apiserver's own delivery delay from Faro's.
- `watch`: Faro (the library) with the ConfigMaps of `bench-lag` as primaries; records when
  each annotation value `bench.faro.dev/seq` reaches its on_event callback.
- `rawwatch`: the control, a bare aiohttp watch of the same ConfigMaps (split on b"\\n",
  orjson), recording when each value arrives off the wire.
- `drive`: creates the namespace and 50 ConfigMaps if needed, then PATCHes the annotation
  with a unique number per write, open loop at --rate for --seconds, and prints the
  completion time of every write (plus its PATCH latency and its own CPU use) as JSON.
The watchers print "ready", record until stdin closes, then write {"received": {seq: t}}.
`cleanup` deletes the namespace.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
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
        write_stories=False,
        include_logs=False,
        correlation_timeout=3600,
        metrics_port=0,
    )
    faro = Faro(config, on_event=on_event, on_ready=lambda: print("ready", flush=True))
    task = asyncio.create_task(faro.run())
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    faro.stop()
    out.write_bytes(orjson.dumps({"received": received}))
    await task


async def rawwatch(out: Path) -> None:
    """The control watcher: the same ConfigMaps, nothing but a socket and orjson."""
    server, sslctx, headers = connect()
    received: dict[str, float] = {}
    conn = aiohttp.TCPConnector(ssl=sslctx if sslctx is not None else False)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    url = f"{server}/api/v1/namespaces/{NS}/configmaps"
    async with aiohttp.ClientSession(connector=conn, headers=headers, timeout=timeout) as session:
        async with session.get(url) as r:
            rv = (await r.json())["metadata"]["resourceVersion"]

        async def follow() -> None:
            nonlocal rv
            while True:  # a watch that ends (timeout, apiserver restart) resumes from the last RV
                try:
                    async with session.get(url, params={"watch": "1", "resourceVersion": rv}) as r:
                        pending = b""
                        async for chunk in r.content.iter_any():
                            lines = (pending + chunk).split(b"\n")
                            pending = lines.pop()
                            for line in lines:
                                meta = orjson.loads(line)["object"]["metadata"] if line else {}
                                rv = meta.get("resourceVersion", rv)
                                seq = (meta.get("annotations") or {}).get(ANN)
                                if seq is not None and seq not in received:
                                    received[seq] = time.time()
                except aiohttp.ClientError:
                    await asyncio.sleep(0.5)

        task = asyncio.create_task(follow())
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        task.cancel()
    out.write_bytes(orjson.dumps({"received": received}))


async def setup(session: aiohttp.ClientSession, server: str) -> None:
    """Namespace and ConfigMaps; waits out a namespace still terminating from the last run and
    an apiserver that is restarting (the test suite sharing the cluster restarts it)."""
    for _ in range(120):
        try:
            async with session.get(f"{server}/api/v1/namespaces/{NS}") as r:
                ns = await r.json() if r.status == 200 else None
                if r.status not in (200, 404):
                    raise aiohttp.ClientError(f"status {r.status}")
            if ns is not None and not ns["metadata"].get("deletionTimestamp"):
                break
            if ns is None:
                async with session.post(f"{server}/api/v1/namespaces", json={"metadata": {"name": NS}}) as r:
                    if r.status not in (201, 409):
                        raise RuntimeError(f"create namespace: {r.status} {await r.text()}")
        except aiohttp.ClientError:
            pass
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
    latency: list[float] = []
    errors = 0
    sem = asyncio.Semaphore(max_inflight)
    async with aiohttp.ClientSession(connector=conn, headers=headers) as session:
        await setup(session, server)

        async def one(i: int) -> None:
            nonlocal errors
            seq = str(first_seq + i)
            body = orjson.dumps({"metadata": {"annotations": {ANN: seq}}})
            url = f"{server}/api/v1/namespaces/{NS}/configmaps/lag-{i % CONFIGMAPS:02d}"
            t = time.time()
            try:
                async with session.patch(url, data=body, headers=MERGE) as r:
                    await r.read()
                    if r.status == 200:
                        done[seq] = time.time()
                        latency.append(done[seq] - t)
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
        "patch_p50_ms": 1000 * quantile(latency, 0.5),
        "patch_p99_ms": 1000 * quantile(latency, 0.99),
        "driver_cpu_s": time.process_time(),
        "seconds": end - start,
    }


def quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))] if s else float("nan")


def cleanup() -> None:
    """Delete the namespace (its ConfigMaps go with it)."""

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
    ap.add_argument("command", choices=["watch", "rawwatch", "drive", "cleanup"])
    ap.add_argument("--out", type=Path)
    ap.add_argument("--rate", type=int, default=100)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--first-seq", type=int, default=0)
    args = ap.parse_args()
    if args.command == "watch":
        asyncio.run(watch(args.out))
    elif args.command == "rawwatch":
        asyncio.run(rawwatch(args.out))
    elif args.command == "drive":
        print(json.dumps(asyncio.run(drive(args.rate, args.seconds, args.first_seq))))
    else:
        cleanup()


if __name__ == "__main__":
    main()
