"""Transports: bytes in, bytes out, at the edge of pyrsp.

Card transports (:class:`PcscCardTransport` for a PC/SC reader, :class:`InProcessCardTransport`
for a VirtualEuicc) carry APDUs; HTTP transports (:class:`HttpsTransport`) carry ES9+ POSTs.
Each module loads on first use, so importing this package pulls in neither pyscard nor httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyrsp._lazy import lazy_exports
from pyrsp.transports.base import (
    AsyncCardTransport,
    AsyncHttpTransport,
    CardTransport,
    HttpTransport,
)

if TYPE_CHECKING:
    from pyrsp.transports.http import AsyncHttpsTransport, HttpsTransport
    from pyrsp.transports.inprocess import (
        AsyncInProcessCardTransport,
        InProcessCardTransport,
        ThreadedCardTransport,
    )
    from pyrsp.transports.pcsc import AsyncPcscCardTransport, PcscCardTransport, list_readers

_WHERE = {
    "AsyncHttpsTransport": "pyrsp.transports.http",
    "AsyncInProcessCardTransport": "pyrsp.transports.inprocess",
    "AsyncPcscCardTransport": "pyrsp.transports.pcsc",
    "HttpsTransport": "pyrsp.transports.http",
    "InProcessCardTransport": "pyrsp.transports.inprocess",
    "PcscCardTransport": "pyrsp.transports.pcsc",
    "ThreadedCardTransport": "pyrsp.transports.inprocess",
    "list_readers": "pyrsp.transports.pcsc",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

__all__ = [
    "AsyncCardTransport",
    "AsyncHttpTransport",
    "AsyncHttpsTransport",
    "AsyncInProcessCardTransport",
    "AsyncPcscCardTransport",
    "CardTransport",
    "HttpTransport",
    "HttpsTransport",
    "InProcessCardTransport",
    "PcscCardTransport",
    "ThreadedCardTransport",
    "list_readers",
]
