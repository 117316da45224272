"""The SM-DP+ failing at every ES9+ step of a download (issue 9, item 3; SGP.22 3.1.3, 3.5).

For each step (initiateAuthentication, authenticateClient, getBoundProfilePackage,
handleNotification, and cancelSession itself after a failed getBoundProfilePackage) and each
way of failing (HTTP 500 with an HTML page, an empty 200, the connection dropped), the server
does its work and the answer is lost or mangled on the way (TestSmdp fault knobs). The test
checks where the download stopped, that the session was cancelled on both sides where it
could be, that the card is consistent and no notification was lost (the install notification
stays on the eUICC until the SM-DP+ accepts it), and that a retry succeeds.
"""

from __future__ import annotations

import pytest

from hostile_support import (
    HANG,
    LoopbackHttps,
    World,
    assert_all_delivered,
    attempt,
    attempt_async,
    settle,
)
from pyrsp.errors import DownloadError, HttpTransportError, ServerProtocolError
from pyrsp.protocol.notifications import process_notifications
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import FaultKind
from pyrsp.testing.smdp.orders import OrderState

SEED = 31
IA, AC, GBPP = "initiateAuthentication", "authenticateClient", "getBoundProfilePackage"
HN, CS = "handleNotification", "cancelSession"
KINDS = {
    FaultKind.HTTP_500: ServerProtocolError,
    FaultKind.EMPTY_200: ServerProtocolError,
    FaultKind.DROP: HttpTransportError,
}
#: step -> (the stage the download stops at, whether the session is cancelled)
GBPP_STAGE = "get_bound_profile_package"
STEPS = {
    IA: ("initiate_authentication", False),
    AC: ("authenticate_client", True),
    GBPP: ("get_bound_profile_package", True),
}


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=SEED)


@pytest.mark.parametrize("kind", list(KINDS), ids=[k.value for k in KINDS])
@pytest.mark.parametrize("step", list(STEPS))
def test_a_failing_step_is_cancelled_and_retried(pki: TestPki, step: str, kind: FaultKind) -> None:
    world = World.make(pki, seed=SEED)
    ac = world.smdp.add_order()
    world.smdp.inject(kind, step)
    with pytest.raises(DownloadError) as caught:
        attempt(world, ac)
    stage, cancelled = STEPS[step]
    assert caught.value.stage == stage
    assert isinstance(caught.value.__cause__, KINDS[kind])
    assert world.watched.cancel_sessions_sent() == int(cancelled)
    assert world.hostile.calls.count(CS) == int(cancelled)
    if cancelled:
        assert caught.value.cancel_reason == "undefinedReason"
        assert world.smdp.open_sessions == 0
        assert world.smdp.order(ac.matching_id).state is OrderState.RELEASED
    assert not world.card.profiles
    assert settle(world, ac) == "same order"
    assert_all_delivered(world)


#: An empty 200 to handleNotification is an acceptance (the standard answer is 204 with no body).
LOST = [FaultKind.HTTP_500, FaultKind.DROP]


@pytest.mark.parametrize("kind", LOST, ids=[k.value for k in LOST])
def test_an_undelivered_notification_stays_on_the_card(pki: TestPki, kind: FaultKind) -> None:
    """The server took the notification but its answer was lost: the client cannot know, so
    the notification stays on the eUICC and is sent again (the server takes the duplicate)."""
    world = World.make(pki, seed=SEED)
    ac = world.smdp.add_order()
    world.smdp.inject(kind, HN, times=2)
    result = attempt(world, ac)
    assert result.install.success
    assert result.notification is not None and not result.notification.sent
    (pending,) = world.card.notifications
    assert pending.seq_number == result.notification.seq_number
    assert world.smdp.order(ac.matching_id).state is OrderState.INSTALLED
    with world.client() as client:  # the second delivery fails too: still on the card
        (outcome,) = client.run(process_notifications(client.config))
    assert (outcome.sent, outcome.removed) == (False, False)
    assert [n.seq_number for n in world.card.notifications] == [pending.seq_number]
    assert settle(world, ac) == "installed"  # the third is accepted, then removed
    assert_all_delivered(world)


@pytest.mark.parametrize("kind", list(KINDS), ids=[k.value for k in KINDS])
def test_a_lost_cancel_session_answer(pki: TestPki, kind: FaultKind) -> None:
    """getBoundProfilePackage's answer is lost, then cancelSession's: the server did cancel,
    the order is released, the retry downloads it again."""
    world = World.make(pki, seed=SEED)
    ac = world.smdp.add_order()
    world.smdp.inject(FaultKind.HTTP_500, GBPP)
    world.smdp.inject(kind, CS)
    with pytest.raises(DownloadError) as caught:
        attempt(world, ac)
    assert (caught.value.stage, caught.value.cancel_reason) == (GBPP_STAGE, "undefinedReason")
    assert world.watched.cancel_sessions_sent() == 1
    assert world.smdp.order(ac.matching_id).state is OrderState.RELEASED
    assert settle(world, ac) == "same order"
    assert_all_delivered(world)


def test_a_lost_cancel_session_request(pki: TestPki) -> None:
    """The cancelSession request never reaches the server: it keeps the order bound to the
    card's one-time key, which the card kept (SGP.22 3.1.3.3), so the retry is served the same
    package again and installs it."""
    world = World.make(pki, seed=SEED)
    ac = world.smdp.add_order()
    world.smdp.inject(FaultKind.HTTP_500, GBPP)
    world.hostile.lose.add(CS)
    with pytest.raises(DownloadError) as caught:
        attempt(world, ac)
    assert (caught.value.stage, caught.value.cancel_reason) == (GBPP_STAGE, "undefinedReason")
    assert world.smdp.order(ac.matching_id).state is OrderState.DOWNLOADED
    world.hostile.lose.clear()
    assert settle(world, ac) == "same order"
    assert_all_delivered(world)


@pytest.mark.parametrize("driver", ["sync", "async"])
def test_a_silent_notification_server_keeps_the_notification(pki: TestPki, driver: str) -> None:
    """Over real sockets, handleNotification never answers: the client gives up after its
    timeout, the profile is installed and its notification stays on the eUICC for later."""
    world = World.make(pki, seed=SEED)
    ac = world.smdp.add_order()
    with LoopbackHttps(world.hostile, pki.dp_tls, {HN: HANG}) as server:
        world.http_options = {
            "trust": pki.ci_certificates,
            "connect_to": {pki.smdp_host: ("127.0.0.1", server.port)},
            "timeout": 0.3,
        }
        result = (attempt if driver == "sync" else attempt_async)(world, ac)
    assert result.install.success and result.notification is not None
    assert result.notification.error_type == "ServerTimeoutError"
    assert [n.seq_number for n in world.card.notifications] == [result.notification.seq_number]
    world.http_options = {}
    assert settle(world, ac) == "installed"
    assert_all_delivered(world)
