"""The SM-DP+ checks on an eUICC's certificate chain (SGP.22 sections 4.5.2.1 and 5.6.3).

CERT.EUM.ECDSA must be under the CI the session agreed on (euiccCiPKIdToBeUsed), and
CERT.EUICC.ECDSA must pass :func:`pyrsp.crypto.certificates.verify_euicc_certificates`: role
profiles, signatures, curves, the EID within the EUM's range, and validity at ``now``. Each
failure becomes the standard's refusal, naming the EUM or the eUICC certificate.
"""

from __future__ import annotations

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

__all__ = ["check_euicc_chain"]


def check_euicc_chain(
    euicc_der: bytes, eum_der: bytes, ci: x509.Certificate, now: datetime
) -> tuple[x509.Certificate, str]:
    """The eUICC certificate and its EID, once the chain up to ``ci`` passed every check."""
    eum = _load(eum_der, codes.EUM_CERT_INVALID, "eumCertificate")
    euicc = _load(euicc_der, codes.EUICC_CERT_INVALID, "euiccCertificate")
    expected, found = subject_key_id(ci), authority_key_id(eum)
    if found != expected:
        shown = found.hex() if found is not None else "no key id"
        raise codes.refuse(
            codes.CI_PKID_UNKNOWN,
            f"expected the EUM certificate under CI key {expected.hex()}, got one under {shown}",
        )
    try:
        eid = verify_euicc_certificates(euicc, eum, [ci], now=now)
    except CertificateError as exc:
        about_euicc = exc.certificate == name_of(euicc)
        if exc.rule == "validity":
            code = codes.EUICC_CERT_EXPIRED if about_euicc else codes.EUM_CERT_EXPIRED
        else:
            code = codes.EUICC_CERT_INVALID if about_euicc else codes.EUM_CERT_INVALID
        raise codes.refuse(code, str(exc)) from exc
    return euicc, eid


def _load(der: bytes, code: codes.Code, name: str) -> x509.Certificate:
    try:
        return load_certificate(der)
    except CertificateError as exc:
        raise codes.refuse(code, f"{name} does not parse: {exc}") from exc
