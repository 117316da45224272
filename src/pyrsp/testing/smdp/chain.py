"""The SM-DP+ checks on an eUICC's certificate chain (SGP.22 sections 4.5.2.1 and 5.6.3).

CERT.EUM.ECDSA must be under the CI the session agreed on (euiccCiPKIdToBeUsed), and
CERT.EUICC.ECDSA must pass :func:`pyrsp.crypto.certificates.verify_euicc_certificates`: role
profiles, signatures, curves and the EID within the EUM's range; the EUM and CI must be valid at
``now`` (eUICC certificates have no meaningful end, SGP.22 section 4.5.2.1). Each failure
becomes the standard's refusal, naming the EUM or the eUICC certificate.

A chain that passed is remembered by its exact bytes (:class:`ChainCache`), so a busy server
checks each eUICC's signatures once; validity is still checked against ``now`` every time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from pyrsp.crypto.certificates import (
    authority_key_id,
    load_certificate,
    name_of,
    subject_key_id,
    verify_euicc_certificates,
)
from pyrsp.errors import CertificateError
from pyrsp.testing.smdp import codes

__all__ = ["ChainCache", "check_euicc_chain", "load_checked"]

_CACHE_SIZE = 4096


@dataclass(frozen=True)
class _Verified:
    euicc: x509.Certificate
    eid: str
    eum: x509.Certificate


@dataclass
class ChainCache:
    """Chains that passed the signature and profile checks, by their exact bytes."""

    entries: dict[tuple[bytes, bytes, bytes], _Verified] = field(default_factory=dict)

    def get(self, key: tuple[bytes, bytes, bytes]) -> _Verified | None:
        """The remembered result for ``key``, if any."""
        return self.entries.get(key)

    def put(self, key: tuple[bytes, bytes, bytes], verified: _Verified) -> None:
        """Remember ``verified`` (forgetting everything when full: a test server's cache)."""
        if len(self.entries) >= _CACHE_SIZE:
            self.entries.clear()
        self.entries[key] = verified


def check_euicc_chain(
    euicc_der: bytes,
    eum_der: bytes,
    ci: x509.Certificate,
    now: datetime,
    cache: ChainCache | None = None,
) -> tuple[x509.Certificate, str]:
    """The eUICC certificate and its EID, once the chain up to ``ci`` passed every check."""
    key = (euicc_der, eum_der, subject_key_id(ci))
    verified = cache.get(key) if cache is not None else None
    if verified is None:
        verified = _verify(euicc_der, eum_der, ci)
        if cache is not None:
            cache.put(key, verified)
    for certificate in (verified.eum, ci):
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise codes.refuse(
                codes.EUM_CERT_EXPIRED,
                f"{name_of(certificate)} is valid from {certificate.not_valid_before_utc:%Y-%m-%d}"
                f" to {certificate.not_valid_after_utc:%Y-%m-%d}, checked at {now:%Y-%m-%d}",
            )
    return verified.euicc, verified.eid


def _verify(euicc_der: bytes, eum_der: bytes, ci: x509.Certificate) -> _Verified:
    eum = load_checked(eum_der, codes.EUM_CERT_INVALID, "eumCertificate")
    euicc = load_checked(euicc_der, codes.EUICC_CERT_INVALID, "euiccCertificate")
    expected, found = subject_key_id(ci), authority_key_id(eum)
    if found != expected:
        shown = found.hex() if found is not None else "no key id"
        raise codes.refuse(
            codes.CI_PKID_UNKNOWN,
            f"expected the EUM certificate under CI key {expected.hex()}, got one under {shown}",
        )
    try:
        eid = verify_euicc_certificates(euicc, eum, [ci])
    except CertificateError as exc:
        about_euicc = exc.certificate == name_of(euicc)
        code = codes.EUICC_CERT_INVALID if about_euicc else codes.EUM_CERT_INVALID
        raise codes.refuse(code, str(exc)) from exc
    return _Verified(euicc, eid, eum)


def load_checked(der: bytes, code: codes.Code, name: str) -> x509.Certificate:
    """Load and fully parse a certificate; one that does not parse is refused with ``code``."""
    try:
        return load_certificate(der)
    except CertificateError as exc:
        raise codes.refuse(code, f"{name} does not parse: {exc}") from exc
