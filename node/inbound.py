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

Origin: a record that verified is refused ORIGIN_MISMATCH when its
``meta.sender_country`` is not the sending member's country, its
``meta.sender_authority`` (when set) is neither that member's authority nor
the registered name of its country's customs service, or its
``meta.receiver_countries`` does not list this node's country
(:func:`tamga.protocol.origin_problem`, the same check the sender makes).

Blame: a refusal is charged to the peer the TLS connection authenticated
(``commit(..., peer=...)``), never to the sender a header names; that name is
kept beside it, escaped and cut. Without TLS (plaintext, development only) a
refusal is charged to the named sender if it is a peer, else to
:data:`UNAUTHENTICATED`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from tamga.adapters.sdk.codes import authority_of
from tamga.logging import get_logger
from tamga.protocol import (
    DEFAULT_MAX_CLOCK_SKEW,
    DEFAULT_MAX_ENVELOPE_AGE,
    DEFAULT_MAX_ENVELOPE_BYTES,
    MAX_DETAIL_CHARS,
    LocalIdentity,
    Opened,
    Peer,
    PeerDirectory,
    Refused,
    clip,
    envelope_digest,
    open_envelope,
    origin_problem,
    sign_receipts,
)
from tamga.store import REFUSED_ROWS_PER_MINUTE, AcceptItem, Store
from tamga.v1 import envelope_pb2
from tamga.validation import validate_record

__all__ = ["UNAUTHENTICATED", "Receiver", "member_authorities"]

log = get_logger("tamga.inbound")
S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason

UNAUTHENTICATED = "(unauthenticated)"
"""Whom a refusal is charged to when no TLS peer authenticated and the named sender is not a peer."""


def member_authorities(member: Peer | LocalIdentity) -> tuple[str, str]:
    """The names a record from ``member`` may give as ``meta.sender_authority``.

    The member's own authority (its identity file or manifest entry), and the
    registered name of its country's customs service, which the built-in
    adapters write by default (:data:`tamga.adapters.sdk.codes.AUTHORITIES`).
    """
    return member.authority, authority_of(member.country)


class _LogBudget:
    """At most ``per_minute`` ``record_refused`` log lines per charged peer and calendar minute.

    The first refusal over the budget logs one ``refusals_rate_limited`` line;
    the count of those not logged comes in one ``refusals_not_logged`` line
    when that peer's next refusal falls in a later minute. Keys are charged
    peers (peer ids, or :data:`UNAUTHENTICATED`), never names a header chose,
    so the table stays as small as the peer list.
    """

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._state: dict[str, tuple[float, int, int]] = {}  # peer -> (minute, logged, not logged)

    def allow(self, peer: str, now: float) -> bool:
        minute = now - now % 60
        start, logged, skipped = self._state.get(peer, (minute, 0, 0))
        if start != minute:
            if skipped:
                log.warning("refusals_not_logged", peer=peer, count=skipped, per_minute=self.per_minute)
            start, logged, skipped = minute, 0, 0
        if logged < self.per_minute:
            self._state[peer] = (start, logged + 1, skipped)
            return True
        if not skipped:
            log.warning(
                "refusals_rate_limited",
                peer=peer,
                per_minute=self.per_minute,
                detail="further refusals of this peer in this minute are counted, not logged one by one",
            )
        self._state[peer] = (start, logged, skipped + 1)
        return False


def _origin_checked(opened: Opened, peers: PeerDirectory, local: LocalIdentity) -> Opened | Refused:
    """The record's origin bound to the member whose signature verified, and its receivers to this node."""
    peer = peers.get(opened.sender)
    if peer is None:  # the directory changed since the envelope opened: refuse rather than guess
        problem = f"sender {opened.sender} is no longer a peer"
    else:
        found = origin_problem(
            opened.record,
            sender_id=peer.node_id,
            sender_country=peer.country,
            sender_authorities=member_authorities(peer),
            receiver_countries=(local.country,),
        )
        if found is None:
            return opened
        problem = f"record.{found}"
    return Refused(
        R.REJECT_REASON_ORIGIN_MISMATCH,
        clip(problem, MAX_DETAIL_CHARS),
        opened.message_id,
        opened.sender,
        opened.digest,
        opened.header.sequence,
    )


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
        self._log_budget = _LogBudget(REFUSED_ROWS_PER_MINUTE)

    def _open_all(self, envelopes: Sequence[envelope_pb2.Envelope]) -> list[Opened | Refused]:
        results: list[Opened | Refused] = []
        batch_sender = ""
        now = self.clock()
        for env in envelopes:
            try:
                res = open_envelope(
                    env,
                    local=self.local,
                    peers=self.peers,
                    max_envelope_bytes=self.max_envelope_bytes,
                    now=now,
                    max_age=self.max_envelope_age,
                    max_skew=self.max_clock_skew,
                )
            except Exception as exc:  # a check that broke on this envelope refuses it, not the whole batch
                error = f"{type(exc).__name__}: {clip(exc, 200)}"
                log.error("envelope_check_failed", error=error, envelope_bytes=env.ByteSize())
                res = Refused(
                    R.REJECT_REASON_MALFORMED_ENVELOPE,
                    f"the receiving node could not check this envelope ({clip(type(exc).__name__)})",
                    "",
                    "",
                    envelope_digest(env),
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
                res = _origin_checked(res, self.peers, self.local)
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

    def _charged(self, peer: str | None, named: str) -> str:
        """Whom a refusal is charged to: the authenticated peer, else (plaintext) the named sender if a peer."""
        if peer:
            return peer
        return named if named and named in self.peers else UNAUTHENTICATED

    async def commit(
        self, batch: envelope_pb2.EnvelopeBatch, results: list[Opened | Refused], *, peer: str | None = None
    ) -> envelope_pb2.SignedReceiptBatch:
        """Commit what passed, deduplicating, then sign the receipts for the batch.

        Args:
            batch: The batch as received.
            results: :meth:`open_batch` of it.
            peer: The peer the TLS connection authenticated (None: plaintext);
                refusals are charged to it.

        Raises:
            StoreError: nothing was committed; no receipt may be sent.
        """
        opened = [r for r in results if isinstance(r, Opened)]
        # The receipts name the batch's sender: the first sender an envelope of it names (with TLS,
        # _check_senders ended the stream if one that verified is not the authenticated peer).
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
            [
                (self._charged(peer, r.sender), r.message_id, r.reason_name, r.detail, r.digest, r.sequence, r.sender)
                for r in refused
            ],
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
                elif self._log_budget.allow(self._charged(peer, res.sender), now):
                    log.warning(
                        "record_refused",
                        message_id=res.message_id,
                        peer=self._charged(peer, res.sender),
                        record_type=res.record_type,
                        reason=R.Name(reason),
                        detail=clip(detail, MAX_DETAIL_CHARS),
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
                charged = self._charged(peer, res.sender)
                if not self._log_budget.allow(charged, now):
                    continue
                log.warning(
                    "record_refused",
                    message_id=res.message_id,
                    peer=charged,
                    **({"claimed_sender": res.sender} if res.sender != charged else {}),
                    reason=res.reason_name,
                    detail=res.detail,
                )
        signed = sign_receipts(
            local=self.local, sender=batch_sender, batch_id=batch.batch_id, receipts=receipts, now=self.clock()
        )
        if accepted and self.on_accepted:
            self.on_accepted()
        return signed
