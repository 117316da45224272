"""Fuzzing the small parsers: BER-TLV, activation codes, keys and signatures (issue 9, item 1).

- :mod:`pyrsp.tlv` (X.690 8.1): a parse either fails with :class:`~pyrsp.errors.TlvError` or
  returns slices that rebuild the input exactly;
- :meth:`pyrsp.activation_code.ActivationCode.parse` (SGP.22 4.1): random text and mutations of
  valid codes; what parses prints back as the input;
- :mod:`pyrsp.crypto`: points, DER and ``5F37`` signatures, and verification over random bytes.
"""

from __future__ import annotations

import contextlib
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import strategies as st

from pyrsp import crypto, tlv
from pyrsp.activation_code import ActivationCode
from pyrsp.errors import CryptoError, InvalidSignature
from test_fuzz_harness import Target, fuzz_tests, hostile_bytes

# --- tlv ---------------------------------------------------------------------------------------

_LEAF_TAGS = st.sampled_from([0x04, 0x5A, 0x80, 0x9F70, 0x5F37])
_NESTED = st.recursive(
    st.builds(tlv.build, _LEAF_TAGS, st.binary(max_size=300)),
    lambda inner: st.builds(
        lambda tag, kids: tlv.build(tag, b"".join(kids)),
        st.sampled_from([0x30, 0xA0, 0xBF36, 0xBF2D, 0x7F21]),
        st.lists(inner, max_size=4),
    ),
    max_leaves=10,
)  # fmt: skip


def _walk(item: tlv.Tlv, depth: int = 0) -> None:
    assert item.raw == item.header + item.value
    if item.constructed and depth < 20:
        kids = item.children()
        assert b"".join(kid.raw for kid in kids) == item.value
        for kid in kids:
            _walk(kid, depth + 1)
        item.find(0x5A)


def _tlv_parse(data: bytes) -> None:
    parsed = tlv.parse(data)
    assert parsed.raw == data
    _walk(parsed)


def _tlv_parse_all(data: bytes) -> None:
    items = tlv.parse_all(data)
    assert b"".join(item.raw for item in items) == data
    if data:
        first = tlv.read(data + b"\x00\x00")
        assert first.raw == items[0].raw


# --- activation codes ---------------------------------------------------------------------------

VALID_CODES = (
    "1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815",
    "1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$$1",
    "1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1",
    "1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746",
    "1$SMDP.GSMA.COM$$1.3.6.1.4.1.31746",
    "LPA:1$testsmdpplus1.example.com$ABC$2.999.10",
)
_SPECIAL = "$:/.-@ 0129LPA:\t\n\x00\x7f\x85\u200b\u0130\u212a\uff04é"


@st.composite
def _mutated_code(draw: Any) -> Any:
    text = draw(st.sampled_from(VALID_CODES))
    for _ in range(draw(st.integers(1, 3))):
        pos = draw(st.integers(0, len(text)))
        piece = draw(st.text(alphabet=_SPECIAL, min_size=1, max_size=3) | st.text(max_size=3))
        action = draw(st.sampled_from(("insert", "replace", "delete", "repeat")))
        if action == "insert":
            text = text[:pos] + piece + text[pos:]
        elif action == "replace":
            text = text[:pos] + piece + text[pos + len(piece) :]
        elif action == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 5)) :]
        else:
            text = text[:pos] * draw(st.integers(1, 40)) + text[pos:]
    return text


def _activation_code(text: str) -> None:
    code = ActivationCode.parse(text)
    body = text.strip()
    if body[:4].upper() == "LPA:":
        body = body[4:]
    assert str(code) == body, (str(code), body)
    assert ActivationCode.parse(code.qr_text()) == code


# --- crypto ------------------------------------------------------------------------------------

_KEY = ec.derive_private_key(7, ec.SECP256R1())
_POINT = crypto.public_key_bytes(_KEY)
_SIGNATURE = crypto.sign(_KEY, b"data", deterministic=True)


def _point(data: bytes) -> None:
    for curve in crypto.Curve:  # the curve is the caller's choice, the point comes from outside
        with contextlib.suppress(CryptoError):
            crypto.public_key_from_bytes(curve, data)


def _signature_der(der: bytes) -> None:
    raw = crypto.signature_from_der(der)
    assert len(raw) == 64


def _signature_tlv(data: bytes) -> None:
    raw = crypto.signature_from_tlv(data)
    try:
        crypto.verify(_KEY.public_key(), b"data", raw)
    except InvalidSignature:
        return
    assert raw == _SIGNATURE


TARGETS = [
    Target("tlv.parse", hostile_bytes(_NESTED), _tlv_parse),
    Target("tlv.parse_all", hostile_bytes(_NESTED.map(lambda b: b + b)), _tlv_parse_all),
    Target(
        "ActivationCode.parse",
        st.text(max_size=80) | st.sampled_from(VALID_CODES) | _mutated_code(),
        _activation_code,
    ),
    Target(
        "crypto.public_key_from_bytes",
        hostile_bytes(st.just(_POINT)),
        _point,
    ),
    Target(
        "crypto.signature_from_der",
        hostile_bytes(st.just(crypto.signature_to_der(_SIGNATURE))),
        _signature_der,
    ),
    Target(
        "crypto.signature_from_tlv+verify",
        hostile_bytes(st.just(crypto.signature_to_tlv(_SIGNATURE))),
        _signature_tlv,
    ),
]

test_fuzz_fast, test_fuzz_long = fuzz_tests(TARGETS)
