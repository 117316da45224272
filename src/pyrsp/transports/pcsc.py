"""Card transports over PC/SC (pyscard and pcsc-lite): bytes in, bytes out.

:class:`PcscCardTransport` connects to the card in one reader and carries APDUs (ISO 7816-4) to
it; the client opens the logical channel and selects the ISD-R (SGP.22 section 5.7) with APDUs
of its own. :class:`AsyncPcscCardTransport` is its ``asyncio`` twin.

Every PC/SC call for one card runs on that card's own daemon thread, and each card has its own
PC/SC context. pyscard never times out (a card that does not answer blocks ``SCardTransmit``
forever), so callers wait for the thread with a timeout; after a timeout the connection is
abandoned, not reused. pyscard is imported on first use, so importing this module is cheap.

Every failure becomes a :class:`~pyrsp.errors.CardTransportError` raised ``from`` the pyscard
exception: :class:`~pyrsp.errors.NoReaderError` (no pcscd, no reader, no match),
:class:`~pyrsp.errors.CardRemovedError` (removed, reset, unpowered, no valid answer) and
:class:`~pyrsp.errors.CardTimeoutError`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Literal, Self, TypeVar

from pyrsp.errors import (
    CardRemovedError,
    CardTimeoutError,
    CardTransportError,
    NoReaderError,
    UsageError,
)

__all__ = [
    "AsyncPcscCardTransport",
    "PcscCardTransport",
    "TraceHook",
    "choose_reader",
    "list_readers",
    "translate_error",
]

log = logging.getLogger(__name__)

TraceHook = Callable[[Literal["C-APDU", "R-APDU"], bytes], None]
"""Called with ``("C-APDU", apdu)`` before each transmit and ``("R-APDU", answer)`` after it."""

CardProtocol = Literal["T0", "T1", "any"]
T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
"""Seconds a transmit may take; some ES10 functions (memory reset, BPP segments) take seconds."""

_ERRORS: dict[int, tuple[type[CardTransportError], str, str]] = {
    0x8010001D: (NoReaderError, "SCARD_E_NO_SERVICE", "no PC/SC service: is pcscd running?"),
    0x8010001E: (NoReaderError, "SCARD_E_SERVICE_STOPPED", "the PC/SC service stopped"),
    0x8010002E: (NoReaderError, "SCARD_E_NO_READERS_AVAILABLE", "no reader is connected"),
    0x80100009: (NoReaderError, "SCARD_E_UNKNOWN_READER", "the reader is not known"),
    0x80100017: (NoReaderError, "SCARD_E_READER_UNAVAILABLE", "the reader went away"),
    0x8010000C: (CardRemovedError, "SCARD_E_NO_SMARTCARD", "no card in the reader"),
    0x80100069: (CardRemovedError, "SCARD_W_REMOVED_CARD", "the card was removed"),
    0x80100068: (CardRemovedError, "SCARD_W_RESET_CARD", "the card was reset"),
    0x80100067: (CardRemovedError, "SCARD_W_UNPOWERED_CARD", "the card is not powered"),
    0x80100066: (CardRemovedError, "SCARD_W_UNRESPONSIVE_CARD", "the card does not respond"),
    0x80100016: (CardRemovedError, "SCARD_E_NOT_TRANSACTED", "the card did not answer"),
    0x8010000A: (CardTimeoutError, "SCARD_E_TIMEOUT", "the card did not answer in time"),
    0x8010000B: (CardTransportError, "SCARD_E_SHARING_VIOLATION", "another program holds it"),
    0x80100003: (CardTransportError, "SCARD_E_INVALID_HANDLE", "the connection is closed"),
}


def translate_error(exc: BaseException, *, reader: str, action: str) -> CardTransportError:
    """The pyrsp error for a pyscard exception (raise it ``from exc``).

    Reads the pcsc-lite code from ``exc.hresult``; pyscard's "no valid response" (an answer
    shorter than SW1 SW2, hresult 0) means the card went away.
    """
    code = getattr(exc, "hresult", -1)
    code = code & 0xFFFFFFFF if isinstance(code, int) and code != -1 else -1
    where = f"{action} on reader {reader!r}" if reader else action
    if code in _ERRORS:
        cls, name, meaning = _ERRORS[code]
        return cls(f"{where}: expected success, got {name} (0x{code:08X}): {meaning}")
    if "no valid response" in str(exc):
        return CardRemovedError(f"{where}: expected an R-APDU, got no valid response: {exc}")
    if type(exc).__name__ == "EstablishContextException":
        return NoReaderError(f"{where}: expected a PC/SC context, got {exc}")
    shown = f" (0x{code:08X})" if code != -1 else ""
    return CardTransportError(f"{where}: expected success, got {type(exc).__name__}{shown}: {exc}")


def choose_reader(
    readers: Sequence[str], reader: str | int | None = None, ignore: Sequence[str] = ()
) -> str:
    """Pick a reader: by exact name, else the first whose name contains ``reader``
    (case-insensitive), or by index; ``None`` takes the first. Readers whose names contain an
    ``ignore`` entry (case-insensitive) are never chosen. Raise ``NoReaderError`` on no match.
    """
    skipped = [s.lower() for s in ignore]
    usable = [r for r in readers if not any(s in r.lower() for s in skipped)]
    shown = ", ".join(repr(r) for r in usable) or "none"
    if reader is None:
        if usable:
            return usable[0]
        raise NoReaderError(f"expected a PC/SC reader, found none usable (all: {list(readers)})")
    if isinstance(reader, int):
        if 0 <= reader < len(usable):
            return usable[reader]
        raise NoReaderError(f"expected reader index {reader}, readers are: {shown}")
    if reader in usable:
        return reader
    for name in usable:
        if reader.lower() in name.lower():
            return name
    raise NoReaderError(f"expected a reader matching {reader!r}, readers are: {shown}")


def _fail(hresult: int, message: str) -> None:
    """Raise pyscard's exception for a failed SCard call, as pyscard's own API would."""
    from smartcard.Exceptions import CardConnectionException

    if hresult != 0:
        raise CardConnectionException(message, hresult=hresult)


def list_readers() -> list[str]:
    """Names of the PC/SC readers, in pcscd's order; ``NoReaderError`` if pcscd is not running."""
    from smartcard import scard

    try:
        hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        _check_context(hresult)
        try:
            hresult, names = scard.SCardListReaders(context, [])
        finally:
            scard.SCardReleaseContext(context)
        if hresult == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        _fail(hresult, "Failed to list readers")
    except Exception as exc:
        raise translate_error(exc, reader="", action="listing PC/SC readers") from exc
    return list(names)


def _check_context(hresult: int) -> None:
    from smartcard.pcsc.PCSCExceptions import EstablishContextException

    if hresult != 0:
        raise EstablishContextException(hresult)


class _CardThread:
    """One daemon thread running a card's PC/SC calls in order; a hung call never blocks exit."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None]
        self._jobs = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def submit(self, job: Callable[[], T]) -> Future[T]:
        future: Future[T] = Future()
        self._jobs.put((job, future))
        return future

    def stop(self) -> None:
        self._jobs.put(None)

    def _run(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(job())
            except BaseException as exc:
                future.set_exception(exc)


class _PcscLink:
    """The PC/SC state of one connected card; every method runs on the card's thread."""

    def __init__(self, reader: str, protocol: CardProtocol, exclusive: bool) -> None:
        self.reader = reader
        self._protocol = protocol
        self._exclusive = exclusive
        self._context: Any = None
        self._card: Any = None
        self._pci: Any = None
        self.atr = b""
        self.active_protocol = ""

    def _guard(self, action: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except CardTransportError:
            raise
        except Exception as exc:
            raise translate_error(exc, reader=self.reader, action=action) from exc

    def open(self, card_wait: float) -> None:
        self._guard("connecting", lambda: self._open(card_wait))

    def _open(self, card_wait: float) -> None:
        from smartcard import scard

        hresult, self._context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        _check_context(hresult)
        if card_wait > 0:
            self._wait_present(card_wait)
        wanted = {"T0": scard.SCARD_PROTOCOL_T0, "T1": scard.SCARD_PROTOCOL_T1}.get(
            self._protocol, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        )
        share = scard.SCARD_SHARE_EXCLUSIVE if self._exclusive else scard.SCARD_SHARE_SHARED
        hresult, self._card, active = scard.SCardConnect(self._context, self.reader, share, wanted)
        _fail(hresult, f"Unable to connect with protocol {self._protocol}")
        self.active_protocol = "T1" if active == scard.SCARD_PROTOCOL_T1 else "T0"
        self._pci = scard.SCARD_PCI_T1 if self.active_protocol == "T1" else scard.SCARD_PCI_T0
        hresult, _name, _state, _proto, atr = scard.SCardStatus(self._card)
        _fail(hresult, "Failed to get status")
        self.atr = bytes(atr)

    def _wait_present(self, seconds: float) -> None:
        from smartcard import scard

        deadline = time.monotonic() + seconds
        known = scard.SCARD_STATE_UNAWARE
        while True:
            left = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, states = scard.SCardGetStatusChange(
                self._context, left, [(self.reader, known)]
            )
            if hresult == scard.SCARD_E_TIMEOUT:
                raise CardRemovedError(
                    f"expected a card in reader {self.reader!r} within {seconds} s"
                )
            _fail(hresult, "Failed to wait for a card")
            known = states[0][1] & ~scard.SCARD_STATE_CHANGED
            if known & scard.SCARD_STATE_PRESENT and not known & scard.SCARD_STATE_MUTE:
                return

    def transmit(self, apdu: bytes) -> bytes:
        def call() -> bytes:
            from smartcard import scard

            hresult, answer = scard.SCardTransmit(self._card, self._pci, list(apdu))
            _fail(hresult, f"Failed to transmit with protocol {self.active_protocol}")
            if len(answer) < 2:
                _fail(0x80100016, f"Card returned no valid response ({len(answer)} bytes)")
            return bytes(answer)

        return self._guard("transmit", call)

    def close(self, disposition: Literal["leave", "reset", "unpower"]) -> None:
        """Disconnect and release the context, logging (not raising) what fails: closing is best
        effort, and the card may be long gone."""
        from smartcard import scard

        how = {
            "leave": scard.SCARD_LEAVE_CARD,
            "reset": scard.SCARD_RESET_CARD,
            "unpower": scard.SCARD_UNPOWER_CARD,
        }[disposition]
        if self._card is not None:
            hresult = scard.SCardDisconnect(self._card, how)
            self._card = None
            if hresult != 0:
                log.debug("SCardDisconnect on %r: 0x%08X", self.reader, hresult & 0xFFFFFFFF)
        if self._context is not None:
            scard.SCardReleaseContext(self._context)
            self._context = None


class _Card:
    """What the sync and async transports share: the card thread, its link, state and tracing."""

    def __init__(
        self,
        reader: str | int | None,
        *,
        ignore: Sequence[str],
        protocol: CardProtocol,
        exclusive: bool,
        timeout: float,
        on_close: Literal["leave", "reset", "unpower"],
        trace: TraceHook | None,
    ) -> None:
        self.wanted = reader
        self._ignore = tuple(ignore)
        self._protocol: CardProtocol = protocol
        self._exclusive = exclusive
        self.timeout = timeout
        self._on_close = on_close
        self._trace = trace
        self.link: _PcscLink | None = None
        self.broken = ""
        self._closed = False
        self._thread = _CardThread("pyrsp-pcsc")

    @property
    def name(self) -> str:
        return self.link.reader if self.link else str(self.wanted)

    def start_open(self, card_wait: float) -> Future[None]:
        def job() -> None:
            name = choose_reader(list_readers(), self.wanted, self._ignore)
            self.link = _PcscLink(name, self._protocol, self._exclusive)
            self.link.open(card_wait)

        return self._thread.submit(job)

    def start_transmit(self, apdu: bytes) -> Future[bytes]:
        link = self.link
        if self.broken:
            raise CardTransportError(self.broken)
        if self._closed or link is None:
            raise UsageError(f"expected an open connection to {self.name!r}, it is closed")
        if self._trace is not None:
            self._trace("C-APDU", apdu)
        return self._thread.submit(lambda: link.transmit(apdu))

    def finish_transmit(self, answer: bytes) -> bytes:
        if self._trace is not None:
            self._trace("R-APDU", answer)
        return answer

    def timed_out(self, action: str, seconds: float) -> CardTimeoutError:
        """Abandon the connection after ``action`` took longer than ``seconds``."""
        self.broken = (
            f"the connection to reader {self.name!r} was abandoned after {action} timed out; "
            "open a new transport"
        )
        self.close()
        return CardTimeoutError(
            f"{action} on reader {self.name!r}: expected an answer within {seconds} s, got none"
        )

    def close(self) -> Future[None] | None:
        """Queue the disconnect behind any running call; ``None`` if already closed."""
        if self._closed:
            return None
        self._closed = True
        link = self.link
        done = self._thread.submit(lambda: link.close(self._on_close) if link else None)
        self._thread.stop()
        return done


class PcscCardTransport:
    """A blocking :class:`~pyrsp.transports.base.CardTransport` to the card in a PC/SC reader.

    Connects on construction. ``reader`` is an exact name, a case-insensitive substring or an
    index (``None``: the first reader), among readers whose names contain no ``ignore`` entry.
    ``protocol`` is ``"T0"``, ``"T1"`` or ``"any"``; ``exclusive`` keeps other programs off the
    card. ``card_wait`` seconds are allowed for a card to show up (pcscd polls every 0.4 s).
    Every transmit may take ``timeout`` seconds. ``on_close`` says what happens to the card when
    the transport closes. ``trace`` sees every C-APDU and R-APDU.
    """

    def __init__(
        self,
        reader: str | int | None = None,
        *,
        ignore: Sequence[str] = (),
        protocol: CardProtocol = "any",
        exclusive: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        card_wait: float = 0.0,
        on_close: Literal["leave", "reset", "unpower"] = "leave",
        trace: TraceHook | None = None,
    ) -> None:
        self._card = _Card(
            reader,
            ignore=ignore,
            protocol=protocol,
            exclusive=exclusive,
            timeout=timeout,
            on_close=on_close,
            trace=trace,
        )
        try:
            self._wait(self._card.start_open(card_wait), "connecting", timeout + card_wait)
        except BaseException:
            self.close()
            raise

    @property
    def reader(self) -> str:
        """The name of the reader in use."""
        return self._card.name

    @property
    def protocol(self) -> str:
        """The protocol negotiated with the card: ``"T0"`` or ``"T1"``."""
        return self._card.link.active_protocol if self._card.link else ""

    def _wait(self, future: Future[T], action: str, seconds: float) -> T:
        try:
            return future.result(seconds)
        except TimeoutError:
            raise self._card.timed_out(action, seconds) from None

    def transmit(self, apdu: bytes) -> bytes:
        """Send a C-APDU; return the whole R-APDU (data + SW1 SW2)."""
        future = self._card.start_transmit(apdu)
        return self._card.finish_transmit(self._wait(future, "transmit", self._card.timeout))

    def atr(self) -> bytes:
        """The card's answer to reset, as read when connecting."""
        return self._card.link.atr if self._card.link else b""

    def close(self) -> None:
        """Disconnect and release the PC/SC context. Safe to call twice; never blocks on a card
        that stopped answering."""
        done = self._card.close()
        if done is not None and not self._card.broken:
            try:
                done.result(self._card.timeout)
            except Exception as exc:
                log.debug("closing reader %r: %s", self._card.name, exc)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class AsyncPcscCardTransport:
    """The ``asyncio`` twin of :class:`PcscCardTransport`; each card runs on its own thread.

    Build it with ``await AsyncPcscCardTransport.connect(...)`` (same arguments), then use it
    directly or as an ``async with`` context manager.
    """

    def __init__(self, card: _Card) -> None:
        self._card = card

    @classmethod
    async def connect(
        cls,
        reader: str | int | None = None,
        *,
        ignore: Sequence[str] = (),
        protocol: CardProtocol = "any",
        exclusive: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
        card_wait: float = 0.0,
        on_close: Literal["leave", "reset", "unpower"] = "leave",
        trace: TraceHook | None = None,
    ) -> Self:
        """Connect to the card in ``reader``; the arguments are those of PcscCardTransport."""
        card = _Card(
            reader,
            ignore=ignore,
            protocol=protocol,
            exclusive=exclusive,
            timeout=timeout,
            on_close=on_close,
            trace=trace,
        )
        transport = cls(card)
        try:
            await transport._wait(card.start_open(card_wait), "connecting", timeout + card_wait)
        except BaseException:
            await transport.close()
            raise
        return transport

    @property
    def reader(self) -> str:
        """The name of the reader in use."""
        return self._card.name

    @property
    def protocol(self) -> str:
        """The protocol negotiated with the card: ``"T0"`` or ``"T1"``."""
        return self._card.link.active_protocol if self._card.link else ""

    async def _wait(self, future: Future[T], action: str, seconds: float) -> T:
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), seconds)
        except TimeoutError:
            raise self._card.timed_out(action, seconds) from None

    async def transmit(self, apdu: bytes) -> bytes:
        """Send a C-APDU; return the whole R-APDU (data + SW1 SW2)."""
        future = self._card.start_transmit(apdu)
        answer = await self._wait(future, "transmit", self._card.timeout)
        return self._card.finish_transmit(answer)

    async def atr(self) -> bytes:
        """The card's answer to reset, as read when connecting."""
        return self._card.link.atr if self._card.link else b""

    async def close(self) -> None:
        """Disconnect and release the PC/SC context. Safe to call twice."""
        done = self._card.close()
        if done is not None and not self._card.broken:
            try:
                await asyncio.wait_for(asyncio.wrap_future(done), self._card.timeout)
            except Exception as exc:
                log.debug("closing reader %r: %s", self._card.name, exc)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()
