"""Load (issue 9, item 4): many concurrent downloads and notification deliveries.

AsyncRspClient against one TestSmdp served over real HTTPS on loopback (uvicorn in a thread).
Each session: a fresh VirtualEuicc, its own client and HTTPS transport; download a profile
without sending the install notification, enable it, then deliver both notifications with
process_notifications. Checked: no error; every notification received by the SM-DP+ and gone
from its card; after the clients close, no file descriptor, socket or thread left over and no
socket left for the garbage collector to close; and memory flat from one round to the next.

The default run is short (3 rounds of 20 sessions); the ``soak`` run (``pytest -m soak``) does
10 rounds of 50. Memory: every client, transport and card of a round is unreachable after it
(weak references), and the RSS after the last round is within a small allowance per session of
the RSS after the middle one (the first rounds warm caches and allocator arenas).
"""

from __future__ import annotations

import asyncio
import gc
import os
import random
import threading
import time
import urllib.parse
import warnings
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from pyrsp.activation_code import ActivationCode
from pyrsp.client import AsyncRspClient
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import TestSmdp
from pyrsp.testing.smdp.faults import Reply
from pyrsp.testing.smdp.serve import serve_https
from pyrsp.transports.http import AsyncHttpsTransport

SETTLE_SECONDS = 5.0


@dataclass(frozen=True)
class Resources:
    """What a leak would show: open file descriptors, sockets among them, live threads."""

    fds: int
    sockets: int
    threads: int

    @classmethod
    def now(cls) -> Resources:
        links = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # the descriptor listdir itself used, already closed
                continue
        sockets = sum(link.startswith("socket:") for link in links)
        return cls(len(links), sockets, threading.active_count())

    def within(self, baseline: Resources) -> bool:
        """No more of anything than ``baseline`` (fewer: an earlier test's thread ended)."""
        return (
            self.fds <= baseline.fds
            and self.sockets <= baseline.sockets
            and self.threads <= baseline.threads
        )


def settled(baseline: Resources) -> bool:
    """Whether the resources fall back to ``baseline`` once closed connections and stopped
    threads are gone (waiting at most SETTLE_SECONDS)."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while not Resources.now().within(baseline):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
        gc.collect()
    return True


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


@dataclass
class Server:
    """One HTTPS server; :meth:`fresh` puts a new TestSmdp behind it (same keys and address),
    so what the old one kept (orders, notifications, closed sessions) is freed."""

    smdp: TestSmdp
    pki: TestPki
    port: int = 0
    created: list[weakref.ref[object]] = field(default_factory=list)

    def respond(self, path: str, body: bytes) -> Reply:
        return self.smdp.respond(path, body)

    def fresh(self, seed: int) -> None:
        self.smdp = TestSmdp(self.pki, rng=seed)

    def transport(self) -> AsyncHttpsTransport:
        return AsyncHttpsTransport(
            trust=self.pki.ci_certificates,
            connect_to={self.smdp.address: ("127.0.0.1", self.port)},
            timeout=60,
        )


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=21)


@pytest.fixture
def server(pki: TestPki) -> Iterator[Server]:
    server = Server(TestSmdp(pki, rng=22), pki)
    chain, key = server.smdp.credentials.tls_chain_pem, server.smdp.credentials.tls_key_pem
    assert chain is not None and key is not None
    with serve_https(server, chain, key) as url:
        port = urllib.parse.urlsplit(url).port
        assert port is not None
        server.port = port
        yield server


async def session(server: Server, card: VirtualEuicc, code: ActivationCode) -> int:
    """Download, enable, deliver the notifications; the number delivered."""
    http = server.transport()
    client = AsyncRspClient(card, http)
    server.created += [weakref.ref(http), weakref.ref(client), weakref.ref(client.card)]
    async with client:
        result = await client.download(code, notify=False)
        assert result.install.success
        await client.enable(result.iccid)
        outcomes = await client.process_notifications()
    assert [(o.event, o.sent, o.removed) for o in outcomes] == [
        ("install", True, True),
        ("enable", True, True),
    ], outcomes
    return len(outcomes)


async def load_round(server: Server, sessions: int, seed: int) -> None:
    """``sessions`` sessions at once, every card checked clean."""
    cards = [VirtualEuicc(server.pki, rng=random.Random(seed + n)) for n in range(sessions)]
    server.created += [weakref.ref(card) for card in cards]
    codes = [server.smdp.add_order() for _ in range(sessions)]
    delivered = await asyncio.gather(*map(session, [server] * sessions, cards, codes))
    assert delivered == [2] * sessions
    assert all(card.notifications == () and len(card.profiles) == 1 for card in cards)


def run_load(server: Server, *, rounds: int, sessions: int, growth_kb_per_session: int) -> None:
    baseline = Resources.now()
    memory: list[int] = []
    for n in range(rounds):
        server.fresh(seed=n)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", ResourceWarning)
            asyncio.run(load_round(server, sessions, seed=n * sessions))
            gc.collect()
        # a socket or transport nobody closed is closed by the garbage collector, with a warning
        unclosed = [str(w.message) for w in caught if issubclass(w.category, ResourceWarning)]
        assert not unclosed, f"round {n}: closed only by the garbage collector: {unclosed[:3]}"
        assert len(server.smdp.notifications) == 2 * sessions
        assert server.smdp.open_sessions == 0
        memory.append(rss_kb())
        assert settled(baseline), f"round {n}: left over {Resources.now()}, before {baseline}"
        alive = [ref() for ref in server.created if ref() is not None]
        assert not alive, f"round {n}: still referenced after closing: {alive[:3]}"
        server.created.clear()
    # the first rounds warm caches (schema, TLS, imports, allocator arenas): compare the last
    # rounds with the one in the middle
    middle = rounds // 2
    growth = memory[-1] - memory[middle]
    allowed = growth_kb_per_session * sessions * (rounds - 1 - middle)
    print(f"load: {rounds} x {sessions} sessions, RSS kB after each round {memory}")
    assert growth <= allowed, f"RSS grew {growth} kB over rounds {memory}, allowed {allowed}"


def test_concurrent_downloads_and_notifications_leave_nothing_behind(server: Server) -> None:
    run_load(server, rounds=3, sessions=20, growth_kb_per_session=100)


def test_the_server_stopping_frees_its_thread_and_sockets(pki: TestPki) -> None:
    baseline = Resources.now()
    smdp = TestSmdp(pki, rng=23)
    with smdp.serve_https() as url:
        port = urllib.parse.urlsplit(url).port
        assert port is not None
        asyncio.run(load_round(Server(smdp, pki, port), 5, seed=1000))
        gc.collect()
        assert Resources.now().threads > baseline.threads
    assert settled(baseline), f"left over {Resources.now()}, before {baseline}"


@pytest.mark.soak
def test_soak_rounds_of_concurrent_sessions(server: Server) -> None:
    run_load(server, rounds=10, sessions=50, growth_kb_per_session=10)
