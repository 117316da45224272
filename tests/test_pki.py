"""The test PKI: deterministic, complete, saved and loaded, and usable for real TLS."""

from __future__ import annotations

import datetime as dt
import ssl
import threading
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from pyrsp.crypto import Curve, Role
from pyrsp.errors import UsageError
from pyrsp.testing.pki import DEFAULT_EID, TestPki, main

_NAMES = ("ci", "eum", "euicc", "dp_auth", "dp_pb", "dp_tls")


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=1)


def _ders(pki: TestPki) -> dict[str, bytes]:
    return {name: cred.der for name, cred in pki.credentials().items()}


def test_same_seed_same_bytes(pki: TestPki) -> None:
    again = TestPki.generate(seed=1)
    assert _ders(again) == _ders(pki)
    assert again == pki
    assert TestPki.generate(seed=1, curve="brainpool") != pki


def test_other_seed_other_keys(pki: TestPki) -> None:
    other = TestPki.generate(seed=2)
    assert other.ci_key_id != pki.ci_key_id
    assert other.euicc.der != pki.euicc.der


@pytest.mark.parametrize("curve", ["nist", "brainpool"])
@pytest.mark.parametrize("tls_curve", ["nist", "brainpool"])
def test_every_key_is_on_its_curve(curve: str, tls_curve: str) -> None:
    pki = TestPki.generate(seed=3, curve=curve, smds=True, tls_curve=tls_curve)
    assert set(pki.credentials()) == {*_NAMES, "ds_auth", "ds_tls"}
    for name, cred in pki.credentials().items():
        expected = Curve(tls_curve if name.endswith("tls") else curve).ec_curve.name
        public = cred.certificate.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert public.curve.name == expected
        assert cred.private_key.public_key() == public


def test_roles_and_names(pki: TestPki) -> None:
    def policy(cred_name: str) -> str:
        cert = getattr(pki, cred_name).certificate
        ext = cert.extensions.get_extension_for_class(x509.CertificatePolicies)
        return str(ext.value[0].policy_identifier.dotted_string)

    assert policy("ci") == Role.CI.value
    assert policy("eum") == Role.EUM.value
    assert policy("euicc") == Role.EUICC.value
    assert policy("dp_auth") == Role.DP_AUTH.value
    assert policy("dp_pb") == Role.DP_PB.value
    assert policy("dp_tls") == Role.DP_TLS.value
    serial = pki.euicc.certificate.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)
    assert serial[0].value == DEFAULT_EID == pki.eid
    san = pki.dp_tls.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert san.value.get_values_for_type(x509.DNSName) == ["testsmdpplus1.example.com"]
    oids = san.value.get_values_for_type(x509.RegisteredID)
    assert [o.dotted_string for o in oids] == ["2.999.10"]
    assert pki.ci_certificates == (pki.ci.certificate,)
    assert len(pki.ci_key_id) == 20
    assert pki.euicc_chain == (pki.euicc.certificate, pki.eum.certificate)


def test_validity_follows_now() -> None:
    now = dt.datetime(2030, 6, 1, tzinfo=dt.UTC)
    pki = TestPki.generate(seed=1, now=now)
    assert (
        pki.dp_tls.certificate.not_valid_before_utc
        < now
        < pki.dp_tls.certificate.not_valid_after_utc
    )
    assert pki.euicc.certificate.not_valid_after_utc.year == 9999


def test_save_and_load_round_trip(pki: TestPki, tmp_path: Path) -> None:
    pki.save(tmp_path)
    assert (tmp_path / "dp_tls.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    loaded = TestPki.load(tmp_path)
    assert loaded == pki
    assert _ders(loaded) == _ders(pki)
    assert loaded.eid == pki.eid
    assert loaded.curve is pki.curve
    assert loaded.euicc.key_pem == pki.euicc.key_pem
    assert loaded.ds_tls is None


def test_load_of_an_empty_folder_says_so(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="expected a test PKI"):
        TestPki.load(tmp_path)


def test_bad_eid_is_refused() -> None:
    with pytest.raises(UsageError, match="32 decimal digits"):
        TestPki.generate(eid="8904")


def test_command_line_writes_a_loadable_pki(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([str(tmp_path), "--seed", "5", "--curve", "brainpool", "--smds"]) == 0
    assert "brainpool" in capsys.readouterr().out
    loaded = TestPki.load(tmp_path)
    assert _ders(loaded) == _ders(TestPki.generate(seed="5", curve="brainpool", smds=True))


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext, host: str) -> None:
    """A TLS handshake through memory BIOs (no sockets)."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    srv = server.wrap_bio(to_server, to_client, server_side=True)
    cli_in, cli_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    cli = client.wrap_bio(cli_in, cli_out, server_hostname=host)
    pending = {"client": True, "server": True}
    for _ in range(10):
        for name, side in (("client", cli), ("server", srv)):
            if pending[name]:
                try:
                    side.do_handshake()
                    pending[name] = False
                except ssl.SSLWantReadError:
                    pass
            to_server.write(cli_out.read())
            cli_in.write(to_client.read())
        if not any(pending.values()):
            return
    raise AssertionError("handshake did not finish")


def test_tls_handshake_with_a_brainpool_ci() -> None:
    pki = TestPki.generate(seed=6, curve="brainpool")
    _handshake(pki.server_ssl_context(), pki.client_ssl_context(), pki.smdp_host)


def test_tls_handshake_trusts_only_the_ci(pki: TestPki) -> None:
    _handshake(pki.server_ssl_context(), pki.client_ssl_context(), "testsmdpplus1.example.com")
    with pytest.raises(ssl.SSLCertVerificationError, match="Hostname mismatch"):
        _handshake(pki.server_ssl_context(), pki.client_ssl_context(), "other.example.com")
    stranger = TestPki.generate(seed=99)
    with pytest.raises(ssl.SSLCertVerificationError, match="unable to get local issuer"):
        _handshake(pki.server_ssl_context(), stranger.client_ssl_context(), pki.smdp_host)


def test_httpx_talks_to_a_real_tls_server(tmp_path: Path) -> None:
    import socket

    pki = TestPki.generate(seed=4, smdp_host="localhost")
    context = pki.server_ssl_context()
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with context.wrap_socket(conn, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with httpx.Client(verify=pki.client_ssl_context(), timeout=5) as client:
            response = client.get(f"https://localhost:{port}/")
        assert response.text == "ok"
    finally:
        thread.join(timeout=5)
        listener.close()
