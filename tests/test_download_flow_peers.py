"""The download and notification flows against the real peers, in-process: a VirtualEuicc over
APDUs and a TestSmdp behind HttpsTransport (its httpx transport). A minimal driver runs the
flows, so this checks the flows and the peers agree, independently of the clients.
"""

from __future__ import annotations

import random
import urllib.parse
from collections.abc import Generator
from dataclasses import dataclass
from typing import Any

import pytest

from pyrsp.activation_code import ActivationCode
from pyrsp.errors import (
    DownloadDeclined,
    DownloadError,
    EuiccError,
    ProtocolViolation,
    PyrspError,
    ServerProtocolError,
    SmdpError,
)
from pyrsp.protocol import session as isdr
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.download import DownloadResult, download
from pyrsp.protocol.effects import AskConfirmationCode, ConfirmDownload, HttpPost, Transmit
from pyrsp.protocol.notifications import process_notifications
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import TestSmdp
from pyrsp.transports.http import HttpsTransport

OTHER_EID = "89049032112341234012345678901375"


@dataclass
class Peers:
    card: VirtualEuicc
    smdp: TestSmdp
    http: HttpsTransport
    config: ApduConfig
    consent: Any = True
    code: str | None = None

    def run(self, flow: Generator[Any, Any, Any]) -> Any:
        answer: Any = None
        error: PyrspError | None = None
        while True:
            try:
                effect = flow.throw(error) if error is not None else flow.send(answer)
            except StopIteration as stop:
                return stop.value
            answer, error = None, None
            try:
                answer = self._answer(effect)
            except PyrspError as exc:
                error = exc

    def _answer(self, effect: Any) -> Any:
        if isinstance(effect, Transmit):
            return self.card.transmit(effect.apdu)
        if isinstance(effect, HttpPost):
            return self.http.post(effect.address, effect.path, effect.body, effect.headers)
        if isinstance(effect, ConfirmDownload):
            return self.consent
        if isinstance(effect, AskConfirmationCode):
            return self.code
        return None

    def download(self, ac: ActivationCode) -> DownloadResult:
        result = self.run(download(ac, self.config))
        assert isinstance(result, DownloadResult)
        return result


@pytest.fixture(scope="module", params=["nist", "brainpool"])
def pki(request: pytest.FixtureRequest) -> TestPki:
    return TestPki.generate(seed=3, curve=request.param)


@pytest.fixture
def peers(pki: TestPki) -> Peers:
    card = VirtualEuicc(pki, rng=random.Random(1))
    smdp = TestSmdp(pki, rng=2)
    http = HttpsTransport(transport=smdp.httpx_transport())
    peers = Peers(card, smdp, http, ApduConfig())
    session = peers.run(isdr.open_isdr())
    peers.config = ApduConfig(channel=session.channel, segment_size=120)
    return peers


def test_download_installs_and_the_notification_is_delivered_and_removed(peers: Peers) -> None:
    ac = peers.smdp.add_order(profile_name="Peers")
    result = peers.download(ac)
    (installed,) = peers.card.profiles
    assert (installed.iccid, installed.profile_name) == (result.iccid, "Peers")
    assert result.notification is not None and result.notification.ok
    (received,) = peers.smdp.notifications
    assert (received.event, received.iccid, received.verified) == ("install", result.iccid, True)
    assert peers.card.notifications == ()
    assert peers.smdp.open_sessions == 0


def test_confirmation_code_right_and_wrong(peers: Peers) -> None:
    peers.code = "7431"
    assert peers.download(peers.smdp.add_order(confirmation_code="7431")).install.success
    peers.code = "0000"
    with pytest.raises(DownloadError) as info:
        peers.download(peers.smdp.add_order(confirmation_code="7431"))
    assert info.value.stage == "get_bound_profile_package"
    assert isinstance(info.value.__cause__, SmdpError)
    assert info.value.__cause__.subject_code == "8.2.7"
    assert len(peers.card.profiles) == 1


def test_declined_consent_closes_both_sessions(peers: Peers) -> None:
    peers.consent = False
    with pytest.raises(DownloadDeclined) as info:
        peers.download(peers.smdp.add_order())
    assert info.value.cancel_reason == "endUserRejection"
    assert peers.smdp.open_sessions == 0
    assert peers.card.profiles == ()


def test_an_order_bound_to_another_eid_is_refused(peers: Peers) -> None:
    with pytest.raises(DownloadError) as info:
        peers.download(peers.smdp.add_order(eid=OTHER_EID))
    assert info.value.stage == "authenticate_client"
    assert isinstance(info.value.__cause__, SmdpError)


def test_undelivered_notification_stays_and_is_sent_later(peers: Peers) -> None:
    peers.smdp.inject("http500", "handleNotification")
    result = peers.download(peers.smdp.add_order())
    assert result.notification is not None and not result.notification.sent
    assert len(peers.card.notifications) == 1
    outcomes = peers.run(process_notifications(peers.config))
    assert [(o.seq_number, o.ok) for o in outcomes] == [(result.notification.seq_number, True)]
    assert len(peers.card.notifications) == 0


@pytest.mark.parametrize(
    ("fault", "step", "stage", "cause"),
    [
        ("bad_signature", "initiateAuthentication", "authenticate_server", EuiccError),
        ("wrong_transaction_id", "authenticateClient", "authenticate_client", ProtocolViolation),
        (
            "truncated_bpp",
            "getBoundProfilePackage",
            "get_bound_profile_package",
            ServerProtocolError,
        ),
        ("empty200", "authenticateClient", "authenticate_client", ServerProtocolError),
    ],
)
def test_server_faults_end_in_typed_errors(
    peers: Peers, fault: str, step: str, stage: str, cause: type[Exception]
) -> None:
    peers.smdp.inject(fault, step)
    with pytest.raises(DownloadError) as info:
        peers.download(peers.smdp.add_order())
    assert info.value.stage == stage
    assert isinstance(info.value.__cause__, cause)
    assert peers.card.profiles == ()
    ac = peers.smdp.add_order()
    assert peers.download(ac).install.success, "the next download works"


def test_download_over_real_https_with_ci_trust_and_connect_to(pki: TestPki) -> None:
    if pki.curve != "nist":
        pytest.skip("one curve is enough for the TLS path")
    card = VirtualEuicc(pki, rng=random.Random(1))
    smdp = TestSmdp(pki, rng=2)
    with smdp.serve_https() as url:
        port = urllib.parse.urlsplit(url).port
        assert port is not None
        target = {smdp.address: ("127.0.0.1", port)}
        with HttpsTransport(trust=pki.ci_certificates, connect_to=target, timeout=10) as http:
            peers = Peers(card, smdp, http, ApduConfig())
            peers.config = ApduConfig(channel=peers.run(isdr.open_isdr()).channel)
            result = peers.download(smdp.add_order())
    assert result.notification is not None and result.notification.ok
    assert [p.iccid for p in card.profiles] == [result.iccid]
