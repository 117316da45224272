"""A SEQUENCE contents decoder that finds members by tag, for asn1tools' compiled DER types.

asn1tools tries every remaining member at each position and, when none matches (a member
the schema does not know, such as a v3 field in a v2 schema), stops and drops *everything*
after it: a v3 ProfileInfo with an unknown ``[26]`` before ``profileSize`` loses the size.
SGP.22 modules are ``EXTENSIBILITY IMPLIED``, so unknown members are expected.

This decoder looks each member up by its tag, skips only the unknown TLV, rejects a member
given twice or running past the end of the SEQUENCE, and does fewer calls per member. It is
used for every SEQUENCE whose members all have known, distinct tags (no untagged ANY);
other SEQUENCEs keep asn1tools' decoder.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from asn1tools.codecs import DecodeError, ErrorWithLocation, ber

DecodeContent = Callable[[bytearray, int, Any], tuple[Any, int]]


def member_tags(member: Any) -> list[bytes] | None:
    """Every tag that starts an encoding of ``member``, or None if any tag can (ANY)."""
    if isinstance(member, ber.Choice):
        return [bytes(tag) for tag in member.tag_to_member]
    tag = getattr(member, "tag", None)
    if tag is None:
        return None
    tags = [bytes(tag)]
    constructed = getattr(member, "constructed_tag", None)
    if constructed is not None:  # BER constructed form of a string type
        tags.append(bytes(constructed))
    return tags


def _members(node: Any) -> list[Any]:
    members = list(node.root_members)
    for addition in node.additions or []:
        members.extend(addition if isinstance(addition, list) else [addition])
    return members


def _by_tag(members: list[Any]) -> dict[bytes, Any] | None:
    table: dict[bytes, Any] = {}
    for member in members:
        tags = member_tags(member)
        if tags is None:
            return None
        for tag in tags:
            if tag in table:
                return None
            table[tag] = member
    return table


def decoder_for(node: Any) -> DecodeContent | None:
    """A replacement ``decode_content`` for the compiled SEQUENCE ``node``, or None."""
    members = _members(node)
    table = _by_tag(members)
    if table is None:
        return None
    return _decoder(node, members, table)


def _decoder(node: Any, members: list[Any], table: dict[bytes, Any]) -> DecodeContent:
    # Single-byte tags are looked up by their int value (no allocation), longer ones by bytes.
    short = {tag[0]: (m, m.name) for tag, m in table.items() if len(tag) == 1}
    long = {tag: (m, m.name) for tag, m in table.items() if len(tag) > 1}
    original: DecodeContent = node.decode_content
    extensible = node.additions is not None
    mandatory = [m for m in members if not m.optional and not m.has_default()]
    defaulted = [m for m in members if m.has_default()]
    mismatch = ber.TAG_MISMATCH

    def decode_content(data: bytearray, offset: int, length: Any) -> tuple[Any, int]:
        if length is None:  # indefinite length (BER): keep asn1tools' handling
            return original(data, offset, length)
        end = offset + length
        values: dict[str, Any] = {}
        found = None
        try:
            while offset < end:
                first = data[offset]
                if first & 0x1F == 0x1F:
                    found = long.get(bytes(data[offset : _tag_end(data, offset, end)]))
                else:
                    found = short.get(first)
                if found is None:
                    offset = _skip_unknown(data, offset, extensible)
                    continue
                member, name = found
                if name in values:
                    raise DecodeError(f"Expected {name} once, but got it twice.", offset)
                value, next_offset = member.decode(data, offset)
                if value is mismatch:
                    raise ber.DecodeTagError(member, data, offset, location=member)
                values[name] = value
                offset = next_offset
        except ErrorWithLocation as error:
            if found is not None:
                error.add_location(found[0])
            raise
        if offset != end:
            raise DecodeError(f"Expected the SEQUENCE to end at offset {end}, but got {offset}.")
        if mandatory or defaulted:
            _complete(values, mandatory, defaulted, offset)
        return values, end

    return decode_content


def _tag_end(data: bytearray, offset: int, end: int) -> int:
    """The offset just after the multi-byte tag at ``offset``."""
    position = offset + 1
    while position < end and data[position] & 0x80:
        position += 1
    position += 1
    if position > end:
        raise DecodeError("Expected a complete tag, but the SEQUENCE ends inside it.", offset)
    return position


def _skip_unknown(data: bytearray, offset: int, extensible: bool) -> int:
    if not extensible:
        tag = ber.read_tag(data, offset).hex()
        raise DecodeError(f"Expected a member of the SEQUENCE, but got tag '{tag}'.", offset)
    end: int = ber.skip_tag_length_contents(data, offset)
    return end


def _complete(values: dict[str, Any], mandatory: list[Any], defaulted: list[Any], at: int) -> None:
    for member in mandatory:
        if member.name not in values:
            raise ber.MissingMandatoryFieldError(member, at)
    for member in defaulted:
        if member.name not in values:
            values[member.name] = member.get_default()
