"""Governance: the files and the logic behind ``tamga federation ...``.

A change of the federation travels between customs services as a *proposal
file*, a JSON document anyone can read::

    {
      "format": "tamga-manifest/1",
      "federation_id": "sco-customs",          # readable, checked against the signed bytes
      "version": 2,                            # readable, checked against the signed bytes
      "changes": ["version 1 -> 2 of ...", ...],  # readable, checked where the version before is known
      "manifest": "<base64 of the exact manifest bytes members sign>",
      "signatures": [{"node_id": "KZ", "key_id": "ed25519:1", "signature": "<base64>"}]
    }

Rules:

1. Only ``manifest`` and ``signatures`` carry weight; the readable fields are
   informational and must agree with the signed bytes, else the file is
   refused (as identity files are): an officer must never read one change and
   sign another.
2. Every signature already in a proposal is checked before a node adds its
   own or applies it; a forged one is refused, naming its claimed signer.
3. Applying writes only through :class:`~tamga.federation.FederationState`,
   which verifies the genesis or the version that follows; a running node
   reloads the federation folder (``HOME/federation``).

Key rotation (``tamga federation propose --rotate-keys``) writes this node's
next keys beside the current ones, in the keys folder, as *pending* files
(mode 0600, encrypted with the node's passphrase when the current keys are)::

    keys/signing.pending.key       ed25519:N+1
    keys/encryption.pending.key    x25519:N+1

They become the node's keys once a manifest version listing them for this
node is adopted: :func:`activate_pending_keys` (called by the node when it
adopts a version) moves the current files to ``keys/signing.<key id>.retired.key``
and ``keys/encryption.<key id>.retired.key`` (the old encryption key still
opens envelopes sealed before peers adopted the new version, and the old
signing key may sign a revocation) and the pending files into place.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError
from tamga.config import Config, parse_duration
from tamga.crypto import (
    EncryptionKey,
    SigningKey,
    fingerprint,
    is_encrypted_key_file,
    load_private_key_file,
    write_private_key_file,
)
from tamga.errors import ConfigError, CryptoError, KeyFileError, ManifestError, TamgaError
from tamga.federation import (
    RULES_MEMBER_CONSENT,
    FederationState,
    KeyInfo,
    VerifiedManifest,
    consent_needed,
    describe_changes,
    identity_problems,
    is_majority,
    make_revocation,
    manifest_hash,
    parse_manifest,
    sign_manifest,
    signature_report,
    tls_fingerprint,
    verify_genesis,
    verify_successor,
)
from tamga.federation._manifest import RECORD_TYPES
from tamga.intake import write_atomically
from tamga.protocol import LocalIdentity, Peer, read_identity
from tamga.protocol._time import to_nanos
from tamga.v1 import federation_pb2

__all__ = [
    "PROPOSAL_FORMAT",
    "AlreadyApplied",
    "BadProposal",
    "KeyRotation",
    "Proposal",
    "activate_pending_keys",
    "check_against_node",
    "federation_folder",
    "format_proposal",
    "load_state",
    "own_keys",
    "parse_allow",
    "parse_endpoint_change",
    "parse_overlap",
    "pending_key_paths",
    "prepare_rotation",
    "read_proposal",
    "read_proposal_file",
    "revoke_own_key",
    "show_document",
    "write_new_file",
]

PROPOSAL_FORMAT = "tamga-manifest/1"
DEFAULT_OVERLAP = 7 * 24 * 3600.0


class BadProposal(ManifestError):
    """A proposal file, or a command line, refused as input (the command exits 2)."""


class AlreadyApplied(BadProposal):
    """The proposal is the version this node already holds (applying it again changes nothing)."""


# -- the folder ----------------------------------------------------------------------


def federation_folder(config: Config) -> Path:
    """Where the node keeps its manifest chain: ``HOME/federation``."""
    return config.home / "federation"


def load_state(config: Config) -> FederationState:
    """This node's verified chain.

    Raises:
        ManifestError: the node holds no federation manifest, or its chain does not verify.
    """
    folder = federation_folder(config)
    if not FederationState.exists(folder):
        raise ManifestError(
            f"{folder}: this node holds no federation manifest yet; apply a genesis with "
            "'tamga federation apply GENESIS' (made with 'tamga federation init')"
        )
    return FederationState.load(folder)


# -- proposal files ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Proposal:
    """A proposal file as read: the signed manifest and its readable fields."""

    signed: federation_pb2.SignedManifest
    manifest: federation_pb2.Manifest
    document: dict[str, Any]
    where: str

    @property
    def version(self) -> int:
        return int(self.manifest.version)

    @property
    def federation_id(self) -> str:
        return self.manifest.federation_id

    @property
    def is_genesis(self) -> bool:
        return self.version == 1 and not self.manifest.previous_hash


def format_proposal(signed: federation_pb2.SignedManifest, previous: VerifiedManifest | None) -> str:
    """The proposal file's text for ``signed`` (the version after ``previous``, or a genesis)."""
    manifest = parse_manifest(signed, what="proposal")
    doc = {
        "format": PROPOSAL_FORMAT,
        "federation_id": manifest.federation_id,
        "version": int(manifest.version),
        "changes": describe_changes(previous, manifest),
        "manifest": base64.b64encode(signed.manifest).decode(),
        "signatures": [
            {"node_id": s.node_id, "key_id": s.key_id, "signature": base64.b64encode(s.signature).decode()}
            for s in signed.signatures
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _b64(value: object, where: str, what: str) -> bytes:
    if not isinstance(value, str) or not value:
        raise BadProposal(f"{where}: {what} is missing or not a text of base64")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadProposal(f"{where}: {what} is not valid base64 (the file was cut or changed)") from exc


def read_proposal(text: str, where: str) -> Proposal:
    """Check a proposal file's structure and its readable fields against the signed bytes.

    Signatures are only decoded here; :func:`check_against_node` verifies them.

    Raises:
        BadProposal: not a proposal file, truncated, not base64, or a readable
            field that disagrees with the signed manifest; the message says which.
    """
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadProposal(
            f"{where}: not a proposal file (invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg};"
            " truncated?)"
        ) from exc
    if not isinstance(doc, dict) or doc.get("format") != PROPOSAL_FORMAT:
        raise BadProposal(f"{where}: not a Tamga manifest proposal (format must be {PROPOSAL_FORMAT!r})")
    raw = _b64(doc.get("manifest"), where, "'manifest'")
    signed = federation_pb2.SignedManifest(manifest=raw)
    sigs = doc.get("signatures", [])
    if not isinstance(sigs, list):
        raise BadProposal(f"{where}: 'signatures' must be a list")
    for i, s in enumerate(sigs, start=1):
        if not isinstance(s, dict) or not isinstance(s.get("node_id"), str) or not isinstance(s.get("key_id"), str):
            raise BadProposal(f"{where}: signature {i} must have text fields node_id, key_id and signature")
        at = f"signature {i} (by {s['node_id']})"
        signature = _b64(s.get("signature"), where, at)
        if len(signature) != 64:
            raise BadProposal(f"{where}: {at} is {len(signature)} bytes, not 64 (truncated or forged)")
        signed.signatures.add(node_id=s["node_id"], key_id=s["key_id"], signature=signature)
    try:
        manifest = parse_manifest(signed, what=where)
    except ManifestError as exc:
        raise BadProposal(str(exc)) from exc
    for key, value in (("federation_id", manifest.federation_id), ("version", int(manifest.version))):
        if doc.get(key) != value:
            raise BadProposal(
                f"{where}: readable field {key!r} says {doc.get(key)!r} but the signed manifest says {value!r};"
                " the file was changed"
            )
    if not isinstance(doc.get("changes", []), list):
        raise BadProposal(f"{where}: 'changes' must be a list of lines")
    return Proposal(signed, manifest, doc, where)


def read_proposal_file(path: Path) -> Proposal:
    """:func:`read_proposal` of a file.

    Raises:
        BadProposal: unreadable or not a valid proposal file.
    """
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as exc:
        raise BadProposal(f"{path}: no such proposal file") from exc
    except UnicodeDecodeError as exc:
        raise BadProposal(
            f"{path}: not a proposal file (not UTF-8 text); to verify manifest files (v000001.pb ...) give their folder"
        ) from exc
    except OSError as exc:
        raise BadProposal(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return read_proposal(text, str(path))


def write_new_file(path: Path, text: str, *, replace: bool = False) -> None:
    """Write ``text`` to ``path`` atomically; refuses an existing file unless ``replace``.

    Raises:
        BadProposal: the file exists (and ``replace`` is false) or cannot be written.
    """
    if path.exists() and not replace:
        raise BadProposal(f"{path}: already exists; choose another --out or remove it first")
    try:
        write_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise BadProposal(f"{path}: cannot write: {exc.strerror or exc}") from exc


@dataclass
class Standing:
    """A proposal checked against this node's chain."""

    proposal: Proposal
    previous: VerifiedManifest | None  # None for a genesis
    signers: list[str]  # members with a valid signature that counts
    needed: int
    eligible: list[str]  # members whose signatures count
    changes: list[str]
    # members whose own entries the version changes (node id -> what): each must sign it too
    consent: dict[str, list[str]] = field(default_factory=dict)

    @property
    def missing(self) -> list[str]:
        """Members whose signatures would count and are not there yet (a member being removed does not count)."""
        staying = {m.node_id for m in self.proposal.manifest.members}
        return sorted(n for n in set(self.eligible) - set(self.signers) if self.previous is None or n in staying)

    @property
    def consent_missing(self) -> list[str]:
        """Members whose own signature the version needs and does not have yet."""
        return sorted(set(self.consent) - set(self.signers))

    @property
    def complete(self) -> bool:
        """Enough signatures, and every member whose own entry changes among them."""
        return len(self.signers) >= self.needed and not self.consent_missing

    def report(self) -> str:
        have = f"{len(self.signers)} of {self.needed} signatures needed"
        who = ", ".join(self.signers) or "nobody yet"
        rest = f"; not yet signed by {', '.join(self.missing)}" if self.missing else ""
        own = "".join(
            f"; needs {n}'s own signature too (its {', '.join(self.consent[n])} change)" for n in self.consent_missing
        )
        return f"{have}: signed by {who}{rest}{own}"


def check_against_node(proposal: Proposal, state: FederationState | None) -> Standing:
    """Place a proposal relative to the node's chain, check its readable changes and its signatures.

    Raises:
        BadProposal: another federation, a version that does not follow this
            node's, a genesis on a node that already has one, readable changes
            that differ from the signed manifest, or a signature that does not
            verify (naming its claimed signer).
    """
    where = proposal.where
    if proposal.is_genesis:
        previous = None
        if state is not None:
            if state.chain[0].hash == manifest_hash(proposal.signed.manifest):
                raise AlreadyApplied(f"{where}: this node already holds this genesis (now at version {state.version})")
            raise BadProposal(
                f"{where}: this node already holds federation {state.current.federation_id!r} (version"
                f" {state.version}) from another genesis; a node belongs to one federation"
            )
    else:
        if state is None:
            raise BadProposal(
                f"{where}: version {proposal.version} of federation {proposal.federation_id!r}, but this node"
                " holds no federation manifest yet; a new member installs the chain from a copy of a member's"
                " federation folder with 'tamga federation apply FOLDER' once a version lists it"
            )
        if proposal.federation_id != state.current.federation_id:
            raise BadProposal(
                f"{where}: the proposal is for federation {proposal.federation_id!r}; this node is a member of"
                f" {state.current.federation_id!r}"
            )
        if proposal.version > state.version + 1:
            raise BadProposal(
                f"{where}: the proposal is version {proposal.version}, but this node holds version {state.version};"
                f" it needs version {state.version + 1} first (from a peer, or apply it)"
            )
        if proposal.version <= state.version:
            ours = state.chain[proposal.version - 1]
            if ours.hash == manifest_hash(proposal.signed.manifest):
                raise AlreadyApplied(f"{where}: version {proposal.version} is already adopted by this node")
            raise BadProposal(
                f"{where}: the proposal is version {proposal.version}, but this node already adopted another"
                f" version {proposal.version} (it holds version {state.version}); propose again from the current one"
            )
        previous = state.current
        if proposal.manifest.previous_hash != previous.hash:
            raise BadProposal(
                f"{where}: version {proposal.version} does not name the hash of this node's version"
                f" {previous.version}: it follows another chain"
            )
    changes = describe_changes(previous, proposal.manifest)
    readable = proposal.document.get("changes")
    if readable is not None and readable != changes:
        raise BadProposal(
            f"{where}: the readable 'changes' do not describe the signed manifest; the file was changed"
            " (do not sign it: ask the proposer for the original)"
        )
    try:
        signers, problems, needed = signature_report(previous, proposal.signed)
    except ManifestError as exc:
        raise BadProposal(f"{where}: {exc}") from exc
    if problems:
        raise BadProposal(f"{where}: {'; '.join(problems)}")
    consent: dict[str, list[str]] = {}
    rules = max(int(proposal.manifest.rules), previous.rules if previous is not None else 0)
    if previous is not None and rules >= RULES_MEMBER_CONSENT:
        added = [m for m in proposal.manifest.members if m.node_id not in previous.members]
        refused = [p for m in added for p in identity_problems(m)]
        consent = consent_needed(previous, proposal.manifest)
    else:
        refused = [p for m in proposal.manifest.members if m.HasField("identity") for p in identity_problems(m)]
    if refused:
        raise BadProposal(
            f"{where}: {'; '.join(refused)}; do not sign it: ask the proposer for the original, and the member"
            " for its identity file"
        )
    eligible = sorted(previous.members if previous else {m.node_id for m in proposal.manifest.members})
    return Standing(proposal, previous, signers, needed, eligible, changes, consent)


def sign_standing(standing: Standing, local: LocalIdentity) -> federation_pb2.SignedManifest:
    """The proposal with this node's signature added, checked to count.

    Raises:
        BadProposal: this node cannot sign this version (not a member, or its
            key is not listed or not valid when the version is issued).
    """
    node_id = local.node_id
    if node_id not in standing.eligible:
        what = "a founder" if standing.previous is None else f"a member of version {standing.previous.version}"
        raise BadProposal(
            f"{standing.proposal.where}: this node ({node_id}) is not {what}; its signature would not count"
        )
    if standing.previous is not None and node_id not in {m.node_id for m in standing.proposal.manifest.members}:
        raise BadProposal(
            f"{standing.proposal.where}: this version removes this node ({node_id}); its signature would not count:"
            " a removal is the other members' decision"
        )
    signed = sign_manifest(standing.proposal.signed, node_id, local.signing_key)
    signers, problems, _ = signature_report(standing.previous, signed)
    if node_id not in signers:
        raise BadProposal(
            f"{standing.proposal.where}: this node's signature with {local.signing_key.key_id} would not count: "
            + "; ".join(p for p in problems if node_id in p)
        )
    return signed


def own_entry_problems(config: Config, local: LocalIdentity, standing: Standing) -> list[str]:
    """What the proposal lists for this node that this node does not hold (empty: nothing).

    A node signs a version only if every key the version newly lists for it is
    one of its own key files (in use, pending from ``--rotate-keys``, or
    retired) and the TLS certificate listed for it is its own: its signature is
    its consent to its own entry, so it must not consent to someone else's key.

    Raises:
        KeyFileError: a key file cannot be read.
    """
    mine = next((m for m in standing.proposal.manifest.members if m.node_id == local.node_id), None)
    if mine is None:
        return []
    before = standing.previous.member(local.node_id) if standing.previous is not None else None
    held: set[bytes] = set()
    for kind, loader in (("signing", SigningKey), ("encryption", EncryptionKey)):
        current = config.path(getattr(config.keys, kind))
        paths = [current, current.parent / f"{kind}.pending.key", *sorted(current.parent.glob(f"{kind}.*.retired.key"))]
        paths = [p for p in paths if p.exists()]
        secret = _passphrase(config, *paths)
        for path in paths:
            held.add(load_private_key_file(path, loader, passphrase=secret).public.raw)
    held.update({local.signing_key.public.raw, local.encryption_key.public.raw})
    problems = []
    for kind in ("signing", "encryption"):
        listed_before = {(k.key_id, k.public) for k in (getattr(before, f"{kind}_keys") if before else ())}
        for k in getattr(mine, f"{kind}_keys"):
            if (k.key_id, bytes(k.public_key)) not in listed_before and bytes(k.public_key) not in held:
                problems.append(
                    f"it lists {kind} key {k.key_id} (fingerprint {fingerprint(bytes(k.public_key))}) for this node,"
                    " which this node does not hold"
                )
    cert_before = before.tls_certificate if before else None
    if (
        bytes(mine.tls_certificate) != cert_before
        and local.tls_certificate
        and (bytes(mine.tls_certificate) != local.tls_certificate)
    ):
        problems.append("it lists a TLS certificate for this node that is not this node's")
    return problems


# -- command line values ---------------------------------------------------------------


def parse_allow(text: str, members: Iterable[str], option: str = "--allow") -> tuple[str, str, list[str]]:
    """``SENDER:RECEIVER:TYPES`` (``*`` for every member or type, TYPES comma-separated).

    Raises:
        BadProposal: the form, a node id or a record type is wrong; names which.
    """
    parts = text.split(":")
    if len(parts) != 3 or not all(p.strip() for p in parts):
        raise BadProposal(
            f"{option} {text!r}: expected SENDER:RECEIVER:TYPES, e.g. KZ:CN:declaration_snapshot or '*:*:*'"
        )
    sender, receiver, kinds = (p.strip() for p in parts)
    known = set(members)
    for side, name in ((sender, "sender"), (receiver, "receiver")):
        if side != "*" and side not in known:
            raise BadProposal(
                f"{option} {text!r}: {name} {side!r} is not a member (members: {', '.join(sorted(known))})"
            )
    types = [t.strip() for t in kinds.split(",")]
    if types != ["*"]:
        for t in types:
            if t not in RECORD_TYPES:
                raise BadProposal(
                    f"{option} {text!r}: {t!r} is not a record type (known: {', '.join(sorted(RECORD_TYPES))}, or *)"
                )
    return sender, receiver, types


def parse_endpoint_change(text: str) -> tuple[str, str]:
    """``NODE=HOST:PORT``.

    Raises:
        BadProposal: not of that form.
    """
    node, eq, endpoint = text.partition("=")
    if not eq or not node.strip() or not re.fullmatch(r"[A-Za-z0-9.\-\[\]:]+:\d{1,5}", endpoint.strip()):
        raise BadProposal(f"--endpoint {text!r}: expected NODE=HOST:PORT, e.g. KZ=kz.customs.example:7400")
    return node.strip(), endpoint.strip()


def parse_overlap(text: str) -> float:
    """A duration such as ``7d``, ``36h``, ``90m``.

    Raises:
        BadProposal: not a duration.
    """
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*d\s*", text)
    if m:
        return float(m.group(1)) * 86400.0
    try:
        return parse_duration(text, "--overlap")
    except ConfigError as exc:
        raise BadProposal(str(exc).replace('"1h")', '"1h", "7d")')) from exc


def self_peer(local: LocalIdentity, endpoints: Sequence[str], now: float) -> Peer:
    """This node as the others see it (its checked identity document)."""
    return read_identity(local.identity_document(list(endpoints), now))


# -- key rotation ------------------------------------------------------------------------


def pending_key_paths(config: Config) -> tuple[Path, Path]:
    """Where ``--rotate-keys`` writes this node's next keys (signing, encryption)."""
    keys = config.path(config.keys.signing).parent
    return keys / "signing.pending.key", keys / "encryption.pending.key"


def _retired_path(current: Path, kind: str, key_id: str) -> Path:
    return current.parent / f"{kind}.{key_id.replace(':', '-')}.retired.key"


def _passphrase(config: Config, *paths: Path) -> bytes | None:
    from tamga.home import read_passphrase

    if any(p.exists() and is_encrypted_key_file(p) for p in paths):
        secret = read_passphrase(config)
        if secret is None:
            raise KeyFileError(
                f"{paths[0]}: the node's keys are encrypted; set [keys] passphrase_file or TAMGA_KEY_PASSPHRASE"
            )
        return secret
    return None


def _key_version(key_id: str) -> int:
    try:
        return int(key_id.split(":", 1)[1])
    except (IndexError, ValueError):
        return 0


@dataclass
class KeyRotation:
    """The changes that introduce this node's pending keys, and what was written."""

    new_keys: list[tuple[str, str, federation_pb2.MemberKey]] = field(default_factory=list)
    key_ends: list[tuple[str, str, float]] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)
    reused: bool = False
    signing_key_id: str = ""
    encryption_key_id: str = ""


def prepare_rotation(
    config: Config, local: LocalIdentity, current: VerifiedManifest, *, now: float, overlap: float
) -> KeyRotation:
    """Generate (or reuse) this node's pending keys and the manifest changes that list them.

    New keys are valid from ``now``; this node's keys valid now end ``overlap`` later.

    Raises:
        BadProposal: this node is not a member, or pending keys are already listed.
        KeyFileError: a key file cannot be read or written.
    """
    member = current.member(local.node_id)
    if member is None:
        raise BadProposal(f"this node ({local.node_id}) is not a member of version {current.version}")
    sk_path, ek_path = pending_key_paths(config)
    secret = _passphrase(config, config.path(config.keys.signing), config.path(config.keys.encryption), sk_path)
    rotation = KeyRotation()
    if sk_path.exists() or ek_path.exists():
        sk = load_private_key_file(sk_path, SigningKey, passphrase=secret)
        ek = load_private_key_file(ek_path, EncryptionKey, passphrase=secret)
        assert isinstance(sk, SigningKey) and isinstance(ek, EncryptionKey)
        if member.signing_key(sk.key_id) is not None or member.encryption_key(ek.key_id) is not None:
            raise BadProposal(
                f"{sk_path}: the pending keys {sk.key_id} and {ek.key_id} are already listed in version"
                f" {current.version}; the node activates them when it adopts that version"
            )
        rotation.reused = True
    else:
        version = 1 + max(
            [_key_version(k.key_id) for k in (*member.signing_keys, *member.encryption_keys)]
            + [_key_version(local.signing_key.key_id), _key_version(local.encryption_key.key_id)]
        )
        sk, ek = SigningKey.generate(version), EncryptionKey.generate(version)
        write_private_key_file(sk_path, sk, passphrase=secret)
        try:
            write_private_key_file(ek_path, ek, passphrase=secret)
        except BaseException:
            sk_path.unlink(missing_ok=True)
            raise
        rotation.written = [sk_path, ek_path]
    for kind, key_id, public in (
        ("signing", sk.key_id, sk.public.raw),
        ("encryption", ek.key_id, ek.public.raw),
    ):
        mk = federation_pb2.MemberKey(key_id=key_id, public_key=public)
        mk.valid_from.FromNanoseconds(to_nanos(now))
        rotation.new_keys.append((local.node_id, kind, mk))
    until = now + overlap
    for k in (*member.signing_keys, *member.encryption_keys):
        if k.valid_at(now) and (k.valid_until is None or k.valid_until > until):
            rotation.key_ends.append((local.node_id, k.key_id, until))
    rotation.signing_key_id, rotation.encryption_key_id = sk.key_id, ek.key_id
    return rotation


def activate_pending_keys(config: Config, manifest: VerifiedManifest, *, now: float | None = None) -> list[str]:
    """Make the pending keys this node's keys once ``manifest`` lists them for it, valid now.

    The current key files are kept as ``*.retired.key`` (the old encryption key
    still opens envelopes sealed to it during the overlap). Does nothing when
    there are no pending keys or the manifest does not list both.

    Returns:
        The key ids activated (empty when nothing changed).

    Raises:
        KeyFileError: a key file cannot be read or moved; nothing is half-done
            for a given key (each move is one rename).
    """
    at = time.time() if now is None else now
    member = manifest.member(config.node.id)
    sk_path, ek_path = pending_key_paths(config)
    if member is None or not (sk_path.exists() and ek_path.exists()):
        return []
    secret = _passphrase(config, sk_path)
    sk = load_private_key_file(sk_path, SigningKey, passphrase=secret)
    ek = load_private_key_file(ek_path, EncryptionKey, passphrase=secret)
    assert isinstance(sk, SigningKey) and isinstance(ek, EncryptionKey)
    listed_sk, listed_ek = member.signing_key(sk.key_id), member.encryption_key(ek.key_id)
    if listed_sk is None or listed_ek is None or listed_sk.public != sk.public.raw or listed_ek.public != ek.public.raw:
        return []
    if not (listed_sk.valid_at(at) and listed_ek.valid_at(at)):
        return []
    done = []
    for pending, current, kind, loader in (
        (sk_path, config.path(config.keys.signing), "signing", SigningKey),
        (ek_path, config.path(config.keys.encryption), "encryption", EncryptionKey),
    ):
        old = load_private_key_file(current, loader, passphrase=_passphrase(config, current))
        retired = _retired_path(current, kind, old.key_id)
        if not retired.exists():
            os.link(current, retired)
        new_id = load_private_key_file(pending, loader, passphrase=secret).key_id
        os.replace(pending, current)
        done.append(new_id)
    return done


def node_private_signing_keys(config: Config) -> list[SigningKey]:
    """This node's private signing keys: the current one and the retired ones."""
    current = config.path(config.keys.signing)
    paths = [current, *sorted(current.parent.glob("signing.*.retired.key"))]
    secret = _passphrase(config, *paths)
    keys = []
    for p in paths:
        k = load_private_key_file(p, SigningKey, passphrase=secret)
        assert isinstance(k, SigningKey)
        keys.append(k)
    return keys


def revoke_own_key(
    config: Config, state: FederationState, key_id: str, reason: str, *, now: float
) -> tuple[federation_pb2.SignedKeyRevocation, str]:
    """This node's signed revocation of its own ``key_id``, kept in the federation folder.

    Signed with another of the node's signing keys listed and valid now, else
    with the revoked key itself (when it is the node's only one).

    Returns:
        The revocation and the id of the key that signed it.

    Raises:
        BadProposal: the key is not this node's in the current version, or the
            node holds no private key that can sign the revocation.
        ManifestError: the revocation does not verify.
    """
    node_id = config.node.id
    member = state.current.member(node_id)
    if member is None:
        raise BadProposal(f"this node ({node_id}) is not a member of version {state.version}")
    if not reason.strip():
        raise BadProposal("--reason must say why the key is revoked (it is shown to every member)")
    ids = [k.key_id for k in (*member.signing_keys, *member.encryption_keys)]
    if key_id not in ids:
        raise BadProposal(
            f"{key_id!r} is not a key of {node_id} in version {state.version} (its keys: {', '.join(ids)})"
        )
    if (node_id, key_id) in state.revoked():
        raise BadProposal(f"{key_id} of {node_id} is already revoked")
    revoked = {kid: t for (nid, kid), t in state.revoked().items() if nid == node_id}
    usable: list[tuple[SigningKey, KeyInfo]] = []
    for sk in node_private_signing_keys(config):
        info = member.signing_key(sk.key_id)
        if info is not None and info.public == sk.public.raw:
            usable.append((sk, info))
    others = [sk for sk, info in usable if sk.key_id != key_id and info.valid_at(now, revoked.get(sk.key_id))]
    itself = [sk for sk, _ in usable if sk.key_id == key_id]
    signer = others[0] if others else (itself[0] if itself else None)
    if signer is None:
        raise BadProposal(
            f"this node holds no private signing key listed for {node_id} in version {state.version} to sign the"
            " revocation with"
        )
    rev = make_revocation(node_id, signer, key_id, now, reason.strip())
    state.add_revocations([rev])
    return rev, signer.key_id


def own_keys(config: Config, state: FederationState | None, *, now: float) -> list[dict[str, Any]]:
    """This node's private key files (in use, pending, retired), public facts only, and what the manifest says.

    Raises:
        KeyFileError: a key file is unsafe, unreadable, or encrypted without the passphrase.
    """
    member = state.current.member(config.node.id) if state is not None else None
    revoked = state.revoked() if state is not None else {}
    out = []
    for kind, loader, current in (
        ("signing", SigningKey, config.path(config.keys.signing)),
        ("encryption", EncryptionKey, config.path(config.keys.encryption)),
    ):
        pending = current.parent / f"{kind}.pending.key"
        paths = [
            current,
            *([pending] if pending.exists() else []),
            *sorted(current.parent.glob(f"{kind}.*.retired.key")),
        ]
        secret = _passphrase(config, *paths)
        for path in paths:
            key = load_private_key_file(path, loader, passphrase=secret)
            public = key.public.raw
            role = "in use" if path == current else "pending" if path == pending else "retired"
            info = None
            if member is not None:
                info = member.signing_key(key.key_id) if kind == "signing" else member.encryption_key(key.key_id)
            listed = info is not None and info.public == public
            r = revoked.get((config.node.id, key.key_id))
            out.append(
                {
                    "file": str(path),
                    "kind": kind,
                    "key_id": key.key_id,
                    "fingerprint": fingerprint(public),
                    "role": role,
                    "listed": listed,
                    "valid_from": _iso(info.valid_from) if listed and info else None,
                    "valid_until": _iso(info.valid_until) if listed and info else None,
                    "revoked_at": _iso(r),
                    "valid_now": bool(listed and info and info.valid_at(now, r)),
                }
            )
    return out


# -- show ------------------------------------------------------------------------------


def _iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    from datetime import UTC, datetime

    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def show_document(state: FederationState, *, now: float) -> dict[str, Any]:
    """What ``tamga federation show --json`` prints."""
    cur = state.current
    revoked = state.revoked()

    def key(node_id: str, k: KeyInfo) -> dict[str, Any]:
        r = revoked.get((node_id, k.key_id))
        return {
            "key_id": k.key_id,
            "fingerprint": fingerprint(k.public),
            "valid_from": _iso(k.valid_from),
            "valid_until": _iso(k.valid_until),
            "revoked_at": _iso(r),
            "valid_now": k.valid_at(now, r),
        }

    warnings = []
    if not is_majority(cur.threshold, len(cur.members)):
        warnings.append(
            f"a change needs {cur.threshold} of {len(cur.members)} signatures, not a majority: two groups of members"
            f" could each sign a different version {cur.version + 1} (a fork); raise it with"
            f" 'tamga federation propose --threshold {len(cur.members) // 2 + 1}'"
        )
    if cur.rules < RULES_MEMBER_CONSENT:
        warnings.append(
            "this chain was made before member consent: a quorum could change a member's keys without it until a"
            " version takes the rules on (the next version proposed with this Tamga does)"
        )
    return {
        "federation_id": cur.federation_id,
        "version": cur.version,
        "hash": cur.hash.hex(),
        "genesis_hash": state.chain[0].hash.hex(),
        "issued_at": _iso(cur.issued_at),
        "threshold": cur.threshold,
        "member_consent": cur.rules >= RULES_MEMBER_CONSENT,
        "warnings": warnings,
        "members": [
            {
                "node_id": m.node_id,
                "country": m.country,
                "authority": m.authority,
                "endpoints": list(m.endpoints),
                "signing_keys": [key(m.node_id, k) for k in m.signing_keys],
                "encryption_keys": [key(m.node_id, k) for k in m.encryption_keys],
                "tls_certificate_sha256": m.tls_certificate_sha256 or None,
                "tls_fingerprint": tls_fingerprint(m.tls_certificate_sha256) if m.tls_certificate_sha256 else None,
            }
            for m in sorted(cur.members.values(), key=lambda m: m.node_id)
        ],
        "agreements": [
            {"sender": a.sender, "receiver": a.receiver, "record_types": list(a.record_types)}
            for a in cur.manifest.agreements
        ],
        "revocations": [
            {"node_id": r.node_id, "key_id": r.key_id, "revoked_at": _iso(r.revoked_at), "reason": r.reason}
            for r in sorted(state.revocations.values(), key=lambda r: (r.node_id, r.key_id))
        ],
        "fork": state.fork,
    }


# -- verify ------------------------------------------------------------------------------


def verify_manifest_files(folder: Path) -> list[VerifiedManifest]:
    """Verify a chain kept as ``v000001.pb``... in ``folder`` (a federation folder or its manifests folder).

    Raises:
        BadProposal: no manifests, a gap, or the first version that fails, and why.
    """
    mdir = folder / "manifests" if (folder / "manifests").is_dir() else folder
    files = sorted(mdir.glob("v*.pb"))
    if not files:
        raise BadProposal(f"{folder}: no manifest files (v000001.pb ...) here")
    chain: list[VerifiedManifest] = []
    for expected, path in enumerate(files, start=1):
        if path.name != f"v{expected:06d}.pb":
            raise BadProposal(f"{path}: expected v{expected:06d}.pb here, the chain has a gap")
        try:
            signed = federation_pb2.SignedManifest.FromString(path.read_bytes())
        except (OSError, DecodeError) as exc:
            raise BadProposal(f"{path}: not a signed manifest ({exc})") from exc
        try:
            chain.append(verify_genesis(signed) if not chain else verify_successor(chain[-1], signed))
        except ManifestError as exc:
            raise BadProposal(f"{path}: INVALID: {exc}") from exc
    return chain


def error_text(exc: TamgaError | CryptoError) -> str:
    return " ".join(str(exc).split())
