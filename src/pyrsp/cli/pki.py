"""``pyrsp pki``: make a throwaway GSMA-style test PKI (CI, EUM, eUICC, SM-DP+)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from pyrsp.cli.options import JsonOption
from pyrsp.cli.output import Output, usage

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
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a PKI already in DIR (its keys are lost).")
    ] = False,
    json: JsonOption = False,
) -> None:
    """Generate a test PKI and save it in DIR (SGP.22 section 4.5 certificate profile)."""
    from pyrsp.testing.pki import DEFAULT_EID, TestPki

    out = Output(json)
    with out.errors_reported():
        check_eid(eid or DEFAULT_EID)
        check_host(smdp_host)
        if (directory / "ci.pem").exists() and not force:
            raise usage(
                f"{directory} already holds a test PKI: pass --force to overwrite it "
                "(its private keys are lost), or choose another DIR"
            )
        try:
            pki = TestPki.generate(
                seed=seed, curve=curve, eid=eid or DEFAULT_EID, smdp_host=smdp_host
            )
        except ValueError as error:
            out.fail(usage(str(error)))
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


def check_eid(eid: str) -> None:
    """An EID is 32 digits whose last two are an ISO/IEC 7064 MOD 97-10 check (GSMA SGP.29:
    the number mod 97 is 1)."""
    if len(eid) != 32 or not eid.isascii() or not eid.isdigit():
        raise usage(f"--eid expects 32 digits, got {eid!r}")
    if int(eid) % 97 != 1:
        raise usage(
            f"--eid {eid}: its check digits {eid[-2:]} are wrong (the EID mod 97 must be 1; "
            f"with these first 30 digits they are {98 - int(eid[:30]) * 100 % 97:02d})"
        )


def check_host(host: str) -> None:
    """A host name, by the rule activation codes apply to the SM-DP+ address."""
    from pyrsp.activation_code import ActivationCode
    from pyrsp.errors import ActivationCodeError

    try:
        ActivationCode(host)
    except ActivationCodeError as error:
        raise usage(f"--smdp-host: {error}") from error
