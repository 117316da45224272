"""Talking to the person during a download: consent, confirmation code, progress (SGP.22 3.1.3).

Everything here writes to standard error, so standard output keeps only the result (and with
``--json`` only the JSON document). ``--yes`` consents without asking; a confirmation code the
SM-DP+ requires comes from ``--confirmation-code`` or a hidden prompt.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pyrsp.cli.output import Output, safe

if TYPE_CHECKING:
    from rich.progress import Progress as Bar
    from rich.table import Table

    from pyrsp.models import ProfileMetadata
    from pyrsp.protocol.effects import Progress

__all__ = ["DownloadUi", "ask", "download_ui", "metadata_table"]

_STAGES = {
    "initiate_authentication": "contacting the SM-DP+",
    "authenticate_server": "the eUICC checks the SM-DP+",
    "authenticate_client": "the SM-DP+ checks the eUICC",
    "prepare_download": "preparing the download",
    "get_bound_profile_package": "fetching the profile package",
    "load_bpp": "loading the profile into the eUICC",
    "install": "installing",
    "enable": "enabling the new profile",
    "retire": "retiring the old profile",
    "notifications": "delivering notifications",
}

#: What each profile policy rule does (SGP.22 section 2.9.1).
_PPR_MEANING = {
    "ppr1": "the profile cannot be disabled",
    "ppr2": "the profile cannot be deleted",
}


def metadata_table(metadata: ProfileMetadata) -> Table:
    """The profile metadata a person consents to, as a two-column table."""
    from rich.table import Table

    owner = metadata.profile_owner
    rows = [
        ("name", metadata.profile_name),
        ("service provider", metadata.service_provider_name),
        ("ICCID", metadata.iccid),
        ("class", metadata.profile_class),
        ("operator (MCC/MNC)", owner.mcc_mnc if owner else None),
        ("policy rules", ", ".join(metadata.policy_rules)),
        (
            "notifications to",
            ", ".join(sorted({c.address for c in metadata.notification_configuration})),
        ),
    ]
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column()
    for name, value in rows:
        table.add_row(name, safe(value))
    return table


def ask(out: Output, question: str) -> bool | None:
    """Ask a yes/no question on standard error: ``True`` for yes, ``False`` for no, ``None``
    for no answer (end of input; an empty line piped in). At a terminal, Enter means no."""
    if sys.stdin.isatty():
        from rich.prompt import Confirm

        try:
            return Confirm.ask(question, console=out.err, default=False)
        except EOFError:  # Ctrl-D
            out.err.print()
            return None
    while True:  # piped: read the answer ourselves, as rich would ask forever
        out.err.print(f"{question} \\[y/n]: ", end="")
        line = sys.stdin.readline()
        out.err.print()  # the piped answer is not echoed: end the prompt's line
        answer = line.strip().lower()
        if not answer:
            return None
        if answer in ("y", "yes", "n", "no"):
            return answer.startswith("y")
        out.err.print("[prompt.invalid]Please enter y or n")


@dataclass
class DownloadUi:
    """The callbacks a download or renewal needs, drawn for a person or kept quiet."""

    out: Output
    yes: bool = False
    confirmation_code: str | None = None
    #: What a yes also does and cannot be undone (``renew --delete-old``), named in the question.
    then_irreversibly: str = ""
    bar: Bar | None = field(default=None, repr=False)
    _task: Any = field(default=None, repr=False)
    _stage: str = field(default="", repr=False)

    def confirm(
        self, metadata: ProfileMetadata, ppr_consent: tuple[str, ...] = ()
    ) -> bool | Literal["postponed"]:
        """Show the profile and ask before installing it (``--yes`` answers yes); the policy
        rules in ``ppr_consent`` need consent of their own (SGP.22 2.9.2) and are named.
        No answer postpones the download (the SM-DP+ keeps the order); "n" declines it."""
        self.stop()
        self.out.note("[bold]The SM-DP+ offers this profile:[/bold]")
        if not self.out.json_mode:
            self.out.err.print(metadata_table(metadata))
        question = "Install it"
        if ppr_consent:  # named even with --yes: the consent given is to these rules too
            self.out.note("[bold]Installing it means consenting to its policy rules:[/bold]")
            for ppr in ppr_consent:
                self.out.note(f"  {safe(ppr)}: {_PPR_MEANING.get(ppr, 'a profile policy rule')}")
            question += f", consenting to {', '.join(ppr_consent)}"
        if self.yes:
            return True
        if self.then_irreversibly:
            question += f", then {self.then_irreversibly}? This cannot be undone."
        answer = ask(self.out, question if self.then_irreversibly else question + "?")
        if answer is None:
            self.out.err.print("no answer: the download is postponed, the order is kept")
            return "postponed"
        return answer

    def code(self) -> str | None:
        """The confirmation code: ``--confirmation-code``, a hidden prompt, or none (postpones)."""
        if self.confirmation_code is not None:
            return self.confirmation_code
        if self.yes:
            self.out.note("the SM-DP+ asks for a confirmation code: pass --confirmation-code")
            return None
        self.stop()
        try:
            if sys.stdin.isatty():
                from rich.prompt import Prompt

                answer = Prompt.ask("Confirmation code", console=self.out.err, password=True)
            else:  # piped: nothing to hide from a screen, and getpass would warn
                self.out.err.print("Confirmation code: ", end="")
                answer = sys.stdin.readline()
                self.out.err.print()  # not echoed: end the prompt's line
        except EOFError:
            return None
        return answer.strip() or None

    def progress(self, event: Progress) -> None:
        """Draw each stage as a line, and the profile package load as a progress bar."""
        if self.out.json_mode:
            return
        if event.stage == "load_bpp" and event.total and self.bar is not None:
            if self._task is None:
                self.bar.start()
                self._task = self.bar.add_task("loading the profile", total=event.total)
            self.bar.update(self._task, completed=event.done, total=event.total)
            if event.done >= event.total:
                self.stop()
        elif event.stage != self._stage:
            self._stage = event.stage
            label = _STAGES.get(event.stage)
            if label is not None:
                self.out.err.print(f"[dim]... {label}[/dim]")

    def stop(self) -> None:
        """Stop drawing the progress bar (before a prompt, and at the end)."""
        if self.bar is not None and self._task is not None:
            self.bar.stop()
            self._task = None


@contextmanager
def download_ui(
    out: Output, *, yes: bool, confirmation_code: str | None, then_irreversibly: str = ""
) -> Iterator[DownloadUi]:
    """A :class:`DownloadUi` whose progress bar is stopped on exit."""
    ui = DownloadUi(
        out, yes=yes, confirmation_code=confirmation_code, then_irreversibly=then_irreversibly
    )
    if not out.json_mode:
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
        from rich.progress import Progress as Bar

        ui.bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=out.err,
            transient=False,
        )
    try:
        yield ui
    finally:
        ui.stop()
