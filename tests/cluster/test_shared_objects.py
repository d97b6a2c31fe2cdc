"""Objects in more than one story, or seen through more than one watch, on the real cluster:
primaries owned by primaries, rules whose watches overlap, and a deletion's cascade."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

from faro import ResourceRule
from faro.sinks.files import story_path
from tests.harness.cluster import LocalCluster
from tests.harness.faro_run import FaroRun, kinds, load_story, reasons
from tests.harness.logs import NamespaceLogWriter
from tests.harness.manifests import deployment, job


def rule(gvr: str, namespace: str, **kw: Any) -> ResourceRule:
    return ResourceRule(gvr=gvr, namespace_names=[namespace], **kw)


def doc_of(run: FaroRun, story: Any) -> dict[str, Any]:
    return load_story(story_path(run.config.output_dir, story))


async def test_a_pod_with_its_own_story_is_in_its_deployments_story_too(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    """Rules for Deployments and for Pods: the Deployment's story used to hold no pod at all
    (no pod changes, Events, lifecycle or logs), since each pod was bound to its own story."""
    rules = [rule("apps/v1/Deployment", namespace), rule("v1/Pod", namespace)]
    writer = NamespaceLogWriter(cluster, namespace, container="app", every=0.2)
    async with FaroRun(cluster, tmp_path, rules) as run:
        writing = asyncio.create_task(asyncio.to_thread(writer.run))
        try:
            await cluster.aapply(deployment("web", replicas=2), namespace)
            pods = {s.resource_name: s for s in await _pod_stories(run, 2)}
            # both stories hear every pod's log lines, from one stream per container
            lines = await run.recorded(
                lambda s: s.resource_name == "web" and _logged(s) >= 6,
                "the Deployment's story with log lines",
            )
            assert _logged(lines) >= 6
            for name in pods:
                await run.recorded(lambda s, name=name: s.resource_name == name and _logged(s) >= 2, name)
        finally:
            writer.stop()
            await writing
        dep = await run.story_of("Deployment", "web", timeout=60)
    doc = doc_of(run, dep)
    said = {line for lines_ in writer.written.values() for line in lines_}
    heard = {
        e["data"]["line"]
        for e in doc["events"]
        if e["event_type"] == "CONTAINER_LOG" and e["action"] == "log"
    }
    assert heard and heard <= said and {line.split()[0] for line in heard} == set(pods)
    in_dep = {
        e["data"]["metadata"]["name"]
        for e in doc["events"]
        if e["resource"] == "Pod" and e["event_type"] == "CORRELATED_EVENT"
    }
    assert in_dep == set(pods)
    assert {"Scheduled", "Started"} <= reasons(doc)
    assert "POD_LIFECYCLE" in {e["event_type"] for e in doc["events"]}
    updates = [e for e in doc["events"] if e["event_type"] == "CORRELATED_EVENT" and e["resource"] == "Pod"]
    assert all(e["changes"] for e in updates if e["action"] == "update")  # each story got the real diff
    for story in pods.values():  # and each pod still has a story of its own
        own = [e for e in story.buffer.all() if e.event_type.value == "RESOURCE_UPDATE"]
        assert own and all(e.changes for e in own if e.action == "update")


def _logged(story: Any) -> int:
    return sum(1 for e in story.buffer.all() if e.event_type.value == "CONTAINER_LOG")


async def _pod_stories(run: FaroRun, n: int) -> list[Any]:
    for _ in range(150):
        engine = run.faro.engine
        found = [
            s
            for s in [*run.closed, *(engine.book.open.values() if engine else [])]
            if s.resource_type == "v1/Pod"
        ]
        if len(found) >= n:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"fewer than {n} pod stories: {run.describe()}")


async def test_overlapping_rules_record_each_change_once(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    """Two rules for the same Deployment through different watches (all of the namespace, and
    a label selector): every change used to be recorded twice, the copy without changes."""
    rules = [
        rule("apps/v1/Deployment", namespace),
        rule("apps/v1/Deployment", namespace, label_selector="tier=web"),
    ]
    async with FaroRun(cluster, tmp_path, rules) as run:
        await cluster.aapply(deployment("web", replicas=2, labels={"tier": "web"}), namespace)
        story = await run.story_of("Deployment", "web", timeout=60)
    doc = doc_of(run, story)
    seen = Counter(
        (e["event_type"], e["data"]["metadata"]["uid"], e["data"]["metadata"]["resourceVersion"], e["action"])
        for e in doc["events"]
        if e["event_type"] in ("RESOURCE_UPDATE", "CORRELATED_EVENT")
    )
    assert seen and max(seen.values()) == 1, [k for k, v in seen.items() if v > 1]
    assert all(
        e["changes"]
        for e in doc["events"]
        if e["event_type"] == "RESOURCE_UPDATE" and e["action"] == "update"
    )
    assert {"ReplicaSet", "Pod"} <= kinds(doc, "CORRELATED_EVENT")


async def test_a_deleted_deployments_story_waits_for_its_pods_to_go(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    """`kubectl delete deployment` (background cascade): the Deployment goes at once, its pods
    seconds later, after their grace period. The story used to close in between, without them."""
    dep = deployment("doomed", replicas=2)
    dep["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 6
    async with FaroRun(cluster, tmp_path, [rule("apps/v1/Deployment", namespace)]) as run:
        await cluster.aapply(dep, namespace)
        await run.story_of("Deployment", "doomed", timeout=60)
        await cluster.akubectl("delete", "deployment", "-n", namespace, "doomed", "--wait=false")
        story = await run.story_of("Deployment", "doomed", episode=2, timeout=60)
    doc = doc_of(run, story)
    assert doc["metadata"]["completion"] == "deleted"
    deleted = Counter(e["resource"] for e in doc["events"] if e["action"] == "delete")
    assert deleted == Counter({"Deployment": 1, "ReplicaSet": 1, "Pod": 2})
    ends = [
        e
        for e in doc["events"]
        if e["event_type"] == "POD_LIFECYCLE" and str(e["data"].get("to", "")).startswith("terminated")
    ]
    assert len(ends) == 2


async def test_a_pod_starts_after_the_job_that_made_it(
    cluster: LocalCluster, namespace: str, tmp_path: Path
) -> None:
    """POD_STARTING used the pod's creationTimestamp, in whole seconds, so a Job's pod often
    started before its Job was created in the story."""
    async with FaroRun(cluster, tmp_path, [rule("batch/v1/Job", namespace)]) as run:
        await cluster.aapply(job("quick"), namespace)
        story = await run.story_of("Job", "quick", timeout=60)
    events = doc_of(run, story)["events"]
    added = next(
        e["timestamp"] for e in events if e["event_type"] == "RESOURCE_UPDATE" and e["action"] == "add"
    )
    started = next(e["timestamp"] for e in events if e["event_type"] == "POD_STARTING")
    assert started >= added
