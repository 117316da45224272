"""ES10a and the informational ES10b/c functions of the virtual eUICC.

GetEuiccConfiguredAddresses and SetDefaultDpAddress (SGP.22 sections 5.7.3, 5.7.4),
GetEUICCInfo1/2 (5.7.8), LoadCRL (5.7.11, accepted or refused as configured), GetRAT (5.7.22)
and GetEID (5.7.20).
"""

from __future__ import annotations

from typing import Any

from pyrsp import asn1
from pyrsp.testing.euicc.apdu import SW_DATA_NOT_FOUND, CardStatus
from pyrsp.testing.euicc.core import EuiccCore

__all__ = [
    "euicc_info1",
    "euicc_info2",
    "get_configured_addresses",
    "get_eid",
    "get_euicc_info1",
    "get_euicc_info2",
    "get_rat",
    "load_crl",
    "set_default_dp_address",
]

#: usimSupport, isimSupport, csimSupport, akaMilenage, javacard, multipleUsimSupport
_UICC_CAPABILITY = (bytes([0x78, 0x02, 0x80]), 17)
#: additionalProfile, crlSupport, testProfileSupport
_RSP_CAPABILITY = (bytes([0xD0]), 4)


def euicc_info1(core: EuiccCore) -> bytes:
    """EUICCInfo1 (``BF20``): SVN and the CI key id lists."""
    identity = core.identity
    return asn1.encode(
        "EUICCInfo1",
        {
            "svn": core.settings.svn,
            "euiccCiPKIdListForVerification": list(identity.verification_ci_ids),
            "euiccCiPKIdListForSigning": list(identity.signing_ci_ids),
        },
    )


def _ext_card_resource(core: EuiccCore) -> bytes:
    """ETSI TS 102 226 section 8.2.1.3.2: installed applications, free NVM, free RAM."""
    free = core.free_memory.to_bytes(4, "big")
    return bytes([0x81, 0x01, len(core.state.profiles)]) + b"\x82\x04" + free + b"\x83\x02\x10\x00"


def euicc_info2(core: EuiccCore) -> bytes:
    """EUICCInfo2 (``BF22``), with the free memory from the card's accounting."""
    settings = core.settings
    identity = core.identity
    return asn1.encode(
        "EUICCInfo2",
        {
            "profileVersion": settings.profile_version,
            "svn": settings.svn,
            "euiccFirmwareVer": settings.firmware_version,
            "extCardResource": _ext_card_resource(core),
            "uiccCapability": _UICC_CAPABILITY,
            "rspCapability": _RSP_CAPABILITY,
            "euiccCiPKIdListForVerification": list(identity.verification_ci_ids),
            "euiccCiPKIdListForSigning": list(identity.signing_ci_ids),
            "ppVersion": settings.pp_version,
            "sasAcreditationNumber": settings.sas_accreditation_number,
        },
    )


def get_euicc_info1(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.GetEUICCInfo, EUICCInfo1 (section 5.7.8)."""
    return euicc_info1(core)


def get_euicc_info2(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.GetEUICCInfo, EUICCInfo2 (section 5.7.8)."""
    return euicc_info2(core)


def get_configured_addresses(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10a.GetEuiccConfiguredAddresses (section 5.7.3)."""
    value: dict[str, Any] = {"rootDsAddress": core.state.root_ds_address}
    if core.state.default_dp_address:
        value["defaultDpAddress"] = core.state.default_dp_address
    return asn1.encode("EuiccConfiguredAddressesResponse", value)


def set_default_dp_address(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10a.SetDefaultDpAddress (section 5.7.4): an empty address removes it."""
    core.state.default_dp_address = request["defaultDpAddress"] or None
    core.save()
    return asn1.encode("SetDefaultDpAddressResponse", {"setDefaultDpAddressResult": 0})


def get_eid(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10c.GetEID (section 5.7.20): the tagList must ask for ``5A``."""
    if request["tagList"] != b"\x5a":
        raise CardStatus(SW_DATA_NOT_FOUND)
    return asn1.encode("GetEuiccDataResponse", {"eidValue": core.identity.eid_bytes})


def load_crl(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.LoadCRL (section 5.7.11): accepted, or the configured LoadCRLResponseError."""
    if core.settings.crl_result is None:
        return asn1.encode("LoadCRLResponse", ("loadCRLResponseOk", {}))
    return asn1.encode("LoadCRLResponse", ("loadCRLResponseError", core.settings.crl_result))


def get_rat(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.GetRAT (section 5.7.22): the configured Rules Authorisation Table."""
    return asn1.encode("GetRatResponse", {"rat": core.settings.rat})
