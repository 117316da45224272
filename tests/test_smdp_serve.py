"""TestSmdp serving: the in-process httpx transport (sync and async) and real HTTPS on loopback."""

from __future__ import annotations

import json
import ssl
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import pytest

from pyrsp.errors import HttpTransportError, TlsError, UsageError
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import FaultKind, TestSmdp
from pyrsp.testing.smdp.serve import MAX_BODY
from pyrsp.transports.base import AsyncHttpTransport, HttpTransport
from pyrsp.transports.http import HttpsTransport
from test_smdp_support import NOW, PREFIX, Card, b64, shared_pki

HEADERS = {
    "content-type": "application/json",
    "x-admin-protocol": "gsma/rsp/v2.2.0",
    "user-agent": "gsma-rsp-lpad",
}


@pytest.fixture
def pki() -> TestPki:
    return shared_pki()


@pytest.fixture
def smdp(pki: TestPki) -> TestSmdp:
    return TestSmdp(pki, rng=3, now=NOW)


@pytest.fixture(scope="module")
def served_smdp() -> Iterator[tuple[TestSmdp, str]]:
    """One HTTPS server for the module (starting and stopping uvicorn takes ~0.2 s)."""
    smdp = TestSmdp(shared_pki(), rng=3, now=NOW)
    with smdp.serve_https() as url:
        yield smdp, url


@pytest.fixture
def served(served_smdp: tuple[TestSmdp, str]) -> str:
    return served_smdp[1]


def initiate_body(smdp: TestSmdp, pki: TestPki) -> bytes:
    document = {
        "euiccChallenge": b64(b"\x11" * 16),
        "euiccInfo1": b64(Card(pki).info1()),
        "smdpAddress": smdp.address,
    }
    return json.dumps(document).encode()


def status_of(response: httpx.Response) -> str:
    document: dict[str, Any] = response.json()
    return str(document["header"]["functionExecutionStatus"]["status"])


def test_httpx_transport_blocking(smdp: TestSmdp, pki: TestPki) -> None:
    with httpx.Client(transport=smdp.httpx_transport()) as client:
        url = f"https://{smdp.address}{PREFIX}initiateAuthentication"
        response = client.post(url, content=initiate_body(smdp, pki), headers=HEADERS)
        assert response.status_code == 200
        assert status_of(response) == "Executed-Success"
        assert client.get(url).status_code == 405
        other = client.post(f"https://{smdp.address}/other", content=b"{}", headers=HEADERS)
        assert other.status_code == 404


def test_httpx_transport_async(smdp: TestSmdp, pki: TestPki) -> None:
    async def main() -> str:
        async with httpx.AsyncClient(transport=smdp.httpx_transport()) as client:
            url = f"https://{smdp.address}{PREFIX}initiateAuthentication"
            response = await client.post(url, content=initiate_body(smdp, pki), headers=HEADERS)
            return status_of(response)

    assert anyio.run(main) == "Executed-Success"


def https_post(
    url: str, body: bytes, verify: ssl.SSLContext | bool, sni: str | None
) -> httpx.Response:
    extensions = {"sni_hostname": sni} if sni else {}
    with httpx.Client(verify=verify, timeout=10) as client:
        return client.post(
            url + PREFIX + "initiateAuthentication",
            content=body,
            headers=HEADERS,
            extensions=extensions,
        )


def test_https_client_trusting_the_test_ci_connects(
    served: str, smdp: TestSmdp, pki: TestPki
) -> None:
    assert served.startswith("https://127.0.0.1:")
    response = https_post(served, initiate_body(smdp, pki), pki.client_ssl_context(), pki.smdp_host)
    assert response.status_code == 200
    assert status_of(response) == "Executed-Success"


@pytest.mark.parametrize("case", ["other CI", "system store", "wrong host name", "IP address"])
def test_https_untrusted_or_misnamed_is_refused(
    served: str, smdp: TestSmdp, pki: TestPki, case: str
) -> None:
    cases: dict[str, tuple[ssl.SSLContext | bool, str | None]] = {
        "other CI": (shared_pki(2).client_ssl_context(), pki.smdp_host),
        "system store": (True, pki.smdp_host),
        "wrong host name": (pki.client_ssl_context(), "testsmdpplus2.example.com"),
        "IP address": (pki.client_ssl_context(), None),
    }
    verify, sni = cases[case]
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        https_post(served, initiate_body(smdp, pki), verify, sni)


def test_pyrsp_https_transport_with_connect_to(served: str, smdp: TestSmdp, pki: TestPki) -> None:
    port = int(served.rsplit(":", 1)[1])
    connect = {smdp.address: ("127.0.0.1", port)}
    path = PREFIX + "initiateAuthentication"
    with HttpsTransport(trust=[pki.ci.der], connect_to=connect) as transport:
        answer = transport.post(smdp.address, path, initiate_body(smdp, pki), HEADERS)
        assert answer.status == 200
        assert json.loads(answer.body)["transactionId"]
    with (
        HttpsTransport(trust=[shared_pki(2).ci.der], connect_to=connect) as transport,
        pytest.raises(TlsError),
    ):
        transport.post(smdp.address, path, initiate_body(smdp, pki), HEADERS)


def test_pyrsp_http_transport_sync_and_async(smdp: TestSmdp, pki: TestPki) -> None:
    transport = smdp.http_transport()
    assert isinstance(transport, HttpTransport)
    assert isinstance(transport.asynchronous(), AsyncHttpTransport)
    path = PREFIX + "initiateAuthentication"
    answer = transport.post(smdp.address, path, initiate_body(smdp, pki), HEADERS)
    assert answer.status == 200
    assert answer.headers["content-type"].startswith("application/json")

    async def main() -> int:
        response = await transport.asynchronous().post(
            smdp.address, path, initiate_body(smdp, pki), HEADERS
        )
        return response.status

    assert anyio.run(main) == 200
    smdp.inject(FaultKind.DROP, "initiateAuthentication")
    with pytest.raises(HttpTransportError, match="dropped"):
        transport.post(smdp.address, path, b"{}", HEADERS)


@pytest.mark.parametrize(
    ("headers", "size", "status"),
    [
        ({"content-type": "application/json;charset=UTF-8"}, 0, 200),
        ({"Content-Type": " Application/JSON "}, 0, 200),
        ({"content-type": "application/json"}, 0, 200),  # no X-Admin-Protocol: served
        ({"content-type": "text/plain"}, 0, 415),
        ({}, 0, 415),
        (HEADERS, MAX_BODY, 413),
    ],
)
def test_http_hygiene_in_process(
    smdp: TestSmdp, pki: TestPki, headers: dict[str, str], size: int, status: int
) -> None:
    body = initiate_body(smdp, pki) + b" " * size
    url = f"https://{smdp.address}{PREFIX}initiateAuthentication"
    with httpx.Client(transport=smdp.httpx_transport()) as client:
        assert client.post(url, content=body, headers=headers).status_code == status
    path = PREFIX + "initiateAuthentication"
    assert smdp.http_transport().post(smdp.address, path, body, headers).status == status


def test_http_hygiene_over_https(served: str, smdp: TestSmdp, pki: TestPki) -> None:
    url = served + PREFIX + "initiateAuthentication"
    with httpx.Client(verify=pki.client_ssl_context(), timeout=10) as client:
        extensions = {"sni_hostname": pki.smdp_host}

        def post(body: bytes, headers: dict[str, str]) -> httpx.Response:
            return client.post(url, content=body, headers=headers, extensions=extensions)

        too_large = post(b"{" + b" " * (2 * MAX_BODY), HEADERS)
        assert (too_large.status_code, too_large.headers["content-type"]) == (413, "text/plain")
        assert post(initiate_body(smdp, pki), {"content-type": "text/xml"}).status_code == 415
        assert post(initiate_body(smdp, pki), HEADERS).status_code == 200


def test_port_in_use_is_a_usage_error(served: str, smdp: TestSmdp) -> None:
    port = int(served.rsplit(":", 1)[1])
    with pytest.raises(UsageError, match="cannot listen"), smdp.serve_https(port=port):
        pass


def test_no_tls_credentials_no_https(pki: TestPki) -> None:
    from pyrsp.testing.smdp import Credentials

    full = Credentials.from_pkis([pki])
    bare = Credentials(address=full.address, oid=full.oid, signing_sets=full.signing_sets)
    with pytest.raises(UsageError, match="no TLS"), TestSmdp(credentials=bare).serve_https():
        pass
