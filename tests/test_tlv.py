"""Tests for pyrsp.tlv: exact slices, multi-byte tags, long lengths and every malformed case."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyrsp import tlv
from pyrsp.errors import CodecError, TlvError

# ProfileInfo-like nesting: E3 { 5A iccid, 90 nickname }, inside BF2D { A0 { ... } }
ICCID_TLV = bytes.fromhex("5A0A 98001032547698103214")
NICKNAME_TLV = bytes.fromhex("9003") + b"abc"
PROFILE = bytes.fromhex("E311") + ICCID_TLV + NICKNAME_TLV
LIST = bytes.fromhex("A013") + PROFILE
RESPONSE = bytes.fromhex("BF2D15") + LIST


def test_nested_walk_returns_exact_slices() -> None:
    top = tlv.parse(RESPONSE)
    assert top.tag == 0xBF2D
    assert top.tag_bytes == b"\xbf\x2d"
    assert top.header == bytes.fromhex("BF2D15")
    assert top.raw == RESPONSE
    assert top.constructed
    (lst,) = top.children()
    assert lst.raw == LIST
    (profile,) = lst.children()
    assert profile.raw == PROFILE
    iccid, nickname = profile.children()
    assert (iccid.tag, iccid.raw, iccid.value) == (0x5A, ICCID_TLV, ICCID_TLV[2:])
    assert (nickname.tag, nickname.value, nickname.length) == (0x90, b"abc", 3)
    assert not iccid.constructed


def test_offsets_are_absolute_in_the_parsed_buffer() -> None:
    profile = tlv.parse(RESPONSE).require(0xA0).require(0xE3)
    nickname = profile.require(0x90)
    assert profile.offset == 5
    assert nickname.offset == 5 + 2 + len(ICCID_TLV)
    assert nickname.value_offset == nickname.offset + 2
    assert nickname.end == len(RESPONSE)
    assert RESPONSE[nickname.offset : nickname.end] == NICKNAME_TLV


def test_find_and_require() -> None:
    profile = tlv.parse(PROFILE)
    assert profile.find(0x90) is not None
    assert profile.find(0x91) is None
    with pytest.raises(TlvError, match=r"tag 91 in e3, found tags: 5a 90"):
        profile.require(0x91)


def test_children_of_a_primitive_tlv_is_an_error() -> None:
    with pytest.raises(TlvError, match="primitive tag 5a"):
        tlv.parse(ICCID_TLV).children()


def test_children_must_fill_the_value_exactly() -> None:
    # E3 of length 4 holding 5A 01 00 and one stray byte
    with pytest.raises(TlvError, match="truncated"):
        tlv.parse(bytes.fromhex("E304 5A0100 5A")).children()


def test_multi_byte_tags() -> None:
    signature = bytes.fromhex("5F3740") + bytes(range(64))
    metadata = bytes.fromhex("BF2503") + bytes.fromhex("800100")
    three_byte = bytes.fromhex("BF8F0100")
    outer = tlv.build(0x30, signature + metadata + three_byte)
    first, second, third = tlv.parse(outer).children()
    assert (first.tag, first.tag_bytes, first.length) == (0x5F37, b"\x5f\x37", 64)
    assert second.tag == 0xBF25 and second.constructed
    assert second.require(0x80).value == b"\x00"
    assert third.tag == 0xBF8F01 and third.length == 0


@pytest.mark.parametrize(
    ("length", "header"),
    [
        (0, "04 00"),
        (127, "04 7F"),
        (128, "04 81 80"),
        (255, "04 81 FF"),
        (256, "04 82 01 00"),
        (65535, "04 82 FF FF"),
        (65536, "04 83 01 00 00"),
    ],
)
def test_length_forms(length: int, header: str) -> None:
    value = bytes(length)
    built = tlv.build(0x04, value)
    assert built[: -length or None] == bytes.fromhex(header)
    parsed = tlv.parse(built)
    assert parsed.header == bytes.fromhex(header)
    assert parsed.value == value


def test_non_minimal_length_is_accepted_as_ber() -> None:
    parsed = tlv.parse(bytes.fromhex("04 81 02 AA BB"))
    assert parsed.value == b"\xaa\xbb"
    assert parsed.header == bytes.fromhex("048102")


def test_read_allows_trailing_bytes_and_reports_end() -> None:
    data = ICCID_TLV + b"\x00\x01\xff"
    first = tlv.read(data)
    assert first.end == len(ICCID_TLV)
    second = tlv.read(data, first.end)
    assert (second.tag, second.value, second.end) == (0x00, b"\xff", len(data))


def test_parse_all() -> None:
    items = tlv.parse_all(ICCID_TLV + NICKNAME_TLV)
    assert [item.raw for item in items] == [ICCID_TLV, NICKNAME_TLV]
    assert tlv.parse_all(b"") == []


def test_repr_is_short() -> None:
    assert repr(tlv.parse(ICCID_TLV)) == "Tlv(tag=5a, length=10, offset=0)"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", "got end of data"),
        ("5A", "expected a length at offset 1"),
        ("5A 05 0102", "expected 5 value bytes, got 2"),
        ("BF", "truncated tag"),
        ("BF 81", "truncated tag"),
        ("BF 80 01 00", "starts with 80"),
        ("BF 81 81 81 01 00", "at most 4 bytes"),
        ("30 80 0000", "indefinite length"),
        ("04 85 0000000001 00", "expected 00-7f or 81-84"),
        ("04 FF", "expected 00-7f or 81-84"),
        ("04 82 01", "expected 2 length bytes, got 1"),
        ("04 83 01 00 00", "expected 65536 value bytes, got 0"),
        ("04 01 00 FF", "1 trailing bytes"),
    ],
)
def test_malformed_input_raises_tlv_error(data: str, message: str) -> None:
    with pytest.raises(TlvError, match=message):
        tlv.parse(bytes.fromhex(data))


def test_parse_all_rejects_a_truncated_last_tlv() -> None:
    with pytest.raises(TlvError, match="truncated"):
        tlv.parse_all(ICCID_TLV + b"\x90\x05ab")


def test_read_rejects_an_offset_past_the_end() -> None:
    with pytest.raises(TlvError, match="offset 2"):
        tlv.read(b"\x04\x00", 2)


def test_tlv_error_is_a_codec_error() -> None:
    assert issubclass(TlvError, CodecError)


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        (0, "positive tag"),
        (-1, "positive tag"),
        (0x1F, "truncated tag"),
        (0xBF2501, "single well-formed tag"),
        (b"", "single well-formed tag"),
    ],
)
def test_build_rejects_bad_tags(tag: int | bytes, message: str) -> None:
    with pytest.raises(TlvError, match=message):
        tlv.build(tag, b"")


def test_build_with_tag_bytes() -> None:
    assert tlv.build(b"\x5f\x37", b"\x01") == bytes.fromhex("5F370101")


def test_encode_length_limits() -> None:
    assert tlv.encode_length(2**32 - 1) == bytes.fromhex("84FFFFFFFF")
    with pytest.raises(TlvError, match="below 2\\*\\*32"):
        tlv.encode_length(2**32)
    with pytest.raises(TlvError, match="length >= 0"):
        tlv.encode_length(-1)


def _tags() -> st.SearchStrategy[bytes]:
    low = st.integers(0, 0xFF).filter(lambda b: b & 0x1F != 0x1F).map(lambda b: bytes([b]))
    high = st.tuples(
        st.integers(0, 0xFF).map(lambda b: b | 0x1F),
        st.lists(st.integers(0x81, 0xFF), max_size=2),
        st.integers(0, 0x7F),
    ).map(lambda t: bytes([t[0], *t[1], t[2]]))
    return st.one_of(low, high)


@given(_tags(), st.binary(max_size=300))
def test_build_parse_round_trip(tag: bytes, value: bytes) -> None:
    built = tlv.build(tag, value)
    parsed = tlv.parse(built)
    assert (parsed.tag_bytes, parsed.value, parsed.raw) == (tag, value, built)
    assert parsed.tag == int.from_bytes(tag, "big")


@given(st.lists(st.tuples(_tags(), st.binary(max_size=40)), max_size=6))
def test_children_round_trip(items: list[tuple[bytes, bytes]]) -> None:
    parts = [tlv.build(tag, value) for tag, value in items]
    outer = tlv.parse(tlv.build(0x30, b"".join(parts)))
    assert [child.raw for child in outer.children()] == parts


@given(st.binary(max_size=64))
def test_arbitrary_bytes_parse_or_raise_tlv_error(data: bytes) -> None:
    try:
        items = tlv.parse_all(data)
    except TlvError:
        return
    assert b"".join(item.raw for item in items) == data
