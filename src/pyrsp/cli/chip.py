"""``pyrsp chip``: what the eUICC is (SGP.22 sections 5.7.3, 5.7.8, 5.7.20)."""

from __future__ import annotations

from typing import Any

import typer

from pyrsp.cli.options import JsonOption, ReaderOption, VirtualOption
from pyrsp.cli.output import Output, printable

app = typer.Typer(help="The eUICC itself: identity, versions, memory, trust.", no_args_is_help=True)


@app.command("info")
def info(
    reader: ReaderOption = None, virtual: VirtualOption = None, json: JsonOption = False
) -> None:
    """EID, versions, free memory, CI keys and configured SM-DP+/SM-DS addresses."""
    from pyrsp.cli.cards import CardChoice, open_client

    out = Output(json)
    with out.errors_reported(), open_client(CardChoice(reader, virtual)) as client:
        data = {
            "eid": client.eid(),
            "euicc_info2": client.euicc_info2(),
            "configured_addresses": client.configured_addresses(),
        }
    out.result(data, lambda: typer.echo(_lines(data)))


def _lines(data: dict[str, Any]) -> str:
    """Name/value lines (plain text: drawing a rich table would double the start-up cost)."""
    info2, addresses = data["euicc_info2"], data["configured_addresses"]
    resource = info2.ext_card_resource
    rows = [
        ("EID", data["eid"]),
        ("SGP.22 version", info2.svn),
        ("profile package version", info2.profile_version),
        ("firmware version", info2.firmware_version),
        ("GlobalPlatform version", info2.globalplatform_version),
        ("PP version", info2.pp_version),
        ("SAS accreditation", info2.sas_accreditation_number),
        ("eUICC category", info2.euicc_category),
        ("free non-volatile memory", _bytes(resource.free_non_volatile_memory)),
        ("free volatile memory", _bytes(resource.free_volatile_memory)),
        ("installed applications", resource.installed_applications),
        ("CI keys (verification)", ", ".join(info2.ci_pkids_for_verification)),
        ("CI keys (signing)", ", ".join(info2.ci_pkids_for_signing)),
        ("default SM-DP+", addresses.default_dp_address),
        ("root SM-DS", addresses.root_ds_address),
    ]
    return "\n".join(f"{name:25} {printable(value)}" for name, value in rows)


def _bytes(count: int | None) -> str | None:
    if count is None:
        return None
    return f"{count:,} bytes" if count < 10 * 1024 else f"{count / 1024:,.0f} KiB ({count:,} bytes)"
