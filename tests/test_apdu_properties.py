"""Properties of the sans-IO card layer: segmentation round trips; hostile cards end in a pyrsp
error, never a crash or an endless exchange."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from pyrsp.errors import PyrspError
from pyrsp.protocol import es10
from pyrsp.protocol.apdu import MAX_PIECES, ApduConfig, store_data_apdus, transmit_es10
from pyrsp.protocol.effects import Flow, Transmit
from pyrsp.protocol.session import open_isdr

configs = st.one_of(
    st.builds(
        ApduConfig,
        channel=st.integers(0, 19),
        segment_size=st.integers(1, 255),
        extended=st.just(False),
    ),
    st.builds(
        ApduConfig,
        channel=st.integers(0, 19),
        segment_size=st.integers(1, 65535),
        extended=st.just(True),
    ),
)


def data_of(apdu: bytes, extended: bool) -> bytes:
    if len(apdu) == 4:
        return b""
    if extended:
        assert apdu[4] == 0
        return apdu[7 : 7 + int.from_bytes(apdu[5:7], "big")]
    return apdu[5 : 5 + apdu[4]]


@given(request=st.binary(max_size=5000), config=configs)
def test_segmentation_round_trips(request: bytes, config: ApduConfig) -> None:
    if len(request) > 256 * config.block_size:
        return
    apdus = store_data_apdus(request, config)
    assert b"".join(data_of(a, config.extended) for a in apdus) == request
    assert [a[3] for a in apdus] == list(range(len(apdus)))
    assert [a[2] for a in apdus] == [0x11] * (len(apdus) - 1) + [0x91]
    assert len({a[0] for a in apdus}) == 1


def drive_hostile(flow: Flow[Any], answers: Iterator[bytes], limit: int) -> None:
    """Answer ``flow`` from ``answers``; it must end (result or pyrsp error) within ``limit``."""
    answer: Any = None
    for _ in range(limit):
        try:
            effect = flow.send(answer)
        except StopIteration:
            return
        except PyrspError:
            return
        answer = next(answers) if isinstance(effect, Transmit) else None
    raise AssertionError(f"the flow was still running after {limit} effects")


r_apdus = st.lists(
    st.one_of(
        st.binary(max_size=40),
        st.binary(max_size=300).map(lambda b: b + b"\x90\x00"),
        st.integers(0, 255).map(lambda n: bytes((0x61, n))),
        st.sampled_from([b"\x90\x00", b"\x6a\x82", b"\x6c\x05", b"\x01\x90\x00"]),
    ),
    min_size=1,
    max_size=20,
)


def cycle(answers: list[bytes]) -> Iterator[bytes]:
    while True:
        yield from answers


@settings(max_examples=60, deadline=None)
@given(answers=r_apdus, size=st.integers(0, 800))
def test_transmit_es10_with_a_hostile_card_ends(answers: list[bytes], size: int) -> None:
    drive_hostile(transmit_es10(bytes(size), ApduConfig()), cycle(answers), 10 + 2 * MAX_PIECES)


@settings(max_examples=60, deadline=None)
@given(answers=r_apdus)
def test_open_isdr_with_a_hostile_card_ends(answers: list[bytes]) -> None:
    drive_hostile(open_isdr(), cycle(answers), 20 + 8 * MAX_PIECES)


FLOWS: list[Callable[[ApduConfig], Flow[Any]]] = [
    es10.get_eid,
    es10.get_euicc_challenge,
    es10.get_euicc_info1,
    es10.get_euicc_info2,
    es10.get_euicc_configured_addresses,
    es10.get_rat,
    es10.get_profiles_info,
    es10.list_notification,
    es10.retrieve_notifications_list,
    lambda c: es10.enable_profile(c, "894910000000000001"),
    lambda c: es10.remove_notification_from_list(c, 0),
    lambda c: es10.cancel_session(c, b"\x01", 0),
    lambda c: es10.authenticate_server(c, b"\xbf\x38\x00"),
    lambda c: es10.prepare_download(c, b"\xbf\x21\x00"),
]


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, len(FLOWS) - 1), body=st.binary(max_size=200))
def test_es10_parsers_raise_only_pyrsp_errors(index: int, body: bytes) -> None:
    drive_hostile(FLOWS[index](ApduConfig()), cycle([body + b"\x90\x00"]), 10)


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, len(FLOWS) - 1), value=st.binary(max_size=120))
def test_es10_parsers_with_the_right_outer_tag(index: int, value: bytes) -> None:
    """A plausible outer TLV (the request's own tag) with random content."""
    request_tag = {0: b"\xbf\x3e", 1: b"\xbf\x2e", 2: b"\xbf\x20", 3: b"\xbf\x22", 4: b"\xbf\x3c"}
    tag = request_tag.get(index, b"\xbf\x2d")
    answer = tag + bytes((len(value),)) + value if len(value) < 128 else tag + b"\x00"
    drive_hostile(FLOWS[index](ApduConfig()), cycle([answer + b"\x90\x00"]), 10)
