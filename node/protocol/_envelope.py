"""Sealing and opening envelopes: pure functions over bytes and a clock value.

Rules:

1. The sender serializes the header once. Those bytes are what it signs and
   what travels; nobody re-encodes a header to check it.
2. The signature covers the header bytes and the plaintext (salt || record)
   exactly as sent; the plaintext is then encrypted to the recipient.
3. The receiver refuses before decrypting anything whose header is not for it,
   not from a known peer, or names a key, version or crypto profile it does
   not hold. It decrypts, then verifies the signature, then parses the
   record. Only an envelope that passes every step is :class:`Opened`; every
   other outcome is a :class:`Refused` with a reason code, and nothing of it
   may be stored or handed on.
4. Never downgrade: a protocol version or crypto profile the receiver does not
   hold is refused as such, never opened with something "close enough".
5. Freshness: an authentic envelope sealed longer ago than ``max_age`` or
   more than ``max_skew`` ahead of the receiver's clock is refused as STALE.
   The check comes after the signature, so STALE always speaks of an envelope
   the sender really sealed (a replay, a record queued too long, or a wrong
   clock), never of a forgery. Together with deduplication on (sender,
   message id), kept longer than the window, it bounds what a replay can do.
6. With a federation manifest (the peer directory carries its
   :class:`~tamga.protocol.Policy`), the header's record type needs an
   agreement (else NO_AGREEMENT) and the sender's keys it names must be valid
   at its ``created_at`` (else KEY_NOT_VALID), both before decrypting; the
   envelope may be sealed to any own key the manifest still lists.
7. Bounds: a header ``sequence`` above 2^63-1 is refused
   SEQUENCE_OUT_OF_RANGE and a ``created_at`` outside what a protobuf
   Timestamp may hold (years 1 to 9999) MALFORMED_ENVELOPE, both before
   decrypting; every value of a refusal (detail, message id, sender) is
   escaped and cut (:func:`~tamga.protocol._origin.clip`), so a header field
   of megabytes costs a few hundred bytes in a receipt, a log line or the store.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from tamga.crypto import CRYPTO_PROFILE_V1, SALT_SIZE, digest, random_bytes
from tamga.errors import CryptoError
from tamga.protocol._identity import (
    PROTOCOL_VERSION,
    SUPPORTED_CRYPTO_PROFILES,
    SUPPORTED_PROTOCOL_VERSIONS,
    LocalIdentity,
    Peer,
    PeerDirectory,
)
from tamga.protocol._origin import MAX_FIELD_CHARS, MAX_SEQUENCE, clip
from tamga.protocol._time import to_nanos
from tamga.v1 import envelope_pb2, records_pb2

__all__ = [
    "DEFAULT_MAX_CLOCK_SKEW",
    "DEFAULT_MAX_ENVELOPE_AGE",
    "DEFAULT_MAX_ENVELOPE_BYTES",
    "ENVELOPE_PURPOSE",
    "MAX_DETAIL_CHARS",
    "RECORD_TYPES",
    "Opened",
    "Refused",
    "Sealed",
    "envelope_digest",
    "freshness_problem",
    "open_envelope",
    "open_stored",
    "record_type_of",
    "seal",
]

ENVELOPE_PURPOSE = "tamga/v1/envelope"
DEFAULT_MAX_ENVELOPE_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_ENVELOPE_AGE = 14 * 24 * 3600.0
"""Seconds: an envelope sealed longer ago than this is STALE (the [limits] default)."""
DEFAULT_MAX_CLOCK_SKEW = 300.0
"""Seconds: an envelope sealed further than this in the future is STALE (the [limits] default)."""
MAX_DETAIL_CHARS = 300
"""Most characters of a refusal's detail (receipt, log, store); longer ones are cut, saying how much."""
# What a google.protobuf.Timestamp may hold: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_MIN_TIMESTAMP_SECONDS = -62_135_596_800
_MAX_TIMESTAMP_SECONDS = 253_402_300_799
RECORD_TYPES: tuple[str, ...] = tuple(f.name for f in records_pb2.Record.DESCRIPTOR.oneofs_by_name["body"].fields)

R = envelope_pb2.RejectReason


def record_type_of(record: records_pb2.Record) -> str:
    """Name of the record's body (``declaration_snapshot``...), or "" if unset."""
    return record.WhichOneof("body") or ""


def envelope_digest(envelope: envelope_pb2.Envelope) -> bytes:
    """SHA-256 over the envelope's header, body and signature, length-prefixed.

    Both ends compute it over the bytes as sent, so a receipt names exactly
    the envelope it answers.
    """
    return digest(envelope.header, envelope.body, envelope.signature)


@dataclass(frozen=True, slots=True)
class Sealed:
    """An envelope ready for the outbox."""

    message_id: str
    recipient: str
    record_type: str
    envelope: bytes
    digest: bytes
    sequence: int = 0


@dataclass(frozen=True, slots=True)
class Opened:
    """An envelope that passed every check."""

    sender: str
    message_id: str
    record_type: str
    header: envelope_pb2.EnvelopeHeader
    record: records_pb2.Record
    digest: bytes


@dataclass(frozen=True, slots=True)
class Refused:
    """An envelope refused with a machine-readable reason."""

    reason: int  # envelope_pb2.RejectReason
    detail: str
    message_id: str
    sender: str
    digest: bytes
    # The header's sequence number, only when the signature was verified (a
    # refusal after that point: stale, malformed record); 0 otherwise, since
    # an unverified header's number proves nothing.
    sequence: int = 0

    @property
    def reason_name(self) -> str:
        return R.Name(self.reason)


def seal(
    *,
    local: LocalIdentity,
    peer: Peer,
    record_bytes: bytes,
    record_type: str,
    message_id: str,
    now: float,
    sequence: int = 0,
    nonce: bytes | None = None,
    salt: bytes | None = None,
) -> Sealed:
    """Sign and encrypt serialized record bytes for one peer.

    ``sequence`` is the envelope's place in this sender's stream to ``peer``
    (1, 2, 3, ...; 0 = not numbered). ``nonce`` and ``salt`` are random
    unless given (known-answer tests only).
    """
    header = envelope_pb2.EnvelopeHeader(
        protocol_version=PROTOCOL_VERSION,
        crypto_profile=CRYPTO_PROFILE_V1,
        sender=local.node_id,
        recipient=peer.node_id,
        message_id=message_id,
        sender_signing_key_id=local.signing_key.key_id,
        sender_encryption_key_id=local.encryption_key.key_id,
        recipient_encryption_key_id=peer.encryption_key.key_id,
        record_type=record_type,
        sequence=sequence,
    )
    header.created_at.FromNanoseconds(to_nanos(now))
    header_bytes = header.SerializeToString()
    plaintext = (salt if salt is not None else random_bytes(SALT_SIZE)) + record_bytes
    signature = local.signing_key.sign(ENVELOPE_PURPOSE, header_bytes, plaintext)
    body = peer.channel(local).encrypt(plaintext, nonce)
    env = envelope_pb2.Envelope(header=header_bytes, body=body, signature=signature)
    return Sealed(
        message_id=message_id,
        recipient=peer.node_id,
        record_type=record_type,
        envelope=env.SerializeToString(),
        digest=digest(header_bytes, body, signature),
        sequence=sequence,
    )


def _valid_uuid(text: str) -> bool:
    try:
        return str(uuid.UUID(text)) == text
    except ValueError:
        return False


def _span(seconds: float) -> str:
    """A duration for people: 3d 4h, 12m 5s, 40s."""
    s = int(abs(seconds))
    days, s = divmod(s, 86400)
    hours, s = divmod(s, 3600)
    minutes, s = divmod(s, 60)
    parts = [f"{days}d", f"{hours}h"] if days else [f"{hours}h", f"{minutes}m"] if hours else [f"{minutes}m", f"{s}s"]
    return " ".join(p for p in parts if not p.startswith("0")) or "0s"


def _timestamp_problem(header: envelope_pb2.EnvelopeHeader) -> str | None:
    """Why the header's created_at is not a valid protobuf Timestamp (years 1 to 9999), or None."""
    if not header.HasField("created_at"):
        return None  # the freshness window says so, after the signature
    ts = header.created_at
    if not _MIN_TIMESTAMP_SECONDS <= ts.seconds <= _MAX_TIMESTAMP_SECONDS or not 0 <= ts.nanos < 1_000_000_000:
        return (
            f"created_at ({ts.seconds} s, {ts.nanos} ns since 1970) is outside the range of a "
            "google.protobuf.Timestamp (years 1 to 9999)"
        )
    return None


def freshness_problem(
    header: envelope_pb2.EnvelopeHeader, *, now: float, max_age: float, max_skew: float
) -> str | None:
    """Why an envelope header is outside the freshness window, or None if it is inside.

    Args:
        header: The envelope's header.
        now: The receiver's clock (seconds since the epoch).
        max_age: Most seconds an envelope may have been sealed before ``now``.
        max_skew: Most seconds an envelope may have been sealed after ``now``.
    """
    if not header.HasField("created_at"):
        return "header has no created_at: the envelope's age cannot be checked"
    out_of_range = _timestamp_problem(header)
    if out_of_range is not None:
        return out_of_range
    created_ns = header.created_at.ToNanoseconds()
    age = now - created_ns / 1e9
    sealed_at = header.created_at.ToJsonString()
    if age > max_age:
        return (
            f"sealed at {sealed_at}, {_span(age)} ago; this node accepts envelopes sealed at most "
            f"{_span(max_age)} ago ([limits] max_envelope_age): a replay, or a record queued too long"
        )
    if -age > max_skew:
        return (
            f"sealed at {sealed_at}, {_span(-age)} in this node's future; at most {_span(max_skew)} is "
            "accepted ([limits] max_clock_skew): check the sending node's clock"
        )
    return None


def open_envelope(
    envelope: envelope_pb2.Envelope,
    *,
    local: LocalIdentity,
    peers: PeerDirectory,
    max_envelope_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES,
    now: float | None = None,
    max_age: float = DEFAULT_MAX_ENVELOPE_AGE,
    max_skew: float = DEFAULT_MAX_CLOCK_SKEW,
) -> Opened | Refused:
    """Check, decrypt and verify one received envelope (see the module's rules).

    Args:
        envelope: The envelope as received.
        local: This node.
        peers: The peers this node knows.
        max_envelope_bytes: Largest envelope accepted.
        now: The receiver's clock, for the freshness window. A node always
            gives it; None skips the window (known-answer vectors and tests of
            other checks only).
        max_age: Freshness window into the past, seconds.
        max_skew: Freshness window into the future, seconds.

    Returns:
        :class:`Opened`, or :class:`Refused` with the reason and a detail.
    """
    env_digest = envelope_digest(envelope)
    size = len(envelope.header) + len(envelope.body) + len(envelope.signature)

    def refuse(reason: int, detail: str, message_id: str = "", sender: str = "", sequence: int = 0) -> Refused:
        return Refused(
            reason,
            clip(detail, MAX_DETAIL_CHARS),
            clip(message_id, MAX_FIELD_CHARS),
            clip(sender, MAX_FIELD_CHARS),
            env_digest,
            sequence,
        )

    if size > max_envelope_bytes:
        return refuse(R.REJECT_REASON_OVERSIZE, f"envelope of {size} bytes exceeds {max_envelope_bytes}")
    if not envelope.header:
        return refuse(R.REJECT_REASON_MALFORMED_ENVELOPE, "envelope has no header")
    try:
        header = envelope_pb2.EnvelopeHeader.FromString(envelope.header)
    except DecodeError:
        return refuse(R.REJECT_REASON_MALFORMED_ENVELOPE, "header does not parse")
    mid, sender = header.message_id, header.sender
    if header.protocol_version not in SUPPORTED_PROTOCOL_VERSIONS:
        return refuse(
            R.REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION,
            f"protocol version {header.protocol_version} not supported; supported: "
            + ",".join(map(str, SUPPORTED_PROTOCOL_VERSIONS)),
            mid,
            sender,
        )
    if header.crypto_profile not in SUPPORTED_CRYPTO_PROFILES:
        return refuse(
            R.REJECT_REASON_UNKNOWN_CRYPTO_PROFILE,
            f"crypto profile {header.crypto_profile!r} not accepted; accepted: " + ",".join(SUPPORTED_CRYPTO_PROFILES),
            mid,
            sender,
        )
    if header.recipient != local.node_id:
        return refuse(
            R.REJECT_REASON_WRONG_RECIPIENT,
            f"addressed to {header.recipient!r}, this node is {local.node_id!r}",
            mid,
            sender,
        )
    policy = getattr(peers, "policy", None)  # the federation manifest's rules (LivePeerDirectory), if any
    peer = peers.get(sender)
    if peer is None:
        why = f" of federation manifest version {policy.version}" if policy is not None else ""
        return refuse(R.REJECT_REASON_UNKNOWN_SENDER, f"sender {sender!r} is not a peer{why}", mid, sender)
    if header.sequence > MAX_SEQUENCE:
        return refuse(
            R.REJECT_REASON_SEQUENCE_OUT_OF_RANGE,
            f"sequence number {header.sequence} is above {MAX_SEQUENCE}, the highest a node accepts",
            mid,
            sender,
        )
    timestamp = _timestamp_problem(header)
    if timestamp is not None:
        return refuse(R.REJECT_REASON_MALFORMED_ENVELOPE, timestamp, mid, sender)
    if policy is not None:
        if header.record_type in RECORD_TYPES and not policy.allows(sender, local.node_id, header.record_type):
            return refuse(
                R.REJECT_REASON_NO_AGREEMENT,
                policy.no_agreement(sender, local.node_id, header.record_type),
                mid,
                sender,
            )
        created = header.created_at.ToNanoseconds() / 1e9 if header.HasField("created_at") else 0.0
        keys = policy.sender_keys(
            sender,
            header.sender_signing_key_id,
            header.sender_encryption_key_id,
            at=created,
            now=created if now is None else now,
        )
        if isinstance(keys, str):
            return refuse(R.REJECT_REASON_KEY_NOT_VALID, keys, mid, sender)
        verify_key, sender_encryption_key = keys
        own = policy.channel(header.recipient_encryption_key_id, sender, sender_encryption_key)
        if own is None:
            return refuse(
                R.REJECT_REASON_UNKNOWN_KEY,
                f"encrypted to {header.recipient_encryption_key_id!r}, not a key of this node in federation manifest "
                f"version {policy.version} (this node's keys: {', '.join(sorted(policy.own_encryption_keys))})",
                mid,
                sender,
            )
        channel = own
    elif header.sender_signing_key_id != peer.verify_key.key_id:
        return refuse(
            R.REJECT_REASON_UNKNOWN_KEY,
            f"signing key {header.sender_signing_key_id!r} is not {sender}'s current key",
            mid,
            sender,
        )
    elif header.sender_encryption_key_id != peer.encryption_key.key_id:
        return refuse(
            R.REJECT_REASON_UNKNOWN_KEY,
            f"encryption key {header.sender_encryption_key_id!r} is not {sender}'s current key",
            mid,
            sender,
        )
    elif header.recipient_encryption_key_id != local.encryption_key.key_id:
        return refuse(
            R.REJECT_REASON_UNKNOWN_KEY,
            f"encrypted to {header.recipient_encryption_key_id!r}, this node's key is {local.encryption_key.key_id!r}",
            mid,
            sender,
        )
    else:
        channel, verify_key = peer.channel(local), peer.verify_key
    if not _valid_uuid(mid):
        return refuse(R.REJECT_REASON_MALFORMED_ENVELOPE, "message id is not a UUID", mid, sender)
    if header.record_type not in RECORD_TYPES:
        return refuse(
            R.REJECT_REASON_MALFORMED_ENVELOPE,
            f"record type {header.record_type!r} is not a tamga.v1 record type",
            mid,
            sender,
        )
    if len(envelope.signature) != 64:
        return refuse(R.REJECT_REASON_BAD_SIGNATURE, "signature is not 64 bytes", mid, sender)
    try:
        plaintext = channel.decrypt(envelope.body)
    except CryptoError as exc:
        return refuse(R.REJECT_REASON_DECRYPTION_FAILED, str(exc), mid, sender)
    try:
        verify_key.verify(ENVELOPE_PURPOSE, envelope.signature, envelope.header, plaintext)
    except CryptoError as exc:
        return refuse(R.REJECT_REASON_BAD_SIGNATURE, str(exc), mid, sender)
    if now is not None:
        problem = freshness_problem(header, now=now, max_age=max_age, max_skew=max_skew)
        if problem is not None:
            return refuse(R.REJECT_REASON_STALE, problem, mid, sender, header.sequence)
    if len(plaintext) < SALT_SIZE:
        return refuse(R.REJECT_REASON_MALFORMED_RECORD, "body shorter than its salt", mid, sender, header.sequence)
    try:
        record = records_pb2.Record.FromString(plaintext[SALT_SIZE:])
    except DecodeError:
        return refuse(R.REJECT_REASON_MALFORMED_RECORD, "record does not parse", mid, sender, header.sequence)
    if record_type_of(record) != header.record_type:
        return refuse(
            R.REJECT_REASON_RECORD_TYPE_MISMATCH,
            f"header says {header.record_type!r}, record is {record_type_of(record) or 'empty'!r}",
            mid,
            sender,
            header.sequence,
        )
    return Opened(sender, mid, header.record_type, header, record, env_digest)


def open_stored(envelope_bytes: bytes, *, local: LocalIdentity, peers: PeerDirectory) -> records_pb2.Record:
    """Decrypt an envelope this node accepted earlier and stored as received.

    The store keeps envelopes encrypted; the record is decrypted only to hand
    it to the national system. The record comes from the body alone, and the
    body's authenticated encryption (a key only the sender and this node hold)
    detects any change made to it at rest. The header and the signature were
    verified on arrival; they are not checked again here.

    Raises:
        CryptoError: the stored envelope no longer opens.
    """
    try:
        env = envelope_pb2.Envelope.FromString(envelope_bytes)
        header = envelope_pb2.EnvelopeHeader.FromString(env.header)
    except DecodeError as exc:
        raise CryptoError("stored envelope does not parse") from exc
    policy = getattr(peers, "policy", None)
    if policy is not None:
        # Keys by the ids the header names: the envelope may predate a rotation on either side.
        channel = policy.stored_channel(
            header.recipient_encryption_key_id, header.sender, header.sender_encryption_key_id
        )
        if channel is None:
            raise CryptoError(
                f"stored envelope from {header.sender!r}: key {header.sender_encryption_key_id!r} or this node's "
                f"key {header.recipient_encryption_key_id!r} is no longer in the federation manifest"
            )
    else:
        peer = peers.get(header.sender)
        if peer is None:
            raise CryptoError(f"stored envelope from {header.sender!r}, no longer a peer")
        channel = peer.channel(local)
    plaintext = channel.decrypt(env.body)
    try:
        return records_pb2.Record.FromString(plaintext[SALT_SIZE:])
    except DecodeError as exc:
        raise CryptoError("stored record does not parse") from exc
