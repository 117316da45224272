"""Test doubles for running every SGP.22 flow with no hardware and no outside server.

- :class:`TestPki`: a throwaway GSMA-style PKI (CI, EUM, eUICC, SM-DP+ certificates).
- :class:`VirtualEuicc`: a software eUICC behind real APDUs (and, with :mod:`pyrsp.testing.vpcd`,
  behind a real PC/SC reader).
- :class:`TestSmdp`: a test SM-DP+, in-process or over real HTTPS on loopback.

Nothing outside ``pyrsp.testing`` imports it. Each name loads its module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pyrsp._lazy import lazy_exports

if TYPE_CHECKING:
    from pyrsp.testing.euicc import VirtualEuicc
    from pyrsp.testing.pki import TestPki
    from pyrsp.testing.smdp import TestSmdp
    from pyrsp.testing.vpcd import VpcdBridge

_WHERE = {
    "TestPki": "pyrsp.testing.pki",
    "TestSmdp": "pyrsp.testing.smdp",
    "VirtualEuicc": "pyrsp.testing.euicc",
    "VpcdBridge": "pyrsp.testing.vpcd",
}

__getattr__, __dir__ = lazy_exports(__name__, _WHERE)

__all__ = ["TestPki", "TestSmdp", "VirtualEuicc", "VpcdBridge"]
