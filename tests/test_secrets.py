"""No secret in the logs, and none the traces should not carry (issue 9, item 5; DESIGN.md).

A whole download with a confirmation code (a wrong code first, then the right one; the install
notification's first delivery fails and is retried) runs with DEBUG logging on every logger and
the APDU and HTTP trace hooks recording everything. Then the output is searched for every
secret of the session, as text, as hex and as base64:

- private keys: every TestPki key (CI, EUM, eUICC, DPauth, DPpb, TLS) as PEM and as the raw
  scalar, the eUICC's and the SM-DP+'s one-time keys (otSK.EUICC.ECKA, otSK.DP.ECKA);
- session keys: S-ENC, S-MAC and the initial MCV, recomputed here from the one-time keys (both
  sides must agree), and the profile protection keys of ReplaceSessionKeys;
- both confirmation codes (only their hash, hashCc, ever travels);
- the profile plaintext: a distinctive element inside the profile package;
- the full matching ID (logs only).

What the traces may carry, by design: the trace hooks see the exact bytes exchanged, so they
hold the matching ID (ctxParams1, in the AuthenticateServer APDU and inside the base64
authenticateServerResponse), hashCc, the profile metadata, the EID and certificates, and the
BPP's protected segments (ciphertext). They must hold no key and no profile plaintext: those
never leave the card and the server in the clear.
"""

from __future__ import annotations

import base64
import io
import json
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from hostile_support import (
    NOW,
    HostileSmdp,
    WatchedCard,
    World,
    attempt,
    key_pem,
    scalar_hex,
    unb64,
)
from pyrsp import asn1, tlv
from pyrsp.cli import output
from pyrsp.cli.cards import pki_dir
from pyrsp.crypto import SessionKeys, derive_session_keys, ecka
from pyrsp.errors import DownloadError
from pyrsp.protocol.notifications import process_notifications
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import FaultKind, TestSmdp
from pyrsp.testing.smdp.profiles import generate_profile
from pyrsp.transports.http import HttpTrace
from test_cli_support import Server, card, card_template, run, server

__all__ = ["card", "card_template", "server"]  # fixtures from test_cli_support

SEED = 51
ICCID = "8999000000000000511"
CODE = "kiwi-7319-xylophone"
WRONG_CODE = "kiwi-0000-gooseberry"
#: A distinctive profile element: it must never show in clear outside card and server.
PLAINTEXT = b"PYRSP-PROFILE-PLAINTEXT|Ki=00112233445566778899aabbccddeeff|OPc=|" * 4


def _profile() -> bytes:
    header, end = tlv.parse_all(generate_profile(ICCID))
    return header.raw + tlv.build(0xDF7F, PLAINTEXT) + end.raw


class KeyWatch(WatchedCard):
    """A watched card that also keeps every one-time key pair it generates (otSK.EUICC)."""

    def __init__(self, card: VirtualEuicc) -> None:
        super().__init__(card)
        self.one_time_keys: list[ec.EllipticCurvePrivateKey] = []

    def transmit(self, apdu: bytes) -> bytes:
        answer = super().transmit(apdu)
        session = self.card.core.session
        otsk = None if session is None else session.otsk
        if otsk is not None and otsk not in self.one_time_keys:
            self.one_time_keys.append(otsk)
        return answer


class Capture:
    """The APDU and HTTP trace hooks, writing everything to strings."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.bpp: bytes = b""

    def apdu(self, direction: str, data: bytes) -> None:
        self.lines.append(f"{direction} {data.hex().upper()}")

    def http(self, event: HttpTrace) -> None:
        self.lines.append(f"{event.kind} {event.url} {event.status} {dict(event.headers)}")
        self.lines.append(event.body.decode("latin-1"))
        self.lines.append(event.body.hex())
        if event.kind == "response" and b"boundProfilePackage" in event.body:
            self.bpp = unb64(json.loads(event.body)["boundProfilePackage"])

    def text(self) -> str:
        return "\n".join(self.lines)


def needles(secret: bytes) -> list[str]:
    """How ``secret`` could show in text: hex (any case), base64 at each of 3 alignments."""
    found = [secret.hex()]
    for shift in range(3):
        encoded = base64.b64encode(secret[shift:]).decode()
        found.append(encoded[4 : len(encoded) - 4])  # the part not touched by the alignment
    return [n for n in found if len(n) >= 16]


def leaks(haystack: str, secrets: dict[str, bytes]) -> list[str]:
    """The names of the secrets found in ``haystack`` (hex compared case-insensitively)."""
    lowered = haystack.lower()
    found = []
    for name, secret in secrets.items():
        hex_form, *b64_forms = needles(secret)
        as_text = secret.isascii() and secret.decode() in haystack
        if as_text or hex_form in lowered or any(form in haystack for form in b64_forms):
            found.append(name)
    return found


def _keys(
    pki: TestPki, extra: Iterable[tuple[str, ec.EllipticCurvePrivateKey]]
) -> dict[str, bytes]:
    secrets: dict[str, bytes] = {}
    named = [(name, cred.private_key) for name, cred in pki.credentials().items()]
    for name, key in [*named, *extra]:
        pem = key_pem(key)
        secrets[f"{name} key (PEM body)"] = pem.splitlines()[1]
        secrets[f"{name} key (scalar)"] = bytes.fromhex(scalar_hex(key))
    return secrets


def _session_keys(watch: KeyWatch, smdp: TestSmdp, pki: TestPki, bpp: bytes) -> SessionKeys:
    """S-ENC/S-MAC recomputed from both sides' one-time keys; they must agree."""
    iscr = asn1.decode("InitialiseSecureChannelRequest", tlv.parse(bpp).children()[0].raw)
    host_id = iscr["controlRefTemplate"]["hostId"]
    binding = next(o.binding for o in smdp.orders if o.binding is not None)
    card_side = ecka(watch.one_time_keys[-1], iscr["smdpOtpk"])
    server_side = ecka(binding.smdp_otsk, binding.euicc_otpk)
    assert card_side == server_side
    return derive_session_keys(card_side, host_id=host_id, eid=pki.eid)


@dataclass(frozen=True)
class Recorded:
    """What one download left in the logs and the traces, and the secrets to look for."""

    logs: str
    traces: str
    secrets: dict[str, bytes]
    matching_id: str
    bpp: bytes


@contextmanager
def debug_log() -> Iterator[io.StringIO]:
    """Every record of every logger, DEBUG and up, formatted into a string buffer."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield buffer
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture(scope="module")
def session() -> Recorded:
    """Run the download with everything recorded; return what was recorded and the secrets."""
    with debug_log() as log:
        return _record(log)


def _record(log: io.StringIO) -> Recorded:
    pki = TestPki.generate(seed=SEED)
    world = World.make(pki, seed=SEED)
    world.smdp = TestSmdp(pki, rng=SEED, now=NOW, replace_session_keys=True)
    world.hostile = HostileSmdp(world.smdp)
    watch = KeyWatch(world.card)
    world.watched = watch
    capture = Capture()
    world.http_options = {"trace": capture.http}
    ac = world.smdp.add_order(_profile(), iccid=ICCID, confirmation_code=CODE)
    errors = []
    world.code = WRONG_CODE
    with pytest.raises(DownloadError) as wrong:
        attempt(world, ac, trace=capture.apdu)
    errors.append(f"{wrong.value!s} {wrong.value!r} {wrong.value.__cause__!r}")
    world.code = CODE
    world.smdp.inject(FaultKind.HTTP_500, "handleNotification")
    result = attempt(world, ac, trace=capture.apdu)
    assert result.install.success and result.notification and not result.notification.sent
    errors.append(f"{result!r} {result.notification.error}")
    with world.client(trace=capture.apdu) as client:
        (outcome,) = client.run(process_notifications(client.config))
    assert outcome.ok and [p.iccid for p in world.card.profiles] == [ICCID]
    order = world.smdp.order(ac.matching_id)
    assert order.binding is not None and order.binding.profile_keys is not None
    keys = _session_keys(watch, world.smdp, pki, capture.bpp)
    extra = [(f"otSK.EUICC #{i}", k) for i, k in enumerate(watch.one_time_keys)]
    extra.append(("otSK.DP", order.binding.smdp_otsk))
    secrets = _keys(pki, extra)
    ppk = order.binding.profile_keys
    secrets.update({"S-ENC": keys.s_enc, "S-MAC": keys.s_mac, "initial MCV": keys.initial_mcv})
    secrets.update({"PPK-ENC": ppk.s_enc, "PPK-MAC": ppk.s_mac, "PPK initial MCV": ppk.initial_mcv})
    secrets.update({"code": CODE.encode(), "wrong code": WRONG_CODE.encode()})
    secrets["profile plaintext"] = PLAINTEXT
    logs = "\n".join([log.getvalue(), *errors])
    return Recorded(logs, capture.text(), secrets, ac.matching_id, capture.bpp)


def test_logs_hold_no_secret(session: Recorded) -> None:
    assert "HTTP Request: POST" in session.logs, "the log capture saw httpx's records"
    assert "not delivered" in session.logs, "the log capture saw pyrsp's records"
    secrets = {**session.secrets, "matching ID": session.matching_id.encode()}
    assert leaks(session.logs, secrets) == []


def test_traces_hold_no_key_and_no_profile_plaintext(session: Recorded) -> None:
    segment = tlv.parse(session.bpp).children()[-1].children()[0].value
    assert segment[:64].hex().upper() in session.traces, "the APDU trace carries BPP ciphertext"
    assert session.matching_id.encode().hex().upper() in session.traces  # allowed: ctxParams1
    assert leaks(session.traces, session.secrets) == []


def test_the_search_finds_a_planted_secret(session: Recorded) -> None:
    """The search is not vacuous: each secret, written in each form, is found."""
    assert len(session.secrets) >= 25
    for name, secret in session.secrets.items():
        hex_form, *b64_forms = needles(secret)
        for form in [hex_form, hex_form.upper(), *b64_forms]:
            assert leaks(f"log line: {form}!", {name: secret}) == [name], (name, form)


def test_the_cli_in_verbose_mode_shows_no_secret(
    card: Path, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pyrsp -v profile download`` (a wrong code, then the right one): its standard output,
    standard error and every log record hold no key, code, matching ID or profile plaintext."""
    monkeypatch.setattr(output, "VERBOSE", False)  # restored after ``-v`` sets it
    ac = server.smdp.add_order(_profile(), iccid=ICCID, confirmation_code=CODE)
    common = ["profile", "download", ac.qr_text(), "--yes", "--virtual", str(card)]
    with debug_log() as log:
        wrong = run("-v", *common, "--confirmation-code", WRONG_CODE, *server.options)
        right = run("-v", *common, "--confirmation-code", CODE, *server.options)
    assert wrong.exit_code != 0 and right.exit_code == 0, right.stderr
    shown = "\n".join([wrong.stdout, wrong.stderr, right.stdout, right.stderr, log.getvalue()])
    assert ICCID in shown and "HTTP Request: POST" in shown, "the output was captured"
    pki = TestPki.load(pki_dir(card))
    secrets = {
        **_keys(pki, []),
        "code": CODE.encode(),
        "wrong code": WRONG_CODE.encode(),
        "matching ID": ac.matching_id.encode(),
        "profile plaintext": PLAINTEXT,
    }
    assert leaks(shown, secrets) == []
