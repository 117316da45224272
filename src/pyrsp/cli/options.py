"""The options several ``pyrsp`` commands share (only typer here: cheap to import)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print exactly one JSON document on standard output.")
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Ask nothing: accept every prompt.")]
ReaderOption = Annotated[
    str | None,
    typer.Option(
        "--reader",
        "-r",
        metavar="NAME|INDEX",
        envvar="PYRSP_READER",
        help="PC/SC reader: a name, part of one, or its index (default: the first reader).",
    ),
]
VirtualOption = Annotated[
    Path | None,
    typer.Option(
        "--virtual",
        metavar="DIR",
        envvar="PYRSP_VIRTUAL",
        file_okay=False,
        help="Use the virtual eUICC saved in DIR (made on first use, with the test PKI in "
        "DIR/pki, generated if absent).",
    ),
]
TrustOption = Annotated[
    list[Path] | None,
    typer.Option(
        "--trust",
        metavar="PATH",
        envvar="PYRSP_TRUST",
        help="CI certificate(s) the SM-DP+ TLS certificate must chain to: a PEM/DER file or "
        "a directory; repeatable (default with --virtual: the card's test CI).",
    ),
]
ConnectToOption = Annotated[
    list[str] | None,
    typer.Option(
        "--connect-to",
        metavar="ADDRESS=HOST:PORT|URL",
        help="Connect to HOST:PORT (TLS still checked against ADDRESS) or a base URL when "
        "talking to the SM-DP+ ADDRESS; repeatable.",
    ),
]
ConfirmationCodeOption = Annotated[
    str | None,
    typer.Option(
        "--confirmation-code",
        "-c",
        metavar="CODE",
        envvar="PYRSP_CONFIRMATION_CODE",
        help="The confirmation code, when the operator gave one (asked for when needed).",
    ),
]
TlsRoleCheckOption = Annotated[
    bool,
    typer.Option(
        "--tls-role-check/--no-tls-role-check",
        help="Require the SM-DP+ TLS certificate to carry the SGP.22 TLS role (turn off only "
        "for a lab server whose certificate lacks it).",
    ),
]
