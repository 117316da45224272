"""The ``pyrsp`` command (the ``cli`` extra: typer, rich, segno).

:func:`main` is the console entry point. Only typer and the command definitions load before a
command runs, so ``pyrsp --help`` starts fast; each command imports what it needs.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> None:
    """Run ``pyrsp`` with ``argv`` (default: the process arguments); exits with its status."""
    try:
        from pyrsp.cli.app import app
    except ImportError as exc:
        if exc.name not in ("typer", "rich"):
            raise
        sys.stderr.write(
            f"error: the pyrsp command needs {exc.name}, which is not installed\n"
            "hint: pip install 'pyrsp[cli]'\n"
        )
        raise SystemExit(1) from exc
    app(args=list(argv) if argv is not None else None, prog_name="pyrsp")
