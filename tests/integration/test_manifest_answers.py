"""A peer's GetManifest answer is bounded, and verified off the event loop.

A member (here a fake UZ: a real grpc.aio server with UZ's pinned TLS
certificate, on loopback) answers GetManifest with hundreds of heavy
manifest variants. The node (a real :class:`tamga.app.Node`, TLS, manifest
mode) fetches from it. Before, a 25 MiB answer was parsed and verified on the
event loop: the node answered no one for seconds, at the peer's will. Now an
answer over the bounds is refused whole with one log line naming the peer,
and what is taken is parsed and verified in a worker thread; meanwhile the
event loop stays free (a heartbeat task measures its largest gap) and the
node's server answers.
"""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tamga.app import Node
from tamga.config import load_config
from tamga.federation import FederationState, genesis_proposal
from tamga.federation._node import MAX_MANIFEST_ANSWER_BYTES, MAX_MANIFEST_VERSIONS
from tamga.logging import configure_logging
from tamga.transport import TlsIdentity, client_credentials, tls_name
from tamga.v1 import exchange_pb2, federation_pb2

from .nodes import stop_all
from .test_federation import Member, sign_by

LOOP_GAP = 1.0  # seconds: the event loop must never be held longer than this (the old code held it for seconds)


def heavy_variant(genesis: federation_pb2.SignedManifest, version: int, n: int, members: int) -> bytes:
    """A SignedManifest of ``version`` (a variant, distinct by its summary) padded with ``members`` members.

    Every member is well-formed, so parsing and checking it costs what a real
    one does; the signatures are the genesis's, which do not cover it.
    """
    m = federation_pb2.Manifest.FromString(genesis.manifest)
    m.version = version
    m.summary = f"variant {n}"
    template = m.members[0]
    for i in range(members):
        extra = m.members.add()
        extra.CopyFrom(template)
        extra.node_id = f"X{n:03d}{i:04d}"
        del extra.signing_keys[:]
        del extra.encryption_keys[:]
        for kind, keys in (("ed25519", extra.signing_keys), ("x25519", extra.encryption_keys)):
            k = keys.add()
            k.key_id = f"{kind}:1"
            k.public_key = bytes([i % 256]) * 32
    signed = federation_pb2.SignedManifest(manifest=m.SerializeToString())
    signed.signatures.extend(genesis.signatures)
    return signed.SerializeToString()


def hostile_answer(genesis: federation_pb2.SignedManifest, *, count: int, members: int, same_version: bool) -> bytes:
    resp = exchange_pb2.GetManifestResponse()
    for n in range(count):
        resp.manifests.add().ParseFromString(heavy_variant(genesis, 1 if same_version else n + 1, n, members))
    return resp.SerializeToString()


@asynccontextmanager
async def fake_peer(uz: Member, kz: Member, answer: bytes) -> AsyncIterator[list[float]]:
    """UZ's port served by a hostile GetManifest (UZ's own TLS identity, KZ's certificate pinned).

    Yields the list of times GetManifest was called.
    """
    calls: list[float] = []

    async def get_manifest(_request: bytes, _context: grpc.aio.ServicerContext) -> bytes:
        calls.append(time.monotonic())
        return answer

    handler = grpc.method_handlers_generic_handler(
        "tamga.v1.ExchangeService",
        {"GetManifest": grpc.unary_unary_rpc_method_handler(get_manifest)},  # bytes in, bytes out
    )
    server = grpc.aio.server(options=[("grpc.max_send_message_length", 64 * 1024 * 1024)])
    server.add_generic_rpc_handlers((handler,))
    own = TlsIdentity(key_pem=uz.local.tls_key, certificate=uz.local.tls_certificate)
    kz_pem = TlsIdentity(key_pem=b"", certificate=kz.local.tls_certificate).certificate_pem
    creds = grpc.ssl_server_credentials(
        [(own.key_pem, own.certificate_pem)], root_certificates=kz_pem, require_client_auth=True
    )
    assert server.add_secure_port(f"127.0.0.1:{uz.port}", creds) == uz.port
    await server.start()
    try:
        yield calls
    finally:
        await server.stop(0)


@pytest.fixture(name="two")
def _two(tmp_path: Path) -> Iterator[tuple[Member, Member, federation_pb2.SignedManifest]]:
    kz, uz = Member(tmp_path, "KZ", "KZ"), Member(tmp_path, "UZ", "UZ")
    v1 = sign_by(
        genesis_proposal(
            federation_id="sco-answers-test",
            founders=[kz.entry(), uz.entry()],
            threshold=2,
            allow=[("*", "*", ["*"])],
            issued_at=time.time() - 60,
            summary="two members",
        ),
        [kz, uz],
    )
    FederationState.create(kz.folder, v1)
    yield kz, uz, v1


async def fetch_while_watching(node: Node, uz: Member, kz: Member) -> tuple[float, float]:
    """Fetch from UZ while a heartbeat measures the loop and a client asks the node's health service.

    Returns the largest heartbeat gap and the slowest health answer (seconds).
    """
    gaps = [0.0]
    health_times = [0.0]
    stop = asyncio.Event()

    async def heartbeat() -> None:
        last = time.monotonic()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.monotonic()
            gaps[0] = max(gaps[0], now - last)
            last = now

    async def ask_health() -> None:
        # Another peer (UZ's identity as a client) asks the node's health service over TLS.
        own = TlsIdentity(key_pem=uz.local.tls_key, certificate=uz.local.tls_certificate)
        options = [("grpc.ssl_target_name_override", tls_name("KZ"))]
        creds = client_credentials(own, kz.local.tls_certificate)
        async with grpc.aio.secure_channel(f"127.0.0.1:{node.port}", creds, options=options) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while not stop.is_set():
                began = time.monotonic()
                resp = await stub.Check(health_pb2.HealthCheckRequest(), timeout=30)
                assert resp.status == health_pb2.HealthCheckResponse.SERVING
                health_times[0] = max(health_times[0], time.monotonic() - began)
                await asyncio.sleep(0.05)

    beat = asyncio.create_task(heartbeat())
    health = asyncio.create_task(ask_health())
    await asyncio.sleep(0.3)
    try:
        await asyncio.wait_for(node.federation.fetch("UZ"), 60)
        await asyncio.sleep(0.2)
    finally:
        stop.set()
        await asyncio.gather(beat, health)
    return gaps[0], health_times[0]


def log_events(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def test_an_oversized_manifest_answer_is_refused_without_freezing_the_node(
    two: tuple[Member, Member, federation_pb2.SignedManifest],
) -> None:
    kz, uz, v1 = two
    # About 25 MiB (under gRPC's 32 MiB message cap, so only the node's own bound stops it): 300 variants of
    # version 1, each padded with as many well-formed members as that takes (a member entry's size depends on
    # what the manifest carries for it, its signed identity included).
    per_member = len(heavy_variant(v1, 1, 0, 11)) - len(heavy_variant(v1, 1, 0, 1))
    members = (25 * 1024 * 1024 // 300) // (per_member // 10)
    answer = hostile_answer(v1, count=300, members=members, same_version=True)
    assert MAX_MANIFEST_ANSWER_BYTES < len(answer) < 32 * 1024 * 1024
    stream = io.StringIO()
    configure_logging(level="info", fmt="json", stream=stream)

    async def main() -> tuple[float, float, int]:
        async with fake_peer(uz, kz, answer) as calls:
            node = await Node.open(load_config(kz.home))
            try:
                await node.start()
                node.federation.gossip_interval = 3600.0
                gap, slowest = await fetch_while_watching(node, uz, kz)
                assert node.federation.version == 1
                assert node.federation.fork is None
                return gap, slowest, len(calls)
            finally:
                await stop_all(node)

    gap, slowest, calls = asyncio.run(main())
    assert calls == 1
    assert gap < LOOP_GAP, f"the event loop was held {gap:.1f}s by a peer's GetManifest answer"
    assert slowest < LOOP_GAP, f"a health check waited {slowest:.1f}s"
    refused = [e for e in log_events(stream) if e.get("event") == "manifest_answer_refused"]
    assert len(refused) == 1, refused
    assert refused[0]["peer"] == "UZ"
    assert str(MAX_MANIFEST_ANSWER_BYTES) in str(refused[0]["error"])


def test_a_manifest_answer_within_the_bounds_is_verified_in_a_worker_thread(
    two: tuple[Member, Member, federation_pb2.SignedManifest], monkeypatch: pytest.MonkeyPatch
) -> None:
    kz, uz, v1 = two
    # Under the byte bound (about 6 MiB), distinct versions (one chain as far as counting goes), none valid.
    per_member = len(heavy_variant(v1, 1, 0, 11)) - len(heavy_variant(v1, 1, 0, 1))
    members = (6 * 1024 * 1024 // 40) // (per_member // 10)
    answer = hostile_answer(v1, count=40, members=members, same_version=False)
    assert len(answer) < MAX_MANIFEST_ANSWER_BYTES
    threads: list[str] = []
    offer = FederationState.offer

    def watched(self: FederationState, *args: object, **kwargs: object) -> object:
        threads.append(threading.current_thread().name)
        return offer(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(FederationState, "offer", watched)
    stream = io.StringIO()
    configure_logging(level="info", fmt="json", stream=stream)

    async def main() -> tuple[float, float]:
        async with fake_peer(uz, kz, answer):
            node = await Node.open(load_config(kz.home))
            try:
                await node.start()
                node.federation.gossip_interval = 3600.0
                gap, slowest = await fetch_while_watching(node, uz, kz)
                assert node.federation.version == 1  # nothing in it follows from the chain
                return gap, slowest
            finally:
                await stop_all(node)

    gap, slowest = asyncio.run(main())
    assert threads and all(name != threading.main_thread().name for name in threads), threads
    assert gap < LOOP_GAP, f"the event loop was held {gap:.1f}s"
    assert slowest < LOOP_GAP
    refused = [e for e in log_events(stream) if e.get("event") == "manifest_refused"]
    assert refused and refused[0]["source"] == "UZ", refused


@pytest.mark.parametrize(
    ("what", "count", "same_version", "needle"),
    [
        ("too many versions", MAX_MANIFEST_VERSIONS + 1, False, f"more than the {MAX_MANIFEST_VERSIONS} taken"),
        ("one version many times", 3, True, "version 1 more than once"),
    ],
)
def test_an_answer_over_the_count_bounds_is_refused_whole(
    two: tuple[Member, Member, federation_pb2.SignedManifest], what: str, count: int, same_version: bool, needle: str
) -> None:
    kz, uz, v1 = two
    answer = hostile_answer(v1, count=count, members=0, same_version=same_version)
    stream = io.StringIO()
    configure_logging(level="info", fmt="json", stream=stream)

    async def main() -> None:
        async with fake_peer(uz, kz, answer):
            node = await Node.open(load_config(kz.home))
            try:
                await node.start()
                node.federation.gossip_interval = 3600.0
                assert await node.federation.fetch("UZ") is None, what
            finally:
                await stop_all(node)

    asyncio.run(main())
    refused = [e for e in log_events(stream) if e.get("event") == "manifest_answer_refused"]
    assert len(refused) == 1 and refused[0]["peer"] == "UZ", refused
    assert needle in str(refused[0]["error"]), refused
    assert not [e for e in log_events(stream) if e.get("event") == "manifest_refused"]
