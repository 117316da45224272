"""The profile download flow, activation code to installed profile (SGP.22 section 3.1.3), sans-IO.

:func:`download` is a generator: it yields ``Transmit`` (APDUs for the ISD-R session),
``HttpPost`` (ES9+), ``ConfirmDownload(metadata, ppr_consent)`` (answer ``True`` to go on,
``False`` to decline, ``"postponed"`` to postpone; ``ppr_consent`` names the policy rules the
user must consent to specifically, and ``True`` covers them too), ``AskConfirmationCode()``
(answer the code, or ``None`` when there is none: the download is postponed) and
``Progress`` (answer ``None``); it returns a :class:`DownloadResult`.

Steps: GetEUICCChallenge and GetEUICCInfo1 -> initiateAuthentication (the LPA checks that
serverSigned1 names the address it asked, echoes its challenge and the transactionId) ->
AuthenticateServer (ctxParams1: matching ID and DeviceInfo) -> authenticateClient (smdpSigned2
must carry the same transactionId) -> profile policy rules checked against the eUICC's RAT
(GetRAT, only for a profile with ppr1/ppr2; a rule with ``consentRequired`` puts its PPR in
the consent request) -> consent -> confirmation code if
``ccRequiredFlag`` -> PrepareDownload (hashCc) -> getBoundProfilePackage -> the BPP's
StoreMetadata checked against the metadata consented to -> LoadBoundProfilePackage piece by
piece -> the ProfileInstallationResult sent with handleNotification, and removed from the
eUICC only once the SM-DP+ accepted it.

Failures raise :class:`~pyrsp.errors.DownloadError` (``stage``, ``cancel_reason``), or
:class:`~pyrsp.errors.DownloadDeclined` when the user declined, ``from`` the original error.
The stages, in order: ``initiate_authentication``, ``authenticate_server``,
``authenticate_client``, ``profile_policy``, ``consent``, ``confirmation_code``,
``prepare_download``, ``get_bound_profile_package``, ``load_bpp``, ``install``; each is also
announced as ``Progress(stage)`` when it starts.

Once the eUICC holds a session, a failure first cancels it: ES10b CancelSession with the reason
(``endUserRejection``, ``postponed``, ``timeout``, ``pprNotAllowed``, ``metadataMismatch``,
``loadBppExecutionError``, ``undefinedReason``), then ES9+ cancelSession with the eUICC's signed
answer (skipped when the SM-DP+ itself reported the failure). When the eUICC rejects
AuthenticateServer or PrepareDownload, its error goes to the SM-DP+ instead and the eUICC
needs no cancellation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyrsp import asn1, tlv
from pyrsp.activation_code import ActivationCode
from pyrsp.bsp import MAC_SIZE
from pyrsp.crypto.session import hash_confirmation_code
from pyrsp.errors import (
    CardTimeoutError,
    CodecError,
    DownloadDeclined,
    DownloadError,
    EuiccError,
    ProtocolViolation,
    PyrspError,
    ServerTimeoutError,
    SmdpError,
    UsageError,
)
from pyrsp.models import InstallResult, OperatorId, ProfileMetadata
from pyrsp.protocol import es9, es10
from pyrsp.protocol.apdu import ApduConfig
from pyrsp.protocol.effects import AskConfirmationCode, ConfirmDownload, Flow, Progress
from pyrsp.protocol.notifications import NotificationOutcome, send_notification

__all__ = [
    "DEFAULT_TAC",
    "DeviceInfo",
    "DownloadResult",
    "check_bpp_metadata",
    "check_server_signed1",
    "download",
    "ppr_allowed",
    "ppr_needs_consent",
]

T = TypeVar("T")

log = logging.getLogger(__name__)

#: The TAC sent when neither a TAC nor an IMEI is configured (8 digits, SGP.22 section 4.2).
DEFAULT_TAC = "35290611"
_CHECKED_PPRS = ("ppr1", "ppr2")  # pprUpdateControl restricts nothing on the device


@dataclass(frozen=True)
class DeviceInfo:
    """The device the LPA runs on, sent in ctxParams1 (SGP.22 sections 4.2 and 5.7.13).

    ``tac``: 8 digits, by default the IMEI's first 8 or :data:`DEFAULT_TAC`; ``imei``: 15 or 16
    digits, or ``None``; ``capabilities``: DeviceCapabilities release names to ``"x.y.z"``
    versions (``{"eutranEpcSupportedRelease": "15.0.0"}``), ``None`` for es10's default.
    """

    tac: str | None = None
    imei: str | None = None
    capabilities: Mapping[str, str] | None = None

    def __post_init__(self) -> None:
        if self.tac and self.imei and not self.imei.startswith(self.tac):
            raise UsageError(f"the TAC {self.tac} is not the start of the IMEI {self.imei}")

    def ctx_params1(self, matching_id: str | None) -> bytes:
        """The CtxParams1 TLV (``A0``) for ``matching_id``."""
        tac = self.tac or (self.imei[:8] if self.imei else DEFAULT_TAC)
        capabilities = None
        if self.capabilities is not None:
            capabilities = {name: _version(v) for name, v in self.capabilities.items()}
        return es10.build_ctx_params1(
            matching_id, tac, imei=self.imei, device_capabilities=capabilities
        )


def _version(text: str) -> bytes:
    parts = text.split(".")
    if len(parts) != 3 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise UsageError(f"expected a release as 'x.y.z' with numbers below 256, got {text!r}")
    return bytes(int(p) for p in parts)


@dataclass(frozen=True)
class DownloadResult:
    """An installed profile: what the user consented to and what the eUICC reported.

    ``notification`` is the fate of the install notification (``None`` when not sent).
    """

    iccid: str
    profile_name: str
    service_provider_name: str
    isdp_aid: str | None
    smdp_address: str
    transaction_id: str
    metadata: ProfileMetadata
    install: InstallResult
    notification: NotificationOutcome | None


@dataclass
class _Session:
    """An open RSP session: where, which transaction, and how far it got."""

    address: str
    transaction_id: str
    config: ApduConfig
    stage: str = "authenticate_server"
    euicc_ended: bool = False  # the eUICC closed its side (error answer or install result)
    metadata: ProfileMetadata | None = field(default=None)

    def enter(self, stage: str) -> Progress:
        self.stage = stage
        return Progress(stage)


class _DeclinedError(Exception):
    """The user declined; ``reason`` is the CancelSession reason."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class _MetadataMismatch(ProtocolViolation):
    """The BPP's StoreMetadata differs from the metadata the user consented to."""


class _PprNotAllowed(ProtocolViolation):
    """The profile carries policy rules the eUICC's Rules Authorisation Table does not allow."""


def download(
    activation_code: ActivationCode,
    config: ApduConfig,
    *,
    device: DeviceInfo | None = None,
    send_install_notification: bool = True,
) -> Flow[DownloadResult]:
    """Download and install the profile ``activation_code`` points to (SGP.22 section 3.1.3).

    ``config`` is the open ISD-R session's APDU framing; ``device`` the DeviceInfo to send;
    with ``send_install_notification`` the install notification is sent and, once accepted,
    removed from the eUICC (its fate is in the result either way).

    A bad ``device`` (TAC, IMEI, capabilities) raises :class:`UsageError` before any I/O. The
    confirmation code is answered as ``str`` (hashed as UTF-8) or ``bytes`` (hashed as is);
    any other type cancels the session and raises :class:`DownloadError` (stage
    ``confirmation_code``) from a :class:`UsageError`.
    """
    address = activation_code.smdp_address
    ctx = (device or DeviceInfo()).ctx_params1(activation_code.matching_id or None)
    try:
        yield Progress("initiate_authentication")
        challenge = yield from es10.get_euicc_challenge(config)
        info1 = yield from es10.get_euicc_info1(config)
        auth = yield from es9.initiate_authentication(address, challenge, info1)
        check_server_signed1(auth, address, challenge)
    except PyrspError as exc:
        raise DownloadError(
            f"initiate_authentication: {exc}", stage="initiate_authentication"
        ) from exc
    session = _Session(address, auth.transaction_id, config)
    try:
        pir = yield from _steps(session, auth, ctx)
    except Exception as exc:
        error = yield from _fail(session, exc)
        if error is exc:
            raise
        raise error from exc
    return (yield from _finish(session, pir, send_install_notification))


def _steps(session: _Session, auth: es9.InitiateAuthenticationResponse, ctx: bytes) -> Flow[bytes]:
    """From AuthenticateServer to the ProfileInstallationResult (``BF37``, as received)."""
    client = yield from _authenticate(session, auth, ctx)
    hash_cc = yield from _consent(session, client)
    yield session.enter("prepare_download")
    request = es10.build_prepare_download_request(
        client.smdp_signed2, client.smdp_signature2, client.smdp_certificate, hash_cc
    )
    prepared = yield from es10.prepare_download(session.config, request)
    bpp = yield from _forward(
        session,
        "get_bound_profile_package",
        es10.prepare_download_error(prepared),
        es9.get_bound_profile_package(session.address, session.transaction_id, prepared),
    )
    yield session.enter("load_bpp")
    check_bpp_metadata(bpp.bound_profile_package, client.profile_metadata)
    pir = yield from es10.load_bound_profile_package(session.config, bpp.bound_profile_package)
    session.euicc_ended = True
    return pir


def _authenticate(
    session: _Session, auth: es9.InitiateAuthenticationResponse, ctx: bytes
) -> Flow[es9.AuthenticateClientResponse]:
    """AuthenticateServer on the eUICC, then authenticateClient with its answer."""
    yield session.enter("authenticate_server")
    request = es10.build_authenticate_server_request(
        auth.server_signed1,
        auth.server_signature1,
        auth.euicc_ci_pkid_to_be_used,
        auth.server_certificate,
        ctx,
    )
    response = yield from es10.authenticate_server(session.config, request)
    return (
        yield from _forward(
            session,
            "authenticate_client",
            es10.authenticate_server_error(response),
            es9.authenticate_client(session.address, session.transaction_id, response),
        )
    )


def _forward(session: _Session, stage: str, refused: EuiccError | None, call: Flow[T]) -> Flow[T]:
    """Send the eUICC's answer on to the SM-DP+ with ``call`` (the next ES9+ step, ``stage``).

    When the eUICC refused, its session is over: the SM-DP+ still hears the signed refusal,
    whatever it answers, and the refusal is raised (SGP.22 3.1.3: no CancelSession then).
    """
    if refused is None:
        yield session.enter(stage)
        return (yield from call)
    session.euicc_ended = True
    yield from _tell_server(call)
    raise refused


def _consent(session: _Session, client: es9.AuthenticateClientResponse) -> Flow[bytes | None]:
    """Check smdpSigned2, ask for consent and, when required, the confirmation code."""
    cc_required = _check_smdp_signed2(client.smdp_signed2, session.transaction_id)
    session.metadata = _profile_metadata(client.profile_metadata)
    ppr_consent = yield from _check_policy_rules(session, session.metadata)
    yield session.enter("consent")
    answer = yield ConfirmDownload(session.metadata, ppr_consent)
    if answer is not True:
        reason = "postponed" if answer == "postponed" else "endUserRejection"
        raise _DeclinedError(f"the user declined the download ({reason})", reason)
    if not cc_required:
        return None
    yield session.enter("confirmation_code")
    code = yield AskConfirmationCode()
    if not code:  # not a refusal: the user may come back with the code, so the order is kept
        raise _DeclinedError("no confirmation code was given", "postponed")
    if not isinstance(code, str | bytes):
        raise UsageError(f"expected the confirmation code as str or bytes, got {type(code)}")
    return hash_confirmation_code(code, bytes.fromhex(session.transaction_id))


def _finish(session: _Session, pir: bytes, notify: bool) -> Flow[DownloadResult]:
    """Read the installation result, deliver its notification, and report."""
    yield session.enter("install")
    try:
        install = es10.parse_profile_installation_result(pir)
    except PyrspError as exc:
        raise DownloadError(f"install: {exc}", stage="install") from exc
    outcome = None
    if notify:
        pending = es10.PendingNotification(metadata=install.notification, der=pir)
        outcome = yield from send_notification(pending, session.config)
    if not install.success:
        raise DownloadError(
            f"install: the eUICC refused the profile at {install.bpp_command}: "
            f"{install.error_reason} ({install.error_reason_code})",
            stage="install",
        )
    metadata = session.metadata
    assert metadata is not None  # set before any BPP is requested
    return DownloadResult(
        iccid=metadata.iccid,
        profile_name=metadata.profile_name,
        service_provider_name=metadata.service_provider_name,
        isdp_aid=install.isdp_aid,
        smdp_address=session.address,
        transaction_id=session.transaction_id,
        metadata=metadata,
        install=install,
        notification=outcome,
    )


def _fail(session: _Session, exc: Exception) -> Flow[Exception]:
    """Cancel what must be cancelled; the error to raise for ``exc``."""
    reason = ""
    if not session.euicc_ended:
        reason = yield from _cancel(
            session, _cancel_reason(exc, session.stage), tell_server=not isinstance(exc, SmdpError)
        )
    if isinstance(exc, _DeclinedError):
        return DownloadDeclined(
            f"{session.stage}: {exc}", stage=session.stage, cancel_reason=reason
        )
    if not isinstance(exc, PyrspError):
        return exc
    return DownloadError(f"{session.stage}: {exc}", stage=session.stage, cancel_reason=reason)


def _cancel_reason(exc: Exception, stage: str) -> str:
    if isinstance(exc, _DeclinedError):
        return exc.reason
    if isinstance(exc, ServerTimeoutError | CardTimeoutError):
        return "timeout"
    if isinstance(exc, _MetadataMismatch):
        return "metadataMismatch"
    if isinstance(exc, _PprNotAllowed):
        return "pprNotAllowed"
    if stage == "load_bpp":
        return "loadBppExecutionError"
    return "undefinedReason"


def _cancel(session: _Session, reason: str, *, tell_server: bool) -> Flow[str]:
    """ES10b CancelSession, then ES9+ cancelSession; the reason if the eUICC accepted it."""
    transaction = bytes.fromhex(session.transaction_id)
    try:
        response = yield from es10.cancel_session(session.config, transaction, reason)
    except PyrspError as exc:
        log.warning("CancelSession (%s) on the eUICC failed: %s", reason, exc)
        return ""
    if tell_server:
        yield from _tell_server(
            es9.cancel_session(session.address, session.transaction_id, response)
        )
    return reason


def _tell_server(flow: Flow[Any]) -> Flow[None]:
    """Run an ES9+ call whose answer does not matter any more; log its failure."""
    try:
        yield from flow
    except PyrspError as exc:
        log.info("the SM-DP+ did not take the news: %s", exc)


# --- checks the LPA must make -----------------------------------------------------------------


def _check_policy_rules(session: _Session, metadata: ProfileMetadata) -> Flow[tuple[str, ...]]:
    """Profile policy rules must be allowed by the eUICC's RAT (SGP.22 sections 2.9.2, 3.1.3.2);
    the allowed ones that need the user's specific consent.

    Only a profile with ppr1 or ppr2 costs a GetRAT.
    """
    rules = [ppr for ppr in metadata.policy_rules if ppr in _CHECKED_PPRS]
    if not rules:
        return ()
    yield session.enter("profile_policy")
    rat = yield from es10.get_rat(session.config)
    refused = [ppr for ppr in rules if not ppr_allowed(ppr, metadata.profile_owner, rat)]
    if refused:
        owner = metadata.profile_owner.mcc_mnc if metadata.profile_owner else "no profile owner"
        raise _PprNotAllowed(
            f"the eUICC's Rules Authorisation Table does not allow {', '.join(refused)} for {owner}"
        )
    return tuple(ppr for ppr in rules if ppr_needs_consent(ppr, metadata.profile_owner, rat))


def ppr_allowed(ppr: str, owner: OperatorId | None, rat: Sequence[es10.RatRule]) -> bool:
    """Whether some RAT rule lists ``ppr`` and an operator matching the profile ``owner``.

    An operator matches when its MCC/MNC digits match (``E`` is a wildcard digit) and its GID1
    and GID2, when the rule gives them, are the owner's (SGP.22 section 2.9.2.2).
    """
    return any(_rule_allows(rule, ppr, owner) for rule in rat)


def ppr_needs_consent(ppr: str, owner: OperatorId | None, rat: Sequence[es10.RatRule]) -> bool:
    """Whether a RAT rule allowing ``ppr`` for ``owner`` has the ``consentRequired`` flag: the
    user must then consent to ``ppr`` specifically (SGP.22 section 2.9.2.2). When several
    rules allow it, any one with the flag requires consent."""
    return any(rule.consent_required and _rule_allows(rule, ppr, owner) for rule in rat)


def _rule_allows(rule: es10.RatRule, ppr: str, owner: OperatorId | None) -> bool:
    return (
        owner is not None
        and ppr in rule.ppr_ids
        and any(_operator_matches(op, owner) for op in rule.allowed_operators)
    )


def _operator_matches(allowed: OperatorId, owner: OperatorId) -> bool:
    pattern, value = _plmn(allowed.mcc_mnc), _plmn(owner.mcc_mnc)
    if len(pattern) != len(value) or not all(
        p in ("E", v) for p, v in zip(pattern, value, strict=True)
    ):
        return False
    return all(
        want is None or want == have
        for want, have in ((allowed.gid1, owner.gid1), (allowed.gid2, owner.gid2))
    )


def _plmn(mcc_mnc: str) -> str:
    """MCC then MNC as 6 characters, a 2-digit MNC padded with ``F``.

    The model gives digits (``"310410"``, ``"26201"``), or the 3 bytes in hex as in EF IMSI when
    they are not all digits (wildcards ``E``): those are nibble-swapped back here.
    """
    if mcc_mnc.isdigit():
        return mcc_mnc[:3] + mcc_mnc[3:].ljust(3, "F")
    raw = mcc_mnc.upper()
    nibbles = "".join(raw[i + 1] + raw[i] for i in range(0, len(raw) - 1, 2))
    return nibbles[0:3] + nibbles[4:6] + nibbles[3:4]


def check_server_signed1(
    auth: es9.InitiateAuthenticationResponse, smdp_address: str, euicc_challenge: bytes
) -> None:
    """serverSigned1 must name the address asked (case-insensitive), echo the eUICC's
    challenge and carry the transactionId of the answer (SGP.22 section 3.1.2).

    Raises :class:`ProtocolViolation` (or :class:`CodecError` if it does not decode).
    """
    signed = asn1.decode("ServerSigned1", auth.server_signed1)
    if signed["serverAddress"].lower() != smdp_address.lower():
        raise ProtocolViolation(
            f"serverSigned1: expected serverAddress {smdp_address!r}, "
            f"got {signed['serverAddress']!r}"
        )
    if signed["euiccChallenge"] != euicc_challenge:
        raise ProtocolViolation("serverSigned1: the euiccChallenge is not the eUICC's challenge")
    if signed["transactionId"] != bytes.fromhex(auth.transaction_id):
        raise ProtocolViolation(
            f"serverSigned1: expected transactionId {auth.transaction_id}, "
            f"got {signed['transactionId'].hex().upper()}"
        )


def _check_smdp_signed2(smdp_signed2: bytes, transaction_id: str) -> bool:
    """The ccRequiredFlag of smdpSigned2, whose transactionId must be the session's."""
    signed = asn1.decode("SmdpSigned2", smdp_signed2)
    if signed["transactionId"] != bytes.fromhex(transaction_id):
        raise ProtocolViolation(
            f"smdpSigned2: expected transactionId {transaction_id}, "
            f"got {signed['transactionId'].hex().upper()}"
        )
    return bool(signed["ccRequiredFlag"])


def _profile_metadata(der: bytes) -> ProfileMetadata:
    return ProfileMetadata.from_asn1(asn1.decode("StoreMetadataRequest", der))


def check_bpp_metadata(bpp: bytes, profile_metadata: bytes) -> None:
    """The BPP's StoreMetadata (its ``88`` segments, MAC-only) must say what ``profile_metadata``
    (from authenticateClient) said (SGP.22 section 3.1.3.3): the same bytes, or failing that
    the same decoded values (an SM-DP+ may encode the two differently).

    Raises :class:`ProtocolViolation`: a subclass for a mismatch (CancelSession
    ``metadataMismatch``), the base class for a BPP whose StoreMetadata cannot be read.
    """
    try:
        segments = tlv.parse(bpp).require(0xA1).children()
        stored = b"".join(seg.value[:-MAC_SIZE] for seg in segments if seg.tag == 0x88)
        same = stored == profile_metadata or asn1.decode(
            "StoreMetadataRequest", stored
        ) == asn1.decode("StoreMetadataRequest", profile_metadata)
    except CodecError as exc:
        raise ProtocolViolation(f"BPP: cannot read its StoreMetadata (A1/88): {exc}") from exc
    if not same:
        raise _MetadataMismatch(
            "BPP: its StoreMetadata differs from the profile metadata consented to"
        )
