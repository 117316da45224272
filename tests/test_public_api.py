"""The public API: a pinned ``__all__``, every name resolvable, and a cheap import."""

from __future__ import annotations

import subprocess
import sys

import pytest

import pyrsp
import pyrsp.testing
import pyrsp.transports

PINNED = [
    "ActivationCode", "ActivationCodeError", "ApduError", "AsyncHttpsTransport",
    "AsyncInProcessCardTransport", "AsyncPcscCardTransport", "AsyncRspClient", "BspError",
    "CardError", "CardRemovedError", "CardTimeoutError", "CardTransportError",
    "CertificateError", "CodecError", "CryptoError", "DeviceInfo", "DownloadDeclined",
    "DownloadError", "DownloadResult", "EuiccError", "EuiccInfo1", "EuiccInfo2", "FileJournal",
    "Handlers", "HttpTransportError", "HttpsTransport", "InProcessCardTransport",
    "InstallResult", "InvalidSignature", "IsdRNotFoundError", "Journal", "MemoryJournal",
    "NoReaderError", "NotificationEvent", "NotificationMetadata", "NotificationOutcome",
    "PcscCardTransport", "ProfileClass", "ProfileInfo", "ProfileMetadata", "ProfileState",
    "ProtocolViolation", "PyrspError", "RenewalResult", "RspClient", "ServerError",
    "ServerProtocolError", "ServerTimeoutError", "SmdpError", "TestPki", "TestSmdp", "TlsError",
    "TlvError", "UsageError", "VirtualEuicc", "__version__",
]  # fmt: skip


def test_all_is_pinned_and_sorted() -> None:
    assert pyrsp.__all__ == PINNED
    assert sorted(pyrsp.__all__) == pyrsp.__all__


@pytest.mark.parametrize("package", [pyrsp, pyrsp.transports, pyrsp.testing])
def test_every_exported_name_resolves(package: object) -> None:
    names = package.__all__  # type: ignore[attr-defined]
    for name in names:
        assert getattr(package, name) is not None, name
    assert set(names) <= set(dir(package))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        _ = pyrsp.Nope  # type: ignore[attr-defined]


def test_the_client_class_is_the_one_in_its_module() -> None:
    from pyrsp.client import RspClient

    assert pyrsp.RspClient is RspClient


def test_importing_the_packages_loads_no_heavy_module() -> None:
    code = (
        "import sys, pyrsp, pyrsp.transports, pyrsp.testing; "
        "heavy = ('asn1tools', 'httpx', 'smartcard', 'cryptography', 'pydantic'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
