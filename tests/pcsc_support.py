"""Put a software card into a real PC/SC reader for a test: pyscard -> pcscd -> vpcd -> card.

Works inside ``scripts/pcsc-sandbox`` (``make test``), which runs pcscd with two vpcd readers;
elsewhere the ``pcsc_reader`` fixture skips, saying why. Use it from any test file::

    @pytest.mark.pcsc
    def test_something(pcsc_reader):
        slot = pcsc_reader(VirtualEuicc(...))          # any object with transmit() and atr()
        with PcscCardTransport(slot.reader) as card:   # slot.bridge.disconnect() pulls it
            ...

``pcsc_reader.empty()`` gives a reader with no card (and its free vpcd port). Between tests
the card stays in the reader and only the card object is swapped (pcscd needs two 0.4 s polls
to see a card go out and in); a test that pulls the card, or a card with another ATR, gets a
real re-insertion.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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


class _Holder:
    """A card slot this process has locked, with a bridge kept in it between tests (swapping
    the card object is instant; taking a card out and in costs two pcscd polls, 0.8 s)."""

    def __init__(self, port: int, reader: str, lock: IO[str]) -> None:
        self.slot = Slot(reader, port, VpcdBridge(_Swap(), port))
        self.lock = lock
        self.atr = b""
        self.links = -1

    @property
    def swap(self) -> _Swap:
        card = self.slot.bridge.card
        assert isinstance(card, _Swap)
        return card

    def put(self, card: SoftCard) -> Slot:
        """Make ``card`` the card in this reader, re-inserting only when pcscd must notice."""
        bridge = self.slot.bridge
        unchanged = bridge.connected and bridge.links == self.links and self.atr == card.atr()
        self.swap.current = card
        if not unchanged:
            self.empty()
            bridge.insert()
            bridge.start()
            wait_for_card(self.slot.reader, present=True)
            self.atr, self.links = card.atr(), bridge.links
        return self.slot

    def empty(self) -> None:
        """Take the card out and wait until pcscd saw it go."""
        self.slot.bridge.stop()
        wait_for_card(self.slot.reader, present=False)


class _Swap:
    """The card the bridge serves: whichever test card is current."""

    current: SoftCard | None = None

    def atr(self) -> bytes:
        return self.current.atr() if self.current else ATR

    def transmit(self, apdu: bytes) -> bytes:
        return self.current.transmit(apdu) if self.current else b"\x6f\x00"

    def reset(self) -> None:
        reset = getattr(self.current, "reset", None)
        if callable(reset):
            reset()


class _Pool:
    """This process's locked slots. Slots are locked with ``flock`` for the whole session, so
    test processes never share one (vpcd serves one card per slot)."""

    def __init__(self, slots: dict[int, str]) -> None:
        self.slots = slots
        self.holders: dict[int, _Holder] = {}

    def take(self, busy: set[int]) -> _Holder:
        """A slot not in ``busy`` (the ones the current test uses), ours or newly locked."""
        for port, holder in self.holders.items():
            if port not in busy:
                return holder
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for port, reader in self.slots.items():
                if port in self.holders:
                    continue
                handle = (LOCK_DIR / f"pyrsp-vpcd-{port}.lock").open("w")
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.close()
                    continue
                self.holders[port] = _Holder(port, reader, handle)
                return self.holders[port]
            time.sleep(0.1)
        raise AssertionError(f"every vpcd reader is held by another test process: {self.slots}")

    def close(self) -> None:
        for holder in self.holders.values():
            holder.slot.bridge.stop()
            holder.lock.close()
        self.holders.clear()


class PcscReaders:
    """What the ``pcsc_reader`` fixture gives a test: put cards into readers, or get an empty
    reader. Readers stay this test's until it ends."""

    def __init__(self, pool: _Pool) -> None:
        self._pool = pool
        self._used: set[int] = set()

    def __call__(self, card: SoftCard) -> Slot:
        """Put ``card`` into a free reader; return the reader's name, port and bridge."""
        holder = self._pool.take(self._used)
        self._used.add(holder.slot.port)
        return holder.put(card)

    def empty(self) -> Slot:
        """A reader with no card in it (its port is free for a card of the test's own)."""
        holder = self._pool.take(self._used)
        self._used.add(holder.slot.port)
        holder.empty()
        return holder.slot

    def finish(self) -> None:
        for port in self._used:
            self._pool.holders[port].swap.current = None


@pytest.fixture(scope="session")
def vpcd_pool() -> Iterator[_Pool]:
    """This test process's vpcd readers (see ``pcsc_reader``)."""
    pool = _Pool(sandbox_slots())
    yield pool
    pool.close()


@pytest.fixture
def pcsc_reader(vpcd_pool: _Pool) -> Iterator[PcscReaders]:
    """Put cards into the sandbox's vpcd readers for one test; skips outside the sandbox."""
    readers = PcscReaders(vpcd_pool)
    yield readers
    readers.finish()
