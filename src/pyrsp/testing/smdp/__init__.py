"""A test SM-DP+ (SGP.22 ES9+ and ES8+) for tests, demos and integration tests.

:class:`TestSmdp` answers the five ES9+ functions with the checks an SM-DP+ makes, builds Bound
Profile Packages, keeps download orders and received notifications, injects faults, and serves
in-process (an httpx transport, or a pyrsp ``HttpTransport`` with no httpx) or over real HTTPS
(uvicorn, the ``server`` extra). ``python -m pyrsp.testing.smdp --pki DIR`` serves one from the
command line. See :mod:`pyrsp.testing.smdp.smdp` for a tour of the API.

Modules: ``es9`` (the JSON binding), ``authenticate``, ``download``, ``notify`` (the five ES9+
functions and their checks), ``codes`` (SGP.22 subject/reason codes), ``chain`` (eUICC
certificate checks), ``bpp`` (ES8+ packages), ``orders``, ``session``, ``state``,
``credentials``, ``profiles`` (a generated profile package), ``faults``, ``serve``.
"""

from __future__ import annotations

from pyrsp.testing.smdp.credentials import Credentials, SigningSet
from pyrsp.testing.smdp.faults import FaultKind
from pyrsp.testing.smdp.orders import Order, OrderState, ProfileClass
from pyrsp.testing.smdp.smdp import TestSmdp
from pyrsp.testing.smdp.state import ReceivedNotification

__all__ = [
    "Credentials",
    "FaultKind",
    "Order",
    "OrderState",
    "ProfileClass",
    "ReceivedNotification",
    "SigningSet",
    "TestSmdp",
]
