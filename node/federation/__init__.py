"""Trust without a central server: the co-signed federation manifest.

- :mod:`._manifest`: verifying versions and chains, signatures, revocations,
  and the words that describe a change (pure, no I/O);
- :mod:`._proposal`: building a genesis and the next version;
- :mod:`._state`: the chain a node holds on disk, adoption of versions
  offered by peers, fork alarms;
- :func:`peers_from_manifest`: the peers a node exchanges with, as the
  current version lists them.
"""

from __future__ import annotations

import time

from tamga.crypto import EncryptionPublicKey, VerifyKey
from tamga.federation._manifest import (
    CURRENT_RULES,
    MANIFEST_PURPOSE,
    REVOCATION_PURPOSE,
    RULES_MEMBER_CONSENT,
    KeyInfo,
    MemberInfo,
    Revocation,
    VerifiedManifest,
    consent_needed,
    describe_changes,
    double_signers,
    grouped,
    identity_fingerprints,
    identity_problems,
    is_majority,
    make_revocation,
    manifest_hash,
    parse_manifest,
    sign_manifest,
    signature_report,
    tls_fingerprint,
    verify_chain,
    verify_genesis,
    verify_revocation,
    verify_successor,
)
from tamga.federation._proposal import (
    Changes,
    genesis_proposal,
    member_from_identity,
    member_from_peer,
    successor_proposal,
)
from tamga.federation._state import FederationState, Offer
from tamga.protocol import Peer, PeerDirectory

__all__ = [
    "CURRENT_RULES",
    "MANIFEST_PURPOSE",
    "REVOCATION_PURPOSE",
    "RULES_MEMBER_CONSENT",
    "Changes",
    "FederationState",
    "KeyInfo",
    "MemberInfo",
    "Offer",
    "Revocation",
    "VerifiedManifest",
    "consent_needed",
    "current_key",
    "describe_changes",
    "double_signers",
    "genesis_proposal",
    "grouped",
    "identity_fingerprints",
    "identity_problems",
    "is_majority",
    "make_revocation",
    "manifest_hash",
    "member_from_identity",
    "member_from_peer",
    "parse_manifest",
    "peers_from_manifest",
    "sign_manifest",
    "signature_report",
    "successor_proposal",
    "tls_fingerprint",
    "verify_chain",
    "verify_genesis",
    "verify_revocation",
    "verify_successor",
]


def current_key(keys: tuple[KeyInfo, ...], at: float, revoked: dict[str, float]) -> KeyInfo | None:
    """The key to use now: valid at ``at``, not revoked, the most recently started."""
    valid = [k for k in keys if k.valid_at(at, revoked.get(k.key_id))]
    return max(valid, key=lambda k: (k.valid_from or 0.0, k.key_id)) if valid else None


def peers_from_manifest(
    manifest: VerifiedManifest,
    local_node_id: str,
    *,
    revoked: dict[tuple[str, str], float] | None = None,
    now: float | None = None,
) -> PeerDirectory:
    """Every other member as a peer, with the keys valid now.

    A member with no valid signing or encryption key left (all expired or
    revoked) is not a peer until a new version gives it one.
    """
    at = time.time() if now is None else now
    directory = PeerDirectory()
    for member in manifest.members.values():
        if member.node_id == local_node_id:
            continue
        mine = {kid: t for (nid, kid), t in (revoked or {}).items() if nid == member.node_id}
        sk = current_key(member.signing_keys, at, mine)
        ek = current_key(member.encryption_keys, at, mine)
        if sk is None or ek is None:
            continue
        peer = Peer(
            node_id=member.node_id,
            country=member.country,
            authority=member.authority,
            verify_key=VerifyKey(sk.key_id, sk.public),
            encryption_key=EncryptionPublicKey(ek.key_id, ek.public),
            endpoints=member.endpoints,
        )
        if hasattr(peer, "tls_certificate"):
            peer.tls_certificate = member.tls_certificate
        directory.add(peer)
    return directory
