"""Origin binding and the bounds on what a peer controls: the pure checks of the protocol core."""

from __future__ import annotations

import uuid

import pytest
from tamga.crypto import SALT_SIZE, EncryptionKey, SigningKey
from tamga.protocol import (
    ENVELOPE_PURPOSE,
    MAX_DETAIL_CHARS,
    MAX_SEQUENCE,
    LocalIdentity,
    Opened,
    PeerDirectory,
    Refused,
    clip,
    open_envelope,
    origin_problem,
    read_identity,
    seal,
    sequence_jump_problem,
)
from tamga.v1 import common_pb2, envelope_pb2, records_pb2

R = envelope_pb2.RejectReason
NOW = 1_700_000_000.0
KZ_AUTHORITIES = ("Customs service of KZ", "State Revenue Committee of the Republic of Kazakhstan")


def record(sender: str = "KZ", receivers: tuple[str, ...] = ("UZ",), authority: str = "") -> records_pb2.Record:
    return records_pb2.Record(
        meta=common_pb2.RecordMeta(
            record_id=str(uuid.uuid4()),
            sender_country=sender,
            receiver_countries=list(receivers),
            sender_authority=authority,
        ),
        contact_point_message=records_pb2.ContactPointMessage(subject="Check consignment"),
    )


def check(rec: records_pb2.Record, receivers: tuple[str, ...] = ("UZ",)) -> str | None:
    found = origin_problem(
        rec, sender_id="KZ", sender_country="KZ", sender_authorities=KZ_AUTHORITIES, receiver_countries=receivers
    )
    return None if found is None else str(found)


# -- origin ------------------------------------------------------------------------------


@pytest.mark.parametrize("authority", ["", *KZ_AUTHORITIES])
def test_a_record_of_the_senders_country_for_the_receiver_passes(authority: str) -> None:
    assert check(record(authority=authority)) is None
    assert check(record(receivers=("UZ", "TJ")), receivers=("TJ", "UZ")) is None


def test_a_record_claiming_another_country_is_named_with_both_codes() -> None:
    problem = check(record(sender="CN"))
    assert problem is not None and problem.startswith("meta.sender_country: ")
    assert "CN" in problem and "KZ" in problem


def test_a_record_claiming_another_authority_is_refused() -> None:
    problem = check(record(authority="General Administration of Customs of the People's Republic of China"))
    assert problem is not None and problem.startswith("meta.sender_authority: ")
    assert "State Revenue Committee of the Republic of Kazakhstan" in problem
    assert "China" not in problem, "the detail quotes the record's text"


def test_a_record_not_listing_the_receiver_is_refused() -> None:
    problem = check(record(receivers=("TJ",)))
    assert problem is not None and problem.startswith("meta.receiver_countries: ")
    assert "TJ" in problem and "UZ" in problem
    # Each receiver must be listed: a record for UZ alone cannot go to TJ as well.
    assert check(record(receivers=("UZ",)), receivers=("UZ", "TJ")) is not None


def test_what_a_peer_chose_is_escaped_and_cut_in_the_detail() -> None:
    hostile = "\x1b[2J" + "C" * 100_000
    problem = check(record(sender=hostile))
    assert problem is not None
    assert "\x1b" not in problem and "\\x1b" in problem
    assert len(problem) < 300
    authority = check(record(authority="\u202e" + "A" * 100_000))
    assert authority is not None and "\u202e" not in authority and "AAAA" not in authority


def test_clip_cuts_before_escaping_and_counts_what_it_left_out() -> None:
    assert clip("UZ") == "UZ"
    cut = clip("\x07" * 2_000_000, 10)
    assert cut.startswith("\\x07") and cut.endswith("(1999990 more characters)")
    assert len(cut) < 100


# -- sequence numbers -------------------------------------------------------------------


def test_a_sequence_jump_beyond_the_window_is_a_problem_and_within_it_is_not() -> None:
    assert sequence_jump_problem(0, highest=5, max_jump=10) is None  # not numbered
    assert sequence_jump_problem(15, highest=5, max_jump=10) is None
    assert sequence_jump_problem(3, highest=5, max_jump=10) is None  # late or again: never a jump
    problem = sequence_jump_problem(16, highest=5, max_jump=10)
    assert problem is not None and "max_sequence_jump" in problem and "16" in problem
    assert sequence_jump_problem(2**63 - 1, highest=0, max_jump=1_000_000) is not None


# -- envelope bounds -----------------------------------------------------------------------


def _pair() -> tuple[LocalIdentity, LocalIdentity, PeerDirectory]:
    kz = LocalIdentity("KZ", "KZ", "Customs service of KZ", SigningKey.generate(), EncryptionKey.generate())
    uz = LocalIdentity("UZ", "UZ", "Customs service of UZ", SigningKey.generate(), EncryptionKey.generate())
    return kz, uz, PeerDirectory([read_identity(kz.identity_document([], NOW))])


def _sealed(kz: LocalIdentity, uz: LocalIdentity, **header: object) -> envelope_pb2.Envelope:
    """An envelope KZ really signed, with ``header`` fields set before signing."""
    rec = record().SerializeToString()
    s = seal(
        local=kz,
        peer=read_identity(uz.identity_document([], NOW)),
        record_bytes=rec,
        record_type="contact_point_message",
        message_id=str(uuid.uuid4()),
        now=NOW,
    )
    env = envelope_pb2.Envelope.FromString(s.envelope)
    h = envelope_pb2.EnvelopeHeader.FromString(env.header)
    for name, value in header.items():
        if name == "created_seconds":
            h.created_at.seconds = int(value)  # type: ignore[call-overload]
        else:
            setattr(h, name, value)
    env.header = h.SerializeToString()
    uz_peer = read_identity(uz.identity_document([], NOW))
    plaintext = bytes(SALT_SIZE) + rec
    env.signature = kz.signing_key.sign(ENVELOPE_PURPOSE, env.header, plaintext)
    env.body = uz_peer.channel(kz).encrypt(plaintext)
    return env


def test_a_signed_sequence_above_the_signed_64_bit_range_is_refused_with_its_reason() -> None:
    kz, uz, peers = _pair()
    res = open_envelope(_sealed(kz, uz, sequence=2**64 - 1), local=uz, peers=peers, now=NOW)
    assert isinstance(res, Refused) and res.reason == R.REJECT_REASON_SEQUENCE_OUT_OF_RANGE, res
    assert str(MAX_SEQUENCE) in res.detail
    ok = open_envelope(_sealed(kz, uz, sequence=MAX_SEQUENCE), local=uz, peers=peers, now=NOW)
    assert isinstance(ok, Opened)


@pytest.mark.parametrize("seconds", [10**13, -(10**13)])
def test_a_created_at_outside_the_timestamp_range_is_refused_not_raised(seconds: int) -> None:
    kz, uz, peers = _pair()
    res = open_envelope(_sealed(kz, uz, created_seconds=seconds), local=uz, peers=peers, now=NOW)
    assert isinstance(res, Refused) and res.reason == R.REJECT_REASON_MALFORMED_ENVELOPE, res
    assert "created_at" in res.detail and "Timestamp" in res.detail


def test_a_refusal_of_a_header_with_megabytes_in_a_field_stays_small() -> None:
    kz, uz, peers = _pair()
    env = _sealed(kz, uz)
    h = envelope_pb2.EnvelopeHeader.FromString(env.header)
    h.recipient = "\x1b]0;" + "X" * 2_000_000
    h.sender = "S" * 1_000_000
    h.message_id = "M" * 1_000_000
    env.header = h.SerializeToString()
    res = open_envelope(env, local=uz, peers=peers, now=NOW)
    assert isinstance(res, Refused) and res.reason == R.REJECT_REASON_WRONG_RECIPIENT
    assert len(res.detail) <= MAX_DETAIL_CHARS + 40 and "\x1b" not in res.detail
    assert len(res.sender) < 100 and len(res.message_id) < 100
