"""Long fuzz run: every target of ``tests/test_fuzz_*.py`` for a time budget each.

::

    .venv/bin/python benchmarks/fuzz_long.py                 # 600 s shared by all targets
    .venv/bin/python benchmarks/fuzz_long.py --seconds 30 --only es9 --only TestSmdp
    .venv/bin/python benchmarks/fuzz_long.py --list

Each target is run by hypothesis in rounds of ``--chunk`` inputs with a new seed per round
until its time is used. The invariant (issue 9, item 1) is the one the tests check: a value or
a :class:`~pyrsp.errors.PyrspError`. A finding is another exception (with its shrunk input), an
input slower than the deadline (``PYRSP_FUZZ_DEADLINE``, 3 s), an input that runs into the
watchdog (a hang), or a ``MemoryError`` under the address-space limit (``--memory-mb``).

Prints one line per target (inputs run, inputs/s, findings, slowest input, peak RSS) and a
Markdown table for ``docs/reliability.md`` (``--markdown``). Exit status 1 if anything was found.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import random
import resource
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"


class Hang(BaseException):
    """Raised by the watchdog when one input runs for too long."""


@dataclasses.dataclass
class Report:
    """What one target's run measured."""

    name: str
    inputs: int = 0
    hypothesis_inputs: int = 0
    seconds: float = 0.0
    slowest: float = 0.0
    findings: dict[str, str] = dataclasses.field(default_factory=dict)
    peak_rss_mb: float = 0.0
    known: int = 0  # inputs that hit a reported, not yet fixed finding (Target.known)


def _targets(only: list[str]) -> list[Any]:
    sys.path.insert(0, str(TESTS))
    found: list[Any] = []
    for path in sorted(TESTS.glob("test_fuzz_*.py")):
        module = importlib.import_module(path.stem)
        found += getattr(module, "TARGETS", [])
    return [t for t in found if not only or any(word in t.name for word in only)]


def _kind(error: BaseException) -> str:
    """The error type and where in pyrsp it was raised: one finding however often it recurs."""
    frames = [f for f in traceback.extract_tb(error.__traceback__) if "/pyrsp/" in f.filename]
    where = f"{frames[-1].filename.split('/src/')[-1]}:{frames[-1].lineno}" if frames else "?"
    return f"{type(error).__name__} at {where}"


def _describe(error: BaseException, value: Any) -> str:
    text = repr(value)
    text = text if len(text) <= 160 else f"{text[:160]}... ({len(text)} chars)"
    return f"{_kind(error)}: {str(error)[:160]} | input {text}"


_INTERESTING = (0x00, 0x01, 0x30, 0x7F, 0x80, 0x81, 0x82, 0x84, 0xA0, 0xBF, 0xFF)


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        pos = rng.randrange(len(out) + 1)
        op = rng.randrange(6)
        if op == 0 and pos < len(out):
            out[pos] ^= 1 << rng.randrange(8)
        elif op == 1:
            del out[pos:]
        elif op == 2 and pos < len(out):
            out[pos] = rng.choice(_INTERESTING)
        elif op == 3:
            out[pos:pos] = rng.randbytes(rng.randint(1, 4))
        elif op == 4:
            del out[pos : pos + rng.randint(1, 8)]
        else:
            out[pos:pos] = out[pos : pos + rng.randint(1, 64)]
    return bytes(out)


def mutate(value: Any, rng: random.Random) -> Any:
    """A random change to ``value``: bytes and text are edited, containers have one member
    changed (dataclasses such as ``HttpResponse`` included), numbers nudged."""
    if isinstance(value, bytes):
        return _mutate_bytes(value, rng)
    if isinstance(value, str):
        raw = _mutate_bytes(value.encode("utf-8", "surrogatepass"), rng)
        return raw.decode("utf-8", "replace")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value + rng.choice((-1, 1, 256, -(2**31), 2**63))
    if isinstance(value, (list, tuple)) and value:
        items = list(value)
        index = rng.randrange(len(items))
        items[index] = mutate(items[index], rng)
        return type(value)(items) if isinstance(value, tuple) else items
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        return {**value, key: mutate(value[key], rng)}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = [f.name for f in dataclasses.fields(value)]
        name = rng.choice(fields)
        return dataclasses.replace(value, **{name: mutate(getattr(value, name), rng)})
    return value


def _on_alarm(signum: int, frame: FrameType | None) -> None:
    raise Hang("one input ran past the watchdog")


class _Run:
    """One target's run: every input goes through :meth:`feed` (timed, under the watchdog)."""

    def __init__(self, target: Any, watchdog: float) -> None:
        self.target = target
        self.watchdog = watchdog
        self.report = Report(target.name)
        self.last: Any = None
        self.corpus: list[Any] = []

    def feed(self, value: Any) -> object:
        self.last = value
        signal.setitimer(signal.ITIMER_REAL, self.watchdog)
        start = time.perf_counter()
        try:
            return self.target.feed(value)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            self.report.slowest = max(self.report.slowest, time.perf_counter() - start)

    def keep(self, value: Any) -> None:
        self.report.inputs += 1
        if len(self.corpus) < 2000:
            self.corpus.append(value)

    def count_known(self, value: Any, error: BaseException) -> None:
        self.report.known += 1

    def found(self, value: Any, error: BaseException) -> None:
        self.report.findings[_kind(error)] = _describe(error, value)  # the last: most shrunk

    def hypothesis(self, deadline: float, chunk: int) -> int:
        """Rounds of ``chunk`` hypothesis inputs, a new seed each, until ``deadline``."""
        from test_fuzz_harness import run_target

        timed = dataclasses.replace(self.target, feed=self.feed)
        seed = 0
        while time.monotonic() < deadline and len(self.report.findings) < 3:
            seed += 1
            try:
                run_target(
                    timed,
                    chunk,
                    seed=seed,
                    on_input=self.keep,
                    on_finding=self.found,
                    on_known=self.count_known,
                )
            except Hang as hang:
                self.found(self.last, hang)
            except Exception as error:  # the shrunk failure, or a deadline hypothesis enforced
                if not self.report.findings:
                    self.found(self.last, error)
        self.report.hypothesis_inputs = self.report.inputs
        return seed

    def mutations(self, deadline: float, rng: random.Random) -> None:
        """Random mutations of the corpus until ``deadline``."""
        from pyrsp.errors import PyrspError

        while self.corpus and time.monotonic() < deadline and len(self.report.findings) < 3:
            for _ in range(200):
                value = mutate(rng.choice(self.corpus), rng)
                self.report.inputs += 1
                try:
                    self.feed(value)
                except PyrspError:
                    pass
                except Exception as error:
                    if self.target.known is not None and self.target.known(error):
                        self.report.known += 1
                    else:
                        self.found(value, error)
                except Hang as error:
                    self.found(value, error)
                if rng.random() < 0.01 and len(self.corpus) < 5000:
                    self.corpus.append(value)


def run_one(target: Any, seconds: float, chunk: int, watchdog: float, share: float) -> Report:
    """Fuzz ``target`` for ``seconds``: hypothesis for ``share`` of it, then random mutations
    of the inputs hypothesis drew (much faster per input). A few findings end it early."""
    run = _Run(target, watchdog)
    start = time.monotonic()
    seed = run.hypothesis(start + seconds * share, chunk)
    run.mutations(start + seconds, random.Random(seed))
    run.report.seconds = time.monotonic() - start
    run.report.peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return run.report


def _markdown(reports: list[Report], command: str) -> str:
    lines = [
        f"Command: `{command}`",
        "",
        "| target | inputs (hypothesis + mutation) | s | slowest input (ms) | findings |",
        "|---|---:|---:|---:|---|",
    ]
    for r in reports:
        findings = "; ".join(f.replace("|", "\\|") for f in r.findings.values()) or "none"
        if r.known:
            findings += f" (+ {r.known:,} inputs hitting a reported finding)"
        lines.append(
            f"| `{r.name}` | {r.inputs:,} ({r.hypothesis_inputs:,} + "
            f"{r.inputs - r.hypothesis_inputs:,}) | {r.seconds:.0f} | {1000 * r.slowest:.0f} | "
            f"{findings} |"
        )
    total = sum(r.inputs for r in reports)
    lines.append(f"| **all {len(reports)} targets** | **{total:,}** | "
                 f"{sum(r.seconds for r in reports):.0f} | | "
                 f"{sum(len(r.findings) for r in reports)} |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=600, help="seconds shared by all targets")
    parser.add_argument("--seconds", type=float, help="seconds per target (overrides --budget)")
    parser.add_argument("--only", action="append", default=[], help="targets whose name has this")
    parser.add_argument("--chunk", type=int, default=100, help="inputs per hypothesis round")
    parser.add_argument(
        "--hypothesis-share",
        type=float,
        default=0.5,
        help="share of each target's time for hypothesis; the rest mutates",
    )
    parser.add_argument("--watchdog", type=float, default=20, help="seconds before an input hangs")
    parser.add_argument("--memory-mb", type=int, default=2048, help="address-space limit")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table too")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    args = parser.parse_args()

    targets = _targets(args.only)
    if args.list:
        print("\n".join(t.name for t in targets))
        return 0
    logging.disable(logging.CRITICAL)  # server texts logged at WARNING would flood the output
    limit = args.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    signal.signal(signal.SIGALRM, _on_alarm)
    seconds = args.seconds if args.seconds is not None else args.budget / max(1, len(targets))
    print(f"{len(targets)} targets, {seconds:.1f} s each", flush=True)
    reports = []
    for target in targets:
        report = run_one(target, seconds, args.chunk, args.watchdog, args.hypothesis_share)
        reports.append(report)
        print(
            f"{report.name:55} {report.inputs:8,} inputs ({report.hypothesis_inputs:,} hypothesis) "
            f"{report.seconds:6.1f} s "
            f"slowest {1000 * report.slowest:7.1f} ms  rss {report.peak_rss_mb:6.0f} MB  "
            f"findings {len(report.findings)}  known {report.known}",
            flush=True,
        )
        for finding in report.findings.values():
            print(f"    FINDING {finding}", flush=True)
    total = sum(r.inputs for r in reports)
    print(f"total: {total:,} inputs, {sum(len(r.findings) for r in reports)} findings")
    if args.markdown:
        print()
        print(_markdown(reports, "python " + " ".join(sys.argv)))
    return 1 if any(r.findings for r in reports) else 0


if __name__ == "__main__":
    sys.exit(main())
