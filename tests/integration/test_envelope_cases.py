"""Conformance cases ENV-001..ENV-008 and RPL-001..RPL-004, against real nodes on real gRPC (TLS).

Receiving cases (the suite sends as a peer): a real UZ node, and a
programmable fake KZ (tests/integration/test_wire.py) that sends crafted
batches over a real TLS channel and checks the signed receipts, UZ's store
(read-only) and UZ's incoming folder. Sending cases (the suite receives as a
peer): a real KZ node sends to a fake UZ server that keeps what it gets.
Each test names its case id; its docstring cites it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from tamga.app import Node
from tamga.config import load_config
from tamga.crypto import CRYPTO_PROFILE_V1, SALT_SIZE, random_bytes
from tamga.home import export_identity, load_local_identity, parse_identity_file
from tamga.protocol import (
    ENVELOPE_PURPOSE,
    PROTOCOL_VERSION,
    LocalIdentity,
    check_receipts,
    envelope_digest,
    read_identity,
    seal,
    sign_receipts,
)
from tamga.tools.federation import patch_config
from tamga.transport import ServerTls, TlsIdentity, build_server
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc, records_pb2

from .nodes import (
    WAIT,
    as_record,
    contact_message,
    declaration,
    make_home,
    point,
    query,
    records_file,
    wait_until,
)
from .test_wire import (
    Wire,
    add_fake_peer,
    batch,
    connect,
    exchange,
    fake_identity,
    flipped,
    header_of,
    receipts_of,
    sealed,
    uz_as_seen_by_a_stranger,
)

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason
Envelope = envelope_pb2.Envelope
DAY = 86400.0


# -- the receiving node (UZ) and the fake sending peer (KZ) ---------------------------


def uz_home(tmp_path: Path, *, limits: dict | None = None, also_known: tuple[LocalIdentity, ...] = ()) -> tuple:
    """UZ's node directory knowing the fake KZ (and ``also_known``); returns (home, kz)."""
    home = make_home(tmp_path, "UZ", "UZ")
    kz = fake_identity("KZ", "KZ")
    for local in (kz, *also_known):
        add_fake_peer(home, local)
    if limits:
        patch_config(home, "limits", limits)
    return home, kz


@contextlib.asynccontextmanager
async def uz_running(home: Path, kz: LocalIdentity, *, clock: Callable[[], float] = time.time) -> AsyncIterator[Wire]:
    """Run UZ (server, hand-off, everything) with ``clock``; the fake KZ connected over TLS."""
    node = await Node.open(load_config(home), clock=clock)
    try:
        await node.start_server()
        await node.start_work()
        async with connect(node, kz) as channel:
            stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
            resp = await stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=WAIT)
            yield Wire(node, home, stub, read_identity(resp.identity), kz)
    finally:
        await node.stop()


def run_uz(tmp_path: Path, body: Callable[[Wire], object], **kwargs: object) -> None:
    home, kz = uz_home(tmp_path, **kwargs)  # type: ignore[arg-type]

    async def main() -> None:
        async with uz_running(home, kz) as w:
            await body(w)  # type: ignore[misc]

    asyncio.run(main())


def sealed_at(w: Wire, item: dict, now: float, message_id: str | None = None) -> Envelope:
    """seal() by the fake KZ with its clock at ``now``."""
    rec = as_record(item)
    s = seal(
        local=w.kz,
        peer=w.uz,
        record_bytes=rec.SerializeToString(),
        record_type=rec.WhichOneof("body"),
        message_id=message_id or str(uuid.uuid4()),
        now=now,
    )
    return Envelope.FromString(s.envelope)


def crafted(
    w: Wire,
    item: dict,
    *,
    header: Callable[[envelope_pb2.EnvelopeHeader], None] = lambda h: None,
    signer: LocalIdentity | None = None,
    sign_plaintext: Callable[[bytes], bytes] = lambda p: p,
    encrypt: Callable[[bytes], bytes] | None = None,
    signed_header: Callable[[bytes], bytes] = lambda h: h,
) -> Envelope:
    """An envelope built by hand, step by step, so each step can be bent.

    ``header`` changes the header before it is signed; ``signer`` signs (default
    KZ); ``sign_plaintext`` gives the plaintext that is signed from the one
    sent; ``encrypt`` encrypts (default KZ's box to UZ); ``signed_header``
    changes the header bytes after signing.
    """
    rec = as_record(item)
    h = envelope_pb2.EnvelopeHeader(
        protocol_version=PROTOCOL_VERSION,
        crypto_profile=CRYPTO_PROFILE_V1,
        sender=w.kz.node_id,
        recipient=w.uz.node_id,
        message_id=str(uuid.uuid4()),
        sender_signing_key_id=w.kz.signing_key.key_id,
        sender_encryption_key_id=w.kz.encryption_key.key_id,
        recipient_encryption_key_id=w.uz.encryption_key.key_id,
        record_type=rec.WhichOneof("body"),
    )
    h.created_at.FromNanoseconds(time.time_ns())
    header(h)
    header_bytes = h.SerializeToString()
    plaintext = random_bytes(SALT_SIZE) + rec.SerializeToString()
    signature = (signer or w.kz).signing_key.sign(ENVELOPE_PURPOSE, header_bytes, sign_plaintext(plaintext))
    body = (encrypt or w.uz.channel(w.kz).encrypt)(plaintext)
    return Envelope(header=signed_header(header_bytes), body=body, signature=signature)


async def send_one(w: Wire, env: Envelope) -> envelope_pb2.Receipt:
    b = batch(env)
    [signed] = await exchange(w.stub, [b])
    [r] = receipts_of(w, signed, b, sender=None)
    return r


async def assert_nothing_reached_the_adapter(w: Wire, refused: int) -> None:
    """Inbox empty, ``refused`` rows logged, and a good envelope after is the only thing handed off."""
    assert w.q("SELECT COUNT(*) FROM inbox") == [(0,)]
    assert w.q("SELECT COUNT(*) FROM refused") == [(refused,)]
    good = contact_message("KZ", ["UZ"], "good one after")
    r = await send_one(w, sealed(w, good))
    assert r.status == S.RECEIPT_STATUS_ACCEPTED
    await wait_until(lambda: len(w.incoming()) >= 1, "the good record handed off")
    await asyncio.sleep(0.2)
    [(mid,)] = w.q("SELECT message_id FROM inbox")
    files = w.incoming()
    assert len(files) == 1 and files[0].name.endswith(f"-{mid}.json"), files


def assert_rejected(r: envelope_pb2.Receipt, reason: int, *words: str) -> None:
    assert r.status == S.RECEIPT_STATUS_REJECTED, S.Name(r.status)
    assert r.reason == reason, f"{R.Name(r.reason)}: {r.detail}"
    for word in words:
        assert word in r.detail, r.detail


# -- ENV: envelope integrity, authenticity, confidentiality ---------------------------


class FakeReceiver(exchange_pb2_grpc.ExchangeServiceServicer):
    """A fake UZ that keeps every envelope it gets and answers ACCEPTED, signed."""

    def __init__(self, local: LocalIdentity) -> None:
        self.local = local
        self.envelopes: list[Envelope] = []

    async def Exchange(self, request_iterator, context):  # type: ignore[no-untyped-def]
        async for request in request_iterator:
            self.envelopes.extend(request.batch.envelopes)
            receipts = [
                envelope_pb2.Receipt(
                    message_id=header_of(e).message_id,
                    envelope_digest=envelope_digest(e),
                    status=S.RECEIPT_STATUS_ACCEPTED,
                )
                for e in request.batch.envelopes
            ]
            sender = header_of(request.batch.envelopes[0]).sender if request.batch.envelopes else ""
            signed = sign_receipts(
                local=self.local, sender=sender, batch_id=request.batch.batch_id, receipts=receipts, now=time.time()
            )
            yield exchange_pb2.ExchangeResponse(receipts=signed)


def capture_outbound(tmp_path: Path, items: list[dict]) -> tuple[list[Envelope], LocalIdentity, Path, Path]:
    """A real KZ node sends ``items`` (dropped in its outgoing folder) to a fake UZ.

    Returns the envelopes as received, the fake UZ, KZ's published identity
    file and KZ's node directory.
    """
    kz_home = make_home(tmp_path, "KZ", "KZ")
    uz = fake_identity("UZ", "UZ")
    add_fake_peer(kz_home, uz)
    published = tmp_path / "kz.identity.json"
    receiver = FakeReceiver(uz)

    async def main() -> None:
        kz_local = load_local_identity(load_config(kz_home))
        published.write_text(export_identity(kz_local, ["127.0.0.1:1"]), "utf-8")
        kz_cert = kz_local.tls_certificate
        tls = ServerTls(TlsIdentity(key_pem=uz.tls_key, certificate=uz.tls_certificate), lambda: [kz_cert])
        server, port, _ = await build_server(receiver, "127.0.0.1:0", tls=tls)  # type: ignore[arg-type]
        node = await Node.open(load_config(kz_home))
        try:
            await node.start_server()
            point(node, "UZ", port)
            await node.start_work()
            (kz_home / "outgoing" / "records.json").write_bytes(records_file(items))
            await wait_until(lambda: len(receiver.envelopes) >= len(items), "KZ's envelopes at the fake UZ")
            db = load_config(kz_home).path(load_config(kz_home).store.path)
            await wait_until(
                lambda: query(db, "SELECT COUNT(*) FROM outbox WHERE state = 'delivered'") == [(len(items),)],
                "KZ holding the fake UZ's receipts",
            )
        finally:
            await node.stop()
            await server.stop(None)

    asyncio.run(main())
    return receiver.envelopes, uz, published, kz_home


def test_env_001_outbound_signature_verifies_against_the_published_key(tmp_path: Path) -> None:
    """ENV-001: the node's outbound envelope is signed, with an allowed algorithm, by the key it publishes."""
    items = [declaration("KZ", ["UZ"], 1), contact_message("KZ", ["UZ"])]
    envelopes, uz, published, _ = capture_outbound(tmp_path, items)
    kz = parse_identity_file(published.read_text("utf-8"), str(published)).peer
    assert len(envelopes) == 2
    for env in envelopes:
        h = header_of(env)
        assert h.protocol_version == PROTOCOL_VERSION == 1
        assert h.crypto_profile == CRYPTO_PROFILE_V1
        assert (h.sender, h.recipient) == ("KZ", "UZ")
        assert h.sender_signing_key_id == kz.verify_key.key_id
        assert h.sender_encryption_key_id == kz.encryption_key.key_id
        assert len(env.signature) == 64
        plaintext = kz.channel(uz).decrypt(env.body)
        kz.verify_key.verify(ENVELOPE_PURPOSE, env.signature, env.header, plaintext)  # raises if not
        # The signature covers the header bytes as sent: any other header does not verify.
        with pytest.raises(Exception, match="does not verify"):
            kz.verify_key.verify(ENVELOPE_PURPOSE, env.signature, flipped(env, "header", 3).header, plaintext)
        assert time.time() - 60 < h.created_at.ToNanoseconds() / 1e9 <= time.time()


def test_env_002_outbound_payload_is_encrypted_to_the_recipient_and_decrypts(tmp_path: Path) -> None:
    """ENV-002: the payload is encrypted to the recipient's key and decrypts to the record sent."""
    items = [declaration("KZ", ["UZ"], 7)]
    envelopes, uz, published, _ = capture_outbound(tmp_path, items)
    kz = parse_identity_file(published.read_text("utf-8"), str(published)).peer
    [env] = envelopes
    h = header_of(env)
    assert h.recipient_encryption_key_id == uz.encryption_key.key_id
    assert b"10702020/010324/0000007" not in env.SerializeToString()  # nothing of the record in the clear
    plaintext = kz.channel(uz).decrypt(env.body)
    record = records_pb2.Record.FromString(plaintext[SALT_SIZE:])
    assert record == as_record(items[0])
    assert h.record_type == record.WhichOneof("body")
    # Nobody else can open it: not another node's key, not KZ's identity with another recipient key.
    other = fake_identity("TJ", "TJ")
    with pytest.raises(Exception, match="does not decrypt"):
        kz.channel(other).decrypt(env.body)


def test_env_003_payload_bit_flipped_after_signing_is_rejected_and_nothing_reaches_the_adapter(
    tmp_path: Path,
) -> None:
    """ENV-003: a payload changed after signing is rejected; nothing reaches the store or the adapter."""

    async def body(w: Wire) -> None:
        item = declaration("KZ", ["UZ"], 3)
        env = sealed(w, item)
        cipher_flips = [flipped(env, "body", i) for i in (0, 30, len(env.body) // 2, len(env.body) - 1)]
        for e in cipher_flips:
            assert_rejected(await send_one(w, e), R.REJECT_REASON_DECRYPTION_FAILED, "does not decrypt")

        # The record bytes flipped after signing and then encrypted properly: only the signature catches it.
        def flip(p: bytes) -> bytes:
            return p[:-1] + bytes([p[-1] ^ 1])

        for changed in (
            crafted(w, item, sign_plaintext=flip),
            crafted(
                w,
                item,
                sign_plaintext=lambda p: p[:SALT_SIZE] + flip(p[SALT_SIZE : SALT_SIZE + 5]) + p[SALT_SIZE + 5 :],
            ),
        ):
            assert_rejected(await send_one(w, changed), R.REJECT_REASON_BAD_SIGNATURE, "does not verify")
        assert w.incoming() == []
        await assert_nothing_reached_the_adapter(w, refused=6)

    run_uz(tmp_path, body)


HEADER_CHANGES: dict[str, tuple[Callable[[envelope_pb2.EnvelopeHeader], None], int]] = {
    "message_id": (lambda h: setattr(h, "message_id", str(uuid.uuid4())), R.REJECT_REASON_BAD_SIGNATURE),
    "created_at": (lambda h: h.created_at.FromSeconds(h.created_at.seconds - 60), R.REJECT_REASON_BAD_SIGNATURE),
    "record_type": (lambda h: setattr(h, "record_type", "contact_point_message"), R.REJECT_REASON_BAD_SIGNATURE),
    "recipient": (lambda h: setattr(h, "recipient", "TJ"), R.REJECT_REASON_WRONG_RECIPIENT),
    "sender": (lambda h: setattr(h, "sender", "KG"), R.REJECT_REASON_UNKNOWN_SENDER),
    "protocol_version": (lambda h: setattr(h, "protocol_version", 2), R.REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION),
    "signing_key_id": (lambda h: setattr(h, "sender_signing_key_id", "ed25519:2"), R.REJECT_REASON_UNKNOWN_KEY),
}


@pytest.mark.parametrize("field", list(HEADER_CHANGES))
def test_env_004_routing_header_changed_after_signing_is_rejected(tmp_path: Path, field: str) -> None:
    """ENV-004: a routing header field changed after signing is rejected (and nothing is kept)."""
    change, reason = HEADER_CHANGES[field]

    def rewrite(header_bytes: bytes) -> bytes:
        h = envelope_pb2.EnvelopeHeader.FromString(header_bytes)
        change(h)
        return h.SerializeToString()

    async def body(w: Wire) -> None:
        env = crafted(w, declaration("KZ", ["UZ"], 4), signed_header=rewrite)
        assert_rejected(await send_one(w, env), reason)
        await assert_nothing_reached_the_adapter(w, refused=1)

    run_uz(tmp_path, body)


def test_env_005_valid_signature_from_a_key_not_bound_to_the_claimed_sender_is_rejected(tmp_path: Path) -> None:
    """ENV-005: a valid signature by another node's key (TJ, a known peer), claiming to be KZ, is rejected."""
    tj = fake_identity("TJ", "TJ")
    stranger = fake_identity("KZ", "KZ")  # claims KZ's id with keys UZ never bound to KZ

    async def body(w: Wire) -> None:
        item = declaration("KZ", ["UZ"], 5)
        # TJ's genuine signature (it verifies with TJ's published key), body sealed with KZ's box.
        env = crafted(w, item, signer=tj)
        tj_peer = read_identity(tj.identity_document([], time.time()))
        plaintext = w.uz.channel(w.kz).decrypt(env.body)
        tj_peer.verify_key.verify(ENVELOPE_PURPOSE, env.signature, env.header, plaintext)
        assert_rejected(await send_one(w, env), R.REJECT_REASON_BAD_SIGNATURE, "does not verify with ed25519:1")
        # Signed and encrypted entirely with a stranger's keys under KZ's name and key ids.
        forged = sealed(w, item, local=stranger, peer=uz_as_seen_by_a_stranger(w))
        assert_rejected(await send_one(w, forged), R.REJECT_REASON_DECRYPTION_FAILED)
        await assert_nothing_reached_the_adapter(w, refused=2)

    run_uz(tmp_path, body, also_known=(tj,))


DOWNGRADES: dict[str, tuple[Callable[[envelope_pb2.EnvelopeHeader], None], int, str]] = {
    "older_profile": (
        lambda h: setattr(h, "crypto_profile", "tamga-ed25519-x25519-xsalsa20poly1305-0"),
        R.REJECT_REASON_UNKNOWN_CRYPTO_PROFILE,
        CRYPTO_PROFILE_V1,
    ),
    "weak_profile": (
        lambda h: setattr(h, "crypto_profile", "tamga-rsa1024-pkcs1v15-sha1-1"),
        R.REJECT_REASON_UNKNOWN_CRYPTO_PROFILE,
        CRYPTO_PROFILE_V1,
    ),
    "no_profile": (lambda h: setattr(h, "crypto_profile", ""), R.REJECT_REASON_UNKNOWN_CRYPTO_PROFILE, "accepted"),
    "protocol_version_0": (
        lambda h: setattr(h, "protocol_version", 0),
        R.REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION,
        "supported: 1",
    ),
    "protocol_version_2": (
        lambda h: setattr(h, "protocol_version", 2),
        R.REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION,
        "supported: 1",
    ),
}


@pytest.mark.parametrize("case", list(DOWNGRADES))
def test_env_006_disallowed_profile_or_protocol_version_is_rejected_never_downgraded(tmp_path: Path, case: str) -> None:
    """ENV-006: an unknown or weaker crypto profile, or protocol version 0 or 2, is refused, properly signed or not."""
    change, reason, named = DOWNGRADES[case]

    async def body(w: Wire) -> None:
        resp = await w.stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=WAIT)
        assert list(resp.protocol_versions) == [1] and list(resp.crypto_profiles) == [CRYPTO_PROFILE_V1]
        env = crafted(w, declaration("KZ", ["UZ"], 6), header=change)  # signed over the changed header
        assert_rejected(await send_one(w, env), reason, named)
        await assert_nothing_reached_the_adapter(w, refused=1)

    run_uz(tmp_path, body)


def test_env_007_envelope_encrypted_for_another_recipient_is_rejected_without_leaking_plaintext(
    tmp_path: Path,
) -> None:
    """ENV-007: an envelope encrypted for another node is rejected; no byte of its record shows anywhere."""
    tj = fake_identity("TJ", "TJ")
    tj_peer = read_identity(tj.identity_document([], time.time()))
    canary = f"CANARY-{uuid.uuid4().hex}"

    async def body(w: Wire) -> None:
        item = contact_message("KZ", ["UZ"], canary)
        # Addressed to TJ and sealed for TJ's keys.
        to_tj = sealed(w, item, peer=tj_peer)
        r1 = await send_one(w, to_tj)
        assert_rejected(r1, R.REJECT_REASON_WRONG_RECIPIENT, "'TJ'")
        # Addressed to UZ (header names UZ's key) but the body is encrypted to TJ's key.
        for_tj = crafted(w, item, encrypt=tj_peer.channel(w.kz).encrypt)
        r2 = await send_one(w, for_tj)
        assert_rejected(r2, R.REJECT_REASON_DECRYPTION_FAILED)
        for r in (r1, r2):
            assert canary not in r.detail and canary.encode() not in r.SerializeToString()
        assert w.q("SELECT COUNT(*) FROM inbox") == [(0,)]
        for (detail,) in w.q("SELECT detail FROM refused"):
            assert canary not in detail
        await assert_nothing_reached_the_adapter(w, refused=2)
        for f in sorted(w.home.rglob("*")):
            if f.is_file():
                assert canary.encode() not in f.read_bytes(), f"record text leaked into {f}"

    run_uz(tmp_path, body)


@pytest.mark.parametrize("signature", [b"", bytes(64), b"\x01" * 63])
def test_env_008_unsigned_envelope_is_rejected(tmp_path: Path, signature: bytes) -> None:
    """ENV-008: an envelope without a (valid) signature is rejected."""

    async def body(w: Wire) -> None:
        env = sealed(w, declaration("KZ", ["UZ"], 8))
        env.signature = signature
        assert_rejected(await send_one(w, env), R.REJECT_REASON_BAD_SIGNATURE)
        await assert_nothing_reached_the_adapter(w, refused=1)

    run_uz(tmp_path, body)


# -- RPL: replays, freshness, conflicts, restarts -------------------------------------


def test_rpl_001_exact_replay_is_duplicate_and_not_delivered_again(tmp_path: Path) -> None:
    """RPL-001: an exact replay gets DUPLICATE (a signed, valid receipt) and the record is handed off once."""

    async def body(w: Wire) -> None:
        item = contact_message("KZ", ["UZ"], "replay")
        env = sealed(w, item)
        mid = header_of(env).message_id
        assert (await send_one(w, env)).status == S.RECEIPT_STATUS_ACCEPTED
        await wait_until(lambda: len(w.incoming()) == 1, "the record handed off")
        for _ in range(3):
            b = batch(env)
            [signed] = await exchange(w.stub, [b])
            [o] = check_receipts(signed, local=w.kz, peer=w.uz, batch_id=b.batch_id, sent={mid: envelope_digest(env)})
            assert o.status == S.RECEIPT_STATUS_DUPLICATE and o.delivered
        await asyncio.sleep(0.3)
        assert len(w.incoming()) == 1
        assert w.q("SELECT message_id FROM inbox") == [(mid,)]
        assert w.q("SELECT COUNT(*) FROM refused") == [(0,)]

    run_uz(tmp_path, body)


def test_rpl_002_timestamp_outside_the_freshness_window_is_stale(tmp_path: Path) -> None:
    """RPL-002: sealed longer ago than max_envelope_age (14 days) or over max_clock_skew (5 min) ahead -> STALE."""

    async def body(w: Wire) -> None:
        now = time.time()
        old = sealed_at(w, declaration("KZ", ["UZ"], 1), now - 15 * DAY)
        ahead = sealed_at(w, declaration("KZ", ["UZ"], 2), now + 10 * 60)
        inside = [
            sealed_at(w, declaration("KZ", ["UZ"], 3), now - 13 * DAY),
            sealed_at(w, declaration("KZ", ["UZ"], 4), now + 60),
        ]
        r = await send_one(w, old)
        assert_rejected(r, R.REJECT_REASON_STALE, "15d", "ago", "max_envelope_age")
        r = await send_one(w, ahead)
        assert_rejected(r, R.REJECT_REASON_STALE, "future", "at most 5m", "max_clock_skew")
        for env in inside:
            assert (await send_one(w, env)).status == S.RECEIPT_STATUS_ACCEPTED
        assert w.q("SELECT reason FROM refused ORDER BY id") == [("REJECT_REASON_STALE",)] * 2
        assert sorted(m for (m,) in w.q("SELECT message_id FROM inbox")) == sorted(
            header_of(e).message_id for e in inside
        )
        await wait_until(lambda: len(w.incoming()) == 2, "the two fresh records handed off")

    run_uz(tmp_path, body)


def test_rpl_002_the_window_comes_from_the_limits_section(tmp_path: Path) -> None:
    """RPL-002: [limits] max_envelope_age and max_clock_skew set the window."""

    async def body(w: Wire) -> None:
        now = time.time()
        r = await send_one(w, sealed_at(w, declaration("KZ", ["UZ"], 1), now - 2 * 3600))
        assert_rejected(r, R.REJECT_REASON_STALE, "2h ago", "at most 1h ago")
        r = await send_one(w, sealed_at(w, declaration("KZ", ["UZ"], 2), now + 120))
        assert_rejected(r, R.REJECT_REASON_STALE, "future", "at most 30s")
        r = await send_one(w, sealed_at(w, declaration("KZ", ["UZ"], 3), now - 1800))
        assert r.status == S.RECEIPT_STATUS_ACCEPTED

    run_uz(tmp_path, body, limits={"max_envelope_age": "1h", "max_clock_skew": "30s"})


def test_rpl_003_same_message_id_with_a_different_digest_is_a_conflict(tmp_path: Path) -> None:
    """RPL-003: a message id reused for other content -> MESSAGE_ID_CONFLICT; the first record stays, once."""

    async def body(w: Wire) -> None:
        mid = str(uuid.uuid4())
        first_item = declaration("KZ", ["UZ"], 1)
        first = sealed(w, first_item, message_id=mid)
        assert (await send_one(w, first)).status == S.RECEIPT_STATUS_ACCEPTED
        other = sealed(w, declaration("KZ", ["UZ"], 2), message_id=mid)
        assert_rejected(await send_one(w, other), R.REJECT_REASON_MESSAGE_ID_CONFLICT, "different envelope")
        assert w.q("SELECT message_id, digest FROM inbox") == [(mid, envelope_digest(first))]
        assert w.q("SELECT message_id, reason, digest FROM refused") == [
            (mid, "REJECT_REASON_MESSAGE_ID_CONFLICT", envelope_digest(other))
        ]
        await wait_until(lambda: len(w.incoming()) == 1, "the first record handed off")
        await asyncio.sleep(0.3)
        from .nodes import incoming_records

        assert incoming_records(w.home) == {first_item["meta"]["recordId"]: [as_record(first_item)]}

    run_uz(tmp_path, body)


def test_rpl_004_replay_after_a_restart_is_still_detected(tmp_path: Path) -> None:
    """RPL-004: after UZ restarts, a replay is DUPLICATE, a reused id a conflict; the record is handed off once.

    A second restart with UZ's clock past the window: the very envelope it
    committed is still a DUPLICATE (its sender may have lost the receipt),
    while a never-seen envelope sealed at the same time is STALE.
    """
    home, kz = uz_home(tmp_path)
    item = contact_message("KZ", ["UZ"], "before restart")
    state: dict[str, Envelope] = {}

    async def main() -> None:
        async with uz_running(home, kz) as w:
            env = sealed(w, item)
            state["env"] = env
            state["unseen"] = sealed(w, declaration("KZ", ["UZ"], 9))
            assert (await send_one(w, env)).status == S.RECEIPT_STATUS_ACCEPTED
            await wait_until(lambda: len(w.incoming()) == 1, "the record handed off")
        env = state["env"]
        mid = header_of(env).message_id
        async with uz_running(home, kz) as w:  # a new node object on the same directory and store
            b = batch(env)
            [signed] = await exchange(w.stub, [b])
            [o] = check_receipts(signed, local=kz, peer=w.uz, batch_id=b.batch_id, sent={mid: envelope_digest(env)})
            assert o.status == S.RECEIPT_STATUS_DUPLICATE
            other = sealed(w, declaration("KZ", ["UZ"], 2), message_id=mid)
            assert_rejected(await send_one(w, other), R.REJECT_REASON_MESSAGE_ID_CONFLICT)
            await asyncio.sleep(0.3)
            assert len(w.incoming()) == 1
        async with uz_running(home, kz, clock=lambda: time.time() + 20 * DAY) as w:
            assert (await send_one(w, env)).status == S.RECEIPT_STATUS_DUPLICATE
            assert_rejected(await send_one(w, state["unseen"]), R.REJECT_REASON_STALE, "max_envelope_age")
            await asyncio.sleep(0.3)
            assert len(w.incoming()) == 1
            assert w.q("SELECT message_id FROM inbox") == [(mid,)]

    asyncio.run(main())


# -- the sender of a stale envelope -------------------------------------------------------


def test_an_envelope_refused_as_stale_is_settled_rejected_at_the_sender_and_not_retried(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    """RPL-002, sender side: KZ sealed a record longer ago than UZ's window (its clock 15 days behind).

    UZ refuses it STALE; KZ keeps it in its outbox as rejected with the reason
    and UZ's signed receipt, shows it in its status, and never sends it again.
    """
    from .nodes import db_path, peer_up

    kz_home, uz_home_ = make_home(tmp_path, "KZ", "KZ"), make_home(tmp_path, "UZ", "UZ")
    peer_up([kz_home, uz_home_], tmp_path)
    item = declaration("KZ", ["UZ"], 1)

    async def main() -> None:
        uz = await Node.open(load_config(uz_home_))
        kz = await Node.open(load_config(kz_home), clock=lambda: time.time() - 15 * DAY)
        try:
            await uz.start_server()
            await kz.start_server()
            point(kz, "UZ", uz.port)
            point(uz, "KZ", kz.port)
            await uz.start_work()
            await kz.start_work()
            (kz_home / "outgoing" / "records.json").write_bytes(records_file([item]))
            await wait_until(
                lambda: query(db_path(kz_home), "SELECT state FROM outbox") == [("rejected",)], "KZ's record settled"
            )
            [row] = query(db_path(kz_home), "SELECT reject_reason, reject_detail, receipt_id FROM outbox")
            assert row[0] == "REJECT_REASON_STALE"
            assert "max_envelope_age" in row[1] and "15d" in row[1]
            assert row[2] is not None  # UZ's signed receipt is kept as evidence
            [rejection] = await kz.store.recent_rejections()
            assert rejection["reason"] == "REJECT_REASON_STALE" and rejection["peer"] == "UZ"
            counts = await kz.store.counts()
            assert counts["rejected"] == 1 and counts["queued"] == 0
            await asyncio.sleep(1.5)  # several delivery polls: nothing is sent again
            assert query(db_path(uz_home_), "SELECT COUNT(*) FROM refused") == [(1,)]
            assert query(db_path(uz_home_), "SELECT COUNT(*) FROM inbox") == [(0,)]
            assert query(db_path(kz_home), "SELECT state FROM outbox") == [("rejected",)]
        finally:
            await kz.stop()
            await uz.stop()

    asyncio.run(main())
    out = capfd.readouterr()
    expired = [line for line in (out.out + out.err).splitlines() if "record_expired" in line]
    assert len(expired) == 1, out.out + out.err
    assert "REJECT_REASON_STALE" in expired[0] and "will_retry=False" in expired[0]
    assert "reseal" in expired[0] and "max_envelope_age" in expired[0]
