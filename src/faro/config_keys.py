"""Every key of a YAML config is checked against the keys Faro knows, at every level.

Why a walk of its own instead of pydantic's `extra="forbid"`: the namespace-centric shape is
rewritten into resource rules before pydantic sees it, so a typo there (`name_selectr`) was
either silently ignored or reported at a place the file does not have. A mistyped key must
never change what is captured (an ignored namespace key used to mean "every namespace"), so
the raw mapping is walked first, and the first unknown key is reported with its path in the
file's own shape and the closest valid key.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

Path = tuple[str | int, ...]

# The keys of a namespace-centric entry: `name_selector` is the specification's (002),
# `name_pattern` another published README's (003), `name` an older Faro's.
NAMESPACE_ENTRY_KEYS = frozenset({"name_selector", "name_pattern", "name", "resources"})
# What a resource may say under a namespace entry: where it is comes from the entry.
NAMESPACE_RESOURCE_KEYS = frozenset(
    {"scope", "name_pattern", "name_selector", "label_selector", "field_selector"}
)


def unknown_keys(
    data: dict[str, Any], top: frozenset[str], rule: frozenset[str]
) -> Iterator[tuple[Path, str, str | None]]:
    """(path, key, closest valid key) of every key Faro does not know, in file order."""
    for key in data:
        if str(key) not in top:
            yield (str(key),), str(key), _closest(str(key), top)
    resources = data.get("resources")
    if isinstance(resources, list):
        for i, r in enumerate(resources):
            yield from _mapping(("resources", i), r, rule)
    namespaces = data.get("namespaces")
    if isinstance(namespaces, list):
        for i, ns in enumerate(namespaces):
            yield from _mapping(("namespaces", i), ns, NAMESPACE_ENTRY_KEYS)
            options = ns.get("resources") if isinstance(ns, dict) else None
            if isinstance(options, dict):
                for gvr, opts in options.items():
                    yield from _mapping(
                        ("namespaces", i, "resources", str(gvr)), opts, NAMESPACE_RESOURCE_KEYS
                    )


def _mapping(at: Path, value: Any, known: frozenset[str]) -> Iterator[tuple[Path, str, str | None]]:
    if isinstance(value, dict):
        for key in value:
            if str(key) not in known:
                yield (*at, str(key)), str(key), _closest(str(key), known)


def _closest(key: str, known: frozenset[str]) -> str | None:
    close = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.6)
    return close[0] if close else None


def dotted(path: Path) -> str:
    """As pydantic names places (resources.0.name_pattern), with a gvr key in brackets:
    namespaces.0.resources['v1/pods'].label_selectr"""
    out = ""
    for part in path:
        if isinstance(part, str) and ("/" in part or "." in part):
            out += f"[{part!r}]"
        else:
            out += f".{part}" if out else str(part)
    return out
