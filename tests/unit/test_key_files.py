"""Private key files: written 0600, never overwritten, refused when others can read them."""

from __future__ import annotations

import base64
import os
import stat
import tomllib

import pytest
from tamga.crypto import EncryptionKey, SigningKey, load_private_key_file, write_private_key_file
from tamga.errors import KeyFileError

KINDS = [SigningKey, EncryptionKey]


def mode_of(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def write_raw(path, text: str | bytes, mode: int = 0o600):
    if isinstance(text, str):
        text = text.encode()
    path.write_bytes(text)
    os.chmod(path, mode)


@pytest.mark.parametrize("kind", KINDS)
def test_written_file_has_mode_0600(tmp_path, kind):
    path = tmp_path / "node.key"
    write_private_key_file(path, kind.generate())
    assert mode_of(path) == 0o600


def test_mode_is_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        path = tmp_path / "node.key"
        write_private_key_file(path, SigningKey.generate())
    finally:
        os.umask(old)
    assert mode_of(path) == 0o600


@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(tmp_path, kind):
    key = kind.generate(version=3)
    path = tmp_path / "node.key"
    write_private_key_file(path, key)
    loaded = load_private_key_file(path, kind)
    assert type(loaded) is kind
    assert loaded.key_id == key.key_id
    assert loaded.key_id.endswith(":3")
    assert loaded.seed == key.seed
    assert loaded.public == key.public


def test_file_format(tmp_path):
    key = EncryptionKey.from_seed(bytes(range(32)), version=2)
    path = tmp_path / "enc.key"
    write_private_key_file(path, key)
    text = path.read_text("utf-8")
    assert text.startswith("#")
    doc = tomllib.loads(text)
    assert doc == {"key_id": "x25519:2", "private_key": base64.b64encode(bytes(range(32))).decode()}


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "node.key"
    first = SigningKey.generate()
    write_private_key_file(path, first)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="refusing to overwrite") as err:
        write_private_key_file(path, SigningKey.generate())
    assert str(path) in str(err.value)
    assert path.read_bytes() == before
    assert load_private_key_file(path, SigningKey).seed == first.seed


def test_refuses_to_write_through_an_existing_symlink(tmp_path):
    target = tmp_path / "elsewhere"
    target.write_text("precious")
    link = tmp_path / "node.key"
    link.symlink_to(target)
    with pytest.raises(KeyFileError):
        write_private_key_file(link, SigningKey.generate())
    assert target.read_text() == "precious"


def test_cannot_create_gives_key_file_error(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "node.key"
    with pytest.raises(KeyFileError) as err:
        write_private_key_file(path, SigningKey.generate())
    assert str(path) in str(err.value)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o666, 0o610, 0o601, 0o620])
def test_refuses_a_file_others_can_access(tmp_path, mode):
    path = tmp_path / "node.key"
    write_private_key_file(path, SigningKey.generate())
    os.chmod(path, mode)
    with pytest.raises(KeyFileError) as err:
        load_private_key_file(path, SigningKey)
    message = str(err.value)
    assert "chmod 600" in message
    assert str(path) in message
    assert f"{mode:04o}" in message


@pytest.mark.parametrize("mode", [0o600, 0o400, 0o700])
def test_accepts_owner_only_modes(tmp_path, mode):
    key = SigningKey.generate()
    path = tmp_path / "node.key"
    write_private_key_file(path, key)
    os.chmod(path, mode)
    assert load_private_key_file(path, SigningKey).seed == key.seed


def test_missing_file(tmp_path):
    path = tmp_path / "absent.key"
    with pytest.raises(KeyFileError) as err:
        load_private_key_file(path, SigningKey)
    assert str(path) in str(err.value)
    assert "not found" in str(err.value)


GOOD_SEED = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        ("this is not toml ===", SigningKey),
        (b"\xff\xfe\x00garbage", SigningKey),
        ("", SigningKey),
        (f'private_key = "{GOOD_SEED}"\n', SigningKey),  # no key_id
        (f'key_id = 1\nprivate_key = "{GOOD_SEED}"\n', SigningKey),
        (f'key_id = "x25519:1"\nprivate_key = "{GOOD_SEED}"\n', SigningKey),  # other kind of key
        (f'key_id = "ed25519:1"\nprivate_key = "{GOOD_SEED}"\n', EncryptionKey),
        (f'key_id = "ed25519:one"\nprivate_key = "{GOOD_SEED}"\n', SigningKey),
        (f'key_id = "ed25519:0"\nprivate_key = "{GOOD_SEED}"\n', SigningKey),
        (f'key_id = "ed25519:-1"\nprivate_key = "{GOOD_SEED}"\n', SigningKey),
        ('key_id = "ed25519:1"\n', SigningKey),  # no private_key
        ('key_id = "ed25519:1"\nprivate_key = "not base64!!"\n', SigningKey),
        (f'key_id = "ed25519:1"\nprivate_key = "{base64.b64encode(bytes(31)).decode()}"\n', SigningKey),
        (f'key_id = "x25519:1"\nprivate_key = "{base64.b64encode(bytes(33)).decode()}"\n', EncryptionKey),
        ('key_id = "ed25519:1"\nprivate_key = 12345\n', SigningKey),
    ],
)
def test_malformed_file(tmp_path, content, kind):
    path = tmp_path / "bad.key"
    write_raw(path, content)
    with pytest.raises(KeyFileError) as err:
        load_private_key_file(path, kind)
    assert str(path) in str(err.value)


def test_error_message_never_contains_the_key(tmp_path):
    seed = bytes(range(31))  # one byte short
    encoded = base64.b64encode(seed).decode()
    path = tmp_path / "short.key"
    write_raw(path, f'key_id = "ed25519:1"\nprivate_key = "{encoded}"\n')
    with pytest.raises(KeyFileError) as err:
        load_private_key_file(path, SigningKey)
    assert encoded not in str(err.value)
    assert seed.hex() not in str(err.value)


# -- passphrase-encrypted key files -------------------------------------------------

# The lowest Argon2id limits keep these tests fast; one test checks the defaults.
FAST_KDF = {"opslimit": 1, "memlimit": 8192}
PASSPHRASE = "correct horse battery staple \u0436\u044b\u043b"


def write_encrypted(path, key, passphrase=PASSPHRASE):
    write_private_key_file(path, key, passphrase=passphrase, **FAST_KDF)


@pytest.mark.parametrize("kind", KINDS)
def test_encrypted_round_trip_and_format(tmp_path, kind):
    key = kind.generate(version=2)
    path = tmp_path / "node.key"
    write_encrypted(path, key)
    assert mode_of(path) == 0o600
    text = path.read_text("utf-8")
    doc = tomllib.loads(text)
    assert set(doc) == {"key_id", "encryption", "salt", "opslimit", "memlimit", "ciphertext"}
    assert doc["key_id"] == key.key_id
    assert doc["encryption"] == "argon2id-xsalsa20poly1305-1"
    assert (doc["opslimit"], doc["memlimit"]) == (1, 8192)
    assert len(base64.b64decode(doc["salt"])) == 16
    assert base64.b64encode(key.seed).decode() not in text and key.seed.hex() not in text
    loaded = load_private_key_file(path, kind, passphrase=PASSPHRASE)
    assert type(loaded) is kind and loaded.key_id == key.key_id and loaded.seed == key.seed
    assert load_private_key_file(path, kind, passphrase=PASSPHRASE.encode()).seed == key.seed


def test_new_encrypted_files_use_moderate_argon2id_limits(tmp_path):
    path = tmp_path / "node.key"
    key = SigningKey.generate()
    write_private_key_file(path, key, passphrase=PASSPHRASE)
    doc = tomllib.loads(path.read_text("utf-8"))
    assert (doc["opslimit"], doc["memlimit"]) == (3, 256 * 1024 * 1024)
    assert load_private_key_file(path, SigningKey, passphrase=PASSPHRASE).seed == key.seed


def test_two_files_with_the_same_key_and_passphrase_differ(tmp_path):
    key = SigningKey.generate()
    write_encrypted(tmp_path / "a.key", key)
    write_encrypted(tmp_path / "b.key", key)
    a, b = (tomllib.loads((tmp_path / n).read_text()) for n in ("a.key", "b.key"))
    assert a["salt"] != b["salt"] and a["ciphertext"] != b["ciphertext"]


def test_wrong_passphrase_names_the_file_and_never_the_passphrase(tmp_path):
    path = tmp_path / "node.key"
    write_encrypted(path, SigningKey.generate())
    with pytest.raises(KeyFileError) as err:
        load_private_key_file(path, SigningKey, passphrase="Tr0ub4dor&3")
    message = str(err.value)
    assert str(path) in message and "wrong passphrase" in message
    assert "Tr0ub4dor" not in message and PASSPHRASE not in message


def test_missing_passphrase_says_where_to_give_it(tmp_path):
    path = tmp_path / "node.key"
    write_encrypted(path, EncryptionKey.generate())
    with pytest.raises(KeyFileError) as err:
        load_private_key_file(path, EncryptionKey)
    message = str(err.value)
    assert str(path) in message and "encrypted with a passphrase" in message
    assert "passphrase_file" in message and "TAMGA_KEY_PASSPHRASE" in message


@pytest.mark.parametrize("passphrase", ["", b""])
def test_empty_passphrase_is_refused(tmp_path, passphrase):
    path = tmp_path / "node.key"
    with pytest.raises(KeyFileError, match="passphrase is empty"):
        write_private_key_file(path, SigningKey.generate(), passphrase=passphrase, **FAST_KDF)
    assert not path.exists()


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604])
def test_refuses_an_encrypted_file_others_can_access(tmp_path, mode):
    path = tmp_path / "node.key"
    write_encrypted(path, SigningKey.generate())
    os.chmod(path, mode)
    with pytest.raises(KeyFileError) as err:
        load_private_key_file(path, SigningKey, passphrase=PASSPHRASE)
    assert "chmod 600" in str(err.value) and str(path) in str(err.value) and f"{mode:04o}" in str(err.value)


def _edit(path, **changes):
    doc = tomllib.loads(path.read_text("utf-8"))
    doc.update(changes)
    doc = {k: v for k, v in doc.items() if v is not None}
    lines = [f"{k} = {v}" if isinstance(v, int) else f'{k} = "{v}"' for k, v in doc.items()]
    write_raw(path, "\n".join(lines) + "\n")


def _flip_last(b64: str) -> str:
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"key_id": "ed25519:7"}, "not the id sealed inside"),
        ("flip_ciphertext", "wrong passphrase"),
        ("flip_salt", "wrong passphrase"),
        ({"opslimit": 2}, "wrong passphrase"),
        ({"encryption": "scrypt-aes256gcm-1"}, "unknown key file encryption"),
        ({"opslimit": 0}, "opslimit"),
        ({"memlimit": 64 * 1024**3}, "memlimit"),  # refused before any memory is taken
        ({"memlimit": "lots"}, "memlimit"),
        ({"salt": base64.b64encode(bytes(8)).decode()}, "salt must be 16 bytes"),
        ({"salt": "not base64!!"}, "base64"),
        ({"ciphertext": base64.b64encode(bytes(20)).decode()}, "too short"),
        ({"private_key": base64.b64encode(bytes(32)).decode()}, "must not also hold private_key"),
    ],
)
def test_a_changed_or_malformed_encrypted_file_is_refused(tmp_path, change, needle):
    path = tmp_path / "node.key"
    write_encrypted(path, SigningKey.generate(version=1))
    doc = tomllib.loads(path.read_text("utf-8"))
    if change == "flip_ciphertext":
        change = {"ciphertext": _flip_last(doc["ciphertext"])}
    elif change == "flip_salt":
        change = {"salt": _flip_last(doc["salt"])}
    _edit(path, **change)
    with pytest.raises(KeyFileError) as err:
        load_private_key_file(path, SigningKey, passphrase=PASSPHRASE)
    assert str(path) in str(err.value)
    assert needle in str(err.value)


def test_encrypted_files_cannot_be_swapped_between_kinds_or_versions(tmp_path):
    sk, ek = tmp_path / "signing.key", tmp_path / "encryption.key"
    write_encrypted(sk, SigningKey.generate())
    write_encrypted(ek, EncryptionKey.generate())
    sk_doc = tomllib.loads(sk.read_text())
    _edit(ek, ciphertext=sk_doc["ciphertext"], salt=sk_doc["salt"])  # the signing key's secret under x25519:1
    with pytest.raises(KeyFileError, match="not the id sealed inside"):
        load_private_key_file(ek, EncryptionKey, passphrase=PASSPHRASE)


@pytest.mark.parametrize("kind", KINDS)
def test_encrypt_a_clear_key_file_in_place(tmp_path, kind):
    from tamga.crypto import encrypt_private_key_file, is_encrypted_key_file

    key = kind.generate()
    path = tmp_path / "node.key"
    write_private_key_file(path, key)
    assert not is_encrypted_key_file(path)
    encrypt_private_key_file(path, kind, PASSPHRASE, **FAST_KDF)
    assert is_encrypted_key_file(path)
    assert mode_of(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.key"]  # no copy left behind
    assert base64.b64encode(key.seed).decode() not in path.read_text()
    assert load_private_key_file(path, kind, passphrase=PASSPHRASE).seed == key.seed
    with pytest.raises(KeyFileError, match="encrypted with a passphrase and none was given"):
        load_private_key_file(path, kind)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="already encrypted"):
        encrypt_private_key_file(path, kind, "another passphrase", **FAST_KDF)
    assert path.read_bytes() == before


def test_encrypting_an_unsafe_clear_file_is_refused_and_changes_nothing(tmp_path):
    from tamga.crypto import encrypt_private_key_file

    path = tmp_path / "node.key"
    write_private_key_file(path, SigningKey.generate())
    os.chmod(path, 0o644)
    before = path.read_bytes()
    with pytest.raises(KeyFileError, match="chmod 600"):
        encrypt_private_key_file(path, SigningKey, PASSPHRASE, **FAST_KDF)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["node.key"]


# -- the node directory: passphrase from [keys] passphrase_file or TAMGA_KEY_PASSPHRASE ----


def _home(tmp_path, passphrase=None):
    from tamga.home import init_home

    home = tmp_path / "kz"
    init_home(
        home, node_id="KZ", country="KZ", authority="Customs service of KZ", listen="127.0.0.1:0", passphrase=passphrase
    )
    return home


def _config(home):
    from tamga.config import load_config

    return load_config(home)


def test_init_with_a_passphrase_encrypts_both_keys_and_the_node_loads_them_from_the_environment(tmp_path):
    from tamga.crypto import is_encrypted_key_file
    from tamga.home import load_local_identity

    home = _home(tmp_path, PASSPHRASE)
    cfg = _config(home)
    for name in ("signing.key", "encryption.key"):
        assert is_encrypted_key_file(home / "keys" / name)
        assert mode_of(home / "keys" / name) == 0o600
    local = load_local_identity(cfg, environ={"TAMGA_KEY_PASSPHRASE": PASSPHRASE})
    assert local.node_id == "KZ"
    with pytest.raises(KeyFileError) as err:
        load_local_identity(cfg, environ={})
    assert str(home / "keys" / "signing.key") in str(err.value)
    assert "TAMGA_KEY_PASSPHRASE" in str(err.value)
    with pytest.raises(KeyFileError) as err:
        load_local_identity(cfg, environ={"TAMGA_KEY_PASSPHRASE": "not it"})
    assert "wrong passphrase" in str(err.value) and "not it" not in str(err.value)


def test_passphrase_file_is_used_and_must_be_owner_only(tmp_path):
    from tamga.home import load_local_identity
    from tamga.tools.federation import patch_config

    home = _home(tmp_path, PASSPHRASE)
    secret = home / "keys" / "passphrase"
    write_raw(secret, PASSPHRASE + "\n", 0o600)  # one trailing newline is not part of it
    patch_config(home, "keys", {"passphrase_file": "keys/passphrase"})
    cfg = _config(home)
    # The file wins over the environment.
    a = load_local_identity(cfg, environ={"TAMGA_KEY_PASSPHRASE": "not it"})
    assert a.signing_key.public == load_local_identity(cfg, passphrase=PASSPHRASE).signing_key.public
    os.chmod(secret, 0o640)
    with pytest.raises(KeyFileError) as err:
        load_local_identity(cfg, environ={})
    assert str(secret) in str(err.value) and "chmod 600" in str(err.value) and "0640" in str(err.value)
    write_raw(secret, "\n", 0o600)
    with pytest.raises(KeyFileError, match=r"passphrase file .* is empty"):
        load_local_identity(cfg, environ={})
    secret.unlink()
    with pytest.raises(KeyFileError) as err:
        load_local_identity(cfg, environ={})
    assert str(secret) in str(err.value) and "not found" in str(err.value)


def test_clear_keys_need_no_passphrase_and_never_read_the_passphrase_file(tmp_path):
    from tamga.home import load_local_identity
    from tamga.tools.federation import patch_config

    home = _home(tmp_path)
    patch_config(home, "keys", {"passphrase_file": "keys/absent"})
    assert load_local_identity(_config(home), environ={}).node_id == "KZ"


def test_encrypt_key_files_of_an_existing_node(tmp_path):
    from tamga.crypto import is_encrypted_key_file
    from tamga.home import encrypt_key_files, load_local_identity
    from tamga.transport import is_encrypted_tls_key

    home = _home(tmp_path)
    cfg = _config(home)
    before = load_local_identity(cfg, environ={})
    done = encrypt_key_files(cfg, PASSPHRASE)
    assert done == [home / "keys" / "signing.key", home / "keys" / "encryption.key", home / "keys" / "tls.key"]
    assert all(is_encrypted_key_file(p) and mode_of(p) == 0o600 for p in done[:2])
    assert is_encrypted_tls_key(done[2]) and mode_of(done[2]) == 0o600
    assert sorted(p.name for p in (home / "keys").iterdir() if p.name.endswith(".key")) == [
        "encryption.key",
        "signing.key",
        "tls.key",
    ]
    after = load_local_identity(cfg, environ={"TAMGA_KEY_PASSPHRASE": PASSPHRASE})
    assert after.signing_key.public == before.signing_key.public
    assert after.encryption_key.public == before.encryption_key.public
    assert after.tls_key == before.tls_key and after.tls_certificate == before.tls_certificate
    assert encrypt_key_files(cfg, "another") == []  # already encrypted: left alone
    assert load_local_identity(cfg, passphrase=PASSPHRASE).node_id == "KZ"


# -- the TLS key under the same passphrase ---------------------------------------------------

SCRYPT_OID = bytes.fromhex("06092b06010401da47040b")  # 1.3.6.1.4.1.11591.4.11, DER
PBKDF2_OID = bytes.fromhex("06092a864886f70d01050c")  # 1.2.840.113549.1.5.12, DER


def _pem_der(path) -> bytes:
    lines = path.read_text("ascii").strip().splitlines()
    assert lines[0] == "-----BEGIN ENCRYPTED PRIVATE KEY-----" and lines[-1] == "-----END ENCRYPTED PRIVATE KEY-----"
    return base64.b64decode("".join(lines[1:-1]))


def test_init_with_a_passphrase_encrypts_the_tls_key_too_with_scrypt(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from tamga.home import load_local_identity

    home = _home(tmp_path, PASSPHRASE)
    key = home / "keys" / "tls.key"
    assert mode_of(key) == 0o600
    der = _pem_der(key)
    # PBES2 with scrypt (not PBKDF2 with 2048 iterations): guessing the passphrase through the
    # TLS key costs about as much as through the Argon2id key files.
    assert SCRYPT_OID in der and PBKDF2_OID not in der
    with pytest.raises(TypeError):  # encrypted: no key without the passphrase
        serialization.load_pem_private_key(key.read_bytes(), password=None)
    opened = serialization.load_pem_private_key(key.read_bytes(), password=PASSPHRASE.encode())
    local = load_local_identity(_config(home), environ={"TAMGA_KEY_PASSPHRASE": PASSPHRASE})
    assert (
        opened.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        == local.tls_key
    )
    with pytest.raises(KeyFileError, match=r"wrong passphrase"):
        load_local_identity(_config(home), passphrase="not the passphrase")


def test_keys_encrypt_refuses_a_passphrase_the_encrypted_files_do_not_open_with(tmp_path):
    from tamga.home import encrypt_key_files, load_local_identity
    from tamga.transport import is_encrypted_tls_key

    home = _home(tmp_path)
    cfg = _config(home)
    tls_key = home / "keys" / "tls.key"
    # A node whose signing and encryption keys were encrypted before the TLS key was.
    for name, kind in (("signing.key", SigningKey), ("encryption.key", EncryptionKey)):
        from tamga.crypto import encrypt_private_key_file

        encrypt_private_key_file(home / "keys" / name, kind, PASSPHRASE, **FAST_KDF)
    before = tls_key.read_bytes()
    with pytest.raises(KeyFileError, match=r"signing\.key: wrong passphrase"):
        encrypt_key_files(cfg, "another passphrase")
    assert tls_key.read_bytes() == before and not is_encrypted_tls_key(tls_key)
    assert encrypt_key_files(cfg, PASSPHRASE) == [tls_key]
    assert load_local_identity(cfg, passphrase=PASSPHRASE).tls_key


def test_doctor_names_a_clear_tls_key_beside_encrypted_keys_until_keys_encrypt_fixes_it(tmp_path, monkeypatch):
    """A node made with --encrypt-keys before the TLS key was encrypted too: doctor says so, and how to fix it."""
    from tamga.crypto import encrypt_private_key_file
    from tamga.doctor import diagnose
    from tamga.home import encrypt_key_files

    home = _home(tmp_path)
    for name, kind in (("signing.key", SigningKey), ("encryption.key", EncryptionKey)):
        encrypt_private_key_file(home / "keys" / name, kind, PASSPHRASE, **FAST_KDF)
    monkeypatch.setenv("TAMGA_KEY_PASSPHRASE", PASSPHRASE)
    [keys] = [c for c in diagnose(home) if c.name == "keys"]
    assert not keys.ok and str(home / "keys" / "tls.key") in keys.detail and "tamga keys encrypt" in keys.detail
    assert encrypt_key_files(_config(home), PASSPHRASE) == [home / "keys" / "tls.key"]
    [keys] = [c for c in diagnose(home) if c.name == "keys"]
    assert keys.ok and "TLS key (encrypted too)" in keys.detail
