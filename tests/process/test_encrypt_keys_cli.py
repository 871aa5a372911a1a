"""tamga init --encrypt-keys and tamga keys encrypt: private keys at rest under a passphrase, from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import run_tamga

pytestmark = pytest.mark.slow

PASS = "correct horse battery staple"


def _encrypted(path: Path) -> bool:
    return "ciphertext" in path.read_text("utf-8")


def test_init_encrypt_keys_writes_encrypted_keys_that_open_only_with_the_passphrase(tmp_path: Path) -> None:
    home = tmp_path / "kz"
    result = run_tamga(
        "init", home, "--id", "KZ", "--country", "KZ", "--encrypt-keys", env={"TAMGA_KEY_PASSPHRASE": PASS}
    )
    assert result.returncode == 0, result.stderr
    assert _encrypted(home / "keys" / "signing.key") and _encrypted(home / "keys" / "encryption.key")
    assert (home / "keys" / "signing.key").stat().st_mode & 0o777 == 0o600
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
    assert not _encrypted(home / "keys" / "signing.key")
    done = run_tamga("keys", "encrypt", "--home", home, env={"TAMGA_KEY_PASSPHRASE": PASS})
    assert done.returncode == 0, done.stderr
    assert f"encrypted {home / 'keys' / 'signing.key'}" in done.stdout
    assert _encrypted(home / "keys" / "signing.key") and _encrypted(home / "keys" / "encryption.key")
    again = run_tamga("keys", "encrypt", "--home", home, env={"TAMGA_KEY_PASSPHRASE": PASS})
    assert again.returncode == 0 and "already encrypted" in again.stdout
    assert run_tamga("identity", "export", "--home", home, env={"TAMGA_KEY_PASSPHRASE": PASS}).returncode == 0
