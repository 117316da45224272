"""Certificate roles and chains: SGP.26 test certificates, the test PKI, and every rule broken."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyrsp.crypto import (
    Role,
    derive_private_key,
    eid_of,
    find_certificate,
    load_certificate,
    permitted_eid_prefixes,
    role_of,
    subject_key_id,
    verify_chain,
    verify_euicc_certificates,
)
from pyrsp.crypto.certificates import _permitted_eins
from pyrsp.errors import CertificateError
from pyrsp.testing.pki import Credential, TestPki

UTC = dt.UTC
BEFORE_TLS_EXPIRY = dt.datetime(2026, 1, 1, tzinfo=UTC)
AFTER_TLS_EXPIRY = dt.datetime(2026, 11, 27, tzinfo=UTC)
SGP26_CI_KEY_IDS = {
    "NIST": "f54172bdf98a95d65cbeb88a38a1c11d800a85c3",
    "BRP": "c0bc70ba36929d43b467ff57570530e57ab8fcd8",
}


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=11)


def _sgp26(vectors_dir: Path, folder: str, name: str) -> x509.Certificate:
    return load_certificate((vectors_dir / "sgp26" / folder / name).read_bytes())


@pytest.fixture(scope="module")
def sgp26_cis(vectors_dir: Path) -> list[x509.Certificate]:
    return [
        _sgp26(vectors_dir, "CertificateIssuer", f"CERT_CI_ECDSA_{curve}.der")
        for curve in ("NIST", "BRP")
    ]


# --- SGP.26 --------------------------------------------------------------------------------

_SGP26_LEAVES = [
    ("DPauth", "CERT_S_SM_DPauth_ECDSA_{}.der", Role.DP_AUTH),
    ("DPpb", "CERT_S_SM_DPpb_ECDSA_{}.der", Role.DP_PB),
    ("DPtls", "CERT_S_SM_DP_TLS_{}.der", Role.DP_TLS),
]


@pytest.mark.parametrize("curve", ["NIST", "BRP"])
def test_sgp26_ci_certificates(
    curve: str, vectors_dir: Path, sgp26_cis: list[x509.Certificate]
) -> None:
    ci = _sgp26(vectors_dir, "CertificateIssuer", f"CERT_CI_ECDSA_{curve}.der")
    assert role_of(ci) is Role.CI
    assert subject_key_id(ci).hex() == SGP26_CI_KEY_IDS[curve]
    assert verify_chain(ci, sgp26_cis, role=Role.CI, now=AFTER_TLS_EXPIRY) == (ci,)


@pytest.mark.parametrize("curve", ["NIST", "BRP"])
@pytest.mark.parametrize("leaf", _SGP26_LEAVES)
def test_sgp26_server_certificates_chain_to_their_ci(
    curve: str, leaf: tuple[str, str, Role], vectors_dir: Path, sgp26_cis: list[x509.Certificate]
) -> None:
    folder, pattern, role = leaf
    cert = _sgp26(vectors_dir, folder, pattern.format(curve))
    assert role_of(cert) is role
    chain = verify_chain(cert, sgp26_cis, role=role, now=BEFORE_TLS_EXPIRY)
    assert [c.subject for c in chain] == [cert.subject, chain[-1].subject]
    assert subject_key_id(chain[-1]).hex() == SGP26_CI_KEY_IDS[curve]


@pytest.mark.parametrize("curve", ["NIST", "BRP"])
def test_sgp26_tls_certificates_are_expired(
    curve: str, vectors_dir: Path, sgp26_cis: list[x509.Certificate]
) -> None:
    cert = _sgp26(vectors_dir, "DPtls", f"CERT_S_SM_DP_TLS_{curve}.der")
    with pytest.raises(CertificateError, match="expired 2026-08-02") as caught:
        verify_chain(cert, sgp26_cis, role=Role.DP_TLS, now=AFTER_TLS_EXPIRY)
    assert caught.value.rule == "validity"
    assert caught.value.certificate == "CN=testsmdpplus1.example.com,O=ACME"
    auth = _sgp26(vectors_dir, "DPauth", f"CERT_S_SM_DPauth_ECDSA_{curve}.der")
    verify_chain(auth, sgp26_cis, role=Role.DP_AUTH, now=AFTER_TLS_EXPIRY)


def test_sgp26_wrong_ci_curve(vectors_dir: Path, sgp26_cis: list[x509.Certificate]) -> None:
    cert = _sgp26(vectors_dir, "DPauth", "CERT_S_SM_DPauth_ECDSA_BRP.der")
    with pytest.raises(CertificateError) as caught:
        verify_chain(cert, sgp26_cis[:1], role=Role.DP_AUTH)
    assert caught.value.rule == "chain"


# --- the test PKI --------------------------------------------------------------------------


@pytest.mark.parametrize("curve", ["nist", "brainpool"])
@pytest.mark.parametrize("extension", [False, True])
def test_test_pki_passes_every_check(curve: str, extension: bool) -> None:
    pki = TestPki.generate(seed=12, curve=curve, smds=True, permitted_eins_extension=extension)
    now = dt.datetime.now(UTC)
    assert (
        verify_euicc_certificates(pki.euicc.der, pki.eum.der, pki.ci_certificates, now=now)
        == pki.eid
    )
    assert permitted_eid_prefixes(pki.eum.certificate) == (pki.eid[:8],)
    for name, role in [
        ("dp_auth", Role.DP_AUTH),
        ("dp_pb", Role.DP_PB),
        ("dp_tls", Role.DP_TLS),
        ("ds_auth", Role.DS_AUTH),
        ("ds_tls", Role.DS_TLS),
    ]:
        cred = getattr(pki, name)
        assert (
            verify_chain(cred.pem, pki.ci_certificates, role=role, now=now)[-1]
            == pki.ci.certificate
        )


def test_find_ci_by_key_id(pki: TestPki) -> None:
    other = TestPki.generate(seed=13)
    cis = [*other.ci_certificates, *pki.ci_certificates]
    assert find_certificate(cis, pki.ci_key_id) == pki.ci.certificate
    assert find_certificate(cis, bytes(20)) is None


def test_eid_of(pki: TestPki) -> None:
    assert eid_of(pki.euicc.certificate) == pki.eid


# --- broken rules --------------------------------------------------------------------------


def _rule(exc: pytest.ExceptionInfo[CertificateError]) -> str:
    return exc.value.rule


def test_wrong_ci(pki: TestPki) -> None:
    stranger = TestPki.generate(seed=14)
    with pytest.raises(CertificateError, match="issuing CI with key id") as caught:
        verify_chain(pki.dp_auth.der, stranger.ci_certificates, role=Role.DP_AUTH)
    assert _rule(caught) == "chain"
    with pytest.raises(CertificateError) as caught:
        verify_euicc_certificates(pki.euicc.der, stranger.eum.der, pki.ci_certificates)
    assert _rule(caught) == "chain"
    with pytest.raises(CertificateError) as caught:
        verify_chain(stranger.ci.der, pki.ci_certificates, role=Role.CI)
    assert _rule(caught) == "chain"


@pytest.mark.parametrize(
    ("name", "claimed"),
    [
        ("dp_auth", Role.DP_PB),
        ("dp_pb", Role.DP_AUTH),
        ("euicc", Role.DP_AUTH),
        ("dp_tls", Role.DP_AUTH),
    ],
)
def test_wrong_role(pki: TestPki, name: str, claimed: Role) -> None:
    with pytest.raises(CertificateError, match=f"expected a {claimed.name} certificate") as caught:
        verify_chain(getattr(pki, name).der, pki.ci_certificates, role=claimed)
    assert _rule(caught) == "role"


def test_eum_cannot_pose_as_ci(pki: TestPki) -> None:
    with pytest.raises(CertificateError) as caught:
        verify_chain(pki.eum.der, [pki.eum.certificate], role=Role.CI)
    assert _rule(caught) == "role"


@pytest.mark.parametrize("extension", [False, True])
def test_eid_outside_the_eum_range(extension: bool) -> None:
    pki = TestPki.generate(
        seed=15, eum_eins=["89049033", "8904904"], permitted_eins_extension=extension
    )
    with pytest.raises(CertificateError, match="starting 89049033 or 8904904") as caught:
        verify_euicc_certificates(pki.euicc.der, pki.eum.der, pki.ci_certificates)
    assert _rule(caught) == "eid-range"
    assert caught.value.certificate.startswith("CN=pyrsp Test eUICC")


@pytest.mark.parametrize("der", ["30031301FF", "3003130141FF", "3002"])
def test_permitted_eins_that_are_not_printable_strings(pki: TestPki, der: str) -> None:
    with pytest.raises(CertificateError) as caught:
        _permitted_eins(pki.eum.certificate, bytes.fromhex(der))
    assert _rule(caught) == "eid-range"


def test_eum_without_any_range() -> None:
    pki = TestPki.generate(seed=16, eum_eins=[], permitted_eins_extension=True)
    with pytest.raises(CertificateError, match="permitted EID prefixes") as caught:
        verify_euicc_certificates(pki.euicc.der, pki.eum.der, pki.ci_certificates)
    assert _rule(caught) == "eid-range"


def test_bad_signature(pki: TestPki) -> None:
    der = bytearray(pki.dp_pb.der)
    der[-1] ^= 0x01  # the last byte of s
    with pytest.raises(CertificateError, match="bad one") as caught:
        verify_chain(bytes(der), pki.ci_certificates, role=Role.DP_PB)
    assert _rule(caught) == "signature"


def test_not_yet_valid_and_expired() -> None:
    pki = TestPki.generate(seed=17, now=dt.datetime(2000, 1, 1, tzinfo=UTC))
    with pytest.raises(CertificateError, match="expired") as caught:
        verify_chain(
            pki.dp_tls.der, pki.ci_certificates, role=Role.DP_TLS, now=dt.datetime(2031, 1, 1)
        )
    assert _rule(caught) == "validity"
    with pytest.raises(CertificateError, match="not before 1999-12-31") as caught:
        verify_chain(
            pki.dp_tls.der, pki.ci_certificates, role=Role.DP_TLS, now=dt.datetime(1999, 1, 1)
        )
    assert _rule(caught) == "validity"
    # eUICC certificates never expire; the EUM (40 years) still must be valid
    euicc_now = dt.datetime(2039, 1, 1, tzinfo=UTC)
    verify_euicc_certificates(pki.euicc.der, pki.eum.der, pki.ci_certificates, now=euicc_now)


def test_garbage_is_an_encoding_error() -> None:
    with pytest.raises(CertificateError) as caught:
        load_certificate(b"\x30\x03\x02\x01\x00")
    assert _rule(caught) == "encoding"


# Hand-made certificates that break one rule each, issued by the test CI.


def _issue(
    ci: Credential,
    *,
    role: Role = Role.DP_AUTH,
    key: ec.EllipticCurvePrivateKey | None = None,
    cert_sign: bool = False,
    ca: bool | None = None,
    server_auth: bool = False,
    serial: str | None = None,
) -> bytes:
    key = key or derive_private_key("nist", b"hand-made")
    subject = [x509.NameAttribute(NameOID.COMMON_NAME, "hand-made")]
    if serial is not None:
        subject.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(ci.certificate.subject)
        .public_key(key.public_key())
        .serial_number(7)
        .not_valid_before(dt.datetime(2024, 1, 1, tzinfo=UTC))
        .not_valid_after(dt.datetime(2050, 1, 1, tzinfo=UTC))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier(ci.key_id, None, None), False)
        .add_extension(x509.CertificatePolicies([x509.PolicyInformation(role.oid, None)]), True)
        .add_extension(
            x509.KeyUsage(
                not cert_sign, False, False, False, False, cert_sign, False, False, False
            ),
            True,
        )
    )
    if ca is not None:
        builder = builder.add_extension(x509.BasicConstraints(ca=ca, path_length=None), True)
    if server_auth:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), True
        )
    return builder.sign(ci.private_key, hashes.SHA256()).public_bytes(Encoding.DER)


def test_a_well_made_hand_made_certificate_passes(pki: TestPki) -> None:
    verify_chain(_issue(pki.ci), pki.ci_certificates, role=Role.DP_AUTH)
    tls = _issue(pki.ci, role=Role.DP_TLS, server_auth=True)
    verify_chain(tls, pki.ci_certificates, role=Role.DP_TLS)
    brainpool_tls = _issue(
        pki.ci, role=Role.DP_TLS, server_auth=True, key=derive_private_key("brainpool", b"t")
    )
    verify_chain(brainpool_tls, pki.ci_certificates, role=Role.DP_TLS)


@pytest.mark.parametrize(
    ("kwargs", "rule"),
    [
        ({"key": ec.derive_private_key(5, ec.SECP384R1())}, "curve"),
        ({"key": derive_private_key("brainpool", b"mixed")}, "curve"),
        ({"cert_sign": True}, "key-usage"),
        ({"ca": True}, "basic-constraints"),
        ({"role": Role.DP_TLS}, "extended-key-usage"),
        ({"role": Role.EUICC, "serial": "8904"}, "eid"),
    ],
)
def test_each_profile_rule(pki: TestPki, kwargs: dict[str, object], rule: str) -> None:
    role = kwargs.get("role", Role.DP_AUTH)
    assert isinstance(role, Role)
    der = _issue(pki.ci, **kwargs)  # type: ignore[arg-type]
    eum = [pki.eum.certificate]
    with pytest.raises(CertificateError) as caught:
        verify_chain(der, pki.ci_certificates, role=role, intermediates=eum)
    assert _rule(caught) == rule, caught.value
    assert caught.value.certificate.endswith("CN=hand-made")


def test_a_certificate_that_only_fails_when_parsed_in_full_is_refused_on_load() -> None:
    from pyrsp.testing.pki import TestPki

    der = bytearray(TestPki.generate(seed=1).dp_auth.der)
    ski = bytes.fromhex("0603551d0e04160414")  # extnID subjectKeyIdentifier, OCTET STRING
    at = der.index(ski) + len(ski) - 2
    der[at] = 0x05  # the key identifier's OCTET STRING tag becomes NULL: lazily parsed
    with pytest.raises(CertificateError) as caught:
        load_certificate(bytes(der))
    assert caught.value.rule == "encoding"
