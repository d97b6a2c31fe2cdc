"""The `faro` command. It only turns flags into a config and calls run."""

from __future__ import annotations

import click

from faro._version import __version__


@click.group(invoke_without_command=True)
@click.version_option(__version__, prog_name="faro")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Faro tells the complete story of any Kubernetes resource."""
    if ctx.invoked_subcommand is None:
        click.echo(ctx.get_help())


def main() -> None:
    cli()
