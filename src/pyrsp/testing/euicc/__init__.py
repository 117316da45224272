"""A software eUICC behind real APDUs (SGP.22 section 5.7): :class:`VirtualEuicc`.

Modules: ``apdu`` (ISO 7816-4/GlobalPlatform layer), ``es10`` (dispatch), ``info``,
``download``, ``bpp``, ``profiles``, ``notifications`` (the ES10 functions), ``core``,
``state``, ``identity`` (what the card holds), ``faults`` (test knobs), ``card`` (the card).
"""

from pyrsp.testing.euicc.card import InstalledProfile, VirtualEuicc
from pyrsp.testing.euicc.core import EuiccSettings
from pyrsp.testing.euicc.faults import Faults
from pyrsp.testing.euicc.identity import EuiccIdentity

__all__ = ["EuiccIdentity", "EuiccSettings", "Faults", "InstalledProfile", "VirtualEuicc"]
