"""What the ES9+ functions of a TestSmdp share: credentials, orders, sessions, notifications.

Randomness (transactionIds, challenges, one-time keys) comes from ``rng`` and time from
``clock``, so a seeded server replays a session byte for byte.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from pyrsp.testing.smdp.chain import ChainCache
from pyrsp.testing.smdp.credentials import Credentials
from pyrsp.testing.smdp.orders import OrderRegistry
from pyrsp.testing.smdp.session import SessionStore

__all__ = ["ReceivedNotification", "ServerState"]


@dataclass(frozen=True)
class ReceivedNotification:
    """A notification delivered by handleNotification (SGP.22 section 5.6.4).

    ``event`` is ``install``, ``enable``, ``disable`` or ``delete``; ``success`` is the
    installation's final result (``None`` for other events); ``verified`` says whether the
    eUICC signature and certificate chain checked out, ``problem`` why not.
    """

    event: str
    seq_number: int
    iccid: str | None
    eid: str | None
    notification_address: str
    transaction_id: str | None
    success: bool | None
    error_reason: int | None
    bpp_command_id: int | None
    verified: bool
    problem: str
    received: datetime
    raw: bytes = field(repr=False)


@dataclass
class ServerState:
    """The mutable state behind one TestSmdp."""

    credentials: Credentials
    rng: random.Random
    clock: Callable[[], datetime]
    orders: OrderRegistry = field(default_factory=OrderRegistry)
    sessions: SessionStore = field(default_factory=SessionStore)
    notifications: list[ReceivedNotification] = field(default_factory=list)
    chains: ChainCache = field(default_factory=ChainCache)
    replace_session_keys: bool = False
    host_id: bytes = b"pyrsp-TestSmdp"
