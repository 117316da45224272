"""Provision a test eUICC in a PC/SC reader: download a profile, enable it, report it.

    python examples/provision_pcsc_reader.py 'LPA:1$smdp.example.com$MATCHING-ID' \
        --reader 0 --trust ci-certificates/ [--connect-to smdp.example.com=10.0.0.5:8443]

The SM-DP+'s TLS certificate must chain to one of the CI certificates given with --trust (a
file or a folder of PEM/DER files); the host name is checked. --connect-to reaches the SM-DP+
somewhere else than its address (a lab server on another port) while the address in the
activation code still goes into the signed data and the host-name check.
"""

from __future__ import annotations

import argparse
import sys

from pyrsp import PyrspError, RspClient
from pyrsp.models import ProfileMetadata
from pyrsp.transports import HttpsTransport, PcscCardTransport


def consent(metadata: ProfileMetadata) -> bool:
    """Show what is about to be installed (a lab script consents to every profile)."""
    print(f"installing {metadata.profile_name!r} from {metadata.service_provider_name!r}")
    return True


def provision(
    reader: str, activation_code: str, trust: list[str], connect_to: dict[str, str]
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("activation_code")
    parser.add_argument("--reader", default="0", help="reader name, part of one, or index")
    parser.add_argument("--trust", action="append", required=True, help="CI certificate(s)")
    parser.add_argument("--connect-to", action="append", default=[], metavar="ADDRESS=URL")
    args = parser.parse_args(argv)
    connect_to = {}
    for item in args.connect_to:
        address, _, target = item.partition("=")
        host, _, port = target.rpartition(":")
        connect_to[address] = (host, int(port))
    try:
        return provision(args.reader, args.activation_code, args.trust, connect_to)
    except PyrspError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
