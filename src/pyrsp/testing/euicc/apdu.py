"""The ISO 7816-4 / GlobalPlatform layer of the virtual eUICC (SGP.22 section 5.7.1).

It parses C-APDUs (short and extended), keeps the logical channels (MANAGE CHANNEL, the CLA
rules of ISO 7816-4 section 5.4.1 for channels 0-3 and 4-19), routes SELECT by AID, TERMINAL
CAPABILITY (ETSI TS 102 221 section 11.1.19), GET RESPONSE, and reassembles GlobalPlatform
STORE DATA block chains (GPC 2.3 section 11.11). A complete STORE DATA sequence is handed to the
ES10 handler; its answer goes back as data + ``9000``, or as ``61 xx`` when longer than the
response limit, to be fetched with GET RESPONSE.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = [
    "ApduLayer",
    "CardStatus",
    "Command",
    "ISD_R_AID",
    "SW_OK",
    "parse_command",
]

ISD_R_AID = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
SW_OK = 0x9000
MAX_CHANNELS = 20
#: Largest STORE DATA sequence accepted (a BPP piece is at most a few kB).
MAX_SEQUENCE = 65536

# Status words (ISO 7816-4 section 5.6, GPC 2.3 section 11.1.3)
SW_WRONG_LENGTH = 0x6700
SW_CHANNEL_NOT_SUPPORTED = 0x6881
SW_SM_NOT_SUPPORTED = 0x6882
SW_LAST_OF_CHAIN_EXPECTED = 0x6883
SW_CHAINING_NOT_SUPPORTED = 0x6884
SW_CONDITIONS_NOT_SATISFIED = 0x6985
SW_WRONG_DATA = 0x6A80
SW_FUNCTION_NOT_SUPPORTED = 0x6A81
SW_FILE_NOT_FOUND = 0x6A82
SW_NOT_ENOUGH_MEMORY = 0x6A84
SW_WRONG_P1P2 = 0x6A86
SW_DATA_NOT_FOUND = 0x6A88
SW_INS_NOT_SUPPORTED = 0x6D00
SW_CLA_NOT_SUPPORTED = 0x6E00

INS_SELECT = 0xA4
INS_MANAGE_CHANNEL = 0x70
INS_GET_RESPONSE = 0xC0
INS_STORE_DATA = 0xE2
INS_TERMINAL_CAPABILITY = 0xAA

P1_MORE_BLOCKS = 0x11
P1_LAST_BLOCK = 0x91


class CardStatus(Exception):  # noqa: N818 - a status word, not an error of pyrsp's user
    """Raised inside the card to answer a status word with no data."""

    def __init__(self, sw: int) -> None:
        super().__init__(f"{sw:04X}")
        self.sw = sw


@dataclass(frozen=True)
class Command:
    """A parsed C-APDU: header, data and Le (``None`` when absent; 0 stays 0)."""

    cla: int
    ins: int
    p1: int
    p2: int
    data: bytes
    le: int | None
    extended: bool

    @property
    def max_le(self) -> int:
        """The number of bytes Le allows (00 means 256, or 65536 when extended)."""
        if self.le is None:
            return 0
        if self.le == 0:
            return 65536 if self.extended else 256
        return self.le


def parse_command(apdu: bytes) -> Command:
    """Parse ``apdu`` by the four cases of ISO 7816-4 section 5.1; ``6700`` if none fits."""
    n = len(apdu)
    if n < 4:
        raise CardStatus(SW_WRONG_LENGTH)
    cla, ins, p1, p2 = apdu[:4]
    body = apdu[4:]
    if not body:
        return Command(cla, ins, p1, p2, b"", None, False)
    if len(body) == 1:
        return Command(cla, ins, p1, p2, b"", body[0], False)
    if body[0] != 0:
        lc = body[0]
        if len(body) == 1 + lc:
            return Command(cla, ins, p1, p2, body[1:], None, False)
        if len(body) == 2 + lc:
            return Command(cla, ins, p1, p2, body[1:-1], body[-1], False)
        raise CardStatus(SW_WRONG_LENGTH)
    return _parse_extended(cla, ins, p1, p2, body)


def _parse_extended(cla: int, ins: int, p1: int, p2: int, body: bytes) -> Command:
    if len(body) == 3:
        return Command(cla, ins, p1, p2, b"", int.from_bytes(body[1:3], "big"), True)
    if len(body) < 3:
        raise CardStatus(SW_WRONG_LENGTH)
    lc = int.from_bytes(body[1:3], "big")
    if lc == 0:
        raise CardStatus(SW_WRONG_LENGTH)
    if len(body) == 3 + lc:
        return Command(cla, ins, p1, p2, body[3:], None, True)
    if len(body) == 5 + lc:
        return Command(cla, ins, p1, p2, body[3:-2], int.from_bytes(body[-2:], "big"), True)
    raise CardStatus(SW_WRONG_LENGTH)


def decode_cla(cla: int) -> tuple[int, bool]:
    """Return (logical channel, proprietary class) for ``cla``; 6E00/6882/6884 if unusable.

    ISO 7816-4 section 5.4.1: first interindustry values ``0x0X`` (channels 0-3 in b2-b1,
    secure messaging in b4-b3, chaining in b5) and further values ``0x4X``/``0x6X`` (channels
    4-19 in b4-b1, secure messaging in b6, chaining in b5); b8 set marks the proprietary
    (GlobalPlatform) classes ``8X`` and ``CX``.
    """
    if cla == 0xFF or (cla & 0x20 and not cla & 0x40):
        raise CardStatus(SW_CLA_NOT_SUPPORTED)
    proprietary = bool(cla & 0x80)
    if cla & 0x40:
        channel = 4 + (cla & 0x0F)
        secure = bool(cla & 0x20)
    else:
        channel = cla & 0x03
        secure = bool(cla & 0x0C)
    if secure:
        raise CardStatus(SW_SM_NOT_SUPPORTED)
    if cla & 0x10:
        raise CardStatus(SW_CHAINING_NOT_SUPPORTED)
    return channel, proprietary


@dataclass
class Channel:
    """The state of one open logical channel."""

    selected: bytes | None = None
    pending: bytes = b""
    chain: bytearray | None = None
    next_block: int = 0


#: The ES10 handler: (channel, complete STORE DATA payload) -> answer data.
Es10Handler = Callable[[int, bytes], bytes]


@dataclass
class ApduLayer:
    """Channels, selection, chaining and response buffering of one card.

    ``es10`` receives each complete STORE DATA sequence sent to the ISD-R and returns the
    answer data (``b""`` for none), or raises :class:`CardStatus`. ``response_limit`` is the
    longest answer given at once to a short APDU (Le ``00`` means 256 bytes).
    """

    es10: Es10Handler
    aid: bytes = ISD_R_AID
    response_limit: int = 256
    channels: dict[int, Channel] = field(default_factory=lambda: {0: Channel()})
    terminal_capability: bytes = b""

    def reset(self) -> None:
        """Power cycle: every logical channel but the basic one closed, nothing selected."""
        self.channels = {0: Channel()}
        self.terminal_capability = b""

    def transmit(self, apdu: bytes) -> bytes:
        """Process one C-APDU and return the R-APDU (data + SW1 SW2)."""
        try:
            command = parse_command(apdu)
            data, sw = self._dispatch(command)
        except CardStatus as status:
            return status.sw.to_bytes(2, "big")
        return data + sw.to_bytes(2, "big")

    def _dispatch(self, command: Command) -> tuple[bytes, int]:
        channel_number, proprietary = decode_cla(command.cla)
        channel = self.channels.get(channel_number)
        if channel is None:
            raise CardStatus(SW_CHANNEL_NOT_SUPPORTED)
        handler = _HANDLERS.get(command.ins)
        if handler is None:
            raise CardStatus(SW_INS_NOT_SUPPORTED)
        wants_proprietary = command.ins in (INS_STORE_DATA, INS_TERMINAL_CAPABILITY)
        if proprietary != wants_proprietary:
            raise CardStatus(SW_CLA_NOT_SUPPORTED)
        if command.ins != INS_GET_RESPONSE:
            channel.pending = b""
        if channel.chain is not None and command.ins not in (INS_STORE_DATA, INS_MANAGE_CHANNEL):
            channel.chain, channel.next_block = None, 0
            raise CardStatus(SW_LAST_OF_CHAIN_EXPECTED)
        return handler(self, channel_number, channel, command)

    def _respond(
        self, channel: Channel, data: bytes, limit: int, first: int = 0
    ) -> tuple[bytes, int]:
        """Answer ``data`` at once if it fits ``limit``, otherwise ``61 xx`` (xx 00 = 256+).

        ``first`` bytes (what the command's Le asked for, ISO 7816-4 case 4) come with the
        ``61 xx``; the rest waits for GET RESPONSE.
        """
        if len(data) <= limit:
            return data, SW_OK
        channel.pending = data[first:]
        return data[:first], 0x6100 | min(len(channel.pending), 256) & 0xFF

    def _select(self, number: int, channel: Channel, command: Command) -> tuple[bytes, int]:
        """SELECT by DF name (ISO 7816-4 section 11.1.1): P1 ``04``, P2 ``00``/``04``/``0C``."""
        if command.p1 != 0x04 or command.p2 not in (0x00, 0x04, 0x0C):
            raise CardStatus(SW_WRONG_P1P2)
        if not 5 <= len(command.data) <= 16:
            raise CardStatus(SW_WRONG_LENGTH)
        if not self.aid.startswith(command.data):
            raise CardStatus(SW_FILE_NOT_FOUND)
        channel.selected = self.aid
        if command.p2 == 0x0C:
            return b"", SW_OK
        return self._respond(channel, _fci(self.aid), self._limit(command))

    def _manage_channel(self, number: int, channel: Channel, command: Command) -> tuple[bytes, int]:
        """MANAGE CHANNEL (ISO 7816-4 section 11.1.2): open (P1 ``00``) or close (P1 ``80``)."""
        if command.data:
            raise CardStatus(SW_WRONG_LENGTH)
        if command.p1 == 0x80:
            target = command.p2 or number
            if target == 0 or target >= MAX_CHANNELS:
                raise CardStatus(SW_WRONG_P1P2)
            if self.channels.pop(target, None) is None:
                raise CardStatus(SW_CHANNEL_NOT_SUPPORTED)
            return b"", SW_OK
        if command.p1 != 0x00 or command.p2 >= MAX_CHANNELS:
            raise CardStatus(SW_WRONG_P1P2)
        if command.p2:
            if command.p2 in self.channels:
                raise CardStatus(SW_WRONG_P1P2)
            target = command.p2
        else:
            free = [n for n in range(1, MAX_CHANNELS) if n not in self.channels]
            if not free:
                raise CardStatus(SW_FUNCTION_NOT_SUPPORTED)
            target = free[0]
        inherited = channel.selected if number != 0 else None
        self.channels[target] = Channel(selected=inherited)
        return (b"" if command.p2 else bytes([target])), SW_OK

    def _get_response(self, number: int, channel: Channel, command: Command) -> tuple[bytes, int]:
        """GET RESPONSE (ISO 7816-4 section 7.6.1): the next part of a ``61 xx`` answer."""
        if command.p1 or command.p2:
            raise CardStatus(SW_WRONG_P1P2)
        if not channel.pending:
            raise CardStatus(SW_CONDITIONS_NOT_SATISFIED)
        size = command.max_le or 256
        part, channel.pending = channel.pending[:size], channel.pending[size:]
        if channel.pending:
            return part, 0x6100 | min(len(channel.pending), 256) & 0xFF
        return part, SW_OK

    def _terminal_capability(
        self, number: int, channel: Channel, command: Command
    ) -> tuple[bytes, int]:
        """TERMINAL CAPABILITY (ETSI TS 102 221 section 11.1.19): a TLV ``A9`` is remembered."""
        if command.p1 or command.p2:
            raise CardStatus(SW_WRONG_P1P2)
        data = command.data
        if len(data) < 2 or data[0] != 0xA9 or data[1] != len(data) - 2:
            raise CardStatus(SW_WRONG_DATA)
        self.terminal_capability = data
        return b"", SW_OK

    def _store_data(self, number: int, channel: Channel, command: Command) -> tuple[bytes, int]:
        """STORE DATA (GPC 2.3 section 11.11): P1 ``11`` more blocks / ``91`` last, P2 block no."""
        if channel.selected != self.aid:
            raise CardStatus(SW_CONDITIONS_NOT_SATISFIED)
        if command.p2 == 0:  # block 0 starts a new command, dropping an unfinished one
            channel.chain, channel.next_block = None, 0
        if command.p1 not in (P1_MORE_BLOCKS, P1_LAST_BLOCK) or command.p2 != channel.next_block:
            channel.chain, channel.next_block = None, 0
            raise CardStatus(SW_WRONG_P1P2)
        if not command.data:
            channel.chain, channel.next_block = None, 0
            raise CardStatus(SW_WRONG_LENGTH)
        chain = channel.chain if channel.chain is not None else bytearray()
        chain += command.data
        if len(chain) > MAX_SEQUENCE:
            channel.chain, channel.next_block = None, 0
            raise CardStatus(SW_NOT_ENOUGH_MEMORY)
        if command.p1 == P1_MORE_BLOCKS:
            if command.p2 == 0xFF:
                channel.chain, channel.next_block = None, 0
                raise CardStatus(SW_WRONG_P1P2)
            channel.chain, channel.next_block = chain, command.p2 + 1
            return b"", SW_OK
        channel.chain, channel.next_block = None, 0
        answer = self.es10(number, bytes(chain))
        limit = self._limit(command)
        first = 0 if command.le is None else min(command.max_le, limit)
        return self._respond(channel, answer, limit, first)

    def _limit(self, command: Command) -> int:
        """Longest answer given at once: Le for extended APDUs, else the response limit."""
        if command.extended and command.le is not None:
            return command.max_le
        return self.response_limit


def _fci(aid: bytes) -> bytes:
    """The FCI template a GlobalPlatform security domain answers to SELECT (GPC 11.9.3.3)."""
    proprietary = bytes.fromhex("A5049F6501FF")
    body = b"\x84" + bytes([len(aid)]) + aid + proprietary
    return b"\x6f" + bytes([len(body)]) + body


_Handler = Callable[[ApduLayer, int, Channel, Command], tuple[bytes, int]]
_HANDLERS: dict[int, _Handler] = {
    INS_SELECT: ApduLayer._select,
    INS_MANAGE_CHANNEL: ApduLayer._manage_channel,
    INS_GET_RESPONSE: ApduLayer._get_response,
    INS_STORE_DATA: ApduLayer._store_data,
    INS_TERMINAL_CAPABILITY: ApduLayer._terminal_capability,
}
