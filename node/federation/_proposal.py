"""Building manifest versions: a genesis from the founders' identities, and the
next version from the current one and a list of changes.

A proposal is a SignedManifest with no signatures yet; members add theirs
with :func:`~tamga.federation.sign_manifest`, and any member applies it once
enough have signed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from tamga.errors import ManifestError
from tamga.federation._manifest import CURRENT_RULES, RECORD_TYPES, VerifiedManifest, parse_manifest
from tamga.protocol import Peer, read_identity
from tamga.protocol._time import to_nanos
from tamga.v1 import federation_pb2, identity_pb2

__all__ = ["Changes", "genesis_proposal", "member_from_identity", "member_from_peer", "successor_proposal"]


def _set_time(ts: object, seconds: float | None) -> None:
    if seconds is not None:
        ts.FromNanoseconds(to_nanos(seconds))  # type: ignore[attr-defined]


def member_from_identity(
    signed: identity_pb2.SignedIdentity, *, valid_from: float | None = None
) -> federation_pb2.Member:
    """A member entry from a node's signed identity (``tamga identity export``), carrying it.

    The entry says exactly what the identity says, and carries the identity:
    every node checks the two agree when the member is added.

    Raises:
        CryptoError: the identity does not verify.
    """
    return member_from_peer(read_identity(signed), valid_from=valid_from, identity=signed)


def member_from_peer(
    peer: Peer, *, valid_from: float | None = None, identity: identity_pb2.SignedIdentity | None = None
) -> federation_pb2.Member:
    """A member entry from a node's checked identity; ``identity`` is its signed document, carried when given.

    Without ``identity`` the entry is fit for a genesis only (founders consent
    by signing it); a member added later must carry its signed identity.
    """
    m = federation_pb2.Member(
        node_id=peer.node_id, country=peer.country, authority=peer.authority, endpoints=list(peer.endpoints)
    )
    sk = m.signing_keys.add(key_id=peer.verify_key.key_id, public_key=peer.verify_key.raw)
    ek = m.encryption_keys.add(key_id=peer.encryption_key.key_id, public_key=peer.encryption_key.raw)
    _set_time(sk.valid_from, valid_from)
    _set_time(ek.valid_from, valid_from)
    cert = getattr(peer, "tls_certificate", b"")
    if cert:
        m.tls_certificate = cert
        m.tls_certificate_sha256 = hashlib.sha256(cert).hexdigest()
    if identity is not None:
        m.identity.CopyFrom(identity)
    return m


def _agreements(
    members: Sequence[str], allow: Iterable[tuple[str, str, Sequence[str]]]
) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for sender, receiver, types in allow:
        senders = members if sender == "*" else [sender]
        receivers = members if receiver == "*" else [receiver]
        kinds = sorted(RECORD_TYPES) if list(types) == ["*"] else list(types)
        for s in senders:
            for r in receivers:
                if s != r:
                    out.setdefault((s, r), set()).update(kinds)
    return out


def _put_agreements(manifest: federation_pb2.Manifest, table: Mapping[tuple[str, str], set[str]]) -> None:
    del manifest.agreements[:]
    for (s, r), kinds in sorted(table.items()):
        if kinds:
            manifest.agreements.add(sender=s, receiver=r, record_types=sorted(kinds))


def genesis_proposal(
    *,
    federation_id: str,
    founders: Sequence[federation_pb2.Member],
    threshold: int,
    allow: Iterable[tuple[str, str, Sequence[str]]] = (),
    issued_at: float,
    summary: str = "",
) -> federation_pb2.SignedManifest:
    """Version 1, for every founder to sign. ``allow`` takes ``("*", "*", ["*"])`` forms.

    Raises:
        ManifestError: the result would not be a valid manifest.
    """
    manifest = federation_pb2.Manifest(
        federation_id=federation_id, version=1, threshold=threshold, summary=summary, rules=CURRENT_RULES
    )
    manifest.members.extend(founders)
    _set_time(manifest.issued_at, issued_at)
    _put_agreements(manifest, _agreements([m.node_id for m in founders], allow))
    signed = federation_pb2.SignedManifest(manifest=manifest.SerializeToString())
    parse_manifest(signed, what="proposed genesis")
    return signed


@dataclass
class Changes:
    """What a proposal changes in the current version."""

    add: list[federation_pb2.Member] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    threshold: int | None = None
    allow: list[tuple[str, str, list[str]]] = field(default_factory=list)
    disallow: list[tuple[str, str, list[str]]] = field(default_factory=list)
    endpoints: dict[str, list[str]] = field(default_factory=dict)
    # (node id, "signing" | "encryption", key): a new key of a member (rotation)
    new_keys: list[tuple[str, str, federation_pb2.MemberKey]] = field(default_factory=list)
    # (node id, key id, until): the old key of a rotation stays valid until then
    key_ends: list[tuple[str, str, float]] = field(default_factory=list)
    tls_certificates: dict[str, bytes] = field(default_factory=dict)


def successor_proposal(
    current: VerifiedManifest, changes: Changes, *, issued_at: float, summary: str = ""
) -> federation_pb2.SignedManifest:
    """Version N+1 of ``current`` with ``changes`` applied, unsigned.

    Raises:
        ManifestError: a change names an unknown member or key, or the result
            would not be a valid manifest.
    """
    manifest = federation_pb2.Manifest()
    manifest.CopyFrom(current.manifest)
    manifest.version = current.version + 1
    manifest.previous_hash = current.hash
    manifest.summary = summary
    manifest.rules = max(manifest.rules, CURRENT_RULES)  # a chain made before member consent takes it on now
    manifest.ClearField("issued_at")
    _set_time(manifest.issued_at, issued_at)
    by_id = {m.node_id: m for m in manifest.members}
    for node_id in changes.remove:
        if node_id not in by_id:
            raise ManifestError(f"cannot remove {node_id!r}: not a member of version {current.version}")
        del by_id[node_id]
    for member in changes.add:
        if member.node_id in by_id:
            raise ManifestError(f"cannot add {member.node_id!r}: already a member")
        by_id[member.node_id] = member
    for node_id, endpoints in changes.endpoints.items():
        if node_id not in by_id:
            raise ManifestError(f"cannot set endpoints of {node_id!r}: not a member")
        del by_id[node_id].endpoints[:]
        by_id[node_id].endpoints.extend(endpoints)
    for node_id, kind, key in changes.new_keys:
        if node_id not in by_id:
            raise ManifestError(f"cannot add a key to {node_id!r}: not a member")
        getattr(by_id[node_id], f"{kind}_keys").add().CopyFrom(key)
    for node_id, key_id, until in changes.key_ends:
        member = by_id.get(node_id)
        keys = [k for k in (*member.signing_keys, *member.encryption_keys) if k.key_id == key_id] if member else []
        if not keys:
            raise ManifestError(f"{node_id!r} has no key {key_id!r} to end")
        for k in keys:
            _set_time(k.valid_until, until)
    for node_id, cert in changes.tls_certificates.items():
        if node_id not in by_id:
            raise ManifestError(f"cannot set the TLS certificate of {node_id!r}: not a member")
        by_id[node_id].tls_certificate = cert
        by_id[node_id].tls_certificate_sha256 = hashlib.sha256(cert).hexdigest()
    del manifest.members[:]
    manifest.members.extend(by_id[k] for k in sorted(by_id))
    if changes.threshold is not None:
        manifest.threshold = changes.threshold
    table: dict[tuple[str, str], set[str]] = {}
    for a in manifest.agreements:
        if a.sender in by_id and a.receiver in by_id:
            table.setdefault((a.sender, a.receiver), set()).update(a.record_types)
    for pair, kinds in _agreements(sorted(by_id), changes.allow).items():
        table.setdefault(pair, set()).update(kinds)
    for pair, kinds in _agreements(sorted(by_id), changes.disallow).items():
        table.get(pair, set()).difference_update(kinds)
    _put_agreements(manifest, table)
    signed = federation_pb2.SignedManifest(manifest=manifest.SerializeToString())
    parse_manifest(signed, what="proposal")
    return signed
