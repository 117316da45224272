"""Lazy re-exports: a package names its public objects without importing their modules.

``import pyrsp`` must stay cheap (no schema, no httpx, no pyscard), yet ``pyrsp.RspClient``
should work: the package's ``__getattr__`` imports the defining module on first access.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, where: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, exporting each name from ``where[name]``."""

    def get_attribute(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def list_names() -> list[str]:
        return sorted({*vars(sys.modules[package]), *where})

    return get_attribute, list_names
