"""The download flow (SGP.22 section 3.1.3) driven by scripted answers: no card, no network."""

from __future__ import annotations

import base64
import contextlib
import hashlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyrsp import asn1, tlv
from pyrsp.activation_code import ActivationCode
from pyrsp.errors import (
    CardRemovedError,
    DownloadDeclined,
    DownloadError,
    EuiccError,
    HttpTransportError,
    ProtocolViolation,
    ServerTimeoutError,
    SmdpError,
    UsageError,
)
from pyrsp.models import OperatorId, ProfileMetadata
from pyrsp.protocol import es10
from pyrsp.protocol.apdu import ApduConfig, bpp_pieces
from pyrsp.protocol.download import DeviceInfo, DownloadResult, download, ppr_allowed
from pyrsp.protocol.effects import AskConfirmationCode, ConfirmDownload, HttpResponse
from test_download_flow_script import (
    ADDRESS,
    CHALLENGE,
    ICCID,
    MATCHING_ID,
    NOTIFY_SEQ,
    TID,
    TID_BYTES,
    Driver,
    ScriptedCard,
    ScriptedServer,
    authenticate_client_ok,
    authenticate_error,
    authenticate_ok,
    bound_profile_package,
    bpp_ok,
    cancel_ok,
    euicc_info1,
    failed_json,
    initiate_ok,
    notification_sent,
    ok_json,
    pir,
    prepare_error,
    prepare_ok,
    profile_metadata,
    server_signed1,
    smdp_signed2,
)

AC = ActivationCode(ADDRESS, MATCHING_ID)
CONFIG = ApduConfig(channel=1)


def setup(cc_required: bool = False) -> Driver:
    challenge = asn1.encode("GetEuiccChallengeResponse", {"euiccChallenge": CHALLENGE})
    card = ScriptedCard(
        answers={
            0xBF2E: challenge,
            0xBF20: euicc_info1(),
            0xBF38: authenticate_ok(),
            0xBF21: prepare_ok(),
            0xBF41: cancel_ok,
            0xBF30: notification_sent(),
        },
        bpp=bound_profile_package(),
        pir=pir(),
    )
    server = ScriptedServer(
        answers={
            "initiateAuthentication": initiate_ok(),
            "authenticateClient": authenticate_client_ok(cc_required),
            "getBoundProfilePackage": bpp_ok(),
            "handleNotification": HttpResponse(204, b""),
            "cancelSession": ok_json(),
        }
    )
    return Driver(card, server)


def run(driver: Driver, **kwargs: Any) -> DownloadResult:
    result = driver.run(download(AC, CONFIG, **kwargs))
    assert isinstance(result, DownloadResult)
    return result


def failure(driver: Driver, error: type[DownloadError] = DownloadError) -> DownloadError:
    with pytest.raises(error) as info:
        driver.run(download(AC, CONFIG))
    return info.value


def unb64(driver: Driver, function: str, field: str) -> bytes:
    return base64.b64decode(driver.server.body(function)[field])


# --- the whole happy path ---------------------------------------------------------------------


def test_download_installs_and_delivers_the_install_notification() -> None:
    driver = setup()
    result = run(driver)
    assert (result.iccid, result.profile_name, result.service_provider_name) == (
        ICCID,
        "Test profile",
        "pyrsp",
    )
    assert result.isdp_aid == "A0000005591010FFFFFFFF8900001100"
    assert (result.transaction_id, result.smdp_address) == (TID, ADDRESS)
    assert result.install.success
    assert result.notification is not None and result.notification.ok
    assert driver.server.functions() == [
        "initiateAuthentication",
        "authenticateClient",
        "getBoundProfilePackage",
        "handleNotification",
    ]
    assert driver.card.tags() == [0xBF2E, 0xBF20, 0xBF38, 0xBF21, 0xBF36, 0xBF30]
    consents = [e for e in driver.effects if isinstance(e, ConfirmDownload)]
    assert len(consents) == 1
    assert isinstance(consents[0].metadata, ProfileMetadata)
    assert consents[0].metadata.iccid == ICCID
    assert not any(isinstance(e, AskConfirmationCode) for e in driver.effects)


def test_signed_data_is_forwarded_byte_for_byte() -> None:
    driver = setup()
    run(driver)
    card, server = driver.card, driver.server
    assert unb64(driver, "initiateAuthentication", "euiccInfo1") == euicc_info1()
    assert unb64(driver, "initiateAuthentication", "euiccChallenge") == CHALLENGE
    assert server.body("initiateAuthentication")["smdpAddress"] == ADDRESS
    auth_request = card.requests[2]
    assert server_signed1() in auth_request
    assert unb64(driver, "authenticateClient", "authenticateServerResponse") == authenticate_ok()
    assert server.body("authenticateClient")["transactionId"] == TID
    prepare_request = card.requests[3]
    assert smdp_signed2() in prepare_request
    assert b"\x04\x20" not in prepare_request  # no hashCc without ccRequiredFlag
    assert unb64(driver, "getBoundProfilePackage", "prepareDownloadResponse") == prepare_ok()
    assert unb64(driver, "handleNotification", "pendingNotification") == pir()
    assert card.requests[-1] == asn1.encode("NotificationSentRequest", {"seqNumber": NOTIFY_SEQ})


def test_ctx_params1_carries_matching_id_and_device_info() -> None:
    driver = setup()
    run(driver, device=DeviceInfo(imei="356938035643809"))
    request = asn1.decode("AuthenticateServerRequest", driver.card.requests[2])
    _, ctx = request["ctxParams1"]
    assert ctx["matchingId"] == MATCHING_ID
    assert ctx["deviceInfo"]["tac"] == bytes.fromhex("53968330")
    assert ctx["deviceInfo"]["imei"] == bytes.fromhex("53968330653408F9")


def test_empty_matching_id_is_left_out() -> None:
    driver = setup()
    driver.run(download(ActivationCode(ADDRESS, ""), CONFIG))
    _, ctx = asn1.decode("AuthenticateServerRequest", driver.card.requests[2])["ctxParams1"]
    assert "matchingId" not in ctx


def test_bpp_is_loaded_piece_by_piece_with_progress() -> None:
    driver = setup()
    bpp = bound_profile_package(segments=5)
    driver.card.bpp = bpp
    driver.server.answers["getBoundProfilePackage"] = bpp_ok(bpp)
    run(driver)
    expected = bpp_pieces(bpp)
    assert driver.card.loaded == expected
    progress = driver.progress("load_bpp")
    assert [(p.done, p.total) for p in progress] == [(0, 0)] + [
        (n, len(expected)) for n in range(1, len(expected) + 1)
    ]
    stages = [e.stage for e in driver.effects if type(e).__name__ == "Progress"]
    assert stages[0] == "initiate_authentication"
    assert "install" in stages


def test_confirmation_code_is_asked_and_hashed_with_the_transaction_id() -> None:
    driver = setup(cc_required=True)
    driver.code = "1234"
    run(driver)
    asks = [e for e in driver.effects if isinstance(e, AskConfirmationCode)]
    assert len(asks) == 1
    expected = hashlib.sha256(hashlib.sha256(b"1234").digest() + TID_BYTES).digest()
    request = asn1.decode("PrepareDownloadRequest", driver.card.requests[3])
    assert request["hashCc"] == expected


def test_confirmation_code_as_bytes_is_hashed_as_is() -> None:
    driver = setup(cc_required=True)
    driver.code = b"1234"
    run(driver)
    expected = hashlib.sha256(hashlib.sha256(b"1234").digest() + TID_BYTES).digest()
    assert asn1.decode("PrepareDownloadRequest", driver.card.requests[3])["hashCc"] == expected


def test_confirmation_code_of_another_type_is_a_usage_error() -> None:
    driver = setup(cc_required=True)
    driver.code = 1234
    error = failure(driver)
    assert isinstance(error.__cause__, UsageError)
    assert (error.stage, error.cancel_reason) == ("confirmation_code", "undefinedReason")
    assert 0xBF21 not in driver.card.tags()


def test_install_notification_can_be_left_for_later() -> None:
    driver = setup()
    result = run(driver, send_install_notification=False)
    assert result.notification is None
    assert "handleNotification" not in driver.server.functions()
    assert 0xBF30 not in driver.card.tags()


def test_a_notification_that_fails_to_send_stays_on_the_card() -> None:
    driver = setup()
    driver.server.answers["handleNotification"] = HttpResponse(500, b"<html>down</html>")
    result = run(driver)
    assert result.notification is not None
    assert (result.notification.sent, result.notification.removed) == (False, False)
    assert result.notification.error_type == "ServerProtocolError"
    assert 0xBF30 not in driver.card.tags()


# --- declining --------------------------------------------------------------------------------


def cancel_reason_sent(driver: Driver) -> int:
    request = next(r for r in driver.card.requests if r[:2] == b"\xbf\x41")
    reason: int = asn1.decode("CancelSessionRequest", request)["reason"]
    return reason


@pytest.mark.parametrize(
    ("answer", "reason", "code"), [(False, "endUserRejection", 0), ("postponed", "postponed", 1)]
)
def test_declined_consent_cancels_both_sides(answer: Any, reason: str, code: int) -> None:
    driver = setup()
    driver.consent = answer
    error = failure(driver, DownloadDeclined)
    assert (error.stage, error.cancel_reason) == ("consent", reason)
    assert cancel_reason_sent(driver) == code
    assert 0xBF21 not in driver.card.tags()
    assert driver.server.functions()[-1] == "cancelSession"
    body = driver.server.body("cancelSession")
    assert body["transactionId"] == TID
    assert base64.b64decode(body["cancelSessionResponse"]) == cancel_ok(
        asn1.encode("CancelSessionRequest", {"transactionId": TID_BYTES, "reason": code})
    )


def test_no_confirmation_code_postpones() -> None:
    driver = setup(cc_required=True)
    driver.code = None
    error = failure(driver, DownloadDeclined)
    assert (error.stage, error.cancel_reason) == ("confirmation_code", "postponed")
    assert 0xBF21 not in driver.card.tags()


# --- what the LPA checks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signed1", "match"),
    [
        (server_signed1(address="evil.example.com"), "serverAddress"),
        (server_signed1(challenge=bytes(16)), "euiccChallenge"),
        (server_signed1(tid=b"\x99"), "transactionId"),
    ],
)
def test_server_signed1_is_checked_before_the_card_sees_it(signed1: bytes, match: str) -> None:
    driver = setup()
    driver.server.answers["initiateAuthentication"] = initiate_ok(signed1)
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("initiate_authentication", "")
    assert isinstance(error.__cause__, ProtocolViolation)
    assert match in str(error)
    assert driver.card.tags() == [0xBF2E, 0xBF20]


def test_server_address_comparison_ignores_case() -> None:
    driver = setup()
    driver.server.answers["initiateAuthentication"] = initiate_ok(server_signed1(ADDRESS.upper()))
    assert run(driver).iccid == ICCID


def test_smdp_signed2_with_another_transaction_cancels() -> None:
    driver = setup()
    signed2 = smdp_signed2(tid=b"\x01")
    driver.server.answers["authenticateClient"] = authenticate_client_ok(signed2=signed2)
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("authenticate_client", "undefinedReason")
    assert isinstance(error.__cause__, ProtocolViolation)
    assert driver.server.functions()[-1] == "cancelSession"


def test_metadata_mismatch_cancels_before_loading() -> None:
    driver = setup()
    other = bound_profile_package(profile_metadata("Another profile"))
    driver.server.answers["getBoundProfilePackage"] = bpp_ok(other)
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("load_bpp", "metadataMismatch")
    assert cancel_reason_sent(driver) == 4
    assert driver.card.loaded == []


def test_metadata_encoded_differently_but_equal_is_accepted() -> None:
    driver = setup()
    explicit_default = tlv.build(0xBF25, tlv.parse(profile_metadata()).value + b"\x95\x01\x02")
    driver.server.answers["getBoundProfilePackage"] = bpp_ok(
        bound_profile_package(explicit_default)
    )
    assert run(driver).install.success


def test_unreadable_bpp_metadata_is_a_load_error() -> None:
    driver = setup()
    parts = tlv.parse(bound_profile_package()).children()
    broken = tlv.build(0xBF36, b"".join(p.raw for p in parts if p.tag != 0xA1))
    driver.server.answers["getBoundProfilePackage"] = bpp_ok(broken)
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("load_bpp", "loadBppExecutionError")


# --- failures and cancellation ----------------------------------------------------------------


def test_smdp_refusal_cancels_the_euicc_but_not_the_server() -> None:
    driver = setup()
    driver.server.answers["authenticateClient"] = failed_json("8.2.6", "3.8")
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("authenticate_client", "undefinedReason")
    assert isinstance(error.__cause__, SmdpError)
    assert "matching ID" in str(error)
    assert cancel_reason_sent(driver) == 127
    assert "cancelSession" not in driver.server.functions()


def test_server_timeout_cancels_with_timeout() -> None:
    driver = setup()
    driver.server.answers["getBoundProfilePackage"] = ServerTimeoutError("no answer")
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("get_bound_profile_package", "timeout")
    assert cancel_reason_sent(driver) == 2
    assert driver.server.functions()[-1] == "cancelSession"


def test_card_failure_during_load_cancels_with_load_error() -> None:
    driver = setup()
    driver.card.load_fails_at = 3
    driver.card.pir = CardRemovedError("card removed")
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("load_bpp", "loadBppExecutionError")
    assert isinstance(error.__cause__, CardRemovedError)
    assert cancel_reason_sent(driver) == 5


def test_a_cancel_the_card_refuses_is_not_reported_as_sent() -> None:
    driver = setup()
    driver.consent = False
    driver.card.answers[0xBF41] = CardRemovedError("gone")
    error = failure(driver, DownloadDeclined)
    assert error.cancel_reason == ""
    assert "cancelSession" not in driver.server.functions()


def test_cancel_session_the_server_refuses_is_tolerated() -> None:
    driver = setup()
    driver.consent = False
    driver.server.answers["cancelSession"] = HttpTransportError("reset")
    error = failure(driver, DownloadDeclined)
    assert error.cancel_reason == "endUserRejection"


def test_euicc_refusing_authenticate_server_tells_the_server_and_does_not_cancel() -> None:
    driver = setup()
    driver.card.answers[0xBF38] = authenticate_error(2)
    driver.server.answers["authenticateClient"] = failed_json("8.1", "6.1")
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("authenticate_server", "")
    assert isinstance(error.__cause__, EuiccError)
    assert error.__cause__.reason == "invalidSignature"
    assert unb64(driver, "authenticateClient", "authenticateServerResponse") == authenticate_error()
    assert 0xBF41 not in driver.card.tags()


def test_euicc_refusing_prepare_download_tells_the_server() -> None:
    driver = setup()
    driver.card.answers[0xBF21] = prepare_error(5)
    driver.server.answers["getBoundProfilePackage"] = failed_json("8.1", "3.8")
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("prepare_download", "")
    assert isinstance(error.__cause__, EuiccError)
    assert unb64(driver, "getBoundProfilePackage", "prepareDownloadResponse") == prepare_error()
    assert 0xBF41 not in driver.card.tags()


def test_install_failure_still_delivers_its_notification() -> None:
    driver = setup()
    driver.card.pir = pir(success=False)
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("install", "")
    assert "installFailedDueToIccidAlreadyExistsOnEuicc" in str(error)
    assert unb64(driver, "handleNotification", "pendingNotification") == pir(success=False)
    assert driver.card.tags()[-1] == 0xBF30
    assert 0xBF41 not in driver.card.tags()


def test_an_early_install_result_ends_the_load() -> None:
    driver = setup()
    driver.card.load_fails_at = 1
    driver.card.pir = pir(success=False)
    error = failure(driver)
    assert error.stage == "install"
    assert len(driver.card.loaded) == 1


def test_initiate_authentication_failure_is_reported_without_cancel() -> None:
    driver = setup()
    driver.server.answers["initiateAuthentication"] = failed_json("8.8.1", "3.8")
    error = failure(driver)
    assert error.stage == "initiate_authentication"
    assert isinstance(error.__cause__, SmdpError)
    assert driver.card.tags() == [0xBF2E, 0xBF20]


# --- DeviceInfo -------------------------------------------------------------------------------


def test_device_info_rules() -> None:
    with pytest.raises(UsageError, match="not the start of the IMEI"):
        DeviceInfo(tac="12345678", imei="356938035643809")
    with pytest.raises(UsageError, match=r"x\.y\.z"):
        DeviceInfo(capabilities={"gsmSupportedRelease": "15"}).ctx_params1(None)
    ctx = DeviceInfo(capabilities={"gsmSupportedRelease": "15.1.0"}).ctx_params1("X")
    _, value = asn1.decode("CtxParams1", ctx)
    assert value["deviceInfo"]["deviceCapabilities"] == {"gsmSupportedRelease": b"\x0f\x01\x00"}
    assert value["deviceInfo"]["tac"] == bytes.fromhex("53926011")


def test_bad_device_info_fails_before_any_io() -> None:
    flow = download(AC, CONFIG, device=DeviceInfo(tac="1234"))
    with pytest.raises(UsageError, match="TAC"):
        next(flow)


# --- profile policy rules and the RAT (SGP.22 section 2.9.2) ----------------------------------

PPR1 = (b"\x40", 2)
OWNER = {"mccMnc": bytes.fromhex("130014"), "gid1": b"\x12"}  # 310 410


def rat(*rules: dict[str, Any]) -> bytes:
    return asn1.encode("GetRatResponse", {"rat": list(rules)})


def rule(mcc_mnc: str, **ids: bytes) -> dict[str, Any]:
    operator = {"mccMnc": bytes.fromhex(mcc_mnc), **ids}
    return {"pprIds": PPR1, "allowedOperators": [operator], "pprFlags": (b"\x00", 1)}


def setup_ppr(table: bytes) -> Driver:
    driver = setup()
    metadata = profile_metadata(profilePolicyRules=PPR1, profileOwner=OWNER)
    driver.server.answers["authenticateClient"] = authenticate_client_ok(metadata=metadata)
    driver.server.answers["getBoundProfilePackage"] = bpp_ok(bound_profile_package(metadata))
    driver.card.answers[0xBF43] = table
    return driver


@pytest.mark.parametrize(
    "table",
    [rat(rule("130014")), rat(rule("EEEEEE")), rat(rule("1E00E4", gid1=b"\x12"))],
    ids=["exact", "wildcard", "wildcard-gid1"],
)
def test_policy_rules_the_rat_allows(table: bytes) -> None:
    driver = setup_ppr(table)
    result = run(driver)
    assert result.metadata.policy_rules == ("ppr1",)
    assert driver.card.tags()[2:5] == [0xBF38, 0xBF43, 0xBF21]


@pytest.mark.parametrize(
    "table",
    [rat(), rat(rule("130015")), rat(rule("130014", gid1=b"\x99"))],
    ids=["empty", "other-operator", "other-gid1"],
)
def test_policy_rules_the_rat_refuses_cancel_before_consent(table: bytes) -> None:
    driver = setup_ppr(table)
    error = failure(driver)
    assert (error.stage, error.cancel_reason) == ("profile_policy", "pprNotAllowed")
    assert cancel_reason_sent(driver) == 3
    assert not any(isinstance(e, ConfirmDownload) for e in driver.effects)


def test_no_policy_rules_no_rat() -> None:
    driver = setup()
    run(driver)
    assert 0xBF43 not in driver.card.tags()


def test_ppr_allowed_rules() -> None:
    owner = OperatorId(mcc_mnc="26201")
    two_digit = es10.RatRule(
        ppr_ids=("ppr1",), allowed_operators=(OperatorId(mcc_mnc="26201"),), consent_required=False
    )
    assert ppr_allowed("ppr1", owner, [two_digit])
    assert not ppr_allowed("ppr2", owner, [two_digit])
    assert not ppr_allowed("ppr1", OperatorId(mcc_mnc="262010"), [two_digit])
    assert not ppr_allowed("ppr1", None, [two_digit])


# --- hostile answers: the flow ends in a DownloadError, never anything else -------------------


class MutatingDriver(Driver):
    """Corrupts the answer to the ``target``-th card or server exchange."""

    target: int = 0
    mutate: Any = None
    exchanges: int = 0

    def _answer(self, effect: Any) -> Any:
        answer = super()._answer(effect)
        if isinstance(answer, bytes | HttpResponse):
            self.exchanges += 1
            if self.exchanges == self.target:
                if isinstance(answer, HttpResponse):
                    return HttpResponse(answer.status, self.mutate(answer.body), answer.headers)
                return self.mutate(answer[:-2]) + answer[-2:]
        return answer


def corruption(data: st.DataObject) -> Any:
    kind = data.draw(st.sampled_from(["flip", "truncate", "replace", "extend"]))
    position = data.draw(st.integers(min_value=0, max_value=4000))
    value = data.draw(st.integers(min_value=0, max_value=255))
    noise = data.draw(st.binary(max_size=8))

    def mutate(body: bytes) -> bytes:
        at = position % (len(body) or 1)
        if kind == "flip" and body:
            return body[:at] + bytes([body[at] ^ (value or 1)]) + body[at + 1 :]
        if kind == "truncate":
            return body[:at]
        if kind == "replace":
            return noise
        return body + noise

    return mutate


@pytest.mark.fuzz
@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_any_corrupted_answer_ends_in_download_error_or_success(data: st.DataObject) -> None:
    base = setup(cc_required=data.draw(st.booleans()))
    driver = MutatingDriver(base.card, base.server, code="1234")
    driver.target = data.draw(st.integers(min_value=1, max_value=20))
    driver.mutate = corruption(data)
    with contextlib.suppress(DownloadError):
        driver.run(download(AC, CONFIG))
    assert driver.exchanges >= min(driver.target, 10), "the corruption was applied"
