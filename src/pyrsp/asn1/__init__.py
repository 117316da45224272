"""The SGP.22 ASN.1 codec: ``encode(type_name, value)`` and ``decode(type_name, der)``.

Type names are SGP.22's RSPDefinitions names (``EUICCInfo2``, ``AuthenticateServerRequest``).
Values use asn1tools' Python representation: SEQUENCE -> dict keyed by the ASN.1 member names
(absent OPTIONAL members left out), CHOICE -> ``(alternative, value)``, OCTET STRING and
certificates -> ``bytes``, BIT STRING -> ``(bytes, number_of_bits)``, INTEGER (named or not)
-> ``int``, OBJECT IDENTIFIER -> dotted ``str``, SEQUENCE OF -> ``list``, NULL -> ``None``.

Importing this package is cheap: the schema is compiled on first use (see :mod:`.codec`).
"""

from __future__ import annotations

from pyrsp.asn1.codec import decode, decode_with_length, encode, parsed_schema, type_names

__all__ = ["decode", "decode_with_length", "encode", "parsed_schema", "type_names"]
