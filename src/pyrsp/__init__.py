"""pyrsp: eSIM Remote SIM Provisioning (GSMA SGP.22), the client (LPA) side.

Importing this package is cheap: the ASN.1 schema, pyscard and httpx load on first use.
"""

from __future__ import annotations

from pyrsp.errors import PyrspError

__all__ = ["PyrspError", "__version__"]

__version__ = "0.1.0"
