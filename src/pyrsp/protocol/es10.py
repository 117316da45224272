"""ES10a/b/c: the LPA's functions on the eUICC's ISD-R, sans-IO (SGP.22 section 5.7).

Each function has a request builder (``build_*``), a response parser (``parse_*``) and a
sub-flow that sends the request with :func:`~pyrsp.protocol.apdu.transmit_es10` and parses the
answer. Every sub-flow takes the session's :class:`~pyrsp.protocol.apdu.ApduConfig` first::

    challenge = yield from es10.get_euicc_challenge(config)        # 16 raw bytes
    info1 = yield from es10.get_euicc_info1(config)                # BF20... exact bytes

What the LPA forwards to the SM-DP+ is returned as the exact bytes the eUICC sent, never
decoded and re-encoded: EUICCInfo1 (``BF20``), AuthenticateServerResponse (``BF38``),
PrepareDownloadResponse (``BF21``), CancelSessionResponse (``BF41``), the
ProfileInstallationResult (``BF37``) and pending notifications. AuthenticateServer and
PrepareDownload requests are the SM-DP+'s TLVs concatenated as received. Everything else comes
back as :mod:`pyrsp.models` values. A result code other than ok raises
:class:`~pyrsp.errors.EuiccError` with the standard's name for it (``iccidOrAidNotFound``,
``catBusy``...); AuthenticateServer and PrepareDownload errors are returned as bytes (the
SM-DP+ must see them) and named by :func:`authenticate_server_error` and
:func:`prepare_download_error`.

ES10c profile management lives in :mod:`pyrsp.protocol.es10_local` and is re-exported here.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pyrsp import asn1, tlv
from pyrsp.errors import CodecError, EuiccError, ProtocolViolation, UsageError
from pyrsp.models import EuiccInfo1, EuiccInfo2, InstallResult, NotificationMetadata
from pyrsp.models._base import Model, flags
from pyrsp.models.identifiers import tbcd
from pyrsp.models.profile import PPR_BITS, NotificationEvent, OperatorId
from pyrsp.protocol import es10_codes as codes
from pyrsp.protocol.apdu import ApduConfig, load_bpp, transmit_es10
from pyrsp.protocol.effects import Flow
from pyrsp.protocol.es10_local import (
    GET_EID,
    build_delete_profile_request,
    build_disable_profile_request,
    build_enable_profile_request,
    build_memory_reset_request,
    build_profiles_info_request,
    build_set_nickname_request,
    decode_answer,
    delete_profile,
    disable_profile,
    enable_profile,
    euicc_memory_reset,
    event_bits,
    get_eid,
    get_profiles_info,
    profile_identifier,
    set_nickname,
)

__all__ = [
    "ConfiguredAddresses",
    "PendingNotification",
    "PendingNotifications",
    "RatRule",
    "UnreadableNotification",
    "authenticate_server",
    "authenticate_server_error",
    "build_authenticate_server_request",
    "build_cancel_session_request",
    "build_ctx_params1",
    "build_list_notification_request",
    "build_load_crl_request",
    "build_prepare_download_request",
    "build_remove_notification_request",
    "build_retrieve_notifications_request",
    "build_set_default_dp_address_request",
    "cancel_session",
    "get_euicc_challenge",
    "get_euicc_configured_addresses",
    "get_euicc_info1",
    "get_euicc_info2",
    "get_rat",
    "list_notification",
    "load_bound_profile_package",
    "load_crl",
    "parse_euicc_info1",
    "parse_profile_installation_result",
    "parse_retrieve_notifications_response",
    "prepare_download",
    "prepare_download_error",
    "remove_notification_from_list",
    "retrieve_notifications_list",
    "set_default_dp_address",
    # ES10c, from es10_local
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

log = logging.getLogger(__name__)

GET_EUICC_CHALLENGE = bytes.fromhex("BF2E00")
GET_EUICC_INFO1 = bytes.fromhex("BF2000")
GET_EUICC_INFO2 = bytes.fromhex("BF2200")
GET_CONFIGURED_ADDRESSES = bytes.fromhex("BF3C00")
GET_RAT = bytes.fromhex("BF4300")


# -- ES10a: configured addresses (5.7.3, 5.7.4) ----------------------------------------------


class ConfiguredAddresses(Model):
    """``EuiccConfiguredAddressesResponse`` (SGP.22 section 5.7.3)."""

    default_dp_address: str | None = None
    root_ds_address: str


def get_euicc_configured_addresses(config: ApduConfig) -> Flow[ConfiguredAddresses]:
    """GetEuiccConfiguredAddresses (5.7.3): the default SM-DP+ and root SM-DS addresses."""
    value = decode_answer(
        "EuiccConfiguredAddressesResponse",
        (yield from transmit_es10(GET_CONFIGURED_ADDRESSES, config)),
    )
    return ConfiguredAddresses(
        default_dp_address=value.get("defaultDpAddress") or None,
        root_ds_address=value["rootDsAddress"],
    )


def build_set_default_dp_address_request(address: str) -> bytes:
    """SetDefaultDpAddressRequest (5.7.4); an empty ``address`` removes the default."""
    return asn1.encode("SetDefaultDpAddressRequest", {"defaultDpAddress": address})


def set_default_dp_address(config: ApduConfig, address: str) -> Flow[None]:
    """SetDefaultDpAddress (5.7.4)."""
    answer = yield from transmit_es10(build_set_default_dp_address_request(address), config)
    value = decode_answer("SetDefaultDpAddressResponse", answer)
    codes.raise_for_result(
        "SetDefaultDpAddress", value["setDefaultDpAddressResult"], codes.SET_DEFAULT_DP_ERRORS
    )


# -- ES10b: download (5.7.5 to 5.7.8, 5.7.13, 5.7.14) ----------------------------------------


def get_euicc_challenge(config: ApduConfig) -> Flow[bytes]:
    """GetEUICCChallenge (5.7.7): the eUICC's 16-byte challenge."""
    answer = yield from transmit_es10(GET_EUICC_CHALLENGE, config)
    challenge: bytes = decode_answer("GetEuiccChallengeResponse", answer)["euiccChallenge"]
    if len(challenge) != 16:
        raise ProtocolViolation(f"euiccChallenge: expected 16 bytes, got {len(challenge)}")
    return challenge


def get_euicc_info1(config: ApduConfig) -> Flow[bytes]:
    """GetEUICCInfo1 (5.7.8): EUICCInfo1 (``BF20``) as received; see :func:`parse_euicc_info1`."""
    answer = yield from transmit_es10(GET_EUICC_INFO1, config)
    decode_answer("EUICCInfo1", answer)
    return answer


def parse_euicc_info1(der: bytes) -> EuiccInfo1:
    """The model of an EUICCInfo1 TLV (5.7.8)."""
    return EuiccInfo1.from_asn1(decode_answer("EUICCInfo1", der))


def get_euicc_info2(config: ApduConfig) -> Flow[EuiccInfo2]:
    """GetEUICCInfo2 (5.7.8)."""
    answer = yield from transmit_es10(GET_EUICC_INFO2, config)
    return EuiccInfo2.from_asn1(decode_answer("EUICCInfo2", answer))


def build_authenticate_server_request(
    server_signed1: bytes,
    server_signature1: bytes,
    euicc_ci_pkid: bytes,
    server_certificate: bytes,
    ctx_params1: bytes,
) -> bytes:
    """AuthenticateServerRequest (5.7.13): ``BF38`` around the TLVs exactly as received.

    ``server_signed1`` (``30``), ``server_signature1`` (``5F37``), ``euicc_ci_pkid``
    (``04 14``), ``server_certificate`` (``30``) come from initiateAuthentication;
    ``ctx_params1`` (``A0``) from :func:`build_ctx_params1`.
    """
    parts = [
        _whole_tlv("serverSigned1", server_signed1, 0x30),
        _whole_tlv("serverSignature1", server_signature1, 0x5F37),
        _whole_tlv("euiccCiPKIdToBeUsed", euicc_ci_pkid, 0x04),
        _whole_tlv("serverCertificate", server_certificate, 0x30),
        _whole_tlv("ctxParams1", ctx_params1, 0xA0),
    ]
    return tlv.build(0xBF38, b"".join(parts))


def build_ctx_params1(
    matching_id: str | None,
    tac: str,
    *,
    imei: str | None = None,
    device_capabilities: dict[str, Any] | None = None,
) -> bytes:
    """CtxParams1 for common authentication (5.7.13) with DeviceInfo (SGP.22 4.2).

    ``tac`` is 8 digits and ``imei`` 15 or 16 digits, both TBCD (nibble-swapped, ``F`` padded,
    the same encoding with or without an IMEI). ``device_capabilities`` is a decoded
    ``DeviceCapabilities`` value; by default the device claims E-UTRAN release 15.
    """
    device: dict[str, Any] = {
        "tac": _tbcd(tac, 4, "TAC", (8,)),
        "deviceCapabilities": device_capabilities
        if device_capabilities is not None
        else {"eutranEpcSupportedRelease": bytes((15, 0, 0))},
    }
    if imei is not None:
        device["imei"] = _tbcd(imei, 8, "IMEI", (15, 16))
    params: dict[str, Any] = {"deviceInfo": device}
    if matching_id is not None:
        params["matchingId"] = matching_id
    return asn1.encode("CtxParams1", ("ctxParamsForCommonAuthentication", params))


def authenticate_server(config: ApduConfig, request: bytes) -> Flow[bytes]:
    """AuthenticateServer (5.7.13): the AuthenticateServerResponse (``BF38``) as received.

    ``request`` is from :func:`build_authenticate_server_request`. An error answer is returned
    too (the SM-DP+ must see it); :func:`authenticate_server_error` names it.
    """
    answer = yield from transmit_es10(request, config)
    decode_answer("AuthenticateServerResponse", answer)
    return answer


def authenticate_server_error(der: bytes) -> EuiccError | None:
    """The :class:`EuiccError` an AuthenticateServerResponse (5.7.13) carries, or ``None``."""
    kind, value = decode_answer("AuthenticateServerResponse", der)
    if kind == "authenticateResponseOk":
        return None
    return codes.euicc_error(
        "AuthenticateServer", value["authenticateErrorCode"], codes.AUTHENTICATE_ERRORS
    )


def build_prepare_download_request(
    smdp_signed2: bytes,
    smdp_signature2: bytes,
    smdp_certificate: bytes,
    hash_cc: bytes | None = None,
) -> bytes:
    """PrepareDownloadRequest (5.7.5): ``BF21`` around the SM-DP+'s TLVs as received.

    ``hash_cc`` is the raw 32-byte hashed confirmation code, when the SM-DP+ asked for one.
    """
    parts = [
        _whole_tlv("smdpSigned2", smdp_signed2, 0x30),
        _whole_tlv("smdpSignature2", smdp_signature2, 0x5F37),
    ]
    if hash_cc is not None:
        if len(hash_cc) != 32:
            raise UsageError(f"hashCc must be 32 bytes, got {len(hash_cc)}")
        parts.append(b"\x04\x20" + hash_cc)
    parts.append(_whole_tlv("smdpCertificate", smdp_certificate, 0x30))
    return tlv.build(0xBF21, b"".join(parts))


def prepare_download(config: ApduConfig, request: bytes) -> Flow[bytes]:
    """PrepareDownload (5.7.5): the PrepareDownloadResponse (``BF21``) as received.

    An error answer is returned too; :func:`prepare_download_error` names it.
    """
    answer = yield from transmit_es10(request, config)
    decode_answer("PrepareDownloadResponse", answer)
    return answer


def prepare_download_error(der: bytes) -> EuiccError | None:
    """The :class:`EuiccError` a PrepareDownloadResponse (5.7.5) carries, or ``None`` if ok."""
    kind, value = decode_answer("PrepareDownloadResponse", der)
    if kind == "downloadResponseOk":
        return None
    return codes.euicc_error("PrepareDownload", value["downloadErrorCode"], codes.DOWNLOAD_ERRORS)


def load_bound_profile_package(config: ApduConfig, bpp: bytes) -> Flow[bytes]:
    """LoadBoundProfilePackage (5.7.6): send the BPP piece by piece (with ``Progress``).

    Returns the ProfileInstallationResult (``BF37``) as received, success or failure; see
    :func:`parse_profile_installation_result`.
    """
    answer = yield from load_bpp(bpp, config)
    decode_answer("ProfileInstallationResult", answer)
    return answer


def parse_profile_installation_result(der: bytes) -> InstallResult:
    """The model of a ProfileInstallationResult (5.7.6): success, or what failed and why."""
    return InstallResult.from_asn1(decode_answer("ProfileInstallationResult", der))


def build_cancel_session_request(transaction_id: bytes, reason: int | str) -> bytes:
    """CancelSessionRequest (5.7.14); ``reason`` is a code or its name (``"postponed"``)."""
    if isinstance(reason, str):
        if reason not in codes.CANCEL_SESSION_REASONS:
            known = ", ".join(codes.CANCEL_SESSION_REASONS)
            raise UsageError(f"expected a CancelSessionReason ({known}), got {reason!r}")
        reason = codes.CANCEL_SESSION_REASONS[reason]
    value = {"transactionId": transaction_id, "reason": reason}
    return asn1.encode("CancelSessionRequest", value)


def cancel_session(config: ApduConfig, transaction_id: bytes, reason: int | str) -> Flow[bytes]:
    """CancelSession (5.7.14): the signed CancelSessionResponse (``BF41``) as received.

    An error answer (``invalidTransactionId``...) raises :class:`EuiccError`.
    """
    request = build_cancel_session_request(transaction_id, reason)
    answer = yield from transmit_es10(request, config)
    kind, value = decode_answer("CancelSessionResponse", answer)
    if kind != "cancelSessionResponseOk":
        raise codes.euicc_error("CancelSession", value, codes.CANCEL_SESSION_ERRORS)
    return answer


# -- ES10b: notifications (5.7.9, 5.7.10) ----------------------------------------------------


@dataclass(frozen=True)
class PendingNotification:
    """A notification waiting on the eUICC (5.7.10): its metadata and the exact TLV to send.

    ``der`` is a ProfileInstallationResult (``BF37``) or an OtherSignedNotification (``30``).
    """

    metadata: NotificationMetadata
    der: bytes


@dataclass(frozen=True)
class UnreadableNotification:
    """A pending notification that does not decode (5.7.10): its exact TLV and why."""

    der: bytes
    error: CodecError


class PendingNotifications(list[PendingNotification]):
    """The readable pending notifications; ``unreadable`` holds the ones that do not decode."""

    def __init__(
        self,
        readable: Iterable[PendingNotification] = (),
        unreadable: Iterable[UnreadableNotification] = (),
    ) -> None:
        super().__init__(readable)
        self.unreadable = tuple(unreadable)


def build_list_notification_request(event: NotificationEvent | str | None = None) -> bytes:
    """ListNotificationRequest (5.7.9), optionally only the notifications of one ``event``."""
    value = {} if event is None else {"profileManagementOperation": event_bits(event)}
    return asn1.encode("ListNotificationRequest", value)


def list_notification(
    config: ApduConfig, event: NotificationEvent | str | None = None
) -> Flow[list[NotificationMetadata]]:
    """ListNotification (5.7.9): the metadata of the pending notifications."""
    answer = yield from transmit_es10(build_list_notification_request(event), config)
    kind, value = decode_answer("ListNotificationResponse", answer)
    if kind != "notificationMetadataList":
        raise codes.euicc_error("ListNotification", value, codes.LIST_NOTIFICATION_ERRORS)
    return [NotificationMetadata.from_asn1(item) for item in value]


def build_retrieve_notifications_request(
    seq_number: int | None = None, event: NotificationEvent | str | None = None
) -> bytes:
    """RetrieveNotificationsListRequest (5.7.10): searchCriteria (``A0``) by one of the two.

    Sequence number 0 is a valid search criterion.
    """
    if seq_number is not None and event is not None:
        raise UsageError("search notifications by seq_number or by event, not both")
    if seq_number is not None:
        return asn1.encode(
            "RetrieveNotificationsListRequest", {"searchCriteria": ("seqNumber", seq_number)}
        )
    if event is not None:
        criteria = ("profileManagementOperation", event_bits(event))
        return asn1.encode("RetrieveNotificationsListRequest", {"searchCriteria": criteria})
    return asn1.encode("RetrieveNotificationsListRequest", {})


def parse_retrieve_notifications_response(der: bytes) -> PendingNotifications:
    """The pending notifications in a RetrieveNotificationsListResponse (5.7.10), as exact TLVs.

    Each notification is decoded on its own: one that does not decode is logged and kept in
    the result's ``unreadable`` (with its :class:`CodecError`), and the others are returned.
    ``noResultAvailable`` is an empty list; any other error raises :class:`EuiccError`.
    """
    items = _notification_items(der)
    if items is None:
        kind, value = decode_answer("RetrieveNotificationsListResponse", der)
        if kind != "notificationList":
            if value == 1:
                return PendingNotifications()
            raise codes.euicc_error(
                "RetrieveNotificationsList", value, codes.RETRIEVE_NOTIFICATIONS_ERRORS
            )
        items = tlv.parse(der).require(0xA0).children()
    readable: list[PendingNotification] = []
    unreadable: list[UnreadableNotification] = []
    for index, item in enumerate(items):
        try:
            readable.append(_pending(item.raw))
        except CodecError as exc:
            log.warning("pending notification %d of the list does not decode: %s", index, exc)
            unreadable.append(UnreadableNotification(item.raw, exc))
    return PendingNotifications(readable, unreadable)


def _notification_items(der: bytes) -> list[tlv.Tlv] | None:
    """The undecoded items of a notificationList (``BF2B A0 ...``); ``None`` for another answer."""
    try:
        outer = tlv.parse(der)
        children = outer.children() if outer.tag == 0xBF2B else []
        if len(children) != 1 or children[0].tag != 0xA0:
            return None
        return children[0].children()
    except CodecError:
        return None


def _pending(raw: bytes) -> PendingNotification:
    kind, value = decode_answer("PendingNotification", raw)
    if kind == "profileInstallationResult":
        metadata = value["profileInstallationResultData"]["notificationMetadata"]
    else:
        metadata = value["tbsOtherNotification"]
    return PendingNotification(metadata=NotificationMetadata.from_asn1(metadata), der=raw)


def retrieve_notifications_list(
    config: ApduConfig,
    *,
    seq_number: int | None = None,
    event: NotificationEvent | str | None = None,
) -> Flow[PendingNotifications]:
    """RetrieveNotificationsList (5.7.10): the signed notifications, by seqNumber or event."""
    request = build_retrieve_notifications_request(seq_number, event)
    return parse_retrieve_notifications_response((yield from transmit_es10(request, config)))


def build_remove_notification_request(seq_number: int) -> bytes:
    """NotificationSentRequest (5.7.10): remove notification ``seq_number`` (0 is valid)."""
    if seq_number < 0:
        raise UsageError(f"a notification sequence number is >= 0, got {seq_number}")
    return asn1.encode("NotificationSentRequest", {"seqNumber": seq_number})


def remove_notification_from_list(config: ApduConfig, seq_number: int) -> Flow[None]:
    """RemoveNotificationFromList (5.7.10); ``nothingToDelete`` raises :class:`EuiccError`."""
    answer = yield from transmit_es10(build_remove_notification_request(seq_number), config)
    value = decode_answer("NotificationSentResponse", answer)
    codes.raise_for_result(
        "RemoveNotificationFromList",
        value["deleteNotificationStatus"],
        codes.NOTIFICATION_SENT_ERRORS,
    )


# -- ES10b: CRL and RAT (5.7.11, 5.7.22) -----------------------------------------------------


def build_load_crl_request(crl: bytes) -> bytes:
    """LoadCRLRequest (5.7.11): the CRL's content under ``A0``, its bytes unchanged."""
    content = _whole_tlv("crl", crl, 0x30)
    return tlv.build(0xBF35, tlv.build(0xA0, tlv.parse(content).value))


def load_crl(config: ApduConfig, crl: bytes) -> Flow[tuple[int, ...]]:
    """LoadCRL (5.7.11): the missing parts of a partitioned CRL (usually none)."""
    answer = yield from transmit_es10(build_load_crl_request(crl), config)
    kind, value = decode_answer("LoadCRLResponse", answer)
    if kind != "loadCRLResponseOk":
        raise codes.euicc_error("LoadCRL", value, codes.LOAD_CRL_ERRORS)
    return tuple(value.get("missingParts", ()))


class RatRule(Model):
    """A ProfilePolicyAuthorisationRule of the Rules Authorisation Table (5.7.22)."""

    ppr_ids: tuple[str, ...]
    allowed_operators: tuple[OperatorId, ...]
    consent_required: bool


def get_rat(config: ApduConfig) -> Flow[list[RatRule]]:
    """GetRAT (5.7.22): the eUICC's Rules Authorisation Table."""
    value = decode_answer("GetRatResponse", (yield from transmit_es10(GET_RAT, config)))
    return [
        RatRule(
            ppr_ids=flags(rule["pprIds"], PPR_BITS),
            allowed_operators=tuple(OperatorId.from_asn1(op) for op in rule["allowedOperators"]),
            consent_required="consentRequired" in flags(rule["pprFlags"], ("consentRequired",)),
        )
        for rule in value["rat"]
    ]


# -- helpers ---------------------------------------------------------------------------------


def _whole_tlv(name: str, data: bytes, tag: int) -> bytes:
    """``data`` checked to be one whole TLV with ``tag``; returned unchanged."""
    try:
        found = tlv.parse(data).tag
    except CodecError as exc:
        raise UsageError(f"{name}: expected one whole TLV, got {len(data)} bytes: {exc}") from exc
    if found != tag:
        raise UsageError(f"{name}: expected tag {tag:02X}, got {found:02X}")
    return data


def _tbcd(digits: str, size: int, name: str, lengths: tuple[int, ...]) -> bytes:
    """Digits as TBCD: nibble-swapped, padded with ``F`` to ``size`` bytes (SGP.22 4.2)."""
    if not (digits.isascii() and digits.isdigit() and len(digits) in lengths):
        raise UsageError(
            f"{name}: expected {' or '.join(map(str, lengths))} digits, got {digits!r}"
        )
    return tbcd(digits, size)
