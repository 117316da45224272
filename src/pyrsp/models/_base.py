"""Shared pieces of the models: the base class, aliases and asn1tools value conversions."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer
from pydantic.alias_generators import to_camel

from pyrsp.errors import CodecError


def version(data: bytes) -> str:
    """``VersionType`` (major, minor, revision bytes) as ``"2.2.0"``."""
    return ".".join(str(byte) for byte in data)


def hex_upper(data: bytes) -> str:
    """Binary identifiers (key ids, AIDs) as upper-case hex."""
    return data.hex().upper()


def flags(value: tuple[bytes, int], names: Sequence[str]) -> tuple[str, ...]:
    """The names of the bits set in an asn1tools BIT STRING ``(bytes, number_of_bits)``."""
    data, size = value
    bits = [i for i in range(min(size, 8 * len(data))) if data[i // 8] & (0x80 >> (i % 8))]
    return tuple(names[i] if i < len(names) else f"bit{i}" for i in bits)


def code(value: int, names: Mapping[int, str]) -> tuple[int, str]:
    """An INTEGER with named values as ``(code, name)``; unknown codes are ``unknown(N)``."""
    return value, names.get(value, f"unknown({value})")


def named(value: int | str, names: Mapping[int, str], field: str) -> str:
    """The standard's name for an INTEGER with named values (asn1tools gives a DEFAULT's name)."""
    if isinstance(value, str) and value in names.values():
        return value
    if isinstance(value, int) and value in names:
        return names[value]
    raise CodecError(f"expected {field} to be one of {dict(names)}, got {value!r}", path=field)


def optional(value: Mapping[str, Any], key: str, convert: Any) -> Any:
    """``convert(value[key])`` for an optional member, ``None`` when it is absent."""
    return convert(value[key]) if key in value else None


def _base64_in(value: object) -> object:
    return base64.b64decode(value, validate=True) if isinstance(value, str) else value


Icon = Annotated[
    bytes,
    BeforeValidator(_base64_in),
    PlainSerializer(lambda data: base64.b64encode(data).decode(), when_used="json"),
]

_ALIASES = {
    "ci_pkids_for_verification": "euiccCiPKIdListForVerification",
    "ci_pkids_for_signing": "euiccCiPKIdListForSigning",
    "ci_pkids_for_signing_v3": "euiccCiPKIdListForSigningV3",
    "firmware_version": "euiccFirmwareVer",
    "sas_accreditation_number": "sasAcreditationNumber",
    "certification_data": "certificationDataObject",
    "additional_profile_package_versions": "additionalEuiccProfilePackageVersions",
    "iot_versions": "iotVersion",
    "state": "profileState",
    "nickname": "profileNickname",
    "policy_rules": "profilePolicyRules",
    "notification_configuration": "notificationConfigurationInfo",
    "events": "profileManagementOperation",
    "event": "profileManagementOperation",
    "address": "notificationAddress",
    "discovery_base_url": "discoveryBaseURL",
}


def _alias(name: str) -> str:
    return _ALIASES.get(name, to_camel(name))


class Model(BaseModel):
    """Frozen; fields by snake_case name or by their SGP.22 name; unknown fields rejected."""

    model_config = ConfigDict(
        frozen=True,
        populate_by_name=True,
        alias_generator=_alias,
        extra="forbid",
        defer_build=True,
    )
