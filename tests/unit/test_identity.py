"""Signed identity documents, node ids, and keys that never show themselves."""

from __future__ import annotations

import base64

import pytest
from tamga.crypto import CRYPTO_PROFILE_V1, EncryptionKey, SigningKey
from tamga.errors import CryptoError
from tamga.protocol import (
    SUPPORTED_PROTOCOL_VERSIONS,
    LocalIdentity,
    Peer,
    PeerDirectory,
    check_node_id,
    read_identity,
)
from tamga.protocol._identity import IDENTITY_PURPOSE, IdentityTextError
from tamga.v1 import identity_pb2

ISSUED_AT = 1_700_000_000.5  # exact: int(ISSUED_AT * 1e9) has no rounding error
ENDPOINTS = ["kz-a.example:7443", "kz-b.example:7443"]


def make_local(node_id: str = "KZ", **kwargs) -> LocalIdentity:
    return LocalIdentity(
        node_id,
        kwargs.get("country", "KZ"),
        kwargs.get("authority", "State Revenue Committee"),
        kwargs.get("signing_key") or SigningKey.generate(),
        kwargs.get("encryption_key") or EncryptionKey.generate(),
    )


@pytest.fixture
def kz() -> LocalIdentity:
    return make_local()


@pytest.fixture
def doc(kz) -> identity_pb2.SignedIdentity:
    return kz.identity_document(ENDPOINTS, ISSUED_AT)


def flip(data: bytes, position: int, mask: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= mask
    return bytes(changed)


# -- round trip ----------------------------------------------------------------


def test_identity_document_round_trip(kz, doc):
    # As exported to a file and read back by a peer.
    peer = read_identity(identity_pb2.SignedIdentity.FromString(doc.SerializeToString()))
    assert isinstance(peer, Peer)
    assert peer.node_id == "KZ"
    assert peer.country == "KZ"
    assert peer.authority == "State Revenue Committee"
    assert peer.endpoints == tuple(ENDPOINTS)
    assert peer.verify_key == kz.signing_key.public
    assert peer.encryption_key == kz.encryption_key.public
    assert peer.fingerprint == kz.signing_key.public.fingerprint


def test_identity_document_contents(kz, doc):
    ident = identity_pb2.NodeIdentity.FromString(doc.identity)
    assert ident.signing_key.key_id == "ed25519:1"
    assert ident.signing_key.public_key == kz.signing_key.public.raw
    assert ident.encryption_key.key_id == "x25519:1"
    assert ident.encryption_key.public_key == kz.encryption_key.public.raw
    assert list(ident.protocol_versions) == list(SUPPORTED_PROTOCOL_VERSIONS)
    assert list(ident.crypto_profiles) == [CRYPTO_PROFILE_V1]
    assert (ident.issued_at.seconds, ident.issued_at.nanos) == (1_700_000_000, 500_000_000)
    kz.signing_key.public.verify(IDENTITY_PURPOSE, doc.signature, doc.identity)
    # No private key material in the document.
    blob = doc.SerializeToString()
    assert kz.signing_key.seed not in blob
    assert kz.encryption_key.seed not in blob


def test_key_versions_travel_in_the_document():
    local = make_local(signing_key=SigningKey.generate(version=3), encryption_key=EncryptionKey.generate(version=5))
    peer = read_identity(local.identity_document([], ISSUED_AT))
    assert peer.verify_key.key_id == "ed25519:3"
    assert peer.encryption_key.key_id == "x25519:5"
    assert peer.endpoints == ()


def test_peer_directory():
    kz, uz1, uz2 = make_local("KZ"), make_local("UZ-1", country="UZ"), make_local("UZ-2", country="UZ")
    peers = PeerDirectory(read_identity(x.identity_document([], ISSUED_AT)) for x in (uz2, kz, uz1))
    assert len(peers) == 3
    assert "KZ" in peers and "TJ" not in peers
    assert peers.get("TJ") is None
    assert peers.get("KZ").verify_key == kz.signing_key.public
    assert [p.node_id for p in peers] == ["KZ", "UZ-1", "UZ-2"]
    assert sorted(p.node_id for p in peers.by_country("UZ")) == ["UZ-1", "UZ-2"]


# -- tampering -----------------------------------------------------------------


def test_every_flipped_identity_bit_is_refused(doc):
    for position in range(len(doc.identity)):
        for bit in range(8):
            tampered = identity_pb2.SignedIdentity(
                identity=flip(doc.identity, position, 1 << bit), signature=doc.signature
            )
            with pytest.raises(CryptoError):
                read_identity(tampered)


def test_every_flipped_signature_bit_is_refused(doc):
    for position in range(len(doc.signature)):
        for bit in range(8):
            tampered = identity_pb2.SignedIdentity(
                identity=doc.identity, signature=flip(doc.signature, position, 1 << bit)
            )
            with pytest.raises(CryptoError):
                read_identity(tampered)


@pytest.mark.parametrize("signature", [b"", b"\x00" * 63, b"\x00" * 64, b"\x00" * 65])
def test_bad_signature_bytes(doc, signature):
    with pytest.raises(CryptoError):
        read_identity(identity_pb2.SignedIdentity(identity=doc.identity, signature=signature))


def test_swapped_encryption_key_is_refused(doc):
    ident = identity_pb2.NodeIdentity.FromString(doc.identity)
    ident.encryption_key.public_key = EncryptionKey.generate().public.raw
    swapped = identity_pb2.SignedIdentity(identity=ident.SerializeToString(), signature=doc.signature)
    with pytest.raises(CryptoError):
        read_identity(swapped)


def test_changed_endpoint_is_refused(doc):
    ident = identity_pb2.NodeIdentity.FromString(doc.identity)
    ident.endpoints[0] = "attacker.example:7443"
    changed = identity_pb2.SignedIdentity(identity=ident.SerializeToString(), signature=doc.signature)
    with pytest.raises(CryptoError):
        read_identity(changed)


def test_signed_by_another_key_than_the_one_it_names(kz, doc):
    other = SigningKey.generate()
    resigned = identity_pb2.SignedIdentity(identity=doc.identity, signature=other.sign(IDENTITY_PURPOSE, doc.identity))
    with pytest.raises(CryptoError):
        read_identity(resigned)


def test_a_self_consistent_forgery_has_another_fingerprint(kz):
    # read_identity only checks self-consistency: a forger can make a valid document
    # under KZ's name with their own keys. What betrays it is the fingerprint, which
    # authorities compare out of band.
    forged = make_local("KZ")
    peer = read_identity(forged.identity_document(ENDPOINTS, ISSUED_AT))
    assert peer.node_id == "KZ"
    assert peer.fingerprint != kz.signing_key.public.fingerprint


def test_identity_signature_is_domain_separated(kz):
    ident = identity_pb2.NodeIdentity.FromString(kz.identity_document([], ISSUED_AT).identity)
    body = ident.SerializeToString()
    for purpose in ("tamga/v1/envelope", "tamga/v1/receipts", ""):
        signed = identity_pb2.SignedIdentity(identity=body, signature=kz.signing_key.sign(purpose, body))
        with pytest.raises(CryptoError):
            read_identity(signed)


def test_garbage_identity_bytes(doc):
    with pytest.raises(CryptoError):
        read_identity(identity_pb2.SignedIdentity(identity=b"\xff\xff\xff", signature=doc.signature))


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("signing_key.key_id", "rsa:1"),
        ("signing_key.key_id", "x25519:1"),
        ("signing_key.public_key", b"\x01" * 31),
        ("encryption_key.key_id", "ed25519:1"),
        ("encryption_key.public_key", b"\x01" * 33),
        ("node_id", "bad id"),
        ("node_id", ""),
    ],
)
def test_properly_signed_but_invalid_document(kz, field, value):
    ident = identity_pb2.NodeIdentity.FromString(kz.identity_document([], ISSUED_AT).identity)
    target = ident
    *path, last = field.split(".")
    for name in path:
        target = getattr(target, name)
    setattr(target, last, value)
    body = ident.SerializeToString()
    signed = identity_pb2.SignedIdentity(identity=body, signature=kz.signing_key.sign(IDENTITY_PURPOSE, body))
    with pytest.raises(CryptoError):
        read_identity(signed)


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("authority", "\x1b[2J\x1b[HState Revenue Committee", "\\x1b"),
        ("authority", "State Revenue \u202eCommittee", "\\u202e"),
        ("country", "K\x9bZ", "\\x9b"),
        ("endpoints", ["kz.example:7443", "kz.example:7443\r\nforged line"], "\\x0d"),
        ("signing_key.key_id", "ed25519:1\x1b[0m", "\\x1b"),
        ("crypto_profiles", ["tamga-v1\x07"], "\\x07"),
    ],
)
def test_properly_signed_document_with_control_characters_in_its_text_is_refused(kz, field, value, shown):
    ident = identity_pb2.NodeIdentity.FromString(kz.identity_document(ENDPOINTS, ISSUED_AT).identity)
    target = ident
    *path, last = field.split(".")
    for name in path:
        target = getattr(target, name)
    if isinstance(value, list):
        del getattr(target, last)[:]
        getattr(target, last).extend(value)
    else:
        setattr(target, last, value)
    body = ident.SerializeToString()
    signed = identity_pb2.SignedIdentity(identity=body, signature=kz.signing_key.sign(IDENTITY_PURPOSE, body))
    with pytest.raises(IdentityTextError) as err:
        read_identity(signed)
    message = str(err.value)
    name = field if not isinstance(value, list) else f"{field}[{len(value) - 1}]"
    assert repr(name) in message and shown in message, message
    assert message.isprintable(), "the refusal itself must not carry the characters"


def test_other_scripts_and_zero_width_joiners_are_not_control_characters():
    # Persian (with a zero-width non-joiner), Russian, Chinese.
    text = "\u06af\u0645\u0631\u06a9 \u200c\u0627\u06cc\u0631\u0627\u0646 \u0413\u0422\u041a \u6d77\u5173"
    peer = read_identity(make_local(authority=text).identity_document(ENDPOINTS, ISSUED_AT))
    assert peer.authority == text


# -- node ids ------------------------------------------------------------------


@pytest.mark.parametrize("node_id", ["KZ", "kz", "0", "a", "kz-node-1", "node.kz_1", "A" * 63, "9-._"])
def test_valid_node_ids(node_id):
    assert check_node_id(node_id) == node_id


@pytest.mark.parametrize(
    "node_id",
    [
        "",
        "-KZ",
        ".KZ",
        "_KZ",
        "A" * 64,
        "KZ node",
        " KZ",
        "KZ/1",
        "../KZ",
        "KZ:1",
        "KZ\t",
        "\nKZ",
        "K\nZ",
        "\u041a\u0417",  # Cyrillic letters that look like "KZ"
        "KZ\x00",
    ],
)
def test_invalid_node_ids(node_id):
    with pytest.raises(ValueError):
        check_node_id(node_id)


def test_node_id_with_trailing_newline_is_invalid():
    with pytest.raises(ValueError):
        check_node_id("KZ\n")


# -- private keys never show themselves ----------------------------------------


@pytest.mark.parametrize("make_key", [SigningKey.generate, EncryptionKey.generate])
def test_private_key_repr_hides_the_key(make_key):
    key = make_key(version=2)
    seed = key.seed
    assert len(seed) == 32
    secrets = {
        seed.hex(),
        seed.hex().upper(),
        base64.b64encode(seed).decode(),
        base64.urlsafe_b64encode(seed).decode().rstrip("="),
        repr(seed),
        seed.hex()[:16],
        base64.b64encode(seed).decode()[:16],
    }
    local = make_local(
        signing_key=key if isinstance(key, SigningKey) else None,
        encryption_key=key if isinstance(key, EncryptionKey) else None,
    )
    for text in (repr(key), str(key), f"{key}", f"{key!r}", repr(local), str([key])):
        for secret in secrets:
            assert secret not in text, text
    assert key.key_id in repr(key)


def test_signing_key_repr_shows_the_fingerprint():
    key = SigningKey.generate()
    assert key.public.fingerprint in repr(key)


def test_an_identity_file_over_the_size_bound_is_refused_before_it_is_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Another authority writes identity files: one of megabytes (or nested without end) is refused unparsed."""
    import json

    from tamga.errors import ConfigError
    from tamga.home import MAX_IDENTITY_FILE_CHARS, parse_identity_file

    parsed: list[int] = []
    real_loads = json.loads
    monkeypatch.setattr(json, "loads", lambda text, *a, **k: parsed.append(len(text)) or real_loads(text, *a, **k))
    with pytest.raises(ConfigError) as err:
        parse_identity_file("[" * (MAX_IDENTITY_FILE_CHARS + 1), "UZ.identity.json")
    assert "UZ.identity.json: not an identity file" in str(err.value)
    assert f"{MAX_IDENTITY_FILE_CHARS:,}" in str(err.value)
    assert not parsed, "the oversized text was handed to the JSON parser"
