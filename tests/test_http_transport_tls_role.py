"""The SM-DP+ TLS certificate's RSP role (SGP.22 section 4.5.2), over real HTTPS on 127.0.0.1.

Every server certificate here chains to the test CI and names the host, so the handshake
passes; only its certificate policy differs: id-rspRole-dp-tls or -ds-tls (accepted), DPauth
or none (refused with TlsError before the request is sent, unless check_tls_role=False).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from pyrsp.crypto import Curve, Role, derive_private_key
from pyrsp.errors import TlsError
from pyrsp.testing.pki import Credential, TestPki
from pyrsp.transports import tls_role
from pyrsp.transports.http import AsyncHttpsTransport, HttpsTransport, HttpTrace

PATH = "/gsma/rsp2/es9plus/initiateAuthentication"
NOW = dt.datetime.now(dt.UTC)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=181, smds=True)


def _tls_cert(
    pki: TestPki, host: str, policy: Role | None, issuer: Credential | None = None
) -> Credential:
    """A TLS server certificate for ``host`` from ``issuer`` (default: the test CI), with
    ``policy`` (or none)."""
    issuer = issuer or pki.ci
    key = derive_private_key(Curve.NIST, b"h18 wrong-role tls|" + str(policy).encode())
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(0x1818)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(x509.AuthorityKeyIdentifier(issuer.key_id, None, None), False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    )
    if policy is not None:
        policies = x509.CertificatePolicies([x509.PolicyInformation(policy.oid, None)])
        builder = builder.add_extension(policies, False)
    return Credential(builder.sign(issuer.private_key, hashes.SHA256()), key)


def _plain_root() -> Credential:
    """A private CA root without the id-rspRole-ci policy."""
    key = derive_private_key(Curve.NIST, b"h18 plain root")
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Plain Root")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(0x1819)
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return Credential(cert, key)


@dataclass
class Server:
    port: int
    posts: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[Credential], Server]]:
    """Start HTTPS servers presenting a given credential; all are stopped at the end."""
    running: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(credential: Credential) -> Server:
        tmp = tmp_path_factory.mktemp("tls")
        (tmp / "cert.pem").write_bytes(credential.pem)
        (tmp / "key.pem").write_bytes(credential.key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
        httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
        server = Server(httpd.server_address[1])
        httpd.posts = server.posts  # type: ignore[attr-defined]
        thread = threading.Thread(target=httpd.serve_forever, daemon=True)
        thread.start()
        running.append((httpd, thread))
        return server

    yield start
    for httpd, thread in running:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: connections are reused

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.server.posts.append(self.path)  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: object) -> None:
        pass


def _sync(pki: TestPki, server: Server, host: str, times: int = 1, **options: Any) -> None:
    options.setdefault("trust", pki.ci.pem)
    options.setdefault("connect_to", {host: ("127.0.0.1", server.port)})
    with HttpsTransport(**options) as http:
        for _ in range(times):
            assert http.post(host, PATH, b"{}", {}).body == b"{}"


def _async(pki: TestPki, server: Server, host: str, times: int = 1, **options: Any) -> None:
    options.setdefault("trust", pki.ci.pem)
    options.setdefault("connect_to", {host: ("127.0.0.1", server.port)})

    async def main() -> None:
        async with AsyncHttpsTransport(**options) as http:
            for _ in range(times):
                assert (await http.post(host, PATH, b"{}", {})).body == b"{}"

    anyio.run(main)


CLIENTS = [_sync, _async]


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The certificates the role check parsed, in order."""
    seen: list[bytes] = []
    check = tls_role.check_tls_certificate

    def counting(der: bytes | None, url: str) -> bytes:
        seen.append(der or b"")
        return check(der, url)

    monkeypatch.setattr(tls_role, "check_tls_certificate", counting)
    return seen


@pytest.mark.parametrize("client", CLIENTS)
def test_dp_tls_role_passes_and_is_checked_once(
    pki: TestPki, serve: Callable[[Credential], Server], client: Any, checked: list[bytes]
) -> None:
    server = serve(pki.dp_tls)
    client(pki, server, pki.smdp_host, times=3)
    assert server.posts == [PATH] * 3
    assert checked == [pki.dp_tls.der]


@pytest.mark.parametrize("client", CLIENTS)
def test_ds_tls_role_passes(
    pki: TestPki, serve: Callable[[Credential], Server], client: Any, checked: list[bytes]
) -> None:
    assert pki.ds_tls is not None
    server = serve(pki.ds_tls)
    client(pki, server, pki.smds_host)
    assert checked == [pki.ds_tls.der]


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize(
    ("policy", "got"), [(Role.DP_AUTH, r"got DP_AUTH \(2\.23\.146\.1\.2\.1\.4\)"), (None, "got 0")]
)
def test_wrong_or_no_role_is_refused_before_the_request(
    pki: TestPki,
    serve: Callable[[Credential], Server],
    client: Any,
    policy: Role | None,
    got: str,
) -> None:
    server = serve(_tls_cert(pki, pki.smdp_host, policy))
    events: list[HttpTrace] = []
    with pytest.raises(TlsError, match=got) as info:
        client(pki, server, pki.smdp_host, trace=events.append)
    message = str(info.value)
    assert f"CN={pki.smdp_host}" in message and "breaks rule 'role'" in message
    assert "id-rspRole-dp-tls (2.23.146.1.2.1.3)" in message and "check_tls_role=False" in message
    assert server.posts == []
    assert [e.kind for e in events] == ["request", "error"] and events[1].error == message


@pytest.mark.parametrize("client", CLIENTS)
def test_opt_out_accepts_a_wrong_role(
    pki: TestPki, serve: Callable[[Credential], Server], client: Any, checked: list[bytes]
) -> None:
    server = serve(_tls_cert(pki, pki.smdp_host, Role.DP_AUTH))
    client(pki, server, pki.smdp_host, check_tls_role=False)
    assert server.posts == [PATH] and checked == []


def test_system_store_turns_the_role_check_off(
    pki: TestPki, serve: Callable[[Credential], Server], checked: list[bytes]
) -> None:
    """With the system store a server may chain to a web PKI root, which gives no RSP role."""
    server = serve(_tls_cert(pki, pki.smdp_host, None))
    _sync(pki, server, pki.smdp_host, use_system_store=True, trust_env=False)
    assert server.posts == [PATH] and checked == []


def test_roots_without_the_ci_role_turn_the_role_check_off(
    pki: TestPki, serve: Callable[[Credential], Server], checked: list[bytes]
) -> None:
    """A private root that is no RSP CI (no id-rspRole-ci policy) vouches for no roles."""
    root = _plain_root()
    server = serve(_tls_cert(pki, pki.smdp_host, None, issuer=root))
    _sync(pki, server, pki.smdp_host, trust=root.pem)
    assert server.posts == [PATH] and checked == []
    with pytest.raises(TlsError, match="got 0"):  # with a CI among the roots it is checked
        _sync(pki, server, pki.smdp_host, trust=[root.pem, pki.ci.pem])


def test_the_answer_side_check_catches_a_handshake_the_hook_missed(
    pki: TestPki, serve: Callable[[Credential], Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If httpcore stopped reporting the handshake, the answer's connection is still checked."""
    monkeypatch.setattr(tls_role.TlsRoleCheck, "hook", lambda self, url, host: _ignore)
    server = serve(_tls_cert(pki, pki.smdp_host, Role.DP_AUTH))
    with pytest.raises(TlsError, match="got DP_AUTH"):
        _sync(pki, server, pki.smdp_host)
    assert server.posts == [PATH]  # sent (the hook was off), but its answer is not returned


def _ignore(event: str, info: dict[str, Any]) -> None:
    pass


def test_in_process_transport_is_not_role_checked(pki: TestPki, checked: list[bytes]) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"{}")

    transport = httpx.MockTransport(answer)
    with HttpsTransport(trust=pki.ci.pem, transport=transport) as http:
        assert http.post(pki.smdp_host, PATH, b"{}", {}).body == b"{}"
    assert checked == []


def test_is_ci_certificate(pki: TestPki) -> None:
    assert tls_role.is_ci_certificate(pki.ci.der)
    assert not tls_role.is_ci_certificate(pki.dp_tls.der)
    assert not tls_role.is_ci_certificate(b"\x30\x00")


def test_a_connection_without_a_certificate_is_refused(pki: TestPki) -> None:
    with pytest.raises(TlsError, match="no TLS certificate"):
        tls_role.check_tls_certificate(None, "https://x/")
    with pytest.raises(TlsError, match="no TLS certificate"):
        tls_role.TlsRoleCheck().check_answer({}, "https://x/")
    with pytest.raises(TlsError, match="rule 'encoding'"):
        tls_role.check_tls_certificate(b"\x30\x00", "https://x/")


@pytest.fixture
def tunnel() -> Iterator[int]:
    """An HTTP CONNECT proxy on 127.0.0.1 that tunnels to any 127.0.0.1 port asked for."""
    listener = socket.create_server(("127.0.0.1", 0))
    sockets: list[socket.socket] = []
    threads: list[threading.Thread] = []

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = listener.accept()
                sockets.append(client)
                head = b""
                while b"\r\n\r\n" not in head:
                    head += client.recv(4096)
                port = int(head.split(b" ", 2)[1].rsplit(b":", 1)[1])
                upstream = socket.create_connection(("127.0.0.1", port))
                sockets.append(upstream)
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                for a, b in ((client, upstream), (upstream, client)):
                    thread = threading.Thread(target=pipe, args=(a, b), daemon=True)
                    thread.start()
                    threads.append(thread)

    acceptor = threading.Thread(target=serve, daemon=True)
    acceptor.start()
    yield listener.getsockname()[1]
    listener.shutdown(socket.SHUT_RDWR)  # wakes accept()
    acceptor.join(5)
    listener.close()
    for sock in sockets:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes recv()
        sock.close()
    for thread in threads:
        thread.join(5)


def test_the_role_is_checked_through_a_proxy_tunnel(
    pki: TestPki, serve: Callable[[Credential], Server], tunnel: int, checked: list[bytes]
) -> None:
    """Behind an HTTP proxy the TLS stream is the tunnel to the SM-DP+: it is the one checked.

    (The proxy tunnels to 127.0.0.1 whatever host the CONNECT names.)"""
    proxy = {"proxy": f"http://127.0.0.1:{tunnel}", "trust_env": False}
    host = pki.smdp_host
    good = serve(pki.dp_tls)
    _sync(pki, good, host, times=2, connect_to={host: f"https://{host}:{good.port}"}, **proxy)
    assert good.posts == [PATH] * 2 and checked == [pki.dp_tls.der]
    bad = serve(_tls_cert(pki, host, Role.DP_AUTH))
    with pytest.raises(TlsError, match="got DP_AUTH"):
        _async(pki, bad, host, connect_to={host: f"https://{host}:{bad.port}"}, **proxy)
    assert bad.posts == []
