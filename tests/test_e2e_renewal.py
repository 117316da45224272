"""The renewal workflow (issue 8) over both real stacks: the card in a vpcd reader (pyscard ->
pcscd -> vpcd) and the TestSmdp on real HTTPS on loopback, with a file journal; once straight
through, and once with the card pulled out for real mid-way and the renewal run again.

Runs inside ``scripts/pcsc-sandbox``; skipped elsewhere, saying why.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e_support import Served, serve
from pcsc_support import PcscReaders, wait_for_card
from pyrsp.activation_code import ActivationCode
from pyrsp.client import RspClient
from pyrsp.errors import CardRemovedError
from pyrsp.journal import FileJournal
from pyrsp.protocol.effects import Progress
from pyrsp.protocol.renewal import journal_key
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki

pytestmark = pytest.mark.pcsc

NEW_ICCID = "8944476500000000029"


@dataclass
class Plan:
    """A card whose old profile is enabled (its notifications delivered) and a new order."""

    card: VirtualEuicc
    old_iccid: str
    new_code: ActivationCode


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve(TestPki.generate(seed=61), rng=62) as served:
        yield served


@pytest.fixture
def plan(served: Served) -> Plan:
    card = VirtualEuicc(served.pki, rng=random.Random(63))
    old = served.smdp.add_order(profile_name="Plan 2025")
    new = served.smdp.add_order(profile_name="Plan 2026", iccid=NEW_ICCID)
    with RspClient(card, served.smdp.http_transport()) as client:  # in-process: set-up only
        old_iccid = client.download(old).iccid
        client.enable(old_iccid)
        client.process_notifications()
    assert card.notifications == ()
    return Plan(card, old_iccid, new)


def assert_renewed(served: Served, plan: Plan, before: int) -> None:
    """Only the new profile, enabled; installed once; every notification delivered verified."""
    assert [(p.iccid, p.enabled) for p in plan.card.profiles] == [(NEW_ICCID, True)]
    assert plan.card.notifications == ()
    assert served.installs(plan.new_code.matching_id) == 1
    received = served.smdp.notifications[before:]
    events = Counter((n.event, n.iccid) for n in received)
    assert events[("install", NEW_ICCID)] == 1
    assert events[("enable", NEW_ICCID)] == 1
    assert events[("delete", plan.old_iccid)] == 1
    assert all(n.verified for n in received), [n.problem for n in received]
    assert served.all_over_https()


def test_renewal_over_pcsc_and_https(
    served: Served, plan: Plan, pcsc_reader: PcscReaders, tmp_path: Path
) -> None:
    before = len(served.smdp.notifications)
    journal = FileJournal(tmp_path)
    slot = pcsc_reader(plan.card)
    with served.client(slot.reader) as client:
        result = client.renew(
            plan.new_code, replace=plan.old_iccid, delete_old=True, journal=journal
        )
    assert result.download is not None and result.download.profile_name == "Plan 2026"
    assert (result.new_iccid, result.old_iccid) == (NEW_ICCID, plan.old_iccid)
    assert result.enabled and result.old_disabled and result.old_deleted
    assert result.complete and not result.resumed
    assert dict(journal.load(journal_key(plan.new_code)) or {})["stage"] == "done"
    assert_renewed(served, plan, before)


def test_renewal_resumed_after_the_card_was_pulled(
    served: Served, plan: Plan, pcsc_reader: PcscReaders, tmp_path: Path
) -> None:
    before = len(served.smdp.notifications)
    slot = pcsc_reader(plan.card)

    def pull_when_retiring(event: Progress) -> None:
        if event.stage == "retire":
            slot.bridge.disconnect()

    with pytest.raises(CardRemovedError), served.client(slot.reader) as client:
        client.renew(
            plan.new_code,
            replace=plan.old_iccid,
            delete_old=True,
            journal=FileJournal(tmp_path),
            progress=pull_when_retiring,
        )
    assert dict(FileJournal(tmp_path).load(journal_key(plan.new_code)) or {})["stage"] == (
        "enabled"
    )
    wait_for_card(slot.reader, present=False)
    slot.bridge.insert()
    with served.client(slot.reader, card_wait=5) as client:
        again = client.renew(
            plan.new_code, replace=plan.old_iccid, delete_old=True, journal=FileJournal(tmp_path)
        )
    assert again.resumed and again.download is None and not again.enabled
    assert again.old_deleted and again.complete
    assert_renewed(served, plan, before)
