"""POD_STARTING of a replacement pod names the pod it replaced (same controller, or the same
name for StatefulSet pods); a pod that went away long ago replaces nothing."""

from __future__ import annotations

from typing import Any

from faro.capture.fold.pod_lifecycle import PodLifecycle
from faro.model.events import EventType


def pod(
    name: str, uid: str, owner: tuple[str, str] | None = ("ReplicaSet", "rs-1"), **extra: Any
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": uid, "namespace": "ns", **extra}
    if owner is not None:
        meta["ownerReferences"] = [{"kind": owner[0], "uid": owner[1], "name": "o", "controller": True}]
    return {"kind": "Pod", "metadata": meta, "status": {"phase": "Running"}}


def starting(life: PodLifecycle, p: dict[str, Any], at: float) -> dict[str, Any]:
    (ev,) = [e for e in life.observe(p, at) if e.event_type is EventType.POD_STARTING]
    return ev.data


def test_a_replicaset_pod_replacing_a_deleted_one_names_it() -> None:
    life = PodLifecycle()
    assert "replaces" not in starting(life, pod("web-a", "u1"), 1.0)
    assert "replaces" not in starting(life, pod("web-b", "u2"), 1.0)
    life.observe(pod("web-a", "u1", deletionTimestamp="2026-12-04T10:00:00Z"), 5.0)
    life.observe(pod("web-a", "u1"), 6.0, deleted=True)  # the same pod: recorded once
    assert starting(life, pod("web-c", "u3"), 5.5)["replaces"] == {
        "pod": "web-a",
        "uid": "u1",
        "why": "terminating",
    }
    assert "replaces" not in starting(life, pod("web-d", "u4"), 7.0)  # a scale-up replaces nothing


def test_a_statefulset_pod_recreated_under_its_name_names_the_old_one() -> None:
    life = PodLifecycle()
    sts = ("StatefulSet", "sts-1")
    starting(life, pod("db-0", "old", sts), 1.0)
    starting(life, pod("db-1", "one", sts), 1.0)
    life.observe(pod("db-0", "old", sts), 3.0, deleted=True)
    assert "replaces" not in starting(life, pod("db-1-other", "x", sts), 3.5)  # another name
    assert starting(life, pod("db-0", "new", sts), 4.0)["replaces"] == {
        "pod": "db-0",
        "uid": "old",
        "why": "deleted",
    }


def test_a_failed_job_pod_is_replaced_by_the_retry_and_old_departures_expire() -> None:
    life = PodLifecycle()
    job = ("Job", "job-1")
    starting(life, pod("migrate-a", "a", job), 1.0)
    failed = pod("migrate-a", "a", job)
    failed["status"]["phase"] = "Failed"
    life.observe(failed, 2.0)
    assert starting(life, pod("migrate-b", "b", job), 3.0)["replaces"]["why"] == "failed"
    life.observe(pod("migrate-b", "b", job, deletionTimestamp="x"), 10.0)
    assert "replaces" not in starting(life, pod("migrate-c", "c", job), 10.0 + 121)  # past the window
    assert "replaces" not in starting(life, pod("bare", "z", owner=None), 11.0)


def test_a_seeded_pod_goes_on_from_its_last_known_state() -> None:
    """After a restart, a pod's lifecycle continues from the journal: no second POD_STARTING,
    and what changed while Faro was down is one transition."""
    life = PodLifecycle()
    running = pod("web-a", "u1")
    running["status"]["containerStatuses"] = [{"name": "app", "restartCount": 0, "state": {"running": {}}}]
    pending = pod("web-a", "u1")
    pending["status"] = {"phase": "Pending"}
    life.seed(pending, 5.0)
    events = life.observe(running, 9.0)
    assert [e.event_type for e in events] == [EventType.POD_LIFECYCLE, EventType.POD_LIFECYCLE]
    assert events[0].data["from"] == "Pending" and events[0].data["to"] == "Running"
    life.seed(pod("web-a", "u1"), 20.0)  # already known: a seed never replaces what was observed
    assert life.observe(running, 21.0) == []
