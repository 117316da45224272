"""ICCIDs (SGP.22 section 2.4, ITU-T E.118) and EIDs (SGP.29) as strings and bytes."""

from __future__ import annotations

from pyrsp.errors import CodecError, UsageError

__all__ = ["eid_from_bytes", "eid_to_bytes", "iccid_from_bytes", "iccid_to_bytes", "tbcd"]

_ICCID_BYTES = 10
_EID_BYTES = 16


def iccid_to_bytes(iccid: str) -> bytes:
    """Encode an ICCID of 18 to 20 digits as 10 bytes of nibble-swapped BCD padded with ``F``.

    Trailing ``F`` padding in the input is accepted (``"8944...123F"``).
    """
    digits = iccid.rstrip("Ff")
    if not (digits.isascii() and digits.isdigit() and 18 <= len(digits) <= 20 >= len(iccid)):
        raise UsageError(f"expected an ICCID of 18 to 20 digits, got {iccid!r}")
    return tbcd(digits, _ICCID_BYTES)


def tbcd(digits: str, size: int) -> bytes:
    """Digits as TBCD: nibble-swapped, padded with ``F`` to ``size`` bytes (ICCID, TAC, IMEI)."""
    padded = digits.ljust(2 * size, "F")
    return bytes.fromhex("".join(padded[i + 1] + padded[i] for i in range(0, 2 * size, 2)))


def iccid_from_bytes(data: bytes) -> str:
    """Decode 10 bytes of nibble-swapped BCD into the ICCID's digits, without ``F`` padding."""
    swapped = "".join(f"{byte & 0x0F:X}{byte >> 4:X}" for byte in data)
    digits = swapped.rstrip("F")
    if len(data) != _ICCID_BYTES or not digits.isdigit() or not 18 <= len(digits) <= 20:
        raise CodecError(
            f"expected an ICCID of 10 bytes holding 18 to 20 BCD digits, got {data.hex()}",
            type_name="Iccid",
        )
    return digits


def eid_to_bytes(eid: str) -> bytes:
    """Encode a 32-digit EID as its 16 bytes (one digit per nibble, not swapped)."""
    if not (len(eid) == 2 * _EID_BYTES and eid.isascii() and eid.isdigit()):
        raise UsageError(f"expected an EID of 32 digits, got {eid!r}")
    return bytes.fromhex(eid)


def eid_from_bytes(data: bytes) -> str:
    """Decode the 16 bytes of an EID (GetEuiccDataResponse eidValue) into its 32 digits."""
    text = data.hex()
    if len(data) != _EID_BYTES or not text.isdigit():
        raise CodecError(f"expected an EID of 16 bytes of digits, got {text}", type_name="Octet16")
    return text
