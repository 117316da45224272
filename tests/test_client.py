"""RspClient against the VirtualEuicc in-process: session, every ES10 function, traps, faults."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pyrsp import asn1, tlv
from pyrsp.client import AsyncRspClient, Handlers, RspClient
from pyrsp.errors import (
    ApduError,
    CardRemovedError,
    EuiccError,
    IsdRNotFoundError,
    UsageError,
)
from pyrsp.models import ProfileState, iccid_to_bytes
from pyrsp.protocol import es10
from pyrsp.protocol.apdu import ApduConfig, bpp_pieces, store_data_apdus, transmit_es10
from pyrsp.protocol.effects import Progress
from pyrsp.protocol.session import ISDR_AIDS
from pyrsp.testing.euicc import EuiccSettings, VirtualEuicc
from pyrsp.testing.euicc.state import CardState, ProfileRecord
from pyrsp.testing.pki import TestPki

ICCID_18 = "894910000000000001"
ICCID_19 = "8949100000000000012"
ICCID_20 = "89491000000000000123"
ISDP_PREFIX = bytes.fromhex("A0000005591010FFFFFFFF8900")
ALL_EVENTS = (b"\xf0", 4)


def isdp_aid(n: int) -> bytes:
    return ISDP_PREFIX + (0x1000 + n).to_bytes(2, "big") + b"\x00"


def record(
    iccid: str, n: int, *, enabled: bool = False, klass: int = 2, **meta: Any
) -> ProfileRecord:
    metadata = {
        "iccid": iccid_to_bytes(iccid),
        "serviceProviderName": "pyrsp",
        "profileName": f"profile {n}",
        "profileClass": klass,
        "notificationConfigurationInfo": [
            {"profileManagementOperation": ALL_EVENTS, "notificationAddress": "smdp.example.com"}
        ],
        **meta,
    }
    return ProfileRecord(
        iccid=iccid_to_bytes(iccid),
        isdp_aid=isdp_aid(n),
        metadata=asn1.encode("StoreMetadataRequest", metadata),
        enabled=enabled,
    )


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=5)


def make_card(pki: TestPki, **kwargs: Any) -> VirtualEuicc:
    state = CardState(
        profiles=[
            record(ICCID_18, 0, enabled=True),
            record(ICCID_19, 1),
            record(ICCID_20, 2, klass=0),
            record("8949100000000000045", 3, profilePolicyRules=(b"\x60", 3)),
        ]
    )
    return VirtualEuicc(pki=pki, state=state, **kwargs)


@pytest.fixture
def card(pki: TestPki) -> VirtualEuicc:
    return make_card(pki)


@pytest.fixture
def client(card: VirtualEuicc) -> Iterator[RspClient]:
    with RspClient(card) as opened:
        yield opened


# -- session ------------------------------------------------------------------------------


def test_session_opens_a_channel_and_closes_it(card: VirtualEuicc) -> None:
    trace: list[tuple[str, bytes]] = []
    with RspClient(card, trace=lambda d, a: trace.append((d, a))) as client:
        assert client.session is not None and client.session.channel == 1
        assert client.session.aid == ISDR_AIDS[0]
        assert client.config == ApduConfig(channel=1)
        assert set(card.apdu.channels) == {0, 1}
    assert set(card.apdu.channels) == {0}
    assert trace[-2] == ("C-APDU", bytes.fromhex("00708001"))
    assert [d for d, _ in trace] == ["C-APDU", "R-APDU"] * (len(trace) // 2)
    with pytest.raises(UsageError, match="not open"):
        client.eid()


def test_open_twice_is_a_usage_error(client: RspClient) -> None:
    with pytest.raises(UsageError, match="already open"):
        client.open()


def test_channel_4_and_above(card: VirtualEuicc) -> None:
    """FACTS.md trap: on channels >= 4 the CLA is C0 | (ch - 4) for STORE DATA."""
    for _ in range(4):
        assert card.transmit(bytes.fromhex("0070000001"))[-2:] == b"\x90\x00"
    trace: list[tuple[str, bytes]] = []
    with RspClient(card, trace=lambda d, a: trace.append((d, a))) as client:
        assert client.config.channel == 5
        assert client.eid() == card.eid
        assert len(client.profiles()) == 4
    commands = [a for d, a in trace if d == "C-APDU"]
    assert all(a[0] == 0xC1 for a in commands if a[1] == 0xE2)
    assert any(a[:2] == b"\x41\xa4" for a in commands)


def test_removable_euicc_aid_fallback(pki: TestPki) -> None:
    """FACTS.md trap: a removable eUICC answers on another ISD-R AID (here 5ber's)."""
    five_ber = bytes.fromhex("A0000005591010FFFFFFFF8900050500")
    card = make_card(pki, aid=five_ber)
    with RspClient(card) as client:
        assert client.session is not None and client.session.aid == five_ber
        assert client.eid() == card.eid


def test_no_isdr_raises_and_closes_the_channel(pki: TestPki) -> None:
    card = make_card(pki, aid=bytes.fromhex("A000000559101000112233"))
    with pytest.raises(IsdRNotFoundError, match="6A82"), RspClient(card):
        pass
    assert set(card.apdu.channels) == {0}


def test_extended_apdus_follow_the_atr_unless_set(pki: TestPki) -> None:
    historical = bytes.fromhex("80730000C0")
    atr = bytes((0x3B, 0x80 | len(historical), 0x80, 0x01)) + historical + b"\x00"
    card = make_card(pki, settings=EuiccSettings(atr=atr))
    with RspClient(card) as client:
        assert client.config.extended and client.config.block_size == 4096
        assert client.eid() == card.eid
    with RspClient(card, extended_apdus=False, segment_size=120) as client:
        assert client.config == ApduConfig(channel=1, segment_size=120)
    with RspClient(make_card(pki)) as client:
        assert not client.config.extended


class ProtocolCard:
    """A card transport that tells its protocol, as PcscCardTransport does."""

    def __init__(self, card: VirtualEuicc, protocol: str) -> None:
        self.card, self.protocol = card, protocol

    def transmit(self, apdu: bytes) -> bytes:
        return self.card.transmit(apdu)

    def atr(self) -> bytes:
        return self.card.atr()

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("protocol", "extended"), [("T0", False), ("T1", True), ("", True)])
def test_extended_apdus_need_t1_when_the_transport_tells(
    pki: TestPki, protocol: str, extended: bool
) -> None:
    historical = bytes.fromhex("80730000C0")
    atr = bytes((0x3B, 0x80 | len(historical), 0x80, 0x01)) + historical + b"\x00"
    card = make_card(pki, settings=EuiccSettings(atr=atr))
    with RspClient(ProtocolCard(card, protocol)) as client:
        assert client.config.extended is extended
        assert client.eid() == card.eid
    with RspClient(ProtocolCard(card, "T0"), extended_apdus=True) as client:
        assert client.config.extended


@pytest.mark.parametrize(("protocol", "extended"), [("T0", False), ("T1", True)])
def test_the_async_client_reads_the_protocol_through_its_card_thread(
    pki: TestPki, protocol: str, extended: bool
) -> None:
    historical = bytes.fromhex("80730000C0")
    atr = bytes((0x3B, 0x80 | len(historical), 0x80, 0x01)) + historical + b"\x00"
    card = make_card(pki, settings=EuiccSettings(atr=atr))

    async def opened() -> bool:
        async with AsyncRspClient(ProtocolCard(card, protocol)) as client:
            return client.config.extended

    assert asyncio.run(opened()) is extended


def test_bad_segment_size_is_refused_at_construction(card: VirtualEuicc) -> None:
    with pytest.raises(UsageError, match="1-255"):
        RspClient(card, segment_size=300)


# -- every management function --------------------------------------------------------------


def test_eid_info_and_addresses(client: RspClient, card: VirtualEuicc, pki: TestPki) -> None:
    assert client.eid() == card.eid
    info1 = client.euicc_info1()
    assert info1.svn == "2.3.0" and info1.ci_pkids_for_verification
    info2 = client.euicc_info2()
    assert info2.ci_pkids_for_signing == info1.ci_pkids_for_signing
    assert client.configured_addresses().default_dp_address is None
    client.set_default_smdp("smdp.example.com")
    assert client.configured_addresses().default_dp_address == "smdp.example.com"
    client.set_default_smdp("")
    assert client.configured_addresses().default_dp_address is None


def test_profiles_and_filters(client: RspClient) -> None:
    profiles = client.profiles()
    assert [p.iccid for p in profiles] == [ICCID_18, ICCID_19, ICCID_20, "8949100000000000045"]
    assert profiles[0].state == ProfileState.ENABLED
    assert [p.iccid for p in client.profiles(iccid=ICCID_19)] == [ICCID_19]
    assert [p.iccid for p in client.profiles(isdp_aid=isdp_aid(2))] == [ICCID_20]
    assert [p.iccid for p in client.profiles(profile_class="test")] == [ICCID_20]
    only = client.profiles(tags=[0x5A, 0x9F70])
    assert only[0].iccid == ICCID_18 and only[0].profile_name is None


@pytest.mark.parametrize("iccid", [ICCID_18, ICCID_19, ICCID_20])
def test_enable_disable_delete_by_iccid_of_each_length(client: RspClient, iccid: str) -> None:
    """FACTS.md trap: 18- and 19-digit ICCIDs are found (sent as 10 bytes)."""
    if iccid != ICCID_18:
        client.enable(iccid, refresh=True)
        assert client.profiles(iccid=iccid)[0].state == ProfileState.ENABLED
    client.disable(iccid)
    client.delete(iccid)
    assert client.profiles(iccid=iccid) == []


def test_enable_by_aid_and_result_names(client: RspClient) -> None:
    client.enable(isdp_aid(1))
    assert client.profiles(iccid=ICCID_19)[0].state == ProfileState.ENABLED
    cases = [
        (lambda: client.enable(ICCID_19), "EnableProfile", "profileNotInDisabledState"),
        (lambda: client.enable("894910000000000099"), "EnableProfile", "iccidOrAidNotFound"),
        (lambda: client.disable(ICCID_20), "DisableProfile", "profileNotInEnabledState"),
        (lambda: client.delete(ICCID_19), "DeleteProfile", "profileNotInDisabledState"),
        (lambda: client.delete(isdp_aid(9).hex()), "DeleteProfile", "iccidOrAidNotFound"),
        (lambda: client.delete("8949100000000000045"), "DeleteProfile", "disallowedByPolicy"),
        (lambda: client.set_nickname("894910000000000099", "x"), "SetNickname", "iccidNotFound"),
    ]
    for call, function, reason in cases:
        with pytest.raises(EuiccError) as info:
            call()
        assert (info.value.function, info.value.reason) == (function, reason)


def test_set_nickname(client: RspClient) -> None:
    client.set_nickname(ICCID_19, "work")
    assert client.profiles(iccid=ICCID_19)[0].nickname == "work"


def test_memory_reset(client: RspClient) -> None:
    client.memory_reset(operational_profiles=False, test_profiles=True)
    assert ICCID_20 not in [p.iccid for p in client.profiles()]
    with pytest.raises(EuiccError) as info:
        client.memory_reset(operational_profiles=False, test_profiles=True)
    assert info.value.reason == "nothingToDelete"
    client.memory_reset()
    assert client.profiles() == []


def test_notifications_from_seq_number_0(client: RspClient) -> None:
    """FACTS.md trap: sequence number 0 is a valid notification to retrieve and remove."""
    assert client.list_notifications() == []
    client.enable(ICCID_19)  # disables ICCID_18 (seq 0), enables ICCID_19 (seq 1)
    listed = client.list_notifications()
    assert [(n.seq_number, n.event, n.iccid) for n in listed] == [
        (0, "disable", ICCID_18),
        (1, "enable", ICCID_19),
    ]
    assert [n.seq_number for n in client.list_notifications("enable")] == [1]
    [first] = client.retrieve_notifications(seq_number=0)
    assert first.metadata == listed[0] and tlv.parse(first.der).tag == 0x30
    assert [p.metadata.seq_number for p in client.retrieve_notifications(event="enable")] == [1]
    client.remove_notification(0)
    assert [p.metadata.seq_number for p in client.retrieve_notifications()] == [1]
    with pytest.raises(EuiccError) as info:
        client.remove_notification(0)
    assert info.value.reason == "nothingToDelete"


def test_rat(pki: TestPki) -> None:
    rule = {
        "pprIds": (b"\x40", 2),
        "allowedOperators": [{"mccMnc": bytes.fromhex("130014")}],
        "pprFlags": (b"\x80", 1),
    }
    card = make_card(pki, settings=EuiccSettings(rat=[rule]))
    with RspClient(card) as client:
        [found] = client.rat()
    assert found.ppr_ids == ("ppr1",) and found.consent_required
    assert found.allowed_operators[0].mcc_mnc == "310410"


# A CertificateList (RFC 5280 5.1) of about 4 kB: tbsCertList, ecdsa-with-SHA256, signature.
CRL = tlv.build(
    0x30,
    tlv.build(0x30, b"\x02\x01\x01" + bytes(3900))
    + bytes.fromhex("300A06082A8648CE3D040302")
    + tlv.build(0x03, bytes(65)),
)


@pytest.mark.parametrize(
    ("segment_size", "extended"), [(63, False), (120, False), (255, False), (None, True)]
)
def test_load_crl_in_segments(card: VirtualEuicc, segment_size: int | None, extended: bool) -> None:
    """A 4 kB request reassembled by the card at each segment size and with extended APDUs."""
    commands: list[bytes] = []
    with RspClient(
        card,
        segment_size=segment_size,
        extended_apdus=extended,
        trace=lambda d, a: commands.append(a) if d == "C-APDU" else None,
    ) as client:
        assert client.run(es10.load_crl(client.config, CRL)) == ()
    blocks = [a for a in commands if a[1] == 0xE2]
    assert len(blocks) == -(
        -len(es10.build_load_crl_request(CRL)) // client_block(segment_size, extended)
    )


def client_block(segment_size: int | None, extended: bool) -> int:
    return ApduConfig(segment_size=segment_size, extended=extended).block_size


def test_load_crl_refused_is_named(pki: TestPki) -> None:
    card = make_card(pki, settings=EuiccSettings(crl_result=5))
    with RspClient(card) as client, pytest.raises(EuiccError) as info:
        client.run(es10.load_crl(client.config, CRL))
    assert info.value.reason == "fresherCrlAlreadyLoaded"


# -- faults --------------------------------------------------------------------------------


def test_card_removed_mid_command(card: VirtualEuicc) -> None:
    """The card goes away between STORE DATA blocks: a typed error, no hang, nothing masked."""
    with pytest.raises(CardRemovedError), RspClient(card, segment_size=63) as client:
        card.faults.drop(at=card.faults.count + 2)
        client.set_nickname(ICCID_19, "x" * 60)
    card.reset()
    with RspClient(card) as client:
        assert client.profiles(iccid=ICCID_19)[0].nickname is None


def test_card_removed_during_open(card: VirtualEuicc) -> None:
    card.faults.drop(at=2)
    with pytest.raises(CardRemovedError), RspClient(card):
        pass


def test_error_status_word(card: VirtualEuicc) -> None:
    with RspClient(card) as client:
        card.faults.answer_status(0x6F00, at=card.faults.count + 1)
        with pytest.raises(ApduError) as info:
            client.eid()
        assert info.value.sw == 0x6F00
        assert client.eid() == card.eid, "the session survives an error status"


def test_load_bpp_for_another_session_fails_after_the_first_piece(
    card: VirtualEuicc, vectors_dir: Path
) -> None:
    """The public BPP is for another card: the eUICC answers BF37 early, at the first piece."""
    data = json.loads((vectors_dir / "bsp.json").read_text())
    bpp = base64.b64decode(data["bound_profile_package"]["bpp_base64"])
    progress: list[Progress] = []
    with RspClient(card) as client:
        flow = es10.load_bound_profile_package(client.config, bpp)
        pir = client.run(flow, Handlers(progress=progress.append))
    assert progress == [Progress("load_bpp", 1, len(bpp_pieces(bpp)))]
    result = es10.parse_profile_installation_result(pir)
    assert not result.success
    assert result.bpp_command == "initialiseSecureChannel"


@pytest.mark.parametrize("size", [1, 254, 255, 256, 1000, 4000])
@pytest.mark.parametrize(
    ("segment_size", "extended"), [(63, False), (120, False), (255, False), (None, True)]
)
def test_card_reassembles_every_size(
    card: VirtualEuicc, size: int, segment_size: int | None, extended: bool
) -> None:
    """The VirtualEuicc's APDU layer takes every block; only the last answers (a refusal of
    this meaningless request), so chaining worked at each size and segment size."""
    with RspClient(card, segment_size=segment_size, extended_apdus=extended) as client:
        blocks = len(store_data_apdus(bytes(size), client.config))
        with pytest.raises(ApduError, match=f"block {blocks - 1} of {blocks}:"):
            client.run(transmit_es10(bytes(size), client.config))
        assert client.eid() == card.eid
