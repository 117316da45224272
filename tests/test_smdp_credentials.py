"""TestSmdp with certificates from files: the SGP.26 test SM-DP+ (DPauth, DPpb, TLS)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pyrsp import asn1
from pyrsp.crypto import signature_from_tlv, verify
from pyrsp.crypto.certificates import load_certificate
from pyrsp.errors import UsageError
from pyrsp.testing.smdp import TestSmdp
from pyrsp.testing.smdp.credentials import Credentials, SigningSet
from test_smdp_support import Card, Lpa, b64, shared_pki, status_of, unb64

NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # SGP.26 DPauth/DPpb are valid to 2030


def sgp26(root: Path, curve: str) -> SigningSet:
    return SigningSet.load(
        ci=root / "CertificateIssuer" / f"CERT_CI_ECDSA_{curve}.der",
        auth_certificate=root / "DPauth" / f"CERT_S_SM_DPauth_ECDSA_{curve}.der",
        auth_key=root / "DPauth" / f"SK_S_SM_DPauth_ECDSA_{curve}.pem",
        pb_certificate=root / "DPpb" / f"CERT_S_SM_DPpb_ECDSA_{curve}.der",
        pb_key=root / "DPpb" / f"SK_S_SM_DPpb_ECDSA_{curve}.pem",
    )


def test_sgp26_credentials_sign_for_an_sgp26_euicc(vectors_dir: Path) -> None:
    root = vectors_dir / "sgp26"
    sets = [sgp26(root, "NIST"), sgp26(root, "BRP")]
    credentials = Credentials.load(
        "testsmdpplus1.example.com",
        sets,
        tls_certificate=root / "DPtls" / "CERT_S_SM_DP_TLS_NIST.der",
        tls_key=root / "DPtls" / "SK_S_SM_DP_TLS_NIST.pem",
    )
    assert credentials.oid == "2.999.10"  # from CERT.DPauth's registeredID
    assert sets[1].ci_key_id.hex().upper() == "C0BC70BA36929D43B467FF57570530E57AB8FCD8"
    assert credentials.tls_chain_pem is not None
    assert credentials.tls_chain_pem.startswith(b"-----BEGIN CERTIFICATE-----")
    smdp = TestSmdp(credentials=credentials, rng=1, now=NOW)
    lpa = Lpa(smdp, Card(shared_pki()))
    info1 = asn1.encode(
        "EUICCInfo1",
        {
            "svn": b"\x02\x02\x00",
            "euiccCiPKIdListForVerification": [sets[1].ci_key_id],
            "euiccCiPKIdListForSigning": [sets[1].ci_key_id],
        },
    )
    answer = lpa.initiate(euiccInfo1=b64(info1))
    assert status_of(answer) == "Executed-Success"
    auth = load_certificate(unb64(answer["serverCertificate"]))
    assert auth == load_certificate(
        (root / "DPauth" / "CERT_S_SM_DPauth_ECDSA_BRP.der").read_bytes()
    )
    verify(
        auth, unb64(answer["serverSigned1"]), signature_from_tlv(unb64(answer["serverSignature1"]))
    )


@pytest.mark.parametrize(
    ("broken", "message"),
    [("ci", "readable file"), ("pb_key", "PEM private key"), ("auth_key", "EC private key")],
)
def test_bad_files_are_usage_errors(tmp_path: Path, broken: str, message: str) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519

    shared_pki().save(tmp_path)
    files = {
        "ci": tmp_path / "ci.der",
        "auth_certificate": tmp_path / "dp_auth.der",
        "auth_key": tmp_path / "dp_auth.key.pem",
        "pb_certificate": tmp_path / "dp_pb.der",
        "pb_key": tmp_path / "dp_pb.key.pem",
    }
    assert SigningSet.load(**files).ci_key_id == shared_pki().ci_key_id
    if broken == "ci":
        files["ci"] = tmp_path / "missing.der"
    elif broken == "pb_key":
        files["pb_key"].write_text("not a key")
    else:
        other = ed25519.Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        files["auth_key"].write_bytes(other)
    with pytest.raises(UsageError, match=message):
        SigningSet.load(**files)
