"""Support for the hostile SM-DP+, fault and secrets tests (issue 9).

- :class:`HostileSmdp`: a TestSmdp whose answers a rewrite may change (after the honest server
  did its work), recording which ES9+ functions were called; served in-process through the
  TestSmdp's httpx transport, or over TLS by :class:`LoopbackHttps`.
- :class:`LoopbackHttps`: a small HTTPS server on 127.0.0.1 with any certificate, which can
  also hang (never answer), drip its answer, or stream an endless body or endless headers for
  chosen functions; ``lose`` on HostileSmdp drops requests before the server sees them.
- Editing helpers that re-sign what they change with the server's own keys, so only the check
  under test can catch the change (serverSigned1, smdpSigned2, the ISCR, BPP segments).
- :class:`WatchedCard`: a VirtualEuicc wrapper that remembers every notification the card ever
  held, so a test can prove none left the card without reaching the SM-DP+.
- :class:`World`, :func:`attempt` and :func:`attempt_async`: one card, one server, one
  download through RspClient or AsyncRspClient.
- After a fault: :func:`settle` (list, deliver, check, retry where the server allows) and
  :class:`Mortal` with :class:`MortalCard`/:class:`MortalHttp` (a process killed after any
  effect, :class:`Killed`); :class:`ResetBefore` (a silent power cycle before an APDU).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import random
import socket
import ssl
import tempfile
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from pyrsp import asn1, tlv
from pyrsp.activation_code import ActivationCode
from pyrsp.client import AsyncRspClient, Handlers, RspClient
from pyrsp.crypto import derive_private_key, sign, signature_to_tlv
from pyrsp.errors import DownloadError, SmdpError
from pyrsp.models import iccid_from_bytes
from pyrsp.protocol.download import DownloadResult, download
from pyrsp.protocol.effects import HttpResponse
from pyrsp.protocol.notifications import process_notifications
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import Credential, TestPki
from pyrsp.testing.smdp import TestSmdp
from pyrsp.testing.smdp.bpp import initialise_secure_channel
from pyrsp.testing.smdp.credentials import Credentials
from pyrsp.testing.smdp.faults import Reply
from pyrsp.testing.smdp.orders import OrderState
from pyrsp.testing.smdp.serve import SmdpTransport
from pyrsp.transports.http import AsyncHttpsTransport, HttpsTransport

ES9 = "/gsma/rsp2/es9plus/"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
JSON_HEADERS = {"content-type": "application/json", "x-admin-protocol": "gsma/rsp/v2.2.0"}
#: (function, request body, honest reply) -> the reply to send instead.
Rewrite = Callable[[str, bytes, Reply], Reply]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: object) -> bytes:
    return base64.b64decode(str(text))


# --- the hostile server -----------------------------------------------------------------------


class HostileSmdp:
    """A TestSmdp whose answers ``rewrite`` may change; ``calls`` lists the functions asked."""

    def __init__(self, smdp: TestSmdp) -> None:
        self.smdp = smdp
        self.rewrite: Rewrite | None = None
        self.calls: list[str] = []
        #: functions whose requests are lost on the way in: the server never sees them
        self.lose: set[str] = set()

    def respond(self, path: str, body: bytes) -> Reply:
        function = path.removeprefix(ES9)
        self.calls.append(function)
        if function in self.lose:
            return Reply(200, {}, b"", drop=True)
        reply = self.smdp.respond(path, body)
        if self.rewrite is not None:
            reply = self.rewrite(function, body, reply)
        return reply

    def transport(self) -> SmdpTransport:
        """The in-process httpx transport."""
        return SmdpTransport(self)


def doc_of(reply: Reply) -> dict[str, Any]:
    document = json.loads(reply.body)
    assert isinstance(document, dict)
    return document


def with_doc(reply: Reply, document: object) -> Reply:
    return Reply(reply.status, dict(reply.headers), json.dumps(document).encode())


def on(function: str, edit: Callable[[dict[str, Any], dict[str, Any]], object]) -> Rewrite:
    """Rewrite the JSON answer to ``function``: ``edit(answer, request)`` changes it in place."""

    def rewrite(name: str, body: bytes, reply: Reply) -> Reply:
        if name != function or reply.status != 200 or not reply.body:
            return reply
        document = doc_of(reply)
        edit(document, json.loads(body))
        return with_doc(reply, document)

    return rewrite


def replace(function: str, make: Callable[[Reply], Reply]) -> Rewrite:
    """Answer ``function`` with ``make(honest reply)``."""

    def rewrite(name: str, body: bytes, reply: Reply) -> Reply:
        return make(reply) if name == function else reply

    return rewrite


def raw_reply(
    status: int, body: bytes, headers: dict[str, str] | None = None
) -> Callable[[Reply], Reply]:
    return lambda _reply: Reply(status, dict(headers or JSON_HEADERS), body)


# --- re-signing with the server's own keys ----------------------------------------------------


def resign_signed1(doc: dict[str, Any], key: ec.EllipticCurvePrivateKey, **changes: Any) -> None:
    """serverSigned1 with ``changes``, signed (serverSignature1) with ``key``."""
    signed = asn1.decode("ServerSigned1", unb64(doc["serverSigned1"]))
    signed.update(changes)
    der = asn1.encode("ServerSigned1", signed)
    doc["serverSigned1"] = b64(der)
    doc["serverSignature1"] = b64(signature_to_tlv(sign(key, der)))


def euicc_signature1(request: dict[str, Any]) -> bytes:
    """The euiccSignature1 TLV of the authenticateClient request (what smdpSignature2 covers)."""
    response = tlv.parse(unb64(request["authenticateServerResponse"]))
    return response.children()[0].children()[1].raw


def resign_signed2(
    doc: dict[str, Any],
    request: dict[str, Any],
    key: ec.EllipticCurvePrivateKey,
    *,
    covered: bytes | None = None,
    **changes: Any,
) -> None:
    """smdpSigned2 with ``changes``, signed with ``key`` over it and euiccSignature1.

    ``covered`` replaces euiccSignature1 in the signed data (a signature over other data).
    """
    signed = asn1.decode("SmdpSigned2", unb64(doc["smdpSigned2"]))
    signed.update(changes)
    der = asn1.encode("SmdpSigned2", signed)
    extra = euicc_signature1(request) if covered is None else covered
    doc["smdpSigned2"] = b64(der)
    doc["smdpSignature2"] = b64(signature_to_tlv(sign(key, der + extra)))


def euicc_otpk(request: dict[str, Any]) -> bytes:
    """otPK.EUICC.ECKA from the getBoundProfilePackage request."""
    response = asn1.decode("PrepareDownloadResponse", unb64(request["prepareDownloadResponse"]))
    return bytes(response[1]["euiccSigned2"]["euiccOtpk"])


def bpp_parts(bpp: bytes) -> list[bytes]:
    """The members of a BoundProfilePackage (BF23, A0, A1, [A2], A3), exact bytes."""
    return [child.raw for child in tlv.parse(bpp).children()]


def build_bpp(parts: list[bytes]) -> bytes:
    return tlv.build(0xBF36, b"".join(parts))


def edit_segments(bpp: bytes, edit: Callable[[list[bytes]], list[bytes]]) -> bytes:
    """The BPP with its profile segments (``A3``'s ``86`` children) changed by ``edit``."""
    parts = bpp_parts(bpp)
    segments = [child.raw for child in tlv.parse(parts[-1]).children()]
    parts[-1] = tlv.build(0xA3, b"".join(edit(segments)))
    return build_bpp(parts)


def rebind_iscr(
    bpp: bytes,
    request: dict[str, Any],
    smdp: TestSmdp,
    *,
    transaction_id: bytes | None = None,
    otpk: bytes | None = None,
) -> bytes:
    """The BPP with a fresh ISCR signed by the server's DPpb key for this request's session.

    ``transaction_id`` and ``otpk`` override what is signed (another session, other data).
    """
    parts = bpp_parts(bpp)
    iscr = asn1.decode("InitialiseSecureChannelRequest", parts[0])
    tid = transaction_id if transaction_id is not None else bytes.fromhex(request["transactionId"])
    signing = smdp.credentials.signing_sets[0]
    parts[0] = initialise_secure_channel(
        tid,
        iscr["controlRefTemplate"]["hostId"],
        iscr["smdpOtpk"],
        otpk if otpk is not None else euicc_otpk(request),
        signing,
    )
    return build_bpp(parts)


# --- certificates ------------------------------------------------------------------------------


def reissue(
    credential: Credential,
    issuer: Credential | None,
    *,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    extension: x509.ExtensionType | None = None,
) -> Credential:
    """``credential``'s certificate signed again by ``issuer`` (``None``: self-signed), with
    another validity period, or ``extension`` instead of the one of its type. The key stays."""
    old = credential.certificate
    key = credential.private_key
    builder = (
        x509.CertificateBuilder()
        .subject_name(old.subject)
        .issuer_name(issuer.certificate.subject if issuer else old.subject)
        .public_key(key.public_key())
        .serial_number(old.serial_number + 1)
        .not_valid_before(not_before or old.not_valid_before_utc)
        .not_valid_after(not_after or old.not_valid_after_utc)
    )
    for present in old.extensions:
        value = present.value
        if issuer is None and isinstance(value, x509.AuthorityKeyIdentifier):
            continue
        if extension is not None and type(value) is type(extension):
            value = extension
        builder = builder.add_extension(value, present.critical)
    signer = issuer.private_key if issuer else key
    return Credential(builder.sign(signer, hashes.SHA256()), key)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def scalar_hex(key: ec.EllipticCurvePrivateKey) -> str:
    """The private scalar as 64 hex digits (how a careless log would print it)."""
    return format(key.private_numbers().private_value, "064x")


def other_key(label: str) -> ec.EllipticCurvePrivateKey:
    return derive_private_key("nist", b"pyrsp hostile test|" + label.encode())


# --- a loopback HTTPS server ------------------------------------------------------------------

HANG = "hang"
ENDLESS = "endless"
DRIP = "drip"  # the honest answer, its body in 30 pieces 0.1 s apart (3 s in all)
HEADERS = "headers"  # a status line, then header lines forever
PLAIN = "plain"


class LoopbackHttps:
    """An HTTP/1.1 server on 127.0.0.1 (TLS with ``credential``, or plain when it is None).

    Each POST goes to ``responder.respond(path, body)``, except the functions in ``modes``:
    ``HANG`` reads the request and never answers, ``ENDLESS`` streams a chunked body forever,
    ``DRIP`` sends the honest answer slowly (each piece well within a read timeout),
    ``HEADERS`` sends header lines forever.
    Every connection ends when the server stops.
    """

    def __init__(
        self,
        responder: HostileSmdp,
        credential: Credential | None,
        modes: dict[str, str] | None = None,
    ) -> None:
        self.responder = responder
        self.credential = credential
        self.modes = dict(modes or {})
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.port = 0

    def __enter__(self) -> LoopbackHttps:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop_serving()

    def start(self) -> LoopbackHttps:
        """Listen on a free port (``self.port``) and serve on threads."""
        self.context = self._context()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port = self.listener.getsockname()[1]
        self._spawn(self._accept)
        return self

    def stop_serving(self) -> None:
        """End every connection and stop listening."""
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=5)
        self.listener.close()

    def _context(self) -> ssl.SSLContext | None:
        if self.credential is None:
            return None
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        with tempfile.TemporaryDirectory(prefix="pyrsp-hostile-") as tmp:
            cert, key = Path(tmp) / "cert.pem", Path(tmp) / "key.pem"
            cert.write_bytes(self.credential.pem)
            key.write_bytes(key_pem(self.credential.private_key))
            context.load_cert_chain(cert, key)
        return context

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            self._spawn(self._serve, conn)

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        if self.context is None:  # plain HTTP: answer at once, whatever the client sends
            with raw:
                raw.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
            return
        try:
            conn = self.context.wrap_socket(raw, server_side=True)
            with conn:
                path, body = _read_request(conn)
                self._answer(conn, path, body)
        except (OSError, ValueError):
            raw.close()

    def _answer(self, conn: socket.socket, path: str, body: bytes) -> None:
        mode = self.modes.get(path.removeprefix(ES9))
        if mode == HANG:
            self.stop.wait()
            return
        if mode == HEADERS:
            conn.sendall(b"HTTP/1.1 200 OK\r\n")
            while not self.stop.is_set():
                conn.sendall(b"x-padding: " + b"a" * 1000 + b"\r\n")
            return
        if mode == ENDLESS:
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                b"transfer-encoding: chunked\r\n\r\n"
            )
            chunk = b"%x\r\n%s\r\n" % (1 << 14, b" " * (1 << 14))
            while not self.stop.is_set():
                conn.sendall(chunk)
            return
        reply = self.responder.respond(path, body)
        pieces = 30 if mode == DRIP else 1
        head = [
            f"HTTP/1.1 {reply.status} X",
            f"content-length: {len(reply.body)}",
            "connection: close",
        ]
        head += [f"{k}: {v}" for k, v in reply.headers.items() if k.lower() != "content-length"]
        conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
        size = -(-len(reply.body) // pieces)
        for start in range(0, len(reply.body), size):
            if start and self.stop.wait(0.1):
                return
            conn.sendall(reply.body[start : start + size])


def _read_request(conn: socket.socket) -> tuple[str, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            raise ValueError("the client closed the connection before a whole request")
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    while len(body) < length:
        chunk = conn.recv(65536)
        if not chunk:
            break
        body += chunk
    return lines[0].split(" ")[1], body


# --- the card, watched ------------------------------------------------------------------------


class WatchedCard:
    """A VirtualEuicc that remembers every notification it ever held (seq -> signed bytes).

    ``seen`` may be carried over from the watcher of an earlier object for the same card.
    """

    def __init__(self, card: VirtualEuicc, seen: dict[int, bytes] | None = None) -> None:
        self.card = card
        self.seen: dict[int, bytes] = {} if seen is None else seen
        self.apdus: list[bytes] = []
        self._note()

    def transmit(self, apdu: bytes) -> bytes:
        self.apdus.append(apdu)
        try:
            return self.card.transmit(apdu)
        finally:
            self._note()

    def atr(self) -> bytes:
        return self.card.atr()

    def _note(self) -> None:
        for record in self.card.notifications:
            self.seen.setdefault(record.seq_number, record.pending)

    def cancel_sessions_sent(self) -> int:
        """How many ES10b CancelSession commands (STORE DATA starting ``BF41``) were sent."""
        return sum(1 for a in self.apdus if a[1:2] == b"\xe2" and a[5:7] == b"\xbf\x41")


class ResetBefore(WatchedCard):
    """A watched card power-cycled silently just before APDU ``at``."""

    def __init__(self, card: VirtualEuicc, at: int) -> None:
        super().__init__(card)
        self.at = at

    def transmit(self, apdu: bytes) -> bytes:
        if self.card.faults.count + 1 == self.at:
            self.card.reset()
        return super().transmit(apdu)


def assert_nothing_lost(watched: WatchedCard, smdp: TestSmdp) -> None:
    """Every notification the card ever held is still on it, or the SM-DP+ accepted it."""
    pending = {n.seq_number: n.pending for n in watched.card.notifications}
    delivered = {n.raw for n in smdp.notifications}
    for seq, der in watched.seen.items():
        assert pending.get(seq) == der or der in delivered, f"notification {seq} was lost"


def assert_card_consistent(watched: WatchedCard, smdp: TestSmdp) -> None:
    """Profiles decode and each is complete (its whole package installed); nothing lost."""
    card = watched.card
    for record in card.core.state.profiles:
        metadata = asn1.decode("StoreMetadataRequest", record.metadata)
        order = smdp.orders.by_iccid(iccid_from_bytes(record.iccid))
        assert order is not None, "a profile no order explains"
        assert metadata["iccid"] == record.iccid
        assert record.size == len(order.profile), "a profile installed only in part"
    assert len({p.iccid for p in card.profiles}) == len(card.profiles)
    assert_nothing_lost(watched, smdp)


# --- one world, one download ------------------------------------------------------------------


@dataclass
class World:
    """A card (watched), a TestSmdp behind a HostileSmdp, and how the client reaches it."""

    pki: TestPki
    card: VirtualEuicc
    smdp: TestSmdp
    hostile: HostileSmdp
    watched: WatchedCard
    code: str | None = None
    #: HttpsTransport options; without ``connect_to`` the hostile server answers in-process
    http_options: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def make(
        cls,
        pki: TestPki,
        *,
        seed: int = 1,
        state_dir: Path | None = None,
        credentials: Credentials | None = None,
    ) -> World:
        if state_dir is not None:
            card = VirtualEuicc.open(state_dir, create=pki, rng=random.Random(seed))
        else:
            card = VirtualEuicc(pki, rng=random.Random(seed))
        if credentials is None:
            smdp = TestSmdp(pki, rng=seed + 1, now=NOW)
        else:
            smdp = TestSmdp(credentials=credentials, rng=seed + 1, now=NOW)
        return cls(pki, card, smdp, HostileSmdp(smdp), WatchedCard(card))

    def _options(self) -> dict[str, Any]:
        options = dict(self.http_options)
        if "connect_to" not in options:
            options["transport"] = self.hostile.transport()
        return options

    def transport(self) -> HttpsTransport:
        return HttpsTransport(**self._options())

    def async_transport(self) -> AsyncHttpsTransport:
        return AsyncHttpsTransport(**self._options())

    def client(self, trace: Callable[[str, bytes], None] | None = None) -> RspClient:
        return RspClient(self.watched, self.transport(), trace=trace)

    def handlers(self) -> Handlers:
        """Consent yes; the world's confirmation code."""
        return Handlers(confirm=lambda _metadata: True, confirmation_code=lambda: self.code)


def attempt(world: World, ac: ActivationCode, **client: Any) -> DownloadResult:
    """One download of ``ac`` with a fresh client (consent yes, the world's code)."""
    with world.client(**client) as rsp:
        return rsp.run(download(ac, rsp.config), world.handlers())


def attempt_async(world: World, ac: ActivationCode) -> DownloadResult:
    """The same with a fresh AsyncRspClient and AsyncHttpsTransport, in a new event loop."""

    async def run() -> DownloadResult:
        async with AsyncRspClient(world.watched, world.async_transport()) as rsp:
            return await rsp.run(download(ac, rsp.config), world.handlers())

    return asyncio.run(run())


def honest_retry(world: World, ac: ActivationCode) -> tuple[str, DownloadResult]:
    """Download again with the rewrite off: the same order if the server allows, else a new one.

    Returns ``("same order" | "new order", result)``.
    """
    world.hostile.rewrite = None
    world.http_options = {}
    order = world.smdp.order(ac.matching_id)
    if order.state in (OrderState.RELEASED, OrderState.DOWNLOADED):
        return "same order", attempt(world, ac)
    return "new order", attempt(world, world.smdp.add_order())


def capture_bpp(world: World, card: VirtualEuicc, **order: Any) -> bytes:
    """A genuine BPP of a new order (``order``: add_order arguments) bound to a session of
    ``card``; the answer is then replaced by an HTTP 500, so the client cancels the session
    and the BPP is never installed."""
    captured: list[bytes] = []

    def grab(reply: Reply) -> Reply:
        captured.append(unb64(doc_of(reply)["boundProfilePackage"]))
        return Reply(500, {"content-type": "text/html"}, b"<html>lost</html>")

    saved, world.hostile.rewrite = world.hostile.rewrite, replace("getBoundProfilePackage", grab)
    other = World(world.pki, card, world.smdp, world.hostile, WatchedCard(card))
    try:
        attempt(other, world.smdp.add_order(**order))
    except DownloadError:
        pass  # the cancelled download is the point
    finally:
        world.hostile.rewrite = saved
    (bpp,) = captured
    return bpp


# --- after a fault ----------------------------------------------------------------------------


def settle(world: World, ac: ActivationCode) -> str:
    """After a fault: list the profiles (they decode), deliver what is pending, check the card,
    then download again where the order allows it. Returns what the retry was:

    ``"installed"`` (the profile made it before the fault), ``"same order"``, ``"released"``
    (the server kept the order bound to a one-time key the card lost, refused the retry, and
    the operator released it, as ES2+ would), or ``"new order"`` (the order is over).
    """
    with world.client() as client:
        listed = client.profiles()
        outcomes = client.run(process_notifications(client.config))
    assert [p.iccid for p in listed] == [p.iccid for p in world.card.profiles]
    assert all(o.ok for o in outcomes), outcomes
    assert_card_consistent(world.watched, world.smdp)
    order = world.smdp.order(ac.matching_id)
    if any(p.iccid == order.iccid for p in world.card.profiles):
        assert order.state is OrderState.INSTALLED, order.state
        return "installed"
    how = "same order"
    if order.state is OrderState.DOWNLOADED:
        try:
            attempt(world, ac)
            return how
        except DownloadError as exc:
            assert isinstance(exc.__cause__, SmdpError), repr(exc.__cause__)
            assert exc.__cause__.subject_code == "8.2", exc.__cause__
            world.smdp.release(ac.matching_id)
            how = "released"
    if order.state is OrderState.RELEASED:
        attempt(world, ac)
        return how
    attempt(world, world.smdp.add_order())
    return "new order"


def assert_all_delivered(world: World) -> None:
    """The card is consistent and holds no pending notification: all reached the SM-DP+."""
    assert_card_consistent(world.watched, world.smdp)
    assert world.card.notifications == ()


class Killed(BaseException):
    """The process died: nothing after this runs, no cleanup reaches the card or the server."""


class Mortal:
    """Dies right after the ``at``-th effect (an APDU or a POST) completed, and stays dead."""

    def __init__(self, at: int) -> None:
        self.at = at
        self.count = 0
        self.dead = False

    def before(self) -> None:
        if self.dead:
            raise Killed

    def after(self) -> None:
        self.count += 1
        if self.count == self.at:
            self.dead = True
            raise Killed


class MortalCard:
    """A card transport in a process that may die."""

    def __init__(self, card: WatchedCard, mortal: Mortal) -> None:
        self.card = card
        self.mortal = mortal

    def transmit(self, apdu: bytes) -> bytes:
        self.mortal.before()
        answer = self.card.transmit(apdu)
        self.mortal.after()
        return answer

    def atr(self) -> bytes:
        return self.card.atr()


class MortalHttp:
    """An HTTP transport in a process that may die."""

    def __init__(self, http: HttpsTransport, mortal: Mortal) -> None:
        self.http = http
        self.mortal = mortal

    def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        self.mortal.before()
        answer = self.http.post(address, path, body, headers)
        self.mortal.after()
        return answer

    def close(self) -> None:
        self.http.close()


# --- card faults at APDU n, for the fault campaigns ------------------------------------------


def _removed(world: World, at: int) -> None:
    world.card.faults.drop(at=at)


def _reset(world: World, at: int) -> None:
    world.watched = ResetBefore(world.card, at)


def _status(world: World, at: int) -> None:
    world.card.faults.answer_status(0x6F00, at=at)


#: How the card fails at APDU ``at``: pulled out, reset silently before it, or answering 6F00.
CARD_FAULTS: dict[str, Callable[[World, int], None]] = {
    "removed": _removed,
    "reset": _reset,
    "status": _status,
}
