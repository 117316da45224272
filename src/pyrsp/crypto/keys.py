"""EC keys and ECDSA signatures in the SGP.22 form (SGP.22 section 2.6.5 and 2.6.6).

SGP.22 uses ECDSA with SHA-256 on NIST P-256 or brainpoolP256r1. A signature travels as the
64-byte concatenation r||s (each 32 bytes, big-endian), inside ASN.1 messages wrapped as
``5F37 40 || r || s``; X.509 and TLS use the DER ``SEQUENCE { r INTEGER, s INTEGER }`` form.
Public keys travel as uncompressed points ``04 || X || Y`` (65 bytes).

Randomness is a parameter: ``rng`` is any object with ``randbytes(n) -> bytes`` (a
``random.Random`` seeded for a replayable run); without it the system's CSPRNG is used.
``sign(..., deterministic=True)`` uses RFC 6979 nonces so a seeded run replays byte for byte.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature as _CryptographyInvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from pyrsp.errors import CryptoError, InvalidSignature, UsageError

__all__ = [
    "Curve",
    "RandomSource",
    "curve_of",
    "derive_private_key",
    "generate_private_key",
    "public_key_bytes",
    "public_key_from_bytes",
    "sign",
    "signature_from_der",
    "signature_from_tlv",
    "signature_to_der",
    "signature_to_tlv",
    "verify",
]

SIGNATURE_TAG = b"\x5f\x37"
_COORDINATE_SIZE = 32
_SIGNATURE_SIZE = 2 * _COORDINATE_SIZE


class Curve(StrEnum):
    """The two curves SGP.22 allows (section 2.6.5): ``Curve("nist")``, ``Curve("brainpool")``."""

    NIST = "nist"
    BRAINPOOL = "brainpool"

    @property
    def ec_curve(self) -> ec.EllipticCurve:
        """The ``cryptography`` curve object."""
        return ec.SECP256R1() if self is Curve.NIST else ec.BrainpoolP256R1()

    @property
    def order(self) -> int:
        """The order n of the base point."""
        return _ORDERS[self]


_ORDERS = {
    Curve.NIST: 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    Curve.BRAINPOOL: 0xA9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7,
}

_CURVE_NAMES = {"secp256r1": Curve.NIST, "brainpoolP256r1": Curve.BRAINPOOL}


def _curve(name: Curve | str) -> Curve:
    """``name`` as a :class:`Curve`; a name the caller got wrong is a :class:`UsageError`."""
    try:
        return Curve(name)
    except ValueError as exc:
        expected = ", ".join(repr(c.value) for c in Curve)
        raise UsageError(f"expected a curve name ({expected}), got {name!r}") from exc


class RandomSource(Protocol):
    """Anything with ``randbytes`` (``random.Random`` qualifies)."""

    def randbytes(self, n: int, /) -> bytes:
        """``n`` random bytes."""
        ...


def curve_of(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> Curve:
    """The SGP.22 curve of ``key``; :class:`CryptoError` for any other curve."""
    curve = _CURVE_NAMES.get(key.curve.name)
    if curve is None:
        raise CryptoError(
            f"expected a key on NIST P-256 or brainpoolP256r1, got one on {key.curve.name}"
        )
    return curve


def derive_private_key(curve: Curve | str, secret: bytes) -> ec.EllipticCurvePrivateKey:
    """A private key derived from ``secret`` (scalar = SHA-512(secret) mod (n-1) + 1).

    For test keys that must be the same on every run; never for production keys.
    """
    curve = _curve(curve)
    digest = int.from_bytes(hashlib.sha512(secret).digest(), "big")
    return ec.derive_private_key(digest % (curve.order - 1) + 1, curve.ec_curve)


def generate_private_key(
    curve: Curve | str, rng: RandomSource | None = None
) -> ec.EllipticCurvePrivateKey:
    """A fresh private key on ``curve``, drawn from ``rng`` when given (replayable runs)."""
    curve = _curve(curve)
    if rng is None:
        return ec.generate_private_key(curve.ec_curve)
    return derive_private_key(curve, rng.randbytes(48))


def public_key_bytes(key: ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) -> bytes:
    """The uncompressed point ``04 || X || Y`` (65 bytes) of ``key``."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def public_key_from_bytes(curve: Curve | str, data: bytes) -> ec.EllipticCurvePublicKey:
    """The public key for an uncompressed point ``04 || X || Y`` on ``curve``."""
    curve = _curve(curve)
    if len(data) != 1 + _SIGNATURE_SIZE or data[0] != 0x04:
        raise CryptoError(
            f"expected an uncompressed point (04 + 64 bytes), got {len(data)} bytes "
            f"starting {data[:1].hex() or 'with nothing'}"
        )
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(curve.ec_curve, data)
    except ValueError as exc:
        raise CryptoError(
            f"expected a point on {curve.ec_curve.name}, got one off the curve"
        ) from exc


def sign(
    private_key: ec.EllipticCurvePrivateKey, data: bytes, *, deterministic: bool = False
) -> bytes:
    """ECDSA-SHA256 over ``data``: the 64-byte r||s (SGP.22 section 2.6.6).

    ``deterministic=True`` uses RFC 6979 nonces, so the same key and data give the same bytes.
    """
    curve_of(private_key)
    algorithm = ec.ECDSA(hashes.SHA256(), deterministic_signing=deterministic)
    return signature_from_der(private_key.sign(data, algorithm))


def verify(
    key: ec.EllipticCurvePublicKey | x509.Certificate, data: bytes, signature: bytes
) -> None:
    """Check a 64-byte r||s ECDSA-SHA256 ``signature`` over ``data``.

    ``key`` is a public key or a certificate. Raises :class:`~pyrsp.errors.InvalidSignature`.
    """
    public = _public_key(key)
    der = signature_to_der(signature)
    try:
        public.verify(der, data, ec.ECDSA(hashes.SHA256()))
    except _CryptographyInvalidSignature as exc:
        raise InvalidSignature(
            f"expected a valid ECDSA-SHA256 signature by the {curve_of(public).value} key, "
            f"got one that does not verify over {len(data)} bytes"
        ) from exc


def signature_to_der(signature: bytes) -> bytes:
    """Convert r||s (64 bytes) to DER ``SEQUENCE { r, s }``."""
    if len(signature) != _SIGNATURE_SIZE:
        raise InvalidSignature(
            f"expected a {_SIGNATURE_SIZE}-byte r||s signature, got {len(signature)} bytes"
        )
    r = int.from_bytes(signature[:_COORDINATE_SIZE], "big")
    s = int.from_bytes(signature[_COORDINATE_SIZE:], "big")
    return encode_dss_signature(r, s)


def signature_from_der(der: bytes) -> bytes:
    """Convert a DER ``SEQUENCE { r, s }`` signature to r||s (64 bytes)."""
    try:
        r, s = decode_dss_signature(der)
    except ValueError as exc:
        raise InvalidSignature(f"expected a DER ECDSA signature, got {der[:8].hex()}...") from exc
    limit = 1 << (8 * _COORDINATE_SIZE)
    if not (0 < r < limit and 0 < s < limit):
        raise InvalidSignature("expected r and s of at most 32 bytes each, got larger integers")
    return r.to_bytes(_COORDINATE_SIZE, "big") + s.to_bytes(_COORDINATE_SIZE, "big")


def signature_to_tlv(signature: bytes) -> bytes:
    """Wrap r||s as the SGP.22 TLV ``5F37 40 || r || s``."""
    if len(signature) != _SIGNATURE_SIZE:
        raise InvalidSignature(
            f"expected a {_SIGNATURE_SIZE}-byte r||s signature, got {len(signature)} bytes"
        )
    return SIGNATURE_TAG + bytes([_SIGNATURE_SIZE]) + signature


def signature_from_tlv(tlv: bytes) -> bytes:
    """Unwrap ``5F37 40 || r || s`` to r||s; :class:`InvalidSignature` if malformed."""
    prefix = SIGNATURE_TAG + bytes([_SIGNATURE_SIZE])
    if len(tlv) != len(prefix) + _SIGNATURE_SIZE or not tlv.startswith(prefix):
        raise InvalidSignature(
            f"expected 5f3740 followed by 64 bytes, got {len(tlv)} bytes starting {tlv[:3].hex()}"
        )
    return tlv[len(prefix) :]


def _public_key(key: ec.EllipticCurvePublicKey | x509.Certificate) -> ec.EllipticCurvePublicKey:
    public = key.public_key() if isinstance(key, x509.Certificate) else key
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise CryptoError(f"expected an EC public key, got {type(public).__name__}")
    curve_of(public)
    return public
