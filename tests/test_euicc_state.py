"""VirtualEuicc state: persistence across processes, identity files, faults through transmit."""

from __future__ import annotations

import random
import threading
from pathlib import Path

import pytest

from pyrsp import asn1
from pyrsp.errors import CardRemovedError, UsageError
from pyrsp.models import iccid_to_bytes
from pyrsp.protocol.apdu import ApduConfig, store_data_apdus
from pyrsp.testing.euicc import EuiccIdentity, VirtualEuicc
from pyrsp.testing.euicc.state import CardState, NotificationRecord, ProfileRecord, StateStore
from pyrsp.testing.pki import TestPki

ISD_R = bytes.fromhex("A0000005591010FFFFFFFF8900000100")
SELECT = bytes.fromhex("00A4040010") + ISD_R
ICCID = "8944476500001224158"


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.generate(seed=4)


def send(card: VirtualEuicc, request: bytes) -> bytes:
    for apdu in store_data_apdus(request, ApduConfig()):
        answer = card.transmit(apdu)
    return answer


def metadata() -> bytes:
    return asn1.encode(
        "StoreMetadataRequest",
        {
            "iccid": iccid_to_bytes(ICCID),
            "serviceProviderName": "pyrsp",
            "profileName": "Saved",
            "notificationConfigurationInfo": [
                {"profileManagementOperation": (b"\x40", 2), "notificationAddress": "a.example"}
            ],
        },
    )


def test_state_json_round_trip() -> None:
    state = CardState(default_dp_address="smdp.example.com", next_seq_number=4)
    state.profiles.append(
        ProfileRecord(iccid_to_bytes(ICCID), state.new_isdp_aid(), metadata(), True, "n", 77)
    )
    state.notifications.append(NotificationRecord(3, "enable", "a.example", None, b"\x30\x00"))
    assert CardState.from_json(state.to_json()) == state


def test_state_rejects_other_formats() -> None:
    with pytest.raises(UsageError, match="state format"):
        CardState.from_json({"format": 99})
    data = CardState().to_json()
    data["profiles"] = [{"iccid": "zz"}]
    with pytest.raises(UsageError, match="malformed"):
        CardState.from_json(data)


def test_card_survives_across_processes(pki: TestPki, tmp_path: Path) -> None:
    directory = tmp_path / "card"
    card = VirtualEuicc(pki, state_dir=directory, rng=random.Random(1))
    card.core.state.profiles.append(
        ProfileRecord(iccid_to_bytes(ICCID), card.core.state.new_isdp_aid(), metadata())
    )
    card.transmit(SELECT)
    enable = asn1.encode(
        "EnableProfileRequest",
        {"profileIdentifier": ("iccid", iccid_to_bytes(ICCID)), "refreshFlag": True},
    )
    assert send(card, enable)[-2:] == b"\x90\x00"
    address = asn1.encode("SetDefaultDpAddressRequest", {"defaultDpAddress": "dp.example"})
    send(card, address)

    again = VirtualEuicc.open(directory)
    assert again.eid == pki.eid
    assert again.profiles == card.profiles
    assert again.profiles[0].enabled
    assert again.notifications == card.notifications
    assert again.core.state.default_dp_address == "dp.example"
    assert again.core.identity.euicc_der == pki.euicc.der
    assert again.core.identity.verification_ci_ids == (pki.ci_key_id,)
    # numbering continues where the other process stopped
    assert again.core.state.new_seq_number() == 1
    assert (directory / "euicc.key.pem").stat().st_mode & 0o077 == 0


def test_state_dir_must_be_new_and_open_needs_a_card(pki: TestPki, tmp_path: Path) -> None:
    VirtualEuicc(pki, state_dir=tmp_path)
    with pytest.raises(UsageError, match="empty state directory"):
        VirtualEuicc(pki, state_dir=tmp_path)
    with pytest.raises(UsageError, match="virtual eUICC"):
        VirtualEuicc.open(tmp_path / "nothing")
    created = VirtualEuicc.open(tmp_path / "new", create=pki)
    assert VirtualEuicc.open(tmp_path / "new", create=pki).eid == created.eid == pki.eid


def _card_with_a_profile(pki: TestPki, directory: Path) -> None:
    card = VirtualEuicc(pki, state_dir=directory)
    record = ProfileRecord(iccid_to_bytes(ICCID), card.core.state.new_isdp_aid(), metadata())
    record.enabled = True
    card.core.state.profiles.append(record)
    card.core.save()


def _nickname(card: VirtualEuicc, nickname: str) -> bytes:
    card.transmit(SELECT)
    request = {"iccid": iccid_to_bytes(ICCID), "profileNickname": nickname}
    return send(card, asn1.encode("SetNicknameRequest", request))


def test_two_handles_on_one_directory_keep_both_changes(pki: TestPki, tmp_path: Path) -> None:
    _card_with_a_profile(pki, tmp_path)
    first, second = VirtualEuicc.open(tmp_path), VirtualEuicc.open(tmp_path)
    assert _nickname(first, "Mine")[-2:] == b"\x90\x00"
    second.transmit(SELECT)
    disable = {"profileIdentifier": ("iccid", iccid_to_bytes(ICCID)), "refreshFlag": False}
    answer = send(second, asn1.encode("DisableProfileRequest", disable))
    assert asn1.decode("DisableProfileResponse", answer[:-2])["disableResult"] == 0
    for card in (VirtualEuicc.open(tmp_path), first, second):
        (profile,) = card.profiles
        assert (profile.nickname, profile.enabled) == ("Mine", False)
    assert sorted(p.name for p in tmp_path.glob("state.json*")) == ["state.json"]


def test_a_change_waits_for_the_lock_of_another_handle(pki: TestPki, tmp_path: Path) -> None:
    _card_with_a_profile(pki, tmp_path)
    card = VirtualEuicc.open(tmp_path)
    card.transmit(SELECT)
    answers: list[bytes] = []
    with StateStore(tmp_path).locked():
        worker = threading.Thread(target=lambda: answers.append(_nickname(card, "Later")))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive() and not answers
    worker.join(5)
    assert answers[0][-2:] == b"\x90\x00"
    assert VirtualEuicc.open(tmp_path).profiles[0].nickname == "Later"


def test_temporary_files_have_unique_names(pki: TestPki, tmp_path: Path) -> None:
    _card_with_a_profile(pki, tmp_path)
    (tmp_path / "state.json.tmp").mkdir()  # a fixed temporary name would collide
    card = VirtualEuicc.open(tmp_path)
    assert _nickname(card, "Unique")[-2:] == b"\x90\x00"
    assert VirtualEuicc.open(tmp_path).profiles[0].nickname == "Unique"


@pytest.mark.parametrize(
    "content",
    [b"", b'{"format": 1, "profi', b"[]", b'"text"', b'{"format": 1}', b"\xff\xfe", b"null"],
)
def test_a_corrupted_state_file_is_a_usage_error(
    pki: TestPki, tmp_path: Path, content: bytes
) -> None:
    _card_with_a_profile(pki, tmp_path)
    card = VirtualEuicc.open(tmp_path)
    (tmp_path / "state.json").write_bytes(content)
    with pytest.raises(UsageError, match=r"state\.json"):
        VirtualEuicc.open(tmp_path)
    with pytest.raises(UsageError, match=r"state\.json"):
        _nickname(card, "Lost")


def test_identity_from_files(pki: TestPki, tmp_path: Path) -> None:
    pki.save(tmp_path)
    identity = EuiccIdentity.from_files(
        euicc_certificate=tmp_path / "euicc.pem",
        private_key=tmp_path / "euicc.key.pem",
        eum_certificate=tmp_path / "eum.der",
        ci_certificates=[tmp_path / "ci.der"],
    )
    assert identity.eid == pki.eid
    assert identity.signing_ci_ids == (pki.ci_key_id,)
    card = VirtualEuicc(identity=identity)
    card.transmit(SELECT)
    answer = send(card, asn1.encode("GetEuiccDataRequest", {"tagList": b"\x5a"}))
    assert answer[-18:-2].hex() == pki.eid


# --- faults through transmit -------------------------------------------------------------------


def test_fault_status_word_at_apdu_n(pki: TestPki) -> None:
    card = VirtualEuicc(pki)
    card.faults.answer_status(0x6F00, at=2)
    assert card.transmit(SELECT)[-2:] == b"\x90\x00"
    assert card.transmit(SELECT) == b"\x6f\x00"
    assert card.transmit(SELECT)[-2:] == b"\x90\x00"


def test_fault_drop_then_reset(pki: TestPki) -> None:
    card = VirtualEuicc(pki, rng=random.Random(1))
    card.faults.drop(at=3)
    card.transmit(bytes.fromhex("0070000001"))
    card.transmit(bytes.fromhex("01A4040010") + ISD_R)
    with pytest.raises(CardRemovedError, match="APDU 3"):
        card.transmit(SELECT)
    with pytest.raises(CardRemovedError):
        card.transmit(SELECT)
    assert card.reset() == card.atr()
    # after the power cycle channel 1 is closed and the session is gone
    assert card.transmit(bytes.fromhex("01A4040010") + ISD_R) == b"\x68\x81"
    assert card.transmit(SELECT)[-2:] == b"\x90\x00"


def test_fault_latency(pki: TestPki) -> None:
    slept: list[float] = []
    card = VirtualEuicc(pki)
    card.faults.sleep = slept.append
    card.faults.latency = 0.002
    card.faults.latency_per_byte = 0.00001
    answer = card.transmit(SELECT)
    assert slept == [pytest.approx(0.002 + 0.00001 * (len(SELECT) + len(answer)))]


def test_reset_drops_the_session(pki: TestPki) -> None:
    card = VirtualEuicc(pki, rng=random.Random(1))
    card.transmit(SELECT)
    send(card, bytes.fromhex("BF2E00"))
    assert card.core.session is not None
    card.reset()
    assert card.core.session is None


def test_configurable_atr(pki: TestPki) -> None:
    card = VirtualEuicc(pki)
    atr = card.atr()
    assert atr[0] == 0x3B
    checksum = 0
    for byte in atr[1:]:
        checksum ^= byte
    assert checksum == 0
    card.settings.atr = bytes.fromhex("3B00")
    assert card.atr() == bytes.fromhex("3B00")


def test_eid_parameter(pki: TestPki) -> None:
    eid = "89049032112341234012345678901375"
    assert VirtualEuicc(eid=eid).eid == eid
    with pytest.raises(UsageError, match="EID"):
        VirtualEuicc(pki, eid=eid)


def test_rng_takes_a_seed_like_the_test_smdp(pki: TestPki) -> None:
    def challenge(card: VirtualEuicc) -> bytes:
        card.transmit(SELECT)
        answer = send(card, asn1.encode("GetEuiccChallengeRequest", {}))
        assert answer[-2:] == b"\x90\x00"
        value = asn1.decode("GetEuiccChallengeResponse", answer[:-2])
        return value["euiccChallenge"]  # type: ignore[no-any-return]

    seeded = challenge(VirtualEuicc(pki, rng=5))
    assert seeded == challenge(VirtualEuicc(pki, rng=random.Random(5)))
    assert seeded != challenge(VirtualEuicc(pki, rng=6))


@pytest.mark.parametrize("rng", ["5", 5.0, True, object()])
def test_rng_of_another_type_is_refused_at_once(pki: TestPki, rng: object) -> None:
    with pytest.raises(UsageError, match="expected rng to be an int seed"):
        VirtualEuicc(pki, rng=rng)  # type: ignore[arg-type]
