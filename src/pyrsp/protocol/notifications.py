"""Pending notifications: send each, remove it on acceptance (SGP.22 sections 3.5, 5.7.10).

The eUICC keeps a signed notification for every install, enable, disable and delete. The LPA
retrieves them (ES10b RetrieveNotificationsList), sends each to its notification address with
ES9+ handleNotification, and removes it from the eUICC (RemoveNotificationFromList) only once
the server accepted it: a notification whose delivery failed stays on the eUICC for the next
run. The notification travels as the exact TLV the eUICC returned (it is signed).

Every notification gets a :class:`NotificationOutcome`; one notification's failure never raises.
Only failing to retrieve the list raises.

Sub-flows (run by ``RspClient``/``AsyncRspClient``, or by a test feeding answers)::

    outcomes = yield from process_notifications(config)            # all pending ones
    outcome = yield from send_notification(pending, config)        # one es10.PendingNotification
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass

from pyrsp.errors import (
    CardError,
    CardTransportError,
    CodecError,
    EuiccError,
    ProtocolViolation,
    PyrspError,
    ServerError,
)
from pyrsp.models import NotificationEvent, NotificationMetadata
from pyrsp.protocol import es9, es10
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.effects import Flow, Progress

__all__ = ["NotificationOutcome", "process_notifications", "send_notification"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NotificationOutcome:
    """What happened to one notification.

    ``sent``: the server accepted it; ``removed``: it is no longer on the eUICC. On failure
    ``error`` says why and ``error_type`` names the pyrsp error class (both ``""`` on success).
    A notification that does not decode has ``seq_number`` ``None`` and empty ``event`` and
    ``address`` (it is neither sent nor removed).
    """

    seq_number: int | None
    event: NotificationEvent | str
    address: str
    iccid: str | None
    sent: bool
    removed: bool
    error: str = ""
    error_type: str = ""

    @property
    def ok(self) -> bool:
        """Delivered and removed from the eUICC."""
        return self.sent and self.removed


def send_notification(
    pending: es10.PendingNotification, config: ApduConfig
) -> Flow[NotificationOutcome]:
    """Send one notification to its address; remove it from the eUICC only if accepted
    (SGP.22 sections 3.5, 5.7.10).

    Never raises for this notification's failure: the outcome says what happened.
    """
    try:
        return (yield from _deliver(pending, config))
    except CardTransportError as exc:
        return _outcome(pending.metadata, sent=True, removed=False, error=exc)


def process_notifications(
    config: ApduConfig,
    *,
    seq_numbers: Collection[int] | None = None,
    events: Collection[NotificationEvent] | None = None,
) -> Flow[list[NotificationOutcome]]:
    """Send every pending notification (or those selected); remove the accepted ones
    (SGP.22 sections 3.5, 5.7.10).

    ``seq_numbers`` and ``events`` restrict which are processed. Once the card itself fails
    (:class:`~pyrsp.errors.CardTransportError`), the rest are reported as not attempted.
    Without a selection, a notification that does not decode is reported first (not sent,
    not removed, its :class:`~pyrsp.errors.CodecError` as the error) and the others still
    go. Yields ``Progress("notifications", done, total)`` after each one.
    """
    pending = yield from es10.retrieve_notifications_list(config)
    selected = [item for item in pending if _wanted(item.metadata, seq_numbers, events)]
    outcomes: list[NotificationOutcome] = []
    if seq_numbers is None and events is None:
        outcomes.extend(_unreadable(item) for item in pending.unreadable)
    total = len(outcomes) + len(selected)
    card_failure: CardTransportError | None = None
    for item in selected:
        if card_failure is not None:
            skipped = CardTransportError(f"not attempted: the card failed earlier ({card_failure})")
            outcomes.append(_outcome(item.metadata, sent=False, removed=False, error=skipped))
            continue
        try:
            outcomes.append((yield from _deliver(item, config)))
        except CardTransportError as exc:
            card_failure = exc
            outcomes.append(_outcome(item.metadata, sent=True, removed=False, error=exc))
        yield Progress("notifications", len(outcomes), total)
    return outcomes


def _deliver(pending: es10.PendingNotification, config: ApduConfig) -> Flow[NotificationOutcome]:
    """handleNotification, then RemoveNotificationFromList; a failing card raises."""
    meta = pending.metadata
    try:
        yield from es9.handle_notification(meta.address, pending.der)
    except ServerError as exc:
        log.info("notification %d to %.200r not delivered: %s", meta.seq_number, meta.address, exc)
        return _outcome(meta, sent=False, removed=False, error=exc)
    try:
        yield from es10.remove_notification_from_list(config, meta.seq_number)
    except EuiccError as exc:
        if exc.reason != "nothingToDelete":
            return _outcome(meta, sent=True, removed=False, error=exc)
        log.info("notification %d was already gone from the eUICC", meta.seq_number)
    except CardTransportError:
        raise
    except (CardError, CodecError, ProtocolViolation) as exc:
        return _outcome(meta, sent=True, removed=False, error=exc)
    return _outcome(meta, sent=True, removed=True)


def _wanted(
    meta: NotificationMetadata,
    seq_numbers: Collection[int] | None,
    events: Collection[NotificationEvent] | None,
) -> bool:
    return (seq_numbers is None or meta.seq_number in seq_numbers) and (
        events is None or meta.event in events
    )


def _unreadable(item: es10.UnreadableNotification) -> NotificationOutcome:
    error = item.error
    return NotificationOutcome(
        seq_number=None, event="", address="", iccid=None, sent=False, removed=False,
        error=f"the notification does not decode: {error}", error_type=type(error).__name__,
    )  # fmt: skip


def _outcome(
    meta: NotificationMetadata, *, sent: bool, removed: bool, error: PyrspError | None = None
) -> NotificationOutcome:
    return NotificationOutcome(
        seq_number=meta.seq_number,
        event=meta.event,
        address=meta.address,
        iccid=meta.iccid,
        sent=sent,
        removed=removed,
        error=str(error) if error else "",
        error_type=type(error).__name__ if error else "",
    )
