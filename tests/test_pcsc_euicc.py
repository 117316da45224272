"""The VirtualEuicc in a real PC/SC reader: pyscard -> pcscd -> vpcd -> VpcdBridge -> card.

The same APDUs give the same answers as the in-process card; the ``python -m
pyrsp.testing.vpcd`` entry serves a saved card; a dropped-link fault is a card removal.
Runs inside ``scripts/pcsc-sandbox``; skipped elsewhere, saying why.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from pcsc_support import PcscReaders, wait_for_card
from pyrsp.errors import CardRemovedError
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.euicc.apdu import ISD_R_AID
from pyrsp.testing.pki import TestPki
from pyrsp.transports.pcsc import PcscCardTransport

pytestmark = pytest.mark.pcsc

OPENING = [
    bytes.fromhex("80AA000005A903830107"),  # TERMINAL CAPABILITY
    bytes.fromhex("0070000001"),  # MANAGE CHANNEL open
    bytes.fromhex("01A4040010") + ISD_R_AID + b"\x00",  # SELECT ISD-R on channel 1
]
ES10 = [
    bytes.fromhex("81E2910006BF3E035C015A"),  # GetEID
    bytes.fromhex("81E2910003BF2000"),  # GetEUICCInfo1
    bytes.fromhex("81E2910003BF2E00"),  # GetEUICCChallenge
    bytes.fromhex("81E2910003BF2200"),  # GetEUICCInfo2
    bytes.fromhex("00708001"),  # MANAGE CHANNEL close
]


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=1)


def session(transmit: Callable[[bytes], bytes], apdus: list[bytes]) -> list[tuple[bytes, bytes]]:
    """Send ``apdus`` (fetching ``61 xx`` remainders with GET RESPONSE); every exchange."""
    exchanges = []
    for apdu in apdus:
        answer = transmit(apdu)
        exchanges.append((apdu, answer))
        while answer[-2] == 0x61:
            fetch = bytes([apdu[0] & 0x03, 0xC0, 0, 0, answer[-1]])
            answer = transmit(fetch)
            exchanges.append((fetch, answer))
    return exchanges


def test_same_answers_as_the_in_process_card(pki: TestPki, pcsc_reader: PcscReaders) -> None:
    local = VirtualEuicc(pki, rng=random.Random(7))
    remote = VirtualEuicc(pki, rng=random.Random(7))
    slot = pcsc_reader(remote)
    with PcscCardTransport(slot.reader) as card:
        assert card.reader in {"Virtual PCD 00 00", "Virtual PCD 00 01"}
        assert card.atr() == local.atr()
        through_pcsc = session(card.transmit, OPENING + ES10)
    expected = session(local.transmit, OPENING + ES10)
    assert through_pcsc == expected
    assert expected[1][1] == b"\x01\x90\x00"
    assert expected[3][1][:3] == b"\xbf\x3e\x12"


def test_dropped_link_fault_is_a_card_removal(pki: TestPki, pcsc_reader: PcscReaders) -> None:
    euicc = VirtualEuicc(pki, rng=random.Random(7))
    euicc.faults.drop(at=2)
    slot = pcsc_reader(euicc)
    with PcscCardTransport(slot.reader, timeout=5) as card:
        assert card.transmit(OPENING[1])[-2:] == b"\x90\x00"
        with pytest.raises(CardRemovedError):
            card.transmit(OPENING[1])
    assert not slot.bridge.inserted
    wait_for_card(slot.reader, present=False)
    slot.bridge.insert()  # power-on resets the card, which clears the fault
    with PcscCardTransport(slot.reader, card_wait=5) as card:
        assert card.transmit(OPENING[1]) == b"\x01\x90\x00"


def test_module_entry_serves_a_saved_card(
    pki: TestPki, pcsc_reader: PcscReaders, tmp_path: Path
) -> None:
    saved = VirtualEuicc(pki, state_dir=tmp_path / "card")
    slot = pcsc_reader.empty()
    command = [sys.executable, "-m", "pyrsp.testing.vpcd", "--state", str(tmp_path / "card")]
    server = subprocess.Popen(
        [*command, "--port", str(slot.port)], stderr=subprocess.PIPE, env=os.environ.copy()
    )
    try:
        with PcscCardTransport(slot.reader, card_wait=10) as card:
            exchanges = session(card.transmit, OPENING + ES10[:1])
        eid = exchanges[3][1][5:21].hex().upper()
        assert eid == saved.eid
    finally:
        server.terminate()
        _, errors = server.communicate(timeout=10)
    assert server.returncode == 0, errors.decode()
    wait_for_card(slot.reader, present=False)
