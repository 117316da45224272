"""The ES9+ status codes a TestSmdp refuses with (SGP.22 sections 5.6 and 6.5.1.4).

Each refusal is a :class:`~pyrsp.errors.SmdpError` carrying the standard's subject code and reason
code; :func:`refuse` builds one, and the ES9+ layer turns it into the JSON ``header`` of a
``Failed`` (or ``Expired``) answer. The names below follow the tables of SGP.22 section 5.6
("subject - reason").
"""

from __future__ import annotations

from dataclasses import dataclass

from pyrsp.errors import SmdpError

__all__ = [
    "CC_MISSING",
    "CC_REFUSED",
    "CC_RETRIES_EXCEEDED",
    "CI_PKID_UNKNOWN",
    "EID_REFUSED",
    "EUICC_CERT_EXPIRED",
    "EUICC_CERT_INVALID",
    "EUICC_VERIFICATION_FAILED",
    "EUM_CERT_EXPIRED",
    "EUM_CERT_INVALID",
    "INVALID_PARAMETER",
    "MATCHING_ID_REFUSED",
    "MISSING_PARAMETER",
    "NO_ELIGIBLE_PROFILE",
    "ORDER_EXPIRED",
    "ORDER_RETRIES_EXCEEDED",
    "PROFILE_UNAVAILABLE",
    "SECURITY_CONFIG_UNSUPPORTED",
    "SMDP_ADDRESS_REFUSED",
    "SMDP_CERT_UNAVAILABLE",
    "SMDP_OID_INVALID",
    "SVN_UNSUPPORTED",
    "TRANSACTION_ID_UNKNOWN",
    "Code",
    "refuse",
]


@dataclass(frozen=True)
class Code:
    """One ``subjectCode``/``reasonCode`` pair with the standard's wording."""

    subject: str
    reason: str
    text: str
    status: str = "Failed"


# Generic (SGP.22 section 5.1.6.4 / 6.5.1.4): a mandatory function parameter.
MISSING_PARAMETER = Code("1.3.1", "2.2", "Mandatory function parameter missing")
INVALID_PARAMETER = Code("1.3.1", "2.1", "Function parameter invalid")

# InitiateAuthentication (section 5.6.1).
SMDP_ADDRESS_REFUSED = Code("8.8.1", "3.8", "SM-DP+ Address - Refused")
SECURITY_CONFIG_UNSUPPORTED = Code("8.8.2", "3.1", "Security configuration - Unsupported")
SVN_UNSUPPORTED = Code("8.8.3", "3.1", "Specification version number - Unsupported")
SMDP_CERT_UNAVAILABLE = Code("8.8.4", "3.7", "SM-DP+ Certificate - Unavailable")

# AuthenticateClient (section 5.6.3), GetBoundProfilePackage (5.6.2), CancelSession (5.6.5).
EUICC_VERIFICATION_FAILED = Code("8.1", "6.1", "eUICC - Verification failed")
EID_REFUSED = Code("8.1.1", "3.8", "EID - Refused")
EUM_CERT_INVALID = Code("8.1.2", "6.1", "EUM Certificate - Verification failed")
EUM_CERT_EXPIRED = Code("8.1.2", "6.3", "EUM Certificate - Expired")
EUICC_CERT_INVALID = Code("8.1.3", "6.1", "eUICC Certificate - Verification failed")
EUICC_CERT_EXPIRED = Code("8.1.3", "6.3", "eUICC Certificate - Expired")
PROFILE_UNAVAILABLE = Code("8.2", "3.7", "Profile - Unavailable")
NO_ELIGIBLE_PROFILE = Code("8.2.5", "4.3", "Profile Type - Stopped on warning")
MATCHING_ID_REFUSED = Code("8.2.6", "3.8", "Matching ID - Refused")
CC_MISSING = Code("8.2.7", "2.2", "Confirmation Code - Mandatory element missing")
CC_REFUSED = Code("8.2.7", "3.8", "Confirmation Code - Refused")
CC_RETRIES_EXCEEDED = Code("8.2.7", "6.4", "Confirmation Code - Maximum number of retries exceeded")
ORDER_EXPIRED = Code("8.8.5", "4.10", "Download order - Time to live expired", "Expired")
ORDER_RETRIES_EXCEEDED = Code("8.8.5", "6.4", "Download order - Maximum number of retries exceeded")
SMDP_OID_INVALID = Code("8.8", "3.10", "SM-DP+ - Invalid association")
TRANSACTION_ID_UNKNOWN = Code("8.10.1", "3.9", "TransactionId - Unknown")
CI_PKID_UNKNOWN = Code("8.11.1", "3.9", "CI Public Key - Unknown")


def refuse(code: Code, detail: str, *, subject_identifier: str = "") -> SmdpError:
    """The :class:`SmdpError` for ``code``; ``detail`` says what was expected and received."""
    return SmdpError(
        f"{code.text} ({code.subject}/{code.reason}): {detail}",
        status=code.status,
        subject_code=code.subject,
        reason_code=code.reason,
        subject_identifier=subject_identifier,
        server_message=f"{code.text}: {detail}",
    )
