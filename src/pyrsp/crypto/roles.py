"""RSP certificate roles and object identifiers (SGP.22 section 4.5.2 and Annex H).

Each certificate in the RSP PKI carries exactly one role as its certificate policy:
``id-rspRole = 2.23.146.1.2.1`` followed by the role number. The EUM certificate limits the EIDs
its eUICCs may carry, either with a nameConstraints directoryName whose ``serialNumber`` is the
permitted EID prefix (IIN) or with the GSMA ``permittedEins`` extension
(``2.23.146.1.2.2.0``, ``SEQUENCE OF PrintableString``, each a permitted prefix).
"""

from __future__ import annotations

from enum import Enum

from cryptography import x509

__all__ = ["PERMITTED_EINS_OID", "Role"]

PERMITTED_EINS_OID = x509.ObjectIdentifier("2.23.146.1.2.2.0")


class Role(Enum):
    """An RSP certificate role; the value is its certificate policy OID (dotted string)."""

    CI = "2.23.146.1.2.1.0"
    EUICC = "2.23.146.1.2.1.1"
    EUM = "2.23.146.1.2.1.2"
    DP_TLS = "2.23.146.1.2.1.3"
    DP_AUTH = "2.23.146.1.2.1.4"
    DP_PB = "2.23.146.1.2.1.5"
    DS_TLS = "2.23.146.1.2.1.6"
    DS_AUTH = "2.23.146.1.2.1.7"

    @property
    def oid(self) -> x509.ObjectIdentifier:
        """The policy OID as a ``cryptography`` object."""
        return x509.ObjectIdentifier(self.value)

    @property
    def is_ca(self) -> bool:
        """Whether certificates of this role issue other certificates (CI, EUM)."""
        return self in (Role.CI, Role.EUM)

    @property
    def is_tls(self) -> bool:
        """Whether this is a TLS server role (SM-DP+ or SM-DS)."""
        return self in (Role.DP_TLS, Role.DS_TLS)
