"""Tests for pyrsp.activation_code (SGP.22 section 4.1)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyrsp.activation_code import ActivationCode
from pyrsp.errors import ActivationCodeError

MID = "04386-AGYFT-A74Y8-3F815"
OID = "1.3.6.1.4.1.31746"

# The round-trip strings listed in ../shared/vectors/README.md (from SGP.22 section 4.1).
VALID = [
    (f"1$SMDP.GSMA.COM${MID}", ActivationCode("SMDP.GSMA.COM", MID)),
    (f"1$SMDP.GSMA.COM${MID}$$1", ActivationCode("SMDP.GSMA.COM", MID, None, True)),
    (f"1$SMDP.GSMA.COM${MID}${OID}$1", ActivationCode("SMDP.GSMA.COM", MID, OID, True)),
    (f"1$SMDP.GSMA.COM${MID}${OID}", ActivationCode("SMDP.GSMA.COM", MID, OID)),
    (f"1$SMDP.GSMA.COM$${OID}", ActivationCode("SMDP.GSMA.COM", "", OID)),
    # further valid forms
    ("1$testsmdpplus1.example.com$", ActivationCode("testsmdpplus1.example.com")),
    (
        "1$testsmdpplus1.example.com$$2.999.10$1",
        ActivationCode("testsmdpplus1.example.com", "", "2.999.10", True),
    ),
    ("1$localhost$abc_def.1", ActivationCode("localhost", "abc_def.1")),
    ("1$127.0.0.1$X", ActivationCode("127.0.0.1", "X")),
    ("1$a-b.c$X$0.39", ActivationCode("a-b.c", "X", "0.39")),
]


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_codes_round_trip(text: str, expected: ActivationCode) -> None:
    code = ActivationCode.parse(text)
    assert code == expected
    assert str(code) == text
    assert code.qr_text() == "LPA:" + text


@pytest.mark.parametrize(("text", "expected"), VALID)
def test_valid_codes_with_lpa_prefix_round_trip(text: str, expected: ActivationCode) -> None:
    code = ActivationCode.parse("LPA:" + text)
    assert code == expected
    assert code.qr_text() == "LPA:" + text


def test_vector_readme_strings_round_trip(vectors_dir: Path) -> None:
    readme = (vectors_dir / "README.md").read_text()
    section = readme.split("must round-trip:", 1)[1]
    texts = [part for part in section.split("`") if part.startswith("1$")]
    assert len(texts) == 5
    for text in texts:
        assert str(ActivationCode.parse(text)) == text
        assert ActivationCode.parse("LPA:" + text).qr_text() == "LPA:" + text


def test_prefix_case_and_surrounding_whitespace_are_tolerated() -> None:
    code = ActivationCode.parse(f"  lpa:1$SMDP.GSMA.COM${MID}\r\n")
    assert str(code) == f"1$SMDP.GSMA.COM${MID}"


def test_fields() -> None:
    code = ActivationCode.parse(f"LPA:1$SMDP.GSMA.COM${MID}${OID}$1")
    assert code.smdp_address == "SMDP.GSMA.COM"
    assert code.matching_id == MID
    assert code.smdp_oid == OID
    assert code.confirmation_code_required is True


def test_frozen() -> None:
    code = ActivationCode("SMDP.GSMA.COM", MID)
    with pytest.raises(dataclasses.FrozenInstanceError):
        code.matching_id = "X"  # type: ignore[misc]


def test_repr_masks_the_matching_id() -> None:
    text = repr(ActivationCode("SMDP.GSMA.COM", MID, OID))
    assert MID not in text
    assert "'0438...'" in text and "SMDP.GSMA.COM" in text
    assert "matching_id='***'" in repr(ActivationCode("a.b", "ABC"))


INVALID = [
    ("", "got 1 field"),
    ("1$SMDP.GSMA.COM", "got 2 field"),
    ("LPA:", "got 1 field"),
    (f"2$SMDP.GSMA.COM${MID}", "unknown activation code format '2'"),
    (f"$SMDP.GSMA.COM${MID}", "unknown activation code format ''"),
    (f"LPA:1$SMDP.GSMA.COM${MID}${OID}$1$X", "at most 5 '\\$'-separated fields, got 6"),
    ("1$SMDP.GSMA.COM$$$$$$$", "got 9"),
    (f"1$SMDP.GSMA.COM${MID}$", "empty SM-DP\\+ OID field"),
    (f"1$SMDP.GSMA.COM${MID}${OID}$0", "flag to be '1', got '0'"),
    (f"1$SMDP.GSMA.COM${MID}${OID}$", "flag to be '1', got ''"),
    (f"1$SMDP.GSMA.COM${MID}$$true", "flag to be '1', got 'true'"),
    (f"1$$${MID}", "address to be a host name, got '': it is empty"),
    (f"1$https://smdp.example.com${MID}", "it has a scheme"),
    (f"1$smdp.example.com:8443${MID}", "it has a port"),
    (f"1$smdp.example.com/path${MID}", "'/' is not allowed"),
    (f"1$user@smdp.example.com${MID}", "'@' is not allowed"),
    (f"1$smdp example.com${MID}", "' ' is not allowed"),
    (f"1$smdp_x.example.com${MID}", "'_' is not allowed"),
    (f"1$smdp..example.com${MID}", "dot-separated labels"),
    (f"1$-smdp.example.com${MID}", "dot-separated labels"),
    (f"1$smdp.example.com.${MID}", "dot-separated labels"),
    (f"1${'a' * 64}.com${MID}", "dot-separated labels"),
    (f"1${'a.' * 127}a${MID}", "longer than 253"),
    (f"1$smdp.ex\u00e4mple.com${MID}", "'\u00e4' is not allowed"),
    ("1$smdp.example.com$AB\nCD", "control character U\\+000A at position 21"),
    ("1$smdp.example.com$AB\x00", "control character U\\+0000"),
    ("1$smdp.example.com$AB\x7f", "control character U\\+007F"),
    ("1$smdp.example.com$AB\x85CD", "control character U\\+0085"),
    ("1$smdp.example.com$AB CD", "matching ID of printable ASCII"),
    ("1$smdp.example.com$\u00c4BC", "matching ID of printable ASCII"),
    ("1$smdp.example.com$X$1.2.", "dotted object identifier"),
    ("1$smdp.example.com$X$1", "dotted object identifier"),
    ("1$a.com$X$1." + "9" * 5000, "dotted object identifier"),
    ("1$a.com$X$2.25." + "9" * 40, "dotted object identifier"),
    ("1$smdp.example.com$X$3.1", "dotted object identifier"),
    ("1$smdp.example.com$X$1.40", "dotted object identifier"),
    ("1$smdp.example.com$X$1.3.06", "dotted object identifier"),
    ("1$smdp.example.com$X$abc$1", "dotted object identifier"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_codes_are_rejected(text: str, message: str) -> None:
    with pytest.raises(ActivationCodeError, match=message):
        ActivationCode.parse(text)


def test_error_message_does_not_echo_the_matching_id() -> None:
    with pytest.raises(ActivationCodeError) as info:
        ActivationCode.parse("1$smdp.example.com$SECRET ID")
    assert "SECRET" not in str(info.value)


def test_constructor_validates() -> None:
    with pytest.raises(ActivationCodeError, match="host name"):
        ActivationCode("bad/address", MID)
    with pytest.raises(ActivationCodeError, match="matching ID"):
        ActivationCode("a.b", "X$Y")
    with pytest.raises(ActivationCodeError, match="object identifier"):
        ActivationCode("a.b", "X", "")


def test_activation_code_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        ActivationCode.parse("nonsense")


_labels = st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9-]{0,10}[A-Za-z0-9])?", fullmatch=True)
_addresses = st.lists(_labels, min_size=1, max_size=4).map(".".join)
_matching_ids = st.from_regex(r"[!-#%-~]{0,30}", fullmatch=True)
_oids = st.one_of(
    st.none(),
    st.tuples(st.sampled_from(["0", "1"]), st.integers(0, 39), st.lists(st.integers(0, 10**6))).map(
        lambda t: ".".join(map(str, [t[0], t[1], *t[2]]))
    ),
    st.lists(st.integers(0, 10**6), min_size=1).map(lambda arcs: ".".join(map(str, [2, *arcs]))),
)


@given(_addresses, _matching_ids, _oids, st.booleans())
def test_round_trip_property(address: str, mid: str, oid: str | None, flag: bool) -> None:
    code = ActivationCode(address, mid, oid, flag)
    assert ActivationCode.parse(str(code)) == code
    assert ActivationCode.parse(code.qr_text()) == code
    assert str(ActivationCode.parse(str(code))) == str(code)


@given(st.text(max_size=60))
def test_arbitrary_text_parses_or_raises_activation_code_error(text: str) -> None:
    try:
        code = ActivationCode.parse(text)
    except ActivationCodeError:
        return
    assert ActivationCode.parse(str(code)) == code
