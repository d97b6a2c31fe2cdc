"""Which pod a new pod replaces, so a story can say "web-7f9-abc replaced web-7f9-xyz".

Why: a rollout, an eviction, a crash-looping Job or a StatefulSet's recreated `web-0` reads
as unrelated pods unless the story links them. Controllers replace a pod that went away
(deleted, terminating, failed) with a new one of the same owner: a ReplicaSet or Job
creates a new pod under the same controller; a StatefulSet recreates the same name. So a
pod that goes away is remembered under its controller (or, for StatefulSet pods, its
name), and the next new pod there names it. Remembered pods expire: a scale-down (pods go
and none come back) must not make a much later scale-up look like a replacement.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from typing import Any

REPLACEMENT_WINDOW = 120.0  # seconds a pod that went away waits for its replacement
MAX_OWNERS = 10_000  # owners remembered at once (the oldest are forgotten first)


def _slot(pod: dict[str, Any]) -> tuple[str, ...] | None:
    """Where a replacement of pod would be created: its controller, or its name for a
    StatefulSet pod (whose replacement has the same name and a new uid)."""
    meta = pod.get("metadata") or {}
    ns = meta.get("namespace", "")
    for ref in meta.get("ownerReferences") or []:
        if isinstance(ref, dict) and ref.get("controller"):
            if ref.get("kind") == "StatefulSet":
                return ("name", ns, meta.get("name", ""))
            return ("owner", str(ref.get("uid", "")))
    return None


@dataclass
class Replacements:
    window: float = REPLACEMENT_WINDOW
    _waiting: OrderedDict[tuple[str, ...], deque[tuple[float, dict[str, Any]]]] = field(
        default_factory=OrderedDict
    )
    _recorded: OrderedDict[str, None] = field(default_factory=OrderedDict)  # uids already waiting

    def gone(self, pod: dict[str, Any], why: str, at: float) -> None:
        """pod went away (deleted, terminating, failed): its replacement may follow."""
        meta = pod.get("metadata") or {}
        uid = str(meta.get("uid", ""))
        if uid in self._recorded:  # a terminating pod's every later update: already waiting
            return
        slot = _slot(pod)
        if slot is None:
            return
        self._recorded[uid] = None
        if len(self._recorded) > MAX_OWNERS * 4:
            self._recorded.popitem(last=False)
        queue = self._waiting.setdefault(slot, deque(maxlen=64))
        self._waiting.move_to_end(slot)
        queue.append((at, {"pod": meta.get("name", ""), "uid": uid, "why": why}))
        if len(self._waiting) > MAX_OWNERS:
            self._waiting.popitem(last=False)

    def replaced_by(self, pod: dict[str, Any], at: float) -> dict[str, Any] | None:
        """The pod that the new pod replaces, if one went away there within the window."""
        if not self._waiting:
            return None
        slot = _slot(pod)
        queue = self._waiting.get(slot) if slot is not None else None
        while queue:
            since, old = queue.popleft()
            if at - since <= self.window and old["uid"] != (pod.get("metadata") or {}).get("uid"):
                return old
        return None
