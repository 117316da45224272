"""A card pulled out of a real reader mid-download (issues 5 and 7): pyscard -> pcscd -> vpcd.

The card goes away for real: the VirtualEuicc's drop fault (the bridge closes the vpcd link
while the APDU waits for its answer), the bridge's ``disconnect()`` between two APDUs, or a card
that installs the profile and is pulled before its answer leaves. Each time the client raises a
typed error at once (no transmit timeout), the card is put back, and a new client finds the card
consistent and finishes the job (the TestSmdp re-released when it refuses a second attempt).

Runs inside ``scripts/pcsc-sandbox``; skipped elsewhere, saying why.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from e2e_support import CARD_TIMEOUT, Served, serve
from pcsc_support import PcscReaders, Slot, wait_for_card
from pyrsp.activation_code import ActivationCode
from pyrsp.client import RspClient
from pyrsp.errors import CardRemovedError, DownloadError
from pyrsp.protocol.effects import Progress
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import OrderState
from pyrsp.transports.pcsc import PcscCardTransport

pytestmark = pytest.mark.pcsc

FAST = CARD_TIMEOUT / 2
"""A removal must be reported well before a transmit would time out."""


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve(TestPki.generate(seed=51), rng=52) as served:
        yield served


@pytest.fixture
def card(served: Served) -> VirtualEuicc:
    return VirtualEuicc(served.pki, rng=random.Random(53))


def pull_at(card: VirtualEuicc, stage: str, apdu: int) -> Callable[[Progress], None]:
    """A progress callback pulling the card at the ``apdu``-th APDU after ``stage`` begins."""
    armed = [True]

    def progress(event: Progress) -> None:
        if armed[0] and event.stage == stage:
            armed[0] = False
            card.faults.drop(at=card.faults.count + apdu)

    return progress


def reinsert(slot: Slot) -> None:
    """Put the card back once pcscd saw it go (power-on resets it)."""
    wait_for_card(slot.reader, present=False)
    slot.bridge.insert()


@dataclass
class Outcome:
    """What a download cut short by a removal left behind."""

    error: DownloadError
    seconds: float


def interrupted(
    served: Served, slot: Slot, code: ActivationCode, progress: Callable[[Progress], None]
) -> Outcome:
    """Run a download the card is pulled from; the DownloadError and how long it took."""
    start = time.monotonic()
    with pytest.raises(DownloadError) as info, served.client(slot.reader) as client:
        client.download(code, progress=progress)
    return Outcome(info.value, time.monotonic() - start)


def finish(served: Served, slot: Slot, code: ActivationCode) -> bool:
    """With a new client: deliver what is pending, then download ``code`` again, re-releasing
    the order once if the SM-DP+ refuses. Whether it had to be re-released."""
    with served.client(slot.reader, card_wait=5) as client:
        assert all(o.ok for o in client.process_notifications())
        try:
            client.download(code)
        except DownloadError as exc:
            assert exc.stage == "authenticate_client", exc
            served.smdp.release(code.matching_id)
            client.download(code)
            return True
    return False


@dataclass(frozen=True)
class Pull:
    """Where the card is pulled (``apdu``-th APDU after ``stage`` begins) and what follows."""

    stage: str
    apdu: int
    failed_at: str
    order_after: OrderState


@pytest.mark.parametrize(
    "pull",
    [
        Pull("authenticate_server", 1, "authenticate_server", OrderState.RELEASED),
        Pull("prepare_download", 1, "prepare_download", OrderState.RELEASED),
        Pull("load_bpp", 1, "load_bpp", OrderState.DOWNLOADED),
    ],
    ids=lambda pull: pull.stage,
)
def test_pulled_before_the_profile_exists_then_retried(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders, pull: Pull
) -> None:
    code = served.smdp.add_order()
    slot = pcsc_reader(card)
    outcome = interrupted(served, slot, code, pull_at(card, pull.stage, pull.apdu))
    assert outcome.error.stage == pull.failed_at
    assert isinstance(outcome.error.__cause__, CardRemovedError)
    assert outcome.seconds < FAST
    assert not slot.bridge.inserted
    assert served.smdp.order(code.matching_id).state is pull.order_after
    reinsert(slot)
    with served.client(slot.reader, card_wait=5) as client:
        assert client.profiles() == [] and client.list_notifications() == []
    assert not finish(served, slot, code), "the SM-DP+ allows this retry as it is"
    assert served.installs(code.matching_id) == 1
    assert len(card.profiles) == 1 and card.notifications == ()


def test_pulled_mid_bpp_reports_the_interruption_then_retried(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order()
    slot = pcsc_reader(card)
    outcome = interrupted(served, slot, code, pull_at(card, "load_bpp", 3))
    assert (outcome.error.stage, outcome.seconds < FAST) == ("load_bpp", True)
    assert isinstance(outcome.error.__cause__, CardRemovedError)
    reinsert(slot)
    with served.client(slot.reader, card_wait=5) as client:
        assert client.profiles() == []
        (pending,) = client.list_notifications()
        (delivered,) = client.process_notifications()
    assert (pending.event, delivered.ok) == ("install", True)
    failure = served.smdp.notifications[-1]
    assert (failure.event, failure.success, failure.verified) == ("install", False, True)
    assert failure.error_reason == 11  # installFailedDueToInterruption
    assert served.smdp.order(code.matching_id).state is OrderState.ERROR
    assert finish(served, slot, code), "an order in error must be re-released"
    assert served.installs(code.matching_id) == 1
    assert len(card.profiles) == 1 and card.notifications == ()


def test_bridge_disconnect_between_apdus(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order()
    slot = pcsc_reader(card)
    armed = [True]

    def pull(event: Progress) -> None:
        if armed[0] and event.stage == "prepare_download":
            armed[0] = False
            slot.bridge.disconnect()

    outcome = interrupted(served, slot, code, pull)
    assert (outcome.error.stage, outcome.seconds < FAST) == ("prepare_download", True)
    assert isinstance(outcome.error.__cause__, CardRemovedError)
    reinsert(slot)
    assert not finish(served, slot, code)
    assert served.installs(code.matching_id) == 1


class PulledAfterInstall:
    """Passes APDUs to the card; pulls the card as soon as an APDU installed a profile, so the
    eUICC holds the profile but its answer (the ProfileInstallationResult) is lost."""

    def __init__(self, card: VirtualEuicc) -> None:
        self.card = card

    def atr(self) -> bytes:
        return self.card.atr()

    def reset(self) -> None:
        self.card.reset()

    def transmit(self, apdu: bytes) -> bytes:
        before = len(self.card.profiles)
        answer = self.card.transmit(apdu)
        if len(self.card.profiles) > before:
            raise CardRemovedError("pulled out after installing, before answering")
        return answer


def test_answer_to_the_install_lost_then_its_notification_delivered(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order()
    slot = pcsc_reader(PulledAfterInstall(card))
    outcome = interrupted(served, slot, code, lambda _event: None)
    assert (outcome.error.stage, outcome.seconds < FAST) == ("load_bpp", True)
    assert isinstance(outcome.error.__cause__, CardRemovedError)
    assert served.smdp.order(code.matching_id).state is OrderState.DOWNLOADED
    reinsert(slot)
    with served.client(slot.reader, card_wait=5) as client:
        (profile,) = client.profiles()
        (delivered,) = client.process_notifications()
        assert client.list_notifications() == []
    assert (delivered.event, delivered.iccid, delivered.ok) == ("install", profile.iccid, True)
    assert served.smdp.order(code.matching_id).state is OrderState.INSTALLED
    assert served.smdp.notifications[-1].verified


def management_client(slot: Slot, *, card_wait: float = 0.0) -> RspClient:
    """A client with no SM-DP+, over PC/SC."""
    return RspClient(PcscCardTransport(slot.reader, timeout=CARD_TIMEOUT, card_wait=card_wait))


def test_pulled_during_a_management_command(card: VirtualEuicc, pcsc_reader: PcscReaders) -> None:
    slot = pcsc_reader(card)
    start = time.monotonic()
    with pytest.raises(CardRemovedError), management_client(slot) as client:
        card.faults.drop(at=card.faults.count + 1)
        client.profiles()
    assert time.monotonic() - start < FAST
    reinsert(slot)
    with management_client(slot, card_wait=5) as client:
        assert client.eid() == card.eid


@pytest.mark.anyio
async def test_async_client_pulled_mid_download(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order()
    slot = pcsc_reader(card)
    start = time.monotonic()
    with pytest.raises(DownloadError) as info:
        async with await served.async_client(slot.reader) as client:
            await client.download(code, progress=pull_at(card, "load_bpp", 1))
    assert time.monotonic() - start < FAST
    assert info.value.stage == "load_bpp"
    assert isinstance(info.value.__cause__, CardRemovedError)
    assert served.smdp.order(code.matching_id).state is OrderState.DOWNLOADED
    reinsert(slot)
    async with await served.async_client(slot.reader, card_wait=5) as client:
        assert await client.list_notifications() == []
        result = await client.download(code)
    assert [p.iccid for p in card.profiles] == [result.iccid]
    assert card.notifications == ()
