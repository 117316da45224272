"""The pyrsp exception tree.

Every error pyrsp raises derives from :class:`PyrspError`. Errors raised by a dependency
(asn1tools, cryptography, pyscard, httpx) are translated in one place each and raised ``from``
the original, so ``__cause__`` keeps the detail. Messages say what was expected and what was
received.

::

    PyrspError
    ├── UsageError                  you called the API wrongly (bad argument, wrong state)
    ├── ActivationCodeError         an activation code SGP.22 section 4.1 does not allow
    ├── CodecError                  DER that does not decode, a value that does not encode
    │   └── TlvError                malformed BER-TLV (truncated, bad length, trailing bytes)
    ├── CryptoError
    │   ├── InvalidSignature        an ECDSA signature that does not verify
    │   ├── CertificateError        no chain, a wrong role, curve, validity or EID range
    │   └── BspError                a BSP segment failing its MAC, order or counter check
    ├── CardError                   anything on the eUICC side
    │   ├── CardTransportError      the reader or the link to the card failed
    │   │   ├── NoReaderError       no PC/SC service, or no reader matches
    │   │   ├── CardRemovedError    the card went away (removed, reset, unpowered)
    │   │   └── CardTimeoutError    the card did not answer in time
    │   ├── ApduError               a status word other than 9000 (``sw``)
    │   ├── IsdRNotFoundError       no ISD-R AID in the list could be selected
    │   └── EuiccError              an ES10 function's error code (``function``, ``code``)
    ├── ServerError                 anything on the SM-DP+ side
    │   ├── HttpTransportError      the connection failed (refused, reset, TLS, timeout)
    │   │   ├── TlsError            certificate not trusted, host name mismatch
    │   │   └── ServerTimeoutError  the server did not answer in time
    │   ├── ServerProtocolError     a malformed answer (status, non-JSON, missing field)
    │   └── SmdpError               status Failed or Expired (``subject_code``, ``reason_code``)
    ├── ProtocolViolation           a peer breaks SGP.22 (transaction id, address, challenge)
    └── DownloadError               a download ended without a profile (``stage``)
        └── DownloadDeclined        the user declined (consent or confirmation code)
"""

from __future__ import annotations

__all__ = [
    "ActivationCodeError",
    "ApduError",
    "BspError",
    "CardError",
    "CardRemovedError",
    "CardTimeoutError",
    "CardTransportError",
    "CertificateError",
    "CodecError",
    "CryptoError",
    "DownloadDeclined",
    "DownloadError",
    "EuiccError",
    "HttpTransportError",
    "InvalidSignature",
    "IsdRNotFoundError",
    "NoReaderError",
    "ProtocolViolation",
    "PyrspError",
    "ServerError",
    "ServerProtocolError",
    "ServerTimeoutError",
    "SmdpError",
    "TlsError",
    "TlvError",
    "UsageError",
]


class PyrspError(Exception):
    """Base of every error pyrsp raises."""


class UsageError(PyrspError):
    """The API was called wrongly: a bad argument or an operation in the wrong state."""


class ActivationCodeError(PyrspError, ValueError):
    """An activation code that SGP.22 section 4.1 does not allow."""


class CodecError(PyrspError):
    """DER that does not decode as the expected ASN.1 type, or a value that does not encode.

    ``type_name`` is the ASN.1 type, ``path`` where in the structure decoding failed (may be empty).
    """

    def __init__(self, message: str, *, type_name: str = "", path: str = "") -> None:
        super().__init__(message)
        self.type_name = type_name
        self.path = path


class TlvError(CodecError):
    """BER-TLV that is malformed: truncated, a bad length, or trailing bytes."""


class CryptoError(PyrspError):
    """A cryptographic check failed."""


class InvalidSignature(CryptoError):  # noqa: N818 (the name is the API)
    """An ECDSA signature does not verify over the given data."""


class CertificateError(CryptoError):
    """A certificate or chain breaks a rule of the SGP.22 certificate profile.

    ``certificate`` names the certificate (its subject), ``rule`` the rule that failed.
    """

    def __init__(self, message: str, *, certificate: str = "", rule: str = "") -> None:
        super().__init__(message)
        self.certificate = certificate
        self.rule = rule


class BspError(CryptoError):
    """A BSP (SCP03t) segment fails its MAC, order or block-counter check.

    ``segment`` is the index of the offending segment in the order processed (-1 if unknown).
    """

    def __init__(self, message: str, *, segment: int = -1) -> None:
        super().__init__(message)
        self.segment = segment


class CardError(PyrspError):
    """Something went wrong on the eUICC side."""


class CardTransportError(CardError):
    """The reader or the link to the card failed."""


class NoReaderError(CardTransportError):
    """No PC/SC service is running, or no reader matches the selection."""


class CardRemovedError(CardTransportError):
    """The card went away: removed, reset or unpowered."""


class CardTimeoutError(CardTransportError):
    """The card did not answer within the timeout."""


class ApduError(CardError):
    """The card answered a status word other than ``9000``.

    ``sw`` is the two status bytes as an integer (``0x6A88``).
    """

    def __init__(self, message: str, *, sw: int) -> None:
        super().__init__(message)
        self.sw = sw


class IsdRNotFoundError(CardError):
    """None of the ISD-R AIDs tried could be selected."""


class EuiccError(CardError):
    """An ES10 function returned an error code (SGP.22 section 5.7).

    ``function`` is the ES10 function name, ``code`` the integer the eUICC returned and
    ``reason`` the standard's name for it (``iccidOrAidNotFound``), or ``""`` if unknown.
    """

    def __init__(self, message: str, *, function: str, code: int, reason: str = "") -> None:
        super().__init__(message)
        self.function = function
        self.code = code
        self.reason = reason


class ServerError(PyrspError):
    """Something went wrong on the SM-DP+ side."""


class HttpTransportError(ServerError):
    """The HTTPS connection failed: refused, reset, TLS or timeout."""


class TlsError(HttpTransportError):
    """The server's TLS certificate is not trusted or does not match the host name."""


class ServerTimeoutError(HttpTransportError):
    """The server did not answer within the timeout."""


class ServerProtocolError(ServerError):
    """A malformed ES9+ answer: unexpected HTTP status, non-JSON body, missing field, bad base64."""


class SmdpError(ServerError):
    """The SM-DP+ reported ``Failed`` or ``Expired`` (SGP.22 section 6.5.1.4).

    ``status`` is the functionExecutionStatus, ``subject_code``/``reason_code`` the standard's
    codes (``8.1.1``, ``3.8``), ``message`` the server's text.
    """

    def __init__(
        self,
        message: str,
        *,
        status: str = "Failed",
        subject_code: str = "",
        reason_code: str = "",
        subject_identifier: str = "",
        server_message: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.subject_code = subject_code
        self.reason_code = reason_code
        self.subject_identifier = subject_identifier
        self.server_message = server_message


class ProtocolViolation(PyrspError):  # noqa: N818 (the name is the API)
    """A peer's answer breaks SGP.22: a wrong transaction id, address, challenge or role."""


class DownloadError(PyrspError):
    """A profile download ended without an installed profile.

    ``stage`` names the step that failed; ``cancel_reason`` the CancelSession reason sent, if any.
    """

    def __init__(self, message: str, *, stage: str = "", cancel_reason: str = "") -> None:
        super().__init__(message)
        self.stage = stage
        self.cancel_reason = cancel_reason


class DownloadDeclined(DownloadError):  # noqa: N818 (the name is the API)
    """The user declined the download (consent refused or no confirmation code)."""
