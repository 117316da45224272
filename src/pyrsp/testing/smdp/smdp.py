"""TestSmdp: an SM-DP+ for tests, demos and integration tests (SGP.22 ES9+ and ES8+).

::

    pki = TestPki.generate(seed=1)
    smdp = TestSmdp(pki, rng=random.Random(1))
    ac = smdp.add_order(iccid="89999000000000000017")         # -> ActivationCode
    status, headers, body = smdp.handle(path, json_body)      # pure ES9+
    httpx.Client(transport=smdp.httpx_transport())            # in-process, sync or async
    RspClient(card, http=smdp.http_transport())               # pyrsp HttpTransport, no httpx
    with smdp.serve_https() as url: ...                       # real HTTPS on loopback
    smdp.inject(FaultKind.HTTP_500, "getBoundProfilePackage") # a fault at a chosen step
    smdp.order(ac.matching_id).state, smdp.notifications      # what happened
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

from pyrsp.activation_code import ActivationCode
from pyrsp.errors import CodecError, SmdpError, UsageError
from pyrsp.testing.pki import TestPki
from pyrsp.testing.smdp import es9
from pyrsp.testing.smdp.authenticate import authenticate_client, initiate_authentication
from pyrsp.testing.smdp.bpp import store_metadata
from pyrsp.testing.smdp.credentials import Credentials
from pyrsp.testing.smdp.download import get_bound_profile_package
from pyrsp.testing.smdp.faults import Fault, FaultKind, FaultPlan, Reply, apply_fault
from pyrsp.testing.smdp.notify import cancel_session, handle_notification
from pyrsp.testing.smdp.orders import (
    Order,
    OrderRegistry,
    OrderState,
    ProfileClass,
    load_profile,
    new_matching_id,
)
from pyrsp.testing.smdp.orders import (
    profile_class as to_profile_class,
)
from pyrsp.testing.smdp.profiles import generate_profile, new_iccid, profile_iccid
from pyrsp.testing.smdp.serve import SmdpHttpTransport, SmdpTransport, serve_https
from pyrsp.testing.smdp.session import DEFAULT_LIFETIME, SessionStore, Step
from pyrsp.testing.smdp.state import ReceivedNotification, ServerState

__all__ = ["TestSmdp"]

log = logging.getLogger(__name__)

Handler = Callable[[ServerState, es9.Request], Mapping[str, Any] | None]

_HANDLERS: dict[str, Handler] = {
    "initiateAuthentication": initiate_authentication,
    "authenticateClient": authenticate_client,
    "getBoundProfilePackage": get_bound_profile_package,
    "handleNotification": handle_notification,
    "cancelSession": cancel_session,
}
# A refusal ends the session at these steps (the client must start a new one).
_ENDS_SESSION = {
    "authenticateClient": Step.AUTHENTICATE_CLIENT,
    "getBoundProfilePackage": Step.GET_BPP,
}
_NOT_FOUND = Reply(404, {"content-type": "text/plain"}, b"not an ES9+ function\n")


def _clock(now: Callable[[], dt.datetime] | dt.datetime | None) -> Callable[[], dt.datetime]:
    if now is None:
        return lambda: dt.datetime.now(dt.UTC)
    if isinstance(now, dt.datetime):
        fixed = now
        return lambda: fixed
    return now


class TestSmdp:
    """A test SM-DP+: orders, ES9+ answers, ES8+ packages, faults, and serving.

    ``pki``: one :class:`~pyrsp.testing.pki.TestPki` or several (one per CI, for example NIST and
    brainpool), or pass ``credentials``. ``rng``: a seed or ``random.Random`` for replayable
    transactionIds, challenges and keys. ``now``: a datetime or a clock callable.
    ``session_lifetime``: how long a session may go on after initiateAuthentication (``None``:
    for ever); later ES9+ calls for an older one are refused with TransactionId - Unknown.
    ``replace_session_keys``: put a ReplaceSessionKeys in every BPP.
    """

    __test__: ClassVar[bool] = False  # not a pytest test class

    def __init__(
        self,
        pki: TestPki | Iterable[TestPki] | None = None,
        *,
        credentials: Credentials | None = None,
        rng: random.Random | int | None = None,
        now: Callable[[], dt.datetime] | dt.datetime | None = None,
        replace_session_keys: bool = False,
        session_lifetime: dt.timedelta | None = DEFAULT_LIFETIME,
    ) -> None:
        if credentials is None:
            if pki is None:
                raise UsageError("expected a TestPki or Credentials, got neither")
            credentials = Credentials.from_pkis([pki] if isinstance(pki, TestPki) else pki)
        generator = rng if isinstance(rng, random.Random) else random.Random(rng)
        self._state = ServerState(
            credentials=credentials,
            rng=generator,
            clock=_clock(now),
            replace_session_keys=replace_session_keys,
            sessions=SessionStore(session_lifetime),
        )
        self._faults = FaultPlan()
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """The SM-DP+ address (activation codes, serverSigned1, TLS host name)."""
        return self._state.credentials.address

    @property
    def oid(self) -> str:
        """The SM-DP+ OID."""
        return self._state.credentials.oid

    @property
    def credentials(self) -> Credentials:
        """The keys and certificates this server uses."""
        return self._state.credentials

    # -- orders --------------------------------------------------------------------------

    def add_order(
        self,
        profile: bytes | str | Path | None = None,
        *,
        iccid: str | None = None,
        matching_id: str | None = None,
        eid: str | None = None,
        confirmation_code: str | None = None,
        profile_name: str = "pyrsp test profile",
        service_provider: str = "pyrsp",
        profile_class: ProfileClass | str = ProfileClass.OPERATIONAL,
        expires: dt.datetime | None = None,
        max_cc_attempts: int = 3,
    ) -> ActivationCode:
        """Release a download order and return its activation code (SGP.22 section 4.1).

        ``profile``: the profile package (bytes or a DER file); ``None`` generates a small one.
        ``iccid``: defaults to the package's own (another one makes a metadata/package
        mismatch an eUICC refuses: useful to test that), or a fresh test ICCID.
        ``matching_id``: ``""`` for an order found by its ``eid`` binding alone; ``None`` draws a
        new one.
        """
        package, iccid = self._package(profile, iccid)
        if matching_id is None:
            matching_id = new_matching_id(self._state.rng)
        elif not matching_id and eid is None:
            raise UsageError("an order without a matching ID must be bound to an EID")
        order = Order(
            matching_id=matching_id,
            iccid=iccid,
            profile=package,
            profile_name=profile_name,
            service_provider=service_provider,
            profile_class=to_profile_class(profile_class),
            eid=eid,
            confirmation_code=confirmation_code,
            expires=expires,
            max_cc_attempts=max_cc_attempts,
        )
        try:
            store_metadata(order, self.address)
        except CodecError as exc:
            raise UsageError(f"the order's metadata does not fit SGP.22 limits: {exc}") from exc
        with self._lock:
            self._state.orders.add(order)
        return ActivationCode(
            smdp_address=self.address,
            matching_id=matching_id,
            confirmation_code_required=confirmation_code is not None,
        )

    def _package(self, profile: bytes | str | Path | None, iccid: str | None) -> tuple[bytes, str]:
        """The profile package and ICCID of a new order (generating what is not given)."""
        if profile is None:
            iccid = iccid or new_iccid(self._state.rng)
            return generate_profile(iccid), iccid
        package = load_profile(profile)
        return package, iccid or profile_iccid(package) or new_iccid(self._state.rng)

    @property
    def orders(self) -> OrderRegistry:
        """Every order, in the order added."""
        return self._state.orders

    def order(self, matching_id: str) -> Order:
        """The order with ``matching_id``."""
        return self._state.orders.get(matching_id)

    def release(self, matching_id: str) -> None:
        """Put an order back in the released state (ES2+ would: after an error or cancel)."""
        order = self.order(matching_id)
        with self._lock:
            order.cc_attempts = 0
            order.binding = None
            if order.state is not OrderState.RELEASED:
                order.move(OrderState.RELEASED)

    @property
    def notifications(self) -> list[ReceivedNotification]:
        """Every notification received, in order (a copy)."""
        return list(self._state.notifications)

    # -- ES9+ ----------------------------------------------------------------------------

    def handle(self, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """Answer one ES9+ POST: ``(status, headers, body)`` (faults applied, except links)."""
        reply = self.respond(path, body)
        return reply.status, dict(reply.headers), reply.body

    def respond(self, path: str, body: bytes) -> Reply:
        """Answer one ES9+ POST as a :class:`Reply`, with link-level faults for transports."""
        name = path.removeprefix(es9.ES9_PREFIX) if path.startswith(es9.ES9_PREFIX) else ""
        handler = _HANDLERS.get(name)
        if handler is None:
            return _NOT_FOUND
        with self._lock:
            reply = self._run(name, handler, body)
            for fault in self._faults.take(name):
                reply = apply_fault(reply, fault)
        return reply

    def _run(self, name: str, handler: Handler, body: bytes) -> Reply:
        request: es9.Request | None = None
        try:
            request = es9.Request(body)
            result = handler(self._state, request)
        except SmdpError as exc:
            log.info("%s refused: %s", name, exc)
            self._end_session(name, request)
            return Reply(200, es9.json_headers(), es9.failure_body(exc))
        if result is None:
            return Reply(204, {"x-admin-protocol": es9.ADMIN_PROTOCOL}, b"")
        return Reply(200, es9.json_headers(), es9.success_body(result))

    def _end_session(self, name: str, request: es9.Request | None) -> None:
        step = _ENDS_SESSION.get(name)
        transaction_id = request.optional_text("transactionId") if request else None
        if step is None or transaction_id is None:
            return
        session = self._state.sessions.get(transaction_id)
        if session is not None and session.step is step:
            self._state.sessions.close(transaction_id)

    @property
    def open_sessions(self) -> int:
        """How many RSP sessions are open."""
        return len(self._state.sessions)

    # -- faults and serving ----------------------------------------------------------------

    def inject(
        self, kind: FaultKind | str, step: str, *, times: int = 1, delay: float = 0.0
    ) -> None:
        """Make the answer to ``step`` (an ES9+ function name) go wrong ``times`` times."""
        if step not in _HANDLERS:
            raise UsageError(f"expected an ES9+ function name, got {step!r}")
        try:
            fault_kind = FaultKind(kind)
        except ValueError:
            kinds = ", ".join(k.value for k in FaultKind)
            raise UsageError(f"expected a fault among {kinds}, got {kind!r}") from None
        self._faults.add(Fault(fault_kind, step, times, delay))

    def clear_faults(self) -> None:
        """Forget every fault not yet injected."""
        self._faults.clear()

    def http_transport(self) -> SmdpHttpTransport:
        """A pyrsp ``HttpTransport`` calling this server directly (``.asynchronous()``: async)."""
        return SmdpHttpTransport(self)

    def httpx_transport(self) -> SmdpTransport:
        """An in-process httpx transport (blocking and ``async``) answering from this server."""
        return SmdpTransport(self)

    @contextmanager
    def serve_https(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve over HTTPS (uvicorn, in a thread) with the TLS certificate; yields the URL."""
        chain, key = self._state.credentials.tls_chain_pem, self._state.credentials.tls_key_pem
        if chain is None or key is None:
            raise UsageError("this TestSmdp has no TLS certificate and key to serve HTTPS with")
        with serve_https(self, chain, key, host=host, port=port) as url:
            yield url
