"""What a member removed from the federation may still do, and how its failures are logged.

Real nodes (:class:`tamga.app.Node`, TLS, real SQLite) on 127.0.0.1; the
removed member's calls come from a real TLS client holding its certificate.

- A member answers GetManifest, and only that, to a certificate pinned in an
  earlier version of its chain: Exchange and GetIdentity stay
  PERMISSION_DENIED, and a certificate never pinned is refused at the handshake.
- A node whose deliveries are refused at the TLS handshake logs each failure
  once (``delivery_failed``), never as an asyncio "Task exception was never
  retrieved" traceback.
"""

from __future__ import annotations

import asyncio
import gc
import io
import json
import time
from pathlib import Path

import grpc
import pytest
from tamga.app import Node
from tamga.config import load_config
from tamga.errors import RoutingError
from tamga.federation import Changes, FederationState, genesis_proposal, parse_manifest, successor_proposal
from tamga.logging import configure_logging
from tamga.protocol import LocalIdentity, read_identity
from tamga.transport import ServerTls, TlsIdentity, generate_tls_identity, open_channel
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc, federation_pb2

from .nodes import WAIT, db_path, declaration, open_node, pair, point, query, records_file, stop_all, wait_until
from .test_federation import Member, sign_by


def as_tls(local: LocalIdentity) -> TlsIdentity:
    return TlsIdentity(key_pem=local.tls_key, certificate=local.tls_certificate)


def three_and_tj_removed(root: Path) -> tuple[dict[str, Member], federation_pb2.SignedManifest]:
    ms = {nid: Member(root, nid, nid) for nid in ("KZ", "UZ", "TJ")}
    v1 = sign_by(
        genesis_proposal(
            federation_id="sco-removal-test",
            founders=[m.entry() for m in ms.values()],
            threshold=2,
            allow=[("*", "*", ["*"])],
            issued_at=time.time() - 60,
            summary="three members",
        ),
        list(ms.values()),
    )
    state = FederationState.create(ms["KZ"].folder, v1)
    v2 = sign_by(
        successor_proposal(state.current, Changes(remove=["TJ"]), issued_at=time.time() - 30, summary="TJ leaves"),
        [ms["KZ"], ms["UZ"]],
    )
    assert state.offer([v2], source="test").adopted == [2]
    return ms, v2


def test_a_former_members_certificate_may_ask_getmanifest_and_nothing_else(tmp_path: Path) -> None:
    ms, v2 = three_and_tj_removed(tmp_path)
    tj = ms["TJ"].local
    outsider = LocalIdentity(
        "TJ",
        "TJ",
        tj.authority,
        tj.signing_key,
        tj.encryption_key,
        tls_key=(t := generate_tls_identity("TJ", now=time.time())).key_pem,
        tls_certificate=t.certificate,
    )

    async def scenario() -> None:
        node = await Node.open(load_config(ms["KZ"].home))
        try:
            await node.start_server()
            kz = read_identity(node.local.identity_document([], time.time()))
            async with open_channel(f"127.0.0.1:{node.port}", peer=kz, tls=as_tls(tj)) as channel:
                stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
                resp = await stub.GetManifest(exchange_pb2.GetManifestRequest(from_version=1), timeout=5)
                assert [parse_manifest(m).version for m in resp.manifests] == [1, 2]
                assert resp.manifests[1].SerializeToString() == v2.SerializeToString()
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=5)
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, err.value.details()
                assert "GetManifest only" in (err.value.details() or "")
                call = stub.Exchange(timeout=5)
                await call.write(
                    exchange_pb2.ExchangeRequest(batch=envelope_pb2.EnvelopeBatch(batch_id="b1"), manifest_version=1)
                )
                await call.done_writing()
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    async for _ in call:
                        pass
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED, err.value.details()
            # A TJ certificate that no version of the chain pins does not even get through the handshake.
            async with open_channel(f"127.0.0.1:{node.port}", peer=kz, tls=as_tls(outsider)) as channel:
                stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await stub.GetManifest(exchange_pb2.GetManifestRequest(from_version=1), timeout=5)
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value.details()
        finally:
            await node.stop()
        assert not query(db_path(ms["KZ"].home), "SELECT * FROM inbox")

    asyncio.run(scenario())


def test_deliveries_refused_at_the_tls_handshake_are_logged_once_each_without_task_tracebacks(
    tmp_path: Path,
) -> None:
    kz_home, uz_home = pair(tmp_path)
    stream = io.StringIO()
    configure_logging(level="info", fmt="json", stream=stream)

    async def scenario() -> None:
        uz = await open_node(uz_home)
        # UZ's port, but a server that pins a certificate KZ does not hold: every handshake is refused.
        server = grpc.aio.server()
        own = as_tls(uz.local)
        stranger = generate_tls_identity("XX", now=time.time())
        port = server.add_secure_port("127.0.0.1:0", ServerTls(own, lambda: [stranger.certificate]).credentials())
        await server.start()
        kz = await open_node(kz_home)
        try:
            await kz.start_server()
            point(kz, "UZ", port)
            await kz.start_work()
            await kz.submitter.submit(records_file([declaration("KZ", ["UZ"])]), source="kz.json")

            def failures() -> int:
                return stream.getvalue().count('"delivery_failed"')

            await wait_until(lambda: failures() >= 4, "four refused delivery attempts", timeout=WAIT)
            gc.collect()
            await asyncio.sleep(0.2)
        finally:
            await stop_all(kz)
            await server.stop(0)
            await uz.store.close()
        gc.collect()

    asyncio.run(scenario())
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
    assert not [e for e in lines if "never retrieved" in str(e.get("event"))], stream.getvalue()[:3000]
    assert not [e for e in lines if "exception" in e], stream.getvalue()[:3000]
    failed = [e for e in lines if e.get("event") == "delivery_failed"]
    assert len(failed) >= 4 and all(e["peer"] == "UZ" for e in failed)
    assert [r[0] for r in query(db_path(kz_home), "SELECT state FROM outbox")] == ["queued"]


def outbox(home: Path) -> list[tuple[str, str, str]]:
    return [
        (r[0], r[1], r[2] or "")
        for r in query(db_path(home), "SELECT peer, state, reject_detail FROM outbox ORDER BY seq")
    ]


def test_a_removed_member_learns_by_its_periodic_pull_and_rejects_what_it_queued(tmp_path: Path) -> None:
    ms, _v2 = three_and_tj_removed(tmp_path)
    v1 = FederationState.load(ms["KZ"].folder).chain[0].signed
    FederationState.create(ms["TJ"].folder, v1)
    reason = "this node was removed from federation sco-removal-test in manifest version 2"

    async def scenario() -> None:
        # KZ holds version 2; UZ is down. TJ (version 1) queues a record for UZ, which fails and
        # cannot tell it anything: TJ learns from KZ in its periodic pull.
        nodes = []
        try:
            for m in (ms["KZ"], ms["TJ"]):
                nodes.append(n := await Node.open(load_config(m.home)))
                await n.start_server()
                n.federation.folder_poll = 0.1
                n.federation.gossip_interval = 3600.0
            for n in nodes:
                await n.start_work()
            tj = nodes[1]
            await tj.submitter.submit(records_file([declaration("TJ", ["UZ"])]), source="tj.json")
            await wait_until(
                lambda: query(db_path(ms["TJ"].home), "SELECT 1 FROM peer_state WHERE peer = 'UZ'") != [],
                "a failed delivery to UZ",
            )
            assert tj.federation.version == 1 and outbox(ms["TJ"].home)[0][1] == "queued"
            tj.federation.gossip_interval = 0.2
            await wait_until(lambda: tj.federation.removed_in == 2, "TJ learns its removal from KZ")
            await wait_until(lambda: not tj.queues, "TJ stops every delivery queue")
            assert len(tj.peers) == 0
            with pytest.raises(RoutingError, match="no peer for receiver country KZ"):  # new records: refused
                await tj.submitter.submit(records_file([declaration("TJ", ["KZ"])]), source="tj-2.json")
            await wait_until(lambda: outbox(ms["TJ"].home) == [("UZ", "rejected", f"{reason}; not sent")], "rejected")
        finally:
            await stop_all(*nodes)

    asyncio.run(scenario())


def test_a_node_started_after_its_removal_was_applied_rejects_what_was_queued(tmp_path: Path) -> None:
    ms, v2 = three_and_tj_removed(tmp_path)
    v1 = FederationState.load(ms["KZ"].folder).chain[0].signed
    FederationState.create(ms["TJ"].folder, v1)

    async def queue_while_a_member() -> None:
        tj = await Node.open(load_config(ms["TJ"].home))
        try:
            await tj.start_server()
            await tj.submitter.submit(records_file([declaration("TJ", ["KZ", "UZ"])]), source="tj.json")
        finally:
            await tj.stop()

    asyncio.run(queue_while_a_member())
    assert [s for _, s, _ in outbox(ms["TJ"].home)] == ["queued", "queued"]
    # The operator applies version 2 (`tamga federation apply`), then starts the node.
    assert FederationState.load(ms["TJ"].folder).offer([v2], source="apply").adopted == [2]

    async def start_removed() -> None:
        tj = await Node.open(load_config(ms["TJ"].home))
        try:
            await tj.start()
            assert not tj.queues and len(tj.peers) == 0
            await wait_until(lambda: {s for _, s, _ in outbox(ms["TJ"].home)} == {"rejected"}, "rejected at start")
        finally:
            await tj.stop()

    asyncio.run(start_removed())
    assert sorted(p for p, _, _ in outbox(ms["TJ"].home)) == ["KZ", "UZ"]
    assert all("in manifest version 2" in d for _, _, d in outbox(ms["TJ"].home))
