"""The drive loops (RspClient.run, AsyncRspClient.run), the async client and the transports."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from typing import Any

import pytest

from pyrsp.client import AsyncRspClient, Handlers, RspClient
from pyrsp.errors import (
    CardRemovedError,
    CardTransportError,
    EuiccError,
    HttpTransportError,
    UsageError,
)
from pyrsp.protocol.effects import (
    AskConfirmationCode,
    ConfirmDownload,
    Flow,
    HttpPost,
    HttpResponse,
    Progress,
    Transmit,
)
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.transports.base import AsyncCardTransport, CardTransport
from pyrsp.transports.inprocess import (
    AsyncInProcessCardTransport,
    InProcessCardTransport,
    ThreadedCardTransport,
)

GET_EID = bytes.fromhex("81E2910006BF3E035C015A")


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=6)


@pytest.fixture
def card(pki: TestPki) -> VirtualEuicc:
    return VirtualEuicc(pki=pki)


class Http:
    """A blocking HTTP transport that records posts and answers 204."""

    def __init__(self, fail: bool = False) -> None:
        self.posts: list[tuple[str, str, bytes]] = []
        self.fail = fail
        self.closed = 0

    def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        if self.fail:
            raise HttpTransportError("connection refused")
        self.posts.append((address, path, body))
        return HttpResponse(204, b"")

    def close(self) -> None:
        self.closed += 1


def asking_flow() -> Flow[list[Any]]:
    """Yields one of each user-facing effect and a POST; returns what it was sent."""
    seen: list[Any] = []
    seen.append((yield Progress("start", 1, 2)))
    seen.append((yield ConfirmDownload(metadata="the profile")))
    seen.append((yield AskConfirmationCode()))
    response = yield HttpPost("smdp.example.com", "/gsma/rsp2/es9plus/handleNotification", b"{}")
    seen.append(response.status)
    return seen


def cleanup_flow() -> Flow[str]:
    """Catches the transport error thrown into it, as a download flow would to cancel."""
    try:
        yield Transmit(bytes.fromhex("80E2910003BF2E00"))
    except CardTransportError as exc:
        return f"cleaned up after {type(exc).__name__}"
    return "no error"


# -- RspClient.run -----------------------------------------------------------------------------


def test_run_answers_every_effect(card: VirtualEuicc) -> None:
    progress: list[Progress] = []
    http = Http()
    client = RspClient(card, http)
    handlers = Handlers(
        confirm=lambda metadata: metadata == "the profile",
        confirmation_code=lambda: "1234",
        progress=progress.append,
    )
    assert client.run(asking_flow(), handlers) == [None, True, "1234", 204]
    assert progress == [Progress("start", 1, 2)]
    assert http.posts == [("smdp.example.com", "/gsma/rsp2/es9plus/handleNotification", b"{}")]


def test_missing_callback_or_http_is_thrown_into_the_flow(card: VirtualEuicc) -> None:
    with pytest.raises(UsageError, match="ConfirmDownload"):
        RspClient(card).run(asking_flow())

    def needs_http() -> Flow[str]:
        try:
            yield HttpPost("a.b", "/x", b"")
        except UsageError as exc:
            return str(exc)
        return ""

    assert "pass http=" in RspClient(card).run(needs_http())


def test_transport_error_is_thrown_into_the_flow(card: VirtualEuicc) -> None:
    card.faults.drop(at=1)
    assert RspClient(card).run(cleanup_flow()) == "cleaned up after CardRemovedError"


def test_http_error_is_thrown_into_the_flow(card: VirtualEuicc) -> None:
    def flow() -> Flow[str]:
        try:
            yield HttpPost("a.b", "/x", b"")
        except HttpTransportError:
            return "handled"
        return ""

    assert RspClient(card, Http(fail=True)).run(flow()) == "handled"


def test_foreign_exception_closes_the_flow(card: VirtualEuicc) -> None:
    closed: list[bool] = []

    def flow() -> Flow[None]:
        try:
            yield ConfirmDownload(metadata=None)
        finally:
            closed.append(True)

    def boom(_: Any) -> bool:
        raise KeyError("user callback failed")

    with pytest.raises(KeyError):
        RspClient(card).run(flow(), Handlers(confirm=boom))
    assert closed == [True]


def test_client_closes_its_transports(card: VirtualEuicc) -> None:
    http = Http()
    transport = InProcessCardTransport(card)
    with RspClient(transport, http) as client:
        assert client.card is transport
    assert transport.closed and http.closed == 1
    with pytest.raises(CardTransportError, match="closed"):
        transport.transmit(GET_EID)


def test_close_failure_does_not_mask_the_original_error(card: VirtualEuicc) -> None:
    with pytest.raises(EuiccError), RspClient(card) as client:
        card.faults.drop(at=card.faults.count + 2)  # the close will fail too
        try:
            client.delete("894910000000000099")
        except CardRemovedError:
            pytest.fail("the delete itself should have failed with EuiccError first")


# -- in-process transports ------------------------------------------------------------------


class Exploding:
    def transmit(self, apdu: bytes) -> bytes:
        raise ZeroDivisionError("bug in the card")

    def atr(self) -> bytes:
        return b"\x3b\x00"


def test_inprocess_transport_traces_and_translates(card: VirtualEuicc) -> None:
    trace: list[tuple[str, bytes]] = []
    transport = InProcessCardTransport(card, trace=lambda d, a: trace.append((d, a)))
    assert isinstance(transport, CardTransport)
    answer = transport.transmit(bytes.fromhex("0070000001"))
    assert trace == [("C-APDU", bytes.fromhex("0070000001")), ("R-APDU", answer)]
    assert transport.atr() == card.atr()
    with pytest.raises(CardTransportError, match="ZeroDivisionError") as info:
        InProcessCardTransport(Exploding()).transmit(GET_EID)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    card.faults.drop(at=card.faults.count + 1)
    with pytest.raises(CardRemovedError):
        transport.transmit(GET_EID)
    transport.close()
    transport.close()


def test_async_transports(card: VirtualEuicc) -> None:
    async def main() -> None:
        direct = AsyncInProcessCardTransport(card)
        threaded = ThreadedCardTransport(InProcessCardTransport(card))
        for transport in (direct, threaded):
            assert isinstance(transport, AsyncCardTransport)
            assert (await transport.transmit(bytes.fromhex("0070000001")))[-2:] == b"\x90\x00"
            assert await transport.atr() == card.atr()
            await transport.close()
            await transport.close()
        with pytest.raises(CardTransportError):
            await direct.transmit(GET_EID)

    asyncio.run(main())


# -- AsyncRspClient ---------------------------------------------------------------------------


class AsyncCard:
    """An async transport over a VirtualEuicc, recording the threads it ran on."""

    def __init__(self, card: VirtualEuicc) -> None:
        self.card = card
        self.closed = False

    async def transmit(self, apdu: bytes) -> bytes:
        await asyncio.sleep(0)
        return self.card.transmit(apdu)

    async def atr(self) -> bytes:
        return self.card.atr()

    async def close(self) -> None:
        self.closed = True


class ThreadRecordingTransport(InProcessCardTransport):
    def __init__(self, card: VirtualEuicc) -> None:
        super().__init__(card)
        self.threads: set[str] = set()

    def transmit(self, apdu: bytes) -> bytes:
        self.threads.add(threading.current_thread().name)
        return super().transmit(apdu)


def test_async_client_management(card: VirtualEuicc) -> None:
    async def main() -> None:
        async with AsyncRspClient(card, segment_size=120) as client:
            assert client.config.segment_size == 120
            assert await client.eid() == card.eid
            assert (await client.euicc_info1()).svn == "2.3.0"
            assert (await client.euicc_info2()).svn == "2.3.0"
            await client.set_default_smdp("smdp.example.com")
            addresses = await client.configured_addresses()
            assert addresses.default_dp_address == "smdp.example.com"
            assert await client.profiles() == []
            assert await client.list_notifications() == []
            assert await client.retrieve_notifications() == []
            assert await client.rat() == []
            for call in (
                client.enable("894910000000000099", refresh=True),
                client.disable("894910000000000099"),
                client.delete("894910000000000099"),
                client.set_nickname("894910000000000099", "x"),
            ):
                with pytest.raises(EuiccError, match="NotFound"):
                    await call
            with pytest.raises(EuiccError, match="nothingToDelete"):
                await client.remove_notification(0)
            with pytest.raises(EuiccError, match="nothingToDelete"):
                await client.memory_reset(test_profiles=True)
        assert client.session is None

    asyncio.run(main())


def test_async_client_runs_a_blocking_transport_on_its_own_thread(card: VirtualEuicc) -> None:
    transport = ThreadRecordingTransport(card)

    async def main() -> None:
        async with AsyncRspClient(transport) as client:
            assert await client.eid() == card.eid

    asyncio.run(main())
    assert len(transport.threads) == 1
    assert next(iter(transport.threads)).startswith("pyrsp-card")
    assert transport.closed


def test_async_client_with_async_transport_and_handlers(card: VirtualEuicc) -> None:
    transport = AsyncCard(card)
    http = Http()

    async def confirm(metadata: Any) -> bool:
        return True

    async def main() -> list[Any]:
        async with AsyncRspClient(transport, http) as client:
            assert client.card is transport
            handlers = Handlers(confirm=confirm, confirmation_code=lambda: None)
            return await client.run(asking_flow(), handlers)

    assert asyncio.run(main()) == [None, True, None, 204]
    assert transport.closed and http.closed == 1


def test_async_client_card_removed(card: VirtualEuicc) -> None:
    async def main() -> None:
        async with AsyncRspClient(AsyncCard(card)) as client:
            card.faults.drop(at=card.faults.count + 1)
            await client.eid()

    with pytest.raises(CardRemovedError):
        asyncio.run(main())
    flow_result = asyncio.run(AsyncRspClient(AsyncCard(card)).run(cleanup_flow()))
    assert flow_result == "cleaned up after CardRemovedError"
