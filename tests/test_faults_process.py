"""The LPA process killed between any two steps of a download (issue 9, item 3).

The "process" is the client: it dies (:class:`hostile_support.Killed`, a BaseException no
cleanup code catches) right after its k-th effect completed, an APDU or an ES9+ POST, for
every k of an honest download. Nothing more reaches the card or the server from it. A fresh
client then takes over, in two ways:

- **card kept**: the same card, still powered (it keeps its open channel, RSP session and any
  install in progress until a new command interrupts it);
- **card reloaded**: the host restarted too: the card object is opened again from its state
  directory (profiles, notifications and counters as saved; the RSP session and the retained
  one-time key lost, as on a power cut).

The fresh client lists the profiles, delivers the pending notifications, and retries
(:func:`hostile_support.settle`); the card must be consistent and no notification lost.
"""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest

from hostile_support import (
    Killed,
    Mortal,
    MortalCard,
    MortalHttp,
    WatchedCard,
    World,
    assert_all_delivered,
    attempt,
    settle,
)
from pyrsp.client import Handlers, RspClient
from pyrsp.protocol.download import download
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki

SEED = 41


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=SEED)


@pytest.fixture(scope="module")
def effects(pki: TestPki) -> int:
    """Effects (APDUs and POSTs) of an honest download, session opening and closing included."""
    world = World.make(pki, seed=SEED)
    attempt(world, world.smdp.add_order())
    return len(world.watched.apdus) + len(world.hostile.calls)


def _killed_at(pki: TestPki, state_dir: Path, at: int, reload: bool) -> str:
    world = World.make(pki, seed=SEED, state_dir=state_dir)
    ac = world.smdp.add_order()
    mortal = Mortal(at)
    client = RspClient(MortalCard(world.watched, mortal), MortalHttp(world.transport(), mortal))
    with pytest.raises(Killed), client:
        client.run(download(ac, client.config), Handlers(confirm=lambda _m: True))
    assert mortal.dead
    if reload:
        world.card = VirtualEuicc.open(state_dir, rng=random.Random(SEED + at))
    world.watched = WatchedCard(world.card, seen=world.watched.seen)
    retry = settle(world, ac)
    assert_all_delivered(world)
    assert len(world.card.profiles) == 1
    return retry


@pytest.mark.parametrize("card", ["kept", "reloaded"])
def test_killed_after_every_step(pki: TestPki, effects: int, tmp_path: Path, card: str) -> None:
    retries = Counter(
        _killed_at(pki, tmp_path / str(at), at, card == "reloaded") for at in range(1, effects + 1)
    )
    print(f"\ncard {card}: killed after each of {effects} effects; retries {dict(retries)}")
    assert sum(retries.values()) == effects >= 25
