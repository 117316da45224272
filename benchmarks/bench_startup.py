"""Cold start: new processes, timed from outside, best and median of a few runs.

Wall clock is what a user waits; on a shared machine it includes waiting for a core, so the
process's own CPU time (user + system) is shown too.

- ``python -c pass``: the interpreter alone, for reference;
- ``python -c "import pyrsp"``;
- the first decode in a new process with the parsed-schema cache warm (the whole process, and
  inside it the ``asn1.decode`` call that compiles the schema);
- ``pyrsp --help``;
- ``pyrsp chip info --virtual DIR`` on a card made beforehand (the compiled schema cache warm).

Targets (issue 10): ``pyrsp --help`` <= 0.3 s; ``pyrsp chip info --virtual DIR`` <= 0.8 s.

    .venv/bin/python benchmarks/bench_startup.py
    .venv/bin/python benchmarks/bench_startup.py --runs 9
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import emit

PYTHON = sys.executable
PYRSP = str(Path(PYTHON).with_name("pyrsp"))
# EUICCInfo1 with SVN 2.2.0 and one CI key id in each list
INFO1 = (
    "bf20"
    + "35"
    + "8203020200"
    + "a9"
    + "1604"
    + "14"
    + "f5" * 20
    + "aa"
    + "1604"
    + "14"
    + "f5" * 20
)
FIRST_DECODE = (
    "import time; t = time.perf_counter(); from pyrsp import asn1; "
    f"asn1.decode('EUICCInfo1', bytes.fromhex('{INFO1}')); "
    "print(time.perf_counter() - t)"
)
TARGETS = {"pyrsp --help": 0.3, "pyrsp chip info --virtual DIR": 0.8}


def timed(command: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall and CPU (user + system) seconds of one run of ``command``, and its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, check=False, capture_output=True, text=True, env=env, timeout=60)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return elapsed, cpu, done.stdout


def row(name: str, command: list[str], runs: int, env: dict[str, str]) -> dict[str, Any]:
    timed(command, env)  # warm the OS page cache and the schema cache
    times, cpus, inner = [], [], []
    for _ in range(runs):
        elapsed, cpu, out = timed(command, env)
        times.append(elapsed)
        cpus.append(cpu)
        if command[-1] == FIRST_DECODE:
            inner.append(float(out.strip()))
    target = TARGETS.get(name)
    result: dict[str, Any] = {
        "command": name,
        "best s": f"{min(times):.3f}",
        "median s": f"{statistics.median(times):.3f}",
        "cpu s (best)": f"{min(cpus):.3f}",
        "target s": f"{target:.1f}" if target else "",
        "met (best)": ("yes" if min(times) <= target else "NO") if target else "",
    }
    if inner:
        result["command"] += f" (decode call itself: {statistics.median(inner):.3f} s)"
    return result


def commands(card_dir: Path) -> list[tuple[str, list[str]]]:
    rows = [
        ("python -c pass", [PYTHON, "-c", "pass"]),
        ("python -c 'import pyrsp'", [PYTHON, "-c", "import pyrsp"]),
        ("first decode, warm cache", [PYTHON, "-c", FIRST_DECODE]),
    ]
    if shutil.which(PYRSP) or Path(PYRSP).exists():
        rows.append(("pyrsp --help", [PYRSP, "--help"]))
        rows.append(
            ("pyrsp chip info --virtual DIR", [PYRSP, "chip", "info", "--virtual", str(card_dir)])
        )
    return rows


def measure(runs: int) -> list[dict[str, Any]]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="0", NO_COLOR="1")
    with tempfile.TemporaryDirectory(prefix="pyrsp-bench-") as tmp:
        card_dir = Path(tmp) / "card"
        return [row(name, command, runs, env) for name, command in commands(card_dir)]


COLUMNS = ["command", "best s", "median s", "cpu s (best)", "target s", "met (best)"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (max 20)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = measure(min(max(args.runs, 1), 20))
    emit("bench_startup: new processes, wall clock", rows, COLUMNS, args.json)
    return 0


def run_rows(quick: bool) -> list[dict[str, Any]]:
    """The rows for run_all."""
    return measure(3 if quick else 5)


if __name__ == "__main__":
    sys.exit(main())
