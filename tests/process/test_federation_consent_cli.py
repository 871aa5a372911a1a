"""``tamga federation`` as a careful signer uses it, through the real console script.

``federation sign`` shows the change with the full fingerprints of the keys and
certificate a newcomer read out (the same strings ``tamga identity export`` and
``tamga peer add`` print), then asks y/N on a terminal; without one it needs
``--yes``; ``--dry-run`` only shows (exit 0). A proposal whose newcomer entry was
edited is refused; a threshold that is not a majority is refused unless forced,
and ``federation show`` warns about it.
"""

from __future__ import annotations

import base64
import json
import os
import pty
import re
import subprocess
from pathlib import Path

import pytest
from tamga.config import load_config
from tamga.crypto import EncryptionKey
from tamga.governance import format_proposal, load_state
from tamga.home import export_identity, init_home, load_local_identity
from tamga.tools.federation import free_port
from tamga.v1 import federation_pb2

from .helpers import CLI_TIMEOUT, TAMGA, assert_one_line_error, describe, run_tamga

pytestmark = pytest.mark.slow


def ok(*args: str | Path) -> str:
    result = run_tamga(*args)
    assert result.returncode == 0, describe(result)
    assert "Traceback" not in result.stderr, describe(result)
    return result.stdout


def init_node(root: Path, node_id: str, *, export_with_cli: bool = False) -> tuple[Path, Path, str]:
    """(home, identity file, what 'tamga identity export' printed on stderr, if run).

    The node folder is made in-process (what 'tamga init' does), to keep the test short.
    """
    home = root / node_id.lower()
    config = init_home(
        home, node_id=node_id, country=node_id, authority=f"Customs service of {node_id}",
        listen=f"127.0.0.1:{free_port()}",
    )  # fmt: skip
    ident = root / f"{node_id}.identity.json"
    if not export_with_cli:
        ident.write_text(export_identity(load_local_identity(config), list(config.server.advertise)), "utf-8")
        return home, ident, ""
    result = run_tamga("identity", "export", "--home", home, "-o", ident)
    assert result.returncode == 0, describe(result)
    return home, ident, result.stderr


def found(root: Path, ids: tuple[str, ...], threshold: str, *extra: str) -> dict[str, Path]:
    nodes = {n: init_node(root, n) for n in ids}
    genesis = root / "genesis.json"
    founders = [a for n in ids[1:] for a in ("--founder", nodes[n][1])]
    ok(
        "federation", "init", "--federation", "trio", *founders, "--founder-self", "--home", nodes[ids[0]][0],
        "--threshold", threshold, *extra, "--allow", "*:*:declaration_snapshot", "--out", genesis,
    )  # fmt: skip
    for n in ids:
        ok("federation", "sign", genesis, "--yes", "--home", nodes[n][0])
    for n in ids:
        ok("federation", "apply", genesis, "--home", nodes[n][0])
    return {n: nodes[n][0] for n in ids}


def on_terminal(answer: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``tamga ARGS`` with a pseudo-terminal as standard input, typing ``answer``."""
    master, slave = pty.openpty()
    try:
        os.write(master, answer.encode())
        env = {k: v for k, v in os.environ.items() if k != "TAMGA_HOME"}
        return subprocess.run(
            [str(TAMGA), *map(str, args)],
            stdin=slave,
            capture_output=True,
            text=True,
            env=env,
            timeout=CLI_TIMEOUT,
            check=False,
        )
    finally:
        os.close(master)
        os.close(slave)


def test_sign_shows_the_full_fingerprints_and_asks_before_signing(tmp_path: Path) -> None:
    homes = found(tmp_path, ("KZ", "CN", "IN"), "2")
    _, uz_identity, exported = init_node(tmp_path, "UZ", export_with_cli=True)
    # What UZ reads out by telephone: its three fingerprints, each in full, in groups of four.
    read_out = [line.strip() for line in exported.splitlines()[1:]]
    assert [line.split(" fingerprint ")[0] for line in read_out[:2]] == [
        "signing key ed25519:1",
        "encryption key x25519:1",
    ]
    assert read_out[2].startswith("TLS certificate SHA-256 ")
    for line in read_out:
        assert re.search(r"(?:fingerprint|SHA-256) ([0-9a-f]{4} ){9,15}[0-9a-f]{4}$", line), line
    proposal = tmp_path / "add-uz.json"
    ok(
        "federation", "propose", "--home", homes["KZ"], "--add", uz_identity, "--allow", "UZ:KZ:*",
        "--threshold", "3", "--out", proposal,
    )  # fmt: skip
    unsigned = proposal.read_bytes()

    # The preview: everything a signer checks, exit 0, nothing written.
    preview = ok("federation", "sign", proposal, "--dry-run", "--home", homes["CN"])
    signing, encryption, tls = (
        line.split(" fingerprint " if "fingerprint" in line else "SHA-256 ")[1] for line in read_out
    )
    assert f"signing key ed25519:1 (fingerprint {signing}, valid " in preview
    assert f"encryption key x25519:1 (fingerprint {encryption}, valid " in preview
    assert f"TLS certificate SHA-256 {tls}" in preview
    assert "carries UZ's own signed identity (every node checks the entry against it)" in preview
    assert "dry run: nothing signed, nothing written" in preview
    assert proposal.read_bytes() == unsigned
    # The same strings 'tamga peer add' shows for UZ's identity file.
    scratch, _, _ = init_node(tmp_path / "scratch", "PK")
    added = ok("peer", "add", uz_identity, "--home", scratch)
    assert f"fingerprint: {signing}" in added
    # One format everywhere: peer add shows the very lines UZ reads out, the TLS hash grouped as here.
    for line in read_out:
        assert f"  {line}\n" in added, added
    assert f"TLS certificate SHA-256 {tls}\n" in added

    # No terminal to ask on and no --yes: one line, nothing signed.
    result = run_tamga("federation", "sign", proposal, "--home", homes["CN"])
    line = assert_one_line_error(result, "not signed", "no terminal to ask on", "--yes")
    assert result.returncode == 2, line
    assert proposal.read_bytes() == unsigned
    # On a terminal: "n" signs nothing, "y" signs.
    refused = on_terminal("n\n", "federation", "sign", proposal, "--home", homes["CN"])
    assert refused.returncode == 1, describe(refused)
    assert "sign version 2 of federation 'trio' as CN? [y/N]" in refused.stdout
    assert "not signed; nothing written" in refused.stdout
    assert proposal.read_bytes() == unsigned
    signed = on_terminal("y\n", "federation", "sign", proposal, "--home", homes["CN"])
    assert signed.returncode == 0, describe(signed)
    assert "adds member UZ" in signed.stdout.split("[y/N]")[0]  # the change is shown before the question
    assert "signed as CN with ed25519:1" in signed.stdout
    assert [s["node_id"] for s in json.loads(proposal.read_text())["signatures"]] == ["CN"]
    out = ok("federation", "sign", proposal, "--yes", "--home", homes["KZ"])
    assert "enough signatures" in out
    assert "is now at version 2" in ok("federation", "apply", proposal, "--home", homes["IN"])


def test_a_proposal_whose_newcomer_key_was_swapped_is_refused_by_sign_and_apply(tmp_path: Path) -> None:
    """Edited before anyone signed: UZ's real signing key (its fingerprint), someone else's encryption key,
    and the readable changes written again to match. Nobody can sign or apply it."""
    homes = found(tmp_path, ("KZ", "CN", "IN"), "2")
    _, uz_identity, _ = init_node(tmp_path, "UZ")
    proposal = tmp_path / "add-uz.json"
    ok("federation", "propose", "--home", homes["KZ"], "--add", uz_identity, "--threshold", "3", "--out", proposal)
    doc = json.loads(proposal.read_text())
    manifest = federation_pb2.Manifest.FromString(base64.b64decode(doc["manifest"]))
    uz = next(m for m in manifest.members if m.node_id == "UZ")
    uz.encryption_keys[0].public_key = EncryptionKey.generate().public.raw
    edited = federation_pb2.SignedManifest(manifest=manifest.SerializeToString())
    proposal.write_text(format_proposal(edited, load_state(load_config(homes["KZ"])).current))
    for cmd in (("sign", "--yes"), ("sign", "--dry-run"), ("apply",)):
        result = run_tamga("federation", *cmd, proposal, "--home", homes["CN"])
        line = assert_one_line_error(
            result, "member UZ: its entry differs from the identity it signed (encryption key)"
        )
        assert result.returncode == 2, line
    assert "signatures" not in proposal.read_text() or json.loads(proposal.read_text())["signatures"] == []


def test_a_threshold_that_is_not_a_majority_is_refused_unless_forced(tmp_path: Path) -> None:
    nodes = {n: init_node(tmp_path, n) for n in ("KZ", "CN", "IN", "TJ")}
    genesis = tmp_path / "genesis.json"
    founders = [a for n in ("CN", "IN", "TJ") for a in ("--founder", nodes[n][1])]
    args = ["federation", "init", "--federation", "four", *founders, "--founder-self", "--home", nodes["KZ"][0]]
    result = run_tamga(*args, "--threshold", "2", "--out", genesis)
    line = assert_one_line_error(result, "--threshold 2: 2 of 4 signatures is not a majority", "--force-threshold")
    assert result.returncode == 2 and "--threshold 3" in line, line
    assert not genesis.exists()
    out = ok(*args, "--threshold", "2", "--force-threshold", "--out", genesis)
    assert "warning: 2 of 4 signatures is not a majority" in out
    assert "WARNING: 2 of 4 signatures is not a majority: two groups of members could each sign a different" in out
    for n in nodes:
        ok("federation", "sign", genesis, "--yes", "--home", nodes[n][0])
    for n in nodes:
        ok("federation", "apply", genesis, "--home", nodes[n][0])
    shown = ok("federation", "show", "--home", nodes["TJ"][0])
    assert "WARNING: a change needs 2 of 4 signatures, not a majority" in shown
    assert json.loads(ok("federation", "show", "--json", "--home", nodes["TJ"][0]))["warnings"]
    # Raising it to a majority needs no force, and show says the genesis hash in full, grouped.
    raise_it = tmp_path / "raise.json"
    ok("federation", "propose", "--home", nodes["KZ"][0], "--threshold", "3", "--out", raise_it)
    result = run_tamga("federation", "propose", "--home", nodes["KZ"][0], "--threshold", "1", "--out", tmp_path / "x")
    assert_one_line_error(result, "1 of 4 signatures is not a majority", "--force-threshold")
    assert not (tmp_path / "x").exists()
    genesis_hash = load_state(load_config(nodes["KZ"][0])).chain[0].hash.hex()
    assert " ".join(genesis_hash[i : i + 4] for i in range(0, 64, 4)) in shown
