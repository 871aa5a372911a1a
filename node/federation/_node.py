"""The federation as a running node sees it: membership, rules, own keys, gossip.

Two modes:

- **Manifest mode** (``HOME/federation`` holds a chain): the node's peers are
  the other members of the current version with their keys valid now
  (:func:`~tamga.federation.peers_from_manifest`), agreements and key
  validity are enforced at both ends (:class:`~tamga.protocol.Policy`), and
  the node signs and seals with the newest of its own keys the manifest
  lists as valid now.
- **Pinned mode** (no manifest): the peers of the ``peers/`` folder, no
  agreement check, the keys of ``keys/signing.key`` and ``keys/encryption.key``.

The node holds one :class:`~tamga.protocol.LivePeerDirectory`; every change
(a version adopted by gossip, ``tamga federation apply`` writing the folder,
a revocation, a key starting or ending with time) rebuilds its content in
place, then the node's ``on_change`` callbacks run (delivery queues, own keys).

Gossip: every ExchangeRequest carries the sender's manifest version and every
ExchangeResponse the receiver's. A node that sees a peer hold a higher
version fetches from it with GetManifest, starting at its *own* version, so a
different manifest of the version it holds (a fork) is seen in the same
call. A periodic pull from each peer is the backstop for peers it does not
exchange records with. Forks are logged (error, ``manifest_fork``), kept in
``fork.json`` and shown by ``tamga status``; the node keeps its own chain.

A GetManifest answer is what a peer controls: it is bounded before it is
parsed (:data:`MAX_MANIFEST_ANSWER_BYTES`, :data:`MAX_MANIFEST_VERSIONS`,
:data:`MAX_MANIFEST_REVOCATIONS`, each version at most once), and parsed and
verified in a worker thread, so a hostile answer neither freezes the node nor
costs more than a real federation's chain would. An answer over a bound is
refused whole, with one log line (``manifest_answer_refused``) naming the
peer whose pinned certificate the call reached.

Removal: members answer GetManifest (only that) to certificates pinned in any
version of their chain, so a member removed by a version it has not seen
still learns it. A node that asks after a refused delivery (and in its
periodic pull), adopts a version that no longer lists it (the chain verified
from its own genesis, as any other), and so knows it was removed: it has no
peers any more, logs ``removed_from_federation``, and the node marks what was
queued rejected with the reason (:func:`removal_words`), which ``tamga
status`` and ``tamga doctor`` show.

Own keys: ``keys/signing.key`` and ``keys/encryption.key``, plus any
``keys/signing.*.key`` and ``keys/encryption.*.key`` (a rotation writes the
new key pair as ``signing.next.key`` and ``encryption.next.key``). The node
uses a pending key only once the manifest lists it as valid, and keeps every
own encryption key the manifest still lists to open what was sealed to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from tamga.config import Config
from tamga.crypto import EncryptionKey, SigningKey, is_encrypted_key_file, load_private_key_file
from tamga.errors import ManifestError, TamgaError
from tamga.federation import current_key, peers_from_manifest
from tamga.federation._manifest import VerifiedManifest, tls_fingerprint
from tamga.federation._state import FederationState, Offer
from tamga.logging import get_logger
from tamga.protocol import LivePeerDirectory, LocalIdentity, MemberKey, Peer, PeerDirectory, Policy
from tamga.v1 import exchange_pb2, federation_pb2

__all__ = [
    "ASK_INTERVAL",
    "FOLDER_POLL",
    "GOSSIP_INTERVAL",
    "MAX_MANIFEST_ANSWER_BYTES",
    "MAX_MANIFEST_REVOCATIONS",
    "MAX_MANIFEST_VERSIONS",
    "REFRESH_INTERVAL",
    "REMOVED_FROM_FEDERATION",
    "Federation",
    "KeyWarning",
    "key_warnings",
    "read_manifest_answer",
    "removal",
    "removal_words",
]

log = get_logger("tamga.federation")

FOLDER_POLL = 2.0
"""Seconds between looks at the federation folder (``tamga federation apply`` writes there)."""
REFRESH_INTERVAL = 60.0
"""Seconds between rebuilds of the peer directory (keys start and end with time)."""
GOSSIP_INTERVAL = 30.0
"""Seconds between periodic GetManifest pulls from each peer."""
FETCH_TIMEOUT = 10.0
WARN_DAYS = 30
ASK_INTERVAL = 5.0
"""Seconds between GetManifest calls to a peer prompted by failed deliveries to it (am I still a member?)."""

MAX_MANIFEST_ANSWER_BYTES = 8 * 1024 * 1024
"""Largest GetManifest answer taken from a peer (bytes, before parsing). A version of a federation of
ten members is a few tens of kilobytes; this leaves room for hundreds of versions of a large one."""
MAX_MANIFEST_VERSIONS = 1000
"""Most manifest versions in one GetManifest answer (each version at most once)."""
MAX_MANIFEST_REVOCATIONS = 1000
"""Most key revocations in one GetManifest answer."""

GET_MANIFEST = "/tamga.v1.ExchangeService/GetManifest"

REMOVED_FROM_FEDERATION = "REMOVED_FROM_FEDERATION"
"""The reject reason of records a removed node had queued (rejected by this node itself, not by a peer)."""


@dataclasses.dataclass(frozen=True, slots=True)
class KeyWarning:
    """A key or TLS certificate (this node's or a peer's) that ends soon."""

    node_id: str
    key_id: str
    kind: str  # "signing" | "encryption" | "TLS certificate"
    ends_at: float
    own: bool

    def words(self, now: float) -> str:
        from datetime import UTC, datetime

        days = (self.ends_at - now) / 86400
        whose = "this node's" if self.own else f"peer {self.node_id}'s"
        when = datetime.fromtimestamp(self.ends_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        if self.kind == "TLS certificate":
            return f"{whose} TLS certificate ({self.key_id}) ends {when} (in {days:.0f} days): renew it"
        return f"{whose} {self.kind} key {self.key_id} ends {when} (in {days:.0f} days): rotate it"


def key_warnings(state: FederationState, local_node_id: str, now: float, days: float = WARN_DAYS) -> list[KeyWarning]:
    """Keys valid now that end within ``days`` and have no successor valid after them.

    A member that already has another key of the same kind valid beyond the
    end (a rotation in progress) is not warned about.
    """
    out = []
    revoked = state.revoked()
    for member in state.current.members.values():
        for kind, keys in (("signing", member.signing_keys), ("encryption", member.encryption_keys)):
            for k in keys:
                rev = revoked.get((member.node_id, k.key_id))
                if k.valid_until is None or not k.valid_at(now, rev) or k.valid_until - now > days * 86400:
                    continue
                successor = any(
                    o.key_id != k.key_id
                    and (o.valid_until is None or o.valid_until > k.valid_until)
                    and revoked.get((member.node_id, o.key_id)) is None
                    for o in keys
                )
                if not successor:
                    out.append(
                        KeyWarning(member.node_id, k.key_id, kind, k.valid_until, member.node_id == local_node_id)
                    )
        ends = _certificate_end(member.tls_certificate)
        if ends is not None and now <= ends <= now + days * 86400:
            full = tls_fingerprint(member.tls_certificate_sha256)  # in full, as every fingerprint is shown
            out.append(
                KeyWarning(member.node_id, f"sha256 {full}", "TLS certificate", ends, member.node_id == local_node_id)
            )
    return out


def removal(state: FederationState, node_id: str) -> int | None:
    """The manifest version that removed ``node_id``: it was a member of the version before, and is in none since.

    None while it is a member of the current version, or if it never was one.
    """
    if node_id in state.current.members:
        return None
    for before, after in zip(reversed(state.chain[:-1]), reversed(state.chain[1:]), strict=True):
        if node_id in before.members and node_id not in after.members:
            return int(after.version)
    return None


def removal_words(federation_id: str, version: int) -> str:
    """The reason a removed node gives (logs, rejected records, status, doctor); the id is escaped."""
    from tamga.terminal import safe

    return f"this node was removed from federation {safe(federation_id, 100)} in manifest version {version}"


def read_manifest_answer(raw: bytes) -> exchange_pb2.GetManifestResponse:
    """Parse a peer's GetManifest answer within the bounds (CPU work: run it off the event loop).

    Raises:
        ManifestError: over a bound, not a GetManifestResponse, or one version given more than once.
    """
    if len(raw) > MAX_MANIFEST_ANSWER_BYTES:
        raise ManifestError(f"the answer is {len(raw)} bytes, more than the {MAX_MANIFEST_ANSWER_BYTES} taken")
    try:
        resp = exchange_pb2.GetManifestResponse.FromString(raw)
    except (DecodeError, RecursionError) as exc:
        raise ManifestError("the answer does not parse as a GetManifestResponse") from exc
    if len(resp.manifests) > MAX_MANIFEST_VERSIONS:
        raise ManifestError(
            f"the answer holds {len(resp.manifests)} manifests, more than the {MAX_MANIFEST_VERSIONS} taken"
        )
    if len(resp.revocations) > MAX_MANIFEST_REVOCATIONS:
        raise ManifestError(
            f"the answer holds {len(resp.revocations)} key revocations, more than the {MAX_MANIFEST_REVOCATIONS} taken"
        )
    seen: set[int] = set()
    for signed in resp.manifests:
        try:
            version = federation_pb2.Manifest.FromString(signed.manifest).version
        except DecodeError:
            continue  # refused by the chain's own checks, with its reason
        if version in seen:
            raise ManifestError(
                f"the answer holds version {version} more than once (an answer is one chain: each version once)"
            )
        seen.add(version)
    return resp


def _certificate_end(der: bytes) -> float | None:
    """When a TLS certificate stops being valid (its notAfter), or None if it cannot be read."""
    if not der:
        return None
    try:
        from cryptography import x509

        return x509.load_der_x509_certificate(der).not_valid_after_utc.timestamp()
    except (ValueError, TypeError):
        return None


def _own_key_files(config: Config) -> tuple[list[Path], list[Path]]:
    """This node's signing and encryption key files: the configured ones first, then pending ones."""
    out = []
    for path in (config.path(config.keys.signing), config.path(config.keys.encryption)):
        stem = path.name.removesuffix(".key")
        extra = sorted(p for p in path.parent.glob(f"{stem}.*.key") if p != path)
        out.append([path, *extra])
    return out[0], out[1]


def _newest_time(folder: Path) -> float:
    """The newest modification time in the federation folder (0 when there is none)."""
    newest = 0.0
    for sub in (folder, folder / "manifests", folder / "revocations"):
        try:
            with os.scandir(sub) as entries:
                for e in entries:
                    try:
                        newest = max(newest, e.stat(follow_symlinks=False).st_mtime)
                    except FileNotFoundError:
                        continue
            newest = max(newest, sub.stat().st_mtime)
        except FileNotFoundError:
            continue
    return newest


class Federation:
    """Membership, rules and own keys of one running node, kept current.

    Args:
        folder: ``HOME/federation``.
        local: This node as its key files make it (the configured keys).
        pinned: The peers of the ``peers/`` folder (used when there is no manifest).
        own_signing: Every own signing key held (configured and pending).
        own_encryption: Every own encryption key held (configured and pending).
        clock: Seconds since the epoch.
    """

    def __init__(
        self,
        *,
        folder: Path,
        local: LocalIdentity,
        pinned: PeerDirectory,
        own_signing: list[SigningKey] | None = None,
        own_encryption: list[EncryptionKey] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder = folder
        self.configured = local
        self.local = local
        self.pinned = pinned
        self.own_signing = own_signing or [local.signing_key]
        self.own_encryption = own_encryption or [local.encryption_key]
        self.clock = clock
        self.peers = LivePeerDirectory()
        self.state: FederationState | None = None
        self.on_change: list[Callable[[], None]] = []
        # Called with the current version on every rebuild: moves pending key files into place
        # once the manifest lists them (tamga.governance.activate_pending_keys).
        self.activate_keys: Callable[[VerifiedManifest], list[str]] | None = None
        # Reads every own key file again (a rotation writes pending ones while the node runs).
        self.key_loader: Callable[[], tuple[list[SigningKey], list[EncryptionKey]]] | None = None
        self.keys_dir: Path | None = None
        self._keys_mtime = 0.0
        self.channel_for: Callable[[str], grpc.aio.Channel | None] = lambda _peer: None
        self.folder_poll = FOLDER_POLL
        self.refresh_interval = REFRESH_INTERVAL
        self.gossip_interval = GOSSIP_INTERVAL
        self._folder_mtime = 0.0
        self._fetching: dict[str, asyncio.Task[None]] = {}
        self._asked: dict[str, float] = {}  # peer id -> monotonic time of the last ask after a failed delivery
        self._removed_told: int | None = None  # the removal version already logged
        self._certificates: tuple[tuple[int, int], dict[str, tuple[str, bytes]]] | None = None
        self._lock = asyncio.Lock()
        if FederationState.exists(folder):
            self.state = FederationState.load(folder)
            self._folder_mtime = _newest_time(folder)
        self.refresh()

    @classmethod
    def open(
        cls,
        config: Config,
        local: LocalIdentity,
        pinned: PeerDirectory,
        *,
        passphrase: bytes | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Federation:
        """Read the manifest chain (if any) and every own key file.

        Raises:
            ManifestError: the chain in ``HOME/federation`` does not verify (the node must not start).
            KeyFileError: a pending key file is unsafe or unreadable.
        """
        secret = [passphrase]

        def load_keys() -> tuple[list[SigningKey], list[EncryptionKey]]:
            signing_files, encryption_files = _own_key_files(config)
            own_signing: list[SigningKey] = [local.signing_key]
            own_encryption: list[EncryptionKey] = [local.encryption_key]
            for files, kind, into in (
                (signing_files, SigningKey, own_signing),
                (encryption_files, EncryptionKey, own_encryption),
            ):
                for path in files:
                    if secret[0] is None and is_encrypted_key_file(path):
                        from tamga.home import read_passphrase

                        secret[0] = read_passphrase(config)
                    key = load_private_key_file(path, kind, passphrase=secret[0])
                    if all(k.public.raw != key.public.raw for k in into):
                        into.append(key)  # type: ignore[arg-type]
            return own_signing, own_encryption

        own_signing, own_encryption = load_keys()
        keys_dir = config.path(config.keys.signing).parent
        fed = cls(
            folder=config.path(Path("federation")),
            local=local,
            pinned=pinned,
            own_signing=own_signing,
            own_encryption=own_encryption,
            clock=clock,
        )
        try:
            from tamga.governance import activate_pending_keys
        except ImportError:  # pragma: no cover - governance is part of the node
            return fed

        def activate(manifest: VerifiedManifest) -> list[str]:
            return activate_pending_keys(config, manifest, now=clock())

        fed.activate_keys = activate
        fed.key_loader = load_keys
        fed.keys_dir = keys_dir
        fed._keys_mtime = _newest_time(keys_dir)
        if fed.state is not None:
            fed.refresh()  # again, now that pending keys can be activated
        return fed

    # -- reading -----------------------------------------------------------------------

    @property
    def version(self) -> int:
        """The manifest version held (0: pinned mode)."""
        return self.state.version if self.state is not None else 0

    @property
    def fork(self) -> dict[str, object] | None:
        return self.state.fork if self.state is not None else None

    @property
    def removed_in(self) -> int | None:
        """The manifest version that removed this node from the federation, or None."""
        return removal(self.state, self.configured.node_id) if self.state is not None else None

    @property
    def removed_reason(self) -> str | None:
        """Why this node takes no part any more (:func:`removal_words`), or None while it is a member."""
        version = self.removed_in
        if version is None or self.state is None:
            return None
        return removal_words(self.state.current.federation_id, version)

    def chain_certificates(self) -> dict[str, tuple[str, bytes]]:
        """Every member TLS certificate of every version held: fingerprint -> (node id, DER).

        A certificate here that is not a current peer's is a former member's
        (or a member's before it changed certificate): such a client may ask
        GetManifest, and nothing else, to learn the versions it missed.
        """
        state = self.state
        if state is None:
            return {}
        key = (id(state), len(state.chain))
        if self._certificates is None or self._certificates[0] != key:
            found: dict[str, tuple[str, bytes]] = {}
            for version in state.chain:
                for m in version.members.values():
                    if m.tls_certificate and m.node_id != self.configured.node_id:
                        found[hashlib.sha256(m.tls_certificate).hexdigest()] = (m.node_id, m.tls_certificate)
            self._certificates = (key, found)
        return self._certificates[1]

    def get_manifest(self, from_version: int) -> exchange_pb2.GetManifestResponse:
        """What GetManifest answers: the versions from ``from_version`` on and every revocation known."""
        if self.state is None:
            return exchange_pb2.GetManifestResponse()
        return exchange_pb2.GetManifestResponse(
            manifests=self.state.signed_from(max(int(from_version), 1)),
            revocations=self.state.signed_revocations(),
        )

    # -- rebuilding --------------------------------------------------------------------

    def _own_identity(self, now: float) -> LocalIdentity:
        """The configured identity with the newest own keys the manifest lists as valid now."""
        if self.state is None:
            return self.configured
        me = self.state.current.member(self.configured.node_id)
        if me is None:
            log.error(
                "not_a_member",
                node=self.configured.node_id,
                version=self.version,
                detail="this node is not a member of the federation manifest it holds; peers will refuse its records",
            )
            return self.configured
        revoked = {kid: t for (nid, kid), t in self.state.revoked().items() if nid == me.node_id}
        chosen: dict[str, SigningKey | EncryptionKey] = {}
        for kind, listed, held in (
            ("signing", me.signing_keys, self.own_signing),
            ("encryption", me.encryption_keys, self.own_encryption),
        ):
            raws = {k.public.raw: k for k in held}
            mine = tuple(k for k in listed if k.public in raws)
            best = current_key(mine, now, revoked)
            if best is None:
                log.error(
                    "own_key_not_valid",
                    node=me.node_id,
                    kind=kind,
                    version=self.version,
                    detail=f"the manifest lists no {kind} key of this node that is valid now and held in keys/",
                )
                continue
            chosen[kind] = raws[best.public]
        sk = chosen.get("signing", self.configured.signing_key)
        ek = chosen.get("encryption", self.configured.encryption_key)
        assert isinstance(sk, SigningKey) and isinstance(ek, EncryptionKey)
        return dataclasses.replace(self.configured, signing_key=sk, encryption_key=ek)

    def _policy(self, local: LocalIdentity, now: float) -> Policy:
        assert self.state is not None
        current = self.state.current
        revoked = self.state.revoked()
        signing: dict[tuple[str, str], MemberKey] = {}
        encryption: dict[tuple[str, str], MemberKey] = {}
        for m in current.members.values():
            for keys, into in ((m.signing_keys, signing), (m.encryption_keys, encryption)):
                for k in keys:
                    into[(m.node_id, k.key_id)] = MemberKey(
                        k.key_id, k.public, k.valid_from, k.valid_until, revoked.get((m.node_id, k.key_id))
                    )
        me = current.member(local.node_id)
        listed = {k.public for k in me.encryption_keys} if me else set()
        own = {k.key_id: k for k in self.own_encryption if k.public.raw in listed}
        own[local.encryption_key.key_id] = local.encryption_key
        stored: dict[tuple[str, str], bytes] = {}
        for version in self.state.chain:
            for m in version.members.values():
                for k in m.encryption_keys:
                    stored[(m.node_id, k.key_id)] = k.public
        return Policy(
            version=current.version,
            signing_keys=signing,
            encryption_keys=encryption,
            agreements=current.agreements,
            own_encryption_keys=own,
            stored_keys=stored,
        )

    def refresh(self) -> None:
        """Rebuild peers, rules and own keys from what is held now, in place; then tell the node."""
        now = self.clock()
        if self.state is None:
            # Pinned mode: the peers folder, as the node was given it (it may add peers itself).
            self.local = self.configured
            if self.peers.policy is not None or not len(self.peers):
                self.peers.replace(list(self.pinned), None)
        elif (removed := self.removed_in) is not None:
            # No longer a member: no peers (nothing delivered, nothing taken), no pulls.
            self.local = self.configured
            self.peers.replace([], self._policy(self.local, now))
            if self._removed_told != removed:
                self._removed_told = removed
                log.error(
                    "removed_from_federation",
                    node=self.configured.node_id,
                    version=removed,
                    detail=f"{self.removed_reason}: it exchanges with no one; records queued for the members are "
                    "rejected and new ones refused. To take part again, the members must admit it in a new version",
                )
        else:
            self.local = self._own_identity(now)
            fresh = peers_from_manifest(self.state.current, self.local.node_id, revoked=self.state.revoked(), now=now)
            # Keep the Peer objects that did not change (their cached channels, the queues holding them).
            kept: list[Peer] = []
            for p in fresh:
                old = self.peers.get(p.node_id)
                same = old is not None and (
                    old.verify_key,
                    old.encryption_key,
                    old.endpoints,
                    old.tls_certificate,
                    old.country,
                    old.authority,
                ) == (p.verify_key, p.encryption_key, p.endpoints, p.tls_certificate, p.country, p.authority)
                kept.append(old if same and old is not None else p)
            self.peers.replace(kept, self._policy(self.local, now))
            if self.activate_keys is not None:
                try:
                    done = self.activate_keys(self.state.current)
                except TamgaError as exc:
                    log.error("pending_keys_not_activated", error=str(exc))
                else:
                    if done:
                        log.info("pending_keys_activated", key_ids=done, version=self.version)
        for callback in self.on_change:
            callback()

    def _reload_keys_if_changed(self) -> bool:
        if self.key_loader is None or self.keys_dir is None:
            return False
        mtime = _newest_time(self.keys_dir)
        if mtime == self._keys_mtime:
            return False
        self._keys_mtime = mtime
        try:
            self.own_signing, self.own_encryption = self.key_loader()
        except TamgaError as exc:
            log.error("own_keys_not_read", folder=str(self.keys_dir), error=str(exc))
            return False
        return True

    def reload_if_changed(self) -> bool:
        """Read the folder again if something there changed (``tamga federation apply``); True if reloaded."""
        if self._reload_keys_if_changed() and self.state is not None:
            self.refresh()
        mtime = _newest_time(self.folder)
        if mtime == self._folder_mtime:
            return False
        self._folder_mtime = mtime
        if not FederationState.exists(self.folder):
            return False
        try:
            state = FederationState.load(self.folder)
        except ManifestError as exc:
            log.error("manifest_not_reloaded", folder=str(self.folder), error=str(exc))
            return False
        before = self.version
        self.state = state
        if state.version != before:
            log.info("manifest_applied", version=state.version, previous=before, source="folder")
        self._report_fork()
        self.refresh()
        return True

    # -- gossip ------------------------------------------------------------------------

    def seen(self, peer_id: str, version: int) -> None:
        """A peer said it holds ``version``: fetch from it if that is newer than ours."""
        if version <= self.version or self.state is None or peer_id not in self.peers:
            return
        self._start_fetch(peer_id)

    def delivery_failed(self, peer_id: str) -> None:
        """A delivery to a peer failed: ask it for its manifest (at most every ASK_INTERVAL seconds).

        A member removed by a version it has not seen is refused by the
        others; their GetManifest answer is how it learns why.
        """
        if self.state is None or peer_id not in self.peers:
            return
        now = time.monotonic()
        last = self._asked.get(peer_id)
        if last is not None and now - last < ASK_INTERVAL:
            return
        self._asked[peer_id] = now
        self._start_fetch(peer_id)

    def _start_fetch(self, peer_id: str) -> None:
        task = self._fetching.get(peer_id)
        if task is not None and not task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        self._fetching[peer_id] = loop.create_task(self._fetch_logged(peer_id), name=f"manifest-fetch-{peer_id}")

    async def _fetch_logged(self, peer_id: str) -> None:
        """A fetch nobody awaits: its failure is one log line, never an unretrieved task exception."""
        try:
            await self.fetch(peer_id)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.error("manifest_fetch_failed", peer=peer_id, error=str(exc) or type(exc).__name__)

    async def catch_up(self, peer_id: str, version: int) -> None:
        """Like :meth:`seen`, but wait (at most FETCH_TIMEOUT) until the fetch is done.

        The receiver calls it before opening a batch from a peer that holds a
        newer version: a key the peer started using with that version (a
        rotation) must be known before its envelopes are checked, or they
        would be refused for a reason that is only a matter of timing.
        """
        self.seen(peer_id, version)
        task = self._fetching.get(peer_id)
        if task is None or task.done():
            return
        with contextlib.suppress(TimeoutError):  # the fetch goes on; the batch is opened with what we hold
            await asyncio.wait_for(asyncio.shield(task), FETCH_TIMEOUT)

    async def fetch(self, peer_id: str) -> Offer | None:
        """GetManifest from a peer, from our own version on; adopt what follows, note forks and revocations."""
        channel = self.channel_for(peer_id)
        if channel is None or self.state is None:
            return None
        # The answer comes as bytes: bounded, then parsed in a worker thread (read_manifest_answer).
        call = channel.unary_unary(
            GET_MANIFEST,
            request_serializer=exchange_pb2.GetManifestRequest.SerializeToString,
            response_deserializer=None,
        )
        try:
            raw = await call(exchange_pb2.GetManifestRequest(from_version=self.version), timeout=FETCH_TIMEOUT)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:  # over the channel's own message bound
                log.warning("manifest_answer_refused", peer=peer_id, error=f"{exc.code().name}: {exc.details()}")
            else:
                log.debug("manifest_fetch_failed", peer=peer_id, error=f"{exc.code().name}: {exc.details()}")
            return None
        try:
            if len(raw) > MAX_MANIFEST_ANSWER_BYTES:  # refused at once, nothing parsed
                raise ManifestError(f"the answer is {len(raw)} bytes, more than the {MAX_MANIFEST_ANSWER_BYTES} taken")
            resp = await asyncio.to_thread(read_manifest_answer, raw)
        except ManifestError as exc:
            log.warning("manifest_answer_refused", peer=peer_id, bytes=len(raw), error=str(exc))
            return None
        return await self.adopt(resp, source=peer_id)

    async def adopt(self, resp: exchange_pb2.GetManifestResponse, *, source: str) -> Offer | None:
        """Offer a peer's manifests and revocations to the chain; rebuild on any change."""
        async with self._lock:
            state = self.state
            if state is None:
                return None
            # Verifying signatures of hundreds of versions is CPU work: a worker thread does it
            # (the folder is not reloaded meanwhile: run() skips that while the lock is held).
            offer, before, rev_error = await asyncio.to_thread(_offer_to, state, resp, source)
            changed = False
            if offer.adopted:
                changed = True
                log.info("manifest_adopted", versions=offer.adopted, version=state.version, source=source)
            if offer.refused:
                log.warning("manifest_refused", source=source, detail=offer.refused)
            if offer.fork is not None:
                self._report_fork()
            if resp.revocations:
                if rev_error:  # the valid ones are kept all the same
                    log.warning("revocation_refused", source=source, detail=rev_error)
                new = [r for k, r in state.revocations.items() if before.get(k) is not r]
                if new:
                    changed = True
                    for r in new:
                        log.warning("key_revoked", peer=r.node_id, key_id=r.key_id, reason=r.reason, source=source)
            if changed:
                self._folder_mtime = _newest_time(self.folder)
                self.refresh()
            return offer

    def _report_fork(self) -> None:
        fork = self.fork
        if fork is not None:
            log.error(
                "manifest_fork",
                version=fork.get("version"),
                ours=fork.get("ours"),
                theirs=fork.get("theirs"),
                source=fork.get("source"),
                detail=fork.get("message"),
            )

    async def pull_all(self) -> None:
        """One round of GetManifest from every peer (the periodic backstop of gossip)."""
        for peer in list(self.peers):
            try:
                await self.fetch(peer.node_id)
            except TamgaError as exc:
                log.warning("manifest_fetch_failed", peer=peer.node_id, error=str(exc))

    async def run(self) -> None:
        """Watch the folder, refresh with time, pull from peers; until cancelled."""
        last_refresh = last_pull = time.monotonic()
        while True:
            await asyncio.sleep(self.folder_poll)
            try:
                now = time.monotonic()
                # While an answer is being adopted (in a thread, lock held) the folder changes under
                # us by our own hand: look again next time.
                reloaded = False if self._lock.locked() else self.reload_if_changed()
                if not reloaded and now - last_refresh >= self.refresh_interval:
                    self.refresh()
                    last_refresh = now
                if self.state is not None and now - last_pull >= self.gossip_interval:
                    last_pull = now
                    await self.pull_all()
            except asyncio.CancelledError:
                raise
            except (TamgaError, OSError) as exc:
                log.error("federation_refresh_failed", error=str(exc) or type(exc).__name__)

    async def stop(self) -> None:
        for task in self._fetching.values():
            task.cancel()
        await asyncio.gather(*self._fetching.values(), return_exceptions=True)


def _offer_to(
    state: FederationState, resp: exchange_pb2.GetManifestResponse, source: str
) -> tuple[Offer, dict[tuple[str, str], Any], str]:
    """Offer an answer's versions and revocations to the chain (in a worker thread).

    Returns:
        What came of the versions, the revocations held before, and why some revocations were refused ("" if none).
    """
    offer = state.offer(list(resp.manifests), source=source) if resp.manifests else Offer()
    before: dict[tuple[str, str], Any] = dict(state.revocations)
    error = ""
    if resp.revocations:
        try:
            state.add_revocations(resp.revocations)
        except ManifestError as exc:
            error = str(exc)
    return offer, before, error
