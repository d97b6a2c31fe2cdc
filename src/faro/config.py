"""Faro's configuration: CLI flags, FARO_* environment variables and YAML, as one plan.

Two YAML shapes exist in the wild and both are accepted:

- namespace-centric: ``namespaces: [{name_pattern, resources: {"v1/pods": {...}}}]``
- resource-centric: ``resources: [{gvr, scope, namespace_names, namespace_patterns, ...}]``

Both normalize into a list of :class:`ResourceRule`. Validation errors name the key, the
value and the reason, with the YAML line when the input came from a file. Precedence:
flags, then environment, then the file, then defaults.
"""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from faro.config_keys import dotted, unknown_keys
from faro.errors import ConfigError

ALL_NAMESPACES = "all"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_GLOB = re.compile(r"^[a-z0-9.?*-]*[?*][a-z0-9.?*-]*$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


def parse_duration(value: Any) -> float:
    """Seconds from 300, "300", "300s", "5m", "1h", "250ms"."""
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    if isinstance(value, int | float):
        return float(value)
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"not a duration: {value!r} (use e.g. 30s, 5m, 1h)")
    n = float(m.group(1)) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[m.group(2)]
    if not math.isfinite(n):
        raise ValueError(f"not a duration: {_short(str(value))} (too long)")
    return n


def _check_regex(value: str | None, what: str) -> str | None:
    if value is None:
        return None
    try:
        re.compile(value)
    except (re.error, OverflowError, RecursionError) as exc:  # a{99999999999}, '(' * 2000
        raise ValueError(f"invalid {what} regex {_short(value)}: {exc}") from None
    return value


def _short(value: str, limit: int = 80) -> str:
    return repr(value) if len(value) <= limit else f"{value[:limit]!r}... ({len(value)} characters)"


def as_regex(pattern: str) -> str:
    """A pattern as its writer meant it: `prod-*` is a glob, `prod-.*` a regex.

    A pattern made only of the characters of Kubernetes names (a-z, 0-9, `-`, `.`) and the
    wildcards `*` and `?`, with no `.` before a `*`, is a glob: `*` is any run of
    characters, `?` one. As a regex `prod-*` would mean "prod" and dashes, which nobody
    means. Anything else (`prod-.*`, `^team-(a|b)$`, `[a-z]+`) is a regex, as before."""
    if _GLOB.match(pattern) and ".*" not in pattern and ".?" not in pattern:
        return "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return pattern


def split_namespaces(spec: str) -> tuple[list[str], list[str]]:
    """`--namespace` value -> (exact names, regex patterns). "all" is the pattern ".*";
    globs (`prod-*`) become regexes (see as_regex)."""
    names: list[str] = []
    patterns: list[str] = []
    for part in (p.strip() for p in spec.split(",")):
        if not part:
            continue
        if part == ALL_NAMESPACES:
            patterns.append(".*")
        elif _DNS_LABEL.match(part):
            names.append(part)
        else:
            part = as_regex(part)
            _check_regex(part, "namespace")
            patterns.append(part)
    return names, patterns


class ResourceRule(BaseModel):
    """One thing to watch as a primary: a resource type plus where and which."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    gvr: str = Field(min_length=1, description="Resource as typed: apps/v1/Deployment, v1/pods, deploy, ...")
    scope: Literal["Namespaced", "Cluster"] | None = None
    namespace_names: list[str] = Field(default_factory=list)
    namespace_patterns: list[str] = Field(default_factory=list)
    name_pattern: str | None = Field(
        default=None, alias="name_selector", description="Regex on metadata.name"
    )
    label_selector: str | None = None
    field_selector: str | None = None

    @field_validator("namespace_patterns")
    @classmethod
    def _patterns(cls, v: list[str]) -> list[str]:
        out = [as_regex(p) for p in v]
        for p in out:
            _check_regex(p, "namespace")
        return out

    @field_validator("name_pattern")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return _check_regex(None if v is None else as_regex(v), "name")

    @property
    def all_namespaces(self) -> bool:
        return (not self.namespace_names and not self.namespace_patterns) or ".*" in self.namespace_patterns


class FaroConfig(BaseModel):
    """Everything a capture needs. Build it in code, from flags, or from YAML."""

    model_config = ConfigDict(extra="forbid")

    resources: list[ResourceRule] = Field(default_factory=list)
    output_dir: Path = Path("output")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="debug, info, warn (or warning), error"
    )
    log_format: Literal["auto", "text", "json"] = "auto"
    auto_shutdown_sec: float | None = Field(default=None, gt=0)
    write_stories: bool = Field(default=True, description="Write closed stories to output_dir")
    json_export: bool = Field(
        default=False,
        description="Also write every matched change as one JSON line to output_dir/events-<time>.jsonl",
    )
    handler_queue_size: int = Field(
        default=10_000, ge=1, description="Changes queued per library event handler; more are dropped"
    )
    handler_max_retries: int = Field(
        default=5, ge=0, description="Retries of a change an event handler fails on before it is dropped"
    )
    handler_backoff_base: float = Field(default=0.005, gt=0, description="First retry delay (doubles)")
    handler_backoff_max: float = Field(default=30.0, gt=0, description="Longest retry delay")
    jsonl: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    workers: int = Field(default=5, ge=1, le=256)
    buffer_size: int = Field(default=1000, ge=1)
    metrics_port: int = Field(default=8080, ge=0, le=65535)
    metrics_address: str = "127.0.0.1"
    correlation_timeout: float = Field(default=300.0, gt=0)
    max_open_stories: int = Field(
        default=10_000,
        ge=1,
        description="Open stories at once; past it the oldest closes as 'evicted' (written whole)",
    )
    include_logs: bool = True
    max_log_streams: int = Field(default=50, ge=1)
    related: list[str] = Field(default_factory=list, description='Extra child kinds, or ["all"]')
    log_pod_pattern: str | None = Field(
        default=None, description="Regex: only pods whose name matches get logs"
    )
    log_container_include: str | None = Field(default=None, description="Regex on container names to stream")
    log_container_exclude: str | None = Field(
        default=None, description="Regex on container names not to stream"
    )
    log_line_include: str | None = Field(default=None, description="Regex: keep only log lines that match")
    log_line_exclude: str | None = Field(default=None, description="Regex: drop log lines that match")
    log_cap: int = Field(default=10_000, ge=2, description="Lines kept per container instance (head + tail)")
    event_reason_include: str | None = Field(default=None, description="Regex on Event reason to keep")
    event_reason_exclude: str | None = Field(default=None, description="Regex on Event reason to drop")
    event_source_include: str | None = Field(
        default=None, description="Regex on Event source component to keep"
    )
    event_source_exclude: str | None = Field(
        default=None, description="Regex on Event source component to drop"
    )
    redact_secrets: bool = True

    @field_validator("output_dir", "kubeconfig", "jsonl", mode="before")
    @classmethod
    def _home(cls, v: Any, info: ValidationInfo) -> Any:
        """`~` in a path, as a shell would do on the command line (YAML files have no shell).
        An empty output path is a mistake (an unset shell variable), not the current
        directory; an empty kubeconfig means the default one, as for kubectl."""
        if isinstance(v, str) and v == "":
            if info.field_name == "kubeconfig":
                return None
            raise ValueError("must not be empty")
        return os.path.expanduser(v) if isinstance(v, str | Path) and str(v) != "-" else v

    @field_validator(
        "correlation_timeout",
        "auto_shutdown_sec",
        "handler_backoff_base",
        "handler_backoff_max",
        mode="before",
    )
    @classmethod
    def _durations(cls, v: Any) -> Any:
        return None if v is None else parse_duration(v)

    @field_validator(
        "log_pod_pattern",
        "log_container_include",
        "log_container_exclude",
        "log_line_include",
        "log_line_exclude",
        "event_reason_include",
        "event_reason_exclude",
        "event_source_include",
        "event_source_exclude",
    )
    @classmethod
    def _regexes(cls, v: str | None, info: ValidationInfo) -> str | None:
        return _check_regex(v, info.field_name or "")

    @field_validator("log_level", mode="before")
    @classmethod
    def _level(cls, v: Any) -> Any:
        """`warn` is the specification's spelling (001), `warning` Python's: both are one level."""
        v = v.lower() if isinstance(v, str) else v
        return "warning" if v == "warn" else v

    @model_validator(mode="before")
    @classmethod
    def _namespace_centric(cls, data: Any) -> Any:
        """Turn the namespace-centric shape into resource rules."""
        if not isinstance(data, dict) or "namespaces" not in data:
            return data
        data = dict(data)
        entries = data.pop("namespaces") or []
        if not isinstance(entries, list):
            raise ValueError("'namespaces' must be a list of {name_selector, resources}")
        rules = list(data.get("resources") or [])
        for i, ns in enumerate(entries):
            if not isinstance(ns, dict) or not isinstance(ns.get("resources"), dict):
                raise ValueError(f"namespaces[{i}] needs a 'resources' mapping of gvr -> options")
            given = [k for k in ("name_selector", "name_pattern", "name") if ns.get(k) is not None]
            if len(given) > 1:
                raise ValueError(f"namespaces[{i}] has both {given[0]!r} and {given[1]!r}: give one")
            if given and not isinstance(ns[given[0]], str):
                raise ValueError(f"namespaces[{i}].{given[0]} must be a string (a name, glob or regex)")
            # No key at all is every namespace, as for a resource rule without namespaces.
            pattern = ns[given[0]].strip() if given else ALL_NAMESPACES
            if not pattern:
                raise ValueError(
                    f"namespaces[{i}].{given[0]} must not be empty (use 'all' for every namespace)"
                )
            # A plain name is exactly that namespace (so `faro rbac` grants a Role in it alone).
            names, patterns = split_namespaces(pattern)
            for gvr, opts in ns["resources"].items():
                if opts is not None and not isinstance(opts, dict):
                    raise ValueError(f"namespaces[{i}].resources[{gvr!r}] must be a mapping of options")
                rules.append(
                    {
                        "gvr": gvr,
                        "namespace_names": names,
                        "namespace_patterns": patterns,
                        **(opts or {}),
                    }
                )
        data["resources"] = rules
        return data


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file; errors carry the file and line."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {str(p)!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {str(p)!r} is not a text (UTF-8) file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"{p}:{where} invalid YAML: {getattr(exc, 'problem', exc)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the top level must be a mapping")
    return data


def build_config(data: dict[str, Any], source: str | Path | None = None) -> FaroConfig:
    """Validate into a FaroConfig; the first error becomes one precise ConfigError."""
    top = frozenset(FaroConfig.model_fields) | {"namespaces"}
    rule = frozenset(ResourceRule.model_fields) | {"name_selector"}
    for path, key, closest in unknown_keys(data, top, rule):
        where = ""
        if source is not None:
            line = _line_of(Path(source), path)
            where = f"{source}:{f' line {line}' if line else ''} "
        hint = f" (did you mean {closest!r}?)" if closest else ""
        raise ConfigError(f"{where}{dotted(path)}: unknown key {key!r}{hint}")
    try:
        return FaroConfig.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        where = ""
        if source is not None:
            line = _line_of(Path(source), err["loc"])
            where = f"{source}:{f' line {line}' if line else ''} "
        value = err.get("input")
        msg = err["msg"].removeprefix("Value error, ")
        said = repr(value) in msg or (isinstance(value, str) and _short(value) in msg)
        quiet = isinstance(value, dict | list) or value is None or said
        shown = "" if quiet else f" (got {_short(value) if isinstance(value, str) else repr(value)})"
        raise ConfigError(f"{where}{loc or 'config'}: {msg}{shown}") from None


def load_config(path: str | Path) -> FaroConfig:
    """A YAML config file (either shape) as a FaroConfig; ConfigError with file and line."""
    return build_config(load_yaml(path), path)


def _line_of(path: Path, loc: tuple[Any, ...]) -> int | None:
    """Best-effort YAML line of a pydantic error location."""
    try:
        node = yaml.compose(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            pair = next(((k, v) for k, v in node.value if k.value == str(key)), None)
            if pair is not None:
                line = pair[0].start_mark.line + 1  # the key's line: a value may start later
            nxt = pair[1] if pair is not None else None
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        if not isinstance(node, yaml.MappingNode):
            line = nxt.start_mark.line + 1
        node = nxt
    return line


def schema() -> dict[str, Any]:
    """The JSON Schema of the YAML config (resource-centric shape)."""
    return FaroConfig.model_json_schema(by_alias=False)
