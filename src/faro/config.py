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

ALL_NAMESPACES = "all"
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")


class ConfigError(ValueError):
    """Invalid configuration; the message is one line meant for the user."""


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


def split_namespaces(spec: str) -> tuple[list[str], list[str]]:
    """`--namespace` value -> (exact names, regex patterns). "all" is the pattern ".*"."""
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
        for p in v:
            _check_regex(p, "namespace")
        return v

    @field_validator("name_pattern")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return _check_regex(v, "name")

    @property
    def all_namespaces(self) -> bool:
        return (not self.namespace_names and not self.namespace_patterns) or ".*" in self.namespace_patterns


class FaroConfig(BaseModel):
    """Everything a capture needs. Build it in code, from flags, or from YAML."""

    model_config = ConfigDict(extra="forbid")

    resources: list[ResourceRule] = Field(default_factory=list)
    output_dir: Path = Path("output")
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "text", "json"] = "auto"
    auto_shutdown_sec: float | None = Field(default=None, gt=0)
    json_export: bool = True
    jsonl: str | None = None
    kubeconfig: str | None = None
    context: str | None = None
    workers: int = Field(default=5, ge=1, le=256)
    buffer_size: int = Field(default=1000, ge=1)
    metrics_port: int = Field(default=8080, ge=0, le=65535)
    metrics_address: str = "127.0.0.1"
    correlation_timeout: float = Field(default=300.0, gt=0)
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

    @field_validator("correlation_timeout", "auto_shutdown_sec", mode="before")
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
        return v.lower() if isinstance(v, str) else v

    @model_validator(mode="before")
    @classmethod
    def _namespace_centric(cls, data: Any) -> Any:
        """Turn the namespace-centric shape into resource rules."""
        if not isinstance(data, dict) or "namespaces" not in data:
            return data
        data = dict(data)
        entries = data.pop("namespaces") or []
        if not isinstance(entries, list):
            raise ValueError("'namespaces' must be a list of {name_pattern, resources}")
        rules = list(data.get("resources") or [])
        for i, ns in enumerate(entries):
            if not isinstance(ns, dict) or not isinstance(ns.get("resources"), dict):
                raise ValueError(f"namespaces[{i}] needs a 'resources' mapping of gvr -> options")
            pattern = ns.get("name_pattern") or ns.get("name") or ALL_NAMESPACES
            names, patterns = split_namespaces(str(pattern)) if pattern != ALL_NAMESPACES else ([], [".*"])
            if ns.get("name_pattern") and names:  # a pattern key with a plain name is still exact
                names, patterns = [], [f"^{re.escape(n)}$" for n in names] + patterns
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


def _line_of(path: Path, loc: tuple[Any, ...]) -> int | None:
    """Best-effort YAML line of a pydantic error location."""
    try:
        node = yaml.compose(path.read_text())
    except (OSError, yaml.YAMLError):
        return None
    line = None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            nxt = next((v for k, v in node.value if k.value == str(key)), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            nxt = node.value[key]
        else:
            nxt = None
        if nxt is None:
            break
        node = nxt
        line = node.start_mark.line + 1
    return line


def schema() -> dict[str, Any]:
    """The JSON Schema of the YAML config (resource-centric shape)."""
    return FaroConfig.model_json_schema(by_alias=False)
