"""Sealing and opening envelopes: round trip, tampering, and every refusal reason."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Callable

import pytest
from google.protobuf.message import DecodeError
from tamga.crypto import EncryptionKey, SigningKey
from tamga.errors import CryptoError
from tamga.protocol import (
    DEFAULT_MAX_ENVELOPE_BYTES,
    ENVELOPE_PURPOSE,
    RECEIPT_PURPOSE,
    LocalIdentity,
    Opened,
    Peer,
    PeerDirectory,
    Refused,
    Sealed,
    envelope_digest,
    open_envelope,
    open_stored,
    read_identity,
    seal,
)
from tamga.v1 import common_pb2, envelope_pb2, records_pb2

R = envelope_pb2.RejectReason
NOW = 1_700_000_000.0
SALT = bytes(range(16))


def make_local(
    node_id: str, *, signing_key: SigningKey | None = None, encryption_key: EncryptionKey | None = None
) -> LocalIdentity:
    return LocalIdentity(
        node_id,
        node_id[:2],
        f"{node_id} customs",
        signing_key or SigningKey.generate(),
        encryption_key or EncryptionKey.generate(),
    )


def peer_of(local: LocalIdentity) -> Peer:
    """A fresh Peer, as another node would read it from the identity document."""
    return read_identity(local.identity_document([f"{local.node_id.lower()}.example:7443"], NOW))


def contact_record(subject: str = "Check consignment") -> records_pb2.Record:
    return records_pb2.Record(
        meta=common_pb2.RecordMeta(record_id="r-1", sender_country="KZ", receiver_countries=["UZ"]),
        contact_point_message=records_pb2.ContactPointMessage(
            kind=records_pb2.CONTACT_POINT_KIND_REQUEST, subject=subject
        ),
    )


def declaration_record() -> records_pb2.Record:
    return records_pb2.Record(
        meta=common_pb2.RecordMeta(record_id="r-2", sender_country="KZ", receiver_countries=["UZ"]),
        declaration_snapshot=records_pb2.DeclarationSnapshot(
            declaration_no="10702020/010324/0001234",
            direction=records_pb2.DIRECTION_EXPORT,
            invoice_amount=common_pb2.Money(amount="1250.00", currency="KZT"),
        ),
    )


@pytest.fixture
def kz() -> LocalIdentity:
    return make_local("KZ")


@pytest.fixture
def uz() -> LocalIdentity:
    return make_local("UZ")


@pytest.fixture
def tj() -> LocalIdentity:
    return make_local("TJ")


@pytest.fixture
def uz_peers(kz) -> PeerDirectory:
    """UZ's directory: KZ is its peer."""
    return PeerDirectory([peer_of(kz)])


def seal_record(
    sender: LocalIdentity,
    recipient: LocalIdentity | Peer,
    record: records_pb2.Record,
    record_type: str | None = None,
    **kwargs,
) -> Sealed:
    peer = recipient if isinstance(recipient, Peer) else peer_of(recipient)
    kwargs.setdefault("salt", SALT)
    return seal(
        local=sender,
        peer=peer,
        record_bytes=record.SerializeToString(),
        record_type=record.WhichOneof("body") if record_type is None else record_type,
        message_id=kwargs.pop("message_id", str(uuid.uuid4())),
        now=NOW,
        **kwargs,
    )


def parse(sealed: Sealed) -> envelope_pb2.Envelope:
    return envelope_pb2.Envelope.FromString(sealed.envelope)


def reheader(
    env: envelope_pb2.Envelope,
    mutate: Callable[[envelope_pb2.EnvelopeHeader], None],
    *,
    signer: SigningKey,
    record: records_pb2.Record,
    purpose: str = ENVELOPE_PURPOSE,
) -> envelope_pb2.Envelope:
    """Change header fields, keep the body, and sign properly again.

    Only works for envelopes sealed with ``salt=SALT`` (the plaintext must be known).
    """
    header = envelope_pb2.EnvelopeHeader.FromString(env.header)
    mutate(header)
    header_bytes = header.SerializeToString()
    plaintext = SALT + record.SerializeToString()
    return envelope_pb2.Envelope(
        header=header_bytes, body=env.body, signature=signer.sign(purpose, header_bytes, plaintext)
    )


def flip(data: bytes, position: int, mask: int) -> bytes:
    changed = bytearray(data)
    changed[position] ^= mask
    return bytes(changed)


def assert_refused(result: Opened | Refused, reason: int) -> Refused:
    assert isinstance(result, Refused), f"expected {R.Name(reason)}, got {result!r}"
    assert result.reason == reason, f"expected {R.Name(reason)}, got {result.reason_name}: {result.detail}"
    return result


# -- round trip ----------------------------------------------------------------


@pytest.mark.parametrize("make_record", [contact_record, declaration_record])
def test_seal_then_open_round_trips(kz, uz, uz_peers, make_record):
    record = make_record()
    mid = str(uuid.uuid4())
    sealed = seal_record(kz, uz, record, message_id=mid, salt=None)
    assert sealed.message_id == mid
    assert sealed.recipient == "UZ"
    assert sealed.record_type == record.WhichOneof("body")
    env = parse(sealed)
    assert sealed.digest == envelope_digest(env)

    result = open_envelope(env, local=uz, peers=uz_peers)

    assert isinstance(result, Opened), result
    assert result.record == record
    assert result.sender == "KZ"
    assert result.message_id == mid
    assert result.record_type == record.WhichOneof("body")
    assert result.header.recipient == "UZ"
    assert result.header.created_at.seconds == int(NOW)
    assert result.digest == envelope_digest(env) == sealed.digest


def test_seal_uses_fresh_salt_and_nonce(kz, uz):
    record = contact_record()
    a = parse(seal_record(kz, uz, record, message_id="00000000-0000-4000-8000-000000000000", salt=None))
    b = parse(seal_record(kz, uz, record, message_id="00000000-0000-4000-8000-000000000000", salt=None))
    assert a.header == b.header
    assert a.body[:24] != b.body[:24], "nonce repeated"
    assert a.body != b.body
    assert a.signature != b.signature, "salt not random: signature confirms a guess of the record"


def test_record_is_not_visible_in_the_envelope(kz, uz):
    sealed = seal_record(kz, uz, contact_record(subject="SECRET-SUBJECT-LINE"))
    assert b"SECRET-SUBJECT-LINE" not in sealed.envelope


def test_reheader_helper_without_change_still_opens(kz, uz, uz_peers):
    # The crafted-header tests below rely on this helper producing valid envelopes.
    record = contact_record()
    env = reheader(parse(seal_record(kz, uz, record)), lambda h: None, signer=kz.signing_key, record=record)
    assert isinstance(open_envelope(env, local=uz, peers=uz_peers), Opened)


# -- tampering -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "allowed"),
    [
        (
            "header",
            {
                R.REJECT_REASON_MALFORMED_ENVELOPE,
                R.REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION,
                R.REJECT_REASON_UNKNOWN_CRYPTO_PROFILE,
                R.REJECT_REASON_WRONG_RECIPIENT,
                R.REJECT_REASON_UNKNOWN_SENDER,
                R.REJECT_REASON_UNKNOWN_KEY,
                R.REJECT_REASON_BAD_SIGNATURE,
            },
        ),
        ("body", {R.REJECT_REASON_DECRYPTION_FAILED}),
        ("signature", {R.REJECT_REASON_BAD_SIGNATURE}),
    ],
)
def test_every_flipped_bit_is_refused(kz, uz, uz_peers, field, allowed):
    env = parse(seal_record(kz, uz, contact_record(subject="x")))
    original = getattr(env, field)
    reasons: Counter[str] = Counter()
    for position in range(len(original)):
        for bit in range(8):
            tampered = envelope_pb2.Envelope()
            tampered.CopyFrom(env)
            setattr(tampered, field, flip(original, position, 1 << bit))
            result = open_envelope(tampered, local=uz, peers=uz_peers)
            assert not isinstance(result, Opened), f"{field} byte {position} bit {bit} opened"
            assert isinstance(result, Refused)
            assert result.digest == envelope_digest(tampered)
            assert result.reason in allowed, (field, position, bit, result.reason_name, result.detail)
            reasons[result.reason_name] += 1
    assert sum(reasons.values()) == 8 * len(original)
    # Only the header can fail in several ways; the signature covers all of it.
    if field == "header":
        assert reasons["REJECT_REASON_BAD_SIGNATURE"] > 0
        assert reasons["REJECT_REASON_MALFORMED_ENVELOPE"] > 0


def test_every_flipped_bit_of_the_serialized_envelope_is_refused(kz, uz, uz_peers):
    wire = seal_record(kz, uz, contact_record(subject="x")).envelope
    for position in range(len(wire)):
        for bit in range(8):
            try:
                env = envelope_pb2.Envelope.FromString(flip(wire, position, 1 << bit))
            except DecodeError:
                continue  # the transport refuses it as malformed before the protocol sees it
            result = open_envelope(env, local=uz, peers=uz_peers)
            assert isinstance(result, Refused), f"wire byte {position} bit {bit} opened"


def test_swapped_bodies_are_refused(kz, uz, uz_peers):
    a = parse(seal_record(kz, uz, contact_record(subject="a")))
    b = parse(seal_record(kz, uz, contact_record(subject="b")))
    for header, body, sig in ((a, b, a), (a, b, b), (a, a, b)):
        env = envelope_pb2.Envelope(header=header.header, body=body.body, signature=sig.signature)
        assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_BAD_SIGNATURE)


# -- each refusal reason -------------------------------------------------------


def test_wrong_recipient(kz, uz, tj, uz_peers):
    sealed = seal_record(kz, tj, contact_record())
    result = assert_refused(open_envelope(parse(sealed), local=uz, peers=uz_peers), R.REJECT_REASON_WRONG_RECIPIENT)
    assert result.message_id == sealed.message_id
    assert result.sender == "KZ"
    assert result.digest == sealed.digest
    assert result.reason_name == "REJECT_REASON_WRONG_RECIPIENT"


def test_unknown_sender(kz, uz, tj):
    sealed = seal_record(kz, uz, contact_record())
    for peers in (PeerDirectory(), PeerDirectory([peer_of(tj)])):
        result = assert_refused(open_envelope(parse(sealed), local=uz, peers=peers), R.REJECT_REASON_UNKNOWN_SENDER)
        assert result.sender == "KZ"


def test_unknown_crypto_profile(kz, uz, uz_peers):
    record = contact_record()

    def other_profile(h):
        h.crypto_profile = "tamga-ed25519-x25519-xsalsa20poly1305-2"

    env = reheader(parse(seal_record(kz, uz, record)), other_profile, signer=kz.signing_key, record=record)
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_UNKNOWN_CRYPTO_PROFILE)


@pytest.mark.parametrize("version", [0, 2, 1000])
def test_unsupported_protocol_version(kz, uz, uz_peers, version):
    record = contact_record()

    def set_version(h):
        h.protocol_version = version

    env = reheader(parse(seal_record(kz, uz, record)), set_version, signer=kz.signing_key, record=record)
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sender_signing_key_id", "ed25519:2"),
        ("sender_encryption_key_id", "x25519:2"),
        ("recipient_encryption_key_id", "x25519:2"),
        ("sender_signing_key_id", ""),
    ],
)
def test_key_id_mismatch(kz, uz, uz_peers, field, value):
    record = contact_record()
    env = reheader(
        parse(seal_record(kz, uz, record)),
        lambda h: setattr(h, field, value),
        signer=kz.signing_key,
        record=record,
    )
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_UNKNOWN_KEY)


def test_oversize(kz, uz, uz_peers):
    env = parse(seal_record(kz, uz, contact_record()))
    size = len(env.header) + len(env.body) + len(env.signature)
    assert_refused(
        open_envelope(env, local=uz, peers=uz_peers, max_envelope_bytes=size - 1),
        R.REJECT_REASON_OVERSIZE,
    )
    assert isinstance(open_envelope(env, local=uz, peers=uz_peers, max_envelope_bytes=size), Opened)


def test_oversize_by_default_limit(kz, uz, uz_peers):
    env = parse(seal_record(kz, uz, contact_record()))
    env.body = env.body + bytes(DEFAULT_MAX_ENVELOPE_BYTES)
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_OVERSIZE)


def test_record_type_mismatch(kz, uz, uz_peers):
    # Properly sealed and signed, but the header names another record type.
    sealed = seal_record(kz, uz, declaration_record(), record_type="contact_point_message")
    assert_refused(open_envelope(parse(sealed), local=uz, peers=uz_peers), R.REJECT_REASON_RECORD_TYPE_MISMATCH)


def test_empty_record_is_a_type_mismatch(kz, uz, uz_peers):
    sealed = seal_record(kz, uz, records_pb2.Record(), record_type="declaration_snapshot")
    assert_refused(open_envelope(parse(sealed), local=uz, peers=uz_peers), R.REJECT_REASON_RECORD_TYPE_MISMATCH)


@pytest.mark.parametrize("record_type", ["", "invoice", "DECLARATION_SNAPSHOT", "meta"])
def test_unknown_record_type_is_malformed(kz, uz, uz_peers, record_type):
    sealed = seal_record(kz, uz, declaration_record(), record_type=record_type)
    assert_refused(open_envelope(parse(sealed), local=uz, peers=uz_peers), R.REJECT_REASON_MALFORMED_ENVELOPE)


@pytest.mark.parametrize(
    "message_id", ["", "not-a-uuid", "00000000-0000-4000-8000-00000000000A", "{00000000-0000-4000-8000-000000000000}"]
)
def test_message_id_must_be_a_canonical_uuid(kz, uz, uz_peers, message_id):
    sealed = seal_record(kz, uz, contact_record(), message_id=message_id)
    assert_refused(open_envelope(parse(sealed), local=uz, peers=uz_peers), R.REJECT_REASON_MALFORMED_ENVELOPE)


def test_body_that_is_not_a_record(kz, uz, uz_peers):
    # Signed and encrypted by the real sender, but the plaintext after the salt is not a Record.
    header = envelope_pb2.EnvelopeHeader.FromString(parse(seal_record(kz, uz, contact_record())).header)
    header_bytes = header.SerializeToString()
    plaintext = SALT + b"\xff\xff\xff\xff"
    env = envelope_pb2.Envelope(
        header=header_bytes,
        body=kz.encryption_key.channel(uz.encryption_key.public).encrypt(plaintext),
        signature=kz.signing_key.sign(ENVELOPE_PURPOSE, header_bytes, plaintext),
    )
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_MALFORMED_RECORD)


def test_encrypted_for_a_third_node_but_addressed_to_us(kz, uz, tj, uz_peers):
    record = contact_record()
    for_tj = parse(seal_record(kz, tj, record))

    # Header re-addressed to UZ and signed again by the real sender: the body still
    # only opens for TJ.
    readdressed = reheader(for_tj, lambda h: setattr(h, "recipient", "UZ"), signer=kz.signing_key, record=record)
    assert_refused(open_envelope(readdressed, local=uz, peers=uz_peers), R.REJECT_REASON_DECRYPTION_FAILED)

    # Header re-addressed without signing again: same outcome (decryption comes first).
    unsigned = envelope_pb2.Envelope(header=readdressed.header, body=for_tj.body, signature=for_tj.signature)
    assert_refused(open_envelope(unsigned, local=uz, peers=uz_peers), R.REJECT_REASON_DECRYPTION_FAILED)


def test_encrypted_for_a_third_node_with_another_key_version(kz, uz, uz_peers):
    tj2 = make_local("TJ", encryption_key=EncryptionKey.generate(version=2))
    record = contact_record()
    env = reheader(
        parse(seal_record(kz, tj2, record)),
        lambda h: setattr(h, "recipient", "UZ"),
        signer=kz.signing_key,
        record=record,
    )
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_UNKNOWN_KEY)


def test_valid_signature_by_a_key_not_bound_to_the_sender(kz, uz, uz_peers):
    # Someone holding KZ's encryption key, but not its identity key, signs with their own
    # Ed25519 key under KZ's name and key id.
    mallory = make_local("KZ", signing_key=SigningKey.generate(), encryption_key=kz.encryption_key)
    sealed = seal_record(mallory, uz, contact_record())
    env = parse(sealed)
    # The signature itself is valid, for mallory's key.
    header_plaintext = (env.header, SALT + contact_record().SerializeToString())
    mallory.signing_key.public.verify(ENVELOPE_PURPOSE, env.signature, *header_plaintext)
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_BAD_SIGNATURE)


def test_recipient_cannot_forge_an_envelope_from_the_sender(kz, uz, uz_peers):
    # NaCl Box is symmetric: UZ can make a body that decrypts as "from KZ". Only the
    # signature stops UZ from producing an envelope that opens as KZ's.
    forger = make_local("KZ", encryption_key=uz.encryption_key)
    uz_as_seen_by_forger = peer_of(uz)
    uz_as_seen_by_forger.encryption_key = kz.encryption_key.public
    sealed = seal_record(forger, uz_as_seen_by_forger, contact_record())
    assert_refused(open_envelope(parse(sealed), local=uz, peers=uz_peers), R.REJECT_REASON_BAD_SIGNATURE)


def test_signature_for_another_purpose(kz, uz, uz_peers):
    record = contact_record()
    env = reheader(
        parse(seal_record(kz, uz, record)),
        lambda h: None,
        signer=kz.signing_key,
        record=record,
        purpose=RECEIPT_PURPOSE,
    )
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_BAD_SIGNATURE)


@pytest.mark.parametrize("signature", [b"", b"\x00" * 63, b"\x00" * 64, b"\x00" * 65])
def test_bad_signature_bytes(kz, uz, uz_peers, signature):
    env = parse(seal_record(kz, uz, contact_record()))
    env.signature = signature
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_BAD_SIGNATURE)


@pytest.mark.parametrize("garbage", [b"\xff\xff\xff\xff", b"\x0a\x05ab", b"\x12\x02\xc3\x28"])
def test_garbage_header(kz, uz, uz_peers, garbage):
    with pytest.raises(DecodeError):
        envelope_pb2.EnvelopeHeader.FromString(garbage)
    env = parse(seal_record(kz, uz, contact_record()))
    env.header = garbage
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_MALFORMED_ENVELOPE)


def test_empty_envelope_is_refused(uz, uz_peers):
    result = open_envelope(envelope_pb2.Envelope(), local=uz, peers=uz_peers)
    assert isinstance(result, Refused)


# -- order of the checks -------------------------------------------------------


def test_wrong_recipient_is_checked_before_decryption(kz, uz, tj, uz_peers):
    env = parse(seal_record(kz, tj, contact_record()))
    env.body = flip(env.body, len(env.body) - 1, 0x01)
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_WRONG_RECIPIENT)


def test_unknown_sender_and_key_are_checked_before_decryption(kz, uz, uz_peers):
    record = contact_record()
    env = parse(seal_record(kz, uz, record))
    env.body = b"\x00" * len(env.body)
    assert_refused(open_envelope(env, local=uz, peers=PeerDirectory()), R.REJECT_REASON_UNKNOWN_SENDER)
    rekeyed = reheader(
        env, lambda h: setattr(h, "sender_signing_key_id", "ed25519:9"), signer=kz.signing_key, record=record
    )
    rekeyed.body = env.body
    assert_refused(open_envelope(rekeyed, local=uz, peers=uz_peers), R.REJECT_REASON_UNKNOWN_KEY)


def test_oversize_is_checked_first(kz, uz, tj):
    env = parse(seal_record(kz, tj, contact_record()))
    env.header = b"\xff" + env.header
    assert_refused(open_envelope(env, local=uz, peers=PeerDirectory(), max_envelope_bytes=10), R.REJECT_REASON_OVERSIZE)


def test_decryption_is_checked_before_the_signature(kz, uz, uz_peers):
    env = parse(seal_record(kz, uz, contact_record()))
    env.body = flip(env.body, 30, 0x01)
    env.signature = flip(env.signature, 0, 0x01)
    assert_refused(open_envelope(env, local=uz, peers=uz_peers), R.REJECT_REASON_DECRYPTION_FAILED)


# -- envelopes kept in the store -----------------------------------------------


def test_open_stored_returns_the_record(kz, uz, uz_peers):
    record = declaration_record()
    sealed = seal_record(kz, uz, record, salt=None)
    assert open_stored(sealed.envelope, local=uz, peers=uz_peers) == record


def test_open_stored_detects_every_changed_body_byte(kz, uz, uz_peers):
    sealed = seal_record(kz, uz, contact_record(subject="x"))
    env = parse(sealed)
    for position in range(len(env.body)):
        tampered = envelope_pb2.Envelope(
            header=env.header, body=flip(env.body, position, 0x01), signature=env.signature
        )
        with pytest.raises(CryptoError):
            open_stored(tampered.SerializeToString(), local=uz, peers=uz_peers)


def test_open_stored_refuses_truncated_body(kz, uz, uz_peers):
    env = parse(seal_record(kz, uz, contact_record()))
    for length in (0, 10, 39, len(env.body) - 1):
        tampered = envelope_pb2.Envelope(header=env.header, body=env.body[:length], signature=env.signature)
        with pytest.raises(CryptoError):
            open_stored(tampered.SerializeToString(), local=uz, peers=uz_peers)


def test_open_stored_refuses_unparseable_bytes(uz, uz_peers):
    with pytest.raises(CryptoError):
        open_stored(b"\xff\xff\xff", local=uz, peers=uz_peers)


def test_open_stored_from_a_removed_peer(kz, uz):
    sealed = seal_record(kz, uz, contact_record())
    with pytest.raises(CryptoError, match="no longer a peer"):
        open_stored(sealed.envelope, local=uz, peers=PeerDirectory())


@pytest.mark.parametrize("field", ["signature", "header"])
def test_open_stored_takes_the_record_from_the_authenticated_body_only(kz, uz, uz_peers, field):
    # The header and signature were verified on arrival; at hand-off the record
    # comes from the body alone, so changing them at rest cannot change the record.
    record = contact_record()
    env = parse(seal_record(kz, uz, record))
    if field == "signature":
        env.signature = flip(env.signature, 0, 0x01)
    else:
        env = reheader(
            env,
            lambda h: setattr(h, "record_type", "declaration_snapshot"),
            signer=SigningKey.generate(),
            record=record,
        )
    assert open_stored(env.SerializeToString(), local=uz, peers=uz_peers) == record


# -- peers cache their channel -------------------------------------------------


def test_peer_channel_follows_a_rotated_local_encryption_key(kz, uz, uz_peers):
    # UZ opens one envelope with its first encryption key ...
    first = seal_record(kz, uz, contact_record())
    assert isinstance(open_envelope(parse(first), local=uz, peers=uz_peers), Opened)
    # ... then rotates to a new encryption key (same node, same peers) and KZ seals to it.
    uz_rotated = make_local("UZ", signing_key=uz.signing_key, encryption_key=EncryptionKey.generate(version=2))
    second = seal_record(kz, uz_rotated, contact_record())
    result = open_envelope(parse(second), local=uz_rotated, peers=uz_peers)
    assert isinstance(result, Opened), result


def test_an_empty_header_is_a_malformed_envelope(kz, uz, uz_peers):
    env = parse(seal_record(kz, uz, contact_record()))
    env.header = b""
    result = open_envelope(env, local=uz, peers=uz_peers)
    assert isinstance(result, Refused)
    assert result.reason == envelope_pb2.REJECT_REASON_MALFORMED_ENVELOPE
