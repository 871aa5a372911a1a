"""Governance files and logic (node/governance.py): proposal files whose readable fields must agree with the
signed bytes, signatures checked before signing or applying, key rotation files, own-key revocations."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import pytest
from tamga.config import Config
from tamga.crypto import EncryptionKey, SigningKey, fingerprint, load_private_key_file
from tamga.federation import (
    Changes,
    FederationState,
    genesis_proposal,
    member_from_identity,
    sign_manifest,
    successor_proposal,
)
from tamga.governance import (
    AlreadyApplied,
    BadProposal,
    activate_pending_keys,
    check_against_node,
    federation_folder,
    format_proposal,
    own_entry_problems,
    parse_allow,
    parse_endpoint_change,
    parse_overlap,
    pending_key_paths,
    prepare_rotation,
    read_proposal,
    revoke_own_key,
    show_document,
    sign_standing,
)
from tamga.home import init_home, load_local_identity
from tamga.protocol import LocalIdentity
from tamga.v1 import federation_pb2

T0 = 1_790_000_000.0
IDS = ("KZ", "CN", "IN", "TJ", "PK")


def make_node(root: Path, node_id: str) -> tuple[Config, LocalIdentity]:
    config = init_home(
        root / node_id.lower(),
        node_id=node_id,
        country=node_id,
        authority=f"Customs service of {node_id}",
        listen="127.0.0.1:0",
        advertise=[f"{node_id.lower()}.customs.example:7400"],
    )
    return config, load_local_identity(config)


@pytest.fixture(name="nodes", scope="module")
def _nodes(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Config, LocalIdentity]]:
    root = tmp_path_factory.mktemp("nodes")
    return {n: make_node(root, n) for n in IDS}


def identity_of(local: LocalIdentity):
    """The node's signed identity document, as 'tamga identity export' writes it."""
    return local.identity_document([f"{local.node_id.lower()}.customs.example:7400"], T0)


def genesis(nodes: dict[str, tuple[Config, LocalIdentity]], threshold: int = 3, fed: str = "sco-customs"):
    return genesis_proposal(
        federation_id=fed,
        founders=[member_from_identity(identity_of(local), valid_from=T0) for _, local in nodes.values()],
        threshold=threshold,
        allow=[("*", "*", ["declaration_snapshot"])],
        issued_at=T0,
    )


def signed_by(proposal, locals_: list[LocalIdentity]):
    for local in locals_:
        proposal = sign_manifest(proposal, local.node_id, local.signing_key)
    return proposal


def all_locals(nodes: dict[str, tuple[Config, LocalIdentity]]) -> list[LocalIdentity]:
    return [local for _, local in nodes.values()]


def test_a_proposal_file_round_trips_and_says_its_changes_in_words(nodes: dict) -> None:
    g = signed_by(genesis(nodes), all_locals(nodes)[:2])
    text = format_proposal(g, None)
    doc = json.loads(text)
    assert doc["format"] == "tamga-manifest/1" and doc["version"] == 1 and doc["federation_id"] == "sco-customs"
    assert doc["changes"][0].startswith("creates federation 'sco-customs' (version 1) with 5 founding members")
    assert [s["node_id"] for s in doc["signatures"]] == ["KZ", "CN"]
    p = read_proposal(text, "g.json")
    assert p.signed == g and p.is_genesis
    standing = check_against_node(p, None)
    assert standing.signers == ["CN", "KZ"] and standing.needed == 5 and standing.missing == ["IN", "PK", "TJ"]
    assert "2 of 5 signatures needed: signed by CN, KZ; not yet signed by IN, PK, TJ" == standing.report()


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda d: d.update(version=2), "readable field 'version' says 2 but the signed manifest says 1"),
        (lambda d: d.update(federation_id="other"), "readable field 'federation_id'"),
        (lambda d: d.update(manifest=d["manifest"][:-9] + "!"), "'manifest' is not valid base64"),
        (lambda d: d.update(format="tamga-identity-1"), "not a Tamga manifest proposal"),
        (lambda d: d["signatures"][0].update(signature="AAAA"), "signature 1 (by KZ) is 3 bytes, not 64"),
        (lambda d: d["signatures"][0].update(signature="%%%"), "signature 1 (by KZ) is not valid base64"),
    ],
)
def test_a_changed_or_malformed_proposal_file_is_refused_saying_what(nodes: dict, edit, needle: str) -> None:
    doc = json.loads(format_proposal(signed_by(genesis(nodes), all_locals(nodes)[:1]), None))
    edit(doc)
    with pytest.raises(BadProposal) as err:
        read_proposal(json.dumps(doc), "g.json")
    assert needle in str(err.value) and str(err.value).startswith("g.json: ")


def test_a_truncated_proposal_and_truncated_manifest_bytes_are_refused(nodes: dict) -> None:
    text = format_proposal(genesis(nodes), None)
    with pytest.raises(BadProposal, match=r"g.json: not a proposal file \(invalid JSON.*truncated\?\)"):
        read_proposal(text[: len(text) // 2], "g.json")
    doc = json.loads(text)
    raw = base64.b64decode(doc["manifest"])
    doc["manifest"] = base64.b64encode(raw[:-20]).decode()
    with pytest.raises(BadProposal, match=r"g\.json: (the manifest bytes do not parse|.*is not valid)"):
        read_proposal(json.dumps(doc), "g.json")


def test_readable_changes_that_differ_from_the_signed_manifest_are_refused(nodes: dict) -> None:
    doc = json.loads(format_proposal(genesis(nodes), None))
    doc["changes"] = [line.replace("3 signatures", "5 signatures") for line in doc["changes"]]
    p = read_proposal(json.dumps(doc), "g.json")
    with pytest.raises(BadProposal, match="readable 'changes' do not describe the signed manifest"):
        check_against_node(p, None)


def test_a_forged_signature_names_its_claimed_signer(nodes: dict) -> None:
    doc = json.loads(format_proposal(signed_by(genesis(nodes), all_locals(nodes)[:3]), None))
    sig = bytearray(base64.b64decode(doc["signatures"][1]["signature"]))
    sig[0] ^= 1
    doc["signatures"][1]["signature"] = base64.b64encode(bytes(sig)).decode()
    p = read_proposal(json.dumps(doc), "g.json")
    with pytest.raises(BadProposal, match=r"signature by CN with key ed25519:1 does not verify \(forged or altered\)"):
        check_against_node(p, None)


def test_successor_proposals_are_placed_against_the_nodes_chain(nodes: dict, tmp_path: Path) -> None:
    locals_ = all_locals(nodes)
    state = FederationState.create(tmp_path / "fed", signed_by(genesis(nodes), locals_))
    v2 = successor_proposal(state.current, Changes(threshold=2), issued_at=T0 + 60)
    p = read_proposal(format_proposal(v2, state.current), "v2.json")
    standing = check_against_node(p, state)
    assert standing.needed == 3 and standing.signers == []
    assert "changes the signatures needed for a change from 3 to 2" in standing.changes
    signed = sign_standing(standing, locals_[0])
    assert [s.node_id for s in signed.signatures] == ["KZ"]
    # another federation
    other = FederationState.create(tmp_path / "other", signed_by(genesis(nodes, fed="eaeu"), locals_))
    with pytest.raises(BadProposal, match="for federation 'sco-customs'; this node is a member of 'eaeu'"):
        check_against_node(p, other)
    # a node without a chain, a genesis on a node that has one
    with pytest.raises(BadProposal, match="holds no federation manifest yet"):
        check_against_node(p, None)
    g = read_proposal(format_proposal(state.chain[0].signed, None), "g.json")
    with pytest.raises(AlreadyApplied):
        check_against_node(g, state)
    with pytest.raises(BadProposal, match="from another genesis; a node belongs to one federation"):
        check_against_node(g, other)
    # once adopted, the same file is "already adopted"; a rival version 2 is refused
    assert state.offer([signed_by(v2, locals_[:3])], source="test").adopted == [2]
    with pytest.raises(AlreadyApplied, match="version 2 is already adopted"):
        check_against_node(p, state)
    rival = successor_proposal(state.chain[0], Changes(threshold=4), issued_at=T0 + 61)
    with pytest.raises(BadProposal, match="already adopted another version 2"):
        check_against_node(read_proposal(format_proposal(rival, state.chain[0]), "r.json"), state)


def test_a_non_member_cannot_sign(nodes: dict, tmp_path: Path) -> None:
    locals_ = all_locals(nodes)
    state = FederationState.create(tmp_path / "fed", signed_by(genesis(nodes), locals_))
    _, uz = make_node(tmp_path, "UZ")
    add = successor_proposal(state.current, Changes(add=[member_from_identity(identity_of(uz))]), issued_at=T0 + 1)
    standing = check_against_node(read_proposal(format_proposal(add, state.current), "p.json"), state)
    with pytest.raises(BadProposal, match=r"this node \(UZ\) is not a member of version 1"):
        sign_standing(standing, uz)


def test_command_line_values_are_checked() -> None:
    members = ["KZ", "CN"]
    assert parse_allow("*:*:*", members) == ("*", "*", ["*"])
    assert parse_allow("KZ:CN:declaration_snapshot,seizure_report", members) == (
        "KZ",
        "CN",
        ["declaration_snapshot", "seizure_report"],
    )
    with pytest.raises(BadProposal, match="expected SENDER:RECEIVER:TYPES"):
        parse_allow("KZ:CN", members)
    with pytest.raises(BadProposal, match="receiver 'XX' is not a member"):
        parse_allow("KZ:XX:*", members)
    with pytest.raises(BadProposal, match="'passport' is not a record type"):
        parse_allow("KZ:CN:passport", members)
    assert parse_endpoint_change("KZ=kz.example:7400") == ("KZ", "kz.example:7400")
    with pytest.raises(BadProposal, match="expected NODE=HOST:PORT"):
        parse_endpoint_change("KZ:7400")
    assert parse_overlap("7d") == 7 * 86400 and parse_overlap("36h") == 36 * 3600
    with pytest.raises(BadProposal, match="--overlap"):
        parse_overlap("a week")


def test_rotation_writes_pending_keys_0600_and_activates_them_on_adoption(tmp_path: Path) -> None:
    nodes = {n: make_node(tmp_path, n) for n in ("KZ", "CN", "IN")}
    locals_ = all_locals(nodes)
    config, kz = nodes["KZ"]
    state = FederationState.create(federation_folder(config), signed_by(genesis(nodes, threshold=2), locals_))
    rotation = prepare_rotation(config, kz, state.current, now=T0 + 100, overlap=3600)
    sk_path, ek_path = pending_key_paths(config)
    assert rotation.written == [sk_path, ek_path]
    for path in (sk_path, ek_path):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert (rotation.signing_key_id, rotation.encryption_key_id) == ("ed25519:2", "x25519:2")
    assert rotation.key_ends == [("KZ", "ed25519:1", T0 + 3700), ("KZ", "x25519:1", T0 + 3700)]
    # Not listed yet: nothing changes.
    assert activate_pending_keys(config, state.current, now=T0 + 200) == []
    # A second rotation before adoption reuses the same pending keys.
    again = prepare_rotation(config, kz, state.current, now=T0 + 150, overlap=3600)
    assert again.reused and again.new_keys[0][2].public_key == rotation.new_keys[0][2].public_key
    changes = Changes(new_keys=rotation.new_keys, key_ends=rotation.key_ends)
    v2 = successor_proposal(state.current, changes, issued_at=T0 + 100)
    assert state.offer([signed_by(v2, locals_[:2])], source="test").adopted == [2]
    assert activate_pending_keys(config, state.current, now=T0 + 200) == ["ed25519:2", "x25519:2"]
    assert not sk_path.exists() and not ek_path.exists()
    now_local = load_local_identity(config)
    assert now_local.signing_key.key_id == "ed25519:2" and now_local.encryption_key.key_id == "x25519:2"
    retired = load_private_key_file(config.home / "keys" / "encryption.x25519-1.retired.key", EncryptionKey)
    assert retired.seed == kz.encryption_key.seed
    # The new key signs the revocation of the old one (another valid key of the node).
    _rev, signer = revoke_own_key(config, state, "ed25519:1", "old key retired early", now=T0 + 300)
    assert signer == "ed25519:2" and ("KZ", "ed25519:1") in FederationState.load(federation_folder(config)).revoked()
    with pytest.raises(BadProposal, match="already revoked"):
        revoke_own_key(config, state, "ed25519:1", "again", now=T0 + 301)
    with pytest.raises(BadProposal, match=r"'ed25519:9' is not a key of KZ in version 2"):
        revoke_own_key(config, state, "ed25519:9", "typo", now=T0 + 301)
    doc = show_document(state, now=T0 + 400)
    kz_doc = next(m for m in doc["members"] if m["node_id"] == "KZ")
    assert [k["key_id"] for k in kz_doc["signing_keys"]] == ["ed25519:1", "ed25519:2"]
    assert kz_doc["signing_keys"][0]["revoked_at"] and not kz_doc["signing_keys"][0]["valid_now"]
    assert doc["revocations"][0]["reason"] == "old key retired early"
    assert isinstance(load_private_key_file(config.home / "keys" / "signing.key", SigningKey), SigningKey)


def test_the_only_key_revokes_itself(tmp_path: Path) -> None:
    nodes = {n: make_node(tmp_path, n) for n in ("KZ", "CN")}
    config, _ = nodes["KZ"]
    state = FederationState.create(federation_folder(config), signed_by(genesis(nodes, threshold=1), all_locals(nodes)))
    _rev, signer = revoke_own_key(config, state, "ed25519:1", "key file copied", now=T0 + 5)
    assert signer == "ed25519:1"
    assert show_document(state, now=T0 + 6)["revocations"][0]["key_id"] == "ed25519:1"
    with pytest.raises(BadProposal, match="--reason must say why"):
        revoke_own_key(config, state, "x25519:1", "  ", now=T0 + 7)


def test_a_newcomer_whose_entry_differs_from_its_identity_is_refused_before_anyone_signs(
    nodes: dict, tmp_path: Path
) -> None:
    """The proposal file lists UZ's real signing key (the fingerprint signers compare) and someone else's
    encryption key: 'federation sign' refuses it at once, naming UZ and what differs."""
    locals_ = all_locals(nodes)
    state = FederationState.create(tmp_path / "fed", signed_by(genesis(nodes), locals_))
    _, uz = make_node(tmp_path, "UZ")
    entry = member_from_identity(identity_of(uz), valid_from=T0)
    entry.encryption_keys[0].public_key = EncryptionKey.generate().public.raw
    add = successor_proposal(state.current, Changes(add=[entry]), issued_at=T0 + 1)
    with pytest.raises(BadProposal) as err:
        check_against_node(read_proposal(format_proposal(add, state.current), "p.json"), state)
    assert str(err.value).startswith("p.json: member UZ: its entry differs from the identity it signed")
    assert "(encryption key)" in str(err.value) and "do not sign it" in str(err.value)


def test_a_change_of_a_members_own_entry_waits_for_its_own_signature(nodes: dict, tmp_path: Path) -> None:
    locals_ = {local.node_id: local for local in all_locals(nodes)}
    state = FederationState.create(tmp_path / "fed", signed_by(genesis(nodes), list(locals_.values())))
    move = successor_proposal(state.current, Changes(endpoints={"TJ": ["tj2.customs.example:7400"]}), issued_at=T0 + 1)
    p = read_proposal(format_proposal(move, state.current), "move.json")
    assert "  (a change of TJ's own entry: valid only with TJ's own signature)" in check_against_node(p, state).changes
    three = signed_by(move, [locals_["KZ"], locals_["CN"], locals_["IN"]])
    standing = check_against_node(read_proposal(format_proposal(three, state.current), "move.json"), state)
    assert standing.consent == {"TJ": ["endpoints"]} and not standing.complete
    assert standing.report().endswith("; needs TJ's own signature too (its endpoints change)")
    four = sign_standing(standing, locals_["TJ"])
    standing = check_against_node(read_proposal(format_proposal(four, state.current), "move.json"), state)
    assert standing.complete and standing.consent_missing == []
    # A member does not sign its own removal: it would not count.
    remove = successor_proposal(state.current, Changes(remove=["PK"]), issued_at=T0 + 2)
    standing = check_against_node(read_proposal(format_proposal(remove, state.current), "rm.json"), state)
    with pytest.raises(BadProposal, match=r"this version removes this node \(PK\); its signature would not count"):
        sign_standing(standing, locals_["PK"])
    assert standing.missing == ["CN", "IN", "KZ", "TJ"]


def test_a_node_does_not_sign_keys_listed_for_it_that_it_does_not_hold(tmp_path: Path) -> None:
    nodes = {n: make_node(tmp_path, n) for n in ("KZ", "CN", "IN")}
    locals_ = all_locals(nodes)
    config, kz = nodes["KZ"]
    state = FederationState.create(federation_folder(config), signed_by(genesis(nodes, threshold=2), locals_))
    stranger = EncryptionKey.generate(version=2)
    key = federation_pb2.MemberKey(key_id=stranger.key_id, public_key=stranger.public.raw)
    slipped = successor_proposal(state.current, Changes(new_keys=[("KZ", "encryption", key)]), issued_at=T0 + 5)
    standing = check_against_node(read_proposal(format_proposal(slipped, state.current), "s.json"), state)
    problems = own_entry_problems(config, kz, standing)
    assert problems == [
        f"it lists encryption key x25519:2 (fingerprint {fingerprint(stranger.public.raw)}) for this node, which this"
        " node does not hold"
    ]
    # Its own rotation (pending key files written by --rotate-keys) is its own.
    rotation = prepare_rotation(config, kz, state.current, now=T0 + 10, overlap=3600)
    own = successor_proposal(
        state.current, Changes(new_keys=rotation.new_keys, key_ends=rotation.key_ends), issued_at=T0 + 10
    )
    standing = check_against_node(read_proposal(format_proposal(own, state.current), "r.json"), state)
    assert own_entry_problems(config, kz, standing) == []


def test_show_warns_of_a_minority_threshold_and_of_a_chain_made_before_member_consent(
    nodes: dict, tmp_path: Path
) -> None:
    locals_ = all_locals(nodes)
    state = FederationState.create(tmp_path / "fed", signed_by(genesis(nodes, threshold=2), locals_))
    doc = show_document(state, now=T0 + 1)
    assert doc["member_consent"] is True and doc["genesis_hash"] == state.chain[0].hash.hex()
    assert doc["warnings"] == [
        "a change needs 2 of 5 signatures, not a majority: two groups of members could each sign a different"
        " version 2 (a fork); raise it with 'tamga federation propose --threshold 3'"
    ]
    legacy = federation_pb2.Manifest.FromString(genesis(nodes, threshold=3).manifest)
    legacy.rules = federation_pb2.MANIFEST_RULES_UNSPECIFIED
    old = FederationState.create(
        tmp_path / "old", signed_by(federation_pb2.SignedManifest(manifest=legacy.SerializeToString()), locals_)
    )
    doc = show_document(old, now=T0 + 1)
    assert doc["member_consent"] is False
    assert [w.split(":")[0] for w in doc["warnings"]] == ["this chain was made before member consent"]
