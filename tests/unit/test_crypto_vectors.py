"""Known-answer vectors: fixed seeds, fixed nonce, salt and clock, exact bytes.

Other implementations of the Tamga wire format can compare against these. Any
change to key derivation, signature framing, header encoding, the envelope
layout or the digest rule changes a constant below and fails here.

Where possible each vector is also checked without going through ``tamga``:
with raw PyNaCl calls over the framing documented in envelope.proto, with
hashlib, and with small pure-Python references of X25519 (RFC 7748) and
Ed25519 (RFC 8032), which are first checked against the RFCs' own vectors.
"""

from __future__ import annotations

import hashlib

import nacl.bindings
import nacl.public
import nacl.signing
from tamga.crypto import (
    CRYPTO_PROFILE_V1,
    EncryptionKey,
    EncryptionPublicKey,
    SigningKey,
    VerifyKey,
    digest,
    fingerprint,
)
from tamga.protocol import (
    ENVELOPE_PURPOSE,
    RECEIPT_PURPOSE,
    LocalIdentity,
    Opened,
    PeerDirectory,
    check_receipts,
    envelope_digest,
    open_envelope,
    read_identity,
    seal,
    sign_receipts,
)
from tamga.protocol._identity import IDENTITY_PURPOSE
from tamga.v1 import common_pb2, envelope_pb2, identity_pb2, records_pb2

# -- fixed inputs --------------------------------------------------------------

KZ_ED25519_SEED = bytes(range(0, 32))
KZ_X25519_SEED = bytes(range(32, 64))
UZ_ED25519_SEED = bytes(range(64, 96))
UZ_X25519_SEED = bytes(range(96, 128))
NONCE = bytes(range(128, 152))  # 24 bytes
SALT = bytes(range(152, 168))  # 16 bytes
NOW = 1_700_000_000.5  # exact in binary floating point: created_at = 1700000000 s + 500000000 ns
ISSUED_AT = 1_700_000_000.0
RECEIPTS_AT = 1_700_000_001.0
MESSAGE_ID = "00000000-0000-4000-8000-000000000001"

# -- expected outputs (computed once with the code, then frozen) ---------------

KZ_ED25519_PUBLIC = "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
KZ_X25519_PUBLIC = "358072d6365880d1aeea329adf9121383851ed21a28e3b75e965d0d2cd166254"
UZ_ED25519_PUBLIC = "2543b92ff1095511476adc8369db6ddc933665a11978dda1404ee1066ca9559d"
UZ_X25519_PUBLIC = "675dd574ed7789310b3d2e7681f3790b466c773b1521fecf36577958371ea52f"
KZ_FINGERPRINT = "5647 5aa7 5463 474c 0285 df5d bf2b cab7 3da6 5135"
UZ_FINGERPRINT = "0339 6219 237f 75a6 4f12 aeb7 f397 23ab f400 b160"

# SigningKey.from_seed(KZ_ED25519_SEED).sign("tamga/v1/kat", b"hello", b"")
KAT_SIGNATURE = (
    "ccd21f886809475a598da621d46fef982b5d1228f9fc86e1b5b4022a278946c9"
    "dc4dfcc1c93578c2fd854e69dfc094754b992375acdecacbf80a014160cd7105"
)
# digest(b"a", b"bc")
KAT_DIGEST = "3fafa1cf2f19a7c1129beb20cf0983f73a489a221fc0dd2f16d1be292d089205"

RECORD = "0a0f0a056b61742d3112024b5a1a02555a5a0708015a034b4154"
ENVELOPE_HEADER = (
    "0801122774616d67612d656432353531392d7832353531392d7873616c73613230706f6c7931333035"
    "2d311a024b5a2202555a2a2430303030303030302d303030302d343030302d383030302d3030303030"
    "30303030303031320c0880e2cfaa061080cab5ee013a09656432353531393a3142087832353531393a"
    "314a087832353531393a315215636f6e746163745f706f696e745f6d657373616765"
)
ENVELOPE_BODY = (
    "808182838485868788898a8b8c8d8e8f909192939495969708a43065fec46f8e400d605345164c887f"
    "a3356e7011ff8cffe5d6d94f96878a626d5fb979b681e5327514a91dedc212577cc17be1845f6f35e5"
)
ENVELOPE_SIGNATURE = (
    "99e8867d811a41bd7dc359e10c50e981cf3a1f66947d9c97fb1d8cd59e561ac9"
    "d6e145b8b63afed55f26af471a42dfd00688c7d1abb35df0acf57c29b59d9d0e"
)
ENVELOPE_DIGEST = "146462bd4abad078a49ecd3ba09d92616d80a1024f8c3602ee86c3dfc5d5b1b7"
ENVELOPE = "0a9d01" + ENVELOPE_HEADER + "1252" + ENVELOPE_BODY + "1a40" + ENVELOPE_SIGNATURE

KZ_IDENTITY_DOCUMENT = (
    "0ac3010a024b5a12024b5a1a17537461746520526576656e756520436f6d6d6974746565220f6b7a2e"
    "6578616d706c653a373434332a2d0a09656432353531393a31122003a107bff3ce10be1d70dd18e74b"
    "c09967e4d6309ba50d5f1ddc8664125531b8322c0a087832353531393a311220358072d6365880d1ae"
    "ea329adf9121383851ed21a28e3b75e965d0d2cd1662543a0101422774616d67612d65643235353139"
    "2d7832353531392d7873616c73613230706f6c79313330352d314a060880e2cfaa061240e3b12c9d87"
    "d066f1cea0b5827928144ad2253cc4b15c7b857d304d8363c08f3d14547d9aec9dfd54133c714b2370"
    "eea7f0ae2c11bac04f2f92b8fa626ec02e03"
)
UZ_RECEIPT_BATCH = (
    "0a7208011202555a1a024b5a220762617463682d312a060881e2cfaa063209656432353531393a313a"
    "4a0a2430303030303030302d303030302d343030302d383030302d3030303030303030303030311220"
    "146462bd4abad078a49ecd3ba09d92616d80a1024f8c3602ee86c3dfc5d5b1b71801124055"
    "43e8a6ef570b8c897d91810f41db785c99146a596bf82a1991c6e7b2f33a74976d33c89efd47ac7562"
    "479728fb73da1b2de9dcccdbe70c52ca0331286f3708"
)


# -- independent references ----------------------------------------------------


def frame(purpose: str, *parts: bytes) -> bytes:
    """The signed bytes as envelope.proto documents them, written out again here."""
    out = purpose.encode("ascii") + b"\x00"
    for part in parts:
        out += len(part).to_bytes(8, "big") + part
    return out


def sha256_length_prefixed(*parts: bytes) -> bytes:
    return hashlib.sha256(b"".join(len(p).to_bytes(8, "big") + p for p in parts)).digest()


_P = 2**255 - 19


def x25519_reference(scalar: bytes, u: bytes) -> bytes:
    """RFC 7748 section 5, Montgomery ladder, in plain integers."""
    k = bytearray(scalar)
    k[0] &= 248
    k[31] &= 127
    k[31] |= 64
    k_int = int.from_bytes(k, "little")
    x1 = int.from_bytes(u, "little") & ((1 << 255) - 1)
    x2, z2, x3, z3, swap = 1, 0, x1, 1, 0
    for t in reversed(range(255)):
        bit = (k_int >> t) & 1
        swap ^= bit
        if swap:
            x2, x3, z2, z3 = x3, x2, z3, z2
        swap = bit
        a, b = x2 + z2, x2 - z2
        aa, bb = a * a % _P, b * b % _P
        e = aa - bb
        c, d = x3 + z3, x3 - z3
        da, cb = d * a % _P, c * b % _P
        x3, z3 = (da + cb) ** 2 % _P, x1 * (da - cb) ** 2 % _P
        x2, z2 = aa * bb % _P, e * (aa + 121665 * e) % _P
    if swap:
        x2, z2 = x3, z3
    return (x2 * pow(z2, _P - 2, _P) % _P).to_bytes(32, "little")


_Q = 2**252 + 27742317777372353535851937790883648493
_D = -121665 * pow(121666, _P - 2, _P) % _P


def _ed_add(p1, p2):
    a = (p1[1] - p1[0]) * (p2[1] - p2[0]) % _P
    b = (p1[1] + p1[0]) * (p2[1] + p2[0]) % _P
    c = 2 * p1[3] * p2[3] * _D % _P
    d = 2 * p1[2] * p2[2] % _P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % _P, g * h % _P, f * g % _P, e * h % _P)


def _ed_mul(s: int, point):
    acc = (0, 1, 1, 0)
    while s:
        if s & 1:
            acc = _ed_add(acc, point)
        point = _ed_add(point, point)
        s >>= 1
    return acc


def _ed_encode(point) -> bytes:
    zinv = pow(point[2], _P - 2, _P)
    x, y = point[0] * zinv % _P, point[1] * zinv % _P
    return (y | ((x & 1) << 255)).to_bytes(32, "little")


def _ed_base():
    y = 4 * pow(5, _P - 2, _P) % _P
    x2 = (y * y - 1) * pow(_D * y * y + 1, _P - 2, _P) % _P
    x = pow(x2, (_P + 3) // 8, _P)
    if (x * x - x2) % _P:
        x = x * pow(2, (_P - 1) // 4, _P) % _P
    if x & 1:
        x = _P - x
    return (x, y, 1, x * y % _P)


_B = _ed_base()


def ed25519_reference(seed: bytes, message: bytes) -> tuple[bytes, bytes]:
    """RFC 8032 section 5.1.6 signing in plain integers: (public key, signature)."""
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    public = _ed_encode(_ed_mul(a, _B))
    r = int.from_bytes(hashlib.sha512(h[32:] + message).digest(), "little") % _Q
    big_r = _ed_encode(_ed_mul(r, _B))
    k = int.from_bytes(hashlib.sha512(big_r + public + message).digest(), "little") % _Q
    s = (r + k * a) % _Q
    return public, big_r + s.to_bytes(32, "little")


# -- fixtures ------------------------------------------------------------------


def kz() -> LocalIdentity:
    return LocalIdentity(
        "KZ",
        "KZ",
        "State Revenue Committee",
        SigningKey.from_seed(KZ_ED25519_SEED),
        EncryptionKey.from_seed(KZ_X25519_SEED),
    )


def uz() -> LocalIdentity:
    return LocalIdentity(
        "UZ",
        "UZ",
        "Customs Committee",
        SigningKey.from_seed(UZ_ED25519_SEED),
        EncryptionKey.from_seed(UZ_X25519_SEED),
    )


def kat_record() -> records_pb2.Record:
    return records_pb2.Record(
        meta=common_pb2.RecordMeta(record_id="kat-1", sender_country="KZ", receiver_countries=["UZ"]),
        contact_point_message=records_pb2.ContactPointMessage(
            kind=records_pb2.CONTACT_POINT_KIND_REQUEST, subject="KAT"
        ),
    )


def kat_seal():
    uz_peer = read_identity(uz().identity_document(["uz.example:7443"], ISSUED_AT))
    return seal(
        local=kz(),
        peer=uz_peer,
        record_bytes=kat_record().SerializeToString(),
        record_type="contact_point_message",
        message_id=MESSAGE_ID,
        now=NOW,
        nonce=NONCE,
        salt=SALT,
    )


# -- the references themselves against their RFCs ------------------------------


def test_x25519_reference_matches_rfc7748():
    # RFC 7748 section 6.1, Alice's key pair.
    private = bytes.fromhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
    public = "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"
    assert x25519_reference(private, (9).to_bytes(32, "little")).hex() == public


def test_ed25519_reference_matches_rfc8032():
    # RFC 8032 section 7.1, TEST 1 (empty message).
    seed = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    public, signature = ed25519_reference(seed, b"")
    assert public.hex() == "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    assert signature.hex() == (
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
        "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )


# -- keys ----------------------------------------------------------------------


def test_public_keys_from_fixed_seeds():
    a, b = kz(), uz()
    assert a.signing_key.public.raw.hex() == KZ_ED25519_PUBLIC
    assert a.encryption_key.public.raw.hex() == KZ_X25519_PUBLIC
    assert b.signing_key.public.raw.hex() == UZ_ED25519_PUBLIC
    assert b.encryption_key.public.raw.hex() == UZ_X25519_PUBLIC
    assert a.signing_key.key_id == "ed25519:1"
    assert a.encryption_key.key_id == "x25519:1"
    assert a.signing_key.seed == KZ_ED25519_SEED
    assert a.encryption_key.seed == KZ_X25519_SEED


def test_public_keys_independently():
    base = (9).to_bytes(32, "little")
    for seed, expected in ((KZ_X25519_SEED, KZ_X25519_PUBLIC), (UZ_X25519_SEED, UZ_X25519_PUBLIC)):
        assert x25519_reference(seed, base).hex() == expected
        assert bytes(nacl.public.PrivateKey(seed).public_key).hex() == expected
    for seed, expected in ((KZ_ED25519_SEED, KZ_ED25519_PUBLIC), (UZ_ED25519_SEED, UZ_ED25519_PUBLIC)):
        assert ed25519_reference(seed, b"")[0].hex() == expected
        assert bytes(nacl.signing.SigningKey(seed).verify_key).hex() == expected


def test_fingerprints():
    assert kz().signing_key.public.fingerprint == KZ_FINGERPRINT
    assert uz().signing_key.public.fingerprint == UZ_FINGERPRINT
    assert fingerprint(bytes.fromhex(KZ_ED25519_PUBLIC)) == KZ_FINGERPRINT
    # Independently: first 160 bits of SHA-256 of the raw key, in groups of 4 hex digits.
    h = hashlib.sha256(bytes.fromhex(KZ_ED25519_PUBLIC)).hexdigest()[:40]
    assert KZ_FINGERPRINT == " ".join(h[i : i + 4] for i in range(0, 40, 4))
    assert len(KZ_FINGERPRINT.split()) == 10


def test_digest_rule():
    assert digest(b"a", b"bc").hex() == KAT_DIGEST
    assert sha256_length_prefixed(b"a", b"bc").hex() == KAT_DIGEST
    # The length prefixes stop parts from shifting into each other.
    assert digest(b"ab", b"c") != digest(b"a", b"bc")
    assert digest(b"abc") != digest(b"abc", b"")


# -- signatures ----------------------------------------------------------------


def test_signature_known_answer():
    sig = kz().signing_key.sign("tamga/v1/kat", b"hello", b"")
    assert sig.hex() == KAT_SIGNATURE


def test_signature_framing_independently():
    signed = frame("tamga/v1/kat", b"hello", b"")
    assert signed == (b"tamga/v1/kat\x00" + b"\x00" * 7 + b"\x05hello" + b"\x00" * 8)
    sig = bytes.fromhex(KAT_SIGNATURE)
    # Raw libsodium over the documented framing: Ed25519 is deterministic.
    assert nacl.signing.SigningKey(KZ_ED25519_SEED).sign(signed).signature == sig
    nacl.signing.VerifyKey(bytes.fromhex(KZ_ED25519_PUBLIC)).verify(signed, sig)
    # And without libsodium at all.
    assert ed25519_reference(KZ_ED25519_SEED, signed)[1] == sig
    # Our verifier accepts it.
    VerifyKey("ed25519:1", bytes.fromhex(KZ_ED25519_PUBLIC)).verify("tamga/v1/kat", sig, b"hello", b"")


# -- the sealed envelope -------------------------------------------------------


def test_record_bytes():
    assert kat_record().SerializeToString().hex() == RECORD


def test_seal_is_deterministic_given_nonce_salt_and_clock():
    assert kat_seal() == kat_seal()


def test_sealed_envelope_known_answer():
    sealed = kat_seal()
    env = envelope_pb2.Envelope.FromString(sealed.envelope)
    assert env.header.hex() == ENVELOPE_HEADER
    assert env.body.hex() == ENVELOPE_BODY
    assert env.signature.hex() == ENVELOPE_SIGNATURE
    assert sealed.digest.hex() == ENVELOPE_DIGEST
    assert envelope_digest(env).hex() == ENVELOPE_DIGEST
    assert sealed.envelope.hex() == ENVELOPE
    assert sealed.message_id == MESSAGE_ID
    assert sealed.recipient == "UZ"
    assert sealed.record_type == "contact_point_message"


def test_envelope_header_fields():
    header = envelope_pb2.EnvelopeHeader.FromString(bytes.fromhex(ENVELOPE_HEADER))
    assert header.protocol_version == 1
    assert header.crypto_profile == CRYPTO_PROFILE_V1 == "tamga-ed25519-x25519-xsalsa20poly1305-1"
    assert header.sender == "KZ"
    assert header.recipient == "UZ"
    assert header.message_id == MESSAGE_ID
    assert header.created_at.seconds == 1_700_000_000
    assert header.created_at.nanos == 500_000_000
    assert header.sender_signing_key_id == "ed25519:1"
    assert header.sender_encryption_key_id == "x25519:1"
    assert header.recipient_encryption_key_id == "x25519:1"
    assert header.record_type == "contact_point_message"


def test_envelope_digest_independently():
    header, body, sig = (bytes.fromhex(h) for h in (ENVELOPE_HEADER, ENVELOPE_BODY, ENVELOPE_SIGNATURE))
    assert sha256_length_prefixed(header, body, sig).hex() == ENVELOPE_DIGEST


def test_envelope_body_is_nacl_box_of_salt_and_record():
    body = bytes.fromhex(ENVELOPE_BODY)
    plaintext = SALT + bytes.fromhex(RECORD)
    assert body[:24] == NONCE
    assert len(body) == 24 + 16 + len(plaintext)
    # The recipient opens it with raw NaCl Box: its X25519 key, the sender's public key.
    box = nacl.public.Box(
        nacl.public.PrivateKey(UZ_X25519_SEED), nacl.public.PublicKey(bytes.fromhex(KZ_X25519_PUBLIC))
    )
    assert box.decrypt(body) == plaintext
    assert nacl.bindings.crypto_box_open(body[24:], NONCE, bytes.fromhex(KZ_X25519_PUBLIC), UZ_X25519_SEED) == plaintext
    # And the sender makes exactly these bytes with raw NaCl Box.
    sender_box = nacl.public.Box(
        nacl.public.PrivateKey(KZ_X25519_SEED), nacl.public.PublicKey(bytes.fromhex(UZ_X25519_PUBLIC))
    )
    assert bytes(sender_box.encrypt(plaintext, NONCE)) == body
    record = records_pb2.Record.FromString(plaintext[16:])
    assert record == kat_record()


def test_envelope_signature_independently():
    header = bytes.fromhex(ENVELOPE_HEADER)
    plaintext = SALT + bytes.fromhex(RECORD)
    sig = bytes.fromhex(ENVELOPE_SIGNATURE)
    signed = frame("tamga/v1/envelope", header, plaintext)
    assert ENVELOPE_PURPOSE == "tamga/v1/envelope"
    nacl.signing.VerifyKey(bytes.fromhex(KZ_ED25519_PUBLIC)).verify(signed, sig)
    assert ed25519_reference(KZ_ED25519_SEED, signed)[1] == sig


def test_known_envelope_opens():
    peers = PeerDirectory([read_identity(kz().identity_document(["kz.example:7443"], ISSUED_AT))])
    result = open_envelope(envelope_pb2.Envelope.FromString(bytes.fromhex(ENVELOPE)), local=uz(), peers=peers)
    assert isinstance(result, Opened), result
    assert result.record == kat_record()
    assert result.digest.hex() == ENVELOPE_DIGEST


# -- identity document and receipts -------------------------------------------


def test_identity_document_known_answer():
    doc = kz().identity_document(["kz.example:7443"], ISSUED_AT)
    assert doc.SerializeToString().hex() == KZ_IDENTITY_DOCUMENT


def test_identity_document_independently():
    doc = identity_pb2.SignedIdentity.FromString(bytes.fromhex(KZ_IDENTITY_DOCUMENT))
    ident = identity_pb2.NodeIdentity.FromString(doc.identity)
    assert ident.node_id == "KZ"
    assert list(ident.endpoints) == ["kz.example:7443"]
    assert ident.signing_key.key_id == "ed25519:1"
    assert ident.signing_key.public_key.hex() == KZ_ED25519_PUBLIC
    assert ident.encryption_key.key_id == "x25519:1"
    assert ident.encryption_key.public_key.hex() == KZ_X25519_PUBLIC
    assert list(ident.protocol_versions) == [1]
    assert list(ident.crypto_profiles) == [CRYPTO_PROFILE_V1]
    assert ident.issued_at.seconds == 1_700_000_000
    assert IDENTITY_PURPOSE == "tamga/v1/identity"
    nacl.signing.VerifyKey(bytes.fromhex(KZ_ED25519_PUBLIC)).verify(
        frame("tamga/v1/identity", doc.identity), doc.signature
    )
    peer = read_identity(doc)
    assert peer.fingerprint == KZ_FINGERPRINT
    assert peer.encryption_key == EncryptionPublicKey("x25519:1", bytes.fromhex(KZ_X25519_PUBLIC))


def test_receipt_batch_known_answer():
    receipt = envelope_pb2.Receipt(
        message_id=MESSAGE_ID,
        envelope_digest=bytes.fromhex(ENVELOPE_DIGEST),
        status=envelope_pb2.RECEIPT_STATUS_ACCEPTED,
    )
    signed = sign_receipts(local=uz(), sender="KZ", batch_id="batch-1", receipts=[receipt], now=RECEIPTS_AT)
    assert signed.SerializeToString().hex() == UZ_RECEIPT_BATCH


def test_receipt_batch_independently():
    signed = envelope_pb2.SignedReceiptBatch.FromString(bytes.fromhex(UZ_RECEIPT_BATCH))
    assert RECEIPT_PURPOSE == "tamga/v1/receipts"
    nacl.signing.VerifyKey(bytes.fromhex(UZ_ED25519_PUBLIC)).verify(
        frame("tamga/v1/receipts", signed.receipt_batch), signed.signature
    )
    batch = envelope_pb2.ReceiptBatch.FromString(signed.receipt_batch)
    assert (batch.protocol_version, batch.receiver, batch.sender, batch.batch_id) == (1, "UZ", "KZ", "batch-1")
    assert batch.receiver_signing_key_id == "ed25519:1"
    uz_peer = read_identity(uz().identity_document(["uz.example:7443"], ISSUED_AT))
    outcomes = check_receipts(
        signed, local=kz(), peer=uz_peer, batch_id="batch-1", sent={MESSAGE_ID: bytes.fromhex(ENVELOPE_DIGEST)}
    )
    assert [(o.message_id, o.delivered) for o in outcomes] == [(MESSAGE_ID, True)]
