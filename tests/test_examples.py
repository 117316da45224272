"""Every example in examples/ runs, as a user would run it, and does what it says."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from pyrsp.testing import TestPki, TestSmdp, VirtualEuicc

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def test_notification_worker_delivers_everything_despite_failures() -> None:
    done = run(str(EXAMPLES / "notification_worker.py"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "pending on the card: 2"
    assert any("failed (ServerProtocolError)" in line for line in lines)
    assert lines[-1] == "pending on the card: 0"


def test_renewal_job_renews_every_card_over_https() -> None:
    done = run(str(EXAMPLES / "renewal_job.py"))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 8 and all(line.endswith(": complete") for line in lines)


def test_testing_your_own_backend_example_passes() -> None:
    done = run("-m", "pytest", "-q", "-p", "no:cacheprovider", str(EXAMPLES / "test_my_backend.py"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout


@pytest.mark.parametrize(
    ("connect_to", "says"),
    [
        ("smdp.example.com=10.0.0.5", "expected HOST:PORT with a port 1-65535"),
        ("smdp.example.com=10.0.0.5:99999", "expected HOST:PORT with a port 1-65535"),
        ("smdp.example.com=http://10.0.0.5:8080", "expected an https:// URL"),
        ("10.0.0.5:8443", "expected ADDRESS=HOST:PORT or ADDRESS=URL"),
    ],
)
def test_provision_example_rejects_a_bad_connect_to(connect_to: str, says: str) -> None:
    done = run(
        str(EXAMPLES / "provision_pcsc_reader.py"), "LPA:1$smdp.example.com$X",
        "--trust", "ci.pem", "--connect-to", connect_to,
    )  # fmt: skip
    assert done.returncode == 2 and says in done.stderr and "Traceback" not in done.stderr


def test_provision_example_takes_a_url_and_exits_1_on_a_pyrsp_error() -> None:
    done = run(
        str(EXAMPLES / "provision_pcsc_reader.py"), "LPA:1$smdp.example.com$X",
        "--trust", "ci.pem", "--reader", "no reader has this name",
        "--connect-to", "smdp.example.com=https://proxy.example.net/rsp",
    )  # fmt: skip
    assert done.returncode == 1 and done.stderr.startswith("error: "), done.stderr


@pytest.mark.pcsc
def test_provisioning_a_card_in_a_pcsc_reader(pcsc_reader, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pki = TestPki.generate(seed=21)
    pki.save(tmp_path / "pki")
    slot = pcsc_reader(VirtualEuicc(pki, rng=random.Random(21)))
    smdp = TestSmdp(pki, rng=21)
    code = smdp.add_order(profile_name="Reader demo")
    with smdp.serve_https() as url:
        port = url.rsplit(":", 1)[1]
        done = run(
            str(EXAMPLES / "provision_pcsc_reader.py"),
            code.qr_text(),
            "--reader", slot.reader,
            "--trust", str(tmp_path / "pki" / "ci.pem"),
            "--connect-to", f"{pki.smdp_host}=127.0.0.1:{port}",
        )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "installing 'Reader demo'" in done.stdout
    assert (
        "notifications delivered: 1 of 1" in done.stdout
    )  # the install one went with the download
    assert [n.event for n in smdp.notifications] == ["install", "enable"]
