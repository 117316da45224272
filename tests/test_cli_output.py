"""The CLI's error classification, hints and JSON rendering (pyrsp.cli.output)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import io
import json
from pathlib import Path
from typing import Any

import pytest

from pyrsp import errors
from pyrsp.cli.output import (
    EXIT_CARD,
    EXIT_DECLINED,
    EXIT_DOWNLOAD,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_SERVER,
    EXIT_USAGE,
    Declined,
    Output,
    classify,
    to_jsonable,
)


def _caused(error: errors.DownloadError, cause: BaseException) -> errors.DownloadError:
    error.__cause__ = cause
    return error


def _euicc(reason: str) -> errors.EuiccError:
    return errors.EuiccError("x", function="F", code=1, reason=reason)


@pytest.mark.parametrize(
    ("error", "code", "hint"),
    [
        (errors.NoReaderError("none"), EXIT_CARD, "pcscd"),
        (errors.CardRemovedError("gone"), EXIT_CARD, "put the card back"),
        (_euicc("iccidOrAidNotFound"), EXIT_CARD, "pyrsp profile list"),
        (_euicc("profileNotInDisabledState"), EXIT_CARD, "disable the profile first"),
        (_euicc("invalidSignature"), EXIT_SERVER, "rejected the SM-DP+"),
        (errors.ApduError("sw", sw=0x6A88), EXIT_CARD, "eUICC"),
        (errors.TlsError("untrusted"), EXIT_SERVER, "--trust"),
        (errors.SmdpError("refused"), EXIT_SERVER, "activation code"),
        (errors.ServerProtocolError("bad"), EXIT_SERVER, "malformed"),
        (errors.HttpTransportError("refused"), EXIT_SERVER, "network"),
        (errors.ProtocolViolation("wrong"), EXIT_SERVER, "broke the protocol"),
        (errors.DownloadDeclined("no"), EXIT_DECLINED, "declining ends the order"),
        (
            errors.DownloadDeclined("no code", cancel_reason="postponed"),
            EXIT_DECLINED,
            "the order is kept",
        ),
        (Declined("no"), EXIT_DECLINED, "--yes"),
        (errors.DownloadError("install"), EXIT_DOWNLOAD, "notification"),
        (errors.ActivationCodeError("bad"), EXIT_USAGE, "LPA:1$"),
        (errors.UsageError("bad"), EXIT_USAGE, "--help"),
        (OSError("disk"), EXIT_ERROR, "path"),
        (errors.CodecError("bad"), EXIT_ERROR, "-v"),
    ],
)
def test_classify(error: BaseException, code: int, hint: str) -> None:
    assert classify(error)[0] == code
    assert hint in classify(error)[1]


def test_a_download_error_is_classified_by_its_cause() -> None:
    server = _caused(errors.DownloadError("x"), errors.SmdpError("8.2.7"))
    assert classify(server)[0] == EXIT_SERVER
    card = _caused(errors.DownloadError("x"), errors.CardRemovedError("gone"))
    assert classify(card) == classify(errors.CardRemovedError("gone"))
    other = _caused(errors.DownloadError("x"), errors.CodecError("bad"))
    assert classify(other)[0] == EXIT_DOWNLOAD
    declined = _caused(errors.DownloadDeclined("x"), errors.SmdpError("y"))
    assert classify(declined)[0] == EXIT_DECLINED


class _Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class _Record:
    raw: bytes
    when: dt.datetime
    colour: _Colour
    items: tuple[int, ...]


def test_to_jsonable() -> None:
    record = _Record(b"\x01\xab", dt.datetime(2025, 1, 2, tzinfo=dt.UTC), _Colour.RED, (1, 2))
    assert to_jsonable({"r": record, 3: {4}}) == {
        "r": {"raw": "01AB", "when": "2025-01-02T00:00:00+00:00", "colour": "red", "items": [1, 2]},
        "3": [4],
    }


def test_fail_writes_one_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        Output(json_mode=True).fail(errors.TlsError("not trusted"))
    assert info.value.code == EXIT_SERVER
    out, err = capsys.readouterr()
    document = json.loads(out)
    assert document["error"] == "TlsError" and document["exit_code"] == EXIT_SERVER
    assert err == ""


def test_errors_reported_human_and_interrupt(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info, Output().errors_reported():
        raise errors.CardRemovedError("the card went away")
    assert info.value.code == EXIT_CARD
    assert capsys.readouterr().err == (
        "error: the card went away\nhint: put the card back and run the command again\n"
    )
    with pytest.raises(SystemExit) as info, Output().errors_reported():
        raise KeyboardInterrupt
    assert info.value.code == EXIT_INTERRUPTED


def test_printable_and_safe() -> None:
    from pyrsp.cli.output import printable, safe

    assert printable(None) == printable("") == "-"
    assert printable("Plan A") == "Plan A"
    assert printable("a\x1b[2Jb\n") == "a\\x1b[2Jb\\n"
    assert safe("[bold]x\x07") == "\\[bold]x\\x07"


def test_error_messages_are_printable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        Output().fail(errors.SmdpError("refused: \x1b]0;owned\x07"))
    assert "\x1b" not in capsys.readouterr().err


def test_renewal_journal_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from pyrsp.cli.renew import default_journal

    assert default_journal(tmp_path / "card") == tmp_path / "card" / "journal"
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_journal(None) == tmp_path / "state" / "pyrsp" / "journal"
    monkeypatch.delenv("XDG_STATE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_journal(None) == tmp_path / "home" / ".local" / "state" / "pyrsp" / "journal"


def test_parse_connect_to() -> None:
    from pyrsp.cli.cards import parse_connect_to

    assert parse_connect_to(
        ["a.example=127.0.0.1:8443", "b.example=[::1]:9", "c=https://p:1/x"]
    ) == {
        "a.example": ("127.0.0.1", 8443),
        "b.example": ("::1", 9),
        "c": "https://p:1/x",
    }
    for bad in ("a.example", "=h:1", "a=h", "a=h:0", "a=h:99999", "a=:80"):
        with pytest.raises(errors.UsageError):
            parse_connect_to([bad])
    with pytest.raises(errors.UsageError, match="takes an https:// URL"):
        parse_connect_to(["a.example=http://127.0.0.1:8080"])


def test_the_tls_role_check_can_be_turned_off_for_a_lab_server(tmp_path: Path) -> None:
    from pyrsp.cli.cards import CardChoice, ServerChoice, http_transport
    from pyrsp.testing.pki import TestPki

    pki = TestPki.generate(seed=5)
    pki.save(tmp_path)
    trust = (tmp_path / "ci.pem",)
    checked = http_transport(ServerChoice(trust), CardChoice())
    unchecked = http_transport(ServerChoice(trust, check_tls_role=False), CardChoice())
    assert checked._config.tls_role is not None
    assert unchecked._config.tls_role is None


def test_tables_keep_iccids_whole_at_80_columns() -> None:
    from types import SimpleNamespace

    from rich.console import Console

    from pyrsp.cli.demo import _received_table
    from pyrsp.cli.notification import notification_table, outcome_table
    from pyrsp.cli.profile import profile_table

    iccid, long = "89494499999999900231", "a rather long value that needs a lot of room " * 2
    row: Any = SimpleNamespace(
        iccid=iccid, seq_number=7, event="install", address="smdp." * 8 + "example.com",
        ok=False, error=long, sent=True, state="enabled", profile_name=long,
        service_provider_name=long, nickname=long, profile_class="operational",
        verified=False, problem=long,
    )  # fmt: skip
    for table in (
        notification_table([row]),
        outcome_table([row]),
        profile_table([row]),
        _received_table([row]),
    ):
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(table)
        assert iccid in console.export_text()
