"""Completion of custom resources by the conventions real operators publish, and why it closed.

The statuses are shaped as Tekton, Argo Workflows, cert-manager and Flux write them (their
CRDs are in tests/data/crds/); each case says whether the object is terminal and what
`completion_reason` records.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from faro.capture.fold.completion import FAILED, SUCCEEDED, terminal, terminal_state
from faro.capture.fold.story_book import StoryBook
from faro.model.events import WatchEvent, WatchType
from faro.model.refs import GVR, ResourceType
from faro.model.story import Story

T0 = "2026-08-20T10:00:00Z"


def _cr(kind: str, status: dict[str, Any], gen: int = 1) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": "x", "generation": gen}, "spec": {}, "status": status}


def _c(type_: str, status: str, reason: str = "", message: str = "", **extra: Any) -> dict[str, Any]:
    return {"type": type_, "status": status, "reason": reason, "message": message, **extra}


# Tekton (Knative convention): one Succeeded condition; Unknown = running, False = failed.
TEKTON_RUNNING = {"conditions": [_c("Succeeded", "Unknown", "Running", "Not all Steps have finished")]}
TEKTON_DONE = {"conditions": [_c("Succeeded", "True", "Succeeded", "All Steps have completed executing")]}
TEKTON_TIMEOUT = {
    "conditions": [
        _c("Succeeded", "False", "TaskRunTimeout", 'TaskRun "build" failed to finish within "1m0s"')
    ]
}
TEKTON_FAILED = {
    "conditions": [
        _c("Succeeded", "False", "Failed", "Tasks Completed: 1 (Failed: 1, Cancelled 0), Skipped: 0")
    ]
}

# Argo Workflows: status.phase, plus conditions PodRunning and Completed.
ARGO_RUNNING = {"phase": "Running", "conditions": [{"type": "PodRunning", "status": "True"}]}
ARGO_DONE = {
    "phase": "Succeeded",
    "conditions": [{"type": "PodRunning", "status": "False"}, {"type": "Completed", "status": "True"}],
}
ARGO_FAILED = {**ARGO_DONE, "phase": "Failed", "message": "child 'hello-1234' failed"}
ARGO_ERROR = {"phase": "Error", "message": "error in entry template execution"}

# cert-manager Certificate: Ready, and Issuing while a request is in flight; the conditions
# carry observedGeneration, the status does not.
CM_ISSUING = {
    "conditions": [
        _c(
            "Ready",
            "False",
            "DoesNotExist",
            "Issuing certificate as Secret does not exist",
            observedGeneration=1,
        ),
        _c(
            "Issuing",
            "True",
            "DoesNotExist",
            "Issuing certificate as Secret does not exist",
            observedGeneration=1,
        ),
    ]
}
CM_READY = {
    "conditions": [
        _c("Ready", "True", "Ready", "Certificate is up to date and has not expired", observedGeneration=1)
    ],
    "notAfter": "2026-11-18T10:00:00Z",
}
CM_FAILED = {
    "conditions": [
        _c(
            "Ready",
            "False",
            "DoesNotExist",
            "Issuing certificate as Secret does not exist",
            observedGeneration=1,
        ),
        _c(
            "Issuing",
            "False",
            "Failed",
            "The certificate request has failed to complete and will be retried: issuer not ready",
            observedGeneration=1,
        ),
    ],
    "failedIssuanceAttempts": 1,
    "lastFailureTime": T0,
}


def _flux(*conds: dict[str, Any], seen: int = -1) -> dict[str, Any]:
    """Flux: metav1.Conditions (observedGeneration on each, set on every write); the status'
    observedGeneration (default -1) moves only when a reconciliation succeeds."""
    return {
        "observedGeneration": seen,
        "conditions": [{**c, "observedGeneration": 1, "lastTransitionTime": T0} for c in conds],
    }


FLUX_PROGRESSING = _flux(
    _c("Reconciling", "True", "Progressing", "Fetching manifests for revision main@sha1:4d5e"),
    _c("Ready", "Unknown", "Progressing", "Reconciliation in progress"),
)
FLUX_RETRYING = _flux(
    _c("Reconciling", "True", "ProgressingWithRetry", "Detecting drift for revision main@sha1:4d5e"),
    _c(
        "Ready",
        "False",
        "HealthCheckFailed",
        "timeout waiting for: [Deployment/apps/web status: 'InProgress']",
    ),
)
FLUX_READY = _flux(_c("Ready", "True", "ReconciliationSucceeded", "Applied revision: main@sha1:4d5e"), seen=1)
FLUX_STALLED = _flux(
    _c("Ready", "False", "InvalidCELExpression", "failed to parse expression: undeclared reference"),
    _c("Stalled", "True", "InvalidCELExpression", "failed to parse expression: undeclared reference"),
)
FLUX_BUILD_FAILED = _flux(
    _c("Ready", "False", "BuildFailed", "kustomize build failed: accumulating resources")
)


@pytest.mark.parametrize(
    ("kind", "status", "expected"),
    [
        ("TaskRun", TEKTON_RUNNING, None),
        ("CustomRun", TEKTON_RUNNING, None),
        (
            "TaskRun",
            TEKTON_DONE,
            {"condition": "Succeeded", "status": "True", "reason": "Succeeded", "outcome": SUCCEEDED},
        ),
        (
            "TaskRun",
            TEKTON_TIMEOUT,
            {"condition": "Succeeded", "status": "False", "reason": "TaskRunTimeout", "outcome": FAILED},
        ),
        ("PipelineRun", TEKTON_FAILED, {"condition": "Succeeded", "status": "False", "reason": "Failed"}),
        ("Workflow", ARGO_RUNNING, None),
        ("Workflow", {"phase": "Pending"}, None),
        ("Workflow", ARGO_DONE, {"phase": "Succeeded", "outcome": SUCCEEDED}),
        (
            "Workflow",
            ARGO_FAILED,
            {"phase": "Failed", "outcome": FAILED, "message": "child 'hello-1234' failed"},
        ),
        ("Workflow", ARGO_ERROR, {"phase": "Error", "outcome": FAILED}),
        ("Certificate", CM_ISSUING, None),
        ("Certificate", CM_READY, {"condition": "Ready", "status": "True", "reason": "Ready"}),
        ("Certificate", CM_FAILED, {"condition": "Issuing", "status": "False", "reason": "Failed"}),
        ("Kustomization", FLUX_PROGRESSING, None),
        ("Kustomization", FLUX_RETRYING, None),  # Flux retries a failed apply: not over
        ("Kustomization", FLUX_READY, {"condition": "Ready", "reason": "ReconciliationSucceeded"}),
        (
            "Kustomization",
            FLUX_STALLED,
            {"condition": "Stalled", "status": "True", "reason": "InvalidCELExpression", "outcome": FAILED},
        ),
        (
            "Kustomization",
            FLUX_BUILD_FAILED,
            {"condition": "Ready", "status": "False", "reason": "BuildFailed"},
        ),
    ],
)
def test_operator_status(kind: str, status: dict[str, Any], expected: dict[str, str] | None) -> None:
    done = terminal(_cr(kind, status))
    if expected is None:
        assert done is None and terminal_state(_cr(kind, status)) is None
        return
    assert done is not None
    detail = done.detail()
    assert detail.items() >= expected.items()
    assert detail["state"] == done.state and done.state.startswith(f"{kind} ")
    assert detail["outcome"] in (SUCCEEDED, FAILED)


def test_knative_failure_says_failed() -> None:
    """Succeeded=False used to leave a failed TaskRun open until the correlation timeout."""
    assert terminal_state(_cr("TaskRun", TEKTON_TIMEOUT)) == "TaskRun Failed"
    assert terminal_state(_cr("TaskRun", TEKTON_DONE)) == "TaskRun Succeeded"


def test_argo_failure_is_not_reported_as_completed() -> None:
    """A failed Workflow also has Completed=True: the phase says how it ended."""
    assert terminal_state(_cr("Workflow", ARGO_FAILED)) == "Workflow Failed"


def test_flux_stalled_counts_although_the_status_observed_generation_lags() -> None:
    """Flux moves status.observedGeneration only on success; its conditions carry their own."""
    assert terminal_state(_cr("Kustomization", FLUX_STALLED)) == "Kustomization Stalled"


def test_a_condition_of_an_older_generation_does_not_count() -> None:
    assert terminal(_cr("Certificate", CM_READY, gen=2)) is None  # spec changed since
    assert terminal(_cr("Kustomization", FLUX_READY, gen=2)) is None


def test_long_messages_are_cut() -> None:
    status = {"conditions": [_c("Succeeded", "False", "Failed", "x" * 5000)]}
    done = terminal(_cr("TaskRun", status))
    assert done is not None and len(done.message) == 1001 and done.message.endswith("…")


def test_built_in_kinds_say_why() -> None:
    job = {
        "kind": "Job",
        "status": {"conditions": [_c("Failed", "True", "BackoffLimitExceeded", "Job has reached the limit")]},
    }
    assert terminal(job) is not None
    assert terminal(job).detail() == {  # type: ignore[union-attr]
        "state": "Job Failed",
        "outcome": FAILED,
        "condition": "Failed",
        "status": "True",
        "reason": "BackoffLimitExceeded",
        "message": "Job has reached the limit",
    }
    pod = {"kind": "Pod", "status": {"phase": "Failed", "reason": "Evicted", "message": "low on memory"}}
    assert terminal(pod).detail() == {  # type: ignore[union-attr]
        "state": "Pod Failed",
        "outcome": FAILED,
        "phase": "Failed",
        "reason": "Evicted",
        "message": "low on memory",
    }
    deploy = {
        "kind": "Deployment",
        "metadata": {"generation": 1},
        "spec": {"replicas": 1},
        "status": {
            "observedGeneration": 1,
            **{k: 1 for k in ("replicas", "updatedReplicas", "availableReplicas")},
            "conditions": [
                _c("Progressing", "True", "NewReplicaSetAvailable", 'ReplicaSet "web-1" has progressed.')
            ],
        },
    }
    d = terminal(deploy)
    assert d is not None and d.state == "Deployment rollout complete"
    assert d.detail()["reason"] == "NewReplicaSetAvailable" and d.outcome == SUCCEEDED


# The story records it: set while terminal, cleared when not, kept only for `terminal`.

RUN = ResourceType(GVR("tekton.dev", "v1", "taskruns"), "TaskRun", True, frozenset({"list", "watch"}))


def _ev(rv: int, at: float, status: dict[str, Any], typ: WatchType = WatchType.MODIFIED) -> WatchEvent:
    obj = {
        "apiVersion": "tekton.dev/v1",
        "kind": "TaskRun",
        "metadata": {"name": "build", "namespace": "ns", "uid": "run", "resourceVersion": str(rv)},
        "status": status,
    }
    return WatchEvent(typ, RUN, obj, at)


def _book(closed: list[Story]) -> StoryBook:
    return StoryBook(cluster="c", on_event=lambda s, e: None, on_close=closed.append, settle=3.0)


def test_story_records_why_it_closed() -> None:
    closed: list[Story] = []
    book = _book(closed)
    book.primary(_ev(1, 100.0, TEKTON_RUNNING, WatchType.ADDED), _ev(1, 100.0, TEKTON_RUNNING).obj)
    assert book.open["run"].completion_detail is None
    ev = _ev(2, 101.0, TEKTON_TIMEOUT)
    book.primary(ev, ev.obj)
    (story,) = book.tick(105.0)
    assert story.completion == "terminal"
    meta = orjson.loads(story.to_json("1.0.0"))["metadata"]
    assert meta["completion_reason"] == {
        "state": "TaskRun Failed",
        "outcome": FAILED,
        "condition": "Succeeded",
        "status": "False",
        "reason": "TaskRunTimeout",
        "message": 'TaskRun "build" failed to finish within "1m0s"',
    }


def test_reason_is_cleared_when_no_longer_terminal_and_absent_unless_terminal() -> None:
    closed: list[Story] = []
    book = _book(closed)
    ev = _ev(1, 100.0, TEKTON_DONE, WatchType.ADDED)
    book.primary(ev, ev.obj)
    assert book.open["run"].completion_detail is not None
    ev = _ev(2, 101.0, TEKTON_RUNNING)  # retried: running again
    book.primary(ev, ev.obj)
    assert book.open["run"].completion_detail is None
    ev = _ev(3, 102.0, TEKTON_DONE)
    book.primary(ev, ev.obj)
    (story,) = book.close_all("shutdown", 103.0)  # closed before it settled: not why
    assert story.completion_detail is None
    assert "completion_reason" not in orjson.loads(story.to_json("1.0.0"))["metadata"]


def test_reason_survives_the_journal_round_trip() -> None:
    story = Story("run", 1, "tekton.dev/v1/TaskRun", "build", "ns", "c", 100.0)
    assert b"completion_reason" not in story.header("1.0.0")
    story.completion_detail = {"state": "TaskRun Failed", "outcome": FAILED, "condition": "Succeeded"}
    header = orjson.loads(story.header("1.0.0"))
    assert header["metadata"]["completion_reason"] == story.completion_detail
    assert Story.from_dict(header).completion_detail == story.completion_detail
    assert (
        Story.from_dict(orjson.loads(Story("r", 1, "t", "n", "", "", 0.0).header("1"))).completion_detail
        is None
    )
