"""pyrsp.protocol.es10: requests byte for byte, answers parsed, result codes named."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from pyrsp import asn1, tlv
from pyrsp.errors import CodecError, EuiccError, ProtocolViolation, UsageError
from pyrsp.models import NotificationEvent, ProfileClass, ProfileState, iccid_to_bytes
from pyrsp.protocol import es10
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.effects import Flow, Transmit

CONFIG = ApduConfig(channel=1, segment_size=120)
ICCID_18 = "894910000000000001"
ICCID_19 = "8949100000000000012"
ICCID_20 = "89491000000000000123"
AID = bytes.fromhex("A0000005591010FFFFFFFF8900001100")
EID = "89049032123451234512345678901235"


class Isdr:
    """A scripted ISD-R behind STORE DATA: records each request, answers ``reply(request)``."""

    def __init__(self, reply: Callable[[bytes], bytes]) -> None:
        self.reply = reply
        self.requests: list[bytes] = []
        self.blocks: list[bytes] = []
        self.pending = b""

    def __call__(self, apdu: bytes) -> bytes:
        if apdu[1] == 0xC0:
            out, self.pending = self.pending[:256], self.pending[256:]
            return out + (
                bytes((0x61, min(len(self.pending), 256) & 0xFF)) if self.pending else b"\x90\x00"
            )
        assert apdu[:2] == b"\x81\xe2" and apdu[3] == len(self.blocks)
        self.blocks.append(apdu[5 : 5 + apdu[4]])
        if apdu[2] == 0x11:
            return b"\x90\x00"
        request, self.blocks = b"".join(self.blocks), []
        self.requests.append(request)
        self.pending = self.reply(request)
        return self(b"\x81\xc0\x00\x00\x00")


def run(flow: Flow[Any], reply: Callable[[bytes], bytes] | bytes) -> tuple[Any, Isdr]:
    card = Isdr(reply if callable(reply) else (lambda _: reply))
    answer: Any = None
    try:
        while True:
            effect = flow.send(answer)
            answer = card(effect.apdu) if isinstance(effect, Transmit) else None
    except StopIteration as stop:
        return stop.value, card


# -- requests, byte for byte (SGP.22 5.7; FACTS.md traps) --------------------------------------


def test_get_eid_request_and_answer() -> None:
    eid, card = run(es10.get_eid(CONFIG), bytes.fromhex("BF3E125A10") + bytes.fromhex(EID))
    assert card.requests == [bytes.fromhex("BF3E035C015A")]
    assert eid == EID


@pytest.mark.parametrize(
    ("iccid", "encoded"),
    [
        (ICCID_18, "989401000000000010FF"),
        (ICCID_19, "989401000000000010F2"),
        (ICCID_20, "98940100000000001032"),
    ],
)
def test_enable_by_iccid_always_sends_10_bytes(iccid: str, encoded: str) -> None:
    """FACTS.md trap: 18- and 19-digit ICCIDs are still 10 bytes (5A 0A), F padded."""
    request = es10.build_enable_profile_request(iccid, refresh=True)
    assert request == bytes.fromhex("BF3111A00C5A0A" + encoded + "8101FF")


def test_refresh_flag_is_boolean_with_tag_81() -> None:
    """FACTS.md trap: refreshFlag is a BOOLEAN with context tag 81, for enable and disable."""
    enable = es10.build_enable_profile_request(AID, refresh=False)
    disable = es10.build_disable_profile_request(AID, refresh=True)
    assert enable == bytes.fromhex("BF3117A0124F10") + AID + bytes.fromhex("810100")
    assert disable == bytes.fromhex("BF3217A0124F10") + AID + bytes.fromhex("8101FF")


def test_delete_by_aid_and_iccid() -> None:
    assert es10.build_delete_profile_request(AID) == bytes.fromhex("BF33124F10") + AID
    assert es10.build_delete_profile_request(AID.hex()) == bytes.fromhex("BF33124F10") + AID
    assert es10.build_delete_profile_request(ICCID_19) == bytes.fromhex(
        "BF330C5A0A989401000000000010F2"
    )


def test_profiles_info_search_criteria_wrapped_in_a0() -> None:
    """FACTS.md trap: searchCriteria is wrapped in A0 (explicit CHOICE tag)."""
    by_iccid = es10.build_profiles_info_request(iccid=ICCID_19, tags=[0x5A, 0x9F70, 0x90])
    assert by_iccid == bytes.fromhex("BF2D14A00C5A0A989401000000000010F25C045A9F7090")
    by_aid = es10.build_profiles_info_request(isdp_aid=AID)
    assert by_aid == bytes.fromhex("BF2D14A0124F10") + AID
    by_class = es10.build_profiles_info_request(profile_class="operational")
    assert by_class == bytes.fromhex("BF2D05A003950102")
    assert es10.build_profiles_info_request() == bytes.fromhex("BF2D00")


def test_profiles_info_takes_one_criterion() -> None:
    with pytest.raises(UsageError, match="not several"):
        es10.build_profiles_info_request(iccid=ICCID_19, profile_class="test")
    with pytest.raises(UsageError, match="profile class"):
        es10.build_profiles_info_request(profile_class="gold")
    with pytest.raises(UsageError, match="in hex"):
        es10.build_profiles_info_request(isdp_aid="A0-00")
    with pytest.raises(UsageError, match="5 to 16 bytes"):
        es10.build_profiles_info_request(isdp_aid="A000")
    with pytest.raises(UsageError, match="0x9F70"):
        es10.build_profiles_info_request(tags=[0x5A, 0])
    assert (
        es10.build_profiles_info_request(isdp_aid=AID.hex())
        == bytes.fromhex("BF2D14A0124F10") + AID
    )


def test_notification_requests_with_seq_number_0() -> None:
    """FACTS.md trap: searchCriteria in A0, seqNumber 80, event 81; seqNumber 0 is valid."""
    assert es10.build_retrieve_notifications_request(seq_number=0) == bytes.fromhex(
        "BF2B05A003800100"
    )
    assert es10.build_retrieve_notifications_request(event="install") == bytes.fromhex(
        "BF2B06A00481020780"
    )
    assert es10.build_retrieve_notifications_request() == bytes.fromhex("BF2B00")
    assert es10.build_remove_notification_request(0) == bytes.fromhex("BF3003800100")
    assert es10.build_list_notification_request() == bytes.fromhex("BF2800")
    assert es10.build_list_notification_request("delete") == bytes.fromhex("BF280481020410")
    with pytest.raises(UsageError, match="not both"):
        es10.build_retrieve_notifications_request(seq_number=1, event="enable")
    with pytest.raises(UsageError, match=">= 0"):
        es10.build_remove_notification_request(-1)
    with pytest.raises(UsageError, match="notification event"):
        es10.build_list_notification_request("reboot")


def test_notification_requests_accept_v3_events() -> None:
    by_name = es10.build_list_notification_request("notificationRpmEnable")
    assert by_name == es10.build_list_notification_request(NotificationEvent.RPM_ENABLE)
    assert by_name == bytes.fromhex("BF280481020308")
    assert es10.build_list_notification_request("loadRpmPackageResult") == bytes.fromhex(
        "BF280481020001"
    )


def test_memory_reset_options() -> None:
    every = es10.build_memory_reset_request(
        operational_profiles=True, test_profiles=True, default_smdp_address=True
    )
    assert every == bytes.fromhex("BF3404820205E0")
    only_test = es10.build_memory_reset_request(
        operational_profiles=False, test_profiles=True, default_smdp_address=False
    )
    assert only_test == bytes.fromhex("BF340482020640")
    with pytest.raises(UsageError, match="at least one"):
        es10.build_memory_reset_request(
            operational_profiles=False, test_profiles=False, default_smdp_address=False
        )


def test_set_nickname_and_default_address_requests() -> None:
    assert es10.build_set_nickname_request(ICCID_20, "hi") == bytes.fromhex(
        "BF29105A0A9894010000000000103290026869"
    )
    with pytest.raises(UsageError, match="64 bytes"):
        es10.build_set_nickname_request(ICCID_20, "é" * 33)
    assert es10.build_set_default_dp_address_request("a.b") == bytes.fromhex("BF3F058003612E62")


def test_cancel_session_request() -> None:
    tid = bytes(range(16))
    expected = bytes.fromhex("BF41158010") + tid + bytes.fromhex("810101")
    assert es10.build_cancel_session_request(tid, "postponed") == expected
    assert es10.build_cancel_session_request(tid, 1) == expected
    with pytest.raises(UsageError, match="CancelSessionReason"):
        es10.build_cancel_session_request(tid, "bored")


def test_ctx_params_device_info_tbcd() -> None:
    """FACTS.md: TAC 35693803 is 53 96 83 30; the IMEI is 8 bytes TBCD with F padding."""
    with_imei = es10.build_ctx_params1("ABC", "35693803", imei="356938035643809")
    assert with_imei == bytes.fromhex(
        "A01E8003414243A117800453968330A10585030F0000820853968330653408F9"
    )
    without = es10.build_ctx_params1(None, "35693803")
    assert without == bytes.fromhex("A00FA10D800453968330A10585030F0000")
    with pytest.raises(UsageError, match="TAC"):
        es10.build_ctx_params1(None, "3569380")


# -- signed data travels as received -----------------------------------------------------------

# Non-minimal length (81 05) inside serverSigned1: a re-encode would change these bytes.
SERVER_SIGNED1 = bytes.fromhex("3081058003010203")
SIGNATURE = bytes.fromhex("5F3740") + bytes(range(64))
CI_PKID = bytes.fromhex("0414") + bytes(20)
CERTIFICATE = bytes.fromhex("3003020101")
CTX = es10.build_ctx_params1("X", "35693803")


def test_authenticate_server_request_is_concatenation_as_received() -> None:
    request = es10.build_authenticate_server_request(
        SERVER_SIGNED1, SIGNATURE, CI_PKID, CERTIFICATE, CTX
    )
    body = SERVER_SIGNED1 + SIGNATURE + CI_PKID + CERTIFICATE + CTX
    assert request == bytes.fromhex("BF38") + tlv.encode_length(len(body)) + body


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((SIGNATURE, SIGNATURE, CI_PKID, CERTIFICATE, CTX), "serverSigned1: expected tag 30"),
        ((SERVER_SIGNED1 + b"\x00", SIGNATURE, CI_PKID, CERTIFICATE, CTX), "one whole TLV"),
        ((SERVER_SIGNED1, SIGNATURE, CI_PKID, CERTIFICATE, CERTIFICATE), "ctxParams1"),
    ],
)
def test_authenticate_server_request_checks_each_tlv(args: tuple[bytes, ...], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        es10.build_authenticate_server_request(*args)


def test_prepare_download_request_with_and_without_hash_cc() -> None:
    signed2 = bytes.fromhex("3006800101010100")
    plain = es10.build_prepare_download_request(signed2, SIGNATURE, CERTIFICATE)
    assert plain == tlv.build(0xBF21, signed2 + SIGNATURE + CERTIFICATE)
    hashed = es10.build_prepare_download_request(signed2, SIGNATURE, CERTIFICATE, bytes(32))
    assert hashed == tlv.build(0xBF21, signed2 + SIGNATURE + b"\x04\x20" + bytes(32) + CERTIFICATE)
    with pytest.raises(UsageError, match="32 bytes"):
        es10.build_prepare_download_request(signed2, SIGNATURE, CERTIFICATE, bytes(31))


def test_load_crl_request_keeps_crl_bytes() -> None:
    crl = bytes.fromhex("3006020101020102")
    assert es10.build_load_crl_request(crl) == bytes.fromhex("BF3508A006020101020102")


# -- answers and result codes ------------------------------------------------------------------


def _result(type_name: str, field: str, code: int) -> bytes:
    return asn1.encode(type_name, {field: code})


MANAGEMENT = [
    ("EnableProfile", lambda: es10.enable_profile(CONFIG, ICCID_19), "EnableProfileResponse",
     "enableResult", {1: "iccidOrAidNotFound", 2: "profileNotInDisabledState",
                      3: "disallowedByPolicy", 4: "wrongProfileReenabling", 5: "catBusy",
                      127: "undefinedError"}),
    ("DisableProfile", lambda: es10.disable_profile(CONFIG, AID), "DisableProfileResponse",
     "disableResult", {1: "iccidOrAidNotFound", 2: "profileNotInEnabledState",
                       3: "disallowedByPolicy", 5: "catBusy", 127: "undefinedError"}),
    ("DeleteProfile", lambda: es10.delete_profile(CONFIG, ICCID_18), "DeleteProfileResponse",
     "deleteResult", {1: "iccidOrAidNotFound", 2: "profileNotInDisabledState",
                      3: "disallowedByPolicy", 127: "undefinedError"}),
    ("eUICCMemoryReset", lambda: es10.euicc_memory_reset(CONFIG), "EuiccMemoryResetResponse",
     "resetResult", {1: "nothingToDelete", 5: "catBusy", 127: "undefinedError"}),
    ("SetNickname", lambda: es10.set_nickname(CONFIG, ICCID_20, "x"), "SetNicknameResponse",
     "setNicknameResult", {1: "iccidNotFound", 127: "undefinedError"}),
    ("SetDefaultDpAddress", lambda: es10.set_default_dp_address(CONFIG, "a.b"),
     "SetDefaultDpAddressResponse", "setDefaultDpAddressResult", {127: "undefinedError"}),
    ("RemoveNotificationFromList", lambda: es10.remove_notification_from_list(CONFIG, 0),
     "NotificationSentResponse", "deleteNotificationStatus",
     {1: "nothingToDelete", 127: "undefinedError"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("function", "make", "type_name", "field", "names"), MANAGEMENT, ids=[m[0] for m in MANAGEMENT]
)
def test_result_codes_are_named_errors(
    function: str,
    make: Callable[[], Flow[None]],
    type_name: str,
    field: str,
    names: dict[int, str],
) -> None:
    assert run(make(), _result(type_name, field, 0))[0] is None
    for code, reason in [*names.items(), (99, "")]:
        with pytest.raises(EuiccError) as info:
            run(make(), _result(type_name, field, code))
        assert (info.value.function, info.value.code, info.value.reason) == (function, code, reason)
        assert str(code) in str(info.value)


def test_empty_answer_is_a_codec_error() -> None:
    with pytest.raises(CodecError, match="EnableProfileResponse"):
        run(es10.enable_profile(CONFIG, ICCID_19), b"")


def test_wrong_answer_type_is_a_codec_error() -> None:
    with pytest.raises(CodecError):
        run(
            es10.enable_profile(CONFIG, ICCID_19),
            _result("DisableProfileResponse", "disableResult", 0),
        )


@pytest.mark.parametrize("size", [0, 15, 17])
def test_a_challenge_of_the_wrong_size_is_the_cards_fault(size: int) -> None:
    answer = tlv.build(0xBF2E, tlv.build(0x80, bytes(size)))
    with pytest.raises(ProtocolViolation, match=f"expected 16 bytes, got {size}"):
        run(es10.get_euicc_challenge(CONFIG), answer)


def test_challenge_info1_info2_and_addresses() -> None:
    challenge, card = run(
        es10.get_euicc_challenge(CONFIG), bytes.fromhex("BF2E128010") + bytes(range(16))
    )
    assert challenge == bytes(range(16)) and card.requests == [bytes.fromhex("BF2E00")]
    pkid = bytes(range(20))
    info1 = asn1.encode(
        "EUICCInfo1",
        {"svn": b"\x02\x02\x02", "euiccCiPKIdListForVerification": [pkid],
         "euiccCiPKIdListForSigning": [pkid, bytes(20)]},
    )  # fmt: skip
    raw, card = run(es10.get_euicc_info1(CONFIG), info1)
    assert raw == info1 and card.requests == [bytes.fromhex("BF2000")]
    model = es10.parse_euicc_info1(raw)
    assert model.svn == "2.2.2"
    assert model.ci_pkids_for_signing == (pkid.hex().upper(), "00" * 20)
    addresses, card = run(
        es10.get_euicc_configured_addresses(CONFIG),
        asn1.encode("EuiccConfiguredAddressesResponse", {"rootDsAddress": "ds.example.com"}),
    )
    assert card.requests == [bytes.fromhex("BF3C00")]
    assert addresses == es10.ConfiguredAddresses(root_ds_address="ds.example.com")


def _profile(iccid: str, state: int, **extra: Any) -> dict[str, Any]:
    return {"iccid": iccid_to_bytes(iccid), "profileState": state, **extra}


def test_get_profiles_info_parses_models_and_long_answers() -> None:
    profiles = [_profile(ICCID_18, 1, profileName="A" * 60), _profile(ICCID_19, 0)] * 8
    answer = asn1.encode("ProfileInfoListResponse", ("profileInfoListOk", profiles))
    assert len(answer) > 512, "several GET RESPONSE pieces"
    result, _ = run(es10.get_profiles_info(CONFIG), answer)
    assert [p.iccid for p in result[:2]] == [ICCID_18, ICCID_19]
    assert result[0].state == ProfileState.ENABLED
    with pytest.raises(EuiccError) as info:
        run(
            es10.get_profiles_info(CONFIG),
            asn1.encode("ProfileInfoListResponse", ("profileInfoListError", 1)),
        )
    assert info.value.reason == "incorrectInputValues"


@pytest.mark.parametrize(
    ("tags", "expected"),
    [(None, ProfileClass.OPERATIONAL), ([0x5A, 0x95], ProfileClass.OPERATIONAL), ([0x5A], None)],
)
def test_an_absent_profile_class_is_operational_when_asked_for(
    tags: list[int] | None, expected: ProfileClass | None
) -> None:
    profiles = [_profile(ICCID_18, 1), _profile(ICCID_19, 0, profileClass=0)]
    answer = asn1.encode("ProfileInfoListResponse", ("profileInfoListOk", profiles))
    result, _ = run(es10.get_profiles_info(CONFIG, tags=tags), answer)
    assert result[0].profile_class == expected
    assert result[1].profile_class is ProfileClass.TEST


def _metadata(seq: int, event_bit: int) -> dict[str, Any]:
    return {
        "seqNumber": seq,
        "profileManagementOperation": (bytes((0x80 >> event_bit,)), event_bit + 1),
        "notificationAddress": "smdp.example.com",
    }


def _other_notification(seq: int) -> bytes:
    return asn1.encode(
        "PendingNotification",
        ("otherSignedNotification",
         {"tbsOtherNotification": _metadata(seq, 1), "euiccNotificationSignature": bytes(64),
          "euiccCertificate": CERTIFICATE, "eumCertificate": CERTIFICATE}),
    )  # fmt: skip


def _install_notification(seq: int) -> bytes:
    data = {
        "transactionId": bytes(16),
        "notificationMetadata": _metadata(seq, 0),
        "finalResult": ("successResult", {"aid": AID, "simaResponse": b"\x30\x00"}),
    }
    return asn1.encode(
        "PendingNotification",
        ("profileInstallationResult",
         {"profileInstallationResultData": data, "euiccSignPIR": bytes(64)}),
    )  # fmt: skip


def test_list_notification_with_seq_number_0() -> None:
    answer = asn1.encode(
        "ListNotificationResponse", ("notificationMetadataList", [_metadata(0, 0), _metadata(3, 2)])
    )
    result, _ = run(es10.list_notification(CONFIG), answer)
    assert [(m.seq_number, m.event) for m in result] == [(0, "install"), (3, "disable")]
    with pytest.raises(EuiccError, match="ListNotification"):
        run(
            es10.list_notification(CONFIG),
            asn1.encode("ListNotificationResponse", ("listNotificationsResultError", 127)),
        )


def test_retrieve_notifications_returns_exact_tlvs() -> None:
    install, other = _install_notification(0), _other_notification(1)
    answer = tlv.build(0xBF2B, tlv.build(0xA0, install + other))
    result, card = run(es10.retrieve_notifications_list(CONFIG, seq_number=0), answer)
    assert card.requests == [bytes.fromhex("BF2B05A003800100")]
    assert [p.der for p in result] == [install, other]
    assert [p.metadata.seq_number for p in result] == [0, 1]
    assert result[0].der[:2] == b"\xbf\x37" and result[1].der[:1] == b"\x30"


def test_list_notification_with_v3_event() -> None:
    answer = asn1.encode(
        "ListNotificationResponse", ("notificationMetadataList", [_metadata(2, 6)])
    )
    result, _ = run(es10.list_notification(CONFIG), answer)
    assert [(m.seq_number, m.event) for m in result] == [(2, NotificationEvent.RPM_DELETE)]


def test_retrieve_notifications_no_result_is_empty_and_errors_are_named() -> None:
    none = asn1.encode("RetrieveNotificationsListResponse", ("notificationsListResultError", 1))
    assert run(es10.retrieve_notifications_list(CONFIG, seq_number=7), none)[0] == []
    bad = asn1.encode("RetrieveNotificationsListResponse", ("notificationsListResultError", 127))
    with pytest.raises(EuiccError) as info:
        run(es10.retrieve_notifications_list(CONFIG), bad)
    assert info.value.reason == "undefinedError"


def test_authenticate_server_returns_answer_and_names_errors() -> None:
    error = asn1.encode(
        "AuthenticateServerResponse",
        ("authenticateResponseError", {"transactionId": b"\x01", "authenticateErrorCode": 6}),
    )
    request = es10.build_authenticate_server_request(
        SERVER_SIGNED1, SIGNATURE, CI_PKID, CERTIFICATE, CTX
    )
    answer, card = run(es10.authenticate_server(CONFIG, request), error)
    assert answer == error and card.requests == [request]
    found = es10.authenticate_server_error(answer)
    assert found is not None and found.reason == "euiccChallengeMismatch"
    assert found.function == "AuthenticateServer"


def test_prepare_download_returns_answer_and_names_errors() -> None:
    ok = asn1.encode(
        "PrepareDownloadResponse",
        ("downloadResponseOk",
         {"euiccSigned2": {"transactionId": b"\x01", "euiccOtpk": b"\x04" + bytes(64)},
          "euiccSignature2": bytes(64)}),
    )  # fmt: skip
    request = es10.build_prepare_download_request(
        bytes.fromhex("3006800101010100"), SIGNATURE, CERTIFICATE
    )
    answer, _ = run(es10.prepare_download(CONFIG, request), ok)
    assert answer == ok and es10.prepare_download_error(ok) is None
    error = asn1.encode(
        "PrepareDownloadResponse",
        ("downloadResponseError", {"transactionId": b"\x01", "downloadErrorCode": 5}),
    )
    found = es10.prepare_download_error(run(es10.prepare_download(CONFIG, request), error)[0])
    assert found is not None and found.reason == "invalidTransactionId"


def test_cancel_session_ok_and_error() -> None:
    ok = asn1.encode(
        "CancelSessionResponse",
        ("cancelSessionResponseOk",
         {"euiccCancelSessionSigned":
              {"transactionId": b"\x01", "smdpOid": "2.999.10", "reason": 1},
          "euiccCancelSessionSignature": bytes(64)}),
    )  # fmt: skip
    assert run(es10.cancel_session(CONFIG, b"\x01", "postponed"), ok)[0] == ok
    error = asn1.encode("CancelSessionResponse", ("cancelSessionResponseError", 5))
    with pytest.raises(EuiccError) as info:
        run(es10.cancel_session(CONFIG, b"\x01", 0), error)
    assert (info.value.function, info.value.reason) == ("CancelSession", "invalidTransactionId")


def test_load_crl_and_rat() -> None:
    crl = bytes.fromhex("3003020101")
    ok = asn1.encode("LoadCRLResponse", ("loadCRLResponseOk", {"missingParts": [2, 3]}))
    assert run(es10.load_crl(CONFIG, crl), ok)[0] == (2, 3)
    error = asn1.encode("LoadCRLResponse", ("loadCRLResponseError", 5))
    with pytest.raises(EuiccError) as info:
        run(es10.load_crl(CONFIG, crl), error)
    assert info.value.reason == "fresherCrlAlreadyLoaded"
    rat = asn1.encode(
        "GetRatResponse",
        {"rat": [{"pprIds": (b"\x60", 3), "allowedOperators": [{"mccMnc": bytes.fromhex("130014")}],
                  "pprFlags": (b"\x80", 1)}]},
    )  # fmt: skip
    rules, card = run(es10.get_rat(CONFIG), rat)
    assert card.requests == [bytes.fromhex("BF4300")]
    assert rules[0].ppr_ids == ("ppr1", "ppr2")
    assert rules[0].allowed_operators[0].mcc_mnc == "310410"
    assert rules[0].consent_required


def test_install_result_parsing() -> None:
    raw = _install_notification(4)
    result = es10.parse_profile_installation_result(raw)
    assert result.success and result.notification.seq_number == 4


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        (ICCID_18, ("iccid", bytes.fromhex("989401000000000010FF"))),
        (ICCID_19 + "F", ("iccid", bytes.fromhex("989401000000000010F2"))),
        (AID, ("isdpAid", AID)),
        (AID.hex().lower(), ("isdpAid", AID)),
    ],
)
def test_profile_identifier(profile: str | bytes, expected: tuple[str, bytes]) -> None:
    assert es10.profile_identifier(profile) == expected


@pytest.mark.parametrize(
    "profile",
    ["8949", "not hex", b"\x01\x02", bytes(17), "89491000000000000123456",
     "8949100000000000012345", "89491000000000001", "894910000000000001A3", "0102030405"],
)  # fmt: skip
def test_profile_identifier_rejects(profile: str | bytes) -> None:
    with pytest.raises(UsageError):
        es10.profile_identifier(profile)
