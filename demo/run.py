"""`make run`: a real capture against the local cluster with a small demo workload.

It starts Faro (the library) on namespace `faro-demo`, then plays a scenario — a Deployment
rollout and a second rollout, a pod whose container crashes twice, a Job, and a custom
resource that becomes Ready — waits for the stories to close, and prints where they are.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from faro import Faro, FaroConfig, ResourceRule, Story

NS = "faro-demo"
GROUP = "demo.faro.dev"
console = Console(stderr=True)


def kubectl(*args: str, manifest: Any = None, check: bool = True) -> str:
    proc = subprocess.run(
        ["kubectl", *args],
        input=json.dumps(manifest) if manifest is not None else None,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check and proc.returncode != 0:
        raise SystemExit(f"demo: kubectl {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout


def apply(manifest: dict[str, Any]) -> None:
    kubectl("apply", "-f", "-", manifest=manifest)


def deployment(image: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": NS},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"terminationGracePeriodSeconds": 2, "containers": [{"name": "web", "image": image}]},
            },
        },
    }


def setup() -> None:
    kubectl("delete", "namespace", NS, "--ignore-not-found", "--wait=true", "--timeout=60s")
    kubectl("create", "namespace", NS)
    apply(
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": f"builds.{GROUP}"},
            "spec": {
                "group": GROUP,
                "scope": "Namespaced",
                "names": {"plural": "builds", "singular": "build", "kind": "Build"},
                "versions": [
                    {
                        "name": "v1",
                        "served": True,
                        "storage": True,
                        "subresources": {"status": {}},
                        "schema": {
                            "openAPIV3Schema": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            }
                        },
                    }
                ],
            },
        }
    )
    kubectl("wait", "--for=condition=Established", f"crd/builds.{GROUP}", "--timeout=30s")
    for _ in range(50):  # discovery catches up with a new CRD within a moment
        if kubectl("get", f"builds.{GROUP}", "-n", NS, check=False) is not None:
            break


LOG_DIR = Path(os.environ.get("FARO_TESTBED_LOGS", "/tmp/faro-demo-logs")) / NS


def log_file(pod: str, container: str, previous: bool = False) -> Path:
    return LOG_DIR / pod / f"{container}{'.previous' if previous else ''}.log"


def say(pod: str, container: str, *lines: str) -> None:
    """Append lines to a container's log in CRI format; KWOK serves it through pods/log."""
    with log_file(pod, container).open("ab") as f:
        for line in lines:
            stamp = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"
            f.write(f"{stamp} stdout F {line}\n".encode())


def give_logs(pod: str, container: str) -> None:
    for prev in (False, True):
        log_file(pod, container, prev).parent.mkdir(parents=True, exist_ok=True)
        log_file(pod, container, prev).touch()
    apply(
        {
            "apiVersion": "kwok.x-k8s.io/v1alpha1",
            "kind": "Logs",
            "metadata": {"name": pod, "namespace": NS},
            "spec": {
                "logs": [
                    {
                        "containers": [container],
                        "logsFile": str(log_file(pod, container)),
                        "previousLogsFile": str(log_file(pod, container, True)),
                        "follow": True,
                    }
                ]
            },
        }
    )


def crash(pod: str, container: str, exit_code: str) -> None:
    log_file(pod, container).replace(log_file(pod, container, True))  # as a kubelet rotates
    log_file(pod, container).touch()
    kubectl(
        "annotate",
        "pod",
        pod,
        "-n",
        NS,
        "--overwrite",
        f"faro.dev/crash={container}",
        f"faro.dev/crash-exit-code={exit_code}",
    )


async def scenario() -> None:
    def run(fn: Any, *a: Any) -> Any:
        return asyncio.to_thread(fn, *a)

    shutil.rmtree(LOG_DIR, ignore_errors=True)
    await run(give_logs, "flaky", "app")
    say("flaky", "app", "starting flaky v1", "connecting to db at db:5432")

    await run(apply, deployment("example.com/web:1"))
    await run(
        apply,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "flaky", "namespace": NS, "annotations": {"faro.dev/restart-delay": "1s"}},
            "spec": {"containers": [{"name": "app", "image": "example.com/flaky:1"}]},
        },
    )
    await run(
        apply,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "migrate", "namespace": NS},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"annotations": {"faro.dev/run-time": "2s"}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "migrate", "image": "example.com/migrate:1"}],
                    },
                },
            },
        },
    )
    await run(
        apply,
        {
            "apiVersion": f"{GROUP}/v1",
            "kind": "Build",
            "metadata": {"name": "release-42", "namespace": NS},
            "spec": {"commit": "abc123"},
        },
    )
    await asyncio.sleep(4)
    await run(apply, deployment("example.com/web:2"))  # a second rollout
    for attempt, exit_code in enumerate(("1", "137")):  # the pod's container crashes twice
        say("flaky", "app", f"fatal: db:5432 connection refused (attempt {attempt + 1})")
        await run(crash, "flaky", "app", exit_code)
        await asyncio.sleep(2.5)
        say("flaky", "app", "starting flaky v1", "connecting to db at db:5432")
    status = {
        "status": {
            "phase": "Succeeded",
            "conditions": [{"type": "Succeeded", "status": "True", "reason": "Built"}],
        }
    }
    await run(
        kubectl,
        "patch",
        f"builds.{GROUP}",
        "release-42",
        "-n",
        NS,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps(status),
    )
    await run(kubectl, "delete", "pod", "flaky", "-n", NS, "--grace-period=2", "--wait=false")
    await asyncio.sleep(6)


async def main() -> int:
    out = Path(os.environ.get("FARO_OUTPUT", "output")).resolve()
    console.print(f"[bold]faro demo[/]: preparing namespace {NS} on {os.environ.get('KUBECONFIG')}")
    await asyncio.to_thread(setup)
    shutil.rmtree(out / NS, ignore_errors=True)  # only this demo's own stories
    config = FaroConfig(
        resources=[
            ResourceRule(gvr=g, namespace_names=[NS])
            for g in ("apps/v1/Deployment", "v1/Pod", "batch/v1/Job", f"{GROUP}/v1/Build")
        ],
        output_dir=out,
        correlation_timeout=60,
    )
    written: list[tuple[Story, Path | None]] = []
    ready = asyncio.Event()
    faro = Faro(config, on_ready=ready.set, on_story_closed=lambda s, p: written.append((s, p)))
    task = asyncio.create_task(faro.run())
    await asyncio.wait_for(ready.wait(), 60)
    started = time.monotonic()
    console.print("faro is watching; playing the scenario (rollouts, crashes, a Job, a custom resource)…")
    await scenario()
    faro.stop()
    await task
    table = Table(title=f"stories written in {time.monotonic() - started:.0f}s to {out}")
    for col in ("resource", "name", "episode", "completion", "events", "file"):
        table.add_column(col)
    for story, path in written:
        rel = str(path.relative_to(Path.cwd())) if path and path.is_relative_to(Path.cwd()) else str(path)
        table.add_row(
            story.resource_type,
            story.resource_name,
            str(story.episode),
            story.completion or "",
            str(story.event_count),
            rel,
        )
    Console(width=None if sys.stdout.isatty() else 160).print(table)
    return 0 if written else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
