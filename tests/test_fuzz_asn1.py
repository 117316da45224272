"""Fuzzing the DER codec and the models (issue 9, item 1).

``pyrsp.asn1.decode`` is fed, for every ES10 and ES9+ response type, random bytes, TLV-shaped
bytes and mutations of valid encodings (bit flips, truncation, length and tag changes); it must
decode or raise :class:`~pyrsp.errors.CodecError`. The ``pyrsp.models`` constructors are fed
every value the schema allows (what a decoder can hand them) and the decoded values of mutated
DER; they must build a model or raise a :class:`~pyrsp.errors.PyrspError`.

Valid values come from a strategy derived from the parsed schema (:func:`values_of`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import strategies as st

from pyrsp import asn1
from pyrsp.errors import CodecError
from pyrsp.models import (
    EuiccInfo1,
    EuiccInfo2,
    InstallResult,
    NotificationMetadata,
    ProfileInfo,
    ProfileMetadata,
)
from pyrsp.models.profile import NotificationConfiguration, OperatorId
from test_fuzz_harness import Target, fuzz_tests, hostile_bytes

#: Every answer an eUICC gives over ES10 and every TLV an SM-DP+ sends over ES9+ (SGP.22 5.7, 6.5).
RESPONSE_TYPES = (
    "EUICCInfo1", "EUICCInfo2", "EuiccConfiguredAddressesResponse", "SetDefaultDpAddressResponse",
    "GetEuiccChallengeResponse", "AuthenticateServerResponse", "PrepareDownloadResponse",
    "CancelSessionResponse", "LoadCRLResponse", "GetRatResponse", "ProfileInfoListResponse",
    "EnableProfileResponse", "DisableProfileResponse", "DeleteProfileResponse",
    "EuiccMemoryResetResponse", "GetEuiccDataResponse", "SetNicknameResponse",
    "ListNotificationResponse", "RetrieveNotificationsListResponse", "NotificationSentResponse",
    "ProfileInstallationResult", "PendingNotification", "ServerSigned1", "SmdpSigned2",
    "StoreMetadataRequest", "BoundProfilePackage", "InitialiseSecureChannelRequest",
    "ConfigureISDPRequest", "ReplaceSessionKeysRequest", "InitiateAuthenticationResponse",
    "AuthenticateClientResponseEs9", "GetBoundProfilePackageResponse", "CancelSessionResponseEs9",
    "Certificate",
)  # fmt: skip


def _types() -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for module in asn1.parsed_schema().values():
        for name, descriptor in module["types"].items():
            found.setdefault(name, descriptor)
    return found


def _bounds(descriptor: dict[str, Any], default: int) -> tuple[int, int]:
    sizes = descriptor.get("size") or []
    if not sizes or sizes[0] is None:
        return 0, default
    low, high = sizes[0] if isinstance(sizes[0], tuple) else (sizes[0], sizes[0])
    high = default if not isinstance(high, int) else high
    return low, min(high, max(low, default))


def _bit_string(data: bytes, unused: int) -> tuple[bytes, int]:
    if not data:
        return b"", 0
    return data[:-1] + bytes([data[-1] & (0xFF << unused) & 0xFF]), 8 * len(data) - unused


def _octets(low: int, high: int) -> st.SearchStrategy[bytes]:
    return st.binary(min_size=low, max_size=high)


_OIDS = st.builds(
    lambda first, second, rest: ".".join(map(str, [first, second, *rest])),
    st.integers(0, 1),
    st.integers(0, 39),
    st.lists(st.integers(0, 2**32), max_size=4),
) | st.sampled_from(["2.999.10", "1.3.6.1.4.1.31746", "2.5.29.14"])

_LEAVES: dict[str, Callable[[dict[str, Any]], st.SearchStrategy[Any]]] = {
    "OCTET STRING": lambda d: _octets(*_bounds(d, 24)),
    "UTF8String": lambda d: st.text(max_size=_bounds(d, 24)[1] // 4),
    "INTEGER": lambda d: st.integers(0, 20) | st.integers(-(2**40), 2**40),
    "BOOLEAN": lambda d: st.booleans(),
    "NULL": lambda d: st.none(),
    "OBJECT IDENTIFIER": lambda d: _OIDS,
    "BIT STRING": lambda d: st.builds(_bit_string, st.binary(max_size=4), st.integers(0, 7)),
    "ANY": lambda d: st.binary(max_size=40).map(lambda b: b"\x30" + bytes([len(b)]) + b),
}


class _Values:
    """Strategies for the asn1tools value of any type of the schema."""

    def __init__(self) -> None:
        self.types = _types()
        self.cache: dict[str, st.SearchStrategy[Any]] = {}

    def named(self, name: str) -> st.SearchStrategy[Any]:
        if name not in self.cache:
            self.cache[name] = st.deferred(lambda: self.build(self.types[name]))
        return self.cache[name]

    def build(self, descriptor: dict[str, Any]) -> st.SearchStrategy[Any]:
        kind = descriptor["type"]
        if kind in _LEAVES:
            return _LEAVES[kind](descriptor)
        members = [m for m in descriptor.get("members", []) if m is not None]
        if kind == "SEQUENCE":
            required = {m["name"]: self.build(m) for m in members if not m.get("optional")}
            optional = {m["name"]: self.build(m) for m in members if m.get("optional")}
            return st.fixed_dictionaries(required, optional=optional)
        if kind == "CHOICE":
            return st.one_of([st.tuples(st.just(m["name"]), self.build(m)) for m in members])
        if kind == "SEQUENCE OF":
            low, high = _bounds(descriptor, 3)
            return st.lists(self.build(descriptor["element"]), min_size=low, max_size=high)
        return self.named(kind)


VALUES = _Values()


def values_of(type_name: str) -> st.SearchStrategy[Any]:
    """Values of ``type_name`` as asn1tools represents them (what ``decode`` returns)."""
    return VALUES.named(type_name)


def _encode_or_none(type_name: str, value: Any) -> bytes | None:
    try:
        return asn1.encode(type_name, value)
    except CodecError:
        return None  # a generated value that breaks a constraint the strategy does not model


def valid_der(type_name: str) -> st.SearchStrategy[bytes]:
    """Valid DER encodings of ``type_name``."""
    encoded = values_of(type_name).map(lambda v: _encode_or_none(type_name, v))
    return encoded.filter(lambda der: der is not None)  # type: ignore[return-value]


def hostile_der(type_name: str) -> st.SearchStrategy[bytes]:
    """Random bytes, TLV-shaped bytes, valid DER of ``type_name`` and mutations of it."""
    return hostile_bytes(valid_der(type_name))


# --- targets -----------------------------------------------------------------------------------


def _decode(type_name: str) -> Callable[[bytes], object]:
    def feed(der: bytes) -> object:
        value = asn1.decode(type_name, der)
        # a decoded value re-encodes (the codec never hands out what it cannot write)
        asn1.encode(type_name, value) if type_name != "Certificate" else None
        return value

    return feed


def _model(type_name: str, build: Callable[[Any], object]) -> Callable[[Any], object]:
    """Build a model from a value, or from the decoded value when given DER bytes."""

    def feed(value: Any) -> object:
        if isinstance(value, bytes):
            value = asn1.decode(type_name, value)
        return build(value)

    return feed


def _profile_list(value: Any) -> object:
    kind, items = value
    return [ProfileInfo.from_asn1(item) for item in items] if kind == "profileInfoListOk" else None


MODELS: dict[str, tuple[str, Callable[[Any], object]]] = {
    "EuiccInfo1": ("EUICCInfo1", EuiccInfo1.from_asn1),
    "EuiccInfo2": ("EUICCInfo2", EuiccInfo2.from_asn1),
    "ProfileInfo": ("ProfileInfoListResponse", _profile_list),
    "ProfileMetadata": ("StoreMetadataRequest", ProfileMetadata.from_asn1),
    "InstallResult": ("ProfileInstallationResult", InstallResult.from_asn1),
    "NotificationMetadata": ("NotificationMetadata", NotificationMetadata.from_asn1),
    "NotificationConfiguration": (
        "NotificationConfigurationInformation",
        NotificationConfiguration.from_asn1,
    ),
    "OperatorId": ("OperatorId", OperatorId.from_asn1),
}

TARGETS = [
    *(Target(f"asn1.decode[{name}]", hostile_der(name), _decode(name)) for name in RESPONSE_TYPES),
    *(
        Target(
            f"models.{model}.from_asn1",
            values_of(type_name) | hostile_der(type_name),
            _model(type_name, build),
        )
        for model, (type_name, build) in MODELS.items()
    ),
]

test_fuzz_fast, test_fuzz_long = fuzz_tests(TARGETS)


def test_every_response_type_is_in_the_schema() -> None:
    types = _types()
    assert [name for name in RESPONSE_TYPES if name not in types] == []


def test_valid_der_decodes() -> None:
    """The seeds are valid: a fuzz run over them is not a run over garbage only."""
    from hypothesis import given

    from test_fuzz_harness import fuzz_settings

    @fuzz_settings(30)
    @given(
        st.sampled_from(RESPONSE_TYPES[:-1]).flatmap(lambda n: st.tuples(st.just(n), valid_der(n)))
    )
    def check(case: tuple[str, bytes]) -> None:
        name, der = case
        assert asn1.encode(name, asn1.decode(name, der)) == der

    check()


def test_an_unknown_final_result_is_a_codec_error() -> None:
    """Found by the fuzzer: an extensible CHOICE with an alternative the schema lacks decodes
    to ``(None, None)``; InstallResult raised TypeError on it."""
    value = {
        "profileInstallationResultData": {
            "transactionId": b"\x01",
            "notificationMetadata": {
                "seqNumber": 1,
                "profileManagementOperation": (b"\x80", 1),
                "notificationAddress": "a",
            },
            "finalResult": ("successResult", {"aid": b"\x01" * 5, "simaResponse": b""}),
        },
        "euiccSignPIR": b"\x01" * 64,
    }
    der = asn1.encode("ProfileInstallationResult", value)
    unknown = der.replace(bytes.fromhex("a20ba009"), bytes.fromhex("a20ba509"))  # A0 -> A5
    decoded = asn1.decode("ProfileInstallationResult", unknown)
    assert decoded["profileInstallationResultData"]["finalResult"] == (None, None)
    with pytest.raises(CodecError, match="finalResult"):
        InstallResult.from_asn1(decoded)
