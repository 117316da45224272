"""Profiles: ``ProfileInfo`` (SGP.22 section 5.7.15) and the metadata a user consents to
(``StoreMetadataRequest``, section 5.5.3)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import Field

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

#: The ``PprIds`` bit names (SGP.22 section 2.9), by bit number.
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
    """A bit of ``NotificationEvent`` (SGP.22 section 5.7.9; bits 4 to 7 are v3's).

    ``install`` is the standard's ``notificationInstall``, ``rpmEnable`` its
    ``notificationRpmEnable``...; bits the standard does not name are kept as ``"bitN"``.
    """

    INSTALL = "install"
    ENABLE = "enable"
    DISABLE = "disable"
    DELETE = "delete"
    RPM_ENABLE = "rpmEnable"
    RPM_DISABLE = "rpmDisable"
    RPM_DELETE = "rpmDelete"
    LOAD_RPM_PACKAGE_RESULT = "loadRpmPackageResult"


#: A notification event: a named bit, or ``"bitN"`` for a bit the standard does not name.
Event = Annotated[NotificationEvent | str, Field(union_mode="left_to_right")]


_STATES = {0: "disabled", 1: "enabled"}
_CLASSES = {0: "test", 1: "provisioning", 2: "operational"}
_ICON_TYPES = {0: "jpg", 1: "png"}
#: The ``NotificationEvent`` bit names, by bit number.
EVENT_BITS: tuple[str, ...] = tuple(event.value for event in NotificationEvent)


def events_from_bits(bits: tuple[bytes, int]) -> tuple[NotificationEvent | str, ...]:
    """The events set in a ``NotificationEvent`` BIT STRING; unnamed bits as ``"bitN"``."""
    return tuple(
        NotificationEvent(name) if name in EVENT_BITS else name for name in flags(bits, EVENT_BITS)
    )


class NotificationConfiguration(Model):
    """``NotificationConfigurationInformation``: which operations notify which address."""

    events: tuple[Event, ...]
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
