"""ECDSA in the SGP.22 form, ECKA and the BSP key derivation (vectors from bsp.json)."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from pyrsp.crypto import (
    Curve,
    SessionKeys,
    derive_private_key,
    derive_session_keys,
    ecka,
    generate_private_key,
    hash_confirmation_code,
    public_key_bytes,
    public_key_from_bytes,
    sign,
    signature_from_der,
    signature_from_tlv,
    signature_to_der,
    signature_to_tlv,
    verify,
)
from pyrsp.errors import CryptoError, InvalidSignature, UsageError


@pytest.fixture(scope="module")
def bsp_vectors(vectors_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors_dir / "bsp.json").read_text())
    return data


def test_kdf_vectors(bsp_vectors: dict[str, Any]) -> None:
    assert len(bsp_vectors["kdf"]) == 2
    for vector in bsp_vectors["kdf"]:
        keys = derive_session_keys(
            bytes.fromhex(vector["shared_secret"]),
            host_id=bytes.fromhex(vector["host_id"]),
            eid=vector["eid"],
            key_type=int(vector["key_type"], 16),
            key_length=vector["key_length"],
        )
        assert keys.initial_mcv.hex() == vector["initial_mcv"]
        assert keys.s_enc.hex() == vector["s_enc"]
        assert keys.s_mac.hex() == vector["s_mac"]


def test_ecka_vector(bsp_vectors: dict[str, Any]) -> None:
    vector = bsp_vectors["ecka"]
    smdp = ec.derive_private_key(int(vector["smdp_otsk"], 16), ec.SECP256R1())
    assert public_key_bytes(smdp).hex() == vector["smdp_otpk"]
    euicc_pk = bytes.fromhex(vector["euicc_otpk"])
    assert ecka(smdp, euicc_pk).hex() == vector["shared_secret"]
    assert ecka(smdp, public_key_from_bytes("nist", euicc_pk)).hex() == vector["shared_secret"]


@pytest.mark.parametrize("curve", list(Curve))
def test_ecka_agrees_both_ways(curve: Curve) -> None:
    rng = random.Random(7)
    a, b = generate_private_key(curve, rng), generate_private_key(curve, rng)
    assert ecka(a, public_key_bytes(b)) == ecka(b, public_key_bytes(a))


def test_ecka_refuses_a_key_on_the_other_curve() -> None:
    nist, brp = derive_private_key("nist", b"a"), derive_private_key("brainpool", b"b")
    with pytest.raises(CryptoError, match="expected the peer's key on nist"):
        ecka(nist, brp.public_key())


def test_point_decoding_errors() -> None:
    with pytest.raises(CryptoError, match="uncompressed point"):
        public_key_from_bytes("nist", b"\x02" + bytes(32))
    with pytest.raises(CryptoError, match="off the curve"):
        public_key_from_bytes("nist", b"\x04" + bytes(63) + b"\x01")


@pytest.mark.parametrize(
    "make",
    [
        lambda: public_key_from_bytes("p256", bytes([4]) + bytes(64)),
        lambda: generate_private_key("secp256k1"),
    ],
)
def test_an_unknown_curve_name_is_a_usage_error(make: Any) -> None:
    with pytest.raises(UsageError, match="expected a curve name \\('nist', 'brainpool'\\), got"):
        make()


def test_seeded_keys_replay() -> None:
    first = generate_private_key("brainpool", random.Random(1))
    second = generate_private_key("brainpool", random.Random(1))
    assert public_key_bytes(first) == public_key_bytes(second)
    assert first.curve.name == "brainpoolP256r1"


def test_session_keys_hide_material_and_check_sizes() -> None:
    keys = SessionKeys(initial_mcv=bytes(16), s_enc=b"\x11" * 16, s_mac=b"\x22" * 16)
    assert "11" not in repr(keys)
    with pytest.raises(CryptoError, match="16-byte s_mac"):
        SessionKeys(initial_mcv=bytes(16), s_enc=bytes(16), s_mac=bytes(15))


def test_kdf_argument_errors() -> None:
    with pytest.raises(CryptoError, match="16-byte EID"):
        derive_session_keys(bytes(32), host_id=b"h", eid=bytes(10))
    with pytest.raises(CryptoError, match="32 hex digits"):
        derive_session_keys(bytes(32), host_id=b"h", eid="not hex")
    with pytest.raises(CryptoError, match="hostId"):
        derive_session_keys(bytes(32), host_id=b"", eid=bytes(16))


@pytest.mark.parametrize("curve", list(Curve))
def test_sign_and_verify(curve: Curve) -> None:
    key = derive_private_key(curve, b"signer")
    signature = sign(key, b"data")
    assert len(signature) == 64
    verify(key.public_key(), b"data", signature)
    with pytest.raises(InvalidSignature, match="does not verify"):
        verify(key.public_key(), b"datA", signature)
    other = derive_private_key(curve, b"someone else")
    with pytest.raises(InvalidSignature):
        verify(other.public_key(), b"data", signature)


def test_deterministic_signatures_replay() -> None:
    key = derive_private_key("nist", b"signer")
    assert sign(key, b"x", deterministic=True) == sign(key, b"x", deterministic=True)
    assert sign(key, b"x") != sign(key, b"x")


def test_sgp26_key_signature_verifies(vectors_dir: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    folder = vectors_dir / "sgp26" / "DPauth"
    key = load_pem_private_key((folder / "SK_S_SM_DPauth_ECDSA_BRP.pem").read_bytes(), None)
    cert = x509.load_der_x509_certificate((folder / "CERT_S_SM_DPauth_ECDSA_BRP.der").read_bytes())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    verify(cert, b"serverSigned1", sign(key, b"serverSigned1"))


@settings(max_examples=30, deadline=None)
@given(r=st.integers(1, 2**256 - 1), s=st.integers(1, 2**256 - 1))
def test_der_and_tlv_round_trips(r: int, s: int) -> None:
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    assert signature_from_der(signature_to_der(raw)) == raw
    wrapped = signature_to_tlv(raw)
    assert wrapped[:3] == bytes.fromhex("5f3740")
    assert signature_from_tlv(wrapped) == raw


def test_malformed_signatures_are_refused() -> None:
    with pytest.raises(InvalidSignature, match="64-byte"):
        verify(derive_private_key("nist", b"k").public_key(), b"d", bytes(63))
    with pytest.raises(InvalidSignature, match="5f3740"):
        signature_from_tlv(bytes.fromhex("5f3741") + bytes(64))
    with pytest.raises(InvalidSignature, match="DER"):
        signature_from_der(b"\x30\x00garbage")
    with pytest.raises(InvalidSignature, match="at most 32 bytes"):
        from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

        signature_from_der(encode_dss_signature(2**256, 1))


def test_hashed_confirmation_code() -> None:
    transaction_id = bytes.fromhex("0123456789abcdef0123456789abcdef")
    inner = hashlib.sha256(b"12345678").digest()
    expected = hashlib.sha256(inner + transaction_id).digest()
    assert hash_confirmation_code("12345678", transaction_id) == expected
    assert hash_confirmation_code(b"12345678", transaction_id) == expected
    assert hash_confirmation_code("12345679", transaction_id) != expected
