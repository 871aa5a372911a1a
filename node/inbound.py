"""Receiving a batch of envelopes from a peer, up to the signed receipts.

For each envelope of the batch: the protocol core checks, decrypts and
verifies it (nothing is stored before that); the store commits everything
that passed, deduplicating on (sender, message id), in one transaction; then
one receipt batch is signed. A receipt therefore always means "committed".
If the store cannot commit (a full disk), no receipt is sent: the sender
keeps the envelopes and tries again.

Replays: an envelope seen before (same sender, message id and digest) is
answered DUPLICATE and not handed on again; the inbox is the dedup record, so
this holds across restarts. An envelope sealed outside the freshness window
([limits] max_envelope_age, max_clock_skew) is refused STALE, unless it is the
very envelope already committed: then it is a DUPLICATE (the sender may have
lost our receipt and retried for longer than the window; it must learn the
record arrived, not that it was refused).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from tamga.logging import get_logger
from tamga.protocol import (
    DEFAULT_MAX_CLOCK_SKEW,
    DEFAULT_MAX_ENVELOPE_AGE,
    DEFAULT_MAX_ENVELOPE_BYTES,
    LocalIdentity,
    Opened,
    PeerDirectory,
    Refused,
    open_envelope,
    sign_receipts,
)
from tamga.store import AcceptItem, Store
from tamga.v1 import envelope_pb2
from tamga.validation import validate_record

__all__ = ["Receiver"]

log = get_logger("tamga.inbound")
S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason


def _checked(opened: Opened) -> Opened | Refused:
    """The record rules and code lists of schema v1 (:mod:`tamga.validation`), applied again on receipt.

    The sender checked them before queueing, but a receiver does not take a
    peer's word for it: a record that breaks them is refused with
    MALFORMED_RECORD before anything is stored, rather than handed to the
    national system (whose adapter might not be able to write it at all).
    The detail names the field paths only, never values: it goes into the
    signed receipt, the refusal log and both nodes' logs.
    """
    problems = validate_record(opened.record, at="record")
    if not problems:
        return opened
    paths = list(dict.fromkeys(p.split(": ", 1)[0] for p in problems))
    more = f" and {len(paths) - 5} more" if len(paths) > 5 else ""
    return Refused(
        R.REJECT_REASON_MALFORMED_RECORD,
        f"the record breaks the tamga.v1 record rules or code lists at {', '.join(paths[:5])}{more}",
        opened.message_id,
        opened.sender,
        opened.digest,
        opened.header.sequence,
    )


class Receiver:
    """Turns envelope batches into committed inbox rows and signed receipts."""

    def __init__(
        self,
        *,
        local: LocalIdentity,
        peers: PeerDirectory,
        store: Store,
        clock: Callable[[], float] = time.time,
        max_envelope_bytes: int = DEFAULT_MAX_ENVELOPE_BYTES,
        max_envelope_age: float = DEFAULT_MAX_ENVELOPE_AGE,
        max_clock_skew: float = DEFAULT_MAX_CLOCK_SKEW,
        on_accepted: Callable[[], None] | None = None,
    ) -> None:
        self.local = local
        self.peers = peers
        self.store = store
        self.clock = clock
        self.max_envelope_bytes = max_envelope_bytes
        self.max_envelope_age = max_envelope_age
        self.max_clock_skew = max_clock_skew
        self.on_accepted = on_accepted

    def _open_all(self, envelopes: Sequence[envelope_pb2.Envelope]) -> list[Opened | Refused]:
        results: list[Opened | Refused] = []
        batch_sender = ""
        now = self.clock()
        for env in envelopes:
            res = open_envelope(
                env,
                local=self.local,
                peers=self.peers,
                max_envelope_bytes=self.max_envelope_bytes,
                now=now,
                max_age=self.max_envelope_age,
                max_skew=self.max_clock_skew,
            )
            if isinstance(res, Opened):
                if not batch_sender:
                    batch_sender = res.sender
                elif res.sender != batch_sender:
                    res = Refused(
                        R.REJECT_REASON_MALFORMED_ENVELOPE,
                        "a batch must come from one sender",
                        res.message_id,
                        res.sender,
                        res.digest,
                    )
            if isinstance(res, Opened):
                res = _checked(res)
            results.append(res)
        return results

    async def receive_batch(self, batch: envelope_pb2.EnvelopeBatch) -> envelope_pb2.SignedReceiptBatch:
        """Check, commit and sign receipts for one batch.

        Raises:
            StoreError: nothing was committed; no receipt may be sent.
        """
        return await self.commit(batch, await self.open_batch(batch))

    async def open_batch(self, batch: envelope_pb2.EnvelopeBatch) -> list[Opened | Refused]:
        """Check, decrypt and verify every envelope of a batch (in a worker thread).

        Pure computation: batches may be opened concurrently, then committed in order.
        """
        return await asyncio.to_thread(self._open_all, batch.envelopes)

    async def commit(
        self, batch: envelope_pb2.EnvelopeBatch, results: list[Opened | Refused]
    ) -> envelope_pb2.SignedReceiptBatch:
        """Commit what passed, deduplicating, then sign the receipts for the batch.

        Raises:
            StoreError: nothing was committed; no receipt may be sent.
        """
        opened = [r for r in results if isinstance(r, Opened)]
        # The receipts name the batch's sender: the first sender an envelope of it names.
        batch_sender = (
            opened[0].sender if opened else next((r.sender for r in results if isinstance(r, Refused) and r.sender), "")
        )
        # A stale envelope of the batch's sender that is exactly one already committed is a
        # duplicate, not a refusal (STALE comes only after the signature verified).
        already: set[int] = set()
        for i, r in enumerate(results):
            if isinstance(r, Refused) and r.reason == R.REJECT_REASON_STALE and r.sender == batch_sender:
                if await self.store.received_digest(r.sender, r.message_id) == r.digest:
                    already.add(i)
        refused = [r for i, r in enumerate(results) if isinstance(r, Refused) and i not in already]
        now = self.clock()
        statuses = await self.store.accept(
            [
                AcceptItem(o.sender, o.message_id, o.record_type, env.SerializeToString(), o.digest, o.header.sequence)
                for o, env in zip(results, batch.envelopes, strict=True)
                if isinstance(o, Opened)
            ],
            [(r.sender, r.message_id, r.reason_name, r.detail, r.digest, r.sequence) for r in refused],
            now=now,
        )
        receipts = []
        it = iter(statuses)
        accepted = 0
        for i, res in enumerate(results):
            if i in already:
                assert isinstance(res, Refused)
                receipts.append(
                    envelope_pb2.Receipt(
                        message_id=res.message_id, envelope_digest=res.digest, status=S.RECEIPT_STATUS_DUPLICATE
                    )
                )
                log.info("record_duplicate", message_id=res.message_id, peer=res.sender, outside_window=True)
            elif isinstance(res, Opened):
                status, reason, detail = next(it)
                receipts.append(
                    envelope_pb2.Receipt(
                        message_id=res.message_id,
                        envelope_digest=res.digest,
                        status=status,
                        reason=reason,
                        detail=detail,
                    )
                )
                if status == S.RECEIPT_STATUS_ACCEPTED:
                    accepted += 1
                    log.info("record_received", message_id=res.message_id, peer=res.sender, record_type=res.record_type)
                elif status == S.RECEIPT_STATUS_DUPLICATE:
                    log.info(
                        "record_duplicate", message_id=res.message_id, peer=res.sender, record_type=res.record_type
                    )
                else:
                    log.warning(
                        "record_refused",
                        message_id=res.message_id,
                        peer=res.sender,
                        record_type=res.record_type,
                        reason=R.Name(reason),
                        detail=detail,
                    )
            else:
                receipts.append(
                    envelope_pb2.Receipt(
                        message_id=res.message_id,
                        envelope_digest=res.digest,
                        status=S.RECEIPT_STATUS_REJECTED,
                        reason=res.reason,
                        detail=res.detail,
                    )
                )
                log.warning(
                    "record_refused",
                    message_id=res.message_id,
                    peer=res.sender,
                    reason=res.reason_name,
                    detail=res.detail,
                )
        signed = sign_receipts(
            local=self.local, sender=batch_sender, batch_id=batch.batch_id, receipts=receipts, now=self.clock()
        )
        if accepted and self.on_accepted:
            self.on_accepted()
        return signed
