"""HTTPS transports for ES9+ on httpx (SGP.22 section 6.5), blocking and ``async``.

:class:`HttpsTransport` and :class:`AsyncHttpsTransport` carry the ES9+ POSTs the flows yield
(:class:`~pyrsp.protocol.effects.HttpPost`) and return what came back as an
:class:`~pyrsp.protocol.effects.HttpResponse`; judging the answer is the flows' job.

Security defaults (SGP.22 section 2.6.6): TLS 1.2 or later, the server certificate verified
against the configured CI roots only (the system store only with ``use_system_store=True``),
the host name checked, ``http://`` refused unless ``allow_http=True``, verification off only
with ``insecure=True``. When the trust roots include a GSMA-style CI certificate (one with the
``id-rspRole-ci`` policy) and neither ``use_system_store`` nor ``insecure`` is set, the server's
TLS certificate must also carry an SM-DP+ or SM-DS TLS role (``id-rspRole-dp-tls`` or
``id-rspRole-ds-tls``, SGP.22 section 4.5.2; :mod:`pyrsp.transports.tls_role`), checked once per
certificate after the handshake, before the request is sent; ``check_tls_role=False`` turns this
off for a lab server. Answers larger than ``max_response_bytes``, or not complete within
``deadline`` seconds of the request, are cut off while streaming.

The address in the signed data (the activation code's smdpAddress) and the place to connect can
differ: ``connect_to`` maps an address either to ``(host, port)``, where the TLS certificate is
still checked against the address (like ``curl --connect-to``), or to a base URL
(``"https://proxy.example:8443/prefix"``), where it is checked against the URL's host.

httpx is imported when a transport is created, so ``import pyrsp.transports.http`` stays cheap.
Every httpx failure becomes :class:`~pyrsp.errors.HttpTransportError`,
:class:`~pyrsp.errors.TlsError` or :class:`~pyrsp.errors.ServerTimeoutError`, raised ``from``
the original.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeAlias

from pyrsp.errors import (
    HttpTransportError,
    ServerProtocolError,
    ServerTimeoutError,
    TlsError,
    UsageError,
)
from pyrsp.protocol.effects import HttpResponse
from pyrsp.transports.tls_role import TlsRoleCheck, is_ci_certificate
from pyrsp.transports.trust import TrustSource, load_trust_roots, make_ssl_context

if TYPE_CHECKING:
    import httpx

__all__ = [
    "DEFAULT_DEADLINE",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "AsyncHttpsTransport",
    "ConnectTarget",
    "HttpTrace",
    "HttpsTransport",
    "TrustSource",
    "load_trust_roots",
    "make_ssl_context",
]

log = logging.getLogger(__name__)

#: The default cap on an answer's size: far above any bound profile package.
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
#: The default time in seconds one request may take in all, answer body included.
DEFAULT_DEADLINE = 60.0

#: Where to connect for an address: ``(host, port)`` or a base URL.
ConnectTarget: TypeAlias = tuple[str, int] | str

_ADDRESS = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?\.?(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?"
)


@dataclass(frozen=True)
class HttpTrace:
    """One traced HTTP event: ``kind`` is ``"request"``, ``"response"`` or ``"error"``.

    Bodies are the exact bytes; the hook decides what, if anything, to log.
    """

    kind: str
    url: str
    status: int = 0
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    elapsed: float = 0.0
    error: str = ""


TraceHook: TypeAlias = Callable[[HttpTrace], None]


# --- configuration shared by both transports --------------------------------------------------


@dataclass(frozen=True)
class _Target:
    url: str
    headers: dict[str, str]
    extensions: dict[str, Any]
    sni: str
    tls_host: str  # the name the TLS certificate is checked against


class _Config:
    """What both transports share: URL building, limits, tracing and error translation."""

    def __init__(
        self,
        *,
        allow_http: bool,
        connect_to: Mapping[str, ConnectTarget] | None,
        max_response_bytes: int,
        deadline: float | None,
        trace: TraceHook | None,
        has_trust: bool,
        tls_role: TlsRoleCheck | None,
    ) -> None:
        if max_response_bytes <= 0:
            raise UsageError(f"max_response_bytes must be positive, got {max_response_bytes}")
        if deadline is not None and not deadline > 0:
            raise UsageError(f"deadline must be positive seconds or None, got {deadline!r}")
        self.deadline = deadline
        self.allow_http = allow_http
        self.connect_to = {
            k.lower(): _check_target(v, allow_http) for k, v in (connect_to or {}).items()
        }
        self.max_response_bytes = max_response_bytes
        self.trace = trace
        self.has_trust = has_trust
        self.tls_role = tls_role

    def target(self, address: str, path: str, headers: Mapping[str, str]) -> _Target:
        """The URL, headers and httpx extensions for POSTing to ``address`` + ``path``."""
        if _ADDRESS.fullmatch(address) is None:
            raise HttpTransportError(f"expected a host name with an optional port, got {address!r}")
        if not path.startswith("/"):
            raise UsageError(f"expected a path starting with '/', got {path!r}")
        override = self.connect_to.get(address.lower())
        sent = dict(headers)
        if override is None:
            return _Target(f"https://{address}{path}", sent, {}, "", _host_of(address))
        if isinstance(override, str):
            host = urllib.parse.urlsplit(override).hostname or ""
            return _Target(override.rstrip("/") + path, sent, {}, "", host)
        host, port = override
        sni = _host_of(address)
        sent["Host"] = address
        netloc = f"[{host}]" if ":" in host else host
        return _Target(f"https://{netloc}:{port}{path}", sent, {"sni_hostname": sni}, sni, sni)

    def role_check(self, target: _Target) -> TlsRoleCheck | None:
        """The TLS role check to run for ``target``, or ``None`` (off, or plain http)."""
        return self.tls_role if target.url.startswith("https://") else None

    def emit(self, event: HttpTrace) -> None:
        if self.trace is not None:
            self.trace(event)

    def too_large(self, url: str, size: int) -> ServerProtocolError:
        return ServerProtocolError(
            f"POST {url}: expected an answer of at most {self.max_response_bytes} bytes, "
            f"got {size} bytes or more"
        )

    def translate(self, exc: Exception, url: str) -> Exception:
        """The pyrsp error for an httpx failure on ``url``."""
        import httpx

        if isinstance(exc, httpx.TimeoutException):
            return ServerTimeoutError(f"POST {url}: no answer in time ({type(exc).__name__})")
        if isinstance(exc, httpx.DecodingError):
            return ServerProtocolError(f"POST {url}: an answer that does not decode: {exc}")
        tls = _ssl_cause(exc)
        if tls is not None:
            hint = "" if self.has_trust else " (no trust roots are configured)"
            return TlsError(f"POST {url}: TLS failed: {tls}{hint}")
        return HttpTransportError(f"POST {url}: {type(exc).__name__}: {exc}")


def _check_target(target: ConnectTarget, allow_http: bool) -> ConnectTarget:
    if isinstance(target, tuple):
        host, port = target
        if not host or not 0 < port < 65536:
            raise UsageError(f"expected connect_to (host, port), got {target!r}")
        return (host, port)
    if target.startswith("http://") and not allow_http:
        raise UsageError(f"connect_to {target!r} is plain http: pass allow_http=True to allow it")
    if not target.startswith(("https://", "http://")):
        raise UsageError(f"expected connect_to as (host, port) or an http(s) URL, got {target!r}")
    return target


def _host_of(address: str) -> str:
    if address.startswith("["):
        return address[1 : address.index("]")]
    return address.rsplit(":", 1)[0] if ":" in address else address


def _ssl_cause(exc: BaseException) -> ssl.SSLError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _lower_headers(headers: httpx.Headers) -> dict[str, str]:
    return {key.lower(): value for key, value in headers.items()}


def _declared_length(headers: httpx.Headers) -> int:
    value = headers.get("content-length", "")
    return int(value) if value.isdigit() else -1


class _BodyLimit:
    """Accumulate body chunks; raise as soon as the total passes the size limit, or the
    request (from ``started``, a ``time.monotonic()``) passes the deadline."""

    def __init__(self, config: _Config, url: str, headers: httpx.Headers, started: float) -> None:
        self.config = config
        self.url = url
        self.chunks: list[bytes] = []
        self.size = 0
        self.ends = None if config.deadline is None else started + config.deadline
        self.check_time()
        declared = _declared_length(headers)
        if declared > config.max_response_bytes:
            raise config.too_large(url, declared)

    def add(self, chunk: bytes) -> None:
        self.check_time()
        self.size += len(chunk)
        if self.size > self.config.max_response_bytes:
            raise self.config.too_large(self.url, self.size)
        self.chunks.append(chunk)

    def check_time(self) -> None:
        if self.ends is not None and time.monotonic() > self.ends:
            raise ServerTimeoutError(
                f"POST {self.url}: no whole answer within the {self.config.deadline} s deadline "
                f"({self.size} bytes received)"
            )

    def body(self) -> bytes:
        return b"".join(self.chunks)


def _configure(
    *,
    trust: TrustSource | Iterable[TrustSource] | None,
    use_system_store: bool,
    insecure: bool,
    allow_http: bool,
    connect_to: Mapping[str, ConnectTarget] | None,
    timeout: float | httpx.Timeout,
    max_response_bytes: int,
    deadline: float | None,
    proxy: str | httpx.Proxy | None,
    trust_env: bool,
    trace: TraceHook | None,
    check_tls_role: bool,
    own_transport: bool,
) -> tuple[_Config, dict[str, Any]]:
    """The shared configuration and the ``httpx.Client``/``AsyncClient`` keyword arguments.

    ``own_transport``: the caller gave an httpx transport, which carries its own TLS (if any).
    """
    roots = load_trust_roots(trust) if trust is not None and not insecure else []
    role_check = (
        check_tls_role
        and not (insecure or use_system_store or own_transport)
        and any(is_ci_certificate(der) for der in roots)
    )
    config = _Config(
        allow_http=allow_http,
        connect_to=connect_to,
        max_response_bytes=max_response_bytes,
        deadline=deadline,
        trace=trace,
        has_trust=trust is not None or use_system_store,
        tls_role=TlsRoleCheck() if role_check else None,
    )
    if insecure:
        log.warning("TLS verification is OFF (insecure=True): never use this in production")
    context = make_ssl_context(roots or None, use_system_store=use_system_store, insecure=insecure)
    kwargs = {
        "verify": context,
        "timeout": timeout,
        "proxy": proxy,
        "trust_env": trust_env,
        "follow_redirects": False,
    }
    return config, kwargs


# --- blocking ---------------------------------------------------------------------------------


class HttpsTransport:
    """A blocking ES9+ HTTP transport on ``httpx.Client`` (implements ``HttpTransport``).

    Safe to share between threads, as ``httpx.Client`` is.

    ``trust``: the CI roots (certificate objects, DER/PEM bytes, files or a directory).
    ``use_system_store``: trust the system store too. ``insecure``: verify nothing.
    ``allow_http``: permit ``http://`` base URLs in ``connect_to``. ``connect_to``: address ->
    ``(host, port)`` or base URL. ``timeout``: seconds or an ``httpx.Timeout`` (per network
    operation). ``deadline``: seconds one request may take in all, the answer's body included
    (a server trickling bytes is cut off with :class:`~pyrsp.errors.ServerTimeoutError`);
    ``None`` for no limit. ``max_response_bytes``: the answer size cap.
    ``proxy``/``trust_env``: as in httpx.
    ``transport``: an httpx transport to use instead of the network (``httpx.MockTransport``,
    an in-process test SM-DP+); it carries its own TLS, if any, and no role is checked.
    ``trace``: called with an :class:`HttpTrace` per event.
    ``check_tls_role``: when the trust roots include an RSP CI certificate (policy
    ``id-rspRole-ci``) and neither ``use_system_store`` nor ``insecure`` is set, refuse with
    :class:`~pyrsp.errors.TlsError` a server whose TLS certificate lacks the SM-DP+ or SM-DS
    TLS role (SGP.22 section 4.5.2), before the request is sent. ``False`` only for a lab
    server whose certificate has no RSP role.
    """

    def __init__(
        self,
        *,
        trust: TrustSource | Iterable[TrustSource] | None = None,
        use_system_store: bool = False,
        insecure: bool = False,
        allow_http: bool = False,
        connect_to: Mapping[str, ConnectTarget] | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float | None = DEFAULT_DEADLINE,
        proxy: str | httpx.Proxy | None = None,
        trust_env: bool = True,
        transport: httpx.BaseTransport | None = None,
        trace: TraceHook | None = None,
        check_tls_role: bool = True,
    ) -> None:
        self._config, self._kwargs = _configure(
            trust=trust,
            use_system_store=use_system_store,
            insecure=insecure,
            allow_http=allow_http,
            connect_to=connect_to,
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            deadline=deadline,
            proxy=proxy,
            trust_env=trust_env,
            trace=trace,
            check_tls_role=check_tls_role,
            own_transport=transport is not None,
        )
        self._transport = transport
        self._clients: dict[str, httpx.Client] = {}
        self._lock = threading.Lock()

    def _client(self, sni: str) -> httpx.Client:
        import httpx

        with self._lock:
            client = self._clients.get(sni)
            if client is None:
                client = httpx.Client(transport=self._transport, **self._kwargs)
                self._clients[sni] = client
            return client

    def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        """POST ``body`` to ``address`` + ``path``; return the answer, whatever its status."""
        target = self._config.target(address, path, headers)
        self._config.emit(HttpTrace("request", target.url, headers=target.headers, body=body))
        started = time.monotonic()
        with self._translated(target.url):
            response = self._exchange(target, body, started)
        self._trace_response(target.url, response, time.monotonic() - started)
        return response

    def _exchange(self, target: _Target, body: bytes, started: float) -> HttpResponse:
        client = self._client(target.sni)
        roles = self._config.role_check(target)
        extensions = dict(target.extensions)
        if roles is not None:
            extensions["trace"] = roles.hook(target.url, target.tls_host)
        with client.stream(
            "POST", target.url, content=body, headers=target.headers, extensions=extensions
        ) as answer:
            if roles is not None:
                roles.check_answer(answer.extensions, target.url)
            limit = _BodyLimit(self._config, target.url, answer.headers, started)
            for chunk in answer.iter_bytes():
                limit.add(chunk)
            return HttpResponse(answer.status_code, limit.body(), _lower_headers(answer.headers))

    @contextmanager
    def _translated(self, url: str) -> Iterator[None]:
        import httpx

        try:
            yield
        except httpx.HTTPError as exc:
            error = self._config.translate(exc, url)
            self._config.emit(HttpTrace("error", url, error=str(error)))
            raise error from exc
        except TlsError as exc:  # the TLS role check
            self._config.emit(HttpTrace("error", url, error=str(exc)))
            raise

    def _trace_response(self, url: str, response: HttpResponse, elapsed: float) -> None:
        event = HttpTrace(
            "response", url, response.status, response.headers, response.body, elapsed
        )
        self._config.emit(event)

    def close(self) -> None:
        """Close every pooled connection. Safe to call twice."""
        with self._lock:
            clients, self._clients = self._clients, {}
        for client in clients.values():
            client.close()

    def __enter__(self) -> HttpsTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


# --- async ------------------------------------------------------------------------------------


class AsyncHttpsTransport:
    """The ``async`` twin of :class:`HttpsTransport` on ``httpx.AsyncClient``.

    Same arguments; ``transport`` is an ``httpx.AsyncBaseTransport``.
    """

    def __init__(
        self,
        *,
        trust: TrustSource | Iterable[TrustSource] | None = None,
        use_system_store: bool = False,
        insecure: bool = False,
        allow_http: bool = False,
        connect_to: Mapping[str, ConnectTarget] | None = None,
        timeout: float | httpx.Timeout = 30.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        deadline: float | None = DEFAULT_DEADLINE,
        proxy: str | httpx.Proxy | None = None,
        trust_env: bool = True,
        transport: httpx.AsyncBaseTransport | None = None,
        trace: TraceHook | None = None,
        check_tls_role: bool = True,
    ) -> None:
        self._config, self._kwargs = _configure(
            trust=trust,
            use_system_store=use_system_store,
            insecure=insecure,
            allow_http=allow_http,
            connect_to=connect_to,
            timeout=timeout,
            max_response_bytes=max_response_bytes,
            deadline=deadline,
            proxy=proxy,
            trust_env=trust_env,
            trace=trace,
            check_tls_role=check_tls_role,
            own_transport=transport is not None,
        )
        self._transport = transport
        self._clients: dict[str, httpx.AsyncClient] = {}

    def _client(self, sni: str) -> httpx.AsyncClient:
        import httpx

        client = self._clients.get(sni)
        if client is None:
            client = httpx.AsyncClient(transport=self._transport, **self._kwargs)
            self._clients[sni] = client
        return client

    async def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        """POST ``body`` to ``address`` + ``path``; return the answer, whatever its status."""
        import httpx

        target = self._config.target(address, path, headers)
        self._config.emit(HttpTrace("request", target.url, headers=target.headers, body=body))
        started = time.monotonic()
        try:
            response = await self._exchange(target, body, started)
        except httpx.HTTPError as exc:
            error = self._config.translate(exc, target.url)
            self._config.emit(HttpTrace("error", target.url, error=str(error)))
            raise error from exc
        except TlsError as exc:  # the TLS role check
            self._config.emit(HttpTrace("error", target.url, error=str(exc)))
            raise
        event = HttpTrace(
            "response",
            target.url,
            response.status,
            response.headers,
            response.body,
            time.monotonic() - started,
        )
        self._config.emit(event)
        return response

    async def _exchange(self, target: _Target, body: bytes, started: float) -> HttpResponse:
        client = self._client(target.sni)
        roles = self._config.role_check(target)
        extensions = dict(target.extensions)
        if roles is not None:
            extensions["trace"] = roles.async_hook(target.url, target.tls_host)
        async with client.stream(
            "POST", target.url, content=body, headers=target.headers, extensions=extensions
        ) as answer:
            if roles is not None:
                roles.check_answer(answer.extensions, target.url)
            limit = _BodyLimit(self._config, target.url, answer.headers, started)
            async for chunk in answer.aiter_bytes():
                limit.add(chunk)
            return HttpResponse(answer.status_code, limit.body(), _lower_headers(answer.headers))

    async def close(self) -> None:
        """Close every pooled connection. Safe to call twice."""
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()

    async def __aenter__(self) -> AsyncHttpsTransport:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
