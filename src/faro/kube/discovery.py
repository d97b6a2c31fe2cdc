"""What the cluster serves, and what users mean when they name a resource.

Aggregated discovery (one request for all groups) is used where the server offers it,
falling back to the classic per-group-version walk. Names are resolved the way kubectl
does: Kind, plural, singular and short names, optionally qualified by group and version,
and an unknown name is an error that lists the closest matches.
"""

from __future__ import annotations

import asyncio
import difflib
from collections.abc import Iterable
from typing import Any

from faro.errors import ApiError, UnknownResourceError
from faro.kube.client import KubeClient
from faro.model.refs import GVR, ResourceType

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"


def _from_aggregated(doc: dict[str, Any]) -> list[ResourceType]:
    out: list[ResourceType] = []
    for group in doc.get("items") or []:
        gname = (group.get("metadata") or {}).get("name", "")
        for ver in group.get("versions") or []:
            for r in ver.get("resources") or []:
                kind = (r.get("responseKind") or {}).get("kind", "")
                out.append(
                    ResourceType(
                        gvr=GVR(gname, ver["version"], r["resource"]),
                        kind=kind,
                        namespaced=r.get("scope") == "Namespaced",
                        verbs=frozenset(r.get("verbs") or ()),
                        short_names=tuple(r.get("shortNames") or ()),
                        singular=r.get("singularResource") or kind.lower(),
                        categories=tuple(r.get("categories") or ()),
                    )
                )
    return out


def _from_resource_list(group: str, version: str, doc: dict[str, Any]) -> list[ResourceType]:
    return [
        ResourceType(
            gvr=GVR(group, version, r["name"]),
            kind=r.get("kind", ""),
            namespaced=bool(r.get("namespaced")),
            verbs=frozenset(r.get("verbs") or ()),
            short_names=tuple(r.get("shortNames") or ()),
            singular=r.get("singularName") or r.get("kind", "").lower(),
            categories=tuple(r.get("categories") or ()),
        )
        for r in doc.get("resources") or []
        if "/" not in r["name"]  # subresources (pods/log, deployments/scale)
    ]


class Discovery:
    """A snapshot of served resource types; `refresh()` takes a new one."""

    def __init__(self, client: KubeClient) -> None:
        self._client = client
        self.types: list[ResourceType] = []

    async def refresh(self) -> None:
        try:
            core = await self._client.request_json("GET", "/api", headers={"Accept": AGGREGATED})
            groups = await self._client.request_json("GET", "/apis", headers={"Accept": AGGREGATED})
        except ApiError:
            core = groups = None
        if (core or {}).get("kind") == "APIGroupDiscoveryList" and (groups or {}).get(
            "kind"
        ) == "APIGroupDiscoveryList":
            self.types = _from_aggregated(core) + _from_aggregated(groups)
        else:
            self.types = await self._legacy()

    async def _legacy(self) -> list[ResourceType]:
        pairs: list[tuple[str, str]] = [("", v) for v in (await self._client.get_json("/api"))["versions"]]
        for g in (await self._client.get_json("/apis"))["groups"]:
            preferred = g.get("preferredVersion", {}).get("version")
            versions = sorted(g["versions"], key=lambda v: v["version"] != preferred)
            pairs += [(g["name"], v["version"]) for v in versions]

        async def one(group: str, version: str) -> list[ResourceType]:
            path = f"/apis/{group}/{version}" if group else f"/api/{version}"
            try:
                return _from_resource_list(group, version, await self._client.get_json(path))
            except ApiError:  # an unavailable aggregated API must not break discovery
                return []

        lists = await asyncio.gather(*(one(g, v) for g, v in pairs))
        return [t for lst in lists for t in lst]

    def preferred(self) -> list[ResourceType]:
        """One version per group/resource: the first listed (the server's preference)."""
        seen: set[tuple[str, str]] = set()
        out = []
        for t in self.types:
            key = (t.gvr.group, t.gvr.resource)
            if key not in seen:
                seen.add(key)
                out.append(t)
        return out

    def by_kind(self, group: str, kind: str) -> ResourceType | None:
        for t in self.preferred():
            if t.gvr.group == group and t.kind == kind:
                return t
        return None

    def resolve(self, name: str) -> ResourceType:
        """Resolve what a user typed (see module docstring) to one watchable type."""
        found = resolve_name(name, self.types, self.preferred())
        if not found.watchable:
            raise UnknownResourceError(f"resource {name!r} ({found.type_name}) cannot be listed and watched")
        return found


def resolve_name(name: str, all_types: list[ResourceType], preferred: list[ResourceType]) -> ResourceType:
    raw = name.strip()
    if not raw:
        raise UnknownResourceError("empty resource name")
    parts = raw.split("/")
    if len(parts) == 3:  # group/version/(Kind|resource)
        return _pick(
            raw,
            [t for t in all_types if t.gvr.group == parts[0] and t.gvr.version == parts[1]],
            parts[2],
            all_types,
        )
    if len(parts) == 2:  # v1/Pod, v1/pods (core)
        return _pick(
            raw,
            [t for t in all_types if t.gvr.group == "" and t.gvr.version == parts[0]],
            parts[1],
            all_types,
        )
    if len(parts) != 1:
        raise UnknownResourceError(_unknown(raw, all_types))
    if "." in raw:  # Deployment.apps, deployments.apps, deployments.v1.apps
        head, _, group = raw.partition(".")
        cands = [t for t in preferred if t.gvr.group == group]
        if not cands and "." in group:
            version, _, grp = group.partition(".")
            cands = [t for t in all_types if t.gvr.group == grp and t.gvr.version == version]
        if cands:
            return _pick(raw, cands, head, all_types)
    # Unqualified: prefer the core group, then the others (kubectl's order of preference).
    ordered = sorted(preferred, key=lambda t: t.gvr.group != "")
    return _pick(raw, ordered, raw, all_types)


def _pick(
    raw: str, candidates: Iterable[ResourceType], word: str, everything: list[ResourceType]
) -> ResourceType:
    w = word.lower()
    cands = list(candidates)
    for match in (
        lambda t: t.kind == word,
        lambda t: t.gvr.resource == w,
        lambda t: t.kind.lower() == w or t.singular == w,
        lambda t: w in t.short_names,
    ):
        for t in cands:
            if match(t):
                return t
    raise UnknownResourceError(_unknown(raw, everything))


def _unknown(raw: str, everything: list[ResourceType]) -> str:
    names: dict[str, str] = {}
    for t in everything:
        for n in (t.kind, t.gvr.resource, t.type_name, *t.short_names):
            names.setdefault(n, t.type_name)
    close = difflib.get_close_matches(raw, list(names), n=5, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(raw.lower(), [n.lower() for n in names], n=5, cutoff=0.6)
        close = [n for n in names if n.lower() in close]
    hint = ", ".join(f"{c} ({names[c]})" if c != names[c] else c for c in close)
    return f"unknown resource {raw!r}" + (f"; closest matches: {hint}" if hint else "")
