"""pyrsp.protocol.session: opening and closing the ISD-R session with APDUs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from pyrsp.errors import ApduError, CardRemovedError, IsdRNotFoundError, ProtocolViolation
from pyrsp.protocol.effects import Flow, Transmit
from pyrsp.protocol.session import (
    ISDR_AID,
    ISDR_AIDS,
    TERMINAL_CAPABILITY,
    IsdRSession,
    close_isdr,
    open_isdr,
)

FIVE_BER = bytes.fromhex("A0000005591010FFFFFFFF8900050500")
FCI = bytes.fromhex("6F108410") + ISDR_AID


class SessionCard:
    """A scripted card for the session APDUs; records every C-APDU."""

    def __init__(
        self,
        aids: Sequence[bytes] = (ISDR_AID,),
        channel: int = 1,
        manage_channel_sw: bytes = b"\x90\x00",
        terminal_capability_sw: bytes = b"\x90\x00",
        select_in_pieces: bool = False,
    ) -> None:
        self.aids, self.channel = list(aids), channel
        self.manage_channel_sw, self.terminal_capability_sw = (
            manage_channel_sw,
            terminal_capability_sw,
        )
        self.select_in_pieces = select_in_pieces
        self.apdus: list[bytes] = []

    def __call__(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        ins, p1 = apdu[1], apdu[2]
        if apdu == TERMINAL_CAPABILITY:
            return self.terminal_capability_sw
        if ins == 0x70 and p1 == 0x00:
            ok = self.manage_channel_sw == b"\x90\x00"
            return (bytes((self.channel,)) if ok else b"") + self.manage_channel_sw
        if ins == 0x70 and p1 == 0x80:
            return b"\x90\x00"
        if ins == 0xA4:
            aid = apdu[5 : 5 + apdu[4]]
            if aid not in self.aids:
                return b"\x6a\x82"
            return bytes((0x61, len(FCI))) if self.select_in_pieces else FCI + b"\x90\x00"
        if ins == 0xC0:
            return FCI + b"\x90\x00"
        return b"\x6d\x00"


def drive(flow: Flow[Any], card: SessionCard) -> Any:
    answer: Any = None
    try:
        while True:
            effect = flow.send(answer)
            assert isinstance(effect, Transmit)
            answer = card(effect.apdu)
    except StopIteration as stop:
        return stop.value


def select(cla: int, aid: bytes) -> bytes:
    return bytes((cla, 0xA4, 0x04, 0x00, len(aid))) + aid + b"\x00"


def test_open_standard_isdr_on_channel_1() -> None:
    card = SessionCard()
    assert drive(open_isdr(), card) == IsdRSession(channel=1, aid=ISDR_AID)
    assert card.apdus == [
        bytes.fromhex("80AA000005A903830107"),
        bytes.fromhex("0070000001"),
        select(0x01, ISDR_AID),
    ]


@pytest.mark.parametrize("sw", [b"\x6d\x00", b"\x6e\x00", b"\x6a\x86"])
def test_terminal_capability_error_is_ignored(sw: bytes) -> None:
    card = SessionCard(terminal_capability_sw=sw)
    assert drive(open_isdr(), card).channel == 1


def test_removable_euicc_aid_fallback() -> None:
    """FACTS.md trap: removable eUICCs answer on another ISD-R AID; try the list in order."""
    card = SessionCard(aids=[FIVE_BER])
    assert drive(open_isdr(), card) == IsdRSession(channel=1, aid=FIVE_BER)
    assert [a for a in card.apdus if a[1] == 0xA4] == [select(0x01, aid) for aid in ISDR_AIDS[:3]]


@pytest.mark.parametrize(("channel", "cla"), [(3, 0x03), (4, 0x40), (5, 0x41), (19, 0x4F)])
def test_select_on_high_channel_uses_right_cla(channel: int, cla: int) -> None:
    """FACTS.md trap: channels >= 4 use CLA 40 | (ch - 4)."""
    card = SessionCard(channel=channel, select_in_pieces=True)
    assert drive(open_isdr(), card) == IsdRSession(channel=channel, aid=ISDR_AID)
    assert card.apdus[2] == select(cla, ISDR_AID)
    assert card.apdus[3] == bytes((cla, 0xC0, 0x00, 0x00, len(FCI)))


def test_no_isdr_closes_the_channel_and_names_each_aid() -> None:
    card = SessionCard(aids=[], channel=2)
    with pytest.raises(IsdRNotFoundError) as info:
        drive(open_isdr(), card)
    assert card.apdus[-1] == bytes.fromhex("00708002")
    for aid in ISDR_AIDS:
        assert f"{aid.hex().upper()}: 6A82" in str(info.value)


def test_custom_aid_list() -> None:
    card = SessionCard(aids=[FIVE_BER])
    assert drive(open_isdr([FIVE_BER]), card).aid == FIVE_BER
    assert len([a for a in card.apdus if a[1] == 0xA4]) == 1


@pytest.mark.parametrize("sw", [b"\x68\x81", b"\x6a\x81", b"\x6d\x00"])
def test_card_without_logical_channels_uses_basic_channel(sw: bytes) -> None:
    card = SessionCard(manage_channel_sw=sw)
    assert drive(open_isdr(), card) == IsdRSession(channel=0, aid=ISDR_AID)
    assert card.apdus[-1] == select(0x00, ISDR_AID)
    drive(close_isdr(0), card)
    assert card.apdus[-1] == select(0x00, ISDR_AID), "the basic channel is never closed"


@pytest.mark.parametrize(
    "answer", [b"\x90\x00", b"\x00\x90\x00", b"\x14\x90\x00", b"\x01\x01\x90\x00"]
)
def test_bad_manage_channel_answer_is_a_protocol_violation(answer: bytes) -> None:
    def card(apdu: bytes) -> bytes:
        return answer if apdu[1] == 0x70 else b"\x90\x00"

    flow = open_isdr()
    with pytest.raises(ProtocolViolation, match="channel number 1-19"):
        effect = next(flow)
        while True:
            assert isinstance(effect, Transmit)
            effect = flow.send(card(effect.apdu))


def test_close_channel() -> None:
    card = SessionCard()
    assert drive(close_isdr(7), card) is None
    assert card.apdus == [bytes.fromhex("00708007")]


def test_close_refused_raises_apdu_error() -> None:
    flow = close_isdr(3)
    next(flow)
    with pytest.raises(ApduError) as info:
        flow.send(b"\x68\x81")
    assert info.value.sw == 0x6881


def test_card_removed_during_select_propagates() -> None:
    flow = open_isdr()
    next(flow)
    flow.send(b"\x90\x00")
    flow.send(b"\x01\x90\x00")
    with pytest.raises(CardRemovedError):
        flow.throw(CardRemovedError("card removed"))
