"""ES8+ on the SM-DP+ side: the profile metadata and the Bound Profile Package (SGP.22 5.5).

The BPP is made of InitialiseSecureChannel (signed with the DPpb key over its own data objects
and the eUICC's one-time key), ConfigureISDP (the SM-DP+ OID), StoreMetadata (ICCID, names,
class, notification configuration pointing back at this server), an optional
ReplaceSessionKeys, and the profile package in ``86`` segments; session keys come from ECKA
between a fresh one-time key pair and the eUICC's otPK, with the X9.63 KDF (section 2.6.4).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from pyrsp import asn1, bsp, tlv
from pyrsp.crypto import (
    SessionKeys,
    curve_of,
    derive_session_keys,
    ecka,
    generate_private_key,
    public_key_bytes,
    sign,
)
from pyrsp.models.identifiers import iccid_to_bytes
from pyrsp.testing.smdp.credentials import SigningSet
from pyrsp.testing.smdp.orders import Order, ProfileClass

__all__ = [
    "Binding",
    "bound_profile_package",
    "initialise_secure_channel",
    "new_binding",
    "store_metadata",
]

_PROFILE_CLASS = {ProfileClass.TEST: 0, ProfileClass.PROVISIONING: 1, ProfileClass.OPERATIONAL: 2}
# NotificationEvent bits install(0), enable(1), disable(2), delete(3): all four, 4 bits used.
_ALL_EVENTS = (b"\xf0", 4)
_KEY_TYPE_AES = b"\x88"
_KEY_LENGTH = b"\x10"
_EUICC_OTPK_TAG = 0x5F49
_PLACEHOLDER_SIGNATURE = bytes(64)


def store_metadata(order: Order, notification_address: str) -> bytes:
    """StoreMetadataRequest (``BF25``) for ``order``; it is also the ES9+ profileMetadata."""
    value = {
        "iccid": iccid_to_bytes(order.iccid),
        "serviceProviderName": order.service_provider,
        "profileName": order.profile_name,
        "profileClass": _PROFILE_CLASS[order.profile_class],
        "notificationConfigurationInfo": [
            {"profileManagementOperation": _ALL_EVENTS, "notificationAddress": notification_address}
        ],
    }
    return asn1.encode("StoreMetadataRequest", value)


def initialise_secure_channel(
    transaction_id: bytes,
    host_id: bytes,
    smdp_otpk: bytes,
    euicc_otpk: bytes,
    signing: SigningSet,
) -> bytes:
    """InitialiseSecureChannelRequest (``BF23``, SGP.22 section 5.5.1).

    smdpSign covers remoteOpId, transactionId, controlRefTemplate and smdpOtpk as encoded,
    followed by the eUICC's otPK as ``5F49`` TLV.
    """
    value = {
        "remoteOpId": 1,
        "transactionId": transaction_id,
        "controlRefTemplate": {"keyType": _KEY_TYPE_AES, "keyLen": _KEY_LENGTH, "hostId": host_id},
        "smdpOtpk": smdp_otpk,
        "smdpSign": _PLACEHOLDER_SIGNATURE,
    }
    unsigned = asn1.encode("InitialiseSecureChannelRequest", value)
    members = tlv.parse(unsigned).children()
    signed_part = b"".join(m.raw for m in members[:-1]) + tlv.build(_EUICC_OTPK_TAG, euicc_otpk)
    signature = sign(signing.pb_key, signed_part, deterministic=True)
    return unsigned[: -len(signature)] + signature


@dataclass(frozen=True)
class Binding:
    """What a profile was bound with, kept so a retry can bind it again the same way.

    SGP.22 section 3.1.3.3: when a download is retried after the BPP was delivered, the eUICC
    reuses its one-time key (bppEuiccOtpk) and the SM-DP+ serves the same package again.
    """

    eid: str
    euicc_otpk: bytes
    smdp_otsk: ec.EllipticCurvePrivateKey = field(repr=False)
    profile_keys: SessionKeys | None = field(repr=False)


def new_binding(
    eid: str,
    euicc_otpk: bytes,
    signing: SigningSet,
    rng: random.Random,
    *,
    replace_session_keys: bool,
) -> Binding:
    """A fresh one-time key pair (and PPK keys if asked) for binding to ``euicc_otpk``."""
    otsk = generate_private_key(curve_of(signing.pb_key), rng)
    ppk = SessionKeys(rng.randbytes(16), rng.randbytes(16), rng.randbytes(16))
    return Binding(eid, euicc_otpk, otsk, ppk if replace_session_keys else None)


def bound_profile_package(
    order: Order,
    binding: Binding,
    *,
    transaction_id: bytes,
    signing: SigningSet,
    smdp_oid: str,
    notification_address: str,
    host_id: bytes,
) -> bytes:
    """The BPP of ``order`` for one session (SGP.22 sections 3.1.3.3 and 5.5).

    The segments depend only on the binding's keys, so a retry gives the same ones; the ISCR
    carries this session's transactionId.
    """
    shared = ecka(binding.smdp_otsk, binding.euicc_otpk)
    keys = derive_session_keys(shared, host_id=host_id, eid=binding.eid)
    smdp_otpk = public_key_bytes(binding.smdp_otsk)
    iscr = initialise_secure_channel(
        transaction_id, host_id, smdp_otpk, binding.euicc_otpk, signing
    )
    configure = asn1.encode("ConfigureISDPRequest", {"dpProprietaryData": {"dpOid": smdp_oid}})
    ppk = binding.profile_keys
    return bsp.build_bound_profile_package(
        initialise_secure_channel=iscr,
        configure_isdp=configure,
        store_metadata=store_metadata(order, notification_address),
        profile_package=order.profile,
        session_keys=keys,
        replace_session_keys=bsp.replace_session_keys_request(ppk) if ppk else None,
    )
