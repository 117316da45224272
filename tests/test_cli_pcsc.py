"""``pyrsp ... --reader`` through the real PC/SC stack: pyscard -> pcscd -> vpcd -> VirtualEuicc.

Runs inside ``scripts/pcsc-sandbox`` (``make test``); skipped elsewhere, saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pyrsp.testing.euicc import VirtualEuicc
from test_cli_support import Server, card, card_template, run, run_json, server

__all__ = ["card", "card_template", "server"]  # fixtures

pytestmark = pytest.mark.pcsc


def test_chip_info_and_download_through_a_reader(
    card: Path, server: Server, pcsc_reader: Callable[[Any], Any]
) -> None:
    euicc = VirtualEuicc.open(card)
    slot = pcsc_reader(euicc)
    by_name = run_json("chip", "info", "--reader", slot.reader)
    assert by_name["eid"] == euicc.eid
    trust = ["--trust", str(card / "pki" / "ci.pem")]
    installed = run_json(
        "profile", "download", server.order(profile_name="In a reader"), "--yes",
        "--reader", slot.reader, *trust, *server.options,
    )  # fmt: skip
    listed = run("profile", "list", "--reader", slot.reader)
    assert listed.exit_code == 0 and installed["iccid"] in listed.stdout


def test_unknown_reader_is_a_card_error_with_the_readers_listed(
    pcsc_reader: Callable[[Any], Any], card: Path
) -> None:
    slot = pcsc_reader(VirtualEuicc.open(card))
    result = run("chip", "info", "--reader", "no such reader")
    assert result.exit_code == 3
    assert slot.reader in result.stderr
