"""ES9+ InitiateAuthentication and AuthenticateClient on the SM-DP+ side (SGP.22 5.6.1, 5.6.3).

InitiateAuthentication checks the address and the eUICC's CI key lists, opens a session and signs
serverSigned1 with CERT.DPauth. AuthenticateClient checks the eUICC's answer to
AuthenticateServer: the session, the eUICC/EUM chain to the agreed CI and the EID range,
euiccSignature1 over the exact euiccSigned1 bytes, the echoed challenge and address, then the
order (matching ID, EID binding, expiry, state), and answers with the profile metadata and
smdpSigned2 signed with CERT.DPpb.
"""

from __future__ import annotations

from typing import Any

from cryptography import x509

from pyrsp import asn1, tlv
from pyrsp.crypto import sign, signature_from_tlv, signature_to_tlv, verify
from pyrsp.errors import InvalidSignature, TlvError
from pyrsp.testing.smdp import codes
from pyrsp.testing.smdp.bpp import store_metadata
from pyrsp.testing.smdp.chain import check_euicc_chain
from pyrsp.testing.smdp.credentials import SigningSet
from pyrsp.testing.smdp.es9 import Request, b64, decode
from pyrsp.testing.smdp.orders import Order, OrderState
from pyrsp.testing.smdp.session import Session, Step
from pyrsp.testing.smdp.state import ServerState

__all__ = [
    "authenticate_client",
    "initiate_authentication",
    "parts",
    "verify_euicc_signature",
]

_CHALLENGE_SIZE = 16
_TRANSACTION_ID_SIZE = 16
_SUPPORTED_MAJOR_VERSIONS = frozenset({2, 3})


def initiate_authentication(state: ServerState, request: Request) -> dict[str, Any]:
    """ES9+.InitiateAuthentication (SGP.22 section 5.6.1)."""
    challenge = request.binary("euiccChallenge")
    info1_der = request.binary("euiccInfo1")
    address = request.text("smdpAddress")
    if address.lower() != state.credentials.address.lower():
        raise codes.refuse(
            codes.SMDP_ADDRESS_REFUSED,
            f"expected smdpAddress {state.credentials.address!r}, got {address!r}",
            subject_identifier=address,
        )
    if len(challenge) != _CHALLENGE_SIZE:
        raise codes.refuse(
            codes.INVALID_PARAMETER,
            f"expected a 16-byte euiccChallenge, got {len(challenge)} bytes",
            subject_identifier="euiccChallenge",
        )
    info1 = decode("EUICCInfo1", info1_der, "euiccInfo1")
    svn: bytes = info1["svn"]
    if svn[0] not in _SUPPORTED_MAJOR_VERSIONS:
        raise codes.refuse(codes.SVN_UNSUPPORTED, f"expected SGP.22 v2 or v3, got v{svn.hex('.')}")
    signing_ids = info1["euiccCiPKIdListForSigning"] + info1.get("euiccCiPKIdListForSigningV3", [])
    signing = state.credentials.choose(info1["euiccCiPKIdListForVerification"], signing_ids)
    if signing is None:
        raise codes.refuse(
            codes.SECURITY_CONFIG_UNSUPPORTED,
            "none of the eUICC's CI key ids is one this SM-DP+ has certificates under",
        )
    return _open_session(state, challenge, signing)


def _open_session(state: ServerState, challenge: bytes, signing: SigningSet) -> dict[str, Any]:
    tid = state.rng.randbytes(_TRANSACTION_ID_SIZE)
    session = Session(
        transaction_id=tid.hex().upper(),
        tid=tid,
        euicc_challenge=challenge,
        server_challenge=state.rng.randbytes(_CHALLENGE_SIZE),
        signing=signing,
        opened=state.clock(),
    )
    signed1 = asn1.encode(
        "ServerSigned1",
        {
            "transactionId": tid,
            "euiccChallenge": challenge,
            "serverAddress": state.credentials.address,
            "serverChallenge": session.server_challenge,
        },
    )
    signature = sign(signing.auth_key, signed1, deterministic=True)
    state.sessions.open(session)
    return {
        "transactionId": session.transaction_id,
        "serverSigned1": b64(signed1),
        "serverSignature1": b64(signature_to_tlv(signature)),
        "euiccCiPKIdToBeUsed": b64(tlv.build(0x04, signing.ci_key_id)),
        "serverCertificate": b64(signing.auth_certificate),
    }


def authenticate_client(state: ServerState, request: Request) -> dict[str, Any]:
    """ES9+.AuthenticateClient (SGP.22 section 5.6.3)."""
    session = state.sessions.at(request.transaction_id(), Step.AUTHENTICATE_CLIENT, state.clock())
    der = request.binary("authenticateServerResponse")
    response = decode("AuthenticateServerResponse", der, "authenticateServerResponse")
    if response[0] != "authenticateResponseOk":
        state.sessions.close(session.transaction_id)
        error = response[1].get("authenticateErrorCode")
        raise codes.refuse(
            codes.EUICC_VERIFICATION_FAILED, f"the eUICC refused AuthenticateServer (code {error})"
        )
    signed1_der, signature_tlv, euicc_der, eum_der = parts(der, "authenticateServerResponse")
    euicc, eid = check_euicc_chain(
        euicc_der, eum_der, session.signing.ci, state.clock(), state.chains
    )
    verify_euicc_signature(euicc, signed1_der, signature_tlv, "euiccSignature1 over euiccSigned1")
    _check_signed1(state, session, response[1]["euiccSigned1"])
    session.euicc_certificate = euicc
    session.eid = eid
    order = _select_order(state, session, response[1]["euiccSigned1"]["ctxParams1"])
    return _bind_order(state, session, order, signature_tlv)


def parts(der: bytes, field: str) -> list[bytes]:
    """The exact bytes of the members of the CHOICE's chosen SEQUENCE (signed data first)."""
    try:
        chosen = tlv.parse(der).children()[0]
        return [child.raw for child in chosen.children()]
    except (TlvError, IndexError) as exc:
        raise codes.refuse(
            codes.INVALID_PARAMETER, f"{field} is not well-formed BER-TLV", subject_identifier=field
        ) from exc


def verify_euicc_signature(
    certificate: x509.Certificate | None, data: bytes, signature_tlv: bytes, what: str
) -> None:
    """Check an eUICC signature TLV (``5F37``) over ``data``; a refusal naming ``what``."""
    if certificate is None:
        raise codes.refuse(codes.EUICC_VERIFICATION_FAILED, f"no eUICC certificate to check {what}")
    try:
        verify(certificate, data, signature_from_tlv(signature_tlv))
    except InvalidSignature as exc:
        raise codes.refuse(codes.EUICC_VERIFICATION_FAILED, f"{what} does not verify") from exc


def _check_signed1(state: ServerState, session: Session, signed1: dict[str, Any]) -> None:
    if signed1["transactionId"] != session.tid:
        raise codes.refuse(
            codes.TRANSACTION_ID_UNKNOWN,
            f"euiccSigned1 carries transactionId {signed1['transactionId'].hex()}, "
            f"expected {session.tid.hex()}",
        )
    if signed1["serverChallenge"] != session.server_challenge:
        raise codes.refuse(
            codes.EUICC_VERIFICATION_FAILED,
            "euiccSigned1 does not echo this session's serverChallenge",
        )
    if signed1["serverAddress"] != state.credentials.address:
        raise codes.refuse(
            codes.EUICC_VERIFICATION_FAILED,
            f"euiccSigned1 names server {signed1['serverAddress']!r}, "
            f"expected {state.credentials.address!r}",
        )


def _select_order(state: ServerState, session: Session, ctx_params: Any) -> Order:
    params = ctx_params[1]
    matching_id = params.get("matchingId", "")
    order = state.orders.find(matching_id, session.eid)
    if order is None:
        raise codes.refuse(
            codes.MATCHING_ID_REFUSED,
            f"no order for matching ID {_mask(matching_id)}"
            if matching_id
            else f"no released order bound to EID {session.eid}",
        )
    if order.eid is not None and order.eid != session.eid:
        raise codes.refuse(
            codes.EID_REFUSED, f"the order is bound to another EID, not {session.eid}"
        )
    if order.expires is not None and state.clock() > order.expires:
        raise codes.refuse(
            codes.ORDER_EXPIRED, f"the order expired at {order.expires:%Y-%m-%d %H:%M}"
        )
    _check_order_state(order, session)
    if order.cc_attempts >= order.max_cc_attempts:
        raise codes.refuse(
            codes.CC_RETRIES_EXCEEDED, f"{order.cc_attempts} wrong confirmation codes already"
        )
    return order


def _check_order_state(order: Order, session: Session) -> None:
    """Released, or downloaded to this eUICC and not installed (a retry, SGP.22 3.1.3.3)."""
    binding = order.binding if order.state is OrderState.DOWNLOADED else None
    if binding is not None and binding.eid != session.eid:
        raise codes.refuse(codes.PROFILE_UNAVAILABLE, "the profile is bound to another eUICC")
    if order.state is not OrderState.RELEASED and binding is None:
        raise codes.refuse(
            codes.PROFILE_UNAVAILABLE, f"the order is {order.state.value}, not released"
        )


def _bind_order(
    state: ServerState, session: Session, order: Order, euicc_signature1: bytes
) -> dict[str, Any]:
    for other in list(state.sessions):
        if other.order is order and other is not session:
            state.sessions.close(other.transaction_id)
    value: dict[str, Any] = {
        "transactionId": session.tid,
        "ccRequiredFlag": order.confirmation_code_required,
    }
    if order.binding is not None:
        value["bppEuiccOtpk"] = order.binding.euicc_otpk  # a retry: bind with the same key
    smdp_signed2 = asn1.encode("SmdpSigned2", value)
    signature = sign(session.signing.pb_key, smdp_signed2 + euicc_signature1, deterministic=True)
    session.order = order
    session.euicc_signature1 = euicc_signature1
    session.smdp_signature2 = signature_to_tlv(signature)
    session.step = Step.GET_BPP
    return {
        "transactionId": session.transaction_id,
        "profileMetadata": b64(store_metadata(order, state.credentials.address)),
        "smdpSigned2": b64(smdp_signed2),
        "smdpSignature2": b64(session.smdp_signature2),
        "smdpCertificate": b64(session.signing.pb_certificate),
    }


def _mask(matching_id: str) -> str:
    """A matching ID shortened for messages (DESIGN.md: never log one in full)."""
    return matching_id[:4] + "..." if len(matching_id) > 4 else "..."
