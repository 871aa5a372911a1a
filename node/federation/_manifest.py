"""The federation manifest: verifying versions and chains, signing, describing changes.

Pure functions over bytes and time values; no I/O. Rules:

1. A manifest version is kept as the exact bytes that were signed
   (``SignedManifest.manifest``); nobody re-encodes one to check it.
2. The genesis (version 1, no previous hash) is valid only when every
   founding member has signed it, each with a signing key the genesis lists
   for that member.
3. Version N+1 is valid only when it names the hash of version N, keeps the
   federation id, and carries valid signatures of at least ``threshold``
   distinct members *of version N*, each with a signing key version N lists
   for that member, valid when N+1 was issued and not revoked. So a member
   cannot add itself, and a removed member has no say in what follows.
4. Every node verifies the whole chain from its own genesis; a version that
   does not follow from the one a node holds is refused, whoever offers it.
5. A member may revoke one of its own keys at once, with no vote, by a
   revocation signed with any of its signing keys (another key, typically, or
   the compromised key itself when it is the only one).
6. A member's keys are its own (``MANIFEST_RULES_MEMBER_CONSENT``, the rules of
   every chain made since; older chains keep the rules they were made under
   until a version raises them, and rules never go back):

   - a version that changes member M's keys (added, dropped or with another
     validity), TLS certificate, endpoints, country or authority needs M's own
     valid signature besides the threshold, by a signing key version N lists
     for M (a key M holds *before* the change: a quorum that stole nothing
     cannot install keys for M, and M's new key does not vouch for itself);
   - a member a version adds carries its own signed identity
     (``Member.identity``, what ``tamga identity export`` writes), and its
     entry must say exactly what that identity says: node id, country,
     authority, endpoints, signing key, encryption key, TLS certificate. A
     proposal edited before anyone signed cannot swap a newcomer's encryption
     key while the fingerprint the signers compare stays the same;
   - a quorum may remove a member without it (a member that lost its keys is
     removed and admitted again), and a removed member's signature does not
     count towards the threshold of its own removal: removal is the others'
     decision.

   A threshold that is not a strict majority (2 of 4) lets two disjoint groups
   each sign a different next version; the chain stays valid (old chains keep
   loading), but ``tamga federation init/propose`` refuse to make one unless
   forced and ``tamga federation show`` warns. Two valid versions of one
   number are a fork; :func:`double_signers` names the members who signed
   both.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pycountry
from google.protobuf.message import DecodeError
from tamga.crypto import SigningKey, VerifyKey, fingerprint
from tamga.errors import CryptoError, ManifestError
from tamga.protocol._identity import check_node_id, read_identity
from tamga.protocol._time import to_nanos
from tamga.terminal import safe
from tamga.v1 import federation_pb2, records_pb2

__all__ = [
    "CURRENT_RULES",
    "MANIFEST_PURPOSE",
    "REVOCATION_PURPOSE",
    "RULES_MEMBER_CONSENT",
    "KeyInfo",
    "MemberInfo",
    "Revocation",
    "VerifiedManifest",
    "consent_needed",
    "describe_changes",
    "double_signers",
    "grouped",
    "identity_fingerprints",
    "identity_problems",
    "is_majority",
    "make_revocation",
    "manifest_hash",
    "parse_manifest",
    "sign_manifest",
    "signature_report",
    "tls_fingerprint",
    "verify_chain",
    "verify_genesis",
    "verify_revocation",
    "verify_successor",
]

MANIFEST_PURPOSE = "tamga/v1/manifest"
REVOCATION_PURPOSE = "tamga/v1/revocation"

RULES_MEMBER_CONSENT = federation_pb2.MANIFEST_RULES_MEMBER_CONSENT
CURRENT_RULES = RULES_MEMBER_CONSENT
"""The rules a new genesis or proposal is made under."""

RECORD_TYPES = frozenset(f.name for f in records_pb2.Record.DESCRIPTOR.oneofs_by_name["body"].fields)
_ENDPOINT = re.compile(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}")


def _seconds(ts: object) -> float | None:
    """A Timestamp as seconds since the epoch, None when unset."""
    nanos = ts.ToNanoseconds()  # type: ignore[attr-defined]
    return nanos / 1e9 if nanos else None


def manifest_hash(manifest_bytes: bytes) -> bytes:
    """SHA-256 of a version's manifest bytes: what the next version names."""
    return hashlib.sha256(manifest_bytes).digest()


def grouped(hex_digits: str) -> str:
    """Hex digits in groups of four, as every fingerprint is shown (``c478 4e1e 25d9 ...``)."""
    return " ".join(hex_digits[i : i + 4] for i in range(0, len(hex_digits), 4))


def tls_fingerprint(certificate_sha256: str) -> str:
    """A TLS certificate's full SHA-256 (lowercase hex) in groups of four."""
    return grouped(certificate_sha256)


def identity_fingerprints(signing: VerifyKey, encryption: object, tls_certificate: bytes) -> list[str]:
    """The three lines a joining node reads out and the members compare: every one in full, grouped.

    ``encryption`` is an :class:`~tamga.crypto.EncryptionPublicKey` (its ``key_id`` and ``raw``).
    """
    lines = [
        f"signing key {signing.key_id} fingerprint {fingerprint(signing.raw)}",
        f"encryption key {encryption.key_id} fingerprint {fingerprint(encryption.raw)}",  # type: ignore[attr-defined]
    ]
    if tls_certificate:
        lines.append(f"TLS certificate SHA-256 {tls_fingerprint(hashlib.sha256(tls_certificate).hexdigest())}")
    return lines


def is_majority(threshold: int, members: int) -> bool:
    """Whether ``threshold`` signatures are a strict majority of ``members``.

    Below it (2 of 4), two disjoint groups can each sign a different next
    version: a fork that nobody broke a rule to make.
    """
    return 2 * threshold > members


@dataclass(frozen=True, slots=True)
class KeyInfo:
    """A member's public key with its validity (seconds since the epoch)."""

    key_id: str
    public: bytes
    valid_from: float | None
    valid_until: float | None

    def valid_at(self, at: float, revoked_at: float | None = None) -> bool:
        if self.valid_from is not None and at < self.valid_from:
            return False
        if self.valid_until is not None and at > self.valid_until:
            return False
        return revoked_at is None or at < revoked_at

    @property
    def verify_key(self) -> VerifyKey:
        return VerifyKey(self.key_id, self.public)


@dataclass(frozen=True, slots=True)
class MemberInfo:
    """A member as one manifest version lists it."""

    node_id: str
    country: str
    authority: str
    endpoints: tuple[str, ...]
    signing_keys: tuple[KeyInfo, ...]
    encryption_keys: tuple[KeyInfo, ...]
    tls_certificate: bytes
    tls_certificate_sha256: str
    # The member's SignedIdentity as given when it joined (its identity bytes and signature, exactly as
    # carried), None when the entry carries none.
    identity: tuple[bytes, bytes] | None = None

    def signing_key(self, key_id: str) -> KeyInfo | None:
        return next((k for k in self.signing_keys if k.key_id == key_id), None)

    def encryption_key(self, key_id: str) -> KeyInfo | None:
        return next((k for k in self.encryption_keys if k.key_id == key_id), None)


@dataclass(frozen=True, slots=True)
class Revocation:
    """A member's revocation of one of its keys, verified."""

    node_id: str
    key_id: str
    revoked_at: float
    reason: str
    signed: federation_pb2.SignedKeyRevocation


@dataclass(frozen=True, slots=True)
class VerifiedManifest:
    """A manifest version whose signatures and chain have been checked."""

    signed: federation_pb2.SignedManifest
    manifest: federation_pb2.Manifest
    hash: bytes
    members: dict[str, MemberInfo]
    agreements: frozenset[tuple[str, str, str]]

    @property
    def version(self) -> int:
        return int(self.manifest.version)

    @property
    def federation_id(self) -> str:
        return self.manifest.federation_id

    @property
    def threshold(self) -> int:
        return int(self.manifest.threshold)

    @property
    def issued_at(self) -> float:
        return _seconds(self.manifest.issued_at) or 0.0

    @property
    def rules(self) -> int:
        return int(self.manifest.rules)

    def member(self, node_id: str) -> MemberInfo | None:
        return self.members.get(node_id)

    def allows(self, sender: str, receiver: str, record_type: str) -> bool:
        """Whether an agreement lets ``sender`` send ``record_type`` to ``receiver``."""
        return (sender, receiver, record_type) in self.agreements

    def allowed_types(self, sender: str, receiver: str) -> list[str]:
        return sorted(t for s, r, t in self.agreements if s == sender and r == receiver)


# -- structure ---------------------------------------------------------------------


def parse_manifest(signed: federation_pb2.SignedManifest, *, what: str = "manifest") -> federation_pb2.Manifest:
    """Parse a version's manifest bytes and check its structure.

    Raises:
        ManifestError: the bytes do not parse, or the content is inconsistent;
            every problem is named.
    """
    try:
        manifest = federation_pb2.Manifest.FromString(signed.manifest)
    except DecodeError as exc:
        raise ManifestError(f"{what}: the manifest bytes do not parse (truncated or not a manifest)") from exc
    if not signed.manifest:
        raise ManifestError(f"{what}: the manifest is empty")
    what = f"{what} version {manifest.version}"
    problems: list[str] = []
    if not manifest.federation_id:
        problems.append("no federation id")
    if manifest.version < 1:
        problems.append("version must be 1 or more")
    if not manifest.members:
        problems.append("no members")
    seen: set[str] = set()
    for m in manifest.members:
        at = f"member {safe(m.node_id or '?', 80)}"  # not yet checked: it may hold anything
        try:
            check_node_id(m.node_id)
        except ValueError as exc:
            problems.append(f"{at}: {exc}")
        if m.node_id in seen:
            problems.append(f"{at}: listed twice")
        seen.add(m.node_id)
        if pycountry.countries.get(alpha_2=m.country) is None or len(m.country) != 2:
            problems.append(f"{at}: country {m.country!r} is not an ISO 3166-1 alpha-2 code")
        if not m.authority:
            problems.append(f"{at}: no authority name")
        for ep in m.endpoints:
            if not _ENDPOINT.fullmatch(ep):
                problems.append(f"{at}: endpoint {ep!r} is not host:port")
        for kind, keys, prefix in (
            ("signing", m.signing_keys, "ed25519:"),
            ("encryption", m.encryption_keys, "x25519:"),
        ):
            if not keys:
                problems.append(f"{at}: no {kind} key")
            ids = [k.key_id for k in keys]
            if len(set(ids)) != len(ids):
                problems.append(f"{at}: a {kind} key id is listed twice")
            for k in keys:
                if not k.key_id.startswith(prefix):
                    problems.append(f"{at}: {kind} key id {k.key_id!r} does not start with {prefix!r}")
                if len(k.public_key) != 32:
                    problems.append(f"{at}: {kind} key {k.key_id} is {len(k.public_key)} bytes, not 32")
                start, end = _seconds(k.valid_from), _seconds(k.valid_until)
                if start is not None and end is not None and end <= start:
                    problems.append(f"{at}: {kind} key {k.key_id} ends before it starts")
        if m.tls_certificate:
            sha = hashlib.sha256(m.tls_certificate).hexdigest()
            if m.tls_certificate_sha256 != sha:
                problems.append(f"{at}: tls_certificate_sha256 is not the SHA-256 of its certificate")
    if manifest.rules not in federation_pb2.ManifestRules.values():
        problems.append(
            f"governance rules {manifest.rules} are unknown to this node (a newer Tamga made this version: upgrade)"
        )
    if not 1 <= manifest.threshold <= max(len(manifest.members), 1):
        problems.append(f"threshold {manifest.threshold} must be between 1 and the {len(manifest.members)} members")
    for a in manifest.agreements:
        at = f"agreement {safe(a.sender or '?', 80)} -> {safe(a.receiver or '?', 80)}"
        for side in (a.sender, a.receiver):
            if side not in seen:
                problems.append(f"{at}: {side!r} is not a member")
        if a.sender == a.receiver:
            problems.append(f"{at}: a member does not send to itself")
        for t in a.record_types:
            if t not in RECORD_TYPES:
                problems.append(f"{at}: {t!r} is not a record type (known: {', '.join(sorted(RECORD_TYPES))})")
    if problems:
        raise ManifestError(f"{what} is not valid: " + "; ".join(problems))
    return manifest


def _members(manifest: federation_pb2.Manifest) -> dict[str, MemberInfo]:
    def keys(items: Iterable[federation_pb2.MemberKey]) -> tuple[KeyInfo, ...]:
        return tuple(
            KeyInfo(k.key_id, bytes(k.public_key), _seconds(k.valid_from), _seconds(k.valid_until)) for k in items
        )

    return {
        m.node_id: MemberInfo(
            node_id=m.node_id,
            country=m.country,
            authority=m.authority,
            endpoints=tuple(m.endpoints),
            signing_keys=keys(m.signing_keys),
            encryption_keys=keys(m.encryption_keys),
            tls_certificate=bytes(m.tls_certificate),
            tls_certificate_sha256=m.tls_certificate_sha256,
            identity=(bytes(m.identity.identity), bytes(m.identity.signature)) if m.HasField("identity") else None,
        )
        for m in manifest.members
    }


def _verified(signed: federation_pb2.SignedManifest, manifest: federation_pb2.Manifest) -> VerifiedManifest:
    agreements = frozenset((a.sender, a.receiver, t) for a in manifest.agreements for t in a.record_types)
    return VerifiedManifest(signed, manifest, manifest_hash(signed.manifest), _members(manifest), agreements)


# -- member consent ----------------------------------------------------------------


def identity_problems(member: federation_pb2.Member) -> list[str]:
    """What is wrong with the signed identity an added member's entry carries (empty: nothing).

    The identity must verify with the signing key it names, and the entry must
    list exactly what it says: node id, country, authority, endpoints, that
    one signing key, that one encryption key, that TLS certificate.
    """
    at = f"member {member.node_id}"
    if not member.HasField("identity") or not member.identity.identity:
        return [
            f"{at}: its entry carries no signed identity of its own (the file its node wrote with"
            " 'tamga identity export'); a member is added only with its own signature over its keys"
        ]
    try:
        peer = read_identity(member.identity)
    except CryptoError as exc:
        return [f"{at}: the signed identity in its entry does not verify ({exc}): forged or altered"]
    differ = []
    if peer.node_id != member.node_id:
        differ.append(f"node id {peer.node_id!r}")
    if (peer.country, peer.authority) != (member.country, member.authority):
        differ.append("country or authority")
    if tuple(peer.endpoints) != tuple(member.endpoints):
        differ.append("endpoints")
    if [(k.key_id, bytes(k.public_key)) for k in member.signing_keys] != [
        (peer.verify_key.key_id, peer.verify_key.raw)
    ]:
        differ.append("signing key")
    if [(k.key_id, bytes(k.public_key)) for k in member.encryption_keys] != [
        (peer.encryption_key.key_id, peer.encryption_key.raw)
    ]:
        differ.append("encryption key")
    if bytes(peer.tls_certificate) != bytes(member.tls_certificate):
        differ.append("TLS certificate")
    if differ:
        return [
            f"{at}: its entry differs from the identity it signed ({', '.join(differ)}): the proposal was"
            " changed after the member gave its identity"
        ]
    return []


def _member_changes(old: MemberInfo, new: MemberInfo) -> list[str]:
    """What of a member's own (keys, certificate, endpoints, name) a version changes."""
    what = []
    if old.signing_keys != new.signing_keys:
        what.append("signing keys")
    if old.encryption_keys != new.encryption_keys:
        what.append("encryption keys")
    if (old.tls_certificate, old.tls_certificate_sha256) != (new.tls_certificate, new.tls_certificate_sha256):
        what.append("TLS certificate")
    if old.endpoints != new.endpoints:
        what.append("endpoints")
    if (old.country, old.authority) != (new.country, new.authority):
        what.append("country or authority")
    if old.identity != new.identity:
        what.append("signed identity")
    return what


def consent_needed(previous: VerifiedManifest, manifest: federation_pb2.Manifest) -> dict[str, list[str]]:
    """Members of ``previous`` that stay in ``manifest`` and whose own entries it changes: node id -> what.

    Under member consent each of them must sign the version too.
    """
    new = _members(manifest)
    out = {}
    for node_id in sorted(set(previous.members) & set(new)):
        what = _member_changes(previous.members[node_id], new[node_id])
        if what:
            out[node_id] = what
    return out


def _rules(previous: VerifiedManifest | None, manifest: federation_pb2.Manifest) -> int:
    return max(int(manifest.rules), previous.rules if previous is not None else 0)


def _consent_problems(previous: VerifiedManifest, manifest: federation_pb2.Manifest, valid: set[str]) -> list[str]:
    problems = []
    for node_id, what in consent_needed(previous, manifest).items():
        if node_id not in valid:
            problems.append(
                f"it changes member {node_id}'s {', '.join(what)} without {node_id}'s own signature (a member's"
                f" keys, TLS certificate and endpoints change only with its consent, signed with a key version"
                f" {previous.version} lists for it)"
            )
    for m in manifest.members:
        if m.node_id not in previous.members:
            problems.extend(identity_problems(m))
    return problems


def _counted(previous: VerifiedManifest, manifest: federation_pb2.Manifest, valid: set[str]) -> set[str]:
    """The valid signers that count towards the threshold: not the members this version removes."""
    if _rules(previous, manifest) < RULES_MEMBER_CONSENT:
        return valid
    staying = {m.node_id for m in manifest.members}
    return {n for n in valid if n in staying}


# -- signatures --------------------------------------------------------------------


def _valid_signers(
    signed: federation_pb2.SignedManifest,
    signers: dict[str, MemberInfo],
    at: float,
    revoked: dict[tuple[str, str], float],
) -> tuple[set[str], list[str]]:
    """Members among ``signers`` with a valid signature on ``signed``, and what is wrong with the others."""
    valid: set[str] = set()
    problems: list[str] = []
    for sig in signed.signatures:
        member = signers.get(sig.node_id)
        if member is None:
            problems.append(f"signature by {sig.node_id!r}, who cannot sign this version (not a member)")
            continue
        key = member.signing_key(sig.key_id)
        if key is None:
            problems.append(f"signature by {sig.node_id} with key {sig.key_id!r}, not one of its keys")
            continue
        if not key.valid_at(at, revoked.get((sig.node_id, sig.key_id))):
            problems.append(f"signature by {sig.node_id} with key {sig.key_id}, not valid (expired or revoked)")
            continue
        try:
            key.verify_key.verify(MANIFEST_PURPOSE, sig.signature, signed.manifest)
        except CryptoError:
            problems.append(f"signature by {sig.node_id} with key {sig.key_id} does not verify (forged or altered)")
            continue
        valid.add(sig.node_id)
    return valid, problems


def verify_genesis(
    signed: federation_pb2.SignedManifest, *, revoked: dict[tuple[str, str], float] | None = None
) -> VerifiedManifest:
    """Check the first version: version 1, no previous hash, signed by every founding member.

    Raises:
        ManifestError: saying which member has not signed or whose signature fails.
    """
    manifest = parse_manifest(signed, what="genesis")
    if manifest.version != 1 or manifest.previous_hash:
        raise ManifestError(
            f"genesis must be version 1 with no previous hash, found version {manifest.version}"
            + (" with a previous hash" if manifest.previous_hash else "")
        )
    members = _members(manifest)
    valid, problems = _valid_signers(signed, members, _seconds(manifest.issued_at) or 0.0, revoked or {})
    missing = sorted(set(members) - valid)
    if missing:
        raise ManifestError(
            f"genesis: every founding member must sign it; missing or invalid: {', '.join(missing)}"
            + (f" ({'; '.join(problems)})" if problems else "")
        )
    # A founder consents to its own entry by signing the genesis; the signed identity it gave, when carried,
    # must say the same all the same (every node checks what the founders compared).
    carried = [p for m in manifest.members if m.HasField("identity") for p in identity_problems(m)]
    if carried:
        raise ManifestError("genesis is refused: " + "; ".join(carried))
    return _verified(signed, manifest)


def verify_successor(
    previous: VerifiedManifest,
    signed: federation_pb2.SignedManifest,
    *,
    revoked: dict[tuple[str, str], float] | None = None,
) -> VerifiedManifest:
    """Check version N+1 against version N.

    Raises:
        ManifestError: wrong version, hash or federation, or too few valid
            signatures of members of version N; says which.
    """
    manifest = parse_manifest(signed)
    what = f"manifest version {manifest.version}"
    if manifest.version != previous.version + 1:
        raise ManifestError(f"{what} does not follow version {previous.version} (expected {previous.version + 1})")
    if manifest.federation_id != previous.federation_id:
        raise ManifestError(f"{what} belongs to federation {manifest.federation_id!r}, not {previous.federation_id!r}")
    if manifest.previous_hash != previous.hash:
        raise ManifestError(f"{what} does not name the hash of version {previous.version}: it follows another chain")
    issued = _seconds(manifest.issued_at) or 0.0
    if issued < previous.issued_at:
        raise ManifestError(f"{what} is dated before version {previous.version}")
    if manifest.rules < previous.rules:
        raise ManifestError(
            f"{what} names governance rules {manifest.rules}, below version {previous.version}'s"
            f" {previous.rules}: the rules never go back"
        )
    valid, problems = _valid_signers(signed, previous.members, issued, revoked or {})
    counted = _counted(previous, manifest, valid)
    if len(counted) < previous.threshold:
        removed = sorted(valid - counted)
        raise ManifestError(
            f"{what} has {len(counted)} valid signature(s) of members of version {previous.version}"
            f" ({', '.join(sorted(counted)) or 'none'}); {previous.threshold} are needed"
            + (f" ({', '.join(removed)} signed a version removing them, which does not count)" if removed else "")
            + (f" ({'; '.join(problems)})" if problems else "")
        )
    if _rules(previous, manifest) >= RULES_MEMBER_CONSENT:
        refused = _consent_problems(previous, manifest, valid)
        if refused:
            raise ManifestError(f"{what} is refused: " + "; ".join(refused))
    return _verified(signed, manifest)


def verify_chain(
    chain: Sequence[federation_pb2.SignedManifest], *, revoked: dict[tuple[str, str], float] | None = None
) -> list[VerifiedManifest]:
    """Verify every version from the genesis; returns them all, the newest last.

    Raises:
        ManifestError: the first version that fails, and why.
    """
    if not chain:
        raise ManifestError("no manifest: the chain is empty")
    out = [verify_genesis(chain[0], revoked=revoked)]
    for signed in chain[1:]:
        out.append(verify_successor(out[-1], signed, revoked=revoked))
    return out


def signature_report(
    previous: VerifiedManifest | None, signed: federation_pb2.SignedManifest
) -> tuple[list[str], list[str], int]:
    """For a proposal: (members whose valid signatures count, problems, signatures needed).

    A removed member's signature is valid but does not count towards its own
    removal (member consent rules); :func:`consent_needed` says whose own
    signatures a version needs besides.
    """
    manifest = parse_manifest(signed, what="proposal")
    if previous is None:
        members = _members(manifest)
        needed = len(members)
    else:
        members, needed = previous.members, previous.threshold
    valid, problems = _valid_signers(signed, members, _seconds(manifest.issued_at) or 0.0, {})
    if previous is not None:
        valid = _counted(previous, manifest, valid)
    return sorted(valid), problems, needed


def double_signers(
    previous: VerifiedManifest | None,
    one: federation_pb2.SignedManifest,
    other: federation_pb2.SignedManifest,
    *,
    revoked: dict[tuple[str, str], float] | None = None,
) -> list[str]:
    """Members with valid signatures on both of two different versions of one number (a fork's authors).

    ``previous`` is the version both follow (None for two geneses). A member
    must never sign two versions of one number; the fork alarm names these.
    """
    sets = []
    for signed in (one, other):
        manifest = parse_manifest(signed)
        members = _members(manifest) if previous is None else previous.members
        valid, _ = _valid_signers(signed, members, _seconds(manifest.issued_at) or 0.0, revoked or {})
        sets.append(valid)
    return sorted(sets[0] & sets[1])


def sign_manifest(
    signed: federation_pb2.SignedManifest, node_id: str, key: SigningKey
) -> federation_pb2.SignedManifest:
    """The proposal with ``node_id``'s signature added (replacing an earlier one of the same member)."""
    out = federation_pb2.SignedManifest(manifest=signed.manifest)
    out.signatures.extend(s for s in signed.signatures if s.node_id != node_id)
    out.signatures.add(node_id=node_id, key_id=key.key_id, signature=key.sign(MANIFEST_PURPOSE, signed.manifest))
    return out


# -- revocations -------------------------------------------------------------------


def make_revocation(
    node_id: str, signer: SigningKey, key_id: str, revoked_at: float, reason: str
) -> federation_pb2.SignedKeyRevocation:
    """A member's revocation of its own key ``key_id``, signed with ``signer``."""
    rev = federation_pb2.KeyRevocation(node_id=node_id, key_id=key_id, reason=reason)
    rev.revoked_at.FromNanoseconds(to_nanos(revoked_at))
    body = rev.SerializeToString()
    return federation_pb2.SignedKeyRevocation(
        revocation=body, signer_key_id=signer.key_id, signature=signer.sign(REVOCATION_PURPOSE, body)
    )


def verify_revocation(manifest: VerifiedManifest, signed: federation_pb2.SignedKeyRevocation) -> Revocation:
    """Check a revocation against the member's keys in ``manifest``.

    Raises:
        ManifestError: not a member, not its key, or a bad signature.
    """
    try:
        rev = federation_pb2.KeyRevocation.FromString(signed.revocation)
    except DecodeError as exc:
        raise ManifestError("key revocation does not parse") from exc
    member = manifest.member(rev.node_id)
    if member is None:
        raise ManifestError(f"key revocation for {rev.node_id!r}, not a member of version {manifest.version}")
    if member.signing_key(rev.key_id) is None and member.encryption_key(rev.key_id) is None:
        raise ManifestError(f"key revocation: {rev.node_id} has no key {rev.key_id!r}")
    signer = member.signing_key(signed.signer_key_id)
    if signer is None:
        raise ManifestError(f"key revocation signed with {signed.signer_key_id!r}, not a signing key of {rev.node_id}")
    try:
        signer.verify_key.verify(REVOCATION_PURPOSE, signed.signature, signed.revocation)
    except CryptoError as exc:
        raise ManifestError(f"key revocation by {rev.node_id}: signature does not verify") from exc
    return Revocation(rev.node_id, rev.key_id, _seconds(rev.revoked_at) or 0.0, rev.reason, signed)


# -- words -----------------------------------------------------------------------


def _fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "no end"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M UTC")


def _key_words(k: KeyInfo) -> str:
    return (
        f"{k.key_id} (fingerprint {fingerprint(k.public)}, valid {_fmt_time(k.valid_from)} to"
        f" {_fmt_time(k.valid_until)})"
    )


def describe_changes(previous: VerifiedManifest | None, manifest: federation_pb2.Manifest) -> list[str]:
    """What a version changes, in words a customs officer can check before signing."""
    new_members = _members(manifest)
    lines: list[str] = []
    if previous is None:
        lines.append(
            f"creates federation {manifest.federation_id!r} (version 1) with {len(new_members)} founding members;"
            f" later changes need {manifest.threshold} signatures"
        )
        old_members: dict[str, MemberInfo] = {}
        old_agreements: frozenset[tuple[str, str, str]] = frozenset()
    else:
        lines.append(f"version {previous.version} -> {manifest.version} of federation {manifest.federation_id!r}")
        old_members, old_agreements = previous.members, previous.agreements
        if manifest.threshold != previous.threshold:
            lines.append(
                f"changes the signatures needed for a change from {previous.threshold} to {manifest.threshold}"
            )
        if manifest.rules > previous.rules and manifest.rules >= RULES_MEMBER_CONSENT:
            lines.append(
                "from this version on, a change of a member's keys, TLS certificate or endpoints needs that"
                " member's own signature, and a new member's entry its own signed identity"
            )
    for node_id in sorted(set(new_members) - set(old_members)):
        m = new_members[node_id]
        lines.append(
            f"adds member {node_id}: {m.authority} ({m.country}), endpoints {', '.join(m.endpoints) or 'none'}"
        )
        for k in m.signing_keys:
            lines.append(f"  signing key {_key_words(k)}")
        for k in m.encryption_keys:
            lines.append(f"  encryption key {_key_words(k)}")
        if m.tls_certificate_sha256:
            lines.append(f"  TLS certificate SHA-256 {tls_fingerprint(m.tls_certificate_sha256)}")
        if m.identity is not None:
            lines.append(f"  carries {node_id}'s own signed identity (every node checks the entry against it)")
        elif previous is not None:
            lines.append(f"  NOT signed by {node_id} itself: its entry carries no signed identity")
    for node_id in sorted(set(old_members) - set(new_members)):
        m = old_members[node_id]
        lines.append(
            f"REMOVES member {node_id}: {m.authority} ({m.country}); its records will be refused everywhere"
            + (
                f" (a decision of the others: {node_id}'s own signature does not count)"
                if _rules(previous, manifest) >= RULES_MEMBER_CONSENT
                else ""
            )
        )
    for node_id in sorted(set(old_members) & set(new_members)):
        old, new = old_members[node_id], new_members[node_id]
        if old.endpoints != new.endpoints:
            lines.append(f"member {node_id}: endpoints {', '.join(old.endpoints)} -> {', '.join(new.endpoints)}")
        if (old.country, old.authority) != (new.country, new.authority):
            lines.append(f"member {node_id}: now {new.authority} ({new.country})")
        for kind, olds, news in (
            ("signing", old.signing_keys, new.signing_keys),
            ("encryption", old.encryption_keys, new.encryption_keys),
        ):
            old_by, new_by = {k.key_id: k for k in olds}, {k.key_id: k for k in news}
            for kid in sorted(set(new_by) - set(old_by)):
                lines.append(f"member {node_id}: new {kind} key {_key_words(new_by[kid])}")
            for kid in sorted(set(old_by) - set(new_by)):
                lines.append(f"member {node_id}: drops {kind} key {kid}")
            for kid in sorted(set(old_by) & set(new_by)):
                if old_by[kid] != new_by[kid]:
                    lines.append(f"member {node_id}: {kind} key now {_key_words(new_by[kid])}")
        if old.tls_certificate_sha256 != new.tls_certificate_sha256:
            lines.append(f"member {node_id}: TLS certificate SHA-256 now {tls_fingerprint(new.tls_certificate_sha256)}")
        if old.identity != new.identity:
            lines.append(f"member {node_id}: its signed identity document is replaced")
        if _member_changes(old, new) and _rules(previous, manifest) >= RULES_MEMBER_CONSENT:
            lines.append(f"  (a change of {node_id}'s own entry: valid only with {node_id}'s own signature)")
    new_agreements = frozenset((a.sender, a.receiver, t) for a in manifest.agreements for t in a.record_types)
    for verb, triples in (
        ("allows", new_agreements - old_agreements),
        ("no longer allows", old_agreements - new_agreements),
    ):
        by_pair: dict[tuple[str, str], list[str]] = {}
        for s, r, t in sorted(triples):
            by_pair.setdefault((s, r), []).append(t)
        for (s, r), kinds in by_pair.items():
            what = "every record type" if set(kinds) == RECORD_TYPES else ", ".join(kinds)
            lines.append(f"{verb} {s} to send {what} to {r}")
    if not is_majority(manifest.threshold, len(new_members)) and (
        previous is None or manifest.threshold != previous.threshold or len(new_members) != len(old_members)
    ):
        lines.append(
            f"WARNING: {manifest.threshold} of {len(new_members)} signatures is not a majority: two groups of"
            f" members could each sign a different version {manifest.version + 1}"
        )
    if manifest.summary:
        lines.append(f"proposer's summary: {manifest.summary}")
    return lines
