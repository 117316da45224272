"""PC/SC transport pieces that need no pcscd: error translation, reader choice, lazy import,
and "no PC/SC service" (pcsc-lite pointed at a socket that does not exist)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from pyrsp.errors import (
    CardRemovedError,
    CardTimeoutError,
    CardTransportError,
    NoReaderError,
)
from pyrsp.transports.base import AsyncCardTransport, CardTransport
from pyrsp.transports.pcsc import (
    AsyncPcscCardTransport,
    PcscCardTransport,
    choose_reader,
    translate_error,
)


class FakePyscardError(Exception):
    """Stands in for a pyscard exception: a message and a pcsc-lite ``hresult``."""

    def __init__(self, message: str, hresult: int) -> None:
        super().__init__(message)
        self.hresult = hresult


class EstablishContextException(Exception):  # noqa: N818  (pyscard's name)
    """Named like pyscard's, which is no SmartcardException and may carry no usable code."""


@pytest.mark.parametrize(
    ("code", "expected", "name"),
    [
        (0x8010001D, NoReaderError, "SCARD_E_NO_SERVICE"),
        (0x8010001E, NoReaderError, "SCARD_E_SERVICE_STOPPED"),
        (0x8010002E, NoReaderError, "SCARD_E_NO_READERS_AVAILABLE"),
        (0x80100009, NoReaderError, "SCARD_E_UNKNOWN_READER"),
        (0x80100017, NoReaderError, "SCARD_E_READER_UNAVAILABLE"),
        (0x8010000C, CardRemovedError, "SCARD_E_NO_SMARTCARD"),
        (0x80100069, CardRemovedError, "SCARD_W_REMOVED_CARD"),
        (0x80100068, CardRemovedError, "SCARD_W_RESET_CARD"),
        (0x80100067, CardRemovedError, "SCARD_W_UNPOWERED_CARD"),
        (0x80100066, CardRemovedError, "SCARD_W_UNRESPONSIVE_CARD"),
        (0x80100016, CardRemovedError, "SCARD_E_NOT_TRANSACTED"),
        (0x8010000A, CardTimeoutError, "SCARD_E_TIMEOUT"),
        (0x8010000B, CardTransportError, "SCARD_E_SHARING_VIOLATION"),
    ],
)
def test_each_pcsc_code_has_its_error(
    code: int, expected: type[CardTransportError], name: str
) -> None:
    for hresult in (code, code - 2**32):  # pyscard reports some codes as negative LONGs
        error = translate_error(FakePyscardError("x", hresult), reader="R 00", action="transmit")
        assert type(error) is expected
        assert f"{name} (0x{code:08X})" in str(error)
        assert "transmit on reader 'R 00'" in str(error)


def test_no_valid_response_means_the_card_went_away() -> None:
    exc = FakePyscardError("Card returned no valid response", 0)
    assert type(translate_error(exc, reader="R", action="transmit")) is CardRemovedError


def test_establish_context_failure_is_no_reader_even_without_a_code() -> None:
    error = translate_error(EstablishContextException("boom"), reader="", action="listing")
    assert type(error) is NoReaderError


def test_unknown_failures_keep_their_code_and_class_name() -> None:
    error = translate_error(FakePyscardError("odd", 0x80100001), reader="R", action="connecting")
    assert type(error) is CardTransportError
    assert "FakePyscardError (0x80100001): odd" in str(error)


def test_real_pyscard_exceptions_translate() -> None:
    pytest.importorskip("smartcard", reason="pyscard is not installed")
    from smartcard.Exceptions import CardConnectionException
    from smartcard.pcsc.PCSCExceptions import EstablishContextException as Real

    removed = CardConnectionException("Failed to transmit", hresult=0x80100069)
    assert type(translate_error(removed, reader="R", action="t")) is CardRemovedError
    assert type(translate_error(Real(0x8010001D), reader="", action="l")) is NoReaderError
    empty = CardConnectionException("Card returned no valid response", hresult=0)
    assert type(translate_error(empty, reader="R", action="t")) is CardRemovedError


READERS = [
    "Yubico YubiKey 00 00",
    "ACS ACR39U 01 00",
    "ACS ACR39U 01 00 extra",
    "Virtual PCD 00 00",
]


@pytest.mark.parametrize(
    ("wanted", "ignore", "chosen"),
    [
        (None, (), "Yubico YubiKey 00 00"),
        (None, ("yubi",), "ACS ACR39U 01 00"),
        ("ACS ACR39U 01 00", (), "ACS ACR39U 01 00"),
        ("ACS ACR39U 01 00 extra", (), "ACS ACR39U 01 00 extra"),
        ("acr39u", (), "ACS ACR39U 01 00"),
        ("virtual", (), "Virtual PCD 00 00"),
        (0, (), "Yubico YubiKey 00 00"),
        (0, ("YUBIKEY",), "ACS ACR39U 01 00"),
        (2, ("yubikey",), "Virtual PCD 00 00"),
    ],
)
def test_reader_choice(wanted: str | int | None, ignore: tuple[str, ...], chosen: str) -> None:
    assert choose_reader(READERS, wanted, ignore) == chosen


@pytest.mark.parametrize(
    ("readers", "wanted", "ignore", "message"),
    [
        ([], None, (), "found none usable"),
        (READERS, None, (" 00",), "found none usable"),
        (READERS, "gemalto", (), "expected a reader matching 'gemalto', readers are: 'Yubico"),
        (READERS, "yubikey", ("yubi",), "readers are: 'ACS ACR39U 01 00', "),
        (READERS, 4, (), "expected reader index 4"),
        (READERS, -1, (), "expected reader index -1"),
    ],
)
def test_reader_choice_failures(
    readers: list[str], wanted: str | int | None, ignore: tuple[str, ...], message: str
) -> None:
    with pytest.raises(NoReaderError, match=message):
        choose_reader(readers, wanted, ignore)


def test_importing_the_transport_does_not_import_pyscard() -> None:
    code = "import sys, pyrsp.transports.pcsc; print('smartcard' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_pcsc_service_is_no_reader_error(tmp_path: object) -> None:
    pytest.importorskip("smartcard", reason="pyscard is not installed")
    code = (
        "from pyrsp.errors import NoReaderError\n"
        "from pyrsp.transports.pcsc import PcscCardTransport, list_readers\n"
        "for call in (list_readers, PcscCardTransport):\n"
        "    try:\n"
        "        call()\n"
        "    except NoReaderError as exc:\n"
        "        print(type(exc.__cause__).__name__, 'SCARD_E_NO_SERVICE' in str(exc))\n"
    )
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": f"{tmp_path}/no-pcscd.comm"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.split("\n")[:2] == ["EstablishContextException True"] * 2


def test_the_transports_follow_the_card_transport_protocols() -> None:
    assert issubclass(PcscCardTransport, CardTransport)
    assert issubclass(AsyncPcscCardTransport, AsyncCardTransport)
