"""APDU round trip through the full PC/SC path: pyscard -> pcscd -> vpcd -> VpcdBridge -> card.

Run inside the sandbox (root, pcscd and vsmartcard-vpcd installed):

    scripts/pcsc-sandbox .venv/bin/python benchmarks/bench_pcsc_roundtrip.py

Sends N STORE DATA APDUs with 255 data bytes (the short-APDU maximum) through
PcscCardTransport and prints the median and p99 round trip. The card answers ``9000`` (as to an
intermediate STORE DATA block), or echoes the data with ``--echo``. Target: median <= 0.3 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from pyrsp.testing.vpcd import VpcdBridge
from pyrsp.transports.pcsc import PcscCardTransport

ATR = bytes.fromhex("3B9F96801FC78031E073FE211B63F100AD830F9000")


class QuickCard:
    """Answers every APDU at once: ``9000``, or the data back then ``9000``."""

    def __init__(self, echo: bool) -> None:
        self.echo = echo

    def atr(self) -> bytes:
        return ATR

    def transmit(self, apdu: bytes) -> bytes:
        return (apdu[5:] if self.echo else b"") + b"\x90\x00"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="APDUs to time (2000)")
    parser.add_argument("--warmup", type=int, default=200, help="untimed APDUs first (200)")
    parser.add_argument("--echo", action="store_true", help="the card echoes the 255 bytes")
    args = parser.parse_args()
    if os.environ.get("PYRSP_PCSC_SANDBOX") != "1":
        print("run me inside scripts/pcsc-sandbox (needs root, pcscd, vsmartcard-vpcd)")
        return 2
    port, _, reader = os.environ["PYRSP_VPCD_SLOTS"].split(",")[0].partition("=")
    apdu = bytes([0x80, 0xE2, 0x11, 0x00, 0xFF]) + bytes(range(255))
    with (
        VpcdBridge(QuickCard(args.echo), int(port)),
        PcscCardTransport(reader, card_wait=5) as card,
    ):
        for _ in range(args.warmup):
            card.transmit(apdu)
        times = []
        for _ in range(args.n):
            started = time.perf_counter_ns()
            card.transmit(apdu)
            times.append((time.perf_counter_ns() - started) / 1e6)
    times.sort()
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
    print(
        f"PC/SC round trip, {args.n} APDUs of 255 data bytes, answer "
        f"{'257' if args.echo else '2'} bytes, reader {reader!r}:"
    )
    print(
        f"  median {statistics.median(times):.3f} ms, p99 {p99:.3f} ms, "
        f"mean {statistics.fmean(times):.3f} ms, max {times[-1]:.3f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
