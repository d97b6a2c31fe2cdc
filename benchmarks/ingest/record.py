"""Record a real watch sample from the local cluster, for the ingest benchmark.

Why: the ingest benchmark must replay realistic bytes — pods as the apiserver serves them
(several containers, labels, annotations, managedFields written by the controller-manager,
the scheduler and the fake kubelet) and the core/v1 Events that come with them — not
hand-written JSON. This script makes real objects in a dedicated namespace `bench-rec`,
records the raw watch lines of its pods and events while they go through a whole life
(create, schedule, start, annotate, roll out, delete), saves the discovery documents, and
deletes the namespace. `synth.py` then grows the sample to ~100k events.

Usage: python -m benchmarks.ingest.record [--out ~/.cache/faro/bench/sample] [--deployments 8 --replicas 15]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import time
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from benchmarks.common.paths import CACHE
from faro.errors import ApiError, KubeError
from faro.kube.client import KubeClient
from faro.kube.discovery import AGGREGATED

NS = "bench-rec"
APPS = ["cart", "checkout", "catalog", "payments", "search", "users", "orders", "shipping", "reviews"]
SIDECARS = {"checkout", "payments", "orders"}  # these also run an envoy sidecar
MERGE = {"Content-Type": "application/merge-patch+json"}


def deployment(app: str, replicas: int) -> dict[str, Any]:
    """A production-looking Deployment: an app and a log shipper, some with an envoy sidecar."""
    digest = hashlib.sha256(app.encode()).hexdigest()
    labels = {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/instance": f"{app}-prod",
        "app.kubernetes.io/part-of": "shop",
        "team": "commerce",
        "environment": "production",
    }
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "9090",
        "checksum/config": digest,
        "kubectl.kubernetes.io/default-container": app,
    }
    res = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}}
    app_c = {
        "name": app,
        "image": f"registry.example.com/shop/{app}:1.4.2",
        "ports": [{"name": "http", "containerPort": 8080}],
        "env": [
            {"name": "LOG_LEVEL", "value": "info"},
            {"name": "DB_HOST", "value": f"{app}-db.shop.svc.cluster.local"},
            {"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": f"{app}-db", "key": "password"}}},
        ],
        "resources": res,
        "volumeMounts": [{"name": "config", "mountPath": "/etc/app"}],
    }
    envoy = {"name": "envoy", "image": "envoyproxy/envoy:v1.31.2"}
    shipper = {
        "name": "log-shipper",
        "image": "fluent/fluent-bit:3.1.9",
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": app, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app.kubernetes.io/name": app}},
            "template": {
                "metadata": {"labels": labels, "annotations": annotations},
                "spec": {
                    "containers": [app_c, shipper, envoy][: 2 + (app in SIDECARS)],
                    "volumes": [{"name": "config", "configMap": {"name": f"{app}-config"}}],
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 2,
                },
            },
        },
    }


async def record_stream(client: KubeClient, resource: str, rv: str, out: list[bytes]) -> None:
    """Record raw lines; a dropped connection (tests restart the apiserver) resumes from the last RV."""
    path = f"/api/v1/namespaces/{NS}/{resource}"
    while True:
        try:
            async for line in client.stream_lines(path, {"watch": True, "resourceVersion": rv}):
                if line:
                    out.append(line)
                    rv = orjson.loads(line)["object"]["metadata"]["resourceVersion"]
        except (KubeError, aiohttp.ClientError) as exc:
            print(f"  {resource} watch interrupted ({exc}); resuming from {rv}")
            await asyncio.sleep(1)


async def pods(client: KubeClient) -> list[dict[str, Any]]:
    return (await client.get_json(f"/api/v1/namespaces/{NS}/pods"))["items"]  # type: ignore[no-any-return]


async def wait_for(what: str, check: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(1)
    print(f"  {what}: done")


async def delete_namespace(client: KubeClient) -> None:
    with contextlib.suppress(ApiError):
        await client.request_json("DELETE", f"/api/v1/namespaces/{NS}")

    async def gone() -> bool:
        try:
            await client.get_json(f"/api/v1/namespaces/{NS}")
        except ApiError as exc:
            return exc.status == 404
        return False

    await wait_for(f"namespace {NS} gone", gone)


async def save_discovery(client: KubeClient, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, path, accept in [
        ("api", "/api", AGGREGATED),
        ("apis", "/apis", AGGREGATED),
        ("api-legacy", "/api", "application/json"),
        ("apis-legacy", "/apis", "application/json"),
        ("version", "/version", "application/json"),
    ]:
        resp = await client.open("GET", path, headers={"Accept": accept})
        async with resp:
            (out / f"{name}.json").write_bytes(await resp.read())


async def main(out: Path, n_deploy: int, replicas: int) -> None:
    client = await KubeClient.connect()
    try:
        await save_discovery(client, out / "discovery")
        await delete_namespace(client)
        await client.request_json("POST", "/api/v1/namespaces", body={"metadata": {"name": NS}})
        lines: dict[str, list[bytes]] = {"pods": [], "events": []}
        async with asyncio.TaskGroup() as tg:
            tasks = []
            for res in lines:
                rv = (await client.get_json(f"/api/v1/namespaces/{NS}/{res}"))["metadata"]["resourceVersion"]
                tasks.append(tg.create_task(record_stream(client, res, rv, lines[res])))
            apps = APPS[:n_deploy]
            total = n_deploy * replicas
            for app in apps:
                await client.request_json(
                    "POST", f"/apis/apps/v1/namespaces/{NS}/deployments", body=deployment(app, replicas)
                )

            async def all_running() -> bool:
                ps = await pods(client)
                live = [p for p in ps if not p["metadata"].get("deletionTimestamp")]
                return len(ps) == total and all(p["status"].get("phase") == "Running" for p in live)

            await wait_for(f"{total} pods running", all_running)
            for round_ in range(2):  # what operators and controllers do to live pods
                for p in await pods(client):
                    ann = {"metadata": {"annotations": {"bench.faro.dev/touched": str(round_)}}}
                    await client.request_json(
                        "PATCH",
                        f"/api/v1/namespaces/{NS}/pods/{p['metadata']['name']}",
                        body=ann,
                        headers=MERGE,
                    )
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            for app in apps:  # a rollout: every pod is replaced
                patch = {
                    "spec": {
                        "template": {
                            "metadata": {"annotations": {"kubectl.kubernetes.io/restartedAt": stamp}}
                        }
                    }
                }
                await client.request_json(
                    "PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/{app}", body=patch, headers=MERGE
                )
            await asyncio.sleep(2)
            await wait_for("rollout complete", all_running, timeout=180)
            for app in apps:
                await client.request_json("DELETE", f"/apis/apps/v1/namespaces/{NS}/deployments/{app}")

            async def no_pods() -> bool:
                return not await pods(client)

            await wait_for("all pods deleted", no_pods)
            await asyncio.sleep(2)  # the last events
            for t in tasks:
                t.cancel()
    finally:
        with contextlib.suppress(Exception):
            await delete_namespace(client)
        await client.close()
    out.mkdir(parents=True, exist_ok=True)
    for res, ls in lines.items():
        (out / f"{res}.jsonl").write_bytes(b"".join(line + b"\n" for line in ls))
        size = sum(map(len, ls)) / max(1, len(ls))
        print(f"recorded {len(ls)} {res} watch events, {size:.0f} bytes on average -> {out}/{res}.jsonl")


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=CACHE / "sample")
    ap.add_argument("--deployments", type=int, default=8)
    ap.add_argument("--replicas", type=int, default=15)
    args = ap.parse_args()
    asyncio.run(main(args.out, args.deployments, args.replicas))
