"""``pyrsp pki``: make a throwaway GSMA-style test PKI (CI, EUM, eUICC, SM-DP+)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pyrsp.cli.options import JsonOption
from pyrsp.cli.output import Output

app = typer.Typer(
    help="Test PKI: generate a complete CI/EUM/eUICC/SM-DP+ chain set.", no_args_is_help=True
)


@app.command("generate")
def generate(
    directory: Annotated[
        Path, typer.Argument(metavar="DIR", help="Folder to write the PEM files into.")
    ],
    *,
    seed: Annotated[
        str, typer.Option(metavar="SEED", help="Same seed, same keys and certificates.")
    ] = "0",
    curve: Annotated[
        str, typer.Option(metavar="nist|brainpool", help="P-256 or brainpoolP256r1.")
    ] = "nist",
    eid: Annotated[
        str | None, typer.Option(metavar="EID", help="The eUICC's EID (32 digits).")
    ] = None,
    smdp_host: Annotated[
        str, typer.Option(metavar="HOST", help="Host name in the SM-DP+ TLS certificate.")
    ] = "testsmdpplus1.example.com",
    json: JsonOption = False,
) -> None:
    """Generate a test PKI and save it in DIR (SGP.22 section 4.5 certificate profile)."""
    from pyrsp.testing.pki import DEFAULT_EID, TestPki

    out = Output(json)
    with out.errors_reported():
        try:
            pki = TestPki.generate(
                seed=seed, curve=curve, eid=eid or DEFAULT_EID, smdp_host=smdp_host
            )
        except ValueError as error:
            out.fail(_usage(str(error)))
        pki.save(directory)
    data = {
        "directory": str(directory),
        "curve": pki.curve.value,
        "eid": pki.eid,
        "smdp_host": pki.smdp_host,
        "ci_key_id": pki.ci_key_id.hex().upper(),
    }
    out.result(
        data,
        lambda: typer.echo(
            f"test PKI ({pki.curve.value}, EID {pki.eid}, SM-DP+ {pki.smdp_host}) "
            f"written to {directory}"
        ),
    )


def _usage(message: str) -> Exception:
    from pyrsp.errors import UsageError

    return UsageError(message)
