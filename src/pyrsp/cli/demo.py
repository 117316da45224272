"""``pyrsp demo``: a whole renewal with no hardware and no network but loopback.

It makes a virtual eUICC with a fresh test PKI in a temporary directory, serves two download
orders from the TestSmdp over real HTTPS on 127.0.0.1 (TLS certificate from the test PKI; the
client trusts only the test CI and reaches the SM-DP+ address through connect-to), installs the
first profile, renews to the second (enable it, disable and delete the first, deliver every
notification), shows the profiles and what the SM-DP+ received, and removes the directory.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pyrsp.cli.options import JsonOption
from pyrsp.cli.output import EXIT_SERVER, Output, iccid_column, safe

if TYPE_CHECKING:
    from rich.table import Table

    from pyrsp.cli.cards import CardChoice, ServerChoice
    from pyrsp.models import ProfileInfo
    from pyrsp.protocol.renewal import RenewalResult
    from pyrsp.testing.smdp import ReceivedNotification

__all__ = ["demo", "run_demo"]

_PLANS = ("pyrsp demo: this year's plan", "pyrsp demo: next year's plan")


def demo(
    keep: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Work in DIR and keep it (card, PKI, journal)."),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Install a profile on a virtual eUICC, then renew it, against a local test SM-DP+."""
    out = Output(json)
    with out.errors_reported():
        workdir = keep or Path(tempfile.mkdtemp(prefix="pyrsp-demo-"))
        try:
            report = run_demo(out, workdir)
        finally:
            if keep is None:
                shutil.rmtree(workdir, ignore_errors=True)
    out.result(report, lambda: out.say(_goodbye(keep)))
    if not (report["first"].complete and report["second"].complete):
        raise SystemExit(EXIT_SERVER)


def _goodbye(keep: Path | None) -> str:
    if keep is None:
        return "[dim]demo done; its temporary directory is removed[/dim]"
    card = keep / "card"
    kept = f"card, PKI and journal kept in {safe(keep)} (try --virtual {safe(card)})"
    return f"[dim]demo done; {kept}[/dim]"


def run_demo(out: Output, workdir: Path) -> dict[str, Any]:
    """Run the demo in ``workdir``; the report (renewals, profiles, received notifications)."""
    from pyrsp.cli.cards import open_virtual, pki_dir
    from pyrsp.testing.pki import TestPki
    from pyrsp.testing.smdp import TestSmdp

    eid = open_virtual(workdir / "card").eid
    smdp = TestSmdp(TestPki.load(pki_dir(workdir / "card")))
    codes = [str(smdp.add_order(profile_name=name).qr_text()) for name in _PLANS]
    out.say(f"[bold]1.[/bold] virtual eUICC {eid} and test PKI in {safe(workdir)}")
    with smdp.serve_https(host="127.0.0.1", port=0) as url:
        run = _Run(out, workdir, url.removeprefix("https://"), smdp.address)
        out.say(
            f"[bold]2.[/bold] TestSmdp {smdp.address} serving on {url} "
            "(TLS from the test PKI; the client trusts only the test CI)"
        )
        out.say(f"[bold]3.[/bold] install the first profile: {codes[0]}")
        first = run.renew(codes[0], None)
        out.say(
            f"[bold]4.[/bold] renew to the second profile: {codes[1]} "
            f"(replaces {first.new_iccid}, deleting it)"
        )
        second = run.renew(codes[1], first.new_iccid)
    profiles = run.profiles()
    out.say("[bold]5.[/bold] the profiles on the eUICC now")
    if not out.json_mode:
        from pyrsp.cli.profile import profile_table

        out.say(profile_table(profiles))
        out.say("[bold]6.[/bold] the notifications the SM-DP+ received")
        out.say(_received_table(smdp.notifications))
    return {
        "eid": eid,
        "smdp": {"address": smdp.address, "url": url},
        "first": first,
        "second": second,
        "profiles": profiles,
        "notifications_received": [_received(n) for n in smdp.notifications],
    }


@dataclass(frozen=True)
class _Run:
    """The demo's card and server, as the ``--virtual``/``--trust``/``--connect-to`` options
    of the commands would give them."""

    out: Output
    workdir: Path
    target: str  # host:port of the HTTPS server
    address: str  # the SM-DP+ address of the activation codes

    def _card(self) -> CardChoice:
        from pyrsp.cli.cards import CardChoice

        return CardChoice(virtual=self.workdir / "card")

    def _server(self) -> ServerChoice:
        from pyrsp.cli.cards import ServerChoice, pki_dir

        trust = (pki_dir(self.workdir / "card") / "ci.pem",)
        return ServerChoice(trust=trust, connect_to=(f"{self.address}={self.target}",))

    def renew(self, code: str, replace: str | None) -> RenewalResult:
        """``pyrsp renew CODE [--replace ICCID --delete-old] --yes``, and what it did."""
        from pyrsp.cli.cards import open_client
        from pyrsp.cli.interaction import download_ui
        from pyrsp.journal import FileJournal

        journal = FileJournal(self.workdir / "journal")
        with (
            download_ui(self.out, yes=True, confirmation_code=None) as ui,
            open_client(self._card(), self._server()) as client,
        ):
            result = client.renew(
                code,
                replace=replace,
                delete_old=replace is not None,
                journal=journal,
                confirm=ui.confirm,
                confirmation_code=ui.code,
                progress=ui.progress,
            )
        if not self.out.json_mode:
            from pyrsp.cli.notification import outcome_table

            what = f"profile {result.new_iccid} installed and enabled"
            if replace is not None:
                what += f"; {replace} disabled and deleted"
            self.out.say(safe(what) + "; notifications sent:", outcome_table(result.notifications))
        return result

    def profiles(self) -> list[ProfileInfo]:
        """``pyrsp profile list``."""
        from pyrsp.cli.cards import open_client

        with open_client(self._card()) as client:
            return client.profiles()


def _received(notification: ReceivedNotification) -> dict[str, Any]:
    return {
        "event": notification.event,
        "seq_number": notification.seq_number,
        "iccid": notification.iccid,
        "verified": notification.verified,
    }


def _received_table(notifications: list[ReceivedNotification]) -> Table:
    from rich.table import Table

    table = Table("seq", "event")
    iccid_column(table)
    table.add_column("signature", overflow="fold")
    for n in notifications:
        check = "[green]verified[/green]" if n.verified else f"[red]{safe(n.problem)}[/red]"
        table.add_row(str(n.seq_number), safe(n.event), safe(n.iccid), check)
    return table
