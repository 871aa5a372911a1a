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
