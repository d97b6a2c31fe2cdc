"""The `faro` command (also `kubectl faro`). Flags -> config -> run; nothing else.

Exit codes: 0 success, 1 runtime failure (cluster unreachable, …), 2 bad input (flags,
config, resource names, regexes, kubeconfig) — always with one line saying what is wrong.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import sys
from typing import Any

import click
import yaml

from faro._version import __version__
from faro.api import Faro, OutputError, rbac_manifests
from faro.cli.flags import ENV, config_from_flags, fail, selection_options
from faro.cli.logsetup import setup_logging
from faro.config import (
    schema,
)
from faro.errors import ApiError, ConfigError, KubeError

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")


@click.group(invoke_without_command=True, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="faro")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Faro tells the complete story of any Kubernetes resource."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


@cli.command("capture")
@selection_options
@click.option("--label-selector", "-l", help="Server-side label selector")
@click.option("--field-selector", help="Server-side field selector")
@click.option(
    "--output",
    "-o",
    "output_dir",
    type=click.Path(file_okay=False),
    help="Story directory (default ./output)",
)
@click.option("--workers", type=int, help="Max worker pool size (default 5)")
@click.option("--buffer-size", type=int, help="Event queue capacity (default 1000)")
@click.option(
    "--log-level",
    envvar=ENV["log_level"],
    type=click.Choice(["debug", "info", "warn", "warning", "error"], case_sensitive=False),
)
@click.option(
    "--log-format",
    type=click.Choice(["auto", "text", "json"]),
    help="Log format (default: text on a terminal, else json)",
)
@click.option(
    "--metrics-port",
    envvar=ENV["metrics_port"],
    type=int,
    help="Metrics/health port (default 8080, 0 disables)",
)
@click.option(
    "--metrics-address",
    envvar=ENV["metrics_address"],
    help="Address the metrics/health server binds (default 127.0.0.1)",
)
@click.option(
    "--correlation-timeout",
    envvar=ENV["correlation_timeout"],
    help="Close a story after this long without activity (default 5m)",
)
@click.option(
    "--max-log-streams",
    envvar=ENV["max_log_streams"],
    type=int,
    help="Concurrent log streams (default 50)",
)
@click.option("--duration", help="Stop after this long (e.g. 30s, 10m)")
@click.option("--jsonl", help="Also stream every story event as JSON lines to FILE or - (stdout)")
@click.option(
    "--log-pod", "log_pod_pattern", help="Regex: only pods whose name matches get their logs captured"
)
@click.option("--log-container", "log_container_include", help="Regex: container names to capture logs of")
@click.option("--log-exclude-container", "log_container_exclude", help="Regex: container names to skip")
@click.option("--log-include", "log_line_include", help="Regex: keep only log lines that match")
@click.option("--log-exclude", "log_line_exclude", help="Regex: drop log lines that match")
@click.option("--event-reason", "event_reason_include", help="Regex: keep only Events whose reason matches")
@click.option(
    "--event-exclude-reason", "event_reason_exclude", help="Regex: drop Events whose reason matches"
)
@click.option(
    "--event-source", "event_source_include", help="Regex: keep only Events from matching components"
)
@click.option(
    "--event-exclude-source", "event_source_exclude", help="Regex: drop Events from matching components"
)
def capture(**opts: Any) -> None:
    """Watch resources and write one story per matched object."""
    config = config_from_flags(opts)
    setup_logging(config.log_level, config.log_format)
    # The live view only on a terminal; otherwise stay quiet (logs are JSON lines).
    faro = Faro(config, status_view=sys.stderr.isatty() and config.log_format != "json")
    code = asyncio.run(_run(faro))
    sys.exit(code)


async def _run(faro: Faro) -> int:
    loop = asyncio.get_running_loop()
    signals = 0

    def on_signal() -> None:
        nonlocal signals
        signals += 1
        if signals > 1:  # a second signal: leave now
            click.echo("faro: second signal, exiting without flushing", err=True)
            os._exit(130)
        click.echo("faro: stopping, flushing open stories (signal again to exit at once)", err=True)
        faro.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal)
    try:
        await faro.run()
    except ConfigError as exc:  # the user's input (UnknownResourceError is one)
        fail(str(exc))
    except ApiError as exc:
        fail(f"the API server refused: {exc}", 1)
    except KubeError as exc:
        fail(str(exc), 1)
    except OutputError as exc:
        fail(f"{exc} (stories that were written are in {faro.config.output_dir})", 1)
    n, written = faro.closed_count, faro.written_count
    click.echo(f"faro: {n} stories closed, {written} written to {faro.config.output_dir}", err=True)
    return 0


@cli.command("rbac")
@selection_options
@click.option("--service-account", default="faro", show_default=True, help="ServiceAccount name")
@click.option("--sa-namespace", default="faro-system", show_default=True, help="ServiceAccount namespace")
def rbac(**opts: Any) -> None:
    """Print the least-privilege ServiceAccount, (Cluster)Role and binding for a capture."""
    sa, sa_ns = opts.pop("service_account"), opts.pop("sa_namespace")
    if not _DNS_SUBDOMAIN.fullmatch(sa) or len(sa) > 253:
        fail(f"--service-account {sa!r} is not a valid name (lowercase letters, digits, '-' and '.')")
    if not _DNS_LABEL.fullmatch(sa_ns) or len(sa_ns) > 63:
        fail(f"--sa-namespace {sa_ns!r} is not a valid namespace (lowercase letters, digits and '-')")
    config = config_from_flags(opts)
    try:
        docs = asyncio.run(rbac_manifests(config, sa, sa_ns))
    except ConfigError as exc:
        fail(str(exc))
    except KubeError as exc:
        fail(str(exc), 1)
    click.echo(yaml.safe_dump_all(docs, sort_keys=False), nl=False)


@cli.command("config-schema")
def config_schema() -> None:
    """Print the JSON Schema of the YAML config."""
    click.echo(json.dumps(schema(), indent=2))


def main() -> None:
    """`faro [capture] FLAGS` captures; `faro <command>` runs another command."""
    args = sys.argv[1:]
    grouped = bool(args) and (args[0] in cli.commands or args[0] in ("--version", "--help", "-h"))
    command = cli if grouped else capture
    try:
        code = command.main(args=args, prog_name="faro", standalone_mode=False)
    except click.BadParameter as exc:  # one line, like every other error; and say where it came from
        fail(exc.format_message() + _from_env(exc.param, args))
    except click.ClickException as exc:
        fail(exc.format_message())
    except click.Abort:
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _from_env(param: click.Parameter | None, args: list[str]) -> str:
    """click names the flag even when the bad value came from its FARO_* variable."""
    envvar = getattr(param, "envvar", None)
    flags = getattr(param, "opts", [])
    if isinstance(envvar, str) and envvar in os.environ and not any(a.split("=")[0] in flags for a in args):
        return f" (from ${envvar})"
    return ""
