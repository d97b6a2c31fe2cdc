"""`changes` for an update: which paths changed, from what, to what.

Readers of a story want "spec.replicas: 2 -> 3", not two full objects to compare. Lists of
the same length are compared item by item so a container status change points at
`status.containerStatuses[0].state`; lists that grew or shrank are reported whole. Keys are
visited in sorted order, so the same change always reads the same.

The diff runs for every update of every story member, and is the largest single cost of
recording one (benchmarks/stages.py): equal subtrees are skipped by one comparison in C
before any Python work is done for them, and paths are built as strings along the way.
"""

from __future__ import annotations

from typing import Any

_IGNORED_META = frozenset({"resourceVersion", "managedFields"})
MAX_CHANGES = 200


def changes(old: Any, new: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if old != new:
        if isinstance(old, dict) and isinstance(new, dict):
            _dict(old, new, "", out, top=True)
        else:
            _walk(old, new, "", out)
    return out[:MAX_CHANGES]


def _walk(old: Any, new: Any, path: str, out: list[dict[str, Any]]) -> None:
    """old != new: say where."""
    if isinstance(old, dict) and isinstance(new, dict):
        _dict(old, new, path, out)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            if a != b:
                _walk(a, b, f"{path}[{i}]", out)
    else:
        out.append({"path": path, "old": old, "new": new})


def _dict(
    old: dict[str, Any], new: dict[str, Any], path: str, out: list[dict[str, Any]], top: bool = False
) -> None:
    if len(out) >= MAX_CHANGES:
        return
    for k in sorted(old.keys() | new.keys()):
        a, b = old.get(k), new.get(k)
        if a is b or a == b:
            continue
        if top and k == "metadata" and isinstance(a, dict) and isinstance(b, dict):
            for mk in sorted(a.keys() | b.keys()):
                x, y = a.get(mk), b.get(mk)
                if mk not in _IGNORED_META and x != y:
                    _walk(x, y, f"metadata.{mk}", out)
        else:
            _walk(a, b, f"{path}.{k}" if path else str(k), out)
