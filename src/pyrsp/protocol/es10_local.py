"""ES10c: local profile management on the eUICC, sans-IO (SGP.22 sections 5.7.15 to 5.7.21).

GetProfilesInfo, EnableProfile, DisableProfile, DeleteProfile, eUICCMemoryReset, GetEID and
SetNickname, each as a request builder and a sub-flow; re-exported by
:mod:`pyrsp.protocol.es10`. A profile is named by its ICCID (a digit string, 18 to 20 digits,
always sent as 10 bytes) or its ISD-P AID (``bytes``, or a hex string).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pyrsp import asn1
from pyrsp.errors import CodecError, UsageError
from pyrsp.models import ProfileClass, ProfileInfo, eid_from_bytes, iccid_to_bytes
from pyrsp.models.profile import EVENT_BITS, NotificationEvent
from pyrsp.protocol import es10_codes as codes
from pyrsp.protocol.apdu import ApduConfig, transmit_es10
from pyrsp.protocol.effects import Flow

__all__ = [
    "GET_EID",
    "build_delete_profile_request",
    "build_disable_profile_request",
    "build_enable_profile_request",
    "build_memory_reset_request",
    "build_profiles_info_request",
    "build_set_nickname_request",
    "delete_profile",
    "disable_profile",
    "enable_profile",
    "euicc_memory_reset",
    "get_eid",
    "get_profiles_info",
    "profile_identifier",
    "set_nickname",
]

#: GetEuiccDataRequest asking for the EID: ``BF3E 03 5C 01 5A`` (5.7.20).
GET_EID = bytes.fromhex("BF3E035C015A")

_CLASSES = {"test": 0, "provisioning": 1, "operational": 2}
_GSMA_RID = "A000000559"  # the GSMA RID, the start of every ISD-P AID


def decode_answer(type_name: str, der: bytes) -> Any:
    """Decode the eUICC's answer as ``type_name``; an empty answer is a :class:`CodecError`."""
    if not der:
        raise CodecError(
            f"expected a {type_name} from the eUICC, got an empty answer", type_name=type_name
        )
    return asn1.decode(type_name, der)


def named_bits(indexes: Iterable[int]) -> tuple[bytes, int]:
    """A DER named BIT STRING with ``indexes`` set (trailing zero bits removed)."""
    chosen = sorted(set(indexes))
    size = chosen[-1] + 1 if chosen else 0
    data = bytearray((size + 7) // 8)
    for i in chosen:
        data[i // 8] |= 0x80 >> (i % 8)
    return bytes(data), size


def event_bits(event: NotificationEvent | str) -> tuple[bytes, int]:
    """A NotificationEvent BIT STRING with the one bit of ``event`` (``"install"``...).

    Names are matched ignoring case and a ``notification`` prefix (``notificationRpmEnable``).
    """
    name = str(event).lower().removeprefix("notification")
    names = [known.lower() for known in EVENT_BITS]
    if name not in names:
        expected = ", ".join(EVENT_BITS)
        raise UsageError(f"expected a notification event ({expected}), got {event!r}")
    return named_bits([names.index(name)])


def profile_identifier(profile: str | bytes) -> tuple[str, bytes]:
    """``("iccid", 10 bytes)`` or ``("isdpAid", aid)`` for an ICCID or ISD-P AID (SGP.22 5.7.16).

    A string of 18 to 20 digits (``F`` padding allowed) is an ICCID, always encoded as 10
    bytes. An ISD-P AID of 5 to 16 bytes is given as ``bytes``, or as a hex string starting
    with the GSMA RID ``A000000559``. Any other string (a mistyped ICCID) is a
    :class:`UsageError`, never sent as an AID.
    """
    if isinstance(profile, str):
        digits = profile.rstrip("Ff")
        if digits.isascii() and digits.isdigit() and 18 <= len(digits) <= 20:
            return "iccid", iccid_to_bytes(profile)
        try:
            if not profile.upper().startswith(_GSMA_RID):
                raise ValueError(profile)
            profile = bytes.fromhex(profile)
        except ValueError:
            raise UsageError(
                "expected an ICCID (18-20 digits) or an ISD-P AID (hex starting with "
                f"{_GSMA_RID}), got {profile!r}"
            ) from None
    if not 5 <= len(profile) <= 16:
        raise UsageError(f"expected an ISD-P AID of 5 to 16 bytes, got {profile.hex().upper()}")
    return "isdpAid", bytes(profile)


# -- GetProfilesInfo (5.7.15) ------------------------------------------------------------------


def build_profiles_info_request(
    *,
    iccid: str | None = None,
    isdp_aid: bytes | str | None = None,
    profile_class: ProfileClass | str | None = None,
    tags: Iterable[int] | None = None,
) -> bytes:
    """ProfileInfoListRequest (5.7.15): at most one search criterion (wrapped in ``A0``), and tags.

    ``tags`` are the ProfileInfo tags wanted (``0x5A``, ``0x9F70``, ``0x90``...); ``None``
    asks for the eUICC's default set.
    """
    criteria = [c for c in (iccid, isdp_aid, profile_class) if c is not None]
    if len(criteria) > 1:
        raise UsageError("search profiles by one of iccid, isdp_aid or profile_class, not several")
    value: dict[str, Any] = {}
    if iccid is not None:
        value["searchCriteria"] = ("iccid", iccid_to_bytes(iccid))
    elif isdp_aid is not None:
        value["searchCriteria"] = ("isdpAid", _aid(isdp_aid))
    elif profile_class is not None:
        value["searchCriteria"] = ("profileClass", _profile_class(profile_class))
    if tags is not None:
        value["tagList"] = b"".join(_tag_bytes(tag) for tag in tags)
    return asn1.encode("ProfileInfoListRequest", value)


def _aid(aid: bytes | str) -> bytes:
    """An ISD-P AID given as bytes or hex."""
    try:
        raw = aid if isinstance(aid, bytes) else bytes.fromhex(aid)
    except ValueError:
        raise UsageError(f"expected an ISD-P AID in hex, got {aid!r}") from None
    return profile_identifier(raw)[1]


def _tag_bytes(tag: int) -> bytes:
    """A BER tag number such as ``0x5A`` or ``0x9F70`` as its bytes."""
    if not 0 < tag <= 0xFFFFFF:
        raise UsageError(f"expected a tag such as 0x5A or 0x9F70, got {tag!r}")
    return tag.to_bytes((tag.bit_length() + 7) // 8, "big")


def _profile_class(profile_class: ProfileClass | str) -> int:
    if str(profile_class) not in _CLASSES:
        raise UsageError(f"expected a profile class ({', '.join(_CLASSES)}), got {profile_class!r}")
    return _CLASSES[str(profile_class)]


def get_profiles_info(
    config: ApduConfig,
    *,
    iccid: str | None = None,
    isdp_aid: bytes | str | None = None,
    profile_class: ProfileClass | str | None = None,
    tags: Iterable[int] | None = None,
) -> Flow[list[ProfileInfo]]:
    """GetProfilesInfo (5.7.15): the profiles on the eUICC, optionally filtered.

    profileClass is ``DEFAULT operational`` in SGP.22, so DER leaves it out for an operational
    profile: when the class was asked for (``tags`` ``None`` or with ``0x95``), a profile
    without one is operational.
    """
    tags = None if tags is None else tuple(tags)
    request = build_profiles_info_request(
        iccid=iccid, isdp_aid=isdp_aid, profile_class=profile_class, tags=tags
    )
    kind, value = decode_answer(
        "ProfileInfoListResponse", (yield from transmit_es10(request, config))
    )
    if kind != "profileInfoListOk":
        raise codes.euicc_error("GetProfilesInfo", value, codes.PROFILE_INFO_ERRORS)
    if tags is None or 0x95 in tags:
        value = [{"profileClass": _CLASSES["operational"]} | item for item in value]
    return [ProfileInfo.from_asn1(item) for item in value]


# -- Enable, Disable, Delete (5.7.16 to 5.7.18) --------------------------------------------------


def build_enable_profile_request(profile: str | bytes, *, refresh: bool) -> bytes:
    """EnableProfileRequest (5.7.16): the profile (``A0``) and refreshFlag (BOOLEAN, ``81``)."""
    value = {"profileIdentifier": profile_identifier(profile), "refreshFlag": refresh}
    return asn1.encode("EnableProfileRequest", value)


def enable_profile(
    config: ApduConfig, profile: str | bytes, *, refresh: bool = False
) -> Flow[None]:
    """EnableProfile (5.7.16). ``refresh`` asks the eUICC to REFRESH the terminal."""
    answer = yield from transmit_es10(
        build_enable_profile_request(profile, refresh=refresh), config
    )
    value = decode_answer("EnableProfileResponse", answer)
    codes.raise_for_result("EnableProfile", value["enableResult"], codes.ENABLE_ERRORS)


def build_disable_profile_request(profile: str | bytes, *, refresh: bool) -> bytes:
    """DisableProfileRequest (5.7.17): the profile (``A0``) and refreshFlag (BOOLEAN, ``81``)."""
    value = {"profileIdentifier": profile_identifier(profile), "refreshFlag": refresh}
    return asn1.encode("DisableProfileRequest", value)


def disable_profile(
    config: ApduConfig, profile: str | bytes, *, refresh: bool = False
) -> Flow[None]:
    """DisableProfile (5.7.17)."""
    request = build_disable_profile_request(profile, refresh=refresh)
    value = decode_answer("DisableProfileResponse", (yield from transmit_es10(request, config)))
    codes.raise_for_result("DisableProfile", value["disableResult"], codes.DISABLE_ERRORS)


def build_delete_profile_request(profile: str | bytes) -> bytes:
    """DeleteProfileRequest (5.7.18): ``BF33`` with the ICCID (``5A``) or ISD-P AID (``4F``)."""
    return asn1.encode("DeleteProfileRequest", profile_identifier(profile))


def delete_profile(config: ApduConfig, profile: str | bytes) -> Flow[None]:
    """DeleteProfile (5.7.18); the profile must be disabled."""
    request = build_delete_profile_request(profile)
    value = decode_answer("DeleteProfileResponse", (yield from transmit_es10(request, config)))
    codes.raise_for_result("DeleteProfile", value["deleteResult"], codes.DELETE_ERRORS)


# -- eUICCMemoryReset, GetEID, SetNickname (5.7.19 to 5.7.21) -----------------------------------


def build_memory_reset_request(
    *, operational_profiles: bool, test_profiles: bool, default_smdp_address: bool
) -> bytes:
    """EuiccMemoryResetRequest (5.7.19): resetOptions (``82``) with the chosen bits."""
    chosen = [operational_profiles, test_profiles, default_smdp_address]
    if not any(chosen):
        raise UsageError("memory reset needs at least one option")
    options = named_bits(i for i, on in enumerate(chosen) if on)
    return asn1.encode("EuiccMemoryResetRequest", {"resetOptions": options})


def euicc_memory_reset(
    config: ApduConfig,
    *,
    operational_profiles: bool = True,
    test_profiles: bool = False,
    default_smdp_address: bool = False,
) -> Flow[None]:
    """eUICCMemoryReset (5.7.19): delete operational and/or test profiles, reset the default
    SM-DP+ address. ``nothingToDelete`` raises :class:`~pyrsp.errors.EuiccError`."""
    request = build_memory_reset_request(
        operational_profiles=operational_profiles,
        test_profiles=test_profiles,
        default_smdp_address=default_smdp_address,
    )
    value = decode_answer("EuiccMemoryResetResponse", (yield from transmit_es10(request, config)))
    codes.raise_for_result("eUICCMemoryReset", value["resetResult"], codes.MEMORY_RESET_ERRORS)


def get_eid(config: ApduConfig) -> Flow[str]:
    """GetEID (5.7.20): the eUICC's 32-digit EID."""
    value = decode_answer("GetEuiccDataResponse", (yield from transmit_es10(GET_EID, config)))
    return eid_from_bytes(value["eidValue"])


def build_set_nickname_request(iccid: str, nickname: str) -> bytes:
    """SetNicknameRequest (5.7.21): the ICCID (10 bytes) and a nickname (at most 64 bytes)."""
    if len(nickname.encode()) > 64:
        raise UsageError(f"a nickname is at most 64 bytes of UTF-8, got {len(nickname.encode())}")
    value = {"iccid": iccid_to_bytes(iccid), "profileNickname": nickname}
    return asn1.encode("SetNicknameRequest", value)


def set_nickname(config: ApduConfig, iccid: str, nickname: str) -> Flow[None]:
    """SetNickname (5.7.21); an empty nickname removes it."""
    request = build_set_nickname_request(iccid, nickname)
    value = decode_answer("SetNicknameResponse", (yield from transmit_es10(request, config)))
    codes.raise_for_result("SetNickname", value["setNicknameResult"], codes.SET_NICKNAME_ERRORS)
