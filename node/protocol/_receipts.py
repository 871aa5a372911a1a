"""Signed receipt batches: making them (receiver) and checking them (sender).

Rules:

1. The receiver signs one ReceiptBatch per EnvelopeBatch, after it has
   committed everything it accepted, with one Receipt per envelope in the
   batch's order.
2. The sender trusts a receipt only if the batch signature verifies with the
   peer's key, the batch names the right receiver, sender and batch id, and
   each receipt's digest equals the digest of the envelope it sent under that
   message id. Anything else is a :class:`ReceiptError`: the envelopes stay
   queued and are sent again.
3. What a peer writes in a receipt is data: its ``detail`` is escaped and cut
   (:data:`MAX_DETAIL_CHARS`) before anything logs, stores or prints it, and a
   reason code this node does not know is kept as a number and named
   ``REJECT_REASON_<n>`` (:func:`reason_name`), never an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from google.protobuf.message import DecodeError
from tamga.errors import CryptoError
from tamga.protocol._envelope import MAX_DETAIL_CHARS
from tamga.protocol._identity import PROTOCOL_VERSION, LocalIdentity, Peer
from tamga.protocol._origin import clip
from tamga.protocol._time import to_nanos
from tamga.v1 import envelope_pb2

__all__ = [
    "RECEIPT_PURPOSE",
    "ReceiptError",
    "ReceiptOutcome",
    "check_receipts",
    "reason_name",
    "sign_receipts",
]

RECEIPT_PURPOSE = "tamga/v1/receipts"
S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason


def reason_name(reason: int) -> str:
    """The name of a reject reason; ``REJECT_REASON_<n>`` for a number this node does not know."""
    try:
        return R.Name(reason)
    except ValueError:
        return f"REJECT_REASON_{int(reason)}"


class ReceiptError(CryptoError):
    """A receipt batch from a peer cannot be trusted; nothing it says is applied."""


@dataclass(frozen=True, slots=True)
class ReceiptOutcome:
    """What a verified receipt says about one of our envelopes."""

    message_id: str
    status: int  # envelope_pb2.ReceiptStatus
    reason: int  # envelope_pb2.RejectReason
    detail: str

    @property
    def delivered(self) -> bool:
        return self.status in (S.RECEIPT_STATUS_ACCEPTED, S.RECEIPT_STATUS_DUPLICATE)


def sign_receipts(
    *,
    local: LocalIdentity,
    sender: str,
    batch_id: str,
    receipts: Sequence[envelope_pb2.Receipt],
    now: float,
) -> envelope_pb2.SignedReceiptBatch:
    """Sign the receipts for one envelope batch from ``sender``."""
    batch = envelope_pb2.ReceiptBatch(
        protocol_version=PROTOCOL_VERSION,
        receiver=local.node_id,
        sender=sender,
        batch_id=batch_id,
        receiver_signing_key_id=local.signing_key.key_id,
        receipts=list(receipts),
    )
    batch.created_at.FromNanoseconds(to_nanos(now))
    body = batch.SerializeToString()
    return envelope_pb2.SignedReceiptBatch(receipt_batch=body, signature=local.signing_key.sign(RECEIPT_PURPOSE, body))


def check_receipts(
    signed: envelope_pb2.SignedReceiptBatch,
    *,
    local: LocalIdentity,
    peer: Peer,
    batch_id: str,
    sent: Mapping[str, bytes],
) -> list[ReceiptOutcome]:
    """Verify a peer's receipt batch against what we sent in that batch.

    Args:
        signed: The batch as received.
        local: This node (the original sender).
        peer: The peer that must have signed.
        batch_id: Id of the envelope batch the receipts must answer.
        sent: message id -> envelope digest, for every envelope of the batch.

    Returns:
        One outcome per envelope of the batch.

    Raises:
        ReceiptError: bad signature, wrong parties, wrong batch, a digest that
            does not match, or an envelope of the batch left unanswered.
    """
    try:
        peer.verify_key.verify(RECEIPT_PURPOSE, signed.signature, signed.receipt_batch)
    except CryptoError as exc:
        raise ReceiptError(f"receipt batch from {peer.node_id}: {exc}") from exc
    try:
        batch = envelope_pb2.ReceiptBatch.FromString(signed.receipt_batch)
    except DecodeError as exc:
        raise ReceiptError(f"receipt batch from {peer.node_id} does not parse") from exc
    if batch.receiver != peer.node_id or batch.sender != local.node_id:
        raise ReceiptError(
            f"receipt batch names receiver {clip(batch.receiver)!r} and sender {clip(batch.sender)!r}, "
            f"expected {peer.node_id!r} and {local.node_id!r}"
        )
    if batch.receiver_signing_key_id != peer.verify_key.key_id:
        raise ReceiptError(f"receipt batch names key {clip(batch.receiver_signing_key_id)!r}")
    if batch.protocol_version != PROTOCOL_VERSION:
        raise ReceiptError(f"receipt batch has protocol version {batch.protocol_version}")
    if batch.batch_id != batch_id:
        raise ReceiptError(f"receipts answer batch {clip(batch.batch_id)!r}, expected {batch_id!r}")
    outcomes: dict[str, ReceiptOutcome] = {}
    for r in batch.receipts:
        expected = sent.get(r.message_id)
        if expected is None:
            raise ReceiptError(f"receipt for message {clip(r.message_id)!r}, which is not in the batch")
        if r.message_id in outcomes:
            raise ReceiptError(f"two receipts for message {r.message_id} in one batch")
        if r.envelope_digest != expected:
            raise ReceiptError(f"receipt for message {r.message_id} carries a different digest")
        if r.status not in (
            S.RECEIPT_STATUS_ACCEPTED,
            S.RECEIPT_STATUS_DUPLICATE,
            S.RECEIPT_STATUS_REJECTED,
        ):
            raise ReceiptError(f"receipt for message {r.message_id} has no status")
        outcomes[r.message_id] = ReceiptOutcome(r.message_id, r.status, r.reason, clip(r.detail, MAX_DETAIL_CHARS))
    missing = set(sent) - set(outcomes)
    if missing:
        raise ReceiptError(f"receipt batch leaves {len(missing)} message(s) of the batch unanswered")
    return [outcomes[mid] for mid in sent]
