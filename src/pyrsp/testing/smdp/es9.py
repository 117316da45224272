"""The ES9+ JSON binding on the server side (SGP.22 section 6.5): requests in, answers out.

Pure functions: a request body (bytes) is checked and its fields decoded here, the function's
logic runs elsewhere, and the result or the refusal becomes the answer's JSON. Binary fields
are standard base64 of complete TLVs; ``transactionId`` is a hex string echoed exactly.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from pyrsp import asn1
from pyrsp.errors import CodecError, SmdpError
from pyrsp.testing.choices import unknown_alternative
from pyrsp.testing.smdp import codes

__all__ = [
    "ADMIN_PROTOCOL",
    "ES9_PREFIX",
    "FUNCTIONS",
    "Request",
    "b64",
    "decode",
    "failure_body",
    "json_headers",
    "success_body",
]

ES9_PREFIX = "/gsma/rsp2/es9plus/"
FUNCTIONS = (
    "initiateAuthentication",
    "authenticateClient",
    "getBoundProfilePackage",
    "handleNotification",
    "cancelSession",
)
ADMIN_PROTOCOL = "gsma/rsp/v2.2.0"
_TRANSACTION_ID_HEX = frozenset("0123456789abcdefABCDEF")


def json_headers() -> dict[str, str]:
    """The headers of every JSON answer (SGP.22 section 6.5.1)."""
    return {"content-type": "application/json;charset=UTF-8", "x-admin-protocol": ADMIN_PROTOCOL}


def success_body(payload: Mapping[str, Any]) -> bytes:
    """An ``Executed-Success`` answer carrying ``payload`` (SGP.22 section 6.5.1.4)."""
    document = {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}}
    document.update(payload)
    return json.dumps(document).encode()


def failure_body(error: SmdpError) -> bytes:
    """A ``Failed``/``Expired`` answer with the refusal's status code data."""
    status_code_data = {"subjectCode": error.subject_code, "reasonCode": error.reason_code}
    if error.subject_identifier:
        status_code_data["subjectIdentifier"] = error.subject_identifier
    status_code_data["message"] = error.server_message
    execution = {"status": error.status, "statusCodeData": status_code_data}
    return json.dumps({"header": {"functionExecutionStatus": execution}}).encode()


def b64(data: bytes) -> str:
    """Standard base64 with padding, as ES9+ carries binary fields."""
    return base64.b64encode(data).decode("ascii")


def decode(type_name: str, der: bytes, field: str) -> Any:
    """``der`` decoded as ``type_name``; a refusal naming ``field`` if it does not decode or
    holds a CHOICE alternative the schema lacks (a ProfileInstallationResult's ``finalResult``:
    the server cannot act on what it cannot read, as for bytes that do not decode)."""
    try:
        value = asn1.decode(type_name, der)
    except CodecError as exc:
        raise codes.refuse(
            codes.INVALID_PARAMETER,
            f"{field} is not a valid {type_name}: {exc}",
            subject_identifier=field,
        ) from exc
    unknown = unknown_alternative(value)
    if unknown is not None:
        raise codes.refuse(
            codes.INVALID_PARAMETER,
            f"{field} is not a valid {type_name}: {unknown} has an unknown alternative",
            subject_identifier=field,
        )
    return value


class Request:
    """The fields of one ES9+ request body, read with the checks the standard implies."""

    def __init__(self, body: bytes) -> None:
        try:
            document = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise codes.refuse(
                codes.INVALID_PARAMETER,
                f"expected a JSON object, got {len(body)} bytes that do not parse",
            ) from exc
        if not isinstance(document, dict):
            raise codes.refuse(
                codes.INVALID_PARAMETER, f"expected a JSON object, got {type(document).__name__}"
            )
        self._document: dict[str, Any] = document

    def optional_text(self, name: str) -> str | None:
        """The string field ``name``, or ``None`` if absent or not a string."""
        value = self._document.get(name)
        return value if isinstance(value, str) else None

    def text(self, name: str) -> str:
        """The string field ``name``; a refusal if absent or not a string."""
        value = self._document.get(name)
        if value is None:
            raise codes.refuse(
                codes.MISSING_PARAMETER, f"{name} is missing", subject_identifier=name
            )
        if not isinstance(value, str):
            raise codes.refuse(
                codes.INVALID_PARAMETER,
                f"expected {name} as a string, got {type(value).__name__}",
                subject_identifier=name,
            )
        return value

    def binary(self, name: str) -> bytes:
        """The base64 field ``name`` decoded; a refusal if absent or not strict base64."""
        text = self.text(name)
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise codes.refuse(
                codes.INVALID_PARAMETER, f"{name} is not standard base64", subject_identifier=name
            ) from exc

    def transaction_id(self) -> str:
        """The ``transactionId`` field: hex digits, kept exactly as sent."""
        value = self.text("transactionId")
        if not value or len(value) % 2 or not set(value) <= _TRANSACTION_ID_HEX:
            raise codes.refuse(
                codes.INVALID_PARAMETER,
                f"expected transactionId as an even number of hex digits, got {value!r}",
                subject_identifier="transactionId",
            )
        return value
