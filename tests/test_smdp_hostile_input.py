"""TestSmdp under hostile input: mutated ES9+ requests get an ES9+ answer, never a crash.

Valid requests for each step are recorded from a real session, then hypothesis flips, cuts or
grows one field's bytes (or replaces the whole body). Whatever arrives, ``handle`` answers with
a JSON refusal (or 204 for a notification) and raises nothing.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyrsp.testing.smdp import TestSmdp
from test_smdp_support import NOW, PREFIX, Card, Lpa, shared_pki


def recorded_requests() -> list[tuple[str, dict[str, Any]]]:
    """One valid request per ES9+ function, from a download and a cancelled session."""
    pki = shared_pki()
    smdp = TestSmdp(pki, rng=9, now=NOW)
    sent: list[tuple[str, dict[str, Any]]] = []
    lpa = Lpa(smdp, Card(pki))
    original = lpa.post

    def record(function: str, document: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        sent.append((function, document))
        return original(function, document)

    lpa.post = record  # type: ignore[method-assign]
    ac = smdp.add_order(confirmation_code="1")
    lpa.download(ac.matching_id, code="1")
    lpa.initiate()
    lpa.authenticate(smdp.add_order().matching_id)
    lpa.cancel(reason=1)
    iccid = bytes.fromhex("989900000000000010F7")
    lpa.notify(lpa.card.other_notification("enable", seq=1, iccid=iccid, address=smdp.address))
    return sent


REQUESTS = recorded_requests()


def mutate(data: bytes, how: str, position: int, extra: bytes) -> bytes:
    if not data:
        return extra
    index = position % len(data)
    if how == "flip":
        return data[:index] + bytes([data[index] ^ 0xFF]) + data[index + 1 :]
    if how == "cut":
        return data[:index]
    return data[:index] + extra + data[index:]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    which=st.integers(min_value=0, max_value=len(REQUESTS) - 1),
    field=st.integers(min_value=0, max_value=3),
    how=st.sampled_from(["flip", "cut", "grow"]),
    position=st.integers(min_value=0, max_value=5000),
    extra=st.binary(max_size=8),
)
def test_mutated_fields_get_an_answer(
    which: int, field: int, how: str, position: int, extra: bytes
) -> None:
    function, document = REQUESTS[which]
    smdp = TestSmdp(shared_pki(), rng=9, now=NOW)  # fresh: the session is unknown or open
    smdp.add_order(confirmation_code="1")
    names = sorted(document)
    name = names[field % len(names)]
    changed = dict(document)
    value = str(document[name])
    try:
        raw = base64.b64decode(value, validate=True)
        changed[name] = base64.b64encode(mutate(raw, how, position, extra)).decode()
    except ValueError:
        changed[name] = mutate(value.encode(), how, position, extra).decode("latin-1")
    assert_answers(smdp, function, json.dumps(changed).encode())


@settings(max_examples=100, deadline=None)
@given(
    function=st.sampled_from([f for f, _ in REQUESTS]),
    body=st.one_of(
        st.binary(max_size=64),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=6), inner, max_size=3)
            ),
            max_leaves=8,
        ).map(lambda v: json.dumps(v).encode()),
    ),
)
def test_arbitrary_bodies_get_an_answer(function: str, body: bytes) -> None:
    assert_answers(TestSmdp(shared_pki(), rng=9, now=NOW), function, body)


def assert_answers(smdp: TestSmdp, function: str, body: bytes) -> None:
    status, headers, answer = smdp.handle(PREFIX + function, body)
    if status == 204:
        assert function == "handleNotification" and answer == b""
        return
    assert status == 200
    assert headers["content-type"].startswith("application/json")
    execution = json.loads(answer)["header"]["functionExecutionStatus"]
    assert execution["status"] in {"Executed-Success", "Failed", "Expired"}
