"""APDU layer of the virtual eUICC: cases, channels, CLA rules, SELECT, chaining, GET RESPONSE."""

from __future__ import annotations

import pytest

from pyrsp.errors import CardRemovedError
from pyrsp.testing.euicc.apdu import ISD_R_AID, ApduLayer, CardStatus, parse_command
from pyrsp.testing.euicc.faults import Faults

Card = tuple[ApduLayer, "Echo"]
SELECT = bytes.fromhex("00A40400") + bytes([len(ISD_R_AID)]) + ISD_R_AID


class Echo:
    """An ES10 handler that records sequences and answers a configured payload."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, bytes]] = []
        self.answer: bytes | None = None

    def __call__(self, channel: int, data: bytes) -> bytes:
        self.calls.append((channel, data))
        if data == b"\xee":
            raise CardStatus(0x6A80)
        return data if self.answer is None else self.answer


@pytest.fixture
def card() -> Card:
    handler = Echo()
    return ApduLayer(es10=handler), handler


def sw(answer: bytes) -> int:
    return int.from_bytes(answer[-2:], "big")


def store(cla: int, p1: int, p2: int, data: bytes, le: bytes = b"") -> bytes:
    return bytes([cla, 0xE2, p1, p2, len(data)]) + data + le


def selected(layer: ApduLayer, channel: int = 0) -> None:
    cla = channel if channel < 4 else 0x40 | (channel - 4)
    assert sw(layer.transmit(bytes([cla]) + SELECT[1:])) == 0x9000


# --- C-APDU cases (ISO 7816-4 section 5.1) ---------------------------------------------------


@pytest.mark.parametrize(
    ("hexapdu", "data", "le", "extended"),
    [
        ("80AA0000", "", None, False),
        ("00C0000010", "", 0x10, False),
        ("80E2910003010203", "010203", None, False),
        ("80E291000301020300", "010203", 0, False),
        ("80E29100000000", "", 0, True),
    ],
)
def test_parse_cases(hexapdu: str, data: str, le: int | None, extended: bool) -> None:
    command = parse_command(bytes.fromhex(hexapdu))
    assert (command.data.hex(), command.le, command.extended) == (data.lower(), le, extended)


def test_parse_extended_cases() -> None:
    body = bytes(300)
    case3 = bytes.fromhex("80E29100") + b"\x00" + (300).to_bytes(2, "big") + body
    case4 = case3 + b"\x00\x00"
    assert parse_command(case3).data == body
    assert parse_command(case3).le is None
    assert parse_command(case4).max_le == 65536


@pytest.mark.parametrize(
    "hexapdu",
    ["", "80", "80E291", "80E2910005AABB", "80E2910001AABBCC", "80E29100000005AA", "80E291000000"],
)
def test_wrong_length(card: Card, hexapdu: str) -> None:
    layer, _ = card
    assert layer.transmit(bytes.fromhex(hexapdu)) == b"\x67\x00"


# --- CLA and INS ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cla", "expected"),
    [
        (0x20, 0x6E00),
        (0xFF, 0x6E00),
        (0xA0, 0x6E00),
        (0x04, 0x6882),
        (0x60, 0x6882),
        (0x10, 0x6884),
    ],
)
def test_bad_cla(card: Card, cla: int, expected: int) -> None:
    layer, _ = card
    assert sw(layer.transmit(bytes([cla]) + SELECT[1:])) == expected


def test_unknown_instruction(card: Card) -> None:
    layer, _ = card
    assert layer.transmit(bytes.fromhex("00B0000000")) == b"\x6d\x00"


def test_class_must_match_instruction(card: Card) -> None:
    layer, _ = card
    assert sw(layer.transmit(bytes([0x80]) + SELECT[1:])) == 0x6E00
    selected(layer)
    assert sw(layer.transmit(store(0x00, 0x91, 0, b"\x01"))) == 0x6E00


# --- SELECT -----------------------------------------------------------------------------------


def test_select_isd_r_returns_fci(card: Card) -> None:
    layer, _ = card
    answer = layer.transmit(SELECT + b"\x00")
    assert answer[-2:] == b"\x90\x00"
    assert answer[0] == 0x6F
    assert ISD_R_AID in answer


def test_select_no_fci_and_partial_aid(card: Card) -> None:
    layer, _ = card
    assert layer.transmit(bytes.fromhex("00A4040C") + bytes([16]) + ISD_R_AID) == b"\x90\x00"
    partial = ISD_R_AID[:9]
    assert sw(layer.transmit(bytes.fromhex("00A40400") + bytes([9]) + partial)) == 0x9000


@pytest.mark.parametrize(
    ("header", "aid", "expected"),
    [
        ("00A40400", bytes.fromhex("A0000005591010FFFFFFFF8900000200"), 0x6A82),
        ("00A40000", ISD_R_AID, 0x6A86),
        ("00A40401", ISD_R_AID, 0x6A86),
        ("00A40400", ISD_R_AID[:4], 0x6700),
    ],
)
def test_select_errors(card: Card, header: str, aid: bytes, expected: int) -> None:
    layer, _ = card
    assert sw(layer.transmit(bytes.fromhex(header) + bytes([len(aid)]) + aid)) == expected


# --- MANAGE CHANNEL ---------------------------------------------------------------------------


def test_open_channels_up_to_19_then_refuse(card: Card) -> None:
    layer, _ = card
    for expected in range(1, 20):
        assert layer.transmit(bytes.fromhex("0070000001")) == bytes([expected, 0x90, 0x00])
    assert layer.transmit(bytes.fromhex("0070000001")) == b"\x6a\x81"


def test_channel_cla_rules(card: Card) -> None:
    layer, handler = card
    for _ in range(5):
        layer.transmit(bytes.fromhex("0070000001"))
    selected(layer, 3)
    selected(layer, 5)
    assert layer.transmit(store(0x83, 0x91, 0, b"\x01")) == b"\x01\x90\x00"
    assert layer.transmit(store(0xC1, 0x91, 0, b"\x02")) == b"\x02\x90\x00"
    assert handler.calls == [(3, b"\x01"), (5, b"\x02")]
    # the wrong encoding for channel 5 (0x80 | 5 is channel 1 with secure messaging bits)
    assert sw(layer.transmit(store(0x85, 0x91, 0, b"\x02"))) == 0x6882


def test_closed_channel_refused(card: Card) -> None:
    layer, _ = card
    assert sw(layer.transmit(bytes([0x01]) + SELECT[1:])) == 0x6881
    assert layer.transmit(bytes.fromhex("0070000001")) == b"\x01\x90\x00"
    assert layer.transmit(bytes.fromhex("01A4040010") + ISD_R_AID)[-2:] == b"\x90\x00"
    assert layer.transmit(bytes.fromhex("00708001")) == b"\x90\x00"
    assert sw(layer.transmit(bytes([0x01]) + SELECT[1:])) == 0x6881
    assert sw(layer.transmit(bytes.fromhex("00708001"))) == 0x6881


def test_manage_channel_p1p2(card: Card) -> None:
    layer, _ = card
    assert layer.transmit(bytes.fromhex("00700007")) == b"\x90\x00"
    assert sw(layer.transmit(bytes.fromhex("00700007"))) == 0x6A86
    assert sw(layer.transmit(bytes.fromhex("00708000"))) == 0x6A86  # basic channel
    assert sw(layer.transmit(bytes.fromhex("00701000"))) == 0x6A86
    assert sw(layer.transmit(bytes.fromhex("00700014"))) == 0x6A86
    assert layer.transmit(bytes.fromhex("4370800001")[:4]) == b"\x90\x00"  # close 7 on itself


def test_channel_opened_from_other_channel_inherits_selection(card: Card) -> None:
    layer, _ = card
    layer.transmit(bytes.fromhex("0070000001"))
    selected(layer, 1)
    assert layer.transmit(bytes.fromhex("0170000001")) == b"\x02\x90\x00"
    assert layer.transmit(store(0x82, 0x91, 0, b"\x05")) == b"\x05\x90\x00"


def test_reset_closes_channels(card: Card) -> None:
    layer, _ = card
    layer.transmit(bytes.fromhex("0070000001"))
    selected(layer, 1)
    layer.reset()
    assert sw(layer.transmit(store(0x81, 0x91, 0, b"\x01"))) == 0x6881
    assert sw(layer.transmit(store(0x80, 0x91, 0, b"\x01"))) == 0x6985


# --- TERMINAL CAPABILITY ----------------------------------------------------------------------


def test_terminal_capability(card: Card) -> None:
    layer, _ = card
    assert layer.transmit(bytes.fromhex("80AA000005A903830107")) == b"\x90\x00"
    assert layer.terminal_capability == bytes.fromhex("A903830107")
    assert layer.transmit(bytes.fromhex("80AA000003A90383")) == b"\x6a\x80"
    assert layer.transmit(bytes.fromhex("80AA010005A903830107")) == b"\x6a\x86"
    assert layer.transmit(bytes.fromhex("00AA000005A903830107")) == b"\x6e\x00"


# --- STORE DATA chaining ----------------------------------------------------------------------


def test_store_data_needs_isd_r(card: Card) -> None:
    layer, _ = card
    assert layer.transmit(store(0x80, 0x91, 0, b"\x01")) == b"\x69\x85"


def test_store_data_chain_reassembled(card: Card) -> None:
    layer, handler = card
    handler.answer = b""
    selected(layer)
    assert layer.transmit(store(0x80, 0x11, 0, b"\xaa" * 255)) == b"\x90\x00"
    assert layer.transmit(store(0x80, 0x11, 1, b"\xbb" * 255)) == b"\x90\x00"
    assert layer.transmit(store(0x80, 0x91, 2, b"\xcc"))[-2:] == b"\x90\x00"
    assert handler.calls == [(0, b"\xaa" * 255 + b"\xbb" * 255 + b"\xcc")]


@pytest.mark.parametrize(
    "blocks",
    [
        [(0x11, 0), (0x91, 2)],  # missing block 1
        [(0x11, 0), (0x11, 1), (0x11, 1)],  # repeated block
        [(0x11, 1)],  # does not start at 0
        [(0x91, 3)],
        [(0x11, 0), (0x21, 1)],  # bad P1
    ],
)
def test_store_data_bad_block_order(card: Card, blocks: list[tuple[int, int]]) -> None:
    layer, handler = card
    selected(layer)
    answers = [layer.transmit(store(0x80, p1, p2, b"\x01")) for p1, p2 in blocks]
    assert answers[-1] == b"\x6a\x86"
    assert handler.calls == []
    # the broken chain is gone: a fresh sequence from block 0 works
    assert layer.transmit(store(0x80, 0x91, 0, b"\x07")) == b"\x07\x90\x00"


def test_block_0_mid_chain_starts_a_new_command(card: Card) -> None:
    """An LPA whose chain broke (an error mid-sequence) starts over, e.g. with CancelSession."""
    layer, handler = card
    selected(layer)
    assert layer.transmit(store(0x80, 0x11, 0, b"\xaa")) == b"\x90\x00"
    assert layer.transmit(store(0x80, 0x91, 0, b"\x07")) == b"\x07\x90\x00"
    assert handler.calls == [(0, b"\x07")]


def test_store_data_empty_block(card: Card) -> None:
    layer, _ = card
    selected(layer)
    assert layer.transmit(bytes.fromhex("80E29100")) == b"\x67\x00"


def test_other_command_inside_chain(card: Card) -> None:
    layer, handler = card
    selected(layer)
    layer.transmit(store(0x80, 0x11, 0, b"\x01"))
    assert sw(layer.transmit(SELECT)) == 0x6883
    assert layer.transmit(store(0x80, 0x91, 1, b"\x02")) == b"\x6a\x86"
    assert handler.calls == []


def test_chains_are_per_channel(card: Card) -> None:
    layer, handler = card
    layer.transmit(bytes.fromhex("0070000001"))
    selected(layer)
    selected(layer, 1)
    layer.transmit(store(0x80, 0x11, 0, b"\x01"))
    layer.transmit(store(0x81, 0x11, 0, b"\x0a"))
    layer.transmit(store(0x81, 0x91, 1, b"\x0b"))
    layer.transmit(store(0x80, 0x91, 1, b"\x02"))
    assert handler.calls == [(1, b"\x0a\x0b"), (0, b"\x01\x02")]


def test_es10_status_passed_through(card: Card) -> None:
    layer, _ = card
    selected(layer)
    assert layer.transmit(store(0x80, 0x91, 0, b"\xee")) == b"\x6a\x80"


# --- long answers: 61xx and GET RESPONSE ------------------------------------------------------


def test_long_answer_via_get_response(card: Card) -> None:
    layer, handler = card
    selected(layer)
    handler.answer = bytes(range(256)) * 3 + b"\x01\x02"  # 770 bytes
    # Le 00 (ISO 7816-4 case 4): the first 256 bytes come at once, 61 xx announces the rest
    answer = layer.transmit(store(0x80, 0x91, 0, b"\x01", b"\x00"))
    assert answer == bytes(range(256)) + b"\x61\x00"
    got = answer[:-2]
    while answer[-2] == 0x61:
        answer = layer.transmit(bytes.fromhex("00C00000") + answer[-1:])
        got += answer[:-2]
    assert answer[-2:] == b"\x90\x00"
    assert got == handler.answer


def test_answer_of_256_fits(card: Card) -> None:
    layer, handler = card
    selected(layer)
    handler.answer = bytes(256)
    assert layer.transmit(store(0x80, 0x91, 0, b"\x01", b"\x00")) == bytes(256) + b"\x90\x00"
    handler.answer = bytes(257)
    assert layer.transmit(store(0x80, 0x91, 0, b"\x01", b"\x00")) == bytes(256) + b"\x61\x01"
    assert layer.transmit(bytes.fromhex("00C0000001")) == b"\x00\x90\x00"
    # without Le (case 3) no data comes with the 61 xx
    assert layer.transmit(store(0x80, 0x91, 0, b"\x01")) == b"\x61\x00"
    assert layer.transmit(bytes.fromhex("00C0000000")) == bytes(256) + b"\x61\x01"
    assert layer.transmit(bytes.fromhex("00C0000001")) == b"\x00\x90\x00"


def test_configurable_limit_and_extended_le(card: Card) -> None:
    layer, handler = card
    selected(layer)
    layer.response_limit = 16
    handler.answer = bytes(20)
    assert layer.transmit(store(0x80, 0x91, 0, b"\x01")) == b"\x61\x14"
    extended = bytes.fromhex("80E29100000001") + b"\x01" + b"\x00\x00"
    assert layer.transmit(extended) == bytes(20) + b"\x90\x00"


def test_get_response_errors(card: Card) -> None:
    layer, handler = card
    assert layer.transmit(bytes.fromhex("00C0000000")) == b"\x69\x85"
    selected(layer)
    handler.answer = bytes(300)
    layer.transmit(store(0x80, 0x91, 0, b"\x01"))
    assert layer.transmit(bytes.fromhex("00C0010000")) == b"\x6a\x86"
    # any other command drops the pending answer
    selected(layer)
    assert layer.transmit(bytes.fromhex("00C0000000")) == b"\x69\x85"


# --- faults -----------------------------------------------------------------------------------


def test_faults_status_drop_and_latency() -> None:
    slept: list[float] = []
    faults = Faults(latency=0.001, latency_per_byte=0.0001, sleep=slept.append)
    faults.answer_status(0x6F00, at=2)
    faults.drop(at=3)
    assert faults.before(b"\x00" * 4) is None
    faults.after(b"\x00" * 4, b"\x90\x00")
    assert slept == [pytest.approx(0.0016)]
    assert faults.before(b"\x00" * 4) == b"\x6f\x00"
    with pytest.raises(CardRemovedError):
        faults.before(b"\x00" * 4)
    with pytest.raises(CardRemovedError):
        faults.before(b"\x00" * 4)
