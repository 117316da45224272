"""The eUICC core shared by the ES10 handlers: identity, state, settings, randomness, session.

SGP.22 section 2.4 describes what an eUICC holds; :class:`EuiccCore` is that, plus the one RSP
session in progress (section 3.1.3: challenge, transaction, one-time keys), which a reset drops.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyrsp.crypto import RandomSource, sign
from pyrsp.testing.euicc.faults import Faults
from pyrsp.testing.euicc.identity import EuiccIdentity
from pyrsp.testing.euicc.state import CardState, StateStore

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

__all__ = ["EuiccCore", "EuiccSettings", "Session", "default_atr"]


def default_atr() -> bytes:
    """A T=0/T=15 UICC ATR (ISO 7816-3 section 8) with 15 historical bytes and its TCK."""
    historical = bytes.fromhex("8031E073FE211B") + b"pyRSP" + bytes(3)
    body = bytes([0x9F, 0x96, 0x80, 0x1F, 0xC7]) + historical
    tck = 0
    for byte in body:
        tck ^= byte
    return b"\x3b" + body + bytes([tck])


@dataclass
class EuiccSettings:
    """Fixed properties of the card (what EUICCInfo1/2 report) and policy knobs.

    ``crl_result``: ``None`` accepts LoadCRL, an int is the LoadCRLResponseError answered.
    ``allowed_classes``: profile classes the card installs (others: unsupportedProfileClass).
    """

    svn: bytes = bytes.fromhex("020300")
    profile_version: bytes = bytes.fromhex("020300")
    firmware_version: bytes = bytes.fromhex("010000")
    pp_version: bytes = bytes.fromhex("000001")
    sas_accreditation_number: str = "PYRSP-TEST"
    crl_result: int | None = None
    allowed_classes: frozenset[int] = frozenset({0, 1, 2})
    rat: list[dict[str, object]] = field(default_factory=list)
    atr: bytes = field(default_factory=default_atr)


@dataclass
class Session:
    """The RSP session in progress (SGP.22 section 3.1.3), from GetEUICCChallenge on."""

    challenge: bytes
    transaction_id: bytes | None = None
    server_address: str = ""
    dp_auth: x509.Certificate | None = None
    ci: x509.Certificate | None = None
    smdp_oid: str | None = None
    euicc_signature1: bytes = b""
    dp_pb: x509.Certificate | None = None
    otsk: ec.EllipticCurvePrivateKey | None = None


@dataclass
class EuiccCore:
    """Identity, state and session of one eUICC, shared by every ES10 function."""

    identity: EuiccIdentity
    state: CardState
    settings: EuiccSettings
    rng: RandomSource = field(default_factory=random.SystemRandom)
    store: StateStore | None = None
    session: Session | None = None
    faults: Faults = field(default_factory=Faults)
    #: The last one-time key pair, kept for a PrepareDownload retry (bppEuiccOtpk).
    retained_otsk: ec.EllipticCurvePrivateKey | None = None

    def sign(self, data: bytes) -> bytes:
        """SK.EUICC.ECDSA over ``data``: r||s with RFC 6979 nonces (replayable)."""
        return sign(self.identity.private_key, data, deterministic=True)

    def random(self, size: int) -> bytes:
        """``size`` bytes from the card's RNG."""
        return self.rng.randbytes(size)

    @property
    def capacity(self) -> int:
        """Bytes of profile storage: the fault knob if set, else the state's capacity."""
        limit = self.faults.memory_limit
        return self.state.capacity if limit is None else limit

    @property
    def free_memory(self) -> int:
        """Bytes left for new profiles."""
        return max(0, self.capacity - self.state.used_memory)

    _locked: bool = field(default=False, init=False, repr=False)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One change, atomic among the handles on the card's directory.

        Holds the directory's lock and first reloads the state if another handle saved since;
        the ``save`` calls within write before the lock is released. Reentrant; a no-op for a
        card in memory.
        """
        if self.store is None or self._locked:
            yield
            return
        with self.store.locked():
            self._locked = True
            try:
                self.state = self.store.refresh(self.state)
                yield
            finally:
                self._locked = False

    def save(self) -> None:
        """Persist the state when the card lives in a directory."""
        if self.store is None:
            return
        if self._locked:
            self.store.save(self.state)
            return
        with self.store.locked():
            self.store.save(self.state)
