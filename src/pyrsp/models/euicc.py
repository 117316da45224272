"""eUICC information: ``EUICCInfo1`` and ``EUICCInfo2`` (SGP.22 section 5.7.8)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pyrsp import tlv
from pyrsp.errors import CodecError, TlvError
from pyrsp.models._base import Model, flags, hex_upper, named, optional, version
from pyrsp.models.profile import PPR_BITS

__all__ = ["CertificationData", "EuiccInfo1", "EuiccInfo2", "ExtCardResource", "IotSpecificInfo"]

UICC_CAPABILITY_BITS = (
    "contactlessSupport", "usimSupport", "isimSupport", "csimSupport", "akaMilenage", "akaCave",
    "akaTuak128", "akaTuak256", "usimTestAlgorithm", "rfu2", "gbaAuthenUsim", "gbaAuthenISim",
    "mbmsAuthenUsim", "eapClient", "javacard", "multos", "multipleUsimSupport",
    "multipleIsimSupport", "multipleCsimSupport", "berTlvFileSupport", "dfLinkSupport", "catTp",
    "getIdentity", "profile-a-x25519", "profile-b-p256", "suciCalculatorApi", "dns-resolution",
    "scp11ac", "scp11c-authorization-mechanism", "s16mode", "eaka", "iotminimal",
)  # fmt: skip
RSP_CAPABILITY_BITS = (
    "additionalProfile", "crlSupport", "rpmSupport", "testProfileSupport",
    "deviceInfoExtensibilitySupport", "serviceSpecificDataSupport", "hriServerAddressSupport",
    "serviceProviderMessageSupport", "lpaProxySupport", "enterpriseProfilesSupport",
    "serviceDescriptionSupport", "deviceChangeSupport", "encryptedDeviceChangeDataSupport",
    "estimatedProfileSizeIndicationSupport", "profileSizeInProfilesInfoSupport",
    "crlStaplingV3Support", "certChainV3VerificationSupport", "signedSmdsResponseV3Support",
    "euiccRspCapInInfo1", "osUpdateSupport", "cancelForEmptySpnPnSupport",
    "updateNotifConfigInfoSupport", "updateMetadataV3Support", "v3ObjectsInCtxParamsCASupport",
    "pushServiceV3Support",
)  # fmt: skip
TRE_PROPERTY_BITS = ("isDiscrete", "isIntegrated", "usesRemoteMemory")
EUICC_CATEGORIES = {0: "other", 1: "basicEuicc", 2: "mediumEuicc", 3: "contactlessEuicc"}
LPA_MODES = {0: "lpad", 1: "lpae"}


class EuiccInfo1(Model):
    """``EUICCInfo1`` (SGP.22 section 5.7.8): the SVN and the CI key ids the eUICC trusts."""

    svn: str
    ci_pkids_for_verification: tuple[str, ...]
    ci_pkids_for_signing: tuple[str, ...]
    ci_pkids_for_signing_v3: tuple[str, ...] | None = None
    euicc_rsp_capability: tuple[str, ...] | None = None
    highest_svn: str | None = None

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Self:
        """Build from a decoded ``EUICCInfo1``."""
        return cls(
            svn=version(value["svn"]),
            ci_pkids_for_verification=tuple(
                map(hex_upper, value["euiccCiPKIdListForVerification"])
            ),
            ci_pkids_for_signing=tuple(map(hex_upper, value["euiccCiPKIdListForSigning"])),
            ci_pkids_for_signing_v3=optional(
                value, "euiccCiPKIdListForSigningV3", lambda ids: tuple(map(hex_upper, ids))
            ),
            euicc_rsp_capability=optional(
                value, "euiccRspCapability", lambda bits: flags(bits, RSP_CAPABILITY_BITS)
            ),
            highest_svn=optional(value, "highestSvn", version),
        )


class ExtCardResource(Model):
    """``extCardResource`` of EUICCInfo2 (ETSI TS 102 226 section 8.2.1.7.2); bytes of memory."""

    installed_applications: int | None = None
    free_non_volatile_memory: int | None = None
    free_volatile_memory: int | None = None

    @classmethod
    def from_bytes(cls, data: bytes) -> Self:
        """Parse the TLVs ``81`` (installed applications), ``82`` and ``83`` (free memory)."""
        try:
            items = {item.tag: int.from_bytes(item.value, "big") for item in tlv.parse_all(data)}
        except TlvError as error:
            raise CodecError(
                f"expected extCardResource TLVs, got {data.hex()}: {error}",
                type_name="EUICCInfo2",
                path="extCardResource",
            ) from error
        return cls(
            installed_applications=items.get(0x81),
            free_non_volatile_memory=items.get(0x82),
            free_volatile_memory=items.get(0x83),
        )


class CertificationData(Model):
    """``CertificationDataObject`` of EUICCInfo2 (GlobalPlatform DLOA)."""

    platform_label: str
    discovery_base_url: str


class IotSpecificInfo(Model):
    """``IoTSpecificInfo`` of a v3 EUICCInfo2."""

    iot_versions: tuple[str, ...]
    ecall_supported: bool = False
    fallback_supported: bool = False


class EuiccInfo2(Model):
    """``EUICCInfo2`` (SGP.22 section 5.7.8): versions, capabilities, free memory, CI key ids."""

    profile_version: str
    svn: str
    firmware_version: str
    ext_card_resource: ExtCardResource
    uicc_capability: tuple[str, ...]
    ts102241_version: str | None = None
    globalplatform_version: str | None = None
    rsp_capability: tuple[str, ...]
    ci_pkids_for_verification: tuple[str, ...]
    ci_pkids_for_signing: tuple[str, ...]
    euicc_category: str | None = None
    forbidden_profile_policy_rules: tuple[str, ...] | None = None
    pp_version: str
    sas_accreditation_number: str
    certification_data: CertificationData | None = None
    tre_properties: tuple[str, ...] | None = None
    tre_product_reference: str | None = None
    additional_profile_package_versions: tuple[str, ...] | None = None
    lpa_mode: str | None = None
    ci_pkids_for_signing_v3: tuple[str, ...] | None = None
    additional_euicc_info: str | None = None
    highest_svn: str | None = None
    iot_specific_info: IotSpecificInfo | None = None

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Self:
        """Build from a decoded ``EUICCInfo2``."""
        return cls(
            profile_version=version(value["profileVersion"]),
            svn=version(value["svn"]),
            firmware_version=version(value["euiccFirmwareVer"]),
            ext_card_resource=ExtCardResource.from_bytes(value["extCardResource"]),
            uicc_capability=flags(value["uiccCapability"], UICC_CAPABILITY_BITS),
            ts102241_version=optional(value, "ts102241Version", version),
            globalplatform_version=optional(value, "globalplatformVersion", version),
            rsp_capability=flags(value["rspCapability"], RSP_CAPABILITY_BITS),
            ci_pkids_for_verification=tuple(
                map(hex_upper, value["euiccCiPKIdListForVerification"])
            ),
            ci_pkids_for_signing=tuple(map(hex_upper, value["euiccCiPKIdListForSigning"])),
            euicc_category=optional(
                value, "euiccCategory", lambda v: named(v, EUICC_CATEGORIES, "euiccCategory")
            ),
            forbidden_profile_policy_rules=optional(
                value, "forbiddenProfilePolicyRules", lambda bits: flags(bits, PPR_BITS)
            ),
            pp_version=version(value["ppVersion"]),
            sas_accreditation_number=value["sasAcreditationNumber"],
            **_info2_optional(value),
        )


def _info2_optional(value: Mapping[str, Any]) -> dict[str, Any]:
    """The optional EUICCInfo2 members from ``certificationDataObject`` on (v2.3 and v3)."""
    return {
        "certification_data": optional(
            value,
            "certificationDataObject",
            lambda v: CertificationData(
                platform_label=v["platformLabel"], discovery_base_url=v["discoveryBaseURL"]
            ),
        ),
        "tre_properties": optional(
            value, "treProperties", lambda bits: flags(bits, TRE_PROPERTY_BITS)
        ),
        "tre_product_reference": value.get("treProductReference"),
        "additional_profile_package_versions": optional(
            value, "additionalEuiccProfilePackageVersions", lambda vs: tuple(map(version, vs))
        ),
        "lpa_mode": optional(value, "lpaMode", lambda v: named(v, LPA_MODES, "lpaMode")),
        "ci_pkids_for_signing_v3": optional(
            value, "euiccCiPKIdListForSigningV3", lambda ids: tuple(map(hex_upper, ids))
        ),
        "additional_euicc_info": optional(value, "additionalEuiccInfo", hex_upper),
        "highest_svn": optional(value, "highestSvn", version),
        "iot_specific_info": optional(
            value,
            "iotSpecificInfo",
            lambda v: IotSpecificInfo(
                iot_versions=tuple(map(version, v["iotVersion"])),
                ecall_supported="ecallSupported" in v,
                fallback_supported="fallbackSupported" in v,
            ),
        ),
    }
