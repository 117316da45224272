"""The ES10b download sub-flows against the VirtualEuicc, with the TestSmdp answering ES9+.

The download flow itself belongs to pyrsp.protocol.download; this composes the ES10 sub-flows
by hand to check each against a card that does the SGP.22 checks, positive and negative.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from pyrsp import asn1, tlv
from pyrsp.activation_code import ActivationCode
from pyrsp.client import RspClient
from pyrsp.errors import EuiccError
from pyrsp.models import InstallResult
from pyrsp.protocol import es9, es10
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.effects import Flow, HttpResponse
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import TestSmdp

TAC = "35693803"


class SmdpHttp:
    """A blocking HTTP transport that hands each POST to a TestSmdp in-process."""

    def __init__(self, smdp: TestSmdp) -> None:
        self.smdp = smdp

    def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        status, answer_headers, answer = self.smdp.handle(path, body)
        return HttpResponse(status, answer, {k.lower(): v for k, v in answer_headers.items()})

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=8)


@pytest.fixture
def smdp(pki: TestPki) -> TestSmdp:
    return TestSmdp(pki, rng=8)


def authenticate(config: ApduConfig, ac: ActivationCode) -> Flow[tuple[str, bytes]]:
    """GetEUICCChallenge, GetEUICCInfo1, initiateAuthentication, AuthenticateServer."""
    challenge = yield from es10.get_euicc_challenge(config)
    info1 = yield from es10.get_euicc_info1(config)
    auth = yield from es9.initiate_authentication(ac.smdp_address, challenge, info1)
    request = es10.build_authenticate_server_request(
        auth.server_signed1,
        auth.server_signature1,
        auth.euicc_ci_pkid_to_be_used,
        auth.server_certificate,
        es10.build_ctx_params1(ac.matching_id, TAC),
    )
    response = yield from es10.authenticate_server(config, request)
    assert es10.authenticate_server_error(response) is None
    return auth.transaction_id, response


def prepare(config: ApduConfig, ac: ActivationCode) -> Flow[tuple[str, bytes]]:
    """Everything up to PrepareDownload; the PrepareDownloadResponse."""
    transaction_id, response = yield from authenticate(config, ac)
    client = yield from es9.authenticate_client(ac.smdp_address, transaction_id, response)
    request = es10.build_prepare_download_request(
        client.smdp_signed2, client.smdp_signature2, client.smdp_certificate
    )
    prepared = yield from es10.prepare_download(config, request)
    assert es10.prepare_download_error(prepared) is None
    return transaction_id, prepared


def install(config: ApduConfig, ac: ActivationCode) -> Flow[InstallResult]:
    transaction_id, prepared = yield from prepare(config, ac)
    bpp = yield from es9.get_bound_profile_package(ac.smdp_address, transaction_id, prepared)
    pir = yield from es10.load_bound_profile_package(config, bpp.bound_profile_package)
    return es10.parse_profile_installation_result(pir)


@pytest.mark.parametrize(("segment_size", "extended"), [(120, False), (255, False), (None, True)])
def test_install_through_the_es10_sub_flows(
    pki: TestPki, smdp: TestSmdp, segment_size: int | None, extended: bool
) -> None:
    card = VirtualEuicc(pki=pki)
    ac = smdp.add_order(iccid="8949100000000000012")
    with RspClient(
        card, SmdpHttp(smdp), segment_size=segment_size, extended_apdus=extended
    ) as client:
        result = client.run(install(client.config, ac))
        assert result.success and result.iccid == "8949100000000000012"
        [profile] = client.profiles()
        assert profile.iccid == "8949100000000000012" and profile.isdp_aid == result.isdp_aid
        [pending] = client.retrieve_notifications(event="install")
        assert pending.der[:2] == b"\xbf\x37"
        assert es10.parse_profile_installation_result(pending.der) == result


def test_cancel_session_returns_the_signed_answer(pki: TestPki, smdp: TestSmdp) -> None:
    card = VirtualEuicc(pki=pki)
    ac = smdp.add_order()
    with RspClient(card, SmdpHttp(smdp)) as client:
        transaction_id, _ = client.run(prepare(client.config, ac))
        tid = bytes.fromhex(transaction_id)
        answer = client.run(es10.cancel_session(client.config, tid, "postponed"))
        kind, value = asn1.decode("CancelSessionResponse", answer)
        assert kind == "cancelSessionResponseOk"
        assert value["euiccCancelSessionSigned"]["reason"] == 1
        assert value["euiccCancelSessionSigned"]["transactionId"] == tid
        with pytest.raises(EuiccError) as info:
            client.run(es10.cancel_session(client.config, tid, "postponed"))
        assert info.value.reason in ("invalidTransactionId", "undefinedError")


def test_card_side_refusals_are_named(pki: TestPki) -> None:
    card = VirtualEuicc(pki=pki)
    with RspClient(card) as client:
        config = client.config
        challenge = client.run(es10.get_euicc_challenge(config))
        assert len(challenge) == 16 and client.run(es10.get_euicc_challenge(config)) != challenge
        signed1 = tlv.build(
            0x30, bytes.fromhex("8001018110") + challenge + bytes.fromhex("83008410") + bytes(16)
        )
        request = es10.build_authenticate_server_request(
            signed1,
            bytes.fromhex("5F3740") + bytes(64),
            bytes.fromhex("0414") + bytes(20),
            bytes.fromhex("3003020101"),
            es10.build_ctx_params1("X", TAC),
        )
        refused = es10.authenticate_server_error(
            client.run(es10.authenticate_server(config, request))
        )
        assert refused is not None and refused.reason == "ciPKUnknown"
        request = es10.build_prepare_download_request(
            bytes.fromhex("3006800101010100"),
            bytes.fromhex("5F3740") + bytes(64),
            bytes.fromhex("3003020101"),
        )
        refused = es10.prepare_download_error(client.run(es10.prepare_download(config, request)))
        assert refused is not None and refused.reason == "noSessionContext"
        with pytest.raises(EuiccError) as info:
            client.run(es10.cancel_session(config, bytes(16), "endUserRejection"))
        assert info.value.reason == "invalidTransactionId"
