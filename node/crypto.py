"""All of Tamga's cryptography. The only module that imports ``nacl``.

Keys:
    * an Ed25519 identity key signs envelopes, receipt batches and the node's
      identity document; its id is ``ed25519:<version>``;
    * an X25519 encryption key, bound to the identity by the signed identity
      document, encrypts envelope bodies with NaCl Box
      (X25519 + XSalsa20-Poly1305); its id is ``x25519:<version>``.

Signatures are made over bytes, never over objects: a purpose string
(domain separation, so a receipt signature can never pass for an envelope
signature) and then each part, length-prefixed. Every verification or
decryption failure, whatever nacl said, becomes :class:`CryptoError`.

Private key files are small TOML documents written with mode 0600; loading
refuses a file that group or others can read. A key file may be encrypted
with a passphrase: Argon2id (salt, opslimit and memlimit kept in the file)
derives a SecretBox key (XSalsa20-Poly1305), which seals the key id and the
private key together, so neither can be changed or swapped unnoticed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import stat
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nacl.exceptions
import nacl.public
import nacl.pwhash.argon2id
import nacl.secret
import nacl.signing
import nacl.utils
from tamga.errors import CryptoError, KeyFileError

__all__ = [
    "CRYPTO_PROFILE_V1",
    "KEY_FILE_ENCRYPTION",
    "KEY_FILE_MEMLIMIT",
    "KEY_FILE_OPSLIMIT",
    "NONCE_SIZE",
    "SALT_SIZE",
    "SIGNATURE_SIZE",
    "Channel",
    "EncryptionKey",
    "EncryptionPublicKey",
    "SigningKey",
    "VerifyKey",
    "digest",
    "encrypt_private_key_file",
    "fingerprint",
    "is_encrypted_key_file",
    "load_private_key_file",
    "random_bytes",
    "write_private_key_file",
]

CRYPTO_PROFILE_V1 = "tamga-ed25519-x25519-xsalsa20poly1305-1"
"""Ed25519 signatures, NaCl Box encryption, SHA-256 digests."""

NONCE_SIZE = nacl.public.Box.NONCE_SIZE
SALT_SIZE = 16
SIGNATURE_SIZE = 64
KEY_SIZE = 32
MAC_SIZE = 16  # Poly1305 tag of XSalsa20-Poly1305


def _frame(purpose: str, parts: tuple[bytes, ...]) -> bytes:
    chunks = [purpose.encode("ascii"), b"\x00"]
    for part in parts:
        chunks.append(len(part).to_bytes(8, "big"))
        chunks.append(part)
    return b"".join(chunks)


def digest(*parts: bytes) -> bytes:
    """SHA-256 over the parts, each length-prefixed (so parts cannot shift)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.digest()


def random_bytes(size: int) -> bytes:
    """Bytes from the operating system's CSPRNG."""
    return nacl.utils.random(size)


def fingerprint(public_key: bytes) -> str:
    """Human-comparable fingerprint of a public key: SHA-256, 160 bits, in hex groups.

    Two authorities compare it over the telephone or on paper before they add
    each other as peers.
    """
    h = hashlib.sha256(public_key).hexdigest()[:40]
    return " ".join(h[i : i + 4] for i in range(0, 40, 4))


def _key_id(alg: str, version: int) -> str:
    if version < 1:
        raise ValueError("key version must be >= 1")
    return f"{alg}:{version}"


@dataclass(frozen=True, slots=True)
class VerifyKey:
    """A public Ed25519 key with its id."""

    key_id: str
    raw: bytes

    def __post_init__(self) -> None:
        if not self.key_id.startswith("ed25519:"):
            raise CryptoError(f"signing key id {self.key_id!r} is not an ed25519 key id")
        if len(self.raw) != KEY_SIZE:
            raise CryptoError(f"ed25519 public key {self.key_id} must be 32 bytes")

    def verify(self, purpose: str, signature: bytes, *parts: bytes) -> None:
        """Check a signature made by :meth:`SigningKey.sign`.

        Raises:
            CryptoError: the signature does not verify.
        """
        if len(signature) != SIGNATURE_SIZE:
            raise CryptoError(f"signature by {self.key_id} has {len(signature)} bytes, not 64")
        try:
            nacl.signing.VerifyKey(self.raw).verify(_frame(purpose, parts), signature)
        except (nacl.exceptions.BadSignatureError, nacl.exceptions.CryptoError) as exc:
            raise CryptoError(f"{purpose} signature does not verify with {self.key_id}") from exc

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.raw)


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class SigningKey:
    """A private Ed25519 identity key. Its repr never shows the key; equal only to itself."""

    key_id: str
    _key: nacl.signing.SigningKey = field(compare=False)

    @classmethod
    def generate(cls, version: int = 1) -> SigningKey:
        return cls(_key_id("ed25519", version), nacl.signing.SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes, version: int = 1) -> SigningKey:
        if len(seed) != KEY_SIZE:
            raise CryptoError("an ed25519 seed must be 32 bytes")
        return cls(_key_id("ed25519", version), nacl.signing.SigningKey(seed))

    @property
    def seed(self) -> bytes:
        return bytes(self._key)

    @property
    def public(self) -> VerifyKey:
        return VerifyKey(self.key_id, bytes(self._key.verify_key))

    def sign(self, purpose: str, *parts: bytes) -> bytes:
        """Sign the purpose string and the length-prefixed parts; 64 bytes."""
        return self._key.sign(_frame(purpose, parts)).signature

    def __repr__(self) -> str:
        return f"SigningKey({self.key_id}, fingerprint={self.public.fingerprint!r})"


@dataclass(frozen=True, slots=True)
class EncryptionPublicKey:
    """A public X25519 key with its id."""

    key_id: str
    raw: bytes

    def __post_init__(self) -> None:
        if not self.key_id.startswith("x25519:"):
            raise CryptoError(f"encryption key id {self.key_id!r} is not an x25519 key id")
        if len(self.raw) != KEY_SIZE:
            raise CryptoError(f"x25519 public key {self.key_id} must be 32 bytes")


@dataclass(frozen=True, slots=True, repr=False, eq=False)
class EncryptionKey:
    """A private X25519 encryption key. Its repr never shows the key; equal only to itself."""

    key_id: str
    _key: nacl.public.PrivateKey = field(compare=False)

    @classmethod
    def generate(cls, version: int = 1) -> EncryptionKey:
        return cls(_key_id("x25519", version), nacl.public.PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes, version: int = 1) -> EncryptionKey:
        if len(seed) != KEY_SIZE:
            raise CryptoError("an x25519 private key must be 32 bytes")
        return cls(_key_id("x25519", version), nacl.public.PrivateKey(seed))

    @property
    def seed(self) -> bytes:
        return bytes(self._key)

    @property
    def public(self) -> EncryptionPublicKey:
        return EncryptionPublicKey(self.key_id, bytes(self._key.public_key))

    def channel(self, peer: EncryptionPublicKey) -> Channel:
        """The authenticated-encryption channel between this key and a peer's.

        The shared key is computed once here; keep the channel for the peer.
        """
        return Channel(nacl.public.Box(self._key, nacl.public.PublicKey(peer.raw)))

    def __repr__(self) -> str:
        return f"EncryptionKey({self.key_id})"


@dataclass(frozen=True, slots=True, repr=False)
class Channel:
    """NaCl Box between two X25519 keys: either side can seal and open."""

    _box: nacl.public.Box

    def encrypt(self, plaintext: bytes, nonce: bytes | None = None) -> bytes:
        """nonce (24 bytes, random unless given for known-answer tests) || ciphertext."""
        if nonce is None:
            nonce = random_bytes(NONCE_SIZE)
        elif len(nonce) != NONCE_SIZE:
            raise CryptoError("a box nonce must be 24 bytes")
        return bytes(self._box.encrypt(plaintext, nonce))

    def decrypt(self, body: bytes) -> bytes:
        """Open what :meth:`encrypt` made.

        Raises:
            CryptoError: the body was changed, truncated, or sealed for other keys.
        """
        if len(body) < NONCE_SIZE + MAC_SIZE:
            raise CryptoError(f"encrypted body too short ({len(body)} bytes)")
        try:
            return bytes(self._box.decrypt(body))
        except nacl.exceptions.CryptoError as exc:
            raise CryptoError("body does not decrypt: changed, or not sealed for this node") from exc


# -- key files -----------------------------------------------------------------

_KEY_FILE_HEADER = (
    "# Tamga node private key. Keep this file secret, readable by the node's user only.\n"
    "# Never send it to anyone: peers need only the identity file (tamga identity export).\n"
)


KEY_FILE_ENCRYPTION = "argon2id-xsalsa20poly1305-1"
"""Value of ``encryption`` in a passphrase-encrypted key file."""
KEY_FILE_OPSLIMIT = nacl.pwhash.argon2id.OPSLIMIT_MODERATE
"""Argon2id passes for new encrypted key files (libsodium's "moderate": 3)."""
KEY_FILE_MEMLIMIT = nacl.pwhash.argon2id.MEMLIMIT_MODERATE
"""Argon2id memory for new encrypted key files (libsodium's "moderate": 256 MiB)."""
# Limits a key file may ask for when it is loaded: from libsodium's minimum to
# its "sensitive" level (1 GiB), so a file cannot make the node exhaust memory.
_OPS_RANGE = (nacl.pwhash.argon2id.OPSLIMIT_MIN, nacl.pwhash.argon2id.OPSLIMIT_SENSITIVE)
_MEM_RANGE = (nacl.pwhash.argon2id.MEMLIMIT_MIN, nacl.pwhash.argon2id.MEMLIMIT_SENSITIVE)
_KDF_SALT_SIZE = nacl.pwhash.argon2id.SALTBYTES


def _passphrase_bytes(path: Path, passphrase: str | bytes) -> bytes:
    data = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
    if not data:
        raise KeyFileError(f"{path}: the passphrase is empty; a key file needs a non-empty passphrase")
    return data


def _secret_box(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> nacl.secret.SecretBox:
    key = nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, passphrase, salt, opslimit=opslimit, memlimit=memlimit
    )
    return nacl.secret.SecretBox(key)


def _key_file_text(key: SigningKey | EncryptionKey, passphrase: bytes | None, opslimit: int, memlimit: int) -> str:
    if passphrase is None:
        return (
            _KEY_FILE_HEADER + f'key_id = "{key.key_id}"\n' + f'private_key = "{base64.b64encode(key.seed).decode()}"\n'
        )
    if not (_OPS_RANGE[0] <= opslimit <= _OPS_RANGE[1] and _MEM_RANGE[0] <= memlimit <= _MEM_RANGE[1]):
        raise ValueError("argon2id limits out of range")
    salt = random_bytes(_KDF_SALT_SIZE)
    sealed = _secret_box(passphrase, salt, opslimit, memlimit).encrypt(key.key_id.encode() + b"\x00" + key.seed)
    b64 = base64.b64encode
    return (
        _KEY_FILE_HEADER
        + "# Encrypted with a passphrase: the node reads it from [keys] passphrase_file or TAMGA_KEY_PASSPHRASE.\n"
        + f'key_id = "{key.key_id}"\n'
        + f'encryption = "{KEY_FILE_ENCRYPTION}"\n'
        + f'salt = "{b64(salt).decode()}"\n'
        + f"opslimit = {opslimit}\n"
        + f"memlimit = {memlimit}\n"
        + f'ciphertext = "{b64(bytes(sealed)).decode()}"\n'
    )


def _write_new_0600(path: Path, text: str) -> None:
    """Create ``path`` (never an existing file or symlink), mode 0600, write and fsync."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError as exc:
        raise KeyFileError(f"{path}: a key file is already there; refusing to overwrite it") from exc
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create key file: {exc.strerror}") from exc
    try:
        os.fchmod(fd, 0o600)
        data = text.encode()
        while data:
            data = data[os.write(fd, data) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private_key_file(
    path: Path,
    key: SigningKey | EncryptionKey,
    *,
    passphrase: str | bytes | None = None,
    opslimit: int = KEY_FILE_OPSLIMIT,
    memlimit: int = KEY_FILE_MEMLIMIT,
) -> None:
    """Write a private key to a new file with mode 0600.

    Args:
        path: The new file.
        key: The key.
        passphrase: Encrypt the key with it (Argon2id + SecretBox); None writes
            the key in the clear (the file's mode protects it).
        opslimit: Argon2id passes (tests may lower it; keep the default).
        memlimit: Argon2id memory in bytes (tests may lower it; keep the default).

    Raises:
        KeyFileError: the file already exists or cannot be written, or the
            passphrase is empty.
    """
    secret = None if passphrase is None else _passphrase_bytes(path, passphrase)
    _write_new_0600(path, _key_file_text(key, secret, opslimit, memlimit))


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def encrypt_private_key_file(
    path: Path,
    kind: type[SigningKey] | type[EncryptionKey],
    passphrase: str | bytes,
    *,
    opslimit: int = KEY_FILE_OPSLIMIT,
    memlimit: int = KEY_FILE_MEMLIMIT,
) -> None:
    """Replace a clear key file by the same key encrypted with ``passphrase``.

    The encrypted file is written next to it (0600, fsynced), checked to open
    with the passphrase, then renamed over the clear one: a crash leaves
    either the old file or the new one, never neither.

    Raises:
        KeyFileError: the file is missing, unsafe, malformed or already
            encrypted, or the new file cannot be written.
    """
    secret = _passphrase_bytes(path, passphrase)
    if is_encrypted_key_file(path):
        raise KeyFileError(f"{path}: key file is already encrypted with a passphrase; left unchanged")
    key = load_private_key_file(path, kind)

    def same_key(tmp: Path) -> bool:
        again = load_private_key_file(tmp, kind, passphrase=secret)
        return again.seed == key.seed and again.key_id == key.key_id

    text = _key_file_text(key, secret, opslimit, memlimit)
    replace_key_file_checked(path, lambda tmp: _write_new_0600(tmp, text), same_key)


def replace_key_file_checked(
    path: Path, write: Callable[[Path], None], gives_back_the_key: Callable[[Path], bool]
) -> None:
    """Replace a key file by an encrypted copy only once the copy is shown to give back the same key.

    The copy is written beside it (``.NAME.encrypting``, removed if anything
    fails, or if an interrupted earlier run left one), read back, then renamed
    over the file and the folder flushed: the clear file stays until the
    encrypted one is known to be good. Used for the node's signing, encryption
    and TLS keys alike.

    Raises:
        KeyFileError: the copy does not give back the key; the file is left unchanged.
    """
    tmp = path.with_name(f".{path.name}.encrypting")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()  # left by an interrupted earlier run; the clear file is still in place
    write(tmp)
    try:
        if not gives_back_the_key(tmp):
            raise KeyFileError(f"{path}: the encrypted copy does not give back the same key; left unchanged")
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _read_key_doc(path: Path) -> dict[str, object]:
    try:
        st = path.stat()
    except FileNotFoundError as exc:
        raise KeyFileError(f"{path}: key file not found") from exc
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file: {exc.strerror}") from exc
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{path}: key file is accessible to group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"refusing to use it. Run: chmod 600 {path}"
        )
    try:
        return tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read key file: {exc.strerror}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"{path}: not a Tamga key file ({exc})") from exc


def is_encrypted_key_file(path: Path) -> bool:
    """True if the key file is encrypted with a passphrase.

    Raises:
        KeyFileError: missing, unreadable, readable by group or others, or not TOML.
    """
    return "encryption" in _read_key_doc(path)


def _decrypt_seed(path: Path, doc: dict[str, object], key_id: str, passphrase: bytes) -> bytes:
    method = doc.get("encryption")
    if method != KEY_FILE_ENCRYPTION:
        raise KeyFileError(f"{path}: unknown key file encryption {method!r}; this Tamga reads {KEY_FILE_ENCRYPTION!r}")
    if "private_key" in doc:
        raise KeyFileError(f"{path}: an encrypted key file must not also hold private_key in the clear")
    opslimit, memlimit = doc.get("opslimit"), doc.get("memlimit")
    if not isinstance(opslimit, int) or not _OPS_RANGE[0] <= opslimit <= _OPS_RANGE[1]:
        raise KeyFileError(f"{path}: opslimit must be an integer from {_OPS_RANGE[0]} to {_OPS_RANGE[1]}")
    if not isinstance(memlimit, int) or not _MEM_RANGE[0] <= memlimit <= _MEM_RANGE[1]:
        raise KeyFileError(f"{path}: memlimit must be an integer from {_MEM_RANGE[0]} to {_MEM_RANGE[1]} (bytes)")
    try:
        salt = base64.b64decode(str(doc.get("salt", "")), validate=True)
        ciphertext = base64.b64decode(str(doc.get("ciphertext", "")), validate=True)
    except ValueError as exc:
        raise KeyFileError(f"{path}: salt and ciphertext must be base64") from exc
    if len(salt) != _KDF_SALT_SIZE:
        raise KeyFileError(f"{path}: salt must be {_KDF_SALT_SIZE} bytes, found {len(salt)}")
    if len(ciphertext) < NONCE_SIZE + MAC_SIZE:
        raise KeyFileError(f"{path}: ciphertext is too short to hold a key ({len(ciphertext)} bytes)")
    try:
        plain = _secret_box(passphrase, salt, opslimit, memlimit).decrypt(ciphertext)
    except nacl.exceptions.CryptoError as exc:
        raise KeyFileError(
            f"{path}: wrong passphrase: the key file does not decrypt with the passphrase given "
            "(or the file was changed)"
        ) from exc
    except (nacl.exceptions.RuntimeError, MemoryError) as exc:
        raise KeyFileError(f"{path}: cannot derive the key from the passphrase ({type(exc).__name__})") from exc
    sealed_id, sep, seed = bytes(plain).partition(b"\x00")
    if not sep or sealed_id != key_id.encode():
        raise KeyFileError(f"{path}: key_id {key_id!r} is not the id sealed inside the file; the file was changed")
    return seed


def load_private_key_file(
    path: Path,
    kind: type[SigningKey] | type[EncryptionKey],
    *,
    passphrase: str | bytes | None = None,
) -> SigningKey | EncryptionKey:
    """Read a private key file written by :func:`write_private_key_file`.

    Args:
        path: The key file.
        kind: Which key it must hold.
        passphrase: Needed if the file is encrypted; ignored for a clear file.

    Raises:
        KeyFileError: missing, unreadable, readable by group or others,
            malformed, encrypted and no passphrase given, or a wrong passphrase.
    """
    doc = _read_key_doc(path)
    key_id = doc.get("key_id")
    alg = "ed25519" if kind is SigningKey else "x25519"
    if not isinstance(key_id, str) or not key_id.startswith(alg + ":"):
        raise KeyFileError(f"{path}: key_id must be '{alg}:<version>', found {key_id!r}")
    if "encryption" in doc:
        if passphrase is None:
            raise KeyFileError(
                f"{path}: key file is encrypted with a passphrase and none was given; "
                "set [keys] passphrase_file or the environment variable TAMGA_KEY_PASSPHRASE"
            )
        seed = _decrypt_seed(path, doc, key_id, _passphrase_bytes(path, passphrase))
        try:
            return kind.from_seed(seed, int(key_id.split(":", 1)[1]))
        except (ValueError, CryptoError) as exc:
            raise KeyFileError(f"{path}: the decrypted key is not a valid 32-byte {alg} key") from exc
    encoded = doc.get("private_key")
    try:
        version = int(key_id.split(":", 1)[1])
        seed = base64.b64decode(str(encoded), validate=True)
        return kind.from_seed(seed, version)
    except (ValueError, CryptoError) as exc:
        raise KeyFileError(f"{path}: private_key is not a valid base64 32-byte {alg} key") from exc
