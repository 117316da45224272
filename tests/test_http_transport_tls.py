"""HttpsTransport against a real HTTPS server on 127.0.0.1 with certificates made in the test."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import anyio
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from pyrsp.errors import HttpTransportError, ServerTimeoutError, TlsError, UsageError
from pyrsp.transports.http import (
    AsyncHttpsTransport,
    HttpsTransport,
    TrustSource,
    load_trust_roots,
)

ADDRESS = "testsmdpplus1.example.com"
PATH = "/gsma/rsp2/es9plus/handleNotification"
NOW = dt.datetime.now(dt.UTC)


@dataclass(frozen=True)
class Pki:
    root: x509.Certificate
    other_root: x509.Certificate
    leaf_pem: bytes
    key_pem: bytes
    expired_pem: bytes


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _root(cn: str) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - dt.timedelta(days=1))
        .not_valid_after(NOW + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def _leaf(
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    not_after: dt.datetime,
) -> bytes:
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(ADDRESS))
        .issuer_name(root.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - dt.timedelta(days=60))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(ADDRESS)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .sign(root_key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture(scope="module")
def pki() -> Pki:
    root, root_key = _root("Test CI")
    other_root, _ = _root("Other CI")
    key = ec.generate_private_key(ec.SECP256R1())
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    leaf = _leaf(root, root_key, key, NOW + dt.timedelta(days=10))
    expired = _leaf(root, root_key, key, NOW - dt.timedelta(days=1))
    return Pki(root, other_root, leaf, key_pem, expired)


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        answer = (
            b'{"echo":'
            + str(len(body)).encode()
            + b',"host":"'
            + self.headers["Host"].encode()
            + b'"}'
        )
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _serve(tmp: Path, cert_pem: bytes, key_pem: bytes, tls: bool = True) -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    if tls:
        (tmp / "cert.pem").write_bytes(cert_pem)
        (tmp / "key.pem").write_bytes(key_pem)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp / "cert.pem", tmp / "key.pem")
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture(scope="module")
def port(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    yield from _serve(tmp_path_factory.mktemp("tls"), pki.leaf_pem, pki.key_pem)


def post(http: HttpsTransport, address: str = ADDRESS) -> bytes:
    with http:
        answer = http.post(address, PATH, b"{}", {"Content-Type": "application/json"})
    assert answer.status == 200
    return answer.body


def test_trusted_root_object_passes_and_host_is_the_address(pki: Pki, port: int) -> None:
    http = HttpsTransport(trust=pki.root, connect_to={ADDRESS: ("127.0.0.1", port)})
    assert post(http) == b'{"echo":2,"host":"' + ADDRESS.encode() + b'"}'


def test_trust_from_pem_der_files_and_directory(pki: Pki, port: int, tmp_path: Path) -> None:
    pem = tmp_path / "ci.pem"
    pem.write_bytes(pki.root.public_bytes(serialization.Encoding.PEM))
    der_dir = tmp_path / "roots"
    der_dir.mkdir()
    (der_dir / "ci.der").write_bytes(pki.root.public_bytes(serialization.Encoding.DER))
    (der_dir / "README.txt").write_text("not a certificate")
    target = {ADDRESS: ("127.0.0.1", port)}
    sources: list[TrustSource | list[TrustSource]] = [pem, str(pem), der_dir, [pki.other_root, pem]]
    for trust in sources:
        assert post(HttpsTransport(trust=trust, connect_to=target)).startswith(b'{"echo"')


def test_untrusted_root_is_refused(pki: Pki, port: int) -> None:
    http = HttpsTransport(trust=pki.other_root, connect_to={ADDRESS: ("127.0.0.1", port)})
    with pytest.raises(TlsError, match="certificate verify failed") as info:
        post(http)
    assert isinstance(info.value.__cause__, Exception)


def test_wrong_host_name_is_refused(pki: Pki, port: int) -> None:
    other = "testsmdpplus2.example.com"
    http = HttpsTransport(trust=pki.root, connect_to={other: ("127.0.0.1", port)})
    with pytest.raises(TlsError, match=r"[Hh]ostname mismatch"):
        post(http, other)


def test_connecting_by_ip_checks_the_ip_against_the_certificate(pki: Pki, port: int) -> None:
    http = HttpsTransport(trust=pki.root)
    with pytest.raises(TlsError):
        post(http, f"127.0.0.1:{port}")


def test_no_trust_and_system_store_do_not_trust_a_private_root(pki: Pki, port: int) -> None:
    target = {ADDRESS: ("127.0.0.1", port)}
    with pytest.raises(TlsError, match="no trust roots are configured"):
        post(HttpsTransport(connect_to=target))
    with pytest.raises(TlsError, match="certificate verify failed"):
        post(HttpsTransport(use_system_store=True, connect_to=target))


def test_insecure_flag_skips_verification(pki: Pki, port: int) -> None:
    http = HttpsTransport(insecure=True, connect_to={"wrong.example": ("127.0.0.1", port)})
    assert post(http, "wrong.example").startswith(b'{"echo"')


def test_expired_certificate_is_refused(pki: Pki, tmp_path: Path) -> None:
    for expired_port in _serve(tmp_path, pki.expired_pem, pki.key_pem):
        http = HttpsTransport(trust=pki.root, connect_to={ADDRESS: ("127.0.0.1", expired_port)})
        with pytest.raises(TlsError, match="expired"):
            post(http)


def test_plain_http_when_allowed(pki: Pki, tmp_path: Path) -> None:
    for http_port in _serve(tmp_path, b"", b"", tls=False):
        base = f"http://127.0.0.1:{http_port}"
        http = HttpsTransport(allow_http=True, connect_to={ADDRESS: base})
        assert post(http).startswith(b'{"echo"')


def test_a_server_that_never_answers_times_out() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        silent = listener.getsockname()[1]
        http = HttpsTransport(
            insecure=True, timeout=0.3, connect_to={ADDRESS: ("127.0.0.1", silent)}
        )
        with pytest.raises(ServerTimeoutError):
            post(http)


def test_async_transport_over_real_tls(pki: Pki, port: int) -> None:
    async def main() -> bytes:
        async with AsyncHttpsTransport(
            trust=pki.root, connect_to={ADDRESS: ("127.0.0.1", port)}
        ) as http:
            return (await http.post(ADDRESS, PATH, b"{}", {})).body

    assert anyio.run(main).startswith(b'{"echo":2')

    async def refused() -> None:
        async with AsyncHttpsTransport(
            trust=pki.other_root, connect_to={ADDRESS: ("127.0.0.1", port)}
        ) as http:
            await http.post(ADDRESS, PATH, b"{}", {})

    with pytest.raises(TlsError):
        anyio.run(refused)


def test_unusable_trust_sources_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_bytes(
        b"-----BEGIN CERTIFICATE-----\nxx\n-----END CERTIFICATE-----\n"
    )
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match=r"bad\.pem"):
        load_trust_roots(tmp_path / "bad.pem")
    with pytest.raises(UsageError, match=r"no \.pem"):
        load_trust_roots(tmp_path / "empty")
    with pytest.raises(UsageError, match="cannot read"):
        load_trust_roots(tmp_path / "missing.pem")
    with pytest.raises(UsageError, match="the bytes given"):
        load_trust_roots(b"\x30\x03\x02\x01\x01")


def test_pem_bundle_bytes_load_every_certificate(pki: Pki) -> None:
    bundle = b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (pki.root, pki.other_root)
    )
    assert len(load_trust_roots(bundle)) == 2


def test_proxy_is_used_the_httpx_way() -> None:
    seen: list[bytes] = []

    def proxy(listener: socket.socket) -> None:
        connection, _ = listener.accept()
        with connection:
            seen.append(connection.recv(4096))
            connection.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        thread = threading.Thread(target=proxy, args=(listener,), daemon=True)
        thread.start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        http = HttpsTransport(insecure=True, proxy=url, trust_env=False, timeout=5)
        with pytest.raises(HttpTransportError, match="ProxyError"):
            post(http)
        thread.join(5)
    assert seen and seen[0].startswith(f"CONNECT {ADDRESS}:443 ".encode())
