"""Profiles: ``ProfileInfo`` (SGP.22 section 5.7.15) and the metadata a user consents to
(``StoreMetadataRequest``, section 5.5.3)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, Self

from pyrsp.errors import CodecError
from pyrsp.models._base import Icon, Model, flags, hex_upper, named, optional
from pyrsp.models.identifiers import iccid_from_bytes

__all__ = [
    "DpProprietaryData",
    "IconType",
    "NotificationConfiguration",
    "NotificationEvent",
    "OperatorId",
    "ProfileClass",
    "ProfileInfo",
    "ProfileMetadata",
    "ProfileState",
]

PPR_BITS = ("pprUpdateControl", "ppr1", "ppr2")


class ProfileState(StrEnum):
    """``ProfileState``: whether the profile is enabled."""

    DISABLED = "disabled"
    ENABLED = "enabled"


class ProfileClass(StrEnum):
    """``ProfileClass``: test, provisioning or operational."""

    TEST = "test"
    PROVISIONING = "provisioning"
    OPERATIONAL = "operational"


class IconType(StrEnum):
    """``IconType``: the format of the profile icon."""

    JPG = "jpg"
    PNG = "png"


class NotificationEvent(StrEnum):
    """A bit of ``NotificationEvent``: ``install`` is the standard's ``notificationInstall``..."""

    INSTALL = "install"
    ENABLE = "enable"
    DISABLE = "disable"
    DELETE = "delete"


_STATES = {0: "disabled", 1: "enabled"}
_CLASSES = {0: "test", 1: "provisioning", 2: "operational"}
_ICON_TYPES = {0: "jpg", 1: "png"}
_EVENT_BITS = ("install", "enable", "disable", "delete")


def events_from_bits(bits: tuple[bytes, int]) -> tuple[NotificationEvent, ...]:
    """The events set in a ``NotificationEvent`` BIT STRING; bits beyond 3 raise CodecError."""
    names = flags(bits, _EVENT_BITS)
    unknown = [name for name in names if name not in _EVENT_BITS]
    if unknown:
        raise CodecError(
            f"expected NotificationEvent bits 0-3, got {', '.join(unknown)}",
            path="profileManagementOperation",
        )
    return tuple(NotificationEvent(name) for name in names)


class NotificationConfiguration(Model):
    """``NotificationConfigurationInformation``: which operations notify which address."""

    events: tuple[NotificationEvent, ...]
    address: str

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Self:
        """Build from a decoded ``NotificationConfigurationInformation``."""
        return cls(
            events=events_from_bits(value["profileManagementOperation"]),
            address=value["notificationAddress"],
        )


class OperatorId(Model):
    """``OperatorId``: the profile owner's MCC+MNC digits and group identifiers (hex)."""

    mcc_mnc: str
    gid1: str | None = None
    gid2: str | None = None

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Self:
        """Build from a decoded ``OperatorId``; mccMnc is coded as in EF IMSI (3 bytes BCD)."""
        return cls(
            mcc_mnc=_mcc_mnc(value["mccMnc"]),
            gid1=optional(value, "gid1", hex_upper),
            gid2=optional(value, "gid2", hex_upper),
        )


def _mcc_mnc(data: bytes) -> str:
    """``"310410"`` from ``13 00 14``; bytes that are not BCD stay hex."""
    nibbles = "".join(f"{byte & 0x0F:X}{byte >> 4:X}" for byte in data)
    digits = nibbles[0:3] + nibbles[4:6] + nibbles[3:4].replace("F", "")
    return digits if len(data) == 3 and digits.isdigit() else hex_upper(data)


class DpProprietaryData(Model):
    """``DpProprietaryData``: the OID of the SM-DP+ that owns the proprietary data."""

    dp_oid: str


class _ProfileMetadataBase(Model):
    """The members ``ProfileInfo`` shares with ``StoreMetadataRequest``."""

    iccid: str | None = None
    service_provider_name: str | None = None
    profile_name: str | None = None
    icon_type: IconType | None = None
    icon: Icon | None = None
    profile_class: ProfileClass | None = None
    notification_configuration: tuple[NotificationConfiguration, ...] = ()
    profile_owner: OperatorId | None = None
    policy_rules: tuple[str, ...] = ()


def _metadata_fields(value: Mapping[str, Any]) -> dict[str, Any]:
    """The members shared by ``ProfileInfo`` and ``StoreMetadataRequest``."""
    return {
        "iccid": optional(value, "iccid", iccid_from_bytes),
        "service_provider_name": value.get("serviceProviderName"),
        "profile_name": value.get("profileName"),
        "icon_type": optional(value, "iconType", lambda v: named(v, _ICON_TYPES, "iconType")),
        "icon": value.get("icon"),
        "profile_class": optional(
            value, "profileClass", lambda v: named(v, _CLASSES, "profileClass")
        ),
        "notification_configuration": tuple(
            NotificationConfiguration.from_asn1(item)
            for item in value.get("notificationConfigurationInfo", ())
        ),
        "profile_owner": optional(value, "profileOwner", OperatorId.from_asn1),
        "policy_rules": flags(value["profilePolicyRules"], PPR_BITS)
        if "profilePolicyRules" in value
        else (),
    }


class ProfileInfo(_ProfileMetadataBase):
    """``ProfileInfo`` (SGP.22 section 5.7.15): one profile as GetProfilesInfo lists it.

    Every field is optional because the LPA may ask for a subset of tags.
    """

    isdp_aid: str | None = None
    state: ProfileState | None = None
    nickname: str | None = None
    dp_proprietary_data: DpProprietaryData | None = None
    hri_server_address: str | None = None
    enabled_on_esim_port: int | None = None
    profile_size: int | None = None

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Self:
        """Build from a decoded ``ProfileInfo``."""
        return cls(
            isdp_aid=optional(value, "isdpAid", hex_upper),
            state=optional(value, "profileState", lambda v: named(v, _STATES, "profileState")),
            nickname=value.get("profileNickname"),
            dp_proprietary_data=optional(
                value, "dpProprietaryData", lambda v: DpProprietaryData(dp_oid=v["dpOid"])
            ),
            hri_server_address=value.get("hriServerAddress"),
            enabled_on_esim_port=value.get("enabledOnEsimPort"),
            profile_size=value.get("profileSize"),
            **_metadata_fields(value),
        )


class ProfileMetadata(_ProfileMetadataBase):
    """``StoreMetadataRequest`` (SGP.22 section 5.5.3): what the user consents to download."""

    iccid: str
    service_provider_name: str
    profile_name: str
    profile_class: ProfileClass = ProfileClass.OPERATIONAL

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Self:
        """Build from a decoded ``StoreMetadataRequest`` (profileMetadata of ES9+)."""
        fields = _metadata_fields(value)
        if fields["profile_class"] is None:
            del fields["profile_class"]
        return cls(**fields)
