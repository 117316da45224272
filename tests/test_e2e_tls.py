"""TLS trust end to end through the clients (issue 7): the TestSmdp on real HTTPS on loopback,
the VirtualEuicc in-process. A client that does not trust the SM-DP+'s CI, or checks another
host name, is refused with TlsError before the SM-DP+ sees a request; the card stays usable.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from e2e_support import Served, serve
from pyrsp.activation_code import ActivationCode
from pyrsp.client import AsyncRspClient, RspClient
from pyrsp.errors import DownloadError, TlsError
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import OrderState
from pyrsp.transports.http import AsyncHttpsTransport, HttpsTransport

OTHER_HOST = "testsmdpplus2.example.com"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with serve(TestPki.generate(seed=31), rng=32) as served:
        yield served


@pytest.fixture(scope="module")
def other_pki() -> TestPki:
    """Another CI (same host names): its TLS roots do not vouch for the served certificate."""
    return TestPki.generate(seed=33)


@pytest.fixture
def card(served: Served) -> VirtualEuicc:
    return VirtualEuicc(served.pki, rng=random.Random(34))


def refused_download(card: VirtualEuicc, http: HttpsTransport, code: ActivationCode) -> TlsError:
    """Download ``code`` expecting a TLS refusal at the first ES9+ call; the TlsError."""
    with RspClient(card, http) as client, pytest.raises(DownloadError) as info:
        client.download(code)
    assert info.value.stage == "initiate_authentication"
    assert isinstance(info.value.__cause__, TlsError), repr(info.value.__cause__)
    return info.value.__cause__


def assert_untouched_then_downloads(
    served: Served, card: VirtualEuicc, code: ActivationCode
) -> None:
    """Nothing reached the SM-DP+ and the card holds nothing; a trusting client then succeeds
    with the same order and the same card."""
    assert served.smdp.order(code.matching_id).state is OrderState.RELEASED
    assert card.profiles == () and card.notifications == ()
    with RspClient(card, served.https()) as client:
        result = client.download(code)
        assert [p.iccid for p in client.profiles()] == [result.iccid]
    assert result.notification is not None and result.notification.ok
    assert card.notifications == ()
    assert served.smdp.order(code.matching_id).state is OrderState.INSTALLED


def test_trusting_another_ci_is_refused(
    served: Served, card: VirtualEuicc, other_pki: TestPki
) -> None:
    code = served.smdp.add_order()
    sessions = served.smdp.open_sessions
    error = refused_download(card, served.https(trust=list(other_pki.ci_certificates)), code)
    assert "certificate verify failed" in str(error)
    assert served.smdp.open_sessions == sessions
    assert_untouched_then_downloads(served, card, code)


def test_trusting_only_the_system_store_is_refused(served: Served, card: VirtualEuicc) -> None:
    code = served.smdp.add_order()
    http = HttpsTransport(use_system_store=True, connect_to=served.connect_to, trust_env=False)
    assert "certificate verify failed" in str(refused_download(card, http, code))
    assert_untouched_then_downloads(served, card, code)


def test_another_host_name_is_refused(served: Served, card: VirtualEuicc) -> None:
    order = served.smdp.add_order()
    misnamed = ActivationCode(smdp_address=OTHER_HOST, matching_id=order.matching_id)
    http = served.https(connect_to={OTHER_HOST: ("127.0.0.1", served.port)})
    error = refused_download(card, http, misnamed)
    assert "hostname mismatch" in str(error).lower(), error
    assert_untouched_then_downloads(served, card, order)


def test_connecting_by_ip_checks_the_ip_not_the_smdp_name(
    served: Served, card: VirtualEuicc
) -> None:
    code = served.smdp.add_order()
    http = served.https(connect_to={served.smdp.address: f"https://127.0.0.1:{served.port}"})
    error = refused_download(card, http, code)
    assert "127.0.0.1" in str(error), error
    assert_untouched_then_downloads(served, card, code)


def test_trust_list_with_the_right_ci_among_others_connects(
    served: Served, card: VirtualEuicc, other_pki: TestPki
) -> None:
    code = served.smdp.add_order()
    trust = [*other_pki.ci_certificates, *served.pki.ci_certificates]
    with RspClient(card, served.https(trust=trust)) as client:
        assert client.download(code).install.success


@pytest.mark.anyio
async def test_async_client_trusting_another_ci_is_refused(
    served: Served, card: VirtualEuicc, other_pki: TestPki
) -> None:
    code = served.smdp.add_order()
    http = AsyncHttpsTransport(
        trust=list(other_pki.ci_certificates), connect_to=served.connect_to, trust_env=False
    )
    async with AsyncRspClient(card, http) as client:
        with pytest.raises(DownloadError) as info:
            await client.download(code)
        assert await client.profiles() == []
    assert isinstance(info.value.__cause__, TlsError)
    assert_untouched_then_downloads(served, card, code)
