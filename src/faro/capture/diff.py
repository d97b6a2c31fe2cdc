"""`changes` for an update: which paths changed, from what, to what.

Readers of a story want "spec.replicas: 2 -> 3", not two full objects to compare. Lists of
the same length are compared item by item so a container status change points at
`status.containerStatuses[0].state`; lists that grew or shrank are reported whole.
"""

from __future__ import annotations

from typing import Any

_IGNORED = {("metadata", "resourceVersion"), ("metadata", "managedFields")}
MAX_CHANGES = 200


def changes(old: Any, new: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    _walk(old, new, (), out)
    return out[:MAX_CHANGES]


def _walk(old: Any, new: Any, path: tuple[str | int, ...], out: list[dict[str, Any]]) -> None:
    if old == new or path[:2] in _IGNORED:
        return
    if isinstance(old, dict) and isinstance(new, dict):
        for k in sorted(old.keys() | new.keys()):
            _walk(old.get(k), new.get(k), (*path, k), out)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            _walk(a, b, (*path, i), out)
        return
    out.append({"path": _fmt(path), "old": old, "new": new})


def _fmt(path: tuple[str | int, ...]) -> str:
    s = ""
    for p in path:
        s += f"[{p}]" if isinstance(p, int) else (f".{p}" if s else str(p))
    return s
