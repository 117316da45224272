"""The renewal workflow (issue 8): download, enable, retire the old profile, deliver everything.

Interrupted anywhere (the card pulled at any APDU, the SM-DP+ failing, the process stopping
between steps), running it again with the same journal finishes the job: the end state is
right, the order was installed once, and no notification was lost.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from pyrsp.activation_code import ActivationCode
from pyrsp.client import AsyncRspClient, RspClient
from pyrsp.errors import DownloadError, PyrspError, SmdpError, UsageError
from pyrsp.journal import FileJournal, MemoryJournal
from pyrsp.protocol.notifications import NotificationOutcome
from pyrsp.protocol.renewal import STAGES, RenewalResult, journal_key
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import OrderState, TestSmdp
from pyrsp.transports.http import AsyncHttpsTransport, HttpsTransport


@dataclass
class Lab:
    card: VirtualEuicc
    smdp: TestSmdp
    old_iccid: str
    old_code: ActivationCode
    new_code: ActivationCode

    def client(self) -> RspClient:
        return RspClient(self.card, HttpsTransport(transport=self.smdp.httpx_transport()))

    def installs(self, code: ActivationCode) -> int:
        order = self.smdp.order(code.matching_id)
        return [*order.history, order.state].count(OrderState.INSTALLED)

    def received(self) -> Counter[tuple[str, str | None]]:
        return Counter((n.event, n.iccid) for n in self.smdp.notifications)


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=11)


@pytest.fixture
def lab(pki: TestPki) -> Lab:
    return _fresh_lab(pki)


def assert_renewed(lab: Lab, *, deleted: bool) -> None:
    states = {p.iccid: p.enabled for p in lab.card.profiles}
    expected = {"8944476500000000029": True}
    if not deleted:
        expected[lab.old_iccid] = False
    assert states == expected
    assert lab.installs(lab.new_code) == 1
    assert lab.card.notifications == ()
    received = lab.received()
    assert received[("install", "8944476500000000029")] >= 1
    assert received[("enable", "8944476500000000029")] >= 1
    if deleted:
        assert received[("delete", lab.old_iccid)] >= 1


@pytest.mark.parametrize("delete_old", [False, True])
def test_renewal_installs_enables_retires_and_reports(lab: Lab, delete_old: bool) -> None:
    journal = MemoryJournal()
    with lab.client() as client:
        result = client.renew(
            lab.new_code, replace=lab.old_iccid, delete_old=delete_old, journal=journal
        )
    assert result.download is not None and result.download.profile_name == "Plan 2026"
    assert (result.new_iccid, result.old_iccid) == ("8944476500000000029", lab.old_iccid)
    assert result.enabled and result.old_disabled and result.old_deleted is delete_old
    assert result.complete and not result.resumed
    assert_renewed(lab, deleted=delete_old)
    assert journal.load(journal_key(lab.new_code)) is not None
    assert dict(journal.load(journal_key(lab.new_code)) or {})["stage"] == "done"


def test_a_second_run_changes_nothing(lab: Lab) -> None:
    journal = MemoryJournal()
    with lab.client() as client:
        client.renew(lab.new_code, replace=lab.old_iccid, journal=journal)
        again = client.renew(lab.new_code, replace=lab.old_iccid, journal=journal)
    assert again.resumed and again.download is None and not again.enabled
    assert again.notifications == ()
    assert_renewed(lab, deleted=False)


@pytest.mark.anyio
async def test_async_renewal(lab: Lab) -> None:
    http = AsyncHttpsTransport(transport=lab.smdp.httpx_transport())
    async with AsyncRspClient(lab.card, http) as client:
        result = await client.renew(lab.new_code, replace=lab.old_iccid, delete_old=True)
    assert result.complete and result.old_deleted
    assert_renewed(lab, deleted=True)


def test_replacing_a_profile_that_is_not_there_is_a_usage_error(lab: Lab) -> None:
    with lab.client() as client, pytest.raises(UsageError, match="no profile 894400"):
        client.renew(lab.new_code, replace="8944000000000000000")
    assert lab.installs(lab.new_code) == 0


def test_a_journal_of_another_renewal_is_refused(lab: Lab) -> None:
    journal = MemoryJournal()
    with lab.client() as client:
        client.renew(lab.new_code, journal=journal)
        with pytest.raises(
            UsageError, match="of a renewal replacing None, not '8944476500000000011'"
        ):
            client.renew(lab.new_code, replace=lab.old_iccid, journal=journal)


def _count_apdus(pki: TestPki) -> int:
    """How many APDUs an uninterrupted renewal sends, measured on a fresh lab."""
    lab = _fresh_lab(pki)
    before = lab.card.faults.count
    with lab.client() as client:
        client.renew(lab.new_code, replace=lab.old_iccid, delete_old=True)
    return lab.card.faults.count - before


def _fresh_lab(pki: TestPki) -> Lab:
    card = VirtualEuicc(pki, rng=random.Random(5))
    smdp = TestSmdp(pki, rng=6)
    old_code = smdp.add_order(profile_name="Plan 2025", iccid="8944476500000000011")
    new_code = smdp.add_order(profile_name="Plan 2026", iccid="8944476500000000029")
    lab = Lab(card, smdp, "8944476500000000011", old_code, new_code)
    with lab.client() as client:
        client.download(old_code)
        client.enable(lab.old_iccid)
        client.process_notifications()
    return lab


def _finish(lab: Lab, journal: Any) -> None:
    """Rerun until done, as an operator would: re-release an order the SM-DP+ refuses."""
    for _ in range(3):
        lab.card.reset()
        try:
            with lab.client() as client:
                result = client.renew(
                    lab.new_code, replace=lab.old_iccid, delete_old=True, journal=journal
                )
        except DownloadError as exc:
            assert isinstance(exc.__cause__, SmdpError), exc
            lab.smdp.release(lab.new_code.matching_id)
            continue
        if result.complete:
            return
    pytest.fail("the renewal did not finish in three reruns")


def test_card_pulled_at_every_apdu_then_rerun(pki: TestPki) -> None:
    total = _count_apdus(pki)
    assert total > 30
    for n in range(1, total + 1):
        lab = _fresh_lab(pki)
        journal = MemoryJournal()
        lab.card.faults.drop(at=lab.card.faults.count + n)
        try:
            with lab.client() as client:
                result = client.renew(
                    lab.new_code, replace=lab.old_iccid, delete_old=True, journal=journal
                )
        except PyrspError:
            pass
        else:  # pulled while notifications were sent (reported, not raised) or at the closing
            assert not result.complete or n == total, f"the pull at APDU {n} went unnoticed"
        _finish(lab, journal)
        assert_renewed(lab, deleted=True)


@pytest.mark.parametrize(
    "step", ["initiateAuthentication", "authenticateClient", "getBoundProfilePackage"]
)
def test_server_failing_at_each_download_step_then_rerun(pki: TestPki, step: str) -> None:
    lab = _fresh_lab(pki)
    journal = MemoryJournal()
    lab.smdp.inject("http500", step)
    with pytest.raises(DownloadError), lab.client() as client:
        client.renew(lab.new_code, replace=lab.old_iccid, delete_old=True, journal=journal)
    assert lab.installs(lab.new_code) == 0
    _finish(lab, journal)
    assert_renewed(lab, deleted=True)


def test_notifications_failing_are_kept_and_delivered_by_the_rerun(pki: TestPki) -> None:
    lab = _fresh_lab(pki)
    journal = MemoryJournal()
    lab.smdp.inject("http500", "handleNotification", times=10)
    with lab.client() as client:
        first = client.renew(lab.new_code, replace=lab.old_iccid, delete_old=True, journal=journal)
    events = sorted(n.event for n in lab.card.notifications)
    assert not first.complete and events == ["delete", "disable", "enable", "install"]
    assert dict(journal.load(journal_key(lab.new_code)) or {})["stage"] == "retired"
    lab.smdp.clear_faults()
    _finish(lab, journal)
    assert_renewed(lab, deleted=True)


class StopError(Exception):
    """The process dies: raised by the journal after its n-th save."""


class DyingJournal(FileJournal):
    """Dies at its ``saves``-th save, after writing it (``keep_last``) or before."""

    def __init__(self, directory: Path, saves: int, *, keep_last: bool = True) -> None:
        super().__init__(directory)
        self.saves = saves
        self.keep_last = keep_last

    def save(self, key: str, record: Any) -> None:
        self.saves -= 1
        if self.saves > 0 or self.keep_last:
            super().save(key, record)
        if self.saves == 0:
            raise StopError


@pytest.mark.parametrize("saves", range(1, len(STAGES) + 2))  # + the announced ICCID
def test_process_stopped_after_each_checkpoint_then_rerun(
    pki: TestPki, tmp_path: Path, saves: int
) -> None:
    lab = _fresh_lab(pki)
    with pytest.raises(StopError), lab.client() as client:
        client.renew(
            lab.new_code,
            replace=lab.old_iccid,
            delete_old=True,
            journal=DyingJournal(tmp_path, saves),
        )
    _finish(lab, FileJournal(tmp_path))
    assert_renewed(lab, deleted=True)
    record = FileJournal(tmp_path).load(journal_key(lab.new_code))
    assert record is not None and record["stage"] == "done"


def test_stopped_after_install_before_its_checkpoint_is_not_downloaded_twice(
    pki: TestPki, tmp_path: Path
) -> None:
    lab = _fresh_lab(pki)
    journal = FileJournal(tmp_path)
    # saved: started, then the ICCID the SM-DP+ announced; the process dies after installing,
    # before the third checkpoint ("downloaded") is written
    dying = DyingJournal(tmp_path, saves=3, keep_last=False)
    with pytest.raises(StopError), lab.client() as client:
        client.renew(lab.new_code, replace=lab.old_iccid, journal=dying)
    saved = dict(journal.load(journal_key(lab.new_code)) or {})
    assert (saved["stage"], saved["announced_iccid"]) == ("started", "8944476500000000029")
    assert lab.installs(lab.new_code) == 1
    with lab.client() as client:
        again = client.renew(lab.new_code, replace=lab.old_iccid, journal=journal)
    assert again.resumed and again.download is None and again.complete
    assert lab.installs(lab.new_code) == 1
    assert_renewed(lab, deleted=False)


def test_a_profile_installed_by_someone_else_meanwhile_is_not_taken_for_ours(
    pki: TestPki,
) -> None:
    lab = _fresh_lab(pki)
    journal = MemoryJournal()
    lab.smdp.inject("http500", "initiateAuthentication")
    with pytest.raises(DownloadError), lab.client() as client:
        client.renew(lab.new_code, replace=lab.old_iccid, journal=journal)
    foreign = lab.smdp.add_order(profile_name="Someone else's", iccid="8944476500000000037")
    with lab.client() as client:
        client.download(foreign)
        result = client.renew(lab.new_code, replace=lab.old_iccid, journal=journal)
    assert result.download is not None and result.new_iccid == "8944476500000000029"
    states = {p.iccid: p.enabled for p in lab.card.profiles}
    assert states == {
        lab.old_iccid: False,
        "8944476500000000029": True,
        "8944476500000000037": False,
    }


@pytest.mark.parametrize(
    "record",
    [
        {"stage": "bogus", "before": [], "replace": None},
        {"before": [], "replace": None},
        {"stage": "downloaded", "before": [], "replace": None},
        {"stage": "started", "replace": None},
    ],
    ids=["unknown stage", "no stage", "no new ICCID", "no before list"],
)
def test_a_malformed_journal_record_is_a_usage_error(lab: Lab, record: dict[str, Any]) -> None:
    journal = MemoryJournal()
    journal.save(journal_key(lab.new_code), record)
    with lab.client() as client, pytest.raises(UsageError, match="expected a renewal journal"):
        client.renew(lab.new_code, journal=journal)
    assert lab.installs(lab.new_code) == 0


def _outcome(iccid: str, ok: bool) -> NotificationOutcome:
    return NotificationOutcome(0, "install", "smdp.example.com", iccid, sent=ok, removed=ok)


def test_complete_counts_only_the_new_and_old_profiles_notifications() -> None:
    foreign_failed = _outcome("8900000000000000001", ok=False)
    result = RenewalResult(
        new_iccid="8944476500000000029",
        old_iccid="8944476500000000011",
        download=None,
        enabled=True,
        old_disabled=True,
        old_deleted=False,
        notifications=(_outcome("8944476500000000029", ok=True), foreign_failed),
        resumed=False,
    )
    assert result.complete
    ours_failed = replace(result, notifications=(_outcome("8944476500000000011", ok=False),))
    assert not ours_failed.complete
