"""Another authority checks a node's audit export after the node rotated its identity key.

Rules under test (node/audit.py, ``tamga audit verify`` in node/cli.py): with
``--manifest`` (the verifier's own federation folder, or a manifest file of
it) every signing key the verified chain lists for the node is used, so seals
made before and after a rotation all verify; with only the identity file given
at joining, a seal made with the later key is UNVERIFIED ("not in this
identity file: verify with --manifest", exit 1), never called forged; an
identity file the manifest does not list for that node is refused.
"""

from __future__ import annotations

import functools
import sqlite3
import subprocess
from pathlib import Path

import pytest

from .helpers import declaration, describe, records_file, run_tamga

pytestmark = pytest.mark.slow


def ok(*args: str | Path) -> str:
    result = run_tamga(*args)
    assert result.returncode == 0, describe(result)
    return result.stdout


@functools.cache
def _sign_flags() -> tuple[str, ...]:
    """'federation sign' may ask y/N on a terminal; scripts confirm with --yes where the command has it."""
    return ("--yes",) if "--yes" in ok("federation", "sign", "--help") else ()


def _audit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    result = run_tamga("audit", "verify", *args)
    assert "Traceback" not in result.stdout + result.stderr, describe(result)
    return result


@pytest.fixture(name="rotated", scope="module")
def _rotated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """KZ and UZ in one federation; KZ seals its log, rotates its keys (adopted by both), seals again, exports."""
    root = tmp_path_factory.mktemp("audit-rotation")
    homes = {}
    for node_id in ("KZ", "UZ"):
        homes[node_id] = root / node_id.lower()
        ok("init", homes[node_id], "--id", node_id, "--country", node_id, "--listen", "127.0.0.1:0",
           "--advertise", "127.0.0.1:7401")  # fmt: skip
        ok("identity", "export", "--home", homes[node_id], "-o", root / f"{node_id}.identity.json")
    kz, uz = homes["KZ"], homes["UZ"]
    genesis = root / "genesis.json"
    ok("federation", "init", "--federation", "audit-rot", "--founder-self", "--home", kz,
       "--founder", root / "UZ.identity.json", "--threshold", "2", "--allow", "*:*:declaration_snapshot",
       "--out", genesis)  # fmt: skip
    for home in (kz, uz):
        ok("federation", "sign", genesis, "--home", home, *_sign_flags())
    for home in (kz, uz):
        ok("federation", "apply", genesis, "--home", home)
    first = root / "first.json"
    first.write_bytes(records_file([declaration("KZ/AUDIT/1")]))
    ok("send", first, "--home", kz)
    ok("audit", "seal", "--home", kz)  # sealed with ed25519:1, the key of KZ's identity file
    rotation = root / "rotate.json"
    ok("federation", "propose", "--home", kz, "--rotate-keys", "--overlap", "2d", "--out", rotation)
    for home in (kz, uz):
        ok("federation", "sign", rotation, "--home", home, *_sign_flags())
    for home in (kz, uz):
        ok("federation", "apply", rotation, "--home", home)
    second = root / "second.json"
    second.write_bytes(records_file([declaration("KZ/AUDIT/2")]))
    ok("send", second, "--home", kz)
    ok("audit", "seal", "--home", kz)  # sealed with ed25519:2
    assert "intact" in ok("audit", "verify", "--home", kz)
    with sqlite3.connect(f"file:{kz / 'state' / 'tamga.db'}?mode=ro", uri=True) as conn:
        seals = [seq for (seq,) in conn.execute("SELECT seq FROM audit WHERE kind = 'seal' ORDER BY seq")]
    assert len(seals) == 2, seals
    export = root / "kz-audit.json"
    ok("audit", "export", "--home", kz, "--from", "1", "--to", str(seals[-1]), "-o", export)
    return {"KZ": kz, "UZ": uz, "export": export, "identity": root / "KZ.identity.json", "root": root}


def test_the_identity_file_from_joining_calls_a_later_seal_unverified_not_forged(rotated: dict[str, Path]) -> None:
    result = _audit("--export", rotated["export"], "--identity", rotated["identity"])
    assert result.returncode == 1, describe(result)
    assert "forged" not in result.stdout and "TAMPERED" not in result.stdout, describe(result)
    assert "signed by key ed25519:2, not in this identity file: verify with --manifest" in result.stdout
    assert "NOT verified" in result.stdout and "intact" not in result.stdout.splitlines()[-1]


@pytest.mark.parametrize(
    "where",
    ["UZ/federation", "UZ/federation/manifests", "UZ/federation/manifests/v000002.pb", "KZ/federation"],
)
def test_with_the_manifest_every_seal_before_and_after_the_rotation_verifies(
    rotated: dict[str, Path], where: str
) -> None:
    node, rest = where.split("/", 1)
    manifest = rotated[node] / rest
    for identity in ((), ("--identity", rotated["identity"])):
        result = _audit("--export", rotated["export"], "--manifest", manifest, *identity)
        assert result.returncode == 0, describe(result)
        assert "keys of KZ: ed25519:1, ed25519:2, from the manifest chain of federation 'audit-rot'" in result.stdout
        assert result.stdout.splitlines()[-1].startswith(f"{rotated['export']} (audit log of KZ): intact:")
        assert "2 seals" in result.stdout.splitlines()[-1], describe(result)


def test_a_manifest_from_before_the_rotation_leaves_the_later_seal_unverified(rotated: dict[str, Path]) -> None:
    before = rotated["UZ"] / "federation" / "manifests" / "v000001.pb"
    result = _audit("--export", rotated["export"], "--manifest", before)
    assert result.returncode == 1, describe(result)
    assert "signed by key ed25519:2, not in the manifest chain of federation 'audit-rot' up to version 1" in (
        result.stdout
    )
    assert "forged" not in result.stdout


def test_an_identity_file_the_manifest_does_not_list_for_the_node_is_refused(
    rotated: dict[str, Path], tmp_path: Path
) -> None:
    impostor = tmp_path / "kz"  # another node calling itself KZ, with keys of its own
    ok("init", impostor, "--id", "KZ", "--country", "KZ", "--listen", "127.0.0.1:7402")
    identity = tmp_path / "KZ.identity.json"
    ok("identity", "export", "--home", impostor, "-o", identity)
    result = _audit("--export", rotated["export"], "--manifest", rotated["UZ"] / "federation", "--identity", identity)
    assert result.returncode == 2, describe(result)
    assert "its signing key ed25519:1" in result.stderr and "is not one the manifest chain" in result.stderr
    assert "intact" not in result.stdout


def test_a_tampered_export_is_still_named_tampered_with_the_manifest(rotated: dict[str, Path], tmp_path: Path) -> None:
    import json

    doc = json.loads(rotated["export"].read_text("utf-8"))
    doc["entries"][0]["detail"] = "changed"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(doc), "utf-8")
    result = _audit("--export", changed, "--manifest", rotated["UZ"] / "federation")
    assert result.returncode == 2, describe(result)
    assert "TAMPERED: seq 1: edited" in result.stdout
