"""TestSmdp faults at a chosen ES9+ step, in-process and over HTTPS."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import anyio
import httpx
import pytest

from pyrsp import asn1, tlv
from pyrsp.crypto import public_key_bytes, signature_from_tlv, verify
from pyrsp.errors import BspError, InvalidSignature, TlvError, UsageError
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import FaultKind, OrderState, TestSmdp
from test_smdp_support import NOW, PREFIX, Card, Lpa, b64, shared_pki, status_of, unb64

JSON = {"content-type": "application/json"}

INITIATE = "initiateAuthentication"
BPP = "getBoundProfilePackage"


@pytest.fixture
def pki() -> TestPki:
    return shared_pki()


@pytest.fixture
def smdp(pki: TestPki) -> TestSmdp:
    return TestSmdp(pki, rng=3, now=NOW)


@pytest.fixture
def lpa(smdp: TestSmdp, pki: TestPki) -> Lpa:
    return Lpa(smdp, Card(pki))


def initiate_raw(lpa: Lpa) -> tuple[int, dict[str, str], bytes]:
    document = {
        "euiccChallenge": b64(lpa.challenge),
        "euiccInfo1": b64(lpa.card.info1()),
        "smdpAddress": lpa.smdp.address,
    }
    return lpa.smdp.handle(PREFIX + INITIATE, json.dumps(document).encode())


def test_http_500_with_html_then_normal(lpa: Lpa, smdp: TestSmdp) -> None:
    smdp.inject(FaultKind.HTTP_500, INITIATE)
    status, headers, body = initiate_raw(lpa)
    assert status == 500
    assert headers["content-type"].startswith("text/html")
    assert body.startswith(b"<!DOCTYPE html>")
    assert initiate_raw(lpa)[0] == 200  # times=1: the next answer is normal


def test_empty_200_twice(lpa: Lpa, smdp: TestSmdp) -> None:
    smdp.inject("empty200", INITIATE, times=2)
    assert initiate_raw(lpa)[::2] == (200, b"")
    assert initiate_raw(lpa)[::2] == (200, b"")
    assert json.loads(initiate_raw(lpa)[2])["transactionId"]


def test_fault_only_at_its_step(lpa: Lpa, smdp: TestSmdp) -> None:
    smdp.inject(FaultKind.HTTP_500, BPP)
    assert initiate_raw(lpa)[0] == 200
    smdp.clear_faults()
    ac = smdp.add_order()
    lpa.download(ac.matching_id)  # nothing left to inject


def test_bad_server_signature1(lpa: Lpa, smdp: TestSmdp, pki: TestPki) -> None:
    smdp.inject(FaultKind.BAD_SIGNATURE, INITIATE)
    answer = lpa.initiate()
    signature = signature_from_tlv(unb64(answer["serverSignature1"]))
    with pytest.raises(InvalidSignature):
        verify(pki.dp_auth.certificate, unb64(answer["serverSigned1"]), signature)


def smdp_signature2_verifies(lpa: Lpa, pki: TestPki) -> bool:
    """smdpSignature2 over smdpSigned2 || euiccSignature1 (SGP.22 section 5.6.3)."""
    answer = lpa.answers["authenticateClient"]
    ok = tlv.parse(lpa.authenticate_server_response).children()[0]
    signed = unb64(answer["smdpSigned2"]) + ok.require(0x5F37).raw
    try:
        verify(pki.dp_pb.certificate, signed, signature_from_tlv(unb64(answer["smdpSignature2"])))
    except InvalidSignature:
        return False
    return True


def test_bad_smdp_signature2(lpa: Lpa, smdp: TestSmdp, pki: TestPki) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    assert smdp_signature2_verifies(lpa, pki)
    smdp.release(ac.matching_id)
    smdp.inject(FaultKind.BAD_SIGNATURE, "authenticateClient")
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    assert not smdp_signature2_verifies(lpa, pki)


def iscr_signature_verifies(lpa: Lpa, pki: TestPki) -> bool:
    """smdpSign over the ISCR's data objects and the eUICC's otPK (SGP.22 section 5.5.1)."""
    bpp = unb64(lpa.answers[BPP]["boundProfilePackage"])
    members = tlv.parse(bpp).require(0xBF23).children()
    signed = b"".join(m.raw for m in members[:-1])
    signed += tlv.build(0x5F49, public_key_bytes(lpa.card.otsk))
    try:
        verify(pki.dp_pb.certificate, signed, signature_from_tlv(members[-1].raw))
    except InvalidSignature:
        return False
    return True


def test_bad_iscr_signature_in_the_bpp(lpa: Lpa, smdp: TestSmdp, pki: TestPki) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    lpa.get_bpp()
    assert iscr_signature_verifies(lpa, pki)
    smdp.release(ac.matching_id)
    smdp.inject(FaultKind.BAD_SIGNATURE, BPP)
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    lpa.get_bpp()
    assert not iscr_signature_verifies(lpa, pki)


def test_wrong_transaction_id(lpa: Lpa, smdp: TestSmdp) -> None:
    smdp.inject(FaultKind.WRONG_TRANSACTION_ID, INITIATE)
    answer = lpa.initiate()
    signed = asn1.decode("ServerSigned1", unb64(answer["serverSigned1"]))
    assert answer["transactionId"] != signed["transactionId"].hex().upper()


def test_truncated_bpp(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order()
    smdp.inject(FaultKind.TRUNCATED_BPP, BPP)
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    answer = lpa.get_bpp()
    assert status_of(answer) == "Executed-Success"
    with pytest.raises((BspError, TlvError)):
        lpa.card.unprotect(unb64(answer["boundProfilePackage"]))
    assert smdp.order(ac.matching_id).state is OrderState.DOWNLOADED


def test_slow_answer_in_process(smdp: TestSmdp, pki: TestPki) -> None:
    smdp.inject(FaultKind.SLOW, INITIATE, delay=0.2)
    url = f"https://{smdp.address}{PREFIX}{INITIATE}"
    with httpx.Client(transport=smdp.httpx_transport()) as client:
        started = time.monotonic()
        client.post(url, content=b"{}", headers=JSON)
        assert time.monotonic() - started >= 0.2


def test_dropped_connection_in_process_sync_and_async(smdp: TestSmdp) -> None:
    smdp.inject(FaultKind.DROP, INITIATE, times=2)
    url = f"https://{smdp.address}{PREFIX}{INITIATE}"
    with (
        httpx.Client(transport=smdp.httpx_transport()) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        client.post(url, content=b"{}", headers=JSON)

    async def main() -> None:
        async with httpx.AsyncClient(transport=smdp.httpx_transport()) as client:
            await client.post(url, content=b"{}", headers=JSON)

    with pytest.raises(httpx.RemoteProtocolError):
        anyio.run(main)


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[TestSmdp, str]]:
    smdp = TestSmdp(shared_pki(), rng=3, now=NOW)
    with smdp.serve_https() as url:
        yield smdp, url


def https(served: tuple[TestSmdp, str], timeout: float = 5.0) -> httpx.Response:
    url = served[1]
    pki = shared_pki()
    with httpx.Client(verify=pki.client_ssl_context(), timeout=timeout) as client:
        return client.post(
            url + PREFIX + INITIATE,
            content=b"{}",
            headers=JSON,
            extensions={"sni_hostname": pki.smdp_host},
        )


def test_faults_over_https(served: tuple[TestSmdp, str]) -> None:
    smdp, _ = served
    smdp.inject(FaultKind.HTTP_500, INITIATE)
    response = https(served)
    assert (response.status_code, response.headers["content-type"][:9]) == (500, "text/html")
    smdp.inject(FaultKind.DROP, INITIATE)
    with pytest.raises(httpx.RemoteProtocolError):
        https(served)
    smdp.inject(FaultKind.SLOW, INITIATE, delay=0.3)
    with pytest.raises(httpx.ReadTimeout):
        https(served, timeout=0.1)
    assert https(served).status_code == 200


def test_stacked_faults_at_one_step(lpa: Lpa, smdp: TestSmdp) -> None:
    smdp.inject(FaultKind.HTTP_500, INITIATE)
    smdp.inject(FaultKind.BAD_SIGNATURE, INITIATE)
    status, _, body = initiate_raw(lpa)
    assert status == 500
    assert body.startswith(b"<!DOCTYPE html>")


def test_unknown_step_is_a_usage_error(smdp: TestSmdp) -> None:
    with pytest.raises(UsageError):
        smdp.inject(FaultKind.DROP, "downloadProfile")
    with pytest.raises(UsageError, match="http500"):
        smdp.inject("no-such-fault", INITIATE)
