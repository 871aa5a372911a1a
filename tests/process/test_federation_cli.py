"""``tamga federation``: customs services found a federation and change it, through the real console script.

Five nodes (``tamga init`` in temporary folders) make a genesis with k=3 that every founder signs and applies;
a sixth is proposed, two signatures are not enough (apply says who signed and how many are missing), the
third makes it. Forged, truncated and foreign proposals are refused with one clear line; show and verify say
what a customs officer checks; a node revokes its own key and rotates its keys.
"""

from __future__ import annotations

import base64
import json
import stat
import tomllib
from pathlib import Path

import pytest
from tamga.tools.federation import free_port

from .helpers import assert_one_line_error, declaration, describe, records_file, run_tamga

pytestmark = pytest.mark.slow

FOUNDERS = ("KZ", "CN", "IN", "TJ", "PK")


def ok(*args: str | Path) -> str:
    result = run_tamga(*args)
    assert result.returncode == 0, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    return result.stdout


def init_node(root: Path, node_id: str) -> Path:
    home = root / node_id.lower()
    ok("init", home, "--id", node_id, "--country", node_id, "--listen", f"127.0.0.1:{free_port()}")
    ok("identity", "export", "--home", home, "-o", root / f"{node_id}.identity.json")
    return home


def make_federation(root: Path, fed: str = "sco-customs", ids: tuple[str, ...] = FOUNDERS) -> dict[str, Path]:
    homes = {n: init_node(root, n) for n in ids}
    genesis = root / "genesis.json"
    founders = [a for n in ids[1:] for a in ("--founder", root / f"{n}.identity.json")]
    out = ok(
        "federation", "init", "--federation", fed, *founders, "--founder-self", "--home", homes[ids[0]],
        "--threshold", "3", "--allow", "*:*:declaration_snapshot", "--out", genesis,
    )  # fmt: skip
    assert f"creates federation '{fed}' (version 1) with {len(ids)} founding members" in out
    for n in ids:
        ok("federation", "sign", genesis, "--yes", "--home", homes[n])
    for n in ids:
        assert "at version 1" in ok("federation", "apply", genesis, "--home", homes[n])
    return homes


@pytest.fixture(name="fed", scope="module")
def _fed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Path]]:
    root = tmp_path_factory.mktemp("fed")
    return root, make_federation(root)


def test_every_federation_command_explains_itself() -> None:
    for cmd in ("init", "propose", "sign", "apply", "show", "verify", "revoke-key"):
        result = run_tamga("federation", cmd, "--help")
        assert result.returncode == 0 and "usage: tamga federation " + cmd in result.stdout, describe(result)
    assert "sign" in ok("federation", "--help")
    assert "usage: tamga keys list" in ok("keys", "list", "--help")


def test_a_genesis_is_applied_only_once_every_founder_signed_it(tmp_path: Path) -> None:
    homes = {n: init_node(tmp_path, n) for n in FOUNDERS[:3]}
    genesis = tmp_path / "g.json"
    out = ok(
        "federation", "init", "--federation", "trio", "--founder", tmp_path / "CN.identity.json",
        "--founder", tmp_path / "IN.identity.json", "--founder-self", "--home", homes["KZ"], "--threshold", "2",
        "--out", genesis,
    )  # fmt: skip
    assert "adds member CN: Customs service of CN (CN)" in out and "allows" not in out  # no agreement by default
    ok("federation", "sign", genesis, "--yes", "--home", homes["KZ"])
    out = ok("federation", "sign", genesis, "--yes", "--home", homes["CN"])
    assert "signatures so far: 1 of 3 signatures needed: signed by KZ; not yet signed by CN, IN" in out
    assert "now 2 of 3 signatures needed: signed by CN, KZ; not yet signed by IN" in out
    line = assert_one_line_error(run_tamga("federation", "apply", genesis, "--home", homes["KZ"]))
    assert "not applied: 2 of 3 signatures needed: signed by CN, KZ; not yet signed by IN" in line
    assert not (homes["KZ"] / "federation" / "manifests").exists()
    assert "enough signatures" in ok("federation", "sign", genesis, "--yes", "--home", homes["IN"])
    assert "at version 1" in ok("federation", "apply", genesis, "--home", homes["KZ"])
    assert "nothing to do" in ok("federation", "apply", genesis, "--home", homes["KZ"])


def test_a_sixth_member_needs_three_signatures_of_the_five(fed: tuple[Path, dict[str, Path]]) -> None:
    root, homes = fed
    uz = init_node(root, "UZ")
    proposal = root / "add-uz.json"
    out = ok(
        "federation", "propose", "--home", homes["KZ"], "--add", root / "UZ.identity.json", "--force-threshold",
        "--allow", "UZ:KZ:declaration_snapshot", "--summary", "Uzbekistan joins", "--out", proposal,
    )  # fmt: skip
    assert "version 1 -> 2 of federation 'sco-customs'" in out
    assert "adds member UZ: Customs service of UZ (UZ)" in out
    assert "allows UZ to send declaration_snapshot to KZ" in out
    assert "proposer's summary: Uzbekistan joins" in out
    # The new member's own signature would not count.
    assert_one_line_error(run_tamga("federation", "sign", proposal, "--home", uz), "holds no federation manifest")
    ok("federation", "sign", proposal, "--yes", "--home", homes["KZ"])
    out = ok("federation", "sign", proposal, "--yes", "--home", homes["CN"])
    assert "adds member UZ" in out  # the signer sees the change before signing
    result = run_tamga("federation", "apply", proposal, "--home", homes["IN"])
    line = assert_one_line_error(result, "not applied", "2 of 3 signatures needed", "signed by CN, KZ", "1 more")
    assert result.returncode == 1, line
    assert "version 1" in ok("federation", "show", "--home", homes["IN"])
    ok("federation", "sign", proposal, "--yes", "--home", homes["TJ"])
    for n in FOUNDERS:
        assert "is now at version 2" in ok("federation", "apply", proposal, "--home", homes[n])
    doc = json.loads(ok("federation", "show", "--json", "--home", homes["PK"]))
    assert doc["version"] == 2 and doc["threshold"] == 3
    assert [m["node_id"] for m in doc["members"]] == ["CN", "IN", "KZ", "PK", "TJ", "UZ"]
    uz_doc = next(m for m in doc["members"] if m["node_id"] == "UZ")
    assert uz_doc["signing_keys"][0]["key_id"] == "ed25519:1" and uz_doc["signing_keys"][0]["valid_now"]
    assert len(uz_doc["tls_certificate_sha256"]) == 64
    assert {"sender": "UZ", "receiver": "KZ", "record_types": ["declaration_snapshot"]} in doc["agreements"]
    out = ok("federation", "verify", "--home", homes["CN"])
    assert "version 1: valid" in out and "version 2: valid" in out
    assert "valid up to version 2" in out
    out = ok("federation", "verify", homes["CN"] / "federation")
    assert "valid up to version 2" in out
    # The new member installs the chain from a copy of a member's federation folder.
    out = ok("federation", "apply", homes["CN"] / "federation", "--home", uz)
    assert "genesis of federation 'sco-customs': hash " in out and "is at version 2" in out
    assert "UZ (this node)" in ok("federation", "show", "--home", uz)


def test_forged_truncated_and_foreign_proposals_are_refused(fed: tuple[Path, dict[str, Path]], tmp_path: Path) -> None:
    _, homes = fed
    proposal = tmp_path / "t2.json"
    ok("federation", "propose", "--home", homes["CN"], "--threshold", "4", "--out", proposal)
    ok("federation", "sign", proposal, "--yes", "--home", homes["CN"])
    ok("federation", "sign", proposal, "--yes", "--home", homes["IN"])
    doc = json.loads(proposal.read_text())
    forged = tmp_path / "forged.json"
    sig = bytearray(base64.b64decode(doc["signatures"][1]["signature"]))
    sig[7] ^= 0x20
    doc["signatures"][1]["signature"] = base64.b64encode(bytes(sig)).decode()
    forged.write_text(json.dumps(doc))
    for cmd in ("sign", "apply", "verify"):
        result = run_tamga("federation", cmd, forged, "--home", homes["KZ"])
        line = assert_one_line_error(result, "signature by IN with key ed25519:1 does not verify (forged or altered)")
        assert result.returncode == 2, line
    truncated = tmp_path / "truncated.json"
    truncated.write_text(proposal.read_text()[:300])
    result = run_tamga("federation", "apply", truncated, "--home", homes["KZ"])
    assert result.returncode == 2
    assert_one_line_error(result, str(truncated), "not a proposal file", "truncated")
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({**json.loads(proposal.read_text()), "changes": ["version 1 -> 2: nothing"]}))
    assert_one_line_error(
        run_tamga("federation", "sign", changed, "--home", homes["KZ"]), "readable 'changes' do not describe"
    )
    # A proposal of another federation.
    other_root = tmp_path / "other"
    other_root.mkdir()
    other = make_federation(other_root, "eaeu", ("RU", "BY", "KG"))
    foreign = tmp_path / "foreign.json"
    ok("federation", "propose", "--home", other["RU"], "--threshold", "2", "--out", foreign)
    result = run_tamga("federation", "sign", foreign, "--home", homes["KZ"])
    line = assert_one_line_error(result, "federation 'eaeu'", "member of 'sco-customs'")
    assert result.returncode == 2, line
    assert "version 2" in ok("federation", "show", "--home", homes["KZ"])  # nothing changed
    # Bad command lines.
    result = run_tamga("federation", "propose", "--home", homes["KZ"], "--allow", "KZ:XX:*", "--out", tmp_path / "x")
    assert result.returncode == 2
    assert_one_line_error(result, "--allow 'KZ:XX:*'", "receiver 'XX' is not a member")
    assert_one_line_error(run_tamga("federation", "propose", "--home", homes["KZ"], "--out", tmp_path / "y"), "nothing")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_show_reads_like_the_manifest(fed: tuple[Path, dict[str, Path]]) -> None:
    _, homes = fed
    out = ok("federation", "show", "--home", homes["TJ"])
    assert out.startswith("federation 'sco-customs' version ")
    assert "a change needs 3 of" in out
    assert "TJ (this node): Customs service of TJ (TJ), endpoints 127.0.0.1:" in out
    assert "signing key ed25519:1 fingerprint " in out and "until no end: valid now" in out
    assert "TLS certificate SHA-256 " in out
    assert "KZ -> CN: declaration_snapshot" in out
    assert "revocations: none" in out


def test_a_node_rotates_its_keys_and_revokes_the_old_one(tmp_path: Path) -> None:
    homes = make_federation(tmp_path, "rot", ("KZ", "CN", "IN"))
    kz = homes["KZ"]
    # Something in KZ's audit log, sealed with the key it has now (ed25519:1).
    first = tmp_path / "first.json"
    first.write_bytes(records_file([declaration("KZ/ROT/1", receivers=("CN",))]))
    ok("send", first, "--home", kz)
    assert "sealed" in ok("audit", "seal", "--home", kz)
    proposal = tmp_path / "rotate.json"
    out = ok("federation", "propose", "--home", kz, "--rotate-keys", "--overlap", "2d", "--out", proposal)
    assert "member KZ: new signing key ed25519:2" in out and "member KZ: new encryption key x25519:2" in out
    assert "member KZ: signing key now ed25519:1" in out
    for name in ("signing.pending.key", "encryption.pending.key"):
        assert stat.S_IMODE((kz / "keys" / name).stat().st_mode) == 0o600
    listed = ok("keys", "list", "--home", kz)
    assert "ed25519:2   pending  fingerprint " in listed and "not in the manifest" in listed
    assert "ed25519:1   in use   fingerprint " in listed
    secret = tomllib.loads((kz / "keys" / "signing.pending.key").read_text())["private_key"]
    assert secret not in out and secret not in proposal.read_text()
    for n in ("KZ", "CN", "IN"):
        ok("federation", "sign", proposal, "--yes", "--home", homes[n])
    out = ok("federation", "apply", proposal, "--home", kz)
    assert "this node now uses its new keys ed25519:2 and x25519:2" in out
    assert not (kz / "keys" / "signing.pending.key").exists()
    assert stat.S_IMODE((kz / "keys" / "signing.ed25519-1.retired.key").stat().st_mode) == 0o600
    keys = json.loads(ok("keys", "list", "--json", "--home", kz))
    assert [(k["key_id"], k["role"], k["listed"]) for k in keys if k["kind"] == "signing"] == [
        ("ed25519:2", "in use", True),
        ("ed25519:1", "retired", True),
    ]
    assert all(secret not in json.dumps(k) for k in keys)
    exported = tmp_path / "kz2.identity.json"
    ok("identity", "export", "--home", kz, "-o", exported)
    assert json.loads(exported.read_text())["signing_key_id"] == "ed25519:2"
    # More in the log, sealed with the new key: both seals verify, each with the key of its time.
    second = tmp_path / "second.json"
    second.write_bytes(records_file([declaration("KZ/ROT/2", receivers=("CN",))]))
    ok("send", second, "--home", kz)
    ok("audit", "seal", "--home", kz)
    verified = ok("audit", "verify", "--home", kz)
    assert "2 seal" in verified and "intact" in verified, verified
    ok("federation", "apply", proposal, "--home", homes["CN"])
    out = ok("federation", "revoke-key", "ed25519:1", "--reason", "old key file copied", "--home", kz)
    assert "revoked ed25519:1 of KZ now, signed with ed25519:2" in out
    out = ok("federation", "show", "--home", kz)
    assert "REVOKED" in out and "KZ ed25519:1 at " in out and "old key file copied" in out
    assert "1 key revocation(s), each valid" in ok("federation", "verify", "--home", kz)
    assert_one_line_error(
        run_tamga("federation", "revoke-key", "ed25519:7", "--reason", "x", "--home", kz), "'ed25519:7' is not a key"
    )
    # The next change is signed with the new key, and counts.
    nxt = tmp_path / "next.json"
    ok("federation", "propose", "--home", homes["CN"], "--threshold", "2", "--out", nxt)
    assert "signed as KZ with ed25519:2" in ok("federation", "sign", nxt, "--yes", "--home", kz)
