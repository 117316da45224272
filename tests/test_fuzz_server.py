"""Fuzzing the TestSmdp's ES9+ entry point and the certificate checks (issue 9, item 1).

- :meth:`pyrsp.testing.smdp.TestSmdp.handle` is fed random paths and bodies, random JSON, and
  the requests of a real download (recorded once, :func:`recorded`) with fields removed,
  retyped, in bad base64 or holding mutated TLVs. It must answer ``(status, headers, body)``
  and raise nothing, pyrsp errors included;
- :mod:`pyrsp.crypto.certificates` (``load_certificate``, ``verify_chain``,
  ``verify_euicc_certificates``) is fed random bytes and mutated DER of a test PKI's
  certificates; it must return a chain or raise a :class:`~pyrsp.errors.PyrspError`.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from typing import Any

import pytest
from cryptography import x509
from hypothesis import strategies as st

from pyrsp.crypto.certificates import load_certificate, verify_chain, verify_euicc_certificates
from pyrsp.crypto.roles import Role
from pyrsp.errors import CertificateError
from test_fuzz_es9 import JSON
from test_fuzz_harness import Target, fuzz_tests, hostile_bytes, mutated

PREFIX = "/gsma/rsp2/es9plus/"
FUNCTIONS = ("initiateAuthentication", "authenticateClient", "getBoundProfilePackage",
             "handleNotification", "cancelSession")  # fmt: skip


@functools.cache
def _pki() -> Any:
    from pyrsp.testing.pki import TestPki

    return TestPki.generate(seed=11)


@functools.cache
def recorded() -> tuple[tuple[str, bytes], ...]:
    """The ES9+ requests of one real download and its notification (path, body)."""
    from pyrsp.client import RspClient
    from pyrsp.testing.euicc import VirtualEuicc
    from pyrsp.testing.smdp import TestSmdp

    smdp = TestSmdp(_pki(), rng=3)
    sent: list[tuple[str, bytes]] = []
    respond = smdp.respond

    def record(path: str, body: bytes) -> Any:
        sent.append((path, body))
        return respond(path, body)

    smdp.respond = record  # type: ignore[method-assign]
    ac = smdp.add_order()
    with RspClient(VirtualEuicc(_pki()), smdp.http_transport()) as client:
        client.download(ac)
        client.process_notifications()
    return tuple(sent)


def _fresh_smdp() -> Any:
    from pyrsp.testing.smdp import TestSmdp

    smdp = TestSmdp(_pki(), rng=3)
    smdp.add_order()
    return smdp


@st.composite
def _broken_request(draw: Any) -> tuple[str, bytes]:
    path, body = draw(st.sampled_from(recorded()))
    doc = json.loads(body)
    for _ in range(draw(st.integers(1, 3))):
        key = draw(st.sampled_from(sorted(doc) or ["x"]))
        action = draw(st.sampled_from(("remove", "retype", "base64", "tlv", "tlv")))
        value = doc.get(key)
        if action == "remove":
            doc.pop(key, None)
        elif action == "retype":
            doc[key] = draw(JSON)
        elif action == "base64" and isinstance(value, str):
            doc[key] = value[: draw(st.integers(0, len(value)))] + draw(st.sampled_from("!-_=é "))
        elif isinstance(value, str):
            try:
                raw = base64.b64decode(value, validate=True)
            except ValueError:
                continue
            doc[key] = base64.b64encode(draw(mutated(st.just(raw)))).decode()
    return path, json.dumps(doc).encode()


_PATHS = st.sampled_from([PREFIX + f for f in FUNCTIONS]) | st.sampled_from(
    ["/", "", PREFIX, PREFIX + "initiateAuthentication/", "/gsma/rsp2/es9plus/../x"]
) | st.text(max_size=30)  # fmt: skip

REQUESTS = st.one_of(
    st.tuples(_PATHS, st.binary(max_size=200)),
    st.tuples(_PATHS, JSON.map(lambda v: json.dumps(v).encode())),
    st.builds(lambda: None).flatmap(lambda _: st.sampled_from(recorded())),
    _broken_request(),
)


def _handle(case: tuple[str, bytes]) -> None:
    path, body = case
    try:
        status, headers, answer = _fresh_smdp().handle(path, body)
    except Exception as error:  # the invariant here: never raise, even a pyrsp error
        raise AssertionError(f"TestSmdp.handle raised on {path!r}: {error!r}") from error
    assert isinstance(status, int) and isinstance(headers, dict) and isinstance(answer, bytes)


def _session(case: tuple[tuple[str, bytes], ...]) -> None:
    """A whole sequence of requests to one server (valid ones and broken ones interleaved)."""
    smdp = _fresh_smdp()
    for path, body in case:
        try:
            smdp.handle(path, body)
        except Exception as error:
            raise AssertionError(f"TestSmdp.handle raised on {path!r}: {error!r}") from error


# --- certificates ------------------------------------------------------------------------------


def _cert_seeds() -> st.SearchStrategy[bytes]:
    return st.sampled_from(["dp_auth", "dp_pb", "dp_tls", "ci", "eum", "euicc"]).map(
        lambda name: getattr(_pki(), name).der
    )


def _load(data: bytes) -> None:
    load_certificate(data)


def _chain(case: tuple[bytes, Role]) -> None:
    leaf, role = case
    pki = _pki()
    verify_chain(leaf, [pki.ci.der], role=role, intermediates=[pki.eum.der])


def _euicc(case: tuple[bytes, bytes]) -> None:
    euicc, eum = case
    verify_euicc_certificates(euicc, eum, [_pki().ci.der])


_ROLES = st.sampled_from(list(Role))

TARGETS = [
    Target("TestSmdp.handle", REQUESTS, _handle),
    Target(
        "TestSmdp.handle(sessions)",
        st.lists(REQUESTS, min_size=1, max_size=5).map(tuple),
        _session,
    ),
    Target(
        "certificates.load_certificate",
        hostile_bytes(_cert_seeds()),
        _load,
    ),
    Target(
        "certificates.verify_chain",
        st.tuples(hostile_bytes(_cert_seeds()), _ROLES),
        _chain,
    ),
    Target(
        "certificates.verify_euicc_certificates",
        st.tuples(
            mutated(st.builds(lambda: _pki().euicc.der)) | st.builds(lambda: _pki().euicc.der),
            mutated(st.builds(lambda: _pki().eum.der)) | st.builds(lambda: _pki().eum.der),
        ),
        _euicc,
    ),
]

test_fuzz_fast, test_fuzz_long = fuzz_tests(TARGETS)


def test_the_recorded_requests_are_a_whole_download() -> None:
    paths = [path.removeprefix(PREFIX) for path, _ in recorded()]
    assert paths[:3] == ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage"]
    assert "handleNotification" in paths


def test_the_seed_certificates_verify() -> None:
    pki = _pki()
    assert len(verify_chain(pki.dp_auth.der, [pki.ci.der], role=Role.DP_AUTH)) == 2
    assert verify_euicc_certificates(pki.euicc.der, pki.eum.der, [pki.ci.der]) == pki.eid


def _patched(der: bytes, old: bytes, new: bytes) -> bytes:
    assert der.count(old) == 1, old.hex()
    return der.replace(old, new)


# Found by this fuzzer: cryptography parses names, extensions and keys lazily, so these loaded
# and then raised ValueError / UnsupportedAlgorithm deep inside the checks. Each must be a
# CertificateError (rule "encoding") from load_certificate.
_POLICY_SEQUENCE = bytes.fromhex("040d300b3009060767811201020104")  # certificatePolicies value
_LAZY_CASES: dict[str, Callable[[Any], bytes]] = {
    "extension-as-set": lambda pki: _patched(
        pki.dp_auth.der, _POLICY_SEQUENCE, bytes.fromhex("040d310b3009060767811201020104")
    ),
    "unknown-curve": lambda pki: _patched(
        pki.dp_auth.der,
        bytes.fromhex("06082a8648ce3d030107"),
        bytes.fromhex("06082a8648ce3d030207"),
    ),
}


@pytest.mark.parametrize("case", sorted(_LAZY_CASES))
def test_a_certificate_that_parses_lazily_wrong_is_a_certificate_error(case: str) -> None:
    pki = _pki()
    with pytest.raises(CertificateError) as raised:
        verify_chain(_LAZY_CASES[case](pki), [pki.ci.der], role=Role.DP_AUTH)
    assert raised.value.rule == "encoding"


def _unknown_final_result() -> tuple[str, bytes]:
    """The recorded install notification with finalResult's alternative tag A0 changed to A5."""
    from pyrsp import tlv

    path, body = next(r for r in recorded() if r[0].endswith("handleNotification"))
    doc = json.loads(body)
    raw = base64.b64decode(doc["pendingNotification"])
    data = tlv.parse(raw).children()[0]
    alternative = data.require(0xA2).children()[0]
    changed = raw[: alternative.offset] + b"\xa5" + raw[alternative.offset + 1 :]
    doc["pendingNotification"] = base64.b64encode(changed).decode()
    return path, json.dumps(doc).encode()


def test_an_unknown_final_result_gets_an_answer() -> None:
    """F5: refused (1.3.1/2.1, invalid pendingNotification), like one that does not decode."""
    path, body = _unknown_final_result()
    _handle((path, body))
    status, _, answer = _fresh_smdp().handle(path, body)
    execution = json.loads(answer)["header"]["functionExecutionStatus"]
    assert status == 200 and execution["status"] == "Failed"
    data = execution["statusCodeData"]
    assert data["subjectIdentifier"] == "pendingNotification"
    assert "finalResult has an unknown alternative" in data["message"]


# Found by this fuzzer (F3, F6, F7): cryptography raises its own exception classes, not
# ValueErrors, for a version other than v1-v3, an extension present twice and an x400Address
# or ediPartyName general name; TypeError for a name attribute of the wrong type; only a
# UserWarning for a countryName that is not two letters. load_certificate must turn each into
# a CertificateError, for bytes and for a certificate the caller loaded (lazily) itself.
_X509_ERROR_CASES: dict[str, tuple[bytes, bytes]] = {
    "version-10": (bytes.fromhex("a003020102"), bytes.fromhex("a00302010a")),
    # keyUsage's OID (2.5.29.15) changed to subjectKeyIdentifier's (2.5.29.14)
    "extension-twice": (bytes.fromhex("0603551d0f"), bytes.fromhex("0603551d0e")),
    # the subjectAltName's registeredID changed to an x400Address
    "x400-address": (bytes.fromhex("3005880388370a"), bytes.fromhex("3005a303020100")),
    # F7 (long run): the issuer's commonName as a BIT STRING: TypeError
    "bit-string-name": (bytes.fromhex("06035504030c0d70"), bytes.fromhex("0603550403030d00")),
    # F7: the subject's organizationName OID changed to countryName (17 letters): UserWarning
    "long-country": (bytes.fromhex("060355040a0c11"), bytes.fromhex("06035504060c11")),
}


@pytest.mark.parametrize("case", sorted(_X509_ERROR_CASES))
def test_what_cryptography_refuses_is_a_certificate_error(case: str) -> None:
    pki = _pki()
    der = _patched(pki.dp_auth.der, *_X509_ERROR_CASES[case])
    with pytest.raises(CertificateError) as raised:
        verify_chain(der, [pki.ci.der], role=Role.DP_AUTH)
    assert raised.value.rule == "encoding"
    if case == "version-10":  # cryptography refuses it when loading, never later
        with pytest.raises(x509.InvalidVersion):
            x509.load_der_x509_certificate(der)
        return
    lazy = x509.load_der_x509_certificate(der)
    with pytest.raises(CertificateError) as raised:
        verify_chain(lazy, [pki.ci.der], role=Role.DP_AUTH)
    assert raised.value.rule == "encoding"
