"""Names of things in the API: resource types and object keys.

Kept free of I/O so every layer can share them. A resource type is identified by its
group/version/resource (what URLs need) and carries its kind (what objects and
ownerReferences say) and scope (what decides namespaced vs cluster-wide watches).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property


@dataclass(frozen=True, order=True)
class GVR:
    group: str
    version: str
    resource: str

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        return f"{self.api_version}/{self.resource}"


@dataclass(frozen=True)
class ResourceType:
    """One watchable resource type, as discovery described it."""

    gvr: GVR
    kind: str
    namespaced: bool
    verbs: frozenset[str] = frozenset()
    short_names: tuple[str, ...] = ()
    singular: str = ""
    categories: tuple[str, ...] = field(default=(), compare=False)

    @property
    def group(self) -> str:
        return self.gvr.group

    @property
    def watchable(self) -> bool:
        return {"list", "watch"} <= self.verbs

    @cached_property  # read for every event handled (per-type counters)
    def type_name(self) -> str:
        """`apps/v1/Deployment`: the form used in stories and on the command line."""
        return f"{self.gvr.api_version}/{self.kind}"

    def path(self, namespace: str | None = None) -> str:
        base = f"/apis/{self.gvr.group}/{self.gvr.version}" if self.gvr.group else f"/api/{self.gvr.version}"
        if namespace is not None and self.namespaced:
            return f"{base}/namespaces/{namespace}/{self.gvr.resource}"
        return f"{base}/{self.gvr.resource}"
