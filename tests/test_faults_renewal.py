"""The card removed, reset or failing at every APDU of a renewal (issue 9, item 3).

The renewal (``RspClient.renew``: download the new profile, enable it, disable and delete the
old one, deliver every notification) runs once per APDU index n with one fault at APDU n, then
again with the same journal until it reports complete, as an operator would (re-releasing the
order if the SM-DP+ refuses it). ``tests/test_renewal.py`` checks the end state after a
removal; this adds the silent reset and the ``6F00`` answer, and the strict check that every
notification the card ever held (install, enable, disable, delete) is still on it or reached
the SM-DP+ byte for byte, after the faulty run and after the reruns.
"""

from __future__ import annotations

import contextlib
from collections import Counter

import pytest

from hostile_support import (
    CARD_FAULTS,
    WatchedCard,
    World,
    assert_all_delivered,
    assert_nothing_lost,
)
from pyrsp.activation_code import ActivationCode
from pyrsp.errors import DownloadError, PyrspError, SmdpError
from pyrsp.journal import MemoryJournal
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp.orders import OrderState

SEED = 61
OLD, NEW = "8944476500000000615", "8944476500000000623"


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=SEED)


def _world(pki: TestPki) -> tuple[World, ActivationCode]:
    """A card with the old profile enabled (notifications delivered) and the new order."""
    world = World.make(pki, seed=SEED)
    old = world.smdp.add_order(iccid=OLD, profile_name="Plan 2025")
    new = world.smdp.add_order(iccid=NEW, profile_name="Plan 2026")
    with world.client() as client:
        client.download(old)
        client.enable(OLD)
        client.process_notifications()
    return world, new


def _renew(world: World, new: ActivationCode, journal: MemoryJournal) -> bool:
    with world.client() as client:
        return client.renew(new, replace=OLD, delete_old=True, journal=journal).complete


@pytest.fixture(scope="module")
def apdus(pki: TestPki) -> int:
    world, new = _world(pki)
    before = world.card.faults.count
    assert _renew(world, new, MemoryJournal())
    return world.card.faults.count - before


def _finish(world: World, new: ActivationCode, journal: MemoryJournal) -> int:
    """Rerun until complete; how many reruns it took."""
    for rerun in range(1, 4):
        try:
            if _renew(world, new, journal):
                return rerun
        except DownloadError as exc:
            assert isinstance(exc.__cause__, SmdpError), exc
            world.smdp.release(new.matching_id)
    pytest.fail("the renewal did not finish in three reruns")


def _one(pki: TestPki, fault: str, n: int) -> int:
    world, new = _world(pki)
    CARD_FAULTS[fault](world, world.card.faults.count + n)
    journal = MemoryJournal()
    with contextlib.suppress(PyrspError):  # the fault; the reruns finish the job
        _renew(world, new, journal)
    world.card.faults.drop_at.clear()
    world.card.faults.status_at.clear()
    world.card.reset()
    world.watched = WatchedCard(world.card, seen=world.watched.seen)
    assert_nothing_lost(world.watched, world.smdp)
    reruns = _finish(world, new, journal)
    assert_all_delivered(world)
    assert [(p.iccid, p.enabled) for p in world.card.profiles] == [(NEW, True)]
    order = world.smdp.order(new.matching_id)
    assert [*order.history, order.state].count(OrderState.INSTALLED) == 1
    return reruns


@pytest.mark.parametrize("fault", sorted(CARD_FAULTS))
def test_fault_at_every_apdu_of_a_renewal(pki: TestPki, apdus: int, fault: str) -> None:
    reruns = Counter(_one(pki, fault, n) for n in range(1, apdus + 1))
    print(f"\nrenewal, {fault}: {apdus} APDU indexes; reruns needed {dict(sorted(reruns.items()))}")
    assert sum(reruns.values()) == apdus > 40
