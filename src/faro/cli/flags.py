"""Flags and FARO_* variables into one FaroConfig: the CLI's only translation step.

Precedence: flags (and FARO_* variables, which click reads for the flags that have one) over
the YAML file over defaults. `capture` and `rbac` share the options that say what a capture
watches, so `faro rbac` grants exactly what the same flags would capture.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from faro.config import FaroConfig, build_config, load_yaml, parse_duration, split_namespaces
from faro.errors import ConfigError

F = TypeVar("F", bound=Callable[..., Any])

ENV = {
    "log_level": "FARO_LOG_LEVEL",
    "metrics_port": "FARO_METRICS_PORT",
    "metrics_address": "FARO_METRICS_ADDRESS",
    "correlation_timeout": "FARO_CORRELATION_TIMEOUT",
    "include_logs": "FARO_INCLUDE_LOGS",
    "max_log_streams": "FARO_MAX_LOG_STREAMS",
}
# Options read here, not config fields of the same name.
_NOT_FIELDS = {"resources", "related"}


def fail(message: str, code: int = 2) -> None:
    click.echo(f"faro: error: {message}", err=True)
    sys.exit(code)


def selection_options(command: F) -> F:
    """What a capture watches, and with which credentials: shared by capture and rbac."""
    options = [
        click.option(
            "--resource",
            "-r",
            "resources",
            help="Resource(s), comma-separated: apps/v1/Deployment, v1/pods, deploy, Widget.example.com",
        ),
        click.option("--name", help="Glob or regex on the object name (full match)"),
        click.option(
            "--namespace",
            "-n",
            default=None,
            help='Namespace(s): names, globs, regexes, comma-separated, or "all" (default "default")',
        ),
        click.option("--config", "config_file", type=click.Path(dir_okay=False), help="YAML config file"),
        click.option("--related", help='Extra child kinds, comma-separated, or "all"'),
        click.option(
            "--include-logs/--no-include-logs",
            envvar=ENV["include_logs"],
            default=None,
            help="Capture container logs, and grant pods/log (default true)",
        ),
        click.option(
            "--kubeconfig", help="Path to a kubeconfig (default: $KUBECONFIG, ~/.kube/config, in-cluster)"
        ),
        click.option("--context", help="kubeconfig context"),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def config_from_flags(opts: dict[str, Any]) -> FaroConfig:
    """Precedence: flags (and FARO_* env, via click) over the YAML file over defaults."""
    source = opts.get("config_file")
    try:
        data: dict[str, Any] = load_yaml(source) if source else {}
        if opts.get("resources"):
            ns_names, ns_patterns = split_namespaces(opts.get("namespace") or "default")
            data["resources"] = [
                {
                    "gvr": r.strip(),
                    "namespace_names": ns_names,
                    "namespace_patterns": ns_patterns,
                    "name_pattern": opts.get("name"),
                    "label_selector": opts.get("label_selector"),
                    "field_selector": opts.get("field_selector"),
                }
                for r in opts["resources"].split(",")
                if r.strip()
            ]
            if not data["resources"]:
                raise ConfigError(f"nothing to watch: --resource {opts['resources']!r} names no resource")
        elif not data.get("resources") and not data.get("namespaces"):
            raise ConfigError("nothing to watch: give --resource or a --config with resources")
        for key in FaroConfig.model_fields.keys() - _NOT_FIELDS:  # a flag named as its config key
            if opts.get(key) is not None:
                data[key] = opts[key]
        if opts.get("related"):
            data["related"] = [r.strip() for r in opts["related"].split(",") if r.strip()]
        if opts.get("duration") is not None:
            duration = parse_duration(opts["duration"])
            if duration <= 0:
                raise ConfigError(f"--duration must be more than 0 (got {opts['duration']!r})")
            data["auto_shutdown_sec"] = duration
        return build_config(data, source if source and not opts.get("resources") else None)
    except (ConfigError, ValueError) as exc:
        fail(str(exc))
        raise AssertionError from exc  # unreachable: fail() exits
