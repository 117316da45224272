"""The RSP role of the SM-DP+'s (or SM-DS's) TLS certificate (SGP.22 sections 2.6.6, 4.5.2).

The TLS handshake checks that the server's certificate chains to a trusted CI and names the
host; a certificate the CI issued for another role (an SM-DP+'s DPauth or DPpb certificate, an
EUM's) passes both. SGP.22 section 4.5.2 gives the TLS certificate its own role: the
certificate policy ``id-rspRole-dp-tls`` (2.23.146.1.2.1.3) for an SM-DP+ or
``id-rspRole-ds-tls`` (2.23.146.1.2.1.6) for an SM-DS, which the LPA may check (section 4.5.2.2).

:class:`TlsRoleCheck` does that check right after the handshake, before the request is sent
(an httpcore ``trace`` hook on the ``start_tls`` step), and again on the answer's connection
(``network_stream``), so that a connection whose handshake it did not see is not trusted
unchecked. A certificate that passed is remembered by its DER bytes: a reused connection or
another connection to the same server costs a set look-up.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pyrsp.errors import CertificateError, TlsError

__all__ = ["TlsRoleCheck", "check_tls_certificate", "is_ci_certificate"]

_DP_TLS = "id-rspRole-dp-tls (2.23.146.1.2.1.3)"
_DS_TLS = "id-rspRole-ds-tls (2.23.146.1.2.1.6)"
_OPT_OUT = "pass check_tls_role=False only for a lab server whose certificate has no RSP role"


def is_ci_certificate(der: bytes) -> bool:
    """Whether ``der`` is a certificate with the CI role policy ``id-rspRole-ci``."""
    from pyrsp.crypto import Role, load_certificate, role_of

    try:
        return role_of(load_certificate(der)) is Role.CI
    except CertificateError:
        return False


def check_tls_certificate(der: bytes | None, url: str) -> bytes:
    """``der`` if it carries an SM-DP+ or SM-DS TLS role; :class:`TlsError` naming the
    certificate and the rule it breaks otherwise (``None``: no certificate was presented)."""
    from pyrsp.crypto import load_certificate, name_of, role_of

    if not der:
        raise TlsError(f"POST {url}: the server presented no TLS certificate whose role to check")
    try:
        cert = load_certificate(der)
        role = role_of(cert)
    except CertificateError as exc:
        raise TlsError(
            f"POST {url}: TLS certificate {exc.certificate or '(unparsed)'} breaks rule "
            f"{exc.rule!r}: {exc}; expected the policy {_DP_TLS} or {_DS_TLS} (SGP.22 4.5.2); "
            f"{_OPT_OUT}"
        ) from exc
    if not role.is_tls:
        raise TlsError(
            f"POST {url}: TLS certificate {name_of(cert)} breaks rule 'role': expected the "
            f"policy {_DP_TLS} or {_DS_TLS}, got {role.name} ({role.value}) (SGP.22 4.5.2); "
            f"{_OPT_OUT}"
        )
    return der


def _peer_der(stream: object) -> bytes | None:
    """The peer certificate's DER on an httpcore network stream, or ``None``."""
    get_extra_info = getattr(stream, "get_extra_info", None)
    ssl_object = get_extra_info("ssl_object") if get_extra_info is not None else None
    if ssl_object is None:
        return None
    # positional: the blocking stream hands out ``_ssl._SSLSocket``, which takes no keywords
    der = ssl_object.getpeercert(True)
    return der if isinstance(der, bytes) else None


class TlsRoleCheck:
    """Checks each TLS connection's server certificate for a TLS role, once per certificate.

    Safe to share between threads: the remembered set only grows, by whole entries.
    """

    def __init__(self) -> None:
        self._passed: set[bytes] = set()

    def check_stream(self, stream: object, url: str) -> None:
        """Check the certificate on ``stream`` (an httpcore network stream) unless seen."""
        der = _peer_der(stream)
        if der is not None and der in self._passed:
            return
        self._passed.add(check_tls_certificate(der, url))

    def check_answer(self, extensions: Mapping[str, Any], url: str) -> None:
        """Check the connection an httpx answer came on (its ``network_stream`` extension)."""
        self.check_stream(extensions.get("network_stream"), url)

    def hook(self, url: str, host: str) -> Callable[[str, dict[str, Any]], None]:
        """The httpcore ``trace`` extension checking the handshake with ``host`` (blocking).

        A refused connection is closed here: httpcore drops it without closing it.
        """
        watch = _Handshake(host)

        def trace(event: str, info: dict[str, Any]) -> None:
            stream = watch.stream_to_check(event, info)
            if stream is not None:
                try:
                    self.check_stream(stream, url)
                except TlsError:
                    stream.close()
                    raise

        return trace

    def async_hook(self, url: str, host: str) -> Callable[[str, dict[str, Any]], Awaitable[None]]:
        """:meth:`hook` as the coroutine function httpcore's ``async`` side requires."""
        watch = _Handshake(host)

        async def atrace(event: str, info: dict[str, Any]) -> None:
            stream = watch.stream_to_check(event, info)
            if stream is not None:
                try:
                    self.check_stream(stream, url)
                except TlsError:
                    await stream.aclose()
                    raise

        return atrace


class _Handshake:
    """Follows httpcore's trace events for one request; picks the TLS stream to ``host``.

    A proxy's own TLS (``https://`` proxy) names the proxy and is not picked.
    """

    def __init__(self, host: str) -> None:
        self.host = host.lower()
        self.server_hostname = ""

    def stream_to_check(self, event: str, info: dict[str, Any]) -> Any:
        """The new TLS stream to ``host`` when ``event`` ends its handshake, else ``None``."""
        if event.endswith(".start_tls.started"):
            self.server_hostname = str(info.get("server_hostname") or "").lower()
        elif event.endswith(".start_tls.complete") and self.server_hostname == self.host:
            return info.get("return_value")
        return None
