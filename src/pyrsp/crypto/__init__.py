"""Cryptography for SGP.22: ECDSA in the SGP.22 form, ECKA and the BSP key derivation, and the
RSP certificate profile checks.

- :mod:`pyrsp.crypto.keys`: curves, keys, ``sign``/``verify`` (r||s), DER and ``5F37`` forms;
- :mod:`pyrsp.crypto.session`: ``ecka``, ``derive_session_keys`` -> :class:`SessionKeys`,
  ``hash_confirmation_code``;
- :mod:`pyrsp.crypto.roles`: :class:`Role` (certificate policy OIDs).
"""

from __future__ import annotations

from pyrsp.crypto.keys import (
    Curve,
    RandomSource,
    curve_of,
    derive_private_key,
    generate_private_key,
    public_key_bytes,
    public_key_from_bytes,
    sign,
    signature_from_der,
    signature_from_tlv,
    signature_to_der,
    signature_to_tlv,
    verify,
)
from pyrsp.crypto.roles import PERMITTED_EINS_OID, Role
from pyrsp.crypto.session import (
    SessionKeys,
    derive_session_keys,
    ecka,
    hash_confirmation_code,
    x963_kdf,
)

__all__ = [
    "PERMITTED_EINS_OID",
    "Curve",
    "RandomSource",
    "Role",
    "SessionKeys",
    "curve_of",
    "derive_private_key",
    "derive_session_keys",
    "ecka",
    "generate_private_key",
    "hash_confirmation_code",
    "public_key_bytes",
    "public_key_from_bytes",
    "sign",
    "signature_from_der",
    "signature_from_tlv",
    "signature_to_der",
    "signature_to_tlv",
    "verify",
    "x963_kdf",
]
