"""The SM-DP+ checks on an eUICC's certificate chain (SGP.22 sections 4.5.2.1 and 5.6.3).

CERT.EUICC.ECDSA must be signed by CERT.EUM.ECDSA, itself signed by the CI the session agreed on
(euiccCiPKIdToBeUsed); both must be valid now; and the EID (the eUICC certificate's subject
serialNumber) must fall in the range the EUM may issue (its name constraints: the permitted
subtree's serialNumber is an EID prefix). Each failure is the standard's refusal.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pyrsp import tlv
from pyrsp.crypto import PERMITTED_EINS_OID, Role, keys
from pyrsp.errors import CertificateError, TlvError
from pyrsp.testing.smdp import codes
from pyrsp.testing.smdp.credentials import authority_key_id, load_certificate, subject_key_id

__all__ = ["check_euicc_chain", "eid_of"]


def eid_of(certificate: x509.Certificate) -> str:
    """The EID in an eUICC certificate (its subject serialNumber, 32 digits)."""
    attributes = certificate.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    if not attributes:
        raise CertificateError(
            "expected the EID as the subject serialNumber, found none",
            certificate=certificate.subject.rfc4514_string(),
            rule="eid",
        )
    return str(attributes[0].value)


def check_euicc_chain(
    euicc_der: bytes, eum_der: bytes, ci: x509.Certificate, now: datetime
) -> x509.Certificate:
    """The eUICC certificate, once its chain up to ``ci`` has passed every check."""
    eum = _load(eum_der, codes.EUM_CERT_INVALID, "eumCertificate")
    euicc = _load(euicc_der, codes.EUICC_CERT_INVALID, "euiccCertificate")
    if authority_key_id(eum) != subject_key_id(ci):
        raise codes.refuse(
            codes.CI_PKID_UNKNOWN,
            f"expected the EUM certificate under CI key {subject_key_id(ci).hex()}, "
            f"got one under {(authority_key_id(eum) or b'').hex() or 'no key id'}",
        )
    _check_role(eum, Role.EUM, codes.EUM_CERT_INVALID)
    _check_role(euicc, Role.EUICC, codes.EUICC_CERT_INVALID)
    _check_link(eum, ci, now, codes.EUM_CERT_INVALID, codes.EUM_CERT_EXPIRED)
    _check_link(euicc, eum, now, codes.EUICC_CERT_INVALID, codes.EUICC_CERT_EXPIRED)
    _check_eid_range(euicc, eum)
    return euicc


def _load(der: bytes, code: codes.Code, name: str) -> x509.Certificate:
    try:
        return load_certificate(der)
    except CertificateError as exc:
        raise codes.refuse(code, f"{name} does not parse: {exc}") from exc


def _check_role(certificate: x509.Certificate, role: Role, invalid: codes.Code) -> None:
    """The certificate policy must name ``role`` (SGP.22 section 4.5.2.1)."""
    try:
        policies = certificate.extensions.get_extension_for_class(x509.CertificatePolicies)
        found = [p.policy_identifier.dotted_string for p in policies.value]
    except x509.ExtensionNotFound:
        found = []
    if role.value not in found:
        raise codes.refuse(
            invalid,
            f"{certificate.subject.rfc4514_string()} has policies {found or 'none'}, "
            f"expected {role.name} ({role.value})",
        )


def _check_link(
    child: x509.Certificate,
    issuer: x509.Certificate,
    now: datetime,
    invalid: codes.Code,
    expired: codes.Code,
) -> None:
    name = child.subject.rfc4514_string()
    if child.issuer != issuer.subject:
        raise codes.refuse(
            invalid,
            f"{name} is issued by {child.issuer.rfc4514_string()}, "
            f"expected {issuer.subject.rfc4514_string()}",
        )
    _check_signature(child, issuer, invalid)
    if not child.not_valid_before_utc <= now <= child.not_valid_after_utc:
        raise codes.refuse(
            expired,
            f"{name} is valid from {child.not_valid_before_utc:%Y-%m-%d} to "
            f"{child.not_valid_after_utc:%Y-%m-%d}, checked at {now:%Y-%m-%d}",
        )


def _check_signature(
    child: x509.Certificate, issuer: x509.Certificate, invalid: codes.Code
) -> None:
    public = issuer.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise codes.refuse(invalid, "expected an EC issuer key")
    try:
        child.verify_directly_issued_by(issuer)
    except (ValueError, TypeError) as exc:
        raise codes.refuse(invalid, f"{child.subject.rfc4514_string()}: {exc}") from exc
    except InvalidSignature as exc:
        raise codes.refuse(
            invalid, f"the signature on {child.subject.rfc4514_string()} does not verify"
        ) from exc
    keys.curve_of(public)


def _check_eid_range(euicc: x509.Certificate, eum: x509.Certificate) -> None:
    try:
        eid = eid_of(euicc)
    except CertificateError as exc:
        raise codes.refuse(codes.EUICC_CERT_INVALID, str(exc)) from exc
    prefixes = _permitted_eid_prefixes(eum)
    if prefixes and not any(eid.startswith(prefix) for prefix in prefixes):
        raise codes.refuse(
            codes.EUICC_CERT_INVALID,
            f"EID {eid} is outside the EUM's permitted range {', '.join(prefixes)}",
        )


def _permitted_eid_prefixes(eum: x509.Certificate) -> list[str]:
    """EID prefixes from nameConstraints (SGP.22 v2) or the permittedEins extension (v3)."""
    prefixes: list[str] = []
    for extension in eum.extensions:
        if isinstance(extension.value, x509.NameConstraints):
            for subtree in extension.value.permitted_subtrees or []:
                if isinstance(subtree, x509.DirectoryName):
                    attributes = subtree.value.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
                    prefixes.extend(str(a.value) for a in attributes)
        elif extension.oid == PERMITTED_EINS_OID:
            assert isinstance(extension.value, x509.UnrecognizedExtension)
            prefixes.extend(_permitted_eins(extension.value.value))
    return prefixes


def _permitted_eins(der: bytes) -> list[str]:
    """The EIN prefixes in ``SEQUENCE OF PrintableString``; none if it does not parse."""
    try:
        return [item.value.decode("ascii") for item in tlv.parse(der).children()]
    except (TlvError, UnicodeDecodeError):
        return ["<unreadable permittedEins>"]
