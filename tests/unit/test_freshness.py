"""The freshness window of the protocol core: pure, a clock value in, a decision out (no sockets, no sleeping)."""

from __future__ import annotations

import uuid

import pytest
from tamga.crypto import EncryptionKey, SigningKey
from tamga.protocol import (
    DEFAULT_MAX_CLOCK_SKEW,
    DEFAULT_MAX_ENVELOPE_AGE,
    LocalIdentity,
    Opened,
    PeerDirectory,
    Refused,
    freshness_problem,
    open_envelope,
    read_identity,
    seal,
)
from tamga.v1 import common_pb2, envelope_pb2, records_pb2

R = envelope_pb2.RejectReason
SEALED_AT = 1_700_000_000.0
DAY = 86400.0


def local(node_id: str) -> LocalIdentity:
    return LocalIdentity(node_id, node_id, f"{node_id} customs", SigningKey.generate(), EncryptionKey.generate())


@pytest.fixture(name="pair")
def _pair() -> tuple[LocalIdentity, LocalIdentity, envelope_pb2.Envelope]:
    kz, uz = local("KZ"), local("UZ")
    record = records_pb2.Record(
        meta=common_pb2.RecordMeta(record_id="r-1", sender_country="KZ", receiver_countries=["UZ"]),
        contact_point_message=records_pb2.ContactPointMessage(kind=records_pb2.CONTACT_POINT_KIND_REQUEST),
    )
    sealed = seal(
        local=kz,
        peer=read_identity(uz.identity_document([], SEALED_AT)),
        record_bytes=record.SerializeToString(),
        record_type="contact_point_message",
        message_id=str(uuid.uuid4()),
        now=SEALED_AT,
    )
    return kz, uz, envelope_pb2.Envelope.FromString(sealed.envelope)


def open_at(pair, now: float, **limits: float) -> Opened | Refused:
    kz, uz, env = pair
    peers = PeerDirectory([read_identity(kz.identity_document([], SEALED_AT))])
    return open_envelope(env, local=uz, peers=peers, now=now, **limits)


def test_defaults_are_fourteen_days_and_five_minutes() -> None:
    assert DEFAULT_MAX_ENVELOPE_AGE == 14 * DAY
    assert DEFAULT_MAX_CLOCK_SKEW == 300.0


@pytest.mark.parametrize(
    ("offset", "fresh"),
    [
        (0.0, True),
        (14 * DAY, True),  # exactly the limit is inside
        (14 * DAY + 0.001, False),
        (30 * DAY, False),
        (-300.0, True),  # sealed 5 minutes in the receiver's future: exactly the skew allowed
        (-300.001, False),
        (-DAY, False),
    ],
)
def test_window_edges(pair, offset: float, fresh: bool) -> None:
    result = open_at(pair, SEALED_AT + offset)
    if fresh:
        assert isinstance(result, Opened), result
    else:
        assert isinstance(result, Refused) and result.reason == R.REJECT_REASON_STALE, result
        assert result.message_id and result.sender == "KZ"


def test_limits_are_parameters(pair) -> None:
    assert isinstance(open_at(pair, SEALED_AT + 3600, max_age=3599), Refused)
    assert isinstance(open_at(pair, SEALED_AT + 3600, max_age=3600), Opened)
    assert isinstance(open_at(pair, SEALED_AT - 31, max_skew=30), Refused)


def test_details_say_how_old_and_which_limit(pair) -> None:
    old = open_at(pair, SEALED_AT + 15 * DAY + 3 * 3600)
    assert isinstance(old, Refused)
    assert "2023-11-14T22:13:20Z" in old.detail and "15d 3h ago" in old.detail
    assert "at most 14d ago" in old.detail and "max_envelope_age" in old.detail
    ahead = open_at(pair, SEALED_AT - 600)
    assert isinstance(ahead, Refused)
    assert "10m in this node's future" in ahead.detail and "max_clock_skew" in ahead.detail and "clock" in ahead.detail


def test_a_forged_stale_envelope_is_a_bad_signature_not_stale(pair) -> None:
    """STALE speaks only of envelopes the sender really sealed: a changed timestamp fails the signature first."""
    kz, uz, env = pair
    header = envelope_pb2.EnvelopeHeader.FromString(env.header)
    header.created_at.FromSeconds(int(SEALED_AT - 30 * DAY))
    forged = envelope_pb2.Envelope(header=header.SerializeToString(), body=env.body, signature=env.signature)
    peers = PeerDirectory([read_identity(kz.identity_document([], SEALED_AT))])
    result = open_envelope(forged, local=uz, peers=peers, now=SEALED_AT)
    assert isinstance(result, Refused) and result.reason == R.REJECT_REASON_BAD_SIGNATURE


def test_a_header_without_created_at_is_outside_any_window() -> None:
    problem = freshness_problem(envelope_pb2.EnvelopeHeader(), now=SEALED_AT, max_age=DAY, max_skew=60)
    assert problem is not None and "no created_at" in problem


def test_without_a_clock_value_the_window_is_not_applied(pair) -> None:
    """Known-answer vectors open envelopes sealed long ago; the node always passes its clock."""
    kz, uz, env = pair
    peers = PeerDirectory([read_identity(kz.identity_document([], SEALED_AT))])
    assert isinstance(open_envelope(env, local=uz, peers=peers), Opened)
