"""The card removed, reset or failing at every APDU of a download (issue 9, item 3).

An honest download is counted first (N APDUs, opening and closing the ISD-R channel included);
then, for every n in 1..N, a fresh card and server run the download with one fault at APDU n:

- **removed**: the VirtualEuicc's drop knob, the transport raises ``CardRemovedError`` at APDU
  n (and after); the card is then reinserted (``reset()``: a power cycle). The client reports
  it (an exception, or the install notification's outcome), except at the very last APDU,
  closing the channel after a complete download, which the client ignores;
- **reset**: the card is power-cycled silently just before APDU n (channels closed, RSP session
  and any install in progress lost), so APDU n meets a fresh card;
- **status**: the card answers ``6F00`` (no precise diagnosis) to APDU n.

After each the card is checked (:func:`hostile_support.settle`): its profiles list decodes and
matches, every installed profile is complete, every notification it ever held is still on it
or was accepted by the SM-DP+, the pending ones are delivered, and a retry succeeds (the same
order when the server still offers it). The whole loop runs in-process in a few seconds.
"""

from __future__ import annotations

from collections import Counter

import pytest

from hostile_support import (
    CARD_FAULTS,
    WatchedCard,
    World,
    assert_all_delivered,
    attempt,
    attempt_async,
    settle,
)
from pyrsp.errors import PyrspError
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp.profiles import generate_profile

SEED = 21
ICCID = "8999000000000000214"
PROFILE = generate_profile(ICCID, filler=1500)  # two 86 segments


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=SEED)


@pytest.fixture(scope="module")
def apdus(pki: TestPki) -> int:
    """APDUs in an honest download, from opening the ISD-R session to closing it."""
    world = World.make(pki, seed=SEED)
    attempt(world, world.smdp.add_order(PROFILE, iccid=ICCID))
    assert world.card.profiles and world.card.notifications == ()
    return world.card.faults.count


DRIVERS = {"sync": attempt, "async": attempt_async}


def _one(pki: TestPki, fault: str, at: int, driver: str = "sync") -> tuple[str, str]:
    """Download with ``fault`` at APDU ``at``; settle; the error seen and how the retry went."""
    world = World.make(pki, seed=SEED)
    ac = world.smdp.add_order(PROFILE, iccid=ICCID)
    CARD_FAULTS[fault](world, at)
    try:
        result = DRIVERS[driver](world, ac)
    except PyrspError as exc:
        error = type(exc).__name__
    else:
        outcome = result.notification
        error = "none"
        if outcome is not None and outcome.error_type:
            error = f"{outcome.error_type} in the notification outcome"
    world.card.faults.drop_at.clear()
    world.card.faults.status_at.clear()
    world.card.reset()  # reinsert the card (a power cycle)
    world.watched = WatchedCard(world.card, seen=world.watched.seen)
    retry = settle(world, ac)
    assert_all_delivered(world)
    assert len(world.card.profiles) == 1
    return error, retry


@pytest.mark.parametrize("fault", sorted(CARD_FAULTS))
def test_fault_at_every_apdu_of_a_download(pki: TestPki, apdus: int, fault: str) -> None:
    outcomes = [_one(pki, fault, at) for at in range(1, apdus + 1)]
    errors = Counter(error for error, _ in outcomes)
    retries = Counter(retry for _, retry in outcomes)
    print(f"\n{fault}: {apdus} APDU indexes; errors {dict(errors)}; retries {dict(retries)}")
    if fault == "removed":  # reported, but for the channel close after a complete download
        assert errors["none"] == 1 and outcomes[-1][0] == "none"
    assert len(outcomes) == apdus >= 25


def test_card_removed_at_every_apdu_with_the_async_client(pki: TestPki, apdus: int) -> None:
    """The same removal loop through AsyncRspClient (its own drive loop and transports)."""
    outcomes = [_one(pki, "removed", at, "async") for at in range(1, apdus + 1)]
    errors = Counter(error for error, _ in outcomes)
    print(f"\nremoved (async): {apdus} APDU indexes; errors {dict(errors)}")
    assert errors["none"] == 1 and outcomes[-1][0] == "none"


def test_a_card_error_mid_command_still_lets_the_session_be_cancelled(pki: TestPki) -> None:
    """``6F00`` at a block in the middle of the PrepareDownload sequence, when the eUICC holds
    the session: the card still answers, so the LPA's CancelSession, a new sequence from block
    0, reaches it, and its signed answer reaches the SM-DP+, which holds no session afterwards.
    (Mid AuthenticateServer the eUICC has no session yet, and mid BPP the eUICC ends it with an
    install error it reports as a notification: neither has a session to cancel.)
    """
    honest = World.make(pki, seed=SEED)
    attempt(honest, honest.smdp.add_order(PROFILE, iccid=ICCID))
    apdus = honest.watched.apdus
    first = next(at for at, apdu in enumerate(apdus) if apdu[5:7] == b"\xbf\x21")
    last = next(at for at in range(first, len(apdus)) if apdus[at][2] == 0x91)
    mid_chain = list(range(first + 2, last + 2))  # 1-based numbers of blocks 1..n
    assert mid_chain
    for at in mid_chain:
        world = World.make(pki, seed=SEED)
        ac = world.smdp.add_order(PROFILE, iccid=ICCID)
        CARD_FAULTS["status"](world, at)
        with pytest.raises(PyrspError):
            attempt(world, ac)
        assert world.smdp.open_sessions == 0, f"6F00 at APDU {at} left the SM-DP+ session open"
