"""How the ``pyrsp`` command speaks: rich tables for people, one JSON document for scripts.

Results go to standard output; prompts, progress and errors to standard error, so with
``--json`` standard output holds exactly one JSON document, whether the command succeeded
(the result) or failed (``{"error", "message", "hint", "exit_code"}``). Exit codes tell the
kind of failure apart (see :data:`EXIT_CODES`); every error message ends with what to try next.
This module stays cheap to import: rich and pydantic load only when used.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
import json
import sys
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from pyrsp import errors

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

#: Exit status per kind of failure.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CARD = 3
EXIT_SERVER = 4
EXIT_DECLINED = 5
EXIT_DOWNLOAD = 6
EXIT_INTERRUPTED = 130
#: Standard output closed early (``pyrsp ... | head``): the status of a process killed by SIGPIPE.
EXIT_BROKEN_PIPE = 141

EXIT_CODES = {
    "ok": EXIT_OK,
    "other error": EXIT_ERROR,
    "usage": EXIT_USAGE,
    "card": EXIT_CARD,
    "server": EXIT_SERVER,
    "declined": EXIT_DECLINED,
    "download failed": EXIT_DOWNLOAD,
    "interrupted": EXIT_INTERRUPTED,
    "output closed": EXIT_BROKEN_PIPE,
}


class Declined(errors.PyrspError):
    """The person answered no to a prompt; nothing was changed."""


class DamagedVirtualCardError(errors.CardError):
    """The files of a ``--virtual DIR`` eUICC cannot be read back (edited, truncated)."""


class NotPendingError(errors.UsageError):
    """Notification sequence numbers that are not pending on the eUICC; nothing was done."""


class OutputClosedError(Exception):
    """Standard output was closed early (``pyrsp ... | head``): :func:`pyrsp.cli.main` ends
    quietly. Not an :class:`OSError`, which typer would turn into exit status 1."""


_HINTS: list[tuple[type[BaseException], int, str]] = [
    (Declined, EXIT_DECLINED, "nothing was changed; pass --yes to skip the question"),
    (
        errors.DownloadDeclined,
        EXIT_DECLINED,
        "nothing was installed; declining ends the order at the SM-DP+: ask the operator for a "
        "new activation code to install it later",
    ),
    (
        errors.NoReaderError,
        EXIT_CARD,
        "check the reader is plugged in and pcscd runs, or use --virtual DIR for a virtual eUICC",
    ),
    (
        DamagedVirtualCardError,
        EXIT_CARD,
        "to start again with a new card, delete everything in that directory but pki/ (its "
        "profiles and notifications are lost) and run the command again; or pass another "
        "--virtual DIR",
    ),
    (errors.CardRemovedError, EXIT_CARD, "put the card back and run the command again"),
    (errors.CardTransportError, EXIT_CARD, "check the card sits well in the reader, then retry"),
    (errors.EuiccError, EXIT_CARD, "check the profile and its state with 'pyrsp profile list'"),
    (errors.CardError, EXIT_CARD, "check the card is an eUICC ('pyrsp chip info')"),
    (
        errors.TlsError,
        EXIT_SERVER,
        "pass the CI certificate the SM-DP+ chains to with --trust (and --connect-to if the "
        "server listens elsewhere than its address)",
    ),
    (
        errors.SmdpError,
        EXIT_SERVER,
        "the SM-DP+ refused; check the activation code with your operator",
    ),
    (
        errors.ServerProtocolError,
        EXIT_SERVER,
        "the SM-DP+ sent a malformed answer; retry, and report it to its operator if it persists",
    ),
    (errors.ServerError, EXIT_SERVER, "check the SM-DP+ address and your network, then retry"),
    (
        errors.ProtocolViolation,
        EXIT_SERVER,
        "the SM-DP+ broke the protocol; report it to its operator",
    ),
    (
        errors.DownloadError,
        EXIT_DOWNLOAD,
        "run the command again; pending notifications are kept ('pyrsp notification list')",
    ),
    (
        errors.ActivationCodeError,
        EXIT_USAGE,
        "check the activation code (LPA:1$address$matchingId)",
    ),
    (NotPendingError, EXIT_USAGE, "see the pending ones with 'pyrsp notification list'"),
    (errors.UsageError, EXIT_USAGE, "see --help"),
]

_EUICC_HINTS = {
    "iccidOrAidNotFound": "no such profile on the card; see 'pyrsp profile list'",
    "iccidNotFound": "no such profile on the card; see 'pyrsp profile list'",
    "profileNotInDisabledState": "disable the profile first ('pyrsp profile disable ICCID')",
    "profileNotInEnabledState": "the profile is not enabled; see 'pyrsp profile list'",
    "disallowedByPolicy": "the profile's policy rules forbid this; ask its operator",
    "catBusy": "the card is busy; retry in a moment",
    "nothingToDelete": "nothing to remove; see 'pyrsp notification list'",
}

#: eUICC answers to AuthenticateServer/PrepareDownload that blame the SM-DP+ (SGP.22 5.7.13-14).
_SERVER_REJECTED = frozenset(
    {
        "invalidCertificate",
        "invalidSignature",
        "unsupportedCurve",
        "invalidOid",
        "euiccChallengeMismatch",
        "ciPKUnknown",
        "invalidTransactionId",
    }
)

#: Set by ``pyrsp -v``: errors also show their cause chain and traceback.
VERBOSE = False


def classify(error: BaseException) -> tuple[int, str]:
    """The exit code and the what-to-do-next hint for ``error``.

    A :class:`~pyrsp.errors.DownloadError` caused by a card or server failure is reported as
    that failure (the cause says more about what to do than "the download failed").
    """
    if type(error) is errors.DownloadError and isinstance(
        error.__cause__, errors.CardError | errors.ServerError | errors.ProtocolViolation
    ):
        code, hint = classify(error.__cause__)
        return code, hint
    if isinstance(error, errors.DownloadDeclined) and error.cancel_reason == "postponed":
        return EXIT_DECLINED, (
            "nothing was installed and the order is kept: run again with --confirmation-code "
            "(or answer the prompt)"
        )
    if isinstance(error, errors.EuiccError):
        if error.reason in _SERVER_REJECTED:
            return EXIT_SERVER, (
                f"the eUICC rejected the SM-DP+ ({error.reason}): its credentials do not fit "
                "this card; report it to the SM-DP+ operator"
            )
        if error.reason in _EUICC_HINTS:
            return EXIT_CARD, _EUICC_HINTS[error.reason]
    for kind, code, hint in _HINTS:
        if isinstance(error, kind):
            return code, hint
    if isinstance(error, OSError):
        return EXIT_ERROR, "check the path and its permissions"
    return EXIT_ERROR, "run with -v for details"


def to_jsonable(value: Any) -> Any:
    """Models, dataclasses, lists and dicts as plain JSON values (bytes as upper-case hex)."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return value


def printable(value: object) -> str:
    """``value`` as text safe for a terminal: control characters (a peer's profile name or
    server message may hold escape sequences) are shown escaped; ``None`` and ``""`` as ``-``."""
    text = "-" if value is None or value == "" else str(value)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


#: ICCIDs are up to 20 digits (ITU-T E.118): their table columns keep them whole on one line.
ICCID_WIDTH = 20


def iccid_column(table: Table, header: str = "ICCID") -> None:
    """Add a column for ICCIDs that a narrow terminal neither cuts nor wraps."""
    table.add_column(header, no_wrap=True, min_width=ICCID_WIDTH)


def safe(value: object) -> str:
    """:func:`printable` text with rich markup escaped, for tables and rich prints."""
    from rich.markup import escape

    return escape(printable(value))


def dumps(value: Any) -> str:
    """``value`` as an indented JSON document with sorted keys."""
    return json.dumps(to_jsonable(value), indent=2, sort_keys=True)


@dataclass
class Output:
    """Writes one command's result, as people or scripts want it."""

    json_mode: bool = False
    _stderr: Console | None = field(default=None, repr=False)
    _stdout: Console | None = field(default=None, repr=False)

    @property
    def console(self) -> Console:
        """A rich console on standard output, for human results."""
        if self._stdout is None:
            self._stdout = _console_class()(highlight=False, soft_wrap=True)
        return self._stdout

    @property
    def err(self) -> Console:
        """A rich console on standard error, for prompts, progress and notes."""
        if self._stderr is None:
            self._stderr = _console_class()(stderr=True, highlight=False, soft_wrap=True)
        return self._stderr

    def note(self, message: str) -> None:
        """A line for people on standard error (nothing in JSON mode)."""
        if not self.json_mode:
            self.err.print(message)

    def say(self, *renderables: Any) -> None:
        """Print for people on standard output (nothing in JSON mode)."""
        if not self.json_mode:
            self.console.print(*renderables)

    def result(self, data: Any, human: Callable[[], None]) -> None:
        """Print ``data`` as one JSON document, or call ``human`` to draw it."""
        try:
            if self.json_mode:
                sys.stdout.write(dumps(data) + "\n")
                sys.stdout.flush()
            else:
                human()
        except BrokenPipeError as error:
            raise OutputClosedError from error

    def fail(self, error: BaseException, code: int | None = None) -> NoReturn:
        """Report ``error`` (with its hint) and exit with its code, or ``code``."""
        exit_code, hint = classify(error)
        if code is not None:
            exit_code = code
        if VERBOSE:
            traceback.print_exception(error, file=sys.stderr)
        report_error(self.json_mode, type(error).__name__, str(error), hint, exit_code)
        raise SystemExit(exit_code)

    @contextmanager
    def errors_reported(self) -> Iterator[None]:
        """Turn errors raised inside the block into a message and an exit code."""
        try:
            yield
        except errors.PyrspError as error:
            self.fail(error)
        except BrokenPipeError as error:
            raise OutputClosedError from error  # nothing left to report it on
        except OSError as error:
            self.fail(error)
        except KeyboardInterrupt:
            self.fail(errors.PyrspError("interrupted"), EXIT_INTERRUPTED)


def report_error(json_mode: bool, name: str, message: str, hint: str, exit_code: int) -> None:
    """Write an error: the ``{"error", "message", "hint", "exit_code"}`` document on standard
    output with ``--json``, else ``error:`` and ``hint:`` lines on standard error."""
    if json_mode:
        document = {"error": name, "message": message, "hint": hint, "exit_code": exit_code}
        sys.stdout.write(dumps(document) + "\n")
        sys.stdout.flush()
    else:
        sys.stderr.write(f"error: {printable(message)}\nhint: {hint}\n")


@functools.cache
def _console_class() -> type[Console]:
    """A rich console that raises :class:`OutputClosedError` when its output is closed (rich's own
    exits with status 1, as if the command had failed)."""
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True
            raise OutputClosedError

    return PipeConsole


def usage(message: str) -> errors.UsageError:
    """A :class:`~pyrsp.errors.UsageError` for a bad option value."""
    return errors.UsageError(message)
