"""``pyrsp profile download``, ``renew`` and ``notification process`` against a TestSmdp served
over real HTTPS on loopback: consent, confirmation code, progress, and the exit codes of
declined downloads, SM-DP+ refusals, unreachable and untrusted servers."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from pyrsp.cli.output import EXIT_DECLINED, EXIT_OK, EXIT_SERVER, EXIT_USAGE
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.testing.pki import TestPki
from test_cli_support import Server, card, card_template, run, run_json, server

__all__ = ["card", "card_template", "server"]  # fixtures


def _v(card: Path) -> list[str]:
    return ["--virtual", str(card)]


def test_download_shows_the_profile_asks_and_installs(card: Path, server: Server) -> None:
    code = server.order(profile_name="Plan Human")
    result = run("profile", "download", code, *_v(card), *server.options, input="y\n")
    assert result.exit_code == EXIT_OK, result.stderr
    assert "Plan Human" in result.stderr and "Install it?" in result.stderr
    assert "loading the profile" in result.stderr
    (profile,) = VirtualEuicc.open(card).profiles
    assert f"installed profile {profile.iccid}" in result.stdout
    assert f"pyrsp profile enable {profile.iccid}" in result.stderr


def test_download_json_with_yes_asks_nothing(card: Path, server: Server) -> None:
    data = run_json("profile", "download", server.order(), "--yes", *_v(card), *server.options)
    assert data["install"]["success"] is True
    assert data["notification"]["sent"] and data["notification"]["removed"]
    assert data["metadata"]["iccid"] == data["iccid"]


def test_declined_download_exits_5_and_installs_nothing(card: Path, server: Server) -> None:
    code = server.order()
    result = run("profile", "download", code, *_v(card), *server.options, input="n\n")
    assert result.exit_code == EXIT_DECLINED
    assert "declining ends the order" in result.stderr
    assert VirtualEuicc.open(card).profiles == ()
    again = run("profile", "download", code, *_v(card), *server.options, input="y\n")
    assert again.exit_code != EXIT_OK  # the SM-DP+ ended the order


def test_confirmation_code_prompt_and_option(card: Path, server: Server) -> None:
    prompted = run(
        "profile", "download", server.order(confirmation_code="4711"), *_v(card),
        *server.options, input="y\n4711\n",
    )  # fmt: skip
    assert prompted.exit_code == EXIT_OK, prompted.stderr
    assert "Confirmation code" in prompted.stderr and "4711" not in prompted.stderr
    optioned = run_json(
        "profile", "download", server.order(confirmation_code="4711"), "--yes",
        "--confirmation-code", "4711", *_v(card), *server.options,
    )  # fmt: skip
    assert optioned["install"]["success"]
    order = server.order(confirmation_code="4711")
    missing = run_json(
        "profile", "download", order, "--yes", *_v(card), *server.options, code=EXIT_DECLINED,
    )  # fmt: skip
    assert missing["error"] == "DownloadDeclined" and "order is kept" in missing["hint"]
    again = run_json(
        "profile", "download", order, "--yes", "-c", "4711", *_v(card), *server.options,
    )  # fmt: skip
    assert again["install"]["success"]


def test_wrong_confirmation_code_is_a_server_refusal(card: Path, server: Server) -> None:
    code = server.order(confirmation_code="4711")
    error = run_json(
        "profile", "download", code, "--yes", "-c", "0000", *_v(card), *server.options,
        code=EXIT_SERVER,
    )  # fmt: skip
    assert error["error"] == "DownloadError" and "8.2.7" in error["message"]
    assert VirtualEuicc.open(card).profiles == ()


def test_unreachable_server_exits_4(card: Path, server: Server) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    options = ["--connect-to", f"{server.smdp.address}=127.0.0.1:{port}"]
    result = run("profile", "download", server.order(), "--yes", *_v(card), *options)
    assert result.exit_code == EXIT_SERVER
    assert "network" in result.stderr


def test_untrusted_server_exits_4_and_points_at_trust(
    card: Path, server: Server, tmp_path: Path
) -> None:
    TestPki.generate(seed="other").save(tmp_path / "other")
    trust = ["--trust", str(tmp_path / "other" / "ci.pem")]
    result = run("profile", "download", server.order(), "--yes", *_v(card), *server.options, *trust)
    assert result.exit_code == EXIT_SERVER
    assert "--trust" in result.stderr


def test_reader_without_trust_is_a_usage_error(server: Server) -> None:
    result = run("profile", "download", server.order(), "--reader", "0", *server.options)
    assert result.exit_code == EXIT_USAGE and "--trust" in result.stderr
    bad = run("notification", "process", "--virtual", "x", "--connect-to", "nonsense")
    assert bad.exit_code == EXIT_USAGE and "ADDRESS=HOST:PORT" in bad.stderr


def test_notification_process_delivers_pending(card: Path, server: Server) -> None:
    data = run_json("profile", "download", server.order(), "--yes", *_v(card), *server.options)
    run("profile", "enable", data["iccid"], *_v(card))
    before = len(server.smdp.notifications)
    human = run("notification", "process", *_v(card), *server.options)
    assert human.exit_code == EXIT_OK, human.stderr
    assert "delivered" in human.stdout
    assert len(server.smdp.notifications) == before + 1
    assert run_json("notification", "process", *_v(card), *server.options)["delivered"] == 0


def test_notification_process_reports_numbers_not_pending(card: Path, server: Server) -> None:
    data = run_json("profile", "download", server.order(), "--yes", *_v(card), *server.options)
    run("profile", "enable", data["iccid"], *_v(card))
    (pending,) = run_json("notification", "list", *_v(card))
    before = len(server.smdp.notifications)
    seq = str(pending["seq_number"])
    bad = run("notification", "process", seq, "77", *_v(card), *server.options)
    assert bad.exit_code == EXIT_USAGE
    assert f"no pending notification numbered 77 (pending: {seq}); nothing sent" in bad.stderr
    assert len(server.smdp.notifications) == before
    assert run_json("notification", "list", *_v(card)) == [pending]


def test_notification_process_failure_keeps_them_and_exits_4(card: Path, server: Server) -> None:
    data = run_json("profile", "download", server.order(), "--yes", *_v(card), *server.options)
    run("profile", "enable", data["iccid"], *_v(card))
    server.smdp.inject("http500", "handleNotification")
    result = run_json("notification", "process", *_v(card), *server.options, code=EXIT_SERVER)
    assert result["failed"] == 1 and not result["outcomes"][0]["sent"]
    assert len(VirtualEuicc.open(card).notifications) == 1


def test_renew_delete_old_names_the_deletion_in_the_question(card: Path, server: Server) -> None:
    first = run("renew", server.order(), *_v(card), *server.options, input="y\n")
    assert first.exit_code == EXIT_OK, first.stderr
    assert "Install it? [y/n]" in first.stderr
    (old,) = VirtualEuicc.open(card).profiles
    question = f"Install it, then disable and delete {old.iccid}? This cannot be undone. [y/n]"
    declined = run(
        "renew", server.order(), "--replace", old.iccid, "--delete-old", *_v(card),
        *server.options, input="n\n",
    )  # fmt: skip
    assert declined.exit_code == EXIT_DECLINED and question in declined.stderr
    assert [p.iccid for p in VirtualEuicc.open(card).profiles] == [old.iccid]


def test_renew_replaces_and_deletes_and_is_idempotent(card: Path, server: Server) -> None:
    first = run_json("renew", server.order(), "--yes", *_v(card), *server.options)
    old = first["renewal"]["new_iccid"]
    assert first["complete"] and first["renewal"]["enabled"]
    code = server.order(profile_name="Renewed")
    human = run(
        "renew", code, "--replace", old, "--delete-old", "--yes", *_v(card), *server.options
    )
    assert human.exit_code == EXIT_OK, human.stderr
    assert f"old profile {old} disabled and deleted" in human.stdout
    (profile,) = VirtualEuicc.open(card).profiles
    assert profile.profile_name == "Renewed"
    again = run_json(
        "renew", code, "--replace", old, "--delete-old", "--yes", *_v(card), *server.options
    )
    assert again["renewal"]["resumed"] and again["renewal"]["download"] is None
    assert (card / "journal").is_dir()


def test_eUICC_rejecting_the_server_is_a_server_error(card: Path, server: Server) -> None:
    server.smdp.inject("bad_signature", "authenticateClient")
    result = run("profile", "download", server.order(), "--yes", *_v(card), *server.options)
    assert result.exit_code == EXIT_SERVER
    assert "invalidSignature" in result.stderr and "SM-DP+ operator" in result.stderr


def test_renew_interrupted_then_rerun_finishes_with_one_download(
    card: Path, server: Server
) -> None:
    old = run_json("renew", server.order(), "--yes", *_v(card), *server.options)
    old_iccid = old["renewal"]["new_iccid"]
    code = server.order(profile_name="Next")
    args = ["renew", code, "--replace", old_iccid, "--delete-old", "--yes", *_v(card)]
    server.smdp.inject("http500", "handleNotification", times=10)
    first = run_json(*args, *server.options, code=EXIT_SERVER)
    assert not first["complete"] and first["renewal"]["download"] is not None
    assert len(VirtualEuicc.open(card).notifications) > 0
    server.smdp.clear_faults()
    second = run_json(*args, *server.options)
    assert second["complete"] and second["renewal"]["resumed"]
    assert second["renewal"]["download"] is None  # no second download of the order
    (profile,) = VirtualEuicc.open(card).profiles
    assert profile.profile_name == "Next"
    assert VirtualEuicc.open(card).notifications == ()
    assert {"disable", "enable", "delete"} <= {n.event for n in server.smdp.notifications}


def test_json_download_still_asks_on_stderr(card: Path, server: Server) -> None:
    result = run("profile", "download", server.order(), "--json", *_v(card), *server.options,
                 input="y\n")  # fmt: skip
    assert result.exit_code == EXIT_OK, result.stderr
    assert "Install it?" in result.stderr
    assert json.loads(result.stdout)["install"]["success"]


def test_download_with_no_answer_on_stdin_is_postponed(card: Path, server: Server) -> None:
    code = server.order()
    for no_answer in ("", "\n"):
        result = run("profile", "download", code, *_v(card), *server.options, input=no_answer)
        assert result.exit_code == EXIT_DECLINED
        assert "the download is postponed, the order is kept" in result.stderr
        assert "the order is kept: run again" in result.stderr  # the hint
        assert VirtualEuicc.open(card).profiles == ()
    again = run("profile", "download", code, *_v(card), *server.options, input="y\n")
    assert again.exit_code == EXIT_OK, again.stderr
    assert len(VirtualEuicc.open(card).profiles) == 1
