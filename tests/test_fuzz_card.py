"""Fuzzing the card side: R-APDUs, ES10 answers, BPPs and the VirtualEuicc (issue 9, item 1).

- :mod:`pyrsp.protocol.apdu`: random R-APDUs and status-word sequences (``61xx``, ``6Cxx``,
  errors, short answers) to ``transmit_es10`` and ``load_bpp``, mutated BPPs to ``bpp_pieces``;
  the ATR helpers must never raise at all;
- :mod:`pyrsp.protocol.es10` parsers and sub-flows, and the notification flow, fed mutated
  answers (and random HTTP answers where they talk to the SM-DP+);
- :mod:`pyrsp.bsp`: mutated BPPs (fed whole and in random pieces) against the right keys;
- :class:`pyrsp.testing.euicc.VirtualEuicc` fed random APDU sequences: it must answer every
  APDU with data and a status word and raise nothing, pyrsp errors included.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import strategies as st

from pyrsp import tlv
from pyrsp.bsp import BppReader, build_bound_profile_package, unprotect_bound_profile_package
from pyrsp.crypto import SessionKeys
from pyrsp.protocol import apdu, es10, notifications
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.effects import ConfirmDownload, HttpPost, HttpResponse, Transmit
from test_fuzz_asn1 import hostile_der
from test_fuzz_harness import Target, fuzz_tests, hostile_bytes, mutated

OK = b"\x90\x00"
CONFIG = ApduConfig(channel=1, segment_size=120)

# --- answers and a driver for sans-IO flows ----------------------------------------------------

_SW = st.sampled_from(
    [OK, b"\x61\x00", b"\x61\x10", b"\x61\xff", b"\x6c\x05", b"\x6a\x88", b"\x69\x85", b"\x91\x00",
     b"\x62\x81", b"\x6f\x00", b""]
) | st.binary(min_size=2, max_size=2)  # fmt: skip


def r_apdus(data: st.SearchStrategy[bytes] | None = None) -> st.SearchStrategy[bytes]:
    """R-APDUs: data (hostile or from ``data``) and a status word, or a too-short answer."""
    payload = st.binary(max_size=40) if data is None else data | st.binary(max_size=40)
    return st.one_of(
        st.builds(lambda d, sw: d + sw, payload, _SW),
        st.builds(lambda d: d + OK, payload),
        st.binary(max_size=1),
    )


_STATUS = b'{"header":{"functionExecutionStatus":{"status":"%s"}}}'
_HTTP = st.builds(
    HttpResponse,
    st.sampled_from([200, 204, 500]),
    st.sampled_from([b"", b"{}", _STATUS % b"Executed-Success", _STATUS % b"Failed", b"<html>"]),
)


def drive(flow: Iterator[Any], answers: list[Any]) -> object:
    """Run ``flow``: Transmit and HttpPost take the next answer of their kind, ConfirmDownload
    ``True``, everything else ``None``.

    When the answers run out the flow is closed: a flow that needs more input than was given
    is not a finding.
    """
    cards = [a for a in answers if isinstance(a, bytes)]
    http = [a for a in answers if isinstance(a, HttpResponse)]
    effect = next(flow)
    for _ in range(10_000):
        queue = (
            cards
            if isinstance(effect, Transmit)
            else http
            if isinstance(effect, HttpPost)
            else None
        )
        if queue is not None and not queue:
            flow.close()  # type: ignore[attr-defined]
            return None
        answer = queue.pop(0) if queue is not None else isinstance(effect, ConfirmDownload) or None
        try:
            effect = flow.send(answer)  # type: ignore[attr-defined]
        except StopIteration as stop:
            return stop.value
    raise AssertionError("the flow yielded 10,000 effects for a bounded list of answers")


def _flow_target(
    name: str, make: Callable[[], Iterator[Any]], answers: st.SearchStrategy[list[Any]]
) -> Target:
    return Target(name, answers, lambda given: drive(make(), list(given)))


def _one_answer(type_name: str) -> st.SearchStrategy[list[Any]]:
    """The answer to a one-block ES10 command: DER of ``type_name`` (often mutated) + SW."""
    return st.lists(r_apdus(hostile_der(type_name)), min_size=1, max_size=3)


# --- BPP seeds ---------------------------------------------------------------------------------

KEYS = SessionKeys(initial_mcv=b"\x01" * 16, s_enc=b"\x02" * 16, s_mac=b"\x03" * 16)
_ISCR = tlv.build(0xBF23, bytes.fromhex("820101800401020304"))
_METADATA = tlv.build(0xBF25, tlv.build(0x5A, bytes(10)) + tlv.build(0x91, b"SPN"))


def _bpp(profile: bytes) -> bytes:
    return build_bound_profile_package(
        initialise_secure_channel=_ISCR,
        configure_isdp=bytes.fromhex("bf2400"),
        store_metadata=_METADATA,
        profile_package=profile,
        session_keys=KEYS,
        segment_size=200,
    )


BPPS = st.binary(min_size=1, max_size=600).map(_bpp)


def _unprotect(data: bytes) -> None:
    # BF23 is not MACed (the eUICC checks its signature, not BSP): only its tag is checked here
    result = unprotect_bound_profile_package(data, KEYS)
    assert result.initialise_secure_channel[:2] == b"\xbf\x23"


def _reader(case: tuple[bytes, list[int]]) -> None:
    data, cuts = case
    reader = BppReader(KEYS)
    start = 0
    for cut in [*sorted(cuts), len(data)]:
        reader.feed(data[start:cut])
        start = max(start, cut)
    reader.close()


def _pieces(data: bytes) -> None:
    pieces = apdu.bpp_pieces(data)
    assert b"".join(pieces) == data


def _load_bpp(case: tuple[bytes, list[bytes]]) -> object:
    bpp, answers = case
    return drive(es10.load_bound_profile_package(CONFIG, bpp), answers)


def _atr(data: bytes) -> None:
    apdu.atr_historical_bytes(data)
    apdu.atr_supports_extended(data)


# --- the VirtualEuicc --------------------------------------------------------------------------


@functools.cache
def _pki() -> Any:
    from pyrsp.testing.pki import TestPki

    return TestPki.generate(seed=9)


_OPEN = bytes.fromhex("0070000001")
_SELECT = bytes.fromhex("01A4040010A0000005591010FFFFFFFF8900000100")
ES10_REQUESTS = (
    "GetEuiccChallengeRequest", "GetEuiccInfo1Request", "GetEuiccInfo2Request",
    "ProfileInfoListRequest", "EnableProfileRequest", "DisableProfileRequest",
    "DeleteProfileRequest", "EuiccMemoryResetRequest", "GetEuiccDataRequest",
    "SetNicknameRequest", "ListNotificationRequest", "RetrieveNotificationsListRequest",
    "NotificationSentRequest", "AuthenticateServerRequest", "PrepareDownloadRequest",
    "CancelSessionRequest", "LoadCRLRequest", "EuiccConfiguredAddressesRequest",
    "SetDefaultDpAddressRequest", "GetRatRequest", "BoundProfilePackage",
)  # fmt: skip


def _store_data(request: bytes, size: int, cla: int) -> list[bytes]:
    config = ApduConfig(channel=1, segment_size=size)
    return [bytes([cla]) + block[1:] for block in apdu.store_data_apdus(request, config)]


_ES10 = st.sampled_from(ES10_REQUESTS).flatmap(hostile_der)
_STORE_DATA = st.builds(
    _store_data, _ES10, st.integers(1, 255), st.sampled_from([0x81, 0x80, 0x01, 0xC0, 0x81])
)
_COMMAND = st.builds(
    lambda cla, ins, p1, p2, data, le: bytes([cla, ins, p1, p2]) + data + le,
    st.sampled_from([0x00, 0x01, 0x80, 0x81, 0x40, 0xC0, 0xFF]) | st.integers(0, 255),
    st.sampled_from([0xE2, 0xC0, 0xA4, 0x70, 0xAA, 0xCA, 0xF2]) | st.integers(0, 255),
    st.sampled_from([0x00, 0x04, 0x11, 0x91, 0x80]) | st.integers(0, 255),
    st.integers(0, 255),
    st.binary(max_size=8).map(lambda d: bytes([len(d)]) + d if d else b"") | st.binary(max_size=8),
    st.sampled_from([b"", b"\x00", b"\x00\x00"]),
)
APDU_SEQUENCES = st.tuples(
    st.booleans(),
    st.lists(
        st.one_of(
            _STORE_DATA, _COMMAND.map(lambda c: [c]), st.binary(max_size=12).map(lambda c: [c])
        ),
        max_size=6,
    ),
)


def _virtual_euicc(case: tuple[bool, list[list[bytes]]]) -> None:
    from pyrsp.testing.euicc import VirtualEuicc

    opened, groups = case
    card = VirtualEuicc(_pki())
    apdus = ([_OPEN, _SELECT] if opened else []) + [c for group in groups for c in group]
    for command in apdus:
        try:
            answer = card.transmit(command)
        except Exception as error:  # the invariant here: never raise, even a pyrsp error
            raise AssertionError(f"VirtualEuicc raised on {command.hex()}: {error!r}") from error
        assert isinstance(answer, bytes) and len(answer) >= 2, (command.hex(), answer)


# --- targets -----------------------------------------------------------------------------------

_ES10_PARSERS: dict[str, tuple[str, Callable[[bytes], object]]] = {
    "parse_euicc_info1": ("EUICCInfo1", es10.parse_euicc_info1),
    "parse_profile_installation_result": (
        "ProfileInstallationResult",
        es10.parse_profile_installation_result,
    ),
    "parse_retrieve_notifications_response": (
        "RetrieveNotificationsListResponse",
        es10.parse_retrieve_notifications_response,
    ),
    "authenticate_server_error": ("AuthenticateServerResponse", es10.authenticate_server_error),
    "prepare_download_error": ("PrepareDownloadResponse", es10.prepare_download_error),
}

_ES10_FLOWS: dict[str, tuple[str, Callable[[], Iterator[Any]]]] = {
    "get_euicc_challenge": ("GetEuiccChallengeResponse", lambda: es10.get_euicc_challenge(CONFIG)),
    "get_euicc_info2": ("EUICCInfo2", lambda: es10.get_euicc_info2(CONFIG)),
    "get_euicc_configured_addresses": (
        "EuiccConfiguredAddressesResponse",
        lambda: es10.get_euicc_configured_addresses(CONFIG),
    ),
    "list_notification": ("ListNotificationResponse", lambda: es10.list_notification(CONFIG)),
    "get_profiles_info": ("ProfileInfoListResponse", lambda: es10.get_profiles_info(CONFIG)),
    "get_eid": ("GetEuiccDataResponse", lambda: es10.get_eid(CONFIG)),
    "get_rat": ("GetRatResponse", lambda: es10.get_rat(CONFIG)),
    "enable_profile": (
        "EnableProfileResponse",
        lambda: es10.enable_profile(CONFIG, "89049032123451234512", refresh=True),
    ),
    "cancel_session": (
        "CancelSessionResponse",
        lambda: es10.cancel_session(CONFIG, b"\x01\x02", "postponed"),
    ),
    "remove_notification_from_list": (
        "NotificationSentResponse",
        lambda: es10.remove_notification_from_list(CONFIG, 0),
    ),
    "load_crl": ("LoadCRLResponse", lambda: es10.load_crl(CONFIG, b"\x30\x00")),
}

_NOTIFICATION_ANSWERS = st.lists(
    st.one_of(
        r_apdus(hostile_der("RetrieveNotificationsListResponse")),
        r_apdus(hostile_der("NotificationSentResponse")),
        _HTTP,
    ),
    min_size=1,
    max_size=8,
)

TARGETS = [
    Target(
        "apdu.transmit_es10",
        st.tuples(st.binary(max_size=700), st.lists(r_apdus(), max_size=12)),
        lambda case: drive(apdu.transmit_es10(case[0], CONFIG), case[1]),
    ),
    Target(
        "apdu.atr",
        hostile_bytes(st.just(bytes.fromhex("3B9F96801FC78031E073FE211B63F100E6830F9000B3"))),
        _atr,
    ),
    Target("apdu.bpp_pieces", hostile_bytes(mutated(BPPS)), _pieces),
    Target(
        "es10.load_bound_profile_package",
        st.tuples(
            BPPS | mutated(BPPS),
            st.lists(r_apdus(hostile_der("ProfileInstallationResult")), max_size=14),
        ),
        _load_bpp,
    ),
    *(
        Target(f"es10.{name}", hostile_der(type_name), parse)
        for name, (type_name, parse) in _ES10_PARSERS.items()
    ),
    *(
        _flow_target(f"es10.{name}", make, _one_answer(type_name))
        for name, (type_name, make) in _ES10_FLOWS.items()
    ),
    _flow_target(
        "notifications.process_notifications",
        lambda: notifications.process_notifications(CONFIG),
        _NOTIFICATION_ANSWERS,
    ),
    Target("bsp.unprotect_bound_profile_package", mutated(BPPS) | BPPS, _unprotect),
    Target(
        "bsp.BppReader(pieces)",
        st.tuples(mutated(BPPS) | BPPS, st.lists(st.integers(0, 1500), max_size=6)),
        _reader,
    ),
    Target("VirtualEuicc.transmit", APDU_SEQUENCES, _virtual_euicc),
]

test_fuzz_fast, test_fuzz_long = fuzz_tests(TARGETS)


def test_the_bpp_seeds_unprotect() -> None:
    _unprotect(_bpp(b"profile"))
    _reader((_bpp(b"x" * 500), [5, 300]))
    _pieces(_bpp(b"profile"))


def test_the_virtual_euicc_answers_a_valid_es10_request() -> None:
    from pyrsp.testing.euicc import VirtualEuicc

    card = VirtualEuicc(_pki())
    assert card.transmit(_OPEN)[-2:] == OK
    assert card.transmit(_SELECT)[-2:] == OK
    answer = card.transmit(_store_data(bytes.fromhex("BF3E035C015A"), 255, 0x81)[0])
    assert answer[-2:] == OK and answer.startswith(b"\xbf\x3e")


# Found by this fuzzer (F4): an unknown alternative of a nested CHOICE decodes to (None, None);
# RetrieveNotificationsList raised TypeError out of transmit(), and other handlers took it for
# a known alternative. The card now answers 6A80, as for any request it cannot read.
_UNKNOWN_ALTERNATIVES = {
    # RetrieveNotificationsListRequest { searchCriteria [0] { [2] 00 } }: no such alternative
    "RetrieveNotificationsList": "BF2B05A003820100",
    # ProfileInfoListRequest / Enable / Disable with the ICCID's tag 5A changed to 5B
    "ProfileInfoList": "BF2D0EA00C5B0A98001032547698103214",
    "EnableProfile": "BF3111A00C5B0A980010325476981032148101FF",
    "DisableProfile": "BF3211A00C5B0A980010325476981032148101FF",
}


@pytest.mark.parametrize("function", sorted(_UNKNOWN_ALTERNATIVES))
def test_an_unknown_choice_alternative_gets_6a80(function: str) -> None:
    from pyrsp.testing.euicc import VirtualEuicc

    request = bytes.fromhex(_UNKNOWN_ALTERNATIVES[function])
    card = VirtualEuicc(_pki())
    card.transmit(_OPEN)
    card.transmit(_SELECT)
    assert card.transmit(_store_data(request, 255, 0x81)[0]) == bytes.fromhex("6A80")
