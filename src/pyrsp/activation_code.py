"""Activation codes (SGP.22 section 4.1).

An activation code is ``1$address$matchingId[$oid[$flag]]``::

    1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815
    1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$1.3.6.1.4.1.31746$1
    1$SMDP.GSMA.COM$04386-AGYFT-A74Y8-3F815$$1      (no OID, confirmation code required)
    1$SMDP.GSMA.COM$$1.3.6.1.4.1.31746              (empty matching ID)

In a QR code it is prefixed with ``LPA:``. ``str(code)`` is the activation code itself, without
the prefix; :meth:`ActivationCode.qr_text` adds it. :meth:`ActivationCode.parse` accepts both
(the prefix in any case) and ignores whitespace around the text, and
``str(ActivationCode.parse(text)) == text`` for every accepted ``text`` without prefix or
surrounding whitespace.

What is accepted, and why:

- format version ``1`` only;
- the SM-DP+ address is a host name (the standard says FQDN): dot-separated labels of letters,
  digits and inner hyphens, at most 253 characters, case kept as written. A port, a scheme, a
  path, ``@`` or spaces are rejected. The address goes into signed data that the SM-DP+ checks
  against its own address, so to reach a server through another host or port (a proxy, a test
  server on port 8443), give the client that connection address separately; it is not part of
  the activation code;
- the matching ID may be empty. The standard restricts it to ``0-9``, ``A-Z`` and ``-``, but
  SM-DP+ servers in the wild issue other characters and the SM-DP+ is the authority on it, so
  any printable ASCII except ``$`` and space is accepted;
- the SM-DP+ OID is a dotted object identifier; it may be empty only when a flag follows;
- the confirmation code required flag, if present, is ``1``;
- at most five fields (SGP.22 v2.x).

Anything else raises :class:`~pyrsp.errors.ActivationCodeError`. The ``repr`` masks the
matching ID, which is a credential for the download.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyrsp.errors import ActivationCodeError

__all__ = ["ActivationCode"]

_FORMAT = "1"
_QR_PREFIX = "LPA:"
_MAX_FIELDS = 5
_MAX_ADDRESS = 253
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_HOST_CHARACTER = re.compile(r"[^A-Za-z0-9.-]")
_MATCHING_ID = re.compile(r"[!-#%-~]*")  # printable ASCII without space and "$"
# Arcs of up to 39 digits (a 128-bit UUID arc); longer ones only cost time in int().
_OID = re.compile(r"[0-2](?:\.(?:0|[1-9][0-9]{0,38}))+")


@dataclass(frozen=True, slots=True, repr=False)
class ActivationCode:
    """An SGP.22 activation code (section 4.1); the constructor validates every field."""

    smdp_address: str
    matching_id: str = ""
    smdp_oid: str | None = None
    confirmation_code_required: bool = False

    def __post_init__(self) -> None:
        _check_address(self.smdp_address)
        _check_matching_id(self.matching_id)
        if self.smdp_oid is not None:
            _check_oid(self.smdp_oid)

    @classmethod
    def parse(cls, text: str) -> ActivationCode:
        """Parse ``[LPA:]1$address$matchingId[$oid[$flag]]``; raise ActivationCodeError."""
        body = text.strip()
        if body[: len(_QR_PREFIX)].upper() == _QR_PREFIX:
            body = body[len(_QR_PREFIX) :]
        _check_no_control_characters(body)
        fields = body.split("$")
        if len(fields) < 3:
            raise ActivationCodeError(
                f"expected '1$address$matchingId[$oid[$flag]]', got {len(fields)} field(s)"
            )
        if len(fields) > _MAX_FIELDS:
            raise ActivationCodeError(
                f"expected at most {_MAX_FIELDS} '$'-separated fields, got {len(fields)}"
            )
        if fields[0] != _FORMAT:
            raise ActivationCodeError(
                f"unknown activation code format {fields[0]!r}: expected {_FORMAT!r}"
            )
        oid, flag = [*fields[3:], None, None][:2]
        if oid == "" and flag is None:
            raise ActivationCodeError(
                "empty SM-DP+ OID field: allowed only before a confirmation code flag"
            )
        if flag is not None and flag != "1":
            raise ActivationCodeError(
                f"expected the confirmation code required flag to be '1', got {flag!r}"
            )
        return cls(fields[1], fields[2], oid or None, flag == "1")

    def __str__(self) -> str:
        """The activation code without the ``LPA:`` prefix, in canonical form."""
        text = f"{_FORMAT}${self.smdp_address}${self.matching_id}"
        if self.smdp_oid is not None or self.confirmation_code_required:
            text += f"${self.smdp_oid or ''}"
        if self.confirmation_code_required:
            text += "$1"
        return text

    def __repr__(self) -> str:
        return (
            f"ActivationCode(smdp_address={self.smdp_address!r}, "
            f"matching_id={_mask(self.matching_id)!r}, smdp_oid={self.smdp_oid!r}, "
            f"confirmation_code_required={self.confirmation_code_required!r})"
        )

    def qr_text(self) -> str:
        """The text of the QR code: ``LPA:`` followed by the activation code."""
        return _QR_PREFIX + str(self)


def _check_no_control_characters(text: str) -> None:
    for position, char in enumerate(text):
        if ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F:
            raise ActivationCodeError(
                f"unexpected control character U+{ord(char):04X} at position {position}"
            )


def _check_address(address: str) -> None:
    problem = ""
    if not address:
        problem = "it is empty"
    elif "://" in address:
        problem = "it has a scheme; give the host name only"
    elif ":" in address:
        problem = "it has a port; give the connection address to the client separately"
    elif len(address) > _MAX_ADDRESS:
        problem = f"it is longer than {_MAX_ADDRESS} characters"
    elif bad := _HOST_CHARACTER.search(address):
        problem = f"{bad.group()!r} is not allowed in a host name"
    elif not all(_LABEL.fullmatch(label) for label in address.split(".")):
        problem = "expected dot-separated labels of 1-63 letters, digits and inner hyphens"
    if problem:
        raise ActivationCodeError(
            f"expected the SM-DP+ address to be a host name, got {address!r}: {problem}"
        )


def _check_matching_id(matching_id: str) -> None:
    if not _MATCHING_ID.fullmatch(matching_id):
        raise ActivationCodeError(
            f"expected a matching ID of printable ASCII without spaces or '$', "
            f"got {len(matching_id)} characters that are not"
        )


def _check_oid(oid: str) -> None:
    arcs = oid.split(".")
    if not _OID.fullmatch(oid) or (arcs[0] != "2" and int(arcs[1]) > 39):
        raise ActivationCodeError(
            f"expected the SM-DP+ OID to be a dotted object identifier such as "
            f"'1.3.6.1.4.1.31746', got {oid!r}"
        )


def _mask(matching_id: str) -> str:
    return "*" * len(matching_id) if len(matching_id) <= 8 else matching_id[:4] + "..."
