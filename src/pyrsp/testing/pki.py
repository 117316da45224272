"""A throwaway GSMA-style RSP PKI for tests (shaped like SGP.26 and SGP.22 section 4.5.2).

``TestPki.generate(seed=1)`` makes, deterministically from the seed, every credential a download
needs: a CI, an EUM allowed to issue the EID's prefix, the eUICC, and the SM-DP+'s authentication
(DPauth), profile binding (DPpb) and TLS certificates, optionally an SM-DS's too. The same seed,
curve and parameters give byte-identical keys and certificates (RFC 6979 signatures).

Attributes of a :class:`TestPki` (stable API)::

    pki.curve              Curve.NIST or Curve.BRAINPOOL
    pki.eid                the eUICC's EID, 32 digits (subject serialNumber of pki.euicc)
    pki.smdp_host          SM-DP+ host name (in the TLS certificate's subjectAltName)
    pki.smdp_oid           SM-DP+ OID (registeredID in DPauth, DPpb and TLS subjectAltName)
    pki.smds_host, pki.smds_oid
    pki.ci, pki.eum, pki.euicc, pki.dp_auth, pki.dp_pb, pki.dp_tls   Credential
    pki.ds_auth, pki.ds_tls                                          Credential | None
    pki.ci_certificates    (ci certificate,) for chain checks and TLS trust
    pki.ci_key_id          the CI's subject key identifier (20 bytes; euiccCiPKId)
    pki.euicc_chain        (euicc, eum) certificates as the eUICC sends them
    pki.save(dir); TestPki.load(dir)
    pki.client_ssl_context(); pki.server_ssl_context(); pki.write_tls_files(dir)

A :class:`Credential` has ``certificate`` (``cryptography`` X.509), ``private_key`` (EC) and
``der`` (the certificate's DER bytes).

On disk (``save``): ``pki.json`` (parameters), and per credential ``<name>.der`` (certificate),
``<name>.pem`` (certificate, PEM) and ``<name>.key.pem`` (PKCS#8 private key, unencrypted), with
names ``ci eum euicc dp_auth dp_pb dp_tls [ds_auth ds_tls]``. Command line::

    python -m pyrsp.testing.pki DIR [--seed N] [--curve nist|brainpool] [--eid EID]
        [--smdp-host HOST] [--smds]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyrsp.crypto.keys import Curve, derive_private_key
from pyrsp.crypto.roles import PERMITTED_EINS_OID, Role
from pyrsp.errors import UsageError

__all__ = ["DEFAULT_EID", "DEFAULT_NOW", "Credential", "TestPki", "main"]

DEFAULT_EID = "89049032123451234512345678901235"
DEFAULT_NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_NO_EXPIRY = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
_YEAR = dt.timedelta(days=365)
_NAMES = ("ci", "eum", "euicc", "dp_auth", "dp_pb", "dp_tls", "ds_auth", "ds_tls")


@dataclass(frozen=True, eq=False)
class Credential:
    """A certificate with its private key; equal when both are the same bytes."""

    certificate: x509.Certificate
    private_key: ec.EllipticCurvePrivateKey = field(repr=False)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Credential):
            return NotImplemented
        return self.der == other.der and self.key_pem == other.key_pem

    def __hash__(self) -> int:
        return hash(self.der)

    @property
    def der(self) -> bytes:
        """The certificate's DER bytes."""
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def pem(self) -> bytes:
        """The certificate in PEM."""
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    @property
    def key_pem(self) -> bytes:
        """The private key as unencrypted PKCS#8 PEM."""
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    @property
    def key_id(self) -> bytes:
        """The certificate's subject key identifier."""
        ext = self.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        return ext.value.digest


@dataclass(frozen=True)
class _Spec:
    """What varies between the certificates of one PKI."""

    seed: bytes
    curve: Curve
    tls_curve: Curve
    now: dt.datetime


@dataclass(frozen=True)
class TestPki:
    """A complete test RSP PKI; see the module docstring for the attributes."""

    __test__: ClassVar[bool] = False  # not a pytest test class

    curve: Curve
    eid: str
    smdp_host: str
    smdp_oid: str
    smds_host: str
    smds_oid: str
    ci: Credential
    eum: Credential
    euicc: Credential
    dp_auth: Credential
    dp_pb: Credential
    dp_tls: Credential
    ds_auth: Credential | None = None
    ds_tls: Credential | None = None

    @classmethod
    def generate(
        cls,
        *,
        seed: int | str | bytes = 0,
        curve: Curve | str = Curve.NIST,
        eid: str = DEFAULT_EID,
        eum_eins: Sequence[str] | None = None,
        permitted_eins_extension: bool = False,
        smdp_host: str = "testsmdpplus1.example.com",
        smdp_oid: str = "2.999.10",
        smds: bool = False,
        smds_host: str = "testrootsmds.example.com",
        smds_oid: str = "2.999.5",
        tls_curve: Curve | str = Curve.NIST,
        now: dt.datetime = DEFAULT_NOW,
    ) -> TestPki:
        """Generate the PKI, deterministically from ``seed`` and the other parameters.

        ``eum_eins`` are the EID prefixes the EUM may issue (default: the EID's first 8 digits),
        written as nameConstraints, or as the GSMA permittedEins extension when
        ``permitted_eins_extension``. Certificates are valid from ``now`` minus a day; the eUICC
        one never expires, the others after 30 (end entities) or 40 years (CI, EUM).

        TLS keys are on ``tls_curve``, NIST P-256 by default even in a brainpool PKI: Python's
        OpenSSL 3.0 has no TLS signature scheme for brainpool keys.
        """
        _check_eid(eid)
        eins = tuple(eum_eins) if eum_eins is not None else (eid[:8],)
        spec = _Spec(_seed_bytes(seed), Curve(curve), Curve(tls_curve), now)
        ci = _make_ci(spec)
        eum = _make_eum(spec, ci, eins, permitted_eins_extension)
        servers = {
            "dp_auth": _make_server(spec, ci, "dp_auth", Role.DP_AUTH, oid=smdp_oid),
            "dp_pb": _make_server(spec, ci, "dp_pb", Role.DP_PB, oid=smdp_oid),
            "dp_tls": _make_server(spec, ci, "dp_tls", Role.DP_TLS, oid=smdp_oid, host=smdp_host),
        }
        if smds:
            servers["ds_auth"] = _make_server(spec, ci, "ds_auth", Role.DS_AUTH, oid=smds_oid)
            servers["ds_tls"] = _make_server(
                spec, ci, "ds_tls", Role.DS_TLS, oid=smds_oid, host=smds_host
            )
        return cls(
            curve=spec.curve,
            eid=eid,
            smdp_host=smdp_host,
            smdp_oid=smdp_oid,
            smds_host=smds_host,
            smds_oid=smds_oid,
            ci=ci,
            eum=eum,
            euicc=_make_euicc(spec, eum, eid),
            **servers,
        )

    @property
    def ci_certificates(self) -> tuple[x509.Certificate, ...]:
        """The trusted CI certificates (one here)."""
        return (self.ci.certificate,)

    @property
    def ci_key_id(self) -> bytes:
        """The CI's subject key identifier: the euiccCiPKId of this PKI."""
        return self.ci.key_id

    @property
    def euicc_chain(self) -> tuple[x509.Certificate, x509.Certificate]:
        """The eUICC and EUM certificates, as the eUICC presents them."""
        return (self.euicc.certificate, self.eum.certificate)

    def credentials(self) -> dict[str, Credential]:
        """Every credential present, by file name stem (``ci``, ``dp_tls``...)."""
        found = {name: getattr(self, name) for name in _NAMES}
        return {name: cred for name, cred in found.items() if cred is not None}

    def save(self, directory: str | Path) -> Path:
        """Write every credential and ``pki.json`` into ``directory`` (created if needed)."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        for name, cred in self.credentials().items():
            (root / f"{name}.der").write_bytes(cred.der)
            (root / f"{name}.pem").write_bytes(cred.pem)
            key_file = root / f"{name}.key.pem"
            key_file.write_bytes(cred.key_pem)
            key_file.chmod(0o600)
        (root / "pki.json").write_text(json.dumps(self._parameters(), indent=2) + "\n")
        return root

    @classmethod
    def load(cls, directory: str | Path) -> TestPki:
        """Read a PKI written by :meth:`save`."""
        root = Path(directory)
        try:
            params: dict[str, Any] = json.loads((root / "pki.json").read_text())
            found = {name: _load_credential(root, name) for name in _NAMES}
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError(f"expected a test PKI saved in {root}, could not read it") from exc
        missing = [n for n in _NAMES[:6] if found[n] is None]
        if missing:
            raise UsageError(f"expected credentials {', '.join(missing)} in {root}, not found")
        return cls(
            curve=Curve(params["curve"]),
            eid=params["eid"],
            smdp_host=params["smdp_host"],
            smdp_oid=params["smdp_oid"],
            smds_host=params["smds_host"],
            smds_oid=params["smds_oid"],
            ci=_required(found["ci"]),
            eum=_required(found["eum"]),
            euicc=_required(found["euicc"]),
            dp_auth=_required(found["dp_auth"]),
            dp_pb=_required(found["dp_pb"]),
            dp_tls=_required(found["dp_tls"]),
            ds_auth=found["ds_auth"],
            ds_tls=found["ds_tls"],
        )

    def write_tls_files(self, directory: str | Path) -> tuple[Path, Path]:
        """Write the SM-DP+ TLS certificate and key as PEM (for uvicorn's ssl_certfile/keyfile)."""
        root = Path(directory)
        root.mkdir(parents=True, exist_ok=True)
        cert_file, key_file = root / "dp_tls.pem", root / "dp_tls.key.pem"
        cert_file.write_bytes(self.dp_tls.pem)
        key_file.write_bytes(self.dp_tls.key_pem)
        key_file.chmod(0o600)
        return cert_file, key_file

    def server_ssl_context(self) -> ssl.SSLContext:
        """A TLS server context presenting the SM-DP+ TLS certificate."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory() as tmp:
            cert_file, key_file = self.write_tls_files(tmp)
            context.load_cert_chain(cert_file, key_file)
        return context

    def client_ssl_context(self) -> ssl.SSLContext:
        """A TLS client context trusting only this PKI's CI, checking host names."""
        pem = "".join(
            c.public_bytes(serialization.Encoding.PEM).decode() for c in self.ci_certificates
        )
        return ssl.create_default_context(cadata=pem)

    def _parameters(self) -> dict[str, str]:
        return {
            "curve": self.curve.value,
            "eid": self.eid,
            "smdp_host": self.smdp_host,
            "smdp_oid": self.smdp_oid,
            "smds_host": self.smds_host,
            "smds_oid": self.smds_oid,
        }


def _seed_bytes(seed: int | str | bytes) -> bytes:
    if isinstance(seed, bytes):
        return seed
    return str(seed).encode("utf-8")


def _check_eid(eid: str) -> None:
    if len(eid) != 32 or not eid.isdigit():
        raise UsageError(f"expected an EID of 32 decimal digits, got {eid!r}")


def _key(spec: _Spec, name: str, curve: Curve | None = None) -> ec.EllipticCurvePrivateKey:
    label = b"pyrsp test pki|" + spec.curve.value.encode() + b"|" + name.encode() + b"|"
    return derive_private_key(curve or spec.curve, label + spec.seed)


def _serial(spec: _Spec, name: str) -> int:
    digest = hashlib.sha256(b"serial|" + name.encode() + b"|" + spec.seed).digest()
    return int.from_bytes(digest[:16], "big") >> 1 or 1


def _name(*attributes: tuple[x509.ObjectIdentifier, str]) -> x509.Name:
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in attributes])


def _policy(role: Role) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(role.oid, None)])


def _key_usage(*, sign_certs: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign_certs,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign_certs,
        crl_sign=sign_certs,
        encipher_only=False,
        decipher_only=False,
    )


def _builder(
    spec: _Spec, name: str, subject: x509.Name, key: ec.EllipticCurvePrivateKey, years: int
) -> x509.CertificateBuilder:
    not_before = spec.now - dt.timedelta(days=1)
    not_after = _NO_EXPIRY if years == 0 else spec.now + years * _YEAR
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .public_key(key.public_key())
        .serial_number(_serial(spec, name))
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
    )


def _issue(
    builder: x509.CertificateBuilder, issuer: Credential, key: ec.EllipticCurvePrivateKey
) -> Credential:
    builder = builder.issuer_name(issuer.certificate.subject).add_extension(
        x509.AuthorityKeyIdentifier(issuer.key_id, None, None), False
    )
    cert = builder.sign(issuer.private_key, hashes.SHA256(), ecdsa_deterministic=True)
    return Credential(cert, key)


def _make_ci(spec: _Spec) -> Credential:
    key = _key(spec, "ci")
    subject = _name(
        (NameOID.COMMON_NAME, "pyrsp Test CI"),
        (NameOID.ORGANIZATIONAL_UNIT_NAME, "TESTCERT"),
        (NameOID.ORGANIZATION_NAME, "RSPTEST"),
        (NameOID.COUNTRY_NAME, "IT"),
    )
    builder = (
        _builder(spec, "ci", subject, key, 40)
        .issuer_name(subject)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(_policy(Role.CI), True)
        .add_extension(_key_usage(sign_certs=True), True)
        .add_extension(
            x509.SubjectAlternativeName([x509.RegisteredID(x509.ObjectIdentifier("2.999.1"))]),
            False,
        )
    )
    cert = builder.sign(key, hashes.SHA256(), ecdsa_deterministic=True)
    return Credential(cert, key)


def _make_eum(spec: _Spec, ci: Credential, eins: tuple[str, ...], extension: bool) -> Credential:
    key = _key(spec, "eum")
    subject = _name((NameOID.ORGANIZATION_NAME, "pyrsp Test EUM"), (NameOID.COUNTRY_NAME, "IT"))
    builder = (
        _builder(spec, "eum", subject, key, 40)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), True)
        .add_extension(_policy(Role.EUM), True)
        .add_extension(_key_usage(sign_certs=True), True)
    )
    if extension:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(PERMITTED_EINS_OID, _permitted_eins_der(eins)), False
        )
    else:
        subtrees = [
            x509.DirectoryName(
                _name((NameOID.ORGANIZATION_NAME, "pyrsp Test EUM"), (NameOID.SERIAL_NUMBER, ein))
            )
            for ein in eins
        ]
        builder = builder.add_extension(x509.NameConstraints(subtrees, None), True)
    return _issue(builder, ci, key)


def _make_euicc(spec: _Spec, eum: Credential, eid: str) -> Credential:
    key = _key(spec, "euicc")
    subject = _name(
        (NameOID.ORGANIZATION_NAME, "pyrsp Test EUM"),
        (NameOID.SERIAL_NUMBER, eid),
        (NameOID.COMMON_NAME, "pyrsp Test eUICC"),
    )
    builder = (
        _builder(spec, "euicc", subject, key, 0)
        .add_extension(_policy(Role.EUICC), True)
        .add_extension(_key_usage(sign_certs=False), True)
    )
    return _issue(builder, eum, key)


def _make_server(
    spec: _Spec, ci: Credential, name: str, role: Role, *, oid: str, host: str | None = None
) -> Credential:
    key = _key(spec, name, spec.tls_curve if role.is_tls else None)
    org = "pyrsp Test SM-DS" if name.startswith("ds") else "pyrsp Test SM-DP+"
    subject = _name((NameOID.ORGANIZATION_NAME, org), (NameOID.COMMON_NAME, host or org))
    names: list[x509.GeneralName] = [x509.DNSName(host)] if host else []
    names.append(x509.RegisteredID(x509.ObjectIdentifier(oid)))
    builder = (
        _builder(spec, name, subject, key, 30)
        .add_extension(_key_usage(sign_certs=False), True)
        .add_extension(_policy(role), not role.is_tls)
        .add_extension(x509.SubjectAlternativeName(names), False)
    )
    if role.is_tls:
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), True)
    return _issue(builder, ci, key)


def _permitted_eins_der(eins: tuple[str, ...]) -> bytes:
    """DER of ``SEQUENCE OF PrintableString`` (short lengths: prefixes are a few digits)."""
    items = b"".join(b"\x13" + bytes([len(e)]) + e.encode("ascii") for e in eins)
    if len(items) >= 0x80:
        raise UsageError(
            f"expected a few short EID prefixes, got {len(eins)} totalling {len(items)} bytes"
        )
    return b"\x30" + bytes([len(items)]) + items


def _required(credential: Credential | None) -> Credential:
    assert credential is not None  # checked by the caller
    return credential


def _load_credential(root: Path, name: str) -> Credential | None:
    cert_file = root / f"{name}.der"
    if not cert_file.exists():
        return None
    cert = x509.load_der_x509_certificate(cert_file.read_bytes())
    key = serialization.load_pem_private_key((root / f"{name}.key.pem").read_bytes(), None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{name}.key.pem is not an EC private key")
    return Credential(cert, key)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m pyrsp.testing.pki DIR``: generate a test PKI and save it in DIR."""
    parser = argparse.ArgumentParser(prog="python -m pyrsp.testing.pki", description=main.__doc__)
    parser.add_argument("directory", type=Path)
    parser.add_argument("--seed", default="0")
    parser.add_argument("--curve", choices=[c.value for c in Curve], default=Curve.NIST.value)
    parser.add_argument("--eid", default=DEFAULT_EID)
    parser.add_argument("--smdp-host", default="testsmdpplus1.example.com")
    parser.add_argument("--smds", action="store_true", help="also make SM-DS certificates")
    args = parser.parse_args(argv)
    pki = TestPki.generate(
        seed=args.seed, curve=args.curve, eid=args.eid, smdp_host=args.smdp_host, smds=args.smds
    )
    pki.save(args.directory)
    print(f"test PKI ({pki.curve.value}, EID {pki.eid}) written to {args.directory}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
