"""Shared by the CLI tests: a virtual card template, a TestSmdp over HTTPS, and a runner."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from pyrsp.cli.app import app
from pyrsp.cli.cards import open_virtual, pki_dir
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import TestSmdp


def run(*args: str, input: str | None = None, columns: int = 80) -> Result:
    """``pyrsp ARGS`` in-process, tables ``columns`` wide; standard output and error apart."""
    env = {"COLUMNS": str(columns)}
    return CliRunner().invoke(app, list(args), input=input, env=env, catch_exceptions=False)


def run_json(*args: str, input: str | None = None, code: int = 0) -> Any:
    """``pyrsp ARGS --json``: the one JSON document it printed, after checking the exit code."""
    result = run(*args, "--json", input=input)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return json.loads(result.stdout)


@pytest.fixture(scope="session")
def card_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual eUICC made once (with its test PKI in card/pki); tests copy it."""
    directory = tmp_path_factory.mktemp("template") / "card"
    open_virtual(directory)
    return directory


@pytest.fixture
def card(card_template: Path, tmp_path: Path) -> Path:
    """A fresh copy of the template card: ``--virtual`` this directory."""
    directory = tmp_path / "card"
    shutil.copytree(card_template, directory)
    return directory


@dataclass
class Server:
    """A TestSmdp on loopback HTTPS and the options that reach it."""

    smdp: TestSmdp
    url: str

    @property
    def options(self) -> list[str]:
        target = self.url.removeprefix("https://")
        return ["--connect-to", f"{self.smdp.address}={target}"]

    def order(self, **kwargs: Any) -> str:
        return self.smdp.add_order(**kwargs).qr_text()


@pytest.fixture(scope="module")
def server(card_template: Path) -> Iterator[Server]:
    """The TestSmdp of the template card's PKI, served over HTTPS on 127.0.0.1."""
    smdp = TestSmdp(TestPki.load(pki_dir(card_template)), rng=7)
    with smdp.serve_https() as url:
        yield Server(smdp, url)
