"""When is a story over? Terminal states per kind, a rule table for custom resources, and why.

A terminal state does not close a story at once: the story waits until it has been quiet for
`settle` seconds, so the last events, status updates and log lines still land in it. What
made it terminal (the condition or phase, its reason and message) goes into the story's
metadata as `completion_reason`: "it ended" is only half an answer, "Succeeded=False,
reason TaskRunTimeout" is the one a reader (or an analysis) needs.

Custom resources have no per-kind code; they are judged by the status conventions that
operators publish, in the order of the table below (the first row that matches decides):

- kstatus (sigs.k8s.io/cli-utils; Flux, Cluster API): `Reconciling=True` is work in
  progress, `Stalled=True` is a failure the controller will not get past without a change.
  Flux keeps `Reconciling=True` while it retries a failed apply (`Ready=False`), so that is
  not an end; it sets `Stalled=True` when retrying cannot help.
- Knative (Tekton TaskRun/PipelineRun/CustomRun, Knative, many operators): one `Succeeded`
  condition, `Unknown` while running, `True` done, `False` failed. `Ready=Unknown` is the
  same "still reconciling" for long-running resources.
- `Ready`/`Issuing` = False with a reason that says it failed (`...Failed`, `Denied`:
  cert-manager's failed or denied issuance, Flux without `Reconciling`): a failure.
- `status.phase` (Argo Workflows: Pending/Running/Succeeded/Failed/Error, and others).

In-progress rows come first, then failures, then successes, phases before conditions: a
Workflow also has `Completed=True` when its phase is Failed or Succeeded, and the phase is
the answer. A condition counts only if
it describes the current generation: its own `observedGeneration` when it has one (the
metav1.Condition convention), else `status.observedGeneration` when the controller sets it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

SUCCEEDED, FAILED = "succeeded", "failed"
_MESSAGE_CAP = 1000  # a Flux health check or Argo message can list every object it waited for


@dataclass(frozen=True)
class Terminal:
    """A terminal state and why. `detail()` is the story's `completion_reason`."""

    state: str  # "TaskRun Failed", "Deployment rollout complete"
    outcome: str  # SUCCEEDED or FAILED
    condition: str = ""  # the condition that says so, with its status ...
    status: str = ""
    phase: str = ""  # ... or the status.phase
    reason: str = ""
    message: str = ""

    def detail(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


class Rule(NamedTuple):
    field: str  # "condition" (name = its type) or "phase" (name = its value)
    name: str
    status: str = ""  # the condition status the row needs
    outcome: str | None = None  # None: still in progress, the object is not terminal
    failed_reason: bool = False  # only if the condition's reason says it failed


_C, _P = "condition", "phase"
RULES: tuple[Rule, ...] = (
    Rule(_C, "Reconciling", "True"),
    Rule(_C, "Succeeded", "Unknown"),
    Rule(_C, "Ready", "Unknown"),
    Rule(_C, "Stalled", "True", FAILED),
    Rule(_C, "Failed", "True", FAILED),
    Rule(_C, "Succeeded", "False", FAILED),
    Rule(_C, "Ready", "False", FAILED, failed_reason=True),
    Rule(_C, "Issuing", "False", FAILED, failed_reason=True),
    Rule(_P, "Failed", outcome=FAILED),
    Rule(_P, "Error", outcome=FAILED),
    *(Rule(_P, p, outcome=SUCCEEDED) for p in ("Succeeded", "Complete", "Completed", "Ready")),
    *(Rule(_C, t, "True", SUCCEEDED) for t in ("Succeeded", "Complete", "Completed", "Ready", "Available")),
)


def _failed_reason(reason: str) -> bool:
    return reason.endswith("Failed") or reason == "Denied"


def _part(obj: dict[str, Any], key: str) -> dict[str, Any]:
    """obj[key] if it is a mapping, else {}: a custom resource's status may be anything (a
    string, a list), and its story must not lose an event because of it."""
    value = obj.get(key)
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    s = value if isinstance(value, str) else ""
    return s if len(s) <= _MESSAGE_CAP else s[:_MESSAGE_CAP] + "…"


def _conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    conds = _part(obj, "status").get("conditions")
    if not isinstance(conds, list):
        return {}
    return {c["type"]: c for c in conds if isinstance(c, dict) and isinstance(c.get("type"), str)}


def _count(value: Any) -> int | None:
    """An integer field (a generation), or None if it is absent or not an integer."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _observed(obj: dict[str, Any], seen: Any = None) -> bool:
    gen = _count(_part(obj, "metadata").get("generation"))
    seen = _count(seen if seen is not None else _part(obj, "status").get("observedGeneration"))
    return gen is None or (seen is not None and seen >= gen)


def _current(obj: dict[str, Any], cond: dict[str, Any] | None = None) -> bool:
    """Does this condition (or the status, for a phase) describe the current generation?
    Many controllers never set an observedGeneration; it is checked only when present."""
    own = _count((cond or {}).get("observedGeneration"))
    if own is not None:
        return _observed(obj, own)
    return _count(_part(obj, "status").get("observedGeneration")) is None or _observed(obj)


def _condition(kind: str, cond: dict[str, Any], outcome: str, label: str = "") -> Terminal:
    return Terminal(
        f"{kind} {label or cond['type']}",
        outcome,
        condition=cond["type"],
        status=_text(cond.get("status")),
        reason=_text(cond.get("reason")),
        message=_text(cond.get("message")),
    )


def terminal(obj: dict[str, Any]) -> Terminal | None:
    """The terminal state the object is in and why, or None if it is not in one."""
    kind = obj.get("kind", "")
    status = _part(obj, "status")
    if kind == "Pod":  # the most frequent primary by far: its phase alone, before anything else
        phase = status.get("phase")
        if phase not in ("Succeeded", "Failed"):
            return None
        outcome = SUCCEEDED if phase == "Succeeded" else FAILED
        reason, message = _text(status.get("reason")), _text(status.get("message"))
        return Terminal(f"Pod {phase}", outcome, phase=phase, reason=reason, message=message)
    spec = _part(obj, "spec")
    conds = _conditions(obj)
    if kind == "Job":
        for t, outcome in (("Complete", SUCCEEDED), ("Failed", FAILED)):
            if conds.get(t, {}).get("status") == "True":
                return _condition("Job", conds[t], outcome)
        return None
    if kind == "Deployment":
        progressing = conds.get("Progressing")
        if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
            return _condition(kind, progressing, FAILED, "ProgressDeadlineExceeded")
        want = spec.get("replicas", 1)
        done = (
            _observed(obj)
            and status.get("updatedReplicas", 0) == want
            and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and not status.get("terminatingReplicas")  # old pods still shutting down
        )
        if not done:
            return None
        if progressing:  # NewReplicaSetAvailable: 'ReplicaSet "web-…" has successfully progressed.'
            return _condition(kind, progressing, SUCCEEDED, "rollout complete")
        return Terminal("Deployment rollout complete", SUCCEEDED)
    if kind == "StatefulSet":
        want = spec.get("replicas", 1)
        done = (
            _observed(obj)
            and status.get("readyReplicas", 0) == want
            and status.get("updatedReplicas", 0) == want
            and status.get("currentRevision") == status.get("updateRevision")
        )
        return Terminal("StatefulSet rollout complete", SUCCEEDED) if done else None
    if kind == "DaemonSet":
        want = status.get("desiredNumberScheduled", 0)
        done = (
            _observed(obj)
            and status.get("updatedNumberScheduled", 0) == want
            and status.get("numberAvailable", 0) == want
        )
        return Terminal("DaemonSet rollout complete", SUCCEEDED) if done else None
    return _generic(kind or "object", status, conds, obj)


def _generic(
    kind: str, status: dict[str, Any], conds: dict[str, dict[str, Any]], obj: dict[str, Any]
) -> Terminal | None:
    """Custom resources: the first row of RULES that the status matches."""
    phase = status.get("phase")
    for rule in RULES:
        if rule.field == _P:
            if phase != rule.name or not _current(obj):
                continue
            message = _text(status.get("message"))
            return Terminal(f"{kind} {phase}", rule.outcome or "", phase=phase, message=message)
        cond = conds.get(rule.name)
        if cond is None or cond.get("status") != rule.status or not _current(obj, cond):
            continue
        if rule.failed_reason and not _failed_reason(_text(cond.get("reason"))):
            continue
        if rule.outcome is None:
            return None
        return _condition(kind, cond, rule.outcome, "" if rule.status == "True" else "Failed")
    return None


def terminal_state(obj: dict[str, Any]) -> str | None:
    """A short description of the terminal state the object is in, or None if it is not."""
    t = terminal(obj)
    return t.state if t is not None else None
