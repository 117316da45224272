"""``pyrsp profile``: list, switch, delete, name, download profiles (SGP.22 5.7.15-21, 3.1.3)."""

from __future__ import annotations

from collections.abc import Callable
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
from pyrsp.cli.output import Declined, Output, iccid_column, safe

if TYPE_CHECKING:
    from rich.table import Table

    from pyrsp.client import RspClient
    from pyrsp.models import ProfileInfo
    from pyrsp.protocol.download import DownloadResult

app = typer.Typer(
    help="Profiles: list, enable, disable, delete, nickname, download.", no_args_is_help=True
)

ProfileArgument = Annotated[
    str, typer.Argument(metavar="ICCID|AID", help="The profile's ICCID or ISD-P AID (hex).")
]


@app.command("list")
def list_(
    reader: ReaderOption = None, virtual: VirtualOption = None, json: JsonOption = False
) -> None:
    """The profiles installed on the eUICC."""
    from pyrsp.cli.cards import CardChoice, open_client

    out = Output(json)
    with out.errors_reported(), open_client(CardChoice(reader, virtual)) as client:
        profiles = client.profiles()
    out.result(profiles, lambda: _print_profiles(out, profiles))


def _print_profiles(out: Output, profiles: list[ProfileInfo]) -> None:
    if not profiles:
        out.console.print("no profiles on this eUICC")
        return
    out.console.print(profile_table(profiles))


def profile_table(profiles: list[ProfileInfo]) -> Table:
    """ICCID, state, name, provider, nickname and class of each profile."""
    from rich.table import Table

    table = Table()
    iccid_column(table)
    for name in ("state", "name", "provider", "nickname", "class"):
        table.add_column(name, no_wrap=name in ("state", "class"), overflow="fold")
    for p in profiles:
        state = str(p.state or "-")
        table.add_row(
            safe(p.iccid),
            f"[green]{state}[/green]" if state == "enabled" else safe(state),
            safe(p.profile_name),
            safe(p.service_provider_name),
            safe(p.nickname),
            safe(p.profile_class),
        )
    return table


def _change(
    what: str,
    *,
    profile: str,
    reader: str | None,
    virtual: Path | None,
    json: bool,
    action: Callable[[RspClient], None],
) -> None:
    """Run ``action(client)`` and report how many notifications wait to be sent."""
    from pyrsp.cli.cards import CardChoice, open_client

    out = Output(json)
    with out.errors_reported(), open_client(CardChoice(reader, virtual)) as client:
        action(client)
        pending = len(client.list_notifications())
    data = {"profile": profile, "action": what, "pending_notifications": pending}

    def human() -> None:
        out.console.print(f"profile {safe(profile)} {what}")
        if pending:
            out.note(
                f"{pending} notification(s) pending: send them with 'pyrsp notification process'"
            )

    out.result(data, human)


@app.command("enable")
def enable(
    profile: ProfileArgument,
    refresh: Annotated[bool, typer.Option(help="Ask the eUICC to REFRESH the device.")] = False,
    reader: ReaderOption = None,
    virtual: VirtualOption = None,
    json: JsonOption = False,
) -> None:
    """Enable a profile (the enabled one, if any, is disabled)."""
    _change(
        "enabled",
        profile=profile,
        reader=reader,
        virtual=virtual,
        json=json,
        action=lambda c: c.enable(profile, refresh=refresh),
    )


@app.command("disable")
def disable(
    profile: ProfileArgument,
    refresh: Annotated[bool, typer.Option(help="Ask the eUICC to REFRESH the device.")] = False,
    reader: ReaderOption = None,
    virtual: VirtualOption = None,
    json: JsonOption = False,
) -> None:
    """Disable the enabled profile."""
    _change(
        "disabled",
        profile=profile,
        reader=reader,
        virtual=virtual,
        json=json,
        action=lambda c: c.disable(profile, refresh=refresh),
    )


@app.command("delete")
def delete(
    profile: ProfileArgument,
    yes: YesOption = False,
    reader: ReaderOption = None,
    virtual: VirtualOption = None,
    json: JsonOption = False,
) -> None:
    """Delete a disabled profile. It cannot be downloaded again with the same code."""

    def action(client: RspClient) -> None:
        from pyrsp.cli.interaction import ask

        question = f"Delete profile {safe(profile)}? This cannot be undone"
        if not yes and not ask(Output(json), question):
            raise Declined(f"not deleted: {profile} is still on the eUICC")
        client.delete(profile)

    _change("deleted", profile=profile, reader=reader, virtual=virtual, json=json, action=action)


@app.command("nickname")
def nickname(
    iccid: Annotated[str, typer.Argument(metavar="ICCID", help="The profile's ICCID.")],
    name: Annotated[
        str, typer.Argument(metavar="NAME", help="The new nickname; '' removes it.")
    ] = "",
    reader: ReaderOption = None,
    virtual: VirtualOption = None,
    json: JsonOption = False,
) -> None:
    """Set or remove a profile's nickname."""
    from pyrsp.cli.cards import CardChoice, open_client

    out = Output(json)
    with out.errors_reported(), open_client(CardChoice(reader, virtual)) as client:
        client.set_nickname(iccid, name)
    data = {"iccid": iccid, "nickname": name or None}
    out.result(
        data,
        lambda: out.console.print(
            f"profile {safe(iccid)} nickname {'set to ' + safe(repr(name)) if name else 'removed'}"
        ),
    )


@app.command("download")
def download(
    activation_code: Annotated[
        str, typer.Argument(metavar="ACTIVATION_CODE", help="LPA:1$address$matchingId...")
    ],
    *,
    confirmation_code: ConfirmationCodeOption = None,
    yes: YesOption = False,
    trust: TrustOption = None,
    connect_to: ConnectToOption = None,
    tls_role_check: TlsRoleCheckOption = True,
    reader: ReaderOption = None,
    virtual: VirtualOption = None,
    json: JsonOption = False,
) -> None:
    """Download and install a profile; shows it and asks before installing."""
    from pyrsp.cli.cards import CardChoice, ServerChoice, open_client
    from pyrsp.cli.interaction import download_ui

    out = Output(json)
    server = ServerChoice(tuple(trust or ()), tuple(connect_to or ()), tls_role_check)
    with (
        out.errors_reported(),
        download_ui(out, yes=yes, confirmation_code=confirmation_code) as ui,
        open_client(CardChoice(reader, virtual), server) as client,
    ):
        result = client.download(
            activation_code, confirm=ui.confirm, confirmation_code=ui.code, progress=ui.progress
        )
    out.result(result, lambda: _print_download(out, result))


def _print_download(out: Output, result: DownloadResult) -> None:
    out.console.print(
        f"installed profile {safe(result.iccid)} ({safe(result.profile_name)}, "
        f"{safe(result.service_provider_name)}), disabled"
    )
    sent = result.notification
    if sent is not None and not sent.ok:
        out.note(
            f"the install notification was not delivered ({safe(sent.error)}); it stays on the "
            "eUICC: "
            "retry with 'pyrsp notification process'"
        )
    out.note(f"enable it with: pyrsp profile enable {safe(result.iccid)}")
