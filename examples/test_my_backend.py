"""Testing your own backend with VirtualEuicc and TestSmdp (run with pytest).

Your backend orders a profile from the SM-DP+ (here ``TestSmdp.add_order`` stands in for the
operator's ES2+ order) and provisions it on the customer's eUICC with pyrsp. The doubles let
you test that code end to end, with no card and no server: the eUICC checks every signature and
certificate a real one does, and the SM-DP+ records what it received.

    python -m pytest examples/test_my_backend.py
"""

from __future__ import annotations

import pytest

from pyrsp import DownloadError, RspClient
from pyrsp.testing import TestPki, TestSmdp, VirtualEuicc
from pyrsp.transports import HttpsTransport


class ProvisioningService:
    """The code under test: a tiny backend that switches a customer to a new plan."""

    def __init__(self, smdp: TestSmdp) -> None:
        self.smdp = smdp

    def switch_plan(self, client: RspClient, plan: str, current_iccid: str | None) -> str:
        code = self.smdp.add_order(profile_name=plan, service_provider="Example Mobile")
        result = client.renew(code, replace=current_iccid, delete_old=current_iccid is not None)
        if not result.complete:
            raise RuntimeError("notifications left for the worker")
        return result.new_iccid


@pytest.fixture
def lab() -> tuple[VirtualEuicc, TestSmdp]:
    pki = TestPki.generate(seed=42)
    return VirtualEuicc(pki), TestSmdp(pki)


def test_switching_plans_leaves_one_enabled_profile(lab: tuple[VirtualEuicc, TestSmdp]) -> None:
    card, smdp = lab
    service = ProvisioningService(smdp)
    with RspClient(card, HttpsTransport(transport=smdp.httpx_transport())) as client:
        first = service.switch_plan(client, "Basic", None)
        second = service.switch_plan(client, "Unlimited", first)
        profiles = client.profiles()
    assert [(p.iccid, p.profile_name, p.state) for p in profiles] == [
        (second, "Unlimited", "enabled")
    ]
    events = [(n.event, n.iccid) for n in smdp.notifications]
    assert ("install", second) in events and ("delete", first) in events


def test_a_failing_server_leaves_the_customer_on_the_old_plan(
    lab: tuple[VirtualEuicc, TestSmdp],
) -> None:
    card, smdp = lab
    service = ProvisioningService(smdp)
    with RspClient(card, HttpsTransport(transport=smdp.httpx_transport())) as client:
        first = service.switch_plan(client, "Basic", None)
        smdp.inject("http500", "getBoundProfilePackage")
        with pytest.raises(DownloadError, match="get_bound_profile_package"):
            service.switch_plan(client, "Unlimited", first)
        assert [(p.iccid, p.state) for p in client.profiles()] == [(first, "enabled")]
