"""The persistent state of the virtual eUICC: profiles, notifications, addresses, counters.

Kept in memory, or in ``state.json`` inside a state directory (beside the credentials written
by :class:`~pyrsp.testing.euicc.identity.EuiccIdentity`) so a card survives across processes.
Byte fields are stored as hex; an RSP session (challenge, one-time keys) is never persisted,
as a real eUICC loses it on power loss.

Several handles may share one directory (the CLI and the vpcd bridge, two CLI runs): each
change is made under an ``fcntl.flock`` on ``DIR/.lock`` after reloading the state if another
handle has saved since (:class:`StateStore`), and saved atomically (a unique temporary file,
fsync, rename) before the lock is released.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyrsp.errors import UsageError

__all__ = [
    "LOCK_FILE",
    "STATE_FILE",
    "CardState",
    "NotificationRecord",
    "ProfileRecord",
    "StateStore",
]

STATE_FILE = "state.json"
LOCK_FILE = ".lock"
_FORMAT = 1
#: ISD-P AIDs: A0000005591010FFFFFFFF8900 + 2-byte counter from 0x1000 + 00 (SGP.02 style).
_ISDP_PREFIX = bytes.fromhex("A0000005591010FFFFFFFF8900")


@dataclass
class ProfileRecord:
    """An installed profile. ``metadata`` is the StoreMetadataRequest (``BF25``) as installed."""

    iccid: bytes
    isdp_aid: bytes
    metadata: bytes
    enabled: bool = False
    nickname: str | None = None
    size: int = 0
    smdp_address: str = ""
    dp_proprietary_data: bytes = b""


@dataclass
class NotificationRecord:
    """A pending notification: its metadata fields and the signed ``PendingNotification``."""

    seq_number: int
    event: str
    address: str
    iccid: bytes | None
    pending: bytes


@dataclass
class CardState:
    """Everything the eUICC keeps in non-volatile memory (SGP.22 sections 2.4 and 5.7)."""

    profiles: list[ProfileRecord] = field(default_factory=list)
    notifications: list[NotificationRecord] = field(default_factory=list)
    default_dp_address: str | None = None
    root_ds_address: str = "testrootsmds.example.com"
    next_seq_number: int = 0
    next_isdp: int = 0x1000
    capacity: int = 1 << 20

    @property
    def used_memory(self) -> int:
        """Bytes taken by installed profiles."""
        return sum(p.size for p in self.profiles)

    def new_isdp_aid(self) -> bytes:
        """A fresh ISD-P AID (never reused, even after a delete)."""
        aid = _ISDP_PREFIX + self.next_isdp.to_bytes(2, "big") + b"\x00"
        self.next_isdp += 1
        return aid

    def new_seq_number(self) -> int:
        """The next notification sequence number (0, 1, 2, ...; SGP.22 section 5.7.9)."""
        number = self.next_seq_number
        self.next_seq_number += 1
        return number

    def find(self, *, iccid: bytes | None = None, aid: bytes | None = None) -> ProfileRecord | None:
        """The profile with this ICCID or ISD-P AID, if installed."""
        for profile in self.profiles:
            if profile.iccid == iccid or profile.isdp_aid == aid:
                return profile
        return None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (bytes as hex)."""
        data = asdict(self)
        data["format"] = _FORMAT
        return _hexify(data)  # type: ignore[no-any-return]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CardState:
        """Rebuild a state saved by :meth:`to_json`."""
        if not isinstance(data, dict):
            raise UsageError(f"expected a saved eUICC state (an object), got {type(data).__name__}")
        if data.get("format") != _FORMAT:
            raise UsageError(f"expected state format {_FORMAT}, got {data.get('format')!r}")
        try:
            return cls(
                profiles=[ProfileRecord(**_unhex(p)) for p in data["profiles"]],
                notifications=[NotificationRecord(**_unhex(n)) for n in data["notifications"]],
                default_dp_address=data["default_dp_address"],
                root_ds_address=data["root_ds_address"],
                next_seq_number=data["next_seq_number"],
                next_isdp=data["next_isdp"],
                capacity=data["capacity"],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise UsageError(f"expected a saved eUICC state, got a malformed one: {exc!r}") from exc


class StateStore:
    """``state.json`` in ``directory``, shared with other handles and processes.

    :meth:`locked` holds the directory's lock; :meth:`refresh` rereads the file when it differs
    from what this store last read or wrote (so a handle's own unsaved edits survive when nobody
    else wrote); :meth:`save` writes atomically.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._seen: bytes | None = None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive lock on ``DIR/.lock`` (blocks while another handle holds it)."""
        with open(self.directory / LOCK_FILE, "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def load(self) -> CardState:
        """The saved state; :class:`UsageError` when it is missing or corrupted."""
        return self._parse(self._read())

    def refresh(self, current: CardState) -> CardState:
        """``current`` if the file is as this store last saw it, else the state saved there."""
        raw = self._read()
        return current if raw == self._seen else self._parse(raw)

    def save(self, state: CardState) -> None:
        """Write a unique temporary file, fsync it, rename it over ``state.json``."""
        raw = json.dumps(state.to_json(), indent=1, sort_keys=True).encode()
        descriptor, temporary = tempfile.mkstemp(dir=self.directory, prefix=STATE_FILE + ".")
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(raw)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.directory / STATE_FILE)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._seen = raw

    def _read(self) -> bytes:
        path = self.directory / STATE_FILE
        try:
            return path.read_bytes()
        except OSError as exc:
            raise UsageError(f"expected a readable {path}, got: {exc}") from exc

    def _parse(self, raw: bytes) -> CardState:
        path = self.directory / STATE_FILE
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise UsageError(f"expected the JSON of a saved eUICC state in {path}: {exc}") from exc
        try:
            state = CardState.from_json(data)
        except UsageError as exc:
            raise UsageError(f"{path}: {exc}") from exc
        self._seen = raw
        return state


_BYTE_FIELDS = {"iccid", "isdp_aid", "metadata", "dp_proprietary_data", "pending"}


def _hexify(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, dict):
        return {k: _hexify(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_hexify(v) for v in value]
    return value


def _unhex(record: dict[str, Any]) -> dict[str, Any]:
    return {
        k: bytes.fromhex(v) if k in _BYTE_FIELDS and isinstance(v, str) else v
        for k, v in record.items()
    }
