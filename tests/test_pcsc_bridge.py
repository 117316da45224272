"""VpcdBridge against a fake vpcd on loopback: framing, controls, reconnects, pulling the card.

vpcd listens and the card connects; frames are a 2-byte big-endian length and a payload, and
vpcd writes the length and the payload in two sends. No pcscd needed, so these run everywhere.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pcsc_support import ATR, EchoCard
from pyrsp.errors import CardRemovedError
from pyrsp.testing.vpcd import GET_ATR, POWER_OFF, POWER_ON, RESET, VpcdBridge


class FakeVpcd:
    """The reader side of the vpcd protocol, one card connection at a time."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(5)
        self.port: int = self.server.getsockname()[1]
        self.link: socket.socket | None = None

    def accept(self) -> None:
        if self.link is not None:
            self.link.close()
        self.link, _ = self.server.accept()
        self.link.settimeout(5)

    def send(self, payload: bytes) -> None:
        assert self.link is not None
        self.link.sendall(len(payload).to_bytes(2, "big"))  # like vpcd: two writes
        self.link.sendall(payload)

    def receive(self) -> bytes:
        size = int.from_bytes(self._exactly(2), "big")
        return self._exactly(size)

    def ask(self, payload: bytes) -> bytes:
        self.send(payload)
        return self.receive()

    def _exactly(self, size: int) -> bytes:
        assert self.link is not None
        data = b""
        while len(data) < size:
            chunk = self.link.recv(size - len(data))
            if not chunk:
                raise EOFError("the card closed the link")
            data += chunk
        return data

    def drop(self) -> None:
        assert self.link is not None
        self.link.close()
        self.link = None

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
        self.server.close()


@pytest.fixture
def vpcd() -> Iterator[FakeVpcd]:
    fake = FakeVpcd()
    yield fake
    fake.close()


def test_controls_and_apdus(vpcd: FakeVpcd) -> None:
    card = EchoCard()
    with VpcdBridge(card, vpcd.port) as bridge:
        vpcd.accept()
        assert bridge.wait_connected(5)
        vpcd.send(bytes([POWER_ON]))
        assert vpcd.ask(bytes([GET_ATR])) == ATR
        assert bridge.powered
        assert card.resets == 1
        apdu = bytes([0x80, 0xE2, 0x91, 0x00, 0x03, 1, 2, 3])
        assert vpcd.ask(apdu) == b"\x01\x02\x03\x90\x00"
        vpcd.send(bytes([RESET]))
        vpcd.send(bytes([POWER_OFF]))
        data = bytes(range(256)) * 16
        extended = b"\x80\xe2\x91\x00\x00" + len(data).to_bytes(2, "big") + data
        assert vpcd.ask(extended) == data + b"\x90\x00"  # a control answered nothing
        assert card.resets == 2
        assert not bridge.powered
    assert card.received == [apdu, extended]


def test_a_card_that_raises_answers_6f00(vpcd: FakeVpcd) -> None:
    class Broken(EchoCard):
        def transmit(self, apdu: bytes) -> bytes:
            raise ValueError("bug in the card")

    with VpcdBridge(Broken(), vpcd.port):
        vpcd.accept()
        assert vpcd.ask(b"\x00\xa4\x04\x00") == b"\x6f\x00"


def test_reconnects_when_vpcd_drops_the_link(vpcd: FakeVpcd) -> None:
    with VpcdBridge(EchoCard(), vpcd.port, retry_interval=0.01) as bridge:
        vpcd.accept()
        assert vpcd.ask(b"\x00\x00\x00\x00\x01\x07") == b"\x07\x90\x00"
        vpcd.drop()
        vpcd.accept()
        assert vpcd.ask(b"\x00\x00\x00\x00\x01\x08") == b"\x08\x90\x00"
        assert bridge.connected


def test_waits_for_vpcd_to_come_up() -> None:
    spare = socket.create_server(("127.0.0.1", 0))
    port = spare.getsockname()[1]
    spare.close()  # nothing listens on port now
    with VpcdBridge(EchoCard(), port, retry_interval=0.01) as bridge:
        assert not bridge.wait_connected(0.1)
        server = socket.create_server(("127.0.0.1", port))
        server.settimeout(5)
        link, _ = server.accept()
        assert bridge.wait_connected(5)
        link.close()
        server.close()


def test_pulling_and_putting_back_the_card(vpcd: FakeVpcd) -> None:
    card = EchoCard()
    with VpcdBridge(card, vpcd.port, retry_interval=0.01) as bridge:
        vpcd.accept()
        bridge.disconnect()
        with pytest.raises(EOFError):
            vpcd.receive()
        assert not bridge.wait_connected(0.2)
        bridge.insert()
        vpcd.accept()
        assert vpcd.ask(b"\x00\x00\x00\x00\x01\x09") == b"\x09\x90\x00"


def test_pulling_the_card_mid_apdu_sends_no_answer(vpcd: FakeVpcd) -> None:
    card = EchoCard()
    with VpcdBridge(card, vpcd.port) as bridge:
        card.on_pull = bridge.disconnect
        vpcd.accept()
        vpcd.send(b"\x80\xee\x00\x00")
        with pytest.raises((EOFError, ConnectionResetError)):
            vpcd.receive()


def test_stop_is_idempotent_and_closes_the_link(vpcd: FakeVpcd) -> None:
    bridge = VpcdBridge(EchoCard(), vpcd.port).start()
    vpcd.accept()
    bridge.stop()
    bridge.stop()
    assert not bridge.connected
    with pytest.raises(EOFError):
        vpcd.receive()


def test_a_card_raising_card_removed_is_pulled(vpcd: FakeVpcd) -> None:
    class Dropping(EchoCard):
        def transmit(self, apdu: bytes) -> bytes:
            raise CardRemovedError("fault: drop the connection at APDU 1")

    with VpcdBridge(Dropping(), vpcd.port) as bridge:
        vpcd.accept()
        vpcd.send(b"\x00\xa4\x04\x00")
        with pytest.raises((EOFError, ConnectionResetError)):
            vpcd.receive()
        assert not bridge.inserted


def test_module_entry_refuses_a_missing_card(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pyrsp.testing.vpcd", "--state", str(tmp_path / "none")]
    out = subprocess.run(command, check=False, capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "expected a virtual eUICC in" in out.stderr
