"""``pyrsp smdp``: run the test SM-DP+ (TestSmdp) over HTTPS, for virtual or test eUICCs."""

from __future__ import annotations

import re
import signal
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from pyrsp.cli.options import JsonOption
from pyrsp.cli.output import Output, safe, usage

if TYPE_CHECKING:
    from pyrsp.testing.smdp import TestSmdp

app = typer.Typer(help="The test SM-DP+: serve download orders over HTTPS.", no_args_is_help=True)

_MATCHING_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


@dataclass(frozen=True)
class ServedOrder:
    """One order the server offers: its activation code, ICCID and where the profile came from."""

    activation_code: str
    iccid: str
    source: str


def build_server(
    pki_dirs: list[Path],
    profiles: Path | None,
    *,
    count: int = 1,
    confirmation_code: str | None = None,
    seed: int | None = None,
) -> tuple[TestSmdp, list[ServedOrder]]:
    """A TestSmdp for the PKIs in ``pki_dirs`` with one order per ``*.der`` in ``profiles``
    (the matching ID is the file name when valid), or ``count`` generated profiles."""
    from pyrsp.testing.pki import TestPki
    from pyrsp.testing.smdp import TestSmdp

    if not pki_dirs:
        raise usage(
            "expected --pki DIR: make one with 'pyrsp pki generate DIR', "
            "or use DIR/pki of a --virtual DIR card"
        )
    smdp = TestSmdp([TestPki.load(path) for path in pki_dirs], rng=seed)
    files: list[Path | None] = list(sorted(profiles.glob("*.der"))) if profiles else []
    if profiles is not None and not files:
        raise usage(f"expected profile packages (*.der) in {profiles}, found none")
    orders = []
    for path in files or [None] * count:
        matching_id = path.stem if path and _MATCHING_ID.fullmatch(path.stem) else None
        ac = smdp.add_order(path, matching_id=matching_id, confirmation_code=confirmation_code)
        order = smdp.order(ac.matching_id)
        orders.append(ServedOrder(ac.qr_text(), order.iccid, str(path or "generated profile")))
    return smdp, orders


@app.command("serve")
def serve(
    *,
    pki: Annotated[
        list[Path] | None,
        typer.Option(metavar="DIR", help="Test PKI directory (pyrsp pki generate); repeatable."),
    ] = None,
    profiles: Annotated[
        Path | None,
        typer.Option(metavar="DIR", help="Profile packages (*.der), one order each."),
    ] = None,
    count: Annotated[
        int, typer.Option(min=1, metavar="N", help="Orders with generated profiles.")
    ] = 1,
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[
        int, typer.Option(min=0, max=65535, metavar="PORT", help="Port; 0: any free one.")
    ] = 8443,
    confirmation_code: Annotated[
        str | None,
        typer.Option(metavar="CODE", help="Require this confirmation code for every order."),
    ] = None,
    seed: Annotated[
        int | None, typer.Option(metavar="N", help="Seed for replayable sessions.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Serve download orders over HTTPS until Ctrl-C; prints their activation codes."""
    out = Output(json)
    with out.errors_reported():
        smdp, orders = build_server(
            pki or [], profiles, count=count, confirmation_code=confirmation_code, seed=seed
        )
        with smdp.serve_https(host=host, port=port) as url:
            info = _serving(smdp, url, orders, pki or [])
            out.result(info, lambda: _print_serving(out, info))
            _wait_for_stop(out)
    for order in smdp.orders:
        out.note(f"order {order.iccid}: {order.state.value}")


def _wait_for_stop(out: Output) -> None:
    """Block until Ctrl-C (SIGINT) or SIGTERM."""
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda _signum, _frame: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    out.note("stopping")


def _serving(
    smdp: TestSmdp, url: str, orders: list[ServedOrder], pki: list[Path]
) -> dict[str, Any]:
    target = url.removeprefix("https://")
    return {
        "url": url,
        "address": smdp.address,
        "oid": smdp.oid,
        "connect_to": f"{smdp.address}={target}",
        "trust": [str(path / "ci.pem") for path in pki],
        "orders": orders,
    }


def _print_serving(out: Output, info: dict[str, Any]) -> None:
    out.console.print(
        safe(f"TestSmdp {info['address']} (OID {info['oid']}) listening on {info['url']}")
    )
    trust = " ".join(f"--trust {path}" for path in info["trust"])
    out.console.print(safe(f"clients: --connect-to {info['connect_to']} {trust}"))
    for order in info["orders"]:
        out.console.print(safe(f"{order.activation_code}  ICCID {order.iccid}  {order.source}"))
    out.console.print("Ctrl-C stops the server")
    out.console.file.flush()
