"""Minimal BER-TLV walker that keeps the exact bytes (X.690 section 8.1, as used by SGP.22).

Signed SGP.22 data (serverSigned1, smdpSigned2, euiccSigned1, notifications, certificates) must be
forwarded and verified as the exact bytes received, and the BoundProfilePackage is sent to the
eUICC in pieces cut at TLV boundaries (SGP.22 section 2.5.5). This module walks TLVs without
decoding them, so every slice is a verbatim copy of the input.

API::

    tlv = parse(data)            # exactly one TLV filling ``data`` (trailing bytes: TlvError)
    tlv = read(data, offset)     # one TLV starting at ``offset``; bytes after ``tlv.end`` allowed
    tlvs = parse_all(data)       # a run of TLVs that fills ``data`` exactly
    tlv.tag                      # int: 0x5A, 0xBF25, 0x5F37 (the tag bytes read big-endian)
    tlv.tag_bytes, tlv.header    # b"\\xbf\\x25", tag + length bytes
    tlv.value, tlv.raw           # value slice, whole-TLV slice
    tlv.offset, tlv.value_offset, tlv.end   # positions in the buffer that was parsed
    tlv.children()               # the TLVs inside a constructed TLV (offsets stay absolute)
    tlv.find(0x5A)               # first child with that tag, or None
    tlv.require(0x5A)            # first child with that tag, or TlvError
    build(0xBF25, value)         # tag + minimal DER length + value
    encode_length(n)             # minimal DER length octets

Reading is BER-lenient where BER allows it: a non-minimal definite length (``81 05``) is
accepted. Rejected with :class:`~pyrsp.errors.TlvError`: truncated tags, lengths or values, the
indefinite length ``80``, length fields longer than 4 bytes, the reserved ``FF``, a high tag
number with a redundant leading ``80`` byte, tags longer than 4 bytes, and trailing bytes where
the caller asked for exactly one TLV or a run that fills the buffer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from pyrsp.errors import TlvError

__all__ = ["Tlv", "build", "encode_length", "parse", "parse_all", "read"]

_MAX_TAG_BYTES = 4
_MAX_LENGTH_BYTES = 4


@dataclass(frozen=True, slots=True, repr=False)
class Tlv:
    """One BER-TLV located in ``buffer``; every accessor returns an exact slice of it."""

    buffer: bytes
    offset: int
    tag_length: int
    value_offset: int
    end: int
    # the children, read once (find/require/children are often called several times)
    _children: tuple[Tlv, ...] | None = field(default=None, init=False, repr=False, compare=False)

    def __repr__(self) -> str:
        return f"Tlv(tag={self.tag_bytes.hex()}, length={self.length}, offset={self.offset})"

    @property
    def tag_bytes(self) -> bytes:
        """The tag octets as received (``b"\\xbf\\x25"``)."""
        return self.buffer[self.offset : self.offset + self.tag_length]

    @property
    def tag(self) -> int:
        """The tag octets read as a big-endian integer (``0xBF25``)."""
        if self.tag_length == 1:
            return self.buffer[self.offset]
        return int.from_bytes(self.tag_bytes, "big")

    @property
    def constructed(self) -> bool:
        """Whether the constructed bit (0x20 of the first tag byte) is set."""
        return bool(self.buffer[self.offset] & 0x20)

    @property
    def header(self) -> bytes:
        """Tag and length octets as received."""
        return self.buffer[self.offset : self.value_offset]

    @property
    def value(self) -> bytes:
        """The value octets."""
        return self.buffer[self.value_offset : self.end]

    @property
    def length(self) -> int:
        """The number of value octets."""
        return self.end - self.value_offset

    @property
    def raw(self) -> bytes:
        """The whole TLV (tag, length and value) as received."""
        return self.buffer[self.offset : self.end]

    def children(self) -> list[Tlv]:
        """The TLVs inside this constructed TLV; they must fill the value exactly."""
        return list(self._read_children())

    def _read_children(self) -> tuple[Tlv, ...]:
        children = self._children
        if children is None:
            if not self.constructed:
                raise TlvError(
                    f"expected a constructed TLV, got primitive tag {self.tag_bytes.hex()}"
                )
            children = tuple(_walk(self.buffer, self.value_offset, self.end))
            object.__setattr__(self, "_children", children)
        return children

    def find(self, tag: int) -> Tlv | None:
        """The first child with ``tag``, or ``None``."""
        return next((child for child in self._read_children() if child.tag == tag), None)

    def require(self, tag: int) -> Tlv:
        """The first child with ``tag``; :class:`TlvError` if there is none."""
        child = self.find(tag)
        if child is None:
            found = " ".join(c.tag_bytes.hex() for c in self.children()) or "none"
            raise TlvError(
                f"expected a child with tag {_tag_hex(tag)} in {self.tag_bytes.hex()}, "
                f"found tags: {found}"
            )
        return child


def read(data: bytes | bytearray | memoryview, offset: int = 0) -> Tlv:
    """Read one TLV starting at ``offset``; bytes after it are left alone."""
    buffer = bytes(data)
    return _read(buffer, offset, len(buffer))


def parse(data: bytes | bytearray | memoryview) -> Tlv:
    """Parse exactly one TLV that fills ``data``; trailing bytes raise :class:`TlvError`."""
    buffer = bytes(data)
    tlv = _read(buffer, 0, len(buffer))
    if tlv.end != len(buffer):
        raise TlvError(
            f"expected one TLV of {tlv.end} bytes, got {len(buffer) - tlv.end} trailing bytes"
        )
    return tlv


def parse_all(data: bytes | bytearray | memoryview) -> list[Tlv]:
    """Parse a run of TLVs that fills ``data`` exactly (an empty input gives ``[]``)."""
    buffer = bytes(data)
    return list(_walk(buffer, 0, len(buffer)))


def encode_length(length: int) -> bytes:
    """The minimal DER length octets for ``length`` (X.690 section 10.1)."""
    if length < 0:
        raise TlvError(f"expected a length >= 0, got {length}")
    if length < 0x80:
        return bytes([length])
    size = (length.bit_length() + 7) // 8
    if size > _MAX_LENGTH_BYTES:
        raise TlvError(f"expected a length below 2**32, got {length}")
    return bytes([0x80 | size]) + length.to_bytes(size, "big")


def build(tag: int | bytes, value: bytes | bytearray | memoryview) -> bytes:
    """A TLV with ``tag`` (an int such as ``0xBF25``, or the tag bytes) and a minimal length."""
    if isinstance(tag, int):
        if tag <= 0:
            raise TlvError(f"expected a positive tag number, got {tag}")
        tag = tag.to_bytes((tag.bit_length() + 7) // 8, "big")
    if not tag or _read_tag(tag, 0, len(tag)) != len(tag):
        raise TlvError(f"expected a single well-formed tag, got {tag.hex()}")
    return tag + encode_length(len(value)) + bytes(value)


def _walk(buffer: bytes, start: int, stop: int) -> Iterator[Tlv]:
    offset = start
    while offset < stop:
        tlv = _read(buffer, offset, stop)
        yield tlv
        offset = tlv.end


def _read(buffer: bytes, offset: int, stop: int) -> Tlv:
    if not 0 <= offset < stop:
        raise TlvError(f"expected a TLV at offset {offset}, got end of data (length {stop})")
    value_offset = _read_tag(buffer, offset, stop)
    tag_length = value_offset - offset
    length, value_offset = _read_length(buffer, value_offset, stop)
    end = value_offset + length
    if end > stop:
        raise TlvError(
            f"truncated TLV at offset {offset} (tag {buffer[offset : offset + tag_length].hex()}): "
            f"expected {length} value bytes, got {stop - value_offset}"
        )
    return Tlv(buffer, offset, tag_length, value_offset, end)


def _read_tag(buffer: bytes, offset: int, stop: int) -> int:
    """Return the offset just after the tag that starts at ``offset``."""
    if buffer[offset] & 0x1F != 0x1F:
        return offset + 1
    position = offset + 1
    if position < stop and buffer[position] == 0x80:
        raise TlvError(f"malformed tag at offset {offset}: a high tag number starts with 80")
    while True:
        if position >= stop:
            raise TlvError(f"truncated tag at offset {offset}: {buffer[offset:stop].hex()}")
        if position - offset >= _MAX_TAG_BYTES:
            raise TlvError(f"expected a tag of at most {_MAX_TAG_BYTES} bytes at offset {offset}")
        more = buffer[position] & 0x80
        position += 1
        if not more:
            return position


def _read_length(buffer: bytes, offset: int, stop: int) -> tuple[int, int]:
    """Return the length and the offset of the value."""
    if offset >= stop:
        raise TlvError(f"truncated TLV: expected a length at offset {offset}, got end of data")
    first = buffer[offset]
    if first < 0x80:
        return first, offset + 1
    size = first & 0x7F
    if size == 0:
        raise TlvError(f"indefinite length (80) at offset {offset}: expected a definite length")
    if size > _MAX_LENGTH_BYTES:
        raise TlvError(f"bad length byte {first:02x} at offset {offset}: expected 00-7f or 81-84")
    if offset + 1 + size > stop:
        raise TlvError(
            f"truncated length at offset {offset}: expected {size} length bytes, "
            f"got {stop - offset - 1}"
        )
    length = int.from_bytes(buffer[offset + 1 : offset + 1 + size], "big")
    return length, offset + 1 + size


def _tag_hex(tag: int) -> str:
    return tag.to_bytes(max(1, (tag.bit_length() + 7) // 8), "big").hex()
