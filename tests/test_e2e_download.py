"""Whole downloads through the real stacks (issue 7 tests): the VirtualEuicc in a vpcd reader
(pyscard -> pcscd -> vpcd) and the TestSmdp on real HTTPS on loopback, with RspClient and
AsyncRspClient; NIST and brainpool; confirmation codes, consent, EID binding, notifications.

Runs inside ``scripts/pcsc-sandbox``; skipped elsewhere, saying why.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from e2e_support import Served, serve
from pcsc_support import PcscReaders
from pyrsp.errors import (
    DownloadDeclined,
    DownloadError,
    HttpTransportError,
    ServerTimeoutError,
    SmdpError,
)
from pyrsp.models import ProfileMetadata
from pyrsp.protocol.download import DownloadResult
from pyrsp.protocol.effects import Progress
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import OrderState

pytestmark = pytest.mark.pcsc

OTHER_EID = "89049032112341234012345678901375"
STAGES = [
    "initiate_authentication",
    "authenticate_server",
    "authenticate_client",
    "consent",
    "prepare_download",
    "get_bound_profile_package",
    "load_bpp",
    "install",
]


@pytest.fixture(scope="module", params=["nist", "brainpool"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    pki = TestPki.generate(seed=21, curve=request.param)
    with serve(pki, rng=22) as served:
        yield served


@pytest.fixture(autouse=True)
def _no_faults_left(served: Served) -> Iterator[None]:
    yield
    served.smdp.clear_faults()


@pytest.fixture
def card(served: Served) -> VirtualEuicc:
    return VirtualEuicc(served.pki, rng=random.Random(23))


def assert_installed_and_notified(
    served: Served,
    card: VirtualEuicc,
    result: DownloadResult,
    matching_id: str,
    *,
    deliveries: int = 1,
) -> None:
    """The profile is on the card, its install notification reached the SM-DP+ (``deliveries``
    times: an answer lost makes the LPA send it again) and left the card, the order is
    installed and the SM-DP+ session closed, all over HTTPS."""
    assert [(p.iccid, p.profile_name, p.enabled) for p in card.profiles] == [
        (result.iccid, result.profile_name, False)
    ]
    received = served.received(result.transaction_id)
    assert len(received) == deliveries
    if deliveries == 1:
        assert result.notification is not None and result.notification.ok
    first = received[0]
    assert (first.event, first.iccid, first.success) == ("install", result.iccid, True)
    assert first.verified, first.problem
    assert first.eid == card.eid
    # a redelivery is the same signed notification (the closed session no longer verifies it)
    assert all(again.raw == first.raw for again in received)
    assert card.notifications == ()
    assert served.smdp.order(matching_id).state is OrderState.INSTALLED
    assert served.installs(matching_id) == 1
    assert served.smdp.open_sessions == 0
    assert served.all_over_https()


def test_sync_download(served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders) -> None:
    code = served.smdp.add_order(profile_name="E2E sync", service_provider="pyrsp e2e")
    seen: list[ProfileMetadata] = []
    stages: list[str] = []

    def consent(metadata: ProfileMetadata) -> bool:
        seen.append(metadata)
        return True

    def progress(event: Progress) -> None:
        stages.append(event.stage)

    slot = pcsc_reader(card)
    with served.client(slot.reader) as client:
        result = client.download(code, confirm=consent, progress=progress)
        listed = client.profiles()
        pending = client.list_notifications()
    assert (result.profile_name, result.service_provider_name) == ("E2E sync", "pyrsp e2e")
    assert [(m.iccid, m.profile_name) for m in seen] == [(result.iccid, "E2E sync")]
    assert [s for s in STAGES if s in stages] == STAGES
    assert [(p.iccid, p.profile_name) for p in listed] == [(result.iccid, "E2E sync")]
    assert pending == []
    assert_installed_and_notified(served, card, result, code.matching_id)


@pytest.mark.anyio
async def test_async_download(served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders) -> None:
    code = served.smdp.add_order(profile_name="E2E async")
    slot = pcsc_reader(card)
    async with await served.async_client(slot.reader) as client:
        result = await client.download(code)
        assert await client.list_notifications() == []
        assert [p.iccid for p in await client.profiles()] == [result.iccid]
    assert result.profile_name == "E2E async"
    assert_installed_and_notified(served, card, result, code.matching_id)


def test_confirmation_code_right_then_wrong(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order(confirmation_code="7431")
    assert code.confirmation_code_required
    asked: list[str] = []

    def ask() -> str:
        asked.append("code")
        return "7431"

    slot = pcsc_reader(card)
    with served.client(slot.reader) as client:
        result = client.download(code, confirmation_code=ask)
        assert asked == ["code"]
        wrong = served.smdp.add_order(confirmation_code="7431")
        with pytest.raises(DownloadError) as info:
            client.download(wrong, confirmation_code="0000")
        assert [p.iccid for p in client.profiles()] == [result.iccid]
    assert_installed_and_notified(served, card, result, code.matching_id)
    assert info.value.stage == "get_bound_profile_package"
    assert isinstance(info.value.__cause__, SmdpError)
    assert info.value.__cause__.subject_code == "8.2.7"
    assert served.smdp.order(wrong.matching_id).state is not OrderState.INSTALLED


@pytest.mark.anyio
async def test_async_confirmation_code_from_an_async_callback(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order(confirmation_code="90210")

    async def ask() -> str:
        return "90210"

    slot = pcsc_reader(card)
    async with await served.async_client(slot.reader) as client:
        result = await client.download(code, confirmation_code=ask)
    assert_installed_and_notified(served, card, result, code.matching_id)


def test_no_confirmation_code_given_postpones_and_the_order_is_kept(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order(confirmation_code="7431")
    slot = pcsc_reader(card)
    with served.client(slot.reader) as client, pytest.raises(DownloadDeclined) as info:
        client.download(code, confirmation_code=lambda: None)
    assert (info.value.stage, info.value.cancel_reason) == ("confirmation_code", "postponed")
    assert card.profiles == () and card.notifications == ()
    assert served.smdp.order(code.matching_id).state is OrderState.RELEASED
    with served.client(slot.reader) as client:  # back with the code: the same order installs
        assert client.download(code, confirmation_code="7431").install.success


@pytest.mark.parametrize(("answer", "state"), [(False, "cancelled"), ("postponed", "released")])
def test_consent_declined_or_postponed(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders, answer: object, state: str
) -> None:
    code = served.smdp.add_order()
    slot = pcsc_reader(card)
    with served.client(slot.reader) as client:
        with pytest.raises(DownloadDeclined) as info:
            client.download(code, confirm=lambda _metadata: answer)
        assert client.profiles() == [] and client.list_notifications() == []
    reason = "postponed" if answer == "postponed" else "endUserRejection"
    assert (info.value.stage, info.value.cancel_reason) == ("consent", reason)
    assert served.smdp.order(code.matching_id).state.value == state
    assert served.smdp.open_sessions == 0
    assert card.profiles == () and card.notifications == ()


def test_order_bound_to_another_eid_is_refused(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    other = served.smdp.add_order(eid=OTHER_EID)
    mine = served.smdp.add_order(eid=card.eid)
    slot = pcsc_reader(card)
    with served.client(slot.reader) as client:
        with pytest.raises(DownloadError) as info:
            client.download(other)
        assert client.profiles() == []
        result = client.download(mine)
    assert info.value.stage == "authenticate_client"
    assert isinstance(info.value.__cause__, SmdpError)
    assert served.smdp.order(other.matching_id).state is OrderState.RELEASED
    assert_installed_and_notified(served, card, result, mine.matching_id)


def test_failed_notification_stays_on_the_card_and_is_delivered_later(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order()
    # the SM-DP+ takes the notification but its answer is an HTML 500: not an acceptance
    served.smdp.inject("http500", "handleNotification")
    slot = pcsc_reader(card)
    with served.client(slot.reader) as client:
        result = client.download(code)
        pending = client.list_notifications()
    assert result.install.success
    outcome = result.notification
    assert outcome is not None and not outcome.sent and not outcome.removed
    assert outcome.error_type == "ServerProtocolError", outcome
    assert [(n.seq_number, n.event, n.iccid) for n in pending] == [
        (outcome.seq_number, "install", result.iccid)
    ]
    assert len(card.notifications) == 1
    # a later session, with a new client, delivers it again and removes it
    with served.client(slot.reader) as client:
        (later,) = client.process_notifications()
        assert client.list_notifications() == []
    assert (later.seq_number, later.sent, later.removed) == (outcome.seq_number, True, True)
    assert_installed_and_notified(served, card, result, code.matching_id, deliveries=2)


@pytest.mark.anyio
async def test_async_failed_notification_is_delivered_later(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order()
    served.smdp.inject("http500", "handleNotification", times=2)
    slot = pcsc_reader(card)
    async with await served.async_client(slot.reader) as client:
        result = await client.download(code)
        (again,) = await client.process_notifications()
        assert not again.sent and len(card.notifications) == 1
        (later,) = await client.process_notifications()
    assert result.notification is not None and not result.notification.sent
    assert later.ok and later.seq_number == result.notification.seq_number
    assert_installed_and_notified(served, card, result, code.matching_id, deliveries=3)


@dataclass(frozen=True)
class LinkFault:
    """A connection failure injected at ES9+ ``step``, and what the client must make of it."""

    fault: str
    step: str
    stage: str
    cause: type[Exception]
    cancel_reason: str


@pytest.mark.parametrize(
    "link",
    [
        LinkFault(
            "drop",
            "getBoundProfilePackage",
            "get_bound_profile_package",
            HttpTransportError,
            "undefinedReason",
        ),
        LinkFault(
            "slow", "authenticateClient", "authenticate_client", ServerTimeoutError, "timeout"
        ),
    ],
    ids=lambda link: link.fault,
)
def test_connection_failures_cancel_both_sides_then_retry(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders, link: LinkFault
) -> None:
    code = served.smdp.add_order()
    sessions = served.smdp.open_sessions
    served.smdp.inject(link.fault, link.step, delay=1.0)
    slot = pcsc_reader(card)
    with served.client(slot.reader, http_timeout=0.5) as client:
        with pytest.raises(DownloadError) as info:
            client.download(code)
        assert client.profiles() == [] and client.list_notifications() == []
    assert (info.value.stage, type(info.value.__cause__)) == (link.stage, link.cause)
    assert info.value.cancel_reason == link.cancel_reason
    assert served.smdp.open_sessions == sessions, "the SM-DP+ session was cancelled"
    assert served.smdp.order(code.matching_id).state is OrderState.RELEASED
    with served.client(slot.reader) as client:
        result = client.download(code)
    assert_installed_and_notified(served, card, result, code.matching_id)


def test_dropped_notification_answer_over_https_is_not_an_acceptance(
    served: Served, card: VirtualEuicc, pcsc_reader: PcscReaders
) -> None:
    code = served.smdp.add_order()
    served.smdp.inject("drop", "handleNotification")
    slot = pcsc_reader(card)
    with served.client(slot.reader) as client:
        result = client.download(code)
    assert result.notification is not None
    assert not result.notification.sent, "the connection was dropped before any complete answer"
    assert len(card.notifications) == 1
