"""Put a software card into a real PC/SC reader for a test: pyscard -> pcscd -> vpcd -> card.

Works inside ``scripts/pcsc-sandbox`` (``make test``), which runs pcscd with two vpcd readers;
elsewhere the ``pcsc_reader`` fixture skips, saying why. Use it from any test file::

    @pytest.mark.pcsc
    def test_something(pcsc_reader):
        slot = pcsc_reader(VirtualEuicc(...))          # any object with transmit() and atr()
        with PcscCardTransport(slot.reader) as card:
            ...

Each slot is locked with ``flock`` while a test uses it, so parallel test processes share the
two readers safely (a third waits).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from pyrsp.testing.vpcd import SoftCard, VpcdBridge

ATR = bytes.fromhex("3B9F96801FC78031E073FE211B63F100AD830F9000")
"""An eUICC-like ATR (T=0 and T=1, ISO 7816-3)."""

LOCK_DIR = Path("/run/pcscd")
INS_PULL = 0xEE
"""EchoCard: pull the card out of the reader while answering this APDU."""
INS_HANG = 0xDD
"""EchoCard: never answer this APDU (until ``release()``)."""


def sandbox_slots() -> dict[int, str]:
    """``{port: reader name}`` of the sandbox's vpcd readers, or skip with the reason."""
    reason = os.environ.get("PYRSP_PCSC_SANDBOX_SKIP", "")
    if os.environ.get("PYRSP_PCSC_SANDBOX") != "1":
        pytest.skip(
            reason
            or "not inside scripts/pcsc-sandbox (run `make test`, as root, with pcscd "
            "and vsmartcard-vpcd installed)"
        )
    pytest.importorskip("smartcard", reason="pyscard is not installed")
    slots = {}
    for item in os.environ.get("PYRSP_VPCD_SLOTS", "").split(","):
        port, _, name = item.partition("=")
        slots[int(port)] = name
    return slots


class EchoCard:
    """A tiny test card: answers a C-APDU with its data (or 256 bytes for Le-only) + ``9000``.

    ``INS_PULL`` pulls the card mid-APDU (through ``on_pull``); ``INS_HANG`` never answers until
    :meth:`release`. Counts resets and keeps every APDU it received.
    """

    def __init__(self, atr: bytes = ATR) -> None:
        self._atr = atr
        self.received: list[bytes] = []
        self.resets = 0
        self.on_pull: Callable[[], None] = lambda: None
        self._released = threading.Event()

    def atr(self) -> bytes:
        return self._atr

    def reset(self) -> None:
        self.resets += 1

    def release(self) -> None:
        self._released.set()

    def transmit(self, apdu: bytes) -> bytes:
        self.received.append(apdu)
        if apdu[1] == INS_PULL:
            self.on_pull()
        if apdu[1] == INS_HANG:
            self._released.wait(30)
        return command_data(apdu) + b"\x90\x00"


def command_data(apdu: bytes) -> bytes:
    """The data field of a short or extended C-APDU (ISO 7816-4 section 5.1)."""
    body = apdu[4:]
    if len(body) <= 1:
        return b""
    if body[0] != 0:
        return body[1 : 1 + body[0]]
    if len(body) == 3:
        return b""
    size = int.from_bytes(body[1:3], "big")
    return body[3 : 3 + size]


def wait_for_card(reader: str, *, present: bool, timeout: float = 5.0) -> None:
    """Wait until pcscd sees a card in (or no card in) ``reader``; pcscd polls every 0.4 s."""
    from smartcard import scard

    _, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    try:
        deadline = time.monotonic() + timeout
        known = scard.SCARD_STATE_UNAWARE
        while time.monotonic() < deadline:
            left = int((deadline - time.monotonic()) * 1000)
            hresult, states = scard.SCardGetStatusChange(context, left, [(reader, known)])
            if hresult == 0:
                known = states[0][1] & ~scard.SCARD_STATE_CHANGED
                if bool(known & scard.SCARD_STATE_PRESENT) == present:
                    return
        raise AssertionError(
            f"reader {reader!r}: card {'in' if present else 'out'} after {timeout} s"
        )
    finally:
        scard.SCardReleaseContext(context)


@dataclass
class Slot:
    """A vpcd reader with a card in it."""

    reader: str
    port: int
    bridge: VpcdBridge


@contextmanager
def _slot_lock(slots: dict[int, str]) -> Iterator[int]:
    while True:
        for port in slots:
            handle = (LOCK_DIR / f"pyrsp-vpcd-{port}.lock").open("w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield port
            finally:
                handle.close()
            return
        time.sleep(0.05)


@contextmanager
def card_in_reader(card: SoftCard, slots: dict[int, str]) -> Iterator[Slot]:
    """Insert ``card`` into a free vpcd reader; take it out (and wait until pcscd saw it go)."""
    with _slot_lock(slots) as port:
        reader = slots[port]
        bridge = VpcdBridge(card, port).start()
        try:
            wait_for_card(reader, present=True)
            yield Slot(reader, port, bridge)
        finally:
            bridge.stop()
            wait_for_card(reader, present=False)


@pytest.fixture
def pcsc_reader() -> Iterator[Callable[[SoftCard], Slot]]:
    """A function putting a card into a free sandbox reader for the test; skips outside."""
    slots = sandbox_slots()
    with ExitStack() as stack:
        yield lambda card: stack.enter_context(card_in_reader(card, slots))
