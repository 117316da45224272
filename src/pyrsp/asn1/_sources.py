"""Find the ASN.1 sources and keep their parsed form in an on-disk cache.

Parsing the ``.asn`` text is the slow part of a cold start (about half a second), so the
output of ``asn1tools.parse_files`` is stored with :mod:`marshal` under the user's cache
directory, keyed by a hash of the sources, the asn1tools version and the Python version.
Any problem with the cache (unwritable, corrupt, stale) falls back to parsing.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

_CACHE_FORMAT = "1"
_CACHE_ENV = "PYRSP_CACHE_DIR"


def source_dir() -> Path:
    """The folder holding the ``.asn`` files.

    The wheel ships them as ``pyrsp/asn1/sources/``; an editable checkout uses the
    repository's top-level ``asn1/``.
    """
    packaged = Path(str(resources.files(__package__ or "pyrsp.asn1"))) / "sources"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "asn1"


def source_files() -> list[Path]:
    """The ``.asn`` files to compile, in a stable order."""
    folder = source_dir()
    files = sorted(folder.glob("*.asn"))
    if not files:
        raise FileNotFoundError(f"no .asn files in {folder}")
    return files


def cache_dir() -> Path:
    """``$PYRSP_CACHE_DIR``, else ``$XDG_CACHE_HOME/pyrsp``, else ``~/.cache/pyrsp``."""
    explicit = os.environ.get(_CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pyrsp"


def cache_key(texts: list[bytes], asn1tools_version: str) -> str:
    """A digest that changes when the sources, asn1tools or the Python version change."""
    digest = hashlib.sha256()
    for part in (_CACHE_FORMAT, asn1tools_version, sys.version.split()[0]):
        digest.update(part.encode() + b"\0")
    for text in texts:
        digest.update(len(text).to_bytes(8, "big") + text)
    return digest.hexdigest()[:32]


def load_parsed(asn1tools_version: str) -> dict[str, Any]:
    """The parsed sources, from the cache when it is valid, else parsed and cached."""
    files = source_files()
    texts = [path.read_bytes() for path in files]
    cache_file = cache_dir() / f"rsp-parsed-{cache_key(texts, asn1tools_version)}.marshal"
    cached = _read_cache(cache_file)
    if cached is not None:
        return cached
    import asn1tools

    parsed: dict[str, Any] = asn1tools.parse_files([str(path) for path in files])
    _write_cache(cache_file, parsed)
    return parsed


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        value = marshal.loads(data)
    except (ValueError, EOFError, TypeError):
        return None
    return value if isinstance(value, dict) else None


def _write_cache(path: Path, parsed: dict[str, Any]) -> None:
    """Write atomically and drop stale entries; an unwritable cache is silently skipped."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".rsp-parsed-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(marshal.dumps(parsed))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        for stale in path.parent.glob("rsp-parsed-*.marshal"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError:
        return
