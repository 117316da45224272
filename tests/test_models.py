"""Tests for pyrsp.models: identifiers and models built from asn1tools values."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyrsp import asn1, tlv
from pyrsp.errors import CodecError, UsageError
from pyrsp.models import (
    EuiccInfo1,
    EuiccInfo2,
    ExtCardResource,
    IconType,
    InstallResult,
    NotificationConfiguration,
    NotificationEvent,
    NotificationMetadata,
    ProfileClass,
    ProfileInfo,
    ProfileMetadata,
    ProfileState,
    eid_from_bytes,
    eid_to_bytes,
    iccid_from_bytes,
    iccid_to_bytes,
)
from pyrsp.models.identifiers import tbcd

# --- ICCID and EID -----------------------------------------------------------------------------

ICCIDS = [
    ("89440000000000000012", "98440000000000000021"),  # 20 digits
    ("8944476500001224158", "984474560000214251F8"),  # 19 digits
    ("894400000000000001", "984400000000000010FF"),  # 18 digits
]


@pytest.mark.parametrize(("digits", "hex_bytes"), ICCIDS)
def test_iccid_both_ways(digits: str, hex_bytes: str) -> None:
    data = bytes.fromhex(hex_bytes)
    assert iccid_to_bytes(digits) == data
    assert len(data) == 10
    assert iccid_from_bytes(data) == digits


@pytest.mark.parametrize(("digits", "hex_bytes"), ICCIDS)
def test_iccid_with_f_padding_in_the_input(digits: str, hex_bytes: str) -> None:
    padded = digits.ljust(20, "F")
    assert iccid_to_bytes(padded) == bytes.fromhex(hex_bytes)
    assert iccid_to_bytes(padded.lower()) == bytes.fromhex(hex_bytes)


@pytest.mark.parametrize(
    ("digits", "size", "hex_bytes"),
    [("35290611", 4, "53926011"), ("356938035643809", 8, "53968330653408F9"), ("", 1, "FF")],
)
def test_tbcd_is_the_iccid_nibble_swap(digits: str, size: int, hex_bytes: str) -> None:
    assert tbcd(digits, size) == bytes.fromhex(hex_bytes)
    assert tbcd(ICCID, 10) == iccid_to_bytes(ICCID)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "89440000000000001",  # 17 digits
        "894400000000000000123",  # 21 digits
        "89440000000000000FFF",  # 17 digits + padding
        "8944000000000000F012",  # F in the middle
        "8944000000000000001A",
        "89440000000000000012F",  # 20 digits + F: 21 characters
        "\u0668\u0669440000000000000012",  # Arabic-Indic digits
        " 8944000000000000001",
    ],
)
def test_iccid_to_bytes_rejects(bad: str) -> None:
    with pytest.raises(UsageError, match="ICCID of 18 to 20 digits"):
        iccid_to_bytes(bad)


@pytest.mark.parametrize(
    "bad",
    [
        "984400000000000010",  # 9 bytes
        "9844000000000000002100",  # 11 bytes
        "984400000000000000A1",  # a non-decimal nibble
        "9844000000000000F0FF",  # padding before the last digits
        "98440000000000FFFFFF",  # 14 digits
    ],
)
def test_iccid_from_bytes_rejects(bad: str) -> None:
    with pytest.raises(CodecError, match="ICCID of 10 bytes"):
        iccid_from_bytes(bytes.fromhex(bad))


@given(st.from_regex(r"[0-9]{18,20}", fullmatch=True))
def test_iccid_round_trip(digits: str) -> None:
    assert iccid_from_bytes(iccid_to_bytes(digits)) == digits


EID = "89049032123451234512345678901235"


def test_eid_both_ways() -> None:
    assert eid_to_bytes(EID) == bytes.fromhex(EID)
    assert eid_from_bytes(bytes.fromhex(EID)) == EID


def test_eid_errors() -> None:
    with pytest.raises(UsageError, match="EID of 32 digits"):
        eid_to_bytes(EID[:-1])
    with pytest.raises(UsageError, match="EID of 32 digits"):
        eid_to_bytes(EID[:-1] + "A")
    with pytest.raises(CodecError, match="EID of 16 bytes"):
        eid_from_bytes(bytes.fromhex(EID)[:-1])
    with pytest.raises(CodecError, match="EID of 16 bytes"):
        eid_from_bytes(bytes.fromhex(EID[:-2] + "AB"))


# --- eUICC information ---------------------------------------------------------------------------

SKI_NIST = bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3")
SKI_BRP = bytes.fromhex("C0BC70BA36929D43B467FF57570530E57AB8FCD8")


def test_euicc_info1() -> None:
    info = EuiccInfo1.from_asn1(
        {
            "svn": b"\x02\x02\x00",
            "euiccCiPKIdListForVerification": [SKI_NIST, SKI_BRP],
            "euiccCiPKIdListForSigning": [SKI_NIST],
        }
    )
    assert info.svn == "2.2.0"
    assert info.ci_pkids_for_verification == (SKI_NIST.hex().upper(), SKI_BRP.hex().upper())
    assert info.ci_pkids_for_signing == ("F54172BDF98A95D65CBEB88A38A1C11D800A85C3",)
    assert info.highest_svn is None and info.euicc_rsp_capability is None


def test_euicc_info1_v3_fields() -> None:
    info = EuiccInfo1.from_asn1(
        {
            "svn": b"\x02\x03\x00",
            "euiccCiPKIdListForVerification": [],
            "euiccCiPKIdListForSigning": [],
            "euiccCiPKIdListForSigningV3": [SKI_BRP],
            "euiccRspCapability": (b"\x00\x00\x20", 19),
            "highestSvn": b"\x03\x01\x00",
        }
    )
    assert info.ci_pkids_for_signing_v3 == (SKI_BRP.hex().upper(),)
    assert info.euicc_rsp_capability == ("euiccRspCapInInfo1",)
    assert info.highest_svn == "3.1.0"


INFO2: dict[str, Any] = {
    "profileVersion": b"\x02\x03\x01",
    "svn": b"\x02\x02\x02",
    "euiccFirmwareVer": b"\x04\x05\x06",
    "extCardResource": bytes.fromhex("810105 82030186A0 830200FF"),
    "uiccCapability": (b"\x6f\x80", 9),
    "rspCapability": (b"\x50", 6),
    "euiccCiPKIdListForVerification": [SKI_NIST],
    "euiccCiPKIdListForSigning": [SKI_NIST, SKI_BRP],
    "ppVersion": b"\x01\x00\x00",
    "sasAcreditationNumber": "GI-BA-UP-0419",
}


def test_euicc_info2_required_fields() -> None:
    info = EuiccInfo2.from_asn1(INFO2)
    assert (info.profile_version, info.svn, info.firmware_version) == ("2.3.1", "2.2.2", "4.5.6")
    assert info.ext_card_resource == ExtCardResource(
        installed_applications=5, free_non_volatile_memory=100000, free_volatile_memory=255
    )
    assert info.uicc_capability == (
        "usimSupport", "isimSupport", "akaMilenage", "akaCave", "akaTuak128", "akaTuak256",
        "usimTestAlgorithm",
    )  # fmt: skip
    assert info.rsp_capability == ("crlSupport", "testProfileSupport")
    assert info.ci_pkids_for_signing == (SKI_NIST.hex().upper(), SKI_BRP.hex().upper())
    assert info.pp_version == "1.0.0"
    assert info.sas_accreditation_number == "GI-BA-UP-0419"
    assert info.ts102241_version is None and info.certification_data is None


def test_euicc_info2_optional_and_v3_fields() -> None:
    value = INFO2 | {
        "ts102241Version": b"\x09\x02\x00",
        "globalplatformVersion": b"\x02\x03\x00",
        "euiccCategory": 2,
        "forbiddenProfilePolicyRules": (b"\x60", 3),
        "certificationDataObject": {
            "platformLabel": "1.2.840.1234567/myPlatformLabel",
            "discoveryBaseURL": "https://dloa.example.com",
        },
        "treProperties": (b"\x80", 3),
        "treProductReference": "TRE-1",
        "additionalEuiccProfilePackageVersions": [b"\x03\x00\x00"],
        "lpaMode": 1,
        "euiccCiPKIdListForSigningV3": [SKI_BRP],
        "additionalEuiccInfo": b"\x01\x02",
        "highestSvn": b"\x03\x01\x00",
        "iotSpecificInfo": {"iotVersion": [b"\x01\x00\x00"], "ecallSupported": None},
        "rspCapability": (b"\x80\x00\x00\x80", 25),
    }
    info = EuiccInfo2.from_asn1(value)
    assert (info.ts102241_version, info.globalplatform_version) == ("9.2.0", "2.3.0")
    assert info.euicc_category == "mediumEuicc"
    assert info.forbidden_profile_policy_rules == ("ppr1", "ppr2")
    assert info.certification_data is not None
    assert info.certification_data.discovery_base_url == "https://dloa.example.com"
    assert info.tre_properties == ("isDiscrete",)
    assert info.tre_product_reference == "TRE-1"
    assert info.additional_profile_package_versions == ("3.0.0",)
    assert info.lpa_mode == "lpae"
    assert info.ci_pkids_for_signing_v3 == (SKI_BRP.hex().upper(),)
    assert info.additional_euicc_info == "0102"
    assert info.highest_svn == "3.1.0"
    assert info.iot_specific_info is not None
    assert info.iot_specific_info.iot_versions == ("1.0.0",)
    assert info.iot_specific_info.ecall_supported
    assert not info.iot_specific_info.fallback_supported
    assert info.rsp_capability == ("additionalProfile", "pushServiceV3Support")


def test_unknown_bits_keep_their_number() -> None:
    info = EuiccInfo2.from_asn1(INFO2 | {"uiccCapability": (b"\x00\x00\x00\x00\x80", 33)})
    assert info.uicc_capability == ("bit32",)


def test_euicc_info2_bad_category() -> None:
    with pytest.raises(CodecError, match="euiccCategory") as info:
        EuiccInfo2.from_asn1(INFO2 | {"euiccCategory": 9})
    assert info.value.path == "euiccCategory"


def test_ext_card_resource_malformed() -> None:
    with pytest.raises(CodecError, match="extCardResource") as info:
        EuiccInfo2.from_asn1(INFO2 | {"extCardResource": bytes.fromhex("8205 0001")})
    assert info.value.path == "extCardResource"
    assert ExtCardResource.from_bytes(b"") == ExtCardResource()


def test_aliases_are_the_standard_names() -> None:
    info = EuiccInfo2.from_asn1(INFO2)
    dumped = info.model_dump(by_alias=True)
    for key in ("profileVersion", "euiccFirmwareVer", "extCardResource", "sasAcreditationNumber",
                "euiccCiPKIdListForVerification", "rspCapability", "ppVersion"):  # fmt: skip
        assert key in dumped
    assert dumped["extCardResource"]["freeNonVolatileMemory"] == 100000
    assert EuiccInfo2.model_validate_json(info.model_dump_json(by_alias=True)) == info
    assert EuiccInfo2.model_validate_json(info.model_dump_json()) == info


def test_models_are_frozen_and_strict_about_fields() -> None:
    info = EuiccInfo1(svn="2.2.0", ci_pkids_for_verification=(), ci_pkids_for_signing=())
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        info.svn = "3.0.0"
    with pytest.raises(pydantic.ValidationError, match="extra"):
        EuiccInfo1.model_validate(
            {"svn": "2.2.0", "ci_pkids_for_verification": [], "ci_pkids_for_signing": [], "x": 1}
        )


# --- profiles ---------------------------------------------------------------------------------

ICCID = "89440000000000000012"
ICCID_BYTES = bytes.fromhex("98440000000000000021")
ISDP_AID = bytes.fromhex("A0000005591010FFFFFFFF8900001000")
PNG = b"\x89PNG\r\n\x1a\n" + bytes(8)

NOTIFICATION_CONFIG = [
    {"profileManagementOperation": (b"\xa0", 4), "notificationAddress": "smdp.example.com"},
    {"profileManagementOperation": (b"\x10", 4), "notificationAddress": "other.example.com"},
]


def test_profile_info_all_fields() -> None:
    value = {
        "iccid": ICCID_BYTES,
        "isdpAid": ISDP_AID,
        "profileState": 1,
        "profileNickname": "work",
        "serviceProviderName": "Operator",
        "profileName": "Plan A",
        "iconType": 1,
        "icon": PNG,
        "profileClass": 2,
        "notificationConfigurationInfo": NOTIFICATION_CONFIG,
        "profileOwner": {"mccMnc": bytes.fromhex("130014"), "gid1": b"\xab"},
        "dpProprietaryData": {"dpOid": "2.999.10"},
        "profilePolicyRules": (b"\x40", 3),
        "hriServerAddress": "hri.example.com",
        "enabledOnEsimPort": 0,
        "profileSize": 4096,
    }
    profile = ProfileInfo.from_asn1(value)
    assert profile.iccid == ICCID
    assert profile.isdp_aid == "A0000005591010FFFFFFFF8900001000"
    assert profile.state is ProfileState.ENABLED
    assert (profile.nickname, profile.service_provider_name, profile.profile_name) == (
        "work", "Operator", "Plan A",
    )  # fmt: skip
    assert profile.icon_type is IconType.PNG and profile.icon == PNG
    assert profile.profile_class is ProfileClass.OPERATIONAL
    first, second = profile.notification_configuration
    assert first.events == (NotificationEvent.INSTALL, NotificationEvent.DISABLE)
    assert first.address == "smdp.example.com"
    assert second.events == (NotificationEvent.DELETE,)
    assert profile.profile_owner is not None
    assert (profile.profile_owner.mcc_mnc, profile.profile_owner.gid1) == ("310410", "AB")
    assert profile.profile_owner.gid2 is None
    assert profile.dp_proprietary_data is not None
    assert profile.dp_proprietary_data.dp_oid == "2.999.10"
    assert profile.policy_rules == ("ppr1",)
    assert (profile.hri_server_address, profile.enabled_on_esim_port) == ("hri.example.com", 0)
    assert profile.profile_size == 4096
    dumped = profile.model_dump(mode="json", by_alias=True)
    assert dumped["profileState"] == "enabled" and dumped["profileNickname"] == "work"
    assert dumped["icon"] == "iVBORw0KGgoAAAAAAAAAAA=="
    assert dumped["notificationConfigurationInfo"][0]["profileManagementOperation"] == [
        "install", "disable",
    ]  # fmt: skip
    assert ProfileInfo.model_validate_json(profile.model_dump_json(by_alias=True)) == profile


def test_profile_info_subset_of_tags() -> None:
    profile = ProfileInfo.from_asn1({"iccid": ICCID_BYTES, "profileState": 0})
    assert profile.state is ProfileState.DISABLED
    assert profile.profile_class is None and profile.notification_configuration == ()
    assert profile.policy_rules == ()


@pytest.mark.parametrize(
    ("member", "value"),
    [("profileState", 2), ("profileClass", 3), ("iconType", 5), ("profileClass", "bogus")],
)
def test_profile_info_unknown_values(member: str, value: object) -> None:
    with pytest.raises(CodecError, match=member):
        ProfileInfo.from_asn1({member: value})


@pytest.mark.parametrize(
    ("mcc_mnc", "expected"),
    [("130014", "310410"), ("32F451", "23415"), ("ABCDEF", "ABCDEF")],
)
def test_operator_mcc_mnc(mcc_mnc: str, expected: str) -> None:
    profile = ProfileInfo.from_asn1({"profileOwner": {"mccMnc": bytes.fromhex(mcc_mnc)}})
    assert profile.profile_owner is not None
    assert profile.profile_owner.mcc_mnc == expected


def test_profile_metadata_from_store_metadata_request() -> None:
    # asn1tools fills the DEFAULT profileClass with its name
    metadata = ProfileMetadata.from_asn1(
        {
            "iccid": ICCID_BYTES,
            "serviceProviderName": "Operator",
            "profileName": "Plan A",
            "profileClass": "operational",
            "notificationConfigurationInfo": NOTIFICATION_CONFIG[:1],
            "profilePolicyRules": (b"\x20", 3),
        }
    )
    assert metadata.iccid == ICCID
    assert metadata.profile_class is ProfileClass.OPERATIONAL
    assert metadata.policy_rules == ("ppr2",)
    assert metadata.icon is None
    assert metadata.notification_configuration[0].address == "smdp.example.com"


def test_profile_metadata_class_defaults_to_operational() -> None:
    metadata = ProfileMetadata.from_asn1(
        {"iccid": ICCID_BYTES, "serviceProviderName": "", "profileName": "", "profileClass": 0}
    )
    assert metadata.profile_class is ProfileClass.TEST
    bare = ProfileMetadata.from_asn1(
        {"iccid": ICCID_BYTES, "serviceProviderName": "", "profileName": ""}
    )
    assert bare.profile_class is ProfileClass.OPERATIONAL


# --- notifications and the installation result -------------------------------------------------


def test_notification_metadata() -> None:
    value = {
        "seqNumber": 0,
        "profileManagementOperation": (b"\x40", 4),
        "notificationAddress": "smdp.example.com",
        "iccid": ICCID_BYTES,
    }
    notification = NotificationMetadata.from_asn1(value)
    assert notification.seq_number == 0
    assert notification.event is NotificationEvent.ENABLE
    assert (notification.address, notification.iccid) == ("smdp.example.com", ICCID)
    assert notification.model_dump(by_alias=True)["seqNumber"] == 0


@pytest.mark.parametrize(
    ("bits", "event"),
    [((b"\x08", 5), NotificationEvent.RPM_ENABLE), ((b"\x01", 8), "loadRpmPackageResult"),
     ((b"\x00\x80", 9), "bit8")],
)  # fmt: skip
def test_notification_metadata_v3_and_unnamed_events(bits: tuple[bytes, int], event: str) -> None:
    value = {"seqNumber": 1, "profileManagementOperation": bits, "notificationAddress": "a.b"}
    notification = NotificationMetadata.from_asn1(value)
    assert notification.event == event
    assert NotificationMetadata.model_validate_json(notification.model_dump_json()) == notification


def test_notification_configuration_tolerates_v3_and_unnamed_bits() -> None:
    value = {"profileManagementOperation": (b"\x88\x40", 10), "notificationAddress": "a.b"}
    config = NotificationConfiguration.from_asn1(value)
    assert config.events == (NotificationEvent.INSTALL, NotificationEvent.RPM_ENABLE, "bit9")
    assert config.events[1] is NotificationEvent.RPM_ENABLE


@pytest.mark.parametrize(
    ("bits", "message"),
    [((b"\x00", 4), "got none"), ((b"\x44", 6), "got enable, rpmDisable")],
)
def test_notification_metadata_bad_event(bits: tuple[bytes, int], message: str) -> None:
    value = {"seqNumber": 1, "profileManagementOperation": bits, "notificationAddress": "a.b"}
    with pytest.raises(CodecError, match=message):
        NotificationMetadata.from_asn1(value)


def _installation_result(final_result: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    return {
        "profileInstallationResultData": {
            "transactionId": bytes.fromhex("0123456789abcdef"),
            "notificationMetadata": {
                "seqNumber": 7,
                "profileManagementOperation": (b"\x80", 4),
                "notificationAddress": "smdp.example.com",
                "iccid": ICCID_BYTES,
            },
            "smdpOid": "2.999.10",
            "finalResult": final_result,
        },
        "euiccSignPIR": bytes(64),
    }


def test_install_result_success() -> None:
    value = _installation_result(("successResult", {"aid": ISDP_AID, "simaResponse": b"\x30"}))
    result = InstallResult.from_asn1(value)
    assert result.success
    assert (result.iccid, result.isdp_aid) == (ICCID, ISDP_AID.hex().upper())
    assert (result.transaction_id, result.smdp_oid) == ("0123456789ABCDEF", "2.999.10")
    assert result.notification.seq_number == 7
    assert result.notification.event is NotificationEvent.INSTALL
    assert result.bpp_command is None and result.error_reason is None
    assert InstallResult.from_asn1(value["profileInstallationResultData"]) == result


@pytest.mark.parametrize(
    ("command_id", "reason_code", "command", "reason"),
    [
        (2, 9, "storeMetadata", "installFailedDueToIccidAlreadyExistsOnEuicc"),
        (5, 127, "loadProfileElements", "installFailedDueToUnknownError"),
        (9, 99, "unknown(9)", "unknown(99)"),
    ],
)
def test_install_result_error(command_id: int, reason_code: int, command: str, reason: str) -> None:
    value = _installation_result(
        ("errorResult", {"bppCommandId": command_id, "errorReason": reason_code})
    )
    result = InstallResult.from_asn1(value)
    assert not result.success
    assert result.isdp_aid is None
    assert (result.bpp_command_id, result.bpp_command) == (command_id, command)
    assert (result.error_reason_code, result.error_reason) == (reason_code, reason)
    assert result.iccid == ICCID


# --- models built from real DER, decoded by pyrsp.asn1 -------------------------------------------


def _der(tag: int, *parts: bytes) -> bytes:
    return tlv.build(tag, b"".join(parts))


SMDP = b"smdp.example.com"
OID_2_999_10 = bytes.fromhex("06038837 0A")


def test_euicc_info1_from_der() -> None:
    der = _der(
        0xBF20,
        _der(0x82, b"\x02\x02\x01"),
        _der(0xA9, _der(0x04, SKI_NIST), _der(0x04, SKI_BRP)),
        _der(0xAA, _der(0x04, SKI_NIST)),
    )
    info = EuiccInfo1.from_asn1(asn1.decode("EUICCInfo1", der))
    assert info.svn == "2.2.1"
    assert info.ci_pkids_for_verification == (SKI_NIST.hex().upper(), SKI_BRP.hex().upper())
    assert info.ci_pkids_for_signing == (SKI_NIST.hex().upper(),)


def test_euicc_info2_through_the_codec() -> None:
    info = EuiccInfo2.from_asn1(asn1.decode("EUICCInfo2", asn1.encode("EUICCInfo2", INFO2)))
    assert info == EuiccInfo2.from_asn1(INFO2)


def test_profile_info_list_from_der() -> None:
    profile = _der(
        0xE3,
        _der(0x5A, ICCID_BYTES),
        _der(0x4F, ISDP_AID),
        _der(0x9F70, b"\x01"),
        _der(0x90, b"work"),
        _der(0x91, b"Operator"),
        _der(0x92, "Plan \u00e4".encode()),
        _der(0x93, b"\x01"),
        _der(0x94, PNG),
        _der(0x95, b"\x01"),
        _der(0xB6, _der(0x30, _der(0x80, b"\x05\xa0"), _der(0x81, SMDP))),
        _der(0xB7, _der(0x80, bytes.fromhex("130014"))),
        _der(0xB8, _der(0x80, OID_2_999_10[2:])),
        _der(0x99, b"\x06\x40"),
    )
    disabled = _der(0xE3, _der(0x5A, iccid_to_bytes("894400000000000001")), _der(0x9F70, b"\0"))
    der = _der(0xBF2D, _der(0xA0, profile, disabled))
    kind, items = asn1.decode("ProfileInfoListResponse", der)
    assert kind == "profileInfoListOk"
    first, second = (ProfileInfo.from_asn1(item) for item in items)
    assert (first.iccid, first.state, first.nickname) == (ICCID, ProfileState.ENABLED, "work")
    assert first.profile_name == "Plan \u00e4"
    assert first.isdp_aid == ISDP_AID.hex().upper()
    assert (first.icon_type, first.icon) == (IconType.PNG, PNG)
    assert first.profile_class is ProfileClass.PROVISIONING
    assert first.notification_configuration[0].events == (
        NotificationEvent.INSTALL, NotificationEvent.DISABLE,
    )  # fmt: skip
    assert first.notification_configuration[0].address == SMDP.decode()
    assert first.profile_owner is not None and first.profile_owner.mcc_mnc == "310410"
    assert first.dp_proprietary_data is not None
    assert first.dp_proprietary_data.dp_oid == "2.999.10"
    assert first.policy_rules == ("ppr1",)
    assert (second.iccid, second.state) == ("894400000000000001", ProfileState.DISABLED)


def test_profile_metadata_from_der() -> None:
    der = _der(
        0xBF25,
        _der(0x5A, ICCID_BYTES),
        _der(0x91, b"Operator"),
        _der(0x92, b"Plan A"),
        _der(0xB6, _der(0x30, _der(0x80, b"\x07\x80"), _der(0x81, SMDP))),
    )
    metadata = ProfileMetadata.from_asn1(asn1.decode("StoreMetadataRequest", der))
    assert (metadata.iccid, metadata.profile_name) == (ICCID, "Plan A")
    assert metadata.profile_class is ProfileClass.OPERATIONAL
    assert metadata.notification_configuration[0].events == (NotificationEvent.INSTALL,)


def _pir_der(final_result: bytes) -> bytes:
    metadata = _der(
        0xBF2F,
        _der(0x80, b"\x07"),
        _der(0x81, b"\x07\x80"),
        _der(0x0C, SMDP),
        _der(0x5A, ICCID_BYTES),
    )
    data = _der(0xBF27, _der(0x80, bytes(range(16))), metadata, OID_2_999_10, final_result)
    return _der(0xBF37, data, _der(0x5F37, bytes(64)))


def test_install_result_success_from_der() -> None:
    der = _pir_der(_der(0xA2, _der(0xA0, _der(0x4F, ISDP_AID), _der(0x04, b"\x30\x00"))))
    result = InstallResult.from_asn1(asn1.decode("ProfileInstallationResult", der))
    assert result.success
    assert (result.iccid, result.isdp_aid) == (ICCID, ISDP_AID.hex().upper())
    assert result.transaction_id == bytes(range(16)).hex().upper()
    assert result.smdp_oid == "2.999.10"
    assert (result.notification.seq_number, result.notification.address) == (7, SMDP.decode())


def test_install_result_error_from_der() -> None:
    der = _pir_der(_der(0xA2, _der(0xA1, _der(0x80, b"\x02"), _der(0x81, b"\x09"))))
    kind, pending = asn1.decode("PendingNotification", der)
    assert kind == "profileInstallationResult"
    result = InstallResult.from_asn1(pending)
    assert not result.success
    assert (result.bpp_command, result.error_reason) == (
        "storeMetadata", "installFailedDueToIccidAlreadyExistsOnEuicc",
    )  # fmt: skip


def test_notification_list_from_der() -> None:
    item = _der(0xBF2F, _der(0x80, b"\x00"), _der(0x81, b"\x04\x10"), _der(0x0C, SMDP))
    kind, items = asn1.decode("ListNotificationResponse", _der(0xBF28, _der(0xA0, item)))
    assert kind == "notificationMetadataList"
    (notification,) = (NotificationMetadata.from_asn1(value) for value in items)
    assert (notification.seq_number, notification.event) == (0, NotificationEvent.DELETE)
    assert notification.iccid is None
