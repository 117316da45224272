"""What users see: frozen pydantic models built from decoded SGP.22 values.

Each model has a ``from_asn1(value)`` constructor that takes the codec's decoded value (the
asn1tools representation, see :mod:`pyrsp.asn1`) of the SGP.22 type named in its docstring.
Fields are snake_case; their pydantic aliases are the SGP.22 ASN.1 field names
(``model_dump(by_alias=True)`` gives ``isdpAid``, ``sasAcreditationNumber`` ...), and the models
accept either form. Conversions:

- versions (``VersionType``) become ``"2.2.0"`` strings;
- key identifiers, AIDs and other binary identifiers become upper-case hex strings;
- ICCIDs become their digit strings (:func:`iccid_from_bytes`), EIDs their 32 digits;
- BIT STRINGs with named bits become tuples of the standard's bit names, in bit order
  (bits without a name in this version of the schema appear as ``"bit23"``);
- INTEGERs with named values become :class:`enum.StrEnum` members or the standard's names;
- the icon stays bytes (standard base64 in JSON).

A value that cannot be converted raises :class:`~pyrsp.errors.CodecError` naming the field.
"""

from __future__ import annotations

from pyrsp.models.euicc import (
    CertificationData,
    EuiccInfo1,
    EuiccInfo2,
    ExtCardResource,
    IotSpecificInfo,
)
from pyrsp.models.identifiers import eid_from_bytes, eid_to_bytes, iccid_from_bytes, iccid_to_bytes
from pyrsp.models.notification import InstallResult, NotificationMetadata
from pyrsp.models.profile import (
    DpProprietaryData,
    IconType,
    NotificationConfiguration,
    NotificationEvent,
    OperatorId,
    ProfileClass,
    ProfileInfo,
    ProfileMetadata,
    ProfileState,
)

__all__ = [
    "CertificationData",
    "DpProprietaryData",
    "EuiccInfo1",
    "EuiccInfo2",
    "ExtCardResource",
    "IconType",
    "InstallResult",
    "IotSpecificInfo",
    "NotificationConfiguration",
    "NotificationEvent",
    "NotificationMetadata",
    "OperatorId",
    "ProfileClass",
    "ProfileInfo",
    "ProfileMetadata",
    "ProfileState",
    "eid_from_bytes",
    "eid_to_bytes",
    "iccid_from_bytes",
    "iccid_to_bytes",
]
