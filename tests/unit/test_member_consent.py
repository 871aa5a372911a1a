"""A member's keys are its own: chain verification under member consent.

k members may not change another member's keys, TLS certificate or endpoints
without its signature; a newcomer's entry must say what its own signed
identity says; a quorum removes a member without it; a threshold that is not
a majority still verifies (old chains load) but a fork names who signed both.
Every check here is the one each node runs on what gossip brings.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from tamga.crypto import EncryptionKey, SigningKey
from tamga.errors import ManifestError
from tamga.federation import (
    Changes,
    FederationState,
    genesis_proposal,
    member_from_peer,
    sign_manifest,
    successor_proposal,
    verify_chain,
    verify_genesis,
    verify_successor,
)
from tamga.protocol import LocalIdentity, read_identity
from tamga.v1 import federation_pb2

T0 = 1_790_000_000.0


@dataclass
class Node:
    node_id: str
    sk: SigningKey
    ek: EncryptionKey

    def identity(self, endpoint: str | None = None):
        local = LocalIdentity(self.node_id, self.node_id, f"Customs service of {self.node_id}", self.sk, self.ek)
        return local.identity_document([endpoint or f"{self.node_id.lower()}.customs.example:7400"], T0 - 100)

    def entry(self) -> federation_pb2.Member:
        """The member entry 'tamga federation propose --add' makes: the identity's facts, and the identity."""
        signed = self.identity()
        m = member_from_peer(read_identity(signed), valid_from=T0 - 10)
        m.identity.CopyFrom(signed)
        return m


@pytest.fixture(name="nodes")
def _nodes() -> dict[str, Node]:
    return {n: Node(n, SigningKey.generate(), EncryptionKey.generate()) for n in ("KZ", "CN", "IN", "TJ", "PK")}


def signed_by(proposal: federation_pb2.SignedManifest, *nodes: Node) -> federation_pb2.SignedManifest:
    for n in nodes:
        proposal = sign_manifest(proposal, n.node_id, n.sk)
    return proposal


def founded(nodes: dict[str, Node], threshold: int = 3):
    proposal = genesis_proposal(
        federation_id="sco-customs",
        founders=[n.entry() for n in nodes.values()],
        threshold=threshold,
        allow=[("*", "*", ["declaration_snapshot"])],
        issued_at=T0,
    )
    return verify_genesis(signed_by(proposal, *nodes.values()))


def new_key(kind: str, version: int = 2) -> tuple[object, federation_pb2.MemberKey]:
    private = SigningKey.generate(version) if kind == "signing" else EncryptionKey.generate(version)
    key = federation_pb2.MemberKey(key_id=private.key_id, public_key=private.public.raw)
    key.valid_from.FromSeconds(int(T0 + 30))
    return private, key


# -- a change of a member's own entry -------------------------------------------------


def test_k_members_cannot_rotate_another_members_keys_without_it(nodes: dict[str, Node]) -> None:
    """The attack: KZ, CN and IN (k = 3) give TJ an encryption key they hold; TJ never signed."""
    v1 = founded(nodes)
    _, theirs = new_key("encryption")
    changes = Changes(new_keys=[("TJ", "encryption", theirs)], key_ends=[("TJ", nodes["TJ"].ek.key_id, T0 + 60)])
    proposal = successor_proposal(v1, changes, issued_at=T0 + 20, summary="TJ rotates")
    with pytest.raises(ManifestError) as err:
        verify_successor(v1, signed_by(proposal, nodes["KZ"], nodes["CN"], nodes["IN"]))
    text = str(err.value)
    assert "changes member TJ's encryption keys without TJ's own signature" in text, text
    # Nor may they change its endpoints or its TLS certificate.
    for change, what in (
        (Changes(endpoints={"TJ": ["evil.example:7400"]}), "endpoints"),
        (Changes(tls_certificates={"TJ": b"not TJ's certificate"}), "TLS certificate"),
    ):
        p = signed_by(successor_proposal(v1, change, issued_at=T0 + 20), nodes["KZ"], nodes["CN"], nodes["IN"])
        with pytest.raises(ManifestError, match=f"changes member TJ's {what} without TJ's own signature"):
            verify_successor(v1, p)


def test_a_rotation_signed_by_the_member_itself_with_its_current_key_is_valid(nodes: dict[str, Node]) -> None:
    v1 = founded(nodes)
    new_sk, key = new_key("signing")
    changes = Changes(new_keys=[("TJ", "signing", key)], endpoints={"TJ": ["tj2.customs.example:7400"]})
    proposal = successor_proposal(v1, changes, issued_at=T0 + 20, summary="TJ rotates and moves")
    # TJ's new key does not vouch for itself: it is not a key version 1 lists for TJ.
    with pytest.raises(ManifestError, match="without TJ's own signature"):
        verify_successor(v1, signed_by(sign_manifest(proposal, "TJ", new_sk), nodes["KZ"], nodes["CN"], nodes["IN"]))
    # TJ signs first with the key it holds now, then two others: 3 signatures, TJ's among them.
    v2 = verify_successor(v1, signed_by(proposal, nodes["TJ"], nodes["KZ"], nodes["CN"]))
    assert [k.key_id for k in v2.member("TJ").signing_keys] == [nodes["TJ"].sk.key_id, "ed25519:2"]
    assert v2.member("TJ").endpoints == ("tj2.customs.example:7400",)


# -- a new member -------------------------------------------------------------------


def test_a_newcomers_encryption_key_swapped_before_anyone_signed_is_refused(nodes: dict[str, Node]) -> None:
    """The attack: the proposal lists UZ with its real signing key (the fingerprint signers compare) and the
    attacker's encryption key. Every signer signs in good faith; every node must refuse the version."""
    v1 = founded(nodes)
    uz = Node("UZ", SigningKey.generate(), EncryptionKey.generate())
    entry = uz.entry()
    entry.encryption_keys[0].public_key = EncryptionKey.generate().public.raw  # the attacker's
    proposal = successor_proposal(v1, Changes(add=[entry]), issued_at=T0 + 20, summary="Uzbekistan joins")
    with pytest.raises(ManifestError) as err:
        verify_successor(v1, signed_by(proposal, nodes["KZ"], nodes["CN"], nodes["IN"]))
    assert "member UZ: its entry differs from the identity it signed (encryption key)" in str(err.value)
    # The same with the identity made over the swapped key by someone else: its signature fails.
    forged = uz.entry()
    mallory = Node("UZ", SigningKey.generate(), EncryptionKey.generate()).identity()
    forged.identity.signature = mallory.signature
    proposal = successor_proposal(v1, Changes(add=[forged]), issued_at=T0 + 20)
    with pytest.raises(ManifestError, match="member UZ: the signed identity in its entry does not verify"):
        verify_successor(v1, signed_by(proposal, nodes["KZ"], nodes["CN"], nodes["IN"]))
    # An entry without any identity of its own is refused too.
    bare = uz.entry()
    bare.ClearField("identity")
    proposal = successor_proposal(v1, Changes(add=[bare]), issued_at=T0 + 20)
    with pytest.raises(ManifestError, match="member UZ: its entry carries no signed identity of its own"):
        verify_successor(v1, signed_by(proposal, nodes["KZ"], nodes["CN"], nodes["IN"]))
    # The entry as UZ gave it is admitted.
    proposal = successor_proposal(v1, Changes(add=[uz.entry()]), issued_at=T0 + 20)
    v2 = verify_successor(v1, signed_by(proposal, nodes["KZ"], nodes["CN"], nodes["IN"]))
    assert v2.member("UZ").encryption_keys[0].public == uz.ek.public.raw


def test_a_genesis_founders_carried_identity_must_match_its_entry(nodes: dict[str, Node]) -> None:
    entries = [n.entry() for n in nodes.values()]
    entries[3].endpoints[:] = ["elsewhere.example:7400"]
    proposal = genesis_proposal(federation_id="sco-customs", founders=entries, threshold=3, issued_at=T0)
    with pytest.raises(ManifestError, match=r"member TJ: its entry differs from the identity it signed \(endpoints\)"):
        verify_genesis(signed_by(proposal, *nodes.values()))


# -- removal ---------------------------------------------------------------------------


def test_k_members_remove_a_member_without_it_and_its_own_signature_does_not_count(nodes: dict[str, Node]) -> None:
    """A member that lost its keys is removed by the others (and admitted again with new ones)."""
    v1 = founded(nodes)
    proposal = successor_proposal(v1, Changes(remove=["TJ"]), issued_at=T0 + 20, summary="TJ lost its keys")
    with pytest.raises(ManifestError) as err:
        verify_successor(v1, signed_by(proposal, nodes["TJ"], nodes["KZ"], nodes["CN"]))
    assert "2 valid signature(s)" in str(err.value) and "TJ signed a version removing them" in str(err.value)
    v2 = verify_successor(v1, signed_by(proposal, nodes["KZ"], nodes["CN"], nodes["IN"]))
    assert "TJ" not in v2.members
    tj_again = Node("TJ", SigningKey.generate(), EncryptionKey.generate())
    back = successor_proposal(v2, Changes(add=[tj_again.entry()]), issued_at=T0 + 40, summary="TJ again")
    v3 = verify_successor(v2, signed_by(back, nodes["KZ"], nodes["CN"], nodes["IN"]))
    assert v3.member("TJ").signing_keys[0].public == tj_again.sk.public.raw


# -- chains made before member consent -----------------------------------------------------


def test_a_chain_made_before_member_consent_keeps_loading_and_takes_the_rules_on(nodes: dict[str, Node]) -> None:
    legacy = federation_pb2.Manifest()
    legacy.ParseFromString(founded(nodes).manifest.SerializeToString())
    legacy.rules = federation_pb2.MANIFEST_RULES_UNSPECIFIED
    for m in legacy.members:
        m.ClearField("identity")
    v1 = verify_genesis(signed_by(federation_pb2.SignedManifest(manifest=legacy.SerializeToString()), *nodes.values()))
    # Version 2 of that era: k signatures changed TJ's endpoints; it still verifies.
    old = federation_pb2.Manifest()
    old.ParseFromString(successor_proposal(v1, Changes(endpoints={"TJ": ["tj.example:1"]}), issued_at=T0 + 1).manifest)
    old.rules = federation_pb2.MANIFEST_RULES_UNSPECIFIED
    v2_signed = signed_by(federation_pb2.SignedManifest(manifest=old.SerializeToString()), *list(nodes.values())[:3])
    v2 = verify_successor(v1, v2_signed)
    assert [v.version for v in verify_chain([v1.signed, v2_signed])] == [1, 2]
    # The next version proposed today takes the rules on, and is checked by them.
    rotate = successor_proposal(v2, Changes(endpoints={"TJ": ["tj.example:2"]}), issued_at=T0 + 2)
    assert federation_pb2.Manifest.FromString(rotate.manifest).rules == federation_pb2.MANIFEST_RULES_MEMBER_CONSENT
    with pytest.raises(ManifestError, match="without TJ's own signature"):
        verify_successor(v2, signed_by(rotate, nodes["KZ"], nodes["CN"], nodes["IN"]))
    v3 = verify_successor(v2, signed_by(rotate, nodes["KZ"], nodes["CN"], nodes["TJ"]))
    # And the rules never go back.
    back = federation_pb2.Manifest()
    back.ParseFromString(successor_proposal(v3, Changes(endpoints={"TJ": ["tj.example:3"]}), issued_at=T0 + 3).manifest)
    back.rules = federation_pb2.MANIFEST_RULES_UNSPECIFIED
    lowered = signed_by(federation_pb2.SignedManifest(manifest=back.SerializeToString()), *list(nodes.values())[:3])
    with pytest.raises(ManifestError, match="the rules never go back"):
        verify_successor(v3, lowered)


# -- thresholds and forks ----------------------------------------------------------------------


def test_two_of_four_still_verifies_and_the_fork_it_allows_names_who_signed_both(
    nodes: dict[str, Node], tmp_path: Path
) -> None:
    four = {k: nodes[k] for k in ("KZ", "CN", "IN", "TJ")}
    v1 = founded(four, threshold=2)  # not a majority: the chain is still valid (old chains keep loading)
    state = FederationState.create(tmp_path / "fed", v1.signed)
    a = signed_by(successor_proposal(v1, Changes(threshold=3), issued_at=T0 + 1, summary="a"), four["KZ"], four["CN"])
    b = signed_by(successor_proposal(v1, Changes(threshold=4), issued_at=T0 + 1, summary="b"), four["IN"], four["TJ"])
    assert state.offer([a], source="CN").adopted == [2]
    fork = state.offer([b], source="TJ").fork
    assert fork is not None and fork["signed_both"] == []
    assert "No member signed both: the threshold let two groups each sign a version 2" in fork["message"]
    # CN signs a second version 2 as well: the alarm names it.
    c = signed_by(successor_proposal(v1, Changes(threshold=1), issued_at=T0 + 1, summary="c"), four["CN"], four["IN"])
    fork = state.offer([c], source="IN").fork
    assert fork is not None and fork["signed_both"] == ["CN"]
    assert "CN signed both versions 2 (a member must never sign two versions of one number)" in fork["message"]
    assert FederationState.load(tmp_path / "fed").fork["signed_both"] == ["CN"]
