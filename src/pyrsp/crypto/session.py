"""Key agreement and session key derivation for the BSP (SGP.22 section 2.6.4 and 3.1.3).

The eUICC and the SM-DP+ each make a one-time key pair (otPK/otSK) and agree on a shared secret
with ECKA (ECDH, the X coordinate of the product point, BSI TR-03111). The X9.63 KDF with
SHA-256 turns it into 48 bytes: initial MAC chaining value || S-ENC || S-MAC. The shared info is
``keyType || keyLength || len(hostId) || hostId || len(EID) || EID`` (keyType ``0x88``,
keyLength ``0x10`` for AES-128).

Also here: the hashed confirmation code, SHA-256(SHA-256(code) || transactionId)
(SGP.22 section 3.1.3.2).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF

from pyrsp.crypto.keys import curve_of, public_key_from_bytes
from pyrsp.errors import CryptoError

__all__ = [
    "KEY_LENGTH",
    "KEY_TYPE_AES",
    "SessionKeys",
    "derive_session_keys",
    "ecka",
    "hash_confirmation_code",
    "x963_kdf",
]

KEY_TYPE_AES = 0x88
KEY_LENGTH = 16
_EID_BYTES = 16


@dataclass(frozen=True, slots=True)
class SessionKeys:
    """AES-128 BSP session keys and the initial MAC chaining value (16 bytes each).

    ``repr`` never shows the key material.
    """

    initial_mcv: bytes = field(repr=False)
    s_enc: bytes = field(repr=False)
    s_mac: bytes = field(repr=False)

    def __post_init__(self) -> None:
        for name in ("initial_mcv", "s_enc", "s_mac"):
            size = len(getattr(self, name))
            if size != KEY_LENGTH:
                raise CryptoError(f"expected a {KEY_LENGTH}-byte {name}, got {size} bytes")


def ecka(
    private_key: ec.EllipticCurvePrivateKey,
    peer_public_key: ec.EllipticCurvePublicKey | bytes,
) -> bytes:
    """ECKA-EG/ECDH: the shared secret (X coordinate, 32 bytes) of our key and the peer's.

    ``peer_public_key`` may be an uncompressed point (``04 || X || Y``) on our key's curve.
    """
    curve = curve_of(private_key)
    peer = (
        public_key_from_bytes(curve, peer_public_key)
        if isinstance(peer_public_key, bytes)
        else peer_public_key
    )
    if curve_of(peer) is not curve:
        raise CryptoError(
            f"expected the peer's key on {curve.value}, got one on {curve_of(peer).value}"
        )
    return private_key.exchange(ec.ECDH(), peer)


def x963_kdf(shared_secret: bytes, shared_info: bytes, length: int) -> bytes:
    """The ANSI X9.63 KDF with SHA-256 (counter from 1), ``length`` bytes out."""
    kdf = X963KDF(algorithm=hashes.SHA256(), length=length, sharedinfo=shared_info)
    return kdf.derive(shared_secret)


def derive_session_keys(
    shared_secret: bytes,
    *,
    host_id: bytes,
    eid: bytes | str,
    key_type: int = KEY_TYPE_AES,
    key_length: int = KEY_LENGTH,
) -> SessionKeys:
    """Initial MCV, S-ENC and S-MAC from the ECKA shared secret (SGP.22 section 2.6.4.1).

    ``eid`` is the 16-byte EID or its 32 hex digits; ``host_id`` the SM-DP+'s hostId bytes.
    """
    eid_bytes = _eid_bytes(eid)
    if not 0 < len(host_id) < 0x80:
        raise CryptoError(f"expected a hostId of 1 to 127 bytes, got {len(host_id)} bytes")
    shared_info = (
        bytes([key_type, key_length, len(host_id)]) + host_id + bytes([len(eid_bytes)]) + eid_bytes
    )
    out = x963_kdf(shared_secret, shared_info, 3 * key_length)
    return SessionKeys(
        initial_mcv=out[:key_length],
        s_enc=out[key_length : 2 * key_length],
        s_mac=out[2 * key_length :],
    )


def hash_confirmation_code(code: str | bytes, transaction_id: bytes) -> bytes:
    """SHA-256(SHA-256(code) || transactionId) (SGP.22 section 3.1.3.2); ``code`` as UTF-8."""
    raw = code.encode("utf-8") if isinstance(code, str) else code
    return hashlib.sha256(hashlib.sha256(raw).digest() + transaction_id).digest()


def _eid_bytes(eid: bytes | str) -> bytes:
    if isinstance(eid, str):
        try:
            eid = bytes.fromhex(eid)
        except ValueError as exc:
            raise CryptoError(f"expected an EID of 32 hex digits, got {eid!r}") from exc
    if len(eid) != _EID_BYTES:
        raise CryptoError(f"expected a {_EID_BYTES}-byte EID, got {len(eid)} bytes")
    return eid
