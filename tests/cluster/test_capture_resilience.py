"""Resilience against the real cluster: CRDs that come and go, restarts, RBAC 403s."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from faro import ConfigError, Faro, FaroConfig, OutputError, ResourceRule
from faro.sinks.files import story_path
from tests.harness.cluster import LocalCluster
from tests.harness.faro_run import FaroRun, load_story
from tests.harness.manifests import crd, deployment


async def test_crd_created_after_start_is_watched_and_deleted_one_stops(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    group = f"{namespace}.late.faro.test"
    rules = [ResourceRule(gvr=f"{group}/v1/Gadget", namespace_names=[namespace])]
    async with FaroRun(cluster, tmp_path, rules) as run:
        engine = run.faro.engine
        assert engine is not None and [r.gvr for r in engine.pending] == [f"{group}/v1/Gadget"]
        await cluster.aapply(crd(group, kind="Gadget", plural="gadgets"))
        await cluster.akubectl("wait", "--for=condition=Established", f"crd/gadgets.{group}", "--timeout=30s")

        async def watched() -> None:
            while not any(k.resource.kind == "Gadget" for k in engine.running):
                await asyncio.sleep(0.1)

        t0 = asyncio.get_running_loop().time()
        await asyncio.wait_for(watched(), 15)
        assert asyncio.get_running_loop().time() - t0 < 10  # "within seconds"
        manifest = {"apiVersion": f"{group}/v1", "kind": "Gadget", "metadata": {"name": "g1"}, "spec": {}}
        await cluster.aapply(manifest, namespace)
        status = '{"status":{"phase":"Succeeded"}}'
        await asyncio.sleep(0.5)
        await cluster.akubectl(
            "patch",
            f"gadgets.{group}",
            "g1",
            "-n",
            namespace,
            "--subresource=status",
            "--type=merge",
            "-p",
            status,
        )
        story = await run.story_of("Gadget", "g1")
        assert story.completion == "terminal"

        await cluster.akubectl("delete", "crd", f"gadgets.{group}")

        async def stopped() -> None:
            while any(k.resource.kind == "Gadget" for k in engine.running):
                await asyncio.sleep(0.1)

        await asyncio.wait_for(stopped(), 15)
        # the rest goes on: Events and children are still watched
        assert any(k.resource.kind == "Pod" for k in engine.running)


async def _journalled_story(run: FaroRun, cluster: LocalCluster, namespace: str) -> Path:
    """Start run and a Deployment "slow" whose pod never starts, so its story stays open;
    return the journal directory once the story is in it."""
    stuck = deployment("slow", replicas=1)
    stuck["spec"]["template"]["metadata"]["annotations"] = {"faro.dev/create-delay": "1h"}
    await run.__aenter__()
    await cluster.aapply(stuck, namespace)
    journal = run.config.output_dir / ".journal"
    for _ in range(100):
        if list(journal.glob("*.json")):
            break
        await asyncio.sleep(0.1)
    return journal


async def test_restarted_faro_resumes_open_stories_from_its_journal(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    rules = [ResourceRule(gvr="apps/v1/Deployment", namespace_names=[namespace])]
    first = FaroRun(cluster, tmp_path, rules, journal_every=0.5)
    journal = await _journalled_story(first, cluster, namespace)
    await asyncio.sleep(1)
    await first.crash()  # no flush: the story is only in the journal
    assert not first.closed and len(list(journal.glob("*.json"))) == 1

    async with FaroRun(cluster, tmp_path, rules, journal_every=0.5) as second:
        await cluster.aapply(deployment("slow", replicas=1), namespace)  # a rollout that completes
        story = await second.story_of("Deployment", "slow", timeout=60)
    doc = load_story(story_path(tmp_path, story))
    assert doc["metadata"]["completion"] == "terminal" and doc["metadata"]["episode"] == 1
    assert [g["reason"] for g in doc["metadata"]["gaps"]] == ["restart"]
    rs_names = {
        e["data"]["metadata"]["name"]
        for e in doc["events"]
        if e["event_type"] == "CORRELATED_EVENT" and e["resource"] == "ReplicaSet"
    }
    assert len(rs_names) == 2, "the first run's ReplicaSet and the second rollout's, in one story"
    assert not list(journal.glob("*.json"))
    # Events listed again by the restarted Faro are not recorded twice
    seen = [
        (e["data"]["metadata"]["uid"], e["data"]["metadata"]["resourceVersion"])
        for e in doc["events"]
        if e["event_type"] == "K8S_EVENT"
    ]
    assert seen and len(seen) == len(set(seen))


async def test_output_failing_mid_run_stops_the_capture_with_one_error(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    rules = [ResourceRule(gvr="apps/v1/Deployment", namespace_names=[namespace])]
    out, jsonl = tmp_path / "out", tmp_path / "events.jsonl"
    run = FaroRun(cluster, out, rules, journal_every=0.3, jsonl=str(jsonl))
    journal = await _journalled_story(run, cluster, namespace)
    shutil.rmtree(journal)
    journal.write_text("")  # where the journal was is now a file: the next pass cannot write
    await cluster.akubectl("annotate", "deployment", "slow", "-n", namespace, "faro.test/poke=1")
    assert run.task is not None
    with pytest.raises(OutputError, match=r"^cannot write \S*/\.journal\S*: (File exists|Not a directory)$"):
        await asyncio.wait_for(run.task, 30)  # the capture stops by itself
    # The JSONL sink was closed whole: every event the callback saw is one line of it.
    lines = jsonl.read_bytes().splitlines()
    assert lines and len(lines) == len(run.events)
    assert [json.loads(line)["action"] for line in lines] == [e.action for e in run.events]
    # The open story was still flushed to its file (the story directory is fine).
    story = next(s for s in run.closed if s.resource_name == "slow")
    assert story.completion == "shutdown"
    assert load_story(story_path(out, story))["metadata"]["completion"] == "shutdown"


def sa_kubeconfig(cluster: LocalCluster, namespace: str, sa: str, path: Path) -> Path:
    """A kubeconfig that authenticates as ServiceAccount `sa` (a bound token)."""
    token = cluster.kubectl("create", "token", sa, "-n", namespace).strip()
    admin: dict[str, Any] = yaml.safe_load(cluster.kubeconfig.read_text())
    server = admin["clusters"][0]["cluster"]
    ca = (
        server.get("certificate-authority-data")
        or base64.b64encode(Path(server["certificate-authority"]).read_bytes()).decode()
    )
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": sa,
                "clusters": [
                    {"name": "c", "cluster": {"server": server["server"], "certificate-authority-data": ca}}
                ],
                "users": [{"name": sa, "user": {"token": token}}],
                "contexts": [{"name": sa, "context": {"cluster": "c", "user": sa}}],
            }
        )
    )
    return path


def limited_kubeconfig(cluster: LocalCluster, namespace: str, path: Path) -> Path:
    """A ServiceAccount that may read Deployments, ReplicaSets, Pods and Events in
    `namespace`, and nothing else (Jobs are forbidden)."""
    rules = [
        {
            "apiGroups": ["apps"],
            "resources": ["deployments", "replicasets"],
            "verbs": ["get", "list", "watch"],
        },
        {"apiGroups": [""], "resources": ["pods", "events"], "verbs": ["get", "list", "watch"]},
    ]
    cluster.apply(
        [
            {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "limited"}},
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "Role",
                "metadata": {"name": "limited"},
                "rules": rules,
            },
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "limited"},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "limited"},
                "subjects": [{"kind": "ServiceAccount", "name": "limited", "namespace": namespace}],
            },
        ],
        namespace,
    )
    return sa_kubeconfig(cluster, namespace, "limited", path)


async def test_forbidden_resource_fails_alone(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    kc = await asyncio.to_thread(limited_kubeconfig, cluster, namespace, tmp_path / "limited.yaml")
    rules = [
        ResourceRule(gvr="apps/v1/Deployment", namespace_names=[namespace]),
        ResourceRule(gvr="batch/v1/Job", namespace_names=[namespace]),
    ]
    run = FaroRun(cluster, tmp_path / "out", rules)
    run.config.kubeconfig = str(kc)
    async with run:
        await cluster.aapply(deployment("allowed", replicas=1), namespace)
        story = await run.story_of("Deployment", "allowed")
        engine = run.faro.engine
        assert engine is not None
        jobs = [r for r in engine.reflectors if r.resource.kind == "Job"]
        assert jobs and all(r.stats.errors.get(403, 0) >= 1 and not r.synced.is_set() for r in jobs)
        assert "forbidden" in jobs[0].stats.last_error
    assert story.completion == "terminal"
    doc = load_story(story_path(tmp_path / "out", story))
    assert {"Deployment", "ReplicaSet", "Pod"} <= {e["resource"] for e in doc["events"]}


async def test_a_capture_forbidden_to_watch_every_primary_stops_with_one_error(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    kc = await asyncio.to_thread(limited_kubeconfig, cluster, namespace, tmp_path / "limited.yaml")
    run = FaroRun(cluster, tmp_path / "out", [ResourceRule(gvr="batch/v1/Job", namespace_names=[namespace])])
    run.config.kubeconfig = str(kc)
    t0 = asyncio.get_running_loop().time()
    with pytest.raises(ConfigError) as info:
        await run.__aenter__()
    assert asyncio.get_running_loop().time() - t0 < 20  # at the first 403, not after retries
    message = str(info.value)
    assert message.startswith(
        "not allowed to watch what the capture is for: 403 Forbidden: jobs.batch is forbidden"
    )
    assert message.endswith("(`faro rbac` prints the role a capture needs)")
    assert not (tmp_path / "out").exists()  # nothing half-written


async def test_exec_plugin_credentials(cluster: LocalCluster, namespace: str, tmp_path: Path) -> None:
    """kubeconfig `exec` auth (as cloud providers use), through kubernetes_asyncio."""
    kc = await asyncio.to_thread(limited_kubeconfig, cluster, namespace, tmp_path / "token.yaml")
    doc: dict[str, Any] = yaml.safe_load(kc.read_text())
    token = doc["users"][0]["user"].pop("token")
    plugin = tmp_path / "cred-plugin.sh"
    calls = tmp_path / "calls"
    cred = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": token},
    }
    plugin.write_text(f"#!/bin/sh\necho call >> {calls}\ncat <<'EOF'\n{json.dumps(cred)}\nEOF\n")
    plugin.chmod(0o755)
    doc["users"][0]["user"]["exec"] = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": str(plugin),
        "interactiveMode": "Never",
    }
    kc.write_text(yaml.safe_dump(doc))
    run = FaroRun(
        cluster, tmp_path / "out", [ResourceRule(gvr="apps/v1/Deployment", namespace_names=[namespace])]
    )
    run.config.kubeconfig = str(kc)
    async with run:
        await cluster.aapply(deployment("via-exec", replicas=1), namespace)
        story = await run.story_of("Deployment", "via-exec")
    assert story.completion == "terminal"
    assert calls.read_text().count("call") >= 1  # the plugin really provided the credential


async def test_a_faro_runs_again_after_stop_and_only_once_at_a_time(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    """stop() used to stick: a second run() of the same Faro returned at once, capturing
    nothing; and two concurrent run()s of one Faro shared its files and state."""
    ready = asyncio.Event()
    names: list[str] = []
    config = FaroConfig(
        resources=[ResourceRule(gvr="v1/ConfigMap", namespace_names=[namespace])],
        output_dir=tmp_path,
        kubeconfig=str(cluster.kubeconfig),
        metrics_port=0,
    )
    faro = Faro(config, on_ready=ready.set, on_event=lambda story, ev: names.append(story.resource_name))
    for attempt in ("first", "second"):
        ready.clear()
        task = asyncio.create_task(faro.run())
        await asyncio.wait_for(ready.wait(), 60)
        if attempt == "first":
            with pytest.raises(RuntimeError, match="already running"):
                await asyncio.wait_for(faro.run(), 10)
        await cluster.aapply(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": attempt}}, namespace
        )
        for _ in range(100):
            if attempt in names:
                break
            await asyncio.sleep(0.1)
        assert attempt in names
        faro.stop()
        await asyncio.wait_for(task, 30)


async def test_the_library_raises_its_own_config_error_for_an_unknown_resource(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    """It raised faro.kube.discovery.UnknownResourceError, which `faro` does not export."""
    config = FaroConfig(
        resources=[ResourceRule(gvr="deploymnt")],
        output_dir=tmp_path / "out",
        kubeconfig=str(cluster.kubeconfig),
        metrics_port=0,
    )
    with pytest.raises(ConfigError, match="unknown resource 'deploymnt'"):
        await Faro(config).run()
    assert not (tmp_path / "out").exists()
