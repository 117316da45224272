"""Corrections applied to the compiled asn1tools DER types of our schema.

Only the type objects of pyrsp's own compiled schema are changed (instance attributes);
the asn1tools classes themselves stay untouched.

- OBJECT IDENTIFIER: asn1tools splits the first subidentifier as ``x // 40, x % 40``, so
  an OID under ``2`` with a second arc of 40 or more (``2.999.10``, the SGP.23 test
  SM-DP+ OID) comes back wrong (asn1tools issue 194). It also reads past the end on a
  truncated subidentifier. We decode per X.690 section 8.19, strictly.
- ANY: asn1tools returns a ``bytearray``; we return ``bytes`` like every other octet value.
"""

from __future__ import annotations

from types import MethodType
from typing import Any

from asn1tools.codecs import DecodeError, ber


def decode_oid(data: bytearray, offset: int, end: int) -> str:
    """Decode the contents octets of an OBJECT IDENTIFIER (X.690 section 8.19)."""
    if offset >= end:
        raise DecodeError("Expected at least one subidentifier, but got an empty OID.", offset)
    arcs: list[int] = []
    value = 0
    fresh = True
    for position in range(offset, end):
        octet = data[position]
        if fresh and octet == 0x80:
            raise DecodeError("Expected a minimal subidentifier, but got a leading 0x80.", position)
        value = (value << 7) | (octet & 0x7F)
        fresh = not octet & 0x80
        if fresh:
            arcs.append(value)
            value = 0
    if not fresh:
        raise DecodeError("Expected the last subidentifier to end, but the OID is truncated.", end)
    first = arcs[0]
    head = [first // 40, first % 40] if first < 80 else [2, first - 80]
    return ".".join(str(arc) for arc in head + arcs[1:])


def _oid_decode_content(self: Any, data: bytearray, offset: int, length: int) -> tuple[str, int]:
    end = offset + length
    return decode_oid(data, offset, end), end


def _any_decode(self: Any, data: bytearray, offset: int, values: Any = None) -> tuple[bytes, int]:
    start = offset
    offset = ber.skip_tag(data, offset)
    length, offset = ber.decode_length(data, offset)
    end = offset + length
    return bytes(data[start:end]), end


def _children(node: Any) -> list[Any]:
    children: list[Any] = []
    for attribute in ("root_members", "members"):
        children.extend(getattr(node, attribute, None) or [])
    additions = getattr(node, "additions", None) or []
    for addition in additions:
        children.extend(addition if isinstance(addition, list) else [addition])
    for attribute in ("element_type", "inner"):
        child = getattr(node, attribute, None)
        if child is not None:
            children.append(child)
    return children


def apply(root: Any) -> None:
    """Patch every OBJECT IDENTIFIER and ANY reachable from the compiled type ``root``."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, ber.ObjectIdentifier):
            node.decode_content = MethodType(_oid_decode_content, node)
        elif isinstance(node, ber.Any):
            node.decode = MethodType(_any_decode, node)
        stack.extend(_children(node))
