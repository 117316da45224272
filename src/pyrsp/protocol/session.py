"""Opening and closing the ISD-R session, sans-IO (SGP.22 5.7; ISO 7816-4; ETSI TS 102 221).

The client, not the card transport, opens a logical channel and selects the ISD-R with APDUs,
so every card transport is plain bytes in and out:

1. TERMINAL CAPABILITY ``80 AA 00 00 05 A9 03 83 01 07`` (eUICC support; errors ignored);
2. MANAGE CHANNEL open ``00 70 00 00 01`` (the answer is the channel number);
3. SELECT by AID on that channel, trying each ISD-R AID in turn (standard first, then the AIDs
   removable eUICCs use).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyrsp.errors import IsdRNotFoundError, ProtocolViolation
from pyrsp.protocol.apdu import check_sw, cla_for_channel, command_apdu, describe_sw, exchange
from pyrsp.protocol.effects import Flow

__all__ = [
    "ISDR_AID",
    "ISDR_AIDS",
    "TERMINAL_CAPABILITY",
    "IsdRSession",
    "close_isdr",
    "open_isdr",
]

#: The standard ISD-R AID (SGP.02 / SGP.22 section 2.2.1).
ISDR_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")

#: ISD-R AIDs tried in order: the standard one, then removable eUICCs (eSIM.me, 5ber, Xesim,
#: LinksField).
ISDR_AIDS: tuple[bytes, ...] = (
    ISDR_AID,
    bytes.fromhex("A0000005591010000000008900000300"),
    bytes.fromhex("A0000005591010FFFFFFFF8900050500"),
    bytes.fromhex("A0000005591010FFFFFFFF8900000177"),
    bytes.fromhex("A000000559104C696E6B736669656C64"),
)

#: TERMINAL CAPABILITY with "eUICC-related functions supported" (ETSI TS 102 221 11.1.19).
TERMINAL_CAPABILITY = bytes.fromhex("80AA000005A903830107")

INS_MANAGE_CHANNEL = 0x70
INS_SELECT = 0xA4


@dataclass(frozen=True)
class IsdRSession:
    """An open ISD-R session: the logical ``channel`` and the ``aid`` that selected.

    ``channel`` is 0 when the card offered no logical channel and the ISD-R was selected on the
    basic channel; :func:`close_isdr` then closes nothing.
    """

    channel: int
    aid: bytes


def open_isdr(aids: Sequence[bytes] = ISDR_AIDS) -> Flow[IsdRSession]:
    """Open a logical channel and select the ISD-R on it, trying ``aids`` in order.

    A card that refuses MANAGE CHANNEL (``6881``, ``6A81``, ...) is used on the basic channel.
    If no AID selects, the channel is closed and :class:`IsdRNotFoundError` lists each AID
    with the status word it got.
    """
    yield from exchange(TERMINAL_CAPABILITY, 0)  # optional for the card: any answer will do
    channel = yield from _open_channel()
    refused: list[str] = []
    for aid in aids:
        cla = cla_for_channel(channel, proprietary=False)
        _, sw = yield from exchange(command_apdu(cla, INS_SELECT, 0x04, 0x00, aid, le=0), channel)
        if sw == 0x9000:
            return IsdRSession(channel=channel, aid=aid)
        refused.append(f"{aid.hex().upper()}: {sw:04X} ({describe_sw(sw)})")
    yield from close_isdr(channel)
    raise IsdRNotFoundError(
        f"expected one of {len(refused)} ISD-R AIDs to select, every one was refused: "
        + "; ".join(refused)
    )


def _open_channel() -> Flow[int]:
    """MANAGE CHANNEL open; the channel number, or 0 when the card refuses."""
    data, sw = yield from exchange(command_apdu(0x00, INS_MANAGE_CHANNEL, 0x00, 0x00, le=1), 0)
    if sw != 0x9000:
        return 0
    if len(data) != 1 or not 1 <= data[0] <= 19:
        raise ProtocolViolation(
            f"MANAGE CHANNEL open: expected one byte with a channel number 1-19, got {data.hex()}"
        )
    return data[0]


def close_isdr(channel: int) -> Flow[None]:
    """Close the logical ``channel`` with MANAGE CHANNEL close (``00 70 80 ch``).

    Channel 0 (the basic channel) is never closed. A refusal raises :class:`ApduError`.
    """
    if channel == 0:
        return
    _, sw = yield from exchange(command_apdu(0x00, INS_MANAGE_CHANNEL, 0x80, channel), 0)
    check_sw(sw, f"MANAGE CHANNEL close {channel}")
