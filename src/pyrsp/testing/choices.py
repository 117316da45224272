"""Unknown CHOICE alternatives in decoded requests (the VirtualEuicc's and TestSmdp's guard).

:func:`pyrsp.asn1.decode` gives an alternative of a *nested* extensible CHOICE that the schema
lacks as ``(None, None)`` (a peer newer than the schema). The virtual eUICC and the test
SM-DP+ cannot act on one, so they look for it once, right after decoding a request, and
refuse the request as malformed instead of letting each handler trip over it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["unknown_alternative"]


def unknown_alternative(value: Any, path: str = "") -> str | None:
    """The member path (``searchCriteria``, ``a.b``) of the first unknown CHOICE alternative
    in the decoded ``value``, or ``None`` if every alternative is known."""
    if value == (None, None):
        return path or "(top level)"
    if isinstance(value, dict):
        for name, member in value.items():
            found = unknown_alternative(member, f"{path}.{name}" if path else name)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = unknown_alternative(item, f"{path}[{index}]")
            if found is not None:
                return found
    elif isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str):
        return unknown_alternative(value[1], f"{path}.{value[0]}" if path else value[0])
    return None
