"""HttpsTransport / AsyncHttpsTransport over httpx.MockTransport: URLs, limits, errors, tracing."""

from __future__ import annotations

import ssl
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator

import anyio
import httpx
import pytest

from pyrsp.errors import (
    HttpTransportError,
    ServerProtocolError,
    ServerTimeoutError,
    TlsError,
    UsageError,
)
from pyrsp.protocol import es9
from pyrsp.transports.base import AsyncHttpTransport, HttpTransport
from pyrsp.transports.http import AsyncHttpsTransport, HttpsTransport, HttpTrace

ADDRESS = "testsmdpplus1.example.com"
PATH = "/gsma/rsp2/es9plus/initiateAuthentication"


class Recorder:
    """A MockTransport handler that records requests and answers with a fixed response."""

    def __init__(self, response: httpx.Response | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.response = response or httpx.Response(200, json={"ok": True})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.response


def raising(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)


def test_implements_the_protocols() -> None:
    assert isinstance(HttpsTransport(), HttpTransport)
    assert isinstance(AsyncHttpsTransport(), AsyncHttpTransport)


def test_posts_to_the_address_over_https_with_es9_headers() -> None:
    recorder = Recorder(httpx.Response(200, content=b'{"a":1}', headers={"X-Thing": "v"}))
    post = es9.initiate_authentication_request(ADDRESS, bytes(16), b"\xbf\x20\x00")
    with HttpsTransport(transport=httpx.MockTransport(recorder)) as http:
        answer = http.post(post.address, post.path, post.body, post.headers)
    (request,) = recorder.requests
    assert str(request.url) == f"https://{ADDRESS}{PATH}"
    assert request.method == "POST"
    assert request.content == post.body
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-admin-protocol"] == "gsma/rsp/v2.2.0"
    assert request.headers["user-agent"] == "gsma-rsp-lpad"
    assert answer.status == 200
    assert answer.body == b'{"a":1}'
    assert answer.headers["x-thing"] == "v"


def test_non_200_answers_are_returned_not_raised() -> None:
    recorder = Recorder(httpx.Response(500, content=b"<html>boom</html>"))
    http = HttpsTransport(transport=httpx.MockTransport(recorder))
    answer = http.post(ADDRESS, PATH, b"{}", {})
    assert (answer.status, answer.body) == (500, b"<html>boom</html>")


def test_redirects_are_not_followed() -> None:
    recorder = Recorder(httpx.Response(302, headers={"Location": "http://evil.example/"}))
    http = HttpsTransport(transport=httpx.MockTransport(recorder))
    assert http.post(ADDRESS, PATH, b"{}", {}).status == 302
    assert len(recorder.requests) == 1


def test_connect_to_host_port_keeps_the_address_as_host_and_sni() -> None:
    recorder = Recorder()
    http = HttpsTransport(
        transport=httpx.MockTransport(recorder), connect_to={ADDRESS: ("127.0.0.1", 8443)}
    )
    http.post(ADDRESS.upper(), PATH, b"{}", {})
    (request,) = recorder.requests
    assert str(request.url) == f"https://127.0.0.1:8443{PATH}"
    assert request.headers["host"] == ADDRESS.upper()
    assert request.extensions["sni_hostname"] == ADDRESS.upper()


def test_connect_to_base_url() -> None:
    recorder = Recorder()
    http = HttpsTransport(
        transport=httpx.MockTransport(recorder),
        connect_to={ADDRESS: "https://proxy.example:9443/smdp/"},
        allow_http=False,
    )
    http.post(ADDRESS, PATH, b"{}", {})
    assert str(recorder.requests[0].url) == f"https://proxy.example:9443/smdp{PATH}"


def test_plain_http_needs_allow_http() -> None:
    with pytest.raises(UsageError, match="allow_http=True"):
        HttpsTransport(connect_to={ADDRESS: "http://127.0.0.1:8080"})
    recorder = Recorder()
    http = HttpsTransport(
        transport=httpx.MockTransport(recorder),
        connect_to={ADDRESS: "http://127.0.0.1:8080"},
        allow_http=True,
    )
    http.post(ADDRESS, PATH, b"{}", {})
    assert str(recorder.requests[0].url) == f"http://127.0.0.1:8080{PATH}"


@pytest.mark.parametrize("target", [("", 1), ("h", 0), ("h", 70000), "ftp://x", "127.0.0.1:8080"])
def test_bad_connect_to_targets(target: object) -> None:
    with pytest.raises(UsageError, match="connect_to"):
        HttpsTransport(connect_to={ADDRESS: target})  # type: ignore[dict-item]


@pytest.mark.parametrize(
    "address",
    ["evil.example/path", "user@host", "http://host", "host:99999999", "", "a b", "host?x=1"],
)
def test_addresses_that_are_not_host_names_are_refused(address: str) -> None:
    recorder = Recorder()
    http = HttpsTransport(transport=httpx.MockTransport(recorder))
    with pytest.raises(HttpTransportError, match="host name"):
        http.post(address, PATH, b"{}", {})
    assert recorder.requests == []


@pytest.mark.parametrize("address", ["smdp.example.com:8443", "[::1]:443", "127.0.0.1", "x."])
def test_host_port_and_ip_addresses_are_accepted(address: str) -> None:
    recorder = Recorder()
    HttpsTransport(transport=httpx.MockTransport(recorder)).post(address, PATH, b"{}", {})
    assert len(recorder.requests) == 1


def test_response_size_limit_stops_reading() -> None:
    chunks_sent: list[int] = []

    def endless() -> Iterator[bytes]:
        for i in range(1000):
            chunks_sent.append(i)
            yield b"x" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    http = HttpsTransport(transport=httpx.MockTransport(handler), max_response_bytes=10_000)
    with pytest.raises(ServerProtocolError, match="at most 10000 bytes"):
        http.post(ADDRESS, PATH, b"{}", {})
    assert len(chunks_sent) <= 12


def test_declared_content_length_over_the_limit_is_refused_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": "999999"}, content=b"x")

    http = HttpsTransport(transport=httpx.MockTransport(handler), max_response_bytes=1000)
    with pytest.raises(ServerProtocolError, match="got 999999 bytes"):
        http.post(ADDRESS, PATH, b"{}", {})


def test_answer_exactly_at_the_limit_passes() -> None:
    recorder = Recorder(httpx.Response(200, content=b"y" * 100))
    http = HttpsTransport(transport=httpx.MockTransport(recorder), max_response_bytes=100)
    assert http.post(ADDRESS, PATH, b"{}", {}).body == b"y" * 100


def test_a_trickling_answer_is_cut_off_at_the_deadline() -> None:
    sent: list[int] = []

    def trickle() -> Iterator[bytes]:
        for i in range(40):
            sent.append(i)
            time.sleep(0.01)
            yield b"x"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle())

    http = HttpsTransport(transport=httpx.MockTransport(handler), deadline=0.05)
    with pytest.raises(ServerTimeoutError, match=r"0\.05 s deadline"):
        http.post(ADDRESS, PATH, b"{}", {})
    assert len(sent) < 20
    assert (
        HttpsTransport(transport=httpx.MockTransport(handler), deadline=None)
        .post(ADDRESS, PATH, b"{}", {})
        .body
        == b"x" * 40
    )


def test_async_trickling_answer_is_cut_off_at_the_deadline() -> None:
    async def trickle() -> AsyncIterator[bytes]:
        for _ in range(40):
            await anyio.sleep(0.01)
            yield b"x"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=trickle())

    async def main() -> None:
        async with AsyncHttpsTransport(
            transport=httpx.MockTransport(handler), deadline=0.05
        ) as http:
            with pytest.raises(ServerTimeoutError, match="deadline"):
                await http.post(ADDRESS, PATH, b"{}", {})

    anyio.run(main)


@pytest.mark.parametrize("deadline", [0, -1.0])
def test_deadline_must_be_positive(deadline: float) -> None:
    with pytest.raises(UsageError, match="deadline"):
        HttpsTransport(deadline=deadline)


def test_max_response_bytes_must_be_positive() -> None:
    with pytest.raises(UsageError):
        HttpsTransport(max_response_bytes=0)


@pytest.mark.parametrize(
    ("exc", "error", "match"),
    [
        (httpx.ConnectTimeout("slow"), ServerTimeoutError, "no answer in time"),
        (httpx.ReadTimeout("slow"), ServerTimeoutError, "ReadTimeout"),
        (httpx.ConnectError("refused"), HttpTransportError, "ConnectError: refused"),
        (httpx.RemoteProtocolError("bad"), HttpTransportError, "RemoteProtocolError"),
        (httpx.DecodingError("gzip"), ServerProtocolError, "does not decode"),
    ],
)
def test_httpx_errors_are_translated(exc: Exception, error: type[Exception], match: str) -> None:
    http = HttpsTransport(transport=raising(exc))
    with pytest.raises(error, match=match) as info:
        http.post(ADDRESS, PATH, b"{}", {})
    assert info.value.__cause__ is exc


def test_an_ssl_cause_becomes_tls_error() -> None:
    exc = httpx.ConnectError("handshake")
    exc.__cause__ = ssl.SSLCertVerificationError("certificate verify failed")
    with pytest.raises(TlsError, match="certificate verify failed") as info:
        HttpsTransport(transport=raising(exc)).post(ADDRESS, PATH, b"{}", {})
    assert info.value.__cause__ is exc
    with pytest.raises(TlsError, match="no trust roots are configured"):
        HttpsTransport(transport=raising(exc)).post(ADDRESS, PATH, b"{}", {})


def test_trace_hook_sees_request_response_and_error() -> None:
    events: list[HttpTrace] = []
    recorder = Recorder(httpx.Response(204))
    http = HttpsTransport(transport=httpx.MockTransport(recorder), trace=events.append)
    http.post(ADDRESS, PATH, b"{1}", {"X-A": "b"})
    assert [e.kind for e in events] == ["request", "response"]
    assert events[0].body == b"{1}"
    assert events[0].headers == {"X-A": "b"}
    assert events[1].status == 204
    assert events[1].elapsed >= 0
    events.clear()
    with pytest.raises(HttpTransportError):
        HttpsTransport(transport=raising(httpx.ConnectError("x")), trace=events.append).post(
            ADDRESS, PATH, b"", {}
        )
    assert [e.kind for e in events] == ["request", "error"]
    assert "ConnectError" in events[1].error


def test_close_twice() -> None:
    http = HttpsTransport(transport=httpx.MockTransport(Recorder()))
    http.post(ADDRESS, PATH, b"{}", {})
    http.close()
    http.close()


def test_async_transport_posts_limits_and_translates() -> None:
    recorder = Recorder(httpx.Response(200, content=b"ok"))

    async def main() -> None:
        async with AsyncHttpsTransport(
            transport=httpx.MockTransport(recorder), connect_to={ADDRESS: ("10.0.0.1", 443)}
        ) as http:
            answer = await http.post(ADDRESS, PATH, b"{}", {"User-Agent": "gsma-rsp-lpad"})
            assert answer.body == b"ok"
        small = AsyncHttpsTransport(transport=httpx.MockTransport(recorder), max_response_bytes=1)
        with pytest.raises(ServerProtocolError):
            await small.post(ADDRESS, PATH, b"{}", {})
        await small.close()
        slow = AsyncHttpsTransport(transport=raising(httpx.ReadTimeout("slow")))
        with pytest.raises(ServerTimeoutError):
            await slow.post(ADDRESS, PATH, b"{}", {})
        await slow.close()

    anyio.run(main)
    assert str(recorder.requests[0].url) == f"https://10.0.0.1{PATH}"
    assert recorder.requests[0].headers["host"] == ADDRESS


def test_importing_the_module_does_not_import_httpx() -> None:
    code = "import sys, pyrsp.transports.http; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
