"""Notifications on the virtual eUICC (SGP.22 sections 2.6.7.1, 5.7.9, 5.7.10 and 5.7.11).

Install, enable, disable and delete each leave a pending notification with the next sequence
number (from 0), kept until RemoveNotificationFromList. The install notification is the signed
ProfileInstallationResult, sent to the SM-DP+; the others are OtherSignedNotification, addressed
per the profile's notificationConfigurationInfo (none configured for the event: none made).
"""

from __future__ import annotations

from typing import Any

from pyrsp import asn1, tlv
from pyrsp.crypto import signature_to_tlv
from pyrsp.models.profile import EVENT_BITS
from pyrsp.testing.euicc.core import EuiccCore
from pyrsp.testing.euicc.state import NotificationRecord, ProfileRecord

__all__ = [
    "EVENTS",
    "event_bits",
    "events_of",
    "list_notification",
    "notification_address",
    "record_notification",
    "remove_notification",
    "retrieve_notifications",
]

#: NotificationEvent bit names by bit number (SGP.22 section 5.7.9; bits 4-7 are v3's).
EVENTS = EVENT_BITS


def event_bits(event: str) -> tuple[bytes, int]:
    """The NotificationEvent BIT STRING with only ``event`` set, in DER minimal form."""
    bit = EVENTS.index(event)
    return bytes([0x80 >> bit]), bit + 1


def events_of(bits: tuple[bytes, int]) -> set[str]:
    """The events set in a NotificationEvent BIT STRING value."""
    data, length = bits
    return {
        event
        for number, event in enumerate(EVENTS)
        if number < length and number // 8 < len(data) and data[number // 8] & (0x80 >> number)
    }


def notification_address(profile: ProfileRecord, event: str) -> str | None:
    """The address configured in the profile's metadata for ``event``, or ``None``."""
    metadata = asn1.decode("StoreMetadataRequest", profile.metadata)
    for config in metadata.get("notificationConfigurationInfo", []):
        if event in events_of(config["profileManagementOperation"]):
            return str(config["notificationAddress"])
    return None


def record_notification(core: EuiccCore, profile: ProfileRecord, event: str) -> None:
    """Make the signed notification for ``event`` on ``profile`` if its metadata asks for one."""
    address = notification_address(profile, event)
    if address is None:
        return
    seq_number = core.state.new_seq_number()
    metadata = asn1.encode(
        "NotificationMetadata",
        {
            "seqNumber": seq_number,
            "profileManagementOperation": event_bits(event),
            "notificationAddress": address,
            "iccid": profile.iccid,
        },
    )
    body = (
        metadata
        + signature_to_tlv(core.sign(metadata))
        + core.identity.euicc_der
        + core.identity.eum_der
    )
    pending = tlv.build(0x30, body)
    core.state.notifications.append(
        NotificationRecord(seq_number, event, address, profile.iccid, pending)
    )


def _metadata_value(record: NotificationRecord) -> dict[str, Any]:
    value: dict[str, Any] = {
        "seqNumber": record.seq_number,
        "profileManagementOperation": event_bits(record.event),
        "notificationAddress": record.address,
    }
    if record.iccid is not None:
        value["iccid"] = record.iccid
    return value


def list_notification(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.ListNotification (section 5.7.9): metadata, optionally filtered by event."""
    wanted = events_of(request["profileManagementOperation"]) if request else set(EVENTS)
    found = [_metadata_value(n) for n in core.state.notifications if n.event in wanted]
    return asn1.encode("ListNotificationResponse", ("notificationMetadataList", found))


def retrieve_notifications(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.RetrieveNotificationsList (section 5.7.10): the signed pending notifications.

    When none matches (the searchCriteria, or none pending at all) the answer is
    ``notificationsListResultError`` ``noResultAvailable(1)``, the v2 code for exactly that
    (SGP.22 v2 ASN.1; v3 dropped the code, an LPA reads both as an empty list).
    """
    records = core.state.notifications
    criteria = request.get("searchCriteria")
    if criteria is not None:
        kind, value = criteria
        if kind == "seqNumber":
            records = [n for n in records if n.seq_number == value]
        else:
            wanted = events_of(value)
            records = [n for n in records if n.event in wanted]
    if not records:
        return asn1.encode("RetrieveNotificationsListResponse", ("notificationsListResultError", 1))
    body = b"".join(n.pending for n in records)
    return tlv.build(0xBF2B, tlv.build(0xA0, body))


def remove_notification(core: EuiccCore, request: dict[str, Any], raw: bytes) -> bytes:
    """ES10b.RemoveNotificationFromList (section 5.7.11): ok, or nothingToDelete (1)."""
    number = request["seqNumber"]
    kept = [n for n in core.state.notifications if n.seq_number != number]
    status = 1 if len(kept) == len(core.state.notifications) else 0
    core.state.notifications = kept
    core.save()
    return asn1.encode("NotificationSentResponse", {"deleteNotificationStatus": status})
