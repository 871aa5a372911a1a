"""Who we are and who our peers are: identities, as plain values (no I/O)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError, Message
from tamga.crypto import (
    CRYPTO_PROFILE_V1,
    Channel,
    EncryptionKey,
    EncryptionPublicKey,
    SigningKey,
    VerifyKey,
)
from tamga.errors import CryptoError
from tamga.protocol._time import to_nanos
from tamga.terminal import control_characters
from tamga.v1 import identity_pb2

__all__ = [
    "IDENTITY_PURPOSE",
    "PROTOCOL_VERSION",
    "SUPPORTED_CRYPTO_PROFILES",
    "SUPPORTED_PROTOCOL_VERSIONS",
    "IdentityTextError",
    "LocalIdentity",
    "Peer",
    "PeerDirectory",
    "check_identity_text",
    "check_node_id",
    "read_identity",
]

PROTOCOL_VERSION = 1
SUPPORTED_PROTOCOL_VERSIONS = (1,)
SUPPORTED_CRYPTO_PROFILES = (CRYPTO_PROFILE_V1,)
IDENTITY_PURPOSE = "tamga/v1/identity"

_NODE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")


def check_node_id(node_id: str) -> str:
    """Return ``node_id`` if it is a valid node id, else raise ValueError."""
    if not _NODE_ID.fullmatch(node_id):
        raise ValueError(
            f"node id {node_id!r} must be 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return node_id


class IdentityTextError(CryptoError):
    """A signed identity document whose text holds control characters (refused, never printed raw)."""


def _text_fields(message: Message, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(field name, value) of every string in ``message`` and its sub-messages, repeated ones numbered."""
    for fd, value in message.ListFields():
        name = f"{prefix}{fd.name}"
        values = list(value) if fd.is_repeated else [value]
        for i, v in enumerate(values):
            where = f"{name}[{i}]" if fd.is_repeated else name
            if isinstance(v, str):
                yield where, v
            elif fd.type == fd.TYPE_MESSAGE:
                yield from _text_fields(v, f"{where}.")


def check_identity_text(ident: identity_pb2.NodeIdentity) -> None:
    """Refuse an identity whose text fields hold control characters.

    The authority, country, endpoints and key ids are shown to an operator
    (``tamga peer add`` prints the authority right where the fingerprint is
    compared); an escape sequence there could clear the screen or forge the
    line. Such a document is refused, naming the field and the characters
    as escapes.

    Raises:
        IdentityTextError: naming the first such field.
    """
    for where, value in _text_fields(ident):
        found = control_characters(value)
        if found:
            raise IdentityTextError(
                f"identity document of {ident.node_id if _NODE_ID.fullmatch(ident.node_id) else 'a node'}: "
                f"field {where!r} holds control characters ({', '.join(found[:8])}"
                f"{', ...' if len(found) > 8 else ''}); refused: text in an identity must be printable"
            )


@dataclass(frozen=True, slots=True)
class LocalIdentity:
    """This node: its id, country, authority and private keys.

    ``tls_key`` (PEM) and ``tls_certificate`` (DER, self-signed) are the node's
    TLS key pair; the identity document carries the certificate for peers to pin.
    """

    node_id: str
    country: str
    authority: str
    signing_key: SigningKey
    encryption_key: EncryptionKey
    tls_key: bytes = field(default=b"", repr=False)
    tls_certificate: bytes = b""

    def identity_document(self, endpoints: Iterable[str], issued_at: float) -> identity_pb2.SignedIdentity:
        """The signed public identity that peers add (``tamga identity export``)."""
        ident = identity_pb2.NodeIdentity(
            node_id=self.node_id,
            country=self.country,
            authority=self.authority,
            endpoints=list(endpoints),
            signing_key=identity_pb2.PublicKey(key_id=self.signing_key.key_id, public_key=self.signing_key.public.raw),
            encryption_key=identity_pb2.PublicKey(
                key_id=self.encryption_key.key_id, public_key=self.encryption_key.public.raw
            ),
            protocol_versions=list(SUPPORTED_PROTOCOL_VERSIONS),
            crypto_profiles=list(SUPPORTED_CRYPTO_PROFILES),
            tls_certificate=self.tls_certificate,
        )
        ident.issued_at.FromNanoseconds(to_nanos(issued_at))
        body = ident.SerializeToString()
        return identity_pb2.SignedIdentity(identity=body, signature=self.signing_key.sign(IDENTITY_PURPOSE, body))


@dataclass(slots=True)
class Peer:
    """A peer node as this node knows it: public keys and where to reach it.

    ``tls_certificate`` is the peer's pinned TLS certificate (DER), from its
    signed identity document; empty for identities made before TLS, which
    can be reached only in plaintext mode.
    """

    node_id: str
    country: str
    authority: str
    verify_key: VerifyKey
    encryption_key: EncryptionPublicKey
    endpoints: tuple[str, ...]
    tls_certificate: bytes = b""
    _channels: dict[tuple[bytes, bytes], Channel] = field(default_factory=dict, compare=False, repr=False)

    def channel(self, local: LocalIdentity) -> Channel:
        """The Box channel between our encryption key and the peer's.

        Cached per pair of keys, so a rotated key on either side gets its own channel.
        """
        key = (local.encryption_key.public.raw, self.encryption_key.raw)
        channel = self._channels.get(key)
        if channel is None:
            channel = self._channels[key] = local.encryption_key.channel(self.encryption_key)
        return channel

    @property
    def fingerprint(self) -> str:
        return self.verify_key.fingerprint


def read_identity(signed: identity_pb2.SignedIdentity) -> Peer:
    """Check a peer's signed identity document and return the peer.

    The document must be signed by the identity key it names; that signature
    binds the encryption key to the identity.

    A document whose text fields (authority, country, endpoints, key ids,
    any string) hold control characters is refused: they would reach an
    operator's terminal.

    Raises:
        CryptoError: the document is malformed or its signature does not verify.
        IdentityTextError: (a CryptoError) a text field holds control characters.
    """
    try:
        ident = identity_pb2.NodeIdentity.FromString(signed.identity)
    except DecodeError as exc:
        raise CryptoError("identity document does not parse") from exc
    try:
        check_node_id(ident.node_id)
        verify_key = VerifyKey(ident.signing_key.key_id, ident.signing_key.public_key)
        enc_key = EncryptionPublicKey(ident.encryption_key.key_id, ident.encryption_key.public_key)
    except ValueError as exc:
        raise CryptoError(f"identity document: {exc}") from exc
    verify_key.verify(IDENTITY_PURPOSE, signed.signature, signed.identity)
    check_identity_text(ident)
    return Peer(
        node_id=ident.node_id,
        country=ident.country,
        authority=ident.authority,
        verify_key=verify_key,
        encryption_key=enc_key,
        endpoints=tuple(ident.endpoints),
        tls_certificate=ident.tls_certificate,
    )


class PeerDirectory:
    """The peers this node exchanges with, by node id."""

    def __init__(self, peers: Iterable[Peer] = ()) -> None:
        self._peers: dict[str, Peer] = {}
        for peer in peers:
            self.add(peer)

    def add(self, peer: Peer) -> None:
        self._peers[peer.node_id] = peer

    def get(self, node_id: str) -> Peer | None:
        return self._peers.get(node_id)

    def by_country(self, country: str) -> list[Peer]:
        return [p for p in self._peers.values() if p.country == country]

    def __iter__(self) -> Iterator[Peer]:
        return iter(sorted(self._peers.values(), key=lambda p: p.node_id))

    def __len__(self) -> int:
        return len(self._peers)

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._peers
