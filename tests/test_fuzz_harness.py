"""The fuzz harness shared by every ``test_fuzz_*`` module, and tests of the harness itself.

A :class:`Target` is a strategy for hostile input and a function that feeds one input to a
pyrsp parser. The invariant (issue 9, item 1): the parser returns a value or raises a
:class:`~pyrsp.errors.PyrspError`; any other exception, or an input slower than
:data:`DEADLINE`, is a finding that hypothesis shrinks and reports.

Each ``test_fuzz_*`` module exposes ``TARGETS`` and runs them twice: a fast pass in the normal
run (:data:`FAST_EXAMPLES` inputs each, from the fixed seed :data:`FAST_SEED`) and a
``fuzz``-marked pass with :data:`LONG_EXAMPLES` fresh random inputs (``pytest -m fuzz``).
``benchmarks/fuzz_long.py`` runs the same targets for a time budget each and prints how many
inputs ran.

Mutations of valid encodings (:func:`mutated`) know where the TLV headers are, so they hit tag
and length bytes often: bit flips, truncation, length-byte changes, tag changes (among them
the same class with another number: an alternative a CHOICE does not know), inserted and
deleted bytes, duplicated slices.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as use_seed
from hypothesis import strategies as st

from pyrsp.errors import CodecError, PyrspError

#: Most time one input may take before it counts as a hang (generous: 2 cores are shared).
DEADLINE = timedelta(seconds=float(os.environ.get("PYRSP_FUZZ_DEADLINE", "3")))
#: Inputs per target in the normal test run.
FAST_EXAMPLES = int(os.environ.get("PYRSP_FUZZ_FAST", "25"))
#: The seed of the normal run, so that main stays reproducible (the other runs draw afresh).
FAST_SEED = int(os.environ.get("PYRSP_FUZZ_SEED", "0"))
#: Inputs per target in the ``fuzz``-marked run.
LONG_EXAMPLES = int(os.environ.get("PYRSP_FUZZ_LONG", "1000"))

# Length octets that break parsers: short form edges, long forms, indefinite, reserved.
LENGTH_BYTES = (0x00, 0x01, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x88, 0xFF)
# Tag octets: universal, context, application and private classes, primitive and constructed,
# high-tag-number forms.
TAG_BYTES = (0x01, 0x02, 0x04, 0x05, 0x0C, 0x30, 0x31, 0x5A, 0x5F, 0x7F, 0x80, 0x81, 0xA0,
             0xA1, 0xBF, 0x9F, 0xDF, 0xFF, 0x1F)  # fmt: skip


@dataclass(frozen=True)
class Target:
    """One fuzz target: ``feed(value)`` for each ``value`` drawn from ``strategy``."""

    name: str
    strategy: st.SearchStrategy[Any]
    feed: Callable[[Any], object]
    #: Findings reported to their module's owner and not fixed yet: ``known(error)`` is true for
    #: them, so the run counts them (``on_known``) instead of failing. Each has a strict-xfail
    #: regression test that fails once it is fixed, so the entry gets removed.
    known: Callable[[BaseException], bool] | None = field(default=None, compare=False)
    #: Called once before the inputs are drawn (work hypothesis must not see inside a strategy).
    setup: Callable[[], object] | None = field(default=None, compare=False)


def raised_in(path_suffix: str, *types: type[BaseException]) -> Callable[[BaseException], bool]:
    """A ``known`` predicate: an error of ``types`` (itself or the ``__cause__`` of the
    AssertionError a strict target raises) whose innermost pyrsp frame is in a file ending with
    ``path_suffix`` (``"pyrsp/testing/smdp/notify.py"``)."""

    def matches(error: BaseException) -> bool:
        cause = error.__cause__ if isinstance(error, AssertionError) else error
        if not isinstance(cause, types):
            return False
        frames = [f for f in traceback.extract_tb(cause.__traceback__) if "/pyrsp/" in f.filename]
        return bool(frames) and frames[-1].filename.endswith(path_suffix)

    return matches


def fuzz_settings(max_examples: int) -> settings:
    """Settings for a fuzz pass: no example database, the per-input deadline, no health checks."""
    return settings(
        max_examples=max_examples,
        deadline=DEADLINE,
        database=None,
        phases=(Phase.generate, Phase.target, Phase.shrink),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


def run_target(
    target: Target,
    max_examples: int,
    *,
    seed: int | None = None,
    on_input: Callable[[Any], None] | None = None,
    on_finding: Callable[[Any, BaseException], None] | None = None,
    on_known: Callable[[Any, BaseException], None] | None = None,
) -> None:
    """Feed ``max_examples`` inputs to ``target``; a broken invariant raises (hypothesis shrinks).

    ``on_input`` sees every input, ``on_finding`` every input that broke the invariant (the
    last one reported is the shrunk example), ``on_known`` every known, unfixed finding.
    """

    def check(value: Any) -> None:
        if on_input is not None:
            on_input(value)
        try:
            target.feed(value)
        except PyrspError:
            pass
        except Exception as error:
            if target.known is None or not target.known(error):
                if on_finding is not None:
                    on_finding(value, error)
                raise
            if on_known is not None:
                on_known(value, error)

    if target.setup is not None:
        target.setup()
    test = fuzz_settings(max_examples)(given(target.strategy)(check))
    if seed is not None:
        test = use_seed(seed)(test)
    test()


def fuzz_tests(targets: Sequence[Target]) -> tuple[Any, Any]:
    """The fast and the ``fuzz``-marked test functions for a module's ``targets``."""
    names = [t.name for t in targets]
    by_name = {t.name: t for t in targets}

    @pytest.mark.parametrize("name", names)
    def test_fuzz_fast(name: str) -> None:
        run_target(by_name[name], FAST_EXAMPLES, seed=FAST_SEED)

    @pytest.mark.fuzz
    @pytest.mark.parametrize("name", names)
    def test_fuzz_long(name: str) -> None:
        run_target(by_name[name], LONG_EXAMPLES)

    return test_fuzz_fast, test_fuzz_long


# --- byte mutations ----------------------------------------------------------------------------


def tlv_headers(data: bytes, start: int = 0, stop: int | None = None, depth: int = 0) -> list[int]:
    """Offsets of every TLV header found walking ``data`` as nested BER (best effort)."""
    from pyrsp import tlv

    stop = len(data) if stop is None else stop
    found: list[int] = []
    offset = start
    while offset < stop and depth < 12:
        try:
            item = tlv._read(data, offset, stop)
        except (CodecError, IndexError):
            break
        found.append(offset)
        if item.constructed:
            found += tlv_headers(data, item.value_offset, item.end, depth + 1)
        offset = item.end
    return found


def _header_length_offset(data: bytes, offset: int) -> int:
    position = offset + 1
    if data[offset] & 0x1F == 0x1F:
        while position < len(data) and data[position] & 0x80:
            position += 1
        position += 1
    return min(position, len(data) - 1)


def _mutate_once(data: bytearray, draw: Any, headers: list[int]) -> None:
    kind = draw(st.sampled_from(("flip", "truncate", "length", "tag", "renumber", "insert",
                                 "delete", "duplicate", "byte")))  # fmt: skip
    if not data:
        data += draw(st.binary(min_size=1, max_size=8))
        return
    pos = draw(st.integers(0, len(data) - 1))
    live = [offset for offset in headers if offset < len(data)]
    if kind in ("length", "tag", "renumber") and live:
        header = draw(st.sampled_from(live))
        pos = _header_length_offset(bytes(data), header) if kind == "length" else header
    if kind == "flip":
        data[pos] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        del data[pos:]
    elif kind == "length":
        data[pos] = draw(st.sampled_from(LENGTH_BYTES) | st.integers(0, 255))
    elif kind == "tag":
        data[pos] = draw(st.sampled_from(TAG_BYTES) | st.integers(0, 255))
    elif kind == "renumber":  # same class and form, another number: an unknown CHOICE alternative
        data[pos] = (data[pos] & 0xE0) | draw(st.integers(0, 30))
    elif kind == "insert":
        data[pos:pos] = draw(st.binary(min_size=1, max_size=4))
    elif kind == "delete":
        del data[pos : pos + draw(st.integers(1, 4))]
    elif kind == "duplicate":
        end = draw(st.integers(pos, min(len(data), pos + 64)))
        data[pos:pos] = data[pos:end]
    else:
        data[pos] = draw(st.integers(0, 255))


@st.composite
def _mutation_of(draw: Any, seed: bytes, max_mutations: int) -> bytes:
    data = bytearray(seed)
    headers = tlv_headers(seed)
    for _ in range(draw(st.integers(1, max_mutations))):
        _mutate_once(data, draw, headers)
    return bytes(data)


def mutated(seeds: st.SearchStrategy[bytes], max_mutations: int = 4) -> st.SearchStrategy[bytes]:
    """Valid encodings from ``seeds``, each changed by 1 to ``max_mutations`` mutations."""
    return seeds.flatmap(lambda seed: _mutation_of(seed, max_mutations))


def hostile_bytes(seeds: st.SearchStrategy[bytes] | None = None) -> st.SearchStrategy[bytes]:
    """Random bytes, random TLV-shaped bytes and (with ``seeds``) mutated valid encodings."""
    header = st.tuples(st.sampled_from(TAG_BYTES), st.sampled_from(LENGTH_BYTES))
    shaped = st.builds(lambda head, rest: bytes(head) + rest, header, st.binary(max_size=64))
    options = [st.binary(max_size=256), shaped]
    if seeds is not None:
        options += [seeds, mutated(seeds), mutated(seeds, 1)]
    return st.one_of(options)


# --- tests of the harness ----------------------------------------------------------------------


def _raises(error: BaseException) -> Callable[[bytes], None]:
    def feed(data: bytes) -> None:
        if data[:1] == b"\x30":
            raise error

    return feed


def test_a_typed_pyrsp_error_keeps_the_invariant() -> None:
    target = Target("typed", hostile_bytes(st.just(b"\x30\x00")), _raises(CodecError("bad")))
    run_target(target, 50)


def test_another_exception_is_a_finding_with_its_input() -> None:
    found: list[tuple[bytes, BaseException]] = []
    target = Target("untyped", st.just(b"\x30\x03\x02\x01\x05"), _raises(IndexError("oops")))
    with pytest.raises(IndexError):
        run_target(target, 5, on_finding=lambda v, e: found.append((v, e)))
    assert found
    assert found[-1][0] == b"\x30\x03\x02\x01\x05"


def test_mutations_change_the_seed_and_hit_headers() -> None:
    seed = bytes.fromhex("bf2008820302020281010a")
    assert tlv_headers(seed) == [0, 3, 8]
    seen: set[bytes] = set()

    @fuzz_settings(200)
    @given(mutated(st.just(seed), 1))
    def collect(data: bytes) -> None:
        seen.add(data)

    collect()
    assert seed not in seen or len(seen) > 1
    assert any(len(s) < len(seed) for s in seen)
    assert any(len(s) == len(seed) and s[3] != seed[3] for s in seen)


def test_a_known_finding_is_counted_not_raised() -> None:
    from pyrsp import tlv

    def feed(data: bytes) -> None:
        try:
            tlv.parse(None)  # type: ignore[arg-type]  # a TypeError raised inside pyrsp/tlv.py
        except TypeError as error:
            raise AssertionError("a strict target wraps what it caught") from error

    in_tlv = raised_in("pyrsp/tlv.py", TypeError)
    known: list[bytes] = []
    run_target(
        Target("known", st.just(b"\x30"), feed, known=in_tlv),
        3,
        on_known=lambda v, e: known.append(v),
    )
    assert known == [b"\x30"] * len(known) and known
    with pytest.raises(AssertionError):
        run_target(
            Target("other", st.just(b"\x30"), feed, known=raised_in("pyrsp/bsp.py", TypeError)), 3
        )
