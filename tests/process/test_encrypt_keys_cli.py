"""tamga init --encrypt-keys and tamga keys encrypt: private keys at rest under a passphrase, from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest
from tamga.tools.federation import NodeProcess, free_port, patch_config, wait_for

from .helpers import FAST_DELIVERY, assert_one_line_error, declaration, describe, records_file, run_tamga, visible_files

pytestmark = pytest.mark.slow

PASS = "correct horse battery staple"


def _encrypted(path: Path) -> bool:
    return "ciphertext" in path.read_text("utf-8")


def _tls_encrypted(path: Path) -> bool:
    text = path.read_text("ascii")
    return text.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") and "BEGIN PRIVATE KEY" not in text


def test_init_encrypt_keys_writes_encrypted_keys_that_open_only_with_the_passphrase(tmp_path: Path) -> None:
    home = tmp_path / "kz"
    result = run_tamga(
        "init", home, "--id", "KZ", "--country", "KZ", "--encrypt-keys", env={"TAMGA_KEY_PASSPHRASE": PASS}
    )
    assert result.returncode == 0, result.stderr
    assert _encrypted(home / "keys" / "signing.key") and _encrypted(home / "keys" / "encryption.key")
    assert _tls_encrypted(home / "keys" / "tls.key")
    for name in ("signing.key", "encryption.key", "tls.key"):
        assert (home / "keys" / name).stat().st_mode & 0o777 == 0o600
    for text in (result.stdout, result.stderr):
        assert PASS not in text
    wrong = run_tamga("identity", "export", "--home", home, env={"TAMGA_KEY_PASSPHRASE": "not the passphrase"})
    assert wrong.returncode != 0 and "wrong passphrase" in wrong.stderr and "signing.key" in wrong.stderr
    assert "Traceback" not in wrong.stderr
    right = run_tamga("identity", "export", "--home", home, env={"TAMGA_KEY_PASSPHRASE": PASS})
    assert right.returncode == 0 and '"node_id": "KZ"' in right.stdout


def test_init_encrypt_keys_without_a_passphrase_or_with_a_short_one_writes_nothing(tmp_path: Path) -> None:
    none = run_tamga("init", tmp_path / "a", "--id", "KZ", "--country", "KZ", "--encrypt-keys")
    assert none.returncode != 0 and "TAMGA_KEY_PASSPHRASE" in none.stderr
    short = run_tamga(
        "init", tmp_path / "b", "--id", "KZ", "--country", "KZ", "--encrypt-keys", env={"TAMGA_KEY_PASSPHRASE": "short"}
    )
    assert short.returncode != 0 and "at least 12 characters" in short.stderr
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_keys_encrypt_encrypts_the_clear_key_files_of_an_existing_node(tmp_path: Path) -> None:
    home = tmp_path / "uz"
    assert run_tamga("init", home, "--id", "UZ", "--country", "UZ").returncode == 0
    assert not _encrypted(home / "keys" / "signing.key") and not _tls_encrypted(home / "keys" / "tls.key")
    done = run_tamga("keys", "encrypt", "--home", home, env={"TAMGA_KEY_PASSPHRASE": PASS})
    assert done.returncode == 0, done.stderr
    assert f"encrypted {home / 'keys' / 'signing.key'}" in done.stdout
    assert f"encrypted {home / 'keys' / 'tls.key'}" in done.stdout
    assert _encrypted(home / "keys" / "signing.key") and _encrypted(home / "keys" / "encryption.key")
    assert _tls_encrypted(home / "keys" / "tls.key")
    again = run_tamga("keys", "encrypt", "--home", home, env={"TAMGA_KEY_PASSPHRASE": PASS})
    assert again.returncode == 0 and "already encrypted" in again.stdout
    assert run_tamga("identity", "export", "--home", home, env={"TAMGA_KEY_PASSPHRASE": PASS}).returncode == 0


def test_a_node_made_with_encrypt_keys_starts_with_the_passphrase_and_exchanges_over_tls(tmp_path: Path) -> None:
    env = {"TAMGA_KEY_PASSPHRASE": PASS}
    nodes = {}
    for node_id, encrypt in (("KZ", True), ("UZ", False)):  # UZ's keys in the clear: only KZ pays for Argon2id
        port = free_port()
        home = tmp_path / node_id.lower()
        flags = ["--encrypt-keys"] if encrypt else []
        made = run_tamga(
            "init", home, "--id", node_id, "--country", node_id, "--listen", f"127.0.0.1:{port}", *flags, env=env
        )
        assert made.returncode == 0, describe(made)
        assert _tls_encrypted(home / "keys" / "tls.key") == encrypt
        patch_config(home, "delivery", FAST_DELIVERY)
        nodes[node_id] = NodeProcess(node_id, node_id, home, port, env=dict(env) if encrypt else {})
    kz, uz = nodes["KZ"], nodes["UZ"]
    for node, other in ((kz, uz), (uz, kz)):
        identity = tmp_path / f"{other.node_id}.identity.json"
        exported = run_tamga("identity", "export", "--home", other.home, "-o", identity, env=other.env)
        assert exported.returncode == 0, describe(exported)
        assert run_tamga("peer", "add", identity, "--home", node.home).returncode == 0

    # Without the passphrase the node does not start, and says why in one line.
    refused = run_tamga("run", "--home", kz.home, timeout=30)
    assert_one_line_error(refused, "TAMGA_KEY_PASSPHRASE")
    try:
        uz.start()
        kz.start()  # opens its encrypted TLS key with the passphrase
        kz.drop("batch.json", records_file([declaration("KZ-TLS-1")]))
        wait_for(lambda: len(visible_files(uz.incoming)) == 1, 30, what="the record at UZ")
        wait_for(lambda: kz.outbox_counts() == {"delivered": 1}, 30, what="KZ's record delivered")
    finally:
        kz.stop()
        uz.stop()
    # The exchange was over pinned mutual TLS: nothing in either configuration turned it off.
    for node in (kz, uz):
        assert "plaintext = true" not in (node.home / "tamga.toml").read_text("utf-8")
