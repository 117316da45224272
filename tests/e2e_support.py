"""End-to-end helpers: a TestSmdp on real HTTPS on loopback, reached through the real stacks.

The SM-DP+ serves TLS with its PKI's certificate for its host name (``testsmdpplus1.example.com``)
on ``127.0.0.1``; clients trust the PKI's CI only and use ``connect_to`` so they connect to the
loopback port while checking the TLS host name of the SM-DP+ address. Cards sit in vpcd readers
(``pcsc_reader`` fixture, ``scripts/pcsc-sandbox``): pyscard -> pcscd -> vpcd -> VirtualEuicc.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyrsp.client import AsyncRspClient, RspClient
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import OrderState, TestSmdp
from pyrsp.testing.smdp.state import ReceivedNotification
from pyrsp.transports.http import (
    AsyncHttpsTransport,
    ConnectTarget,
    HttpsTransport,
    HttpTrace,
    TrustSource,
)
from pyrsp.transports.pcsc import AsyncPcscCardTransport, PcscCardTransport

__all__ = ["CARD_TIMEOUT", "Served", "serve"]

CARD_TIMEOUT = 10.0
"""Seconds a PC/SC transmit may take in these tests: far above a real answer, so a hang fails."""


@dataclass
class Served:
    """A TestSmdp served over HTTPS on ``127.0.0.1:port``, and the HTTP events clients saw."""

    pki: TestPki
    smdp: TestSmdp
    port: int
    urls: list[str] = field(default_factory=list)

    @property
    def connect_to(self) -> dict[str, tuple[str, int]]:
        """The SM-DP+ address mapped to the loopback port (TLS still checks the address)."""
        return {self.smdp.address: ("127.0.0.1", self.port)}

    def _record(self, event: HttpTrace) -> None:
        if event.kind == "request":
            self.urls.append(event.url)

    def https(
        self,
        *,
        trust: TrustSource | Iterable[TrustSource] | None = None,
        connect_to: Mapping[str, ConnectTarget] | None = None,
        timeout: float = 10.0,
    ) -> HttpsTransport:
        """A blocking transport trusting this PKI's CI (or ``trust``)."""
        return HttpsTransport(
            trust=list(self.pki.ci_certificates) if trust is None else trust,
            connect_to=self.connect_to if connect_to is None else connect_to,
            timeout=timeout,
            trust_env=False,
            trace=self._record,
        )

    def async_https(self) -> AsyncHttpsTransport:
        """An async transport trusting this PKI's CI."""
        return AsyncHttpsTransport(
            trust=list(self.pki.ci_certificates),
            connect_to=self.connect_to,
            timeout=10,
            trust_env=False,
            trace=self._record,
        )

    def client(
        self, reader: str, *, card_wait: float = 0.0, http_timeout: float = 10.0
    ) -> RspClient:
        """A blocking client: the card in PC/SC ``reader`` (allowed ``card_wait`` seconds to
        show up), this SM-DP+ over HTTPS."""
        card = PcscCardTransport(reader, timeout=CARD_TIMEOUT, card_wait=card_wait)
        return RspClient(card, self.https(timeout=http_timeout))

    async def async_client(self, reader: str, *, card_wait: float = 0.0) -> AsyncRspClient:
        """An async client: the card in PC/SC ``reader``, this SM-DP+ over HTTPS."""
        card = await AsyncPcscCardTransport.connect(
            reader, timeout=CARD_TIMEOUT, card_wait=card_wait
        )
        return AsyncRspClient(card, self.async_https())

    def received(self, transaction_id: str) -> list[ReceivedNotification]:
        """The notifications this SM-DP+ received for one RSP session."""
        return [n for n in self.smdp.notifications if n.transaction_id == transaction_id]

    def installs(self, matching_id: str) -> int:
        """How many times the order with ``matching_id`` reached the installed state."""
        order = self.smdp.order(matching_id)
        return [*order.history, order.state].count(OrderState.INSTALLED)

    def all_over_https(self) -> bool:
        """Whether every request the clients made went to the loopback port over HTTPS."""
        prefix = f"https://127.0.0.1:{self.port}/gsma/rsp2/es9plus/"
        return bool(self.urls) and all(url.startswith(prefix) for url in self.urls)


@contextmanager
def serve(pki: TestPki, *, rng: int) -> Iterator[Served]:
    """Serve a new TestSmdp for ``pki`` over HTTPS on loopback while the block runs."""
    smdp = TestSmdp(pki, rng=rng)
    with smdp.serve_https() as url:
        port = urllib.parse.urlsplit(url).port
        assert port is not None, url
        yield Served(pki, smdp, port)
