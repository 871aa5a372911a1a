"""The federation manifest: genesis by all founders, later versions by k members of the version before,
the chain from the genesis, revocations, forks, and the words a signer reads."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from tamga.crypto import EncryptionKey, SigningKey
from tamga.errors import ManifestError
from tamga.federation import (
    Changes,
    FederationState,
    describe_changes,
    genesis_proposal,
    make_revocation,
    member_from_identity,
    peers_from_manifest,
    sign_manifest,
    signature_report,
    successor_proposal,
    verify_chain,
    verify_genesis,
    verify_successor,
)
from tamga.protocol import LocalIdentity, Peer
from tamga.v1 import federation_pb2, identity_pb2

T0 = 1_790_000_000.0  # a fixed clock: 2026-09-22


@dataclass
class Node:
    node_id: str
    country: str
    sk: SigningKey
    ek: EncryptionKey

    def peer(self) -> Peer:
        return Peer(
            node_id=self.node_id,
            country=self.country,
            authority=f"Customs service of {self.country}",
            verify_key=self.sk.public,
            encryption_key=self.ek.public,
            endpoints=(f"{self.node_id.lower()}.customs.example:7400",),
        )

    def identity(self) -> identity_pb2.SignedIdentity:
        """The node's signed identity document, as 'tamga identity export' writes it."""
        local = LocalIdentity(self.node_id, self.country, f"Customs service of {self.country}", self.sk, self.ek)
        return local.identity_document([f"{self.node_id.lower()}.customs.example:7400"], T0 - 100)


def make_node(node_id: str, country: str) -> Node:
    return Node(node_id, country, SigningKey.generate(), EncryptionKey.generate())


@pytest.fixture
def founders() -> list[Node]:
    return [make_node(n, c) for n, c in (("KZ", "KZ"), ("CN", "CN"), ("IN", "IN"), ("TJ", "TJ"), ("PK", "PK"))]


def signed_by(proposal: federation_pb2.SignedManifest, nodes: list[Node]) -> federation_pb2.SignedManifest:
    for n in nodes:
        proposal = sign_manifest(proposal, n.node_id, n.sk)
    return proposal


def genesis(founders: list[Node], threshold: int = 3) -> federation_pb2.SignedManifest:
    proposal = genesis_proposal(
        federation_id="sco-customs",
        founders=[member_from_identity(n.identity(), valid_from=T0 - 10) for n in founders],
        threshold=threshold,
        allow=[("*", "*", ["declaration_snapshot", "contact_point_message"])],
        issued_at=T0,
    )
    return signed_by(proposal, founders)


def test_a_genesis_signed_by_every_founder_is_valid_and_lists_them(founders: list[Node]) -> None:
    v1 = verify_genesis(genesis(founders))
    assert v1.version == 1 and v1.threshold == 3 and v1.federation_id == "sco-customs"
    assert sorted(v1.members) == ["CN", "IN", "KZ", "PK", "TJ"]
    assert v1.allows("KZ", "CN", "declaration_snapshot")
    assert not v1.allows("KZ", "CN", "seizure_report")
    assert not v1.allows("KZ", "KZ", "declaration_snapshot")


def test_a_genesis_missing_one_founders_signature_is_refused_naming_him(founders: list[Node]) -> None:
    proposal = genesis_proposal(
        federation_id="sco-customs",
        founders=[member_from_identity(n.identity()) for n in founders],
        threshold=3,
        issued_at=T0,
    )
    with pytest.raises(ManifestError, match="missing or invalid: PK"):
        verify_genesis(signed_by(proposal, founders[:4]))


def test_a_later_version_needs_k_signatures_of_members_of_the_version_before(founders: list[Node]) -> None:
    v1 = verify_genesis(genesis(founders))
    uz = make_node("UZ", "UZ")
    proposal = successor_proposal(
        v1, Changes(add=[member_from_identity(uz.identity())], allow=[("UZ", "*", ["*"])]), issued_at=T0 + 60
    )
    with pytest.raises(ManifestError, match=r"2 valid signature.*3 are needed"):
        verify_successor(v1, signed_by(proposal, founders[:2]))
    # The new member's own signature does not count: it is not a member of version 1.
    with pytest.raises(ManifestError, match="not a member"):
        verify_successor(v1, signed_by(proposal, [*founders[:2], uz]))
    v2 = verify_successor(v1, signed_by(proposal, founders[:3]))
    assert "UZ" in v2.members and v2.allows("UZ", "KZ", "seizure_report")
    assert v2.manifest.previous_hash == v1.hash


def test_a_forged_signature_and_truncated_bytes_are_refused_with_a_clear_error(founders: list[Node]) -> None:
    v1 = verify_genesis(genesis(founders))
    proposal = signed_by(successor_proposal(v1, Changes(threshold=2), issued_at=T0 + 60), founders[:3])
    forged = federation_pb2.SignedManifest()
    forged.CopyFrom(proposal)
    forged.signatures[2].signature = bytes(64)
    with pytest.raises(ManifestError, match="does not verify"):
        verify_successor(v1, forged)
    truncated = federation_pb2.SignedManifest(manifest=proposal.manifest[:-7], signatures=proposal.signatures)
    with pytest.raises(ManifestError, match=r"do not parse|not valid|does not verify"):
        verify_successor(v1, truncated)
    # Changed after signing: every signature fails.
    altered = federation_pb2.SignedManifest(manifest=proposal.manifest.replace(b"KZ", b"KG", 1))
    altered.signatures.extend(proposal.signatures)
    with pytest.raises(ManifestError):
        verify_successor(v1, altered)


def test_a_version_that_skips_or_names_another_previous_hash_is_refused(founders: list[Node]) -> None:
    v1 = verify_genesis(genesis(founders))
    v2 = verify_successor(v1, signed_by(successor_proposal(v1, Changes(), issued_at=T0 + 1), founders[:3]))
    v3_proposal = signed_by(successor_proposal(v2, Changes(), issued_at=T0 + 2), founders[:3])
    with pytest.raises(ManifestError, match="does not follow version 1"):
        verify_successor(v1, v3_proposal)
    assert [v.version for v in verify_chain([v1.signed, v2.signed, v3_proposal])] == [1, 2, 3]
    with pytest.raises(ManifestError):
        verify_chain([v1.signed, v3_proposal])


def test_a_removed_member_has_no_say_and_is_no_longer_a_peer(founders: list[Node]) -> None:
    v1 = verify_genesis(genesis(founders))
    v2 = verify_successor(v1, signed_by(successor_proposal(v1, Changes(remove=["PK"]), issued_at=T0 + 5), founders[:3]))
    assert "PK" not in peers_from_manifest(v2, "KZ", now=T0 + 6)
    proposal = successor_proposal(v2, Changes(threshold=2), issued_at=T0 + 9)
    with pytest.raises(ManifestError, match="2 valid signature"):
        verify_successor(v2, signed_by(proposal, [founders[4], *founders[:2]]))  # PK signs in vain


def test_rotation_keeps_the_old_key_until_its_end_and_peers_use_the_newest(founders: list[Node]) -> None:
    v1 = verify_genesis(genesis(founders))
    kz = founders[0]
    new_sk = SigningKey.generate(version=2)
    key = federation_pb2.MemberKey(key_id=new_sk.key_id, public_key=new_sk.public.raw)
    key.valid_from.FromSeconds(int(T0 + 100))
    changes = Changes(new_keys=[("KZ", "signing", key)], key_ends=[("KZ", kz.sk.key_id, T0 + 1000)])
    v2 = verify_successor(v1, signed_by(successor_proposal(v1, changes, issued_at=T0 + 50), founders[:3]))
    assert peers_from_manifest(v2, "CN", now=T0 + 60).get("KZ").verify_key.key_id == kz.sk.key_id
    assert peers_from_manifest(v2, "CN", now=T0 + 200).get("KZ").verify_key.key_id == new_sk.key_id
    member = v2.member("KZ")
    assert member.signing_key(kz.sk.key_id).valid_at(T0 + 999)
    assert not member.signing_key(kz.sk.key_id).valid_at(T0 + 1001)
    words = "\n".join(describe_changes(v1, v2.manifest))
    assert "member KZ: new signing key ed25519:2" in words
    assert f"member KZ: signing key now {kz.sk.key_id}" in words


def test_describe_changes_says_what_a_signer_must_check(founders: list[Node]) -> None:
    v1 = verify_genesis(genesis(founders))
    words = describe_changes(None, v1.manifest)
    assert words[0].startswith("creates federation 'sco-customs' (version 1) with 5 founding members")
    assert "allows KZ to send contact_point_message, declaration_snapshot to CN" in words
    uz = make_node("UZ", "UZ")
    changes = Changes(
        add=[member_from_identity(uz.identity())], remove=["PK"], threshold=2, allow=[("UZ", "KZ", ["*"])]
    )
    proposal = successor_proposal(v1, changes, issued_at=T0 + 1, summary="Uzbekistan joins; Pakistan leaves")
    text = "\n".join(describe_changes(v1, federation_pb2.Manifest.FromString(proposal.manifest)))
    assert "adds member UZ: Customs service of UZ (UZ)" in text
    assert "REMOVES member PK" in text
    assert "changes the signatures needed for a change from 3 to 2" in text
    assert "allows UZ to send every record type to KZ" in text
    assert "no longer allows PK to send" in text
    assert "proposer's summary: Uzbekistan joins; Pakistan leaves" in text
    valid, problems, needed = signature_report(v1, signed_by(proposal, founders[:1]))
    assert (valid, problems, needed) == (["KZ"], [], 3)


def test_the_state_adopts_following_versions_and_raises_a_fork_alarm(tmp_path: Path, founders: list[Node]) -> None:
    g = genesis(founders)
    state = FederationState.create(tmp_path / "fed", g)
    v1 = state.current
    a = signed_by(successor_proposal(v1, Changes(threshold=2), issued_at=T0 + 1), founders[:3])
    b = signed_by(successor_proposal(v1, Changes(threshold=4), issued_at=T0 + 1), founders[2:])
    offer = state.offer([a], source="CN")
    assert offer.adopted == [2] and offer.fork is None and state.version == 2
    offer = state.offer([b], source="PK")
    assert offer.adopted == [] and offer.fork is not None and offer.fork["version"] == 2
    assert state.version == 2 and state.current.threshold == 2  # keeps its own
    reloaded = FederationState.load(tmp_path / "fed")
    assert reloaded.version == 2 and reloaded.fork is not None and "FORK" in reloaded.fork["message"]
    # An invalid "other version 2" is refused, not a fork.
    c = signed_by(successor_proposal(v1, Changes(threshold=5), issued_at=T0 + 1), founders[:1])
    offer = reloaded.offer([c], source="IN")
    assert offer.fork is None and "1 valid signature" in offer.refused


def test_a_chain_whose_file_was_edited_does_not_load(tmp_path: Path, founders: list[Node]) -> None:
    state = FederationState.create(tmp_path / "fed", genesis(founders))
    path = tmp_path / "fed" / "manifests" / "v000001.pb"
    data = bytearray(path.read_bytes())
    data[40] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ManifestError, match=r"v000001|genesis"):
        FederationState.load(tmp_path / "fed")
    assert state.version == 1


def test_a_members_own_revocation_takes_effect_at_once(tmp_path: Path, founders: list[Node]) -> None:
    state = FederationState.create(tmp_path / "fed", genesis(founders))
    kz = founders[0]
    rev = make_revocation("KZ", kz.sk, kz.sk.key_id, T0 + 30, "key file copied by an unauthorised person")
    assert [r.key_id for r in state.add_revocations([rev])] == [kz.sk.key_id]
    assert "KZ" not in peers_from_manifest(state.current, "CN", revoked=state.revoked(), now=T0 + 31)
    assert "KZ" in peers_from_manifest(state.current, "CN", revoked=state.revoked(), now=T0 + 29)
    # Nobody else can revoke KZ's key.
    forged = make_revocation("KZ", founders[1].sk, kz.sk.key_id, T0, "x")
    with pytest.raises(ManifestError, match=r"not a signing key of KZ|does not verify"):
        state.add_revocations([forged])
    assert FederationState.load(tmp_path / "fed").revoked() == {("KZ", kz.sk.key_id): pytest.approx(T0 + 30)}
