"""The notification flow (SGP.22 section 3.5) driven by scripted answers: no card, no network."""

from __future__ import annotations

import base64
import json

from pyrsp import asn1, tlv
from pyrsp.errors import CardRemovedError, CodecError, HttpTransportError
from pyrsp.models import NotificationEvent
from pyrsp.protocol import es10
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.effects import HttpPost, HttpResponse
from pyrsp.protocol.notifications import (
    NotificationOutcome,
    process_notifications,
    send_notification,
)
from test_download_flow_script import (
    ADDRESS,
    ICCID,
    Driver,
    ScriptedCard,
    ScriptedServer,
    failed_json,
    notification_sent,
    other_notification_value,
    pir,
    pir_value,
)

CONFIG = ApduConfig()


def notification_list() -> bytes:
    items = [
        ("profileInstallationResult", pir_value(seq=0)),
        ("otherSignedNotification", other_notification_value(seq=1, event_bit=1)),
        ("otherSignedNotification", other_notification_value(seq=2, event_bit=3)),
    ]
    return asn1.encode("RetrieveNotificationsListResponse", ("notificationList", items))


def raw_items() -> list[bytes]:
    return [item.der for item in es10.parse_retrieve_notifications_response(notification_list())]


class CountingServer(ScriptedServer):
    """Answers handleNotification from a list, one answer per call."""

    def __init__(self, answers: list[HttpResponse | Exception]) -> None:
        super().__init__()
        self.queue = list(answers)

    def post(self, post: HttpPost) -> HttpResponse:
        self.posts.append(post)
        answer = self.queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def setup(*answers: HttpResponse | Exception) -> Driver:
    card = ScriptedCard(answers={0xBF2B: notification_list(), 0xBF30: notification_sent()})
    return Driver(card, CountingServer(list(answers)))


def removed(driver: Driver) -> list[int]:
    requests = [r for r in driver.card.requests if r[:2] == b"\xbf\x30"]
    return [asn1.decode("NotificationSentRequest", r)["seqNumber"] for r in requests]


def test_every_notification_is_sent_and_removed_in_order() -> None:
    driver = setup(*[HttpResponse(204, b"")] * 3)
    outcomes = driver.run(process_notifications(CONFIG))
    assert [o.seq_number for o in outcomes] == [0, 1, 2]
    assert [o.event for o in outcomes] == [
        NotificationEvent.INSTALL,
        NotificationEvent.ENABLE,
        NotificationEvent.DELETE,
    ]
    assert all(o.ok and o.address == ADDRESS and o.iccid == ICCID for o in outcomes)
    assert removed(driver) == [0, 1, 2]
    sent = [
        base64.b64decode(json.loads(p.body)["pendingNotification"]) for p in driver.server.posts
    ]
    assert sent == raw_items()
    assert [p.address for p in driver.server.posts] == [ADDRESS] * 3
    assert [(p.done, p.total) for p in driver.progress("notifications")] == [
        (1, 3),
        (2, 3),
        (3, 3),
    ]


def test_only_accepted_notifications_are_removed() -> None:
    driver = setup(
        HttpResponse(204, b""), failed_json("8.1", "6.1"), HttpTransportError("connection reset")
    )
    outcomes = driver.run(process_notifications(CONFIG))
    assert [(o.sent, o.removed) for o in outcomes] == [(True, True), (False, False), (False, False)]
    assert [o.error_type for o in outcomes] == ["", "SmdpError", "HttpTransportError"]
    assert "connection reset" in outcomes[2].error
    assert removed(driver) == [0]


def test_selection_by_sequence_number_and_event() -> None:
    driver = setup(HttpResponse(204, b""))
    outcomes = driver.run(process_notifications(CONFIG, seq_numbers={0}))
    assert [o.seq_number for o in outcomes] == [0]
    driver = setup(HttpResponse(204, b""))
    outcomes = driver.run(process_notifications(CONFIG, events={NotificationEvent.DELETE}))
    assert [o.seq_number for o in outcomes] == [2]


def list_with_bad_items() -> bytes:
    """Notifications 0 and 2 are fine; one has two event bits, one does not decode at all."""
    good = raw_items()
    two_bits = other_notification_value(seq=1, event_bit=1)
    two_bits["tbsOtherNotification"]["profileManagementOperation"] = (b"\x60", 3)
    bad = asn1.encode("PendingNotification", ("otherSignedNotification", two_bits))
    garbage = bytes.fromhex("3003020105")
    return tlv.build(0xBF2B, tlv.build(0xA0, good[0] + bad + garbage + good[2]))


def test_one_bad_notification_does_not_block_the_others() -> None:
    driver = setup(*[HttpResponse(204, b"")] * 2)
    driver.card.answers[0xBF2B] = list_with_bad_items()
    outcomes = driver.run(process_notifications(CONFIG))
    assert [(o.seq_number, o.ok) for o in outcomes] == [(None, False), (None, False), (0, True),
                                                        (2, True)]  # fmt: skip
    assert [o.error_type for o in outcomes[:2]] == ["CodecError", "CodecError"]
    assert "does not decode" in outcomes[0].error and "enable" in outcomes[0].error
    assert removed(driver) == [0, 2]
    progress = [(p.done, p.total) for p in driver.progress("notifications")]
    assert progress[-1] == (4, 4)


def test_parse_keeps_unreadable_notifications_apart() -> None:
    pending = es10.parse_retrieve_notifications_response(list_with_bad_items())
    assert [p.metadata.seq_number for p in pending] == [0, 2]
    assert [u.der[:1] for u in pending.unreadable] == [b"\x30", b"\x30"]
    assert all(isinstance(u.error, CodecError) for u in pending.unreadable)


def test_no_pending_notifications() -> None:
    driver = setup()
    empty = asn1.encode("RetrieveNotificationsListResponse", ("notificationsListResultError", 1))
    driver.card.answers[0xBF2B] = empty
    assert driver.run(process_notifications(CONFIG)) == []
    assert driver.server.posts == []


def test_a_card_that_fails_stops_the_run_and_the_rest_is_not_attempted() -> None:
    driver = setup(*[HttpResponse(204, b"")] * 3)
    driver.card.answers[0xBF30] = CardRemovedError("card removed")
    outcomes = driver.run(process_notifications(CONFIG))
    assert [(o.sent, o.removed) for o in outcomes] == [
        (True, False),
        (False, False),
        (False, False),
    ]
    assert outcomes[0].error_type == "CardRemovedError"
    assert outcomes[1].error.startswith("not attempted")
    assert len(driver.server.posts) == 1


def test_nothing_to_delete_counts_as_removed() -> None:
    driver = setup(HttpResponse(204, b""))
    driver.card.answers[0xBF30] = notification_sent(1)
    pending = es10.parse_retrieve_notifications_response(notification_list())[1]
    outcome = driver.run(send_notification(pending, CONFIG))
    assert isinstance(outcome, NotificationOutcome)
    assert outcome.ok


def test_a_removal_the_euicc_refuses_is_reported() -> None:
    driver = setup(HttpResponse(204, b""))
    driver.card.answers[0xBF30] = notification_sent(127)
    pending = es10.PendingNotification(
        metadata=es10.parse_profile_installation_result(pir()).notification, der=pir()
    )
    outcome = driver.run(send_notification(pending, CONFIG))
    assert (outcome.sent, outcome.removed, outcome.error_type) == (True, False, "EuiccError")


def test_send_notification_reports_a_failing_card_instead_of_raising() -> None:
    driver = setup(HttpResponse(204, b""))
    driver.card.answers[0xBF30] = CardRemovedError("gone")
    pending = es10.parse_retrieve_notifications_response(notification_list())[0]
    outcome = driver.run(send_notification(pending, CONFIG))
    assert (outcome.sent, outcome.removed, outcome.error_type) == (True, False, "CardRemovedError")
