"""Every filter of a capture, compiled once: which objects are primaries (namespace names,
patterns and name regexes), which Events are kept (reason, source) and which container logs
are read (pod, container, line). Everything is captured unless a filter says otherwise.

Label and field selectors are applied by the API server (see plan.py); what the server
cannot do — namespace regexes, name regexes — is done here, on every event, so it is cheap:
compiled patterns and a per-namespace answer cache.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from faro.config import ResourceRule
from faro.model.refs import ResourceType


@dataclass
class NamespaceFilter:
    names: frozenset[str]
    patterns: tuple[re.Pattern[str], ...]
    _cache: dict[str, bool] = field(default_factory=dict, repr=False)

    @classmethod
    def of(cls, names: list[str], patterns: list[str]) -> NamespaceFilter:
        return cls(frozenset(names), tuple(re.compile(p) for p in patterns))

    @property
    def everything(self) -> bool:
        return any(p.pattern in (".*", "^.*$") for p in self.patterns) or (
            not self.names and not self.patterns
        )

    @property
    def exact_only(self) -> bool:
        return bool(self.names) and not self.patterns

    def match(self, namespace: str) -> bool:
        hit = self._cache.get(namespace)
        if hit is None:
            hit = (
                self.everything
                or namespace in self.names
                or any(p.fullmatch(namespace) for p in self.patterns)
            )
            if len(self._cache) < 100_000:
                self._cache[namespace] = hit
        return hit


@dataclass
class PrimaryRule:
    """A ResourceRule resolved against discovery."""

    rule: ResourceRule
    resource: ResourceType
    namespaces: NamespaceFilter
    name: re.Pattern[str] | None

    @classmethod
    def compile(cls, rule: ResourceRule, resource: ResourceType) -> PrimaryRule:
        ns = NamespaceFilter.of(rule.namespace_names, rule.namespace_patterns)
        name = re.compile(rule.name_pattern) if rule.name_pattern else None
        return cls(rule, resource, ns, name)

    def match(self, namespace: str, name: str) -> bool:
        if self.resource.namespaced and not self.namespaces.match(namespace):
            return False
        return self.name is None or self.name.fullmatch(name) is not None


@dataclass
class EventFilters:
    reason_include: re.Pattern[str] | None = None
    reason_exclude: re.Pattern[str] | None = None
    source_include: re.Pattern[str] | None = None
    source_exclude: re.Pattern[str] | None = None

    def wants(self, reason: str, source: str) -> bool:
        for value, inc, exc in (
            (reason, self.reason_include, self.reason_exclude),
            (source, self.source_include, self.source_exclude),
        ):
            if inc is not None and not inc.search(value):
                return False
            if exc is not None and exc.search(value):
                return False
        return True


@dataclass
class LogFilters:
    pod: re.Pattern[str] | None = None
    container_include: re.Pattern[str] | None = None
    container_exclude: re.Pattern[str] | None = None
    line_include: re.Pattern[bytes] | None = None
    line_exclude: re.Pattern[bytes] | None = None

    def wants_container(self, pod: str, container: str) -> bool:
        if self.pod is not None and not self.pod.fullmatch(pod):
            return False
        if self.container_include is not None and not self.container_include.fullmatch(container):
            return False
        return self.container_exclude is None or not self.container_exclude.fullmatch(container)

    def wants_line(self, content: bytes) -> bool:
        if self.line_include is not None and not self.line_include.search(content):
            return False
        return self.line_exclude is None or not self.line_exclude.search(content)
