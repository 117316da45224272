"""Codec figures: median microseconds to encode and decode typical SGP.22 messages, and cold start.

Run: ``.venv/bin/python benchmarks/bench_codec.py``. Targets (issue 2): <= 60 us for the small
messages, <= 400 us for a 12 kB BoundProfilePackage; ``import pyrsp`` <= 0.15 s; the first decode
in a fresh process with a warm on-disk cache <= 0.3 s in total. Cold-start figures are given as
wall time and as CPU time (user + system), which is the steadier number on a shared machine.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from pyrsp import asn1

ROUNDS = 15
CALLS_PER_ROUND = 200
COLD_RUNS = 7


def fake_certificate(size: int) -> bytes:
    """A SEQUENCE TLV of ``size`` bytes standing in for a DER certificate."""
    body = bytes(range(256)) * (size // 256 + 1)
    content = body[: size - 4]
    return b"\x30\x82" + len(content).to_bytes(2, "big") + content


def euicc_info2() -> dict[str, Any]:
    ski = [bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3"), bytes(range(20))]
    return {
        "profileVersion": b"\x02\x03\x01",
        "svn": b"\x02\x02\x02",
        "euiccFirmwareVer": b"\x04\x06\x00",
        "extCardResource": bytes.fromhex("810100820400014f08830400003c2e"),
        "uiccCapability": (b"\x7f\xff\xff\x80", 25),
        "ts102241Version": b"\x0f\x00\x00",
        "globalplatformVersion": b"\x02\x03\x00",
        "rspCapability": (b"\xd8", 5),
        "euiccCiPKIdListForVerification": ski,
        "euiccCiPKIdListForSigning": ski,
        "euiccCategory": 2,
        "forbiddenProfilePolicyRules": (b"\x40", 2),
        "ppVersion": b"\x00\x00\x01",
        "sasAcreditationNumber": "GI-BA-UP-0419",
        "certificationDataObject": {
            "platformLabel": "1.2.840.1234567/myPlatformLabel",
            "discoveryBaseURL": "https://mycompany.com/myDLOAregistrar",
        },
    }


def profile_info(index: int) -> dict[str, Any]:
    return {
        "iccid": bytes.fromhex(f"98001032547698103{index}F4"[:20].ljust(20, "F")),
        "isdpAid": bytes.fromhex(f"A0000005591010FFFFFFFF89000010{index:02X}"),
        "profileState": int(index == 0),
        "profileNickname": f"Profile {index}",
        "serviceProviderName": "Example Mobile",
        "profileName": f"Example Mobile plan {index}",
        "iconType": 1,
        "profileClass": 2,
        "notificationConfigurationInfo": [
            {"profileManagementOperation": (b"\xf0", 4), "notificationAddress": "smdp.example.com"}
        ],
        "profileOwner": {"mccMnc": b"\x00\xf1\x10"},
        "profilePolicyRules": (b"\x40", 2),
    }


def authenticate_server_request() -> dict[str, Any]:
    device_info = {
        "tac": bytes.fromhex("35693803"),
        "deviceCapabilities": {
            "gsmSupportedRelease": b"\x0d\x00\x00",
            "utranSupportedRelease": b"\x0d\x00\x00",
            "eutranEpcSupportedRelease": b"\x0d\x00\x00",
            "nr5gcSupportedRelease": b"\x0f\x00\x00",
        },
        "imei": bytes.fromhex("3596830312345678"),
    }
    return {
        "serverSigned1": {
            "transactionId": bytes(range(16)),
            "euiccChallenge": bytes(16),
            "serverAddress": "testsmdpplus1.example.com",
            "serverChallenge": bytes(range(16, 32)),
        },
        "serverSignature1": bytes(64),
        "euiccCiPKIdToBeUsed": bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3"),
        "serverCertificate": fake_certificate(560),
        "ctxParams1": (
            "ctxParamsForCommonAuthentication",
            {"matchingId": "04386-AGYFT-A74Y8-3F815", "deviceInfo": device_info},
        ),
    }


def bound_profile_package(total: int = 12 * 1024) -> dict[str, Any]:
    segments = [bytes(1020) for _ in range(total // 1020)]
    return {
        "initialiseSecureChannelRequest": {
            "remoteOpId": 1,
            "transactionId": bytes(range(16)),
            "controlRefTemplate": {"keyType": b"\x88", "keyLen": b"\x10", "hostId": bytes(16)},
            "smdpOtpk": b"\x04" + bytes(64),
            "smdpSign": bytes(64),
        },
        "firstSequenceOf87": [bytes(48)],
        "sequenceOf88": [bytes(160)],
        "secondSequenceOf87": [bytes(64)],
        "sequenceOf86": segments,
    }


def median_us(function: Callable[[], Any]) -> float:
    """Median CPU microseconds per call (process time: steadier than wall time under load)."""
    per_call = []
    for _ in range(ROUNDS):
        start = time.process_time()
        for _ in range(CALLS_PER_ROUND):
            function()
        per_call.append((time.process_time() - start) / CALLS_PER_ROUND)
    return statistics.median(per_call) * 1e6


def codec_figures() -> None:
    cases = [
        ("EUICCInfo2", euicc_info2(), 60),
        ("ProfileInfoListResponse", ("profileInfoListOk", [profile_info(i) for i in range(8)]), 60),
        ("AuthenticateServerRequest", authenticate_server_request(), 60),
        ("BoundProfilePackage", bound_profile_package(), 400),
    ]
    print(f"{'message':28} {'bytes':>6} {'encode us':>10} {'decode us':>10} {'target us':>10}")
    for name, value, target in cases:
        der = asn1.encode(name, value)
        assert asn1.decode(name, der) == value
        encode_us = median_us(partial(asn1.encode, name, value))
        decode_us = median_us(partial(asn1.decode, name, der))
        print(f"{name:28} {len(der):6} {encode_us:10.1f} {decode_us:10.1f} {target:10}")


def run_child(code: str) -> tuple[float, float, str]:
    """Wall seconds, CPU seconds (user + system) and stdout of ``python -c code``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=os.environ
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout.strip()


def cold_start_figures() -> None:
    asn1.decode("GetEuiccChallengeRequest", b"\xbf\x2e\x00")  # warms the on-disk cache
    first_decode = (
        "import pyrsp.asn1 as a; a.decode('GetEuiccChallengeResponse', bytes.fromhex("
        "'bf2e1280100102030405060708090a0b0c0d0e0f10'))"
    )
    rows = [
        ("python -c pass", "pass"),
        ("python -c 'import pyrsp'", "import pyrsp"),
        ("first decode, warm cache", first_decode),
    ]
    print(f"\ncold start (median of {COLD_RUNS} fresh processes, whole process)")
    print(f"{'':28} {'wall s':>8} {'cpu s':>8}")
    for label, code in rows:
        runs = [run_child(code) for _ in range(COLD_RUNS)]
        wall = statistics.median(run[0] for run in runs)
        cpu = statistics.median(run[1] for run in runs)
        print(f"{label:28} {wall:8.3f} {cpu:8.3f}")


def main() -> None:
    print(f"python {sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}")
    codec_figures()
    cold_start_figures()


if __name__ == "__main__":
    main()
