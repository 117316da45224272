"""ES10b.LoadBoundProfilePackage on the virtual eUICC (SGP.22 sections 2.5.4, 3.1.3.3, 5.7.6).

The LPA sends the BPP as several STORE DATA sequences (the ``BF36`` and ``BF23`` header
together, ``A0`` with its ``87``, the ``A1`` header then each ``88``, optionally ``A2``, the
``A3`` header then each ``86``). Each is fed to a :class:`~pyrsp.bsp.BppReader`; the card
answers nothing until the last piece, then the signed ProfileInstallationResult (``BF37``), or
the result as soon as a check fails: the InitialiseSecureChannel (transactionId, smdpSign over
its data objects and otPK.EUICC.ECKA, remote operation, CRT), each segment's MAC, ConfigureISDP,
StoreMetadata (ICCID unused, class allowed), ReplaceSessionKeys, then the profile (memory, ICCID
in the profile header). Each result is also kept as the install notification.
"""

from __future__ import annotations

from typing import Any

from pyrsp import asn1, tlv
from pyrsp.bsp import BppPart, BppReader, PartKind
from pyrsp.crypto import (
    SessionKeys,
    derive_session_keys,
    ecka,
    public_key_bytes,
    signature_to_tlv,
    verify,
)
from pyrsp.errors import BspError, CodecError, CryptoError, TlvError
from pyrsp.models import iccid_from_bytes
from pyrsp.testing.euicc.core import EuiccCore
from pyrsp.testing.euicc.notifications import event_bits
from pyrsp.testing.euicc.state import NotificationRecord, ProfileRecord

__all__ = ["BppLoad", "InstallFailure"]

# BppCommandId
INITIALISE_SECURE_CHANNEL, CONFIGURE_ISDP, STORE_METADATA = 0, 1, 2
REPLACE_SESSION_KEYS, LOAD_PROFILE_ELEMENTS = 4, 5
# ErrorReason
INCORRECT_INPUT_VALUES, INVALID_SIGNATURE, INVALID_TRANSACTION_ID = 1, 2, 3
UNSUPPORTED_CRT_VALUES, UNSUPPORTED_REMOTE_OPERATION, UNSUPPORTED_PROFILE_CLASS = 4, 5, 6
SCP03T_STRUCTURE_ERROR, SCP03T_SECURITY_ERROR = 7, 8
ICCID_ALREADY_EXISTS, INSUFFICIENT_MEMORY, INTERRUPTION = 9, 10, 11
PE_PROCESSING_ERROR, ICCID_MISMATCH = 12, 13
#: A minimal SAIP EUICCResponse: one PEStatus with status ok(0).
SIMA_RESPONSE_OK = bytes.fromhex("3007A0053003800100")
#: The tags a continuation piece of a BPP starts with.
CONTINUATION_TAGS = frozenset({0xA0, 0xA1, 0xA2, 0xA3, 0x86, 0x87, 0x88})


class InstallFailure(Exception):  # noqa: N818 - carries SGP.22 codes, never leaves the card
    """A failed step: ``command`` is the BppCommandId, ``reason`` the ErrorReason."""

    def __init__(self, command: int, reason: int) -> None:
        super().__init__(f"bppCommandId {command}, errorReason {reason}")
        self.command = command
        self.reason = reason


class BppLoad:
    """One LoadBoundProfilePackage in progress; :meth:`feed` takes each STORE DATA sequence."""

    def __init__(self, core: EuiccCore) -> None:
        self.core = core
        self.reader = BppReader(self._session_keys)
        self.finished = False
        self._step = INITIALISE_SECURE_CHANNEL
        self._transaction_id = b""
        self._iccid: bytes | None = None
        self._metadata = b""
        self._dp_data = b""
        self._profile = bytearray()

    def feed(self, piece: bytes) -> bytes:
        """Process one piece; ``b""`` while more are expected, else the ``BF37`` result."""
        if piece[:1] == b"\xa2":
            self._step = REPLACE_SESSION_KEYS
        try:
            for part in self.reader.feed(piece):
                self._take(part)
            if self.reader.done:
                return self._install()
        except InstallFailure as failure:
            return self._finish_error(failure.command, failure.reason)
        except BspError as exc:
            # a MAC that does not verify is a security error, anything else a structure error
            reason = SCP03T_SECURITY_ERROR if "MAC" in str(exc) else SCP03T_STRUCTURE_ERROR
            return self._finish_error(self._step, reason)
        return b""

    def interrupt(self) -> None:
        """Another command arrived mid-BPP: the install fails (installFailedDueToInterruption)."""
        if not self.finished:
            self._finish_error(self._step, INTERRUPTION)

    def _session_keys(self, iscr: bytes) -> SessionKeys:
        """Verify InitialiseSecureChannel (section 5.7.6) and derive the BSP keys (ECKA, KDF)."""
        session = self.core.session
        try:
            request = asn1.decode("InitialiseSecureChannelRequest", iscr)
        except CodecError as exc:
            raise InstallFailure(INITIALISE_SECURE_CHANNEL, INCORRECT_INPUT_VALUES) from exc
        self._transaction_id = request["transactionId"]
        if request["remoteOpId"] != 1:
            raise InstallFailure(INITIALISE_SECURE_CHANNEL, UNSUPPORTED_REMOTE_OPERATION)
        if session is None or session.otsk is None or session.dp_pb is None:
            raise InstallFailure(INITIALISE_SECURE_CHANNEL, INVALID_TRANSACTION_ID)
        if request["transactionId"] != session.transaction_id:
            raise InstallFailure(INITIALISE_SECURE_CHANNEL, INVALID_TRANSACTION_ID)
        signed = b"".join(c.raw for c in tlv.parse(iscr).children() if c.tag != 0x5F37)
        otpk = tlv.build(0x5F49, public_key_bytes(session.otsk))
        try:
            verify(session.dp_pb, signed + otpk, request["smdpSign"])
        except CryptoError as exc:
            raise InstallFailure(INITIALISE_SECURE_CHANNEL, INVALID_SIGNATURE) from exc
        crt = request["controlRefTemplate"]
        if crt["keyType"] != b"\x88" or crt["keyLen"] != b"\x10":
            raise InstallFailure(INITIALISE_SECURE_CHANNEL, UNSUPPORTED_CRT_VALUES)
        try:
            secret = ecka(session.otsk, request["smdpOtpk"])
            keys = derive_session_keys(
                secret, host_id=crt["hostId"], eid=self.core.identity.eid_bytes
            )
        except CryptoError as exc:
            raise InstallFailure(INITIALISE_SECURE_CHANNEL, INCORRECT_INPUT_VALUES) from exc
        self._step = CONFIGURE_ISDP
        return keys

    def _take(self, part: BppPart) -> None:
        if part.kind is PartKind.CONFIGURE_ISDP:
            self._configure_isdp(part.data)
        elif part.kind is PartKind.STORE_METADATA:
            self._store_metadata(part.data)
        elif part.kind is PartKind.REPLACE_SESSION_KEYS:
            self._step = LOAD_PROFILE_ELEMENTS
        elif part.kind is PartKind.PROFILE_DATA:
            self._profile += part.data
            if len(self._profile) > self.core.free_memory:
                raise InstallFailure(LOAD_PROFILE_ELEMENTS, INSUFFICIENT_MEMORY)

    def _configure_isdp(self, der: bytes) -> None:
        """ConfigureISDP (section 5.5.2): keep the dpProprietaryData, if any."""
        try:
            request = asn1.decode("ConfigureISDPRequest", der)
        except CodecError as exc:
            raise InstallFailure(CONFIGURE_ISDP, INCORRECT_INPUT_VALUES) from exc
        if "dpProprietaryData" in request:
            self._dp_data = asn1.encode("DpProprietaryData", request["dpProprietaryData"])
        self._step = STORE_METADATA

    def _store_metadata(self, der: bytes) -> None:
        """StoreMetadata (section 5.5.3): an ICCID not yet installed, an allowed class."""
        try:
            metadata = asn1.decode("StoreMetadataRequest", der)
        except CodecError as exc:
            raise InstallFailure(STORE_METADATA, INCORRECT_INPUT_VALUES) from exc
        self._iccid = metadata["iccid"]
        if self.core.state.find(iccid=self._iccid) is not None:
            raise InstallFailure(STORE_METADATA, ICCID_ALREADY_EXISTS)
        if metadata.get("profileClass", 2) not in self.core.settings.allowed_classes:
            raise InstallFailure(STORE_METADATA, UNSUPPORTED_PROFILE_CLASS)
        self._metadata = der
        self._step = LOAD_PROFILE_ELEMENTS

    def _check_profile(self) -> None:
        """The profile package parses as TLVs; its ProfileHeader carries the metadata's ICCID."""
        try:
            elements = tlv.parse_all(bytes(self._profile))
            header = elements[0] if elements else None
            iccid = header.find(0x83) if header is not None and header.tag == 0xA0 else None
        except TlvError as exc:
            raise InstallFailure(LOAD_PROFILE_ELEMENTS, PE_PROCESSING_ERROR) from exc
        if iccid is None:
            raise InstallFailure(LOAD_PROFILE_ELEMENTS, PE_PROCESSING_ERROR)
        # the SAIP ProfileHeader holds the ICCID as plain BCD, StoreMetadata nibble-swapped
        assert self._iccid is not None
        if iccid.value.hex().upper().rstrip("F") != iccid_from_bytes(self._iccid):
            raise InstallFailure(LOAD_PROFILE_ELEMENTS, ICCID_MISMATCH)

    def _install(self) -> bytes:
        self._check_profile()
        session = self.core.session
        state = self.core.state
        assert self._iccid is not None
        profile = ProfileRecord(
            iccid=self._iccid,
            isdp_aid=state.new_isdp_aid(),
            metadata=self._metadata,
            size=len(self._profile),
            smdp_address=session.server_address if session else "",
            dp_proprietary_data=self._dp_data,
        )
        state.profiles.append(profile)
        self.core.retained_otsk = None
        final = ("successResult", {"aid": profile.isdp_aid, "simaResponse": SIMA_RESPONSE_OK})
        return self._finish(final)

    def _finish_error(self, command: int, reason: int) -> bytes:
        return self._finish(("errorResult", {"bppCommandId": command, "errorReason": reason}))

    def _finish(self, final: tuple[str, dict[str, Any]]) -> bytes:
        """Sign the ProfileInstallationResult, keep it as a notification, end the session."""
        core = self.core
        session = core.session
        self.finished = True
        authenticated = session is not None and session.transaction_id is not None
        transaction_id = (
            session.transaction_id
            if session is not None and session.transaction_id
            else self._transaction_id or b"\x00"
        )
        address = session.server_address if session is not None else ""
        seq_number = core.state.new_seq_number()
        metadata: dict[str, Any] = {
            "seqNumber": seq_number,
            "profileManagementOperation": event_bits("install"),
            "notificationAddress": address,
        }
        if self._iccid is not None:
            metadata["iccid"] = self._iccid
        data: dict[str, Any] = {
            "transactionId": transaction_id,
            "notificationMetadata": metadata,
            "finalResult": final,
        }
        if session is not None and session.smdp_oid:
            data["smdpOid"] = session.smdp_oid
        der = asn1.encode("ProfileInstallationResultData", data)
        result = tlv.build(0xBF37, der + signature_to_tlv(core.sign(der)))
        if authenticated:
            record = NotificationRecord(seq_number, "install", address, self._iccid, result)
            core.state.notifications.append(record)
        core.session = None
        core.save()
        return result
