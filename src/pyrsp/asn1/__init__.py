"""The SGP.22 ASN.1 codec: ``encode(type_name, value)`` and ``decode(type_name, der)``.

Type names are SGP.22's RSPDefinitions names (``EUICCInfo2``, ``AuthenticateServerRequest``;
:func:`type_names` lists them). Values use asn1tools' Python representation:

- SEQUENCE -> ``dict`` keyed by the ASN.1 member names, absent OPTIONAL members left out;
  a DEFAULT member is filled in on decode and left out on encode when it has its default
  value (StoreMetadataRequest ``profileClass``: 2, operational);
- CHOICE -> ``(alternative_name, value)``;
- OCTET STRING -> ``bytes``; ANY (``Certificate``, a vendor's data) -> the complete TLV bytes;
- BIT STRING -> ``(bytes, number_of_bits)``, encoded as given: pass the minimal bit count
  DER wants for named bits (notificationInstall alone is ``(b"\\x80", 1)`` -> ``07 80``);
- INTEGER, named or not -> ``int`` (``ProfileState`` enabled is ``1``, not ``"enabled"``);
- OBJECT IDENTIFIER -> dotted ``str``; UTF8String -> ``str``; BOOLEAN -> ``bool``;
  NULL -> ``None``; SEQUENCE OF -> ``list``.

Decoding is strict (trailing bytes, a wrong outer tag, truncation, a member repeated or
running past its SEQUENCE, an unknown top-level CHOICE alternative: :class:`CodecError`) but
tolerant of peers newer than the schema: unknown SEQUENCE members are skipped, and an unknown
alternative of a *nested* CHOICE decodes as ``(None, None)``. So never re-encode a decoded
value in place of signed bytes; forward the bytes received.

Importing this package is cheap: the schema is compiled on first use (see :mod:`.codec`).
"""

from __future__ import annotations

from pyrsp.asn1.codec import decode, decode_with_length, encode, parsed_schema, type_names

__all__ = ["decode", "decode_with_length", "encode", "parsed_schema", "type_names"]
