"""ES9+ JSON layer (SGP.22 section 6.5): request builders, response parsers, typed errors."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pyrsp.errors import ProtocolViolation, ServerProtocolError, SmdpError, UsageError
from pyrsp.protocol import es9
from pyrsp.protocol.effects import HttpPost, HttpResponse

ADDRESS = "testsmdpplus1.example.com"
CHALLENGE = bytes(range(16))
INFO1 = bytes.fromhex("BF2003820100")
SIGNED1 = bytes.fromhex("3006800401020304")
SIG1 = b"\x5f\x37\x40" + bytes(64)
PKID = b"\x04\x14" + bytes(20)
CERT = bytes.fromhex("3003020101")
TID = "0aBc12"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def ok(**fields: Any) -> dict[str, Any]:
    return {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}, **fields}


def answer(doc: object, status: int = 200) -> HttpResponse:
    return HttpResponse(status, json.dumps(doc).encode(), {"content-type": "application/json"})


def auth_answer(**override: Any) -> dict[str, Any]:
    fields = {
        "transactionId": TID,
        "serverSigned1": b64(SIGNED1),
        "serverSignature1": b64(SIG1),
        "euiccCiPKIdToBeUsed": b64(PKID),
        "serverCertificate": b64(CERT),
    }
    fields.update(override)
    return ok(**fields)


def failed(subject: str, reason: str, message: str = "", status: str = "Failed") -> dict[str, Any]:
    data = {"subjectCode": subject, "reasonCode": reason}
    if message:
        data["message"] = message
    return {"header": {"functionExecutionStatus": {"status": status, "statusCodeData": data}}}


# --- requests ---------------------------------------------------------------------------------


def test_initiate_authentication_request_is_exact() -> None:
    post = es9.initiate_authentication_request(ADDRESS, CHALLENGE, INFO1)
    assert post.address == ADDRESS
    assert post.path == "/gsma/rsp2/es9plus/initiateAuthentication"
    assert post.headers == {
        "Content-Type": "application/json",
        "X-Admin-Protocol": "gsma/rsp/v2.2.0",
        "User-Agent": "gsma-rsp-lpad",
    }
    body = json.loads(post.body)
    assert body == {
        "euiccChallenge": b64(CHALLENGE),
        "euiccInfo1": b64(INFO1),
        "smdpAddress": ADDRESS,
    }
    assert "header" not in body


@pytest.mark.parametrize(
    ("build", "path", "field", "tlv"),
    [
        (
            es9.authenticate_client_request,
            "authenticateClient",
            "authenticateServerResponse",
            "BF38",
        ),
        (
            es9.get_bound_profile_package_request,
            "getBoundProfilePackage",
            "prepareDownloadResponse",
            "BF21",
        ),
        (es9.cancel_session_request, "cancelSession", "cancelSessionResponse", "BF41"),
    ],
)
def test_session_requests_echo_transaction_id_and_tlv(
    build: Any, path: str, field: str, tlv: str
) -> None:
    data = bytes.fromhex(tlv + "03800101")
    post: HttpPost = build(ADDRESS, TID, data)
    assert post.path == "/gsma/rsp2/es9plus/" + path
    assert json.loads(post.body) == {"transactionId": TID, field: b64(data)}


@pytest.mark.parametrize("tlv", ["BF3703800101", "3003800101"])
def test_handle_notification_request(tlv: str) -> None:
    data = bytes.fromhex(tlv)
    post = es9.handle_notification_request("other.example.com", data)
    assert post.address == "other.example.com"
    assert post.path == "/gsma/rsp2/es9plus/handleNotification"
    assert json.loads(post.body) == {"pendingNotification": b64(data)}


def test_builders_refuse_what_the_ecard_cannot_have_sent() -> None:
    with pytest.raises(UsageError, match="16 bytes, got 15"):
        es9.initiate_authentication_request(ADDRESS, CHALLENGE[:15], INFO1)
    with pytest.raises(UsageError, match="BF20"):
        es9.initiate_authentication_request(ADDRESS, CHALLENGE, b"\x30\x00")
    with pytest.raises(UsageError, match="BF38"):
        es9.authenticate_client_request(ADDRESS, TID, b"")
    with pytest.raises(UsageError, match="BF37 or 30"):
        es9.handle_notification_request(ADDRESS, b"\xa0\x00")


# --- responses --------------------------------------------------------------------------------


def test_initiate_authentication_keeps_exact_bytes_and_transaction_id() -> None:
    result = es9.parse_initiate_authentication(answer(auth_answer()))
    assert result == es9.InitiateAuthenticationResponse(TID, SIGNED1, SIG1, PKID, CERT)


def test_authenticate_client_and_bpp_parse() -> None:
    meta = bytes.fromhex("BF2503800101")
    client = es9.parse_authenticate_client(
        answer(
            ok(
                transactionId=TID,
                profileMetadata=b64(meta),
                smdpSigned2=b64(SIGNED1),
                smdpSignature2=b64(SIG1),
                smdpCertificate=b64(CERT),
            )
        )
    )
    assert (client.profile_metadata, client.smdp_signed2) == (meta, SIGNED1)
    bpp = bytes.fromhex("BF3603800101")
    got = es9.parse_bound_profile_package(
        answer(ok(transactionId=TID, boundProfilePackage=b64(bpp)))
    )
    assert got.bound_profile_package == bpp


def test_with_warning_is_success() -> None:
    doc = auth_answer()
    doc["header"]["functionExecutionStatus"] = {
        "status": "Executed-WithWarning",
        "statusCodeData": {"subjectCode": "8.1", "reasonCode": "3.8"},
    }
    assert es9.parse_initiate_authentication(answer(doc)).transaction_id == TID


def test_base64_whitespace_and_missing_padding_are_tolerated() -> None:
    text = b64(SIGNED1).rstrip("=")
    doc = auth_answer(serverSigned1=text[:4] + "\r\n" + text[4:])
    assert es9.parse_initiate_authentication(answer(doc)).server_signed1 == SIGNED1


def test_failed_becomes_smdp_error_with_readable_text() -> None:
    doc = failed("8.2.6", "3.8", "no such order")
    with pytest.raises(SmdpError) as info:
        es9.parse_initiate_authentication(answer(doc))
    err = info.value
    assert (err.status, err.subject_code, err.reason_code) == ("Failed", "8.2.6", "3.8")
    assert err.server_message == "no such order"
    assert "matching ID 8.2.6: refused 3.8" in str(err)
    assert "initiateAuthentication" in str(err)


_FORGED = "refused\n2026-11-27 12:00:00 INFO pyrsp: download installed " + "x" * 10_000


def test_a_warning_is_logged_escaped_and_bounded(caplog: pytest.LogCaptureFixture) -> None:
    doc = auth_answer()
    doc["header"]["functionExecutionStatus"] = {
        "status": "Executed-WithWarning",
        "statusCodeData": {"subjectCode": "8.1", "reasonCode": "3.8", "message": _FORGED},
    }
    with caplog.at_level("DEBUG", logger="pyrsp"):
        es9.parse_initiate_authentication(answer(doc))
    assert caplog.records, "expected the warning to be logged"
    for record in caplog.records:
        text = record.getMessage()
        assert "\n" not in text and len(text) < 1024, text[:300]
    assert "executed with a warning" in caplog.text


def test_server_text_in_an_error_is_escaped_and_bounded() -> None:
    doc = failed("8.1\n" + "9" * 5000, "3.8\r\u202e", _FORGED)
    with pytest.raises(SmdpError) as info:
        es9.parse_initiate_authentication(answer(doc))
    message = str(info.value)
    assert message.isprintable() and len(message) < 1024, message[:300]
    assert "refused\\n2026" in message and message.endswith("...)")
    assert info.value.server_message == _FORGED  # the attribute keeps the server's text


def test_expired_and_unknown_codes() -> None:
    with pytest.raises(SmdpError) as info:
        es9.parse_cancel_session(answer(failed("9.9", "9.9", status="Expired")))
    assert info.value.status == "Expired"
    assert "unknown subject 9.9: unknown reason 9.9" in str(info.value)


def test_failed_without_status_code_data() -> None:
    doc = {"header": {"functionExecutionStatus": {"status": "Failed"}}}
    with pytest.raises(SmdpError) as info:
        es9.parse_authenticate_client(answer(doc))
    assert info.value.subject_code == ""


def test_failed_header_on_http_error_is_an_smdp_error() -> None:
    with pytest.raises(SmdpError, match=r"transaction ID 8\.10\.1: unknown 3\.9"):
        es9.parse_authenticate_client(answer(failed("8.10.1", "3.9"), status=400))


def test_describe_status() -> None:
    assert es9.describe_status("8.8.5", "4.10") == "download order 8.8.5: time to live expired 4.10"
    assert es9.describe_status("", "") == "unknown subject ?: unknown reason ?"


@pytest.mark.parametrize(
    ("response", "match"),
    [
        (HttpResponse(204, b""), "expected HTTP 200, got 204 with an empty body"),
        (HttpResponse(200, b""), "empty HTTP 200"),
        (HttpResponse(200, b"   \n"), "empty HTTP 200"),
        (
            HttpResponse(
                500, b"<html><body>Internal error</body></html>", {"content-type": "text/html"}
            ),
            "got 500 with an HTML page",
        ),
        (HttpResponse(200, b"<html>oops</html>"), "got an HTML page"),
        (HttpResponse(200, b"not json at all"), "not a JSON object"),
        (HttpResponse(200, b"[1, 2]"), "not a JSON object"),
        (HttpResponse(200, b'{"header": NaN}'), "not a JSON object"),
        (HttpResponse(200, b"\xff\xfe\x00"), "not a JSON object"),
        (HttpResponse(200, b"[" * 100000), "not a JSON object"),
        (answer({}), "expected header as a JSON object, got nothing"),
        (answer({"header": []}), "expected header as a JSON object, got a JSON list"),
        (answer({"header": {}}), "header.functionExecutionStatus as a JSON object"),
        (
            answer({"header": {"functionExecutionStatus": {"status": 3}}}),
            "status as a string, got a JSON int",
        ),
        (
            answer({"header": {"functionExecutionStatus": {"status": "Executed-Sucess"}}}),
            "got 'Executed-Sucess'",
        ),
        (answer(auth_answer(), status=500), "status Executed-Success with HTTP 500"),
        (answer(auth_answer(transactionId=None)), "transactionId as a string, got nothing"),
        (answer(auth_answer(transactionId=12)), "transactionId as a string, got a JSON int"),
        (answer(auth_answer(transactionId="xyz")), "1 to 16 bytes in hex"),
        (answer(auth_answer(transactionId="abc")), "1 to 16 bytes in hex"),
        (answer(auth_answer(transactionId="00" * 17)), "1 to 16 bytes in hex"),
        (answer(auth_answer(serverSigned1="@@@@")), "serverSigned1 in standard base64"),
        (answer(auth_answer(serverSigned1="A")), "serverSigned1 in standard base64"),
        (answer(auth_answer(serverSigned1=b64(b"\x31\x00"))), "serverSigned1 to start with tag 30"),
        (answer(auth_answer(serverSignature1="")), "start with tag 5F37, got nothing"),
        (answer(auth_answer(serverCertificate=[])), "serverCertificate as a string"),
        (
            answer(auth_answer(serverSigned1=b64(SIGNED1 + b"\x00"))),
            "serverSigned1 as one whole TLV",
        ),
        (answer(auth_answer(serverSigned1=b64(SIGNED1[:-1]))), "serverSigned1 as one whole TLV"),
    ],
)
def test_malformed_answers_are_server_protocol_errors(response: HttpResponse, match: str) -> None:
    with pytest.raises(ServerProtocolError, match=match):
        es9.parse_initiate_authentication(response)


@pytest.mark.parametrize(
    "response",
    [
        HttpResponse(204, b""),
        HttpResponse(204, b"ignored"),
        HttpResponse(200, b""),
        answer(ok()),
    ],
)
def test_handle_notification_accepts_no_content_and_success(response: HttpResponse) -> None:
    es9.parse_handle_notification(response)


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (HttpResponse(500, b"<html/>"), ServerProtocolError),
        (HttpResponse(200, b"{"), ServerProtocolError),
        (answer(failed("8.1", "6.1")), SmdpError),
    ],
)
def test_handle_notification_refusals(response: HttpResponse, error: type[Exception]) -> None:
    with pytest.raises(error):
        es9.parse_handle_notification(response)


# --- sub-flows --------------------------------------------------------------------------------


def run(flow: Any, response: HttpResponse) -> tuple[HttpPost, Any]:
    post = next(flow)
    try:
        flow.send(response)
    except StopIteration as stop:
        return post, stop.value
    raise AssertionError("the flow yielded twice")


def test_initiate_authentication_flow() -> None:
    post, result = run(
        es9.initiate_authentication(ADDRESS, CHALLENGE, INFO1), answer(auth_answer())
    )
    assert post.path.endswith("initiateAuthentication")
    assert result.transaction_id == TID


def test_session_flow_refuses_another_transaction_id() -> None:
    bpp = b64(bytes.fromhex("BF3600"))
    flow = es9.get_bound_profile_package(ADDRESS, TID, bytes.fromhex("BF2100"))
    with pytest.raises(ProtocolViolation, match=r"expected transactionId '0aBc12'.*'0ABC12'"):
        run(flow, answer(ok(transactionId=TID.upper(), boundProfilePackage=bpp)))


def test_no_data_flows() -> None:
    post, result = run(
        es9.handle_notification(ADDRESS, bytes.fromhex("BF3700")), HttpResponse(204, b"")
    )
    assert result is None
    assert post.path.endswith("handleNotification")
    post, _ = run(es9.cancel_session(ADDRESS, TID, bytes.fromhex("BF4100")), answer(ok()))
    assert json.loads(post.body)["transactionId"] == TID


# --- never a crash ----------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)


@settings(max_examples=150, deadline=None)
@given(
    status=st.sampled_from([200, 204, 400, 500]),
    body=st.one_of(st.binary(max_size=64), JSON.map(lambda v: json.dumps(v).encode())),
)
def test_parsers_raise_only_typed_errors(status: int, body: bytes) -> None:
    response = HttpResponse(status, body)
    for parse in (
        es9.parse_initiate_authentication,
        es9.parse_authenticate_client,
        es9.parse_bound_profile_package,
        es9.parse_handle_notification,
        es9.parse_cancel_session,
    ):
        with contextlib.suppress(ServerProtocolError, SmdpError):
            parse(response)


@settings(max_examples=150, deadline=None)
@given(
    fields=st.dictionaries(
        st.sampled_from(
            ["transactionId", "serverSigned1", "serverSignature1", "euiccCiPKIdToBeUsed"]
        ),
        JSON,
    ),
    status=st.sampled_from(["Executed-Success", "Failed", "Expired", "", None, 1]),
)
def test_structured_garbage_raises_only_typed_errors(fields: dict[str, Any], status: Any) -> None:
    doc = {"header": {"functionExecutionStatus": {"status": status, "statusCodeData": fields}}}
    doc.update(fields)
    with contextlib.suppress(ServerProtocolError, SmdpError):
        es9.parse_initiate_authentication(answer(doc))
