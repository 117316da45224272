"""Card transports for a card in the same process, such as a VirtualEuicc (ISO 7816-4 APDUs),
and :class:`ThreadedCardTransport`, which runs any blocking card transport for ``async`` code.

The card is anything with ``transmit(apdu) -> bytes`` and ``atr() -> bytes``. Each transport
passes bytes through unchanged, shows every C-APDU and R-APDU to an optional trace hook, and
turns a failure of the card object that is not already a pyrsp error into
:class:`~pyrsp.errors.CardTransportError` (``from`` the original).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, Protocol, TypeVar

from pyrsp.errors import CardTransportError, PyrspError
from pyrsp.transports.base import CardTransport

__all__ = [
    "ApduTrace",
    "AsyncInProcessCardTransport",
    "InProcessCardTransport",
    "SupportsTransmit",
    "ThreadedCardTransport",
]

T = TypeVar("T")

#: Called with ``("C-APDU", apdu)`` before each command and ``("R-APDU", answer)`` after it
#: (the same hook as :class:`~pyrsp.transports.pcsc.PcscCardTransport`'s ``trace``).
ApduTrace = Callable[[Literal["C-APDU", "R-APDU"], bytes], None]


class SupportsTransmit(Protocol):
    """A card in this process: the VirtualEuicc, or any object with these two methods."""

    def transmit(self, apdu: bytes) -> bytes:
        """Process one C-APDU; return the R-APDU (data + SW1 SW2)."""
        ...

    def atr(self) -> bytes:
        """The card's answer to reset."""
        ...


class InProcessCardTransport:
    """A blocking :class:`~pyrsp.transports.base.CardTransport` over an in-process card.

    ``trace`` sees every C-APDU and R-APDU. After :meth:`close`, transmit
    raises :class:`CardTransportError`; the card itself is left as it is.
    """

    def __init__(self, card: SupportsTransmit, *, trace: ApduTrace | None = None) -> None:
        self.card = card
        self.trace = trace
        self.closed = False

    def transmit(self, apdu: bytes) -> bytes:
        """Send ``apdu`` to the card; return its whole answer."""
        if self.closed:
            raise CardTransportError("expected an open card transport, got a closed one")
        if self.trace is not None:
            self.trace("C-APDU", apdu)
        try:
            answer = self.card.transmit(apdu)
        except PyrspError:
            raise
        except Exception as exc:
            raise CardTransportError(
                f"expected an answer from the in-process card, it raised {type(exc).__name__}: "
                f"{exc}"
            ) from exc
        if self.trace is not None:
            self.trace("R-APDU", answer)
        return answer

    def atr(self) -> bytes:
        """The card's answer to reset."""
        return self.card.atr()

    def close(self) -> None:
        """Stop using the card. Safe to call twice."""
        self.closed = True


class AsyncInProcessCardTransport:
    """The ``async`` twin: the card runs in the event loop's thread (it never blocks on I/O)."""

    def __init__(self, card: SupportsTransmit, *, trace: ApduTrace | None = None) -> None:
        self.sync = InProcessCardTransport(card, trace=trace)

    async def transmit(self, apdu: bytes) -> bytes:
        """Send ``apdu`` to the card; return its whole answer."""
        return self.sync.transmit(apdu)

    async def atr(self) -> bytes:
        """The card's answer to reset."""
        return self.sync.atr()

    async def close(self) -> None:
        """Stop using the card. Safe to call twice."""
        self.sync.close()


class ThreadedCardTransport:
    """An ``async`` card transport over a blocking one, run on a thread of its own.

    Every call for this card runs on the same single worker thread, in order, so a transport
    bound to its thread (a PC/SC handle) stays correct while the event loop goes on.
    """

    def __init__(self, card: CardTransport) -> None:
        self.sync = card
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyrsp-card")

    @property
    def protocol(self) -> str:
        """The blocking transport's card protocol (``"T0"``, ``"T1"``), ``""`` if it has none."""
        protocol = getattr(self.sync, "protocol", "")
        return protocol if isinstance(protocol, str) else ""

    async def _call(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._thread, call)

    async def transmit(self, apdu: bytes) -> bytes:
        """Send ``apdu`` on the card's thread; return its whole answer."""
        return await self._call(lambda: self.sync.transmit(apdu))

    async def atr(self) -> bytes:
        """The card's answer to reset."""
        return await self._call(self.sync.atr)

    async def close(self) -> None:
        """Close the card transport, then stop its thread. Safe to call twice."""
        try:
            await self._call(self.sync.close)
        except RuntimeError:  # the thread was already shut down
            return
        finally:
            self._thread.shutdown(wait=False)
