"""From rules to reflectors: which resource types to watch, where, with which selectors.

One reflector per (resource type, namespace scope, selectors), however many rules overlap.
A few exact namespaces get namespaced watches; patterns and "all" get one cluster-wide watch
whose events are filtered client-side (so namespaces created later are picked up). Children
and Events are watched in the union of the primaries' scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from faro.capture.filters import PrimaryRule
from faro.capture.fold.roles import CHILD, CRDS, EVENTS, PRIMARY
from faro.model.refs import ResourceType

MAX_NAMESPACED_WATCHES = 10

# Kinds that commonly belong to a primary: (group, kind).
DEFAULT_CHILD_KINDS: tuple[tuple[str, str], ...] = (
    ("apps", "ReplicaSet"),
    ("", "Pod"),
    ("batch", "Job"),
    ("apps", "ControllerRevision"),
    ("discovery.k8s.io", "EndpointSlice"),
    ("", "PersistentVolumeClaim"),
)


@dataclass(frozen=True)
class WatchKey:
    resource: ResourceType
    namespace: str | None
    label_selector: str | None = None
    field_selector: str | None = None


@dataclass
class WatchSpec:
    key: WatchKey
    roles: set[str] = field(default_factory=set)
    rules: list[PrimaryRule] = field(default_factory=list)

    _frozen: tuple[frozenset[str], tuple[PrimaryRule, ...]] | None = field(default=None, repr=False)

    def views(self) -> tuple[frozenset[str], tuple[PrimaryRule, ...]]:
        """Immutable roles and rules handed out with every event; built once, rebuilt
        only after update() (a new plan)."""
        if self._frozen is None:
            self._frozen = (frozenset(self.roles), tuple(self.rules))
        return self._frozen

    def update(self, other: WatchSpec) -> None:
        self.roles |= other.roles
        self.rules[:] = other.rules
        self._frozen = None


def namespace_scope(rules: list[PrimaryRule]) -> list[str | None]:
    """The namespaces to watch children/events in: a few names, or [None] (all)."""
    names: set[str] = set()
    for r in rules:
        if not r.resource.namespaced or not r.namespaces.exact_only:
            return [None]
        names |= r.namespaces.names
    if not names or len(names) > MAX_NAMESPACED_WATCHES:
        return [None]
    return list[str | None](sorted(names))


def plan(
    rules: list[PrimaryRule],
    children: list[ResourceType],
    events: ResourceType | None,
    crds: ResourceType | None = None,
) -> list[WatchSpec]:
    specs: dict[WatchKey, WatchSpec] = {}

    def add(key: WatchKey, role: str, rule: PrimaryRule | None = None) -> None:
        spec = specs.setdefault(key, WatchSpec(key))
        spec.roles.add(role)
        if rule is not None:
            spec.rules.append(rule)

    for r in rules:
        scopes: list[str | None] = [None]
        if (
            r.resource.namespaced
            and r.namespaces.exact_only
            and len(r.namespaces.names) <= MAX_NAMESPACED_WATCHES
        ):
            scopes = list(sorted(r.namespaces.names))
        for ns in scopes:
            add(WatchKey(r.resource, ns, r.rule.label_selector, r.rule.field_selector), PRIMARY, r)
    scope = namespace_scope(rules)
    for t in children:
        for ns in scope if t.namespaced else [None]:
            add(WatchKey(t, ns), CHILD)
    if events is not None:
        for ns in scope:
            add(WatchKey(events, ns), EVENTS)
    if crds is not None:  # new CRDs (or versions) may make pending rules or `related: all` kinds watchable
        add(WatchKey(crds, None), CRDS)
    return list(specs.values())
