"""The Node: built once at start, it wires every part through constructors.

config ─▶ keys, peers, adapter, store
Receiver ◀─ gRPC server ◀─ peers
DropFolder ─▶ Submitter ─▶ store.outbox ─▶ PeerQueue (one per peer) ─▶ peers
store.inbox ─▶ Handoff ─▶ incoming folder
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

import grpc
from tamga.adapters import Adapter, load_adapter
from tamga.config import Config
from tamga.errors import ConfigError, TamgaError
from tamga.handoff import Handoff
from tamga.home import load_local_identity, load_peers
from tamga.inbound import Receiver
from tamga.intake import DropFolder, Submitter
from tamga.logging import get_logger
from tamga.outbound import PeerQueue
from tamga.protocol import LocalIdentity, PeerDirectory
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
    ) -> None:
        self.config = config
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
        )
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
        """
        local = load_local_identity(config)
        peers = load_peers(config)
        options = {
            k: str(config.path(Path(v))) if k.endswith("_file") and isinstance(v, str) else v
            for k, v in config.adapter.options.items()
        }
        adapter = load_adapter(config.adapter.name, options)
        store = await Store.open(config.path(config.store.path))
        return cls(config=config, local=local, peers=peers, adapter=adapter, store=store, clock=clock)

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
            server_tls = ServerTls(tls, lambda: [p.tls_certificate for p in peers if p.tls_certificate])
        servicer = ExchangeServicer(self.receiver, identity, peers=None if tls is None else self.peers)
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
        tls = self.tls
        for peer in self.peers:
            try:
                channel = open_channel(peer.endpoints[0], peer=peer, tls=tls)
            except TamgaError as exc:
                # Records for it stay queued; status shows why nothing is delivered.
                log.error("peer_unreachable", peer=peer.node_id, error=str(exc))
                now = self.clock()
                await self.store.record_failure(peer.node_id, error=str(exc), now=now, retry_at=now)
                continue
            self._channels.append(channel)
            q = PeerQueue(
                peer=peer, local=self.local, store=self.store, channel=channel, cfg=cfg.delivery, clock=self.clock
            )
            self.queues[peer.node_id] = q
            self._tasks.append(asyncio.create_task(q.run(), name=f"deliver-{peer.node_id}"))
        self._tasks.append(asyncio.create_task(self.drop_folder.run(), name="drop-folder"))
        self._tasks.append(asyncio.create_task(self.handoff.run(), name="handoff"))
        self._write_run_files()
        self._started = True
        host = cfg.server.listen.rpartition(":")[0]
        log.info(
            "node_started",
            node=self.local.node_id,
            listen=f"{host}:{self.port}",
            peers=[p.node_id for p in self.peers],
            adapter=self.adapter.name,
            fingerprint=self.local.signing_key.public.fingerprint,
        )

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
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.stop(self.config.server.grace)
        for ch in self._channels:
            await ch.close()
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
