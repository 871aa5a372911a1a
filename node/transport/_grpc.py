"""gRPC server and channels for peer-to-peer exchange."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from tamga.errors import StoreError
from tamga.inbound import Receiver
from tamga.logging import get_logger
from tamga.protocol import SUPPORTED_CRYPTO_PROFILES, SUPPORTED_PROTOCOL_VERSIONS
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc, identity_pb2

__all__ = ["CHANNEL_OPTIONS", "ExchangeServicer", "build_server", "open_channel"]

log = get_logger("tamga.transport")

MAX_MESSAGE_BYTES = 32 * 1024 * 1024
CHANNEL_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.keepalive_time_ms", 30_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 0),
    # Reconnect quickly once a peer is back; the node's own backoff paces attempts.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
    ("grpc.enable_retries", 0),
]
# A node's port is its own: never share it with another process (gRPC's default is SO_REUSEPORT).
SERVER_OPTIONS = [*CHANNEL_OPTIONS, ("grpc.so_reuseport", 0)]


class ExchangeServicer(exchange_pb2_grpc.ExchangeServiceServicer):
    """Serves ExchangeService for one node."""

    def __init__(self, receiver: Receiver, identity: identity_pb2.SignedIdentity, pipeline_depth: int = 3) -> None:
        self.receiver = receiver
        self.identity = identity
        self.pipeline_depth = pipeline_depth

    async def Exchange(
        self,
        request_iterator: AsyncIterator[exchange_pb2.ExchangeRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[exchange_pb2.ExchangeResponse]:
        # Pipeline: the next batches are opened (checked, decrypted, verified) in worker
        # threads while the current one is committed. Commits and receipts stay in the
        # order the batches arrived.
        opening: asyncio.Queue[tuple[envelope_pb2.EnvelopeBatch, asyncio.Task[Any]] | None] = asyncio.Queue(
            maxsize=self.pipeline_depth
        )

        async def read() -> None:
            try:
                async for request in request_iterator:
                    task = asyncio.create_task(self.receiver.open_batch(request.batch))
                    await opening.put((request.batch, task))
            finally:
                await opening.put(None)

        reader = asyncio.create_task(read())
        try:
            while (item := await opening.get()) is not None:
                batch, task = item
                results = await task
                try:
                    signed = await self.receiver.commit(batch, results)
                except StoreError as exc:
                    log.error(
                        "batch_not_committed", batch_id=batch.batch_id, envelopes=len(batch.envelopes), error=str(exc)
                    )
                    await context.abort(
                        grpc.StatusCode.UNAVAILABLE,
                        "the receiving node could not commit the batch; no receipt; retry later",
                    )
                yield exchange_pb2.ExchangeResponse(receipts=signed)
            await reader  # surfaces a broken request stream
        finally:
            reader.cancel()
            while not opening.empty():
                left = opening.get_nowait()
                if left is not None:
                    left[1].cancel()

    async def GetIdentity(
        self, request: exchange_pb2.GetIdentityRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.GetIdentityResponse:
        return exchange_pb2.GetIdentityResponse(
            identity=self.identity,
            protocol_versions=sorted(SUPPORTED_PROTOCOL_VERSIONS, reverse=True),
            crypto_profiles=list(SUPPORTED_CRYPTO_PROFILES),
        )


async def build_server(
    servicer: ExchangeServicer, listen: str
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Create and start the node's gRPC server.

    Args:
        servicer: The exchange servicer.
        listen: "host:port"; port 0 picks a free port.

    Returns:
        The started server, the bound port and its health servicer (SERVING).

    Raises:
        OSError: the address cannot be bound.
    """
    _check_free(listen)
    server = grpc.aio.server(options=SERVER_OPTIONS)
    exchange_pb2_grpc.add_ExchangeServiceServicer_to_server(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    try:
        port = server.add_insecure_port(listen)
    except RuntimeError as exc:
        raise OSError(f"cannot listen on {listen}: {exc}") from exc
    if port == 0:
        raise OSError(f"cannot listen on {listen}: address in use or not available")
    await server.start()
    service = exchange_pb2.DESCRIPTOR.services_by_name["ExchangeService"].full_name
    for name in ("", service):
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, port, health_servicer


def _check_free(listen: str) -> None:
    """Fail with a clear message if something already listens on ``listen``."""
    host, _, port = listen.rpartition(":")
    if port == "0":
        return
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, int(port)))
        except OSError as exc:
            raise OSError(f"cannot listen on {listen}: {exc.strerror or exc}") from exc


def open_channel(endpoint: str) -> grpc.aio.Channel:
    """A channel to a peer's endpoint (plaintext gRPC; envelopes are sealed end to end)."""
    return grpc.aio.insecure_channel(endpoint, options=CHANNEL_OPTIONS)
