"""APDU framing for ES10, sans-IO (SGP.22 section 5.7.2; ISO 7816-4; GlobalPlatform 2.3).

An ES10 request is one BER-TLV sent to the ISD-R as a sequence of STORE DATA blocks
(``CLA E2 P1 P2 Lc data``: P1 ``11`` = more blocks follow, ``91`` = last block, P2 = block
number from 0). The answer may come in pieces announced by ``61 xx``, fetched with GET
RESPONSE on the same channel. :func:`transmit_es10` is the sub-flow every ES10 function uses;
:func:`load_bpp` sends a BoundProfilePackage piece by piece (section 2.5.5 and 5.7.6).
"""

from __future__ import annotations

from dataclasses import dataclass

from pyrsp import tlv
from pyrsp.errors import ApduError, CardTransportError, ProtocolViolation, UsageError
from pyrsp.protocol.effects import Flow, Progress, Transmit

__all__ = [
    "SHORT_MAX",
    "EXTENDED_DEFAULT",
    "EXTENDED_MAX",
    "ApduConfig",
    "atr_historical_bytes",
    "atr_supports_extended",
    "bpp_pieces",
    "cla_for_channel",
    "command_apdu",
    "check_sw",
    "describe_sw",
    "exchange",
    "load_bpp",
    "split_response",
    "store_data_apdus",
    "transmit_es10",
]

#: Most data bytes in a short APDU (one byte of Lc).
SHORT_MAX = 255
#: Most data bytes in an extended-length APDU (three bytes of Lc).
EXTENDED_MAX = 65535
#: Data bytes per block with extended APDUs unless configured: every ES10 request of a usual
#: download (AuthenticateServer, PrepareDownload, each BPP piece) then fits in one block.
EXTENDED_DEFAULT = 4096

INS_STORE_DATA = 0xE2
INS_GET_RESPONSE = 0xC0
P1_MORE_BLOCKS = 0x11
P1_LAST_BLOCK = 0x91
SW_OK = 0x9000
MAX_BLOCKS = 256  # P2 is one byte
#: Most GET RESPONSE pieces accepted for one answer (256 kB at 256 bytes a piece).
MAX_PIECES = 1024

_SW_TEXT: dict[int, str] = {
    0x6281: "part of returned data may be corrupted",
    0x6400: "execution error, state of non-volatile memory unchanged",
    0x6581: "memory failure",
    0x6700: "wrong length",
    0x6881: "logical channel not supported",
    0x6882: "secure messaging not supported",
    0x6982: "security status not satisfied",
    0x6985: "conditions of use not satisfied",
    0x6986: "command not allowed",
    0x6A80: "incorrect parameters in the data field",
    0x6A81: "function not supported",
    0x6A82: "application or file not found",
    0x6A84: "not enough memory space",
    0x6A86: "incorrect parameters P1-P2",
    0x6A88: "referenced data not found",
    0x6B00: "wrong parameters P1-P2",
    0x6D00: "instruction code not supported",
    0x6E00: "class not supported",
    0x6F00: "no precise diagnosis",
}


@dataclass(frozen=True)
class ApduConfig:
    """How to frame APDUs for one ISD-R session.

    ``channel`` is the logical channel (0-19) the ISD-R is selected on; ``segment_size`` the
    data bytes per STORE DATA block: 1-255 for short APDUs (default 255), up to 65,535 with
    ``extended`` (default :data:`EXTENDED_DEFAULT`). Deployed LPAs use 63, 120, 254 or 255;
    fewer blocks mean fewer APDUs and faster downloads.
    """

    channel: int = 0
    segment_size: int | None = None
    extended: bool = False

    def __post_init__(self) -> None:
        if not 0 <= self.channel <= 19:
            raise UsageError(f"logical channel must be 0-19, got {self.channel}")
        limit = EXTENDED_MAX if self.extended else SHORT_MAX
        if not 1 <= self.block_size <= limit:
            kind = "extended" if self.extended else "short"
            raise UsageError(
                f"segment size for {kind} APDUs must be 1-{limit}, got {self.segment_size}"
            )

    @property
    def block_size(self) -> int:
        """The data bytes per STORE DATA block actually used."""
        if self.segment_size is not None:
            return self.segment_size
        return EXTENDED_DEFAULT if self.extended else SHORT_MAX


def cla_for_channel(channel: int, *, proprietary: bool) -> int:
    """The CLA byte for a command on ``channel`` (ISO 7816-4 section 5.4.1).

    Channels 0-3 use the first interindustry class (``0x00 | ch``; GlobalPlatform commands such
    as STORE DATA ``0x80 | ch``); channels 4-19 the further class (``0x40 | ch - 4``; GP
    ``0xC0 | ch - 4``).
    """
    if 0 <= channel <= 3:
        return (0x80 if proprietary else 0x00) | channel
    if 4 <= channel <= 19:
        return (0xC0 if proprietary else 0x40) | (channel - 4)
    raise UsageError(f"logical channel must be 0-19, got {channel}")


def command_apdu(
    cla: int,
    ins: int,
    p1: int,
    p2: int,
    data: bytes = b"",
    *,
    le: int | None = None,
    extended: bool = False,
) -> bytes:
    """Encode a C-APDU (ISO 7816-4 section 5.1): short, or extended-length when ``extended``.

    ``le`` is the expected length (0 = the maximum, 256 or 65,536); ``None`` sends no Le.
    """
    header = bytes((cla, ins, p1, p2))
    if not extended:
        if len(data) > SHORT_MAX:
            raise UsageError(f"a short APDU carries at most 255 data bytes, got {len(data)}")
        lc = bytes((len(data),)) if data else b""
        return header + lc + data + (b"" if le is None else bytes((le & 0xFF,)))
    if len(data) > EXTENDED_MAX:
        raise UsageError(f"an extended APDU carries at most 65535 data bytes, got {len(data)}")
    lc = b"\x00" + len(data).to_bytes(2, "big") if data else b""
    if le is None:
        return header + lc + data
    le_field = (le & 0xFFFF).to_bytes(2, "big")
    return header + (lc + data + le_field if data else b"\x00" + le_field)


def store_data_apdus(request: bytes, config: ApduConfig) -> list[bytes]:
    """Split ``request`` into the STORE DATA blocks of one sequence (GlobalPlatform 11.11).

    An empty request is one block with no data. The last block carries Le (ISO 7816-4 case 4):
    ``00`` for short APDUs, so the card may answer its first 256 bytes at once, with ``61 xx``
    for the rest; ``0000`` with extended APDUs, for up to 65,536 bytes at once. More than
    256 blocks (P2 is one byte) is a :class:`UsageError`: raise the segment size.
    """
    size = config.block_size
    chunks = [request[i : i + size] for i in range(0, len(request), size)] or [b""]
    if len(chunks) > MAX_BLOCKS:
        raise UsageError(
            f"a request of {len(request)} bytes needs {len(chunks)} STORE DATA blocks of {size}"
            f" bytes; at most {MAX_BLOCKS} fit in one sequence"
        )
    cla = cla_for_channel(config.channel, proprietary=True)
    last = len(chunks) - 1
    return [
        command_apdu(
            cla,
            INS_STORE_DATA,
            P1_LAST_BLOCK if n == last else P1_MORE_BLOCKS,
            n,
            chunk,
            le=0 if n == last else None,
            extended=config.extended,
        )
        for n, chunk in enumerate(chunks)
    ]


def split_response(response: bytes) -> tuple[bytes, int]:
    """Split an R-APDU into its data and the status word (``SW1 << 8 | SW2``)."""
    if len(response) < 2:
        raise CardTransportError(
            "expected an R-APDU of at least 2 bytes (SW1 SW2),"
            f" got {response.hex().upper() or 'nothing'}"
        )
    return response[:-2], int.from_bytes(response[-2:], "big")


def describe_sw(sw: int) -> str:
    """A short English description of a status word, from ISO 7816-4 and GlobalPlatform."""
    if sw in _SW_TEXT:
        return _SW_TEXT[sw]
    if sw >> 8 == 0x6C:
        return f"wrong Le, {sw & 0xFF} bytes available"
    if sw >> 8 == 0x63 and sw & 0xF0 == 0xC0:
        return f"verification failed, {sw & 0x0F} retries left"
    return "unknown status"


def check_sw(sw: int, what: str) -> None:
    """Raise :class:`ApduError` unless ``sw`` is ``9000``; ``what`` names the command."""
    if sw != SW_OK:
        raise ApduError(f"{what}: expected status 9000, got {sw:04X} ({describe_sw(sw)})", sw=sw)


def exchange(apdu: bytes, channel: int) -> Flow[tuple[bytes, int]]:
    """Send ``apdu`` and collect the whole answer, following ``61 xx`` with GET RESPONSE.

    GET RESPONSE goes on ``channel`` with Le = ``xx``; one answered ``6C xx`` (wrong Le) is
    resent with Le = ``xx``. Returns the data of all pieces joined and the final status word,
    which the caller checks. A card that never stops announcing more data is cut off after
    :data:`MAX_PIECES` pieces with :class:`ProtocolViolation`.
    """
    data, sw = split_response((yield Transmit(apdu)))
    parts = [data]
    cla = cla_for_channel(channel, proprietary=False)
    while sw >> 8 == 0x61:
        if len(parts) > MAX_PIECES:
            raise ProtocolViolation(
                f"expected the card to finish its answer within {MAX_PIECES} GET RESPONSE"
                f" pieces, still announcing more ({sw:04X}) after {sum(map(len, parts))} bytes"
            )
        le = sw & 0xFF
        piece, sw = split_response(
            (yield Transmit(command_apdu(cla, INS_GET_RESPONSE, 0, 0, le=le)))
        )
        if sw >> 8 == 0x6C:
            le = sw & 0xFF
            get_response = command_apdu(cla, INS_GET_RESPONSE, 0, 0, le=le)
            piece, sw = split_response((yield Transmit(get_response)))
        parts.append(piece)
    return b"".join(parts), sw


def transmit_es10(request: bytes, config: ApduConfig) -> Flow[bytes]:
    """Send one ES10 request (a DER TLV) as STORE DATA blocks; return the answer's data.

    Blocks before the last must be acknowledged with ``9000`` and no data; the last block's
    answer (after GET RESPONSE) is the ES10 response, possibly empty. Any other status word
    raises :class:`ApduError` (SGP.22 section 5.7.2).
    """
    apdus = store_data_apdus(request, config)
    answer = b""
    for n, apdu in enumerate(apdus):
        answer, sw = yield from exchange(apdu, config.channel)
        check_sw(sw, f"STORE DATA block {n} of {len(apdus)}")
        if n < len(apdus) - 1 and answer:
            raise ProtocolViolation(
                f"STORE DATA block {n} of {len(apdus)}: expected an empty answer before the"
                f" last block, got {len(answer)} bytes"
            )
    return answer


def atr_historical_bytes(atr: bytes) -> bytes:
    """The historical bytes of an ATR (ISO 7816-3 section 8.2), or ``b""`` if it is malformed."""
    if len(atr) < 2:
        return b""
    count = atr[1] & 0x0F
    indicator, pos = atr[1], 2
    while True:
        pos += bin(indicator & 0xF0).count("1")  # TAi, TBi, TCi, TDi present per bit
        if not indicator & 0x80:
            break
        if pos > len(atr):
            return b""
        indicator = atr[pos - 1]  # TDi holds the next indicator
    historical = atr[pos : pos + count]
    return historical if len(historical) == count else b""


def atr_supports_extended(atr: bytes) -> bool:
    """Whether the ATR's card capabilities announce extended Lc and Le fields.

    ISO 7816-4 section 12.1.1: historical bytes in category ``00`` or ``80`` hold compact-TLV
    data objects; tag ``7`` (card capabilities) has the extended-length flag in bit 7 of its
    third byte. Anything unreadable counts as "no".
    """
    historical = atr_historical_bytes(atr)
    if not historical or historical[0] not in (0x00, 0x80):
        return False
    objects = historical[1:-3] if historical[0] == 0x00 else historical[1:]
    pos = 0
    while pos < len(objects):
        tag, length = objects[pos] >> 4, objects[pos] & 0x0F
        value = objects[pos + 1 : pos + 1 + length]
        if tag == 0x7 and len(value) >= 3:
            return bool(value[2] & 0x40)
        pos += 1 + length
    return False


_BPP_LAYOUT = (0xBF23, 0xA0, 0xA1, 0xA2, 0xA3)  # A2 (ReplaceSessionKeys) is optional


def bpp_pieces(bpp: bytes) -> list[bytes]:
    """Cut a BoundProfilePackage (``BF36``) into the STORE DATA sequences of SGP.22 2.5.5.

    In order: the ``BF36`` header with the whole ``BF23``; the ``A0`` header with its first
    ``87``, then each further ``87``; the ``A1`` header alone, then each ``88``; if present the
    ``A2`` header with its first ``87``, then each further one; the ``A3`` header alone, then
    each ``86``. Every piece is an exact slice of ``bpp``.
    """
    outer = tlv.parse(bpp)
    children = outer.children() if outer.tag == 0xBF36 else []
    tags = [child.tag for child in children]
    expected = [t for t in _BPP_LAYOUT if t != 0xA2 or 0xA2 in tags]
    if outer.tag != 0xBF36 or tags != expected:
        found = " ".join(c.tag_bytes.hex().upper() for c in children)
        raise ProtocolViolation(
            "expected a BoundProfilePackage BF36 holding BF23 A0 A1 [A2] A3,"
            f" got {outer.tag_bytes.hex().upper()} holding {found or 'nothing'}"
        )
    pieces = [outer.header + children[0].raw]
    for part in children[1:]:
        inner = [child.raw for child in part.children()]
        if part.tag in (0xA0, 0xA2):
            if not inner:
                raise ProtocolViolation(f"expected at least one 87 in {part.tag:02X}, got none")
            pieces += [part.header + inner[0], *inner[1:]]
        else:
            pieces += [part.header, *inner]
    return pieces


def load_bpp(bpp: bytes, config: ApduConfig) -> Flow[bytes]:
    """Send a BoundProfilePackage piece by piece; return the eUICC's answer (``BF37...``).

    Each piece of :func:`bpp_pieces` is its own STORE DATA sequence, followed by
    ``Progress("load_bpp", done, total)``. The eUICC answers empty until the last piece, or
    earlier with a ProfileInstallationResult when installation fails; either way the first
    non-empty answer is returned as received (SGP.22 section 5.7.6).
    """
    pieces = bpp_pieces(bpp)
    for done, piece in enumerate(pieces, start=1):
        answer = yield from transmit_es10(piece, config)
        yield Progress("load_bpp", done, len(pieces))
        if answer:
            return answer
    raise ProtocolViolation(
        f"expected a ProfileInstallationResult after the last of {len(pieces)} BPP pieces,"
        " got an empty answer"
    )
