"""``pyrsp pki|ac|smdp|demo``, ``python -m pyrsp``, and what ``pyrsp --help`` imports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pyrsp.cli.output import EXIT_BROKEN_PIPE, EXIT_ERROR, EXIT_OK, EXIT_USAGE
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from test_cli_support import card, card_template, run, run_json

__all__ = ["card", "card_template"]  # fixtures

AC = "LPA:1$testsmdpplus1.example.com$ABC-123"
HEAVY = ("pydantic", "httpx", "asn1tools", "cryptography", "smartcard", "rich", "pyrsp.client")


def test_help_imports_nothing_heavy() -> None:
    code = (
        "import sys\nfrom pyrsp.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "Usage: pyrsp" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_without_the_cli_extra_it_says_what_to_install() -> None:
    code = "import sys\nsys.modules['typer'] = None\nfrom pyrsp.cli import main\nmain(['--help'])"
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "pip install 'pyrsp[cli]'" in done.stderr and "Traceback" not in done.stderr


def test_python_m_pyrsp_runs_the_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pyrsp", "ac", "parse", AC, "--json"],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == EXIT_OK, done.stderr
    assert json.loads(done.stdout)["matching_id"] == "ABC-123"


def test_version_and_no_arguments() -> None:
    assert run("--version").stdout.startswith("pyrsp ")
    assert run().exit_code == EXIT_USAGE
    assert run("profile").exit_code == EXIT_USAGE
    assert run("no-such-command").exit_code == EXIT_USAGE


def test_pki_generate(tmp_path: Path) -> None:
    data = run_json("pki", "generate", str(tmp_path / "pki"), "--seed", "4", "--curve", "brainpool")
    assert TestPki.load(tmp_path / "pki").ci_key_id.hex().upper() == data["ci_key_id"]
    assert data["curve"] == "brainpool"
    human = run("pki", "generate", str(tmp_path / "again"))
    assert human.exit_code == EXIT_OK and "written to" in human.stdout
    bad = run_json("pki", "generate", str(tmp_path / "bad"), "--curve", "rsa", code=EXIT_USAGE)
    assert bad["error"] == "UsageError"


def test_pki_generate_keeps_an_existing_pki_unless_forced(tmp_path: Path) -> None:
    run_json("pki", "generate", str(tmp_path), "--seed", "1")
    ci = (tmp_path / "ci.key.pem").read_bytes()
    refused = run_json("pki", "generate", str(tmp_path), "--seed", "2", code=EXIT_USAGE)
    assert "already holds a test PKI" in refused["message"] and "--force" in refused["message"]
    assert (tmp_path / "ci.key.pem").read_bytes() == ci
    run_json("pki", "generate", str(tmp_path), "--seed", "2", "--force")
    assert (tmp_path / "ci.key.pem").read_bytes() != ci


def test_pki_generate_checks_the_eid_and_host(tmp_path: Path) -> None:
    good = "89049032123451234512345678901235"  # SGP.23's test EID
    assert run_json("pki", "generate", str(tmp_path / "a"), "--eid", good)["eid"] == good
    for eid, says in [
        ("89049032123451234512345678901234", "check digits 34 are wrong"),
        ("8904903212345123451234567890123", "32 digits"),
        ("8904903212345123451234567890123x", "32 digits"),
    ]:
        bad = run_json("pki", "generate", str(tmp_path / "b"), "--eid", eid, code=EXIT_USAGE)
        assert says in bad["message"], bad
    for host in ("https://smdp.example.com", "smdp.example.com:443", "bad_host", ""):
        bad = run_json("pki", "generate", str(tmp_path / "c"), "--smdp-host", host, code=EXIT_USAGE)
        assert bad["message"].startswith("--smdp-host: expected"), bad
    assert not (tmp_path / "b").exists() and not (tmp_path / "c").exists()


def test_ac_parse_human_json_and_errors() -> None:
    data = run_json("ac", "parse", AC + "$1.3.6.1.4.1.31746$1")
    assert data["smdp_address"] == "testsmdpplus1.example.com"
    assert data["confirmation_code_required"] is True
    human = run("ac", "parse", AC)
    assert "matching id" in human.stdout and "ABC-123" in human.stdout
    bad = run("ac", "parse", "LPA:2$x$y")
    assert bad.exit_code == EXIT_USAGE and "LPA:1$address$matchingId" in bad.stderr


def test_ac_qr_terminal_png_svg(tmp_path: Path) -> None:
    terminal = run("ac", "qr", AC)
    assert terminal.exit_code == EXIT_OK and len(terminal.stdout.splitlines()) > 10
    png = run_json("ac", "qr", AC, "-o", str(tmp_path / "ac.png"))
    assert (tmp_path / "ac.png").read_bytes().startswith(b"\x89PNG")
    assert png["text"] == AC
    run("ac", "qr", AC, "--output", str(tmp_path / "ac.svg"))
    assert b"<svg" in (tmp_path / "ac.svg").read_bytes()
    wrong = run("ac", "qr", AC, "-o", str(tmp_path / "ac.gif"))
    assert wrong.exit_code == EXIT_USAGE and ".png or .svg" in wrong.stderr


def test_smdp_serve_needs_a_pki_and_profiles(tmp_path: Path, card: Path) -> None:
    result = run("smdp", "serve")
    assert result.exit_code == EXIT_USAGE and "pyrsp pki generate" in result.stderr
    missing = run("smdp", "serve", "--pki", str(tmp_path))
    assert missing.exit_code == EXIT_USAGE
    (tmp_path / "empty").mkdir()
    empty = run("smdp", "serve", "--pki", str(card / "pki"), "--profiles", str(tmp_path / "empty"))
    assert empty.exit_code == EXIT_USAGE and "*.der" in empty.stderr


def test_smdp_orders_from_profile_files_with_a_code(card: Path, vectors_dir: Path) -> None:
    from pyrsp.activation_code import ActivationCode
    from pyrsp.cli.smdp import build_server

    upp = vectors_dir / "upp"
    smdp, orders = build_server([card / "pki"], upp, confirmation_code="1234", seed=1)
    assert [o.source for o in orders] == [str(p) for p in sorted(upp.glob("*.der"))]
    for order, path in zip(orders, sorted(upp.glob("*.der")), strict=True):
        ac = ActivationCode.parse(order.activation_code)
        assert ac.confirmation_code_required
        assert smdp.order(ac.matching_id).profile == path.read_bytes()
        assert smdp.order(ac.matching_id).iccid == order.iccid


def test_smdp_serve_over_https_until_interrupted(card: Path) -> None:
    """The activation code served downloads onto the card with the options printed; Ctrl-C
    stops the server cleanly and it reports its orders."""
    server = subprocess.Popen(
        [sys.executable, "-m", "pyrsp", "smdp", "serve", "--pki", str(card / "pki"),
         "--port", "0", "--count", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert server.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("Ctrl-C"):
            line = server.stdout.readline()
            assert line, server.stderr.read() if server.stderr else ""
            lines.append(line.strip())
        options = lines[1].removeprefix("clients: ").split()
        assert options[0] == "--connect-to" and options[2] == "--trust"
        code, _, iccid = lines[2].split()[:3]
        downloaded = run_json(
            "profile", "download", code, "--yes", "--virtual", str(card), *options
        )
        assert downloaded["iccid"] == iccid
    finally:
        server.send_signal(signal.SIGINT)
        _, err = server.communicate(timeout=30)
    assert server.returncode == EXIT_OK, err
    assert f"order {iccid}: installed" in err, err


def test_demo_runs_a_renewal_and_cleans_up(tmp_path: Path) -> None:
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "pyrsp", "demo", "--json"],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == EXIT_OK, done.stderr
    report = json.loads(done.stdout)
    first, second = report["first"], report["second"]
    assert second["old_iccid"] == first["new_iccid"] and second["old_deleted"]
    (profile,) = report["profiles"]
    assert (profile["iccid"], profile["state"]) == (second["new_iccid"], "enabled")
    events = [n["event"] for n in report["notifications_received"]]
    assert events == ["install", "enable", "install", "disable", "enable", "delete"]
    assert all(n["verified"] for n in report["notifications_received"])
    assert list(tmp_path.iterdir()) == []


def test_demo_keep_leaves_a_usable_card(tmp_path: Path) -> None:
    result = run("demo", "--keep", str(tmp_path / "demo"))
    assert result.exit_code == EXIT_OK, result.stderr
    for step in ("1.", "2.", "3.", "4.", "5.", "6."):
        assert step in result.stdout
    (profile,) = VirtualEuicc.open(tmp_path / "demo" / "card").profiles
    assert profile.profile_name == "pyrsp demo: next year's plan"


def test_docs_cli_md_names_every_command_and_option() -> None:
    import typer.main

    from pyrsp.cli.app import app

    text = (Path(__file__).parent.parent / "docs" / "cli.md").read_text()
    sections = {block.split("`")[0].split(" [")[0]: block for block in text.split("### `")[1:]}

    def walk(command: object, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
            return
        words = " ".join(path)
        (section,) = [body for title, body in sections.items() if title.startswith(words)]
        for param in command.params:  # type: ignore[attr-defined]
            for option in param.opts:
                if option.startswith("--") and option != "--help":
                    assert f"`{option}" in section, (words, option)

    walk(typer.main.get_command(app), ["pyrsp"])


def test_click_errors_honour_json(capsys: pytest.CaptureFixture[str]) -> None:
    from pyrsp.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["profile", "list", "--json", "--bogus"])
    assert exit_.value.code == EXIT_USAGE
    document = json.loads(capsys.readouterr().out)
    assert document["error"] == "UsageError" and "--bogus" in document["message"]
    assert document["hint"] == "see 'pyrsp profile list --help'" and document["exit_code"] == 2
    with pytest.raises(SystemExit) as exit_:
        main(["profile", "list", "--bogus"])
    assert exit_.value.code == EXIT_USAGE
    captured = capsys.readouterr()
    assert captured.out == "" and "No such option: --bogus" in captured.err


def test_closed_standard_output_ends_quietly() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "pyrsp", "ac", "qr", AC],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.close()  # like `| head` having read enough
        err = reader.stderr.read()
    assert reader.returncode == EXIT_BROKEN_PIPE and err == b""


def test_ac_qr_bad_scale_or_unwritable_file_is_reported(tmp_path: Path) -> None:
    for scale in ("0", "-3"):
        bad = run("ac", "qr", AC, "-o", str(tmp_path / "q.png"), "--scale", scale)
        assert bad.exit_code == EXIT_USAGE and "--scale" in bad.stderr
    missing = run("ac", "qr", AC, "-o", str(tmp_path / "no" / "such" / "q.png"))
    assert missing.exit_code == EXIT_ERROR
    assert (
        "No such file or directory" in missing.stderr and "hint: check the path" in missing.stderr
    )


def test_help_names_the_arguments_plainly() -> None:
    usages = {
        ("notification", "process"): "[OPTIONS] [SEQ]...",
        ("notification", "remove"): "[OPTIONS] {SEQ}...",
        ("profile", "nickname"): "[OPTIONS] {ICCID} [NAME]",
    }
    for command, arguments in usages.items():
        first = run(*command, "--help").stdout.splitlines()[0]
        assert first == f"Usage: pyrsp {' '.join(command)} {arguments}"
