"""A whole ES9+/ES8+ exchange between the TestSmdp and the VirtualEuicc (SGP.22 section 3.1.3).

The sans-IO download flow is driven by a few lines here: its APDUs go to the VirtualEuicc, its
ES9+ POSTs to ``TestSmdp.handle``. The TestSmdp's own JSON-level tests build the eUICC side by
hand; this checks both doubles agree with each other and with the client flow.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

from pyrsp.activation_code import ActivationCode
from pyrsp.crypto import Curve
from pyrsp.errors import DownloadError
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.download import DownloadResult, download
from pyrsp.protocol.effects import (
    AskConfirmationCode,
    ConfirmDownload,
    Flow,
    HttpPost,
    HttpResponse,
    Progress,
    Transmit,
)
from pyrsp.protocol.session import open_isdr
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import FaultKind, OrderState, TestSmdp
from pyrsp.transports.base import HttpTransport
from pyrsp.transports.http import HttpsTransport
from test_smdp_support import NOW, shared_pki


def run(
    flow: Flow[Any],
    card: VirtualEuicc,
    smdp: TestSmdp,
    code: str | None = None,
    http: HttpTransport | None = None,
) -> Any:
    """Answer each effect: APDUs to the card, POSTs to the server (or ``http``), consent yes,
    ``code`` when asked."""
    answer: Any = None
    try:
        while True:
            effect = flow.send(answer)
            if isinstance(effect, Transmit):
                answer = card.transmit(effect.apdu)
            elif isinstance(effect, HttpPost) and http is not None:
                answer = http.post(effect.address, effect.path, effect.body, effect.headers)
            elif isinstance(effect, HttpPost):
                status, headers, body = smdp.handle(effect.path, effect.body)
                answer = HttpResponse(status, body, headers)
            elif isinstance(effect, ConfirmDownload):
                answer = True
            elif isinstance(effect, AskConfirmationCode):
                answer = code
            else:
                assert isinstance(effect, Progress)
                answer = None
    except StopIteration as stop:
        return stop.value


def install(
    card: VirtualEuicc,
    smdp: TestSmdp,
    ac: ActivationCode,
    code: str | None = None,
    http: HttpTransport | None = None,
) -> Any:
    session = run(open_isdr(), card, smdp)
    return run(download(ac, ApduConfig(channel=session.channel)), card, smdp, code, http)


@pytest.mark.parametrize("curve", [Curve.NIST, Curve.BRAINPOOL])
def test_download_installs_on_the_virtual_euicc(curve: Curve) -> None:
    pki = shared_pki() if curve is Curve.NIST else TestPki.generate(seed=1, curve=curve)
    card = VirtualEuicc(pki, rng=random.Random(1))
    smdp = TestSmdp(pki, rng=2, now=NOW, replace_session_keys=curve is Curve.BRAINPOOL)
    ac = smdp.add_order(iccid="8999000000000000017", profile_name="Travel", confirmation_code="42")
    result = install(card, smdp, ac, code="42")
    assert isinstance(result, DownloadResult)
    assert (result.iccid, result.profile_name) == ("8999000000000000017", "Travel")
    assert [p.iccid for p in card.profiles] == ["8999000000000000017"]
    order = smdp.order(ac.matching_id)
    assert (order.state, order.installed_eid) == (OrderState.INSTALLED, pki.eid)
    [note] = smdp.notifications
    assert (note.event, note.success, note.verified) == ("install", True, True)
    assert card.notifications == ()  # removed once the SM-DP+ accepted it


def test_ts48_profile_installs(vectors_dir: Any) -> None:
    pki = shared_pki()
    card = VirtualEuicc(pki, rng=random.Random(1))
    smdp = TestSmdp(pki, rng=2, now=NOW)
    ac = smdp.add_order(vectors_dir / "upp" / "TS48V1-A-UNIQUE.der")
    assert install(card, smdp, ac).iccid == "8949449999999990023"


def test_truncated_bpp_fails_and_the_session_is_cancelled() -> None:
    pki = shared_pki()
    card = VirtualEuicc(pki, rng=random.Random(1))
    smdp = TestSmdp(pki, rng=2, now=NOW)
    ac = smdp.add_order()
    smdp.inject(FaultKind.TRUNCATED_BPP, "getBoundProfilePackage")
    with pytest.raises(DownloadError) as caught:
        install(card, smdp, ac)
    assert (caught.value.stage, caught.value.cancel_reason) == (
        "get_bound_profile_package",
        "undefinedReason",
    )
    assert card.profiles == ()
    # The client cancelled with the eUICC's signed answer: the order can be downloaded again.
    assert smdp.open_sessions == 0
    assert smdp.order(ac.matching_id).state is OrderState.RELEASED
    assert install(card, smdp, ac).iccid == smdp.order(ac.matching_id).iccid


def test_retry_after_the_lpa_died_with_the_bpp_in_hand() -> None:
    """SGP.22 3.1.3.3: the eUICC keeps its one-time key, the SM-DP+ serves the same BPP."""
    pki = shared_pki()
    card = VirtualEuicc(pki, rng=random.Random(1))
    smdp = TestSmdp(pki, rng=2, now=NOW)
    ac = smdp.add_order()
    session = run(open_isdr(), card, smdp)
    flow = download(ac, ApduConfig(channel=session.channel))
    answer: Any = None
    while True:  # run until the BPP has been served, then abandon the flow
        effect = flow.send(answer)
        if isinstance(effect, Transmit):
            answer = card.transmit(effect.apdu)
        elif isinstance(effect, HttpPost):
            status, headers, body = smdp.handle(effect.path, effect.body)
            answer = HttpResponse(status, body, headers)
            if effect.path.endswith("getBoundProfilePackage"):
                break
        else:
            answer = True if isinstance(effect, ConfirmDownload) else None
    flow.close()
    card.reset()
    assert smdp.order(ac.matching_id).state is OrderState.DOWNLOADED
    assert install(card, smdp, ac).iccid == smdp.order(ac.matching_id).iccid
    order = smdp.order(ac.matching_id)
    assert order.state is OrderState.INSTALLED
    assert order.history == [OrderState.RELEASED, OrderState.DOWNLOADED]  # bound only once


def test_download_over_real_https() -> None:
    pki = shared_pki()
    card = VirtualEuicc(pki, rng=random.Random(1))
    smdp = TestSmdp(pki, rng=2, now=NOW)
    ac = smdp.add_order()
    with smdp.serve_https() as url:
        port = int(url.rsplit(":", 1)[1])
        connect = {smdp.address: ("127.0.0.1", port)}
        with HttpsTransport(trust=[pki.ci.der], connect_to=connect) as http:
            result = install(card, smdp, ac, http=http)
    assert result.iccid == smdp.order(ac.matching_id).iccid
    assert smdp.order(ac.matching_id).state is OrderState.INSTALLED
    assert [n.verified for n in smdp.notifications] == [True]
