"""``pyrsp renew``: install a new profile and retire the old one, resumably (SGP.22 3.1.3, 3.5).

The renewal's journal is kept in a directory (``--journal``; by default ``DIR/journal`` for
``--virtual DIR``, else ``$XDG_STATE_HOME/pyrsp/journal``), so running the same command again
after an interruption finishes the job without a second download.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from pyrsp.cli.options import (
    ConfirmationCodeOption,
    ConnectToOption,
    JsonOption,
    ReaderOption,
    TlsRoleCheckOption,
    TrustOption,
    VirtualOption,
    YesOption,
)
from pyrsp.cli.output import EXIT_SERVER, Output, safe

if TYPE_CHECKING:
    from pyrsp.models import ProfileInfo
    from pyrsp.protocol.renewal import RenewalResult

__all__ = ["default_journal", "print_renewal", "renew"]


def default_journal(virtual: Path | None) -> Path:
    """Where a renewal's journal goes when ``--journal`` is not given."""
    if virtual is not None:
        return virtual / "journal"
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "pyrsp" / "journal"


def renew(
    activation_code: Annotated[
        str, typer.Argument(metavar="ACTIVATION_CODE", help="LPA:1$address$matchingId...")
    ],
    *,
    replace: Annotated[
        str | None,
        typer.Option(metavar="ICCID", help="The profile the new one replaces (disabled after)."),
    ] = None,
    delete_old: Annotated[
        bool, typer.Option("--delete-old", help="Delete the replaced profile too.")
    ] = False,
    journal: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Where to keep the renewal's progress."),
    ] = None,
    confirmation_code: ConfirmationCodeOption = None,
    yes: YesOption = False,
    trust: TrustOption = None,
    connect_to: ConnectToOption = None,
    tls_role_check: TlsRoleCheckOption = True,
    reader: ReaderOption = None,
    virtual: VirtualOption = None,
    json: JsonOption = False,
) -> None:
    """Download a new profile, enable it, retire the old one and deliver every notification.

    Interrupted (card pulled, server down)? Run the same command again: it goes on from where
    it stopped, without downloading the profile twice.
    """
    from pyrsp.cli.cards import CardChoice, ServerChoice, open_client
    from pyrsp.cli.interaction import download_ui
    from pyrsp.journal import FileJournal

    out = Output(json)
    server = ServerChoice(tuple(trust or ()), tuple(connect_to or ()), tls_role_check)
    store = FileJournal(journal or default_journal(virtual))
    with (
        out.errors_reported(),
        download_ui(
            out,
            yes=yes,
            confirmation_code=confirmation_code,
            then_irreversibly=f"disable and delete {replace}" if replace and delete_old else "",
        ) as ui,
        open_client(CardChoice(reader, virtual), server) as client,
    ):
        result = client.renew(
            activation_code,
            replace=replace,
            delete_old=delete_old,
            journal=store,
            confirm=ui.confirm,
            confirmation_code=ui.code,
            progress=ui.progress,
        )
        profiles = client.profiles()
    out.result(
        {"renewal": result, "complete": result.complete, "profiles": profiles},
        lambda: print_renewal(out, result, profiles),
    )
    if not result.complete:
        raise SystemExit(EXIT_SERVER)


def print_renewal(out: Output, result: RenewalResult, profiles: list[ProfileInfo]) -> None:
    """What the renewal changed, the profiles now, and the notifications' fate."""
    from pyrsp.cli.notification import print_outcomes
    from pyrsp.cli.profile import profile_table

    if result.resumed:
        out.note("finishing a renewal an earlier run began")
    changes = [f"new profile {result.new_iccid}"]
    changes.append("enabled" if result.enabled else "already enabled")
    if result.old_iccid is not None:
        done = [
            w
            for w, did in (("disabled", result.old_disabled), ("deleted", result.old_deleted))
            if did
        ]
        changes.append(f"old profile {result.old_iccid} {' and '.join(done) or 'kept'}")
    out.console.print(safe(", ".join(changes)))
    out.console.print(profile_table(profiles))
    print_outcomes(out, result.notifications)
