"""The eUICC's credentials: EID, its certificate and key, the EUM certificate, trusted CIs.

SGP.22 section 4.5.2: the eUICC signs with SK.EUICC.ECDSA and sends CERT.EUICC.ECDSA and
CERT.EUM.ECDSA; it verifies SM-DP+ certificates against the CI public keys in its
``euiccCiPKIdListForVerification``. An identity comes from a :class:`~pyrsp.testing.pki.TestPki`
or from any certificate and key files, so a card can carry another CI's certificates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pyrsp.errors import UsageError

if TYPE_CHECKING:
    from pyrsp.testing.pki import TestPki

__all__ = ["EuiccIdentity", "key_identifier"]

_FILES = ("euicc.der", "eum.der", "euicc.key.pem")


def key_identifier(certificate: x509.Certificate) -> bytes:
    """The subject key identifier of ``certificate`` (the SHA-1 of its key if absent)."""
    try:
        extension = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return x509.SubjectKeyIdentifier.from_public_key(certificate.public_key()).digest
    return extension.value.digest


@dataclass(frozen=True)
class EuiccIdentity:
    """EID, eUICC certificate and private key, EUM certificate and trusted CI certificates.

    ``signing_ci_ids`` lists the CI key ids the eUICC certificate chains to
    (``euiccCiPKIdListForSigning``); by default the key id of every trusted CI that signed the
    EUM certificate.
    """

    eid: str
    euicc_certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)
    eum_certificate: x509.Certificate
    ci_certificates: tuple[x509.Certificate, ...]
    signing_ci_ids: tuple[bytes, ...] = ()

    def __post_init__(self) -> None:
        if len(self.eid) != 32 or not self.eid.isdigit():
            raise UsageError(f"expected an EID of 32 digits, got {self.eid!r}")
        if not self.signing_ci_ids:
            issuer = self.eum_certificate.issuer
            ids = tuple(key_identifier(c) for c in self.ci_certificates if c.subject == issuer)
            object.__setattr__(self, "signing_ci_ids", ids)

    @property
    def eid_bytes(self) -> bytes:
        """The EID as 16 bytes."""
        return bytes.fromhex(self.eid)

    @property
    def verification_ci_ids(self) -> tuple[bytes, ...]:
        """``euiccCiPKIdListForVerification``: the key ids of the trusted CIs."""
        return tuple(key_identifier(c) for c in self.ci_certificates)

    @property
    def euicc_der(self) -> bytes:
        """CERT.EUICC.ECDSA in DER."""
        return self.euicc_certificate.public_bytes(serialization.Encoding.DER)

    @property
    def eum_der(self) -> bytes:
        """CERT.EUM.ECDSA in DER."""
        return self.eum_certificate.public_bytes(serialization.Encoding.DER)

    def ci_for(self, key_id: bytes) -> x509.Certificate | None:
        """The trusted CI certificate with subject key identifier ``key_id``, if any."""
        return next((c for c in self.ci_certificates if key_identifier(c) == key_id), None)

    @classmethod
    def from_pki(cls, pki: TestPki) -> EuiccIdentity:
        """The eUICC credentials of a :class:`~pyrsp.testing.pki.TestPki`."""
        return cls(
            eid=pki.eid,
            euicc_certificate=pki.euicc.certificate,
            private_key=pki.euicc.private_key,
            eum_certificate=pki.eum.certificate,
            ci_certificates=tuple(pki.ci_certificates),
        )

    @classmethod
    def from_files(
        cls,
        *,
        euicc_certificate: str | Path,
        private_key: str | Path,
        eum_certificate: str | Path,
        ci_certificates: Sequence[str | Path],
        eid: str | None = None,
    ) -> EuiccIdentity:
        """Credentials from certificate files (DER or PEM) and a PEM private key.

        ``eid`` defaults to the eUICC certificate's subject serialNumber (SGP.22 4.5.2.1.0.2).
        """
        certificate = _load_certificate(Path(euicc_certificate))
        key = serialization.load_pem_private_key(Path(private_key).read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise UsageError(f"expected an EC private key in {private_key}, got another kind")
        return cls(
            eid=eid or _eid_of(certificate),
            euicc_certificate=certificate,
            private_key=key,
            eum_certificate=_load_certificate(Path(eum_certificate)),
            ci_certificates=tuple(_load_certificate(Path(p)) for p in ci_certificates),
        )

    def save(self, directory: Path) -> None:
        """Write the credentials as ``euicc.der``, ``eum.der``, ``euicc.key.pem``, ``ci/*.der``."""
        (directory / "ci").mkdir(parents=True, exist_ok=True)
        (directory / "euicc.der").write_bytes(self.euicc_der)
        (directory / "eum.der").write_bytes(self.eum_der)
        key_pem = self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        key_path = directory / "euicc.key.pem"
        key_path.write_bytes(key_pem)
        key_path.chmod(0o600)
        for index, ci in enumerate(self.ci_certificates):
            der = ci.public_bytes(serialization.Encoding.DER)
            (directory / "ci" / f"{index:02d}.der").write_bytes(der)

    @classmethod
    def load(cls, directory: Path, eid: str) -> EuiccIdentity:
        """Read credentials written by :meth:`save`."""
        missing = [name for name in _FILES if not (directory / name).is_file()]
        if missing:
            raise UsageError(f"expected {', '.join(missing)} in {directory}, found none")
        return cls.from_files(
            euicc_certificate=directory / "euicc.der",
            private_key=directory / "euicc.key.pem",
            eum_certificate=directory / "eum.der",
            ci_certificates=sorted((directory / "ci").glob("*.der")),
            eid=eid,
        )


def _load_certificate(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    try:
        if data.startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(data)
        return x509.load_der_x509_certificate(data)
    except ValueError as exc:
        raise UsageError(f"expected an X.509 certificate in {path}, got unreadable data") from exc


def _eid_of(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    if not names:
        raise UsageError("expected the EID as the eUICC certificate's serialNumber, found none")
    return str(names[0].value)
