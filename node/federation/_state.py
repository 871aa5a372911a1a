"""A node's copy of the federation manifest chain, on disk, and how it changes.

Layout, under the node folder (``federation/``)::

    manifests/v000001.pb     the genesis, exactly as signed (SignedManifest)
    manifests/v000002.pb     each later version, in order
    revocations/NODE--KEY.pb key revocations received (SignedKeyRevocation)
    fork.json                present when two valid, different manifests of
                             one version were seen: the alarm, until resolved

The chain is verified from the genesis every time it is loaded; a node whose
files do not verify refuses to start and says which version fails. Versions
offered by peers (gossip) are adopted only when each follows from the one
before under the rules of :mod:`._manifest`; the node never adopts a version
that does not follow from its own genesis. Two different valid manifests of
the same version are a fork: the node keeps what it has, records the alarm,
logs it and shows it in ``tamga status``; people must resolve it. The alarm
names the members whose valid signatures are on both versions: a member must
never sign two versions of one number, so those are the ones to ask.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError
from tamga.errors import ManifestError
from tamga.federation._manifest import (
    Revocation,
    VerifiedManifest,
    double_signers,
    manifest_hash,
    parse_manifest,
    verify_genesis,
    verify_revocation,
    verify_successor,
)
from tamga.intake import write_atomically
from tamga.v1 import federation_pb2

__all__ = ["FederationState", "Offer"]


@dataclass
class Offer:
    """What came of manifest versions offered by a peer or a person."""

    adopted: list[int] = field(default_factory=list)  # versions newly adopted
    fork: dict[str, Any] | None = None  # set when the offer revealed a fork
    refused: str = ""  # why an offered version was refused, if one was


class FederationState:
    """The verified manifest chain and key revocations of one node."""

    def __init__(self, folder: Path, chain: list[VerifiedManifest], revocations: dict[tuple[str, str], Revocation]):
        self.folder = folder
        self.chain = chain
        self.revocations = revocations
        self.fork: dict[str, Any] | None = self._read_fork()

    # -- loading ---------------------------------------------------------------------

    @property
    def manifests_dir(self) -> Path:
        return self.folder / "manifests"

    @property
    def revocations_dir(self) -> Path:
        return self.folder / "revocations"

    @classmethod
    def exists(cls, folder: Path) -> bool:
        return (folder / "manifests" / "v000001.pb").is_file()

    @classmethod
    def load(cls, folder: Path) -> FederationState:
        """Read and verify the chain from the genesis, and the revocations.

        Raises:
            ManifestError: no genesis, a gap, or a version that does not verify.
        """
        mdir = folder / "manifests"
        files = sorted(mdir.glob("v*.pb")) if mdir.is_dir() else []
        if not files:
            raise ManifestError(f"{mdir}: no manifest; apply the genesis with 'tamga federation apply GENESIS'")
        signed = []
        for expected, path in enumerate(files, start=1):
            if path.name != f"v{expected:06d}.pb":
                raise ManifestError(f"{path}: expected v{expected:06d}.pb here, the chain has a gap")
            try:
                signed.append(federation_pb2.SignedManifest.FromString(path.read_bytes()))
            except (OSError, DecodeError) as exc:
                raise ManifestError(f"{path}: cannot read the manifest: {exc}") from exc
        state = cls(folder, [], {})
        revocation_files = sorted((folder / "revocations").glob("*.pb")) if (folder / "revocations").is_dir() else []
        raw_revocations = []
        for path in revocation_files:
            try:
                raw_revocations.append(federation_pb2.SignedKeyRevocation.FromString(path.read_bytes()))
            except (OSError, DecodeError) as exc:
                raise ManifestError(f"{path}: cannot read the key revocation: {exc}") from exc
        try:
            state.chain = [verify_genesis(signed[0])]
            for s in signed[1:]:
                state.chain.append(verify_successor(state.chain[-1], s, revoked=state.revoked()))
        except ManifestError as exc:
            raise ManifestError(f"{mdir}: {exc}") from exc
        for raw in raw_revocations:
            state._note_revocation(raw)
        return state

    # -- reading ---------------------------------------------------------------------

    @property
    def current(self) -> VerifiedManifest:
        return self.chain[-1]

    @property
    def version(self) -> int:
        return self.current.version

    def revoked(self) -> dict[tuple[str, str], float]:
        """(node id, key id) -> when the key stopped being valid."""
        return {k: r.revoked_at for k, r in self.revocations.items()}

    def signed_from(self, version: int) -> list[federation_pb2.SignedManifest]:
        """The versions from ``version`` on, as signed (what GetManifest answers)."""
        return [v.signed for v in self.chain[max(version, 1) - 1 :]]

    def signed_revocations(self) -> list[federation_pb2.SignedKeyRevocation]:
        return [r.signed for r in self.revocations.values()]

    # -- changing --------------------------------------------------------------------

    def install_genesis(self, signed: federation_pb2.SignedManifest) -> VerifiedManifest:
        """Start a chain (``tamga federation apply`` of a genesis on a node without one).

        Raises:
            ManifestError: the genesis is not valid, or a chain is already there.
        """
        if self.chain:
            raise ManifestError(f"{self.manifests_dir}: this node already holds a federation manifest")
        verified = verify_genesis(signed)
        self.folder.mkdir(mode=0o755, parents=True, exist_ok=True)  # 0755 whatever the umask: 'tamga run'
        self.manifests_dir.mkdir(mode=0o755, exist_ok=True)  # refuses a chain others may write (config.py)
        write_atomically(self.manifests_dir / "v000001.pb", signed.SerializeToString())
        self.chain = [verified]
        return verified

    @classmethod
    def create(cls, folder: Path, genesis: federation_pb2.SignedManifest) -> FederationState:
        state = cls(folder, [], {})
        state.install_genesis(genesis)
        return state

    def offer(self, manifests: Sequence[federation_pb2.SignedManifest], *, source: str) -> Offer:
        """Adopt the versions that follow from ours; detect forks.

        Versions we hold are compared by hash: a different one that is valid
        against our version before it is a fork (alarm, nothing changes); an
        invalid one is refused. Newer versions are verified one after the
        other and adopted up to the first that fails.
        """
        result = Offer()
        for signed in sorted(manifests, key=self._version_of):
            version = self._version_of(signed)
            if version < 1:
                result.refused = f"a manifest from {source} does not parse"
                continue
            if version <= self.version:
                ours = self.chain[version - 1]
                if manifest_hash(signed.manifest) == ours.hash:
                    continue
                try:
                    if version == 1:
                        verify_genesis(signed)
                    else:
                        verify_successor(self.chain[version - 2], signed, revoked=self.revoked())
                except ManifestError as exc:
                    result.refused = f"version {version} from {source}: {exc}"
                    continue
                previous = self.chain[version - 2] if version > 1 else None
                both = double_signers(previous, ours.signed, signed, revoked=self.revoked())
                result.fork = self._raise_fork(version, ours, signed, source, both)
                continue
            if version != self.version + 1:
                result.refused = f"version {version} from {source} does not follow our version {self.version}"
                break
            try:
                verified = verify_successor(self.current, signed, revoked=self.revoked())
            except ManifestError as exc:
                result.refused = f"from {source}: {exc}"
                break
            write_atomically(self.manifests_dir / f"v{version:06d}.pb", signed.SerializeToString())
            self.chain.append(verified)
            result.adopted.append(version)
        return result

    def add_revocations(self, signed: Iterable[federation_pb2.SignedKeyRevocation]) -> list[Revocation]:
        """Verify and keep revocations not seen before; returns the new ones.

        Raises:
            ManifestError: a revocation does not verify (the others are kept).
        """
        new: list[Revocation] = []
        problems: list[str] = []
        for raw in signed:
            try:
                rev = self._note_revocation(raw)
            except ManifestError as exc:
                problems.append(str(exc))
                continue
            if rev is not None:
                self.revocations_dir.mkdir(mode=0o755, parents=True, exist_ok=True)
                name = f"{rev.node_id}--{rev.key_id.replace(':', '-')}.pb"
                write_atomically(self.revocations_dir / name, raw.SerializeToString())
                new.append(rev)
        if problems:
            raise ManifestError("; ".join(problems))
        return new

    def _note_revocation(self, raw: federation_pb2.SignedKeyRevocation) -> Revocation | None:
        rev = verify_revocation(self.current, raw)
        key = (rev.node_id, rev.key_id)
        old = self.revocations.get(key)
        if old is not None and old.revoked_at <= rev.revoked_at:
            return None
        self.revocations[key] = rev
        return rev

    # -- forks -----------------------------------------------------------------------

    @property
    def fork_path(self) -> Path:
        return self.folder / "fork.json"

    def _read_fork(self) -> dict[str, Any] | None:
        try:
            data = json.loads(self.fork_path.read_text("utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _raise_fork(
        self,
        version: int,
        ours: VerifiedManifest,
        theirs: federation_pb2.SignedManifest,
        source: str,
        signed_both: list[str],
    ) -> dict[str, Any]:
        if signed_both:
            who = (
                f" {', '.join(signed_both)} signed both versions {version} (a member must never sign two versions of"
                " one number)."
            )
        else:
            who = f" No member signed both: the threshold let two groups each sign a version {version}."
        alarm = {
            "version": version,
            "ours": ours.hash.hex(),
            "theirs": manifest_hash(theirs.manifest).hex(),
            "source": source,
            "signed_both": signed_both,
            "seen_at": time.time(),
            "message": (
                f"FORK: two different valid manifests of version {version} exist (ours {ours.hash.hex()},"
                f" {source}'s {manifest_hash(theirs.manifest).hex()}); this node keeps its own.{who} The members"
                " must agree which one stands and sign a new version on top of it."
            ),
        }
        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomically(self.fork_path, json.dumps(alarm, indent=2).encode())
        write_atomically(self.folder / f"fork-v{version:06d}-{source}.pb", theirs.SerializeToString())
        self.fork = alarm
        return alarm

    @staticmethod
    def _version_of(signed: federation_pb2.SignedManifest) -> int:
        try:
            return int(parse_manifest(signed).version)
        except ManifestError:
            return 0
