"""``python -m pyrsp.testing.smdp``: serves over HTTPS and prints the activation codes."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import httpx

from pyrsp.activation_code import ActivationCode
from pyrsp.testing.smdp.__main__ import build, main, serve
from test_smdp_support import PREFIX, shared_pki


def test_serves_one_order_per_profile_file(tmp_path: Path, vectors_dir: Path) -> None:
    pki = shared_pki()
    pki.save(tmp_path / "pki")
    smdp, lines = build([tmp_path / "pki"], vectors_dir / "upp", confirmation_code="1234", seed=1)
    assert len(lines) == len(list((vectors_dir / "upp").glob("*.der")))
    ac = ActivationCode.parse(lines[0].split()[0])
    assert ac.smdp_address == pki.smdp_host
    assert ac.confirmation_code_required
    assert (
        smdp.order(ac.matching_id).profile
        == (vectors_dir / "upp" / f"{ac.matching_id}.der").read_bytes()
    )

    out, stop = io.StringIO(), threading.Event()
    thread = threading.Thread(
        target=serve,
        args=(smdp, lines),
        kwargs={"host": "127.0.0.1", "port": 0, "stop": stop, "out": out},
    )
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while "listening on" not in out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        url = out.getvalue().split("listening on ")[1].split()[0]
        with httpx.Client(verify=pki.client_ssl_context()) as client:
            response = client.post(
                url + PREFIX + "initiateAuthentication",
                content=b"{}",
                headers={"content-type": "application/json"},
                extensions={"sni_hostname": pki.smdp_host},
            )
        assert response.status_code == 200
    finally:
        stop.set()
        thread.join(10)
    assert "order 8949449999999990023: released" in out.getvalue()


def test_generated_order_without_profiles(tmp_path: Path) -> None:
    shared_pki().save(tmp_path / "pki")
    _, [line] = build([tmp_path / "pki"])
    assert line.startswith("LPA:1$testsmdpplus1.example.com$")
    assert "generated profile" in line


def test_empty_profile_directory_is_an_error(tmp_path: Path, capsys: object) -> None:
    shared_pki().save(tmp_path / "pki")
    (tmp_path / "empty").mkdir()
    assert main(["--pki", str(tmp_path / "pki"), "--profiles", str(tmp_path / "empty")]) == 2
