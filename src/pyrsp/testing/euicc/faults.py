"""Fault injection for the virtual eUICC: status words, dropped links, latency, memory.

APDUs are counted from 1 across the card's life (``reset()`` does not restart the count), so a
test can say "the 7th APDU fails". Every knob is off by default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from pyrsp.errors import CardRemovedError

__all__ = ["Faults"]


@dataclass
class Faults:
    """The fault knobs of one :class:`~pyrsp.testing.euicc.VirtualEuicc`.

    - ``status_at``: APDU number -> status word answered instead of processing it.
    - ``drop_at``: APDU numbers at which the card goes away: ``transmit`` raises
      :class:`~pyrsp.errors.CardRemovedError` then, and for every APDU after, until ``reset()``.
    - ``latency``: seconds added per APDU, and ``latency_per_byte`` per byte of command plus
      answer (a model of a real card's speed, for benchmarks).
    - ``memory_limit``: bytes of profile storage (``0``: out of memory, installs fail with
      installFailedDueToInsufficientMemoryForProfile); ``None`` uses the card's capacity.
    """

    status_at: dict[int, int] = field(default_factory=dict)
    drop_at: set[int] = field(default_factory=set)
    latency: float = 0.0
    latency_per_byte: float = 0.0
    memory_limit: int | None = None
    sleep: Callable[[float], None] = time.sleep
    count: int = 0
    removed: bool = False

    def answer_status(self, sw: int, *, at: int) -> None:
        """Answer status word ``sw`` (``0x6F00``) to APDU number ``at`` instead of processing it."""
        self.status_at[at] = sw

    def drop(self, *, at: int) -> None:
        """Make the card go away when APDU number ``at`` arrives."""
        self.drop_at.add(at)

    def before(self, apdu: bytes) -> bytes | None:
        """Count ``apdu``; raise if the card is gone; return a forced answer, if any."""
        self.count += 1
        if self.count in self.drop_at:
            self.removed = True
        if self.removed:
            raise CardRemovedError(
                f"card removed: expected an answer to APDU {self.count}, "
                "got none (fault injected; call reset() to reinsert)"
            )
        sw = self.status_at.get(self.count)
        return None if sw is None else sw.to_bytes(2, "big")

    def after(self, apdu: bytes, answer: bytes) -> None:
        """Spend the configured latency for this exchange."""
        delay = self.latency + self.latency_per_byte * (len(apdu) + len(answer))
        if delay > 0:
            self.sleep(delay)
