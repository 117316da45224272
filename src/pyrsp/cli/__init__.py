"""The ``pyrsp`` command (the ``cli`` extra: typer, rich, segno).

:func:`main` is the console entry point. Only typer and the command definitions load before a
command runs, so ``pyrsp --help`` starts fast; each command imports what it needs.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``pyrsp`` with ``argv`` (default: the process arguments); exits with its status.

    Click's own errors (an unknown option, a missing argument) honour ``--json`` too: standard
    output then holds the error document, as for every other failure. Standard output closed
    early (``pyrsp ... | head``) ends the command quietly with status 141, as SIGPIPE would.
    """
    try:
        import typer

        from pyrsp.cli.app import app
    except ImportError as exc:
        if exc.name not in ("typer", "rich"):
            raise
        sys.stderr.write(
            f"error: the pyrsp command needs {exc.name}, which is not installed\n"
            "hint: pip install 'pyrsp[cli]'\n"
        )
        raise SystemExit(1) from exc
    from pyrsp.cli.output import EXIT_BROKEN_PIPE, OutputClosedError

    args = list(argv) if argv is not None else sys.argv[1:]
    try:
        status = app(args=args, prog_name="pyrsp", standalone_mode=False)
    except _click_exception() as error:
        status = _click_error(error, json_mode="--json" in args)
    except typer.Abort:
        status = _click_error(_click_exception()("aborted"), json_mode="--json" in args)
    except (OutputClosedError, BrokenPipeError):
        _silence_stdout()
        status = EXIT_BROKEN_PIPE
    raise SystemExit(status if isinstance(status, int) else 0)


def _click_exception() -> type[Any]:
    """Click's ``ClickException`` (typer >= 0.26 vendors click, older ones use it)."""
    import typer

    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def _click_error(error: Any, *, json_mode: bool) -> int:
    """Report an error click found in the command line; its exit status (2 for usage)."""
    from pyrsp.cli.output import report_error

    code: int = error.exit_code
    if not json_mode:
        error.show()
        return code
    context = getattr(error, "ctx", None)  # a UsageError's command
    command = context.command_path if context is not None else "pyrsp"
    name = "UsageError" if code == 2 else "Aborted"
    report_error(True, name, error.format_message(), f"see '{command} --help'", code)
    return code


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so the exit flush does not fail a second time."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
