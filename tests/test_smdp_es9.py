"""TestSmdp ES9+ at the JSON level: each function's success path (SGP.22 section 5.6)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from pyrsp import asn1, tlv
from pyrsp.crypto import public_key_bytes, signature_from_tlv, verify
from pyrsp.errors import UsageError
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import OrderState, TestSmdp
from pyrsp.testing.smdp.profiles import generate_profile
from test_smdp_support import NOW, PREFIX, Card, Lpa, codes_of, shared_pki, status_of, unb64


@pytest.fixture
def pki() -> TestPki:
    return shared_pki()


@pytest.fixture
def smdp(pki: TestPki) -> TestSmdp:
    return TestSmdp(pki, rng=3, now=NOW)


@pytest.fixture
def lpa(smdp: TestSmdp, pki: TestPki) -> Lpa:
    return Lpa(smdp, Card(pki))


def test_initiate_authentication_signs_server_signed1(lpa: Lpa, pki: TestPki) -> None:
    answer = lpa.initiate()
    assert status_of(answer) == "Executed-Success"
    signed1 = unb64(answer["serverSigned1"])
    value = asn1.decode("ServerSigned1", signed1)
    assert value["transactionId"].hex().upper() == answer["transactionId"]
    assert value["euiccChallenge"] == lpa.challenge
    assert value["serverAddress"] == pki.smdp_host
    assert unb64(answer["euiccCiPKIdToBeUsed"]) == b"\x04\x14" + pki.ci_key_id
    assert unb64(answer["serverCertificate"]) == pki.dp_auth.der
    verify(pki.dp_auth.certificate, signed1, signature_from_tlv(unb64(answer["serverSignature1"])))


def test_seeded_servers_replay_the_same_session(pki: TestPki) -> None:
    answers = []
    for _ in range(2):
        answers.append(Lpa(TestSmdp(pki, rng=5), Card(pki)).initiate())
    assert answers[0] == answers[1]


def test_authenticate_client_answers_metadata_and_smdp_signed2(
    lpa: Lpa, smdp: TestSmdp, pki: TestPki
) -> None:
    ac = smdp.add_order(iccid="8999000000000000017", profile_name="Demo", service_provider="ACME")
    lpa.initiate()
    answer = lpa.authenticate(ac.matching_id)
    assert status_of(answer) == "Executed-Success", answer
    assert answer["transactionId"] == lpa.transaction_id
    metadata = asn1.decode("StoreMetadataRequest", unb64(answer["profileMetadata"]))
    assert metadata["profileName"] == "Demo"
    assert metadata["serviceProviderName"] == "ACME"
    assert metadata["iccid"] == bytes.fromhex("989900000000000010F7")
    assert metadata["notificationConfigurationInfo"][0]["notificationAddress"] == pki.smdp_host
    signed2 = unb64(answer["smdpSigned2"])
    assert asn1.decode("SmdpSigned2", signed2) == {
        "transactionId": lpa.tid,
        "ccRequiredFlag": False,
    }
    assert unb64(answer["smdpCertificate"]) == pki.dp_pb.der


def test_full_download_binds_the_profile_and_settles_the_order(
    lpa: Lpa, smdp: TestSmdp, pki: TestPki
) -> None:
    ac = smdp.add_order(iccid="8999000000000000017")
    unprotected = lpa.download(ac.matching_id)
    order = smdp.order(ac.matching_id)
    assert unprotected.profile_package == order.profile
    configure = asn1.decode("ConfigureISDPRequest", unprotected.configure_isdp)
    assert configure["dpProprietaryData"]["dpOid"] == pki.smdp_oid
    assert unprotected.store_metadata == unb64(lpa.answers["authenticateClient"]["profileMetadata"])
    assert unprotected.replace_session_keys is None
    assert order.state is OrderState.INSTALLED
    assert order.installed_eid == pki.eid
    assert order.history == [OrderState.RELEASED, OrderState.DOWNLOADED]
    [note] = smdp.notifications
    assert (note.event, note.success, note.verified, note.iccid) == (
        "install",
        True,
        True,
        "8999000000000000017",
    )
    assert note.transaction_id == lpa.transaction_id
    assert smdp.open_sessions == 0


def test_replace_session_keys_and_multi_segment_profile(pki: TestPki) -> None:
    smdp = TestSmdp(pki, rng=4, now=NOW, replace_session_keys=True)
    package = generate_profile("8999000000000000017", filler=5000)
    ac = smdp.add_order(package)
    assert smdp.order(ac.matching_id).iccid == "8999000000000000017"
    lpa = Lpa(smdp, Card(pki))
    unprotected = lpa.download(ac.matching_id)
    assert unprotected.replace_session_keys is not None
    assert unprotected.profile_package == package
    bpp = unb64(lpa.answers["getBoundProfilePackage"]["boundProfilePackage"])
    segments = tlv.parse(bpp).require(0xA3).children()
    assert len(segments) == 6  # 5.1 kB in segments of at most 1020 bytes
    assert {s.tag for s in segments} == {0x86}
    assert max(len(s.raw) for s in segments) <= 1024


def test_handle_notification_answers_204_and_checks_other_notifications(
    lpa: Lpa, smdp: TestSmdp, pki: TestPki
) -> None:
    iccid = bytes.fromhex("989900000000000010F7")
    good = lpa.card.other_notification("enable", seq=3, iccid=iccid, address=pki.smdp_host)
    bad = lpa.card.other_notification(
        "delete", seq=4, iccid=iccid, address=pki.smdp_host, key=pki.eum.private_key
    )
    assert lpa.notify(good) == 204
    assert lpa.notify(bad) == 204
    first, second = smdp.notifications
    assert (first.event, first.seq_number, first.verified, first.eid) == (
        "enable",
        3,
        True,
        pki.eid,
    )
    assert first.iccid == "8999000000000000017"
    assert (second.event, second.verified) == ("delete", False)
    assert "euiccNotificationSignature" in second.problem


def test_cancel_session_ends_the_session(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    answer = lpa.cancel(reason=0)  # endUserRejection
    assert status_of(answer) == "Executed-Success"
    assert smdp.order(ac.matching_id).state is OrderState.CANCELLED
    assert smdp.open_sessions == 0


def test_cancel_session_postponed_keeps_the_order(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    assert status_of(lpa.cancel(reason=1)) == "Executed-Success"
    assert smdp.order(ac.matching_id).state is OrderState.RELEASED
    lpa.download(ac.matching_id)
    assert smdp.order(ac.matching_id).state is OrderState.INSTALLED


def test_confirmation_code_accepted(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order(confirmation_code="1234")
    assert ac.confirmation_code_required
    lpa.initiate()
    answer = lpa.authenticate(ac.matching_id)
    assert asn1.decode("SmdpSigned2", unb64(answer["smdpSigned2"]))["ccRequiredFlag"] is True
    assert status_of(lpa.get_bpp(code="1234")) == "Executed-Success"


def test_eid_bound_order_without_matching_id(lpa: Lpa, smdp: TestSmdp, pki: TestPki) -> None:
    ac = smdp.add_order(matching_id="", eid=pki.eid)
    assert ac.matching_id == ""
    lpa.initiate()
    assert status_of(lpa.authenticate(None)) == "Executed-Success"


def test_unknown_path_is_404_and_headers_are_es9(smdp: TestSmdp) -> None:
    assert smdp.handle("/gsma/rsp2/es9plus/nothing", b"{}")[0] == 404
    status, headers, body = smdp.handle(PREFIX + "initiateAuthentication", b"{}")
    assert status == 200
    assert headers["x-admin-protocol"].startswith("gsma/rsp/v2")
    assert codes_of(json.loads(body)) == ("1.3.1", "2.2")


def test_ts48_profiles_download_byte_for_byte(vectors_dir: Path, pki: TestPki) -> None:
    for path in sorted((vectors_dir / "upp").glob("*.der")):
        smdp = TestSmdp(pki, rng=6, now=NOW)
        ac = smdp.add_order(path)
        order = smdp.order(ac.matching_id)
        assert order.iccid.startswith("8949449999999990")  # read from the package header
        unprotected = Lpa(smdp, Card(pki)).download(ac.matching_id)
        assert unprotected.profile_package == path.read_bytes()
        assert order.state is OrderState.INSTALLED


def test_retry_after_the_bpp_was_delivered_serves_the_same_package(
    lpa: Lpa, smdp: TestSmdp
) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    first = tlv.parse(unb64(lpa.get_bpp()["boundProfilePackage"])).children()
    otpk = public_key_bytes(lpa.card.otsk)
    # The LPA died before loading it; a new session for the same order and eUICC:
    lpa.initiate()
    signed2 = asn1.decode("SmdpSigned2", unb64(lpa.authenticate(ac.matching_id)["smdpSigned2"]))
    assert signed2["bppEuiccOtpk"] == otpk
    second = tlv.parse(unb64(lpa.get_bpp(reuse=True)["boundProfilePackage"])).children()
    assert [p.raw for p in first[1:]] == [p.raw for p in second[1:]]  # same protected parts
    assert first[0].raw != second[0].raw  # the ISCR names the new transaction
    lpa.card.unprotect(tlv.build(0xBF36, b"".join(p.raw for p in second)))
    assert lpa.notify(lpa.install_notification()) == 204
    assert smdp.order(ac.matching_id).state is OrderState.INSTALLED


def test_retry_with_a_new_one_time_key_is_refused(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    lpa.get_bpp()
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    assert codes_of(lpa.get_bpp(reuse=False)) == ("8.2", "3.7")


def test_downloaded_order_is_unavailable_to_another_euicc(smdp: TestSmdp, lpa: Lpa) -> None:
    ac = smdp.add_order()
    lpa.initiate()
    lpa.authenticate(ac.matching_id)
    lpa.get_bpp()
    stranger = Lpa(smdp, Card(TestPki.generate(seed=1, eid="89049032123451234512345678900001")))
    stranger.initiate()
    assert codes_of(stranger.authenticate(ac.matching_id)) == ("8.2", "3.7")


def test_ci_chosen_from_the_euicc_lists(pki: TestPki) -> None:
    brainpool = TestPki.generate(seed=1, curve="brainpool")
    smdp = TestSmdp([pki, brainpool], rng=3, now=NOW)
    ac = smdp.add_order()
    lpa = Lpa(smdp, Card(brainpool))
    answer = lpa.initiate()
    assert unb64(answer["euiccCiPKIdToBeUsed"]) == b"\x04\x14" + brainpool.ci_key_id
    assert unb64(answer["serverCertificate"]) == brainpool.dp_auth.der
    lpa.download(ac.matching_id)
    assert smdp.order(ac.matching_id).state is OrderState.INSTALLED


@pytest.mark.parametrize(
    "bad",
    [
        {"profile_name": "x" * 65},
        {"service_provider": "x" * 33},
        {"iccid": "12345"},
        {"profile": b"", "iccid": None},
        {"matching_id": ""},
        {"profile_class": "premium"},
    ],
)
def test_add_order_refuses_what_sgp22_cannot_carry(smdp: TestSmdp, bad: dict[str, Any]) -> None:
    with pytest.raises(UsageError):
        smdp.add_order(**bad)


def test_add_order_refuses_a_matching_id_twice(smdp: TestSmdp) -> None:
    smdp.add_order(matching_id="ABC-1")
    with pytest.raises(UsageError, match="new matching ID"):
        smdp.add_order(matching_id="ABC-1")


def test_install_notification_delivered_twice(lpa: Lpa, smdp: TestSmdp) -> None:
    ac = smdp.add_order()
    lpa.download(ac.matching_id)
    assert lpa.notify(lpa.install_notification()) == 204  # its first 204 was lost
    first, second = smdp.notifications
    assert first.verified and second.verified
    assert second.transaction_id == first.transaction_id
    assert smdp.order(ac.matching_id).history == [OrderState.RELEASED, OrderState.DOWNLOADED]


def test_a_session_past_its_lifetime_is_refused_as_unknown(pki: TestPki) -> None:
    clock = [NOW]
    smdp = TestSmdp(pki, rng=3, now=lambda: clock[0], session_lifetime=dt.timedelta(minutes=5))
    lpa = Lpa(smdp, Card(pki))
    ac = smdp.add_order()
    lpa.initiate()
    clock[0] = NOW + dt.timedelta(minutes=4)
    assert status_of(lpa.authenticate(ac.matching_id)) == "Executed-Success"
    clock[0] = NOW + dt.timedelta(minutes=6)
    assert codes_of(lpa.get_bpp()) == ("8.10.1", "3.9")  # TransactionId - Unknown
    assert smdp.open_sessions == 0
    # without a lifetime a session waits for ever
    patient = TestSmdp(pki, rng=3, now=lambda: clock[0], session_lifetime=None)
    lpa = Lpa(patient, Card(pki))
    ac = patient.add_order()
    lpa.initiate()
    clock[0] += dt.timedelta(days=30)
    assert status_of(lpa.authenticate(ac.matching_id)) == "Executed-Success"
