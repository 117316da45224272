"""The ``pyrsp`` command tree: one typer group per topic, each in its own module."""

from __future__ import annotations

import logging
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from pyrsp.cli import ac, chip, demo, notification, output, pki, profile, renew, smdp

__all__ = ["app"]

_ORDER = ("chip", "profile", "notification", "renew", "demo", "smdp", "pki", "ac")


class _Group(TyperGroup):
    """Lists the commands card-first (typer would list single commands before groups)."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: _ORDER.index(n) if n in _ORDER else len(_ORDER))


app = typer.Typer(
    name="pyrsp",
    cls=_Group,
    help="eSIM Remote SIM Provisioning (GSMA SGP.22): manage the profiles of an eUICC in a "
    "PC/SC reader or a virtual one, download them from an SM-DP+, and run test servers.",
    epilog="Exit codes: 0 ok, 1 other error, 2 usage, 3 card, 4 SM-DP+, 5 declined, "
    "6 download failed, 130 interrupted.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rendering it with rich doubles the start-up time
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(chip.app, name="chip")
app.add_typer(profile.app, name="profile")
app.add_typer(notification.app, name="notification")
app.command("renew")(renew.renew)
app.command("demo")(demo.demo)
app.add_typer(smdp.app, name="smdp")
app.add_typer(pki.app, name="pki")
app.add_typer(ac.app, name="ac")


def _version(value: bool) -> None:
    if value:
        from pyrsp import __version__

        typer.echo(f"pyrsp {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Log to standard error; show tracebacks.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Options for every command."""
    output.VERBOSE = verbose
    if verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
