"""TLS between nodes: self-signed certificates, pinned; no certificate authority.

Each node has its own ECDSA P-256 key and a self-signed certificate for the
name ``<node-id>.tamga.invalid``. Its signed identity document carries the
certificate (DER), so adding a peer pins the peer's certificate, as SSH's
known_hosts does. Both directions are authenticated:

- the server requires a client certificate and trusts exactly the pinned
  certificates of the current peers, and (with a federation manifest) those
  of former members, pinned in an earlier version of the chain, which the
  servicer lets ask GetManifest and nothing else (so a removed member learns
  of its removal). They are read from callables on every new connection, so
  a peer added later (or a manifest change) takes effect without a restart;
- the client trusts exactly the pinned certificate of the peer it calls, and
  checks the peer's name in it (``grpc.ssl_target_name_override``);
- after the handshake the servicer checks that the client certificate is the
  one pinned for the node named as sender in the envelopes.

The fingerprint of a certificate is SHA-256 of its DER bytes, lowercase hex.
Records are sealed end to end anyway; TLS keeps routing headers, message ids
and traffic patterns from an observer and keeps unknown clients out.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import stat
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, padding, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from cryptography.x509.oid import NameOID
from tamga.crypto import replace_key_file_checked
from tamga.errors import CryptoError, KeyFileError
from tamga.logging import get_logger

__all__ = [
    "TLS_NAME_SUFFIX",
    "TLS_VALIDITY_DAYS",
    "ServerTls",
    "TlsIdentity",
    "certificate_fingerprint",
    "check_peer_certificate",
    "client_credentials",
    "create_tls_files",
    "encrypt_tls_key_file",
    "encrypted_key_pem",
    "generate_tls_identity",
    "is_encrypted_tls_key",
    "load_tls_files",
    "presented_fingerprint",
    "tls_name",
]

log = get_logger("tamga.transport")

TLS_NAME_SUFFIX = ".tamga.invalid"
TLS_VALIDITY_DAYS = 730


def tls_name(node_id: str) -> str:
    """The DNS name in a node's certificate, and the name a client expects: ``<node-id>.tamga.invalid``."""
    return f"{node_id.lower()}{TLS_NAME_SUFFIX}"


def certificate_fingerprint(der: bytes) -> str:
    """SHA-256 of a certificate's DER bytes, lowercase hex."""
    return hashlib.sha256(der).hexdigest()


def _der_to_pem(der: bytes) -> bytes:
    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


@dataclass(frozen=True, slots=True)
class TlsIdentity:
    """This node's TLS key (PEM, unencrypted, in memory only) and certificate (DER)."""

    key_pem: bytes = field(repr=False)
    certificate: bytes

    @property
    def certificate_pem(self) -> bytes:
        return _der_to_pem(self.certificate)

    @property
    def fingerprint(self) -> str:
        return certificate_fingerprint(self.certificate)


def generate_tls_identity(node_id: str, *, now: float, validity_days: int = TLS_VALIDITY_DAYS) -> TlsIdentity:
    """A fresh ECDSA P-256 key and a self-signed certificate for ``<node-id>.tamga.invalid``."""
    key = ec.generate_private_key(ec.SECP256R1())
    # The common name is the node id (at most 63 characters; a CN allows 64); the SAN holds the DNS name.
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, node_id)])
    start = datetime.datetime.fromtimestamp(now, datetime.UTC) - datetime.timedelta(hours=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=validity_days))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(tls_name(node_id))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return TlsIdentity(key_pem=key_pem, certificate=cert.public_bytes(serialization.Encoding.DER))


# -- the TLS key encrypted with the node's passphrase: PKCS#8, PBES2 with scrypt -------------
#
# cryptography's BestAvailableEncryption writes PBKDF2 with 2048 iterations: a stolen keys
# folder would let an attacker guess the passphrase (the same one that protects the Argon2id
# key files) a thousand times faster through the TLS key than through them. So the key is
# written as a standard PKCS#8 EncryptedPrivateKeyInfo with scrypt and AES-256-CBC, which
# cryptography and openssl ('openssl pkcs8 -in tls.key') both read with the passphrase. The
# scrypt parameters are the largest OpenSSL accepts by default (16 MiB), run 8 times (p).

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 8
_OID_PBES2 = "1.2.840.113549.1.5.13"
_OID_SCRYPT = "1.3.6.1.4.1.11591.4.11"
_OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"


def _der(tag: int, body: bytes) -> bytes:
    n = len(body)
    if n < 0x80:
        return bytes([tag, n]) + body
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + body


def _der_int(value: int) -> bytes:
    return _der(0x02, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _der_oid(dotted: str) -> bytes:
    first, second, *rest = (int(x) for x in dotted.split("."))
    out = bytearray([40 * first + second])
    for arc in rest:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out.extend(reversed(chunk))
    return _der(0x06, bytes(out))


def _der_seq(*parts: bytes) -> bytes:
    return _der(0x30, b"".join(parts))


def encrypted_key_pem(key: ec.EllipticCurvePrivateKey, passphrase: bytes, *, n: int = SCRYPT_N) -> bytes:
    """``key`` as an encrypted PKCS#8 PEM (PBES2: scrypt, AES-256-CBC), opened with ``passphrase``.

    Args:
        n: scrypt's cost (tests may lower it; keep the default).
    """
    if not passphrase:
        raise KeyFileError("the passphrase is empty; an encrypted TLS key needs a non-empty passphrase")
    plain = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    salt, iv = os.urandom(16), os.urandom(16)
    aes_key = Scrypt(salt=salt, length=32, n=n, r=SCRYPT_R, p=SCRYPT_P).derive(passphrase)
    padder = padding.PKCS7(128).padder()
    padded = padder.update(plain) + padder.finalize()
    encryptor = Cipher(algorithms.AES(aes_key), modes.CBC(iv)).encryptor()
    sealed = encryptor.update(padded) + encryptor.finalize()
    kdf = _der_seq(
        _der_oid(_OID_SCRYPT),
        _der_seq(_der(0x04, salt), _der_int(n), _der_int(SCRYPT_R), _der_int(SCRYPT_P), _der_int(32)),
    )
    scheme = _der_seq(_der_oid(_OID_AES256_CBC), _der(0x04, iv))
    info = _der_seq(_der_seq(_der_oid(_OID_PBES2), _der_seq(kdf, scheme)), _der(0x04, sealed))
    b64 = base64.encodebytes(info).replace(b"\n", b"")
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----\n" + b"\n".join(lines) + b"\n-----END ENCRYPTED PRIVATE KEY-----\n"


def encrypt_tls_key_file(path: Path, passphrase: bytes, *, n: int = SCRYPT_N) -> bool:
    """Replace a clear TLS key file by the same key encrypted with ``passphrase`` (see :func:`encrypted_key_pem`).

    The encrypted copy is written next to it (0600, fsynced), read back with
    the passphrase and compared, then renamed over the clear file: a crash
    leaves one of the two, never neither.

    Returns:
        True if the file was encrypted now, False if it already was.

    Raises:
        KeyFileError: the file is missing, unsafe or malformed, or cannot be replaced.
    """
    if is_encrypted_tls_key(path):
        return False
    key = _read_private_key(path, None)
    replace_key_file_checked(
        path,
        lambda tmp: _write_new(tmp, encrypted_key_pem(key, passphrase, n=n), 0o600, "TLS key"),
        lambda tmp: _read_private_key(tmp, passphrase).private_numbers() == key.private_numbers(),
    )
    return True


def create_tls_files(
    key_path: Path, cert_path: Path, node_id: str, *, now: float, passphrase: bytes | None = None
) -> TlsIdentity:
    """Generate the node's TLS key (file 0600) and certificate (PEM) into new files.

    Args:
        passphrase: Encrypt the key file with it (see :func:`encrypted_key_pem`);
            None writes it in the clear (its mode protects it).

    Raises:
        KeyFileError: a file is already there or cannot be written.
    """
    tls = generate_tls_identity(node_id, now=now)
    data = tls.key_pem
    if passphrase is not None:
        key = serialization.load_pem_private_key(tls.key_pem, password=None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        data = encrypted_key_pem(key, passphrase)
    _write_new(key_path, data, 0o600, "TLS key")
    _write_new(cert_path, tls.certificate_pem, 0o644, "TLS certificate")
    return tls


def _write_new(path: Path, data: bytes, mode: int, what: str) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError as exc:
        raise KeyFileError(f"{path}: a {what} file is already there; refusing to overwrite it") from exc
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot create {what} file: {exc.strerror}") from exc
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def is_encrypted_tls_key(path: Path) -> bool:
    """True if ``path`` holds a passphrase-encrypted PEM key (PKCS#8 or legacy); False if absent or clear."""
    try:
        head = path.read_bytes()[:4096]
    except OSError:
        return False
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in head or b"Proc-Type: 4,ENCRYPTED" in head


def _read_private_key(key_path: Path, passphrase: bytes | None) -> ec.EllipticCurvePrivateKey:
    """The TLS key in ``key_path``, checked: owner-only, PEM, ECDSA P-256.

    Raises:
        KeyFileError: missing, unreadable, accessible to group or others,
            malformed, encrypted without a passphrase or with another one.
    """
    try:
        st = key_path.stat()
    except FileNotFoundError as exc:
        raise KeyFileError(
            f"{key_path}: TLS key file not found. Node directories made before TLS have none: "
            "make a new node directory with 'tamga init', or set [server] plaintext = true (development only)"
        ) from exc
    except OSError as exc:
        raise KeyFileError(f"{key_path}: cannot read TLS key file: {exc.strerror}") from exc
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(
            f"{key_path}: key file is accessible to group or others (mode {stat.S_IMODE(st.st_mode):04o}); "
            f"refusing to use it. Run: chmod 600 {key_path}"
        )
    try:
        key_data = key_path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"{key_path}: cannot read TLS key file: {exc.strerror}") from exc
    try:
        key = serialization.load_pem_private_key(key_data, password=passphrase)
    except TypeError as exc:
        raise KeyFileError(
            f"{key_path}: the TLS key is encrypted and no passphrase was given "
            "(set [keys] passphrase_file or TAMGA_KEY_PASSPHRASE)"
            if passphrase is None
            else f"{key_path}: the TLS key is not encrypted, but a passphrase was given"
        ) from exc
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise KeyFileError(f"{key_path}: not a PEM private key, or wrong passphrase ({exc})") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise KeyFileError(f"{key_path}: the TLS key must be an ECDSA P-256 key")
    return key


def load_tls_files(key_path: Path, cert_path: Path, node_id: str, *, passphrase: bytes | None = None) -> TlsIdentity:
    """Read and check the node's TLS key and certificate.

    Raises:
        KeyFileError: a file is missing, unreadable, the key is readable by group
            or others, a file is malformed, the key does not belong to the
            certificate, or the certificate is not for this node.
    """
    key = _read_private_key(key_path, passphrase)
    try:
        cert_data = cert_path.read_bytes()
    except FileNotFoundError as exc:
        raise KeyFileError(f"{exc.filename}: TLS file not found") from exc
    except OSError as exc:
        raise KeyFileError(f"{exc.filename}: cannot read TLS file: {exc.strerror}") from exc
    try:
        cert = x509.load_pem_x509_certificate(cert_data)
    except ValueError as exc:
        raise KeyFileError(f"{cert_path}: not a PEM X.509 certificate ({exc})") from exc
    if cert.public_key() != key.public_key():
        raise KeyFileError(f"{cert_path}: the certificate does not belong to the key in {key_path}")
    der = cert.public_bytes(serialization.Encoding.DER)
    try:
        check_peer_certificate(der, node_id)
    except CryptoError as exc:
        raise KeyFileError(f"{cert_path}: {exc}") from exc
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return TlsIdentity(key_pem=key_pem, certificate=der)


def check_peer_certificate(der: bytes, node_id: str) -> None:
    """Check that ``der`` is an X.509 certificate naming ``<node-id>.tamga.invalid``.

    Its validity period is not checked here: a pinned certificate is trusted
    as pinned, and the TLS handshake refuses an expired one.

    Raises:
        CryptoError: not a DER certificate, or for another name.
    """
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError as exc:
        raise CryptoError("the TLS certificate is not a DER X.509 certificate") from exc
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
            x509.DNSName
        )
    except x509.ExtensionNotFound:
        names = []
    if tls_name(node_id) not in [n.lower() for n in names]:
        raise CryptoError(
            f"the TLS certificate is for {', '.join(names) or 'no DNS name'}, not {tls_name(node_id)} (node {node_id})"
        )


class ServerTls:
    """Server credentials that trust the current peers' pinned certificates.

    Args:
        own: This node's key and certificate.
        pinned: Returns the DER certificates to accept from clients; called
            for every new connection, so changes apply without a restart.
        former: Returns the DER certificates of former members (pinned in an
            earlier manifest version), accepted at the handshake too; the
            servicer serves them GetManifest only.
    """

    def __init__(
        self,
        own: TlsIdentity,
        pinned: Callable[[], Iterable[bytes]],
        former: Callable[[], Iterable[bytes]] | None = None,
    ) -> None:
        self.own = own
        self.pinned = pinned
        self.former = former
        self._roots: bytes | None = None
        self._pems: dict[bytes, bytes] = {}  # DER -> PEM, so a handshake does not parse every certificate again

    def _pem(self, der: bytes) -> bytes:
        pem = self._pems.get(der)
        if pem is None:
            if len(self._pems) > 10_000:
                self._pems.clear()
            pem = self._pems[der] = _der_to_pem(der)
        return pem

    def _roots_pem(self) -> bytes:
        pems = {self._pem(der) for der in self.pinned() if der}
        for der in self.former() if self.former is not None else ():
            try:
                pems.add(self._pem(der))
            except ValueError:  # an old version's certificate that does not parse is no reason to stop
                continue
        # With no peer yet, trust only our own certificate (a client must present
        # some root to verify against; no peer can present this one).
        return b"".join(sorted(pems)) or self.own.certificate_pem

    def _configuration(self, roots: bytes) -> grpc.ServerCertificateConfiguration:
        return grpc.ssl_server_certificate_configuration(
            [(self.own.key_pem, self.own.certificate_pem)], root_certificates=roots
        )

    def _fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by gRPC before each handshake: a new configuration if the pinned set changed."""
        try:
            roots = self._roots_pem()
        except Exception as exc:  # never let an exception into gRPC's C core; keep the last set
            log.error("tls_pins_not_read", error=str(exc) or type(exc).__name__)
            return None
        if roots == self._roots:
            return None
        self._roots = roots
        return self._configuration(roots)

    def credentials(self) -> grpc.ServerCredentials:
        self._roots = self._roots_pem()
        return grpc.dynamic_ssl_server_credentials(
            self._configuration(self._roots), self._fetch, require_client_authentication=True
        )


def client_credentials(own: TlsIdentity, peer_certificate: bytes) -> grpc.ChannelCredentials:
    """Credentials to call a peer: trust only its pinned certificate, present ours."""
    return grpc.ssl_channel_credentials(
        root_certificates=_der_to_pem(peer_certificate),
        private_key=own.key_pem,
        certificate_chain=own.certificate_pem,
    )


def presented_fingerprint(context: grpc.aio.ServicerContext) -> str | None:
    """Fingerprint of the client certificate of this call, or None on a plaintext connection."""
    auth = context.auth_context() or {}
    pems = auth.get("x509_pem_cert") or []
    if not pems:
        return None
    pem = pems[0]
    cert = x509.load_pem_x509_certificate(pem if isinstance(pem, bytes) else str(pem).encode())
    return certificate_fingerprint(cert.public_bytes(serialization.Encoding.DER))
