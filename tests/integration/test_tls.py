"""TLS between nodes: pinned self-signed certificates both ways, plaintext only when both sides say so.

Real nodes (``tamga.app.Node``) on 127.0.0.1, real SQLite stores, real gRPC;
the fake clients are real TLS clients holding their own certificates.
What is checked here is what an operator relies on:

- two nodes made with ``init_home`` exchange over TLS, and nothing else gets in;
- a client whose certificate is not pinned is refused by the server, and a
  server presenting another certificate than the pinned one is refused by the
  client; nothing is delivered and the records stay queued;
- a peer added while the node runs is accepted without a restart;
- a peer's certificate cannot carry another peer's envelopes (PERMISSION_DENIED);
- plaintext works only when both sides set ``[server] plaintext = true``.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from tamga.config import load_config
from tamga.crypto import EncryptionKey, SigningKey
from tamga.errors import ConfigError, CryptoError, KeyFileError
from tamga.home import export_identity, load_local_identity, parse_identity_file
from tamga.intake import write_atomically
from tamga.protocol import LocalIdentity, Peer, read_identity, seal
from tamga.tools.federation import patch_config
from tamga.transport import (
    TlsIdentity,
    certificate_fingerprint,
    check_peer_certificate,
    create_tls_files,
    generate_tls_identity,
    load_tls_files,
    open_channel,
    tls_name,
)
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc

from .nodes import (
    WAIT,
    as_record,
    db_path,
    declaration,
    incoming_records,
    make_home,
    open_node,
    pair,
    peer_up,
    query,
    records_file,
    start_pair,
    stop_all,
    wait_until,
)
from .test_wire import add_fake_peer, fake_identity

# -- helpers ---------------------------------------------------------------------


def send(home: Path, items: list[dict]) -> set[str]:
    """Drop records into a node's outgoing folder; their record ids."""
    write_atomically(home / "outgoing" / f"{uuid.uuid4()}.json", records_file(items))
    return {i["meta"]["recordId"] for i in items}


def outbox_states(home: Path) -> list[str]:
    return [s for (s,) in query(db_path(home), "SELECT state FROM outbox")]


def peer_state(home: Path, peer: str) -> tuple[int, str]:
    rows = query(db_path(home), "SELECT consecutive_failures, last_error FROM peer_state WHERE peer = ?", (peer,))
    return (rows[0][0], rows[0][1] or "") if rows else (0, "")


def identity_of(node_local: LocalIdentity) -> Peer:
    """A node as a peer that pinned its current certificate sees it."""
    return read_identity(node_local.identity_document([], time.time()))


def as_tls(local: LocalIdentity) -> TlsIdentity:
    return TlsIdentity(key_pem=local.tls_key, certificate=local.tls_certificate)


async def get_identity(channel: grpc.aio.Channel) -> exchange_pb2.GetIdentityResponse:
    stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
    return await stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=5)


def one_attempt_only(*homes: Path) -> None:
    """A long backoff, so the first failed attempt's error stays in peer_state for the test to read."""
    for home in homes:
        patch_config(home, "delivery", {"backoff_initial": "60s", "backoff_max": "60s"})


def replace_tls_files(home: Path) -> None:
    """Give a node directory a new TLS key and certificate (peers still pin the old one)."""
    cfg = load_config(home)
    key, cert = cfg.path(cfg.keys.tls_key), cfg.path(cfg.keys.tls_certificate)
    key.unlink()
    cert.unlink()
    create_tls_files(key, cert, cfg.node.id, now=time.time())


# -- the node directory ----------------------------------------------------------


def test_init_makes_a_private_tls_key_and_a_self_signed_certificate_for_the_node(tmp_path: Path) -> None:
    home = make_home(tmp_path, "KZ", "KZ")
    cfg = load_config(home)
    key, cert_path = cfg.path(cfg.keys.tls_key), cfg.path(cfg.keys.tls_certificate)
    assert key.stat().st_mode & 0o777 == 0o600
    assert b"PRIVATE KEY" in key.read_bytes()
    cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    assert cert.issuer == cert.subject  # self-signed: no certificate authority
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == ["kz.tamga.invalid"] == [tls_name("KZ")]
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days >= 365
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]

    # The identity file carries the certificate (signed) and its fingerprint (readable).
    local = load_local_identity(cfg)
    der = cert.public_bytes(serialization.Encoding.DER)
    assert local.tls_certificate == der
    text = export_identity(local, ["127.0.0.1:7400"])
    assert local.tls_key not in text.encode()
    pf = parse_identity_file(text, "kz.identity.json")
    assert pf.peer.tls_certificate == der
    assert pf.document["tls_certificate_sha256"] == certificate_fingerprint(der)
    assert len(certificate_fingerprint(der)) == 64 and certificate_fingerprint(der).islower()


def test_a_group_readable_tls_key_is_refused(tmp_path: Path) -> None:
    home = make_home(tmp_path, "KZ", "KZ")
    cfg = load_config(home)
    key = cfg.path(cfg.keys.tls_key)
    os.chmod(key, 0o640)
    with pytest.raises(KeyFileError, match=r"tls\.key: key file is accessible to group or others \(mode 0640\)"):
        load_local_identity(cfg)


def test_tls_files_that_do_not_belong_together_or_to_the_node_are_refused(tmp_path: Path) -> None:
    home = make_home(tmp_path, "KZ", "KZ")
    cfg = load_config(home)
    key, cert = cfg.path(cfg.keys.tls_key), cfg.path(cfg.keys.tls_certificate)
    other = tmp_path / "other"
    other.mkdir()
    create_tls_files(other / "tls.key", other / "tls.crt", "UZ", now=time.time())
    # UZ's certificate with KZ's key
    with pytest.raises(KeyFileError, match="the certificate does not belong to the key in"):
        load_tls_files(key, other / "tls.crt", "KZ")
    # UZ's own pair, loaded as KZ's
    with pytest.raises(KeyFileError, match=r"the TLS certificate is for uz\.tamga\.invalid, not kz\.tamga\.invalid"):
        load_tls_files(other / "tls.key", other / "tls.crt", "KZ")
    cert.write_text("not a certificate")
    with pytest.raises(KeyFileError, match=r"tls\.crt: not a PEM X\.509 certificate"):
        load_local_identity(cfg)
    cert.unlink()
    key.unlink()
    with pytest.raises(KeyFileError, match=r"TLS key file not found.*plaintext = true"):
        load_local_identity(cfg)
    # In plaintext mode a node directory without TLS files still loads.
    patch_config(home, "server", {"plaintext": True})
    assert load_local_identity(load_config(home)).tls_certificate == b""


def test_an_identity_file_with_a_changed_tls_fingerprint_is_refused(tmp_path: Path) -> None:
    home = make_home(tmp_path, "KZ", "KZ")
    text = export_identity(load_local_identity(load_config(home)), ["127.0.0.1:7400"])
    changed = text.replace('"tls_certificate_sha256": "', '"tls_certificate_sha256": "00', 1)
    with pytest.raises(ConfigError, match="readable field 'tls_certificate_sha256' does not match"):
        parse_identity_file(changed, "kz.identity.json")


# -- exchange over TLS -------------------------------------------------------------


def test_two_nodes_exchange_over_tls_and_a_plaintext_client_is_refused(tmp_path: Path) -> None:
    kz_home, uz_home = pair(tmp_path)
    items = [declaration("KZ", ["UZ"], 1), declaration("KZ", ["UZ"], 2)]
    back = [declaration("UZ", ["KZ"], 3)]

    async def scenario() -> None:
        kz, uz = await start_pair(kz_home, uz_home)
        try:
            ids, back_ids = send(kz_home, items), send(uz_home, back)
            await wait_until(
                lambda: ids <= set(incoming_records(uz_home)) and back_ids <= set(incoming_records(kz_home)),
                "records in both incoming folders",
            )
            await wait_until(
                lambda: outbox_states(kz_home) == ["delivered"] * 2 and outbox_states(uz_home) == ["delivered"],
                "receipts back at both senders",
            )
            # The server speaks only TLS: a plaintext client does not get through.
            async with grpc.aio.insecure_channel(f"127.0.0.1:{uz.port}") as channel:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await get_identity(channel)
                assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            # KZ, with its pinned certificate, does.
            async with open_channel(f"127.0.0.1:{uz.port}", peer=identity_of(uz.local), tls=as_tls(kz.local)) as ch:
                resp = await get_identity(ch)
                assert read_identity(resp.identity).tls_certificate == uz.local.tls_certificate
        finally:
            await stop_all(kz, uz)

    asyncio.run(scenario())


def test_a_client_whose_certificate_is_not_pinned_is_refused_by_the_server(tmp_path: Path) -> None:
    home = make_home(tmp_path, "UZ", "UZ")
    kz = fake_identity("KZ", "KZ")
    add_fake_peer(home, kz)
    stranger = fake_identity("TJ", "TJ")  # not a peer of UZ
    # KZ's signing keys, but a TLS certificate UZ never pinned
    kz_other_cert = LocalIdentity(
        "KZ",
        "KZ",
        kz.authority,
        kz.signing_key,
        kz.encryption_key,
        tls_key=(t := generate_tls_identity("KZ", now=time.time())).key_pem,
        tls_certificate=t.certificate,
    )

    async def scenario() -> None:
        node = await open_node(home)
        try:
            await node.start_server()
            uz = identity_of(node.local)
            for client in (stranger, kz_other_cert):
                async with open_channel(f"127.0.0.1:{node.port}", peer=uz, tls=as_tls(client)) as channel:
                    with pytest.raises(grpc.aio.AioRpcError) as err:
                        await get_identity(channel)
                    assert err.value.code() == grpc.StatusCode.UNAVAILABLE, err.value.details()
            async with open_channel(f"127.0.0.1:{node.port}", peer=uz, tls=as_tls(kz)) as channel:
                await get_identity(channel)  # control: the pinned certificate gets in
        finally:
            await node.stop()

    asyncio.run(scenario())


def test_a_server_presenting_another_certificate_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    """UZ's TLS key changed after KZ pinned it: neither side gets through, nothing is lost.

    KZ, as client, refuses UZ's new server certificate; UZ, as client, presents
    its new certificate to KZ's server, which accepts only the pinned old one.
    """
    kz_home, uz_home = pair(tmp_path)
    replace_tls_files(uz_home)
    one_attempt_only(kz_home, uz_home)
    kz_items, uz_items = [declaration("KZ", ["UZ"], 1)], [declaration("UZ", ["KZ"], 2)]

    async def scenario() -> None:
        kz, uz = await start_pair(kz_home, uz_home)
        try:
            send(kz_home, kz_items)
            send(uz_home, uz_items)
            await wait_until(
                lambda: peer_state(kz_home, "UZ")[0] >= 1 and peer_state(uz_home, "KZ")[0] >= 1,
                "a failed attempt each way",
            )
            # The same handshakes, one call each, to read gRPC's own words (the delivery loop's
            # recorded error is not always gRPC's status, see the report on node/outbound).
            kz_pins_uz = kz.peers.get("UZ")
            assert kz_pins_uz is not None and kz_pins_uz.tls_certificate != uz.local.tls_certificate
            async with open_channel(f"127.0.0.1:{uz.port}", peer=kz_pins_uz, tls=as_tls(kz.local)) as channel:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await get_identity(channel)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            assert "CERTIFICATE_VERIFY_FAILED" in (err.value.details() or ""), err.value.details()
            async with open_channel(f"127.0.0.1:{kz.port}", peer=identity_of(kz.local), tls=as_tls(uz.local)) as ch:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await get_identity(ch)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
            assert incoming_records(uz_home) == {} and incoming_records(kz_home) == {}
            assert query(db_path(uz_home), "SELECT COUNT(*) FROM inbox") == [(0,)]
            assert query(db_path(kz_home), "SELECT COUNT(*) FROM inbox") == [(0,)]
            assert outbox_states(kz_home) == ["queued"] and outbox_states(uz_home) == ["queued"]
            # What tamga status shows for the failed delivery is gRPC's status, not "RPC already finished".
            errors = {h.name: peer_state(h, p)[1] for h, p in ((kz_home, "UZ"), (uz_home, "KZ"))}
            assert all(e and e.startswith("UNAVAILABLE") for e in errors.values()), errors
            assert "CERTIFICATE_VERIFY_FAILED" in errors["kz"], errors
        finally:
            await stop_all(kz, uz)

    asyncio.run(scenario())


def test_a_peer_added_while_the_node_runs_is_accepted_without_restart(tmp_path: Path) -> None:
    home = make_home(tmp_path, "UZ", "UZ")
    kz = fake_identity("KZ", "KZ")
    add_fake_peer(home, kz)
    tj = fake_identity("TJ", "TJ")

    async def scenario() -> None:
        node = await open_node(home)
        try:
            await node.start_server()
            uz = identity_of(node.local)
            async with open_channel(f"127.0.0.1:{node.port}", peer=uz, tls=as_tls(tj)) as channel:
                with pytest.raises(grpc.aio.AioRpcError):
                    await get_identity(channel)
            node.peers.add(identity_of(tj))  # as a manifest update or 'peer add' would
            async with open_channel(f"127.0.0.1:{node.port}", peer=uz, tls=as_tls(tj)) as channel:
                await get_identity(channel)
        finally:
            await node.stop()

    asyncio.run(scenario())


def test_a_peers_certificate_cannot_carry_another_peers_envelopes(tmp_path: Path) -> None:
    """TJ connects with its own (pinned) certificate and sends an envelope KZ sealed: PERMISSION_DENIED."""
    home = make_home(tmp_path, "UZ", "UZ")
    kz, tj = fake_identity("KZ", "KZ"), fake_identity("TJ", "TJ")
    add_fake_peer(home, kz)
    add_fake_peer(home, tj)

    async def scenario() -> None:
        node = await open_node(home)
        try:
            await node.start_server()
            uz = identity_of(node.local)
            rec = as_record(declaration("KZ", ["UZ"], 1))
            env = envelope_pb2.Envelope.FromString(
                seal(
                    local=kz,
                    peer=uz,
                    record_bytes=rec.SerializeToString(),
                    record_type=rec.WhichOneof("body"),
                    message_id=str(uuid.uuid4()),
                    now=time.time(),
                ).envelope
            )
            request = exchange_pb2.ExchangeRequest(batch=envelope_pb2.EnvelopeBatch(batch_id="b1", envelopes=[env]))
            async with open_channel(f"127.0.0.1:{node.port}", peer=uz, tls=as_tls(tj)) as channel:
                call = exchange_pb2_grpc.ExchangeServiceStub(channel).Exchange(timeout=WAIT)
                await call.write(request)
                await call.done_writing()
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await call.read()
                assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
                assert "envelopes name sender KZ" in (err.value.details() or "")
                assert "not the one pinned for KZ" in (err.value.details() or "")
            assert query(db_path(home), "SELECT COUNT(*) FROM inbox") == [(0,)]
            # Control: the same envelope on KZ's own connection is accepted.
            async with open_channel(f"127.0.0.1:{node.port}", peer=uz, tls=as_tls(kz)) as channel:
                call = exchange_pb2_grpc.ExchangeServiceStub(channel).Exchange(timeout=WAIT)
                await call.write(request)
                resp = await call.read()
                await call.done_writing()
                assert resp is not grpc.aio.EOF
                await call.code()
            assert query(db_path(home), "SELECT sender FROM inbox") == [("KZ",)]
        finally:
            await node.stop()

    asyncio.run(scenario())


# -- plaintext (development only) ----------------------------------------------------


def test_plaintext_is_used_when_both_sides_set_it(tmp_path: Path) -> None:
    kz_home, uz_home = pair(tmp_path)
    for home in (kz_home, uz_home):
        patch_config(home, "server", {"plaintext": True})
    items = [declaration("KZ", ["UZ"], 1)]

    async def scenario() -> None:
        kz, uz = await start_pair(kz_home, uz_home)
        try:
            ids = send(kz_home, items)
            await wait_until(lambda: ids <= set(incoming_records(uz_home)), "record at UZ")
            await wait_until(lambda: outbox_states(kz_home) == ["delivered"], "receipt at KZ")
            async with grpc.aio.insecure_channel(f"127.0.0.1:{uz.port}") as channel:
                await get_identity(channel)  # plaintext server indeed
        finally:
            await stop_all(kz, uz)

    asyncio.run(scenario())


@pytest.mark.parametrize("plaintext_side", ["KZ", "UZ"])
def test_a_tls_node_and_a_plaintext_node_do_not_exchange(tmp_path: Path, plaintext_side: str) -> None:
    kz_home, uz_home = pair(tmp_path)
    patch_config(kz_home if plaintext_side == "KZ" else uz_home, "server", {"plaintext": True})
    one_attempt_only(kz_home)
    items = [declaration("KZ", ["UZ"], 1)]

    async def scenario() -> None:
        kz, uz = await start_pair(kz_home, uz_home)
        try:
            send(kz_home, items)
            await wait_until(lambda: peer_state(kz_home, "UZ")[0] >= 1, "a failed attempt KZ -> UZ")
            assert outbox_states(kz_home) == ["queued"]
            assert query(db_path(uz_home), "SELECT COUNT(*) FROM inbox") == [(0,)]
            # The handshake itself, one call: the TLS side and the plaintext side cannot talk.
            uz_for_kz = kz.peers.get("UZ")
            assert uz_for_kz is not None
            channel = open_channel(f"127.0.0.1:{uz.port}", peer=uz_for_kz, tls=kz.tls)
            async with channel:
                with pytest.raises(grpc.aio.AioRpcError) as err:
                    await get_identity(channel)
            assert err.value.code() == grpc.StatusCode.UNAVAILABLE
        finally:
            await stop_all(kz, uz)

    asyncio.run(scenario())


def test_a_peer_without_a_pinned_certificate_is_reachable_only_in_plaintext_mode(tmp_path: Path) -> None:
    """An identity file made before TLS: the node still starts, and says why it cannot deliver to that peer."""
    uz_home = make_home(tmp_path, "UZ", "UZ")
    old = LocalIdentity("KZ", "KZ", "Customs service of KZ", SigningKey.generate(), EncryptionKey.generate())
    add_fake_peer(uz_home, old)  # no tls_certificate in it
    items = [declaration("UZ", ["KZ"], 1)]

    async def scenario() -> None:
        node = await open_node(uz_home)
        try:
            assert node.peers.get("KZ") is not None and node.peers.get("KZ").tls_certificate == b""  # type: ignore[union-attr]
            await node.start_server()
            await node.start_work()
            send(uz_home, items)
            await wait_until(lambda: outbox_states(uz_home) == ["queued"], "record queued for KZ")
            _, error = peer_state(uz_home, "KZ")
            assert "peer KZ has no pinned TLS certificate" in error
            assert "reached only in plaintext mode" in error and "plaintext = true" in error
        finally:
            await node.stop()

    asyncio.run(scenario())


def test_helpers_peer_nodes_with_pinned_certificates(tmp_path: Path) -> None:
    """The integration helpers' nodes pin each other's certificates (so every exchange test runs over TLS)."""
    kz_home = make_home(tmp_path, "KZ", "KZ")
    uz_home = make_home(tmp_path, "UZ", "UZ")
    peer_up([kz_home, uz_home], tmp_path)
    kz_local = load_local_identity(load_config(kz_home))
    text = (uz_home / "peers" / "KZ.identity.json").read_text("utf-8")
    assert parse_identity_file(text, "KZ.identity.json").peer.tls_certificate == kz_local.tls_certificate
    assert load_config(kz_home).server.plaintext is False


@pytest.mark.parametrize("node_id", ["KZ", "kz_1", "K.Z-2", "9" + "a" * 62])
def test_every_valid_node_id_gets_a_certificate_its_peers_accept(node_id: str) -> None:
    tls = generate_tls_identity(node_id, now=time.time())
    check_peer_certificate(tls.certificate, node_id)
    with pytest.raises(CryptoError, match="the TLS certificate is for"):
        check_peer_certificate(tls.certificate, "other")


def test_an_encrypted_tls_key_opens_with_the_node_passphrase_only(tmp_path: Path) -> None:
    home = make_home(tmp_path, "KZ", "KZ")
    cfg = load_config(home)
    key = cfg.path(cfg.keys.tls_key)
    clear = serialization.load_pem_private_key(key.read_bytes(), password=None)
    key.write_bytes(
        clear.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"correct horse"),
        )
    )
    assert load_local_identity(cfg, environ={"TAMGA_KEY_PASSPHRASE": "correct horse"}).tls_certificate
    with pytest.raises(KeyFileError, match=r"tls\.key: the TLS key is encrypted and no passphrase was given"):
        load_local_identity(cfg, environ={})
    with pytest.raises(KeyFileError, match=r"tls\.key: not a PEM private key, or wrong passphrase"):
        load_local_identity(cfg, environ={"TAMGA_KEY_PASSPHRASE": "wrong"})
