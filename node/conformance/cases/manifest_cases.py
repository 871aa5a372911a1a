"""Node-mode cases of a target in a test federation with the suite (manifest mode).

A target admits the suite either by pinning its test identity (pinned mode)
or by founding a two-member test federation with it: a genesis listing the
target and the suite's ``TEST-`` identity, signed by both, threshold 1,
applied in both node folders (README, "Checking a live node"). These cases
need that (capability ``manifest``, derived from the target's GetManifest
returning a chain); against a pinned target they are NOT-APPLICABLE.

Under threshold 1 the suite signs versions of its own alone, as any member
may: it lists spare signing keys (ENV-009, ENV-010) or takes a sending right away
from itself (ENV-013) and the target learns of it by gossip, the way it learns
from a real member: the suite's next ExchangeRequest carries the newer
version, the target fetches it from the suite's peer with GetManifest, and
the answer carries every revocation the suite knows. FED-001 uses the same
power for an attack: it signs alone a version giving the *target* an
encryption key the suite holds, offers it without adopting it itself, and
checks that the target refuses it (a member's keys change only with its own
signature); it runs after the other manifest cases. The suite's configured
signing key is never revoked and stays its current key, so every other case
keeps working in the same run and in later runs (the chain only grows).

They are collected with :mod:`tamga.conformance.cases.node_cases` (which
imports them) and use its fixtures.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from tamga.conformance._catalogue import case
from tamga.conformance._craft import SAMPLE_TYPES, Crafter, batch_of
from tamga.conformance._federation import fetch_chain
from tamga.conformance._peer import FakePeer
from tamga.conformance._target import TargetNode
from tamga.crypto import EncryptionKey
from tamga.errors import ManifestError
from tamga.federation import Changes, manifest_hash, parse_manifest, verify_chain, verify_revocation
from tamga.federation._manifest import RECORD_TYPES
from tamga.v1 import envelope_pb2, federation_pb2

__all__ = [
    "test_env_009_a_rotated_key_is_accepted_until_it_ends",
    "test_env_010_an_envelope_signed_with_a_revoked_key_is_refused",
    "test_env_013_a_record_type_no_agreement_allows_is_refused",
    "test_fed_001_a_version_changing_the_nodes_keys_without_its_signature_is_not_adopted",
    "test_hlt_004_get_manifest_returns_the_chain_in_order",
]

R = envelope_pb2.RejectReason
MANIFEST = ("feature:manifest",)


def _helpers() -> Any:
    # node_cases imports this module at its end; its helpers are there by the time a case runs.
    from tamga.conformance.cases import node_cases

    return node_cases


def _federation(peer: FakePeer) -> Any:
    if peer.federation is None:
        raise AssertionError("the suite's test identity holds no federation manifest (the target is in manifest mode)")
    return peer.federation


@case(
    "HLT-004",
    "GetManifest returns the manifest versions the node holds, in order, verifying as a chain from the genesis",
    requirements=("FDX-HLT-4",),
    mode="node",
    needs=MANIFEST,
    after=("TRN-001",),
)
def test_hlt_004_get_manifest_returns_the_chain_in_order(peer: FakePeer, transcript: Any) -> None:
    fed = _federation(peer)
    whole = fetch_chain(peer.channel, 1, timeout=peer.timeout)
    versions = [parse_manifest(m).version for m in whole.manifests]
    transcript.step("GetManifest from version 1", versions=",".join(map(str, versions)) or "none")
    assert versions == list(range(1, len(versions) + 1)), f"the versions are not 1..N in order: {versions}"
    try:
        chain = verify_chain(list(whole.manifests))
    except ManifestError as exc:
        raise AssertionError(f"the chain the target serves does not verify from the genesis: {exc}") from exc
    ours = fed.signed_chain()
    assert len(chain) >= len(ours), (
        f"the target serves {len(chain)} version(s); the suite published {len(ours)} and the target has seen them"
    )
    for mine, theirs in zip(ours, chain, strict=False):
        assert manifest_hash(mine.manifest) == theirs.hash, (
            f"version {theirs.version} the target serves is not the test federation's version {theirs.version}"
        )
    for raw in whole.revocations:
        try:
            verify_revocation(chain[-1], raw)
        except ManifestError as exc:
            raise AssertionError(f"a key revocation the target serves does not verify: {exc}") from exc
    transcript.step(
        "the chain verifies from the genesis",
        federation=chain[-1].federation_id,
        newest=chain[-1].version,
        genesis_sha256=chain[0].hash.hex(),
        revocations=len(whole.revocations),
    )
    newest = chain[-1].version
    start = 2 if newest >= 2 else 1
    tail = fetch_chain(peer.channel, start, timeout=peer.timeout)
    got = [parse_manifest(m).version for m in tail.manifests]
    transcript.step(f"GetManifest from version {start}", versions=",".join(map(str, got)) or "none")
    assert got == list(range(start, newest + 1)), f"from version {start} the target served {got}"
    assert [m.SerializeToString() for m in tail.manifests] == [
        m.SerializeToString() for m in whole.manifests[start - 1 :]
    ], f"the versions served from version {start} differ from those of the whole chain"


@case(
    "ENV-013",
    "A record type that no agreement lets the sender send to the node is refused NO_AGREEMENT, before decrypting",
    requirements=("FDX-ENV-13",),
    mode="node",
    negative=True,
    needs=MANIFEST,
    after=("TRN-001",),
)
def test_env_013_a_record_type_no_agreement_allows_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    h = _helpers()
    fed = _federation(peer)
    me, them = peer.suite.node_id, target.node_id
    allowed = fed.current.allowed_types(me, them)
    assert record_type in allowed, (
        f"the test federation does not let {me} send {record_type} to {them} (allowed: {', '.join(allowed) or 'none'}):"
        f" allow it in the genesis (--allow '{me}:{them}:{','.join(SAMPLE_TYPES)}')"
    )
    refused = [t for t in RECORD_TYPES if t not in allowed]
    if not refused:
        kept_back = sorted(t for t in RECORD_TYPES if t not in SAMPLE_TYPES)[-1]
        version = fed.publish(
            Changes(disallow=[(me, them, [kept_back])]),
            f"conformance: {me} may no longer send {kept_back} to {them}",
        )
        transcript.step("the suite signed a version taking one record type away from itself", version=version.version,
                        record_type=kept_back)  # fmt: skip
        refused = [kept_back]
    other = sorted(refused)[0]
    before = h._counts(target, peer)
    # The forbidden type's envelope carries a record of the allowed type: only a node that decrypts before it
    # checks the agreement could tell (and would answer RECORD_TYPE_MISMATCH instead).
    sent = peer.send(
        peer.craft.valid(peer.record(record_type)),
        peer.craft.carrying(peer.record(record_type).SerializeToString(), other),
    )
    h._log(transcript, f"sent a {record_type} (allowed) and an envelope labelled {other} (no agreement)", sent)
    h._accepted(sent.receipts[0], f"a {record_type}, which the agreement allows")
    h._rejected(sent.receipts[1], [R.REJECT_REASON_NO_AGREEMENT], f"record type {other}, which no agreement allows")
    if before is not None:
        after = h._counts(target, peer)
        assert after["received"] == before["received"] + 1, "the target did not store exactly the allowed record"


@case(
    "FED-001",
    "A version that changes the node's own keys without the node's signature is not adopted, whoever else signed it",
    requirements=("FDX-FED-1",),
    mode="node",
    negative=True,
    needs=MANIFEST,
    # After the other manifest cases (ENV-* sort before it, HLT-004 it needs: GetManifest serving the chain):
    # a node that wrongly adopts the version holds a chain the suite does not, which would fail them.
    after=("TRN-001", "HLT-004"),
)
def test_fed_001_a_version_changing_the_nodes_keys_without_its_signature_is_not_adopted(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    h = _helpers()
    fed = _federation(peer)
    them = target.node_id
    member = fed.current.member(them)
    assert member is not None, f"the test federation does not list {them}"
    held = fed.version
    numbers = [
        int(k.key_id.rpartition(":")[2]) for k in member.encryption_keys if k.key_id.rpartition(":")[2].isdigit()
    ]
    stolen = EncryptionKey.generate(max(numbers, default=1) + 1)  # the suite would read what is sealed to it
    key = federation_pb2.MemberKey(key_id=stolen.key_id, public_key=stolen.public.raw)
    key.valid_from.FromNanoseconds(int(time.time() * 1e9))
    bad = fed.unadopted(
        Changes(new_keys=[(them, "encryption", key)]),
        f"conformance: {them}'s encryption key replaced by one the suite holds, without {them}'s signature",
    )
    transcript.step(
        f"the suite signed alone (threshold 1) version {held + 1}, giving {them} an encryption key the suite holds;"
        f" {them} did not sign it; the suite offers it without adopting it",
        version=held + 1,
        key_id=stolen.key_id,
        version_sha256=manifest_hash(bad.manifest).hex(),
    )
    with fed.offering(bad):
        [sent] = peer.exchange(batch_of(peer.craft.valid(peer.record(record_type))), manifest_version=held + 1)
        h._log(transcript, f"sent an envelope carrying manifest version {held + 1} (the target fetches it)", sent)
        served = fetch_chain(peer.channel, held, timeout=peer.timeout)
    versions = [parse_manifest(m).version for m in served.manifests]
    transcript.step(f"GetManifest from version {held}", versions=",".join(map(str, versions)) or "none")
    assert max(versions, default=0) == held, (
        f"the target adopted version {held + 1}, which changes its own encryption key without its signature"
        f" (signed by {peer.suite.node_id} alone): a quorum must not change a member's keys without the member"
    )
    assert manifest_hash(served.manifests[-1].manifest) == fed.current.hash, (
        f"the target's version {held} is not the test federation's"
    )
    h._accepted(sent.receipts[0], f"an envelope carrying version {held + 1}, under the version both hold")
    after = peer.send(peer.craft.valid(peer.record(record_type)))
    h._log(transcript, "sent an envelope after the offer", after)
    h._accepted(after.receipts[0], "an envelope after the refused version (the target keeps its own keys)")


@case(
    "ENV-010",
    "An envelope signed with a key the sender revoked is refused KEY_NOT_VALID once the node has the revocation",
    requirements=("FDX-ENV-10",),
    mode="node",
    negative=True,
    needs=MANIFEST,
    after=("TRN-001",),
)
def test_env_010_an_envelope_signed_with_a_revoked_key_is_refused(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    h = _helpers()
    fed = _federation(peer)
    spare, listed = fed.add_spare_signing_key()
    transcript.step("the suite listed a spare signing key of its own", key_id=spare.key_id, version=listed.version)
    with_spare = Crafter(dataclasses.replace(peer.suite.local, signing_key=spare), target.identity)
    first = peer.send(with_spare.valid(peer.record(record_type)))
    h._log(transcript, f"sent an envelope signed with {spare.key_id}, carrying version {listed.version}", first)
    h._accepted(first.receipts[0], f"an envelope signed with {spare.key_id} once version {listed.version} lists it")
    fed.revoke(spare.key_id, "conformance: revocation drill of a spare test key")
    # The revocation travels with the next version the target fetches; a new version makes it fetch at once.
    announced = fed.publish(Changes(), f"conformance: {peer.suite.node_id} revoked its spare key {spare.key_id}")
    transcript.step("the suite revoked the spare key and signed a version", version=announced.version)
    sent = peer.send(
        with_spare.valid(peer.record(record_type)),
        peer.craft.valid(peer.record(record_type)),
    )
    h._log(transcript, f"sent envelopes signed with the revoked {spare.key_id}, then with the suite's own key", sent)
    h._rejected(
        sent.receipts[0], [R.REJECT_REASON_KEY_NOT_VALID], f"an envelope signed with the revoked {spare.key_id}"
    )
    h._accepted(sent.receipts[1], f"an envelope signed with {peer.suite.local.signing_key.key_id} (not revoked)")


ROTATION_OVERLAP = 3.0
"""Seconds the old key of ENV-009's rotation stays valid after the version that replaces it."""


@case(
    "ENV-009",
    "After a key rotation the new key is accepted as soon as the manifest lists it, the old one only until it ends",
    requirements=("FDX-ENV-9",),
    mode="node",
    negative=True,
    needs=MANIFEST,
    after=("TRN-001",),
)
def test_env_009_a_rotated_key_is_accepted_until_it_ends(
    peer: FakePeer, target: TargetNode, record_type: str, transcript: Any
) -> None:
    h = _helpers()
    fed = _federation(peer)
    old, listed = fed.add_spare_signing_key()
    with_old = Crafter(dataclasses.replace(peer.suite.local, signing_key=old), target.identity)
    first = peer.send(with_old.valid(peer.record(record_type)))
    h._log(transcript, f"sent an envelope signed with {old.key_id}, listed by version {listed.version}", first)
    h._accepted(first.receipts[0], f"an envelope signed with {old.key_id}, the key before the rotation")
    ends = time.time() + ROTATION_OVERLAP
    new, rotated = fed.add_spare_signing_key(ending=(old.key_id, ends))
    with_new = Crafter(dataclasses.replace(peer.suite.local, signing_key=new), target.identity)
    transcript.step("the suite rotated", old=old.key_id, new=new.key_id, version=rotated.version,
                    old_key_ends_in_s=f"{ROTATION_OVERLAP:.0f}")  # fmt: skip
    during = peer.send(with_new.valid(peer.record(record_type)), with_old.valid(peer.record(record_type)))
    h._log(transcript, f"sent envelopes signed with the new {new.key_id} and the old {old.key_id}", during)
    h._accepted(during.receipts[0], f"the new key {new.key_id} as soon as version {rotated.version} lists it")
    assert time.time() < ends, "the overlap ended before the suite could send with the old key (a slow target?)"
    h._accepted(during.receipts[1], f"the old key {old.key_id} within its validity")
    wait = ends + 0.5 - time.time()
    if wait > 0:
        time.sleep(wait)  # bounded: ROTATION_OVERLAP at most
    after = peer.send(with_old.valid(peer.record(record_type)), with_new.valid(peer.record(record_type)))
    h._log(transcript, f"after the old key ended: envelopes signed with {old.key_id} and {new.key_id}", after)
    h._rejected(after.receipts[0], [R.REJECT_REASON_KEY_NOT_VALID], f"the old key {old.key_id} after it ended")
    h._accepted(after.receipts[1], f"the new key {new.key_id}")
