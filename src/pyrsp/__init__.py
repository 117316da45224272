"""pyrsp: eSIM Remote SIM Provisioning (GSMA SGP.22), the client (LPA) side.

The public API, importable from ``pyrsp`` itself::

    from pyrsp import RspClient, ActivationCode
    from pyrsp.transports import PcscCardTransport, HttpsTransport
    from pyrsp.testing import TestPki, VirtualEuicc, TestSmdp

Importing this package is cheap: each name loads its module on first use, so the ASN.1 schema,
pydantic models, httpx and pyscard cost nothing until needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyrsp._lazy import lazy_exports
from pyrsp.errors import (
    ActivationCodeError,
    ApduError,
    BspError,
    CardError,
    CardRemovedError,
    CardTimeoutError,
    CardTransportError,
    CertificateError,
    CodecError,
    CryptoError,
    DownloadDeclined,
    DownloadError,
    EuiccError,
    HttpTransportError,
    InvalidSignature,
    IsdRNotFoundError,
    NoReaderError,
    ProtocolViolation,
    PyrspError,
    ServerError,
    ServerProtocolError,
    ServerTimeoutError,
    SmdpError,
    TlsError,
    TlvError,
    UsageError,
)

if TYPE_CHECKING:
    from pyrsp.activation_code import ActivationCode
    from pyrsp.client import AsyncRspClient, Handlers, RspClient
    from pyrsp.journal import FileJournal, Journal, MemoryJournal
    from pyrsp.models import (
        EuiccInfo1,
        EuiccInfo2,
        InstallResult,
        NotificationEvent,
        NotificationMetadata,
        ProfileClass,
        ProfileInfo,
        ProfileMetadata,
        ProfileState,
    )
    from pyrsp.protocol.download import DeviceInfo, DownloadResult
    from pyrsp.protocol.notifications import NotificationOutcome
    from pyrsp.protocol.renewal import RenewalResult
    from pyrsp.testing.euicc import VirtualEuicc
    from pyrsp.testing.pki import TestPki
    from pyrsp.testing.smdp import TestSmdp
    from pyrsp.transports.http import AsyncHttpsTransport, HttpsTransport
    from pyrsp.transports.inprocess import AsyncInProcessCardTransport, InProcessCardTransport
    from pyrsp.transports.pcsc import AsyncPcscCardTransport, PcscCardTransport

__version__ = "0.1.0"

_WHERE = {
    "ActivationCode": "pyrsp.activation_code",
    "AsyncHttpsTransport": "pyrsp.transports.http",
    "AsyncInProcessCardTransport": "pyrsp.transports.inprocess",
    "AsyncPcscCardTransport": "pyrsp.transports.pcsc",
    "AsyncRspClient": "pyrsp.client",
    "DeviceInfo": "pyrsp.protocol.download",
    "DownloadResult": "pyrsp.protocol.download",
    "EuiccInfo1": "pyrsp.models",
    "EuiccInfo2": "pyrsp.models",
    "FileJournal": "pyrsp.journal",
    "Handlers": "pyrsp.client",
    "HttpsTransport": "pyrsp.transports.http",
    "InProcessCardTransport": "pyrsp.transports.inprocess",
    "InstallResult": "pyrsp.models",
    "Journal": "pyrsp.journal",
    "MemoryJournal": "pyrsp.journal",
    "NotificationEvent": "pyrsp.models",
    "NotificationMetadata": "pyrsp.models",
    "NotificationOutcome": "pyrsp.protocol.notifications",
    "PcscCardTransport": "pyrsp.transports.pcsc",
    "ProfileClass": "pyrsp.models",
    "ProfileInfo": "pyrsp.models",
    "ProfileMetadata": "pyrsp.models",
    "ProfileState": "pyrsp.models",
    "RenewalResult": "pyrsp.protocol.renewal",
    "RspClient": "pyrsp.client",
    "TestPki": "pyrsp.testing.pki",
    "TestSmdp": "pyrsp.testing.smdp",
    "VirtualEuicc": "pyrsp.testing.euicc",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

__all__ = [
    "ActivationCode",
    "ActivationCodeError",
    "ApduError",
    "AsyncHttpsTransport",
    "AsyncInProcessCardTransport",
    "AsyncPcscCardTransport",
    "AsyncRspClient",
    "BspError",
    "CardError",
    "CardRemovedError",
    "CardTimeoutError",
    "CardTransportError",
    "CertificateError",
    "CodecError",
    "CryptoError",
    "DeviceInfo",
    "DownloadDeclined",
    "DownloadError",
    "DownloadResult",
    "EuiccError",
    "EuiccInfo1",
    "EuiccInfo2",
    "FileJournal",
    "Handlers",
    "HttpTransportError",
    "HttpsTransport",
    "InProcessCardTransport",
    "InstallResult",
    "InvalidSignature",
    "IsdRNotFoundError",
    "Journal",
    "MemoryJournal",
    "NoReaderError",
    "NotificationEvent",
    "NotificationMetadata",
    "NotificationOutcome",
    "PcscCardTransport",
    "ProfileClass",
    "ProfileInfo",
    "ProfileMetadata",
    "ProfileState",
    "ProtocolViolation",
    "PyrspError",
    "RenewalResult",
    "RspClient",
    "ServerError",
    "ServerProtocolError",
    "ServerTimeoutError",
    "SmdpError",
    "TestPki",
    "TestSmdp",
    "TlsError",
    "TlvError",
    "UsageError",
    "VirtualEuicc",
    "__version__",
]
