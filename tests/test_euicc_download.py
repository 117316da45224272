"""VirtualEuicc download path: AuthenticateServer, PrepareDownload, LoadBPP, CancelSession.

The SM-DP+ side is built here from the TestPki keys, so every eUICC-side check can be forged.
"""

from __future__ import annotations

import base64
import json
import random
from pathlib import Path
from typing import Any

import pytest

from pyrsp import asn1, tlv
from pyrsp.bsp import build_bound_profile_package, replace_session_keys_request
from pyrsp.crypto import (
    SessionKeys,
    derive_session_keys,
    ecka,
    generate_private_key,
    hash_confirmation_code,
    public_key_bytes,
    signature_to_tlv,
    verify,
)
from pyrsp.crypto import sign as _sign
from pyrsp.models import iccid_to_bytes
from pyrsp.protocol.apdu import ApduConfig, bpp_pieces, store_data_apdus
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import Credential, TestPki


def sign(key: Any, data: bytes) -> bytes:
    """The SM-DP+ signs deterministically, so a seeded card's answers replay exactly."""
    return _sign(key, data, deterministic=True)


ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
ICCID = "8944476500001224158"
CHANNEL = ApduConfig(channel=1, segment_size=120)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=7)


@pytest.fixture(scope="module")
def other_pki() -> TestPki:
    return TestPki.generate(seed=8)


@pytest.fixture
def card(pki: TestPki) -> VirtualEuicc:
    return open_card(VirtualEuicc(pki, rng=random.Random(1)))


def open_card(card: VirtualEuicc) -> VirtualEuicc:
    assert card.transmit(bytes.fromhex("0070000001")) == b"\x01\x90\x00"
    select = bytes.fromhex("01A4040010") + ISD_R
    assert card.transmit(select)[-2:] == b"\x90\x00"
    return card


def es10(card: VirtualEuicc, request: bytes) -> bytes:
    """Send one ES10 request as a STORE DATA sequence; collect a 61xx answer."""
    apdus = store_data_apdus(request, CHANNEL)
    for apdu in apdus[:-1]:
        assert card.transmit(apdu) == b"\x90\x00"
    answer = card.transmit(apdus[-1])
    data, sw = answer[:-2], answer[-2:]
    while sw[0] == 0x61:
        answer = card.transmit(bytes([0x01, 0xC0, 0, 0, sw[1]]))
        data, sw = data + answer[:-2], answer[-2:]
    assert sw == b"\x90\x00", sw.hex()
    return data


def upp(iccid: str = ICCID, size: int = 3000) -> bytes:
    """A profile package: a ProfileHeader with the ICCID (plain BCD, as SAIP has it), filler."""
    plain_bcd = bytes.fromhex(iccid.ljust(20, "F"))
    header = tlv.build(0xA0, tlv.build(0x80, b"\x02") + tlv.build(0x83, plain_bcd))
    filler = tlv.build(0xA1, bytes(range(256)) * (size // 256))
    return header + filler


def metadata(iccid: str = ICCID, **extra: Any) -> bytes:
    value = {
        "iccid": iccid_to_bytes(iccid),
        "serviceProviderName": "pyrsp",
        "profileName": "Test profile",
        "notificationConfigurationInfo": [
            {"profileManagementOperation": (b"\x70", 4), "notificationAddress": "ops.example.com"}
        ],
    }
    value.update(extra)
    return asn1.encode("StoreMetadataRequest", value)


class Smdp:
    """The SM-DP+ side of one download session (SGP.22 sections 5.6.1 to 5.6.3)."""

    def __init__(self, pki: TestPki, transaction_id: bytes = bytes(range(1, 17))) -> None:
        self.pki = pki
        self.transaction_id = transaction_id
        self.address = pki.smdp_host
        self.rng = random.Random(99)
        self.euicc_signature1 = b""
        self.euicc_otpk = b""
        self.dp_auth: Credential = pki.dp_auth
        self.dp_pb: Credential = pki.dp_pb

    def server_signed1(self, challenge: bytes) -> bytes:
        return asn1.encode(
            "ServerSigned1",
            {
                "transactionId": self.transaction_id,
                "euiccChallenge": challenge,
                "serverAddress": self.address,
                "serverChallenge": b"\x55" * 16,
            },
        )

    def authenticate_server(
        self,
        challenge: bytes,
        *,
        signed1: bytes | None = None,
        signature: bytes | None = None,
        ci_key_id: bytes | None = None,
        certificate: bytes | None = None,
    ) -> bytes:
        signed1 = signed1 if signed1 is not None else self.server_signed1(challenge)
        signature = signature or sign(self.dp_auth.private_key, signed1)
        context = asn1.encode(
            "CtxParams1",
            (
                "ctxParamsForCommonAuthentication",
                {
                    "matchingId": "04386-AGYFT-A74Y8-3F815",
                    "deviceInfo": {"tac": b"\x35\x69\x38\x03", "deviceCapabilities": {}},
                },
            ),
        )
        body = (
            signed1
            + signature_to_tlv(signature)
            + tlv.build(0x04, ci_key_id or self.pki.ci_key_id)
            + (certificate or self.dp_auth.der)
            + context
        )
        return tlv.build(0xBF38, body)

    def take_authenticate_response(self, answer: bytes) -> dict[str, Any]:
        response = asn1.decode("AuthenticateServerResponse", answer)
        assert response[0] == "authenticateResponseOk", response
        ok = tlv.parse(answer).children()[0].children()
        self.euicc_signature1 = ok[1].raw
        return response[1]  # type: ignore[no-any-return]

    def prepare_download(
        self,
        *,
        cc_required: bool = False,
        hash_cc: bytes | None = None,
        transaction_id: bytes | None = None,
        certificate: Credential | None = None,
        signature: bytes | None = None,
    ) -> bytes:
        signer = certificate or self.dp_pb
        signed2 = asn1.encode(
            "SmdpSigned2",
            {
                "transactionId": transaction_id or self.transaction_id,
                "ccRequiredFlag": cc_required,
            },
        )
        signature = signature or sign(signer.private_key, signed2 + self.euicc_signature1)
        body = signed2 + signature_to_tlv(signature)
        if hash_cc is not None:
            body += tlv.build(0x04, hash_cc)
        return tlv.build(0xBF21, body + signer.der)

    def take_prepare_response(self, answer: bytes) -> dict[str, Any]:
        response = asn1.decode("PrepareDownloadResponse", answer)
        assert response[0] == "downloadResponseOk", response
        self.euicc_otpk = response[1]["euiccSigned2"]["euiccOtpk"]
        return response[1]  # type: ignore[no-any-return]

    def bound_profile_package(
        self,
        *,
        store_metadata: bytes | None = None,
        profile: bytes | None = None,
        replace_keys: SessionKeys | None = None,
        remote_op: int = 1,
        smdp_sign_key: Any = None,
    ) -> bytes:
        smdp_otsk = generate_private_key("nist", self.rng)
        host_id = b"\x80" * 8
        content = (
            tlv.build(0x82, bytes([remote_op]))
            + tlv.build(0x80, self.transaction_id)
            + tlv.build(0xA6, bytes.fromhex("800188810110") + tlv.build(0x84, host_id))
            + tlv.build(0x5F49, public_key_bytes(smdp_otsk))
        )
        signer = smdp_sign_key or self.dp_pb.private_key
        smdp_sign = sign(signer, content + tlv.build(0x5F49, self.euicc_otpk))
        iscr = tlv.build(0xBF23, content + signature_to_tlv(smdp_sign))
        keys = derive_session_keys(
            ecka(smdp_otsk, self.euicc_otpk), host_id=host_id, eid=self.pki.eid
        )
        return build_bound_profile_package(
            initialise_secure_channel=iscr,
            configure_isdp=bytes.fromhex("BF2400"),
            store_metadata=store_metadata or metadata(),
            profile_package=profile if profile is not None else upp(),
            session_keys=keys,
            replace_session_keys=replace_session_keys_request(replace_keys)
            if replace_keys
            else None,
        )


def authenticated(card: VirtualEuicc, smdp: Smdp) -> None:
    challenge = asn1.decode("GetEuiccChallengeResponse", es10(card, bytes.fromhex("BF2E00")))
    answer = es10(card, smdp.authenticate_server(challenge["euiccChallenge"]))
    smdp.take_authenticate_response(answer)


def prepared(card: VirtualEuicc, smdp: Smdp) -> None:
    authenticated(card, smdp)
    smdp.take_prepare_response(es10(card, smdp.prepare_download()))


def load(card: VirtualEuicc, bpp: bytes) -> dict[str, Any]:
    pieces = bpp_pieces(bpp)
    sent = 0
    answer = b""
    while not answer and sent < len(pieces):
        answer = es10(card, pieces[sent])
        sent += 1
    assert answer.startswith(b"\xbf\x37"), (sent, len(pieces))
    result: dict[str, Any] = asn1.decode("ProfileInstallationResult", answer)
    result["pieces_sent"] = sent
    result["raw"] = answer
    return result


def final(result: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return result["profileInstallationResultData"]["finalResult"]  # type: ignore[no-any-return]


# --- the whole download ------------------------------------------------------------------------


def test_download_installs_and_signs_result(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    authenticated(card, smdp)
    prepare = smdp.take_prepare_response(es10(card, smdp.prepare_download()))
    assert len(prepare["euiccSigned2"]["euiccOtpk"]) == 65
    result = load(card, smdp.bound_profile_package())
    kind, value = final(result)
    assert kind == "successResult"
    assert [p.iccid for p in card.profiles] == [ICCID]
    assert card.profiles[0].isdp_aid == value["aid"]
    assert not card.profiles[0].enabled
    data = result["profileInstallationResultData"]
    assert data["transactionId"] == smdp.transaction_id
    assert data["smdpOid"] == pki.smdp_oid
    metadata_ = data["notificationMetadata"]
    assert metadata_["notificationAddress"] == pki.smdp_host
    assert metadata_["seqNumber"] == 0
    # the result is signed by the eUICC over the exact BF27 bytes
    signed = tlv.parse(result["raw"]).children()
    verify(pki.euicc.certificate, signed[0].raw, result["euiccSignPIR"])
    # and kept as the install notification until removed
    assert [(n.seq_number, n.event) for n in card.notifications] == [(0, "install")]
    assert card.notifications[0].pending == result["raw"]


def test_download_with_replace_session_keys_and_confirmation_code(
    card: VirtualEuicc, pki: TestPki
) -> None:
    smdp = Smdp(pki)
    authenticated(card, smdp)
    hash_cc = hash_confirmation_code("1234", smdp.transaction_id)
    answer = es10(card, smdp.prepare_download(cc_required=True, hash_cc=hash_cc))
    assert smdp.take_prepare_response(answer)["euiccSigned2"]["hashCc"] == hash_cc
    keys = SessionKeys(initial_mcv=b"\x01" * 16, s_enc=b"\x02" * 16, s_mac=b"\x03" * 16)
    result = load(card, smdp.bound_profile_package(replace_keys=keys))
    assert final(result)[0] == "successResult"


def test_seeded_card_replays_byte_for_byte(pki: TestPki) -> None:
    answers = []
    for _ in range(2):
        card = open_card(VirtualEuicc(pki, rng=random.Random(5)))
        smdp = Smdp(pki)
        challenge = es10(card, bytes.fromhex("BF2E00"))
        auth = es10(card, smdp.authenticate_server(challenge[-16:]))
        smdp.take_authenticate_response(auth)
        answers.append((challenge, auth, es10(card, smdp.prepare_download())))
    assert answers[0] == answers[1]


# --- AuthenticateServer checks (section 5.7.13) ------------------------------------------------


def auth_error(card: VirtualEuicc, request: bytes) -> int:
    response = asn1.decode("AuthenticateServerResponse", es10(card, request))
    assert response[0] == "authenticateResponseError", response
    return response[1]["authenticateErrorCode"]  # type: ignore[no-any-return]


def challenge_of(card: VirtualEuicc) -> bytes:
    return es10(card, bytes.fromhex("BF2E00"))[-16:]


def test_authenticate_without_challenge(card: VirtualEuicc, pki: TestPki) -> None:
    assert auth_error(card, Smdp(pki).authenticate_server(b"\x00" * 16)) == 4


def test_authenticate_unknown_ci(card: VirtualEuicc, pki: TestPki) -> None:
    request = Smdp(pki).authenticate_server(challenge_of(card), ci_key_id=b"\x11" * 20)
    assert auth_error(card, request) == 7


def test_authenticate_certificate_of_another_ci(
    card: VirtualEuicc, pki: TestPki, other_pki: TestPki
) -> None:
    smdp = Smdp(pki)
    smdp.dp_auth = other_pki.dp_auth
    assert auth_error(card, smdp.authenticate_server(challenge_of(card))) == 1


def test_authenticate_wrong_role(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    smdp.dp_auth = pki.dp_pb  # a valid certificate of the wrong role
    assert auth_error(card, smdp.authenticate_server(challenge_of(card))) == 1


def test_authenticate_garbage_certificate(card: VirtualEuicc, pki: TestPki) -> None:
    request = Smdp(pki).authenticate_server(
        challenge_of(card), certificate=tlv.build(0x30, b"\x02\x01\x00")
    )
    assert auth_error(card, request) == 1


def test_authenticate_bad_signature(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    challenge = challenge_of(card)
    signed1 = smdp.server_signed1(challenge)
    other = sign(pki.dp_auth.private_key, signed1 + b"x")
    assert auth_error(card, smdp.authenticate_server(challenge, signature=other)) == 2


def test_authenticate_signature_over_exact_bytes(card: VirtualEuicc, pki: TestPki) -> None:
    """A signature over a re-encoding (long-form length) of serverSigned1 does not verify."""
    smdp = Smdp(pki)
    challenge = challenge_of(card)
    signed1 = smdp.server_signed1(challenge)
    long_form = b"\x30\x81" + signed1[1:]
    request = smdp.authenticate_server(
        challenge, signed1=long_form, signature=sign(pki.dp_auth.private_key, signed1)
    )
    assert auth_error(card, request) == 2


def test_authenticate_challenge_mismatch(card: VirtualEuicc, pki: TestPki) -> None:
    challenge_of(card)
    assert auth_error(card, Smdp(pki).authenticate_server(b"\x42" * 16)) == 6


def test_authenticate_response_echoes_and_signs(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    challenge = challenge_of(card)
    answer = es10(card, smdp.authenticate_server(challenge))
    ok = smdp.take_authenticate_response(answer)
    signed1 = ok["euiccSigned1"]
    assert signed1["transactionId"] == smdp.transaction_id
    assert signed1["serverAddress"] == pki.smdp_host
    assert signed1["serverChallenge"] == b"\x55" * 16
    assert signed1["ctxParams1"][1]["matchingId"] == "04386-AGYFT-A74Y8-3F815"
    assert ok["euiccCertificate"] == pki.euicc.der
    raw_signed1 = tlv.parse(answer).children()[0].children()[0].raw
    verify(pki.euicc.certificate, raw_signed1, ok["euiccSignature1"])


# --- PrepareDownload checks (section 5.7.5) ----------------------------------------------------


def prepare_error(card: VirtualEuicc, request: bytes) -> int:
    response = asn1.decode("PrepareDownloadResponse", es10(card, request))
    assert response[0] == "downloadResponseError", response
    return response[1]["downloadErrorCode"]  # type: ignore[no-any-return]


def test_prepare_without_session(card: VirtualEuicc, pki: TestPki) -> None:
    assert prepare_error(card, Smdp(pki).prepare_download()) == 4


def test_prepare_wrong_role(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    authenticated(card, smdp)
    assert prepare_error(card, smdp.prepare_download(certificate=pki.dp_auth)) == 1


def test_prepare_certificate_of_another_ci(
    card: VirtualEuicc, pki: TestPki, other_pki: TestPki
) -> None:
    smdp = Smdp(pki)
    authenticated(card, smdp)
    assert prepare_error(card, smdp.prepare_download(certificate=other_pki.dp_pb)) == 1


def test_prepare_bad_signature(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    authenticated(card, smdp)
    assert prepare_error(card, smdp.prepare_download(signature=b"\x01" * 64)) == 2


def test_prepare_signature_must_cover_euicc_signature1(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    authenticated(card, smdp)
    smdp.euicc_signature1 = signature_to_tlv(b"\x07" * 64)
    assert prepare_error(card, smdp.prepare_download()) == 2


def test_prepare_wrong_transaction(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    authenticated(card, smdp)
    assert prepare_error(card, smdp.prepare_download(transaction_id=b"\x09" * 16)) == 5


def test_prepare_confirmation_code_required(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    authenticated(card, smdp)
    assert prepare_error(card, smdp.prepare_download(cc_required=True)) == 127


# --- CancelSession (section 5.7.14) ------------------------------------------------------------


def test_cancel_session_signed_and_ends_session(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    authenticated(card, smdp)
    wrong = asn1.encode("CancelSessionRequest", {"transactionId": b"\x01", "reason": 1})
    assert asn1.decode("CancelSessionResponse", es10(card, wrong)) == (
        "cancelSessionResponseError",
        5,
    )
    request = asn1.encode(
        "CancelSessionRequest", {"transactionId": smdp.transaction_id, "reason": 0}
    )
    answer = es10(card, request)
    kind, ok = asn1.decode("CancelSessionResponse", answer)
    assert kind == "cancelSessionResponseOk"
    assert ok["euiccCancelSessionSigned"] == {
        "transactionId": smdp.transaction_id,
        "smdpOid": pki.smdp_oid,
        "reason": 0,
    }
    # the session is gone: PrepareDownload has no context any more
    assert prepare_error(card, smdp.prepare_download()) == 4


# --- LoadBoundProfilePackage checks (section 5.7.6) --------------------------------------------


def error_of(result: dict[str, Any]) -> tuple[int, int]:
    kind, value = final(result)
    assert kind == "errorResult", value
    return value["bppCommandId"], value["errorReason"]


def test_vector_bpp_is_refused(card: VirtualEuicc, pki: TestPki, vectors_dir: Path) -> None:
    """The public BPP was bound to another card: its transaction and smdpSign do not fit."""
    vector = json.loads((vectors_dir / "bsp.json").read_text())["bound_profile_package"]
    bpp = base64.b64decode(vector["bpp_base64"])
    iscr = asn1.decode("InitialiseSecureChannelRequest", tlv.parse(bpp).children()[0].raw)
    # no session at all
    result = load(card, bpp)
    assert error_of(result) == (0, 3)
    assert result["pieces_sent"] == 1
    # a session of ours that even uses the vector's transactionId: smdpSign does not verify
    smdp = Smdp(pki, transaction_id=iscr["transactionId"])
    prepared(card, smdp)
    assert error_of(load(card, bpp)) == (0, 2)
    assert card.profiles == ()
    assert [n.event for n in card.notifications] == ["install"]


def test_bpp_for_another_transaction(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    prepared(card, smdp)
    smdp.transaction_id = b"\x77" * 16
    assert error_of(load(card, smdp.bound_profile_package())) == (0, 3)


def test_bpp_smdp_sign_by_wrong_key(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    prepared(card, smdp)
    bpp = smdp.bound_profile_package(smdp_sign_key=pki.dp_auth.private_key)
    assert error_of(load(card, bpp)) == (0, 2)


def test_bpp_unsupported_remote_operation(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    prepared(card, smdp)
    assert error_of(load(card, smdp.bound_profile_package(remote_op=2))) == (0, 5)


def tamper(bpp: bytes, piece_index: int) -> bytes:
    pieces = bpp_pieces(bpp)
    piece = bytearray(pieces[piece_index])
    piece[-1] ^= 0x01  # the last MAC byte of the piece's last segment
    pieces[piece_index] = bytes(piece)
    return b"".join(pieces)


@pytest.mark.parametrize(("piece", "command"), [(1, 1), (3, 2), (5, 5)])
def test_bpp_segment_mac_checked(
    card: VirtualEuicc, pki: TestPki, piece: int, command: int
) -> None:
    smdp = Smdp(pki)
    prepared(card, smdp)
    result = load(card, tamper(smdp.bound_profile_package(), piece))
    assert error_of(result) == (command, 8)
    assert result["pieces_sent"] == piece + 1
    assert card.profiles == ()


def test_bpp_replace_session_keys_mac_checked(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    prepared(card, smdp)
    keys = SessionKeys(initial_mcv=b"\x01" * 16, s_enc=b"\x02" * 16, s_mac=b"\x03" * 16)
    bpp = smdp.bound_profile_package(replace_keys=keys)
    assert error_of(load(card, tamper(bpp, 4))) == (4, 8)


def test_bpp_iccid_already_installed(card: VirtualEuicc, pki: TestPki) -> None:
    for expected in ("successResult", "errorResult"):
        smdp = Smdp(pki)
        prepared(card, smdp)
        result = load(card, smdp.bound_profile_package())
        assert final(result)[0] == expected
    assert error_of(result) == (2, 9)
    assert len(card.profiles) == 1


def test_bpp_profile_class_not_allowed(pki: TestPki) -> None:
    card = open_card(VirtualEuicc(pki, rng=random.Random(1)))
    card.settings.allowed_classes = frozenset({2})
    smdp = Smdp(pki)
    prepared(card, smdp)
    bpp = smdp.bound_profile_package(store_metadata=metadata(profileClass=0))
    assert error_of(load(card, bpp)) == (2, 6)


def test_bpp_out_of_memory(card: VirtualEuicc, pki: TestPki) -> None:
    card.faults.memory_limit = 1000
    smdp = Smdp(pki)
    prepared(card, smdp)
    assert error_of(load(card, smdp.bound_profile_package())) == (5, 10)
    assert card.profiles == ()


def test_bpp_iccid_mismatch(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    prepared(card, smdp)
    bpp = smdp.bound_profile_package(profile=upp("8944476500001224166"))
    assert error_of(load(card, bpp)) == (5, 13)


def test_bpp_profile_not_tlv(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    prepared(card, smdp)
    assert error_of(load(card, smdp.bound_profile_package(profile=b"\xa0\x05\x01"))) == (5, 12)


def test_bpp_interrupted_by_other_command(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    prepared(card, smdp)
    pieces = bpp_pieces(smdp.bound_profile_package())
    assert es10(card, pieces[0]) == b""
    assert es10(card, bytes.fromhex("BF2E00"))  # GetEUICCChallenge in the middle
    assert card.profiles == ()
    pending = card.notifications[-1]
    result = asn1.decode("ProfileInstallationResult", pending.pending)
    assert error_of(result) == (1, 11)


def test_bpp_structure_error(card: VirtualEuicc, pki: TestPki) -> None:
    smdp = Smdp(pki)
    prepared(card, smdp)
    pieces = bpp_pieces(smdp.bound_profile_package())
    pieces[5] = b"\x87" + pieces[5][1:]  # an 87 where the A3 holds 86 segments
    assert error_of(load(card, b"".join(pieces))) == (5, 7)


def test_ts48_profile_installs(card: VirtualEuicc, pki: TestPki, vectors_dir: Path) -> None:
    package = (vectors_dir / "upp" / "TS48V1-A-UNIQUE.der").read_bytes()
    header_iccid = tlv.read(package).require(0x83).value.hex().upper().rstrip("F")
    smdp = Smdp(pki)
    prepared(card, smdp)
    bpp = smdp.bound_profile_package(store_metadata=metadata(header_iccid), profile=package)
    assert final(load(card, bpp))[0] == "successResult"
    assert card.profiles[0].iccid == header_iccid
    assert card.profiles[0].size == len(package)


@pytest.mark.parametrize(
    ("old", "new", "code"),
    [
        ("a003020102", "a00302010a", 1),  # version 10: x509.InvalidVersion
        ("0603551d0f", "0603551d0e", 1),  # subjectKeyIdentifier twice: x509.DuplicateExtension
        ("3005880388370a", "3005a303020100", 1),  # x400Address: x509.UnsupportedGeneralNameType
        ("06035504030c0d70", "0603550403030d00", 1),  # a BIT STRING commonName: TypeError
        ("060355040a0c11", "06035504060c11", 1),  # a 17-letter countryName: UserWarning
        ("06082a8648ce3d030107", "06082a8648ce3d030207", 3),  # unknown curve OID
    ],
)
def test_authenticate_certificate_cryptography_refuses(
    card: VirtualEuicc, pki: TestPki, old: str, new: str, code: int
) -> None:
    der = pki.dp_auth.der
    assert der.count(bytes.fromhex(old)) == 1
    certificate = der.replace(bytes.fromhex(old), bytes.fromhex(new))
    request = Smdp(pki).authenticate_server(challenge_of(card), certificate=certificate)
    assert auth_error(card, request) == code
