"""The delivery loop for one peer (see the package docstring for the flow)."""

from __future__ import annotations

import asyncio
import collections
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from tamga.config import DeliveryConfig
from tamga.errors import DeliveryError, TamgaError
from tamga.logging import get_logger
from tamga.protocol import Backoff, LocalIdentity, Peer, check_receipts, reason_name
from tamga.store import OutboxRow, Store
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc

__all__ = ["PeerQueue"]

log = get_logger("tamga.outbound")
R = envelope_pb2.RejectReason

# What gRPC (aio) reports when a write races the peer's end of the stream: the status the peer
# sent (its reason, say "no space left for its store") is replaced by this, which says nothing.
STATUS_LOST = "INTERNAL: Internal error from Core"


@dataclass(slots=True)
class _InFlight:
    batch_id: str
    rows: list[OutboxRow]
    sent_at: float


def _consume(future: asyncio.Future[Any]) -> None:
    """Mark a finished future's exception as retrieved (its failure is reported elsewhere)."""
    if not future.cancelled():
        future.exception()


def describe(exc: BaseException) -> str:
    """One line about a delivery failure, for logs and status."""
    if isinstance(exc, grpc.aio.AioRpcError):
        return f"{exc.code().name}: {exc.details()}"
    if isinstance(exc, TimeoutError):
        return "timed out waiting for the peer"
    return str(exc) or type(exc).__name__


class PeerQueue:
    """Delivers the outbox of one peer.

    Args:
        manifest_version: The federation manifest version this node holds
            (0: none), sent with every batch.
        on_manifest_version: Told (peer id, version) of the version each
            response names, so a newer one is fetched (gossip).
        on_failure: Told the peer id after each failed attempt (the
            federation then asks the peer for its manifest: a node removed
            from the federation learns it so).
    """

    def __init__(
        self,
        *,
        peer: Peer,
        local: LocalIdentity,
        store: Store,
        channel: grpc.aio.Channel,
        cfg: DeliveryConfig,
        clock: Callable[[], float] = time.time,
        manifest_version: Callable[[], int] = lambda: 0,
        on_manifest_version: Callable[[str, int], None] | None = None,
        on_failure: Callable[[str], None] | None = None,
    ) -> None:
        self.on_failure = on_failure
        self.manifest_version = manifest_version
        self.on_manifest_version = on_manifest_version
        self.peer = peer
        self.local = local
        self.store = store
        self.channel = channel
        self.cfg = cfg
        self.clock = clock
        self.stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
        self.backoff = Backoff(initial=cfg.backoff_initial, maximum=cfg.backoff_max)
        self._wakeup = asyncio.Event()
        self._peer_said = ""  # the peer's own reason for the failures since the last success

    def wake(self) -> None:
        """New records were queued for this peer."""
        self._wakeup.set()

    async def _wait_wakeup(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._wakeup.wait(), timeout)
        except TimeoutError:
            pass
        self._wakeup.clear()

    async def run(self) -> None:
        """Deliver until cancelled."""
        while True:
            delay = self.backoff.delay(self.clock())
            if delay > 0:
                await asyncio.sleep(delay)
            try:
                if not await self.store.queued(self.peer.node_id, after_seq=0, limit=1, max_bytes=1 << 62):
                    await self._wait_wakeup(self.cfg.poll_interval)
                    continue
                await self.session()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # every failure of an attempt is retried after backoff
                error = describe(exc)
                if not self.backoff.failures:
                    self._peer_said = ""
                if error != STATUS_LOST:
                    self._peer_said = error
                elif self._peer_said:  # keep the operator's view on the reason the peer gave
                    error = f"{self._peer_said} (the latest attempt ended without the peer's status: {error})"
                now = self.clock()
                wait = self.backoff.failure(now, error)
                log.warning(
                    "delivery_failed",
                    peer=self.peer.node_id,
                    error=error,
                    failures=self.backoff.failures,
                    retry_in=round(wait, 2),
                )
                try:
                    await self.store.record_failure(self.peer.node_id, error=error, now=now, retry_at=now + wait)
                except TamgaError as store_exc:
                    log.error("delivery_failure_not_recorded", peer=self.peer.node_id, error=str(store_exc))
                if self.on_failure is not None:
                    self.on_failure(self.peer.node_id)

    async def session(self) -> None:
        """One stream to the peer: send what is queued, settle receipts, until idle.

        Raises:
            DeliveryError, ReceiptError, grpc.aio.AioRpcError, TimeoutError: the
                attempt failed; everything unanswered stays queued.
        """
        cfg = self.cfg
        call = self.stub.Exchange(wait_for_ready=False)
        in_flight: collections.deque[_InFlight] = collections.deque()
        changed = asyncio.Event()
        slots = asyncio.Semaphore(cfg.max_in_flight)
        writer_done = False
        peer_id = self.peer.node_id

        async def writer() -> None:
            nonlocal writer_done
            last_seq = 0
            idle_since: float | None = None
            try:
                while True:
                    await slots.acquire()
                    rows = await self.store.queued(
                        peer_id, after_seq=last_seq, limit=cfg.batch_size, max_bytes=cfg.max_batch_bytes
                    )
                    if not rows:
                        slots.release()
                        now = self.clock()
                        if not in_flight:
                            idle_since = idle_since or now
                            if now - idle_since >= cfg.idle_close:
                                break
                        else:
                            idle_since = None
                        await self._wait_wakeup(cfg.poll_interval)
                        continue
                    idle_since = None
                    last_seq = rows[-1].seq
                    batch_id = str(uuid.uuid4())
                    in_flight.append(_InFlight(batch_id, rows, self.clock()))
                    changed.set()
                    batch = envelope_pb2.EnvelopeBatch(
                        batch_id=batch_id,
                        envelopes=[envelope_pb2.Envelope.FromString(r.envelope) for r in rows],
                    )
                    await call.write(
                        exchange_pb2.ExchangeRequest(batch=batch, manifest_version=self.manifest_version())
                    )
                    log.debug("batch_sent", peer=peer_id, batch_id=batch_id, envelopes=len(rows))
                await asyncio.wait_for(call.done_writing(), cfg.receipt_timeout)
            finally:
                writer_done = True
                changed.set()

        async def reader() -> None:
            while True:
                if not in_flight:
                    if writer_done:
                        return
                    changed.clear()
                    await changed.wait()
                    continue
                read = asyncio.ensure_future(call.read())
                # Whatever ends this reader (a cancelled session, say), the read's own failure is
                # the call's: the session reports it once (delivery_failed). Retrieve it here so
                # asyncio does not log it again as "Task exception was never retrieved".
                read.add_done_callback(_consume)
                try:
                    finished, _ = await asyncio.wait({read}, timeout=cfg.receipt_timeout)
                except asyncio.CancelledError:
                    read.cancel()
                    raise
                if not finished:
                    # End the RPC itself first: a cancelled read (or a write stuck in flow control)
                    # of a stream the network has stalled may otherwise never return.
                    call.cancel()
                    read.cancel()
                    raise TimeoutError(
                        f"{peer_id} sent no receipt within {cfg.receipt_timeout:g}s"
                        f" ({len(in_flight)} batch(es) unanswered)"
                    )
                resp = read.result()
                if resp is grpc.aio.EOF:
                    raise DeliveryError(f"{peer_id} closed the stream with {len(in_flight)} batch(es) unanswered")
                if self.on_manifest_version is not None and resp.manifest_version:
                    self.on_manifest_version(peer_id, resp.manifest_version)
                head = in_flight[0]
                sent = {r.message_id: r.digest for r in head.rows}
                outcomes = check_receipts(
                    resp.receipts, local=self.local, peer=self.peer, batch_id=head.batch_id, sent=sent
                )
                await self.store.settle(
                    peer_id, batch_id=head.batch_id, signed=resp.receipts, outcomes=outcomes, now=self.clock()
                )
                in_flight.popleft()
                slots.release()
                self.backoff.success()
                types = {r.message_id: r.record_type for r in head.rows}
                for o in outcomes:
                    if o.delivered:
                        log.info(
                            "record_delivered",
                            message_id=o.message_id,
                            peer=peer_id,
                            record_type=types[o.message_id],
                            status=envelope_pb2.ReceiptStatus.Name(o.status),
                        )
                    elif o.reason == R.REJECT_REASON_STALE:
                        # Sealed longer ago than the peer's freshness window: resending the same
                        # envelope cannot succeed. It stays in the outbox as rejected (status shows it).
                        log.error(
                            "record_expired",
                            message_id=o.message_id,
                            peer=peer_id,
                            record_type=types[o.message_id],
                            reason=reason_name(o.reason),
                            detail=o.detail,
                            will_retry=False,
                            action="send the record again to reseal it; if it was not queued long, check the clock",
                        )
                    else:
                        log.error(
                            "record_rejected_by_peer",
                            message_id=o.message_id,
                            peer=peer_id,
                            record_type=types[o.message_id],
                            reason=reason_name(o.reason),
                            detail=o.detail,
                        )

        tasks = [asyncio.create_task(writer()), asyncio.create_task(reader())]
        try:
            done, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
            for t in done:
                exc = t.exception()
                if isinstance(exc, asyncio.InvalidStateError) and call.done():
                    # Writing to a call that already ended (a refused TLS handshake, say) says
                    # only "RPC already finished"; the call's own status says why.
                    raise DeliveryError(f"{(await call.code()).name}: {await call.details()}") from exc
                if exc is not None:
                    raise exc
            if pending:
                await asyncio.gather(*pending)
        finally:
            call.cancel()  # first: pending reads and writes of the RPC then end at once
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
