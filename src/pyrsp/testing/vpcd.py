"""Put a software card into a PC/SC reader: a bridge to the vsmartcard ``vpcd`` driver.

vpcd is a pcsc-lite reader driver that listens on TCP (35963 for ``Virtual PCD 00 00``, 35964
for ``... 00 01``) for a software card. :class:`VpcdBridge` connects any object with
``transmit(apdu) -> bytes`` and ``atr() -> bytes`` (a :class:`~pyrsp.testing.euicc.VirtualEuicc`,
or a small test card) to it, so pyscard and pcscd see the card in the reader.

Framing, both ways: 2-byte big-endian length, then the payload. From vpcd a 1-byte payload is a
control (``00`` power off, ``01`` power on, ``02`` reset, ``04`` get ATR; only get-ATR is
answered); anything longer is a C-APDU, answered with the R-APDU. The card side sets
``TCP_QUICKACK`` before every ``recv`` and sends each answer in one ``sendall``: vpcd writes the
length and the APDU in two sends, and without the quick ACK each APDU stalls about 40 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import socket
import threading
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

from pyrsp.errors import CardRemovedError, PyrspError

__all__ = ["VPCD_PORT", "SoftCard", "VpcdBridge", "main"]

log = logging.getLogger(__name__)

VPCD_PORT = 35963
"""The TCP port of vpcd's first slot (``Virtual PCD 00 00``); the second slot is the next."""

POWER_OFF, POWER_ON, RESET, GET_ATR = 0x00, 0x01, 0x02, 0x04
_SW_NO_DIAGNOSIS = b"\x6f\x00"


class SoftCard(Protocol):
    """What the bridge needs from a card. A card may also have ``reset()``, called on power-on
    and reset (a real card forgets its channels and selections then). A card whose
    ``transmit`` raises :class:`~pyrsp.errors.CardRemovedError` is pulled out of the reader
    (until :meth:`VpcdBridge.insert`); any other exception is answered ``6F00``."""

    def transmit(self, apdu: bytes) -> bytes:
        """Answer a C-APDU with the whole R-APDU (data + SW1 SW2)."""
        ...

    def atr(self) -> bytes:
        """The answer to reset."""
        ...


class _Frames:
    """Length-prefixed frames read from a socket, with ``TCP_QUICKACK`` before every recv."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def read(self) -> bytes | None:
        """The next frame's payload, or ``None`` when vpcd closed the connection."""
        if not self._fill(2):
            return None
        size = int.from_bytes(self._buffer[:2], "big")
        if not self._fill(2 + size):
            return None
        payload = bytes(self._buffer[2 : 2 + size])
        del self._buffer[: 2 + size]
        return payload

    def _fill(self, size: int) -> bool:
        while len(self._buffer) < size:
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            chunk = self._sock.recv(65536)
            if not chunk:
                return False
            self._buffer += chunk
        return True


class VpcdBridge:
    """Serves ``card`` to vpcd at ``host:port`` from a daemon thread.

    ``start()``/``stop()`` or ``with VpcdBridge(card) as bridge:``. The bridge reconnects
    whenever vpcd drops the link (pcscd restarted) until stopped. ``disconnect()`` pulls the card
    out of the reader (the link closes, even mid-APDU) and ``insert()`` puts it back. pcscd sees
    a card come or go on its next poll, up to 0.4 s later.
    """

    def __init__(
        self,
        card: SoftCard,
        port: int = VPCD_PORT,
        host: str = "127.0.0.1",
        *,
        retry_interval: float = 0.05,
    ) -> None:
        self.card = card
        self.host = host
        self.port = port
        self.powered = False
        self.links = 0
        """How many times the link to vpcd came up (each reconnect counts)."""
        self._retry = retry_interval
        self._stopping = threading.Event()
        self._inserted = threading.Event()
        self._inserted.set()
        self._linked = threading.Event()
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def connected(self) -> bool:
        """Whether the TCP link to vpcd is up (pcscd notices the card on its next poll)."""
        return self._linked.is_set()

    @property
    def inserted(self) -> bool:
        """False between :meth:`disconnect` and :meth:`insert`."""
        return self._inserted.is_set()

    def start(self) -> Self:
        """Start serving; return at once (see :meth:`wait_connected`)."""
        if self._thread is None or not self._thread.is_alive():
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, name=f"vpcd-bridge:{self.port}", daemon=True
            )
            self._thread.start()
        return self

    def wait_connected(self, timeout: float = 5.0) -> bool:
        """Wait until the link to vpcd is up; False if it is not within ``timeout`` s."""
        return self._linked.wait(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        """Take the card out and stop the thread. Safe to call twice."""
        self._stopping.set()
        self._drop_link()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def disconnect(self) -> None:
        """Pull the card: close the link now (an APDU in progress gets no answer) and stay out
        until :meth:`insert`."""
        self._inserted.clear()
        self._drop_link()

    def insert(self) -> None:
        """Put the card back after :meth:`disconnect`."""
        self._inserted.set()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _drop_link(self) -> None:
        with self._lock:
            self._linked.clear()
            if self._sock is not None:
                with contextlib.suppress(OSError):
                    self._sock.shutdown(socket.SHUT_RDWR)

    def _run(self) -> None:
        while not self._stopping.is_set():
            if not self._inserted.wait(0.1):
                continue
            sock = self._connect()
            if sock is None:
                continue
            try:
                self._serve(sock)
            except OSError as exc:
                log.debug("vpcd link on port %d dropped: %s", self.port, exc)
            finally:
                log.debug("card unlinked from vpcd on port %d", self.port)
                self._linked.clear()
                with self._lock:
                    self._sock = None
                sock.close()
                self.powered = False

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=1.0)
        except OSError:
            self._stopping.wait(self._retry)
            return None
        sock.settimeout(None)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self._stopping.is_set() or not self._inserted.is_set():
                sock.close()
                return None
            self._sock = sock
            self.links += 1
        self._linked.set()
        log.debug("card linked to vpcd on port %d", self.port)
        return sock

    def _serve(self, sock: socket.socket) -> None:
        frames = _Frames(sock)
        while (payload := frames.read()) is not None:
            answer = self._answer(payload)
            if answer is not None:
                sock.sendall(len(answer).to_bytes(2, "big") + answer)

    def _answer(self, payload: bytes) -> bytes | None:
        if len(payload) == 1:
            return self._control(payload[0])
        try:
            answer = self.card.transmit(payload)
        except CardRemovedError:
            self.disconnect()
            return None
        except Exception:
            log.exception("the card raised on APDU %s", payload[:5].hex())
            return _SW_NO_DIAGNOSIS
        if not 2 <= len(answer) <= 0xFFFF:
            log.error("the card answered %d bytes, which vpcd cannot carry", len(answer))
            return _SW_NO_DIAGNOSIS
        return answer

    def _control(self, code: int) -> bytes | None:
        if code == GET_ATR:
            return self.card.atr()
        if code in (POWER_ON, RESET):
            self.powered = True
            reset = getattr(self.card, "reset", None)
            if callable(reset):
                reset()
        elif code == POWER_OFF:
            self.powered = False
        else:
            log.warning("unknown vpcd control byte %02x", code)
        return None


def _open_virtual_euicc(state: Path) -> SoftCard:
    euicc = importlib.import_module("pyrsp.testing.euicc")
    card: SoftCard = euicc.VirtualEuicc.open(state)
    return card


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pyrsp.testing.vpcd --state DIR``: serve the VirtualEuicc saved in DIR to vpcd
    until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m pyrsp.testing.vpcd",
        description="Put a VirtualEuicc into a vpcd PC/SC reader until interrupted.",
    )
    parser.add_argument("--state", type=Path, required=True, help="the VirtualEuicc's directory")
    parser.add_argument("--port", type=int, default=VPCD_PORT, help="vpcd's TCP port (35963)")
    parser.add_argument("--host", default="127.0.0.1", help="vpcd's host (127.0.0.1)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log each link change")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO)
    try:
        card = _open_virtual_euicc(args.state)
    except PyrspError as exc:
        parser.exit(2, f"{parser.prog}: {exc}\n")
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    with VpcdBridge(card, args.port, args.host), contextlib.suppress(KeyboardInterrupt):
        done.wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
