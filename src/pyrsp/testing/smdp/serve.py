"""Serving a TestSmdp: in-process as an httpx transport, or over real HTTPS on loopback.

:class:`SmdpTransport` is an httpx transport (blocking and ``async``, like
``httpx.MockTransport``) that answers from the TestSmdp in the same process. :func:`serve_https`
runs the same answers behind uvicorn (the ``server`` extra) on a thread, with the TLS
certificate and key of the SM-DP+; clients connect to the loopback address and check the
certificate against the SM-DP+ host name. Link-level faults (a slow answer, a dropped
connection) are carried out here.

Every transport checks the HTTP request before the ES9+ function sees it, as the HTTP layer of
an SM-DP+ does (SGP.22 section 6.5.1: a POST of ``application/json``): another method is
answered 405, a body over :data:`MAX_BODY` 413 (the ASGI app stops reading it), a
``Content-Type`` other than ``application/json`` (parameters such as ``charset`` aside) 415.
``X-Admin-Protocol`` is not checked: the LPA must send it, but its version string varies across
LPAs and an SM-DP+ answers with its own, so a request without it is served like any other.
"""

from __future__ import annotations

import socket
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import anyio
import httpx

from pyrsp.errors import HttpTransportError, UsageError
from pyrsp.protocol.effects import HttpResponse
from pyrsp.testing.smdp.faults import Reply

__all__ = [
    "MAX_BODY",
    "AsyncSmdpHttpTransport",
    "Responder",
    "SmdpHttpTransport",
    "SmdpTransport",
    "asgi_app",
    "serve_https",
]

_DROP_MESSAGE = "Server disconnected without sending a complete response."
#: The largest request body served (an ES9+ request is a few kilobytes).
MAX_BODY = 1 << 20
_STARTUP_TIMEOUT = 10.0

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class Responder(Protocol):
    """What the transports need from a TestSmdp."""

    def respond(self, path: str, body: bytes) -> Reply:
        """The answer to a POST of ``body`` to ``path``, faults included."""
        ...


def _plain(status: int, text: str, **headers: str) -> Reply:
    return Reply(status, {**headers, "content-type": "text/plain"}, text.encode() + b"\n")


_NOT_POST = _plain(405, "POST only", allow="POST")
_TOO_LARGE = _plain(413, f"expected a request body of at most {MAX_BODY} bytes")


def http_refusal(method: str, headers: Mapping[str, str], size: int) -> Reply | None:
    """The HTTP-level answer to a request an SM-DP+ does not pass on to ES9+, or ``None``.

    ``headers`` may use any case; ``size`` is the body's length (or the declared one).
    """
    if method != "POST":
        return _NOT_POST
    if size > MAX_BODY:
        return _TOO_LARGE
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        return _plain(415, f"expected Content-Type application/json, got {content_type!r}")
    return None


class SmdpTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An in-process httpx transport answering from a TestSmdp (any host name, no TLS)."""

    def __init__(self, responder: Responder) -> None:
        self._responder = responder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` (blocking clients)."""
        reply = self._reply(request, request.read())
        if reply.delay:
            time.sleep(reply.delay)
        return self._response(request, reply)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` (``async`` clients)."""
        reply = self._reply(request, await request.aread())
        if reply.delay:
            await anyio.sleep(reply.delay)
        return self._response(request, reply)

    def _reply(self, request: httpx.Request, body: bytes) -> Reply:
        refusal = http_refusal(request.method, request.headers, len(body))
        return refusal or self._responder.respond(request.url.path, body)

    @staticmethod
    def _response(request: httpx.Request, reply: Reply) -> httpx.Response:
        if reply.drop:
            raise httpx.RemoteProtocolError(_DROP_MESSAGE, request=request)
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body)


class SmdpHttpTransport:
    """A pyrsp ``HttpTransport`` and ``AsyncHttpTransport`` calling a TestSmdp directly.

    The fastest way in-process (no httpx); any address reaches this server. A dropped
    connection becomes :class:`~pyrsp.errors.HttpTransportError`, as a real transport reports it.
    Use :meth:`post` from blocking code and :meth:`apost` (or :meth:`asynchronous`) from ``async``.
    """

    def __init__(self, responder: Responder) -> None:
        self._responder = responder

    def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        """POST ``body`` to ``path``; return the answer."""
        reply = http_refusal("POST", headers, len(body)) or self._responder.respond(path, body)
        if reply.delay:
            time.sleep(reply.delay)
        return _http_response(address, path, reply)

    async def apost(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        """The ``async`` :meth:`post`."""
        reply = http_refusal("POST", headers, len(body)) or self._responder.respond(path, body)
        if reply.delay:
            await anyio.sleep(reply.delay)
        return _http_response(address, path, reply)

    def asynchronous(self) -> AsyncSmdpHttpTransport:
        """The same server as an ``AsyncHttpTransport``."""
        return AsyncSmdpHttpTransport(self)

    def close(self) -> None:
        """Nothing to release."""


class AsyncSmdpHttpTransport:
    """A pyrsp ``AsyncHttpTransport`` calling a TestSmdp directly."""

    def __init__(self, transport: SmdpHttpTransport) -> None:
        self._transport = transport

    async def post(
        self, address: str, path: str, body: bytes, headers: Mapping[str, str]
    ) -> HttpResponse:
        """POST ``body`` to ``path``; return the answer."""
        return await self._transport.apost(address, path, body, headers)

    async def close(self) -> None:
        """Nothing to release."""


def _http_response(address: str, path: str, reply: Reply) -> HttpResponse:
    if reply.drop:
        raise HttpTransportError(
            f"expected an answer from https://{address}{path}, the connection was dropped"
        )
    headers = {k.lower(): v for k, v in reply.headers.items()}
    return HttpResponse(reply.status, reply.body, headers)


def asgi_app(responder: Responder) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI application serving ``responder`` (for uvicorn or any ASGI server)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _read_body(receive, _declared_length(headers))
        size = MAX_BODY + 1 if body is None else len(body)  # None: refused as too large
        reply = http_refusal(scope["method"], headers, size) or responder.respond(
            scope["path"], body or b""
        )
        if reply.delay:
            await anyio.sleep(reply.delay)
        await _send(send, reply)

    return app


def _declared_length(headers: Mapping[str, str]) -> int:
    try:
        return int(headers.get("content-length", "0"))
    except ValueError:
        return 0


async def _read_body(receive: Receive, declared: int) -> bytes | None:
    """The request body, or ``None`` (unread) once it is or will be over :data:`MAX_BODY`."""
    if declared > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send(send: Send, reply: Reply) -> None:
    body = reply.body
    declared = len(body) + (1024 if reply.drop else 0)
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    headers.append((b"content-length", str(declared).encode()))
    # A 204 carries no body, so it could not be cut short: a dropped one promises a 200's body.
    status = 200 if reply.drop and reply.status == 204 else reply.status
    await send({"type": "http.response.start", "status": status, "headers": headers})
    if reply.drop:
        # Promise more than is sent and stop: the server closes the connection mid-answer.
        await send(
            {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
        )
        return
    await send({"type": "http.response.body", "body": body})


@contextmanager
def serve_https(
    responder: Responder,
    tls_chain_pem: bytes,
    tls_key_pem: bytes,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    log_level: str = "warning",
) -> Iterator[str]:
    """Serve ``responder`` over HTTPS on ``host``:``port`` (0: any free port) in a thread.

    Yields the base URL (``https://127.0.0.1:PORT``); stops the server on exit.
    """
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise UsageError("serving HTTPS needs uvicorn: pip install 'pyrsp[server]'") from exc
    listener = _listen(host, port)
    with listener, tempfile.TemporaryDirectory(prefix="pyrsp-smdp-") as tmp:
        cert_file, key_file = Path(tmp) / "tls.pem", Path(tmp) / "tls.key.pem"
        cert_file.write_bytes(tls_chain_pem)
        key_file.touch(mode=0o600)
        key_file.write_bytes(tls_key_pem)
        config = uvicorn.Config(
            asgi_app(responder),
            ssl_certfile=str(cert_file),
            ssl_keyfile=str(key_file),
            log_level=log_level,
            lifespan="off",
            access_log=False,
        )
        server = uvicorn.Server(config)
        with _running(server, listener):
            yield f"https://{_url_host(host)}:{listener.getsockname()[1]}"


def _listen(host: str, port: int) -> socket.socket:
    """A socket bound to ``host``:``port`` here, so a port in use fails now, in this thread."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        listener = socket.socket(family, kind, proto)
    except OSError as exc:
        raise UsageError(f"expected an address to listen on, got {host!r}: {exc}") from exc
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
    except OSError as exc:
        listener.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return listener


@contextmanager
def _running(server: Any, listener: socket.socket) -> Iterator[None]:
    """Run a uvicorn server on ``listener`` in a thread until the block ends."""
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="pyrsp-testsmdp-https", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + _STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise UsageError("the HTTPS server did not start")
            time.sleep(0.01)
        yield
    finally:
        server.should_exit = True
        thread.join(timeout=_STARTUP_TIMEOUT)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
