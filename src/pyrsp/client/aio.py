"""``AsyncRspClient``: the ``async`` LPA client, the same flows as ``RspClient``, awaited."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any, Self, cast

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
    AsyncCardTransport,
    AsyncHttpTransport,
    CardTransport,
    HttpTransport,
)
from pyrsp.transports.inprocess import (
    ApduTrace,
    AsyncInProcessCardTransport,
    SupportsTransmit,
    ThreadedCardTransport,
)

log = logging.getLogger(__name__)


def async_card(card: AsyncCardTransport | CardTransport | SupportsTransmit) -> AsyncCardTransport:
    """An async transport for ``card``: as is, on its own thread, or in-process."""
    if inspect.iscoroutinefunction(getattr(card, "transmit", None)):
        return card  # type: ignore[return-value]
    if isinstance(card, CardTransport):
        return ThreadedCardTransport(card)
    return AsyncInProcessCardTransport(cast(SupportsTransmit, card))


async def settle(value: Any) -> Any:
    """``value``, awaited if it is awaitable (callbacks and transports may be either)."""
    return await value if inspect.isawaitable(value) else value


class AsyncRspClient(ClientCore):
    """The ``async`` twin of :class:`RspClient`: the same flows and methods, awaited.

    ``card`` may be an async transport, a blocking one (run on a thread of its own) or an
    in-process card; ``http`` an async HTTP transport (a blocking one runs on a thread).
    """

    def __init__(
        self,
        card: AsyncCardTransport | CardTransport | SupportsTransmit,
        http: AsyncHttpTransport | HttpTransport | None = None,
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
        self.card = async_card(card)
        self.http = http

    async def __aenter__(self) -> Self:
        await self.open()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            await self.close()
        except PyrspError:
            if exc is None:
                raise

    async def open(self) -> None:
        """Open the ISD-R session (SGP.22 5.7)."""
        self._config = self._begin()
        try:
            session = await self.run(open_isdr(self.isdr_aids))
            self._config = self._session_config(session, await self.card.atr(), self.card)
        except BaseException:
            self._config, self.session = None, None
            raise

    async def close(self) -> None:
        """Close the logical channel, then the transports. Safe to call twice.

        A card already gone has no channel left to close: that is not an error here.
        """
        try:
            if self._config is not None:
                channel, self._config, self.session = self._config.channel, None, None
                await self.run(close_isdr(channel))
        except CardRemovedError as exc:
            log.debug("the card went away before its channel was closed: %s", exc)
        finally:
            await self.card.close()
            if self.http is not None:
                await settle(self.http.close())

    async def run(self, flow: Flow[T], handlers: Handlers | None = None) -> T:
        """Run ``flow`` to its result (see :meth:`RspClient.run`)."""
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
                    answer = await self._answer(effect, handlers)
                except PyrspError as exc:
                    error = exc
        finally:
            flow.close()

    async def _answer(self, effect: Effect, handlers: Handlers) -> Any:
        if isinstance(effect, Transmit):
            self._trace("C-APDU", effect.apdu)
            answer = await self.card.transmit(effect.apdu)
            self._trace("R-APDU", answer)
            return answer
        if isinstance(effect, HttpPost):
            return await self._post(effect)
        return await settle(handlers.answer(effect))

    async def _post(self, effect: HttpPost) -> Any:
        if self.http is None:
            raise UsageError("the flow needs an SM-DP+: pass http= to the client")
        post: Callable[..., Any] = self.http.post
        args = (effect.address, effect.path, effect.body, effect.headers)
        if inspect.iscoroutinefunction(post):
            return await post(*args)
        return await asyncio.to_thread(post, *args)

    # -- management: the same as RspClient's, awaited ------------------------------------------

    async def eid(self) -> str:
        """The eUICC's 32-digit EID (5.7.20)."""
        return await self.run(es10.get_eid(self.config))

    async def euicc_info1(self) -> EuiccInfo1:
        """EUICCInfo1 (5.7.8)."""
        return await self.run(info1_flow(self.config))

    async def euicc_info2(self) -> EuiccInfo2:
        """EUICCInfo2 (5.7.8)."""
        return await self.run(es10.get_euicc_info2(self.config))

    async def configured_addresses(self) -> es10.ConfiguredAddresses:
        """The default SM-DP+ and root SM-DS addresses (5.7.3)."""
        return await self.run(es10.get_euicc_configured_addresses(self.config))

    async def set_default_smdp(self, address: str) -> None:
        """Set the default SM-DP+ address (5.7.4); ``""`` removes it."""
        await self.run(es10.set_default_dp_address(self.config, address))

    async def profiles(
        self,
        *,
        iccid: str | None = None,
        isdp_aid: bytes | str | None = None,
        profile_class: ProfileClass | str | None = None,
        tags: Iterable[int] | None = None,
    ) -> list[ProfileInfo]:
        """The profiles on the eUICC (5.7.15), optionally filtered."""
        flow = es10.get_profiles_info(
            self.config, iccid=iccid, isdp_aid=isdp_aid, profile_class=profile_class, tags=tags
        )
        return await self.run(flow)

    async def enable(self, profile: str | bytes, *, refresh: bool = False) -> None:
        """Enable a profile by ICCID or ISD-P AID (5.7.16)."""
        await self.run(es10.enable_profile(self.config, profile, refresh=refresh))

    async def disable(self, profile: str | bytes, *, refresh: bool = False) -> None:
        """Disable a profile by ICCID or ISD-P AID (5.7.17)."""
        await self.run(es10.disable_profile(self.config, profile, refresh=refresh))

    async def delete(self, profile: str | bytes) -> None:
        """Delete a disabled profile by ICCID or ISD-P AID (5.7.18)."""
        await self.run(es10.delete_profile(self.config, profile))

    async def set_nickname(self, iccid: str, name: str) -> None:
        """Set (or with ``""`` remove) a profile's nickname (5.7.21)."""
        await self.run(es10.set_nickname(self.config, iccid, name))

    async def memory_reset(
        self,
        *,
        operational_profiles: bool = True,
        test_profiles: bool = False,
        default_smdp_address: bool = False,
    ) -> None:
        """eUICCMemoryReset (5.7.19)."""
        await self.run(
            es10.euicc_memory_reset(
                self.config,
                operational_profiles=operational_profiles,
                test_profiles=test_profiles,
                default_smdp_address=default_smdp_address,
            )
        )

    async def rat(self) -> list[es10.RatRule]:
        """The Rules Authorisation Table (5.7.22)."""
        return await self.run(es10.get_rat(self.config))

    async def list_notifications(self, event: str | None = None) -> list[NotificationMetadata]:
        """The pending notifications' metadata (5.7.9)."""
        return await self.run(es10.list_notification(self.config, event))

    async def retrieve_notifications(
        self, *, seq_number: int | None = None, event: str | None = None
    ) -> list[es10.PendingNotification]:
        """The signed pending notifications (5.7.10)."""
        flow = es10.retrieve_notifications_list(self.config, seq_number=seq_number, event=event)
        return await self.run(flow)

    async def remove_notification(self, seq_number: int) -> None:
        """Remove a notification from the eUICC's list (5.7.10)."""
        await self.run(es10.remove_notification_from_list(self.config, seq_number))

    # -- provisioning (SGP.22 sections 3.1.3 and 3.5), flows that also talk to the SM-DP+ -------

    async def download(
        self,
        activation_code: ActivationCode | str,
        *,
        confirm: Confirm = True,
        confirmation_code: Callable[[], Any] | str | None = None,
        progress: Callable[[Progress], Any] | None = None,
        device: DeviceInfo | None = None,
        notify: bool = True,
    ) -> DownloadResult:
        """Download and install a profile (3.1.3): :meth:`RspClient.download`, awaited."""
        flow = self._download_flow(activation_code, device=device, notify=notify)
        return await self.run(flow, provisioning_handlers(confirm, confirmation_code, progress))

    async def process_notifications(
        self, *, seq_numbers: Iterable[int] | None = None
    ) -> list[NotificationOutcome]:
        """Deliver the pending notifications (3.5); each leaves the eUICC once accepted."""
        selected = None if seq_numbers is None else frozenset(seq_numbers)
        return await self.run(process_notifications(self.config, seq_numbers=selected))

    async def renew(
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
        """Renew a profile (install, enable, retire, deliver): :meth:`RspClient.renew`."""
        journal = journal if journal is not None else MemoryJournal()
        flow = self._renew_flow(
            activation_code, replace=replace, delete_old=delete_old, journal=journal, device=device
        )
        return await self.run(
            flow, provisioning_handlers(confirm, confirmation_code, progress, journal)
        )
