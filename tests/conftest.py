"""Shared fixtures: the public test vectors in ../shared/vectors, skipped when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

from pcsc_support import pcsc_reader, vpcd_pool  # noqa: F401  (PC/SC fixtures: pcsc_support)

VECTORS = Path(__file__).resolve().parents[1].parent / "shared" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    """The shared test-vector folder; tests that need it skip, saying why, when it is absent."""
    if not VECTORS.is_dir():
        pytest.skip(f"public test vectors not found at {VECTORS} (a plain clone has no ../shared)")
    return VECTORS


@pytest.fixture
def anyio_backend() -> str:
    """``@pytest.mark.anyio`` tests run on asyncio only."""
    return "asyncio"
