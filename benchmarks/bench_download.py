"""Full profile downloads per second, in-process, and where the CPU time goes.

Each download is what ``RspClient.download`` does end to end against a fresh VirtualEuicc and
one TestSmdp, both in this process: open the ISD-R session, GetEuiccChallenge, EUICCInfo1,
initiateAuthentication, AuthenticateServer, authenticateClient, PrepareDownload,
getBoundProfilePackage, the BPP loaded at the default segment size (255), the install
notification delivered and removed, the session closed. Both sides' crypto, codec and BSP
are in the figure; making the card and the order is not.

The figure is CPU time (``time.process_time``): the machine may be shared, and one download
uses one core. Downloads/s is 1 / the lowest median of batches of 10 downloads (as ``timeit``
takes the minimum: other processes only add time); the overall median is shown too. The split
times each effect: the card's ``transmit`` (card), the SM-DP+'s ``post`` (server), everything
else (client: flows, ES10/ES9+ codec, drivers).

    .venv/bin/python benchmarks/bench_download.py                 # NIST and brainpool
    .venv/bin/python benchmarks/bench_download.py --profile       # + cProfile summary
    .venv/bin/python benchmarks/bench_download.py --sample        # + pyinstrument summary
    .venv/bin/python benchmarks/bench_download.py --httpx         # through HttpsTransport
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from _common import Lab, emit

from pyrsp.client import RspClient
from pyrsp.protocol.effects import HttpResponse
from pyrsp.testing.euicc import VirtualEuicc
from pyrsp.transports.base import HttpTransport
from pyrsp.transports.http import HttpsTransport

clock = time.process_time


class TimedCard:
    """A card that adds up the CPU time spent inside the VirtualEuicc."""

    def __init__(self, card: VirtualEuicc) -> None:
        self.card = card
        self.spent = 0.0

    def transmit(self, apdu: bytes) -> bytes:
        start = clock()
        try:
            return self.card.transmit(apdu)
        finally:
            self.spent += clock() - start

    def atr(self) -> bytes:
        return self.card.atr()


class TimedHttp:
    """An HTTP transport that adds up the CPU time spent answering (the SM-DP+ side)."""

    def __init__(self, inner: HttpTransport) -> None:
        self.inner = inner
        self.spent = 0.0

    def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        start = clock()
        try:
            return self.inner.post(address, path, body, headers)
        finally:
            self.spent += clock() - start

    def close(self) -> None:
        """The transport is shared by every download of the run: closed at the end."""


@dataclass
class Sample:
    total: float
    card: float
    server: float
    wall: float


def http_for(lab: Lab, use_httpx: bool) -> HttpTransport:
    """The in-process transport to the lab's SM-DP+: direct, or httpx's client stack."""
    if use_httpx:
        return HttpsTransport(transport=lab.smdp.httpx_transport())
    return lab.smdp.http_transport()


def one_download(lab: Lab, http: TimedHttp, n: int) -> Sample:
    """One timed download on a fresh card."""
    card = TimedCard(lab.card(n))
    code = lab.order()
    http.spent = 0.0
    wall, start = time.perf_counter(), clock()
    with RspClient(card, http) as client:
        result = client.download(code)
    total, wall = clock() - start, time.perf_counter() - wall
    if not (result.install.success and result.notification and result.notification.ok):
        raise SystemExit(f"download {n} did not install and notify: {result}")
    return Sample(total, card.spent, http.spent, wall)


def measure(curve: str, count: int, seconds: float, use_httpx: bool) -> dict[str, Any]:
    """Run up to ``count`` downloads (at most ``seconds`` of CPU) after 3 warm-up ones."""
    lab = Lab(curve)
    http = TimedHttp(http_for(lab, use_httpx))
    for n in range(3):
        one_download(lab, http, -1 - n)
    samples: list[Sample] = []
    budget = clock() + seconds
    while len(samples) < count and clock() < budget:
        samples.append(one_download(lab, http, len(samples)))
    http.inner.close()
    return summarise(curve, lab, samples, use_httpx)


def best_batch(samples: list[Sample], size: int = 10) -> float:
    """The lowest median CPU time of consecutive batches of ``size`` downloads.

    As with ``timeit``, the fastest batch is the best estimate of what the code costs on a
    quiet core: other processes only ever add time (cache and core sharing).
    """
    batches = [samples[i : i + size] for i in range(0, len(samples) - size + 1, size)]
    return min(statistics.median(s.total for s in batch) for batch in batches or [samples])


def summarise(curve: str, lab: Lab, samples: list[Sample], use_httpx: bool) -> dict[str, Any]:
    total = best_batch(samples)
    spent = sum(s.total for s in samples)
    card = sum(s.card for s in samples) / spent
    server = sum(s.server for s in samples) / spent
    return {
        "curve": curve,
        "http": "httpx" if use_httpx else "direct",
        "downloads": len(samples),
        "cpu ms (best batch)": f"{total * 1000:.2f}",
        "cpu ms (median)": f"{statistics.median(s.total for s in samples) * 1000:.2f}",
        "downloads/s (1 core)": f"{1 / total:.0f}",
        "wall ms (median)": f"{statistics.median(s.wall for s in samples) * 1000:.2f}",
        "client %": f"{(1 - card - server) * 100:.0f}",
        "card %": f"{card * 100:.0f}",
        "server %": f"{server * 100:.0f}",
        "profile": lab.source,
    }


COLUMNS = [
    "curve",
    "http",
    "downloads",
    "cpu ms (best batch)",
    "cpu ms (median)",
    "downloads/s (1 core)",
    "wall ms (median)",
    "client %",
    "card %",
    "server %",
]

# Where a function's own time is counted, by the file it is in (first match wins).
AREAS = [
    ("pyrsp/testing/euicc", "card (VirtualEuicc)"),
    ("pyrsp/testing/smdp", "server (TestSmdp)"),
    ("pyrsp/asn1", "pyrsp.asn1 (codec)"),
    ("asn1tools", "asn1tools"),
    ("pyrsp/bsp", "pyrsp.bsp"),
    ("pyrsp/tlv", "pyrsp.tlv"),
    ("pyrsp/crypto", "pyrsp.crypto"),
    ("cryptography", "cryptography"),
    ("pyrsp/protocol", "client flows (pyrsp.protocol)"),
    ("pyrsp/client", "client driver (pyrsp.client)"),
    ("pyrsp/transports", "transports"),
    ("pyrsp/models", "pyrsp.models"),
    ("httpx", "httpx"),
    ("json", "json"),
    ("benchmarks/", "benchmark harness"),
]


def area_of(filename: str, function: str) -> str:
    for needle, area in AREAS:
        if needle in filename:
            return area
    if filename == "~":
        return "builtins (C functions)"
    return "other Python"


def profile(curve: str, count: int, use_httpx: bool, top: int) -> None:
    """Print a cProfile summary (CPU time) of ``count`` downloads, by area and by function.

    cProfile charges a cost to every Python call, so it overstates code made of many small
    calls; :func:`sample` (pyinstrument) does not.
    """
    lab = Lab(curve)
    http = TimedHttp(http_for(lab, use_httpx))
    one_download(lab, http, -1)
    profiler = cProfile.Profile(clock)
    profiler.runcall(lambda: [one_download(lab, http, n) for n in range(count)])
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    areas: defaultdict[str, float] = defaultdict(float)
    for (filename, _line, function), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        areas[area_of(filename, function)] += tottime
    print_areas(f"cProfile, {count} downloads, {curve}", areas, count)
    print(f"== top {top} functions by own time")
    stats.sort_stats("tottime").print_stats(top)


def sample(curve: str, count: int, use_httpx: bool) -> None:
    """Print a pyinstrument (sampling) summary of ``count`` downloads: own time by area."""
    from pyinstrument import Profiler

    lab = Lab(curve)
    http = TimedHttp(http_for(lab, use_httpx))
    one_download(lab, http, -1)
    profiler = Profiler(interval=0.0002)
    profiler.start()
    for n in range(count):
        one_download(lab, http, n)
    session = profiler.stop()
    areas: defaultdict[str, float] = defaultdict(float)
    frames = [session.root_frame()]
    while frames:
        frame = frames.pop()
        if frame is None or frame.is_synthetic:
            continue
        filename = frame.file_path or "~"
        areas[area_of(filename if filename != "<built-in>" else "~", frame.function)] += (
            frame.total_self_time
        )
        frames.extend(frame.children)
    print_areas(f"pyinstrument, {count} downloads, {curve}", areas, count)


def print_areas(title: str, areas: dict[str, float], count: int) -> None:
    spent = sum(areas.values())
    print(f"== where the time goes ({title}): own time per area")
    for area, seconds in sorted(areas.items(), key=lambda item: -item[1])[:16]:
        print(f"{seconds / count * 1000:7.2f} ms/download  {seconds / spent * 100:5.1f}%  {area}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--curve", choices=["nist", "brainpool", "both"], default="both")
    parser.add_argument("--count", type=int, default=60, help="downloads per curve (max)")
    parser.add_argument("--seconds", type=float, default=10.0, help="CPU budget per curve")
    parser.add_argument("--httpx", action="store_true", help="go through HttpsTransport+httpx")
    parser.add_argument("--profile", action="store_true", help="print a cProfile summary")
    parser.add_argument("--sample", action="store_true", help="print a pyinstrument summary")
    parser.add_argument("--top", type=int, default=25, help="functions in the profile")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    curves = ["nist", "brainpool"] if args.curve == "both" else [args.curve]
    rows = [measure(c, args.count, args.seconds, args.httpx) for c in curves]
    emit("bench_download: full downloads in-process (CPU time)", rows, COLUMNS, args.json)
    for curve in curves:
        if args.profile:
            profile(curve, min(args.count, 30), args.httpx, args.top)
        if args.sample:
            sample(curve, min(args.count, 60), args.httpx)
    return 0


def run_rows(quick: bool) -> list[dict[str, Any]]:
    """The rows for run_all."""
    count, seconds = (20, 4.0) if quick else (60, 10.0)
    return [measure(c, count, seconds, False) for c in ("nist", "brainpool")]


if __name__ == "__main__":
    sys.exit(main())
