"""DESIGN.md rule: ``pyrsp.protocol`` is sans-IO and never imports I/O, clock or randomness."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pyrsp.protocol

FORBIDDEN = {"httpx", "smartcard", "asyncio", "socket", "time", "random", "anyio", "threading"}
PROTOCOL_DIR = Path(pyrsp.protocol.__file__).parent
MODULES = sorted(PROTOCOL_DIR.glob("*.py"))


def imported_roots(source: str) -> set[str]:
    """The top-level package of every module ``source`` imports."""
    roots: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_protocol_has_modules() -> None:
    assert {"apdu.py", "session.py", "effects.py"} <= {m.name for m in MODULES}


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.name)
def test_protocol_module_imports_no_io(module: Path) -> None:
    forbidden = imported_roots(module.read_text(encoding="utf-8")) & FORBIDDEN
    assert not forbidden, f"{module.name} imports {sorted(forbidden)}"


@pytest.mark.parametrize(
    "source",
    [
        "import time",
        "from socket import socket",
        "import smartcard.System",
        "from asyncio import run",
    ],
)
def test_checker_catches_forbidden_imports(source: str) -> None:
    assert imported_roots(source) & FORBIDDEN
