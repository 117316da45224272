"""``python -m pyrsp.testing.smdp``: serve a TestSmdp over HTTPS and print its activation codes.

::

    python -m pyrsp.testing.pki /tmp/pki                     # once: a test PKI
    python -m pyrsp.testing.smdp --pki /tmp/pki --profiles ../shared/vectors/upp \\
        --host 127.0.0.1 --port 8443

Each ``*.der`` in ``--profiles`` becomes one order (its matching ID is the file name when that
is a valid one); without ``--profiles`` one order with a generated profile is served. Clients
connect to ``host:port`` and check the TLS certificate against the SM-DP+ address printed.
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from pyrsp.errors import PyrspError, UsageError
from pyrsp.testing.smdp.smdp import TestSmdp

__all__ = ["build", "main", "serve"]

_MATCHING_ID = re.compile(r"[A-Za-z0-9-]{1,64}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pyrsp.testing.smdp", description="Serve a test SM-DP+ over HTTPS."
    )
    parser.add_argument(
        "--pki",
        type=Path,
        action="append",
        required=True,
        help="a test PKI directory (python -m pyrsp.testing.pki DIR); repeatable",
    )
    parser.add_argument("--profiles", type=Path, help="a directory of profile packages (*.der)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8443, help="port (0: any free port)")
    parser.add_argument("--confirmation-code", help="require this confirmation code")
    parser.add_argument("--seed", type=int, help="seed for replayable sessions")
    return parser


def build(
    pki_dirs: Sequence[Path],
    profiles: Path | None = None,
    *,
    confirmation_code: str | None = None,
    seed: int | None = None,
) -> tuple[TestSmdp, list[str]]:
    """The server and one line per order it serves (activation code, ICCID, source).

    Each ``*.der`` in ``profiles`` becomes an order; without ``profiles``, one generated order.
    """
    from pyrsp.testing.pki import TestPki

    smdp = TestSmdp([TestPki.load(path) for path in pki_dirs], rng=seed)
    files = sorted(profiles.glob("*.der")) if profiles else []
    if profiles and not files:
        raise UsageError(f"expected profile packages (*.der) in {profiles}, found none")
    sources: list[Path | None] = [*files] if files else [None]
    lines = []
    for path in sources:
        matching_id = path.stem if path and _MATCHING_ID.fullmatch(path.stem) else None
        ac = smdp.add_order(path, matching_id=matching_id, confirmation_code=confirmation_code)
        order = smdp.order(ac.matching_id)
        lines.append(f"{ac.qr_text()}  ICCID {order.iccid}  {path or 'generated profile'}")
    return smdp, lines


def serve(
    smdp: TestSmdp,
    lines: Sequence[str],
    *,
    host: str,
    port: int,
    stop: threading.Event,
    out: TextIO,
) -> None:
    """Serve until ``stop`` is set, printing the URL and the activation codes first."""
    with smdp.serve_https(host=host, port=port) as url:
        print(f"TestSmdp {smdp.address} (OID {smdp.oid}) listening on {url}", file=out)
        print(f"clients: connect to {url}, check TLS against {smdp.address}", file=out)
        for line in lines:
            print(line, file=out)
        out.flush()
        try:
            stop.wait()
        except KeyboardInterrupt:
            print("stopping", file=out)
    for order in smdp.orders:
        print(f"order {order.iccid}: {order.state.value}", file=out)


def main(argv: Sequence[str] | None = None) -> int:
    """The command line entry point; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        smdp, lines = build(
            args.pki, args.profiles, confirmation_code=args.confirmation_code, seed=args.seed
        )
    except PyrspError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    serve(smdp, lines, host=args.host, port=args.port, stop=threading.Event(), out=sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
