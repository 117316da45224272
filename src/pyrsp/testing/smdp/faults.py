"""Faults a TestSmdp can inject at a chosen ES9+ step, so clients can be tested against them.

Answer-level faults rewrite what :meth:`TestSmdp.handle` returns after the server has done its
work (the session state moves on as if the answer was lost or mangled on the way). Link-level
faults (a slow answer, a dropped connection) are carried out by the transports: the in-process
httpx transport and the HTTPS server.
"""

from __future__ import annotations

import base64
import enum
import json
from dataclasses import dataclass, replace

from pyrsp import tlv

__all__ = ["Fault", "FaultKind", "FaultPlan", "Reply", "apply_fault"]

_HTML_500 = (
    b"<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n"
    b"<body><h1>Internal Server Error</h1><p>The server encountered an internal error.</p>"
    b"</body></html>\n"
)
_SIGNATURE_FIELDS = ("serverSignature1", "smdpSignature2")
_ISCR_TAG = 0xBF23
_SIGNATURE_TAG = 0x5F37


class FaultKind(enum.Enum):
    """What goes wrong."""

    HTTP_500 = "http500"  # 500 with an HTML body, as proxies and app servers send
    EMPTY_200 = "empty200"  # 200 with no body at all
    BAD_SIGNATURE = "bad_signature"  # the server's signature (or the ISCR's) has a flipped bit
    WRONG_TRANSACTION_ID = "wrong_transaction_id"  # the JSON transactionId differs
    TRUNCATED_BPP = "truncated_bpp"  # the boundProfilePackage is cut short
    SLOW = "slow"  # the answer comes after ``delay`` seconds
    DROP = "drop"  # the connection closes without a (complete) answer


@dataclass(frozen=True)
class Fault:
    """Inject ``kind`` into the answer to ``step`` (an ES9+ function name) ``times`` times."""

    kind: FaultKind
    step: str
    times: int = 1
    delay: float = 0.0


@dataclass(frozen=True)
class Reply:
    """An ES9+ answer plus the link-level faults the transport must carry out."""

    status: int
    headers: dict[str, str]
    body: bytes
    delay: float = 0.0
    drop: bool = False


class FaultPlan:
    """The faults still to inject, consumed in the order they were added."""

    def __init__(self) -> None:
        self._pending: list[Fault] = []

    def add(self, fault: Fault) -> None:
        """Queue ``fault``."""
        self._pending.append(fault)

    def clear(self) -> None:
        """Forget every queued fault."""
        self._pending.clear()

    def take(self, step: str) -> list[Fault]:
        """The faults to inject into this answer to ``step``, counting each use."""
        taken: list[Fault] = []
        remaining: list[Fault] = []
        for fault in self._pending:
            if fault.step == step:
                taken.append(fault)
                if fault.times > 1:
                    remaining.append(replace(fault, times=fault.times - 1))
            else:
                remaining.append(fault)
        self._pending = remaining
        return taken


def apply_fault(reply: Reply, fault: Fault) -> Reply:
    """``reply`` with ``fault`` applied."""
    kind = fault.kind
    if kind is FaultKind.HTTP_500:
        return Reply(500, {"content-type": "text/html; charset=utf-8"}, _HTML_500)
    if kind is FaultKind.EMPTY_200:
        return replace(reply, status=200, body=b"")
    if kind is FaultKind.SLOW:
        return replace(reply, delay=reply.delay + fault.delay)
    if kind is FaultKind.DROP:
        return replace(reply, drop=True)
    document = _json(reply.body)
    if document is None:
        return reply
    if kind is FaultKind.WRONG_TRANSACTION_ID and "transactionId" in document:
        document["transactionId"] = _other_hex(str(document["transactionId"]))
    elif kind is FaultKind.BAD_SIGNATURE:
        _break_signature(document)
    elif kind is FaultKind.TRUNCATED_BPP and "boundProfilePackage" in document:
        bpp = base64.b64decode(str(document["boundProfilePackage"]))
        document["boundProfilePackage"] = _b64(bpp[: len(bpp) * 2 // 3])
    return replace(reply, body=json.dumps(document).encode())


def _json(body: bytes) -> dict[str, object] | None:
    try:
        document = json.loads(body)
    except ValueError:  # empty, HTML, or not UTF-8: nothing to rewrite
        return None
    return document if isinstance(document, dict) else None


def _break_signature(document: dict[str, object]) -> None:
    for name in _SIGNATURE_FIELDS:
        if name in document:
            document[name] = _b64(_flip_last(base64.b64decode(str(document[name]))))
            return
    if "boundProfilePackage" in document:
        bpp = base64.b64decode(str(document["boundProfilePackage"]))
        signature = tlv.parse(bpp).require(_ISCR_TAG).require(_SIGNATURE_TAG)
        broken = (
            bpp[: signature.end - 1] + bytes([bpp[signature.end - 1] ^ 0x01]) + bpp[signature.end :]
        )
        document["boundProfilePackage"] = _b64(broken)


def _flip_last(data: bytes) -> bytes:
    return data[:-1] + bytes([data[-1] ^ 0x01])


def _other_hex(transaction_id: str) -> str:
    last = transaction_id[-1:] or "0"
    swapped = "1" if last != "1" else "2"
    return transaction_id[:-1] + swapped


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
