"""pyrsp.protocol.apdu: STORE DATA segmentation, GET RESPONSE, CLA, ATR and the BPP split."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyrsp import tlv
from pyrsp.errors import ApduError, CardTransportError, ProtocolViolation, UsageError
from pyrsp.protocol.apdu import (
    EXTENDED_DEFAULT,
    ApduConfig,
    atr_historical_bytes,
    atr_supports_extended,
    bpp_pieces,
    cla_for_channel,
    command_apdu,
    describe_sw,
    exchange,
    load_bpp,
    store_data_apdus,
    transmit_es10,
)
from pyrsp.protocol.effects import Flow, Progress, Transmit

Card = Callable[[bytes], bytes]


def drive(flow: Flow[Any], card: Card) -> tuple[Any, list[Any]]:
    """Run ``flow`` against ``card``; return the result and every effect yielded."""
    effects: list[Any] = []
    answer: Any = None
    try:
        while True:
            effect = flow.send(answer)
            effects.append(effect)
            answer = card(effect.apdu) if isinstance(effect, Transmit) else None
    except StopIteration as stop:
        return stop.value, effects


def parse_c_apdu(apdu: bytes) -> tuple[bytes, bytes, int | None]:
    """Split a C-APDU into header, data and Le (short or extended, ISO 7816-4 5.1)."""
    header, body = apdu[:4], apdu[4:]
    if not body:
        return header, b"", None
    if len(body) == 1:
        return header, b"", body[0]
    if body[0] == 0 and len(body) == 3:  # extended, Le only
        return header, b"", int.from_bytes(body[1:], "big")
    if body[0] == 0 and len(body) > 3:  # extended
        lc = int.from_bytes(body[1:3], "big")
        rest = body[3 + lc :]
        assert len(body[3 : 3 + lc]) == lc
        assert len(rest) in (0, 2)
        return header, body[3 : 3 + lc], int.from_bytes(rest, "big") if rest else None
    lc = body[0]
    data, rest = body[1 : 1 + lc], body[1 + lc :]
    assert len(data) == lc
    assert len(rest) in (0, 1)
    return header, data, rest[0] if rest else None


class ReassemblingCard:
    """A scripted ISD-R: checks STORE DATA chaining, answers ``reply`` in ``piece``-byte parts."""

    def __init__(self, reply: bytes = b"", piece: int = 256, cla: int = 0x81) -> None:
        self.reply, self.piece, self.cla = reply, piece, cla
        self.received: list[bytes] = []
        self.blocks: list[bytes] = []
        self.apdus: list[bytes] = []
        self.pending = b""

    def __call__(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        header, data, _ = parse_c_apdu(apdu)
        if header[1] == 0xC0:
            return self._next_piece()
        assert header[0] == self.cla and header[1] == 0xE2
        assert header[3] == len(self.blocks), "P2 must count blocks from 0"
        assert header[2] in (0x11, 0x91)
        self.blocks.append(data)
        if header[2] == 0x11:
            return b"\x90\x00"
        self.received.append(b"".join(self.blocks))
        self.blocks = []
        self.pending = self.reply
        return self._next_piece()

    def _next_piece(self) -> bytes:
        if len(self.pending) <= self.piece:
            out, self.pending = self.pending, b""
            return out + b"\x90\x00"
        out, self.pending = self.pending[: self.piece], self.pending[self.piece :]
        return out + bytes((0x61, min(len(self.pending), 256) & 0xFF))


# -- CLA ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "interindustry", "gp"),
    [
        (0, 0x00, 0x80),
        (1, 0x01, 0x81),
        (3, 0x03, 0x83),
        (4, 0x40, 0xC0),
        (5, 0x41, 0xC1),
        (19, 0x4F, 0xCF),
    ],
)
def test_cla_for_channel(channel: int, interindustry: int, gp: int) -> None:
    assert cla_for_channel(channel, proprietary=False) == interindustry
    assert cla_for_channel(channel, proprietary=True) == gp


@pytest.mark.parametrize("channel", [-1, 20])
def test_cla_rejects_channels_outside_0_to_19(channel: int) -> None:
    with pytest.raises(UsageError, match="0-19"):
        cla_for_channel(channel, proprietary=True)
    with pytest.raises(UsageError):
        ApduConfig(channel=channel)


def test_store_data_on_channel_4_uses_further_class() -> None:
    """FACTS.md trap: channels >= 4 use CLA C0 | (ch - 4), not 80 | ch."""
    apdus = store_data_apdus(b"\xbf\x3e\x00", ApduConfig(channel=4))
    assert apdus == [bytes.fromhex("C0E2910003BF3E0000")]
    card = ReassemblingCard(reply=bytes(300), piece=200, cla=0xC3)
    result, _ = drive(transmit_es10(b"\x01" * 10, ApduConfig(channel=7)), card)
    assert result == bytes(300)
    assert card.apdus[1][:4] == bytes.fromhex("43C00000"), "GET RESPONSE on channel 7"


# -- segmentation ---------------------------------------------------------------------------

SIZES = [0, 1, 254, 255, 256, 1000, 4000]
CONFIGS = [
    ApduConfig(channel=1, segment_size=63),
    ApduConfig(channel=1, segment_size=120),
    ApduConfig(channel=1, segment_size=255),
    ApduConfig(channel=1),
    ApduConfig(channel=1, extended=True),
    ApduConfig(channel=1, segment_size=1000, extended=True),
]


@pytest.mark.parametrize("config", CONFIGS, ids=repr)
@pytest.mark.parametrize("size", SIZES)
def test_segmentation(size: int, config: ApduConfig) -> None:
    request = bytes(i % 251 for i in range(size))
    apdus = store_data_apdus(request, config)
    expected_blocks = max(1, -(-size // config.block_size))
    assert len(apdus) == expected_blocks
    datas = []
    for n, apdu in enumerate(apdus):
        header, data, le = parse_c_apdu(apdu)
        last = n == len(apdus) - 1
        assert header == bytes((0x81, 0xE2, 0x91 if last else 0x11, n))
        assert le == (0 if last else None), "Le (00 or 0000) on the last block only"
        assert len(data) <= config.block_size
        datas.append(data)
    assert b"".join(datas) == request
    card = ReassemblingCard(reply=b"\xbf\x3e\x03\x5a\x01\x00")
    result, effects = drive(transmit_es10(request, config), card)
    assert card.received == [request]
    assert result == b"\xbf\x3e\x03\x5a\x01\x00"
    assert len(effects) == expected_blocks


def test_short_apdu_encoding_is_exact() -> None:
    assert store_data_apdus(b"", ApduConfig()) == [bytes.fromhex("80E2910000")]
    assert store_data_apdus(b"\xaa" * 255, ApduConfig())[0][:5] == bytes.fromhex("80E29100FF")
    two = store_data_apdus(b"\xaa" * 256, ApduConfig())
    assert [a[:5] for a in two] == [bytes.fromhex("80E21100FF"), bytes.fromhex("80E2910101")]


def test_extended_apdu_encoding_is_exact() -> None:
    [apdu] = store_data_apdus(b"\xaa" * 300, ApduConfig(extended=True))
    assert apdu[:7] == bytes.fromhex("80E2910000012C")
    assert apdu[7:] == b"\xaa" * 300 + b"\x00\x00", "Le 0000: up to 65536 bytes back"
    first, last = store_data_apdus(b"\xaa" * 300, ApduConfig(segment_size=200, extended=True))
    assert first[4:7] == bytes.fromhex("0000C8") and len(first) == 7 + 200, "no Le before"
    assert last[-2:] == b"\x00\x00"
    assert store_data_apdus(b"", ApduConfig(extended=True)) == [bytes.fromhex("80E29100000000")]
    assert ApduConfig(extended=True).block_size == EXTENDED_DEFAULT
    assert command_apdu(0, 0xC0, 0, 0, le=0, extended=True) == bytes.fromhex("00C00000000000")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"segment_size": 0}, "1-255"),
        ({"segment_size": 256}, "1-255"),
        ({"segment_size": 65536, "extended": True}, "1-65535"),
    ],
)
def test_config_rejects_bad_segment_size(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        ApduConfig(**kwargs)


def test_more_than_256_blocks_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="257 STORE DATA blocks"):
        store_data_apdus(bytes(63 * 256 + 1), ApduConfig(segment_size=63))


# -- answers --------------------------------------------------------------------------------


@pytest.mark.parametrize("piece", [2, 17, 255, 256])
def test_answer_in_several_61xx_pieces(piece: int) -> None:
    reply = bytes(range(256)) * 4 + b"\x01\x02\x03"
    card = ReassemblingCard(reply=reply, piece=piece)
    result, effects = drive(transmit_es10(b"\xbf\x2d\x00", ApduConfig(channel=1)), card)
    assert result == reply
    get_responses = [e.apdu for e in effects[1:]]
    assert len(get_responses) == -(-len(reply) // piece) - 1
    assert all(a[:4] == bytes.fromhex("01C00000") and len(a) == 5 for a in get_responses)


def test_get_response_le_follows_61xx_and_6cxx() -> None:
    answers = iter([b"\x61\x10", b"\x6c\x08", b"A" * 8 + b"\x90\x00"])
    result, effects = drive(exchange(b"\x00\xa4\x04\x00\x01\xaa\x00", 2), lambda _: next(answers))
    assert result == (b"A" * 8, 0x9000)
    assert [e.apdu for e in effects[1:]] == [
        bytes.fromhex("02C0000010"),
        bytes.fromhex("02C0000008"),
    ]


def test_endless_61xx_is_cut_off() -> None:
    with pytest.raises(ProtocolViolation, match="GET RESPONSE"):
        drive(exchange(b"\x80\xe2\x91\x00", 0), lambda _: b"\x00\x61\x01")


@pytest.mark.parametrize("sw", [0x6A88, 0x6985, 0x6D00, 0x6E00, 0x6700, 0x6F00])
def test_error_status_word_raises_apdu_error(sw: int) -> None:
    with pytest.raises(ApduError) as info:
        drive(transmit_es10(b"\xbf\x3e\x00", ApduConfig()), lambda _: sw.to_bytes(2, "big"))
    assert info.value.sw == sw
    assert f"{sw:04X}" in str(info.value)
    assert describe_sw(sw) in str(info.value)


def test_error_on_intermediate_block_stops_the_sequence() -> None:
    apdus: list[bytes] = []

    def card(apdu: bytes) -> bytes:
        apdus.append(apdu)
        return b"\x90\x00" if len(apdus) == 1 else b"\x6a\x80"

    with pytest.raises(ApduError, match="block 1 of 4"):
        drive(transmit_es10(bytes(1000), ApduConfig()), card)
    assert len(apdus) == 2


def test_data_before_last_block_is_a_protocol_violation() -> None:
    with pytest.raises(ProtocolViolation, match="empty answer before the last block"):
        drive(transmit_es10(bytes(300), ApduConfig()), lambda _: b"\x01\x90\x00")


@pytest.mark.parametrize("answer", [b"", b"\x90"])
def test_truncated_r_apdu_is_a_transport_error(answer: bytes) -> None:
    with pytest.raises(CardTransportError, match="at least 2 bytes"):
        drive(transmit_es10(b"\xbf\x3e\x00", ApduConfig()), lambda _: answer)


def test_describe_sw_patterns() -> None:
    assert describe_sw(0x6C10) == "wrong Le, 16 bytes available"
    assert describe_sw(0x63C2) == "verification failed, 2 retries left"
    assert describe_sw(0x1234) == "unknown status"


def test_thrown_transport_error_propagates() -> None:
    flow = transmit_es10(bytes(600), ApduConfig())
    next(flow)
    flow.send(b"\x90\x00")
    with pytest.raises(CardTransportError, match="removed"):
        flow.throw(CardTransportError("card removed"))


# -- ATR ------------------------------------------------------------------------------------

# A deployed eUICC's ATR: TA1 TD1 TD2 TA3, 15 historical bytes in category 80, TCK.
EUICC_ATR = bytes.fromhex("3B9F96801FC78031E073FE211B633A204E830090005B")


def test_atr_historical_bytes() -> None:
    assert atr_historical_bytes(EUICC_ATR) == bytes.fromhex("8031E073FE211B633A204E83009000")
    assert atr_historical_bytes(bytes.fromhex("3B00")) == b""
    assert atr_historical_bytes(bytes.fromhex("3B8F80")) == b"", "truncated: TD1 points past end"


def make_atr(historical: str, *, t1: bool = True) -> bytes:
    """An ATR with ``historical`` bytes; with ``t1``, TD1 TD2 announce T=1 and a TCK follows."""
    hist = bytes.fromhex(historical)
    if not t1:
        return bytes((0x3B, len(hist))) + hist
    return bytes((0x3B, 0x80 | len(hist), 0x80, 0x01)) + hist + b"\x00"


@pytest.mark.parametrize(
    ("atr", "extended"),
    [
        (EUICC_ATR, False),
        (make_atr("80 7300 00C0"), True),
        (make_atr("80 31E0 730000C0"), True),
        (make_atr("80 73000080"), False),
        (make_atr("80 720000"), False),
        (make_atr("00 73000040 829000", t1=False), True),
        (make_atr("00 829000 73", t1=False), False),
        (make_atr("10 01"), False),
        (b"", False),
    ],
)
def test_atr_supports_extended(atr: bytes, extended: bool) -> None:
    assert atr_supports_extended(atr) is extended


# -- BPP ------------------------------------------------------------------------------------


def _bpp(with_a2: bool = True, segments: int = 3) -> tuple[bytes, list[bytes]]:
    bf23 = tlv.build(0xBF23, b"\x80\x01\x01" + bytes(60))
    a0 = tlv.build(0xA0, tlv.build(0x87, bytes(40)))
    a1_items = [tlv.build(0x88, bytes(100)), tlv.build(0x88, bytes(30))]
    a2 = tlv.build(0xA2, tlv.build(0x87, bytes(50)))
    a3_items = [tlv.build(0x86, bytes([n]) * 1020) for n in range(segments)]
    a1 = tlv.build(0xA1, b"".join(a1_items))
    a3 = tlv.build(0xA3, b"".join(a3_items))
    bpp = tlv.build(0xBF36, bf23 + a0 + a1 + (a2 if with_a2 else b"") + a3)
    head = bpp[: len(bpp) - len(bf23 + a0 + a1 + (a2 if with_a2 else b"") + a3)]
    pieces = [head + bf23, a0, a1[: len(a1) - len(b"".join(a1_items))], *a1_items]
    if with_a2:
        pieces.append(a2)
    pieces += [a3[: len(a3) - len(b"".join(a3_items))], *a3_items]
    return bpp, pieces


@pytest.mark.parametrize("with_a2", [True, False])
def test_bpp_pieces_follow_the_standard(with_a2: bool) -> None:
    bpp, expected = _bpp(with_a2)
    pieces = bpp_pieces(bpp)
    assert pieces == expected
    assert b"".join(pieces) == bpp
    assert pieces[2] == bytes.fromhex("A18186"), "A1 header alone"


def test_bpp_further_87_in_a0_sent_alone() -> None:
    first, second = tlv.build(0x87, b"\x01" * 5), tlv.build(0x87, b"\x02" * 6)
    a0 = tlv.build(0xA0, first + second)
    bf23 = tlv.build(0xBF23, b"\x00")
    a1, a3 = tlv.build(0xA1, b""), tlv.build(0xA3, b"")
    bpp = tlv.build(0xBF36, bf23 + a0 + a1 + a3)
    assert bpp_pieces(bpp) == [bpp[:3] + bf23, a0[:2] + first, second, a1, a3]


@pytest.mark.parametrize(
    "body",
    [
        tlv.build(0xBF23, b"") + tlv.build(0xA1, b"") + tlv.build(0xA3, b""),
        tlv.build(0xA0, b"") + tlv.build(0xBF23, b"") + tlv.build(0xA1, b"") + tlv.build(0xA3, b""),
    ],
)
def test_bpp_with_wrong_layout_is_refused(body: bytes) -> None:
    with pytest.raises(ProtocolViolation, match="BF23 A0 A1"):
        bpp_pieces(tlv.build(0xBF36, body))
    with pytest.raises(ProtocolViolation, match="got BF37"):
        bpp_pieces(tlv.build(0xBF37, body))


def test_bpp_empty_a0_is_refused() -> None:
    bpp = tlv.build(
        0xBF36,
        tlv.build(0xBF23, b"") + tlv.build(0xA0, b"") + tlv.build(0xA1, b"") + tlv.build(0xA3, b""),
    )
    with pytest.raises(ProtocolViolation, match="at least one 87"):
        bpp_pieces(bpp)


class BppCard(ReassemblingCard):
    """Answers empty to each piece, and ``result`` to piece number ``answer_at``."""

    def __init__(self, result: bytes, answer_at: int) -> None:
        super().__init__()
        self.result, self.answer_at = result, answer_at

    def __call__(self, apdu: bytes) -> bytes:
        self.reply = self.result if len(self.received) + 1 == self.answer_at else b""
        return super().__call__(apdu)


@pytest.mark.parametrize("config", [ApduConfig(channel=1, segment_size=120), ApduConfig(channel=1)])
def test_load_bpp_sends_each_piece_and_reports_progress(config: ApduConfig) -> None:
    bpp, pieces = _bpp()
    result_tlv = tlv.build(0xBF37, bytes(80))
    card = BppCard(result_tlv, answer_at=len(pieces))
    result, effects = drive(load_bpp(bpp, config), card)
    assert result == result_tlv
    assert card.received == pieces
    progress = [e for e in effects if isinstance(e, Progress)]
    assert progress == [Progress("load_bpp", n, len(pieces)) for n in range(1, len(pieces) + 1)]


def test_load_bpp_stops_at_an_early_failure() -> None:
    bpp, pieces = _bpp()
    failure = tlv.build(0xBF37, b"\x01" * 20)
    card = BppCard(failure, answer_at=2)
    result, _ = drive(load_bpp(bpp, ApduConfig(channel=1)), card)
    assert result == failure
    assert card.received == pieces[:2]


def test_load_bpp_with_no_answer_is_a_protocol_violation() -> None:
    bpp, _ = _bpp(segments=1)
    with pytest.raises(ProtocolViolation, match="ProfileInstallationResult"):
        drive(load_bpp(bpp, ApduConfig(channel=1)), BppCard(b"", answer_at=0))


def _vector_bpp(vectors_dir: Path) -> bytes:
    data = json.loads((vectors_dir / "bsp.json").read_text())
    return base64.b64decode(data["bound_profile_package"]["bpp_base64"])


def test_bpp_pieces_of_the_vector_bpp(vectors_dir: Path) -> None:
    """The public 12.9 kB BPP (bsp.json): BF36+BF23, A0+87, A1, 88, A3, then each 86."""
    bpp = _vector_bpp(vectors_dir)
    pieces = bpp_pieces(bpp)
    assert b"".join(pieces) == bpp
    outer = tlv.parse(bpp)
    bf23, a0, a1, a3 = outer.children()
    assert pieces[0] == outer.header + bf23.raw
    assert pieces[1] == a0.raw
    assert pieces[2] == a1.header
    assert pieces[3 : 3 + len(a1.children())] == [c.raw for c in a1.children()]
    rest = pieces[3 + len(a1.children()) :]
    assert rest == [a3.header, *(c.raw for c in a3.children())]
    assert all(p[:1] == b"\x86" for p in rest[1:])
