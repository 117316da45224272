"""Run every pyrsp benchmark in one go and print one table of the headline figures.

    .venv/bin/python benchmarks/run_all.py            # ~1-2 minutes, includes the slow card
    .venv/bin/python benchmarks/run_all.py --quick    # ~30 s: fewer runs, no slow card, N <= 10
    .venv/bin/python benchmarks/run_all.py --json     # every row of every benchmark

Each benchmark is also a script of its own with more options (see benchmarks/README.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from typing import Any

import bench_apdus
import bench_download
import bench_scale
import bench_startup
from _common import table

Rows = list[dict[str, Any]]
BENCHMARKS: list[tuple[str, Callable[[bool], Rows]]] = [
    ("download", bench_download.run_rows),
    ("apdus", bench_apdus.run_rows),
    ("scale", bench_scale.run_rows),
    ("startup", bench_startup.run_rows),
]


def headline(name: str, rows: Rows) -> Rows:
    """The one-table summary: (benchmark, case, figure, value)."""
    out: Rows = []
    for row in rows:
        if name == "download":
            case = f"{row['curve']} in-process"
            out.append(_line(name, case, "downloads/s on one core", row["downloads/s (1 core)"]))
            split = f"{row['client %']}/{row['card %']}/{row['server %']}"
            cpu = f"{row['cpu ms (best batch)']} (median {row['cpu ms (median)']})"
            out.append(_line(name, case, "CPU ms per download", cpu))
            out.append(_line(name, case, "client/card/server %", split))
        elif name == "apdus":
            case = f"segment {row['segment']}"
            value = f"{row['APDUs']} ({row['bytes to card']} B out, {row['bytes from card']} B in)"
            out.append(_line(name, case, "APDUs per download", value))
            if "slow card s" in row:
                out.append(_line(name, case, "wall s, 20 ms + 0.05 ms/B card", row["slow card s"]))
        elif name == "scale":
            case = f"N={row['N']} over HTTPS"
            value = f"{row['downloads/s']}/s, p50 {row['p50 ms']} ms, p99 {row['p99 ms']} ms"
            out.append(_line(name, case, "throughput, latency", value))
            out.append(_line(name, case, "peak memory per session", f"{row['peak kB/session']} kB"))
        elif name == "startup":
            value = f"{row['best s']} s (median {row['median s']}, cpu {row['cpu s (best)']})"
            if row["target s"]:
                value += f", target {row['target s']} s: {row['met (best)']}"
            out.append(_line(name, row["command"], "wall", value))
    return out


def _line(name: str, case: str, figure: str, value: Any) -> dict[str, Any]:
    return {"benchmark": name, "case": case, "figure": figure, "value": value}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, no slow card")
    parser.add_argument("--only", nargs="+", choices=[n for n, _ in BENCHMARKS])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    results: dict[str, Rows] = {}
    started = time.perf_counter()
    for name, run in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        print(f"running {name} ...", file=sys.stderr, flush=True)
        results[name] = run(args.quick)
    elapsed = time.perf_counter() - started
    if args.json:
        json.dump({"elapsed_s": elapsed, "results": results}, sys.stdout, indent=2)
        print()
        return 0
    lines = [line for name, rows in results.items() for line in headline(name, rows)]
    print(
        f"pyrsp benchmarks ({'quick' if args.quick else 'full'}, {elapsed:.0f} s, "
        f"Python {platform.python_version()}, {platform.machine()})"
    )
    print(table(lines, ["benchmark", "case", "figure", "value"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
