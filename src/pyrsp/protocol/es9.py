"""ES9+: the LPA's HTTPS/JSON calls to the SM-DP+ (SGP.22 sections 6.5.1 and 6.5.2), sans-IO.

Each of the five functions has a request builder (an :class:`~pyrsp.protocol.effects.HttpPost`),
a response parser and a one-step sub-flow that yields the request and parses the answer::

    auth = yield from es9.initiate_authentication(address, challenge, euicc_info1)

Binary fields travel as standard base64 of the complete TLV exactly as received: parsed values
are kept as the exact bytes the SM-DP+ sent and are never decoded and re-encoded here. The
``transactionId`` is kept as the exact string received (case included) and echoed back as is.

Every way an answer can be wrong becomes a typed error: the SM-DP+ reporting ``Failed`` or
``Expired`` raises :class:`~pyrsp.errors.SmdpError` (with a readable text for the subject and
reason codes SGP.22 defines); an unexpected HTTP status, an empty, non-JSON or HTML body, an
unknown status, a missing or mistyped field, bad base64 or a wrong TLV tag raises
:class:`~pyrsp.errors.ServerProtocolError`; a transaction id other than the session's raises
:class:`~pyrsp.errors.ProtocolViolation`.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pyrsp import tlv
from pyrsp.errors import (
    CodecError,
    ProtocolViolation,
    ServerProtocolError,
    SmdpError,
    UsageError,
)
from pyrsp.protocol.effects import Flow, HttpPost, HttpResponse

__all__ = [
    "ES9_PATH_PREFIX",
    "REASON_CODES",
    "REQUEST_HEADERS",
    "SUBJECT_CODES",
    "X_ADMIN_PROTOCOL",
    "AuthenticateClientResponse",
    "BoundProfilePackageResponse",
    "InitiateAuthenticationResponse",
    "authenticate_client",
    "authenticate_client_request",
    "cancel_session",
    "cancel_session_request",
    "describe_status",
    "get_bound_profile_package",
    "get_bound_profile_package_request",
    "handle_notification",
    "handle_notification_request",
    "initiate_authentication",
    "initiate_authentication_request",
    "parse_authenticate_client",
    "parse_bound_profile_package",
    "parse_cancel_session",
    "parse_handle_notification",
    "parse_initiate_authentication",
]

log = logging.getLogger(__name__)

#: The ES9+ path prefix; the function name follows (SGP.22 section 6.5.1.1).
ES9_PATH_PREFIX: Final = "/gsma/rsp2/es9plus/"
#: The protocol version pyrsp announces (SGP.22 section 6.5.1.2).
X_ADMIN_PROTOCOL: Final = "gsma/rsp/v2.2.0"
#: Headers of every ES9+ request (SGP.22 section 6.5.1.2).
REQUEST_HEADERS: Final[Mapping[str, str]] = {
    "Content-Type": "application/json",
    "X-Admin-Protocol": X_ADMIN_PROTOCOL,
    "User-Agent": "gsma-rsp-lpad",
}

#: Subject codes (SGP.22 section 8.x): what the status is about.
SUBJECT_CODES: Final[Mapping[str, str]] = {
    "1.1": "function requester",
    "1.2": "function provider",
    "1.2.1": "validity period",
    "1.6": "function",
    "8.1": "eUICC",
    "8.1.1": "EID",
    "8.1.2": "EUM certificate",
    "8.1.3": "eUICC certificate",
    "8.2": "profile",
    "8.2.1": "profile ICCID",
    "8.2.5": "profile type",
    "8.2.6": "matching ID",
    "8.2.7": "confirmation code",
    "8.8": "SM-DP+",
    "8.8.1": "SM-DP+ address",
    "8.8.2": "security configuration",
    "8.8.3": "specification version number",
    "8.8.4": "certificate",
    "8.8.5": "download order",
    "8.9": "SM-DS",
    "8.9.1": "SM-DS address",
    "8.9.2": "SM-DS security configuration",
    "8.9.3": "SM-DS specification version number",
    "8.9.4": "SM-DS certificate",
    "8.9.5": "event record",
    "8.10.1": "transaction ID",
    "8.11.1": "CI public key",
}

#: Reason codes (SGP.22 section 8.x): what went wrong with the subject.
REASON_CODES: Final[Mapping[str, str]] = {
    "1.1": "unknown (identification or authentication)",
    "1.2": "not allowed (authorisation)",
    "2.1": "invalid",
    "2.2": "mandatory element missing",
    "2.3": "conditional element missing",
    "3.1": "not supported",
    "3.3": "already in use",
    "3.7": "unavailable",
    "3.8": "refused",
    "3.9": "unknown",
    "3.10": "invalid association",
    "4.2": "execution error",
    "4.3": "stopped on warning",
    "4.8": "insufficient memory",
    "4.10": "time to live expired",
    "5.3": "time to live expired",
    "5.4": "delivered with no response",
    "6.1": "verification failed",
    "6.3": "expired",
    "6.4": "maximum number of retries exceeded",
}

_SUCCESS: Final = frozenset({"Executed-Success", "Executed-WithWarning"})
_FAILURE: Final = frozenset({"Failed", "Expired"})
_TRANSACTION_ID = re.compile(r"[0-9A-Fa-f]{2,32}")
_SNIPPET = 80
#: How much of the SM-DP+'s own text (statusCodeData) an error message shows.
_MESSAGE_CHARS = 200
_CODE_CHARS = 20


@dataclass(frozen=True)
class InitiateAuthenticationResponse:
    """The SM-DP+'s answer to initiateAuthentication (SGP.22 section 6.5.2.6).

    Every ``bytes`` field is the complete TLV as received: ``server_signed1`` (``30``),
    ``server_signature1`` (``5F37``), ``euicc_ci_pkid_to_be_used`` (``04``) and
    ``server_certificate`` (``30``, CERT.DPauth.ECDSA).
    """

    transaction_id: str
    server_signed1: bytes
    server_signature1: bytes
    euicc_ci_pkid_to_be_used: bytes
    server_certificate: bytes


@dataclass(frozen=True)
class AuthenticateClientResponse:
    """The SM-DP+'s answer to authenticateClient (SGP.22 section 6.5.2.8).

    ``profile_metadata`` is the StoreMetadataRequest (``BF25``), ``smdp_signed2`` (``30``),
    ``smdp_signature2`` (``5F37``), ``smdp_certificate`` (``30``, CERT.DPpb.ECDSA): exact bytes.
    """

    transaction_id: str
    profile_metadata: bytes
    smdp_signed2: bytes
    smdp_signature2: bytes
    smdp_certificate: bytes


@dataclass(frozen=True)
class BoundProfilePackageResponse:
    """The answer to getBoundProfilePackage (SGP.22 section 6.5.2.7): the BPP (``BF36``)."""

    transaction_id: str
    bound_profile_package: bytes


def describe_status(subject_code: str, reason_code: str) -> str:
    """A readable text for an ES9+ subject and reason code pair (SGP.22 section 8.x)."""
    subject = SUBJECT_CODES.get(subject_code, "unknown subject")
    reason = REASON_CODES.get(reason_code, "unknown reason")
    return f"{subject} {subject_code or '?'}: {reason} {reason_code or '?'}"


# --- request builders ------------------------------------------------------------------------


def initiate_authentication_request(
    smdp_address: str, euicc_challenge: bytes, euicc_info1: bytes
) -> HttpPost:
    """The initiateAuthentication POST (SGP.22 section 6.5.2.6).

    ``euicc_challenge`` is the eUICC's raw 16-byte challenge, ``euicc_info1`` the complete
    EUICCInfo1 TLV (``BF20``) as the eUICC returned it.
    """
    if len(euicc_challenge) != 16:
        raise UsageError(f"euiccChallenge must be 16 bytes, got {len(euicc_challenge)}")
    _require_tag("euiccInfo1", euicc_info1, b"\xbf\x20")
    if not smdp_address:
        raise UsageError("smdpAddress must not be empty")
    body = {
        "euiccChallenge": _b64(euicc_challenge),
        "euiccInfo1": _b64(euicc_info1),
        "smdpAddress": smdp_address,
    }
    return _post(smdp_address, "initiateAuthentication", body)


def authenticate_client_request(
    smdp_address: str, transaction_id: str, authenticate_server_response: bytes
) -> HttpPost:
    """The authenticateClient POST (SGP.22 section 6.5.2.8) with the eUICC's ``BF38`` answer."""
    _require_tag("authenticateServerResponse", authenticate_server_response, b"\xbf\x38")
    body = {
        "transactionId": transaction_id,
        "authenticateServerResponse": _b64(authenticate_server_response),
    }
    return _post(smdp_address, "authenticateClient", body)


def get_bound_profile_package_request(
    smdp_address: str, transaction_id: str, prepare_download_response: bytes
) -> HttpPost:
    """The getBoundProfilePackage POST (SGP.22 section 6.5.2.7) with the eUICC's ``BF21`` answer."""
    _require_tag("prepareDownloadResponse", prepare_download_response, b"\xbf\x21")
    body = {
        "transactionId": transaction_id,
        "prepareDownloadResponse": _b64(prepare_download_response),
    }
    return _post(smdp_address, "getBoundProfilePackage", body)


def handle_notification_request(notification_address: str, pending_notification: bytes) -> HttpPost:
    """The handleNotification POST (SGP.22 section 6.5.2.9).

    ``pending_notification`` is the complete PendingNotification TLV as the eUICC returned it:
    a ProfileInstallationResult (``BF37``) or an OtherSignedNotification (``30``).
    """
    if pending_notification[:2] != b"\xbf\x37" and pending_notification[:1] != b"\x30":
        raise UsageError(
            "pendingNotification must start with BF37 or 30, "
            f"got {pending_notification[:2].hex().upper() or 'nothing'}"
        )
    body = {"pendingNotification": _b64(pending_notification)}
    return _post(notification_address, "handleNotification", body)


def cancel_session_request(
    smdp_address: str, transaction_id: str, cancel_session_response: bytes
) -> HttpPost:
    """The cancelSession POST (SGP.22 section 6.5.2.10) with the eUICC's signed ``BF41`` answer."""
    _require_tag("cancelSessionResponse", cancel_session_response, b"\xbf\x41")
    body = {
        "transactionId": transaction_id,
        "cancelSessionResponse": _b64(cancel_session_response),
    }
    return _post(smdp_address, "cancelSession", body)


def _post(address: str, function: str, body: Mapping[str, str]) -> HttpPost:
    payload = json.dumps(body, separators=(",", ":")).encode("ascii")
    return HttpPost(address, ES9_PATH_PREFIX + function, payload, dict(REQUEST_HEADERS))


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _require_tag(field: str, value: bytes, tag: bytes) -> None:
    if value[: len(tag)] != tag:
        raise UsageError(
            f"{field} must be a complete TLV starting with {tag.hex().upper()}, "
            f"got {value[: len(tag)].hex().upper() or 'nothing'}"
        )


# --- response parsers ------------------------------------------------------------------------


def parse_initiate_authentication(
    response: HttpResponse,
) -> InitiateAuthenticationResponse:
    """Parse the answer to initiateAuthentication (SGP.22 section 6.5.2.6)."""
    doc = _success_body("initiateAuthentication", response)
    fields = _Fields("initiateAuthentication", doc)
    return InitiateAuthenticationResponse(
        transaction_id=fields.transaction_id(),
        server_signed1=fields.tlv("serverSigned1", b"\x30"),
        server_signature1=fields.tlv("serverSignature1", b"\x5f\x37"),
        euicc_ci_pkid_to_be_used=fields.tlv("euiccCiPKIdToBeUsed", b"\x04"),
        server_certificate=fields.tlv("serverCertificate", b"\x30"),
    )


def parse_authenticate_client(response: HttpResponse) -> AuthenticateClientResponse:
    """Parse the answer to authenticateClient (SGP.22 section 6.5.2.8)."""
    doc = _success_body("authenticateClient", response)
    fields = _Fields("authenticateClient", doc)
    return AuthenticateClientResponse(
        transaction_id=fields.transaction_id(),
        profile_metadata=fields.tlv("profileMetadata", b"\xbf\x25"),
        smdp_signed2=fields.tlv("smdpSigned2", b"\x30"),
        smdp_signature2=fields.tlv("smdpSignature2", b"\x5f\x37"),
        smdp_certificate=fields.tlv("smdpCertificate", b"\x30"),
    )


def parse_bound_profile_package(response: HttpResponse) -> BoundProfilePackageResponse:
    """Parse the answer to getBoundProfilePackage (SGP.22 section 6.5.2.7)."""
    doc = _success_body("getBoundProfilePackage", response)
    fields = _Fields("getBoundProfilePackage", doc)
    return BoundProfilePackageResponse(
        transaction_id=fields.transaction_id(),
        bound_profile_package=fields.tlv("boundProfilePackage", b"\xbf\x36"),
    )


def parse_handle_notification(response: HttpResponse) -> None:
    """Check the answer to handleNotification (SGP.22 section 6.5.2.9).

    The standard answer is 204 with no body; a 200 with an empty body or a success header is
    accepted too. ``Failed``/``Expired`` raise :class:`SmdpError`.
    """
    _no_data_answer("handleNotification", response)


def parse_cancel_session(response: HttpResponse) -> None:
    """Check the answer to cancelSession (SGP.22 section 6.5.2.10): a success header (or 204)."""
    _no_data_answer("cancelSession", response)


def _no_data_answer(function: str, response: HttpResponse) -> None:
    if response.status == 204 or (response.status == 200 and not response.body.strip()):
        return
    _success_body(function, response)


def _success_body(function: str, response: HttpResponse) -> dict[str, Any]:
    """The JSON object of a 200 answer whose header says success; every other case raises."""
    if response.status != 200:
        doc = _try_json(response.body)
        if doc is not None:
            _check_header(function, doc, http_status=response.status)
        raise ServerProtocolError(
            f"{function}: expected HTTP 200, got {response.status} with {_describe_body(response)}"
        )
    if not response.body.strip():
        raise ServerProtocolError(f"{function}: expected a JSON body, got an empty HTTP 200")
    doc = _try_json(response.body)
    if doc is None:
        raise ServerProtocolError(
            f"{function}: expected a JSON object, got {_describe_body(response)}"
        )
    _check_header(function, doc, http_status=200)
    return doc


def _check_header(function: str, doc: dict[str, Any], *, http_status: int) -> None:
    """Raise unless ``header.functionExecutionStatus`` says the function succeeded."""
    status_obj = _path(function, doc, "header", "functionExecutionStatus")
    status = status_obj.get("status")
    if not isinstance(status, str):
        raise ServerProtocolError(
            f"{function}: expected header.functionExecutionStatus.status as a string, "
            f"got {_typename(status)}"
        )
    if status in _SUCCESS and http_status == 200:
        if status == "Executed-WithWarning":
            log.warning(  # repr: the server's text escaped; %.200r: bounded
                "%s executed with a warning: %.200r", function, status_obj.get("statusCodeData")
            )
        return
    if status in _FAILURE:
        raise _smdp_error(function, status, status_obj.get("statusCodeData"))
    if status in _SUCCESS:
        raise ServerProtocolError(f"{function}: status {status} with HTTP {http_status}")
    raise ServerProtocolError(
        f"{function}: expected a status in {sorted(_SUCCESS | _FAILURE)}, got {status[:_SNIPPET]!r}"
    )


def _smdp_error(function: str, status: str, data: object) -> SmdpError:
    if not isinstance(data, dict):
        data = {}
    subject, reason, ident, text = (
        _str_or_empty(data.get(key))
        for key in ("subjectCode", "reasonCode", "subjectIdentifier", "message")
    )
    described = describe_status(_printable(subject, _CODE_CHARS), _printable(reason, _CODE_CHARS))
    message = f"SM-DP+ {function} {status}: {described}"
    if text:
        message += f" ({_printable(text, _MESSAGE_CHARS)})"
    return SmdpError(
        message,
        status=status,
        subject_code=subject,
        reason_code=reason,
        subject_identifier=ident,
        server_message=text,
    )


def _path(function: str, doc: dict[str, Any], *keys: str) -> dict[str, Any]:
    node: Any = doc
    for depth, key in enumerate(keys):
        node = node.get(key)
        if not isinstance(node, dict):
            where = ".".join(keys[: depth + 1])
            raise ServerProtocolError(
                f"{function}: expected {where} as a JSON object, got {_typename(node)}"
            )
    return dict(node)


class _Fields:
    """Typed access to the fields of one ES9+ answer, each failure a ServerProtocolError."""

    def __init__(self, function: str, doc: dict[str, Any]) -> None:
        self.function = function
        self.doc = doc

    def string(self, name: str) -> str:
        value = self.doc.get(name)
        if not isinstance(value, str):
            raise ServerProtocolError(
                f"{self.function}: expected {name} as a string, got {_typename(value)}"
            )
        return value

    def transaction_id(self) -> str:
        value = self.string("transactionId")
        if _TRANSACTION_ID.fullmatch(value) is None or len(value) % 2:
            raise ServerProtocolError(
                f"{self.function}: expected transactionId as 1 to 16 bytes in hex, "
                f"got {value[:_SNIPPET]!r}"
            )
        return value

    def tlv(self, name: str, tag: bytes) -> bytes:
        """A base64 field that must hold exactly one whole TLV with ``tag``."""
        data = _unb64(self.function, name, self.string(name))
        if data[: len(tag)] != tag:
            raise ServerProtocolError(
                f"{self.function}: expected {name} to start with tag {tag.hex().upper()}, "
                f"got {data[:4].hex().upper() or 'nothing'}"
            )
        try:
            tlv.parse(data)
        except CodecError as exc:
            raise ServerProtocolError(
                f"{self.function}: expected {name} as one whole TLV: {exc}"
            ) from exc
        return data


def _unb64(function: str, name: str, text: str) -> bytes:
    """Standard base64; ASCII whitespace and missing padding are tolerated, nothing else."""
    compact = "".join(text.split())
    compact += "=" * (-len(compact) % 4)
    try:
        return base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ServerProtocolError(
            f"{function}: expected {name} in standard base64, got {text[:_SNIPPET]!r}"
        ) from exc


def _try_json(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None when it is not one (never raises)."""
    try:
        doc = json.loads(body.decode("utf-8-sig"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _describe_body(response: HttpResponse) -> str:
    body = response.body
    ctype = response.headers.get("content-type", "")
    if not body.strip():
        return "an empty body"
    kind = "an HTML page" if body.lstrip()[:1] == b"<" else "a body that is not a JSON object"
    snippet = body[:_SNIPPET].decode("utf-8", "replace")
    shown = ctype[:_SNIPPET] or "none"
    return f"{kind} ({len(body)} bytes, content-type {shown!r}): {snippet!r}"


def _printable(text: str, limit: int) -> str:
    """Server text fit for an error message or a log line: characters that are not printable
    (newlines, other controls, bidi overrides) escaped as ``repr`` would, at most ``limit``
    characters, a cut marked ``...``."""
    shown = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text[: limit + 1])
    return shown if len(shown) <= limit else shown[: limit - 3] + "..."


def _str_or_empty(value: object) -> str:
    return value if isinstance(value, str) else ""


def _typename(value: object) -> str:
    if value is None:
        return "nothing"
    return f"a JSON {type(value).__name__}"


# --- sub-flows -------------------------------------------------------------------------------


def _check_transaction(function: str, expected: str, received: str) -> None:
    if received != expected:
        raise ProtocolViolation(
            f"{function}: expected transactionId {expected!r}, "
            f"the SM-DP+ answered {received[:_SNIPPET]!r}"
        )


def initiate_authentication(
    smdp_address: str, euicc_challenge: bytes, euicc_info1: bytes
) -> Flow[InitiateAuthenticationResponse]:
    """POST initiateAuthentication and parse the answer (SGP.22 section 6.5.2.6)."""
    response = yield initiate_authentication_request(smdp_address, euicc_challenge, euicc_info1)
    return parse_initiate_authentication(response)


def authenticate_client(
    smdp_address: str, transaction_id: str, authenticate_server_response: bytes
) -> Flow[AuthenticateClientResponse]:
    """POST authenticateClient; the answer must carry the same transactionId (section 6.5.2.8)."""
    request = authenticate_client_request(
        smdp_address, transaction_id, authenticate_server_response
    )
    result = parse_authenticate_client((yield request))
    _check_transaction("authenticateClient", transaction_id, result.transaction_id)
    return result


def get_bound_profile_package(
    smdp_address: str, transaction_id: str, prepare_download_response: bytes
) -> Flow[BoundProfilePackageResponse]:
    """POST getBoundProfilePackage; same transactionId required (SGP.22 section 6.5.2.7)."""
    request = get_bound_profile_package_request(
        smdp_address, transaction_id, prepare_download_response
    )
    result = parse_bound_profile_package((yield request))
    _check_transaction("getBoundProfilePackage", transaction_id, result.transaction_id)
    return result


def handle_notification(notification_address: str, pending_notification: bytes) -> Flow[None]:
    """POST handleNotification to the notification's address (SGP.22 section 6.5.2.9)."""
    response = yield handle_notification_request(notification_address, pending_notification)
    parse_handle_notification(response)


def cancel_session(
    smdp_address: str, transaction_id: str, cancel_session_response: bytes
) -> Flow[None]:
    """POST cancelSession with the eUICC's signed answer (SGP.22 section 6.5.2.10)."""
    response = yield cancel_session_request(smdp_address, transaction_id, cancel_session_response)
    parse_cancel_session(response)
