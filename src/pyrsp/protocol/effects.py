"""The effects a sans-IO flow yields, and the answers it receives.

A flow is a generator: it yields an effect when it needs the outside world and is sent the
answer (``Transmit`` -> the R-APDU bytes, ``HttpPost`` -> an :class:`HttpResponse`,
``ConfirmDownload`` -> ``bool``, ``AskConfirmationCode`` -> ``str | None``, ``Progress`` and
``Checkpoint`` -> ``None``). A driver (``RspClient``, ``AsyncRspClient`` or a test) runs it;
on a transport failure the driver throws the pyrsp error into the flow, so the flow decides
how to clean up.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

__all__ = [
    "AskConfirmationCode",
    "Checkpoint",
    "ConfirmDownload",
    "Effect",
    "Flow",
    "HttpPost",
    "HttpResponse",
    "Progress",
    "Transmit",
]

T = TypeVar("T")


@dataclass(frozen=True)
class Transmit:
    """Send one C-APDU to the card; the answer is the whole R-APDU (data and SW1 SW2)."""

    apdu: bytes


@dataclass(frozen=True)
class HttpPost:
    """POST ``body`` to ``https://{address}{path}`` (ES9+, SGP.22 section 6.5).

    ``address`` is the SM-DP+ address as it appears in the signed data; the HTTP transport may
    connect elsewhere (a proxy, a test server on another port).
    """

    address: str
    path: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class HttpResponse:
    """What the HTTP transport received: status, lower-cased headers and the body."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ConfirmDownload:
    """Ask the user to consent to installing the profile described by ``metadata``.

    ``metadata`` is a :class:`pyrsp.models.ProfileMetadata`; the answer is ``True`` to go on.
    ``ppr_consent`` names the profile policy rules (``"ppr1"``, ``"ppr2"``) whose RAT rule has
    the ``consentRequired`` flag (SGP.22 section 2.9.2): the user must be shown them and
    consent to them specifically, and ``True`` then means consent to them too.
    """

    metadata: Any
    ppr_consent: tuple[str, ...] = ()


@dataclass(frozen=True)
class AskConfirmationCode:
    """Ask the user for the confirmation code the SM-DP+ requires; ``None`` postpones."""


@dataclass(frozen=True)
class Progress:
    """Report progress: ``stage`` names the step, ``done`` of ``total`` units (0 when unknown)."""

    stage: str
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class Checkpoint:
    """Save ``record`` under ``key`` before going on: the journal of a resumable workflow.

    The driver stores it (a file, a database row); the next run passes it back to the flow.
    """

    key: str
    record: Mapping[str, Any]


Effect: TypeAlias = (
    Transmit | HttpPost | ConfirmDownload | AskConfirmationCode | Progress | Checkpoint
)

#: A flow yields effects, is sent their answers, and returns a ``T``.
Flow: TypeAlias = Generator[Effect, Any, T]
