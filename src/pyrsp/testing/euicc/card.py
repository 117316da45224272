"""``VirtualEuicc``: a software eUICC behind real APDUs (SGP.22 section 5.7, ISO 7816-4).

::

    pki = TestPki.generate(seed=1)
    card = VirtualEuicc(pki, rng=random.Random(1))       # in memory
    card = VirtualEuicc(pki, state_dir="card/")          # saved; later VirtualEuicc.open("card/")
    answer = card.transmit(bytes.fromhex("0070000001"))  # data + SW1 SW2
    card.profiles, card.notifications, card.faults       # views and knobs for tests

It is a :class:`~pyrsp.transports.base.CardTransport`: ``transmit``, ``atr``, ``close``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

from pyrsp import asn1
from pyrsp.crypto import RandomSource
from pyrsp.errors import UsageError
from pyrsp.models import iccid_from_bytes
from pyrsp.testing.euicc.apdu import ISD_R_AID, ApduLayer
from pyrsp.testing.euicc.core import EuiccCore, EuiccSettings
from pyrsp.testing.euicc.es10 import Es10
from pyrsp.testing.euicc.identity import EuiccIdentity
from pyrsp.testing.euicc.state import (
    STATE_FILE,
    CardState,
    NotificationRecord,
    ProfileRecord,
    StateStore,
)
from pyrsp.testing.pki import TestPki

__all__ = ["InstalledProfile", "VirtualEuicc"]

_CARD_FILE = "card.json"


@dataclass(frozen=True)
class InstalledProfile:
    """A read-only view of one installed profile (for tests and the CLI)."""

    iccid: str
    isdp_aid: bytes
    enabled: bool
    nickname: str | None
    service_provider_name: str
    profile_name: str
    profile_class: int
    size: int

    @classmethod
    def of(cls, record: ProfileRecord) -> InstalledProfile:
        """The view of a stored profile."""
        metadata = asn1.decode("StoreMetadataRequest", record.metadata)
        return cls(
            iccid=iccid_from_bytes(record.iccid),
            isdp_aid=record.isdp_aid,
            enabled=record.enabled,
            nickname=record.nickname,
            service_provider_name=metadata["serviceProviderName"],
            profile_name=metadata["profileName"],
            profile_class=metadata.get("profileClass", 2),
            size=record.size,
        )


def _random_source(rng: RandomSource | int) -> RandomSource:
    """``rng`` itself when it has ``randbytes``, ``random.Random(rng)`` for an int seed."""
    if isinstance(rng, int) and not isinstance(rng, bool):
        return random.Random(rng)
    if not isinstance(rng, bool) and callable(getattr(rng, "randbytes", None)):
        return rng
    raise UsageError(
        "expected rng to be an int seed or have randbytes (random.Random), "
        f"got {type(rng).__name__}"
    )


class VirtualEuicc:
    """A software eUICC: ISD-R with ES10a/b/c behind ISO 7816-4 APDUs.

    ``pki`` (or ``identity``) gives the EID and credentials; without either a
    ``TestPki.generate(eid=eid)`` is used. ``rng`` (a seed, or anything with ``randbytes`` such as
    ``random.Random(seed)``) makes challenges and one-time keys replayable; signatures are
    deterministic (RFC 6979). With ``state_dir`` the card's state and credentials are saved
    there after every change; several handles on one directory (processes included) take turns
    under a lock, each change applied to the state as last saved by any of them.
    """

    def __init__(
        self,
        pki: TestPki | None = None,
        *,
        identity: EuiccIdentity | None = None,
        eid: str | None = None,
        state_dir: str | Path | None = None,
        rng: RandomSource | int | None = None,
        settings: EuiccSettings | None = None,
        state: CardState | None = None,
        aid: bytes = ISD_R_AID,
    ) -> None:
        if identity is None:
            if pki is None:
                pki = TestPki.generate() if eid is None else TestPki.generate(eid=eid)
            identity = EuiccIdentity.from_pki(pki)
        if eid is not None and eid != identity.eid:
            raise UsageError(f"expected the EID of the credentials, {identity.eid}, got {eid}")
        self.core = EuiccCore(
            identity=identity, state=state or CardState(), settings=settings or EuiccSettings()
        )
        if rng is not None:
            self.core.rng = _random_source(rng)
        self.faults = self.core.faults
        self.es10 = Es10(self.core)
        self.apdu = ApduLayer(es10=self.es10, aid=aid)
        if state_dir is not None:
            self._attach(Path(state_dir))

    def _attach(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        store = StateStore(directory)
        with store.locked():
            if (directory / STATE_FILE).exists():
                raise UsageError(f"expected an empty state directory, found a card in {directory}")
            self.core.identity.save(directory)
            (directory / _CARD_FILE).write_text(json.dumps({"eid": self.eid}))
            store.save(self.core.state)
        self.core.store = store

    @classmethod
    def open(
        cls,
        state_dir: str | Path,
        *,
        rng: RandomSource | int | None = None,
        settings: EuiccSettings | None = None,
        create: TestPki | None = None,
    ) -> VirtualEuicc:
        """The card saved in ``state_dir`` (profiles, notifications, addresses, credentials).

        With ``create``, a directory holding no card yet gets a new one with that PKI's identity.
        """
        directory = Path(state_dir)
        if create is not None and not (directory / _CARD_FILE).exists():
            return cls(create, state_dir=directory, rng=rng, settings=settings)
        try:
            eid = json.loads((directory / _CARD_FILE).read_text())["eid"]
        except (OSError, ValueError, KeyError) as exc:
            raise UsageError(f"expected a virtual eUICC in {directory}, got: {exc}") from exc
        store = StateStore(directory)
        with store.locked():
            state = store.load()
        card = cls(
            identity=EuiccIdentity.load(directory, eid), state=state, rng=rng, settings=settings
        )
        card.core.store = store
        return card

    # --- CardTransport ------------------------------------------------------------------------

    def transmit(self, apdu: bytes) -> bytes:
        """Process one C-APDU; return the R-APDU (data + SW1 SW2).

        Raises :class:`~pyrsp.errors.CardRemovedError` when a fault drops the card.
        """
        forced = self.faults.before(apdu)
        answer = forced if forced is not None else self.apdu.transmit(bytes(apdu))
        self.faults.after(apdu, answer)
        return answer

    def atr(self) -> bytes:
        """The answer to reset (configurable in :class:`EuiccSettings`)."""
        return self.core.settings.atr

    def reset(self) -> bytes:
        """Power cycle (and reinsert after a dropped connection): channels closed, session lost."""
        self.apdu.reset()
        self.es10.reset()
        self.faults.removed = False
        return self.atr()

    def close(self) -> None:
        """Nothing to release; the card keeps its state."""

    # --- views for tests ----------------------------------------------------------------------

    @property
    def eid(self) -> str:
        """The EID (32 digits)."""
        return self.core.identity.eid

    @property
    def profiles(self) -> tuple[InstalledProfile, ...]:
        """The installed profiles, in install order (as saved by any handle on the directory)."""
        with self.core.transaction():
            return tuple(InstalledProfile.of(p) for p in self.core.state.profiles)

    @property
    def notifications(self) -> tuple[NotificationRecord, ...]:
        """The pending notifications, oldest first (as saved by any handle on the directory)."""
        with self.core.transaction():
            return tuple(self.core.state.notifications)

    @property
    def settings(self) -> EuiccSettings:
        """The card's fixed properties and policy knobs."""
        return self.core.settings
