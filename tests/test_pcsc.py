"""The real PC/SC path: pyscard -> pcscd -> vpcd -> VpcdBridge -> a test card.

Runs inside ``scripts/pcsc-sandbox`` (``make test``); skipped elsewhere, saying why.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from pcsc_support import ATR, INS_HANG, INS_PULL, EchoCard, PcscReaders, wait_for_card
from pyrsp.errors import CardRemovedError, CardTimeoutError, CardTransportError, NoReaderError
from pyrsp.transports.pcsc import AsyncPcscCardTransport, PcscCardTransport, list_readers

pytestmark = pytest.mark.pcsc

SHORT = bytes([0x80, 0xE2, 0x91, 0x00, 0xFF]) + bytes(range(255))


def test_reader_name_atr_and_protocol(pcsc_reader: PcscReaders) -> None:
    slot = pcsc_reader(EchoCard())
    assert slot.reader in list_readers()
    with PcscCardTransport(slot.reader) as card:
        assert card.reader == slot.reader
        assert card.atr() == ATR
        assert card.protocol in ("T0", "T1")


def test_short_apdus_round_trip(pcsc_reader: PcscReaders) -> None:
    echo = EchoCard()
    slot = pcsc_reader(echo)
    with PcscCardTransport(slot.reader) as card:
        assert card.transmit(SHORT) == bytes(range(255)) + b"\x90\x00"
        assert card.transmit(bytes.fromhex("00700000")) == b"\x90\x00"
    assert echo.received == [SHORT, bytes.fromhex("00700000")]


def test_extended_apdus_round_trip(pcsc_reader: PcscReaders) -> None:
    data = bytes(i % 251 for i in range(4000))
    apdu = bytes([0x80, 0xE2, 0x91, 0x00, 0x00]) + len(data).to_bytes(2, "big") + data
    slot = pcsc_reader(EchoCard())
    with PcscCardTransport(slot.reader) as card:
        assert card.transmit(apdu) == data + b"\x90\x00"


def test_reader_selection_rules(pcsc_reader: PcscReaders) -> None:
    slot = pcsc_reader(EchoCard())
    readers = list_readers()
    index = readers.index(slot.reader)
    others = [r for r in readers if r != slot.reader]
    for choice in (slot.reader, slot.reader[-5:].lower(), index):
        with PcscCardTransport(choice) as card:
            assert card.reader == slot.reader
    with PcscCardTransport("virtual pcd", ignore=others) as card:
        assert card.reader == slot.reader
    with pytest.raises(NoReaderError, match="no such reader"):
        PcscCardTransport("no such reader")
    with pytest.raises(NoReaderError, match="index 7"):
        PcscCardTransport(7)


def test_empty_reader_is_card_removed(pcsc_reader: PcscReaders) -> None:
    empty = pcsc_reader.empty().reader
    with pytest.raises(CardRemovedError, match="SCARD_E_NO_SMARTCARD"):
        PcscCardTransport(empty)
    with pytest.raises(CardRemovedError, match=r"expected a card in reader .* within 0\.2 s"):
        PcscCardTransport(empty, card_wait=0.2)


def test_card_pulled_between_apdus(pcsc_reader: PcscReaders) -> None:
    slot = pcsc_reader(EchoCard())
    with PcscCardTransport(slot.reader, timeout=5) as card:
        card.transmit(SHORT)
        slot.bridge.disconnect()
        started = time.monotonic()
        with pytest.raises(CardRemovedError) as caught:
            card.transmit(SHORT)
        assert time.monotonic() - started < 2
        assert getattr(caught.value.__cause__, "hresult", None) is not None


def test_card_pulled_mid_apdu(pcsc_reader: PcscReaders) -> None:
    echo = EchoCard()
    slot = pcsc_reader(echo)
    echo.on_pull = slot.bridge.disconnect
    with PcscCardTransport(slot.reader, timeout=5) as card:
        with pytest.raises(CardRemovedError):
            card.transmit(bytes([0x80, INS_PULL, 0, 0]))
        with pytest.raises(CardRemovedError):
            card.transmit(SHORT)


def test_card_put_back_works_again(pcsc_reader: PcscReaders) -> None:
    slot = pcsc_reader(EchoCard())
    slot.bridge.disconnect()
    wait_for_card(slot.reader, present=False)
    slot.bridge.insert()
    with PcscCardTransport(slot.reader, card_wait=5) as card:
        assert card.transmit(SHORT)[-2:] == b"\x90\x00"


def test_card_that_never_answers_times_out(pcsc_reader: PcscReaders) -> None:
    echo = EchoCard()
    slot = pcsc_reader(echo)
    card = PcscCardTransport(slot.reader, timeout=0.3)
    started = time.monotonic()
    with pytest.raises(CardTimeoutError, match=r"within 0\.3 s"):
        card.transmit(bytes([0x80, INS_HANG, 0, 0]))
    assert time.monotonic() - started < 1.5
    with pytest.raises(CardTransportError, match="abandoned"):
        card.transmit(SHORT)
    card.close()  # must not block behind the hung transmit
    assert time.monotonic() - started < 1.5
    slot.bridge.disconnect()  # frees pcscd's reader thread
    echo.release()


def test_trace_sees_every_command_and_response(pcsc_reader: PcscReaders) -> None:
    seen: list[tuple[str, bytes]] = []
    slot = pcsc_reader(EchoCard())
    with PcscCardTransport(slot.reader, trace=lambda kind, data: seen.append((kind, data))) as card:
        answer = card.transmit(SHORT)
    assert seen == [("C-APDU", SHORT), ("R-APDU", answer)]


def test_async_transport(pcsc_reader: PcscReaders) -> None:
    echo = EchoCard()
    slot = pcsc_reader(echo)

    async def run() -> None:
        async with await AsyncPcscCardTransport.connect(slot.reader) as card:
            assert card.reader == slot.reader
            assert await card.atr() == ATR
            assert await card.transmit(SHORT) == bytes(range(255)) + b"\x90\x00"
        hung = await AsyncPcscCardTransport.connect(slot.reader, timeout=0.3)
        with pytest.raises(CardTimeoutError):
            await hung.transmit(bytes([0x80, INS_HANG, 0, 0]))
        await hung.close()

    asyncio.run(run())
    slot.bridge.disconnect()
    echo.release()


def test_round_trips_do_not_stall(pcsc_reader: PcscReaders) -> None:
    # Without TCP_QUICKACK on the card side each APDU stalls about 40 ms (FACTS.md).
    slot = pcsc_reader(EchoCard())
    with PcscCardTransport(slot.reader) as card:
        started = time.monotonic()
        for _ in range(50):
            card.transmit(SHORT)
        assert time.monotonic() - started < 1.0


def test_a_hung_card_does_not_block_another_reader(pcsc_reader: PcscReaders) -> None:
    hung, fine = EchoCard(), EchoCard()
    first, second = pcsc_reader(hung), pcsc_reader(fine)

    async def run() -> None:
        stuck = await AsyncPcscCardTransport.connect(first.reader, timeout=2)
        other = await AsyncPcscCardTransport.connect(second.reader, timeout=2)
        waiting = asyncio.create_task(stuck.transmit(bytes([0x80, INS_HANG, 0, 0])))
        for _ in range(5):
            assert await other.transmit(SHORT) == bytes(range(255)) + b"\x90\x00"
        assert not waiting.done()
        first.bridge.disconnect()
        with pytest.raises(CardRemovedError):
            await waiting
        await stuck.close()
        await other.close()

    asyncio.run(run())
    hung.release()
