"""BSP / SCP03t: the public vectors, round trips, and every way a segment can go wrong."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyrsp import tlv
from pyrsp.bsp import (
    MAX_SEGMENT_SIZE,
    BppReader,
    BspSession,
    PartKind,
    build_bound_profile_package,
    max_plain_size,
    replace_session_keys_request,
    session_keys_from_replace_request,
    unprotect_bound_profile_package,
)
from pyrsp.crypto import SessionKeys
from pyrsp.errors import BspError, UsageError

KEYS = SessionKeys(initial_mcv=b"\x01" * 16, s_enc=b"\x02" * 16, s_mac=b"\x03" * 16)
PPK = SessionKeys(initial_mcv=b"\x04" * 16, s_enc=b"\x05" * 16, s_mac=b"\x06" * 16)
ISCR = tlv.build(0xBF23, bytes.fromhex("820101800401020304"))
CONFIGURE_ISDP = bytes.fromhex("bf2400")
STORE_METADATA = tlv.build(0xBF25, tlv.build(0x5A, bytes(10)) + tlv.build(0x91, b"SPN"))
PROFILE = bytes(range(256)) * 12  # 3072 bytes: four 86 segments


def _keys(entry: dict[str, str]) -> SessionKeys:
    return SessionKeys(
        initial_mcv=bytes.fromhex(entry["initial_mcv"]),
        s_enc=bytes.fromhex(entry["s_enc"]),
        s_mac=bytes.fromhex(entry["s_mac"]),
    )


@pytest.fixture(scope="module")
def vectors(vectors_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((vectors_dir / "bsp.json").read_text())
    return data


def _bpp(*, rsk: bool = True, profile: bytes = PROFILE, size: int = MAX_SEGMENT_SIZE) -> bytes:
    return build_bound_profile_package(
        initialise_secure_channel=ISCR,
        configure_isdp=CONFIGURE_ISDP,
        store_metadata=STORE_METADATA,
        profile_package=profile,
        session_keys=KEYS,
        replace_session_keys=replace_session_keys_request(PPK) if rsk else None,
        segment_size=size,
    )


def _segments(bpp: bytes) -> list[tlv.Tlv]:
    """Every 87/88/86 segment in order, located in ``bpp``."""
    found = []
    for child in tlv.parse(bpp).children()[1:]:
        found.extend(child.children())
    return found


def _with_segments(bpp: bytes, replace: dict[int, list[bytes]]) -> bytes:
    """Rebuild ``bpp`` with segment i replaced by the list ``replace[i]`` (lengths fixed)."""
    outer = tlv.parse(bpp).children()
    index, rebuilt = 0, [outer[0].raw]
    for child in outer[1:]:
        parts = []
        for segment in child.children():
            parts.extend(replace.get(index, [segment.raw]))
            index += 1
        rebuilt.append(tlv.build(child.tag, b"".join(parts)))
    return tlv.build(0xBF36, b"".join(rebuilt))


def _store_data_pieces(bpp: bytes) -> list[bytes]:
    """The pieces an LPA sends (FACTS: BF36 header + BF23, A0, A1 header, each 88, ...)."""
    outer = tlv.parse(bpp)
    children = outer.children()
    pieces = [outer.header + children[0].raw]
    for child in children[1:]:
        segments = child.children()
        if child.tag in (0xA0, 0xA2):
            pieces.append(child.header + segments[0].raw)
            pieces.extend(s.raw for s in segments[1:])
        else:
            pieces.append(child.header)
            pieces.extend(s.raw for s in segments)
    return pieces


# --- the public vectors --------------------------------------------------------------------


def test_segment_vectors(vectors: dict[str, Any]) -> None:
    session = vectors["segments"]
    steps = session["steps"]
    assert [s["op"] for s in steps] == ["encrypt_and_mac", "mac_only", "encrypt_and_mac"]
    sender, receiver = BspSession(_keys(session)), BspSession(_keys(session))
    for step in steps:
        protected = sender.protect(int(step["tag"], 16), bytes.fromhex(step["plain"]))
        assert protected.hex() == step["protected"]
        assert receiver.unprotect(protected).hex() == step["plain"]
    assert sender.block_counter == receiver.block_counter == 4


def test_segment_vectors_after_replace_session_keys(vectors: dict[str, Any]) -> None:
    session = vectors["segments"]
    installed = session_keys_from_replace_request(bytes.fromhex(session["steps"][2]["plain"]))
    after = session["after_replace_session_keys"]
    assert installed == _keys(after)
    sender, receiver = BspSession(installed), BspSession(installed)
    for step in after["steps"]:
        protected = sender.protect(int(step["tag"], 16), bytes.fromhex(step["plain"]))
        assert protected.hex() == step["protected"]
        assert len(protected) <= MAX_SEGMENT_SIZE
        assert receiver.unprotect(protected).hex() == step["plain"]


def test_complete_bpp_vector(vectors: dict[str, Any]) -> None:
    entry = vectors["bound_profile_package"]
    bpp = base64.b64decode(entry["bpp_base64"])
    result = unprotect_bound_profile_package(
        bpp, _keys(entry["session_keys"]), profile_keys=_keys(entry["ppk"])
    )
    assert result.initialise_secure_channel == tlv.parse(bpp).children()[0].raw
    assert result.configure_isdp.hex() == entry["configure_isdp_plain"]
    assert result.store_metadata.hex() == entry["store_metadata_plain"]
    assert result.replace_session_keys is None
    assert result.profile_package == base64.b64decode(entry["upp_base64"])


def test_complete_bpp_vector_fed_byte_by_byte(vectors: dict[str, Any]) -> None:
    entry = vectors["bound_profile_package"]
    bpp = base64.b64decode(entry["bpp_base64"])
    reader = BppReader(_keys(entry["session_keys"]), profile_keys=_keys(entry["ppk"]))
    profile = bytearray()
    for i in range(len(bpp)):
        for part in reader.feed(bpp[i : i + 1]):
            if part.kind is PartKind.PROFILE_DATA:
                profile += part.data
    reader.close()
    assert bytes(profile) == base64.b64decode(entry["upp_base64"])


def test_rebuilt_vector_profile_round_trips(vectors: dict[str, Any]) -> None:
    entry = vectors["bound_profile_package"]
    upp = base64.b64decode(entry["upp_base64"])
    bpp = build_bound_profile_package(
        initialise_secure_channel=ISCR,
        configure_isdp=bytes.fromhex(entry["configure_isdp_plain"]),
        store_metadata=bytes.fromhex(entry["store_metadata_plain"]),
        profile_package=upp,
        session_keys=_keys(entry["session_keys"]),
        replace_session_keys=replace_session_keys_request(_keys(entry["ppk"])),
    )
    assert all(len(s.raw) <= MAX_SEGMENT_SIZE for s in _segments(bpp))
    result = unprotect_bound_profile_package(bpp, _keys(entry["session_keys"]))
    assert result.profile_package == upp
    assert result.replace_session_keys is not None
    assert session_keys_from_replace_request(result.replace_session_keys) == _keys(entry["ppk"])


# --- building and reading -------------------------------------------------------------------


def test_segment_size_limit() -> None:
    assert max_plain_size(0x86) == 1007  # 1007 + 80 pad = 1008 = 63 blocks; +8 MAC; 4 header
    assert max_plain_size(0x88) == 1008
    assert max_plain_size(0x86, 26) == 15
    with pytest.raises(UsageError, match="segment size"):
        max_plain_size(0x86, 25)
    with pytest.raises(UsageError, match="0x86, 0x87 or 0x88"):
        max_plain_size(0x85)


@pytest.mark.parametrize("rsk", [True, False])
def test_store_data_pieces_give_every_part(rsk: bool) -> None:
    bpp = _bpp(rsk=rsk)
    seen: list[bytes] = []

    def keys_for(iscr: bytes) -> SessionKeys:
        seen.append(iscr)
        return KEYS

    reader = BppReader(keys_for)
    parts = [part for piece in _store_data_pieces(bpp) for part in reader.feed(piece)]
    reader.close()
    assert seen == [ISCR]
    kinds = [p.kind for p in parts if p.kind is not PartKind.PROFILE_DATA]
    expected = [PartKind.INITIALISE_SECURE_CHANNEL, PartKind.CONFIGURE_ISDP]
    expected += [PartKind.STORE_METADATA] + ([PartKind.REPLACE_SESSION_KEYS] if rsk else [])
    assert kinds == expected
    data = {p.kind: p.data for p in parts if p.kind is not PartKind.PROFILE_DATA}
    assert data[PartKind.CONFIGURE_ISDP] == CONFIGURE_ISDP
    assert data[PartKind.STORE_METADATA] == STORE_METADATA
    profile = [p for p in parts if p.kind is PartKind.PROFILE_DATA]
    assert len(profile) == 4
    assert b"".join(p.data for p in profile) == PROFILE
    assert [p.segment for p in profile] == list(
        range(len(parts) - len(profile) - 1, len(parts) - 1)
    )


def test_long_metadata_spans_several_88_segments() -> None:
    metadata = tlv.build(0xBF25, tlv.build(0x91, b"x" * 2500))
    bpp = build_bound_profile_package(
        initialise_secure_channel=ISCR,
        configure_isdp=CONFIGURE_ISDP,
        store_metadata=metadata,
        profile_package=PROFILE,
        session_keys=KEYS,
    )
    a1 = tlv.parse(bpp).children()[2]
    assert a1.tag == 0xA1 and len(a1.children()) == 3
    assert unprotect_bound_profile_package(bpp, KEYS).store_metadata == metadata


def test_build_refuses_a_non_bf23_first_part() -> None:
    with pytest.raises(UsageError, match="bf23"):
        build_bound_profile_package(
            initialise_secure_channel=b"\x30\x00",
            configure_isdp=CONFIGURE_ISDP,
            store_metadata=STORE_METADATA,
            profile_package=PROFILE,
            session_keys=KEYS,
        )


def test_reprs_hide_key_and_profile_material() -> None:
    assert repr(BspSession(KEYS)) == "BspSession(block_counter=1)"
    last = BppReader(KEYS).feed(_bpp())[-1]
    assert last.kind is PartKind.PROFILE_DATA
    assert (
        repr(last)
        == f"BppPart(kind=<PartKind.PROFILE_DATA: 'profile_data'>, segment={last.segment})"
    )


# --- everything that must fail --------------------------------------------------------------


def test_every_flipped_bit_names_its_segment() -> None:
    bpp = _bpp()
    segments = _segments(bpp)
    assert len(segments) == 7  # 87, 88, 87 (RSK), four 86
    for index, segment in enumerate(segments):
        for offset in (segment.value_offset, segment.end - 1):  # first payload, last MAC byte
            tampered = bytearray(bpp)
            tampered[offset] ^= 0x01
            with pytest.raises(BspError) as caught:
                unprotect_bound_profile_package(bytes(tampered), KEYS)
            assert caught.value.segment == index, (index, offset)


def test_reordered_segments() -> None:
    bpp = _bpp()
    segments = _segments(bpp)
    swapped = _with_segments(bpp, {4: [segments[5].raw], 5: [segments[4].raw]})
    with pytest.raises(BspError, match="MAC does not verify") as caught:
        unprotect_bound_profile_package(swapped, KEYS)
    assert caught.value.segment == 4


def test_replayed_segment() -> None:
    bpp = _bpp()
    segments = _segments(bpp)
    replayed = _with_segments(bpp, {4: [segments[4].raw, segments[4].raw]})
    with pytest.raises(BspError) as caught:
        unprotect_bound_profile_package(replayed, KEYS)
    assert caught.value.segment == 5


def test_dropped_segment() -> None:
    bpp = _bpp()
    with pytest.raises(BspError) as caught:
        unprotect_bound_profile_package(_with_segments(bpp, {5: []}), KEYS)
    assert caught.value.segment == 5


def test_truncated_package() -> None:
    bpp = _bpp()
    reader = BppReader(KEYS)
    reader.feed(bpp[:-5])
    assert not reader.done
    with pytest.raises(BspError, match="truncated"):
        reader.close()
    with pytest.raises(BspError, match="truncated"):
        reader.feed(bpp[-5:])  # the error sticks


def test_a_refused_initialise_secure_channel_sticks() -> None:
    def refuse(iscr: bytes) -> SessionKeys:
        raise ValueError(f"smdpSign does not verify over {len(iscr)} bytes")

    reader = BppReader(refuse)
    pieces = _store_data_pieces(_bpp())
    with pytest.raises(ValueError, match="smdpSign"):
        reader.feed(pieces[0])
    with pytest.raises(ValueError, match="smdpSign"):
        reader.feed(pieces[1])


def test_wrong_keys_fail_at_the_first_segment() -> None:
    with pytest.raises(BspError) as caught:
        unprotect_bound_profile_package(_bpp(), PPK)
    assert caught.value.segment == 0


class _CounterStuck(BspSession):
    """A sender with the classic bug: the block counter does not advance on 88 segments."""

    def protect(self, tag: int, data: bytes) -> bytes:
        counter = self.block_counter
        protected = super().protect(tag, data)
        if tag == 0x88:
            self.block_counter = counter
        return protected


def test_block_counter_not_advanced_on_88_is_caught(vectors: dict[str, Any]) -> None:
    session = vectors["segments"]
    sender, receiver = _CounterStuck(_keys(session)), BppReader(_keys(session))
    body = [
        tlv.build(0xA0, sender.protect(0x87, CONFIGURE_ISDP)),
        tlv.build(0xA1, sender.protect(0x88, STORE_METADATA)),
        tlv.build(0xA2, sender.protect(0x87, bytes.fromhex(session["steps"][2]["plain"]))),
    ]
    bpp = tlv.build(0xBF36, ISCR + b"".join(body) + tlv.build(0xA3, b""))
    with pytest.raises(BspError, match="wrong block counter") as caught:
        receiver.feed(bpp)
    assert caught.value.segment == 2


def test_wrong_block_counter_on_a_single_block_segment() -> None:
    sender = BspSession(KEYS)
    sender.block_counter = 2
    with pytest.raises(BspError, match="padding") as caught:
        BspSession(KEYS).unprotect(sender.protect(0x87, CONFIGURE_ISDP), index=0)
    assert caught.value.segment == 0


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b"\xbf\x37" + b[2:], "expected a BoundProfilePackage"),
        (lambda b: b + b"\x00", "expected the end of the BPP"),
        (lambda b: tlv.build(0xBF36, b"".join(c.raw for c in tlv.parse(b).children()[1:])), "bf23"),
        (lambda b: _drop_child(b, 2), "expected tag a1"),
        (lambda b: _drop_child(b, 4), "before the A3"),
        (lambda b: _empty_child(b, 4), "at least one segment"),
        (lambda b: b[:2] + b"\x80" + b[3:], "definite length"),
    ],
)
def test_structure_errors(mutate: Any, message: str) -> None:
    with pytest.raises(BspError, match=message):
        unprotect_bound_profile_package(mutate(_bpp()), KEYS)


def _drop_child(bpp: bytes, index: int) -> bytes:
    children = tlv.parse(bpp).children()
    return tlv.build(0xBF36, b"".join(c.raw for i, c in enumerate(children) if i != index))


def _empty_child(bpp: bytes, index: int) -> bytes:
    children = tlv.parse(bpp).children()
    raw = [tlv.build(c.tag, b"") if i == index else c.raw for i, c in enumerate(children)]
    return tlv.build(0xBF36, b"".join(raw))


def test_wrong_segment_tag_inside_a_sequence() -> None:
    bpp = _bpp()
    segments = _segments(bpp)
    swapped = _with_segments(bpp, {1: [segments[0].raw]})  # an 87 inside A1
    with pytest.raises(BspError, match="expected tag 88 in a1"):
        unprotect_bound_profile_package(swapped, KEYS)


def test_replace_session_keys_parsing_errors() -> None:
    with pytest.raises(BspError, match="expected tag bf26"):
        session_keys_from_replace_request(CONFIGURE_ISDP)
    with pytest.raises(BspError, match="ReplaceSessionKeysRequest"):
        session_keys_from_replace_request(tlv.build(0xBF26, tlv.build(0x80, bytes(16))))


def test_replace_session_keys_with_a_short_key_is_a_bsp_error_of_its_segment() -> None:
    """Correctly MACed, but PPK-ENC is 8 bytes: a BspError naming the A2 segment, which sticks."""
    session = BspSession(KEYS)
    short = tlv.build(
        0xBF26, tlv.build(0x80, bytes(16)) + tlv.build(0x81, bytes(8)) + tlv.build(0x82, bytes(16))
    )
    bpp = tlv.build(
        0xBF36,
        ISCR
        + tlv.build(0xA0, session.protect(0x87, CONFIGURE_ISDP))
        + tlv.build(0xA1, session.protect(0x88, STORE_METADATA))
        + tlv.build(0xA2, session.protect(0x87, short))
        + tlv.build(0xA3, session.protect(0x86, b"profile")),
    )
    with pytest.raises(BspError) as caught:
        unprotect_bound_profile_package(bpp, KEYS)
    assert caught.value.segment == 2 and "16-byte" in str(caught.value)
    reader = BppReader(lambda iscr: KEYS)
    with pytest.raises(BspError) as first:
        reader.feed(bpp)
    with pytest.raises(BspError) as again:
        reader.close()
    assert first.value.segment == 2 and again.value is first.value


# --- property tests -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    chunks=st.lists(
        st.tuples(st.sampled_from([0x86, 0x87, 0x88]), st.binary(min_size=0, max_size=300)),
        min_size=1,
        max_size=6,
    )
)
def test_session_round_trip(chunks: list[tuple[int, bytes]]) -> None:
    sender, receiver = BspSession(KEYS), BspSession(KEYS)
    for tag, data in chunks:
        assert receiver.unprotect(sender.protect(tag, data)) == data
    assert sender.mcv == receiver.mcv


@settings(max_examples=30, deadline=None)
@given(
    profile=st.binary(min_size=1, max_size=2500),
    size=st.integers(min_value=26, max_value=MAX_SEGMENT_SIZE),
    rsk=st.booleans(),
    piece=st.integers(min_value=1, max_value=700),
)
def test_bpp_round_trip(profile: bytes, size: int, rsk: bool, piece: int) -> None:
    bpp = _bpp(rsk=rsk, profile=profile, size=size)
    assert all(len(s.raw) <= size for s in _segments(bpp))
    reader = BppReader(KEYS)
    out = bytearray()
    for start in range(0, len(bpp), piece):
        for part in reader.feed(bpp[start : start + piece]):
            if part.kind is PartKind.PROFILE_DATA:
                out += part.data
    reader.close()
    assert bytes(out) == profile
