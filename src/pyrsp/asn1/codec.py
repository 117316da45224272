"""Encode and decode SGP.22 messages (RSPDefinitions) in DER.

The schema is compiled once per process, on first use, from the parsed sources that
:mod:`pyrsp.asn1._sources` keeps cached on disk. Importing this module imports nothing heavy.

Decoding is strict where asn1tools is lenient: trailing bytes after the value, a wrong outer
tag (including an unknown alternative of an untagged CHOICE), or a truncated value raise
:class:`~pyrsp.errors.CodecError` naming the type and the path where decoding failed;
so do an element or member overrunning its container, and a member given twice.
"""

from __future__ import annotations

import threading
from typing import Any

from pyrsp.errors import CodecError, UsageError

__all__ = ["decode", "decode_with_length", "encode", "parsed_schema", "type_names"]

MODULE = "RSPDefinitions"


class _Schema:
    """The compiled schema: parsed form, DER types by name, names, CHOICE tags, checkers.

    ``checkers`` holds asn1tools' constraint and Python-type checkers, compiled only when
    first needed (encoding), so a process that only decodes does not pay for them.
    """

    __slots__ = ("checkers", "choice_tags", "names", "parsed", "types")

    def __init__(
        self,
        parsed: dict[str, Any],
        types: dict[str, Any],
        names: tuple[str, ...],
        choice_tags: dict[str, frozenset[bytes]],
    ) -> None:
        self.parsed = parsed
        self.types = types
        self.names = names
        self.choice_tags = choice_tags
        self.checkers: dict[str, dict[str, Any]] = {}


_lock = threading.Lock()
_loaded: dict[str, _Schema] = {}


def _load() -> _Schema:
    """The compiled schema, compiled on the first call in this process."""
    schema = _loaded.get("schema")
    if schema is None:
        with _lock:
            schema = _loaded.get("schema") or _compile()
            _loaded["schema"] = schema
    return schema


def _compile() -> _Schema:
    import asn1tools
    from asn1tools.codecs import ber, der

    from pyrsp.asn1 import _fixes, _sources

    parsed = _sources.load_parsed(asn1tools.__version__)
    modules = der.compile_dict(parsed)
    _fixes.apply(each.type for module in modules.values() for each in module.values())
    types = _by_name(modules)
    choice_tags = {
        name: frozenset(bytes(tag) for tag in choice.tag_to_member)
        for name, choice in ((name, _outer_choice(c.type, ber)) for name, c in types.items())
        if choice is not None
    }
    names = tuple(sorted(parsed[MODULE]["types"]))
    return _Schema(parsed, types, names, choice_tags)


def _outer_choice(node: Any, ber: Any) -> Any:
    """The CHOICE a top-level type is, possibly under an explicit tag, else None."""
    if isinstance(node, ber.ExplicitTag):
        node = node.inner
    return node if isinstance(node, ber.Choice) else None


def _by_name(modules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Flatten ``{module: {name: x}}``; our modules share no type names."""
    return {name: each for module in modules.values() for name, each in module.items()}


def _checker(kind: str, type_name: str) -> Any:
    """asn1tools' ``constraints`` or ``types`` checker of ``type_name``, compiled on first use."""
    schema = _load()
    table = schema.checkers.get(kind)
    if table is None:
        from asn1tools.codecs import constraints_checker, type_checker

        compiler = constraints_checker if kind == "constraints" else type_checker
        with _lock:
            table = schema.checkers.get(kind) or _by_name(compiler.compile_dict(schema.parsed))
            schema.checkers[kind] = table
    return table[type_name]


def _type(type_name: str) -> Any:
    schema = _load()
    try:
        return schema.types[type_name]
    except KeyError:
        raise UsageError(
            f"unknown ASN.1 type {type_name!r}: expected an SGP.22 RSPDefinitions type name "
            f"such as 'EUICCInfo2' (see pyrsp.asn1.type_names())"
        ) from None


def type_names() -> tuple[str, ...]:
    """Every type defined in RSPDefinitions, sorted (PKIX helper types excluded)."""
    return _load().names


def parsed_schema() -> dict[str, Any]:
    """The parsed schema as asn1tools describes it (module -> types -> descriptors).

    Read-only by convention; tests use it to generate values for every type.
    """
    return _load().parsed


def encode(type_name: str, value: Any) -> bytes:
    """Encode ``value`` (asn1tools' Python representation) as the DER of ``type_name``.

    Size constraints are checked, so a 9-byte ICCID fails here rather than on the card.
    """
    compiled = _type(type_name)
    try:
        _checker("constraints", type_name).encode(value)
        return bytes(compiled.encode(value))
    except Exception as error:  # asn1tools raises several unrelated types here
        raise _encode_error(type_name, value, error) from error


def _encode_error(type_name: str, value: Any, error: Exception) -> CodecError:
    """Translate an asn1tools failure; a type check gives the clearest message if it fails."""
    try:
        _checker("types", type_name).encode(value)
    except Exception as type_error:
        error = type_error
    path = _location(error)
    where = f" at {path}" if path else ""
    detail = getattr(error, "message", None) or str(error) or type(error).__name__
    return CodecError(f"cannot encode {type_name}{where}: {detail}", type_name=type_name, path=path)


def decode(type_name: str, der: bytes) -> Any:
    """Decode exactly one DER value of ``type_name`` that fills all of ``der``."""
    value, length = decode_with_length(type_name, der)
    if length != len(der):
        raise CodecError(
            f"cannot decode {type_name}: expected {length} bytes, but got {len(der)} "
            f"({len(der) - length} trailing bytes after the value)",
            type_name=type_name,
        )
    return value


def decode_with_length(type_name: str, der: bytes) -> tuple[Any, int]:
    """Decode the DER value of ``type_name`` at the start of ``der``; return it and its length.

    Bytes after the value are allowed (use :func:`decode` to forbid them).
    """
    compiled = _type(type_name)
    try:
        value, length = compiled.decode_with_length(der)
    except Exception as error:  # asn1tools raises IndexError etc. on some malformed input
        raise _decode_error(type_name, error) from error
    if value == (None, None) and type_name in _load().choice_tags:
        raise CodecError(
            f"cannot decode {type_name}: expected an alternative tagged "
            f"{_format_tags(type_name)}, but got {_alternative_tag(der, compiled.type)}",
            type_name=type_name,
        )
    return value, length


def _decode_error(type_name: str, error: Exception) -> CodecError:
    path = _location(error)
    where = f" at {path}" if path else ""
    detail = str(getattr(error, "message", "") or error or type(error).__name__)
    if type(error).__name__ == "MissingMandatoryFieldError":  # its message reprs the whole type
        detail = f"mandatory member {path.rpartition('.')[2] or '?'} missing"
    offset = getattr(error, "offset", None)
    at = f" (byte offset {offset})" if isinstance(offset, int) else ""
    return CodecError(
        f"cannot decode {type_name}{where}: {detail}{at}", type_name=type_name, path=path
    )


def _location(error: Exception) -> str:
    """The member path of an asn1tools error without the leading type name."""
    location = getattr(error, "location", None)
    if not location:
        return ""
    names = [getattr(element, "name", "") for element in reversed(location)]
    return ".".join(name for name in names[1:] if name)


def _format_tags(type_name: str) -> str:
    tags = sorted(_load().choice_tags[type_name])
    return ", ".join(tag.hex().upper() for tag in tags)


def _alternative_tag(der: bytes, node: Any) -> str:
    """The tag of the CHOICE alternative in ``der`` (inside the explicit tag, if any)."""
    offset = 0
    if getattr(node, "inner", None) is not None:  # skip the explicit tag and its length
        offset = _skip_tag(der, 0)
        offset += 1 + (der[offset] & 0x7F if der[offset] & 0x80 else 0)
    return der[offset : _skip_tag(der, offset)].hex().upper()


def _skip_tag(der: bytes, offset: int) -> int:
    end = offset + 1
    if der[offset] & 0x1F == 0x1F:
        while der[end] & 0x80:
            end += 1
        end += 1
    return end
