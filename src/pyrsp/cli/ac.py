"""``pyrsp ac``: read activation codes and draw them as QR codes (SGP.22 section 4.1)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pyrsp.cli.options import JsonOption
from pyrsp.cli.output import Output, printable, usage

app = typer.Typer(help="Activation codes: parse them, draw them as QR codes.", no_args_is_help=True)


@app.command("parse")
def parse(
    code: Annotated[
        str, typer.Argument(metavar="ACTIVATION_CODE", help="LPA:1$address$matchingId...")
    ],
    json: JsonOption = False,
) -> None:
    """Show the fields of an activation code."""
    from pyrsp.activation_code import ActivationCode

    out = Output(json)
    with out.errors_reported():
        ac = ActivationCode.parse(code)
    data = {
        "smdp_address": ac.smdp_address,
        "matching_id": ac.matching_id,
        "smdp_oid": ac.smdp_oid,
        "confirmation_code_required": ac.confirmation_code_required,
        "activation_code": str(ac),
    }

    def human() -> None:
        for key, value in data.items():
            typer.echo(f"{key.replace('_', ' '):28} {printable(value)}")

    out.result(data, human)


@app.command("qr")
def qr(
    code: Annotated[
        str, typer.Argument(metavar="ACTIVATION_CODE", help="LPA:1$address$matchingId...")
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write a .png or .svg file instead."),
    ] = None,
    scale: Annotated[
        int, typer.Option(min=1, metavar="N", help="Pixels per module in a PNG/SVG.")
    ] = 8,
    json: JsonOption = False,
) -> None:
    """Draw the activation code as a QR code (with the LPA: prefix phones expect)."""
    import segno

    from pyrsp.activation_code import ActivationCode

    out = Output(json)
    with out.errors_reported():
        ac = ActivationCode.parse(code)
    symbol = segno.make(ac.qr_text(), error="m")
    if output is not None:
        if output.suffix.lower() not in (".png", ".svg"):
            out.fail(usage(f"--output must end in .png or .svg, not {output.suffix or 'nothing'}"))
        with out.errors_reported():  # a missing folder or no permission: exit 1 with a hint
            symbol.save(str(output), scale=scale)
    data = {"text": ac.qr_text(), "file": str(output) if output else None}

    def human() -> None:
        if output is None:
            symbol.terminal(compact=True)
        else:
            typer.echo(f"QR code for {ac.qr_text()} written to {output}")

    out.result(data, human)
