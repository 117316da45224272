"""Fuzzing the ES9+ response parsers (issue 9, item 1; SGP.22 section 6.5).

Every parser in :mod:`pyrsp.protocol.es9` is fed HTTP answers an SM-DP+ (or a proxy in front
of it) could send: random bytes, random JSON, valid answers with fields removed, retyped, in bad
base64 or holding mutated TLVs, HTML error pages, deeply nested JSON and multi-megabyte bodies,
under random HTTP statuses. Each must parse or raise a :class:`~pyrsp.errors.PyrspError`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from pyrsp import tlv
from pyrsp.protocol import es9
from pyrsp.protocol.effects import Flow, HttpResponse
from test_fuzz_harness import Target, fuzz_tests, mutated

TID = "0A1B2C3D4E5F"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _tlv_of(tag: int) -> st.SearchStrategy[bytes]:
    return st.binary(max_size=40).map(lambda value: tlv.build(tag, value))


# The fields each success answer carries, with the tag of the TLV inside (None: a plain string).
FIELDS: dict[str, dict[str, int | None]] = {
    "initiateAuthentication": {
        "transactionId": None, "serverSigned1": 0x30, "serverSignature1": 0x5F37,
        "euiccCiPKIdToBeUsed": 0x04, "serverCertificate": 0x30,
    },
    "authenticateClient": {
        "transactionId": None, "profileMetadata": 0xBF25, "smdpSigned2": 0x30,
        "smdpSignature2": 0x5F37, "smdpCertificate": 0x30,
    },
    "getBoundProfilePackage": {"transactionId": None, "boundProfilePackage": 0xBF36},
    "handleNotification": {},
    "cancelSession": {},
}  # fmt: skip

STATUSES = ("Executed-Success", "Executed-WithWarning", "Failed", "Expired", "executed-success",
            "Executed-Success ", "")  # fmt: skip

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _header(status: str, code_data: Any) -> dict[str, Any]:
    execution: dict[str, Any] = {"status": status}
    if code_data is not None:
        execution["statusCodeData"] = code_data
    return {"functionExecutionStatus": execution}


_CODE_DATA = (
    st.none()
    | JSON
    | st.fixed_dictionaries(
        {},
        optional={
            "subjectCode": st.sampled_from(["8.1.1", "8.2.6", "1.2"]) | JSON,
            "reasonCode": st.sampled_from(["3.8", "6.3", "9.9"]) | JSON,
            "subjectIdentifier": JSON,
            "message": st.text(max_size=300) | JSON,
        },
    )
)


@st.composite
def valid_doc(draw: Any, function: str) -> dict[str, Any]:
    """A well-formed answer body: the header and every field with a TLV of the right tag."""
    doc: dict[str, Any] = {"header": _header(draw(st.sampled_from(STATUSES[:4])), draw(_CODE_DATA))}
    for name, tag in FIELDS[function].items():
        doc[name] = TID if tag is None else _b64(draw(_tlv_of(tag)))
    return doc


def _bad_base64(text: str, draw: Any) -> Any:
    choice = draw(st.sampled_from(("cut", "char", "url", "space", "unicode")))
    if choice == "cut":
        return text[: draw(st.integers(0, len(text)))]
    if choice == "char":
        pos = draw(st.integers(0, len(text)))
        return text[:pos] + draw(st.sampled_from("!*-_.=é\x00")) + text[pos:]
    if choice == "url":
        return text.replace("+", "-").replace("/", "_")
    if choice == "space":
        return " \n".join(text)
    return text + "\u2603"


@st.composite
def broken_doc(draw: Any, function: str) -> dict[str, Any]:
    """A valid answer with one to three things broken."""
    doc = draw(valid_doc(function))
    for _ in range(draw(st.integers(1, 3))):
        keys = [*doc, "header.functionExecutionStatus", "header.functionExecutionStatus.status"]
        key = draw(st.sampled_from(keys))
        owner, leaf = _locate(doc, key)
        if owner is None:
            continue
        action = draw(st.sampled_from(("remove", "retype", "base64", "tlv", "tid")))
        if action == "remove":
            owner.pop(leaf, None)
        elif action == "retype":
            owner[leaf] = draw(JSON)
        elif action == "base64" and isinstance(owner.get(leaf), str):
            owner[leaf] = _bad_base64(owner[leaf], draw)
        elif action == "tlv" and leaf in FIELDS[function] and leaf != "transactionId":
            raw = _unb64(owner.get(leaf))
            if raw is not None:
                owner[leaf] = _b64(draw(mutated(st.just(raw))))
        elif action == "tid":
            owner[leaf] = draw(st.sampled_from(["", "0", "xyz", TID.lower(), "00" * 17, "0A 1B"]))
    return doc  # type: ignore[no-any-return]


def _unb64(text: object) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True) if isinstance(text, str) else None
    except ValueError:
        return None


def _locate(doc: dict[str, Any], dotted: str) -> tuple[dict[str, Any] | None, str]:
    *path, leaf = dotted.split(".")
    node: Any = doc
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return (node, leaf) if isinstance(node, dict) else (None, leaf)


def _encode(doc: Any) -> bytes:
    return json.dumps(doc).encode()


HTML = st.sampled_from([
    b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    b"<!DOCTYPE html>\n<html><head><title>Error</title></head></html>",
    b"\xef\xbb\xbf<html>\xff\xfe</html>",
])  # fmt: skip


def _huge(unit: bytes, count: int) -> bytes:
    return unit * count


def _long_status(size: int) -> bytes:
    return b'{"header":{"functionExecutionStatus":{"status":"' + b"x" * size + b'"}}}'


HUGE = st.one_of(
    st.builds(
        _huge, st.sampled_from([b" ", b"A", b"[", b'{"a":', b"\x00"]), st.integers(10**5, 3_000_000)
    ),
    st.builds(_long_status, st.integers(10**5, 2_000_000)),
)


def bodies(function: str) -> st.SearchStrategy[bytes]:
    """Every kind of body, valid answers included."""
    return st.one_of(
        st.binary(max_size=200),
        JSON.map(_encode),
        valid_doc(function).map(_encode),
        broken_doc(function).map(_encode),
        broken_doc(function).map(_encode).flatmap(lambda b: mutated(st.just(b), 2)),
        HTML,
        HUGE,
    )


def responses(function: str) -> st.SearchStrategy[HttpResponse]:
    """HTTP answers: mostly 200, sometimes 204, an error status or a nonsense one."""
    status = st.sampled_from([200, 200, 200, 204, 400, 404, 500, 503]) | st.integers(0, 999)
    headers = st.sampled_from(
        [{}, {"content-type": "application/json"}, {"content-type": "text/html"}]
    )
    return st.builds(HttpResponse, status, bodies(function), headers)


def _flow(function: str) -> Callable[[HttpResponse], object]:
    """Drive the sub-flow of ``function`` with ``response`` as the answer to its POST."""

    def feed(response: HttpResponse) -> object:
        flow: Flow[Any]
        if function == "authenticateClient":
            flow = es9.authenticate_client("a.example", TID, b"\xbf\x38\x00")
        else:
            flow = es9.get_bound_profile_package("a.example", TID, b"\xbf\x21\x00")
        next(flow)
        try:
            flow.send(response)
        except StopIteration as stop:
            return stop.value
        raise AssertionError(f"{function}: the flow asked for a second effect")

    return feed


PARSERS: dict[str, Callable[[HttpResponse], object]] = {
    "initiateAuthentication": es9.parse_initiate_authentication,
    "authenticateClient": es9.parse_authenticate_client,
    "getBoundProfilePackage": es9.parse_bound_profile_package,
    "handleNotification": es9.parse_handle_notification,
    "cancelSession": es9.parse_cancel_session,
}

TARGETS = [
    *(Target(f"es9.parse[{name}]", responses(name), parse) for name, parse in PARSERS.items()),
    *(
        Target(f"es9.flow[{name}]", responses(name), _flow(name))
        for name in ("authenticateClient", "getBoundProfilePackage")
    ),
]

test_fuzz_fast, test_fuzz_long = fuzz_tests(TARGETS)


def test_the_valid_answers_parse() -> None:
    """The seeds are valid, so the mutations start from answers the parsers accept."""
    from hypothesis import given

    from test_fuzz_harness import fuzz_settings

    @fuzz_settings(20)
    @given(st.sampled_from(sorted(PARSERS)).flatmap(lambda f: st.tuples(st.just(f), valid_doc(f))))
    def check(case: tuple[str, dict[str, Any]]) -> None:
        function, doc = case
        doc["header"] = _header("Executed-Success", None)
        PARSERS[function](HttpResponse(200, _encode(doc)))

    check()
