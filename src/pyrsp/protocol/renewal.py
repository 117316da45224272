"""The renewal workflow, sans-IO: install a new profile and retire the old one, resumably.

When a customer's plan renews, the backend downloads the new profile (SGP.22 section 3.1.3),
enables it (5.7.16; the eUICC disables the profile that was enabled), disables and optionally
deletes the old one (5.7.17, 5.7.18) and delivers every notification these steps leave
(3.5, removing each from the eUICC only once the SM-DP+ accepted it).

The workflow is resumable. Before each step it yields a :class:`Checkpoint` with a small
journal record (the stage reached, the ICCIDs present before the download, the ICCID the
SM-DP+ announced, then the new ICCID); run it again with the last saved record and it finishes
the job from there:

- never a second download of the same order: once the SM-DP+ has announced the profile's ICCID
  (in the metadata the user consents to), that ICCID is journaled before the profile is loaded,
  so a profile with it found on the eUICC is the one an earlier run installed, even if that run
  stopped before its next checkpoint. Any other profile that appeared meanwhile is not ours;
- never a lost notification: notifications stay on the eUICC until the SM-DP+ accepted them, and
  every run ends by delivering all pending ones. The journal says ``done`` once those of the new
  and the old profile are delivered (others on the card are tried too, and reported).

The journal key is a hash of the activation code, so the matching ID is not stored in clear.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from pyrsp.activation_code import ActivationCode
from pyrsp.errors import ProtocolViolation, UsageError
from pyrsp.models import ProfileInfo, ProfileState
from pyrsp.protocol import es10
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.download import DeviceInfo, DownloadResult, download
from pyrsp.protocol.effects import Checkpoint, ConfirmDownload, Effect, Flow, Progress
from pyrsp.protocol.notifications import NotificationOutcome, process_notifications

__all__ = ["STAGES", "RenewalResult", "journal_key", "renew"]

#: The journal's stages, in order.
STAGES = ("started", "downloaded", "enabled", "retired", "done")

T = TypeVar("T")


@dataclass(frozen=True)
class RenewalResult:
    """What a renewal changed, and what this run found already done by an earlier run.

    ``download`` is ``None`` when an earlier run had installed the profile; ``enabled`` and
    ``old_deleted`` say what this run did; ``old_disabled`` that the old profile, enabled when
    the renewal began, is now disabled. ``notifications`` reports every notification this run
    tried, the new and old profiles' and any others pending on the card. ``complete`` is true
    when those of the new and the old profile were all delivered; otherwise run again later.
    """

    new_iccid: str
    old_iccid: str | None
    download: DownloadResult | None
    enabled: bool
    old_disabled: bool
    old_deleted: bool
    notifications: tuple[NotificationOutcome, ...]
    resumed: bool

    @property
    def complete(self) -> bool:
        """The new and the old profile's notifications all delivered and removed."""
        return _delivered(self.notifications, {self.new_iccid, self.old_iccid})


def journal_key(activation_code: ActivationCode) -> str:
    """The journal key of a renewal: a SHA-256 of the activation code (no matching ID in clear)."""
    return "renewal-" + hashlib.sha256(str(activation_code).encode()).hexdigest()[:32]


@dataclass
class _Run:
    """One run of the workflow: the journal record and what this run did."""

    key: str
    record: dict[str, Any]
    enabled: bool = False
    old_deleted: bool = False

    def reached(self, stage: str) -> bool:
        return STAGES.index(self.record["stage"]) >= STAGES.index(stage)

    def advance(self, stage: str, **fields: Any) -> Checkpoint:
        self.record = {**self.record, **fields, "stage": stage}
        return self.save()

    def save(self, **fields: Any) -> Checkpoint:
        self.record = {**self.record, **fields}
        return Checkpoint(self.key, dict(self.record))


def renew(
    activation_code: ActivationCode,
    config: ApduConfig,
    *,
    replace: str | None = None,
    delete_old: bool = False,
    record: Mapping[str, Any] | None = None,
    device: DeviceInfo | None = None,
    refresh: bool = False,
) -> Flow[RenewalResult]:
    """Install the profile of ``activation_code`` and retire ``replace`` (an ICCID).

    ``record`` is the journal record the last run saved (``None`` for a first run);
    ``delete_old`` deletes the old profile after disabling it; ``refresh`` sets the
    refreshFlag of the enable and disable commands (SGP.22 5.7.16). Yields :class:`Checkpoint`
    effects to save, besides the download's effects.
    """
    if delete_old and replace is None:
        raise UsageError("delete_old needs the ICCID of the profile to replace")
    run = _Run(journal_key(activation_code), _checked_record(record, replace))
    profiles = yield from es10.get_profiles_info(config)
    if not run.record:
        _check_replace(profiles, replace)
        old_enabled = any(p.iccid == replace and p.state == ProfileState.ENABLED for p in profiles)
        yield run.advance(
            "started", before=sorted(_iccids(profiles)), replace=replace, old_enabled=old_enabled
        )
    installed = None
    if not run.reached("downloaded"):
        installed = yield from _download_once(run, profiles, activation_code, config, device)
    new_iccid = str(run.record["new_iccid"])
    if not run.reached("enabled"):
        yield from _enable(run, new_iccid, config, refresh)
        yield run.advance("enabled")
    if not run.reached("retired"):
        yield from _retire(run, replace, delete_old, config, refresh)
        yield run.advance("retired")
    outcomes = tuple((yield from process_notifications(config)))
    if _delivered(outcomes, {new_iccid, replace}) and not run.reached("done"):
        yield run.advance("done")
    return RenewalResult(
        new_iccid=new_iccid,
        old_iccid=replace,
        download=installed,
        enabled=run.enabled,
        old_disabled=bool(run.record.get("old_enabled")),
        old_deleted=run.old_deleted,
        notifications=outcomes,
        resumed=record is not None,
    )


def _checked_record(record: Mapping[str, Any] | None, replace: str | None) -> dict[str, Any]:
    """The journal record as a dict, refused with :class:`UsageError` if it is not one of ours."""
    if record is None:
        return {}
    stage = record.get("stage")
    problem = ""
    if stage not in STAGES:
        problem = f"stage {stage!r} is none of {', '.join(STAGES)}"
    elif not isinstance(record.get("before"), list):
        problem = "it has no list of the ICCIDs present before the download"
    elif stage != "started" and not isinstance(record.get("new_iccid"), str):
        problem = f"stage {stage!r} without the new profile's ICCID"
    elif record.get("replace") != replace:
        problem = f"it is of a renewal replacing {record.get('replace')!r}, not {replace!r}"
    if problem:
        raise UsageError(
            f"expected a renewal journal record, got one where {problem}: finish that renewal "
            "or start a new journal"
        )
    return dict(record)


def _delivered(outcomes: Iterable[NotificationOutcome], iccids: set[str | None]) -> bool:
    return all(outcome.ok for outcome in outcomes if outcome.iccid in iccids)


def _iccids(profiles: list[ProfileInfo]) -> set[str]:
    return {p.iccid for p in profiles if p.iccid}


def _check_replace(profiles: list[ProfileInfo], replace: str | None) -> None:
    if replace is not None and replace not in _iccids(profiles):
        raise UsageError(f"there is no profile {replace} on the eUICC to replace")


def _download_once(
    run: _Run,
    profiles: list[ProfileInfo],
    activation_code: ActivationCode,
    config: ApduConfig,
    device: DeviceInfo | None,
) -> Flow[DownloadResult | None]:
    """Install the new profile unless an earlier run did; journal its ICCID either way."""
    announced = run.record.get("announced_iccid")
    if announced in _iccids(profiles) - set(run.record["before"]):
        yield run.advance("downloaded", new_iccid=announced)
        return None

    def journal_announcement(effect: Effect) -> Iterable[Effect]:
        if isinstance(effect, ConfirmDownload):
            yield run.save(announced_iccid=effect.metadata.iccid)

    result = yield from _watched(
        download(activation_code, config, device=device), journal_announcement
    )
    if result.iccid == run.record.get("replace"):
        raise ProtocolViolation(f"the SM-DP+ delivered the profile being replaced ({result.iccid})")
    yield run.advance("downloaded", new_iccid=result.iccid)
    return result


def _watched(flow: Flow[T], before: Callable[[Effect], Iterable[Effect]]) -> Flow[T]:
    """Run ``flow`` as ``yield from`` would, yielding ``before(effect)`` ahead of each effect."""
    answer: Any = None
    error: BaseException | None = None
    while True:
        try:
            effect = flow.send(answer) if error is None else flow.throw(error)
        except StopIteration as stop:
            result: T = stop.value
            return result
        yield from before(effect)
        try:
            answer, error = (yield effect), None
        except GeneratorExit:
            flow.close()
            raise
        except BaseException as exc:  # the driver's error goes to the flow, as with yield from
            answer, error = None, exc


def _profile(config: ApduConfig, iccid: str) -> Flow[ProfileInfo | None]:
    found = yield from es10.get_profiles_info(config, iccid=iccid)
    return found[0] if found else None


def _enable(run: _Run, iccid: str, config: ApduConfig, refresh: bool) -> Flow[None]:
    yield Progress("enable")
    profile = yield from _profile(config, iccid)
    if profile is None:
        raise ProtocolViolation(f"the new profile {iccid} is no longer on the eUICC")
    if profile.state != ProfileState.ENABLED:
        yield from es10.enable_profile(config, iccid, refresh=refresh)
        run.enabled = True


def _retire(
    run: _Run, old: str | None, delete_old: bool, config: ApduConfig, refresh: bool
) -> Flow[None]:
    if old is None:
        return
    yield Progress("retire")
    profile = yield from _profile(config, old)
    if profile is None:
        return  # an earlier run deleted it
    if profile.state == ProfileState.ENABLED:
        yield from es10.disable_profile(config, old, refresh=refresh)
    if delete_old:
        yield from es10.delete_profile(config, old)
        run.old_deleted = True
