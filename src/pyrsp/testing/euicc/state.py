"""The persistent state of the virtual eUICC: profiles, notifications, addresses, counters.

Kept in memory, or in ``state.json`` inside a state directory (beside the credentials written
by :class:`~pyrsp.testing.euicc.identity.EuiccIdentity`) so a card survives across processes.
Byte fields are stored as hex; an RSP session (challenge, one-time keys) is never persisted,
as a real eUICC loses it on power loss.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pyrsp.errors import UsageError

__all__ = ["STATE_FILE", "CardState", "NotificationRecord", "ProfileRecord"]

STATE_FILE = "state.json"
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
        if data.get("format") != _FORMAT:
            raise UsageError(f"expected state format {_FORMAT}, got {data.get('format')!r}")
        try:
            profiles = [ProfileRecord(**_unhex(p)) for p in data["profiles"]]
            notifications = [NotificationRecord(**_unhex(n)) for n in data["notifications"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"expected a saved eUICC state, got a malformed one: {exc}") from exc
        return cls(
            profiles=profiles,
            notifications=notifications,
            default_dp_address=data["default_dp_address"],
            root_ds_address=data["root_ds_address"],
            next_seq_number=data["next_seq_number"],
            next_isdp=data["next_isdp"],
            capacity=data["capacity"],
        )

    def save(self, directory: Path) -> None:
        """Write ``state.json`` atomically (write a temporary file, then rename)."""
        data = self.to_json()
        temporary = directory / (STATE_FILE + ".tmp")
        temporary.write_text(json.dumps(data, indent=1, sort_keys=True))
        os.replace(temporary, directory / STATE_FILE)

    @classmethod
    def load(cls, directory: Path) -> CardState:
        """Read ``state.json`` from ``directory``."""
        path = directory / STATE_FILE
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"expected a readable {path}, got: {exc}") from exc
        return cls.from_json(data)


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
