"""VirtualEuicc ES10a/b/c functions other than the download: info, addresses, profiles,
notifications, CRL, RAT, EID, memory reset, and the dispatcher's status words."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding

from pyrsp import asn1, tlv
from pyrsp.crypto import verify
from pyrsp.models import iccid_to_bytes
from pyrsp.protocol.apdu import ApduConfig, store_data_apdus
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.euicc.state import ProfileRecord
from pyrsp.testing.pki import TestPki

ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
A, B, C = "8944476500001224158", "8944476500001224166", "89444765000012241741"
ALL_EVENTS = (b"\xf0", 4)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=3)


@pytest.fixture
def card(pki: TestPki) -> VirtualEuicc:
    card = VirtualEuicc(pki, rng=random.Random(2))
    assert card.transmit(bytes.fromhex("00A4040010") + ISD_R)[-2:] == b"\x90\x00"
    return card


def send(card: VirtualEuicc, request: bytes) -> bytes:
    """One ES10 request on the basic channel; the whole R-APDU after any GET RESPONSE."""
    for apdu in store_data_apdus(request, ApduConfig()):
        answer = card.transmit(apdu)
    data = answer[:-2]
    while answer[-2] == 0x61:
        answer = card.transmit(bytes([0x00, 0xC0, 0, 0, answer[-1]]))
        data += answer[:-2]
    return data + answer[-2:]


def es10(card: VirtualEuicc, type_name: str, value: Any, response: str) -> Any:
    answer = send(card, asn1.encode(type_name, value))
    assert answer[-2:] == b"\x90\x00", answer.hex()
    return asn1.decode(response, answer[:-2])


def install(
    card: VirtualEuicc,
    iccid: str,
    *,
    profile_class: int = 2,
    ppr: tuple[bytes, int] | None = None,
    events: tuple[bytes, int] | None = ALL_EVENTS,
    enabled: bool = False,
) -> ProfileRecord:
    """Put a profile on the card directly (the download path has its own tests)."""
    metadata: dict[str, Any] = {
        "iccid": iccid_to_bytes(iccid),
        "serviceProviderName": "SP " + iccid[-3:],
        "profileName": "Profile " + iccid[-3:],
        "profileClass": profile_class,
    }
    if events is not None:
        metadata["notificationConfigurationInfo"] = [
            {"profileManagementOperation": events, "notificationAddress": "ops.example.com"}
        ]
    if ppr is not None:
        metadata["profilePolicyRules"] = ppr
    state = card.core.state
    record = ProfileRecord(
        iccid=iccid_to_bytes(iccid),
        isdp_aid=state.new_isdp_aid(),
        metadata=asn1.encode("StoreMetadataRequest", metadata),
        enabled=enabled,
        size=5000,
    )
    state.profiles.append(record)
    return record


def by_iccid(iccid: str) -> tuple[str, bytes]:
    return ("iccid", iccid_to_bytes(iccid))


# --- dispatcher --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_hex", "sw"),
    [
        ("BF9900", "6a88"),  # no such function
        ("BF3003810100", "6a80"),  # NotificationSentRequest without its seqNumber
        ("BF3107A005", "6a80"),  # truncated
        ("BF", "6a80"),
    ],
)
def test_dispatcher_status_words(card: VirtualEuicc, request_hex: str, sw: str) -> None:
    assert send(card, bytes.fromhex(request_hex)).hex() == sw


# --- information and addresses -----------------------------------------------------------------


def test_euicc_info1(card: VirtualEuicc, pki: TestPki) -> None:
    info = es10(card, "GetEuiccInfo1Request", {}, "EUICCInfo1")
    assert info["euiccCiPKIdListForVerification"] == [pki.ci_key_id]
    assert info["euiccCiPKIdListForSigning"] == [pki.ci_key_id]


def test_euicc_info2_reports_free_memory(card: VirtualEuicc) -> None:
    def free() -> int:
        info = es10(card, "GetEuiccInfo2Request", {}, "EUICCInfo2")
        return int.from_bytes(tlv.parse_all(info["extCardResource"])[1].value, "big")

    before = free()
    install(card, A)
    assert before - free() == 5000


def test_configured_addresses(card: VirtualEuicc) -> None:
    get: tuple[str, dict[str, Any], str] = (
        "EuiccConfiguredAddressesRequest",
        {},
        "EuiccConfiguredAddressesResponse",
    )
    assert es10(card, *get) == {"rootDsAddress": "testrootsmds.example.com"}
    answer = es10(
        card,
        "SetDefaultDpAddressRequest",
        {"defaultDpAddress": "smdp.example.com"},
        "SetDefaultDpAddressResponse",
    )
    assert answer == {"setDefaultDpAddressResult": 0}
    assert es10(card, *get)["defaultDpAddress"] == "smdp.example.com"
    es10(
        card, "SetDefaultDpAddressRequest", {"defaultDpAddress": ""}, "SetDefaultDpAddressResponse"
    )
    assert "defaultDpAddress" not in es10(card, *get)


def test_get_eid(card: VirtualEuicc, pki: TestPki) -> None:
    answer = es10(card, "GetEuiccDataRequest", {"tagList": b"\x5a"}, "GetEuiccDataResponse")
    assert answer["eidValue"].hex() == pki.eid
    assert send(card, bytes.fromhex("BF3E035C0140")).hex() == "6a88"


def crl_request(pki: TestPki) -> bytes:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(pki.ci.certificate.subject)
        .last_update(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
        .next_update(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    )
    crl = builder.sign(pki.ci.private_key, hashes.SHA256())
    return tlv.build(0xBF35, tlv.build(0xA0, tlv.parse(crl.public_bytes(Encoding.DER)).value))


def test_load_crl_accepted_or_refused(card: VirtualEuicc, pki: TestPki) -> None:
    answer = send(card, crl_request(pki))
    assert asn1.decode("LoadCRLResponse", answer[:-2])[0] == "loadCRLResponseOk"
    card.settings.crl_result = 4
    answer = send(card, crl_request(pki))
    assert asn1.decode("LoadCRLResponse", answer[:-2]) == ("loadCRLResponseError", 4)


def test_get_rat(card: VirtualEuicc) -> None:
    assert es10(card, "GetRatRequest", {}, "GetRatResponse") == {"rat": []}


# --- GetProfilesInfo ---------------------------------------------------------------------------


def profiles_info(card: VirtualEuicc, request: dict[str, Any]) -> list[dict[str, Any]]:
    kind, infos = es10(card, "ProfileInfoListRequest", request, "ProfileInfoListResponse")
    assert kind == "profileInfoListOk"
    return infos  # type: ignore[no-any-return]


def test_profiles_info_all_fields(card: VirtualEuicc) -> None:
    record = install(card, A, ppr=(b"\x40", 2))
    record.nickname = "work"
    (info,) = profiles_info(card, {})
    assert info["iccid"] == iccid_to_bytes(A)
    assert info["isdpAid"] == record.isdp_aid
    assert info["profileState"] == 0
    assert info["profileNickname"] == "work"
    assert info["serviceProviderName"] == "SP 158"
    assert info["profileClass"] == 2
    assert info["profilePolicyRules"] == (b"\x40", 2)
    assert info["notificationConfigurationInfo"][0]["notificationAddress"] == "ops.example.com"


def test_profiles_info_search_and_tag_list(card: VirtualEuicc) -> None:
    first = install(card, A)
    install(card, B, profile_class=0)
    assert [i["iccid"] for i in profiles_info(card, {"searchCriteria": by_iccid(B)})] == [
        iccid_to_bytes(B)
    ]
    by_aid = profiles_info(card, {"searchCriteria": ("isdpAid", first.isdp_aid)})
    assert [i["iccid"] for i in by_aid] == [iccid_to_bytes(A)]
    tests = profiles_info(card, {"searchCriteria": ("profileClass", 0)})
    assert [i["iccid"] for i in tests] == [iccid_to_bytes(B)]
    assert profiles_info(card, {"searchCriteria": by_iccid(C)}) == []
    limited = profiles_info(card, {"tagList": bytes.fromhex("5A9F70")})
    assert limited == [
        {"iccid": iccid_to_bytes(A), "profileState": 0},
        {"iccid": iccid_to_bytes(B), "profileState": 0},
    ]


def test_profiles_info_bad_tag_list(card: VirtualEuicc) -> None:
    answer = es10(card, "ProfileInfoListRequest", {"tagList": b"\x9f"}, "ProfileInfoListResponse")
    assert answer == ("profileInfoListError", 1)


# --- Enable / Disable / Delete / Nickname / Memory reset ---------------------------------------


def enable(card: VirtualEuicc, identifier: tuple[str, bytes]) -> int:
    request = {"profileIdentifier": identifier, "refreshFlag": True}
    return es10(card, "EnableProfileRequest", request, "EnableProfileResponse")["enableResult"]  # type: ignore[no-any-return]


def disable(card: VirtualEuicc, identifier: tuple[str, bytes]) -> int:
    request = {"profileIdentifier": identifier, "refreshFlag": False}
    answer = es10(card, "DisableProfileRequest", request, "DisableProfileResponse")
    return answer["disableResult"]  # type: ignore[no-any-return]


def delete(card: VirtualEuicc, identifier: tuple[str, bytes]) -> int:
    answer = es10(card, "DeleteProfileRequest", identifier, "DeleteProfileResponse")
    return answer["deleteResult"]  # type: ignore[no-any-return]


def test_enable_switches_profiles_and_notifies(card: VirtualEuicc) -> None:
    install(card, A)
    second = install(card, B)
    assert enable(card, by_iccid(A)) == 0
    assert enable(card, by_iccid(A)) == 2
    assert enable(card, by_iccid(C)) == 1
    assert enable(card, ("isdpAid", second.isdp_aid)) == 0
    assert [(p.iccid, p.enabled) for p in card.profiles] == [(A, False), (B, True)]
    events = [(n.seq_number, n.event, n.iccid) for n in card.notifications]
    assert events == [
        (0, "enable", iccid_to_bytes(A)),
        (1, "disable", iccid_to_bytes(A)),
        (2, "enable", iccid_to_bytes(B)),
    ]


def test_enable_refused_when_current_profile_has_ppr1(card: VirtualEuicc) -> None:
    install(card, A, ppr=(b"\x40", 2), enabled=True)
    install(card, B)
    assert enable(card, by_iccid(B)) == 3
    assert disable(card, by_iccid(A)) == 3


def test_disable(card: VirtualEuicc) -> None:
    install(card, A, enabled=True)
    assert disable(card, by_iccid(C)) == 1
    assert disable(card, by_iccid(A)) == 0
    assert disable(card, by_iccid(A)) == 2
    assert [n.event for n in card.notifications] == ["disable"]


def test_delete(card: VirtualEuicc) -> None:
    install(card, A, enabled=True)
    second = install(card, B, ppr=(b"\x20", 3))
    third = install(card, C, events=None)
    assert delete(card, by_iccid(A)) == 2
    assert delete(card, ("isdpAid", second.isdp_aid)) == 3
    assert delete(card, ("isdpAid", third.isdp_aid)) == 0
    assert delete(card, by_iccid(C)) == 1
    assert [p.iccid for p in card.profiles] == [A, B]
    assert card.notifications == ()  # C configured no notification


def test_set_nickname(card: VirtualEuicc) -> None:
    install(card, A)
    request = {"iccid": iccid_to_bytes(A), "profileNickname": "travel"}
    assert es10(card, "SetNicknameRequest", request, "SetNicknameResponse") == {
        "setNicknameResult": 0
    }
    assert card.profiles[0].nickname == "travel"
    request["iccid"] = iccid_to_bytes(B)
    assert es10(card, "SetNicknameRequest", request, "SetNicknameResponse") == {
        "setNicknameResult": 1
    }


def test_memory_reset(card: VirtualEuicc) -> None:
    def reset(bits: tuple[bytes, int]) -> int:
        request = {"resetOptions": bits}
        answer = es10(card, "EuiccMemoryResetRequest", request, "EuiccMemoryResetResponse")
        return answer["resetResult"]  # type: ignore[no-any-return]

    install(card, A)
    install(card, B, profile_class=0)
    assert reset((b"\x80", 1)) == 0  # operational profiles
    assert [p.iccid for p in card.profiles] == [B]
    assert reset((b"\x80", 1)) == 1  # nothing left to delete
    card.core.state.default_dp_address = "smdp.example.com"
    assert reset((b"\x60", 3)) == 0  # test profiles and the default SM-DP+ address
    assert card.profiles == ()
    assert card.core.state.default_dp_address is None


# --- notifications -----------------------------------------------------------------------------


def test_notifications_list_retrieve_remove(card: VirtualEuicc, pki: TestPki) -> None:
    install(card, A)
    install(card, B)
    enable(card, by_iccid(A))
    enable(card, by_iccid(B))  # disable A (1), enable B (2)
    kind, metadata = es10(card, "ListNotificationRequest", {}, "ListNotificationResponse")
    assert kind == "notificationMetadataList"
    assert [m["seqNumber"] for m in metadata] == [0, 1, 2]
    assert metadata[1]["profileManagementOperation"] == (b"\x20", 3)
    assert metadata[1]["notificationAddress"] == "ops.example.com"
    only_enable = es10(
        card,
        "ListNotificationRequest",
        {"profileManagementOperation": (b"\x40", 2)},
        "ListNotificationResponse",
    )[1]
    assert [m["seqNumber"] for m in only_enable] == [0, 2]

    kind, pending = es10(
        card,
        "RetrieveNotificationsListRequest",
        {"searchCriteria": ("seqNumber", 1)},
        "RetrieveNotificationsListResponse",
    )
    assert kind == "notificationList"
    (signed,) = pending
    assert signed[0] == "otherSignedNotification"
    parts = tlv.parse(card.notifications[1].pending).children()
    verify(pki.euicc.certificate, parts[0].raw, signed[1]["euiccNotificationSignature"])
    assert signed[1]["eumCertificate"] == pki.eum.der

    removed = es10(card, "NotificationSentRequest", {"seqNumber": 0}, "NotificationSentResponse")
    assert removed == {"deleteNotificationStatus": 0}
    again = es10(card, "NotificationSentRequest", {"seqNumber": 0}, "NotificationSentResponse")
    assert again == {"deleteNotificationStatus": 1}
    everything = es10(
        card, "RetrieveNotificationsListRequest", {}, "RetrieveNotificationsListResponse"
    )[1]
    assert len(everything) == 2
    for criteria in ({"searchCriteria": ("seqNumber", 0)}, {"searchCriteria": ("seqNumber", 9)}):
        nothing = es10(
            card, "RetrieveNotificationsListRequest", criteria, "RetrieveNotificationsListResponse"
        )
        assert nothing == ("notificationsListResultError", 1)  # noResultAvailable
    # numbers keep increasing after a removal
    disable(card, by_iccid(B))
    assert [n.seq_number for n in card.notifications] == [1, 2, 3]


def test_notification_events_include_the_v3_bits() -> None:
    from pyrsp.models import NotificationEvent
    from pyrsp.testing.euicc.notifications import event_bits, events_of

    assert events_of((b"\x88", 5)) == {"install", "rpmEnable"}
    assert event_bits(NotificationEvent.LOAD_RPM_PACKAGE_RESULT) == (b"\x01", 8)
