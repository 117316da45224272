"""Cryptography for SGP.22: ECDSA in the SGP.22 form, ECKA and the BSP key derivation, and the
RSP certificate profile checks.

- :mod:`pyrsp.crypto.keys`: curves, keys, ``sign``/``verify`` (r||s), DER and ``5F37`` forms;
- :mod:`pyrsp.crypto.session`: ``ecka``, ``derive_session_keys`` -> :class:`SessionKeys`,
  ``hash_confirmation_code``;
- :mod:`pyrsp.crypto.roles`: :class:`Role` (certificate policy OIDs);
- :mod:`pyrsp.crypto.certificates`: ``verify_chain``, ``verify_euicc_certificates``,
  ``check_profile``, ``role_of``, ``eid_of``, key identifiers.
"""

from __future__ import annotations

from pyrsp.crypto.certificates import (
    authority_key_id,
    check_profile,
    eid_of,
    find_certificate,
    load_certificate,
    name_of,
    permitted_eid_prefixes,
    role_of,
    subject_key_id,
    verify_chain,
    verify_euicc_certificates,
)
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
    "Curve",
    "PERMITTED_EINS_OID",
    "RandomSource",
    "Role",
    "SessionKeys",
    "authority_key_id",
    "check_profile",
    "curve_of",
    "derive_private_key",
    "derive_session_keys",
    "ecka",
    "eid_of",
    "find_certificate",
    "generate_private_key",
    "hash_confirmation_code",
    "load_certificate",
    "name_of",
    "permitted_eid_prefixes",
    "public_key_bytes",
    "public_key_from_bytes",
    "role_of",
    "sign",
    "signature_from_der",
    "signature_from_tlv",
    "signature_to_der",
    "signature_to_tlv",
    "subject_key_id",
    "verify",
    "verify_chain",
    "verify_euicc_certificates",
    "x963_kdf",
]
