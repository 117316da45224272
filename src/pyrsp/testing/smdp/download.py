"""ES9+ GetBoundProfilePackage on the SM-DP+ side (SGP.22 section 5.6.2).

Checks the eUICC's PrepareDownload answer: euiccSignature2 over the exact euiccSigned2 bytes
followed by this session's smdpSignature2, the signed transactionId, the order's expiry and,
when the order has one, the hashed confirmation code with a retry limit. Then binds the
profile to the eUICC's one-time key and answers with the BPP.
"""

from __future__ import annotations

import hmac
from typing import Any

from pyrsp.crypto import hash_confirmation_code
from pyrsp.testing.smdp import codes
from pyrsp.testing.smdp.authenticate import parts, verify_euicc_signature
from pyrsp.testing.smdp.bpp import Binding, bound_profile_package, new_binding
from pyrsp.testing.smdp.es9 import Request, b64, decode
from pyrsp.testing.smdp.orders import Order, OrderState
from pyrsp.testing.smdp.session import Session, Step
from pyrsp.testing.smdp.state import ServerState

__all__ = ["get_bound_profile_package"]


def get_bound_profile_package(state: ServerState, request: Request) -> dict[str, Any]:
    """ES9+.GetBoundProfilePackage (SGP.22 section 5.6.2)."""
    session = state.sessions.at(request.transaction_id(), Step.GET_BPP, state.clock())
    signed2 = _euicc_signed2(session, request.binary("prepareDownloadResponse"))
    order = _order(session)
    if order.expires is not None and state.clock() > order.expires:
        raise codes.refuse(
            codes.ORDER_EXPIRED, f"the order expired at {order.expires:%Y-%m-%d %H:%M}"
        )
    _check_confirmation_code(order, session, signed2.get("hashCc"))
    binding = _binding(state, session, order, signed2["euiccOtpk"])
    bpp = bound_profile_package(
        order,
        binding,
        transaction_id=session.tid,
        signing=session.signing,
        smdp_oid=state.credentials.oid,
        notification_address=state.credentials.address,
        host_id=state.host_id,
    )
    order.binding = binding
    if order.state is not OrderState.DOWNLOADED:
        order.move(OrderState.DOWNLOADED)
    session.step = Step.INSTALL_NOTIFICATION
    return {"transactionId": session.transaction_id, "boundProfilePackage": b64(bpp)}


def _euicc_signed2(session: Session, der: bytes) -> dict[str, Any]:
    """euiccSigned2 once its signature (over it and smdpSignature2) and transactionId check."""
    response = decode("PrepareDownloadResponse", der, "prepareDownloadResponse")
    if response[0] != "downloadResponseOk":
        code = response[1].get("downloadErrorCode")
        raise codes.refuse(
            codes.EUICC_VERIFICATION_FAILED, f"the eUICC refused PrepareDownload (code {code})"
        )
    signed2_der, signature_tlv = parts(der, "prepareDownloadResponse")[:2]
    verify_euicc_signature(
        session.euicc_certificate,
        signed2_der + session.smdp_signature2,
        signature_tlv,
        "euiccSignature2 over euiccSigned2 and smdpSignature2",
    )
    signed2: dict[str, Any] = response[1]["euiccSigned2"]
    if signed2["transactionId"] != session.tid:
        raise codes.refuse(
            codes.TRANSACTION_ID_UNKNOWN,
            f"euiccSigned2 carries transactionId {signed2['transactionId'].hex()}, "
            f"expected {session.tid.hex()}",
        )
    return signed2


def _binding(state: ServerState, session: Session, order: Order, euicc_otpk: bytes) -> Binding:
    """A new binding, or on a retry the previous one if the eUICC kept its one-time key."""
    previous = order.binding
    if previous is None:
        return new_binding(
            session.eid,
            euicc_otpk,
            session.signing,
            state.rng,
            replace_session_keys=state.replace_session_keys,
        )
    if previous.euicc_otpk != euicc_otpk:
        raise codes.refuse(
            codes.PROFILE_UNAVAILABLE,
            "the profile is bound to another one-time key (bppEuiccOtpk); "
            "a BPP is not available for a new binding",
        )
    return previous


def _order(session: Session) -> Order:
    order = session.order
    assert order is not None  # set by authenticateClient before the step moves on
    return order


def _check_confirmation_code(order: Order, session: Session, hash_cc: bytes | None) -> None:
    """SGP.22 section 3.1.3.2: hashCc = SHA-256(SHA-256(code) || transactionId)."""
    if order.confirmation_code is None:
        return
    if hash_cc is None:
        raise codes.refuse(
            codes.CC_MISSING, "the order needs a confirmation code, hashCc is absent"
        )
    expected = hash_confirmation_code(order.confirmation_code, session.tid)
    if hmac.compare_digest(expected, hash_cc):
        return
    order.cc_attempts += 1
    if order.cc_attempts >= order.max_cc_attempts:
        order.move(OrderState.ERROR)
        raise codes.refuse(
            codes.CC_RETRIES_EXCEEDED,
            f"wrong confirmation code {order.cc_attempts} times; the order is now in error",
        )
    raise codes.refuse(
        codes.CC_REFUSED,
        f"wrong confirmation code ({order.max_cc_attempts - order.cc_attempts} attempts left)",
    )
