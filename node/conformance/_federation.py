"""The suite's test identity as a member of a test federation with the target.

A national team can admit the suite in two ways: pin its test identity
(``tamga peer add``, pinned mode) or found a two-member *test federation*
with it (manifest mode): a genesis listing the team's test node and the
suite's ``TEST-`` identity, signed by both, applied in both node folders.
With threshold 1 either member can sign a later version alone, so the suite
can change its own keys and sending rights during a run without asking the
team to sign anything: that is what lets the manifest cases (key revocation,
agreements) run unattended.

:class:`SuiteFederation` is the suite's side: the verified chain and
revocations in the test identity's ``federation/`` folder, kept as a real
member keeps them (:class:`~tamga.federation.FederationState`). The suite's
peer answers ``GetManifest`` from it and carries its version in every
``ExchangeRequest`` and ``ExchangeResponse``, as a real member does; a target
that sees a newer version fetches it (gossip), with every revocation the suite
knows. :func:`join_target` checks, before any case, that the target serves a
chain of the same federation and brings the suite's copy up to the target's.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
from tamga.crypto import EncryptionKey, SigningKey
from tamga.errors import ManifestError
from tamga.federation import (
    Changes,
    FederationState,
    VerifiedManifest,
    make_revocation,
    manifest_hash,
    sign_manifest,
    successor_proposal,
)
from tamga.protocol import LocalIdentity
from tamga.v1 import exchange_pb2, exchange_pb2_grpc, federation_pb2

__all__ = ["SuiteFederation", "fetch_chain", "join_target"]


class SuiteFederation:
    """The test identity's copy of the test federation; safe to read from the peer server's threads.

    Args:
        state: The chain and revocations of the test identity's ``federation/`` folder.
        node_id: The test identity.
        signing_key: The test identity's configured signing key (signs versions and revocations).
    """

    def __init__(self, state: FederationState, node_id: str, signing_key: SigningKey) -> None:
        self.state = state
        self.node_id = node_id
        self.signing_key = signing_key
        self._lock = threading.Lock()
        # Versions the suite offers through GetManifest without adopting them (a case's bad version).
        self._offered: list[federation_pb2.SignedManifest] = []

    @classmethod
    def load(cls, home: Path, node_id: str, signing_key: SigningKey) -> SuiteFederation | None:
        """The test identity's federation, or None when its folder holds no chain (pinned mode).

        Raises:
            ManifestError: the chain there does not verify.
        """
        folder = home / "federation"
        if not FederationState.exists(folder):
            return None
        return cls(FederationState.load(folder), node_id, signing_key)

    # -- reading --

    @property
    def version(self) -> int:
        with self._lock:
            return self.state.version

    @property
    def current(self) -> VerifiedManifest:
        with self._lock:
            return self.state.current

    def answer(self, from_version: int) -> Any:
        """What GetManifest answers: the versions from ``from_version`` on, and every revocation known."""
        with self._lock:
            return exchange_pb2.GetManifestResponse(
                manifests=[*self.state.signed_from(max(int(from_version), 1)), *self._offered],
                revocations=self.state.signed_revocations(),
            )

    def signed_chain(self) -> list[Any]:
        with self._lock:
            return self.state.signed_from(1)

    # -- changing, as a member under threshold 1 --

    def publish(self, changes: Changes, summary: str) -> VerifiedManifest:
        """Sign the next version with ``changes`` alone and adopt it; peers fetch it from the suite.

        Raises:
            ManifestError: the version is not valid, or one signature is not enough (threshold above 1).
        """
        with self._lock:
            current = self.state.current
            if current.threshold > 1:
                raise ManifestError(
                    f"the test federation's threshold is {current.threshold}: the suite cannot sign a version alone; "
                    "found it with --threshold 1"
                )
            issued = max(time.time(), current.issued_at)
            unsigned = successor_proposal(current, changes, issued_at=issued, summary=summary)
            signed = sign_manifest(unsigned, self.node_id, self.signing_key)
            offer = self.state.offer([signed], source=self.node_id)
            if offer.refused or not offer.adopted:
                raise ManifestError(f"the suite's own version {current.version + 1} was not adopted: {offer.refused}")
            return self.state.current

    def unadopted(self, changes: Changes, summary: str) -> federation_pb2.SignedManifest:
        """The next version with ``changes``, signed by the suite alone and *not* adopted by it.

        For a case that offers a version the target must refuse: the suite's own
        chain stays as it was, so later cases (and later runs) build on it.

        Raises:
            ManifestError: one signature is not enough (threshold above 1), or the result is not a manifest.
        """
        with self._lock:
            current = self.state.current
            if current.threshold > 1:
                raise ManifestError(
                    f"the test federation's threshold is {current.threshold}: the suite cannot sign a version alone"
                )
            issued = max(time.time(), current.issued_at)
            unsigned = successor_proposal(current, changes, issued_at=issued, summary=summary)
            return sign_manifest(unsigned, self.node_id, self.signing_key)

    @contextlib.contextmanager
    def offering(self, *versions: federation_pb2.SignedManifest) -> Iterator[None]:
        """While in the block, GetManifest also serves ``versions`` after the suite's chain (not adopted)."""
        with self._lock:
            self._offered = list(versions)
        try:
            yield
        finally:
            with self._lock:
                self._offered = []

    def _next_key_number(self, kind: str = "signing") -> int:
        member = self.current.member(self.node_id)
        ids = [k.key_id.rpartition(":")[2] for k in (getattr(member, f"{kind}_keys") if member else ())]
        return max((int(n) for n in ids if n.isdigit()), default=1) + 1

    def undated_identity(self, local: LocalIdentity) -> LocalIdentity:
        """The test identity with its configured keys under key ids the federation lists without a start or end.

        ``tamga federation init`` lists a founder's keys as valid from the
        genesis on, so an envelope the suite dates before it (a stale one, a
        header whose time is changed after signing) would be refused for its
        keys before the node looks at what the case bends. The suite seals its
        envelopes under second ids of the same keys instead; it lists them
        once, in a version of its own (threshold 1). Having no start, they are
        never the identity's *current* keys: the target keeps verifying the
        suite's receipts and sealing to it with the configured ones.

        Raises:
            ManifestError: the version cannot be signed (threshold above 1), or the suite is not a member.
        """
        member = self.current.member(self.node_id)
        if member is None:
            raise ManifestError(f"the suite's identity {self.node_id} is not a member of the test federation")
        found: dict[str, int] = {}
        new: list[tuple[str, str, Any]] = []
        for kind, key in (("signing", local.signing_key), ("encryption", local.encryption_key)):
            raw = key.public.raw
            for k in getattr(member, f"{kind}_keys"):
                number = k.key_id.rpartition(":")[2]
                undated = k.valid_from is None and k.valid_until is None and self.revoked_at(k.key_id) is None
                if k.public == raw and undated and number.isdigit():
                    found[kind] = int(number)
                    break
            else:
                found[kind] = self._next_key_number(kind)
                alias = type(key).from_seed(key.seed, version=found[kind])
                new.append((self.node_id, kind, federation_pb2.MemberKey(key_id=alias.key_id, public_key=raw)))
        if new:
            self.publish(
                Changes(new_keys=new),
                f"conformance: {self.node_id}'s keys also listed as {', '.join(k.key_id for _, _, k in new)}, "
                "without a start, for envelopes the suite dates into the past",
            )
        return dataclasses.replace(
            local,
            signing_key=SigningKey.from_seed(local.signing_key.seed, version=found["signing"]),
            encryption_key=EncryptionKey.from_seed(local.encryption_key.seed, version=found["encryption"]),
        )

    def add_spare_signing_key(self, *, ending: tuple[str, float] | None = None) -> tuple[SigningKey, VerifiedManifest]:
        """A new signing key of the test identity, listed by a new version; held in memory only.

        The key starts a second before the earliest of the identity's listed
        signing keys, so it is never the identity's *current* key: the target
        keeps verifying the suite's receipts with the configured key.
        ``ending`` (key id, until) ends another key in the same version: a
        rotation from that key to the new one.
        """
        member = self.current.member(self.node_id)
        if member is None:
            raise ManifestError(f"the suite's identity {self.node_id} is not a member of the test federation")
        spare = SigningKey.generate(self._next_key_number())
        starts = [k.valid_from for k in member.signing_keys]
        key = federation_pb2.MemberKey(key_id=spare.key_id, public_key=spare.public.raw)
        if all(s is not None for s in starts):
            key.valid_from.FromNanoseconds(int((min(s for s in starts if s is not None) - 1.0) * 1e9))
        changes = Changes(new_keys=[(self.node_id, "signing", key)])
        summary = f"conformance: spare signing key {spare.key_id} of the test identity {self.node_id}"
        if ending is not None:
            changes.key_ends.append((self.node_id, ending[0], ending[1]))
            summary += f", replacing {ending[0]}"
        return spare, self.publish(changes, summary)

    def revoke(self, key_id: str, reason: str) -> float:
        """Revoke one of the test identity's keys, signed with its configured key; when it took effect."""
        now = time.time()
        with self._lock:
            rev = make_revocation(self.node_id, self.signing_key, key_id, now, reason)
            self.state.add_revocations([rev])
        return now

    def revoked_at(self, key_id: str) -> float | None:
        with self._lock:
            return self.state.revoked().get((self.node_id, key_id))

    def catch_up(self, response: Any, source: str) -> list[int]:
        """Adopt the versions and revocations ``source`` served that follow from ours; the versions adopted.

        Raises:
            ManifestError: a version served does not follow from the suite's chain (another federation, a fork).
        """
        with self._lock:
            offer = self.state.offer(list(response.manifests), source=source)
            if offer.refused or offer.fork is not None:
                raise ManifestError(offer.refused or str((offer.fork or {}).get("message")))
            if response.revocations:
                self.state.add_revocations(response.revocations)
            return offer.adopted


def fetch_chain(channel: grpc.Channel, from_version: int = 1, timeout: float = 10.0) -> Any:
    """GetManifest from the target over ``channel``."""
    stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
    return stub.GetManifest(exchange_pb2.GetManifestRequest(from_version=from_version), timeout=timeout)


def join_target(home: Path, local: LocalIdentity, response: Any, target_id: str) -> int:
    """Check the test federation before any case: the version the target serves (0: pinned mode).

    ``response`` is the target's GetManifest from version 1. A target that
    serves a chain needs the suite's copy of the same federation (the genesis
    both applied); the suite adopts whatever newer versions the target holds.

    Raises:
        ManifestError: the target serves a chain and the suite holds none, or
            another one, or the suite's identity is not a member.
    """
    if not response.manifests:
        return 0
    node_id = local.node_id
    mine = SuiteFederation.load(home, node_id, local.signing_key)
    if mine is None:
        raise ManifestError(
            f"node {target_id} serves a federation manifest but the suite's test identity holds none: sign the "
            f"test federation's genesis with both nodes and apply it to both "
            f"('tamga federation apply GENESIS --home {home}')"
        )
    genesis = manifest_hash(response.manifests[0].manifest)
    if genesis != mine.state.chain[0].hash:
        raise ManifestError(
            f"node {target_id} serves another federation than the suite's test identity holds (genesis sha256 "
            f"{genesis.hex()}, the suite's {mine.state.chain[0].hash.hex()}): apply the test "
            "federation's genesis to both"
        )
    mine.catch_up(response, target_id)
    if mine.current.member(node_id) is None or mine.current.member(target_id) is None:
        raise ManifestError(
            f"version {mine.version} of federation {mine.current.federation_id!r} does not list both {node_id} "
            f"and {target_id}: the suite checks a node only in a test federation listing both"
        )
    mine.undated_identity(local)
    return mine.version
