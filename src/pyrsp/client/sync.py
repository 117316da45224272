"""``RspClient``: the blocking LPA client (SGP.22 sections 3 and 5.7)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self

from pyrsp.activation_code import ActivationCode
from pyrsp.client._core import (
    ClientCore,
    Confirm,
    Handlers,
    T,
    info1_flow,
    provisioning_handlers,
)
from pyrsp.errors import CardRemovedError, PyrspError, UsageError
from pyrsp.journal import Journal, MemoryJournal
from pyrsp.models import EuiccInfo1, EuiccInfo2, NotificationMetadata, ProfileClass, ProfileInfo
from pyrsp.protocol import es10
from pyrsp.protocol.download import DeviceInfo, DownloadResult
from pyrsp.protocol.effects import (
    Effect,
    Flow,
    HttpPost,
    Progress,
    Transmit,
)
from pyrsp.protocol.notifications import NotificationOutcome, process_notifications
from pyrsp.protocol.renewal import RenewalResult
from pyrsp.protocol.session import ISDR_AIDS, close_isdr, open_isdr
from pyrsp.transports.base import (
    CardTransport,
    HttpTransport,
)
from pyrsp.transports.inprocess import (
    ApduTrace,
    InProcessCardTransport,
    SupportsTransmit,
)

log = logging.getLogger(__name__)


class RspClient(ClientCore):
    """A blocking LPA client over a card transport and an optional HTTP transport.

    ``segment_size`` is the data bytes per STORE DATA block (default 255, or 4096 with extended
    APDUs); ``extended_apdus`` ``None`` uses extended APDUs when the card's ATR announces them
    and the transport, if it tells its ``protocol`` (PC/SC does), runs T=1;
    ``isdr_aids`` are tried in order; ``trace`` sees every C-APDU and R-APDU. The client owns
    its transports and closes them on exit.
    """

    def __init__(
        self,
        card: CardTransport | SupportsTransmit,
        http: HttpTransport | None = None,
        *,
        segment_size: int | None = None,
        extended_apdus: bool | None = None,
        isdr_aids: Sequence[bytes] = ISDR_AIDS,
        trace: ApduTrace | None = None,
    ) -> None:
        super().__init__(
            segment_size=segment_size,
            extended_apdus=extended_apdus,
            isdr_aids=isdr_aids,
            trace=trace,
        )
        self.card = card if isinstance(card, CardTransport) else InProcessCardTransport(card)
        self.http = http

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            self.close()
        except PyrspError:
            if exc is None:
                raise

    def open(self) -> None:
        """Open the ISD-R session (SGP.22 5.7): a logical channel with the ISD-R selected."""
        self._config = self._begin()
        try:
            session = self.run(open_isdr(self.isdr_aids))
            self._config = self._session_config(session, self.card.atr(), self.card)
        except BaseException:
            self._config, self.session = None, None
            raise

    def close(self) -> None:
        """Close the logical channel, then the transports. Safe to call twice.

        A card already gone has no channel left to close: that is not an error here.
        """
        try:
            if self._config is not None:
                channel, self._config, self.session = self._config.channel, None, None
                self.run(close_isdr(channel))
        except CardRemovedError as exc:
            log.debug("the card went away before its channel was closed: %s", exc)
        finally:
            self.card.close()
            if self.http is not None:
                self.http.close()

    def run(self, flow: Flow[T], handlers: Handlers | None = None) -> T:
        """Run ``flow`` to its result, answering each effect; pyrsp errors go into the flow."""
        handlers = handlers or Handlers()
        answer: Any = None
        error: PyrspError | None = None
        try:
            while True:
                try:
                    effect = flow.send(answer) if error is None else flow.throw(error)
                except StopIteration as stop:
                    result: T = stop.value
                    return result
                answer, error = None, None
                try:
                    answer = self._answer(effect, handlers)
                except PyrspError as exc:
                    error = exc
        finally:
            flow.close()

    def _answer(self, effect: Effect, handlers: Handlers) -> Any:
        if isinstance(effect, Transmit):
            self._trace("C-APDU", effect.apdu)
            answer = self.card.transmit(effect.apdu)
            self._trace("R-APDU", answer)
            return answer
        if isinstance(effect, HttpPost):
            if self.http is None:
                raise UsageError("the flow needs an SM-DP+: pass http= to the client")
            return self.http.post(effect.address, effect.path, effect.body, effect.headers)
        return handlers.answer(effect)

    # -- management (SGP.22 section 5.7), each one ES10 sub-flow ------------------------------

    def eid(self) -> str:
        """The eUICC's 32-digit EID (GetEID, 5.7.20)."""
        return self.run(es10.get_eid(self.config))

    def euicc_info1(self) -> EuiccInfo1:
        """EUICCInfo1 (5.7.8): versions and CI key ids."""
        return self.run(info1_flow(self.config))

    def euicc_info2(self) -> EuiccInfo2:
        """EUICCInfo2 (5.7.8): versions, capabilities, free memory, CI key ids."""
        return self.run(es10.get_euicc_info2(self.config))

    def configured_addresses(self) -> es10.ConfiguredAddresses:
        """The default SM-DP+ and root SM-DS addresses (5.7.3)."""
        return self.run(es10.get_euicc_configured_addresses(self.config))

    def set_default_smdp(self, address: str) -> None:
        """Set the default SM-DP+ address (5.7.4); ``""`` removes it."""
        self.run(es10.set_default_dp_address(self.config, address))

    def profiles(
        self,
        *,
        iccid: str | None = None,
        isdp_aid: bytes | str | None = None,
        profile_class: ProfileClass | str | None = None,
        tags: Iterable[int] | None = None,
    ) -> list[ProfileInfo]:
        """The profiles on the eUICC (5.7.15), optionally by ICCID, ISD-P AID or class."""
        flow = es10.get_profiles_info(
            self.config, iccid=iccid, isdp_aid=isdp_aid, profile_class=profile_class, tags=tags
        )
        return self.run(flow)

    def enable(self, profile: str | bytes, *, refresh: bool = False) -> None:
        """Enable a profile by ICCID or ISD-P AID (5.7.16); ``refresh`` sets refreshFlag."""
        self.run(es10.enable_profile(self.config, profile, refresh=refresh))

    def disable(self, profile: str | bytes, *, refresh: bool = False) -> None:
        """Disable a profile by ICCID or ISD-P AID (5.7.17)."""
        self.run(es10.disable_profile(self.config, profile, refresh=refresh))

    def delete(self, profile: str | bytes) -> None:
        """Delete a disabled profile by ICCID or ISD-P AID (5.7.18)."""
        self.run(es10.delete_profile(self.config, profile))

    def set_nickname(self, iccid: str, name: str) -> None:
        """Set (or with ``""`` remove) a profile's nickname (5.7.21)."""
        self.run(es10.set_nickname(self.config, iccid, name))

    def memory_reset(
        self,
        *,
        operational_profiles: bool = True,
        test_profiles: bool = False,
        default_smdp_address: bool = False,
    ) -> None:
        """eUICCMemoryReset (5.7.19): delete profiles and/or reset the default SM-DP+."""
        self.run(
            es10.euicc_memory_reset(
                self.config,
                operational_profiles=operational_profiles,
                test_profiles=test_profiles,
                default_smdp_address=default_smdp_address,
            )
        )

    def rat(self) -> list[es10.RatRule]:
        """The Rules Authorisation Table (5.7.22)."""
        return self.run(es10.get_rat(self.config))

    def list_notifications(self, event: str | None = None) -> list[NotificationMetadata]:
        """The pending notifications' metadata (5.7.9), optionally of one event."""
        return self.run(es10.list_notification(self.config, event))

    def retrieve_notifications(
        self, *, seq_number: int | None = None, event: str | None = None
    ) -> list[es10.PendingNotification]:
        """The signed pending notifications (5.7.10), by sequence number or event."""
        flow = es10.retrieve_notifications_list(self.config, seq_number=seq_number, event=event)
        return self.run(flow)

    def remove_notification(self, seq_number: int) -> None:
        """Remove a notification from the eUICC's list (5.7.10); 0 is a valid number."""
        self.run(es10.remove_notification_from_list(self.config, seq_number))

    # -- provisioning (SGP.22 sections 3.1.3 and 3.5), flows that also talk to the SM-DP+ -------

    def download(
        self,
        activation_code: ActivationCode | str,
        *,
        confirm: Confirm = True,
        confirmation_code: Callable[[], Any] | str | None = None,
        progress: Callable[[Progress], Any] | None = None,
        device: DeviceInfo | None = None,
        notify: bool = True,
    ) -> DownloadResult:
        """Download and install a profile (3.1.3); see :func:`pyrsp.protocol.download.download`.

        ``confirm`` consents to the profile (a callback given its ProfileMetadata, or ``True``
        when consent was given elsewhere); ``confirmation_code`` is the code, or a callback
        asked when the SM-DP+ requires one; with ``notify`` the install notification is sent.

        Profile policy rules (SGP.22 section 2.9.2): when the eUICC's RAT allows a rule of the
        profile (``ppr1``, ``ppr2``) only with the user's consent (``consentRequired``), a
        ``confirm`` callback declaring a ``ppr_consent`` parameter is called as
        ``confirm(metadata, ppr_consent=("ppr1",))`` (``()`` when none needs it). It must show
        those rules to the user (``ppr1``: the profile cannot be disabled, ``ppr2``: it cannot
        be deleted) and ask for consent to them specifically: its ``True`` then means consent
        to the profile *and* to those rules. A callback without the parameter is given the
        metadata alone, and its ``True``, like ``confirm=True``, is taken as that consent
        too; ``metadata.policy_rules`` lists every rule of the profile.
        """
        flow = self._download_flow(activation_code, device=device, notify=notify)
        return self.run(flow, provisioning_handlers(confirm, confirmation_code, progress))

    def process_notifications(
        self, *, seq_numbers: Iterable[int] | None = None
    ) -> list[NotificationOutcome]:
        """Deliver the pending notifications (3.5); each leaves the eUICC once accepted."""
        selected = None if seq_numbers is None else frozenset(seq_numbers)
        return self.run(process_notifications(self.config, seq_numbers=selected))

    def renew(
        self,
        activation_code: ActivationCode | str,
        *,
        replace: str | None = None,
        delete_old: bool = False,
        journal: Journal | None = None,
        confirm: Confirm = True,
        confirmation_code: Callable[[], Any] | str | None = None,
        progress: Callable[[Progress], Any] | None = None,
        device: DeviceInfo | None = None,
    ) -> RenewalResult:
        """Install a new profile, enable it, retire ``replace``, deliver every notification.

        Resumable: pass the same ``journal`` (a :class:`~pyrsp.journal.FileJournal` survives
        the process) to finish an interrupted renewal without a second download. See
        :mod:`pyrsp.protocol.renewal`.
        """
        journal = journal if journal is not None else MemoryJournal()
        flow = self._renew_flow(
            activation_code, replace=replace, delete_old=delete_old, journal=journal, device=device
        )
        return self.run(flow, provisioning_handlers(confirm, confirmation_code, progress, journal))
