"""The eUICC and LPA side of ES9+, built by hand for the TestSmdp tests (SGP.22 5.6, 5.7).

``Card`` signs what an eUICC signs with the test PKI's eUICC key; ``Lpa`` posts the JSON an LPA
posts and runs a whole download, so each TestSmdp test can change exactly one thing.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import json
import random
from dataclasses import dataclass, field
from typing import Any

from pyrsp import asn1, bsp, tlv
from pyrsp.crypto import (
    derive_session_keys,
    ecka,
    generate_private_key,
    hash_confirmation_code,
    public_key_bytes,
    sign,
    signature_to_tlv,
)
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import TestSmdp

PREFIX = "/gsma/rsp2/es9plus/"
NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
EVENT_BITS = {"install": (b"\x80", 1), "enable": (b"\x40", 2), "disable": (b"\x20", 3)}
EVENT_BITS["delete"] = (b"\x10", 4)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


@dataclass
class Card:
    """The eUICC's signatures and messages, from a TestPki's eUICC credential."""

    pki: TestPki
    rng: random.Random = field(default_factory=lambda: random.Random(7))
    otsk: Any = None

    def info1(self, verification: list[bytes] | None = None, svn: bytes = b"\x02\x02\x00") -> bytes:
        ids = verification if verification is not None else [self.pki.ci_key_id]
        value = {
            "svn": svn,
            "euiccCiPKIdListForVerification": ids,
            "euiccCiPKIdListForSigning": [self.pki.ci_key_id],
        }
        return asn1.encode("EUICCInfo1", value)

    def euicc_signed1(
        self, tid: bytes, address: str, server_challenge: bytes, matching_id: str | None
    ) -> bytes:
        params: dict[str, Any] = {
            "deviceInfo": {"tac": b"\x35\x69\x38\x03", "deviceCapabilities": {}}
        }
        if matching_id is not None:
            params["matchingId"] = matching_id
        info2 = asn1.encode("EUICCInfo2", _info2(self.pki.ci_key_id))
        value = {
            "transactionId": tid,
            "serverAddress": address,
            "serverChallenge": server_challenge,
            "euiccInfo2": asn1.decode("EUICCInfo2", info2),
            "ctxParams1": ("ctxParamsForCommonAuthentication", params),
        }
        return asn1.encode("EuiccSigned1", value)

    def authenticate_server_response(self, signed1: bytes, *, key: Any = None) -> bytes:
        signature = signature_to_tlv(sign(key or self.pki.euicc.private_key, signed1))
        body = signed1 + signature + self.pki.euicc.der + self.pki.eum.der
        return tlv.build(0xBF38, tlv.build(0xA0, body))

    def prepare_download_response(
        self, tid: bytes, smdp_signature2: bytes, hash_cc: bytes | None = None, reuse: bool = False
    ) -> bytes:
        if not reuse or self.otsk is None:
            self.otsk = generate_private_key(self.pki.curve, self.rng)
        value: dict[str, Any] = {"transactionId": tid, "euiccOtpk": public_key_bytes(self.otsk)}
        if hash_cc is not None:
            value["hashCc"] = hash_cc
        signed2 = asn1.encode("EUICCSigned2", value)
        signature = sign(self.pki.euicc.private_key, signed2 + smdp_signature2)
        return tlv.build(0xBF21, tlv.build(0xA0, signed2 + signature_to_tlv(signature)))

    def unprotect(self, bpp: bytes) -> bsp.UnprotectedBpp:
        """Take the BPP apart as the eUICC would: ECKA with smdpOtpk from the ISCR."""

        def keys(iscr_der: bytes) -> Any:
            iscr = asn1.decode("InitialiseSecureChannelRequest", iscr_der)
            shared = ecka(self.otsk, iscr["smdpOtpk"])
            host_id = iscr["controlRefTemplate"]["hostId"]
            return derive_session_keys(shared, host_id=host_id, eid=self.pki.eid)

        return bsp.unprotect_bound_profile_package(bpp, keys)

    def installation_result(
        self, tid: bytes, *, iccid: bytes, address: str, oid: str, success: bool = True
    ) -> bytes:
        result: tuple[str, dict[str, Any]] = (
            (
                "successResult",
                {
                    "aid": bytes.fromhex("A0000005591010FFFFFFFF8900001100"),
                    "simaResponse": b"\x30\x00",
                },
            )
            if success
            else ("errorResult", {"bppCommandId": 5, "errorReason": 12})
        )
        data = asn1.encode(
            "ProfileInstallationResultData",
            {
                "transactionId": tid,
                "notificationMetadata": {
                    "seqNumber": 0,
                    "profileManagementOperation": EVENT_BITS["install"],
                    "notificationAddress": address,
                    "iccid": iccid,
                },
                "smdpOid": oid,
                "finalResult": result,
            },
        )
        signature = signature_to_tlv(sign(self.pki.euicc.private_key, data))
        return tlv.build(0xBF37, data + signature)

    def other_notification(
        self, event: str, *, seq: int, iccid: bytes, address: str, key: Any = None
    ) -> bytes:
        tbs = asn1.encode(
            "NotificationMetadata",
            {
                "seqNumber": seq,
                "profileManagementOperation": EVENT_BITS[event],
                "notificationAddress": address,
                "iccid": iccid,
            },
        )
        signature = signature_to_tlv(sign(key or self.pki.euicc.private_key, tbs))
        return tlv.build(0x30, tbs + signature + self.pki.euicc.der + self.pki.eum.der)

    def cancel_session_response(self, tid: bytes, oid: str, reason: int) -> bytes:
        signed = asn1.encode(
            "EuiccCancelSessionSigned", {"transactionId": tid, "smdpOid": oid, "reason": reason}
        )
        signature = signature_to_tlv(sign(self.pki.euicc.private_key, signed))
        return tlv.build(0xBF41, tlv.build(0xA0, signed + signature))


def _info2(ci_key_id: bytes) -> dict[str, Any]:
    return {
        "profileVersion": b"\x02\x03\x01",
        "svn": b"\x02\x02\x00",
        "euiccFirmwareVer": b"\x01\x00\x00",
        "extCardResource": b"\x81\x01\x00\x82\x04\x00\x01\x00\x00",
        "uiccCapability": (b"\x00", 0),
        "rspCapability": (b"\x00", 0),
        "euiccCiPKIdListForVerification": [ci_key_id],
        "euiccCiPKIdListForSigning": [ci_key_id],
        "ppVersion": b"\x00\x00\x01",
        "sasAcreditationNumber": "PYRSP-TEST",
    }


@dataclass
class Lpa:
    """Posts ES9+ JSON to a TestSmdp and keeps what the session needs."""

    smdp: TestSmdp
    card: Card
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    challenge: bytes = b"\x11" * 16
    authenticate_server_response: bytes = b""

    def post(self, function: str, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        status, headers, body = self.smdp.handle(PREFIX + function, json.dumps(document).encode())
        if status == 204:
            assert body == b""
            return status, {}
        assert headers["content-type"].startswith("application/json")
        parsed = json.loads(body)
        self.answers[function] = parsed
        return status, parsed

    def initiate(self, **overrides: Any) -> dict[str, Any]:
        document = {
            "euiccChallenge": b64(self.challenge),
            "euiccInfo1": b64(self.card.info1()),
            "smdpAddress": self.smdp.address,
        }
        document.update(overrides)
        return self.post("initiateAuthentication", document)[1]

    @property
    def transaction_id(self) -> str:
        return str(self.answers["initiateAuthentication"]["transactionId"])

    @property
    def tid(self) -> bytes:
        return bytes.fromhex(self.transaction_id)

    def authenticate(
        self, matching_id: str | None, *, signed1: bytes | None = None, **overrides: Any
    ) -> dict[str, Any]:
        answer = self.answers["initiateAuthentication"]
        signed = asn1.decode("ServerSigned1", unb64(answer["serverSigned1"]))
        if signed1 is None:
            signed1 = self.card.euicc_signed1(
                self.tid, signed["serverAddress"], signed["serverChallenge"], matching_id
            )
        self.authenticate_server_response = self.card.authenticate_server_response(signed1)
        document = {
            "transactionId": self.transaction_id,
            "authenticateServerResponse": b64(self.authenticate_server_response),
        }
        document.update(overrides)
        return self.post("authenticateClient", document)[1]

    def get_bpp(
        self, *, code: str | None = None, hash_cc: bytes | None = None, reuse: bool = False
    ) -> dict[str, Any]:
        signature2 = unb64(self.answers["authenticateClient"]["smdpSignature2"])
        if code is not None:
            hash_cc = hash_confirmation_code(code, self.tid)
        response = self.card.prepare_download_response(self.tid, signature2, hash_cc, reuse)
        document = {"transactionId": self.transaction_id, "prepareDownloadResponse": b64(response)}
        return self.post("getBoundProfilePackage", document)[1]

    def notify(self, notification: bytes) -> int:
        return self.post("handleNotification", {"pendingNotification": b64(notification)})[0]

    def install_notification(self, *, success: bool = True) -> bytes:
        metadata = asn1.decode(
            "StoreMetadataRequest", unb64(self.answers["authenticateClient"]["profileMetadata"])
        )
        return self.card.installation_result(
            self.tid,
            iccid=metadata["iccid"],
            address=self.smdp.address,
            oid=self.smdp.oid,
            success=success,
        )

    def cancel(self, reason: int) -> dict[str, Any]:
        response = self.card.cancel_session_response(self.tid, self.smdp.oid, reason)
        document = {"transactionId": self.transaction_id, "cancelSessionResponse": b64(response)}
        return self.post("cancelSession", document)[1]

    def download(self, matching_id: str, *, code: str | None = None) -> bsp.UnprotectedBpp:
        for answer in (self.initiate(), self.authenticate(matching_id), self.get_bpp(code=code)):
            assert status_of(answer) == "Executed-Success", answer
        bpp = unb64(self.answers["getBoundProfilePackage"]["boundProfilePackage"])
        unprotected = self.card.unprotect(bpp)
        assert self.notify(self.install_notification()) == 204
        return unprotected


def status_of(answer: dict[str, Any]) -> str:
    return str(answer["header"]["functionExecutionStatus"]["status"])


def codes_of(answer: dict[str, Any]) -> tuple[str, str]:
    data = answer["header"]["functionExecutionStatus"]["statusCodeData"]
    return data["subjectCode"], data["reasonCode"]


@functools.cache
def shared_pki(seed: int = 1) -> TestPki:
    """One TestPki per seed for the whole run (generating one costs a few milliseconds)."""
    return TestPki.generate(seed=seed)


def test_card_side_messages_decode() -> None:
    pki = shared_pki()
    card = Card(pki)
    signed1 = card.euicc_signed1(b"\x01" * 16, "x.example", b"\x02" * 16, "ABC")
    response = asn1.decode("AuthenticateServerResponse", card.authenticate_server_response(signed1))
    assert response[0] == "authenticateResponseOk"
    assert response[1]["euiccSigned1"]["ctxParams1"][1]["matchingId"] == "ABC"
