"""Concurrent downloads with AsyncRspClient against one TestSmdp over real HTTPS on loopback.

The TestSmdp is served by uvicorn on 127.0.0.1 with its TLS certificate, in a process of its
own (forked after the orders are added), as an SM-DP+ is another machine; with
``--server-in-thread`` it is served from a thread of this process (one GIL for both sides).

For each concurrency N (1, 10, 100), N workers run downloads back to back until
``max(N, --min-downloads)`` are done. Every download has its own VirtualEuicc (run in the event
loop) and its own AsyncRspClient; the clients share one AsyncHttpsTransport (one connection
pool, CI-root trust, the SM-DP+ host name checked, ``connect_to`` the loopback port), as a
backend would. With ``--own-transport`` each client has its own, hence its own TLS connection.

Reported per N: downloads per second (wall), p50/p99 latency of one download (open, download,
notification, close), this process's CPU ms per download (client, cards, TLS; the server too
with ``--server-in-thread``), the server process's CPU ms per download (uvicorn, TLS, TestSmdp;
10 ms resolution), and this process's peak memory above idle divided by N (RSS high-water
mark, reset before each N).

    .venv/bin/python benchmarks/bench_scale.py
    .venv/bin/python benchmarks/bench_scale.py --concurrency 1 10 --min-downloads 30
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import multiprocessing
import os
import statistics
import sys
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from _common import Lab, emit, percentile

from pyrsp.activation_code import ActivationCode
from pyrsp.client import AsyncRspClient
from pyrsp.protocol.effects import HttpResponse
from pyrsp.testing.smdp import TestSmdp
from pyrsp.transports.http import AsyncHttpsTransport
from pyrsp.transports.inprocess import AsyncInProcessCardTransport

PHASE_TIMEOUT = 300.0


class SharedTransport:
    """One AsyncHttpsTransport used by many clients: closing a client leaves it open."""

    def __init__(self, inner: AsyncHttpsTransport) -> None:
        self.inner = inner

    async def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        return await self.inner.post(address, path, body, headers)

    async def close(self) -> None:
        """Closed once, at the end of the run."""


def rss_kb(field: str = "VmRSS") -> int:
    """This process's resident set size (or its high-water mark, ``VmHWM``) in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def reset_peak() -> bool:
    """Reset the RSS high-water mark to the current RSS (Linux ``clear_refs`` 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _serve(smdp: TestSmdp, ports: Queue[int], stop: Event) -> None:
    """The server process: serve until told to stop."""
    with smdp.serve_https() as url:
        port = urllib.parse.urlsplit(url).port
        assert port is not None
        ports.put(port)
        stop.wait(PHASE_TIMEOUT * 4)


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU seconds of process ``pid`` so far (0 for ``None``: this process)."""
    if pid is None:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def served(lab: Lab, in_thread: bool) -> Iterator[tuple[str, int, int | None]]:
    """The lab's SM-DP+ over HTTPS on loopback: (its address, the port, the server's pid).

    In a process of its own (forked: it holds the orders added before), or in a thread here.
    """
    if in_thread:
        with lab.smdp.serve_https() as url:
            port = urllib.parse.urlsplit(url).port
            assert port is not None
            yield lab.smdp.address, port, None
        return
    context = multiprocessing.get_context("fork")
    ports: Queue[int] = context.Queue()
    stop = context.Event()
    server = context.Process(target=_serve, args=(lab.smdp, ports, stop), daemon=True)
    server.start()
    try:
        yield lab.smdp.address, ports.get(timeout=30), server.pid
    finally:
        stop.set()
        server.join(timeout=10)
        if server.is_alive():
            server.kill()
            server.join()


def transport(lab: Lab, address: str, port: int) -> AsyncHttpsTransport:
    return AsyncHttpsTransport(
        trust=lab.pki.ci_certificates, connect_to={address: ("127.0.0.1", port)}, timeout=60
    )


async def one(lab: Lab, http: Any, n: int, code: ActivationCode) -> float:
    """One download on a fresh card; its wall time."""
    card = AsyncInProcessCardTransport(lab.card(n))  # the card runs in the event loop
    start = time.perf_counter()
    async with AsyncRspClient(card, http) as client:
        result = await client.download(code)
    if not (result.install.success and result.notification and result.notification.ok):
        raise RuntimeError(f"download {n} did not install and notify")
    return time.perf_counter() - start


async def phase(
    lab: Lab, address: str, port: int, codes: list[ActivationCode], *, concurrency: int, own: bool
) -> tuple[list[float], float]:
    """A download per code by ``concurrency`` workers: latencies and wall seconds."""
    shared = transport(lab, address, port)
    counter = iter(enumerate(codes))
    latencies: list[float] = []

    async def worker() -> None:
        for n, code in counter:
            http = transport(lab, address, port) if own else SharedTransport(shared)
            latencies.append(await one(lab, http, n, code))

    start = time.perf_counter()
    try:
        workers = [worker() for _ in range(concurrency)]
        await asyncio.wait_for(asyncio.gather(*workers), PHASE_TIMEOUT)
    finally:
        await shared.close()
    return latencies, time.perf_counter() - start


def measure(
    concurrencies: list[int],
    min_downloads: int,
    own: bool,
    curve: str = "nist",
    in_thread: bool = False,
) -> list[dict[str, Any]]:
    lab = Lab(curve)
    rows: list[dict[str, Any]] = []
    warm = [lab.order() for _ in range(4)]
    batches = [[lab.order() for _ in range(max(n, min_downloads))] for n in concurrencies]
    with served(lab, in_thread) as (address, port, pid):
        asyncio.run(
            phase(lab, address, port, warm, concurrency=2, own=own)
        )  # warm up: schema, TLS, imports
        for concurrency, codes in zip(concurrencies, batches, strict=True):
            gc.collect()
            idle = rss_kb()
            peak_ok = reset_peak()
            cpu, server_cpu = time.process_time(), cpu_seconds(pid)
            latencies, wall = asyncio.run(
                phase(lab, address, port, codes, concurrency=concurrency, own=own)
            )
            cpu = time.process_time() - cpu
            server_cpu = cpu_seconds(pid) - server_cpu
            peak = rss_kb("VmHWM") if peak_ok else rss_kb()
            rows.append(
                {
                    "N": concurrency,
                    "downloads": len(latencies),
                    "downloads/s": f"{len(latencies) / wall:.1f}",
                    "p50 ms": f"{statistics.median(latencies) * 1000:.0f}",
                    "p99 ms": f"{percentile(latencies, 99) * 1000:.0f}",
                    "client cpu ms/download": f"{cpu / len(latencies) * 1000:.1f}",
                    "server cpu ms/download": (
                        f"{server_cpu / len(latencies) * 1000:.1f}" if pid else "(in client)"
                    ),
                    "peak kB/session": f"{(peak - idle) / concurrency:.0f}",
                    "idle RSS MB": f"{idle / 1024:.0f}",
                    "transport": "own" if own else "shared",
                    "server": "thread" if in_thread else "process",
                }
            )
    return rows


COLUMNS = [
    "N",
    "downloads",
    "downloads/s",
    "p50 ms",
    "p99 ms",
    "client cpu ms/download",
    "server cpu ms/download",
    "peak kB/session",
    "idle RSS MB",
    "transport",
    "server",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 10, 100])
    parser.add_argument("--min-downloads", type=int, default=20, help="per concurrency level")
    parser.add_argument("--own-transport", action="store_true", help="a transport per client")
    parser.add_argument("--curve", choices=["nist", "brainpool"], default="nist")
    parser.add_argument("--server-in-thread", action="store_true", help="one process, one GIL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if max(args.concurrency) > 200 or args.min_downloads > 500:
        parser.error("keep it bounded: concurrency <= 200, min-downloads <= 500")
    rows = measure(
        args.concurrency, args.min_downloads, args.own_transport, args.curve, args.server_in_thread
    )
    emit("bench_scale: AsyncRspClient over HTTPS on loopback", rows, COLUMNS, args.json)
    return 0


def run_rows(quick: bool) -> list[dict[str, Any]]:
    """The rows for run_all."""
    return measure([1, 10] if quick else [1, 10, 100], 10 if quick else 20, False)


if __name__ == "__main__":
    sys.exit(main())
