"""faro.capture.fold.completion.terminal_state: when is a story's primary done?"""

from __future__ import annotations

from typing import Any

import pytest

from faro.capture.fold.completion import terminal_state


def _obj(
    kind: str, status: dict[str, Any] | None, spec: dict[str, Any] | None = None, gen: int = 1
) -> dict[str, Any]:
    o: dict[str, Any] = {"kind": kind, "metadata": {"name": "x", "generation": gen}, "spec": spec or {}}
    if status is not None:
        o["status"] = status
    return o


def _cond(type_: str, status: str = "True", reason: str = "") -> dict[str, str]:
    return {"type": type_, "status": status, "reason": reason}


@pytest.mark.parametrize(
    ("phase", "expected"),
    [("Succeeded", "Pod Succeeded"), ("Failed", "Pod Failed"), ("Running", None), ("Pending", None)],
)
def test_pod_phase(phase: str, expected: str | None) -> None:
    assert terminal_state(_obj("Pod", {"phase": phase})) == expected


def test_pod_ready_condition_is_not_terminal() -> None:
    # Pods are judged by phase only, not by the generic Ready rule.
    assert terminal_state(_obj("Pod", {"phase": "Running", "conditions": [_cond("Ready")]})) is None


def test_job() -> None:
    assert terminal_state(_obj("Job", {"conditions": [_cond("Complete")]})) == "Job Complete"
    assert terminal_state(_obj("Job", {"conditions": [_cond("Failed", reason="BackoffLimitExceeded")]})) == (
        "Job Failed"
    )
    assert terminal_state(_obj("Job", {"conditions": [_cond("Complete", "False")], "active": 1})) is None
    assert terminal_state(_obj("Job", {"active": 1})) is None


def _deploy(status: dict[str, Any], replicas: int = 3, gen: int = 2) -> dict[str, Any]:
    return _obj("Deployment", status, {"replicas": replicas}, gen)


def test_deployment_rollout_complete() -> None:
    status = {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}
    assert terminal_state(_deploy(status)) == "Deployment rollout complete"


def test_deployment_not_yet_observed() -> None:
    # Counters still describe the previous generation: the controller has not seen the change.
    status = {"observedGeneration": 1, "replicas": 3, "updatedReplicas": 3, "availableReplicas": 3}
    assert terminal_state(_deploy(status)) is None
    assert terminal_state(_deploy({k: v for k, v in status.items() if k != "observedGeneration"})) is None


def test_deployment_in_progress() -> None:
    status = {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 2, "availableReplicas": 3}
    assert terminal_state(_deploy(status)) is None


def test_deployment_progress_deadline_exceeded() -> None:
    status = {
        "observedGeneration": 2,
        "replicas": 3,
        "updatedReplicas": 1,
        "availableReplicas": 2,
        "conditions": [_cond("Available"), _cond("Progressing", "False", "ProgressDeadlineExceeded")],
    }
    assert terminal_state(_deploy(status)) == "Deployment ProgressDeadlineExceeded"


def test_deployment_scaled_to_zero_and_default_replicas() -> None:
    assert terminal_state(_deploy({"observedGeneration": 2}, replicas=0)) == "Deployment rollout complete"
    one = {"observedGeneration": 1, "replicas": 1, "updatedReplicas": 1, "availableReplicas": 1}
    assert terminal_state(_obj("Deployment", one)) == "Deployment rollout complete"  # spec.replicas unset: 1


def test_statefulset() -> None:
    done = {
        "observedGeneration": 1,
        "readyReplicas": 2,
        "updatedReplicas": 2,
        "currentRevision": "web-abc",
        "updateRevision": "web-abc",
    }
    assert terminal_state(_obj("StatefulSet", done, {"replicas": 2})) == "StatefulSet rollout complete"
    rolling = {**done, "updateRevision": "web-def"}
    assert terminal_state(_obj("StatefulSet", rolling, {"replicas": 2})) is None
    assert terminal_state(_obj("StatefulSet", {**done, "readyReplicas": 1}, {"replicas": 2})) is None
    assert terminal_state(_obj("StatefulSet", done, {"replicas": 2}, gen=2)) is None


def test_daemonset() -> None:
    done = {
        "observedGeneration": 1,
        "desiredNumberScheduled": 3,
        "updatedNumberScheduled": 3,
        "numberAvailable": 3,
    }
    assert terminal_state(_obj("DaemonSet", done)) == "DaemonSet rollout complete"
    assert terminal_state(_obj("DaemonSet", {**done, "numberAvailable": 2})) is None
    assert terminal_state(_obj("DaemonSet", {**done, "updatedNumberScheduled": 1})) is None
    assert terminal_state(_obj("DaemonSet", None)) is None  # brand new, controller has not reported yet


def test_custom_resource_ready_condition() -> None:
    cr = _obj("MyCustomResource", {"conditions": [_cond("Ready")]})
    assert terminal_state(cr) == "MyCustomResource Ready"
    cr["status"]["conditions"] = [_cond("Ready", "False")]
    assert terminal_state(cr) is None


def test_custom_resource_failed_wins_over_done() -> None:
    cr = _obj("Build", {"conditions": [_cond("Ready"), _cond("Failed")]})
    assert terminal_state(cr) == "Build Failed"


def test_custom_resource_phase() -> None:
    assert terminal_state(_obj("Workflow", {"phase": "Succeeded"})) == "Workflow Succeeded"
    assert terminal_state(_obj("Workflow", {"phase": "Running"})) is None


def test_custom_resource_observed_generation_checked_only_when_present() -> None:
    assert terminal_state(_obj("Thing", {"phase": "Ready"}, gen=5)) == "Thing Ready"
    assert terminal_state(_obj("Thing", {"phase": "Ready", "observedGeneration": 4}, gen=5)) is None
    assert terminal_state(_obj("Thing", {"phase": "Ready", "observedGeneration": 5}, gen=5)) == "Thing Ready"


def test_no_status_is_not_terminal() -> None:
    assert terminal_state(_obj("MyCustomResource", None)) is None
    assert terminal_state(_obj("Pod", None)) is None
    assert terminal_state(_obj("Job", None)) is None
    assert terminal_state({}) is None


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Running", None),  # a CRD without a status schema may keep a plain string there
        (["Ready"], None),
        ({"conditions": {"Ready": "True"}}, None),  # a mapping, not the list convention
        ({"conditions": ["Ready", None, 3, _cond("Ready")]}, "Odd Ready"),  # the usable one counts
        ({"conditions": [{"type": 7, "status": "True"}]}, None),
        ({"phase": {"name": "Succeeded"}}, None),
        ({"phase": ["Succeeded"]}, None),
        ({"phase": "Succeeded", "observedGeneration": "5"}, "Odd Succeeded"),  # not a number: absent
        ({"phase": "Succeeded", "observedGeneration": True}, "Odd Succeeded"),
        ({"phase": "Succeeded", "observedGeneration": None}, "Odd Succeeded"),
    ],
)
def test_custom_resource_of_any_shape_never_raises(status: Any, expected: str | None) -> None:
    """Custom resources are not validated against Kubernetes' conventions: a status of an
    unexpected shape used to raise out of the router, after the event was recorded but
    before the primary bound its children."""
    cr: dict[str, Any] = {"kind": "Odd", "metadata": {"generation": 5}, "status": status}
    assert terminal_state(cr) == expected


@pytest.mark.parametrize("spec", ["x", ["a"], None, 3])
@pytest.mark.parametrize("kind", ["Deployment", "StatefulSet", "DaemonSet", "Job", "Pod", "Odd"])
def test_spec_and_metadata_of_any_shape_never_raise(kind: str, spec: Any) -> None:
    obj: dict[str, Any] = {"kind": kind, "metadata": "x", "spec": spec, "status": {"observedGeneration": "1"}}
    # A DaemonSet on 0 nodes with 0 available is complete, as for a well-formed one.
    assert terminal_state(obj) == ("DaemonSet rollout complete" if kind == "DaemonSet" else None)
