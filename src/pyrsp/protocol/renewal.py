"""The renewal workflow, sans-IO: install a new profile and retire the old one, resumably.

When a customer's plan renews, the backend downloads the new profile (SGP.22 section 3.1.3),
enables it (5.7.16; the eUICC disables the profile that was enabled), disables and optionally
deletes the old one (5.7.17, 5.7.18) and delivers every notification these steps leave
(3.5, removing each from the eUICC only once the SM-DP+ accepted it).

The workflow is resumable. Before each step it yields a :class:`Checkpoint` with a small
journal record (the ICCIDs present before the download, the stage reached, the new ICCID);
run it again with the last saved record and it finishes the job from there:

- never a second download of the same order: a profile that appeared since the journal was
  started is the one an earlier run installed, even if that run stopped before its checkpoint;
- never a lost notification: notifications stay on the eUICC until the SM-DP+ accepted them, and
  every run ends by delivering all pending ones; the journal says ``done`` only when none failed.

The journal key is a hash of the activation code, so the matching ID is not stored in clear.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pyrsp.activation_code import ActivationCode
from pyrsp.errors import ProtocolViolation, UsageError
from pyrsp.models import ProfileInfo, ProfileState
from pyrsp.protocol import es10
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.download import DeviceInfo, DownloadResult, download
from pyrsp.protocol.effects import Checkpoint, Flow, Progress
from pyrsp.protocol.notifications import NotificationOutcome, process_notifications

__all__ = ["STAGES", "RenewalResult", "journal_key", "renew"]

#: The journal's stages, in order.
STAGES = ("started", "downloaded", "enabled", "retired", "done")


@dataclass(frozen=True)
class RenewalResult:
    """What a renewal changed, and what this run found already done by an earlier run.

    ``download`` is ``None`` when an earlier run had installed the profile; ``enabled`` and
    ``old_deleted`` say what this run did; ``old_disabled`` that the old profile, enabled when
    the renewal began, is now disabled. ``complete`` is true when every pending notification
    was delivered; otherwise run again later.
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
        """Every notification delivered and removed from the eUICC."""
        return all(outcome.ok for outcome in self.notifications)


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
    refreshFlag of the enable and disable commands. Yields :class:`Checkpoint` effects to save.
    """
    if delete_old and replace is None:
        raise UsageError("delete_old needs the ICCID of the profile to replace")
    resumed = record is not None
    run = _Run(journal_key(activation_code), dict(record or {}))
    profiles = yield from es10.get_profiles_info(config)
    if not run.record:
        _check_replace(profiles, replace)
        old_enabled = any(p.iccid == replace and p.state == ProfileState.ENABLED for p in profiles)
        yield run.advance(
            "started", before=sorted(_iccids(profiles)), replace=replace, old_enabled=old_enabled
        )
    elif run.record.get("replace") != replace:
        raise UsageError(
            f"the journal is of a renewal replacing {run.record.get('replace')!r}, "
            f"not {replace!r}: finish that one or start a new journal"
        )
    installed = None
    if not run.reached("downloaded"):
        new_iccid, installed = yield from _download_once(
            run, profiles, activation_code, config, device
        )
        yield run.advance("downloaded", new_iccid=new_iccid)
    new_iccid = str(run.record["new_iccid"])
    if not run.reached("enabled"):
        yield from _enable(run, new_iccid, config, refresh)
        yield run.advance("enabled")
    if not run.reached("retired"):
        yield from _retire(run, replace, delete_old, config, refresh)
        yield run.advance("retired")
    outcomes = yield from process_notifications(config)
    if all(outcome.ok for outcome in outcomes) and not run.reached("done"):
        yield run.advance("done")
    return RenewalResult(
        new_iccid=new_iccid,
        old_iccid=replace,
        download=installed,
        enabled=run.enabled,
        old_disabled=bool(run.record.get("old_enabled")),
        old_deleted=run.old_deleted,
        notifications=tuple(outcomes),
        resumed=resumed,
    )


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
) -> Flow[tuple[str, DownloadResult | None]]:
    """The new profile's ICCID: one that appeared since the journal began, or a download."""
    appeared = _iccids(profiles) - set(run.record["before"])
    if len(appeared) > 1:
        raise ProtocolViolation(
            "expected at most one profile installed since the renewal began,"
            f" found {sorted(appeared)}"
        )
    if appeared:
        return appeared.pop(), None
    result = yield from download(activation_code, config, device=device)
    if result.iccid == run.record.get("replace"):
        raise ProtocolViolation(f"the SM-DP+ delivered the profile being replaced ({result.iccid})")
    return result.iccid, result


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
