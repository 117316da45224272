"""BSP: the Bound Profile Package protection, SCP03t (SGP.22 sections 2.5.4, 2.6.4 and 5.7.6).

A BSP session holds S-ENC, S-MAC, the MAC chaining value (MCV) and a block counter from 1.
Each segment is one TLV:

- ``87``/``86`` (encrypt and MAC): the data padded with ``80 00..`` to 16-byte blocks,
  AES-128-CBC under S-ENC with IV = AES-ECB(S-ENC, block counter as 16 bytes);
- ``88`` (MAC only): the data as is.

The MAC is the first 8 bytes of AES-CMAC(S-MAC, MCV || tag || length || payload), where the
length counts the 8 MAC bytes; the whole CMAC becomes the next MCV. The block counter advances
after every segment, MAC-only ones included.

A BoundProfilePackage (``BF36``) holds InitialiseSecureChannel (``BF23``), ConfigureISDP in
``A0`` (``87``), StoreMetadata in ``A1`` (``88``), optionally ReplaceSessionKeys in ``A2``
(``87``), and the profile package in ``A3`` (``86`` segments of at most 1020 bytes each). After
ReplaceSessionKeys the ``86`` segments use a new session: PPK-ENC, PPK-MAC and its initial MCV.

Server side: :func:`build_bound_profile_package`. Card side: :class:`BppReader`, fed the BPP
in pieces of any size (as STORE DATA delivers it), or :func:`unprotect_bound_profile_package`.
Any tampered, reordered, replayed or truncated segment raises :class:`~pyrsp.errors.BspError`
naming the segment (0 = the first ``87``, counting every ``87``/``88``/``86`` in order).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from pyrsp import tlv
from pyrsp.crypto.session import SessionKeys
from pyrsp.errors import BspError, CryptoError, TlvError, UsageError

__all__ = [
    "MAC_SIZE",
    "MAX_SEGMENT_SIZE",
    "BppPart",
    "BppReader",
    "BspSession",
    "PartKind",
    "UnprotectedBpp",
    "build_bound_profile_package",
    "max_plain_size",
    "replace_session_keys_request",
    "session_keys_from_replace_request",
    "unprotect_bound_profile_package",
]

MAX_SEGMENT_SIZE = 1020
TAG_ENCRYPTED_PROFILE = 0x86
TAG_ENCRYPTED = 0x87
TAG_MAC_ONLY = 0x88
_TAG_BPP = 0xBF36
_TAG_INIT_SECURE_CHANNEL = 0xBF23
_TAG_REPLACE_SESSION_KEYS = 0xBF26
#: The MAC at the end of every secured BSP segment: the first 8 bytes of its AES-CMAC.
MAC_SIZE = 8
_BLOCK = 16


class BspSession:
    """One BSP session: keys, MAC chaining value and block counter (SGP.22 section 2.6.4.2).

    The same class protects (SM-DP+) and unprotects (eUICC); each call advances the state.
    """

    def __init__(self, keys: SessionKeys) -> None:
        self._keys = keys
        self.mcv = keys.initial_mcv
        self.block_counter = 1
        # built once per session: the key checks and cipher set-up are most of a segment's cost
        self._enc_key = algorithms.AES(keys.s_enc)
        self._mac_key = algorithms.AES(keys.s_mac)
        self._ecb = Cipher(self._enc_key, modes.ECB()).encryptor()

    def __repr__(self) -> str:
        return f"BspSession(block_counter={self.block_counter})"

    def protect(self, tag: int, data: bytes) -> bytes:
        """One segment TLV: ``88`` is MAC-only, ``86``/``87`` are encrypted and MACed."""
        _check_tag(tag)
        payload = data if tag == TAG_MAC_ONLY else self._encrypt(_pad(data))
        header = bytes([tag]) + tlv.encode_length(len(payload) + MAC_SIZE)
        cmac = self._cmac(header, payload)
        self.mcv = cmac
        self.block_counter += 1
        return header + payload + cmac[:MAC_SIZE]

    def unprotect(self, segment: bytes, *, index: int = -1) -> bytes:
        """Check and open one segment TLV; ``index`` names it in a :class:`BspError`."""
        try:
            parsed = tlv.parse(segment)
        except TlvError as exc:
            raise BspError(f"segment {index}: expected one TLV, got {exc}", segment=index) from exc
        if parsed.tag not in (TAG_ENCRYPTED_PROFILE, TAG_ENCRYPTED, TAG_MAC_ONLY):
            raise BspError(
                f"segment {index}: expected tag 86, 87 or 88, got {parsed.tag_bytes.hex()}",
                segment=index,
            )
        value = parsed.value
        if len(value) < MAC_SIZE:
            raise BspError(
                f"segment {index}: expected at least {MAC_SIZE} MAC bytes, got {len(value)}",
                segment=index,
            )
        payload, mac = value[:-MAC_SIZE], value[-MAC_SIZE:]
        cmac = self._cmac(parsed.header, payload)
        if not hmac.compare_digest(cmac[:MAC_SIZE], mac):
            raise BspError(
                f"segment {index} (tag {parsed.tag:02x}, block {self.block_counter}): MAC does "
                "not verify (tampered, reordered, replayed or wrong keys)",
                segment=index,
            )
        plain = payload if parsed.tag == TAG_MAC_ONLY else self._decrypt(payload, index)
        self.mcv = cmac
        self.block_counter += 1
        return plain

    def _cmac(self, header: bytes, payload: bytes) -> bytes:
        mac = CMAC(self._mac_key)
        mac.update(self.mcv)
        mac.update(header)
        mac.update(payload)
        return mac.finalize()

    def _iv(self) -> bytes:
        # ECB encrypts each block on its own: one context serves every IV of the session
        return self._ecb.update(self.block_counter.to_bytes(_BLOCK, "big"))

    def _encrypt(self, padded: bytes) -> bytes:
        cbc = Cipher(self._enc_key, modes.CBC(self._iv())).encryptor()
        return cbc.update(padded) + cbc.finalize()

    def _decrypt(self, payload: bytes, index: int) -> bytes:
        if not payload or len(payload) % _BLOCK:
            raise BspError(
                f"segment {index}: expected whole 16-byte blocks, got {len(payload)} bytes",
                segment=index,
            )
        cbc = Cipher(self._enc_key, modes.CBC(self._iv())).decryptor()
        padded = cbc.update(payload) + cbc.finalize()
        plain = padded.rstrip(b"\x00")
        if not plain.endswith(b"\x80") or len(padded) - len(plain) >= _BLOCK:
            raise BspError(
                f"segment {index} (block {self.block_counter}): expected 80 00.. padding after "
                "decryption, got none (wrong block counter or keys)",
                segment=index,
            )
        return plain[:-1]


def _check_tag(tag: int) -> None:
    if tag not in (TAG_ENCRYPTED_PROFILE, TAG_ENCRYPTED, TAG_MAC_ONLY):
        raise UsageError(f"expected segment tag 0x86, 0x87 or 0x88, got {tag:#x}")


def _pad(data: bytes) -> bytes:
    padded = data + b"\x80"
    return padded + bytes(-len(padded) % _BLOCK)


def max_plain_size(tag: int, segment_size: int = MAX_SEGMENT_SIZE) -> int:
    """The most data bytes one segment TLV of at most ``segment_size`` bytes can carry."""
    _check_tag(tag)
    best = 0
    for length_size in (1, 2, 3):
        room = segment_size - 1 - length_size - MAC_SIZE
        if tag != TAG_MAC_ONLY:
            room = room // _BLOCK * _BLOCK - 1
        if room > 0 and len(tlv.encode_length(_payload_size(tag, room) + MAC_SIZE)) <= length_size:
            best = max(best, room)
    if best == 0:
        raise UsageError(f"expected a segment size that fits data, got {segment_size}")
    return best


def _payload_size(tag: int, size: int) -> int:
    return size if tag == TAG_MAC_ONLY else len(_pad(bytes(size)))


def _segments(session: BspSession, tag: int, data: bytes, segment_size: int) -> list[bytes]:
    step = max_plain_size(tag, segment_size)
    return [session.protect(tag, data[i : i + step]) for i in range(0, len(data), step)]


def replace_session_keys_request(keys: SessionKeys) -> bytes:
    """ReplaceSessionKeysRequest (``BF26``) DER installing ``keys`` (SGP.22 section 5.5.4)."""
    value = (
        tlv.build(0x80, keys.initial_mcv)
        + tlv.build(0x81, keys.s_enc)
        + tlv.build(0x82, keys.s_mac)
    )
    return tlv.build(_TAG_REPLACE_SESSION_KEYS, value)


def session_keys_from_replace_request(der: bytes) -> SessionKeys:
    """The PPK keys (PPK-ENC, PPK-MAC, initial MCV) a ReplaceSessionKeysRequest installs."""
    try:
        request = tlv.parse(der)
        if request.tag != _TAG_REPLACE_SESSION_KEYS:
            raise TlvError(f"expected tag bf26, got {request.tag_bytes.hex()}")
        return SessionKeys(
            initial_mcv=request.require(0x80).value,
            s_enc=request.require(0x81).value,
            s_mac=request.require(0x82).value,
        )
    except (TlvError, ValueError, CryptoError) as exc:  # CryptoError: a key not 16 bytes long
        raise BspError(f"expected a ReplaceSessionKeysRequest, got {exc}") from exc


def build_bound_profile_package(
    *,
    initialise_secure_channel: bytes,
    configure_isdp: bytes,
    store_metadata: bytes,
    profile_package: bytes,
    session_keys: SessionKeys,
    replace_session_keys: bytes | None = None,
    segment_size: int = MAX_SEGMENT_SIZE,
) -> bytes:
    """Protect the parts and assemble the ``BF36`` DER (SGP.22 section 2.5.4).

    ``initialise_secure_channel`` is the ``BF23`` TLV as signed; ``configure_isdp``
    (``BF24``), ``store_metadata`` (``BF25``) and ``replace_session_keys`` (``BF26``) are DER;
    ``profile_package`` is the (unprotected) profile package, cut into ``86`` segments of at
    most ``segment_size`` bytes.
    """
    if not initialise_secure_channel.startswith(b"\xbf\x23"):
        raise UsageError("expected InitialiseSecureChannelRequest DER starting bf23")
    session = BspSession(session_keys)
    parts = [initialise_secure_channel]
    parts.append(tlv.build(0xA0, b"".join(_segments(session, 0x87, configure_isdp, segment_size))))
    parts.append(tlv.build(0xA1, b"".join(_segments(session, 0x88, store_metadata, segment_size))))
    if replace_session_keys is not None:
        protected = _segments(session, 0x87, replace_session_keys, segment_size)
        parts.append(tlv.build(0xA2, b"".join(protected)))
        session = BspSession(session_keys_from_replace_request(replace_session_keys))
    profile = _segments(session, TAG_ENCRYPTED_PROFILE, profile_package, segment_size)
    parts.append(tlv.build(0xA3, b"".join(profile)))
    return tlv.build(_TAG_BPP, b"".join(parts))


class PartKind(StrEnum):
    """What a :class:`BppPart` holds."""

    INITIALISE_SECURE_CHANNEL = "initialise_secure_channel"
    CONFIGURE_ISDP = "configure_isdp"
    STORE_METADATA = "store_metadata"
    REPLACE_SESSION_KEYS = "replace_session_keys"
    PROFILE_DATA = "profile_data"


@dataclass(frozen=True, slots=True)
class BppPart:
    """One piece of a BPP taken apart: a whole ``BF23``/``BF24``/``BF25``/``BF26`` DER, or the
    plaintext of one ``86`` segment (``PROFILE_DATA``). ``segment`` is the last segment used.
    """

    kind: PartKind
    data: bytes = field(repr=False)
    segment: int


@dataclass(frozen=True, slots=True)
class UnprotectedBpp:
    """A whole BPP unprotected by :func:`unprotect_bound_profile_package`."""

    initialise_secure_channel: bytes
    configure_isdp: bytes = field(repr=False)
    store_metadata: bytes = field(repr=False)
    replace_session_keys: bytes | None = field(repr=False)
    profile_package: bytes = field(repr=False)


_PART_TAGS = {
    PartKind.CONFIGURE_ISDP: 0xBF24,
    PartKind.STORE_METADATA: 0xBF25,
    PartKind.REPLACE_SESSION_KEYS: _TAG_REPLACE_SESSION_KEYS,
}

# The children of BF36 in order: (tag, segment tag inside, part kind, optional)
_LAYOUT = (
    (0xA0, TAG_ENCRYPTED, PartKind.CONFIGURE_ISDP, False),
    (0xA1, TAG_MAC_ONLY, PartKind.STORE_METADATA, False),
    (0xA2, TAG_ENCRYPTED, PartKind.REPLACE_SESSION_KEYS, True),
    (0xA3, TAG_ENCRYPTED_PROFILE, PartKind.PROFILE_DATA, False),
)


class BppReader:
    """Takes a ``BF36`` apart on the card side, fed in pieces of any size (SGP.22 5.7.6).

    ``session_keys`` is the keys, or a function given the ``BF23`` DER that returns them (the
    eUICC verifies InitialiseSecureChannel and runs ECKA there; whatever it raises propagates).
    ``profile_keys`` are for ``86`` segments protected with PPKs known out of band when no
    ``A2`` installs them (as in the public test vector). :meth:`feed` returns the
    :class:`BppPart` completed by the new bytes; :meth:`close` checks that the package ended.
    After an error (a :class:`BspError` or the ``session_keys`` function's) every call raises
    it again.

    Tolerated: a segment whose value is itself the whole protected TLV (``87 L 87 L' ...``),
    as some SM-DP+ implementations encode it; :func:`build_bound_profile_package` never does.
    """

    def __init__(
        self,
        session_keys: SessionKeys | Callable[[bytes], SessionKeys],
        *,
        profile_keys: SessionKeys | None = None,
    ) -> None:
        self._keys_for = session_keys
        self._profile_keys = profile_keys
        self._buffer = bytearray()
        self._session: BspSession | None = None
        self._outer_left: int | None = None  # bytes left in BF36, None before its header
        self._stage = -1  # -1: expect BF23; else the index in _LAYOUT of the current/next child
        self._inside: int | None = None  # bytes left in the open A0..A3, None between them
        self._collected: list[bytes] = []
        self._segment = 0
        self._error: Exception | None = None
        self.done = False

    def feed(self, data: bytes) -> list[BppPart]:
        """Add bytes; return the parts they complete."""
        if self._error is not None:
            raise self._error
        self._buffer += data
        parts: list[BppPart] = []
        try:
            while self._step(parts):
                pass
        except Exception as exc:  # a BspError, or what the session_keys function raised
            self._error = exc
            raise
        return parts

    def close(self) -> None:
        """Raise :class:`BspError` unless the whole package was read."""
        if self._error is not None:
            raise self._error
        if not self.done:
            left = "more" if self._outer_left is None else f"{self._outer_left} more"
            self._error = self._fail(f"BPP truncated: expected {left} bytes of BF36")
            raise self._error

    def _fail(self, message: str) -> BspError:
        return BspError(f"segment {self._segment}: {message}", segment=self._segment)

    def _step(self, parts: list[BppPart]) -> bool:
        if self.done:
            if self._buffer:
                raise self._fail(f"expected the end of the BPP, got {len(self._buffer)} more bytes")
            return False
        if self._outer_left is None:
            return self._open_outer()
        if self._inside is None:
            return self._next_child(parts)
        return self._next_segment(parts)

    def _header(self) -> tuple[int, int, int] | None:
        try:
            return _header(self._buffer)
        except ValueError as exc:
            raise self._fail(str(exc)) from exc

    def _open_outer(self) -> bool:
        head = self._header()
        if head is None:
            return False
        tag, length, size = head
        if tag != _TAG_BPP:
            raise self._fail(f"expected a BoundProfilePackage (bf36), got tag {tag:x}")
        del self._buffer[:size]
        self._outer_left = length
        return True

    def _next_child(self, parts: list[BppPart]) -> bool:
        assert self._outer_left is not None
        if self._outer_left == 0:
            if self._stage < len(_LAYOUT):
                raise self._fail("BF36 ended before the A3 profile segments")
            self.done = True
            return True
        head = self._header()
        if head is None:
            return False
        tag, length, size = head
        if size + length > self._outer_left:
            raise self._fail(f"tag {tag:x} of {length} bytes overruns BF36")
        if self._stage == -1:
            return self._initialise(tag, size + length, parts)
        self._open_child(tag, length)
        del self._buffer[:size]
        self._outer_left -= size
        return True

    def _initialise(self, tag: int, total: int, parts: list[BppPart]) -> bool:
        if tag != _TAG_INIT_SECURE_CHANNEL:
            raise self._fail(f"expected InitialiseSecureChannel (bf23) first, got tag {tag:x}")
        if len(self._buffer) < total:
            return False
        der = bytes(self._buffer[:total])
        del self._buffer[:total]
        assert self._outer_left is not None
        self._outer_left -= total
        keys = self._keys_for if isinstance(self._keys_for, SessionKeys) else self._keys_for(der)
        self._session = BspSession(keys)
        self._stage = 0
        parts.append(BppPart(PartKind.INITIALISE_SECURE_CHANNEL, der, -1))
        return True

    def _open_child(self, tag: int, length: int) -> None:
        stage = self._stage
        if stage < len(_LAYOUT) and _LAYOUT[stage][3] and tag != _LAYOUT[stage][0]:
            stage += 1  # the optional A2 is absent
        if stage >= len(_LAYOUT) or tag != _LAYOUT[stage][0]:
            expected = " or ".join(f"{t:x}" for t, *_ in _LAYOUT[self._stage : stage + 1]) or "none"
            raise self._fail(f"expected tag {expected} in BF36, got tag {tag:x}")
        if length == 0:
            raise self._fail(f"expected at least one segment in {tag:x}, got none")
        skipped_a2 = _LAYOUT[stage][2] is PartKind.PROFILE_DATA and self._stage < stage
        if skipped_a2 and self._profile_keys is not None:
            self._session = BspSession(self._profile_keys)
        self._stage = stage
        self._inside = length

    def _next_segment(self, parts: list[BppPart]) -> bool:
        assert self._inside is not None and self._outer_left is not None
        child_tag, segment_tag, kind, _ = _LAYOUT[self._stage]
        if self._inside == 0:
            self._close_child(kind, parts)
            return True
        head = self._header()
        if head is None:
            return False
        tag, length, size = head
        if tag != segment_tag:
            raise self._fail(f"expected tag {segment_tag:x} in {child_tag:x}, got tag {tag:x}")
        if size + length > self._inside:
            raise self._fail(f"segment of {size + length} bytes overruns {child_tag:x}")
        if len(self._buffer) < size + length:
            return False
        segment = bytes(self._buffer[: size + length])
        del self._buffer[: size + length]
        self._inside -= size + length
        self._outer_left -= size + length
        plain = self._unprotect(segment)
        if kind is PartKind.PROFILE_DATA:
            parts.append(BppPart(kind, plain, self._segment))
        else:
            self._collected.append(plain)
        self._segment += 1
        return True

    def _unprotect(self, segment: bytes) -> bytes:
        assert self._session is not None
        inner = _nested(segment)
        if inner is not None:
            try:
                return self._session.unprotect(inner, index=self._segment)
            except BspError:
                pass  # a ciphertext that only looks nested: the plain form decides
        return self._session.unprotect(segment, index=self._segment)

    def _close_child(self, kind: PartKind, parts: list[BppPart]) -> None:
        self._inside = None
        self._stage += 1
        if kind is PartKind.PROFILE_DATA:
            return
        der = b"".join(self._collected)
        self._collected = []
        last = self._segment - 1
        try:
            parsed = tlv.parse(der)
            if parsed.tag != _PART_TAGS[kind]:
                raise TlvError(f"tag {parsed.tag_bytes.hex()}")
            if kind is PartKind.REPLACE_SESSION_KEYS:
                self._session = BspSession(session_keys_from_replace_request(der))
        except (TlvError, BspError) as exc:
            raise BspError(
                f"segment {last}: expected {kind.value} DER (tag {_PART_TAGS[kind]:x}) after "
                f"unprotecting, got {exc} (wrong block counter or keys?)",
                segment=last,
            ) from exc
        parts.append(BppPart(kind, der, last))


def _nested(segment: bytes) -> bytes | None:
    """The inner TLV if ``segment``'s value is exactly one TLV with the same tag, else None."""
    try:
        outer = tlv.parse(segment)
        if segment[outer.value_offset : outer.value_offset + 1] != segment[:1]:
            return None  # the usual case: the value does not start with the same tag
        inner = tlv.parse(outer.value)
    except TlvError:
        return None
    return inner.raw if inner.tag == outer.tag else None


def _header(buffer: bytearray) -> tuple[int, int, int] | None:
    """(tag, length, header size) of the TLV starting ``buffer``; ``None`` if incomplete.

    A length field this module cannot accept raises ``ValueError``.
    """
    if not buffer:
        return None
    size = 1
    if buffer[0] & 0x1F == 0x1F:
        while size < len(buffer) and buffer[size] & 0x80:
            size += 1
        size += 1
    if len(buffer) < size + 1:
        return None
    tag = int.from_bytes(buffer[:size], "big")
    first = buffer[size]
    if first < 0x80:
        return tag, first, size + 1
    count = first & 0x7F
    if count == 0 or count > 3:
        raise ValueError(f"expected a definite length of 1 to 3 bytes, got {first:02x}")
    if len(buffer) < size + 1 + count:
        return None
    length = int.from_bytes(buffer[size + 1 : size + 1 + count], "big")
    return tag, length, size + 1 + count


def unprotect_bound_profile_package(
    bpp: bytes,
    session_keys: SessionKeys | Callable[[bytes], SessionKeys],
    *,
    profile_keys: SessionKeys | None = None,
) -> UnprotectedBpp:
    """Take a whole BPP apart and unprotect it (SGP.22 section 2.5.4; see :class:`BppReader`)."""
    reader = BppReader(session_keys, profile_keys=profile_keys)
    parts = reader.feed(bpp)
    reader.close()
    found: dict[PartKind, bytes] = {}
    profile = bytearray()
    for part in parts:
        if part.kind is PartKind.PROFILE_DATA:
            profile += part.data
        else:
            found[part.kind] = part.data
    return UnprotectedBpp(
        initialise_secure_channel=found[PartKind.INITIALISE_SECURE_CHANNEL],
        configure_isdp=found[PartKind.CONFIGURE_ISDP],
        store_metadata=found[PartKind.STORE_METADATA],
        replace_session_keys=found.get(PartKind.REPLACE_SESSION_KEYS),
        profile_package=bytes(profile),
    )
