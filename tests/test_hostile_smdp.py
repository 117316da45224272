"""A hostile SM-DP+ against the client and the VirtualEuicc (issue 9, item 2; SGP.22 3.1.3).

Each case makes the SM-DP+ misbehave in one way: the honest TestSmdp answers and a rewrite
changes the answer, re-signing with the server's own keys what it changes so that only the
check under test can catch it; TLS and socket-level cases run a real HTTPS server on loopback.
For every case the test checks that

- the download is refused with a typed error (``DownloadError``, its ``__cause__`` the named
  pyrsp error, or the eUICC's ProfileInstallationResult naming the reason) at the right stage;
- the session is cancelled where the standard says so: ES10b CancelSession reached the card
  with the expected reason and ES9+ cancelSession reached the server (not when the eUICC
  itself refused, which ends its session, nor before the card holds a transaction);
- the card is consistent: no profile installed in part, no notification lost;
- an honest download then succeeds: the same order when the server still allows it, else a
  new order (an install error notification puts the order in error, as ES2+ would).

Every case runs with RspClient/HttpsTransport and with AsyncRspClient/AsyncHttpsTransport.
Two expired-certificate cases are accepted, as SGP.22 says; a server dripping its answer is
cut off by the transport's deadline for the whole request, and a deadline of the caller's own
around an AsyncRspClient download works too.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gzip
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from hostile_support import (
    DRIP,
    ENDLESS,
    HANG,
    HEADERS,
    JSON_HEADERS,
    NOW,
    LoopbackHttps,
    World,
    assert_card_consistent,
    attempt,
    attempt_async,
    b64,
    bpp_parts,
    build_bpp,
    capture_bpp,
    edit_segments,
    honest_retry,
    on,
    other_key,
    raw_reply,
    rebind_iscr,
    reissue,
    replace,
    resign_signed1,
    resign_signed2,
    unb64,
)
from pyrsp import asn1, tlv
from pyrsp.client import AsyncRspClient
from pyrsp.crypto import public_key_bytes, sign, signature_to_tlv
from pyrsp.errors import (
    CodecError,
    DownloadError,
    EuiccError,
    HttpTransportError,
    ProtocolViolation,
    ServerProtocolError,
    ServerTimeoutError,
    TlsError,
)
from pyrsp.protocol.download import download
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import FaultKind, TestSmdp
from pyrsp.testing.smdp.faults import Reply
from pyrsp.testing.smdp.profiles import generate_profile

SEED = 11
OTHER_EID = "89049032123451234512345678901243"  # same EUM range, another eUICC
IA, AC, GBPP = "initiateAuthentication", "authenticateClient", "getBoundProfilePackage"
ICCID = "8999000000000000115"
PROFILE = generate_profile(ICCID, filler=3000)  # four 86 segments
#: Every order of these tests: the same profile and metadata (a substituted BPP passes the
#: LPA's metadata check and reaches the eUICC).
ORDER: dict[str, Any] = {"profile": PROFILE, "iccid": ICCID, "profile_name": "Hostile"}


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=SEED)


@pytest.fixture(scope="module")
def others(pki: TestPki) -> dict[str, TestPki]:
    """PKIs a hostile server borrows from: another CI, and the same CI with other names."""
    return {
        "ci": TestPki.generate(seed=SEED + 1, smdp_host=pki.smdp_host),
        "host": TestPki.generate(seed=SEED, smdp_host="other.example.com"),
        "oid": TestPki.generate(seed=SEED, smdp_oid="2.999.77"),
        "eid": TestPki.generate(seed=SEED, eid=OTHER_EID),
    }


@dataclass(frozen=True)
class Expect:
    """``error``: the DownloadError's cause (``DownloadError`` when the eUICC's install result
    is the refusal); ``cancel``: the CancelSession reason sent to the card (``""``: none);
    ``detail``: a text the error (or the EuiccError's reason) must carry."""

    error: type[Exception]
    stage: str
    cancel: str = ""
    detail: str = ""


Arm = Callable[[World, dict[str, TestPki]], None]


@dataclass(frozen=True)
class Case:
    name: str
    arm: Arm
    expect: Expect


def _rewrite(rewrite: Any) -> Arm:
    def arm(world: World, others: dict[str, TestPki]) -> None:
        world.hostile.rewrite = rewrite

    return arm


def _fault(kind: FaultKind, step: str) -> Arm:
    def arm(world: World, others: dict[str, TestPki]) -> None:
        world.smdp.inject(kind, step)

    return arm


def _with(make: Callable[[World, dict[str, TestPki]], Any]) -> Arm:
    """An arm whose rewrite needs the world (keys, certificates, captured packages)."""

    def arm(world: World, others: dict[str, TestPki]) -> None:
        world.hostile.rewrite = make(world, others)

    return arm


# --- certificates and CI ----------------------------------------------------------------------


def _server_credential(cert: Callable[[World, dict[str, TestPki]], Any], ci_of: str = "") -> Arm:
    """serverCertificate replaced, serverSigned1 signed with that certificate's key."""

    def make(world: World, others: dict[str, TestPki]) -> Any:
        credential = cert(world, others)

        def edit(doc: dict[str, Any], request: dict[str, Any]) -> None:
            doc["serverCertificate"] = b64(credential.der)
            resign_signed1(doc, credential.private_key)
            if ci_of:
                doc["euiccCiPKIdToBeUsed"] = b64(b"\x04\x14" + others[ci_of].ci_key_id)

        return on(IA, edit)

    return _with(make)


def _pb_credential(cert: Callable[[World, dict[str, TestPki]], Any]) -> Arm:
    """smdpCertificate replaced, smdpSigned2 signed with that certificate's key."""

    def make(world: World, others: dict[str, TestPki]) -> Any:
        credential = cert(world, others)

        def edit(doc: dict[str, Any], request: dict[str, Any]) -> None:
            doc["smdpCertificate"] = b64(credential.der)
            resign_signed2(doc, request, credential.private_key)

        return on(AC, edit)

    return _with(make)


SPA = "undefinedReason"  # the cancel reason for a malformed answer mid-session
CARD_AUTH = "authenticate_server"
CARD_PREPARE = "prepare_download"

CERTIFICATES = [
    Case(
        "dpauth_from_an_untrusted_ci",
        _server_credential(lambda w, o: o["ci"].dp_auth),
        Expect(EuiccError, CARD_AUTH, detail="invalidCertificate"),
    ),
    Case(
        "ci_the_card_does_not_know",
        _server_credential(lambda w, o: o["ci"].dp_auth, ci_of="ci"),
        Expect(EuiccError, CARD_AUTH, detail="ciPKUnknown"),
    ),
    Case(
        "dppb_certificate_as_dpauth",
        _server_credential(lambda w, o: w.pki.dp_pb),
        Expect(EuiccError, CARD_AUTH, detail="invalidCertificate"),
    ),
    Case(
        "tls_certificate_as_dpauth",
        _server_credential(lambda w, o: w.pki.dp_tls),
        Expect(EuiccError, CARD_AUTH, detail="invalidCertificate"),
    ),
    Case(
        "self_signed_dpauth",
        _server_credential(lambda w, o: reissue(w.pki.dp_auth, None)),
        Expect(EuiccError, CARD_AUTH, detail="invalidCertificate"),
    ),
    Case(
        "dppb_from_an_untrusted_ci",
        _pb_credential(lambda w, o: o["ci"].dp_pb),
        Expect(EuiccError, CARD_PREPARE, detail="invalidCertificate"),
    ),
    Case(
        "dpauth_certificate_as_dppb",
        _pb_credential(lambda w, o: w.pki.dp_auth),
        Expect(EuiccError, CARD_PREPARE, detail="invalidCertificate"),
    ),
    Case(
        "dppb_of_another_smdp_oid",
        _pb_credential(lambda w, o: o["oid"].dp_pb),
        Expect(EuiccError, CARD_PREPARE, detail="invalidCertificate"),
    ),
]

# --- signatures over other data ---------------------------------------------------------------


def _signature1_over_other_data(world: World, others: dict[str, TestPki]) -> Any:
    def edit(doc: dict[str, Any], request: dict[str, Any]) -> None:
        signed = asn1.decode("ServerSigned1", unb64(doc["serverSigned1"]))
        signed["serverChallenge"] = bytes(16)  # a genuine signature, over another serverSigned1
        other = asn1.encode("ServerSigned1", signed)
        doc["serverSignature1"] = b64(signature_to_tlv(sign(world.pki.dp_auth.private_key, other)))

    return on(IA, edit)


def _signature1_wrong_key(world: World, others: dict[str, TestPki]) -> Any:
    return on(IA, lambda doc, req: resign_signed1(doc, other_key("dpauth")))


def _signature2_without_euicc_signature1(world: World, others: dict[str, TestPki]) -> Any:
    key = world.pki.dp_pb.private_key
    return on(AC, lambda doc, req: resign_signed2(doc, req, key, covered=b""))


def _iscr_over_other_otpk(world: World, others: dict[str, TestPki]) -> Any:
    otpk = public_key_bytes(other_key("otpk"))

    def edit(doc: dict[str, Any], request: dict[str, Any]) -> None:
        bpp = unb64(doc["boundProfilePackage"])
        doc["boundProfilePackage"] = b64(rebind_iscr(bpp, request, world.smdp, otpk=otpk))

    return on(GBPP, edit)


INSTALL = "install"

SIGNATURES = [
    Case(
        "server_signature1_bit_flipped",
        _fault(FaultKind.BAD_SIGNATURE, IA),
        Expect(EuiccError, CARD_AUTH, detail="invalidSignature"),
    ),
    Case(
        "server_signature1_over_other_data",
        _with(_signature1_over_other_data),
        Expect(EuiccError, CARD_AUTH, detail="invalidSignature"),
    ),
    Case(
        "server_signature1_by_another_key",
        _with(_signature1_wrong_key),
        Expect(EuiccError, CARD_AUTH, detail="invalidSignature"),
    ),
    Case(
        "smdp_signature2_bit_flipped",
        _fault(FaultKind.BAD_SIGNATURE, AC),
        Expect(EuiccError, CARD_PREPARE, detail="invalidSignature"),
    ),
    Case(
        "smdp_signature2_not_covering_euicc_signature1",
        _with(_signature2_without_euicc_signature1),
        Expect(EuiccError, CARD_PREPARE, detail="invalidSignature"),
    ),
    Case(
        "iscr_signature_bit_flipped",
        _fault(FaultKind.BAD_SIGNATURE, GBPP),
        Expect(DownloadError, INSTALL, detail="invalidSignature"),
    ),
    Case(
        "iscr_signed_over_another_otpk",
        _with(_iscr_over_other_otpk),
        Expect(DownloadError, INSTALL, detail="invalidSignature"),
    ),
]

# --- transaction id, address, challenge -------------------------------------------------------

OTHER_TID = bytes.fromhex("00112233445566778899AABBCCDDEEFF")


def _json_tid_differs(doc: dict[str, Any], request: dict[str, Any]) -> None:
    doc["transactionId"] = OTHER_TID.hex().upper()


def _signed2_other_tid(world: World, others: dict[str, TestPki]) -> Any:
    key = world.pki.dp_pb.private_key
    return on(AC, lambda doc, req: resign_signed2(doc, req, key, transactionId=OTHER_TID))


def _signed1_edit(**changes: Any) -> Arm:
    def make(world: World, others: dict[str, TestPki]) -> Any:
        key = world.pki.dp_auth.private_key
        return on(IA, lambda doc, req: resign_signed1(doc, key, **changes))

    return _with(make)


def _iscr_other_tid(world: World, others: dict[str, TestPki]) -> Any:
    def edit(doc: dict[str, Any], request: dict[str, Any]) -> None:
        bpp = unb64(doc["boundProfilePackage"])
        rebound = rebind_iscr(bpp, request, world.smdp, transaction_id=OTHER_TID)
        doc["boundProfilePackage"] = b64(rebound)

    return on(GBPP, edit)


CHECKS = "initiate_authentication"

SESSION = [
    Case(
        "transaction_id_changed_at_authenticate_client",
        _fault(FaultKind.WRONG_TRANSACTION_ID, AC),
        Expect(ProtocolViolation, "authenticate_client", "undefinedReason", "transactionId"),
    ),
    Case(
        "transaction_id_changed_at_get_bpp",
        _fault(FaultKind.WRONG_TRANSACTION_ID, GBPP),
        Expect(ProtocolViolation, "get_bound_profile_package", "undefinedReason", "transactionId"),
    ),
    Case(
        "transaction_id_differs_from_server_signed1",
        _rewrite(on(IA, _json_tid_differs)),
        Expect(ProtocolViolation, CHECKS, detail="transactionId"),
    ),
    Case(
        "smdp_signed2_for_another_transaction",
        _with(_signed2_other_tid),
        Expect(ProtocolViolation, "authenticate_client", "undefinedReason", "smdpSigned2"),
    ),
    Case(
        "iscr_for_another_transaction",
        _with(_iscr_other_tid),
        Expect(DownloadError, INSTALL, detail="invalidTransactionId"),
    ),
    Case(
        "server_address_differs_from_activation_code",
        _signed1_edit(serverAddress="evil.example.com"),
        Expect(ProtocolViolation, CHECKS, detail="serverAddress"),
    ),
    Case(
        "euicc_challenge_not_echoed",
        _signed1_edit(euiccChallenge=bytes(16)),
        Expect(ProtocolViolation, CHECKS, detail="euiccChallenge"),
    ),
]

# --- bound profile packages -------------------------------------------------------------------


def _substitute(bpp: Callable[[World, dict[str, TestPki]], bytes], rebind: bool) -> Arm:
    """Serve another genuine BPP instead of this session's (its ISCR re-signed if ``rebind``)."""

    def make(world: World, others: dict[str, TestPki]) -> Any:
        package = bpp(world, others)

        def edit(doc: dict[str, Any], request: dict[str, Any]) -> None:
            served = rebind_iscr(package, request, world.smdp) if rebind else package
            doc["boundProfilePackage"] = b64(served)

        return on(GBPP, edit)

    return _with(make)


def _other_card_bpp(world: World, others: dict[str, TestPki]) -> bytes:
    """A BPP of an order with the same profile, bound to another eUICC's session."""
    other = VirtualEuicc(others["eid"], rng=random.Random(5))
    return capture_bpp(world, other, **ORDER)


def _earlier_bpp(world: World, others: dict[str, TestPki]) -> bytes:
    """A BPP of this card from an earlier, abandoned session (same profile)."""
    return capture_bpp(world, world.card, **ORDER)


def _segments(edit: Callable[[list[bytes]], list[bytes]]) -> Arm:
    def change(doc: dict[str, Any], request: dict[str, Any]) -> None:
        bpp = unb64(doc["boundProfilePackage"])
        doc["boundProfilePackage"] = b64(edit_segments(bpp, edit))

    return _rewrite(on(GBPP, change))


def _members(edit: Callable[[list[bytes]], list[bytes]]) -> Arm:
    """The BPP with its members (BF23, A0, A1, [A2], A3) changed by ``edit``."""

    def change(doc: dict[str, Any], request: dict[str, Any]) -> None:
        bpp = unb64(doc["boundProfilePackage"])
        doc["boundProfilePackage"] = b64(build_bpp(edit(bpp_parts(bpp))))

    return _rewrite(on(GBPP, change))


def _without(tag: int) -> Callable[[list[bytes]], list[bytes]]:
    return lambda parts: [part for part in parts if part[0] != tag]


def _flip_ciphertext(segments: list[bytes]) -> list[bytes]:
    first = bytearray(segments[1])
    first[10] ^= 0x01
    return [segments[0], bytes(first), *segments[2:]]


def _metadata(**changes: Any) -> Arm:
    def edit(doc: dict[str, Any], request: dict[str, Any]) -> None:
        metadata = asn1.decode("StoreMetadataRequest", unb64(doc["profileMetadata"]))
        metadata.update(changes)
        doc["profileMetadata"] = b64(asn1.encode("StoreMetadataRequest", metadata))

    return _rewrite(on(AC, edit))


def _other_iscr_tag(doc: dict[str, Any], request: dict[str, Any]) -> None:
    bpp = unb64(doc["boundProfilePackage"])
    doc["boundProfilePackage"] = b64(b"\xbf\x37" + bpp[2:])


MAC = "scp03tSecurityError"
STRUCTURE = "scp03tStructureError"
LAYOUT = "BF23 A0 A1 [A2] A3"  # the LPA refuses a BPP of another shape before loading it
GARBAGE_METADATA = b"\xbf\x25\x03\x5a\x01\x00"  # one whole BF25 TLV, not a StoreMetadataRequest

PACKAGES = [
    Case(
        "bpp_for_another_euicc",
        _substitute(_other_card_bpp, rebind=False),
        Expect(DownloadError, INSTALL, detail="invalidTransactionId"),
    ),
    Case(
        "bpp_for_another_euicc_with_a_fresh_iscr",
        _substitute(_other_card_bpp, rebind=True),
        Expect(DownloadError, INSTALL, detail=MAC),
    ),
    Case(
        "bpp_replayed_from_an_earlier_session",
        _substitute(_earlier_bpp, rebind=False),
        Expect(DownloadError, INSTALL, detail="invalidTransactionId"),
    ),
    Case(
        "bpp_replayed_with_a_fresh_iscr",
        _substitute(_earlier_bpp, rebind=True),
        Expect(DownloadError, INSTALL, detail=MAC),
    ),
    Case(
        "bpp_segments_reordered",
        _segments(lambda s: [s[1], s[0], *s[2:]]),
        Expect(DownloadError, INSTALL, detail=MAC),
    ),
    Case(
        "bpp_middle_segment_dropped",
        _segments(lambda s: [s[0], *s[2:]]),
        Expect(DownloadError, INSTALL, detail=MAC),
    ),
    Case(
        "bpp_segment_repeated",
        _segments(lambda s: [s[0], s[0], *s[1:]]),
        Expect(DownloadError, INSTALL, detail=MAC),
    ),
    Case(
        "bpp_last_segment_dropped",
        _segments(lambda s: s[:-1]),
        Expect(DownloadError, INSTALL, detail="PEProcessingError"),
    ),
    Case(
        "bpp_ciphertext_bit_flipped",
        _segments(_flip_ciphertext),
        Expect(DownloadError, INSTALL, detail=MAC),
    ),
    Case(
        "bpp_without_profile_segments",
        _segments(lambda s: []),
        Expect(DownloadError, INSTALL, detail=STRUCTURE),
    ),
    Case(
        "bpp_empty_segment_inserted",
        _segments(lambda s: [b"\x86\x00", *s]),
        Expect(DownloadError, INSTALL, detail=MAC),
    ),
    Case(
        "bpp_segment_of_another_kind",
        _segments(lambda s: [b"\x87" + s[0][1:], *s[1:]]),
        Expect(DownloadError, INSTALL, detail=STRUCTURE),
    ),
    Case(
        "bpp_oversized_segment",
        _segments(lambda s: [tlv.build(0x86, bytes(5000)), *s]),
        Expect(DownloadError, INSTALL, detail=MAC),
    ),
    Case(
        "bpp_without_configure_isdp",
        _members(_without(0xA0)),
        Expect(ProtocolViolation, "load_bpp", "loadBppExecutionError", LAYOUT),
    ),
    Case(
        "bpp_without_store_metadata",
        _members(_without(0xA1)),
        Expect(ProtocolViolation, "load_bpp", "loadBppExecutionError", "StoreMetadata"),
    ),
    Case(
        "bpp_without_profile",
        _members(_without(0xA3)),
        Expect(ProtocolViolation, "load_bpp", "loadBppExecutionError", LAYOUT),
    ),
    Case(
        "bpp_store_metadata_twice",
        _members(lambda p: [p[0], p[1], p[2], p[2], *p[3:]]),
        Expect(ProtocolViolation, "load_bpp", "loadBppExecutionError", LAYOUT),
    ),
    Case(
        "bpp_with_an_unknown_member",
        _members(lambda p: [*p, b"\x04\x01\x00"]),
        Expect(ProtocolViolation, "load_bpp", "loadBppExecutionError", LAYOUT),
    ),
    Case(
        "bpp_members_reordered",
        _members(lambda p: [p[0], p[-1], *p[1:-1]]),
        Expect(ProtocolViolation, "load_bpp", "loadBppExecutionError", LAYOUT),
    ),
    Case(
        "bpp_truncated",
        _fault(FaultKind.TRUNCATED_BPP, GBPP),
        Expect(
            ServerProtocolError, "get_bound_profile_package", "undefinedReason", "one whole TLV"
        ),
    ),
    Case(
        "bpp_not_a_bound_profile_package",
        _rewrite(on(GBPP, _other_iscr_tag)),
        Expect(ServerProtocolError, "get_bound_profile_package", "undefinedReason", "BF36"),
    ),
    Case(
        "bpp_metadata_differs_from_consent_name",
        _metadata(profileName="Not what you agreed to"),
        Expect(ProtocolViolation, "load_bpp", "metadataMismatch", "consented"),
    ),
    Case(
        "bpp_metadata_differs_from_consent_class",
        _metadata(profileClass=0),
        Expect(ProtocolViolation, "load_bpp", "metadataMismatch", "consented"),
    ),
    Case(
        "profile_metadata_does_not_decode",
        _rewrite(on(AC, lambda doc, req: doc.update(profileMetadata=b64(GARBAGE_METADATA)))),
        Expect(CodecError, "authenticate_client", "undefinedReason"),
    ),
]

# --- HTTP and JSON ----------------------------------------------------------------------------


def _deep_json(reply: Reply) -> Reply:
    return Reply(200, JSON_HEADERS, b"[" * 200_000 + b"]" * 200_000)


def _small_limit(world: World) -> None:
    world.http_options = {"max_response_bytes": 64 * 1024}


def _gzip_bomb(world: World, others: dict[str, TestPki]) -> None:
    """8 MiB of JSON whitespace in 8 KiB of gzip: the limit counts decoded bytes."""
    _small_limit(world)
    headers = {**JSON_HEADERS, "content-encoding": "gzip"}
    bomb = gzip.compress(b" " * (8 << 20) + b"{}")
    world.hostile.rewrite = replace(AC, raw_reply(200, bomb, headers))


def _oversized(world: World, others: dict[str, TestPki]) -> None:
    _small_limit(world)

    def pad(doc: dict[str, Any], request: dict[str, Any]) -> None:
        doc["padding"] = "A" * (1 << 20)

    world.hostile.rewrite = on(AC, pad)


def _status(value: str) -> Callable[[dict[str, Any], dict[str, Any]], None]:
    def edit(doc: dict[str, Any], request: dict[str, Any]) -> None:
        doc["header"]["functionExecutionStatus"]["status"] = value

    return edit


NOT_A_CERTIFICATE = b"\x30\x03\x02\x01\x00"  # one whole SEQUENCE TLV, not an X.509 certificate
HTTP = [
    Case(
        "http_500_html_at_initiate_authentication",
        _fault(FaultKind.HTTP_500, IA),
        Expect(ServerProtocolError, CHECKS, detail="HTML"),
    ),
    Case(
        "http_500_html_at_get_bpp",
        _fault(FaultKind.HTTP_500, GBPP),
        Expect(ServerProtocolError, "get_bound_profile_package", SPA, "HTML"),
    ),
    Case(
        "empty_200_at_authenticate_client",
        _fault(FaultKind.EMPTY_200, AC),
        Expect(ServerProtocolError, "authenticate_client", SPA, "empty"),
    ),
    Case(
        "no_content_204_where_json_is_expected",
        _rewrite(replace(AC, raw_reply(204, b""))),
        Expect(ServerProtocolError, "authenticate_client", SPA, "204"),
    ),
    Case(
        "plain_text_not_json",
        _rewrite(replace(IA, raw_reply(200, b"OK", {"content-type": "text/plain"}))),
        Expect(ServerProtocolError, CHECKS, detail="JSON"),
    ),
    Case(
        "json_array_not_object",
        _rewrite(replace(AC, raw_reply(200, b"[1, 2, 3]"))),
        Expect(ServerProtocolError, "authenticate_client", SPA, "JSON object"),
    ),
    Case(
        "json_nested_200000_deep",
        _rewrite(replace(IA, _deep_json)),
        Expect(ServerProtocolError, CHECKS, detail="JSON object"),
    ),
    Case(
        "json_with_nan",
        _rewrite(replace(IA, raw_reply(200, b'{"header": NaN}'))),
        Expect(ServerProtocolError, CHECKS, detail="JSON object"),
    ),
    Case(
        "header_missing",
        _rewrite(on(AC, lambda doc, req: doc.pop("header"))),
        Expect(ServerProtocolError, "authenticate_client", SPA, "header"),
    ),
    Case(
        "unknown_status_string",
        _rewrite(on(IA, _status("Executed-Sucess"))),
        Expect(ServerProtocolError, CHECKS, detail="Executed-Sucess"),
    ),
    Case(
        "success_status_with_http_202",
        _rewrite(replace(AC, lambda r: Reply(202, dict(r.headers), r.body))),
        Expect(ServerProtocolError, "authenticate_client", SPA, "202"),
    ),
    Case(
        "missing_field_smdp_signed2",
        _rewrite(on(AC, lambda doc, req: doc.pop("smdpSigned2"))),
        Expect(ServerProtocolError, "authenticate_client", SPA, "smdpSigned2"),
    ),
    Case(
        "bad_base64_server_signed1",
        _rewrite(on(IA, lambda doc, req: doc.update(serverSigned1="!!not*base64!!"))),
        Expect(ServerProtocolError, CHECKS, detail="base64"),
    ),
    Case(
        "wrong_type_transaction_id",
        _rewrite(on(AC, lambda doc, req: doc.update(transactionId=12345))),
        Expect(ServerProtocolError, "authenticate_client", SPA, "transactionId"),
    ),
    Case(
        "transaction_id_not_hex",
        _rewrite(on(IA, lambda doc, req: doc.update(transactionId="not-hex!"))),
        Expect(ServerProtocolError, CHECKS, detail="transactionId"),
    ),
    Case(
        "server_signed1_with_trailing_bytes",
        _rewrite(
            on(
                IA,
                lambda doc, req: doc.update(
                    serverSigned1=b64(unb64(doc["serverSigned1"]) + bytes(1))
                ),
            )
        ),
        Expect(ServerProtocolError, CHECKS, detail="serverSigned1"),
    ),
    Case(
        "redirect_to_another_host",
        _rewrite(replace(GBPP, raw_reply(302, b"", {"location": "https://evil.example.com/x"}))),
        Expect(ServerProtocolError, "get_bound_profile_package", SPA, "302"),
    ),
    Case(
        "connection_dropped_at_get_bpp",
        _fault(FaultKind.DROP, GBPP),
        Expect(HttpTransportError, "get_bound_profile_package", SPA),
    ),
    Case(
        "gzip_bomb",
        _gzip_bomb,
        Expect(ServerProtocolError, "authenticate_client", SPA, "at most 65536 bytes"),
    ),
    Case(
        "json_not_utf8",
        _rewrite(replace(IA, raw_reply(200, b'{"header": "\xff\xfe"}'))),
        Expect(ServerProtocolError, CHECKS, detail="JSON object"),
    ),
    Case(
        "transaction_id_too_long",
        _rewrite(on(IA, lambda doc, req: doc.update(transactionId="AB" * 32))),
        Expect(ServerProtocolError, CHECKS, detail="1 to 16 bytes"),
    ),
    Case(
        "server_certificate_not_a_certificate",
        _rewrite(on(IA, lambda doc, req: doc.update(serverCertificate=b64(NOT_A_CERTIFICATE)))),
        Expect(EuiccError, CARD_AUTH, detail="invalidCertificate"),
    ),
    Case(
        "oversized_response",
        _oversized,
        Expect(ServerProtocolError, "authenticate_client", SPA, "at most 65536 bytes"),
    ),
]

# --- real sockets: TLS, endless and silent servers --------------------------------------------


def _loopback(
    credential: Callable[[World, dict[str, TestPki]], Any] | None,
    modes: dict[str, str] | None = None,
    *,
    timeout: float = 5.0,
) -> Arm:
    """Serve over a loopback socket (TLS with ``credential``; ``None``: the right one)."""

    def arm(world: World, others: dict[str, TestPki]) -> None:
        chosen = credential(world, others) if credential else world.pki.dp_tls
        server = LoopbackHttps(world.hostile, chosen, modes).start()
        world.extra["server"] = server
        world.http_options = {
            "trust": world.pki.ci_certificates,
            "connect_to": {world.pki.smdp_host: ("127.0.0.1", server.port)},
            "timeout": timeout,
            "max_response_bytes": 256 * 1024,
        }

    return arm


def _plain_http(world: World, others: dict[str, TestPki]) -> None:
    _loopback(None)(world, others)
    server = world.extra["server"]
    server.context = None  # the server speaks plain HTTP on the port the client expects TLS on


PAST = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
FUTURE = dt.datetime(2090, 1, 1, tzinfo=dt.UTC)
TLS = "TLS"
CLIENT_AUTH_ONLY = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])


def _tls_valid_from(world: World, start: dt.datetime) -> Any:
    """The right TLS certificate, valid for 30 days from ``start`` only."""
    end = start + dt.timedelta(days=30)
    return reissue(world.pki.dp_tls, world.pki.ci, not_before=start, not_after=end)


SOCKETS = [
    Case(
        "tls_certificate_for_another_host",
        _loopback(lambda w, o: o["host"].dp_tls),
        Expect(TlsError, CHECKS, detail=TLS),
    ),
    Case(
        "tls_certificate_from_an_untrusted_ci",
        _loopback(lambda w, o: o["ci"].dp_tls),
        Expect(TlsError, CHECKS, detail=TLS),
    ),
    Case(
        "tls_certificate_expired",
        _loopback(lambda w, o: _tls_valid_from(w, PAST)),
        Expect(TlsError, CHECKS, detail="expired"),
    ),
    Case(
        "tls_certificate_not_yet_valid",
        _loopback(lambda w, o: _tls_valid_from(w, FUTURE)),
        Expect(TlsError, CHECKS, detail=TLS),
    ),
    Case(
        "tls_certificate_for_client_authentication_only",
        _loopback(lambda w, o: reissue(w.pki.dp_tls, w.pki.ci, extension=CLIENT_AUTH_ONLY)),
        Expect(TlsError, CHECKS, detail=TLS),
    ),
    Case(
        "tls_certificate_self_signed",
        _loopback(lambda w, o: reissue(w.pki.dp_tls, None)),
        Expect(TlsError, CHECKS, detail=TLS),
    ),
    Case(
        "dpauth_certificate_served_for_tls",
        _loopback(lambda w, o: w.pki.dp_auth),
        Expect(TlsError, CHECKS, detail=TLS),
    ),
    Case(
        "plain_http_on_the_https_port",
        _plain_http,
        Expect(HttpTransportError, CHECKS),
    ),
    Case(
        "endless_streaming_response",
        _loopback(None, {GBPP: ENDLESS}),
        Expect(ServerProtocolError, "get_bound_profile_package", SPA, "at most 262144 bytes"),
    ),
    Case(
        "endless_headers",
        _loopback(None, {AC: HEADERS}),
        Expect(HttpTransportError, "authenticate_client", SPA),
    ),
    Case(
        "never_answers_initiate_authentication",
        _loopback(None, {IA: HANG}, timeout=0.3),
        Expect(ServerTimeoutError, CHECKS, detail="no answer in time"),
    ),
    Case(
        "never_answers_authenticate_client",
        _loopback(None, {AC: HANG}, timeout=0.3),
        Expect(ServerTimeoutError, "authenticate_client", "timeout", "no answer in time"),
    ),
]

CASES = CERTIFICATES + SIGNATURES + SESSION + PACKAGES + HTTP + SOCKETS


def test_at_least_30_named_cases() -> None:
    names = [case.name for case in CASES]
    assert len(names) == len(set(names)) >= 30


def _check_refusal(error: DownloadError, expect: Expect) -> None:
    """A typed error at the expected stage, saying what went wrong."""
    assert error.stage == expect.stage, str(error)
    if expect.error is DownloadError:
        assert error.__cause__ is None, "the eUICC's install result is the refusal"
    else:
        assert isinstance(error.__cause__, expect.error), repr(error.__cause__)
    cause = error.__cause__
    text = f"{error} {getattr(cause, 'reason', '')}"
    assert expect.detail in text, text


def _check_cancellation(world: World, error: DownloadError, expect: Expect) -> None:
    """CancelSession on the card and cancelSession on the server exactly where expected."""
    assert error.cancel_reason == expect.cancel
    assert world.watched.cancel_sessions_sent() == (1 if expect.cancel else 0)
    assert world.hostile.calls.count("cancelSession") == (1 if expect.cancel else 0)
    if expect.cancel or expect.stage in (CARD_AUTH, CARD_PREPARE, INSTALL):
        assert world.smdp.open_sessions == 0, "the server was told the session ended"
    if expect.stage == INSTALL:
        note = world.smdp.notifications[-1]
        assert (note.event, note.success, note.verified) == ("install", False, True)
        assert world.card.notifications == (), "the error notification was delivered"


DRIVERS = {"sync": attempt, "async": attempt_async}


@pytest.mark.parametrize("driver", list(DRIVERS))
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_hostile_smdp_is_refused(
    case: Case, driver: str, pki: TestPki, others: dict[str, TestPki]
) -> None:
    """The case refused by RspClient (HttpsTransport) and AsyncRspClient (AsyncHttpsTransport)."""
    world = World.make(pki, seed=SEED)
    case.arm(world, others)
    ac = world.smdp.add_order(**ORDER)
    world.watched.apdus.clear()
    world.hostile.calls.clear()
    try:
        with pytest.raises(DownloadError) as caught:
            DRIVERS[driver](world, ac)
    finally:
        server = world.extra.get("server")
        if server is not None:
            server.stop_serving()
    _check_refusal(caught.value, case.expect)
    _check_cancellation(world, caught.value, case.expect)
    assert not world.card.profiles, "nothing installed from a hostile session"
    assert_card_consistent(world.watched, world.smdp)
    world.smdp.clear_faults()
    _, result = honest_retry(world, ac)
    assert result.install.success and result.notification is not None and result.notification.ok
    installed: list[str] = [profile.iccid for profile in world.card.profiles]
    assert installed == [result.iccid]
    assert_card_consistent(world.watched, world.smdp)


@pytest.mark.parametrize("which", ["auth", "pb"])
def test_expired_smdp_signing_certificates_are_accepted_as_sgp22_says(
    which: str, pki: TestPki
) -> None:
    """SGP.22 4.5.2.1: certificates must not be expired, "noting that the eUICC and Device may
    not have reliable access to the current time": the eUICC checks no validity period, the
    LPA checks expiry on the TLS certificate only. An expired DPauth/DPpb is not refused."""
    credential = getattr(pki, f"dp_{which}")
    expired = reissue(credential, pki.ci, not_before=PAST, not_after=PAST + dt.timedelta(days=1))
    assert expired.certificate.not_valid_after_utc < NOW
    honest = TestSmdp(pki).credentials
    signing = honest.signing_sets[0]
    if which == "auth":
        signing = dataclasses.replace(signing, auth_certificate=expired.der)
    else:
        signing = dataclasses.replace(signing, pb_certificate=expired.der)
    world = World.make(
        pki, seed=SEED, credentials=dataclasses.replace(honest, signing_sets=(signing,))
    )
    result = attempt(world, world.smdp.add_order())
    assert result.install.success


@pytest.mark.parametrize("driver", list(DRIVERS))
def test_a_dripping_server_is_cut_off(driver: str, pki: TestPki) -> None:
    """initiateAuthentication's honest answer arrives in 30 pieces 0.1 s apart (3 s in all),
    each within the 0.3 s read timeout: the transport's 0.3 s deadline for the whole request
    cuts it off."""
    world = World.make(pki, seed=SEED)
    ac = world.smdp.add_order(**ORDER)
    with LoopbackHttps(world.hostile, pki.dp_tls, {IA: DRIP}) as server:
        world.http_options = {
            "trust": pki.ci_certificates,
            "connect_to": {pki.smdp_host: ("127.0.0.1", server.port)},
            "timeout": 0.3,
            "deadline": 0.3,
        }
        started = time.monotonic()
        with pytest.raises(DownloadError) as caught:
            DRIVERS[driver](world, ac)
    assert isinstance(caught.value.__cause__, ServerTimeoutError)
    assert time.monotonic() - started < 1.5


def test_a_deadline_of_the_callers_own_cuts_a_dripping_server_off(pki: TestPki) -> None:
    """A deadline of the caller's own: ``asyncio.timeout`` around an AsyncRspClient download.
    The cancelled download leaves the card consistent (its session
    is replaced by the next one) and the next download of the same order succeeds."""
    world = World.make(pki, seed=SEED)
    ac = world.smdp.add_order(**ORDER)

    async def bounded() -> None:
        async with asyncio.timeout(0.8):
            async with AsyncRspClient(world.watched, world.async_transport()) as rsp:
                await rsp.run(download(ac, rsp.config), world.handlers())

    with LoopbackHttps(world.hostile, pki.dp_tls, {GBPP: DRIP}) as server:
        world.http_options = {
            "trust": pki.ci_certificates,
            "connect_to": {pki.smdp_host: ("127.0.0.1", server.port)},
            "timeout": 0.3,
            "deadline": None,  # the transport's own deadline off: the caller's cuts it
        }
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            asyncio.run(bounded())
        assert time.monotonic() - started < 1.5
    assert not world.card.profiles
    assert_card_consistent(world.watched, world.smdp)
    how, result = honest_retry(world, ac)
    assert (how, result.install.success) == ("same order", True)
