"""Profile management through the real PC/SC stack (issue 5): RspClient and AsyncRspClient over
pyscard -> pcscd -> vpcd -> VirtualEuicc, and the notifications those operations leave
delivered to the TestSmdp over real HTTPS.

Runs inside ``scripts/pcsc-sandbox``; skipped elsewhere, saying why.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from e2e_support import CARD_TIMEOUT, Served, serve
from pcsc_support import PcscReaders
from pyrsp.client import RspClient
from pyrsp.errors import EuiccError
from pyrsp.models import ProfileState
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.transports.pcsc import PcscCardTransport

pytestmark = pytest.mark.pcsc


@dataclass
class Loaded:
    """A card holding two disabled profiles, ``first`` and ``second``, no notification pending."""

    card: VirtualEuicc
    first: str
    second: str


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve(TestPki.generate(seed=41), rng=42) as served:
        yield served


@pytest.fixture
def loaded(served: Served) -> Loaded:
    card = VirtualEuicc(served.pki, rng=random.Random(43))
    with RspClient(card, served.smdp.http_transport()) as client:  # in-process: set-up only
        first = client.download(served.smdp.add_order(profile_name="First")).iccid
        second = client.download(served.smdp.add_order(profile_name="Second")).iccid
    assert card.notifications == ()
    return Loaded(card, first, second)


def pcsc_client(reader: str) -> RspClient:
    """A client with no SM-DP+: management only, over PC/SC."""
    return RspClient(PcscCardTransport(reader, timeout=CARD_TIMEOUT))


def states(client: RspClient) -> dict[str, tuple[ProfileState | None, str | None]]:
    return {p.iccid: (p.state, p.nickname) for p in client.profiles() if p.iccid}


def test_identity_and_capabilities(
    served: Served, loaded: Loaded, pcsc_reader: PcscReaders
) -> None:
    slot = pcsc_reader(loaded.card)
    with pcsc_client(slot.reader) as client:
        eid = client.eid()
        info1 = client.euicc_info1()
        info2 = client.euicc_info2()
        addresses = client.configured_addresses()
    ci_key_id = served.pki.ci_key_id.hex().upper()
    assert eid == loaded.card.eid == served.pki.eid
    assert info1.svn == "2.3.0"
    assert ci_key_id in info1.ci_pkids_for_verification
    assert ci_key_id in info1.ci_pkids_for_signing
    assert (info2.svn, info2.sas_accreditation_number) == ("2.3.0", "PYRSP-TEST")
    assert info2.ext_card_resource.installed_applications == 2
    free = info2.ext_card_resource.free_non_volatile_memory
    assert free is not None and free == loaded.card.core.free_memory
    assert ci_key_id in info2.ci_pkids_for_verification
    assert addresses.default_dp_address is None
    assert addresses.root_ds_address == "testrootsmds.example.com"


def test_profile_lifecycle_and_notifications(loaded: Loaded, pcsc_reader: PcscReaders) -> None:
    first, second = loaded.first, loaded.second
    slot = pcsc_reader(loaded.card)
    with pcsc_client(slot.reader) as client:
        assert states(client) == {first: ("disabled", None), second: ("disabled", None)}
        assert [p.profile_name for p in client.profiles(iccid=second)] == ["Second"]
        client.enable(first)
        client.set_nickname(second, "Travel")
        assert states(client) == {first: ("enabled", None), second: ("disabled", "Travel")}
        client.disable(first)
        client.delete(first)
        assert states(client) == {second: ("disabled", "Travel")}
        pending = client.list_notifications()
        deletes = client.list_notifications("delete")
        (signed,) = client.retrieve_notifications(event="enable")
    assert [(n.event, n.iccid) for n in pending] == [
        ("enable", first),
        ("disable", first),
        ("delete", first),
    ]
    assert [n.seq_number for n in deletes] == [pending[2].seq_number]
    assert signed.metadata == pending[0]
    assert signed.der == loaded.card.notifications[0].pending
    assert [(p.iccid, p.enabled, p.nickname) for p in loaded.card.profiles] == [
        (second, False, "Travel")
    ]


def test_remove_notification_and_errors_by_name(loaded: Loaded, pcsc_reader: PcscReaders) -> None:
    slot = pcsc_reader(loaded.card)
    with pcsc_client(slot.reader) as client:
        client.enable(loaded.first)
        with pytest.raises(EuiccError) as enabled:
            client.delete(loaded.first)
        with pytest.raises(EuiccError) as unknown:
            client.enable("8944000000000000000")
        (notification,) = client.list_notifications()
        client.remove_notification(notification.seq_number)
        assert client.list_notifications() == []
        with pytest.raises(EuiccError) as gone:
            client.remove_notification(notification.seq_number)
    assert (enabled.value.function, enabled.value.reason) == (
        "DeleteProfile",
        "profileNotInDisabledState",
    )
    assert unknown.value.reason == "iccidOrAidNotFound"
    assert gone.value.reason == "nothingToDelete"
    assert loaded.card.notifications == ()
    assert [p.enabled for p in loaded.card.profiles] == [True, False]


def test_default_smdp_address_set_and_removed(loaded: Loaded, pcsc_reader: PcscReaders) -> None:
    slot = pcsc_reader(loaded.card)
    with pcsc_client(slot.reader) as client:
        client.set_default_smdp("smdp.example.org")
        assert client.configured_addresses().default_dp_address == "smdp.example.org"
        client.set_default_smdp("")
        assert client.configured_addresses().default_dp_address is None


def test_management_notifications_delivered_over_https(
    served: Served, loaded: Loaded, pcsc_reader: PcscReaders
) -> None:
    before = len(served.smdp.notifications)
    slot = pcsc_reader(loaded.card)
    with served.client(slot.reader) as client:
        client.enable(loaded.second)
        client.enable(loaded.first)  # implicitly disables the second (SGP.22 section 3.2.1)
        outcomes = client.process_notifications()
        assert client.list_notifications() == []
    assert all(o.ok for o in outcomes), outcomes
    received = served.smdp.notifications[before:]
    events = [(n.event, n.iccid) for n in received]
    assert sorted(events) == sorted((o.event, o.iccid) for o in outcomes)
    assert ("enable", loaded.first) in events and ("disable", loaded.second) in events
    assert all(n.verified and n.eid == loaded.card.eid for n in received), received
    assert [n.seq_number for n in received] == sorted(n.seq_number for n in received)
    assert loaded.card.notifications == ()
    assert served.all_over_https()


@pytest.mark.anyio
async def test_async_management(served: Served, loaded: Loaded, pcsc_reader: PcscReaders) -> None:
    slot = pcsc_reader(loaded.card)
    async with await served.async_client(slot.reader) as client:
        assert await client.eid() == loaded.card.eid
        assert (await client.euicc_info2()).svn == "2.3.0"
        await client.enable(loaded.second)
        await client.set_nickname(loaded.second, "Home")
        enabled = [p.iccid for p in await client.profiles() if p.state == "enabled"]
        (notification,) = await client.list_notifications()
        await client.remove_notification(notification.seq_number)
        assert await client.list_notifications() == []
    assert enabled == [loaded.second]
    assert [(p.enabled, p.nickname) for p in loaded.card.profiles] == [
        (False, None),
        (True, "Home"),
    ]
