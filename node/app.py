"""The Node: built once at start, it wires every part through constructors.

config ─▶ keys, peers, adapter, store
Receiver ◀─ gRPC server ◀─ peers
DropFolder ─▶ Submitter ─▶ store.outbox ─▶ PeerQueue (one per peer) ─▶ peers
store.inbox ─▶ Handoff ─▶ incoming folder
Purger (every [retention] purge_interval) ─▶ store: settled payloads, old dedup rows
Federation (HOME/federation, gossip) ─▶ peers, rules, own keys ─▶ all of the above

With a federation manifest the peers are the other members of its current
version and change while the node runs (a version adopted by gossip, ``tamga
federation apply``, a revocation, keys starting or ending): every part holds
the one live peer directory, and :meth:`Node._federation_changed` starts and
stops delivery queues and switches the node to its newest own keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import grpc
from tamga.adapters import Adapter, load_adapter
from tamga.audit import AuditSigner
from tamga.config import Config, check_permissions
from tamga.errors import ConfigError, StoreError, TamgaError
from tamga.federation._node import REMOVED_FROM_FEDERATION, Federation
from tamga.handoff import Handoff
from tamga.home import load_local_identity, load_peers
from tamga.inbound import Receiver
from tamga.intake import DropFolder, Submitter
from tamga.logging import get_logger
from tamga.outbound import PeerQueue
from tamga.protocol import LocalIdentity, Peer, PeerDirectory
from tamga.retention import Purger
from tamga.store import Store
from tamga.transport import ExchangeServicer, ServerTls, TlsIdentity, build_server, open_channel

__all__ = ["Node"]

log = get_logger("tamga.node")


class Node:
    """A running node. Create with :meth:`start`, end with :meth:`stop`."""

    def __init__(
        self,
        *,
        config: Config,
        local: LocalIdentity,
        peers: PeerDirectory,
        adapter: Adapter,
        store: Store,
        clock: Callable[[], float],
        federation: Federation | None = None,
    ) -> None:
        self.config = config
        if federation is None:
            federation = Federation(folder=config.path(Path("federation")), local=local, pinned=peers, clock=clock)
        self.federation = federation
        local = federation.local
        peers = federation.peers
        self.local = local
        self.peers = peers
        self.adapter = adapter
        self.store = store
        self.clock = clock
        self.port = 0
        self._lock_fd: int | None = None
        self._started = False
        self._server: grpc.aio.Server | None = None
        self._health = None
        self._channels: list[grpc.aio.Channel] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.queues: dict[str, PeerQueue] = {}
        self._queue_tasks: dict[str, asyncio.Task[None]] = {}
        self._queue_channels: dict[str, grpc.aio.Channel] = {}
        self._restarting: set[str] = set()
        self._working = False
        self._rejected_for: int | None = None  # the removal version whose queued records were rejected
        self.handoff = Handoff(
            local=local,
            peers=peers,
            store=store,
            adapter=adapter,
            incoming=config.path(config.folders.incoming),
            poll_interval=config.delivery.poll_interval,
            records_per_file=config.adapter.records_per_file or int(getattr(adapter, "records_per_file", 1)),
            clock=clock,
        )
        self.receiver = Receiver(
            local=local,
            peers=peers,
            store=store,
            clock=clock,
            max_envelope_bytes=config.limits.max_envelope_bytes,
            max_envelope_age=config.limits.max_envelope_age,
            max_clock_skew=config.limits.max_clock_skew,
            on_accepted=self.handoff.wake,
        )
        self.submitter = Submitter(
            local=local,
            peers=peers,
            store=store,
            adapter=adapter,
            clock=clock,
            on_queued=self._wake_queues,
            max_queued=config.limits.max_queued,
        )
        self.purger = Purger(store=store, config=config.retention, node_id=local.node_id, clock=clock)
        self.drop_folder = DropFolder(
            submitter=self.submitter,
            outgoing=config.path(config.folders.outgoing),
            processed=config.path(config.folders.processed),
            failed=config.path(config.folders.failed),
            max_file_bytes=config.limits.max_file_bytes,
            poll_interval=config.delivery.poll_interval,
        )

    @classmethod
    async def open(cls, config: Config, *, clock: Callable[[], float] = time.time) -> Node:
        """Load keys, peers and adapter and open the store; nothing is started.

        Raises:
            KeyFileError, ConfigError, CryptoError, AdapterError, StoreError.
            ConfigError: also when group or others may write the configuration, the keys
                folder, the peers or the federation folder, or the node folder itself.
        """
        check_permissions(config)
        local = load_local_identity(config)
        peers = load_peers(config)
        federation = Federation.open(config, local, peers, clock=clock)
        options = {
            k: str(config.path(Path(v))) if k.endswith("_file") and isinstance(v, str) else v
            for k, v in config.adapter.options.items()
        }
        adapter = load_adapter(config.adapter.name, options)
        # 'tamga init' made the store; a missing one is never replaced by an empty one here
        # (that would drop every queued record and the dedup history without a word).
        store = await Store.open(config.path(config.store.path), create=False)
        store.audit_signer = AuditSigner(local.node_id, local.signing_key)
        store.max_sequence_jump = config.limits.max_sequence_jump
        return cls(
            config=config, local=local, peers=peers, adapter=adapter, store=store, clock=clock, federation=federation
        )

    def _wake_queues(self, peer_ids: set[str]) -> None:
        for pid in peer_ids:
            q = self.queues.get(pid)
            if q is not None:
                q.wake()

    async def start(self) -> None:
        """Start serving peers, delivering, watching the drop folder, handing off.

        Raises:
            OSError: the listen address cannot be bound.
        """
        await self.start_server()
        await self.start_work()

    async def start_server(self) -> None:
        """Start the gRPC server only (tests start servers first when listening on port 0).

        Raises:
            OSError: the listen address cannot be bound.
        """
        self._lock_directory()
        endpoints = list(self.config.server.advertise)
        identity = self.local.identity_document(endpoints, self.clock())
        tls = self.tls
        server_tls = None
        if tls is None:
            log.warning("plaintext_transport", node=self.local.node_id, detail="[server] plaintext = true: no TLS")
        else:
            peers = self.peers
            federation = self.federation
            server_tls = ServerTls(
                tls,
                lambda: [p.tls_certificate for p in peers if p.tls_certificate],
                # Former members may ask GetManifest (only that): how a removed member learns it.
                lambda: [der for _node, der in federation.chain_certificates().values()],
            )
        servicer = ExchangeServicer(
            self.receiver, identity, peers=None if tls is None else self.peers, federation=self.federation
        )
        self._server, self.port, self._health = await build_server(servicer, self.config.server.listen, tls=server_tls)

    @property
    def tls(self) -> TlsIdentity | None:
        """This node's TLS key pair, or None in plaintext mode ([server] plaintext = true)."""
        if self.config.server.plaintext:
            return None
        return TlsIdentity(key_pem=self.local.tls_key, certificate=self.local.tls_certificate)

    async def start_work(self) -> None:
        """Start the delivery loops, the drop-folder watcher and the hand-off."""
        cfg = self.config
        self._working = True
        for peer in self.peers:
            await self._start_queue(peer)
        self.federation.channel_for = self._queue_channels.get
        self.federation.on_change.append(self._federation_changed)
        self._tasks.append(asyncio.create_task(self.federation.run(), name="federation"))
        self._tasks.append(asyncio.create_task(self.drop_folder.run(), name="drop-folder"))
        self._tasks.append(asyncio.create_task(self.handoff.run(), name="handoff"))
        self._tasks.append(asyncio.create_task(self.purger.run(), name="retention"))
        self._write_run_files()
        self._settle_removal()
        self._started = True
        host = cfg.server.listen.rpartition(":")[0]
        log.info(
            "node_started",
            node=self.local.node_id,
            listen=f"{host}:{self.port}",
            peers=[p.node_id for p in self.peers],
            manifest_version=self.federation.version,
            adapter=self.adapter.name,
            fingerprint=self.local.signing_key.public.fingerprint,
        )

    async def _start_queue(self, peer: Peer) -> None:
        """Open a channel to a peer and start its delivery loop."""
        try:
            channel = open_channel(peer.endpoints[0], peer=peer, tls=self.tls)
        except TamgaError as exc:
            # Records for it stay queued; status shows why nothing is delivered.
            log.error("peer_unreachable", peer=peer.node_id, error=str(exc))
            now = self.clock()
            await self.store.record_failure(peer.node_id, error=str(exc), now=now, retry_at=now)
            return
        self._queue_channels[peer.node_id] = channel
        q = PeerQueue(
            peer=peer,
            local=self.local,
            store=self.store,
            channel=channel,
            cfg=self.config.delivery,
            clock=self.clock,
            manifest_version=lambda: self.federation.version,
            on_manifest_version=self.federation.seen,
            on_failure=self.federation.delivery_failed,
        )
        self.queues[peer.node_id] = q
        self._queue_tasks[peer.node_id] = asyncio.create_task(q.run(), name=f"deliver-{peer.node_id}")

    async def _stop_queue(self, peer_id: str) -> None:
        """End a peer's delivery loop; what is queued for it stays in the store."""
        self.queues.pop(peer_id, None)
        task = self._queue_tasks.pop(peer_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        channel = self._queue_channels.pop(peer_id, None)
        if channel is not None:
            await channel.close()

    async def _restart_queue(self, peer_id: str, peer: Peer | None) -> None:
        await self._stop_queue(peer_id)
        if peer is not None and self._working:
            await self._start_queue(peer)

    def _federation_changed(self) -> None:
        """The federation changed: switch own keys, start, update or stop delivery queues."""
        local = self.federation.local
        if local is not self.local:
            self.local = local
            for part in (self.receiver, self.submitter, self.handoff, *self.queues.values()):
                part.local = local
            log.info(
                "own_keys_in_use",
                node=local.node_id,
                signing_key=local.signing_key.key_id,
                encryption_key=local.encryption_key.key_id,
                manifest_version=self.federation.version,
            )
        if not self._working:
            return
        self._settle_removal()
        wanted = {p.node_id: p for p in self.peers}
        for pid, q in list(self.queues.items()):
            peer = wanted.get(pid)
            if peer is q.peer or pid in self._restarting:
                continue
            reach = (q.peer.endpoints, q.peer.tls_certificate)
            if peer is not None and (peer.endpoints, peer.tls_certificate) == reach:
                q.peer = peer  # new keys only: the next session uses them
                continue
            if peer is None:
                log.warning("peer_removed", peer=pid, manifest_version=self.federation.version)
            self._spawn(self._restart_queue(pid, peer), f"requeue-{pid}")
        for pid, peer in wanted.items():
            if pid not in self.queues and pid not in self._restarting:
                log.info("peer_added", peer=pid, manifest_version=self.federation.version)
                self._spawn(self._restart_queue(pid, peer), f"requeue-{pid}")

    def _settle_removal(self) -> None:
        """Removed from the federation: what is queued can never be delivered; reject it with the reason."""
        reason, version = self.federation.removed_reason, self.federation.removed_in
        if reason is None or version == self._rejected_for:
            return
        self._rejected_for = version

        async def reject() -> None:
            try:
                n = await self.store.reject_queued(
                    reason=REMOVED_FROM_FEDERATION, detail=f"{reason}; not sent", now=self.clock()
                )
            except TamgaError as exc:
                log.error("queued_records_not_rejected", node=self.local.node_id, error=str(exc))
                return
            if n:
                log.error("queued_records_rejected", node=self.local.node_id, records=n, reason=reason)

        self._tasks.append(asyncio.get_running_loop().create_task(reject(), name="reject-after-removal"))

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        pid = name.removeprefix("requeue-")
        self._restarting.add(pid)
        task = asyncio.get_running_loop().create_task(coro, name=name)
        task.add_done_callback(lambda _t: self._restarting.discard(pid))
        self._tasks.append(task)

    def _lock_directory(self) -> None:
        """One running node per node directory: hold an exclusive lock on run/lock.

        Raises:
            ConfigError: another process runs this node.
        """
        run = self.config.path(self.config.folders.run)
        run.mkdir(parents=True, exist_ok=True)
        fd = os.open(run / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            try:
                pid = (run / "pid").read_text().strip()
            except OSError:
                pid = "?"
            raise ConfigError(
                f"{self.config.home}: node {self.local.node_id} is already running here (pid {pid}); stop it first"
            ) from exc
        self._lock_fd = fd

    def _write_run_files(self) -> None:
        run = self.config.path(self.config.folders.run)
        run.mkdir(parents=True, exist_ok=True)
        host = self.config.server.listen.rpartition(":")[0]
        (run / "listen").write_text(f"{host}:{self.port}\n")
        (run / "pid").write_text(f"{os.getpid()}\n")

    async def stop(self) -> None:
        """Stop gracefully: no new work, running exchanges finish within the grace period.

        Anything not acknowledged stays queued in the store for the next start.
        """
        if self._started:
            log.info("node_stopping", node=self.local.node_id)
        if self._health is not None:
            await self._health.enter_graceful_shutdown()
        self._working = False
        await self.federation.stop()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for pid in list(self.queues):
            await self._stop_queue(pid)
        if self._server is not None:
            await self._server.stop(self.config.server.grace)
        for ch in self._channels:
            await ch.close()
        if self.store.audit_signer is not None:
            try:
                await self.store.seal_audit(self.store.audit_signer, now=self.clock())
            except StoreError as exc:  # the next start or 'tamga audit seal' seals what is left
                log.error("audit_seal_failed", node=self.local.node_id, error=str(exc))
        await self.store.close()
        if self._lock_fd is not None:
            run = self.config.path(self.config.folders.run)
            for name in ("pid", "listen"):
                with contextlib.suppress(FileNotFoundError):
                    (run / name).unlink()
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None
        if self._started:
            log.info("node_stopped", node=self.local.node_id)

    async def serve_until(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set, then stop gracefully."""
        await self.start()
        try:
            await stop.wait()
        finally:
            await self.stop()
