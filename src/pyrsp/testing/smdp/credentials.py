"""The keys and certificates a TestSmdp signs with, one set per CI it chains to (SGP.22 4.5.2).

An SM-DP+ holds, for each GSMA CI it is certified under, a CERT.DPauth.SIG (for serverSignature1)
and a CERT.DPpb.SIG (for smdpSignature2 and the ISCR signature), plus a TLS certificate for its
host name. :class:`Credentials` bundles them with the SM-DP+ address and OID.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pyrsp.crypto.certificates import load_certificate, subject_key_id
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

    @classmethod
    def load(
        cls,
        *,
        ci: FilePath,
        auth_certificate: FilePath,
        auth_key: FilePath,
        pb_certificate: FilePath,
        pb_key: FilePath,
    ) -> SigningSet:
        """A signing set from files: certificates in DER or PEM, keys in PEM (PKCS#8 or SEC1).

        For example the SGP.26 test SM-DP+ certificates, so test eUICCs under the SGP.26 CI
        can download from a TestSmdp.
        """
        return cls(
            ci=load_certificate(_read(ci)),
            auth_certificate=_der(_read(auth_certificate)),
            auth_key=_private_key(auth_key),
            pb_certificate=_der(_read(pb_certificate)),
            pb_key=_private_key(pb_key),
        )


FilePath = str | PathLike[str]


def _read(path: FilePath) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"expected a readable file, got {path}: {exc}") from exc


def _der(data: bytes) -> bytes:
    return load_certificate(data).public_bytes(serialization.Encoding.DER)


def _private_key(path: FilePath) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(_read(path), password=None)
    except (ValueError, TypeError) as exc:
        raise UsageError(f"expected an unencrypted PEM private key in {path}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise UsageError(f"expected an EC private key in {path}, got {type(key).__name__}")
    return key


def _smdp_oid(auth_certificate: bytes) -> str:
    """The SM-DP+ OID: the registeredID in CERT.DPauth's subjectAltName (SGP.22 4.5.2.1)."""
    certificate = load_certificate(auth_certificate)
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        names = None
    oids = names.value.get_values_for_type(x509.RegisteredID) if names else []
    if not oids:
        raise UsageError("expected the SM-DP+ OID as a registeredID in CERT.DPauth, found none")
    return oids[0].dotted_string


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

    @classmethod
    def load(
        cls,
        address: str,
        signing_sets: Sequence[SigningSet],
        *,
        oid: str | None = None,
        tls_certificate: FilePath | None = None,
        tls_key: FilePath | None = None,
    ) -> Credentials:
        """Credentials from signing sets and TLS files; ``oid`` defaults to CERT.DPauth's."""
        chain = key = None
        if tls_certificate is not None and tls_key is not None:
            chain = load_certificate(_read(tls_certificate)).public_bytes(
                serialization.Encoding.PEM
            )
            key = _private_key(tls_key).private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        return cls(
            address=address,
            oid=oid or _smdp_oid(signing_sets[0].auth_certificate),
            signing_sets=tuple(signing_sets),
            tls_chain_pem=chain,
            tls_key_pem=key,
        )

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
