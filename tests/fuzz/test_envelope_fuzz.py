"""Envelope opening, fuzzed briefly inside ``make test`` (``make fuzz`` runs it long), and what it found.

``envelope.open`` mutates the bytes of real sealed envelopes; ``envelope.sealed``
fuzzes the header and record bytes and signs and encrypts them with the real
keys, so the checks after the signature are reached. :func:`open_envelope`
must answer every input with ``Opened`` or ``Refused``, never an exception:
in the receiver an exception ends the peer's whole batch without a receipt.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest
from tamga.crypto import CRYPTO_PROFILE_V1, SALT_SIZE, EncryptionKey, SigningKey, random_bytes
from tamga.protocol import ENVELOPE_PURPOSE, LocalIdentity, PeerDirectory, Refused, open_envelope, read_identity
from tamga.protocol._identity import PROTOCOL_VERSION
from tamga.tools import fuzz
from tamga.v1 import common_pb2, envelope_pb2, records_pb2

EXAMPLES = 300


@pytest.mark.parametrize("name", ["envelope.open", "envelope.sealed"])
def test_opening_answers_every_fuzzed_envelope_with_opened_or_refused(name: str, tmp_path: Path) -> None:
    target = fuzz.build_target(name, tmp_path)
    runner = fuzz.Runner(target)
    for seed in target.seeds:  # the real envelopes open
        assert runner.run(seed) is None
    for _label, data in fuzz.hostile_inputs(target.fmt, target.sample, scale=1 / 32):
        runner.run(data)
    fuzz.run_hypothesis(runner, examples=EXAMPLES)
    report = "\n\n".join(f"{c.signature}:\n{c.trace}" for c in runner.crashes.values())
    assert not runner.crashes, f"{name} crashed:\n{report}"


def _signed_with_created_at(seconds: int, nanos: int) -> tuple[envelope_pb2.Envelope, LocalIdentity, PeerDirectory]:
    """A well-signed, well-encrypted envelope from KZ to UZ whose header holds this created_at."""
    now = time.time()
    kz = LocalIdentity("KZ", "KZ", "KZ customs", SigningKey.generate(), EncryptionKey.generate())
    uz = LocalIdentity("UZ", "UZ", "UZ customs", SigningKey.generate(), EncryptionKey.generate())
    uz_at_kz = read_identity(uz.identity_document(["uz.example:7443"], now))
    kz_at_uz = read_identity(kz.identity_document(["kz.example:7443"], now))
    header = envelope_pb2.EnvelopeHeader(
        protocol_version=PROTOCOL_VERSION,
        crypto_profile=CRYPTO_PROFILE_V1,
        sender="KZ",
        recipient="UZ",
        message_id=str(uuid.uuid4()),
        sender_signing_key_id=kz.signing_key.key_id,
        sender_encryption_key_id=kz.encryption_key.key_id,
        recipient_encryption_key_id=uz.encryption_key.key_id,
        record_type="contact_point_message",
        sequence=1,
    )
    header.created_at.seconds = seconds
    header.created_at.nanos = nanos
    record = records_pb2.Record(
        meta=common_pb2.RecordMeta(record_id="r-1", sender_country="KZ", receiver_countries=["UZ"]),
        contact_point_message=records_pb2.ContactPointMessage(kind=records_pb2.CONTACT_POINT_KIND_REQUEST),
    )
    header_bytes = header.SerializeToString()
    plaintext = random_bytes(SALT_SIZE) + record.SerializeToString()
    env = envelope_pb2.Envelope(
        header=header_bytes,
        body=uz_at_kz.channel(kz).encrypt(plaintext),
        signature=kz.signing_key.sign(ENVELOPE_PURPOSE, header_bytes, plaintext),
    )
    return env, uz, PeerDirectory([kz_at_uz])


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [
        pytest.param(2_079_354_515, -1_213_851_795, id="negative-nanos-found-by-the-fuzzer"),
        pytest.param(1_700_000_000, 1_000_000_000, id="nanos-of-a-whole-second"),
        pytest.param(10**13, 0, id="year-318857"),
        pytest.param(-(10**13), 0, id="before-year-1"),
    ],
)
def test_a_signed_created_at_no_timestamp_can_hold_is_refused_not_raised(seconds: int, nanos: int) -> None:
    # Found by make fuzz (envelope.sealed): ValueError out of Timestamp.ToNanoseconds in the freshness check.
    env, uz, peers = _signed_with_created_at(seconds, nanos)
    result = open_envelope(env, local=uz, peers=peers, now=time.time())
    assert isinstance(result, Refused)
    assert "created_at" in result.detail
