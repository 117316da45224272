"""``RspClient`` and ``AsyncRspClient``: the only code that runs pyrsp's sans-IO flows.

Each client owns a card transport (and, for downloads, an HTTP transport). Used as a context
manager it opens the ISD-R session with APDUs on enter (TERMINAL CAPABILITY, MANAGE CHANNEL,
SELECT, SGP.22 section 5.7) and closes the logical channel and the transports on exit. Any flow
runs through :meth:`RspClient.run`: one loop that answers each effect and, when a transport
fails, throws the pyrsp error into the flow so the flow decides how to clean up.

A card may be a :class:`~pyrsp.transports.base.CardTransport` or any in-process card with
``transmit`` and ``atr`` (a VirtualEuicc), which is wrapped in
:class:`~pyrsp.transports.inprocess.InProcessCardTransport`. ``AsyncRspClient`` also takes a
blocking card transport and runs it on a thread of its own.
"""

from __future__ import annotations

from pyrsp.client._core import Handlers
from pyrsp.client.aio import AsyncRspClient
from pyrsp.client.sync import RspClient

__all__ = ["AsyncRspClient", "Handlers", "RspClient"]
