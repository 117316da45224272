"""RSP sessions on the TestSmdp side, keyed by transactionId (SGP.22 section 3.1.3).

A session is opened by initiateAuthentication and moves through the ES9+ functions in order;
each function checks the session is at the step it expects and refuses otherwise with
"TransactionId - Unknown" (the standard's code for a transaction the server cannot continue).
A session older than the store's ``lifetime`` is closed and refused the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from pyrsp.testing.smdp import codes
from pyrsp.testing.smdp.credentials import SigningSet
from pyrsp.testing.smdp.orders import Order

__all__ = ["DEFAULT_LIFETIME", "Session", "SessionStore", "Step"]


_CLOSED_KEPT = 1024
#: How long a session may take from initiateAuthentication to getBoundProfilePackage.
DEFAULT_LIFETIME = timedelta(hours=1)


class Step(enum.Enum):
    """What a session waits for next."""

    AUTHENTICATE_CLIENT = "authenticateClient"
    GET_BPP = "getBoundProfilePackage"
    INSTALL_NOTIFICATION = "handleNotification"


@dataclass
class Session:
    """The state of one transaction.

    ``transaction_id`` is the hex string as this server sent it, ``tid`` its bytes.
    """

    transaction_id: str
    tid: bytes
    euicc_challenge: bytes
    server_challenge: bytes
    signing: SigningSet
    opened: datetime
    step: Step = Step.AUTHENTICATE_CLIENT
    euicc_certificate: x509.Certificate | None = None
    eid: str = ""
    order: Order | None = None
    euicc_signature1: bytes = b""
    smdp_signature2: bytes = b""
    euicc_otpk: bytes = b""
    smdp_otsk: ec.EllipticCurvePrivateKey | None = field(default=None, repr=False)


class SessionStore:
    """Open sessions by transactionId, and recently closed ones for late notifications.

    ``lifetime``: how long after initiateAuthentication a session may go on (``None``: for ever).
    """

    def __init__(self, lifetime: timedelta | None = DEFAULT_LIFETIME) -> None:
        self.lifetime = lifetime
        self._sessions: dict[str, Session] = {}
        self._closed: dict[bytes, Session] = {}

    def __contains__(self, transaction_id: object) -> bool:
        return transaction_id in self._sessions

    def __len__(self) -> int:
        return len(self._sessions)

    def __iter__(self) -> Iterator[Session]:
        return iter(list(self._sessions.values()))

    def open(self, session: Session) -> None:
        """Remember ``session``."""
        self._sessions[session.transaction_id] = session

    def at(self, transaction_id: str, step: Step, now: datetime) -> Session:
        """The session ``transaction_id`` if it waits for ``step`` and is not expired at ``now``.

        Else a refusal. The comparison is exact: the client must echo the transactionId as sent
        (FACTS.md).
        """
        session = self._sessions.get(transaction_id)
        if session is None:
            raise codes.refuse(
                codes.TRANSACTION_ID_UNKNOWN,
                f"no open session with transactionId {transaction_id!r}",
            )
        if self.lifetime is not None and now - session.opened > self.lifetime:
            self.close(transaction_id)
            raise codes.refuse(
                codes.TRANSACTION_ID_UNKNOWN,
                f"session {transaction_id} expired: opened at {session.opened:%H:%M:%S},"
                f" lifetime {self.lifetime}, now {now:%H:%M:%S}",
            )
        if session.step is not step:
            raise codes.refuse(
                codes.TRANSACTION_ID_UNKNOWN,
                f"session {transaction_id} expects {session.step.value}, got {step.value}",
            )
        return session

    def get(self, transaction_id: str) -> Session | None:
        """The session ``transaction_id`` whatever its step, or ``None``."""
        return self._sessions.get(transaction_id)

    def by_tid(self, tid: bytes) -> tuple[Session | None, bool]:
        """The session whose transactionId bytes are ``tid`` and whether it is still open.

        Notifications carry the bytes; an install notification delivered again (its 204 was
        lost) finds its closed session, so it can still be checked.
        """
        session = next((s for s in self._sessions.values() if s.tid == tid), None)
        if session is not None:
            return session, True
        return self._closed.get(tid), False

    def close(self, transaction_id: str) -> None:
        """End the session (a no-op if it is already gone)."""
        session = self._sessions.pop(transaction_id, None)
        if session is None:
            return
        if len(self._closed) >= _CLOSED_KEPT:
            self._closed.clear()
        self._closed[session.tid] = session
