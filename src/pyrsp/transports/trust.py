"""Trust roots for the ES9+ HTTPS transports (SGP.22 section 2.6.6): the CI certificates the
SM-DP+'s TLS certificate must chain to, and the TLS 1.2+ client context that trusts them.

``cryptography`` is imported when a root is loaded, so importing this module stays cheap.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, TypeAlias, Union

from pyrsp.errors import UsageError

if TYPE_CHECKING:
    from cryptography import x509

__all__ = ["TrustSource", "load_trust_roots", "make_ssl_context"]

#: A trust anchor: a certificate object, DER or PEM bytes, or a PEM/DER file or a directory.
TrustSource: TypeAlias = Union["x509.Certificate", bytes, str, "os.PathLike[str]"]

_CERT_SUFFIXES = frozenset({".pem", ".crt", ".cer", ".der"})


def load_trust_roots(trust: TrustSource | Iterable[TrustSource]) -> list[bytes]:
    """The DER of every certificate in ``trust``: objects, DER/PEM bytes, files or directories.

    A directory contributes its ``.pem``, ``.crt``, ``.cer`` and ``.der`` files. Raises
    :class:`UsageError` naming the source that holds no readable certificate.
    """
    from cryptography import x509

    if isinstance(trust, x509.Certificate | bytes | str | os.PathLike):
        return _load_one(trust)
    roots: list[bytes] = []
    for item in trust:
        roots.extend(_load_one(item))
    return roots


def _load_one(source: TrustSource) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    if isinstance(source, x509.Certificate):
        return [source.public_bytes(Encoding.DER)]
    if isinstance(source, bytes):
        return _parse_certificates(source, "the bytes given")
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in _CERT_SUFFIXES)
        if not files:
            raise UsageError(f"no .pem/.crt/.cer/.der file in trust directory {path}")
        return [der for f in files if f.is_file() for der in _read_file(f)]
    return _read_file(path)


def _read_file(path: Path) -> list[bytes]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read trust file {path}: {exc.strerror}") from exc
    return _parse_certificates(data, str(path))


def _parse_certificates(data: bytes, where: str) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    try:
        if b"-----BEGIN" in data:
            certs = x509.load_pem_x509_certificates(data)
        else:
            certs = [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise UsageError(f"expected PEM or DER certificates in {where}: {exc}") from exc
    return [cert.public_bytes(Encoding.DER) for cert in certs]


def make_ssl_context(
    trust: TrustSource | Iterable[TrustSource] | None = None,
    *,
    use_system_store: bool = False,
    insecure: bool = False,
) -> ssl.SSLContext:
    """A TLS 1.2+ client context trusting ``trust`` (and the system store only when asked).

    With ``insecure=True`` no certificate or host name is checked: for debugging only.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    roots = load_trust_roots(trust) if trust is not None else []
    if roots:
        context.load_verify_locations(cadata=b"".join(roots))
    if use_system_store:
        context.load_default_certs(ssl.Purpose.SERVER_AUTH)
    return context
