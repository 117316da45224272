"""A backend renewal job: renew the profile on many eUICCs at once with AsyncRspClient.

Each job names a card, the activation code of the new plan and the ICCID it replaces. Jobs run
concurrently (bounded by a semaphore); each journals its progress, so a job that fails (a card
pulled, the SM-DP+ down) finishes on the next run of the job without a second download.

Run as a script, it demonstrates itself with the built-in doubles: eight virtual eUICCs, the
test SM-DP+ over real HTTPS on loopback, all renewed at once::

    python examples/renewal_job.py
"""

from __future__ import annotations

import asyncio
import random
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyrsp import AsyncRspClient, FileJournal, Journal, PyrspError, RenewalResult
from pyrsp.transports import AsyncHttpsTransport


@dataclass(frozen=True)
class Job:
    """One renewal: which card, the new plan's activation code, the profile it replaces."""

    card: Any  # an AsyncCardTransport, a CardTransport or a VirtualEuicc
    activation_code: str
    replace: str | None


async def renew_one(
    job: Job, make_http: Callable[[], AsyncHttpsTransport], journal: Journal
) -> RenewalResult:
    """Renew one card: download, enable, delete the old profile, deliver every notification."""
    async with AsyncRspClient(job.card, make_http()) as client:
        return await client.renew(
            job.activation_code, replace=job.replace, delete_old=True, journal=journal
        )


async def renew_all(
    jobs: Sequence[Job],
    make_http: Callable[[], AsyncHttpsTransport],
    journal: Journal,
    *,
    concurrency: int = 16,
) -> list[RenewalResult | PyrspError]:
    """Run every job, at most ``concurrency`` at a time; a failure is returned, not raised."""
    gate = asyncio.Semaphore(concurrency)

    async def run(job: Job) -> RenewalResult | PyrspError:
        async with gate:
            try:
                return await renew_one(job, make_http, journal)
            except PyrspError as error:
                return error

    return await asyncio.gather(*(run(job) for job in jobs))


def demo(cards: int = 8) -> list[RenewalResult | PyrspError]:
    """Renew ``cards`` virtual eUICCs against the test SM-DP+ over HTTPS; print a summary."""
    from pyrsp import RspClient
    from pyrsp.testing import TestPki, TestSmdp, VirtualEuicc
    from pyrsp.transports import HttpsTransport

    pki = TestPki.generate(seed=7)
    smdp = TestSmdp(pki, rng=7)
    jobs = []
    with smdp.serve_https() as url:
        # connect to the loopback port, but check the TLS host name of the SM-DP+ address
        port = int(url.rsplit(":", 1)[1])
        connect_to = {pki.smdp_host: ("127.0.0.1", port)}
        for n in range(cards):
            card = VirtualEuicc(pki, rng=random.Random(n))
            old = smdp.add_order(profile_name="Plan 2025")
            with RspClient(
                card, HttpsTransport(trust=pki.ci_certificates, connect_to=connect_to)
            ) as client:
                old_iccid = client.download(old).iccid
                client.enable(old_iccid)
            jobs.append(Job(card, str(smdp.add_order(profile_name="Plan 2026")), old_iccid))

        def make_http() -> AsyncHttpsTransport:
            return AsyncHttpsTransport(trust=pki.ci_certificates, connect_to=connect_to)

        with tempfile.TemporaryDirectory() as folder:
            results = asyncio.run(renew_all(jobs, make_http, FileJournal(Path(folder))))
    for job, result in zip(jobs, results, strict=True):
        if isinstance(result, PyrspError):
            print(f"{job.replace}: failed: {result}")
        else:
            print(
                f"{result.old_iccid} -> {result.new_iccid}: "
                f"{'complete' if result.complete else 'notifications pending'}"
            )
    return results


if __name__ == "__main__":
    outcome = demo()
    raise SystemExit(0 if all(isinstance(r, RenewalResult) and r.complete for r in outcome) else 1)
