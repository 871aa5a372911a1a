"""What the federation manifest makes a receiver check: agreements and key validity (no I/O).

Rules:

1. Without a manifest (two-node mode, pinned peers) there is no policy: a
   peer may send any record type, with the one signing and encryption key
   its identity file names.
2. With a manifest, a sender may send a record type to a receiver only where
   an agreement of the current version allows it (deny by default); the
   receiver refuses anything else NO_AGREEMENT before decrypting it.
3. A sender's signing or encryption key named in an envelope header must be
   one the current version lists for that sender, valid (valid_from,
   valid_until) at the envelope's ``created_at`` and not revoked; else the
   envelope is refused KEY_NOT_VALID. So during a rotation overlap both the
   old and the new key are accepted, and an envelope sealed before the old
   key ended is still accepted when it arrives later (nothing in flight is
   lost); a revoked key is refused from the moment the revocation is known.
4. The receiver opens envelopes encrypted to any of its own encryption keys
   the manifest still lists, so envelopes sealed to its previous key before
   a rotation still open (and stored ones can still be handed off).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tamga.crypto import Channel, EncryptionKey, EncryptionPublicKey, VerifyKey
from tamga.protocol._identity import Peer, PeerDirectory

__all__ = ["LivePeerDirectory", "MemberKey", "Policy"]


def _when(seconds: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@dataclass(frozen=True, slots=True)
class MemberKey:
    """One public key of a member with its validity (seconds since the epoch)."""

    key_id: str
    public: bytes
    valid_from: float | None = None
    valid_until: float | None = None
    revoked_at: float | None = None

    def problem_at(self, at: float, now: float) -> str | None:
        """Why the key may not be used for something sealed at ``at`` (checked at ``now``), or None."""
        if self.revoked_at is not None and (self.revoked_at <= now or at >= self.revoked_at):
            return f"revoked since {_when(self.revoked_at)}"
        if self.valid_from is not None and at < self.valid_from:
            return f"valid only from {_when(self.valid_from)}, the envelope was sealed at {_when(at)}"
        if self.valid_until is not None and at > self.valid_until:
            return f"valid only until {_when(self.valid_until)}, the envelope was sealed at {_when(at)}"
        return None


@dataclass(frozen=True, slots=True)
class Policy:
    """The rules of one manifest version, as the receiver and the router apply them.

    Attributes:
        version: The manifest version these rules come from.
        signing_keys: (node id, key id) -> key, for every member of the version.
        encryption_keys: (node id, key id) -> key, for every member of the version.
        agreements: (sender, receiver, record type) allowed.
        own_encryption_keys: key id -> this node's private encryption keys the
            version still lists (current and previous).
        stored_keys: (node id, key id) -> public encryption key of any member of
            any version this node holds: hand-off of records accepted earlier.
    """

    version: int
    signing_keys: Mapping[tuple[str, str], MemberKey]
    encryption_keys: Mapping[tuple[str, str], MemberKey]
    agreements: frozenset[tuple[str, str, str]]
    own_encryption_keys: Mapping[str, EncryptionKey]
    stored_keys: Mapping[tuple[str, str], bytes] = field(default_factory=dict)
    _channels: dict[tuple[str, str, str], Channel] = field(default_factory=dict, compare=False, repr=False)

    def allows(self, sender: str, receiver: str, record_type: str) -> bool:
        return (sender, receiver, record_type) in self.agreements

    def no_agreement(self, sender: str, receiver: str, record_type: str) -> str:
        """The words of a refusal for want of an agreement."""
        allowed = sorted(t for s, r, t in self.agreements if s == sender and r == receiver)
        return (
            f"no agreement in federation manifest version {self.version} lets {sender} send {record_type} to "
            f"{receiver} (allowed: {', '.join(allowed) or 'nothing'})"
        )

    def sender_keys(
        self, sender: str, signing_key_id: str, encryption_key_id: str, *, at: float, now: float
    ) -> tuple[VerifyKey, EncryptionPublicKey] | str:
        """The sender's keys named in a header, if valid at ``at``; else why not."""
        sk = self.signing_keys.get((sender, signing_key_id))
        ek = self.encryption_keys.get((sender, encryption_key_id))
        for kind, key, kid in (("signing", sk, signing_key_id), ("encryption", ek, encryption_key_id)):
            if key is None:
                return f"{kind} key {kid!r} is not a key of {sender} in federation manifest version {self.version}"
            problem = key.problem_at(at, now)
            if problem is not None:
                return f"{kind} key {kid} of {sender} is not valid: {problem} (manifest version {self.version})"
        assert sk is not None and ek is not None
        return VerifyKey(sk.key_id, sk.public), EncryptionPublicKey(ek.key_id, ek.public)

    def channel(self, own_key_id: str, sender: str, sender_key: EncryptionPublicKey) -> Channel | None:
        """The Box channel between one of our keys and a sender's key (None: not our key)."""
        own = self.own_encryption_keys.get(own_key_id)
        if own is None:
            return None
        cache_key = (own_key_id, sender, sender_key.key_id)
        channel = self._channels.get(cache_key)
        if channel is None:
            channel = self._channels[cache_key] = own.channel(sender_key)
        return channel

    def stored_channel(self, own_key_id: str, sender: str, sender_key_id: str) -> Channel | None:
        """The channel to open a stored envelope, from any version held; None if a key is unknown."""
        raw = self.stored_keys.get((sender, sender_key_id))
        if raw is None:
            key = self.encryption_keys.get((sender, sender_key_id))
            raw = key.public if key else None
        if raw is None:
            return None
        return self.channel(own_key_id, sender, EncryptionPublicKey(sender_key_id, raw))


class LivePeerDirectory(PeerDirectory):
    """A peer directory whose content the node replaces when the federation changes.

    Every part of the node holds this one object; :meth:`replace` swaps the
    peers and the policy together, under a lock, so a reader sees either the
    old set or the new one.
    """

    def __init__(self, peers: Iterable[Peer] = (), policy: Policy | None = None) -> None:
        super().__init__(peers)
        self.policy = policy
        self._swap = threading.Lock()

    def replace(self, peers: Iterable[Peer], policy: Policy | None) -> None:
        fresh = {p.node_id: p for p in peers}
        with self._swap:
            self._peers = fresh
            self.policy = policy
