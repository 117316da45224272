"""TestSmdp refusals: each check answers the standard's subjectCode/reasonCode (SGP.22 5.6)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from pyrsp import asn1, tlv
from pyrsp.crypto import sign, signature_to_tlv
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import OrderState, TestSmdp
from test_smdp_support import NOW, PREFIX, Card, Lpa, b64, codes_of, shared_pki, status_of, unb64


@pytest.fixture
def pki() -> TestPki:
    return shared_pki()


@pytest.fixture
def smdp(pki: TestPki) -> TestSmdp:
    return TestSmdp(pki, rng=3, now=NOW)


@pytest.fixture
def lpa(smdp: TestSmdp, pki: TestPki) -> Lpa:
    return Lpa(smdp, Card(pki))


def refused(answer: dict[str, Any], subject: str, reason: str, status: str = "Failed") -> None:
    assert status_of(answer) == status, answer
    assert codes_of(answer) == (subject, reason), answer


# -- initiateAuthentication (SGP.22 section 5.6.1) ----------------------------------------


def test_wrong_smdp_address(lpa: Lpa) -> None:
    refused(lpa.initiate(smdpAddress="other.example.com"), "8.8.1", "3.8")


def test_address_compared_case_insensitively(lpa: Lpa, smdp: TestSmdp) -> None:
    assert status_of(lpa.initiate(smdpAddress=smdp.address.upper())) == "Executed-Success"


def test_no_supported_ci_key_id(lpa: Lpa) -> None:
    info1 = lpa.card.info1(verification=[b"\x01" * 20])
    refused(lpa.initiate(euiccInfo1=b64(info1)), "8.8.2", "3.1")


def test_unsupported_specification_version(lpa: Lpa) -> None:
    refused(lpa.initiate(euiccInfo1=b64(lpa.card.info1(svn=b"\x01\x00\x00"))), "8.8.3", "3.1")


@pytest.mark.parametrize(
    ("overrides", "codes"),
    [
        ({"euiccChallenge": b64(b"\x01" * 15)}, ("1.3.1", "2.1")),
        ({"euiccChallenge": "not base64!"}, ("1.3.1", "2.1")),
        ({"euiccChallenge": 16}, ("1.3.1", "2.1")),
        ({"euiccInfo1": b64(b"\xbf\x20\x03\x82\x01\x02")}, ("1.3.1", "2.1")),
        ({"smdpAddress": None}, ("1.3.1", "2.2")),
    ],
)
def test_malformed_initiate_authentication(
    lpa: Lpa, overrides: dict[str, Any], codes: tuple[str, str]
) -> None:
    refused(lpa.initiate(**overrides), *codes)


def test_body_that_is_not_a_json_object(smdp: TestSmdp) -> None:
    for body in (b"<html>", b"[1, 2]", b"\xff\xfe"):
        status, _, answer = smdp.handle(PREFIX + "initiateAuthentication", body)
        assert status == 200
        refused(json.loads(answer), "1.3.1", "2.1")


# -- authenticateClient (SGP.22 section 5.6.3) --------------------------------------------


def test_unknown_transaction_id(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    refused(lpa.authenticate(ac.matching_id, transactionId="00" * 16), "8.10.1", "3.9")


def test_transaction_id_must_be_echoed_exactly(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    refused(
        lpa.authenticate(ac.matching_id, transactionId=lpa.transaction_id.lower()), "8.10.1", "3.9"
    )


def test_authenticate_twice_is_out_of_order(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    assert status_of(lpa.authenticate(ac.matching_id)) == "Executed-Success"
    refused(lpa.authenticate(ac.matching_id), "8.10.1", "3.9")
    assert smdp.open_sessions == 1  # the refusal does not end the session at its next step


def signed1_with(lpa: Lpa, **changes: Any) -> bytes:
    """euiccSigned1 for the current session with some fields changed."""
    answer = asn1.decode(
        "ServerSigned1", unb64(lpa.answers["initiateAuthentication"]["serverSigned1"])
    )
    value = {
        "tid": lpa.tid,
        "address": answer["serverAddress"],
        "challenge": answer["serverChallenge"],
        "matching_id": changes.pop("matching_id"),
    }
    value.update(changes)
    return lpa.card.euicc_signed1(
        value["tid"], value["address"], value["challenge"], value["matching_id"]
    )


@pytest.mark.parametrize(
    ("changes", "codes"),
    [
        ({"challenge": b"\x00" * 16}, ("8.1", "6.1")),
        ({"address": "evil.example.com"}, ("8.1", "6.1")),
        ({"tid": b"\x00" * 16}, ("8.10.1", "3.9")),
    ],
)
def test_euicc_signed1_must_match_the_session(
    lpa: Lpa, smdp: TestSmdp, changes: dict[str, Any], codes: tuple[str, str]
) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    signed1 = signed1_with(lpa, matching_id=ac.matching_id, **changes)
    refused(lpa.authenticate(ac.matching_id, signed1=signed1), *codes)
    assert smdp.open_sessions == 0  # a refused authenticateClient ends the session


def test_euicc_signature1_by_another_key(lpa: Lpa, smdp: TestSmdp, pki: TestPki) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    signed1 = signed1_with(lpa, matching_id=ac.matching_id)
    response = lpa.card.authenticate_server_response(signed1, key=pki.eum.private_key)
    document = {"transactionId": lpa.transaction_id, "authenticateServerResponse": b64(response)}
    refused(lpa.post("authenticateClient", document)[1], "8.1", "6.1")


def test_euicc_signature1_over_other_bytes(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    signed1 = signed1_with(lpa, matching_id=ac.matching_id)
    response = lpa.card.authenticate_server_response(signed1)
    tampered = response.replace(ac.matching_id.encode(), b"X" * len(ac.matching_id))
    document = {"transactionId": lpa.transaction_id, "authenticateServerResponse": b64(tampered)}
    refused(lpa.post("authenticateClient", document)[1], "8.1", "6.1")


def chain_response(lpa: Lpa, ac_matching_id: str, euicc: TestPki, eum: TestPki) -> dict[str, Any]:
    """authenticateClient with the eUICC credential of ``euicc`` and the EUM of ``eum``."""
    signed1 = signed1_with(lpa, matching_id=ac_matching_id)
    signature = signature_to_tlv(sign(euicc.euicc.private_key, signed1))
    body = signed1 + signature + euicc.euicc.der + eum.eum.der
    response = tlv.build(0xBF38, tlv.build(0xA0, body))
    document = {"transactionId": lpa.transaction_id, "authenticateServerResponse": b64(response)}
    return lpa.post("authenticateClient", document)[1]


def test_eum_under_another_ci(lpa: Lpa, smdp: TestSmdp) -> None:
    other = shared_pki(2)
    ac = smdp.add_order()
    lpa.initiate()
    refused(chain_response(lpa, ac.matching_id, other, other), "8.11.1", "3.9")


def test_euicc_certificate_not_signed_by_the_eum(lpa: Lpa, smdp: TestSmdp, pki: TestPki) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    refused(chain_response(lpa, ac.matching_id, shared_pki(2), pki), "8.1.3", "6.1")


def test_euicc_outside_the_eum_range(smdp: TestSmdp) -> None:
    for extension in (False, True):
        narrow = TestPki.generate(
            seed=1, eum_eins=["89049032999"], permitted_eins_extension=extension
        )
        server = TestSmdp(narrow, rng=3, now=NOW)
        lpa = Lpa(server, Card(narrow))
        ac = server.add_order()
        lpa.initiate()
        answer = lpa.authenticate(ac.matching_id)
        refused(answer, "8.1.3", "6.1")
        assert (
            "expected an EID starting"
            in answer["header"]["functionExecutionStatus"]["statusCodeData"]["message"]
        )


def test_expired_eum_certificate(pki: TestPki) -> None:
    server = TestSmdp(pki, rng=3, now=dt.datetime(2080, 1, 1, tzinfo=dt.UTC))
    lpa = Lpa(server, Card(pki))
    ac = server.add_order()
    lpa.initiate()
    refused(lpa.authenticate(ac.matching_id), "8.1.2", "6.3")


def test_unknown_matching_id(lpa: Lpa, smdp: TestSmdp) -> None:
    smdp.add_order()
    lpa.initiate()
    refused(lpa.authenticate("NO-SUCH-ORDER"), "8.2.6", "3.8")


def test_no_matching_id_and_no_order_for_the_eid(lpa: Lpa, smdp: TestSmdp) -> None:
    smdp.add_order(matching_id="", eid="89049032123451234512345678909999")
    lpa.initiate()
    refused(lpa.authenticate(None), "8.2.6", "3.8")


def test_order_bound_to_another_eid(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order(eid="89049032123451234512345678909999")
    lpa.initiate()
    refused(lpa.authenticate(ac.matching_id), "8.1.1", "3.8")


def test_expired_order(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order(expires=NOW - dt.timedelta(seconds=1))
    lpa.initiate()
    refused(lpa.authenticate(ac.matching_id), "8.8.5", "4.10", status="Expired")


def test_order_already_installed(lpa: Lpa, smdp: TestSmdp, pki: TestPki) -> None:
    ac = smdp.add_order()
    lpa.download(ac.matching_id)
    again = Lpa(smdp, Card(pki))
    again.initiate()
    refused(again.authenticate(ac.matching_id), "8.2", "3.7")
    smdp.release(ac.matching_id)
    again.initiate()
    assert status_of(again.authenticate(ac.matching_id)) == "Executed-Success"


def test_authenticate_response_error_from_the_euicc(lpa: Lpa, smdp: TestSmdp) -> None:
    smdp.add_order()
    lpa.initiate()
    error = tlv.build(0xBF38, tlv.build(0xA1, tlv.build(0x80, lpa.tid) + b"\x02\x01\x02"))
    document = {"transactionId": lpa.transaction_id, "authenticateServerResponse": b64(error)}
    refused(lpa.post("authenticateClient", document)[1], "8.1", "6.1")


# -- getBoundProfilePackage (SGP.22 section 5.6.2) ------------------------------------------


def authenticated(lpa: Lpa, smdp: TestSmdp, **order: Any) -> str:
    ac = smdp.add_order(**order)
    lpa.initiate()
    assert status_of(lpa.authenticate(ac.matching_id)) == "Executed-Success"
    return ac.matching_id


def test_get_bpp_before_authenticate_client(lpa: Lpa, smdp: TestSmdp) -> None:
    smdp.add_order()
    lpa.initiate()
    lpa.answers["authenticateClient"] = {"smdpSignature2": b64(b"\x5f\x37\x40" + bytes(64))}
    refused(lpa.get_bpp(), "8.10.1", "3.9")


def test_euicc_signature2_not_over_smdp_signature2(lpa: Lpa, smdp: TestSmdp) -> None:
    authenticated(lpa, smdp)
    lpa.answers["authenticateClient"]["smdpSignature2"] = b64(b"\x5f\x37\x40" + bytes(64))
    refused(lpa.get_bpp(), "8.1", "6.1")
    assert smdp.open_sessions == 0


def test_confirmation_code_missing(lpa: Lpa, smdp: TestSmdp) -> None:
    authenticated(lpa, smdp, confirmation_code="1234")
    refused(lpa.get_bpp(), "8.2.7", "2.2")


def test_confirmation_code_hashed_with_another_transaction(lpa: Lpa, smdp: TestSmdp) -> None:
    from pyrsp.crypto import hash_confirmation_code

    authenticated(lpa, smdp, confirmation_code="1234")
    refused(lpa.get_bpp(hash_cc=hash_confirmation_code("1234", b"\x00" * 16)), "8.2.7", "3.8")


def test_confirmation_code_retry_limit(lpa: Lpa, smdp: TestSmdp) -> None:
    matching_id = authenticated(lpa, smdp, confirmation_code="1234", max_cc_attempts=2)
    refused(lpa.get_bpp(code="0000"), "8.2.7", "3.8")
    assert smdp.order(matching_id).state is OrderState.RELEASED
    lpa.initiate()
    lpa.authenticate(matching_id)
    refused(lpa.get_bpp(code="1111"), "8.2.7", "6.4")
    assert smdp.order(matching_id).state is OrderState.ERROR
    lpa.initiate()
    refused(lpa.authenticate(matching_id), "8.2", "3.7")


def test_order_expires_between_authentication_and_download(pki: TestPki) -> None:
    clock = [NOW]
    server = TestSmdp(pki, rng=3, now=lambda: clock[0])
    lpa = Lpa(server, Card(pki))
    authenticated(lpa, server, expires=NOW + dt.timedelta(minutes=5))
    clock[0] = NOW + dt.timedelta(minutes=6)
    refused(lpa.get_bpp(), "8.8.5", "4.10", status="Expired")


def test_prepare_download_error_from_the_euicc(lpa: Lpa, smdp: TestSmdp) -> None:
    authenticated(lpa, smdp)
    error = tlv.build(0xBF21, tlv.build(0xA1, tlv.build(0x80, lpa.tid) + b"\x02\x01\x02"))
    document = {"transactionId": lpa.transaction_id, "prepareDownloadResponse": b64(error)}
    refused(lpa.post("getBoundProfilePackage", document)[1], "8.1", "6.1")


# -- handleNotification and cancelSession (SGP.22 sections 5.6.4, 5.6.5) -------------------


def test_installation_result_with_a_bad_signature_moves_nothing(lpa: Lpa, smdp: TestSmdp) -> None:
    matching_id = authenticated(lpa, smdp)
    assert status_of(lpa.get_bpp()) == "Executed-Success"
    good = lpa.install_notification()
    bad = good[:-1] + bytes([good[-1] ^ 1])
    assert lpa.notify(bad) == 204
    assert smdp.order(matching_id).state is OrderState.DOWNLOADED
    assert not smdp.notifications[-1].verified
    assert lpa.notify(good) == 204
    assert smdp.order(matching_id).state is OrderState.INSTALLED


def test_installation_error_result_puts_the_order_in_error(lpa: Lpa, smdp: TestSmdp) -> None:
    matching_id = authenticated(lpa, smdp)
    lpa.get_bpp()
    assert lpa.notify(lpa.install_notification(success=False)) == 204
    note = smdp.notifications[-1]
    assert (note.success, note.bpp_command_id, note.error_reason, note.verified) == (
        False,
        5,
        12,
        True,
    )
    assert smdp.order(matching_id).state is OrderState.ERROR


def test_notification_that_does_not_decode(lpa: Lpa) -> None:
    status, answer = lpa.post("handleNotification", {"pendingNotification": b64(b"\x04\x00")})
    assert status == 200
    refused(answer, "1.3.1", "2.1")


def test_cancel_unknown_session(lpa: Lpa) -> None:
    lpa.answers["initiateAuthentication"] = {"transactionId": "AB" * 16}
    refused(lpa.cancel(reason=0), "8.10.1", "3.9")


def test_cancel_with_another_smdp_oid(lpa: Lpa, smdp: TestSmdp) -> None:
    authenticated(lpa, smdp)
    response = lpa.card.cancel_session_response(lpa.tid, "2.999.12", 0)
    document = {"transactionId": lpa.transaction_id, "cancelSessionResponse": b64(response)}
    refused(lpa.post("cancelSession", document)[1], "8.8", "3.10")


def test_cancel_with_a_bad_signature(lpa: Lpa, smdp: TestSmdp) -> None:
    authenticated(lpa, smdp)
    response = lpa.card.cancel_session_response(lpa.tid, smdp.oid, 0)
    broken = response[:-1] + bytes([response[-1] ^ 1])
    document = {"transactionId": lpa.transaction_id, "cancelSessionResponse": b64(broken)}
    refused(lpa.post("cancelSession", document)[1], "8.1", "6.1")


def test_validity_is_checked_even_for_a_chain_seen_before(pki: TestPki) -> None:
    clock = [NOW]
    server = TestSmdp(pki, rng=3, now=lambda: clock[0])
    lpa = Lpa(server, Card(pki))
    first, second = server.add_order(), server.add_order()
    lpa.initiate()
    assert status_of(lpa.authenticate(first.matching_id)) == "Executed-Success"
    clock[0] = dt.datetime(2080, 1, 1, tzinfo=dt.UTC)
    lpa.initiate()
    refused(lpa.authenticate(second.matching_id), "8.1.2", "6.3")
