"""APDUs and bytes exchanged with the card for one download, and what a real card makes of them.

For each STORE DATA segment size (63, 120, the default 255, and extended-length APDUs) one
12 kB profile is downloaded from a TestSmdp in-process through ``RspClient``; its APDU trace
counts the C-APDUs (GET RESPONSE included) and the bytes each way, from GetEuiccChallenge to the
install notification's removal (opening and closing the ISD-R session adds 3 + 1 APDUs and is
reported apart). Then the same download on a simulated real card: the VirtualEuicc's latency
knob adds a fixed cost per APDU plus a cost per byte (default 20 ms + 0.05 ms/byte, as on
a typical eUICC behind a USB reader), and the download's wall time is measured.

    .venv/bin/python benchmarks/bench_apdus.py                         # counts + slow card
    .venv/bin/python benchmarks/bench_apdus.py --latency-ms 0          # counts only
    .venv/bin/python benchmarks/bench_apdus.py --latency-ms 30 --per-byte-ms 0.1

Targets (issue 10): at 255 at most half the APDUs needed at 120; extended APDUs one APDU per
BPP piece, at least 3x fewer than at 120.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from _common import Lab, emit, profile_package

from pyrsp.client import RspClient

SIZES: list[tuple[str, int | None, bool]] = [
    ("63", 63, False),
    ("120", 120, False),
    ("255 (default)", None, False),
    ("extended", None, True),
]


@dataclass
class Trace:
    """Counts the APDUs and bytes of the current phase."""

    counting: bool = False
    commands: list[int] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    get_responses: int = 0
    other: int = 0
    bpp: int = 0
    in_bpp: bool = False

    def __call__(self, direction: Literal["C-APDU", "R-APDU"], apdu: bytes) -> None:
        if not self.counting:
            if direction == "C-APDU":
                self.other += 1
            return
        if direction == "C-APDU":
            self.commands.append(len(apdu))
            self.get_responses += apdu[1] == 0xC0
            # the first STORE DATA block of LoadBoundProfilePackage: BF36 after Lc (1 or 3 bytes)
            self.in_bpp = self.in_bpp or b"\xbf\x36" in (apdu[5:7], apdu[7:9])
            self.bpp += self.in_bpp
        else:
            self.answers.append(len(apdu))
            self.in_bpp = self.in_bpp and not apdu.startswith(b"\xbf\x37")


def download(
    lab: Lab, segment: int | None, extended: bool, latency: float, per_byte: float
) -> tuple[Trace, float, int]:
    """One download: its trace, wall seconds and the number of BPP pieces."""
    card = lab.card(1)
    card.faults.latency, card.faults.latency_per_byte = latency, per_byte
    code = lab.order()
    trace = Trace()
    pieces: list[int] = []
    with RspClient(
        card,
        lab.smdp.http_transport(),
        segment_size=segment,
        extended_apdus=extended,
        trace=trace,
    ) as client:
        trace.counting = True
        start = time.perf_counter()
        result = client.download(
            code, progress=lambda e: pieces.append(e.total) if e.stage == "load_bpp" else None
        )
        wall = time.perf_counter() - start
        trace.counting = False
    if not (result.install.success and result.notification and result.notification.ok):
        raise SystemExit(f"download at segment size {segment} failed: {result}")
    return trace, wall, pieces[-1] if pieces else 0


def measure(latency_ms: float, per_byte_ms: float) -> list[dict[str, Any]]:
    """One row per segment size."""
    lab = Lab("nist")
    rows: list[dict[str, Any]] = []
    for name, segment, extended in SIZES:
        trace, _, pieces = download(lab, segment, extended, 0.0, 0.0)
        row: dict[str, Any] = {
            "segment": name,
            "APDUs": len(trace.commands),
            "of which GET RESPONSE": trace.get_responses,
            "BPP pieces": pieces,
            "BPP APDUs": trace.bpp,
            "bytes to card": sum(trace.commands),
            "bytes from card": sum(trace.answers),
            "session open+close APDUs": trace.other,
        }
        if latency_ms or per_byte_ms:
            _, wall, _ = download(lab, segment, extended, latency_ms / 1000, per_byte_ms / 1000)
            row["slow card s"] = f"{wall:.2f}"
        rows.append(row)
    at_120 = rows[1]["APDUs"]
    for row in rows:
        row["ratio to 120"] = f"{row['APDUs'] / at_120:.3f}"
    return rows


COLUMNS = [
    "segment",
    "APDUs",
    "of which GET RESPONSE",
    "BPP pieces",
    "BPP APDUs",
    "bytes to card",
    "bytes from card",
    "ratio to 120",
    "slow card s",
]


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    """The issue 10 targets, checked."""
    at_120, at_255, extended = (rows[i]["APDUs"] for i in (1, 2, 3))
    bpp_120, bpp_255 = rows[1]["BPP APDUs"], rows[2]["BPP APDUs"]
    return [
        f"target 255 <= half of 120: {at_255} <= {at_120 / 2:g}: {at_255 <= at_120 / 2}"
        f" (BPP alone: {bpp_255} <= {bpp_120 / 2:g}: {bpp_255 <= bpp_120 / 2})",
        f"target extended 3x fewer than 120: {extended} * 3 <= {at_120}: {extended * 3 <= at_120}",
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=float, default=20.0, help="per APDU (0: off)")
    parser.add_argument("--per-byte-ms", type=float, default=0.05, help="per byte each way")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rows = measure(args.latency_ms, args.per_byte_ms)
    title = (
        f"bench_apdus: one download of {profile_package()[1]}, slow card = "
        f"{args.latency_ms:g} ms/APDU + {args.per_byte_ms:g} ms/byte"
    )
    emit(title, rows, COLUMNS, args.json)
    if not args.json:
        print("\n".join(verdict(rows)))
    return 0


def run_rows(quick: bool) -> list[dict[str, Any]]:
    """The rows for run_all (the slow card only when not quick)."""
    return measure(0.0 if quick else 20.0, 0.0 if quick else 0.05)


if __name__ == "__main__":
    sys.exit(main())
