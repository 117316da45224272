"""Corrections applied to the compiled asn1tools DER types of our schema.

Only the type objects of pyrsp's own compiled schema are changed (instance attributes);
the asn1tools classes themselves stay untouched.

- OBJECT IDENTIFIER: asn1tools splits the first subidentifier as ``x // 40, x % 40``, so
  an OID under ``2`` with a second arc of 40 or more (``2.999.10``, the SGP.23 test
  SM-DP+ OID) comes back wrong (asn1tools issue 194). It also reads past the end on a
  truncated subidentifier, and its decoding is quadratic in a subidentifier's length. We
  decode per X.690 section 8.19, strictly, with bounded sizes.
- ANY: asn1tools returns a ``bytearray``; we return ``bytes`` like every other octet value.
- SEQUENCE OF / SET OF: asn1tools' DER decoder does not notice an element with the wrong
  tag and loops forever, appending (a denial of service on any malformed list). We raise,
  and also reject an element that runs past the end of its list.
- Strings: invalid UTF-8 raises a plain UnicodeDecodeError with no location; ours has one.
- Explicit tags: asn1tools ignores the outer length, so bytes after the inner value would be
  read as the next member. We require the inner value to fill the explicit tag exactly.
- SEQUENCE: members are found by tag and unknown ones skipped one by one (see _sequence).
- INTEGER with no contents octets, BIT STRING with no initial octet or more than 7 unused
  bits, and NULL with contents are accepted by asn1tools (the last one desynchronises the
  rest of the decode). We reject them (X.690 sections 8.3.1, 8.6.2, 8.8.2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import MethodType
from typing import Any

from asn1tools.codecs import DecodeError, ber, der

from pyrsp.asn1 import _sequence

#: Bounds on OID contents: a subidentifier of up to 20 octets holds a 128-bit UUID arc
#: (``2.25.x``); anything longer only costs time (the arcs are big integers).
MAX_OID_OCTETS = 128
MAX_SUBIDENTIFIER_OCTETS = 20


def decode_oid(data: bytearray, offset: int, end: int) -> str:
    """Decode the contents octets of an OBJECT IDENTIFIER (X.690 section 8.19).

    OIDs over :data:`MAX_OID_OCTETS` and subidentifiers over :data:`MAX_SUBIDENTIFIER_OCTETS`
    octets are refused.
    """
    if offset >= end:
        raise DecodeError("Expected at least one subidentifier, but got an empty OID.", offset)
    if end - offset > MAX_OID_OCTETS:
        raise DecodeError(
            f"Expected an OID of at most {MAX_OID_OCTETS} octets, but got {end - offset}.", offset
        )
    arcs: list[int] = []
    value = 0
    start = offset
    fresh = True
    for position in range(offset, end):
        octet = data[position]
        if fresh:
            start = position
            if octet == 0x80:
                message = "Expected a minimal subidentifier, but got a leading 0x80."
                raise DecodeError(message, position)
        if position - start >= MAX_SUBIDENTIFIER_OCTETS:
            message = f"Expected subidentifiers of at most {MAX_SUBIDENTIFIER_OCTETS} octets."
            raise DecodeError(message, start)
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


def _array_decode_content(
    self: Any, data: bytearray, offset: int, length: int
) -> tuple[list[Any], int]:
    end = offset + length
    element = self.element_type
    decoded: list[Any] = []
    while offset < end:
        value, offset = element.decode(data, offset)
        if value is ber.TAG_MISMATCH:
            raise ber.DecodeTagError(element, data, offset, location=element)
        decoded.append(value)
    if offset != end:
        raise DecodeError(f"Expected the list to end at offset {end}, but got {offset}.", end)
    return decoded, offset


def _integer_decode_content(
    self: Any, data: bytearray, offset: int, length: int
) -> tuple[int, int]:
    if length < 1:
        raise DecodeError("Expected at least 1 INTEGER contents octet, but got 0.", offset)
    end = offset + length
    return int.from_bytes(data[offset:end], "big", signed=True), end


def _bit_string_decode_content(
    self: Any, data: bytearray, offset: int, length: int
) -> tuple[tuple[bytes, int], int]:
    if length < 1:
        raise DecodeError("Expected the BIT STRING initial octet, but got no contents.", offset)
    unused = data[offset]
    if unused > 7 or (length == 1 and unused):
        raise DecodeError(f"Expected 0 to 7 unused bits, but got {unused}.", offset)
    end = offset + length
    return (bytes(data[offset + 1 : end]), 8 * (length - 1) - unused), end


def _explicit_decode_content(self: Any, data: bytearray, offset: int, length: Any) -> Any:
    if length is None:  # indefinite length (BER): keep asn1tools' handling
        return ber.ExplicitTag.decode_content(self, data, offset, length)
    value, end = self.inner.decode(data, offset)
    if value is ber.TAG_MISMATCH:
        raise ber.DecodeTagError(self.inner, data, offset, location=self.inner)
    if end != offset + length:
        raise DecodeError(
            f"Expected the explicitly tagged value to end at offset {offset + length}, "
            f"but it ends at {end}.",
            offset,
        )
    return value, end


def _string_decode_content(self: Any, data: bytearray, offset: int, length: int) -> tuple[str, int]:
    end = offset + length
    try:
        return data[offset:end].decode(self.ENCODING), end
    except UnicodeDecodeError as error:
        message = f"Expected {self.ENCODING} text, but got {error.reason}."
        raise DecodeError(message, offset) from None


def _null_decode_content(self: Any, data: bytearray, offset: int, length: int) -> Any:
    if length:
        raise DecodeError(f"Expected NULL contents length 0, but got {length}.", offset)
    return None, offset


# The compiled DER types whose contents decoder is replaced.
_REPLACED: list[tuple[type[Any], Callable[..., Any]]] = [
    (ber.ObjectIdentifier, _oid_decode_content),
    (der.ArrayType, _array_decode_content),
    (der.Integer, _integer_decode_content),
    (der.BitString, _bit_string_decode_content),
    (ber.Null, _null_decode_content),
    (ber.ExplicitTag, _explicit_decode_content),
    (der.StringType, _string_decode_content),
]


def _patch(node: Any) -> None:
    if isinstance(node, ber.Any):
        node.decode = MethodType(_any_decode, node)
    if isinstance(node, ber.Sequence):
        by_tag = _sequence.decoder_for(node)
        if by_tag is not None:
            node.decode_content = by_tag
    for cls, replacement in _REPLACED:
        if isinstance(node, cls):
            node.decode_content = MethodType(replacement, node)


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


def apply(roots: Iterable[Any]) -> None:
    """Patch every type object reachable from the compiled types ``roots``, each once."""
    seen: set[int] = set()
    stack = list(roots)
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        _patch(node)
        stack.extend(_children(node))
