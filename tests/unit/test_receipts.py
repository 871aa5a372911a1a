"""Signed receipt batches: the receiver signs, the sender checks against what it sent."""

from __future__ import annotations

import uuid

import pytest
from tamga.crypto import EncryptionKey, SigningKey
from tamga.errors import CryptoError
from tamga.protocol import (
    ENVELOPE_PURPOSE,
    RECEIPT_PURPOSE,
    LocalIdentity,
    Peer,
    ReceiptError,
    check_receipts,
    read_identity,
    seal,
    sign_receipts,
)
from tamga.protocol._identity import IDENTITY_PURPOSE
from tamga.v1 import common_pb2, envelope_pb2, records_pb2

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason
NOW = 1_700_000_000.0
BATCH = "batch-7"


def make_local(node_id: str, signing_key: SigningKey | None = None) -> LocalIdentity:
    return LocalIdentity(
        node_id, node_id[:2], f"{node_id} customs", signing_key or SigningKey.generate(), EncryptionKey.generate()
    )


def peer_of(local: LocalIdentity) -> Peer:
    return read_identity(local.identity_document([], NOW))


@pytest.fixture
def kz() -> LocalIdentity:
    """The sender of the envelopes, which checks the receipts."""
    return make_local("KZ")


@pytest.fixture
def uz() -> LocalIdentity:
    """The receiver, which signs the receipts."""
    return make_local("UZ")


@pytest.fixture
def uz_peer(uz) -> Peer:
    return peer_of(uz)


@pytest.fixture
def sent(kz, uz_peer) -> dict[str, bytes]:
    """Three envelopes KZ sent UZ in one batch: message id -> digest, in batch order."""
    out: dict[str, bytes] = {}
    for i in range(3):
        record = records_pb2.Record(
            meta=common_pb2.RecordMeta(record_id=f"r-{i}"),
            contact_point_message=records_pb2.ContactPointMessage(subject=f"s{i}"),
        )
        sealed = seal(
            local=kz,
            peer=uz_peer,
            record_bytes=record.SerializeToString(),
            record_type="contact_point_message",
            message_id=str(uuid.uuid4()),
            now=NOW,
        )
        out[sealed.message_id] = sealed.digest
    return out


STATUSES = [
    (S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED, ""),
    (S.RECEIPT_STATUS_DUPLICATE, R.REJECT_REASON_UNSPECIFIED, ""),
    (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_RECORD_TYPE_MISMATCH, "header says x"),
]


def receipts_for(sent: dict[str, bytes]) -> list[envelope_pb2.Receipt]:
    return [
        envelope_pb2.Receipt(message_id=mid, envelope_digest=dig, status=status, reason=reason, detail=detail)
        for (mid, dig), (status, reason, detail) in zip(sent.items(), STATUSES, strict=True)
    ]


def sign(local: LocalIdentity, receipts, *, sender: str = "KZ", batch_id: str = BATCH):
    return sign_receipts(local=local, sender=sender, batch_id=batch_id, receipts=receipts, now=NOW)


def check(signed, kz, uz_peer, sent, batch_id: str = BATCH):
    return check_receipts(signed, local=kz, peer=uz_peer, batch_id=batch_id, sent=sent)


def flip(data: bytes, position: int, mask: int = 0x01) -> bytes:
    changed = bytearray(data)
    changed[position] ^= mask
    return bytes(changed)


# -- valid batches -------------------------------------------------------------


def test_valid_batch_returns_outcomes_in_batch_order(kz, uz, uz_peer, sent):
    outcomes = check(sign(uz, receipts_for(sent)), kz, uz_peer, sent)
    assert [o.message_id for o in outcomes] == list(sent)
    assert [(o.status, o.reason, o.detail) for o in outcomes] == STATUSES
    assert [o.delivered for o in outcomes] == [True, True, False]


def test_outcomes_follow_the_batch_order_not_the_receipt_order(kz, uz, uz_peer, sent):
    receipts = receipts_for(sent)
    outcomes = check(sign(uz, list(reversed(receipts))), kz, uz_peer, sent)
    assert [o.message_id for o in outcomes] == list(sent)
    assert [o.status for o in outcomes] == [s for s, _, _ in STATUSES]


def test_signed_batch_contents(uz, sent):
    signed = sign(uz, receipts_for(sent))
    batch = envelope_pb2.ReceiptBatch.FromString(signed.receipt_batch)
    assert batch.protocol_version == 1
    assert batch.receiver == "UZ"
    assert batch.sender == "KZ"
    assert batch.batch_id == BATCH
    assert batch.receiver_signing_key_id == uz.signing_key.key_id
    assert batch.created_at.seconds == int(NOW)
    assert list(batch.receipts) == receipts_for(sent)
    uz.signing_key.public.verify(RECEIPT_PURPOSE, signed.signature, signed.receipt_batch)


def test_receipt_error_is_a_crypto_error():
    assert issubclass(ReceiptError, CryptoError)


# -- refusals ------------------------------------------------------------------


@pytest.mark.parametrize("signature", [b"", b"\x00" * 64, b"\x01" * 63])
def test_wrong_signature(kz, uz, uz_peer, sent, signature):
    signed = sign(uz, receipts_for(sent))
    signed.signature = signature
    with pytest.raises(ReceiptError):
        check(signed, kz, uz_peer, sent)


def test_every_flipped_signature_bit(kz, uz, uz_peer, sent):
    signed = sign(uz, receipts_for(sent))
    good = signed.signature
    for position in range(len(good)):
        for bit in range(8):
            signed.signature = flip(good, position, 1 << bit)
            with pytest.raises(ReceiptError):
                check(signed, kz, uz_peer, sent)


def test_every_flipped_receipt_batch_byte(kz, uz, uz_peer, sent):
    signed = sign(uz, receipts_for(sent))
    good = signed.receipt_batch
    for position in range(len(good)):
        for mask in (0x01, 0x80):
            signed.receipt_batch = flip(good, position, mask)
            with pytest.raises(ReceiptError):
                check(signed, kz, uz_peer, sent)


def test_wrong_digest(kz, uz, uz_peer, sent):
    receipts = receipts_for(sent)
    receipts[1].envelope_digest = flip(receipts[1].envelope_digest, 0)
    with pytest.raises(ReceiptError, match="different digest"):
        check(sign(uz, receipts), kz, uz_peer, sent)


def test_digest_of_another_envelope_of_the_batch(kz, uz, uz_peer, sent):
    receipts = receipts_for(sent)
    receipts[0].envelope_digest, receipts[1].envelope_digest = (
        receipts[1].envelope_digest,
        receipts[0].envelope_digest,
    )
    with pytest.raises(ReceiptError):
        check(sign(uz, receipts), kz, uz_peer, sent)


def test_receipt_for_a_message_not_in_the_batch(kz, uz, uz_peer, sent):
    receipts = receipts_for(sent)
    receipts.append(
        envelope_pb2.Receipt(
            message_id=str(uuid.uuid4()), envelope_digest=b"\x00" * 32, status=S.RECEIPT_STATUS_ACCEPTED
        )
    )
    with pytest.raises(ReceiptError, match="not in the batch"):
        check(sign(uz, receipts), kz, uz_peer, sent)


@pytest.mark.parametrize("missing", [0, 1, 2])
def test_missing_receipt(kz, uz, uz_peer, sent, missing):
    receipts = receipts_for(sent)
    del receipts[missing]
    with pytest.raises(ReceiptError, match="unanswered"):
        check(sign(uz, receipts), kz, uz_peer, sent)


def test_empty_batch_answers_nothing(kz, uz, uz_peer, sent):
    with pytest.raises(ReceiptError):
        check(sign(uz, []), kz, uz_peer, sent)


def test_wrong_batch_id(kz, uz, uz_peer, sent):
    with pytest.raises(ReceiptError, match="batch"):
        check(sign(uz, receipts_for(sent), batch_id="batch-8"), kz, uz_peer, sent)
    with pytest.raises(ReceiptError):
        check(sign(uz, receipts_for(sent)), kz, uz_peer, sent, batch_id="batch-8")


def test_signed_by_a_different_peer(kz, uz, uz_peer, sent):
    tj = make_local("TJ")
    # TJ signs as itself ...
    with pytest.raises(ReceiptError):
        check(sign(tj, receipts_for(sent)), kz, uz_peer, sent)
    # ... and TJ signs under UZ's name and key id.
    impostor = make_local("UZ", signing_key=tj.signing_key)
    with pytest.raises(ReceiptError):
        check(sign(impostor, receipts_for(sent)), kz, uz_peer, sent)


def test_wrong_receiver_name(kz, uz, uz_peer, sent):
    # Signed with UZ's real key, but naming another receiver.
    renamed = make_local("TJ", signing_key=uz.signing_key)
    with pytest.raises(ReceiptError, match="receiver"):
        check(sign(renamed, receipts_for(sent)), kz, uz_peer, sent)


def test_wrong_sender_name(kz, uz, uz_peer, sent):
    with pytest.raises(ReceiptError, match="sender"):
        check(sign(uz, receipts_for(sent), sender="TJ"), kz, uz_peer, sent)


def test_checked_by_the_wrong_local_node(uz, uz_peer, sent):
    with pytest.raises(ReceiptError):
        check(sign(uz, receipts_for(sent)), make_local("TJ"), uz_peer, sent)


def test_wrong_receiver_key_id(kz, uz, uz_peer, sent):
    # Same private key, other key id in the batch.
    relabelled = make_local("UZ", signing_key=SigningKey.from_seed(uz.signing_key.seed, version=2))
    with pytest.raises(ReceiptError, match="key"):
        check(sign(relabelled, receipts_for(sent)), kz, uz_peer, sent)


@pytest.mark.parametrize("status", [S.RECEIPT_STATUS_UNSPECIFIED, 99])
def test_receipt_without_a_valid_status(kz, uz, uz_peer, sent, status):
    receipts = receipts_for(sent)
    receipts[2].status = status
    with pytest.raises(ReceiptError, match="status"):
        check(sign(uz, receipts), kz, uz_peer, sent)


def test_unparseable_batch_properly_signed(kz, uz, uz_peer, sent):
    body = b"\xff\xff\xff\xff"
    signed = envelope_pb2.SignedReceiptBatch(receipt_batch=body, signature=uz.signing_key.sign(RECEIPT_PURPOSE, body))
    with pytest.raises(ReceiptError, match="does not parse"):
        check(signed, kz, uz_peer, sent)


# -- domain separation ---------------------------------------------------------


@pytest.mark.parametrize("purpose", [ENVELOPE_PURPOSE, IDENTITY_PURPOSE, "tamga/v1/receipt", ""])
def test_signature_for_another_purpose_is_not_a_receipt_signature(kz, uz, uz_peer, sent, purpose):
    signed = sign(uz, receipts_for(sent))
    # Control: the same bytes signed for the receipt purpose are accepted.
    signed.signature = uz.signing_key.sign(RECEIPT_PURPOSE, signed.receipt_batch)
    assert len(check(signed, kz, uz_peer, sent)) == 3
    # The right key over the same bytes, but for another purpose.
    signed.signature = uz.signing_key.sign(purpose, signed.receipt_batch)
    with pytest.raises(ReceiptError):
        check(signed, kz, uz_peer, sent)


def test_two_receipts_for_one_message_are_refused(kz, uz, uz_peer, sent):
    # A receiver may not say ACCEPTED and REJECTED for the same envelope in one batch.
    mid, digest = next(iter(sent.items()))
    receipts = [
        envelope_pb2.Receipt(message_id=m, envelope_digest=d, status=S.RECEIPT_STATUS_ACCEPTED) for m, d in sent.items()
    ]
    receipts.append(
        envelope_pb2.Receipt(
            message_id=mid,
            envelope_digest=digest,
            status=S.RECEIPT_STATUS_REJECTED,
            reason=R.REJECT_REASON_BAD_SIGNATURE,
        )
    )
    signed = sign_receipts(local=uz, sender="KZ", batch_id=BATCH, receipts=receipts, now=NOW)
    with pytest.raises(ReceiptError, match="two receipts"):
        check_receipts(signed, local=kz, peer=uz_peer, batch_id=BATCH, sent=sent)


# -- what a peer writes in a receipt is data -------------------------------------------------


def test_a_receipts_detail_is_escaped_and_cut_before_anyone_reads_it(kz, uz, uz_peer, sent):
    hostile = "\x1b[2J\x1b[1;1H\u202eforged line" + "D" * 2_000_000
    receipts = receipts_for(sent)
    receipts[2].detail = hostile
    outcomes = check(sign(uz, receipts), kz, uz_peer, sent)
    detail = outcomes[2].detail
    assert "\x1b" not in detail and "\u202e" not in detail
    assert detail.startswith("\\x1b[2J\\x1b[1;1H\\u202eforged line")
    assert len(detail) < 400


def test_an_unknown_reason_code_is_kept_as_a_number_and_named_not_an_error(kz, uz, uz_peer, sent):
    from tamga.protocol import reason_name

    receipts = receipts_for(sent)
    receipts[2].reason = 999  # a code from a newer peer, or a hostile one
    outcomes = check(sign(uz, receipts), kz, uz_peer, sent)
    assert (outcomes[2].status, outcomes[2].reason) == (S.RECEIPT_STATUS_REJECTED, 999)
    assert reason_name(999) == "REJECT_REASON_999"
    assert reason_name(R.REJECT_REASON_STALE) == "REJECT_REASON_STALE"


def test_a_receipt_naming_a_message_not_sent_is_refused_with_its_id_cut(kz, uz, uz_peer, sent):
    receipts = receipts_for(sent)
    receipts[0].message_id = "\x1b[2J" + "m" * 100_000
    with pytest.raises(ReceiptError) as err:
        check(sign(uz, receipts), kz, uz_peer, sent)
    assert "\x1b" not in str(err.value) and len(str(err.value)) < 300
