"""A notification worker: deliver every pending notification, retrying until the SM-DP+ takes it.

A notification leaves the eUICC only once the SM-DP+ accepted it, so a worker can simply run
``process_notifications`` in rounds, with a growing pause between them, until nothing is left
(or give up for now: what failed stays on the eUICC for the next run).

Run as a script, it demonstrates itself with the built-in doubles: a test SM-DP+ that fails the
first attempts with HTTP 500, and a worker that still delivers everything::

    python examples/notification_worker.py
"""

from __future__ import annotations

import time
from collections.abc import Callable

from pyrsp import NotificationOutcome, RspClient


def deliver_pending(
    open_client: Callable[[], RspClient],
    *,
    rounds: int = 5,
    first_pause: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> list[NotificationOutcome]:
    """Process the card's notifications until none fails; returns every outcome, in order."""
    history: list[NotificationOutcome] = []
    pause = first_pause
    for _ in range(rounds):
        with open_client() as client:
            outcomes = client.process_notifications()
        history.extend(outcomes)
        if all(outcome.ok for outcome in outcomes):
            break
        sleep(pause)
        pause *= 2
    return history


def demo() -> list[NotificationOutcome]:
    """Leave notifications on a virtual card while the SM-DP+ fails, then deliver them."""
    from pyrsp.testing import TestPki, TestSmdp, VirtualEuicc
    from pyrsp.transports import HttpsTransport

    pki = TestPki.generate(seed=9)
    smdp = TestSmdp(pki, rng=9)
    card = VirtualEuicc(pki)

    def open_client() -> RspClient:
        return RspClient(card, HttpsTransport(transport=smdp.httpx_transport()))

    smdp.inject("http500", "handleNotification", times=4)
    with open_client() as client:
        installed = client.download(smdp.add_order(profile_name="Worker demo"))
        client.enable(installed.iccid)
    print(f"pending on the card: {len(card.notifications)}")
    history = deliver_pending(open_client, first_pause=0.01)
    for outcome in history:
        status = "delivered" if outcome.ok else f"failed ({outcome.error_type})"
        print(f"  #{outcome.seq_number} {outcome.event}: {status}")
    print(f"pending on the card: {len(card.notifications)}")
    return history


if __name__ == "__main__":
    demo()
