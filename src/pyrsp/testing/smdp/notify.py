"""ES9+ HandleNotification and CancelSession on the SM-DP+ side (SGP.22 5.6.4 and 5.6.5).

Every notification that decodes is stored with the outcome of its checks (nothing is thrown
away, so a test can see a bad one); only a verified one moves an order. The installation
result (``BF37``) is checked with the session's eUICC certificate, other notifications
(``30``) with the certificate chain they carry.

HandleNotification has no output data and no error codes of its own (SGP.22 5.6.4) and its
JSON binding answers 204 with no body (6.5.2.4): every notification that decodes is answered
204, whatever its checks found (an unknown session, a bad signature or chain). A request whose
``pendingNotification`` is not a PendingNotification at all gets the binding's common
``Failed`` answer (1.3.1/2.1, invalid pendingNotification), as any ES9+ request with an invalid
field does; the LPA keeps such a notification on the card.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509

from pyrsp import tlv
from pyrsp.crypto.certificates import authority_key_id
from pyrsp.errors import CodecError, PyrspError, SmdpError, TlvError
from pyrsp.models.identifiers import iccid_from_bytes
from pyrsp.models.profile import events_from_bits
from pyrsp.testing.smdp import codes
from pyrsp.testing.smdp.authenticate import parts, verify_euicc_signature
from pyrsp.testing.smdp.chain import check_euicc_chain, load_checked
from pyrsp.testing.smdp.es9 import Request, decode
from pyrsp.testing.smdp.orders import Order, OrderState
from pyrsp.testing.smdp.state import ReceivedNotification, ServerState

__all__ = ["cancel_session", "handle_notification"]

# CancelSessionReason values after which the order stays downloadable: postponed, timeout,
# loadBppExecutionError, undefinedReason (endUserRejection, pprNotAllowed, metadataMismatch end it).
_RETRIABLE_REASONS = frozenset({1, 2, 5, 127})


def handle_notification(state: ServerState, request: Request) -> None:
    """ES9+.HandleNotification (SGP.22 section 5.6.4); the answer is 204 with no body."""
    der = request.binary("pendingNotification")
    notification = decode("PendingNotification", der, "pendingNotification")
    if notification[0] == "profileInstallationResult":
        record = _installation_result(state, der, notification[1])
    else:
        record = _other_notification(state, der, notification[1])
    state.notifications.append(record)


def _installation_result(
    state: ServerState, der: bytes, value: dict[str, Any]
) -> ReceivedNotification:
    data = value["profileInstallationResultData"]
    metadata = data["notificationMetadata"]
    session, still_open = state.sessions.by_tid(data["transactionId"])
    problem = ""
    eid: str | None = None
    try:
        if session is None:
            raise codes.refuse(codes.TRANSACTION_ID_UNKNOWN, "no session with this transactionId")
        eid = session.eid
        data_der, signature_tlv = _members(der)
        verify_euicc_signature(session.euicc_certificate, data_der, signature_tlv, "euiccSignPIR")
    except SmdpError as exc:
        problem = str(exc)
    result_kind, result = data["finalResult"]
    success = result_kind == "successResult"
    if not problem and session is not None and still_open:
        _settle_order(session.order, success, eid)
        state.sessions.close(session.transaction_id)
    return ReceivedNotification(
        event="install",
        seq_number=metadata["seqNumber"],
        iccid=_iccid(metadata),
        eid=eid,
        notification_address=metadata["notificationAddress"],
        transaction_id=data["transactionId"].hex().upper(),
        success=success,
        error_reason=None if success else result.get("errorReason"),
        bpp_command_id=None if success else result.get("bppCommandId"),
        verified=not problem,
        problem=problem,
        received=state.clock(),
        raw=der,
    )


def _settle_order(order: Order | None, success: bool, eid: str | None) -> None:
    if order is None or order.state is not OrderState.DOWNLOADED:
        return
    order.installed_eid = eid if success else None
    order.move(OrderState.INSTALLED if success else OrderState.ERROR)


def _other_notification(
    state: ServerState, der: bytes, value: dict[str, Any]
) -> ReceivedNotification:
    metadata = value["tbsOtherNotification"]
    members = parts_of_sequence(der)
    if len(members) < 4:
        raise codes.refuse(codes.INVALID_PARAMETER, "expected certificates in the notification")
    tbs_der, signature_tlv, euicc_der, eum_der = members[:4]
    problem = ""
    eid: str | None = None
    try:
        ci = _ci_for(state, eum_der)
        euicc, eid = check_euicc_chain(euicc_der, eum_der, ci, state.clock(), state.chains)
        verify_euicc_signature(euicc, tbs_der, signature_tlv, "euiccNotificationSignature")
    except (PyrspError, ValueError) as exc:  # ValueError: a certificate that does not parse
        problem = str(exc)
    return ReceivedNotification(
        event=_event(metadata["profileManagementOperation"]),
        seq_number=metadata["seqNumber"],
        iccid=_iccid(metadata),
        eid=eid,
        notification_address=metadata["notificationAddress"],
        transaction_id=None,
        success=None,
        error_reason=None,
        bpp_command_id=None,
        verified=not problem,
        problem=problem,
        received=state.clock(),
        raw=der,
    )


def parts_of_sequence(der: bytes) -> list[bytes]:
    """The exact bytes of the members of a notification's TLV (a refusal if malformed)."""
    try:
        members = [child.raw for child in tlv.parse(der).children()]
    except TlvError as exc:
        raise codes.refuse(
            codes.INVALID_PARAMETER,
            f"pendingNotification is not well-formed BER-TLV: {exc}",
            subject_identifier="pendingNotification",
        ) from exc
    if len(members) < 2:
        raise codes.refuse(
            codes.INVALID_PARAMETER,
            f"expected signed data and a signature in pendingNotification, got {len(members)}",
            subject_identifier="pendingNotification",
        )
    return members


def _members(der: bytes) -> tuple[bytes, bytes]:
    members = parts_of_sequence(der)
    return members[0], members[1]


def _ci_for(state: ServerState, eum_der: bytes) -> x509.Certificate:
    eum = load_checked(eum_der, codes.EUM_CERT_INVALID, "eumCertificate")
    key_id = authority_key_id(eum) or b""
    ci = state.credentials.ci_for(key_id)
    if ci is None:
        raise codes.refuse(codes.CI_PKID_UNKNOWN, f"no CI with key id {key_id.hex()}")
    return ci


def _event(bits: tuple[bytes, int]) -> str:
    """The first event set (``install``... ``loadRpmPackageResult``, or ``bitN``)."""
    events = events_from_bits(bits)
    return str(events[0]) if events else "unknown"


def _iccid(metadata: dict[str, Any]) -> str | None:
    raw: bytes | None = metadata.get("iccid")
    if raw is None:
        return None
    try:
        return iccid_from_bytes(raw)
    except CodecError:
        return raw.hex()


def cancel_session(state: ServerState, request: Request) -> dict[str, Any]:
    """ES9+.CancelSession (SGP.22 section 5.6.5)."""
    transaction_id = request.transaction_id()
    session = state.sessions.get(transaction_id)
    if session is None:
        raise codes.refuse(
            codes.TRANSACTION_ID_UNKNOWN, f"no open session with transactionId {transaction_id!r}"
        )
    der = request.binary("cancelSessionResponse")
    response = decode("CancelSessionResponse", der, "cancelSessionResponse")
    if response[0] != "cancelSessionResponseOk":
        raise codes.refuse(
            codes.EUICC_VERIFICATION_FAILED, f"the eUICC refused CancelSession (code {response[1]})"
        )
    signed_der, signature_tlv = parts(der, "cancelSessionResponse")[:2]
    if session.euicc_certificate is not None:
        verify_euicc_signature(
            session.euicc_certificate, signed_der, signature_tlv, "euiccCancelSessionSignature"
        )
    signed = response[1]["euiccCancelSessionSigned"]
    if signed["transactionId"] != session.tid:
        raise codes.refuse(
            codes.TRANSACTION_ID_UNKNOWN,
            f"the signed transactionId {signed['transactionId'].hex()} is not {session.tid.hex()}",
        )
    if signed["smdpOid"] != state.credentials.oid:
        raise codes.refuse(
            codes.SMDP_OID_INVALID,
            f"expected smdpOid {state.credentials.oid}, got {signed['smdpOid']}",
        )
    _cancel_order(session.order, signed["reason"])
    state.sessions.close(transaction_id)
    return {}


def _cancel_order(order: Order | None, reason: int) -> None:
    """Postponed, timeout and load errors leave the order downloadable; others cancel it."""
    if order is None or order.state not in (OrderState.RELEASED, OrderState.DOWNLOADED):
        return
    target = OrderState.RELEASED if reason in _RETRIABLE_REASONS else OrderState.CANCELLED
    order.binding = None
    if order.state is not target:
        order.move(target)
