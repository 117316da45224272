"""RSP certificate checks: role profiles and chains up to a trusted CI (SGP.22 section 4.5.2).

The RSP PKI is shallow: the CI signs the EUM, SM-DP+ and SM-DS certificates, and the EUM
signs eUICC certificates. Chains are found by authority key identifier (AKI) matching the
issuer's subject key identifier (SKI), ending at one of the given CI certificates.

Each certificate is checked against its role's profile: the certificate policy naming the role,
a key on NIST P-256 or brainpoolP256r1 (the CI's curve, except for TLS certificates, whose key
only serves the TLS handshake), ECDSA-SHA256 signatures, a critical keyUsage (keyCertSign for
the CI and EUM, digitalSignature for the others), CA basic constraints only on the CI and EUM,
key identifiers, serverAuth on TLS certificates, and, for an eUICC, an EID (subject
serialNumber) that its EUM permits.

Validity periods are checked only when ``now`` is given (a naive ``now`` is taken as UTC): the
eUICC has no clock and checks none; an LPA or SM-DP+ passes the time. eUICC certificates are
never checked for expiry: they are issued for the eUICC's lifetime (test PKIs use a notAfter of
9999-12-31).

Every failure raises :class:`~pyrsp.errors.CertificateError` with ``certificate`` (the subject)
and ``rule``: ``encoding``, ``role``, ``curve``, ``signature-algorithm``, ``key-usage``,
``basic-constraints``, ``key-identifier``, ``extended-key-usage``, ``eid``, ``eid-range``,
``chain``, ``signature`` or ``validity``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterable, Sequence
from typing import TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, SignatureAlgorithmOID

from pyrsp import tlv
from pyrsp.crypto.keys import Curve, curve_of
from pyrsp.crypto.roles import PERMITTED_EINS_OID, Role
from pyrsp.errors import CertificateError, CryptoError, TlvError

__all__ = [
    "authority_key_id",
    "check_profile",
    "eid_of",
    "find_certificate",
    "load_certificate",
    "name_of",
    "permitted_eid_prefixes",
    "role_of",
    "subject_key_id",
    "verify_chain",
    "verify_euicc_certificates",
]

_EID_DIGITS = 32
_E = TypeVar("_E", bound=x509.ExtensionType)


#: What ``cryptography`` raises on a malformed certificate: ``ValueError`` for most encodings;
#: ``UnsupportedAlgorithm`` for an unknown key or curve; ``TypeError`` for a name attribute
#: of a type its OID does not allow (a BIT STRING commonName); a version other than v1-v3, an
#: extension present twice and an x400Address or ediPartyName general name each have their own
#: exception class, not a ``ValueError``. (Its other two such classes, ``ExtensionNotFound``
#: and ``AttributeNotFound``, come from lookups: :func:`_extension` handles the first, the
#: second is for CSRs only.) What it only warns about (``UserWarning``: a serial number that is
#: not positive, a countryName that is not two letters) is refused too.
_PARSE_ERRORS = (
    ValueError,
    TypeError,
    UnsupportedAlgorithm,
    UserWarning,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)


def load_certificate(data: bytes | x509.Certificate) -> x509.Certificate:
    """A certificate from DER or PEM bytes (or one already loaded), parsed in full.

    ``cryptography`` parses names, extensions and the key lazily, so a malformed certificate
    would otherwise fail later, deep inside a check; some flaws it only warns about. Both are
    refused here with :class:`CertificateError` (rule ``encoding``), for a
    certificate given already loaded too.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", UserWarning)  # its deprecation warnings are ones
            if isinstance(data, x509.Certificate):
                cert = data
            elif data.lstrip().startswith(b"-----BEGIN"):
                cert = x509.load_pem_x509_certificate(data)
            else:
                cert = x509.load_der_x509_certificate(data)
            _ = (cert.version, cert.serial_number, cert.subject, cert.issuer)
            _ = (cert.not_valid_before_utc, cert.not_valid_after_utc, list(cert.extensions))
            _ = (cert.public_key(), cert.signature_algorithm_oid, cert.signature)
    except _PARSE_ERRORS as exc:
        if isinstance(data, x509.Certificate):
            got = "a loaded one that does"
        else:
            got = f"{len(data)} bytes that do"
        raise CertificateError(
            f"expected an X.509 certificate in DER or PEM, got {got} not parse: "
            f"{type(exc).__name__}: {exc}",
            rule="encoding",
        ) from exc
    return cert


def name_of(cert: x509.Certificate) -> str:
    """The subject as an RFC 4514 string (how errors name a certificate)."""
    return cert.subject.rfc4514_string({NameOID.SERIAL_NUMBER: "serialNumber"})


def _fail(cert: x509.Certificate, rule: str, message: str) -> CertificateError:
    subject = name_of(cert)
    return CertificateError(f"{subject}: {message}", certificate=subject, rule=rule)


def _extension(cert: x509.Certificate, kind: type[_E]) -> x509.Extension[_E] | None:
    try:
        return cert.extensions.get_extension_for_class(kind)
    except x509.ExtensionNotFound:
        return None


def subject_key_id(cert: x509.Certificate) -> bytes:
    """The subject key identifier (20 bytes in RSP certificates)."""
    ext = _extension(cert, x509.SubjectKeyIdentifier)
    if ext is None:
        raise _fail(cert, "key-identifier", "expected a subjectKeyIdentifier, found none")
    return ext.value.digest


def authority_key_id(cert: x509.Certificate) -> bytes | None:
    """The authority key identifier's keyIdentifier, or ``None`` if absent."""
    ext = _extension(cert, x509.AuthorityKeyIdentifier)
    if ext is None:
        return None
    return ext.value.key_identifier


def find_certificate(
    certificates: Iterable[x509.Certificate], key_id: bytes
) -> x509.Certificate | None:
    """The first certificate whose SKI is ``key_id`` (a CI by its euiccCiPKId), or ``None``."""
    for cert in certificates:
        ext = _extension(cert, x509.SubjectKeyIdentifier)
        if ext is not None and ext.value.digest == key_id:
            return cert
    return None


def role_of(cert: x509.Certificate) -> Role:
    """The RSP role named by the certificate policy; ``CertificateError`` (``role``) if none."""
    ext = _extension(cert, x509.CertificatePolicies)
    found = []
    if ext is not None:
        known = {role.value: role for role in Role}
        found = [
            known[p.policy_identifier.dotted_string]
            for p in ext.value
            if p.policy_identifier.dotted_string in known
        ]
    if len(found) != 1:
        raise _fail(
            cert, "role", f"expected one RSP role policy (2.23.146.1.2.1.x), got {len(found)}"
        )
    return found[0]


def eid_of(cert: x509.Certificate) -> str:
    """The EID of an eUICC certificate: its subject serialNumber, 32 digits."""
    values = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    eid = str(values[0].value) if len(values) == 1 else ""
    if len(eid) != _EID_DIGITS or not eid.isdigit():
        raise _fail(cert, "eid", f"expected a subject serialNumber of 32 digits, got {eid!r}")
    return eid


def permitted_eid_prefixes(eum: x509.Certificate) -> tuple[str, ...]:
    """The EID prefixes an EUM may certify: nameConstraints directoryName serialNumbers, or
    the GSMA permittedEins extension (``SEQUENCE OF PrintableString``)."""
    prefixes: list[str] = []
    ext = _extension(eum, x509.NameConstraints)
    if ext is not None:
        for subtree in ext.value.permitted_subtrees or ():
            if isinstance(subtree, x509.DirectoryName):
                attrs = subtree.value.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
                prefixes.extend(str(a.value) for a in attrs)
    try:
        raw = eum.extensions.get_extension_for_oid(PERMITTED_EINS_OID).value
    except x509.ExtensionNotFound:
        return tuple(prefixes)
    if isinstance(raw, x509.UnrecognizedExtension):
        prefixes.extend(_permitted_eins(eum, raw.value))
    return tuple(prefixes)


def _permitted_eins(eum: x509.Certificate, der: bytes) -> list[str]:
    try:
        sequence = tlv.parse(der)
        items = sequence.children() if sequence.tag == 0x30 else None
    except TlvError as exc:
        raise _fail(
            eum, "eid-range", "expected permittedEins DER, got bytes that do not parse"
        ) from exc
    if items is None or any(item.tag != 0x13 or not item.value.isascii() for item in items):
        raise _fail(eum, "eid-range", "expected permittedEins as SEQUENCE OF PrintableString")
    return [item.value.decode("ascii") for item in items]


def check_profile(cert: x509.Certificate, role: Role) -> None:
    """Check ``cert`` against the SGP.22 certificate profile of ``role``."""
    actual = role_of(cert)
    if actual is not role:
        raise _fail(cert, "role", f"expected a {role.name} certificate, got a {actual.name} one")
    _check_key(cert)
    if cert.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        raise _fail(
            cert,
            "signature-algorithm",
            f"expected ecdsa-with-SHA256, got {cert.signature_algorithm_oid.dotted_string}",
        )
    _check_key_usage(cert, role)
    _check_basic_constraints(cert, role)
    subject_key_id(cert)
    if role is not Role.CI and authority_key_id(cert) is None:
        raise _fail(cert, "key-identifier", "expected an authorityKeyIdentifier, found none")
    if role.is_tls:
        _check_server_auth(cert)
    if role is Role.EUICC:
        eid_of(cert)


def _check_key(cert: x509.Certificate) -> Curve:
    public = cert.public_key()
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise _fail(cert, "curve", f"expected an EC public key, got {type(public).__name__}")
    try:
        return curve_of(public)
    except CryptoError as exc:
        raise _fail(cert, "curve", str(exc)) from exc


def _check_key_usage(cert: x509.Certificate, role: Role) -> None:
    ext = _extension(cert, x509.KeyUsage)
    if ext is None or not ext.critical:
        raise _fail(cert, "key-usage", "expected a critical keyUsage extension, found none")
    usage = ext.value
    if role.is_ca and not usage.key_cert_sign:
        raise _fail(cert, "key-usage", "expected keyCertSign in keyUsage, found it missing")
    if not role.is_ca and (not usage.digital_signature or usage.key_cert_sign):
        raise _fail(cert, "key-usage", "expected digitalSignature (and no keyCertSign) in keyUsage")


def _check_basic_constraints(cert: x509.Certificate, role: Role) -> None:
    ext = _extension(cert, x509.BasicConstraints)
    is_ca = ext is not None and ext.value.ca
    if role.is_ca and not (is_ca and ext is not None and ext.critical):
        raise _fail(cert, "basic-constraints", "expected critical basicConstraints with cA TRUE")
    if not role.is_ca and is_ca:
        raise _fail(cert, "basic-constraints", "expected an end-entity certificate, got cA TRUE")


def _check_server_auth(cert: x509.Certificate) -> None:
    ext = _extension(cert, x509.ExtendedKeyUsage)
    usages = list(ext.value) if ext is not None else []
    if ExtendedKeyUsageOID.SERVER_AUTH not in usages:
        raise _fail(
            cert, "extended-key-usage", "expected serverAuth in extendedKeyUsage, found none"
        )


def verify_chain(
    cert: x509.Certificate | bytes,
    ci_certificates: Iterable[x509.Certificate | bytes],
    *,
    role: Role,
    intermediates: Iterable[x509.Certificate | bytes] = (),
    now: dt.datetime | None = None,
) -> tuple[x509.Certificate, ...]:
    """Check ``cert`` as a ``role`` certificate chaining to one of ``ci_certificates``.

    An eUICC certificate needs its EUM among ``intermediates``; every other role is issued by
    the CI directly; a CI certificate must be one of ``ci_certificates``. Returns the chain,
    leaf first and CI last.
    """
    leaf = load_certificate(cert)
    cis = [load_certificate(c) for c in ci_certificates]
    check_profile(leaf, role)
    if role is Role.CI:
        if leaf not in cis:
            raise _fail(leaf, "chain", f"expected one of the {len(cis)} trusted CIs, got another")
        chain = [leaf]
    else:
        pool = [load_certificate(c) for c in intermediates]
        chain = _chain_to_ci(leaf, role, cis, pool)
    _check_issued(chain[-1], chain[-1])
    _check_same_curve(chain)
    if now is not None:
        for member in chain:
            _check_validity(member, now)
    return tuple(chain)


def _chain_to_ci(
    leaf: x509.Certificate,
    role: Role,
    cis: Sequence[x509.Certificate],
    pool: Sequence[x509.Certificate],
) -> list[x509.Certificate]:
    chain = [leaf]
    if role is Role.EUICC:
        eum = _issuer(leaf, pool, "EUM")
        check_profile(eum, Role.EUM)
        _check_issued(leaf, eum)
        _check_eid_permitted(leaf, eum)
        chain.append(eum)
    ci = _issuer(chain[-1], cis, "CI")
    check_profile(ci, Role.CI)
    _check_issued(chain[-1], ci)
    chain.append(ci)
    return chain


def verify_euicc_certificates(
    euicc: x509.Certificate | bytes,
    eum: x509.Certificate | bytes,
    ci_certificates: Iterable[x509.Certificate | bytes],
    *,
    now: dt.datetime | None = None,
) -> str:
    """Check an eUICC's certificate and its EUM's up to a CI (SGP.22 section 5.6.3, SM-DP+
    side of AuthenticateClient); return the EID."""
    chain = verify_chain(euicc, ci_certificates, role=Role.EUICC, intermediates=[eum], now=now)
    return eid_of(chain[0])


def _issuer(
    cert: x509.Certificate, candidates: Sequence[x509.Certificate], what: str
) -> x509.Certificate:
    key_id = authority_key_id(cert)
    issuer = find_certificate(candidates, key_id) if key_id is not None else None
    if issuer is None:
        shown = key_id.hex() if key_id is not None else "(none)"
        raise _fail(
            cert,
            "chain",
            f"expected an issuing {what} with key id {shown} among the {len(candidates)} "
            "given, found none",
        )
    return issuer


def _check_issued(cert: x509.Certificate, issuer: x509.Certificate) -> None:
    try:
        cert.verify_directly_issued_by(issuer)
    except _CryptographyInvalidSignature as exc:
        raise _fail(
            cert, "signature", f"expected a valid signature by {name_of(issuer)}, got a bad one"
        ) from exc
    except (ValueError, TypeError) as exc:
        raise _fail(cert, "chain", f"expected to be issued by {name_of(issuer)}: {exc}") from exc


def _check_eid_permitted(euicc: x509.Certificate, eum: x509.Certificate) -> None:
    eid = eid_of(euicc)
    prefixes = permitted_eid_prefixes(eum)
    if not prefixes:
        raise _fail(
            eum,
            "eid-range",
            "expected permitted EID prefixes (nameConstraints or permittedEins), found none",
        )
    if not any(eid.startswith(prefix) for prefix in prefixes):
        raise _fail(
            euicc, "eid-range", f"expected an EID starting {' or '.join(prefixes)}, got {eid}"
        )


def _check_same_curve(chain: Sequence[x509.Certificate]) -> None:
    expected = _check_key(chain[-1])
    for member in chain[:-1]:
        curve = _check_key(member)
        if curve is not expected and not role_of(member).is_tls:
            raise _fail(
                member,
                "curve",
                f"expected a key on {expected.value} like the CI's, got {curve.value}",
            )


def _check_validity(cert: x509.Certificate, now: dt.datetime) -> None:
    if role_of(cert) is Role.EUICC:
        return
    when = now if now.tzinfo is not None else now.replace(tzinfo=dt.UTC)
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if when < start:
        raise _fail(
            cert,
            "validity",
            f"expected a certificate valid at {when:%Y-%m-%d %H:%M}Z, not before {start:%Y-%m-%d}",
        )
    if when > end:
        raise _fail(
            cert,
            "validity",
            f"expected a certificate valid at {when:%Y-%m-%d %H:%M}Z, it expired {end:%Y-%m-%d}",
        )
