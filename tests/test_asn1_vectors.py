"""Byte-exact encodings worked out by hand from SGP.22 section 5.7 (ES10a/b/c).

Each vector states how its bytes arise: BF xx is a context tag >= 31 in the constructed
form (``BF`` then the tag number), context tags below 31 are ``80 + n`` (primitive) or
``A0 + n`` (constructed), APPLICATION tags ``40 + n`` / ``5F nn``, PRIVATE 3 constructed is
``E3``. Each vector is checked both ways: encode gives the bytes, decode gives the value.
"""

from __future__ import annotations

from typing import Any

import pytest

from pyrsp import asn1

# SGP.26 test CI subject key identifiers (NIST P-256 and brainpoolP256r1).
SKI_NIST = bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3")
SKI_BRP = bytes.fromhex("C0BC70BA36929D43B467FF57570530E57AB8FCD8")
# ICCID 8944476500001224158 (19 digits): swap the digits of each pair, pad with F.
ICCID_DIGITS_19 = bytes.fromhex("984474560000214251F8".replace(" ", ""))
ISDP_AID = bytes.fromhex("A0000005591010FFFFFFFF8900001100")
EID = bytes.fromhex("89049032123451234512345678901235")  # SGP.23 test EID, plain BCD
CHALLENGE = bytes(range(16))

VECTORS: list[tuple[str, str, Any]] = [
    # GetEuiccChallengeRequest ::= [46] SEQUENCE {}: BF2E, length 00.
    ("GetEuiccChallengeRequest", "BF2E 00", {}),
    # GetEuiccChallengeResponse: BF2E, length 0x12 = 18, then euiccChallenge as automatic
    # tag [0] primitive (80), length 0x10, the 16 challenge bytes.
    (
        "GetEuiccChallengeResponse",
        "BF2E 12 80 10 000102030405060708090A0B0C0D0E0F",
        {"euiccChallenge": CHALLENGE},
    ),
    # EUICCInfo1 (BF20): svn [2] -> 82 03 02 02 00 (v2.2.0, 5 bytes); each CI list is a
    # constructed [9] (A9) / [10] (AA) holding two OCTET STRINGs 04 14 + 20-byte SKI, so
    # 2 * 22 = 44 = 0x2C bytes each, 46 with tag and length; total 5 + 46 + 46 = 97 = 0x61.
    (
        "EUICCInfo1",
        "BF20 61 82 03 020200"
        " A9 2C 04 14 F54172BDF98A95D65CBEB88A38A1C11D800A85C3"
        " 04 14 C0BC70BA36929D43B467FF57570530E57AB8FCD8"
        " AA 2C 04 14 F54172BDF98A95D65CBEB88A38A1C11D800A85C3"
        " 04 14 C0BC70BA36929D43B467FF57570530E57AB8FCD8",
        {
            "svn": bytes.fromhex("020200"),
            "euiccCiPKIdListForVerification": [SKI_NIST, SKI_BRP],
            "euiccCiPKIdListForSigning": [SKI_NIST, SKI_BRP],
        },
    ),
    # ProfileInfoListRequest (BF2D) asking for ICCID, ISD-P AID, state, nickname, service
    # provider name, profile name and class: tagList is [APPLICATION 28] primitive (5C),
    # 8 tag bytes 5A 4F 9F70 90 91 92 95 -> 5C 08 ..., 10 bytes in all.
    (
        "ProfileInfoListRequest",
        "BF2D 0A 5C 08 5A4F9F7090919295",
        {"tagList": bytes.fromhex("5A4F9F7090919295")},
    ),
    # ... and restricted to operational profiles: searchCriteria [0] is a CHOICE, hence an
    # explicit A0 wrapper around profileClass [21] -> 95 01 02; A0 03 95 01 02 is 5 bytes.
    (
        "ProfileInfoListRequest",
        "BF2D 0F A0 03 950102 5C 08 5A4F9F7090919295",
        {
            "searchCriteria": ("profileClass", 2),
            "tagList": bytes.fromhex("5A4F9F7090919295"),
        },
    ),
    # EnableProfileRequest (BF31) by ICCID with refreshFlag TRUE: profileIdentifier is an
    # untagged CHOICE under automatic tags -> explicit [0] (A0) around 5A 0A + 10 ICCID
    # bytes (12 bytes, so A0 0C); refreshFlag is [1] BOOLEAN -> 81 01 FF. 14 + 3 = 17 = 0x11.
    (
        "EnableProfileRequest",
        "BF31 11 A0 0C 5A 0A 984474560000214251F8 81 01 FF",
        {"profileIdentifier": ("iccid", ICCID_DIGITS_19), "refreshFlag": True},
    ),
    # DeleteProfileRequest ::= [51] CHOICE: BF33, then the isdpAid alternative
    # [APPLICATION 15] (4F), length 0x10, the 16-byte AID: 18 = 0x12 bytes.
    (
        "DeleteProfileRequest",
        "BF33 12 4F 10 A0000005591010FFFFFFFF8900001100",
        ("isdpAid", ISDP_AID),
    ),
    # RetrieveNotificationsListRequest (BF2B) for seqNumber 0: searchCriteria is an untagged
    # CHOICE -> explicit [0] A0; seqNumber [0] INTEGER 0 is 80 01 00 (zero needs one byte).
    (
        "RetrieveNotificationsListRequest",
        "BF2B 05 A0 03 80 01 00",
        {"searchCriteria": ("seqNumber", 0)},
    ),
    # SetNicknameRequest (BF29): iccid 5A 0A + 10 bytes (12), profileNickname [16] UTF8String
    # -> 90 06 "Travel" (8); 20 = 0x14 bytes.
    (
        "SetNicknameRequest",
        "BF29 14 5A 0A 984474560000214251F8 90 06 54726176656C",
        {"iccid": ICCID_DIGITS_19, "profileNickname": "Travel"},
    ),
    # SetNicknameResponse ok: setNicknameResult is automatic [0] INTEGER -> 80 01 00.
    ("SetNicknameResponse", "BF29 03 80 01 00", {"setNicknameResult": 0}),
    # GetEID = GetEuiccDataRequest (BF3E) with tagList [APPLICATION 28] (5C) = '5A'.
    ("GetEuiccDataRequest", "BF3E 03 5C 01 5A", {"tagList": b"\x5a"}),
    # ... answered by eidValue [APPLICATION 26] (5A) 10 + the 16 EID bytes: 18 = 0x12.
    (
        "GetEuiccDataResponse",
        "BF3E 12 5A 10 89049032123451234512345678901235",
        {"eidValue": EID},
    ),
    # NotificationSentRequest (BF30) for seqNumber 0: [0] INTEGER -> 80 01 00.
    ("NotificationSentRequest", "BF30 03 80 01 00", {"seqNumber": 0}),
    # NotificationMetadata (BF2F) of an install: seqNumber 80 01 00; the event is a BIT STRING
    # [1] with one bit (notificationInstall) -> 81 02 07 80 (7 unused bits); the address is an
    # untagged UTF8String 0C 19 (25 characters); iccid 5A 0A. 3 + 4 + 27 + 12 = 46 = 0x2E.
    (
        "NotificationMetadata",
        "BF2F 2E 800100 81020780 0C19 74657374736D6470706C7573312E6578616D706C652E636F6D"
        " 5A0A 984474560000214251F8",
        {
            "seqNumber": 0,
            "profileManagementOperation": (b"\x80", 1),
            "notificationAddress": "testsmdpplus1.example.com",
            "iccid": ICCID_DIGITS_19,
        },
    ),
    # ConfigureISDPRequest (BF24) with the test SM-DP+ OID: dpProprietaryData [24] (B8)
    # holding dpOid [0] (80) 03 88 37 0A (2.999.10: 2 * 40 + 999 = 0x437 -> 88 37).
    (
        "ConfigureISDPRequest",
        "BF24 07 B8 05 80 03 88370A",
        {"dpProprietaryData": {"dpOid": "2.999.10"}},
    ),
]


@pytest.mark.parametrize(("type_name", "hex_der", "value"), VECTORS)
def test_vector_encodes_to_the_hand_worked_bytes(type_name: str, hex_der: str, value: Any) -> None:
    assert asn1.encode(type_name, value) == bytes.fromhex(hex_der.replace(" ", ""))


@pytest.mark.parametrize(("type_name", "hex_der", "value"), VECTORS)
def test_vector_decodes_to_the_value(type_name: str, hex_der: str, value: Any) -> None:
    assert asn1.decode(type_name, bytes.fromhex(hex_der.replace(" ", ""))) == value
