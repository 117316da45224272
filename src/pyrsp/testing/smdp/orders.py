"""Download orders held by a TestSmdp and the state each one is in (SGP.22 sections 3.1.1, 3.1.3).

An order is what ES2+ DownloadOrder/ConfirmOrder would leave on a real SM-DP+: a profile package
with its ICCID and metadata, a matching ID, an optional EID binding and an optional confirmation
code. Its state follows the download session::

    released --authenticateClient--> (bound to a session)
             --getBoundProfilePackage--> downloaded --install notification--> installed
                                                    \\-error notification--> error
    released/downloaded --cancelSession--> cancelled (or back to released when postponed)
"""

from __future__ import annotations

import enum
import random
import string
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pyrsp.errors import UsageError

if TYPE_CHECKING:
    from pyrsp.testing.smdp.bpp import Binding

__all__ = ["Order", "OrderRegistry", "OrderState", "ProfileClass"]

_MATCHING_ID_ALPHABET = string.ascii_uppercase + string.digits


class OrderState(enum.Enum):
    """Where an order stands (the ES2+ profile states an SM-DP+ keeps, SGP.22 section 3.1.1)."""

    RELEASED = "released"
    DOWNLOADED = "downloaded"
    INSTALLED = "installed"
    ERROR = "error"
    CANCELLED = "cancelled"


class ProfileClass(enum.Enum):
    """The profile class put in the metadata (SGP.22 section 2.4.5, ``ProfileClass``)."""

    TEST = "test"
    PROVISIONING = "provisioning"
    OPERATIONAL = "operational"


@dataclass
class Order:
    """One download order. ``profile`` is the unprotected profile package (DER bytes)."""

    matching_id: str
    iccid: str
    profile: bytes
    profile_name: str
    service_provider: str
    profile_class: ProfileClass = ProfileClass.OPERATIONAL
    eid: str | None = None
    confirmation_code: str | None = None
    expires: datetime | None = None
    max_cc_attempts: int = 3
    state: OrderState = OrderState.RELEASED
    cc_attempts: int = 0
    installed_eid: str | None = None
    history: list[OrderState] = field(default_factory=list)
    binding: Binding | None = field(default=None, repr=False)

    def move(self, state: OrderState) -> None:
        """Record a state change (the history lets tests check the whole path)."""
        self.history.append(self.state)
        self.state = state

    @property
    def confirmation_code_required(self) -> bool:
        """Whether the eUICC must send hashCc (SGP.22 section 3.1.3.1, ``ccRequiredFlag``)."""
        return self.confirmation_code is not None


def load_profile(profile: bytes | str | Path) -> bytes:
    """The profile package bytes from ``profile`` (bytes, or the path of a DER file)."""
    if isinstance(profile, bytes):
        data = profile
    else:
        path = Path(profile)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UsageError(
                f"expected a readable profile package file, got {path}: {exc}"
            ) from exc
    if not data:
        raise UsageError("expected a profile package, got 0 bytes")
    return data


def profile_class(value: ProfileClass | str) -> ProfileClass:
    """``value`` as a :class:`ProfileClass` (``"test"``, ``"provisioning"``, ``"operational"``)."""
    try:
        return ProfileClass(value)
    except ValueError:
        names = ", ".join(c.value for c in ProfileClass)
        raise UsageError(f"expected a profile class among {names}, got {value!r}") from None


def new_matching_id(rng: random.Random) -> str:
    """A fresh matching ID shaped like SGP.23's examples (``04386-AGYFT-A74Y8-3F815``)."""
    groups = ("".join(rng.choice(_MATCHING_ID_ALPHABET) for _ in range(5)) for _ in range(4))
    return "-".join(groups)


def _downloadable(order: Order, eid: str) -> bool:
    """Released, or downloaded to ``eid`` and not yet installed (a retry)."""
    if order.state is OrderState.RELEASED:
        return True
    binding = order.binding
    return order.state is OrderState.DOWNLOADED and binding is not None and binding.eid == eid


class OrderRegistry:
    """The orders of one TestSmdp, found by matching ID (or, without one, by EID binding)."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}

    def __iter__(self) -> Iterator[Order]:
        return iter(list(self._orders.values()))

    def __len__(self) -> int:
        return len(self._orders)

    def add(self, order: Order) -> Order:
        """Register ``order``; its matching ID must be new."""
        if order.matching_id in self._orders:
            raise UsageError(f"expected a new matching ID, got {order.matching_id!r} again")
        self._orders[order.matching_id] = order
        return order

    def get(self, matching_id: str) -> Order:
        """The order with ``matching_id``; :class:`UsageError` if there is none."""
        try:
            return self._orders[matching_id]
        except KeyError:
            raise UsageError(f"no order with matching ID {matching_id!r}") from None

    def find(self, matching_id: str, eid: str) -> Order | None:
        """The order a session asks for: by ``matching_id``, or by EID binding when it is empty.

        SGP.22 section 3.1.3: an empty matching ID selects an order bound to the EID that can
        be downloaded (the default SM-DP+ address and SM-DS cases).
        """
        if matching_id:
            return self._orders.get(matching_id)
        for order in self._orders.values():
            if order.eid == eid and _downloadable(order, eid):
                return order
        return None

    def by_iccid(self, iccid: str) -> Order | None:
        """The order for ``iccid``, if any (notifications name profiles by ICCID)."""
        return next((o for o in self._orders.values() if o.iccid == iccid), None)
