"""When is a story over? Terminal states per kind, and a generic rule for custom resources.

A terminal state does not close a story at once: the story waits until it has been quiet for
`settle` seconds, so the last events, status updates and log lines still land in it.
"""

from __future__ import annotations

from typing import Any

_DONE_CONDITIONS = ("Ready", "Succeeded", "Complete", "Completed", "Available")
_FAILED_CONDITIONS = ("Failed",)
_DONE_PHASES = ("Ready", "Succeeded", "Failed", "Complete", "Completed")


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    conds = (obj.get("status") or {}).get("conditions") or []
    return {c.get("type", ""): c for c in conds if isinstance(c, dict)}


def _observed(obj: dict[str, Any]) -> bool:
    gen = (obj.get("metadata") or {}).get("generation")
    seen = (obj.get("status") or {}).get("observedGeneration")
    return gen is None or (seen is not None and seen >= gen)


def terminal_state(obj: dict[str, Any]) -> str | None:
    """A short description of the terminal state the object is in, or None if it is not."""
    kind = obj.get("kind", "")
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    if kind == "Pod":
        phase = status.get("phase")
        return f"Pod {phase}" if phase in ("Succeeded", "Failed") else None
    if kind == "Job":
        conds = _conditions(obj)
        for t in ("Complete", "Failed"):
            if conds.get(t, {}).get("status") == "True":
                return f"Job {t}"
        return None
    if kind == "Deployment":
        progressing = _conditions(obj).get("Progressing", {})
        if progressing.get("reason") == "ProgressDeadlineExceeded":
            return "Deployment ProgressDeadlineExceeded"
        want = spec.get("replicas", 1)
        done = (
            _observed(obj)
            and status.get("updatedReplicas", 0) == want
            and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and not status.get("terminatingReplicas")  # old pods still shutting down
        )
        return "Deployment rollout complete" if done else None
    if kind == "StatefulSet":
        want = spec.get("replicas", 1)
        done = (
            _observed(obj)
            and status.get("readyReplicas", 0) == want
            and status.get("updatedReplicas", 0) == want
            and status.get("currentRevision") == status.get("updateRevision")
        )
        return "StatefulSet rollout complete" if done else None
    if kind == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        done = (
            _observed(obj)
            and status.get("updatedNumberScheduled", 0) == want
            and status.get("numberAvailable", 0) == want
        )
        return "DaemonSet rollout complete" if done else None
    return _generic(obj)


def _generic(obj: dict[str, Any]) -> str | None:
    """Custom resources: status.conditions or status.phase that say done or failed. Many
    controllers never set status.observedGeneration; it is checked only when present."""
    seen = (obj.get("status") or {}).get("observedGeneration")
    if seen is not None and not _observed(obj):
        return None
    conds = _conditions(obj)
    for t in _FAILED_CONDITIONS + _DONE_CONDITIONS:
        if conds.get(t, {}).get("status") == "True":
            return f"{obj.get('kind', 'object')} {t}"
    phase = (obj.get("status") or {}).get("phase")
    if phase in _DONE_PHASES:
        return f"{obj.get('kind', 'object')} {phase}"
    return None
