"""ES10c local profile management on the virtual eUICC (SGP.22 sections 5.7.15 to 5.7.21).

GetProfilesInfo, EnableProfile, DisableProfile, DeleteProfile, eUICCMemoryReset and
SetNickname. Results are the integers SGP.22 defines, answered in the response, never raised.
Enabling a profile disables the one enabled before; each change leaves the notifications the
profiles' metadata configures. Profile Policy Rules: ppr1 forbids disabling, ppr2 deleting.
"""

from __future__ import annotations

from typing import Any

from pyrsp import asn1
from pyrsp.testing.euicc.core import EuiccCore
from pyrsp.testing.euicc.notifications import record_notification
from pyrsp.testing.euicc.state import ProfileRecord

__all__ = [
    "delete_profile",
    "disable_profile",
    "enable_profile",
    "get_profiles_info",
    "memory_reset",
    "profile_info",
    "set_nickname",
]

OK = 0
NOT_FOUND = 1
WRONG_STATE = 2
DISALLOWED_BY_POLICY = 3
PPR1, PPR2 = 1, 2
OPERATIONAL, TEST = 2, 0

#: ProfileInfo tags (as found in a tagList) -> field names (SGP.22 section 5.7.15).
_TAGS = {
    b"\x5a": "iccid",
    b"\x4f": "isdpAid",
    b"\x9f\x70": "profileState",
    b"\x90": "profileNickname",
    b"\x91": "serviceProviderName",
    b"\x92": "profileName",
    b"\x93": "iconType",
    b"\x94": "icon",
    b"\x95": "profileClass",
    b"\xb6": "notificationConfigurationInfo",
    b"\xb7": "profileOwner",
    b"\xb8": "dpProprietaryData",
    b"\x99": "profilePolicyRules",
}
_FROM_METADATA = (
    "serviceProviderName",
    "profileName",
    "iconType",
    "icon",
    "notificationConfigurationInfo",
    "profileOwner",
    "profilePolicyRules",
)


def profile_info(profile: ProfileRecord) -> dict[str, Any]:
    """The full ProfileInfo value of ``profile``."""
    metadata = asn1.decode("StoreMetadataRequest", profile.metadata)
    info: dict[str, Any] = {
        "iccid": profile.iccid,
        "isdpAid": profile.isdp_aid,
        "profileState": 1 if profile.enabled else 0,
        "profileClass": metadata.get("profileClass", OPERATIONAL),
    }
    if profile.nickname is not None:
        info["profileNickname"] = profile.nickname
    info.update({name: metadata[name] for name in _FROM_METADATA if name in metadata})
    if profile.dp_proprietary_data:
        info["dpProprietaryData"] = asn1.decode("DpProprietaryData", profile.dp_proprietary_data)
    return info


def _tag_names(tag_list: bytes) -> set[str] | None:
    """The field names asked for in a tagList, or ``None`` if it does not parse."""
    names: set[str] = set()
    position = 0
    while position < len(tag_list):
        size = 2 if tag_list[position] & 0x1F == 0x1F else 1
        tag = tag_list[position : position + size]
        if len(tag) != size:
            return None
        if tag in _TAGS:
            names.add(_TAGS[tag])
        position += size
    return names


def _matches(profile: ProfileRecord, criteria: tuple[str, Any] | None) -> bool:
    if criteria is None:
        return True
    kind, value = criteria
    if kind == "iccid":
        return bool(profile.iccid == value)
    if kind == "isdpAid":
        return bool(profile.isdp_aid == value)
    return bool(profile_info(profile)["profileClass"] == value)


def get_profiles_info(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10c.GetProfilesInfo (5.7.15): by searchCriteria, fields limited to the tagList."""
    wanted = _tag_names(request["tagList"]) if "tagList" in request else set(_TAGS.values())
    if wanted is None:
        return asn1.encode("ProfileInfoListResponse", ("profileInfoListError", 1))
    infos = []
    for profile in core.state.profiles:
        if _matches(profile, request.get("searchCriteria")):
            full = profile_info(profile)
            infos.append({k: v for k, v in full.items() if k in wanted})
    return asn1.encode("ProfileInfoListResponse", ("profileInfoListOk", infos))


def _find(core: EuiccCore, identifier: tuple[str, bytes]) -> ProfileRecord | None:
    kind, value = identifier
    if kind == "iccid":
        return core.state.find(iccid=value)
    return core.state.find(aid=value)


def _policy(profile: ProfileRecord) -> set[int]:
    metadata = asn1.decode("StoreMetadataRequest", profile.metadata)
    data, length = metadata.get("profilePolicyRules", (b"", 0))
    return {bit for bit in (PPR1, PPR2) if bit < length and data[0] & (0x80 >> bit)}


def enable_profile(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10c.EnableProfile (5.7.16): the enabled profile, if any, is disabled first."""
    result = _enable(core, request["profileIdentifier"])
    return asn1.encode("EnableProfileResponse", {"enableResult": result})


def _enable(core: EuiccCore, identifier: tuple[str, bytes]) -> int:
    profile = _find(core, identifier)
    if profile is None:
        return NOT_FOUND
    if profile.enabled:
        return WRONG_STATE
    current = next((p for p in core.state.profiles if p.enabled), None)
    if current is not None:
        if PPR1 in _policy(current):
            return DISALLOWED_BY_POLICY
        current.enabled = False
        record_notification(core, current, "disable")
    profile.enabled = True
    record_notification(core, profile, "enable")
    core.save()
    return OK


def disable_profile(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10c.DisableProfile (5.7.17): only an enabled profile without ppr1."""
    profile = _find(core, request["profileIdentifier"])
    if profile is None:
        result = NOT_FOUND
    elif not profile.enabled:
        result = WRONG_STATE
    elif PPR1 in _policy(profile):
        result = DISALLOWED_BY_POLICY
    else:
        profile.enabled = False
        record_notification(core, profile, "disable")
        core.save()
        result = OK
    return asn1.encode("DisableProfileResponse", {"disableResult": result})


def delete_profile(core: EuiccCore, request: tuple[str, bytes], raw: bytes) -> bytes:
    """ES10c.DeleteProfile (5.7.18): only a disabled profile without ppr2."""
    profile = _find(core, request)
    if profile is None:
        result = NOT_FOUND
    elif profile.enabled:
        result = WRONG_STATE
    elif PPR2 in _policy(profile):
        result = DISALLOWED_BY_POLICY
    else:
        core.state.profiles.remove(profile)
        record_notification(core, profile, "delete")
        core.save()
        result = OK
    return asn1.encode("DeleteProfileResponse", {"deleteResult": result})


def memory_reset(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10c.eUICCMemoryReset (5.7.19): delete operational / test profiles, reset default DP."""
    data, length = request["resetOptions"]
    options = {bit for bit in range(3) if bit < length and data[0] & (0x80 >> bit)}
    doomed = [
        p
        for p in core.state.profiles
        if (0 in options and profile_info(p)["profileClass"] == OPERATIONAL)
        or (1 in options and profile_info(p)["profileClass"] == TEST)
    ]
    reset_address = 2 in options and core.state.default_dp_address is not None
    for profile in doomed:
        core.state.profiles.remove(profile)
    if reset_address:
        core.state.default_dp_address = None
    core.save()
    result = OK if doomed or reset_address else NOT_FOUND
    return asn1.encode("EuiccMemoryResetResponse", {"resetResult": result})


def set_nickname(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10c.SetNickname (5.7.21): ok, or iccidNotFound (1)."""
    profile = core.state.find(iccid=request["iccid"])
    if profile is not None:
        profile.nickname = request["profileNickname"]
        core.save()
    result = OK if profile is not None else NOT_FOUND
    return asn1.encode("SetNicknameResponse", {"setNicknameResult": result})
