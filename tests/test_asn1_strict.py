"""Strict decoding, error reporting and the object identifier fix of pyrsp.asn1."""

from __future__ import annotations

import pytest
from asn1tools.codecs import DecodeError

from pyrsp import asn1
from pyrsp.asn1._fixes import decode_oid
from pyrsp.errors import CodecError, UsageError

# GetEuiccDataResponse (BF3E) carrying the SGP.23 test EID.
EID_RESPONSE = bytes.fromhex("BF3E125A1089049032123451234512345678901235")


def test_trailing_bytes_are_rejected_with_the_count() -> None:
    with pytest.raises(CodecError, match="2 trailing bytes") as caught:
        asn1.decode("GetEuiccDataResponse", EID_RESPONSE + b"\x90\x00")
    assert caught.value.type_name == "GetEuiccDataResponse"


def test_decode_with_length_allows_trailing_bytes() -> None:
    value, length = asn1.decode_with_length("GetEuiccDataResponse", EID_RESPONSE + b"\x90\x00")
    assert length == len(EID_RESPONSE)
    assert value == {"eidValue": EID_RESPONSE[5:]}


@pytest.mark.parametrize("cut", range(len(EID_RESPONSE)))
def test_every_truncation_is_rejected(cut: int) -> None:
    with pytest.raises(CodecError) as caught:
        asn1.decode("GetEuiccDataResponse", EID_RESPONSE[:cut])
    assert caught.value.type_name == "GetEuiccDataResponse"


def test_wrong_outer_tag_names_both_tags() -> None:
    with pytest.raises(CodecError, match=r"bf3e.*bf3f") as caught:
        asn1.decode("GetEuiccDataResponse", b"\xbf\x3f" + EID_RESPONSE[2:])
    assert caught.value.path == ""


def test_untagged_choice_rejects_an_unknown_alternative() -> None:
    # PendingNotification is BF37 or 30; asn1tools alone would return (None, None).
    with pytest.raises(CodecError, match="30, BF37, but got A0"):
        asn1.decode("PendingNotification", bytes.fromhex("A000"))


def test_tagged_choice_rejects_an_unknown_alternative() -> None:
    # ProfileInfoListResponse (BF2D) holds A0 (the list) or 81 (an error), not 82.
    with pytest.raises(CodecError, match="81, A0, but got 82"):
        asn1.decode("ProfileInfoListResponse", bytes.fromhex("BF2D03820100"))


def test_nested_failure_reports_the_path() -> None:
    # EUICCInfo1 whose verification list holds an INTEGER where a key id belongs (asn1tools
    # alone loops forever on this, appending to the list).
    der = bytes.fromhex("BF200C 8203020200 A903020101 AA00".replace(" ", ""))
    with pytest.raises(CodecError) as caught:
        asn1.decode("EUICCInfo1", der)
    assert caught.value.path == "euiccCiPKIdListForVerification"
    assert "EUICCInfo1 at euiccCiPKIdListForVerification" in str(caught.value)


def test_list_element_running_past_the_list_is_an_error() -> None:
    # The verification list says 3 bytes, its element says 4 (and steals the next member).
    der = bytes.fromhex("BF200D 8203020200 A903 040401AA0000".replace(" ", ""))
    with pytest.raises(CodecError, match="list to end") as caught:
        asn1.decode("EUICCInfo1", der)
    assert caught.value.path == "euiccCiPKIdListForVerification"


@pytest.mark.parametrize(
    ("type_name", "hex_der", "message"),
    [
        # NotificationSentRequest with an empty INTEGER (X.690 8.3.1).
        ("NotificationSentRequest", "BF30028000", "INTEGER contents"),
        # EuiccMemoryResetRequest with a BIT STRING that has no initial octet (8.6.2).
        ("EuiccMemoryResetRequest", "BF34028200", "initial octet"),
        # ... and one that claims 9 unused bits.
        ("EuiccMemoryResetRequest", "BF3403820109", "unused bits"),
        # ... and an empty one that still claims unused bits.
        ("EuiccMemoryResetRequest", "BF3403820103", "unused bits"),
        # IoTSpecificInfo whose ecallSupported NULL has contents (8.8.2).
        ("IoTSpecificInfo", "3006A0008101008200", "NULL contents"),
    ],
)
def test_malformed_primitives_are_rejected(type_name: str, hex_der: str, message: str) -> None:
    with pytest.raises(CodecError, match=message):
        asn1.decode(type_name, bytes.fromhex(hex_der))


def _tlv(tag: str, content: bytes) -> bytes:
    return bytes.fromhex(tag) + bytes([len(content)]) + content


ICCID_TLV = bytes.fromhex("5A0A984474560000214251F8")


def test_unknown_members_are_skipped_one_by_one() -> None:
    # A v3 ProfileInfo: rpmConfiguration [26] (BA) and serviceDescription [31] (9F1F), which
    # this schema does not model, sit before profileSize [37] (9F25) and after the state.
    # asn1tools alone drops every member after the first unknown one.
    body = (
        ICCID_TLV
        + bytes.fromhex("9F700101")
        + _tlv("BA", bytes.fromhex("800101"))
        + bytes.fromhex("9F1F00")
        + bytes.fromhex("9F25020400")
    )
    decoded = asn1.decode("ProfileInfo", _tlv("E3", body))
    assert decoded == {"iccid": ICCID_TLV[2:], "profileState": 1, "profileSize": 1024}


def test_members_are_accepted_in_any_order() -> None:
    body = bytes.fromhex("9F700100") + ICCID_TLV
    assert asn1.decode("ProfileInfo", _tlv("E3", body)) == {
        "iccid": ICCID_TLV[2:],
        "profileState": 0,
    }


def test_a_member_given_twice_is_an_error() -> None:
    body = bytes.fromhex("9F700100") + ICCID_TLV + bytes.fromhex("9F700101")
    with pytest.raises(CodecError, match="profileState once"):
        asn1.decode("ProfileInfo", _tlv("E3", body))


def test_a_member_running_past_its_sequence_is_an_error() -> None:
    # The ProfileInfo claims 14 bytes: its ICCID (12) and the tag of profileState, whose
    # length and value run 2 bytes past the end of the ProfileInfo.
    der = bytes.fromhex("BF2D14 A012 E30E") + ICCID_TLV + bytes.fromhex("9F700101")
    with pytest.raises(CodecError, match="SEQUENCE to end at offset 21, but got 23"):
        asn1.decode("ProfileInfoListResponse", der)


def test_a_sequence_ending_inside_a_tag_is_an_error() -> None:
    der = bytes.fromhex("BF2D13 A011 E30D") + ICCID_TLV + bytes.fromhex("9F700101")
    with pytest.raises(CodecError, match="ends inside it"):
        asn1.decode("ProfileInfoListResponse", der)


def test_explicit_tag_must_be_filled_by_its_value() -> None:
    # RetrieveNotificationsListRequest: the explicit A0 around searchCriteria says 5 bytes,
    # but seqNumber (80 01 00) fills only 3; the 2 left over must not be read as members.
    der = bytes.fromhex("BF2B07 A005 800100 8100")
    with pytest.raises(CodecError, match="explicitly tagged value") as caught:
        asn1.decode("RetrieveNotificationsListRequest", der)
    assert caught.value.path == "searchCriteria"


def test_invalid_utf8_names_the_member() -> None:
    # SetNicknameRequest whose nickname (90) is the lone byte FF.
    der = bytes.fromhex("BF290F") + ICCID_TLV + bytes.fromhex("9001FF")
    with pytest.raises(CodecError, match="utf-8") as caught:
        asn1.decode("SetNicknameRequest", der)
    assert caught.value.path == "profileNickname"


def test_missing_mandatory_member_is_an_error() -> None:
    # EnableProfileRequest without refreshFlag.
    der = bytes.fromhex("BF310E A00C5A0A984474560000214251F8".replace(" ", ""))
    with pytest.raises(CodecError, match="refreshFlag"):
        asn1.decode("EnableProfileRequest", der)


def test_missing_member_message_is_short() -> None:
    # AuthenticateServerResponse ok with an empty SEQUENCE: euiccSigned1 is missing.
    with pytest.raises(CodecError) as caught:
        asn1.decode("AuthenticateServerResponse", bytes.fromhex("BF3802A000"))
    message = str(caught.value)
    assert "mandatory member euiccSigned1 missing" in message and len(message) < 200
    assert caught.value.path == "authenticateResponseOk.euiccSigned1"


def test_encode_checks_sizes_and_names_the_member() -> None:
    # 9 bytes for an 18-digit ICCID is a known LPA bug: the ICCID is always 10 bytes.
    with pytest.raises(CodecError, match="between 10 and 10 bytes") as caught:
        asn1.encode("SetNicknameRequest", {"iccid": bytes(9), "profileNickname": "x"})
    assert (caught.value.type_name, caught.value.path) == ("SetNicknameRequest", "iccid")


def test_encode_reports_a_wrong_python_type() -> None:
    with pytest.raises(CodecError, match="bytes") as caught:
        asn1.encode("GetEuiccChallengeResponse", {"euiccChallenge": "not bytes"})
    assert caught.value.path == "euiccChallenge"


def test_encode_reports_a_missing_member() -> None:
    with pytest.raises(CodecError, match="refreshFlag"):
        asn1.encode("EnableProfileRequest", {"profileIdentifier": ("iccid", bytes(10))})


def test_unknown_type_name_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="EuiccInfo2"):
        asn1.decode("EuiccInfo2", b"")


def test_test_smdp_oid_round_trips() -> None:
    # 2.999.10: first subidentifier 2*40 + 999 = 1079 = 0x437 -> 88 37, then 0A; the members
    # of EuiccCancelSessionSigned carry automatic tags 80, 81, 82.
    value = {"transactionId": b"\x01", "smdpOid": "2.999.10", "reason": 0}
    der = asn1.encode("EuiccCancelSessionSigned", value)
    assert der == bytes.fromhex("300B 800101 8103 88370A 820100".replace(" ", ""))
    assert asn1.decode("EuiccCancelSessionSigned", der) == value


def test_test_smdp_oid_in_an_installation_result() -> None:
    # ProfileInstallationResultData carries smdpOid as a universal OID (06 03 88 37 0A).
    data = {
        "transactionId": bytes(16),
        "notificationMetadata": {
            "seqNumber": 0,
            "profileManagementOperation": (b"\x80", 1),
            "notificationAddress": "testsmdpplus1.example.com",
        },
        "smdpOid": "2.999.10",
        "finalResult": ("errorResult", {"bppCommandId": 1, "errorReason": 8}),
    }
    der = asn1.encode("ProfileInstallationResultData", data)
    assert bytes.fromhex("060388370A") in der
    assert asn1.decode("ProfileInstallationResultData", der)["smdpOid"] == "2.999.10"


@pytest.mark.parametrize(
    ("contents", "oid"),
    [
        ("2A864886F70D010101", "1.2.840.113549.1.1.1"),  # rsaEncryption
        ("2A8648CE3D0201", "1.2.840.10045.2.1"),  # id-ecPublicKey
        ("883701", "2.999.1"),
        ("8837", "2.999"),
        ("50", "2.0"),
        ("4F", "1.39"),
        ("00", "0.0"),
        ("67811201", "2.23.146.1"),  # id-rsp
    ],
)
def test_decode_oid(contents: str, oid: str) -> None:
    data = bytearray.fromhex(contents)
    assert decode_oid(data, 0, len(data)) == oid


@pytest.mark.parametrize("contents", ["", "2A86", "8001", "2A8048"])
def test_decode_oid_rejects_malformed(contents: str) -> None:
    # Empty, a last subidentifier cut short, and non-minimal (leading 0x80) subidentifiers,
    # as the dpOid ([0] IMPLICIT, tag 80) of a DpProprietaryData.
    size = len(contents) // 2
    der = bytes([0x30, size + 2, 0x80, size]) + bytes.fromhex(contents)
    with pytest.raises(CodecError) as caught:
        asn1.decode("DpProprietaryData", der)
    assert caught.value.path == "dpOid"


@pytest.mark.parametrize(
    ("contents", "message"),
    [
        ("2A" + "FF" * 20 + "01", "at most 20 octets"),
        ("2A" + "FF" * 65536 + "01", "at most 128 octets"),
        ("2A" + "01" * 128, "at most 128 octets"),
    ],
)
def test_decode_oid_refuses_oversized(contents: str, message: str) -> None:
    # Long subidentifiers are big integers: decoding a 64 kB one took a second.
    data = bytearray.fromhex(contents)
    with pytest.raises(DecodeError, match=message):
        decode_oid(data, 0, len(data))
    oid = b"\x80\x83" + len(data).to_bytes(3, "big") + data  # dpOid [0], as in DpProprietaryData
    der = b"\x30\x83" + len(oid).to_bytes(3, "big") + oid
    with pytest.raises(CodecError, match=message) as caught:
        asn1.decode("DpProprietaryData", der)
    assert caught.value.path == "dpOid"


def test_decode_oid_takes_a_uuid_arc() -> None:
    arc = 2**128 - 1  # 19 octets in base 128
    octets = [0x80 | (arc >> (7 * i)) & 0x7F for i in range(18, 0, -1)] + [arc & 0x7F]
    data = bytearray([0x69]) + bytearray(octets)  # 2.25.<uuid>
    assert decode_oid(data, 0, len(data)) == f"2.25.{arc}"


def test_any_decodes_to_bytes() -> None:
    value = {
        "tbsOtherNotification": {
            "seqNumber": 7,
            "profileManagementOperation": (b"\x40", 2),
            "notificationAddress": "smdp.example.com",
        },
        "euiccNotificationSignature": bytes(64),
        "euiccCertificate": bytes.fromhex("3003020101"),
        "eumCertificate": bytes.fromhex("3000"),
    }
    decoded = asn1.decode("OtherSignedNotification", asn1.encode("OtherSignedNotification", value))
    assert type(decoded["euiccCertificate"]) is bytes
    assert decoded == value
