"""Provision a test eUICC in a PC/SC reader: download a profile, enable it, report it.

    python examples/provision_pcsc_reader.py 'LPA:1$smdp.example.com$MATCHING-ID' \
        --reader 0 --trust ci-certificates/ [--connect-to smdp.example.com=10.0.0.5:8443]

The SM-DP+'s TLS certificate must chain to one of the CI certificates given with --trust (a
file or a folder of PEM/DER files); the host name is checked. --connect-to reaches the SM-DP+
somewhere else than its address (a lab server on another port) while the address in the
activation code still goes into the signed data: ADDRESS=HOST:PORT connects there and still
checks the certificate against ADDRESS; ADDRESS=https://... sends the requests to that base
URL (a proxy), whose host the certificate must name. Exit status: 0 done, 1 a pyrsp error
(card, server, download) or a notification not delivered, 2 a bad command line.
"""

from __future__ import annotations

import argparse
import sys

from pyrsp import PyrspError, RspClient
from pyrsp.models import ProfileMetadata
from pyrsp.transports import HttpsTransport, PcscCardTransport
from pyrsp.transports.http import ConnectTarget


def consent(metadata: ProfileMetadata) -> bool:
    """Show what is about to be installed (a lab script consents to every profile)."""
    print(f"installing {metadata.profile_name!r} from {metadata.service_provider_name!r}")
    return True


def provision(
    reader: str, activation_code: str, trust: list[str], connect_to: dict[str, ConnectTarget]
) -> int:
    """Download, enable and report; returns a process exit status."""
    card = PcscCardTransport(int(reader) if reader.isdigit() else reader)
    http = HttpsTransport(trust=trust, connect_to=connect_to)
    with RspClient(card, http) as client:
        print(f"eUICC {client.eid()} in {reader!r}")
        result = client.download(activation_code, confirm=consent)
        print(f"installed {result.iccid} ({result.profile_name})")
        client.enable(result.iccid)
        outcomes = client.process_notifications()
        for profile in client.profiles():
            print(f"  {profile.iccid}  {profile.state}  {profile.profile_name}")
    delivered = sum(outcome.ok for outcome in outcomes)
    print(f"notifications delivered: {delivered} of {len(outcomes)}")
    return 0 if delivered == len(outcomes) else 1


def connect_to_item(item: str) -> tuple[str, ConnectTarget]:
    """``ADDRESS=HOST:PORT`` or ``ADDRESS=https://URL`` as an (address, target) pair."""
    address, sep, target = item.partition("=")
    if not sep or not address or not target:
        raise argparse.ArgumentTypeError(f"expected ADDRESS=HOST:PORT or ADDRESS=URL, got {item!r}")
    if "://" in target:
        if not target.startswith("https://") or len(target) == len("https://"):
            raise argparse.ArgumentTypeError(f"expected an https:// URL, got {target!r}")
        return address, target
    host, colon, port = target.rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(
            f"expected HOST:PORT with a port 1-65535 (or an https:// URL), got {target!r}"
        )
    return address, (host.strip("[]"), int(port))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("activation_code")
    parser.add_argument("--reader", default="0", help="reader name, part of one, or index")
    parser.add_argument("--trust", action="append", required=True, help="CI certificate(s)")
    parser.add_argument(
        "--connect-to",
        action="append",
        default=[],
        type=connect_to_item,
        metavar="ADDRESS=HOST:PORT|URL",
        help="reach the SM-DP+ ADDRESS at HOST:PORT or an https:// base URL",
    )
    args = parser.parse_args(argv)
    try:
        return provision(args.reader, args.activation_code, args.trust, dict(args.connect_to))
    except PyrspError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
