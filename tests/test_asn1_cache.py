"""Lazy compilation and the on-disk cache of the parsed schema (pyrsp.asn1._sources)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import asn1tools
import pytest

from pyrsp.asn1 import _sources

FAKE_PARSED: dict[str, Any] = {"RSPDefinitions": {"types": {"Fake": {"type": "NULL"}}}}


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("PYRSP_CACHE_DIR", str(folder))
    return folder


@pytest.fixture
def parse_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace the (slow) parser by a fake that records its calls."""
    calls: list[list[str]] = []

    def fake_parse(files: list[str]) -> dict[str, Any]:
        calls.append(files)
        return FAKE_PARSED

    monkeypatch.setattr(asn1tools, "parse_files", fake_parse)
    return calls


@pytest.mark.parametrize("module", ["pyrsp", "pyrsp.asn1"])
def test_import_compiles_nothing(module: str) -> None:
    probe = f"import sys, {module}; print('asn1tools' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_sources_are_found_in_the_checkout() -> None:
    names = [path.name for path in _sources.source_files()]
    assert "rsp.asn" in names
    assert "pkix.asn" in names


def test_first_load_parses_and_writes_the_cache(cache: Path, parse_calls: list[Any]) -> None:
    assert _sources.load_parsed("0.0-test") == FAKE_PARSED
    assert len(parse_calls) == 1
    assert len(list(cache.glob("rsp-parsed-*.marshal"))) == 1


def test_warm_cache_skips_the_parser(cache: Path, parse_calls: list[Any]) -> None:
    _sources.load_parsed("0.0-test")
    assert _sources.load_parsed("0.0-test") == FAKE_PARSED
    assert len(parse_calls) == 1


def test_corrupt_cache_is_reparsed_and_replaced(cache: Path, parse_calls: list[Any]) -> None:
    _sources.load_parsed("0.0-test")
    (entry,) = cache.glob("rsp-parsed-*.marshal")
    entry.write_bytes(b"\x00not marshal")
    assert _sources.load_parsed("0.0-test") == FAKE_PARSED
    assert _sources.load_parsed("0.0-test") == FAKE_PARSED
    assert len(parse_calls) == 2


def test_new_asn1tools_version_replaces_the_stale_entry(
    cache: Path, parse_calls: list[Any]
) -> None:
    _sources.load_parsed("0.0-test")
    _sources.load_parsed("0.1-test")
    assert len(parse_calls) == 2
    assert len(list(cache.glob("rsp-parsed-*.marshal"))) == 1


def test_unwritable_cache_falls_back_to_parsing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parse_calls: list[Any]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("PYRSP_CACHE_DIR", str(blocker / "cache"))
    assert _sources.load_parsed("0.0-test") == FAKE_PARSED
    assert _sources.load_parsed("0.0-test") == FAKE_PARSED
    assert len(parse_calls) == 2


def test_cache_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("PYRSP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert _sources.cache_dir() == tmp_path / "pyrsp"


def test_cache_key_depends_on_sources_and_asn1tools_version() -> None:
    key = _sources.cache_key([b"A ::= NULL"], "0.169.0")
    assert key == _sources.cache_key([b"A ::= NULL"], "0.169.0")
    assert key != _sources.cache_key([b"A ::= BOOLEAN"], "0.169.0")
    assert key != _sources.cache_key([b"A ::= NULL"], "0.170.0")
    # File boundaries count: the same bytes split differently are other sources.
    assert _sources.cache_key([b"ab", b"c"], "1") != _sources.cache_key([b"a", b"bc"], "1")
