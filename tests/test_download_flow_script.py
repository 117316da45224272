"""A scripted eUICC, a scripted SM-DP+ and a driver, to run the sans-IO flows with no transport.

The card reassembles STORE DATA blocks into ES10 requests and answers each from a table keyed by
the request's tag; the server answers ES9+ POSTs from a table keyed by function name. Answers
are canned DER and JSON built here with the codec; an answer may be an exception, which the
driver throws into the flow as a real client does on a transport failure.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from typing import Any

from pyrsp import asn1, tlv
from pyrsp.errors import PyrspError
from pyrsp.models import iccid_to_bytes
from pyrsp.protocol.apdu import bpp_pieces
from pyrsp.protocol.effects import (
    AskConfirmationCode,
    ConfirmDownload,
    HttpPost,
    HttpResponse,
    Progress,
    Transmit,
)

ADDRESS = "testsmdpplus1.example.com"
TID = "0A1B2C3D4E5F"
TID_BYTES = bytes.fromhex(TID)
CHALLENGE = bytes(range(16))
ICCID = "8944476500001224158"
MATCHING_ID = "04386-AGYFT-A74Y8-3F815"
CERT = bytes.fromhex("3003020101")
SIG = b"\x5f\x37\x40" + bytes(64)
PKID = b"\x04\x14" + b"\x01" * 20
NOTIFY_SEQ = 7

Answer = bytes | Exception | Callable[[bytes], "bytes | Exception"]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def ok_json(**fields: Any) -> HttpResponse:
    doc = {"header": {"functionExecutionStatus": {"status": "Executed-Success"}}, **fields}
    return HttpResponse(200, json.dumps(doc).encode(), {"content-type": "application/json"})


def failed_json(subject: str, reason: str) -> HttpResponse:
    status = {"status": "Failed", "statusCodeData": {"subjectCode": subject, "reasonCode": reason}}
    return HttpResponse(200, json.dumps({"header": {"functionExecutionStatus": status}}).encode())


# --- canned eUICC answers ---------------------------------------------------------------------


def euicc_info1() -> bytes:
    value = {
        "svn": b"\x02\x02\x00",
        "euiccCiPKIdListForVerification": [PKID[2:]],
        "euiccCiPKIdListForSigning": [PKID[2:]],
    }
    return asn1.encode("EUICCInfo1", value)


def authenticate_ok() -> bytes:
    info2 = {
        "profileVersion": b"\x02\x03\x00",
        "svn": b"\x02\x02\x00",
        "euiccFirmwareVer": b"\x01\x00\x00",
        "extCardResource": b"",
        "uiccCapability": (b"\x00", 8),
        "rspCapability": (b"\x00", 8),
        "euiccCiPKIdListForVerification": [PKID[2:]],
        "euiccCiPKIdListForSigning": [PKID[2:]],
        "ppVersion": b"\x00\x00\x01",
        "sasAcreditationNumber": "TEST",
    }
    signed1 = {
        "transactionId": TID_BYTES,
        "serverAddress": ADDRESS,
        "serverChallenge": bytes(16),
        "euiccInfo2": info2,
        "ctxParams1": (
            "ctxParamsForCommonAuthentication",
            {"deviceInfo": {"tac": b"\x53\x92\x60\x11", "deviceCapabilities": {}}},
        ),
    }
    ok = {
        "euiccSigned1": signed1,
        "euiccSignature1": bytes(64),
        "euiccCertificate": CERT,
        "eumCertificate": CERT,
    }
    return asn1.encode("AuthenticateServerResponse", ("authenticateResponseOk", ok))


def authenticate_error(code: int = 2) -> bytes:
    error = {"transactionId": TID_BYTES, "authenticateErrorCode": code}
    return asn1.encode("AuthenticateServerResponse", ("authenticateResponseError", error))


def prepare_ok() -> bytes:
    ok = {
        "euiccSigned2": {"transactionId": TID_BYTES, "euiccOtpk": b"\x04" + bytes(64)},
        "euiccSignature2": bytes(64),
    }
    return asn1.encode("PrepareDownloadResponse", ("downloadResponseOk", ok))


def prepare_error(code: int = 5) -> bytes:
    error = {"transactionId": TID_BYTES, "downloadErrorCode": code}
    return asn1.encode("PrepareDownloadResponse", ("downloadResponseError", error))


def cancel_ok(request: bytes) -> bytes:
    reason = asn1.decode("CancelSessionRequest", request)["reason"]
    signed = {"transactionId": TID_BYTES, "smdpOid": "2.999.10", "reason": reason}
    ok = {"euiccCancelSessionSigned": signed, "euiccCancelSessionSignature": bytes(64)}
    return asn1.encode("CancelSessionResponse", ("cancelSessionResponseOk", ok))


def notification_metadata(seq: int = NOTIFY_SEQ, event_bit: int = 0) -> dict[str, Any]:
    return {
        "seqNumber": seq,
        "profileManagementOperation": (bytes([0x80 >> event_bit]), event_bit + 1),
        "notificationAddress": ADDRESS,
        "iccid": iccid_to_bytes(ICCID),
    }


def pir_value(success: bool = True, seq: int = NOTIFY_SEQ) -> dict[str, Any]:
    result: tuple[str, dict[str, Any]]
    if success:
        result = (
            "successResult",
            {"aid": bytes.fromhex("A0000005591010FFFFFFFF8900001100"), "simaResponse": b"\x30\x00"},
        )
    else:
        result = ("errorResult", {"bppCommandId": 5, "errorReason": 9})
    data = {
        "transactionId": TID_BYTES,
        "notificationMetadata": notification_metadata(seq),
        "smdpOid": "2.999.10",
        "finalResult": result,
    }
    return {"profileInstallationResultData": data, "euiccSignPIR": bytes(64)}


def pir(success: bool = True, seq: int = NOTIFY_SEQ) -> bytes:
    return asn1.encode("ProfileInstallationResult", pir_value(success, seq))


def other_notification_value(seq: int, event_bit: int) -> dict[str, Any]:
    return {
        "tbsOtherNotification": notification_metadata(seq, event_bit),
        "euiccNotificationSignature": bytes(64),
        "euiccCertificate": CERT,
        "eumCertificate": CERT,
    }


def notification_sent(status: int = 0) -> bytes:
    return asn1.encode("NotificationSentResponse", {"deleteNotificationStatus": status})


# --- canned SM-DP+ answers --------------------------------------------------------------------


def server_signed1(
    address: str = ADDRESS, challenge: bytes = CHALLENGE, tid: bytes = TID_BYTES
) -> bytes:
    value = {
        "transactionId": tid,
        "euiccChallenge": challenge,
        "serverAddress": address,
        "serverChallenge": bytes(16),
    }
    return asn1.encode("ServerSigned1", value)


def profile_metadata(name: str = "Test profile", **extra: Any) -> bytes:
    value = {
        "iccid": iccid_to_bytes(ICCID),
        "serviceProviderName": "pyrsp",
        "profileName": name,
        **extra,
    }
    return asn1.encode("StoreMetadataRequest", value)


def smdp_signed2(cc_required: bool = False, tid: bytes = TID_BYTES) -> bytes:
    return asn1.encode("SmdpSigned2", {"transactionId": tid, "ccRequiredFlag": cc_required})


def bound_profile_package(metadata: bytes | None = None, segments: int = 2) -> bytes:
    stored = metadata if metadata is not None else profile_metadata()
    parts = [
        tlv.build(0xBF23, tlv.build(0x80, b"\x01")),
        tlv.build(0xA0, tlv.build(0x87, bytes(24))),
        tlv.build(
            0xA1, tlv.build(0x88, stored[:10] + bytes(8)) + tlv.build(0x88, stored[10:] + bytes(8))
        ),
        tlv.build(0xA3, b"".join(tlv.build(0x86, bytes([n]) * 40) for n in range(segments))),
    ]
    return tlv.build(0xBF36, b"".join(parts))


def initiate_ok(signed1: bytes | None = None, tid: str = TID) -> HttpResponse:
    return ok_json(
        transactionId=tid,
        serverSigned1=b64(signed1 if signed1 is not None else server_signed1()),
        serverSignature1=b64(SIG),
        euiccCiPKIdToBeUsed=b64(PKID),
        serverCertificate=b64(CERT),
    )


def authenticate_client_ok(
    cc_required: bool = False, signed2: bytes | None = None, metadata: bytes | None = None
) -> HttpResponse:
    return ok_json(
        transactionId=TID,
        profileMetadata=b64(metadata if metadata is not None else profile_metadata()),
        smdpSigned2=b64(signed2 if signed2 is not None else smdp_signed2(cc_required)),
        smdpSignature2=b64(SIG),
        smdpCertificate=b64(CERT),
    )


def bpp_ok(bpp: bytes | None = None) -> HttpResponse:
    return ok_json(
        transactionId=TID,
        boundProfilePackage=b64(bpp if bpp is not None else bound_profile_package()),
    )


# --- the scripted peers and the driver -------------------------------------------------------


def _request_tag(request: bytes) -> int:
    if request[0] & 0x1F == 0x1F:
        return int.from_bytes(request[:2], "big")
    return request[0]


@dataclass
class ScriptedCard:
    """An ISD-R that answers each reassembled ES10 request from ``answers`` by tag."""

    answers: dict[int, Answer] = field(default_factory=dict)
    bpp: bytes = b""
    pir: Answer = b""
    load_fails_at: int = -1
    requests: list[bytes] = field(default_factory=list)
    pieces: list[bytes] = field(default_factory=list)
    loaded: list[bytes] = field(default_factory=list)
    _buffer: bytes = b""

    def tags(self) -> list[int]:
        return [_request_tag(r) for r in self.requests]

    def transmit(self, apdu: bytes) -> bytes:
        assert apdu[1] == 0xE2, f"expected STORE DATA, got {apdu.hex()}"
        self._buffer += apdu[5 : 5 + apdu[4]]
        if apdu[2] == 0x11:
            return b"\x90\x00"
        request, self._buffer = self._buffer, b""
        return self._answer(request) + b"\x90\x00"

    def _answer(self, request: bytes) -> bytes:
        if self.pieces or _request_tag(request) == 0xBF36:
            return self._load(request)
        self.requests.append(request)
        return _resolve(self.answers[_request_tag(request)], request)

    def _load(self, piece: bytes) -> bytes:
        """Empty answers until the last piece (or ``load_fails_at``), then ``pir``."""
        self.pieces.append(piece)
        last = self.load_fails_at if self.load_fails_at > 0 else len(bpp_pieces(self.bpp))
        if len(self.pieces) < last:
            return b""
        self.loaded, self.pieces = self.pieces, []
        self.requests.append(b"\xbf\x36")
        return _resolve(self.pir, piece)


def _resolve(answer: Answer, request: bytes) -> bytes:
    if callable(answer):
        answer = answer(request)
    if isinstance(answer, Exception):
        raise answer
    return answer


@dataclass
class ScriptedServer:
    """An SM-DP+ that answers each ES9+ function from ``answers`` by name."""

    answers: dict[str, HttpResponse | Exception] = field(default_factory=dict)
    posts: list[HttpPost] = field(default_factory=list)

    def functions(self) -> list[str]:
        return [p.path.rsplit("/", 1)[1] for p in self.posts]

    def body(self, function: str) -> dict[str, Any]:
        post = next(p for p in self.posts if p.path.endswith("/" + function))
        doc: dict[str, Any] = json.loads(post.body)
        return doc

    def post(self, post: HttpPost) -> HttpResponse:
        self.posts.append(post)
        answer = self.answers[post.path.rsplit("/", 1)[1]]
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class Driver:
    """Runs a flow: answers effects from the card, the server and the user's answers."""

    card: ScriptedCard
    server: ScriptedServer
    consent: Any = True
    code: str | bytes | int | None = None
    effects: list[Any] = field(default_factory=list)

    def run(self, flow: Generator[Any, Any, Any]) -> Any:
        answer: Any = None
        error: PyrspError | None = None
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(answer)
            except StopIteration as stop:
                return stop.value
            self.effects.append(effect)
            answer, error = None, None
            try:
                answer = self._answer(effect)
            except PyrspError as exc:
                error = exc

    def _answer(self, effect: Any) -> Any:
        if isinstance(effect, Transmit):
            return self.card.transmit(effect.apdu)
        if isinstance(effect, HttpPost):
            return self.server.post(effect)
        if isinstance(effect, ConfirmDownload):
            return self.consent
        if isinstance(effect, AskConfirmationCode):
            return self.code
        assert isinstance(effect, Progress), effect
        return None

    def progress(self, stage: str) -> list[Progress]:
        return [e for e in self.effects if isinstance(e, Progress) and e.stage == stage]


def test_card_reassembles_store_data_and_answers_by_tag() -> None:
    card = ScriptedCard(answers={0xBF2E: b"\xbf\x2e\x00"})
    assert card.transmit(bytes.fromhex("80E2110001BF")) == b"\x90\x00"
    assert card.transmit(bytes.fromhex("80E29101022E00")) == b"\xbf\x2e\x00\x90\x00"
    assert card.requests == [bytes.fromhex("BF2E00")]


def test_driver_throws_transport_errors_into_the_flow() -> None:
    def flow() -> Generator[Any, Any, str]:
        try:
            yield HttpPost(ADDRESS, "/gsma/rsp2/es9plus/x", b"{}")
        except PyrspError as exc:
            return f"caught {type(exc).__name__}"
        return "no error"

    server = ScriptedServer(answers={"x": PyrspError("boom")})
    assert Driver(ScriptedCard(), server).run(flow()) == "caught PyrspError"
