"""Opening a client for a ``pyrsp`` command: the card (PC/SC or virtual) and the SM-DP+ link.

``--reader NAME|INDEX`` opens :class:`~pyrsp.transports.pcsc.PcscCardTransport`; ``--virtual
DIR`` opens the :class:`~pyrsp.testing.euicc.VirtualEuicc` saved in DIR, making it on first use
with the test PKI in ``DIR/pki`` (generated when absent), so ``pyrsp smdp serve --pki DIR/pki``
serves profiles that card accepts. Heavy modules load here, inside the functions.
"""

from __future__ import annotations

import importlib.util
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pyrsp.cli.output import DamagedVirtualCardError, usage
from pyrsp.errors import NoReaderError, PyrspError, UsageError

if TYPE_CHECKING:
    from pyrsp.client import RspClient
    from pyrsp.testing.euicc import VirtualEuicc
    from pyrsp.transports.base import CardTransport
    from pyrsp.transports.http import ConnectTarget, HttpsTransport

__all__ = ["CardChoice", "ServerChoice", "open_client", "open_virtual", "pki_dir"]

PKI_SUBDIR = "pki"


@dataclass(frozen=True)
class CardChoice:
    """Which card: a PC/SC reader (``reader``; ``None`` and no ``virtual``: the first one)
    or a virtual eUICC directory."""

    reader: str | None = None
    virtual: Path | None = None

    def __post_init__(self) -> None:
        if self.reader is not None and self.virtual is not None:
            raise usage("choose one card: --reader NAME|INDEX or --virtual DIR, not both")


@dataclass(frozen=True)
class ServerChoice:
    """How to reach SM-DP+ servers: trusted CI certificates, connect-to overrides, and whether
    the TLS certificate's SGP.22 role is checked."""

    trust: tuple[Path, ...] = ()
    connect_to: tuple[str, ...] = ()
    check_tls_role: bool = True


def pki_dir(virtual: Path) -> Path:
    """Where the test PKI of the virtual eUICC in ``virtual`` lives."""
    return virtual / PKI_SUBDIR


def open_virtual(directory: Path) -> VirtualEuicc:
    """The virtual eUICC in ``directory``; made (with a test PKI in ``DIR/pki``) if absent."""
    from pyrsp.testing.euicc import VirtualEuicc
    from pyrsp.testing.euicc.state import LOCK_FILE

    if (directory / "card.json").exists():
        try:
            return VirtualEuicc.open(directory)
        except UsageError as error:
            raise DamagedVirtualCardError(
                f"the virtual eUICC in {directory} is damaged: {error}"
            ) from error
    if directory.exists() and not directory.is_dir():
        raise usage(f"--virtual expects a directory, {directory} is a file")
    if directory.is_dir() and {p.name for p in directory.iterdir()} - {PKI_SUBDIR, LOCK_FILE}:
        raise usage(
            f"expected a virtual eUICC or an empty directory at {directory}, found other files: "
            "pass a new directory to make a card there"
        )
    from pyrsp.testing.pki import TestPki

    pki_path = pki_dir(directory)
    if (pki_path / "pki.json").exists():
        pki = TestPki.load(pki_path)
    else:
        pki = TestPki.generate(seed=secrets.token_hex(16))
        pki.save(pki_path)
    return VirtualEuicc.open(directory, create=pki)


def _card(choice: CardChoice) -> CardTransport | VirtualEuicc:
    if choice.virtual is not None:
        return open_virtual(choice.virtual)
    if importlib.util.find_spec("smartcard") is None:
        raise NoReaderError(
            "PC/SC readers need pyscard, which is not installed: pip install 'pyrsp[pcsc]'"
        )
    from pyrsp.transports.pcsc import PcscCardTransport

    reader: str | int | None = choice.reader
    if choice.reader is not None and choice.reader.isdigit():
        reader = int(choice.reader)
    return PcscCardTransport(reader)


def parse_connect_to(items: Sequence[str]) -> dict[str, ConnectTarget]:
    """``ADDRESS=HOST:PORT`` (TLS checked against ADDRESS) or ``ADDRESS=https://...``."""
    mapping: dict[str, ConnectTarget] = {}
    for item in items:
        address, sep, target = item.partition("=")
        if not sep or not address or not target:
            raise usage(f"--connect-to expects ADDRESS=HOST:PORT or ADDRESS=URL, got {item!r}")
        if "://" in target:
            if not target.startswith("https://"):
                raise usage(
                    f"--connect-to takes an https:// URL (ES9+ runs over TLS), got {target!r}"
                )
            mapping[address] = target
            continue
        host, colon, port = target.rpartition(":")
        if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise usage(f"--connect-to expects HOST:PORT with a port 1-65535, got {target!r}")
        mapping[address] = (host.strip("[]"), int(port))
    return mapping


def http_transport(server: ServerChoice, card: CardChoice) -> HttpsTransport:
    """The HTTPS transport: trust ``--trust``, or a virtual card's own test CI."""
    from pyrsp.transports.http import HttpsTransport

    trust = list(server.trust)
    if not trust and card.virtual is not None:
        trust = [pki_dir(card.virtual) / "ci.pem"]
    if not trust:
        raise usage(
            "talking to an SM-DP+ needs its CI certificate: pass --trust FILE|DIR "
            "(GSMA CI certificates are not in the system store)"
        )
    return HttpsTransport(
        trust=trust,
        connect_to=parse_connect_to(server.connect_to),
        check_tls_role=server.check_tls_role,
    )


@contextmanager
def open_client(card: CardChoice, server: ServerChoice | None = None) -> Iterator[RspClient]:
    """An :class:`~pyrsp.client.RspClient` with the ISD-R session open, closed on exit."""
    from pyrsp.client import RspClient

    http = http_transport(server, card) if server is not None else None
    try:
        transport = _card(card)
    except BaseException:
        if http is not None:
            http.close()
        raise
    client = RspClient(transport, http)
    try:
        client.open()
        yield client
    except BaseException:
        with suppress(PyrspError):
            client.close()
        raise
    client.close()
