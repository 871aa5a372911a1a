"""The node directory: creating it, and reading its keys and peers.

Layout (``tamga init DIR``)::

    DIR/tamga.toml            configuration
    DIR/keys/                 private keys, folder 0700, files 0600; tls.crt, the
                              self-signed TLS certificate peers pin
    DIR/peers/ID.identity.json   peers' signed identity files
    DIR/federation/           the federation manifest chain ('tamga federation apply')
    DIR/outgoing/ processed/ failed/ incoming/   the drop folders
    DIR/state/tamga.db        the store
    DIR/run/                  pid and bound address of a running node
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import json
import os
import re
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from google.protobuf.message import DecodeError
from tamga.config import CONFIG_NAME, Config, render_config
from tamga.crypto import (
    EncryptionKey,
    SigningKey,
    encrypt_private_key_file,
    is_encrypted_key_file,
    load_private_key_file,
    write_private_key_file,
)
from tamga.errors import ConfigError, CryptoError, KeyFileError
from tamga.protocol import LocalIdentity, Peer, PeerDirectory, check_node_id, read_identity
from tamga.protocol._identity import IdentityTextError
from tamga.terminal import control_characters
from tamga.transport import (
    certificate_fingerprint,
    check_peer_certificate,
    create_tls_files,
    encrypt_tls_key_file,
    is_encrypted_tls_key,
    load_tls_files,
)
from tamga.v1 import identity_pb2

__all__ = [
    "IDENTITY_FILE_FORMAT",
    "PASSPHRASE_ENV",
    "PeerFile",
    "add_peer",
    "encrypt_key_files",
    "export_identity",
    "init_home",
    "load_local_identity",
    "load_peers",
    "parse_identity_file",
    "read_passphrase",
]

IDENTITY_FILE_FORMAT = "tamga-identity-1"
PASSPHRASE_ENV = "TAMGA_KEY_PASSPHRASE"
"""Environment variable holding the key files' passphrase when [keys] passphrase_file is not set."""


def init_home(
    home: Path,
    *,
    node_id: str,
    country: str,
    authority: str,
    listen: str,
    advertise: list[str] | None = None,
    adapter: str = "json",
    passphrase: str | bytes | None = None,
) -> Config:
    """Create a node directory with fresh keys.

    Args:
        passphrase: Encrypt the private key files with it: signing and
            encryption keys (Argon2id), and the TLS key (encrypted PKCS#8 PEM,
            scrypt). The node then needs it at every start: [keys]
            passphrase_file or TAMGA_KEY_PASSPHRASE.

    Raises:
        ConfigError: the directory already holds a node, or an argument is invalid.
        KeyFileError: a key could not be written.
    """
    from tamga.config import load_config

    try:
        check_node_id(node_id)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise ConfigError(f"country must be an ISO 3166-1 alpha-2 code such as KZ, found {country!r}")
    if (home / CONFIG_NAME).exists():
        raise ConfigError(f"{home / CONFIG_NAME}: a node already exists here; refusing to overwrite it")
    port = listen.rpartition(":")[2]
    advertise = advertise or ([listen] if port != "0" else [])
    home.mkdir(parents=True, exist_ok=True)
    # What decides whom the node trusts is writable by its owner only, whatever the umask
    # ('tamga run' refuses it otherwise); the drop folders keep the umask's mode, since the
    # national system's account may need to write to them.
    _no_write_for_others(home)
    for sub in ("outgoing", "processed", "failed", "incoming", "peers", "state", "run"):
        (home / sub).mkdir(exist_ok=True)
    _no_write_for_others(home / "peers")
    keys = home / "keys"
    keys.mkdir(mode=0o700, exist_ok=True)
    os.chmod(keys, 0o700)
    write_private_key_file(keys / "signing.key", SigningKey.generate(), passphrase=passphrase)
    write_private_key_file(keys / "encryption.key", EncryptionKey.generate(), passphrase=passphrase)
    text = render_config(
        node_id=node_id, country=country, authority=authority, listen=listen, advertise=advertise, adapter=adapter
    )
    tmp = home / (CONFIG_NAME + ".tmp")
    tmp.write_text(text, "utf-8")
    _no_write_for_others(tmp)
    os.replace(tmp, home / CONFIG_NAME)
    config = load_config(home)
    create_tls_files(
        config.path(config.keys.tls_key),
        config.path(config.keys.tls_certificate),
        node_id,
        now=time.time(),
        passphrase=None if passphrase is None else _as_bytes(passphrase),
    )
    _create_store(config.path(config.store.path))
    return config


def _as_bytes(passphrase: str | bytes) -> bytes:
    return passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)


def _no_write_for_others(path: Path) -> None:
    """Take write permission away from group and others (chmod go-w), if they have it.

    Raises:
        ConfigError: they have it and this user cannot take it away (not the owner).
    """
    mode = stat.S_IMODE(path.stat().st_mode)
    if not mode & (stat.S_IWGRP | stat.S_IWOTH):
        return
    try:
        os.chmod(path, mode & ~(stat.S_IWGRP | stat.S_IWOTH))
    except OSError as exc:
        raise ConfigError(
            f"{path} is writable by group or others (mode {mode:04o}) and cannot be changed ({exc.strerror}); "
            f"the node would refuse to start. Run as its owner: chmod go-w {path}"
        ) from exc


def _create_store(path: Path) -> None:
    """Create the node's store now, so that 'tamga send' and 'status' work before the first run."""
    from tamga.store import Store

    async def create() -> None:
        store = await Store.open(path)
        await store.close()

    # A thread of its own, so this works whether or not the caller runs an event loop.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, create()).result()


def read_passphrase(config: Config, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The passphrase of encrypted key files: [keys] passphrase_file, else TAMGA_KEY_PASSPHRASE, else None.

    The passphrase file must be readable by its owner only (like a key file);
    one trailing newline is not part of the passphrase.

    Raises:
        KeyFileError: the passphrase file is missing, unsafe, unreadable or empty.
    """
    if str(config.keys.passphrase_file) not in ("", "."):
        path = config.path(config.keys.passphrase_file)
        try:
            st = path.stat()
            if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise KeyFileError(
                    f"{path}: passphrase file ([keys] passphrase_file) is accessible to group or others "
                    f"(mode {stat.S_IMODE(st.st_mode):04o}); refusing to use it. Run: chmod 600 {path}"
                )
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise KeyFileError(f"{path}: passphrase file ([keys] passphrase_file) not found") from exc
        except OSError as exc:
            raise KeyFileError(f"{path}: cannot read passphrase file ([keys] passphrase_file): {exc.strerror}") from exc
        data = data.removesuffix(b"\n").removesuffix(b"\r")
        if not data:
            raise KeyFileError(f"{path}: passphrase file ([keys] passphrase_file) is empty")
        return data
    value = (os.environ if environ is None else environ).get(PASSPHRASE_ENV)
    if value is None:
        return None
    if not value:
        raise KeyFileError(f"the environment variable {PASSPHRASE_ENV} is set but empty")
    return value.encode("utf-8")


def load_local_identity(
    config: Config, *, passphrase: str | bytes | None = None, environ: Mapping[str, str] | None = None
) -> LocalIdentity:
    """This node's identity and private keys.

    The TLS key and certificate are required unless the node runs in
    plaintext mode ([server] plaintext = true), where they are used if present.

    Encrypted private key files are opened with ``passphrase`` or, when it is
    None, with the one :func:`read_passphrase` finds ([keys] passphrase_file,
    else TAMGA_KEY_PASSPHRASE from ``environ``, default the process's).

    Raises:
        KeyFileError: a key file is missing, unsafe or malformed; encrypted
            without a passphrase, or with another passphrase; or the
            passphrase file is missing or unsafe.
    """
    sk_path, ek_path = config.path(config.keys.signing), config.path(config.keys.encryption)
    if passphrase is None and (is_encrypted_key_file(sk_path) or is_encrypted_key_file(ek_path)):
        passphrase = read_passphrase(config, environ)
    sk = load_private_key_file(sk_path, SigningKey, passphrase=passphrase)
    ek = load_private_key_file(ek_path, EncryptionKey, passphrase=passphrase)
    assert isinstance(sk, SigningKey) and isinstance(ek, EncryptionKey)
    tls_key, tls_cert = config.path(config.keys.tls_key), config.path(config.keys.tls_certificate)
    tls_key_pem, tls_certificate = b"", b""
    if not config.server.plaintext or tls_key.exists() or tls_cert.exists():
        tls_passphrase = None
        if is_encrypted_tls_key(tls_key):  # by --encrypt-keys, 'keys encrypt' or the operator (openssl pkcs8)
            if passphrase is None:
                passphrase = read_passphrase(config, environ)
            tls_passphrase = None if passphrase is None else _as_bytes(passphrase)
        tls = load_tls_files(tls_key, tls_cert, config.node.id, passphrase=tls_passphrase)
        tls_key_pem, tls_certificate = tls.key_pem, tls.certificate
    return LocalIdentity(
        node_id=config.node.id,
        country=config.node.country,
        authority=config.node.authority,
        signing_key=sk,
        encryption_key=ek,
        tls_key=tls_key_pem,
        tls_certificate=tls_certificate,
    )


def encrypt_key_files(config: Config, passphrase: str | bytes) -> list[Path]:
    """Encrypt the node's clear private key files (signing, encryption, TLS) with ``passphrase``.

    Files already encrypted are left as they are. Each file is replaced
    atomically, only after its encrypted copy was read back. The node then
    needs the passphrase at every start ([keys] passphrase_file or
    TAMGA_KEY_PASSPHRASE). The TLS key becomes an encrypted PKCS#8 PEM
    (scrypt, AES-256-CBC) that openssl also opens with the passphrase; a node
    without a TLS key (plaintext development mode) has none to encrypt.

    Returns:
        The files that were encrypted now.

    Raises:
        KeyFileError: a key file is missing, unsafe or malformed, one already
            encrypted does not open with ``passphrase``, the passphrase is
            empty, or a file cannot be written.
    """
    files = [(config.path(config.keys.signing), SigningKey), (config.path(config.keys.encryption), EncryptionKey)]
    tls_key = config.path(config.keys.tls_key)
    has_tls = tls_key.exists() or not config.server.plaintext
    clear = [(p, kind) for p, kind in files if not is_encrypted_key_file(p)]
    tls_clear = has_tls and not is_encrypted_tls_key(tls_key)
    if not clear and not tls_clear:
        return []
    # The node opens every key file with one passphrase: files encrypted earlier (a node made
    # with --encrypt-keys before the TLS key was encrypted too) must open with this one.
    for path, kind in files:
        if (path, kind) not in clear:
            load_private_key_file(path, kind, passphrase=passphrase)
    if has_tls and not tls_clear:
        cert = config.path(config.keys.tls_certificate)
        load_tls_files(tls_key, cert, config.node.id, passphrase=_as_bytes(passphrase))
    done = []
    for path, kind in clear:
        encrypt_private_key_file(path, kind, passphrase)
        done.append(path)
    if tls_clear and encrypt_tls_key_file(tls_key, _as_bytes(passphrase)):
        done.append(tls_key)
    return done


def export_identity(local: LocalIdentity, endpoints: list[str], *, now: float | None = None) -> str:
    """This node's identity file (JSON text) for peers to add. Public keys only."""
    signed = local.identity_document(endpoints, time.time() if now is None else now)
    doc = {
        "format": IDENTITY_FILE_FORMAT,
        "node_id": local.node_id,
        "country": local.country,
        "authority": local.authority,
        "endpoints": list(endpoints),
        "signing_key_id": local.signing_key.key_id,
        "encryption_key_id": local.encryption_key.key_id,
        "fingerprint": local.signing_key.public.fingerprint,
        "tls_certificate_sha256": certificate_fingerprint(local.tls_certificate) if local.tls_certificate else "",
        "signed_identity": base64.b64encode(signed.SerializeToString()).decode(),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True, slots=True)
class PeerFile:
    """A peer's identity file as read and checked."""

    peer: Peer
    document: dict[str, Any]


MAX_IDENTITY_FILE_CHARS = 1024 * 1024
"""Longest identity file read (characters): real ones are a few kilobytes."""


def parse_identity_file(text: str, where: str, *, local_settings: bool = False) -> PeerFile:
    """Check an identity file made by ``tamga identity export``.

    The readable fields must match the signed identity inside, which must
    verify with the identity key it names.

    Raises:
        ConfigError: not an identity file, or inconsistent, or a text field
            (signed or readable) holds control characters.
        CryptoError: the signature does not verify.
    """
    # Another authority wrote this file: bounded before it is parsed. A real one is a few kilobytes
    # (keys, endpoints, a self-signed certificate).
    if len(text) > MAX_IDENTITY_FILE_CHARS:
        raise ConfigError(
            f"{where}: not an identity file ({len(text):,} characters; an identity file is at most "
            f"{MAX_IDENTITY_FILE_CHARS:,})"
        )
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: not an identity file (invalid JSON at line {exc.lineno}: {exc.msg})") from exc
    except RecursionError as exc:
        raise ConfigError(f"{where}: not an identity file (JSON nested too deeply)") from exc
    if not isinstance(doc, dict) or doc.get("format") != IDENTITY_FILE_FORMAT:
        raise ConfigError(f"{where}: not a Tamga identity file (format must be {IDENTITY_FILE_FORMAT!r})")
    try:
        raw = base64.b64decode(str(doc.get("signed_identity", "")), validate=True)
        signed = identity_pb2.SignedIdentity.FromString(raw)
    except (binascii.Error, ValueError, DecodeError) as exc:
        raise ConfigError(f"{where}: signed_identity is not valid base64 protobuf") from exc
    try:
        peer = read_identity(signed)
    except IdentityTextError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    except CryptoError as exc:
        raise CryptoError(f"{where}: {exc}; the file was changed or is not from that node") from exc
    for key, value in _json_strings(doc):
        found = control_characters(value)
        if found:
            raise ConfigError(
                f"{where}: field {key!r} holds control characters ({', '.join(found[:8])}); refused: "
                "text in an identity file must be printable"
            )
    for key, signed_value in (
        ("node_id", peer.node_id),
        ("country", peer.country),
        ("signing_key_id", peer.verify_key.key_id),
        ("fingerprint", peer.fingerprint),
    ):
        if doc.get(key) != signed_value:
            raise ConfigError(f"{where}: readable field {key!r} does not match the signed identity")
    tls_sha256 = certificate_fingerprint(peer.tls_certificate) if peer.tls_certificate else ""
    if (doc.get("tls_certificate_sha256") or "") != tls_sha256:
        raise ConfigError(f"{where}: readable field 'tls_certificate_sha256' does not match the signed identity")
    if peer.tls_certificate:
        try:
            check_peer_certificate(peer.tls_certificate, peer.node_id)
        except CryptoError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
    # "local" holds this node's own settings for the peer (peer add --endpoint); it is
    # not signed, so it is honoured only in the node's own peers folder.
    local = doc.get("local") or {}
    if local_settings and isinstance(local, dict) and local.get("endpoints"):
        peer.endpoints = tuple(str(e) for e in local["endpoints"])
    return PeerFile(peer, doc)


def _json_strings(value: Any, where: str = "") -> list[tuple[str, str]]:
    """(path, text) of every string in a JSON document (keys included), e.g. ``local.endpoints[0]``."""
    if isinstance(value, str):
        return [(where or "(document)", value)]
    found: list[tuple[str, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            path = f"{where}.{k}" if where else str(k)
            found.append((f"{path} (the key)", str(k)))
            found.extend(_json_strings(v, path))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found.extend(_json_strings(v, f"{where}[{i}]"))
    return found


def add_peer(config: Config, identity_path: Path, *, endpoint: str | None = None, replace: bool = False) -> Peer:
    """Check a peer's identity file and add it to this node's peers.

    Raises:
        ConfigError: unreadable or invalid file, the node's own identity, a
            peer with other keys already present (without ``replace``).
        CryptoError: the identity's signature does not verify.
    """
    try:
        text = identity_path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{identity_path}: cannot read: {exc}") from exc
    pf = parse_identity_file(text, str(identity_path))
    peer = pf.peer
    if peer.node_id == config.node.id:
        raise ConfigError(f"{identity_path}: this is this node's own identity ({peer.node_id})")
    doc = dict(pf.document)
    doc.pop("local", None)
    if endpoint:
        doc["local"] = {"endpoints": [endpoint]}
        peer.endpoints = (endpoint,)
    if not peer.endpoints:
        raise ConfigError(f"{identity_path}: the identity names no endpoint; give one with --endpoint HOST:PORT")
    peers_dir = config.path(config.folders.peers)
    peers_dir.mkdir(parents=True, exist_ok=True)
    target = peers_dir / f"{peer.node_id}.identity.json"
    if target.exists() and not replace:
        old = parse_identity_file(target.read_text("utf-8"), str(target), local_settings=True).peer
        if old.verify_key != peer.verify_key or old.encryption_key != peer.encryption_key:
            raise ConfigError(
                f"peer {peer.node_id} is already known with other keys (fingerprint {old.fingerprint}); "
                "use --replace only after confirming the new fingerprint with that authority"
            )
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
    _no_write_for_others(tmp)  # a pinned identity others could rewrite would let them choose the peer's keys
    os.replace(tmp, target)
    return peer


def load_peers(config: Config) -> PeerDirectory:
    """Every peer in the peers folder, checked.

    Raises:
        ConfigError: a peer file is invalid (the node will not start with it).
        CryptoError: a peer file's signature does not verify.
    """
    directory = PeerDirectory()
    peers_dir = config.path(config.folders.peers)
    if not peers_dir.is_dir():
        return directory
    for path in sorted(peers_dir.glob("*.identity.json")):
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: cannot read peer file: {exc}") from exc
        peer = parse_identity_file(text, str(path), local_settings=True).peer
        if peer.node_id == config.node.id:
            raise ConfigError(f"{path}: holds this node's own identity; remove it")
        directory.add(peer)
    return directory
