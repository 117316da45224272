"""Fuzzing the download flow with a real session's answers, mutated (issue 9, item 1).

A download (SGP.22 section 3.1.3) between a VirtualEuicc and a TestSmdp is recorded once: every
R-APDU and every HTTP answer the flow received. Each input replays it with one to three of
those answers changed (DER and JSON mutated, HTTP statuses changed, answers cut short) and
feeds the flow the rest in order. Whatever the card and the server say, the flow must return a
result or raise a :class:`~pyrsp.errors.PyrspError` (a ``DownloadError`` naming the stage).
"""

from __future__ import annotations

import functools
import json
import random
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from pyrsp.activation_code import ActivationCode
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.download import download
from pyrsp.protocol.effects import (
    ConfirmDownload,
    Flow,
    HttpPost,
    HttpResponse,
    Transmit,
)
from pyrsp.protocol.session import open_isdr
from test_fuzz_card import drive
from test_fuzz_harness import Target, fuzz_tests, mutated

Answer = bytes | HttpResponse


@functools.cache
def recorded() -> tuple[ActivationCode, ApduConfig, tuple[Answer, ...]]:
    """One honest download: the activation code, the ISD-R channel and every answer."""
    from pyrsp.testing.euicc import VirtualEuicc
    from pyrsp.testing.pki import TestPki
    from pyrsp.testing.smdp import TestSmdp

    pki = TestPki.generate(seed=13)
    card = VirtualEuicc(pki, rng=random.Random(5))
    smdp = TestSmdp(pki, rng=5)
    http = smdp.http_transport()
    ac = smdp.add_order()
    session = _run(open_isdr(), card.transmit, http.post, [])
    config = ApduConfig(channel=session.channel)
    answers: list[Answer] = []
    result = _run(download(ac, config), card.transmit, http.post, answers)
    assert result.install.success, result
    return ac, config, tuple(answers)


def _run(flow: Flow[Any], transmit: Callable[[bytes], bytes], post: Any, log: list[Answer]) -> Any:
    """Run ``flow`` against a card and a server, logging their answers; consent is given."""
    effect = next(flow)
    while True:
        answer: Any = None
        if isinstance(effect, Transmit):
            answer = transmit(effect.apdu)
            log.append(answer)
        elif isinstance(effect, HttpPost):
            answer = post(effect.address, effect.path, effect.body, effect.headers)
            log.append(answer)
        elif isinstance(effect, ConfirmDownload):
            answer = True
        try:
            effect = flow.send(answer)
        except StopIteration as stop:
            return stop.value


def _json_object(body: bytes) -> dict[str, Any] | None:
    """The body as a JSON object, or None (an earlier change may have broken it)."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


@st.composite
def _changed(draw: Any, answer: Answer) -> Any:
    if isinstance(answer, bytes):
        data, sw = answer[:-2], answer[-2:]
        how = draw(st.sampled_from(("data", "sw", "whole", "short")))
        if how == "data":
            return draw(mutated(st.just(data))) + sw
        if how == "sw":
            return data + draw(
                st.sampled_from([b"\x6f\x00", b"\x6a\x88", b"\x61\x05", b"\x90\x01"])
            )
        return draw(mutated(st.just(answer))) if how == "whole" else answer[:1]
    how = draw(st.sampled_from(("body", "json", "status")))
    if how == "status":
        return HttpResponse(
            draw(st.sampled_from([204, 400, 500, 302])), answer.body, answer.headers
        )
    doc = _json_object(answer.body)
    if how == "body" or not doc:
        return HttpResponse(answer.status, draw(mutated(st.just(answer.body))), answer.headers)
    key = draw(st.sampled_from(sorted(doc)))
    value = doc[key]
    if isinstance(value, str):
        doc[key] = draw(st.sampled_from(["", value[:-4], value[4:], value.lower(), "AAAA"]))
    else:
        doc[key] = draw(st.sampled_from([None, [], {}, 0, "x"]))
    return HttpResponse(answer.status, json.dumps(doc).encode(), answer.headers)


@st.composite
def replays(draw: Any) -> list[Answer]:
    """The recorded answers with one to three of them changed."""
    answers = list(recorded()[2])
    for _ in range(draw(st.integers(1, 3))):
        index = draw(st.integers(0, len(answers) - 1))
        answers[index] = draw(_changed(answers[index]))
    return answers


def _download(answers: list[Answer]) -> object:
    ac, config, _ = recorded()
    return drive(download(ac, config), answers)


TARGETS = [
    Target("download(replayed, mutated answers)", replays(), _download, setup=recorded),
]

test_fuzz_fast, test_fuzz_long = fuzz_tests(TARGETS)


def test_the_unchanged_replay_installs() -> None:
    ac, config, answers = recorded()
    result: Any = drive(download(ac, config), list(answers))
    assert result.install.success
