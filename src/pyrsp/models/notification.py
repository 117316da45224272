"""Notifications and the installation result (SGP.22 sections 5.7.6, 5.7.10)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pyrsp.errors import CodecError
from pyrsp.models._base import Model, code, hex_upper, optional
from pyrsp.models.identifiers import iccid_from_bytes
from pyrsp.models.profile import Event, events_from_bits

__all__ = ["InstallResult", "NotificationMetadata"]

BPP_COMMANDS = {
    0: "initialiseSecureChannel", 1: "configureISDP", 2: "storeMetadata", 3: "storeMetadata2",
    4: "replaceSessionKeys", 5: "loadProfileElements",
}  # fmt: skip
ERROR_REASONS = {
    1: "incorrectInputValues", 2: "invalidSignature", 3: "invalidTransactionId",
    4: "unsupportedCrtValues", 5: "unsupportedRemoteOperationType", 6: "unsupportedProfileClass",
    7: "scp03tStructureError", 8: "scp03tSecurityError",
    9: "installFailedDueToIccidAlreadyExistsOnEuicc",
    10: "installFailedDueToInsufficientMemoryForProfile", 11: "installFailedDueToInterruption",
    12: "installFailedDueToPEProcessingError", 13: "installFailedDueToIccidMismatch",
    14: "testProfileInstallFailedDueToInvalidNaaKey", 15: "pprNotAllowed",
    127: "installFailedDueToUnknownError",
}  # fmt: skip


class NotificationMetadata(Model):
    """``NotificationMetadata`` (SGP.22 section 5.7.10): one pending notification."""

    seq_number: int
    event: Event
    address: str
    iccid: str | None = None

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Self:
        """Build from a decoded ``NotificationMetadata``, whose event has exactly one bit set."""
        events = events_from_bits(value["profileManagementOperation"])
        if len(events) != 1:
            raise CodecError(
                f"expected one NotificationEvent bit set, got {', '.join(events) or 'none'}",
                type_name="NotificationMetadata",
                path="profileManagementOperation",
            )
        return cls(
            seq_number=value["seqNumber"],
            event=events[0],
            address=value["notificationAddress"],
            iccid=optional(value, "iccid", iccid_from_bytes),
        )


class InstallResult(Model):
    """The outcome of a download, from ``ProfileInstallationResult`` (SGP.22 section 5.7.6).

    On success ``isdp_aid`` is the new ISD-P; on failure ``bpp_command`` names the BPP command
    that failed and ``error_reason`` why (with their integer codes).
    """

    success: bool
    iccid: str | None = None
    isdp_aid: str | None = None
    transaction_id: str
    smdp_oid: str | None = None
    notification: NotificationMetadata
    bpp_command_id: int | None = None
    bpp_command: str | None = None
    error_reason_code: int | None = None
    error_reason: str | None = None

    @classmethod
    def from_asn1(cls, value: Mapping[str, Any]) -> Self:
        """Build from a decoded ``ProfileInstallationResult`` or its ``...ResultData``."""
        data = value.get("profileInstallationResultData", value)
        notification = NotificationMetadata.from_asn1(data["notificationMetadata"])
        kind, result = data["finalResult"]
        if kind not in ("successResult", "errorResult"):  # an extension the schema lacks
            raise CodecError(
                "expected finalResult to be successResult or errorResult, "
                "got an alternative this version of SGP.22 does not define",
                type_name="ProfileInstallationResult",
                path="profileInstallationResultData.finalResult",
            )
        fields: dict[str, Any] = {"success": kind == "successResult"}
        if kind == "successResult":
            fields["isdp_aid"] = hex_upper(result["aid"])
        else:
            command_id, command = code(result["bppCommandId"], BPP_COMMANDS)
            reason_code, reason = code(result["errorReason"], ERROR_REASONS)
            fields |= {"bpp_command_id": command_id, "bpp_command": command}
            fields |= {"error_reason_code": reason_code, "error_reason": reason}
        return cls(
            iccid=notification.iccid,
            transaction_id=hex_upper(data["transactionId"]),
            smdp_oid=data.get("smdpOid"),
            notification=notification,
            **fields,
        )
