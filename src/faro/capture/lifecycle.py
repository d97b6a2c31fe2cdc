"""When is a story over? Terminal states per kind, and a generic rule for custom resources.

A terminal state does not close a story at once: the story waits until it has been quiet for
`settle` seconds, so the last events, status updates and log lines still land in it.
"""

from __future__ import annotations

from typing import Any

_DONE_CONDITIONS = ("Ready", "Succeeded", "Complete", "Completed", "Available")
_FAILED_CONDITIONS = ("Failed",)
_DONE_PHASES = ("Ready", "Succeeded", "Failed", "Complete", "Completed")


def _part(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """obj[key] if it is a mapping, else {}: a custom resource's status may be anything (a
    string, a list), and its story must not lose an event because of it."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    conds = _part(obj, "status").get("conditions")
    if not isinstance(conds, list):
        return {}
    return {str(c.get("type", "")): c for c in conds if isinstance(c, dict)}


def _count(value: Any) -> int | None:
    """An integer field (a generation), or None if it is absent or not an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _observed(obj: dict[str, Any]) -> bool:
    gen = _count(_part(obj, "metadata").get("generation"))
    seen = _count(_part(obj, "status").get("observedGeneration"))
    return gen is None or (seen is not None and seen >= gen)


def terminal_state(obj: dict[str, Any]) -> str | None:
    """A short description of the terminal state the object is in, or None if it is not."""
    kind = obj.get("kind", "")
    status = _part(obj, "status")
    spec = _part(obj, "spec")
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
    if _count(_part(obj, "status").get("observedGeneration")) is not None and not _observed(obj):
        return None
    conds = _conditions(obj)
    for t in _FAILED_CONDITIONS + _DONE_CONDITIONS:
        if conds.get(t, {}).get("status") == "True":
            return f"{obj.get('kind', 'object')} {t}"
    phase = _part(obj, "status").get("phase")
    if isinstance(phase, str) and phase in _DONE_PHASES:
        return f"{obj.get('kind', 'object')} {phase}"
    return None
