"""Dispatch of ES10a/b/c functions on the virtual eUICC (SGP.22 section 5.7).

Each complete STORE DATA sequence holds one request TLV; its tag picks the function. A request
that does not decode as its type is answered ``6A80`` (incorrect values in the command data),
and so is one holding a CHOICE alternative the card's schema lacks (a ``searchCriteria`` or
``profileIdentifier`` of a newer release: the card cannot act on what it cannot read, and does
not guess); an unknown tag is answered ``6A88``. A
BoundProfilePackage (``BF36``) opens a :class:`~pyrsp.testing.euicc.bpp.BppLoad` that takes
the following pieces; any other request in between interrupts the install.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyrsp import asn1
from pyrsp.errors import CodecError
from pyrsp.testing.choices import unknown_alternative
from pyrsp.testing.euicc import download, info, notifications, profiles
from pyrsp.testing.euicc.apdu import SW_DATA_NOT_FOUND, SW_WRONG_DATA, CardStatus
from pyrsp.testing.euicc.bpp import CONTINUATION_TAGS, BppLoad
from pyrsp.testing.euicc.core import EuiccCore

__all__ = ["FUNCTIONS", "Es10"]

Handler = Callable[[EuiccCore, Any, bytes], bytes]

#: Request tag -> (request type, function). SGP.22 section 5.7, tags as in its ASN.1.
FUNCTIONS: dict[int, tuple[str, Handler]] = {
    0xBF3C: ("EuiccConfiguredAddressesRequest", info.get_configured_addresses),
    0xBF3F: ("SetDefaultDpAddressRequest", info.set_default_dp_address),
    0xBF2E: ("GetEuiccChallengeRequest", download.get_euicc_challenge),
    0xBF20: ("GetEuiccInfo1Request", info.get_euicc_info1),
    0xBF22: ("GetEuiccInfo2Request", info.get_euicc_info2),
    0xBF38: ("AuthenticateServerRequest", download.authenticate_server),
    0xBF21: ("PrepareDownloadRequest", download.prepare_download),
    0xBF41: ("CancelSessionRequest", download.cancel_session),
    0xBF28: ("ListNotificationRequest", notifications.list_notification),
    0xBF2B: ("RetrieveNotificationsListRequest", notifications.retrieve_notifications),
    0xBF30: ("NotificationSentRequest", notifications.remove_notification),
    0xBF35: ("LoadCRLRequest", info.load_crl),
    0xBF43: ("GetRatRequest", info.get_rat),
    0xBF2D: ("ProfileInfoListRequest", profiles.get_profiles_info),
    0xBF31: ("EnableProfileRequest", profiles.enable_profile),
    0xBF32: ("DisableProfileRequest", profiles.disable_profile),
    0xBF33: ("DeleteProfileRequest", profiles.delete_profile),
    0xBF29: ("SetNicknameRequest", profiles.set_nickname),
    0xBF3E: ("GetEuiccDataRequest", info.get_eid),
    0xBF34: ("EuiccMemoryResetRequest", profiles.memory_reset),
}
_TAG_BPP = 0xBF36


class Es10:
    """The ISD-R's ES10 handler: ``(channel, request bytes) -> answer bytes``."""

    def __init__(self, core: EuiccCore) -> None:
        self.core = core
        self.load: BppLoad | None = None

    def reset(self) -> None:
        """Power loss: an install in progress is interrupted, the session is gone."""
        with self.core.transaction():
            self._interrupt()
        self.core.session = None

    def __call__(self, channel: int, data: bytes) -> bytes:
        with self.core.transaction():
            return self._call(data)

    def _call(self, data: bytes) -> bytes:
        if self.load is not None:
            if data[0] in CONTINUATION_TAGS:
                return self._feed(data)
            self._interrupt()
        tag = _tag(data)
        if tag == _TAG_BPP:
            self.load = BppLoad(self.core)
            return self._feed(data)
        entry = FUNCTIONS.get(tag)
        if entry is None:
            raise CardStatus(SW_DATA_NOT_FOUND)
        type_name, function = entry
        try:
            request = asn1.decode(type_name, data)
        except CodecError as exc:
            raise CardStatus(SW_WRONG_DATA) from exc
        if unknown_alternative(request) is not None:
            raise CardStatus(SW_WRONG_DATA)
        return function(self.core, request, data)

    def _feed(self, data: bytes) -> bytes:
        assert self.load is not None
        answer = self.load.feed(data)
        if self.load.finished:
            self.load = None
        return answer

    def _interrupt(self) -> None:
        if self.load is not None:
            self.load.interrupt()
            self.load = None


def _tag(data: bytes) -> int:
    """The tag the request starts with (a BPP's first piece is not a whole TLV)."""
    size = 1
    if data[0] & 0x1F == 0x1F:
        while size < len(data) and data[size] & 0x80:
            size += 1
        size += 1
    if size > min(len(data), 3):
        raise CardStatus(SW_WRONG_DATA)
    return int.from_bytes(data[:size], "big")
