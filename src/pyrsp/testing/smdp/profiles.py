"""Profile packages for TestSmdp orders: a small generated one, and the ICCID of a given one.

A profile package (an "unprotected profile package", SIMalliance/TCA eUICC Profile Package
interoperable format) is a run of profile elements, the first being the ProfileHeader
(``A0``) whose ``83`` member is the ICCID in EF.ICCID byte order. When the GSMA TS.48 test
packages are at hand tests use them; otherwise :func:`generate_profile` makes a minimal
header + end package carrying the ICCID, enough for the BSP and installation to run.
"""

from __future__ import annotations

import random

from pyrsp import tlv
from pyrsp.errors import TlvError, UsageError

__all__ = ["generate_profile", "new_iccid", "profile_iccid"]

_HEADER_TAG = 0xA0
_END_TAG = 0xAA
_ICCID_TAG = 0x83
_PROFILE_TYPE = "pyrsp generated test profile"


def new_iccid(rng: random.Random, prefix: str = "8999") -> str:
    """A 19-digit test ICCID (``89`` telecom, ``99`` test country) with its Luhn check digit."""
    body = prefix + "".join(str(rng.randrange(10)) for _ in range(18 - len(prefix)))
    return body + _luhn(body)


def _luhn(digits: str) -> str:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def _iccid_field(iccid: str) -> bytes:
    if not (iccid.isascii() and iccid.isdigit() and 18 <= len(iccid) <= 20):
        raise UsageError(f"expected an ICCID of 18 to 20 digits, got {iccid!r}")
    return bytes.fromhex(iccid.ljust(20, "F"))


def generate_profile(iccid: str, *, filler: int = 0) -> bytes:
    """A minimal profile package: ProfileHeader (version 2.3, ``iccid``) and an end element.

    ``filler`` adds that many bytes of an opaque proprietary element (tag ``DF7F``) between
    them, so tests can make packages that span several ``86`` segments.
    """
    header = tlv.build(
        _HEADER_TAG,
        tlv.build(0x80, b"\x02")
        + tlv.build(0x81, b"\x03")
        + tlv.build(0x82, _PROFILE_TYPE.encode())
        + tlv.build(_ICCID_TAG, _iccid_field(iccid)),
    )
    padding = tlv.build(0xDF7F, bytes(i % 251 for i in range(filler))) if filler else b""
    end = tlv.build(_END_TAG, tlv.build(0xA0, tlv.build(0x80, b"") + tlv.build(0x81, b"\x02")))
    return header + padding + end


def profile_iccid(package: bytes) -> str | None:
    """The ICCID in a profile package's header, or ``None`` if it has none that reads."""
    try:
        first = tlv.read(package)
        if first.tag != _HEADER_TAG:
            return None
        field = first.find(_ICCID_TAG)
    except TlvError:
        return None
    if field is None:
        return None
    digits = field.value.hex().upper().rstrip("F")
    return digits if digits.isdigit() and 18 <= len(digits) <= 20 else None
