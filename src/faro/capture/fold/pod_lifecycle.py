"""Pod lifecycle as story events: start, phase and container state transitions, termination.

POD_STARTING marks a pod joining a story (a replacement pod in a rollout shows up as one),
POD_LIFECYCLE each phase or container-state change with the time spent in the state it
left (Pending -> Running, waiting:CrashLoopBackOff, terminated:OOMKilled exit 137, …), and
POD_TERMINATING the moment deletion began, with the grace period.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from faro.capture.fold.replacements import Replacements
from faro.model.events import EventType, StoryEvent
from faro.model.timefmt import parse


def _state_key(st: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    state = st.get("state") or {}
    for k in ("terminated", "running", "waiting"):
        if k in state and state[k] is not None:
            detail = state[k] or {}
            if k == "terminated":
                return f"terminated:{detail.get('reason', '')}", {
                    "exitCode": detail.get("exitCode"),
                    **detail,
                }
            if k == "waiting":
                return f"waiting:{detail.get('reason', '')}", detail
            return "running", detail
    return "unknown", {}


@dataclass
class _PodState:
    phase: str = ""
    phase_since: float = 0.0
    containers: dict[str, tuple[str, float, int]] = field(
        default_factory=dict
    )  # name -> (key, since, restarts)
    terminating: bool = False


class _Changes:
    """The lifecycle events of one pod change, as they are found (a plain class: one is made
    for every change of every pod in a story)."""

    __slots__ = ("at", "name", "namespace", "out")

    def __init__(self, name: str, namespace: str, at: float) -> None:
        self.name, self.namespace, self.at = name, namespace, at
        self.out: list[StoryEvent] = []

    def add(self, etype: EventType, action: str, data: dict[str, Any], when: float | None = None) -> None:
        at = self.at if when is None else when
        data = {"pod": self.name, **data}
        self.out.append(StoryEvent("", at, etype, self.name, self.namespace, "Pod", action, data))


@dataclass
class PodLifecycle:
    pods: dict[str, _PodState] = field(default_factory=dict)
    replacements: Replacements = field(default_factory=Replacements)

    def observe(self, pod: dict[str, Any], at: float, deleted: bool = False) -> list[StoryEvent]:
        meta = pod.get("metadata") or {}
        uid = meta.get("uid", "")
        found = _Changes(meta.get("name", ""), meta.get("namespace", ""), at)
        phase = (pod.get("status") or {}).get("phase") or "Pending"
        if deleted:
            self.pods.pop(uid, None)
            self.replacements.gone(pod, "deleted", at)
            return found.out
        ps = self.pods.get(uid)
        if ps is None:
            ps = self.pods[uid] = _PodState()
            self._starting(pod, found)
        if meta.get("deletionTimestamp"):
            self.replacements.gone(pod, "terminating", at)
        elif phase == "Failed":
            self.replacements.gone(pod, "failed", at)
        _phase(ps, phase, found)
        _containers(ps, pod, found)
        _terminating(ps, meta, found)
        return found.out

    def seed(self, pod: dict[str, Any], at: float) -> None:
        """Take over a pod's last known state (a resumed story's journal), so a restarted Faro
        records what changed since, not the pod's start and every state again."""
        uid = (pod.get("metadata") or {}).get("uid", "")
        if not uid or uid in self.pods:
            return
        ps = self.pods[uid] = _PodState()
        _phase(ps, (pod.get("status") or {}).get("phase") or "Pending", _Changes("", "", at))
        _containers(ps, pod, _Changes("", "", at))
        ps.terminating = bool((pod.get("metadata") or {}).get("deletionTimestamp"))

    def _starting(self, pod: dict[str, Any], found: _Changes) -> None:
        """POD_STARTING, at creation when the pod existed before Faro saw it. creationTimestamp
        has whole seconds: a pod seen within a second of it is placed by when Faro saw it, or
        it would sort before what really came first (its Job)."""
        created = parse((pod.get("metadata") or {}).get("creationTimestamp"))
        started = created if created is not None and found.at - created >= 1.0 else found.at
        start: dict[str, Any] = {"node": (pod.get("spec") or {}).get("nodeName")}
        replaced = self.replacements.replaced_by(pod, found.at)
        if replaced is not None:
            start["replaces"] = replaced
        found.add(EventType.POD_STARTING, "start", start, started)


def _phase(ps: _PodState, phase: str, found: _Changes) -> None:
    if phase == ps.phase:
        return
    if ps.phase:
        spent = round(found.at - ps.phase_since, 3)
        found.add(
            EventType.POD_LIFECYCLE, "phase", {"from": ps.phase, "to": phase, "seconds_in_previous": spent}
        )
    ps.phase, ps.phase_since = phase, found.at


def _containers(ps: _PodState, pod: dict[str, Any], found: _Changes) -> None:
    status = pod.get("status") or {}
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for st in status.get(key) or []:
            cname = st.get("name", "")
            skey, detail = _state_key(st)
            restarts = int(st.get("restartCount") or 0)
            prev = ps.containers.get(cname)
            if prev is not None and prev[0] == skey and prev[2] == restarts:
                continue
            data: dict[str, Any] = {"container": cname, "to": skey, "restart": restarts, "state": detail}
            if prev is not None:
                data["from"] = prev[0]
                data["seconds_in_previous"] = round(found.at - prev[1], 3)
            last = (st.get("lastState") or {}).get("terminated")
            if prev is not None and restarts > prev[2] and last:
                data["last_terminated"] = last
            found.add(EventType.POD_LIFECYCLE, "container", data)
            ps.containers[cname] = (skey, found.at, restarts)


def _terminating(ps: _PodState, meta: dict[str, Any], found: _Changes) -> None:
    if meta.get("deletionTimestamp") and not ps.terminating:
        ps.terminating = True
        found.add(
            EventType.POD_TERMINATING,
            "terminating",
            {
                "deletionTimestamp": meta.get("deletionTimestamp"),
                "grace_period_seconds": meta.get("deletionGracePeriodSeconds"),
            },
        )
