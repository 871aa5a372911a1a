"""gRPC server and channels for peer-to-peer exchange."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
from google.protobuf.message import DecodeError
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from tamga.errors import ConfigError, StoreError, StoreFullError
from tamga.inbound import Receiver
from tamga.logging import get_logger
from tamga.protocol import (
    SUPPORTED_CRYPTO_PROFILES,
    SUPPORTED_PROTOCOL_VERSIONS,
    Opened,
    Peer,
    PeerDirectory,
    Refused,
    clip,
)
from tamga.transport._tls import (
    ServerTls,
    TlsIdentity,
    certificate_fingerprint,
    client_credentials,
    presented_fingerprint,
    tls_name,
)
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
    """Serves ExchangeService for one node.

    Args:
        receiver: Opens and commits batches.
        identity: This node's signed identity document (GetIdentity).
        pipeline_depth: Batches opened ahead of the one being committed.
        peers: With TLS, the peers whose pinned certificates authenticate
            callers; None on a plaintext server (development only).
        federation: The node's federation (manifest version, GetManifest,
            gossip); None serves version 0 and no manifest.
    """

    def __init__(
        self,
        receiver: Receiver,
        identity: identity_pb2.SignedIdentity,
        pipeline_depth: int = 3,
        *,
        peers: PeerDirectory | None = None,
        federation: ManifestSource | None = None,
    ) -> None:
        self.federation = federation
        self.receiver = receiver
        self.identity = identity
        self.pipeline_depth = pipeline_depth
        self.peers = peers

    async def _check_client(self, context: grpc.aio.ServicerContext, *, manifest_only: bool = False) -> str | None:
        """With TLS: the fingerprint of the client certificate, which must be pinned for a peer.

        The handshake already refused certificates that are not pinned; this
        check also covers a peer removed since its connection was made. With
        ``manifest_only`` (GetManifest), a certificate pinned in an earlier
        version of the manifest chain (a former member's) is let through too:
        that is how a removed member learns the version that removed it.
        """
        if self.peers is None:
            return None
        fp = presented_fingerprint(context)
        if fp is not None and any(_pinned_fingerprint(p) == fp for p in self.peers):
            return fp
        former = self.federation.chain_certificates().get(fp) if fp and self.federation is not None else None
        if former is not None and manifest_only:
            log.info("manifest_asked_by_former_member", peer=former[0], fingerprint=fp)
            return fp
        if former is not None:
            log.warning("tls_client_refused", fingerprint=fp, peer=former[0], reason="a former member's certificate")
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"TLS client certificate sha256 {fp} was pinned for {former[0]} in an earlier federation manifest "
                "version, not the current one: this node answers it GetManifest only (to learn what changed)",
            )
        log.warning("tls_client_refused", fingerprint=fp, reason="certificate not pinned for any peer")
        await context.abort(
            grpc.StatusCode.PERMISSION_DENIED,
            f"TLS client certificate sha256 {fp} is not pinned for any peer of this node",
        )
        return fp

    async def _check_senders(
        self, context: grpc.aio.ServicerContext, fp: str | None, results: list[Opened | Refused]
    ) -> None:
        """With TLS: every sender the envelopes name must be the node whose certificate was presented.

        A peer may send only its own envelopes: a batch with an envelope that
        verified as another node's ends the stream (PERMISSION_DENIED) before
        anything of the batch is stored. Envelopes refused anyway get their receipts.
        """
        if self.peers is None:
            return
        for res in results:
            if not isinstance(res, Opened):
                continue  # refused with a receipt; nothing of it is stored
            peer = self.peers.get(res.sender)
            if peer is None:
                continue
            if _pinned_fingerprint(peer) != fp:
                # Charged to the peer the certificate authenticated; the name the envelope gave is only quoted.
                log.warning(
                    "tls_sender_mismatch",
                    peer=self._authenticated_peer(fp) or "",
                    claimed_sender=clip(res.sender),
                    message_id=clip(res.message_id),
                    fingerprint=fp,
                )
                await context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"the envelopes name sender {res.sender}, but the TLS client certificate (sha256 {fp}) "
                    f"is not the one pinned for {res.sender}; a node may send only its own envelopes",
                )

    def _authenticated_peer(self, fp: str | None) -> str | None:
        """The node id of the peer whose pinned certificate has fingerprint ``fp`` (None: plaintext or none)."""
        if self.peers is None or fp is None:
            return None
        return next((p.node_id for p in self.peers if _pinned_fingerprint(p) == fp), None)

    async def Exchange(
        self,
        request_iterator: AsyncIterator[exchange_pb2.ExchangeRequest],
        context: grpc.aio.ServicerContext,
    ) -> AsyncIterator[exchange_pb2.ExchangeResponse]:
        # Pipeline: the next batches are opened (checked, decrypted, verified) in worker
        # threads while the current one is committed. Commits and receipts stay in the
        # order the batches arrived.
        fp = await self._check_client(context)
        peer = self._authenticated_peer(fp)
        opening: asyncio.Queue[tuple[envelope_pb2.EnvelopeBatch, asyncio.Task[Any]] | None] = asyncio.Queue(
            maxsize=self.pipeline_depth
        )

        async def read() -> None:
            try:
                async for request in request_iterator:
                    if request.manifest_version and self.federation is not None:
                        sender = _batch_sender(request.batch)
                        if sender:
                            # Fetch a newer manifest before opening: it may list the key these
                            # envelopes were signed with (a rotation).
                            await self.federation.catch_up(sender, request.manifest_version)
                    task = asyncio.create_task(self.receiver.open_batch(request.batch))
                    await opening.put((request.batch, task))
            finally:
                await opening.put(None)

        reader = asyncio.create_task(read())
        try:
            while (item := await opening.get()) is not None:
                batch, task = item
                results = await task
                await self._check_senders(context, fp, results)
                try:
                    signed = await self.receiver.commit(batch, results, peer=peer)
                except StoreError as exc:
                    log.error(
                        "batch_not_committed", batch_id=batch.batch_id, envelopes=len(batch.envelopes), error=str(exc)
                    )
                    # The sender's operator sees this in 'tamga status': say whether it is the
                    # receiver's disk (it heals once there is room) without naming its paths.
                    why = "no space left for its store" if isinstance(exc, StoreFullError) else "its store failed"
                    await context.abort(
                        grpc.StatusCode.UNAVAILABLE,
                        f"the receiving node could not commit the batch ({why}); no receipt; retry later",
                    )
                yield exchange_pb2.ExchangeResponse(receipts=signed, manifest_version=self._manifest_version())
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
        await self._check_client(context)
        return exchange_pb2.GetIdentityResponse(
            identity=self.identity,
            protocol_versions=sorted(SUPPORTED_PROTOCOL_VERSIONS, reverse=True),
            crypto_profiles=list(SUPPORTED_CRYPTO_PROFILES),
        )

    def _manifest_version(self) -> int:
        return self.federation.version if self.federation is not None else 0

    async def GetManifest(
        self, request: exchange_pb2.GetManifestRequest, context: grpc.aio.ServicerContext
    ) -> exchange_pb2.GetManifestResponse:
        # Read-only, and the only method a former member may call (see _check_client).
        await self._check_client(context, manifest_only=True)
        if self.federation is None:
            return exchange_pb2.GetManifestResponse()
        return self.federation.get_manifest(request.from_version)


class ManifestSource(Protocol):
    """What the servicer needs of the node's federation (:class:`tamga.federation._node.Federation`)."""

    @property
    def version(self) -> int: ...

    def get_manifest(self, from_version: int) -> exchange_pb2.GetManifestResponse: ...

    def seen(self, peer_id: str, version: int) -> None: ...

    def chain_certificates(self) -> Mapping[str, tuple[str, bytes]]: ...


@dataclass(frozen=True, slots=True)
class _Undecodable:
    """What the server got in place of a request message that does not parse."""

    error: str


def _lenient(deserialize: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    """``deserialize`` that returns :class:`_Undecodable` instead of raising (gRPC would log a traceback)."""
    if deserialize is None:
        return None

    def parse(data: bytes) -> Any:
        try:
            return deserialize(data)
        except Exception as exc:  # DecodeError, too deep a nesting, or anything else the parser raises
            return _Undecodable(f"{type(exc).__name__}: {clip(exc, 200)}")

    return parse


async def _refuse_undecodable(method: str, bad: _Undecodable, context: grpc.aio.ServicerContext) -> None:
    """One log line and INVALID_ARGUMENT for a request that does not parse."""
    log.warning("request_undecodable", method=method, error=bad.error, client=clip(context.peer(), 100))
    await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"the request to {method} does not parse as its message")


class UndecodableRequests(grpc.aio.ServerInterceptor):
    """Answer a request that does not parse INVALID_ARGUMENT with one log line, never a traceback.

    gRPC parses a request before the servicer sees it and logs a full
    traceback at error level when the parser raises. This interceptor
    gives every method a parser that returns a marker instead, and ends
    the call with INVALID_ARGUMENT when the servicer would receive one
    (for a stream, when the bad message comes up).
    """

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Any],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Any:
        handler = await continuation(handler_call_details)
        if handler is None:
            return None
        method = clip(handler_call_details.method, 100)

        def checked_stream(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async def gen() -> AsyncIterator[Any]:
                async for request in requests:
                    if isinstance(request, _Undecodable):
                        await _refuse_undecodable(method, request, context)
                    yield request

            return gen()

        def unary(behavior: Callable[..., Any]) -> Callable[..., Any]:
            async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
                if isinstance(request, _Undecodable):
                    await _refuse_undecodable(method, request, context)
                return await behavior(request, context)

            return call

        def unary_in_stream_out(behavior: Callable[..., Any]) -> Callable[..., Any]:
            async def call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                if isinstance(request, _Undecodable):
                    await _refuse_undecodable(method, request, context)
                async for response in behavior(request, context):
                    yield response

            return call

        def stream_in(behavior: Callable[..., Any], streaming_out: bool) -> Callable[..., Any]:
            if streaming_out:

                async def out(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                    async for response in behavior(checked_stream(requests, context), context):
                        yield response

                return out

            async def single(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> Any:
                return await behavior(checked_stream(requests, context), context)

            return single

        changes: dict[str, Any] = {"request_deserializer": _lenient(handler.request_deserializer)}
        if handler.unary_unary is not None:
            changes["unary_unary"] = unary(handler.unary_unary)
        elif handler.unary_stream is not None:
            changes["unary_stream"] = unary_in_stream_out(handler.unary_stream)
        elif handler.stream_unary is not None:
            changes["stream_unary"] = stream_in(handler.stream_unary, False)
        elif handler.stream_stream is not None:
            changes["stream_stream"] = stream_in(handler.stream_stream, True)
        return handler._replace(**changes)


def _batch_sender(batch: envelope_pb2.EnvelopeBatch) -> str:
    """The sender the first envelope's header names (unverified: only a hint of whom to ask for a manifest)."""
    for env in batch.envelopes[:1]:
        try:
            return envelope_pb2.EnvelopeHeader.FromString(env.header).sender
        except DecodeError:
            return ""
    return ""


def _pinned_fingerprint(peer: Peer) -> str | None:
    return certificate_fingerprint(peer.tls_certificate) if peer.tls_certificate else None


async def build_server(
    servicer: ExchangeServicer, listen: str, *, tls: ServerTls | None
) -> tuple[grpc.aio.Server, int, health.aio.HealthServicer]:
    """Create and start the node's gRPC server.

    Args:
        servicer: The exchange servicer.
        listen: "host:port"; port 0 picks a free port.
        tls: Server TLS (client certificates required, pinned); None serves
            plaintext, for development only ([server] plaintext = true).

    Returns:
        The started server, the bound port and its health servicer (SERVING).

    Raises:
        OSError: the address cannot be bound.
    """
    _check_free(listen)
    server = grpc.aio.server(options=SERVER_OPTIONS, interceptors=[UndecodableRequests()])
    exchange_pb2_grpc.add_ExchangeServiceServicer_to_server(servicer, server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    try:
        port = server.add_secure_port(listen, tls.credentials()) if tls else server.add_insecure_port(listen)
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


def open_channel(endpoint: str, *, peer: Peer, tls: TlsIdentity | None) -> grpc.aio.Channel:
    """A channel to a peer's endpoint.

    With ``tls`` the channel trusts only the peer's pinned certificate, checks
    the name ``<peer-id>.tamga.invalid`` in it and presents ours. Without, it
    is plaintext gRPC (development only; envelopes are still sealed end to end).

    Raises:
        ConfigError: TLS is on and no certificate is pinned for the peer.
    """
    if tls is None:
        return grpc.aio.insecure_channel(endpoint, options=CHANNEL_OPTIONS)
    if not peer.tls_certificate:
        raise ConfigError(
            f"peer {peer.node_id} has no pinned TLS certificate (its identity file predates TLS), so it can be "
            "reached only in plaintext mode ([server] plaintext = true, development only); ask its authority for "
            "a new identity file ('tamga identity export') and add it again"
        )
    options = [*CHANNEL_OPTIONS, ("grpc.ssl_target_name_override", tls_name(peer.node_id))]
    return grpc.aio.secure_channel(endpoint, client_credentials(tls, peer.tls_certificate), options=options)
