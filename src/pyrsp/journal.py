"""Journals for resumable workflows: where a :class:`~pyrsp.protocol.effects.Checkpoint` goes.

The renewal workflow (:mod:`pyrsp.protocol.renewal`) yields a checkpoint before each step; the
client saves it in a journal and hands the last record back on the next run, so an interrupted
renewal finishes without a second download. :class:`MemoryJournal` keeps records for the life
of the process; :class:`FileJournal` keeps one JSON file per key in a directory, written
atomically (a crash leaves the old record or the new one, never half of one).
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from pyrsp.errors import UsageError

__all__ = ["FileJournal", "Journal", "MemoryJournal"]

_KEY = re.compile(r"[A-Za-z0-9_.-]{1,128}")


@runtime_checkable
class Journal(Protocol):
    """Stores one JSON-able record per key."""

    def load(self, key: str) -> Mapping[str, Any] | None:
        """The last record saved under ``key``, or ``None``."""
        ...

    def save(self, key: str, record: Mapping[str, Any]) -> None:
        """Replace the record under ``key``."""
        ...


class MemoryJournal:
    """A journal in a dict: survives a failed run, not the process."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}

    def load(self, key: str) -> Mapping[str, Any] | None:
        """The last record saved under ``key``, or ``None``."""
        record = self.records.get(key)
        return None if record is None else dict(record)

    def save(self, key: str, record: Mapping[str, Any]) -> None:
        """Replace the record under ``key``."""
        self.records[key] = json.loads(json.dumps(record))


class FileJournal:
    """A journal in ``directory``: ``<key>.json`` per record, replaced atomically."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        if not _KEY.fullmatch(key):
            raise UsageError(f"a journal key is letters, digits, '_', '.', '-', got {key!r}")
        return self.directory / f"{key}.json"

    def load(self, key: str) -> Mapping[str, Any] | None:
        """The last record saved under ``key``, or ``None``."""
        path = self._path(key)
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise UsageError(f"the journal file {path} is unreadable: {exc}") from exc
        if not isinstance(record, dict):
            raise UsageError(f"the journal file {path} holds {type(record).__name__}, not a record")
        return record

    def save(self, key: str, record: Mapping[str, Any]) -> None:
        """Replace the record under ``key``: write a temporary file, fsync, rename."""
        path = self._path(key)
        self.directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=f".{key}.", suffix=".tmp")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as file:
                json.dump(record, file, sort_keys=True)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
