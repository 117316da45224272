"""Hypothesis round trips, decode(encode(v)) == v, for every type of the schema.

Values are drawn from strategies derived from the parsed schema itself (member names,
optionality, size constraints), so a type added to ``asn1/rsp.asn`` is covered with no edit
here. The encoding of each value must also be strict on decode: one byte cut off, one byte
appended, or a foreign outer tag is a CodecError naming the type.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyrsp import asn1
from pyrsp.errors import CodecError

MODULE = "RSPDefinitions"

# The top-level messages of ES10a/b/c, ES8+ and ES9+ (SGP.22 sections 5.5 to 5.7 and 6.5).
MESSAGE_TYPES = [
    "GetEuiccInfo1Request", "EUICCInfo1", "GetEuiccInfo2Request", "EUICCInfo2",
    "EuiccConfiguredAddressesRequest", "EuiccConfiguredAddressesResponse",
    "SetDefaultDpAddressRequest", "SetDefaultDpAddressResponse",
    "GetEuiccChallengeRequest", "GetEuiccChallengeResponse",
    "AuthenticateServerRequest", "AuthenticateServerResponse",
    "PrepareDownloadRequest", "PrepareDownloadResponse",
    "CancelSessionRequest", "CancelSessionResponse", "LoadCRLRequest", "LoadCRLResponse",
    "GetRatRequest", "GetRatResponse", "ProfileInfoListRequest", "ProfileInfoListResponse",
    "EnableProfileRequest", "EnableProfileResponse", "DisableProfileRequest",
    "DisableProfileResponse", "DeleteProfileRequest", "DeleteProfileResponse",
    "EuiccMemoryResetRequest", "EuiccMemoryResetResponse", "GetEuiccDataRequest",
    "GetEuiccDataResponse", "SetNicknameRequest", "SetNicknameResponse",
    "ListNotificationRequest", "ListNotificationResponse", "RetrieveNotificationsListRequest",
    "RetrieveNotificationsListResponse", "NotificationSentRequest", "NotificationSentResponse",
    "BoundProfilePackage", "InitialiseSecureChannelRequest", "ConfigureISDPRequest",
    "StoreMetadataRequest", "ReplaceSessionKeysRequest", "ProfileInstallationResult",
    "PendingNotification", "NotificationMetadata", "OtherSignedNotification",
    "ServerSigned1", "SmdpSigned2", "EuiccSigned1", "EUICCSigned2", "CtxParams1", "DeviceInfo",
    "ProfileInfo", "InitiateAuthenticationRequest", "InitiateAuthenticationResponse",
    "AuthenticateClientRequest", "AuthenticateClientResponseEs9",
    "GetBoundProfilePackageRequest", "GetBoundProfilePackageResponse", "HandleNotification",
    "CancelSessionRequestEs9", "CancelSessionResponseEs9",
    "RemoteProfileProvisioningRequest", "RemoteProfileProvisioningResponse",
    "UpdateMetadataRequest", "LpaeActivationRequest", "LpaeActivationResponse",
    "ISDRProprietaryApplicationTemplate", "AuthenticateClientResponseEs11",
]  # fmt: skip

# A tag no type of the schema uses: PRIVATE 5, primitive.
FOREIGN_TAG = 0xC5


def _size_bounds(descriptor: dict[str, Any], default_max: int) -> tuple[int, int]:
    sizes = descriptor.get("size") or []
    if not sizes:
        return 0, default_max
    size = sizes[0]
    low, high = size if isinstance(size, tuple) else (size, size)
    return low, min(high, max(low, default_max))


def _tlv(content: bytes) -> bytes:
    """A SEQUENCE TLV (tag 30, as a certificate) standing in for an opaque ANY value."""
    n = len(content)
    length = bytes([n]) if n < 128 else bytes([0x81, n]) if n < 256 else b"\x82" + n.to_bytes(2)
    return b"\x30" + length + content


def _oids() -> st.SearchStrategy[str]:
    def build(first: int, second: int, rest: list[int]) -> str:
        return ".".join(str(arc) for arc in [first, second, *rest])

    small = st.integers(0, 39)
    first_two = st.one_of(
        st.tuples(st.sampled_from([0, 1]), small), st.tuples(st.just(2), st.integers(0, 2**20))
    )
    rest = st.lists(st.integers(0, 2**32), max_size=5)
    return st.builds(lambda pair, tail: build(pair[0], pair[1], tail), first_two, rest)


def _bit_strings() -> st.SearchStrategy[tuple[bytes, int]]:
    def build(data: bytes, unused: int) -> tuple[bytes, int]:
        if not data:
            return b"", 0
        last = data[-1] & (0xFF << unused) & 0xFF
        return data[:-1] + bytes([last]), len(data) * 8 - unused

    return st.builds(build, st.binary(max_size=5), st.integers(0, 7))


class _Strategies:
    """Builds a hypothesis strategy for any type descriptor of the parsed schema."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.types: dict[str, dict[str, Any]] = {}
        for module in schema.values():
            self.types.update(module["types"])
        self.cache: dict[str, st.SearchStrategy[Any]] = {}

    def named(self, name: str) -> st.SearchStrategy[Any]:
        if name not in self.cache:
            self.cache[name] = self.build(self.types[name])
        return self.cache[name]

    def build(self, descriptor: dict[str, Any]) -> st.SearchStrategy[Any]:
        kind = descriptor["type"]
        builder = getattr(self, "_" + kind.replace(" ", "_").lower(), None)
        if builder is not None:
            return builder(descriptor)  # type: ignore[no-any-return]
        return self.named(kind)

    def _sequence(self, descriptor: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
        required: dict[str, st.SearchStrategy[Any]] = {}
        optional: dict[str, st.SearchStrategy[Any]] = {}
        for member in descriptor["members"]:
            if member is None:  # extension marker
                continue
            target = optional if member.get("optional") else required
            target[member["name"]] = self.build(member)
        return st.fixed_dictionaries(required, optional=optional)

    def _choice(self, descriptor: dict[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
        alternatives = [m for m in descriptor["members"] if m is not None]
        return st.one_of([st.tuples(st.just(m["name"]), self.build(m)) for m in alternatives])

    def _sequence_of(self, descriptor: dict[str, Any]) -> st.SearchStrategy[list[Any]]:
        low, high = _size_bounds(descriptor, 3)
        return st.lists(self.build(descriptor["element"]), min_size=low, max_size=high)

    def _octet_string(self, descriptor: dict[str, Any]) -> st.SearchStrategy[bytes]:
        low, high = _size_bounds(descriptor, 40)
        return st.binary(min_size=low, max_size=high)

    def _utf8string(self, descriptor: dict[str, Any]) -> st.SearchStrategy[str]:
        _, high = _size_bounds(descriptor, 64)
        return st.text(max_size=high // 4)

    def _bit_string(self, descriptor: dict[str, Any]) -> st.SearchStrategy[tuple[bytes, int]]:
        return _bit_strings()

    def _integer(self, descriptor: dict[str, Any]) -> st.SearchStrategy[int]:
        return st.integers(-(2**63), 2**63)

    def _boolean(self, descriptor: dict[str, Any]) -> st.SearchStrategy[bool]:
        return st.booleans()

    def _null(self, descriptor: dict[str, Any]) -> st.SearchStrategy[None]:
        return st.none()

    def _object_identifier(self, descriptor: dict[str, Any]) -> st.SearchStrategy[str]:
        return _oids()

    def _any(self, descriptor: dict[str, Any]) -> st.SearchStrategy[bytes]:
        return st.binary(max_size=300).map(_tlv)


STRATEGIES = _Strategies(asn1.parsed_schema())
TYPE_NAMES = list(asn1.type_names())


def test_every_message_type_is_in_the_schema() -> None:
    assert sorted(set(MESSAGE_TYPES) - set(TYPE_NAMES)) == []


def test_type_names_are_rspdefinitions_types() -> None:
    assert set(TYPE_NAMES) == set(asn1.parsed_schema()[MODULE]["types"])


def _references(descriptor: Any) -> set[str]:
    """Every type name a descriptor mentions, however deeply nested."""
    found: set[str] = set()
    if isinstance(descriptor, dict):
        if isinstance(descriptor.get("type"), str):
            found.add(descriptor["type"])
        for nested in descriptor.values():
            found |= _references(nested)
    elif isinstance(descriptor, list):
        for nested in descriptor:
            found |= _references(nested)
    return found


def test_every_type_is_reached_from_a_message() -> None:
    """So the round trips over MESSAGE_TYPES exercise every type of the schema."""
    reached: set[str] = set()
    pending = list(MESSAGE_TYPES)
    while pending:
        name = pending.pop()
        if name in reached or name not in STRATEGIES.types:
            continue
        reached.add(name)
        pending.extend(_references(STRATEGIES.types[name]))
    assert sorted(set(TYPE_NAMES) - reached) == []


@pytest.mark.parametrize("type_name", MESSAGE_TYPES)
def test_round_trip_and_strict_decode(type_name: str) -> None:
    """decode(encode(v)) == v; cut, extended, re-tagged or corrupted bytes raise CodecError."""

    @settings(
        max_examples=10,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(STRATEGIES.named(type_name), st.integers(min_value=0), st.integers(1, 255))
    def check(value: Any, where: int, xor: int) -> None:
        der = asn1.encode(type_name, value)
        assert asn1.decode(type_name, der) == value
        assert asn1.decode_with_length(type_name, der + b"\x00") == (value, len(der))
        with pytest.raises(CodecError) as trailing:
            asn1.decode(type_name, der + b"\x00")
        assert trailing.value.type_name == type_name
        with pytest.raises(CodecError):
            asn1.decode(type_name, der[:-1])
        with pytest.raises(CodecError):
            asn1.decode(type_name, bytes([FOREIGN_TAG]) + der[1:])
        corrupted = bytearray(der)
        corrupted[where % len(der)] ^= xor
        try:  # a flipped byte may still decode, but any failure must be a CodecError
            asn1.decode(type_name, bytes(corrupted))
        except CodecError as error:
            assert error.type_name == type_name

    check()
