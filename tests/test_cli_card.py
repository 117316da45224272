"""``pyrsp chip|profile|notification`` on a virtual eUICC: human and JSON output, exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from pyrsp.cli.output import EXIT_CARD, EXIT_DECLINED, EXIT_USAGE
from pyrsp.testing.euicc import VirtualEuicc
from test_cli_support import card, card_template, run, run_json

__all__ = ["card", "card_template"]  # fixtures


def _install(directory: Path, iccid: str = "8949449999999990023", name: str = "Plan A") -> str:
    """Download a profile onto the card from an in-process TestSmdp (no HTTPS)."""
    from pyrsp.cli.cards import pki_dir
    from pyrsp.client import RspClient
    from pyrsp.testing.pki import TestPki
    from pyrsp.testing.smdp import TestSmdp
    from pyrsp.transports.http import HttpsTransport

    smdp = TestSmdp(TestPki.load(pki_dir(directory)), rng=1)
    code = smdp.add_order(iccid=iccid, profile_name=name)
    card = VirtualEuicc.open(directory)
    with RspClient(card, HttpsTransport(transport=smdp.httpx_transport())) as client:
        return client.download(code).iccid


def test_chip_info_human_and_json(card: Path) -> None:
    eid = VirtualEuicc.open(card).eid
    human = run("chip", "info", "--virtual", str(card))
    assert human.exit_code == 0, human.stderr
    assert eid in human.stdout and "free non-volatile memory" in human.stdout
    data = run_json("chip", "info", "--virtual", str(card))
    assert data["eid"] == eid
    assert data["euicc_info2"]["ext_card_resource"]["free_non_volatile_memory"] > 0
    assert data["euicc_info2"]["ci_pkids_for_verification"]
    assert data["configured_addresses"]["default_dp_address"] is None


def test_virtual_card_is_made_on_first_use_with_its_pki(tmp_path: Path) -> None:
    data = run_json("chip", "info", "--virtual", str(tmp_path / "new"))
    assert (tmp_path / "new" / "pki" / "ci.pem").is_file()
    assert VirtualEuicc.open(tmp_path / "new").eid == data["eid"]


def test_virtual_card_is_made_with_the_pki_put_in_dir_pki(tmp_path: Path) -> None:
    eid = "89049032000000000000000000000163"  # valid check digits
    assert run("pki", "generate", str(tmp_path / "card" / "pki"), "--eid", eid).exit_code == 0
    assert run_json("chip", "info", "--virtual", str(tmp_path / "card"))["eid"] == eid


def test_profile_list_enable_disable_nickname_delete(card: Path) -> None:
    iccid = _install(card)
    v = ["--virtual", str(card)]
    (listed,) = run_json("profile", "list", *v)
    assert (listed["iccid"], listed["state"], listed["profile_name"]) == (
        iccid,
        "disabled",
        "Plan A",
    )
    assert iccid in run("profile", "list", *v).stdout

    enabled = run("profile", "enable", iccid, *v)
    assert enabled.exit_code == 0 and f"profile {iccid} enabled" in enabled.stdout
    assert "pyrsp notification process" in enabled.stderr
    assert run_json("profile", "list", *v)[0]["state"] == "enabled"

    assert run_json("profile", "nickname", iccid, "work", *v) == {
        "iccid": iccid,
        "nickname": "work",
    }
    assert run_json("profile", "list", *v)[0]["nickname"] == "work"
    assert "removed" in run("profile", "nickname", iccid, *v).stdout

    disabled = run_json("profile", "disable", iccid, *v)
    assert disabled == {"action": "disabled", "pending_notifications": 2, "profile": iccid}
    deleted = run_json("profile", "delete", iccid, "--yes", *v)
    assert deleted["action"] == "deleted"
    assert run_json("profile", "list", *v) == []
    assert "no profiles" in run("profile", "list", *v).stdout


def test_delete_asks_and_a_no_changes_nothing(card: Path) -> None:
    iccid = _install(card)
    result = run("profile", "delete", iccid, "--virtual", str(card), input="n\n")
    assert result.exit_code == EXIT_DECLINED
    assert "cannot be undone" in result.stderr and "--yes" in result.stderr
    assert len(VirtualEuicc.open(card).profiles) == 1
    assert run("profile", "delete", iccid, "--virtual", str(card), input="y\n").exit_code == 0


def test_card_errors_exit_3_with_a_hint(card: Path) -> None:
    unknown = "8949449999999999999"
    result = run("profile", "enable", unknown, "--virtual", str(card))
    assert result.exit_code == EXIT_CARD
    assert "iccidOrAidNotFound" in result.stderr and "pyrsp profile list" in result.stderr
    error = run_json("profile", "disable", unknown, "--virtual", str(card), code=EXIT_CARD)
    assert error["error"] == "EuiccError" and error["exit_code"] == EXIT_CARD
    iccid = _install(card)
    run("profile", "enable", iccid, "--virtual", str(card))
    busy = run("profile", "delete", iccid, "--yes", "--virtual", str(card))
    assert busy.exit_code == EXIT_CARD and "disable the profile first" in busy.stderr


def test_no_pcsc_service_is_a_card_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pyrsp.errors import NoReaderError
    from pyrsp.transports import pcsc

    def no_service(*args: object, **kwargs: object) -> None:
        raise NoReaderError("no PC/SC service: is pcscd running?")

    monkeypatch.setattr(pcsc, "PcscCardTransport", no_service)
    result = run("chip", "info", "--reader", "0")
    assert result.exit_code == EXIT_CARD
    assert "pcscd" in result.stderr and "--virtual DIR" in result.stderr


def test_usage_errors_exit_2(card: Path, tmp_path: Path) -> None:
    both = run("chip", "info", "--virtual", str(card), "--reader", "x")
    assert both.exit_code == EXIT_USAGE and "not both" in both.stderr
    bad_id = run_json("profile", "enable", "not-an-iccid", "--virtual", str(card), code=EXIT_USAGE)
    assert bad_id["error"] == "UsageError" and "ICCID" in bad_id["message"]
    missing = run("profile", "enable", "--virtual", str(card))
    assert missing.exit_code == EXIT_USAGE
    (tmp_path / "file").write_text("")
    not_a_dir = run("chip", "info", "--virtual", str(tmp_path / "file"))
    assert not_a_dir.exit_code == EXIT_USAGE
    cluttered = run("chip", "info", "--virtual", str(tmp_path))
    assert cluttered.exit_code == EXIT_USAGE and "new directory" in cluttered.stderr
    assert not (tmp_path / "card.json").exists()


def test_notification_list_and_remove(card: Path) -> None:
    iccid = _install(card)
    v = ["--virtual", str(card)]
    run("profile", "enable", iccid, *v)
    (pending,) = run_json("notification", "list", *v)
    assert (pending["event"], pending["iccid"]) == ("enable", iccid)
    assert "enable" in run("notification", "list", *v).stdout
    seq = str(pending["seq_number"])
    declined = run("notification", "remove", seq, *v, input="n\n")
    assert declined.exit_code == EXIT_DECLINED
    assert run_json("notification", "remove", seq, "--yes", *v) == {"removed": [int(seq)]}
    assert run_json("notification", "list", *v) == []
    assert "no pending" in run("notification", "list", *v).stdout
    gone = run("notification", "remove", seq, "--yes", *v)
    assert gone.exit_code == EXIT_USAGE and f"no pending notification numbered {seq}" in gone.stderr


def test_notification_remove_checks_every_number_first(card: Path) -> None:
    v = ["--virtual", str(card)]
    run("profile", "enable", _install(card), *v)
    (pending,) = run_json("notification", "list", *v)
    seq = pending["seq_number"]
    refused = run_json("notification", "remove", str(seq), "99", "98", "--yes", *v, code=EXIT_USAGE)
    assert refused["error"] == "NotPendingError"
    assert refused["message"] == (
        f"no pending notification numbered 98, 99 (pending: {seq}); nothing removed"
    )
    assert "pyrsp notification list" in refused["hint"]
    assert run_json("notification", "list", *v) == [pending]
    twice = run_json("notification", "remove", str(seq), str(seq), "--yes", *v)
    assert twice == {"removed": [seq]} and run_json("notification", "list", *v) == []


def test_json_mode_prints_exactly_one_document(card: Path) -> None:
    result = run("profile", "list", "--virtual", str(card), "--json")
    assert json.loads(result.stdout) == []
    assert result.stderr == ""


def test_verbose_shows_the_traceback(card: Path) -> None:
    from pyrsp.cli import output

    try:
        result = run("-v", "profile", "enable", "8949449999999999999", "--virtual", str(card))
    finally:
        output.VERBOSE = False
    assert result.exit_code == EXIT_CARD
    assert "Traceback" in result.stderr and "EuiccError" in result.stderr


def test_names_from_peers_cannot_drive_the_terminal(card: Path) -> None:
    _install(card, name="\x1b[2J [b]E[/b]")
    listed = run("profile", "list", "--virtual", str(card), columns=120)  # the name on one line
    assert "\x1b" not in listed.stdout
    assert "\\x1b[2J" in listed.stdout and "[b]E[/b]" in listed.stdout


def test_no_answer_on_stdin_is_no(card: Path) -> None:
    iccid = _install(card)
    for no_answer in ("", "\n"):
        result = run("profile", "delete", iccid, "--virtual", str(card), input=no_answer)
        assert result.exit_code == EXIT_DECLINED
        assert len(VirtualEuicc.open(card).profiles) == 1


def test_a_piped_answer_ends_the_prompt_line(card: Path) -> None:
    iccid = _install(card)
    result = run("profile", "delete", iccid, "--virtual", str(card), input="maybe\nn\n")
    assert result.exit_code == EXIT_DECLINED
    lines = result.stderr.splitlines()
    assert lines[0].endswith("This cannot be undone [y/n]: ")
    assert lines[1:3] == ["Please enter y or n", lines[0]]
    assert lines[3].startswith("error: not deleted")


def test_reader_without_pyscard_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "smartcard" else real(name, *a),
    )
    result = run("chip", "info", "--reader", "0")
    assert result.exit_code == EXIT_CARD and "pyrsp[pcsc]" in result.stderr


def test_a_damaged_virtual_card_says_how_to_start_again(card: Path) -> None:
    eid = VirtualEuicc.open(card).eid
    (card / "state.json").write_text("{garbage")
    damaged = run_json("profile", "list", "--virtual", str(card), code=EXIT_CARD)
    assert damaged["error"] == "DamagedVirtualCardError"
    assert damaged["message"].startswith(f"the virtual eUICC in {card} is damaged: ")
    assert "delete everything in that directory but pki/" in damaged["hint"]
    for path in card.iterdir():  # what `rm -r DIR/*` leaves: pki/ and the hidden lock file
        if path.name not in ("pki", ".lock"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    assert run_json("chip", "info", "--virtual", str(card))["eid"] == eid  # same test PKI
