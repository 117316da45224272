"""The transport protocols: bytes in, bytes out, at the edge of pyrsp.

A card transport carries APDUs to one card (ISO 7816-4); an HTTP transport carries ES9+ POSTs to
an SM-DP+ (SGP.22 section 6.5). Both come in a blocking and an ``async`` form.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from pyrsp.protocol.effects import HttpResponse

__all__ = ["AsyncCardTransport", "AsyncHttpTransport", "CardTransport", "HttpTransport"]


@runtime_checkable
class CardTransport(Protocol):
    """A connection to one card: send a C-APDU, get the R-APDU (data + SW1 SW2)."""

    def transmit(self, apdu: bytes) -> bytes:
        """Send ``apdu``; return the card's whole answer (``CardTransportError`` on failure)."""
        ...

    def atr(self) -> bytes:
        """The card's answer to reset."""
        ...

    def close(self) -> None:
        """Release the card. Safe to call twice."""
        ...


@runtime_checkable
class AsyncCardTransport(Protocol):
    """The ``async`` twin of :class:`CardTransport`."""

    async def transmit(self, apdu: bytes) -> bytes:
        """Send ``apdu``; return the card's whole answer."""
        ...

    async def atr(self) -> bytes:
        """The card's answer to reset."""
        ...

    async def close(self) -> None:
        """Release the card. Safe to call twice."""
        ...


@runtime_checkable
class HttpTransport(Protocol):
    """POSTs to SM-DP+ addresses. Raise ``HttpTransportError`` when no answer was received."""

    def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        """POST ``body`` to ``address`` + ``path``; return whatever HTTP answer came back."""
        ...

    def close(self) -> None:
        """Close pooled connections. Safe to call twice."""
        ...


@runtime_checkable
class AsyncHttpTransport(Protocol):
    """The ``async`` twin of :class:`HttpTransport`."""

    async def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        """POST ``body`` to ``address`` + ``path``; return whatever HTTP answer came back."""
        ...

    async def close(self) -> None:
        """Close pooled connections. Safe to call twice."""
        ...
