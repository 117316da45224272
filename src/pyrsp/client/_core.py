"""What the blocking and the ``async`` client share: effect handlers, options, helpers."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pyrsp.activation_code import ActivationCode
from pyrsp.errors import UsageError
from pyrsp.journal import Journal
from pyrsp.models import EuiccInfo1
from pyrsp.protocol import es10
from pyrsp.protocol.apdu import ApduConfig, atr_supports_extended
from pyrsp.protocol.download import DeviceInfo, DownloadResult, download
from pyrsp.protocol.effects import (
    AskConfirmationCode,
    Checkpoint,
    ConfirmDownload,
    Effect,
    Flow,
    Progress,
)
from pyrsp.protocol.renewal import RenewalResult, journal_key, renew
from pyrsp.protocol.session import IsdRSession
from pyrsp.transports.inprocess import ApduTrace

#: ``confirm`` may be a callback given the ProfileMetadata (and ``ppr_consent=`` when it takes
#: that keyword), or a fixed answer.
Confirm = Callable[..., Any] | bool

T = TypeVar("T")


@dataclass(frozen=True)
class Handlers:
    """The answers to the effects that ask the user: consent, confirmation code, progress.

    ``confirm(metadata) -> bool`` answers ConfirmDownload (metadata is a ProfileMetadata;
    a callback with a ``ppr_consent`` parameter, or ``**kwargs``, is also given
    ``ppr_consent=``: the policy rules the user must consent to specifically, SGP.22 2.9.2),
    ``confirmation_code() -> str | None`` answers AskConfirmationCode, ``progress(event)`` sees
    each Progress, ``journal`` stores each Checkpoint. In :class:`AsyncRspClient` the callbacks
    may also be ``async``.
    """

    confirm: Callable[..., Any] | None = None
    confirmation_code: Callable[[], Any] | None = None
    progress: Callable[[Progress], Any] | None = None
    journal: Journal | None = None

    def answer(self, effect: Effect) -> Any:
        """The callback's answer to ``effect`` (possibly awaitable); none is a UsageError."""
        if isinstance(effect, Progress):
            return None if self.progress is None else self.progress(effect)
        if isinstance(effect, Checkpoint) and self.journal is not None:
            return self.journal.save(effect.key, effect.record)
        if isinstance(effect, ConfirmDownload) and self.confirm is not None:
            if _takes_ppr_consent(self.confirm):
                return self.confirm(effect.metadata, ppr_consent=effect.ppr_consent)
            return self.confirm(effect.metadata)
        if isinstance(effect, AskConfirmationCode) and self.confirmation_code is not None:
            return self.confirmation_code()
        raise UsageError(f"the flow asked for {type(effect).__name__}: pass a callback for it")


def _takes_ppr_consent(callback: Callable[..., Any]) -> bool:
    """Whether ``callback`` accepts the keyword ``ppr_consent`` (by name or ``**kwargs``)."""
    try:
        parameters = inspect.signature(callback).parameters.values()
    except (TypeError, ValueError):  # no signature to read: call it the old way
        return False
    return any(
        p.kind is p.VAR_KEYWORD
        or (p.name == "ppr_consent" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        for p in parameters
    )


class ClientCore:
    """What both clients share: options, the ISD-R ``session`` and its APDU ``config``."""

    def __init__(
        self,
        *,
        segment_size: int | None,
        extended_apdus: bool | None,
        isdr_aids: Sequence[bytes],
        trace: ApduTrace | None,
    ) -> None:
        self.segment_size = segment_size
        self.extended_apdus = extended_apdus
        self.isdr_aids = tuple(isdr_aids)
        self.trace = trace
        self.session: IsdRSession | None = None
        self._config: ApduConfig | None = None
        ApduConfig(segment_size=segment_size, extended=bool(extended_apdus))  # checks the size

    @property
    def config(self) -> ApduConfig:
        """The APDU framing of the open ISD-R session."""
        if self._config is None:
            raise UsageError("the ISD-R session is not open: use the client in a with block")
        return self._config

    def _begin(self) -> ApduConfig:
        """The basic-channel configuration that opening the session runs with."""
        if self._config is not None:
            raise UsageError("the ISD-R session is already open")
        return ApduConfig(channel=0)

    def _session_config(self, session: IsdRSession, atr: bytes, card: object) -> ApduConfig:
        """The session's framing; extended APDUs by default only if the ATR offers them and
        the card's protocol (when the transport tells it, as PC/SC does) is T=1: T=0 cannot
        carry an extended case 4 APDU in one exchange (ISO/IEC 7816-3)."""
        self.session = session
        extended = self.extended_apdus
        if extended is None:
            protocol = getattr(card, "protocol", "")
            known = protocol if isinstance(protocol, str) else ""
            extended = atr_supports_extended(atr) and known in ("", "T1")
        return ApduConfig(
            channel=session.channel, segment_size=self.segment_size, extended=extended
        )

    def _trace(self, direction: Literal["C-APDU", "R-APDU"], apdu: bytes) -> None:
        if self.trace is not None:
            self.trace(direction, apdu)

    def _download_flow(
        self, activation_code: ActivationCode | str, *, device: DeviceInfo | None, notify: bool
    ) -> Flow[DownloadResult]:
        """The download flow (3.1.3) on this session, for either client's ``run``."""
        code = activation_code_of(activation_code)
        return download(code, self.config, device=device, send_install_notification=notify)

    def _renew_flow(
        self,
        activation_code: ActivationCode | str,
        *,
        replace: str | None,
        delete_old: bool,
        journal: Journal,
        device: DeviceInfo | None,
    ) -> Flow[RenewalResult]:
        """The renewal flow on this session, resumed from ``journal``'s record."""
        code = activation_code_of(activation_code)
        record = journal.load(journal_key(code))
        return renew(
            code, self.config, replace=replace, delete_old=delete_old, record=record, device=device
        )


def info1_flow(config: ApduConfig) -> Flow[EuiccInfo1]:
    """GetEUICCInfo1 (SGP.22 section 5.7.8) as the model."""
    return es10.parse_euicc_info1((yield from es10.get_euicc_info1(config)))


def activation_code_of(activation_code: ActivationCode | str) -> ActivationCode:
    """``activation_code`` parsed if it is text (SGP.22 section 4.1)."""
    if isinstance(activation_code, ActivationCode):
        return activation_code
    return ActivationCode.parse(activation_code)


def provisioning_handlers(
    confirm: Confirm,
    confirmation_code: Callable[[], Any] | str | None,
    progress: Callable[[Progress], Any] | None,
    journal: Journal | None = None,
) -> Handlers:
    """The Handlers for a provisioning flow, fixed answers turned into callbacks."""
    answer_confirm = confirm if callable(confirm) else (lambda _metadata: confirm)
    answer_code: Callable[[], Any] | None
    if confirmation_code is None or callable(confirmation_code):
        answer_code = confirmation_code
    else:
        code = confirmation_code
        answer_code = lambda: code  # noqa: E731
    return Handlers(answer_confirm, answer_code, progress, journal)
