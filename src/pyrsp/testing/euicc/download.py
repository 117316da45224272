"""The eUICC side of a profile download, up to the BPP (SGP.22 sections 3.1.3, 5.7.5, 5.7.7,
5.7.13 and 5.7.14): GetEUICCChallenge, AuthenticateServer, PrepareDownload, CancelSession.

Every check the standard puts on the eUICC answers the standard's error code in the response:
the CI key id in the verification list, the SM-DP+ certificates (chain to that CI, role DPauth
or DPpb, curve, the SM-DP+ OID), serverSignature1 over the exact serverSigned1 bytes, the
eUICC's own challenge echoed, the transactionId across the session, smdpSignature2 over
smdpSigned2 and euiccSignature1, and hashCc when the SM-DP+ requires a confirmation code.
Signed structures are assembled from the exact TLVs received, never re-encoded.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature as BadSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec

from pyrsp import asn1, tlv
from pyrsp.crypto import (
    Role,
    curve_of,
    generate_private_key,
    load_certificate,
    public_key_bytes,
    signature_to_tlv,
    verify,
)
from pyrsp.errors import CertificateError, CryptoError, InvalidSignature
from pyrsp.testing.euicc.core import EuiccCore, Session
from pyrsp.testing.euicc.info import euicc_info2

__all__ = [
    "CertificateFailure",
    "authenticate_server",
    "cancel_session",
    "check_certificate",
    "get_euicc_challenge",
    "prepare_download",
    "smdp_oid",
]

# AuthenticateErrorCode / DownloadErrorCode (SGP.22 section 5.7.13 and 5.7.5)
INVALID_CERTIFICATE = 1
INVALID_SIGNATURE = 2
UNSUPPORTED_CURVE = 3
NO_SESSION_CONTEXT = 4
INVALID_OID = 5
INVALID_TRANSACTION_ID = 5
EUICC_CHALLENGE_MISMATCH = 6
CI_PK_UNKNOWN = 7
UNDEFINED_ERROR = 127


class CertificateFailure(Exception):  # noqa: N818 - carries an SGP.22 error code
    """An SM-DP+ certificate the eUICC refuses; ``code`` is the SGP.22 error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def smdp_oid(certificate: x509.Certificate) -> str | None:
    """The SM-DP+ OID: the registeredID in the subjectAltName (SGP.22 section 4.5.2.1.0.3)."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    oids = names.value.get_values_for_type(x509.RegisteredID)
    return oids[0].dotted_string if oids else None


def check_certificate(der: bytes, ci: x509.Certificate, role: Role) -> x509.Certificate:
    """Parse ``der`` and check curve, issuer signature by ``ci`` and ``role`` (section 4.5.2).

    The outcome depends on nothing but the three arguments, so a certificate that passed is
    remembered by its exact bytes (a few dozen at most): every download from the same SM-DP+
    presents the same two certificates. A refused one is checked again each time.
    """
    return _checked_certificate(bytes(der), ci, role)


@functools.lru_cache(maxsize=32)
def _checked_certificate(der: bytes, ci: x509.Certificate, role: Role) -> x509.Certificate:
    try:
        certificate = load_certificate(der)
    except CertificateError as exc:
        unknown_key = isinstance(exc.__cause__, UnsupportedAlgorithm)
        code = UNSUPPORTED_CURVE if unknown_key else INVALID_CERTIFICATE
        raise CertificateFailure(code, f"not a certificate: {exc}") from exc
    key = certificate.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CertificateFailure(UNSUPPORTED_CURVE, "expected an EC key")
    try:
        curve_of(key)
    except CryptoError as exc:
        raise CertificateFailure(UNSUPPORTED_CURVE, str(exc)) from exc
    try:
        certificate.verify_directly_issued_by(ci)
    except (ValueError, TypeError, BadSignature) as exc:
        raise CertificateFailure(INVALID_CERTIFICATE, f"not issued by the CI: {exc}") from exc
    if role.value not in _policies(certificate):
        raise CertificateFailure(INVALID_CERTIFICATE, f"expected role {role.name}")
    return certificate


def _policies(certificate: x509.Certificate) -> set[str]:
    try:
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
    except x509.ExtensionNotFound:
        return set()
    return {p.policy_identifier.dotted_string for p in policies.value}


def get_euicc_challenge(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.GetEUICCChallenge (section 5.7.7): a new session with a fresh 16-byte challenge."""
    core.session = Session(challenge=core.random(16))
    return asn1.encode("GetEuiccChallengeResponse", {"euiccChallenge": core.session.challenge})


def authenticate_server(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.AuthenticateServer (section 5.7.13)."""
    signed1 = request["serverSigned1"]
    transaction_id = signed1["transactionId"]
    try:
        code = _authenticate(core, request, raw)
    except CertificateFailure as failure:
        code = failure.code
    if code:
        return _refusal("AuthenticateServerResponse", "authenticate", transaction_id, code)
    return _authenticate_ok(core, raw)


def _authenticate(core: EuiccCore, request: dict[str, Any], raw: bytes) -> int:
    """Run the checks of section 5.7.13; 0 when they pass, else the error code."""
    session = core.session
    if session is None or session.transaction_id is not None:
        return NO_SESSION_CONTEXT
    identity = core.identity
    ci_id = request["euiccCiPKIdToBeUsed"]
    ci = identity.ci_for(ci_id)
    if ci is None or ci_id not in identity.verification_ci_ids:
        return CI_PK_UNKNOWN
    certificate = check_certificate(request["serverCertificate"], ci, Role.DP_AUTH)
    oid = smdp_oid(certificate)
    if oid is None:
        return INVALID_OID
    signed1_raw = tlv.parse(raw).require(0x30).raw
    try:
        verify(certificate, signed1_raw, request["serverSignature1"])
    except (InvalidSignature, CryptoError):
        return INVALID_SIGNATURE
    signed1 = request["serverSigned1"]
    if signed1["euiccChallenge"] != session.challenge:
        return EUICC_CHALLENGE_MISMATCH
    session.transaction_id = signed1["transactionId"]
    session.server_address = signed1["serverAddress"]
    session.dp_auth = certificate
    session.ci = ci
    session.smdp_oid = oid
    return 0


def _authenticate_ok(core: EuiccCore, raw: bytes) -> bytes:
    """AuthenticateResponseOk: euiccSigned1 spliced from the request's own TLVs, then signed."""
    assert core.session is not None
    request = tlv.parse(raw)
    signed1 = request.require(0x30)
    context = next(c for c in request.children() if c.tag == 0xA0)
    euicc_signed1 = tlv.build(
        0x30,
        signed1.require(0x80).raw
        + signed1.require(0x83).raw
        + signed1.require(0x84).raw
        + euicc_info2(core)
        + context.raw,
    )
    signature = signature_to_tlv(core.sign(euicc_signed1))
    core.session.euicc_signature1 = signature
    body = euicc_signed1 + signature + core.identity.euicc_der + core.identity.eum_der
    return tlv.build(0xBF38, tlv.build(0xA0, body))


def prepare_download(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.PrepareDownload (section 5.7.5): checks, then a one-time key pair and signature."""
    transaction_id = request["smdpSigned2"]["transactionId"]
    try:
        code = _prepare(core, request, raw)
    except CertificateFailure as failure:
        code = failure.code
    if code:
        return _refusal("PrepareDownloadResponse", "download", transaction_id, code)
    return _prepare_ok(core, request, raw)


def _refusal(type_name: str, kind: str, transaction_id: bytes, code: int) -> bytes:
    """The error alternative of an AuthenticateServer or PrepareDownload response (5.7.13,
    5.7.5): ``{kind}ResponseError`` with the transactionId and ``{kind}ErrorCode``."""
    body = {"transactionId": transaction_id, f"{kind}ErrorCode": code}
    return asn1.encode(type_name, (f"{kind}ResponseError", body))


def _prepare(core: EuiccCore, request: dict[str, Any], raw: bytes) -> int:
    """Run the checks of section 5.7.5; 0 when they pass, else the error code."""
    session = core.session
    if session is None or session.dp_auth is None or session.ci is None:
        return NO_SESSION_CONTEXT
    certificate = check_certificate(request["smdpCertificate"], session.ci, Role.DP_PB)
    if smdp_oid(certificate) != session.smdp_oid:
        return INVALID_CERTIFICATE
    signed2_raw = tlv.parse(raw).require(0x30).raw
    try:
        verify(certificate, signed2_raw + session.euicc_signature1, request["smdpSignature2"])
    except (InvalidSignature, CryptoError):
        return INVALID_SIGNATURE
    signed2 = request["smdpSigned2"]
    if signed2["transactionId"] != session.transaction_id:
        return INVALID_TRANSACTION_ID
    if signed2["ccRequiredFlag"] and "hashCc" not in request:
        return UNDEFINED_ERROR
    session.dp_pb = certificate
    return 0


def _prepare_ok(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """PrepareDownloadResponseOk: euiccSigned2 with otPK.EUICC.ECKA, signed with smdpSignature2."""
    session = core.session
    assert session is not None and session.transaction_id is not None
    otsk = _one_time_key(core, request["smdpSigned2"].get("bppEuiccOtpk"))
    session.otsk = otsk
    core.retained_otsk = otsk
    signed2: dict[str, Any] = {
        "transactionId": session.transaction_id,
        "euiccOtpk": public_key_bytes(otsk),
    }
    if "hashCc" in request:
        signed2["hashCc"] = request["hashCc"]
    euicc_signed2 = asn1.encode("EUICCSigned2", signed2)
    smdp_signature2 = signature_to_tlv(request["smdpSignature2"])
    signature = signature_to_tlv(core.sign(euicc_signed2 + smdp_signature2))
    return tlv.build(0xBF21, tlv.build(0xA0, euicc_signed2 + signature))


def _one_time_key(core: EuiccCore, retry_otpk: bytes | None) -> ec.EllipticCurvePrivateKey:
    """The retained key pair when the SM-DP+ asks for it again (a retry), else a new one."""
    retained = core.retained_otsk
    if retry_otpk is not None and retained is not None and public_key_bytes(retained) == retry_otpk:
        return retained
    curve = curve_of(core.identity.private_key)
    return generate_private_key(curve, core.rng)


def cancel_session(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.CancelSession (section 5.7.14): signed by the eUICC, then the session ends."""
    session = core.session
    if session is None or session.transaction_id != request["transactionId"]:
        return asn1.encode(
            "CancelSessionResponse", ("cancelSessionResponseError", INVALID_TRANSACTION_ID)
        )
    signed = asn1.encode(
        "EuiccCancelSessionSigned",
        {
            "transactionId": session.transaction_id,
            "smdpOid": session.smdp_oid or "",
            "reason": request["reason"],
        },
    )
    core.session = None
    signature = signature_to_tlv(core.sign(signed))
    return tlv.build(0xBF41, tlv.build(0xA0, signed + signature))
