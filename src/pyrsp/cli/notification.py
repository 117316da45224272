"""``pyrsp notification``: the eUICC's pending notifications (SGP.22 3.5, 5.7.9, 5.7.10)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from pyrsp.cli.options import (
    ConnectToOption,
    JsonOption,
    ReaderOption,
    TlsRoleCheckOption,
    TrustOption,
    VirtualOption,
    YesOption,
)
from pyrsp.cli.output import (
    EXIT_CARD,
    EXIT_SERVER,
    Declined,
    NotPendingError,
    Output,
    iccid_column,
    safe,
)

if TYPE_CHECKING:
    from rich.table import Table

    from pyrsp.client import RspClient
    from pyrsp.models import NotificationMetadata
    from pyrsp.protocol.notifications import NotificationOutcome

app = typer.Typer(help="Pending notifications: list, send, remove.", no_args_is_help=True)

SeqArgument = Annotated[
    list[int] | None, typer.Argument(metavar="SEQ", help="Sequence numbers (default: all).")
]


@app.command("list")
def list_(
    reader: ReaderOption = None, virtual: VirtualOption = None, json: JsonOption = False
) -> None:
    """The notifications waiting on the eUICC to be sent to their SM-DP+."""
    from pyrsp.cli.cards import CardChoice, open_client

    out = Output(json)
    with out.errors_reported(), open_client(CardChoice(reader, virtual)) as client:
        pending = client.list_notifications()

    def human() -> None:
        if pending:
            out.console.print(notification_table(pending))
        else:
            out.console.print("no pending notifications")

    out.result(pending, human)


def notification_table(items: list[NotificationMetadata]) -> Table:
    """Sequence number, event, ICCID and address of each notification."""
    from rich.table import Table

    table = Table("seq", "event")
    iccid_column(table)
    table.add_column("address", overflow="fold")
    for item in items:
        table.add_row(str(item.seq_number), str(item.event), safe(item.iccid), safe(item.address))
    return table


@app.command("process")
def process(
    seq: SeqArgument = None,
    *,
    trust: TrustOption = None,
    connect_to: ConnectToOption = None,
    tls_role_check: TlsRoleCheckOption = True,
    reader: ReaderOption = None,
    virtual: VirtualOption = None,
    json: JsonOption = False,
) -> None:
    """Send pending notifications; each leaves the eUICC once its SM-DP+ accepted it."""
    from pyrsp.cli.cards import CardChoice, ServerChoice, open_client

    out = Output(json)
    server = ServerChoice(tuple(trust or ()), tuple(connect_to or ()), tls_role_check)
    with out.errors_reported(), open_client(CardChoice(reader, virtual), server) as client:
        if seq:
            check_pending(client, seq, "nothing sent")
        outcomes = client.process_notifications(seq_numbers=seq or None)
    failed = [o for o in outcomes if not o.ok]
    data = {"outcomes": outcomes, "delivered": len(outcomes) - len(failed), "failed": len(failed)}
    out.result(data, lambda: print_outcomes(out, outcomes))
    if failed:
        card_failed = any(o.sent for o in failed)
        raise SystemExit(EXIT_CARD if card_failed else EXIT_SERVER)


def check_pending(client: RspClient, seq: list[int], nothing_done: str) -> None:
    """Raise :class:`NotPendingError` naming the numbers in ``seq`` the eUICC does not hold."""
    pending = [item.seq_number for item in client.list_notifications()]
    unknown = sorted(set(seq) - set(pending))
    if unknown:
        held = ", ".join(map(str, pending)) or "none"
        raise NotPendingError(
            f"no pending notification numbered {', '.join(map(str, unknown))} "
            f"(pending: {held}); {nothing_done}"
        )


def outcome_table(outcomes: list[NotificationOutcome] | tuple[NotificationOutcome, ...]) -> Table:
    """Each notification's fate: delivered and removed, or why not."""
    from rich.table import Table

    table = Table("seq", "event")
    iccid_column(table)
    table.add_column("address", overflow="fold")
    table.add_column("result", overflow="fold")
    for o in outcomes:
        result = "[green]delivered[/green]" if o.ok else f"[red]kept[/red]: {safe(o.error)}"
        seq = "?" if o.seq_number is None else str(o.seq_number)  # unreadable on the card
        table.add_row(seq, str(o.event), safe(o.iccid), safe(o.address), result)
    return table


def print_outcomes(
    out: Output, outcomes: list[NotificationOutcome] | tuple[NotificationOutcome, ...]
) -> None:
    """The outcome table, and what to do about failures."""
    if not outcomes:
        out.console.print("no pending notifications")
        return
    out.console.print(outcome_table(outcomes))
    if any(not o.ok for o in outcomes):
        out.note(
            "notifications not delivered stay on the eUICC: check the SM-DP+ (--trust, "
            "--connect-to) and run 'pyrsp notification process' again"
        )


@app.command("remove")
def remove(
    seq: Annotated[list[int], typer.Argument(metavar="SEQ", help="Sequence numbers.")],
    yes: YesOption = False,
    reader: ReaderOption = None,
    virtual: VirtualOption = None,
    json: JsonOption = False,
) -> None:
    """Remove notifications from the eUICC without sending them (their SM-DP+ never learns)."""
    from pyrsp.cli.cards import CardChoice, open_client

    out = Output(json)
    numbers = list(dict.fromkeys(seq))  # each once, in the order given
    listed = ", ".join(map(str, numbers))
    with out.errors_reported(), open_client(CardChoice(reader, virtual)) as client:
        from pyrsp.cli.interaction import ask

        check_pending(client, numbers, "nothing removed")
        if not yes and not ask(out, f"Remove notification(s) {listed} unsent?"):
            raise Declined("nothing removed")
        for number in numbers:
            client.remove_notification(number)
    out.result({"removed": numbers}, lambda: out.console.print(f"removed notification(s) {listed}"))
