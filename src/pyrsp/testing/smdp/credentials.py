"""The keys and certificates a TestSmdp signs with, one set per CI it chains to (SGP.22 4.5.2).

An SM-DP+ holds, for each GSMA CI it is certified under, a CERT.DPauth.SIG (for serverSignature1)
and a CERT.DPpb.SIG (for smdpSignature2 and the ISCR signature), plus a TLS certificate for its
host name. :class:`Credentials` bundles them with the SM-DP+ address and OID.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from pyrsp.crypto.certificates import subject_key_id
from pyrsp.errors import UsageError

if TYPE_CHECKING:
    from pyrsp.testing.pki import TestPki

__all__ = ["Credentials", "SigningSet"]


@dataclass(frozen=True)
class SigningSet:
    """CERT.DPauth.SIG and CERT.DPpb.SIG with their keys, under the CI ``ci``."""

    ci: x509.Certificate
    auth_certificate: bytes
    auth_key: ec.EllipticCurvePrivateKey = field(repr=False)
    pb_certificate: bytes
    pb_key: ec.EllipticCurvePrivateKey = field(repr=False)

    @property
    def ci_key_id(self) -> bytes:
        """The CI's subject key identifier (what euiccCiPKIdToBeUsed carries)."""
        return subject_key_id(self.ci)


@dataclass(frozen=True)
class Credentials:
    """Everything a TestSmdp signs and serves with.

    ``address`` is the SM-DP+ address (in activation codes, serverSigned1 and the TLS
    certificate); ``oid`` the SM-DP+ OID (in the DPauth certificate, ConfigureISDP and
    notifications); ``tls_chain_pem``/``tls_key_pem`` serve HTTPS (``None``: no HTTPS).
    """

    address: str
    oid: str
    signing_sets: tuple[SigningSet, ...]
    tls_chain_pem: bytes | None = field(default=None, repr=False)
    tls_key_pem: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.signing_sets:
            raise UsageError("expected at least one DPauth/DPpb signing set, got none")

    @classmethod
    def from_pkis(cls, pkis: Iterable[TestPki]) -> Credentials:
        """The credentials of test PKIs (one signing set each; address, OID, TLS from the first)."""
        pkis = list(pkis)
        if not pkis:
            raise UsageError("expected at least one TestPki, got none")
        sets = tuple(
            SigningSet(
                ci=p.ci.certificate,
                auth_certificate=p.dp_auth.der,
                auth_key=p.dp_auth.private_key,
                pb_certificate=p.dp_pb.der,
                pb_key=p.dp_pb.private_key,
            )
            for p in pkis
        )
        first = pkis[0]
        return cls(
            address=first.smdp_host,
            oid=first.smdp_oid,
            signing_sets=sets,
            tls_chain_pem=first.dp_tls.pem,
            tls_key_pem=first.dp_tls.key_pem,
        )

    @property
    def ci_certificates(self) -> list[x509.Certificate]:
        """The CI certificates this SM-DP+ trusts (one per signing set)."""
        return [s.ci for s in self.signing_sets]

    def choose(
        self, verification_ids: Sequence[bytes], signing_ids: Iterable[bytes]
    ) -> SigningSet | None:
        """The first signing set whose CI the eUICC can verify with and sign under.

        SGP.22 section 5.6.1: the CI key id is taken from euiccCiPKIdListForVerification (the
        eUICC must check our DPauth chain) and must be in euiccCiPKIdListForSigning (we must
        check the eUICC chain), in the eUICC's order of preference.
        """
        signing = set(signing_ids)
        for key_id in verification_ids:
            for candidate in self.signing_sets:
                if candidate.ci_key_id == key_id and key_id in signing:
                    return candidate
        return None

    def ci_for(self, key_id: bytes) -> x509.Certificate | None:
        """The CI certificate with ``key_id``, if this SM-DP+ knows it."""
        return next((s.ci for s in self.signing_sets if s.ci_key_id == key_id), None)
