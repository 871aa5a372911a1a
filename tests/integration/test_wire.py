"""One real node (UZ) on real gRPC, and a programmable fake peer talking to it.

The fake KZ holds its own keys; its identity file was added to UZ, so UZ
knows it as a peer. It sends hand-made envelope batches, sealed with
:func:`tamga.protocol.seal` and then tampered with, and checks the signed
receipts UZ answers with, UZ's store (read-only) and UZ's incoming folder.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

import grpc
import pytest
from tamga.app import Node
from tamga.config import load_config
from tamga.crypto import CRYPTO_PROFILE_V1, SALT_SIZE, EncryptionKey, SigningKey, random_bytes
from tamga.errors import CryptoError
from tamga.home import add_peer, export_identity
from tamga.protocol import (
    ENVELOPE_PURPOSE,
    PROTOCOL_VERSION,
    RECEIPT_PURPOSE,
    LocalIdentity,
    Peer,
    check_receipts,
    envelope_digest,
    read_identity,
    seal,
)
from tamga.store import REFUSED_ROWS_PER_MINUTE
from tamga.tools.federation import patch_config
from tamga.transport import TlsIdentity, generate_tls_identity, open_channel
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc, identity_pb2

from .nodes import (
    WAIT,
    as_record,
    contact_message,
    db_path,
    declaration,
    files_in,
    incoming_records,
    make_home,
    open_node,
    query,
    wait_until,
)

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason
Envelope = envelope_pb2.Envelope


# -- the fake peer ---------------------------------------------------------------


def fake_identity(node_id: str, country: str) -> LocalIdentity:
    tls = generate_tls_identity(node_id, now=time.time())
    return LocalIdentity(
        node_id,
        country,
        f"Customs service of {country}",
        SigningKey.generate(),
        EncryptionKey.generate(),
        tls_key=tls.key_pem,
        tls_certificate=tls.certificate,
    )


def connect(node: Node, local: LocalIdentity) -> grpc.aio.Channel:
    """A TLS channel to ``node`` as the fake peer ``local``, pinning the node's certificate."""
    uz = read_identity(node.local.identity_document([], time.time()))
    return open_channel(
        f"127.0.0.1:{node.port}", peer=uz, tls=TlsIdentity(key_pem=local.tls_key, certificate=local.tls_certificate)
    )


@dataclasses.dataclass
class Wire:
    """A running UZ, a stub to it (TLS, as KZ), UZ as the fake peer sees it, and the fake KZ."""

    node: Node
    home: Path
    stub: exchange_pb2_grpc.ExchangeServiceStub
    uz: Peer
    kz: LocalIdentity

    @property
    def db(self) -> Path:
        return db_path(self.home)

    def q(self, sql: str) -> list[tuple]:
        return query(self.db, sql)

    def incoming(self) -> list[Path]:
        return files_in(self.home / "incoming")


def add_fake_peer(home: Path, local: LocalIdentity) -> None:
    path = home.parent / f"{local.node_id}.identity.json"
    path.write_text(export_identity(local, ["127.0.0.1:1"]), "utf-8")
    add_peer(load_config(home), path)


def run_wire(
    tmp_path: Path,
    body: Callable[[Wire], Awaitable[None]],
    *,
    limits: dict | None = None,
    also_known: Sequence[LocalIdentity] = (),
) -> None:
    """Start UZ (server, hand-off, everything) knowing the fake KZ, connect, run ``body``, stop."""
    home = make_home(tmp_path, "UZ", "UZ")
    kz = fake_identity("KZ", "KZ")
    for local in (kz, *also_known):
        add_fake_peer(home, local)
    if limits:
        patch_config(home, "limits", limits)

    async def main() -> None:
        node = await open_node(home)
        try:
            await node.start_server()
            await node.start_work()  # its queue to the fake KZ stays empty: nothing is sent to port 1
            async with connect(node, kz) as channel:
                stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
                resp = await stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=WAIT)
                await body(Wire(node, home, stub, read_identity(resp.identity), kz))
        finally:
            await node.stop()

    asyncio.run(main())


async def exchange(
    stub: exchange_pb2_grpc.ExchangeServiceStub, batches: Sequence[envelope_pb2.EnvelopeBatch]
) -> list[envelope_pb2.SignedReceiptBatch]:
    """One stream: write each batch, read its receipts, then close cleanly."""
    call = stub.Exchange(timeout=WAIT)
    out = []
    try:
        for batch in batches:
            await call.write(exchange_pb2.ExchangeRequest(batch=batch))
            resp = await asyncio.wait_for(call.read(), WAIT)
            assert resp is not grpc.aio.EOF, "the node closed the stream instead of answering"
            out.append(resp.receipts)
        await call.done_writing()
        assert await asyncio.wait_for(call.read(), WAIT) is grpc.aio.EOF
        assert await call.code() == grpc.StatusCode.OK
    finally:
        call.cancel()
    return out


def batch(*envelopes: Envelope, batch_id: str | None = None) -> envelope_pb2.EnvelopeBatch:
    return envelope_pb2.EnvelopeBatch(batch_id=batch_id or str(uuid.uuid4()), envelopes=list(envelopes))


def receipts_of(
    w: Wire, signed: envelope_pb2.SignedReceiptBatch, sent: envelope_pb2.EnvelopeBatch, sender: str | None = "KZ"
) -> list[envelope_pb2.Receipt]:
    """Verify a receipt batch by hand and return its receipts, in order."""
    w.uz.verify_key.verify(RECEIPT_PURPOSE, signed.signature, signed.receipt_batch)
    rb = envelope_pb2.ReceiptBatch.FromString(signed.receipt_batch)
    assert rb.protocol_version == PROTOCOL_VERSION
    assert rb.receiver == "UZ"
    if sender is not None:
        assert rb.sender == sender
    assert rb.batch_id == sent.batch_id
    assert rb.receiver_signing_key_id == w.uz.verify_key.key_id
    assert len(rb.receipts) == len(sent.envelopes)
    for receipt, env in zip(rb.receipts, sent.envelopes, strict=True):
        assert receipt.envelope_digest == envelope_digest(env), "receipt does not name the envelope as sent"
    return list(rb.receipts)


def uz_as_seen_by_a_stranger(w: Wire, **changes: object) -> Peer:
    """A separate copy of UZ's Peer (its own channel cache), optionally with changed fields."""
    fields = {
        "node_id": w.uz.node_id,
        "country": w.uz.country,
        "authority": w.uz.authority,
        "verify_key": w.uz.verify_key,
        "encryption_key": w.uz.encryption_key,
        "endpoints": w.uz.endpoints,
    }
    return Peer(**{**fields, **changes})  # type: ignore[arg-type]


def sealed(
    w: Wire, item: dict, *, local: LocalIdentity | None = None, peer: Peer | None = None, message_id: str | None = None
) -> Envelope:
    """seal() by the fake KZ (or ``local``) to UZ (or ``peer``)."""
    rec = as_record(item)
    if local is not None and peer is None:
        peer = uz_as_seen_by_a_stranger(w)  # never share w.uz's channel cache with another key
    s = seal(
        local=local or w.kz,
        peer=peer or w.uz,
        record_bytes=rec.SerializeToString(),
        record_type=rec.WhichOneof("body"),
        message_id=message_id or str(uuid.uuid4()),
        now=time.time(),
    )
    return Envelope.FromString(s.envelope)


def sealed_with_header(w: Wire, item: dict, change: Callable[[envelope_pb2.EnvelopeHeader], None]) -> Envelope:
    """Like seal(), with the header changed before it is signed: a well-formed, properly signed envelope."""
    rec = as_record(item)
    header = envelope_pb2.EnvelopeHeader(
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
    header.created_at.FromNanoseconds(time.time_ns())
    change(header)
    header_bytes = header.SerializeToString()
    plaintext = random_bytes(SALT_SIZE) + rec.SerializeToString()
    signature = w.kz.signing_key.sign(ENVELOPE_PURPOSE, header_bytes, plaintext)
    body = w.uz.channel(w.kz).encrypt(plaintext)
    return Envelope(header=header_bytes, body=body, signature=signature)


def flipped(env: Envelope, field: str, index: int) -> Envelope:
    data = bytearray(getattr(env, field))
    data[index] ^= 0x01
    out = Envelope()
    out.CopyFrom(env)
    setattr(out, field, bytes(data))
    return out


def header_of(env: Envelope) -> envelope_pb2.EnvelopeHeader:
    return envelope_pb2.EnvelopeHeader.FromString(env.header)


# -- rejections ------------------------------------------------------------------


def _every_header_byte(w: Wire) -> list[Envelope]:
    env = sealed(w, declaration("KZ", ["UZ"]))
    return [flipped(env, "header", i) for i in range(len(env.header))]


def _every_body_byte(w: Wire) -> list[Envelope]:
    env = sealed(w, contact_message("KZ", ["UZ"]))
    return [flipped(env, "body", i) for i in range(len(env.body))]


def _every_signature_byte(w: Wire) -> list[Envelope]:
    env = sealed(w, declaration("KZ", ["UZ"]))
    return [flipped(env, "signature", i) for i in range(len(env.signature))]


def _short_signature(w: Wire) -> list[Envelope]:
    env = sealed(w, declaration("KZ", ["UZ"]))
    env.signature = env.signature[:-1]
    return [env]


def _wrong_recipient(w: Wire) -> list[Envelope]:
    # Sealed for UZ's keys but addressed to TJ, properly signed by KZ.
    tj = uz_as_seen_by_a_stranger(w, node_id="TJ")
    return [sealed(w, declaration("KZ", ["UZ"]), peer=tj)]


def _unknown_sender(w: Wire) -> list[Envelope]:
    return [sealed(w, declaration("TJ", ["UZ"]), local=fake_identity("TJ", "TJ"))]


def _impostor(w: Wire) -> list[Envelope]:
    # Claims to be KZ, but signs and encrypts with keys UZ does not hold for KZ (same key ids).
    return [sealed(w, declaration("KZ", ["UZ"]), local=fake_identity("KZ", "KZ"))]


def _spliced(w: Wire) -> list[Envelope]:
    # Header of one of KZ's envelopes with the body (and then also the signature) of another.
    a, b = sealed(w, declaration("KZ", ["UZ"], 1)), sealed(w, declaration("KZ", ["UZ"], 2))
    return [
        Envelope(header=a.header, body=b.body, signature=a.signature),
        Envelope(header=a.header, body=b.body, signature=b.signature),
    ]


def _unknown_crypto_profile(w: Wire) -> list[Envelope]:
    def change(h: envelope_pb2.EnvelopeHeader) -> None:
        h.crypto_profile = "tamga-ed448-x448-aes256gcm-2"

    return [sealed_with_header(w, declaration("KZ", ["UZ"]), change)]


def _unsupported_version(w: Wire) -> list[Envelope]:
    def change(h: envelope_pb2.EnvelopeHeader) -> None:
        h.protocol_version = 2

    return [sealed_with_header(w, declaration("KZ", ["UZ"]), change)]


def _record_type_mismatch(w: Wire) -> list[Envelope]:
    def change(h: envelope_pb2.EnvelopeHeader) -> None:
        h.record_type = "contact_point_message"

    return [sealed_with_header(w, declaration("KZ", ["UZ"]), change)]


ANY = None
CASES: dict[str, tuple[Callable[[Wire], list[Envelope]], int | None, str | None]] = {
    # name: (make envelopes, expected reason (ANY: any reason), sender named in the receipt batch)
    "header_byte_flipped": (_every_header_byte, ANY, None),
    "body_byte_flipped": (_every_body_byte, R.REJECT_REASON_DECRYPTION_FAILED, "KZ"),
    "signature_byte_flipped": (_every_signature_byte, R.REJECT_REASON_BAD_SIGNATURE, "KZ"),
    "signature_truncated": (_short_signature, R.REJECT_REASON_BAD_SIGNATURE, "KZ"),
    "wrong_recipient": (_wrong_recipient, R.REJECT_REASON_WRONG_RECIPIENT, "KZ"),
    "unknown_sender": (_unknown_sender, R.REJECT_REASON_UNKNOWN_SENDER, "TJ"),
    "impostor_keys": (_impostor, R.REJECT_REASON_DECRYPTION_FAILED, "KZ"),
    "spliced_envelopes": (_spliced, R.REJECT_REASON_BAD_SIGNATURE, "KZ"),
    "unknown_crypto_profile": (_unknown_crypto_profile, R.REJECT_REASON_UNKNOWN_CRYPTO_PROFILE, "KZ"),
    "unsupported_protocol_version": (_unsupported_version, R.REJECT_REASON_UNSUPPORTED_PROTOCOL_VERSION, "KZ"),
    "record_type_mismatch": (_record_type_mismatch, R.REJECT_REASON_RECORD_TYPE_MISMATCH, "KZ"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_tampered_or_misaddressed_envelopes_are_rejected_and_nothing_is_kept(tmp_path: Path, case: str) -> None:
    make, reason, sender = CASES[case]

    async def body(w: Wire) -> None:
        envelopes = make(w)
        b = batch(*envelopes)
        [signed] = await exchange(w.stub, [b])
        receipts = receipts_of(w, signed, b, sender=sender)
        for i, r in enumerate(receipts):
            assert r.status == S.RECEIPT_STATUS_REJECTED, f"envelope {i}: {S.Name(r.status)}"
            if reason is ANY:
                assert r.reason != R.REJECT_REASON_UNSPECIFIED, f"envelope {i}: no reason"
            else:
                assert r.reason == reason, f"envelope {i}: {R.Name(r.reason)} ({r.detail})"
            assert r.detail
        if sender == "KZ" and len({header_of(e).message_id for e in envelopes}) == len(envelopes):
            outcomes = check_receipts(
                signed,
                local=w.kz,
                peer=w.uz,
                batch_id=b.batch_id,
                sent={header_of(e).message_id: envelope_digest(e) for e in envelopes},
            )
            assert not any(o.delivered for o in outcomes)

        assert w.q("SELECT COUNT(*) FROM inbox") == [(0,)]
        # One row per refusal, up to the per-peer rate; the rest of the minute counted in one SUMMARY row.
        refused = w.q("SELECT reason, digest FROM refused WHERE reason <> 'SUMMARY' ORDER BY id")
        logged = min(len(envelopes), REFUSED_ROWS_PER_MINUTE)
        assert len(refused) == logged
        assert [d for _, d in refused] == [envelope_digest(e) for e in envelopes][:logged]
        assert [n for n, _ in refused] == [R.Name(r.reason) for r in receipts][:logged]
        summary = w.q("SELECT SUM(count) FROM refused WHERE reason = 'SUMMARY'")
        assert summary == [(len(envelopes) - logged or None,)]
        # The hand-off runs; a good envelope afterwards is the only thing that reaches the incoming folder.
        good_item = declaration("KZ", ["UZ"], 9)
        good = batch(sealed(w, good_item))
        [ok] = await exchange(w.stub, [good])
        assert [r.status for r in receipts_of(w, ok, good)] == [S.RECEIPT_STATUS_ACCEPTED]
        await wait_until(lambda: len(w.incoming()) >= 1, "the good record handed off")
        await asyncio.sleep(0.2)
        assert incoming_records(w.home) == {good_item["meta"]["recordId"]: [as_record(good_item)]}
        assert w.q("SELECT COUNT(*) FROM inbox") == [(1,)]

    run_wire(tmp_path, body)


# -- replays and conflicts -----------------------------------------------------------


def test_replayed_envelope_is_accepted_once_then_duplicate(tmp_path: Path) -> None:
    async def body(w: Wire) -> None:
        item = contact_message("KZ", ["UZ"], "replayed")
        env = sealed(w, item)
        mid = header_of(env).message_id
        b1, b2, b3 = batch(env, env), batch(env), batch(env)
        r1, r2 = await exchange(w.stub, [b1, b2])  # twice in one batch, then again in a later batch
        [r3] = await exchange(w.stub, [b3])  # and on a new stream
        statuses = [r.status for signed, b in ((r1, b1), (r2, b2), (r3, b3)) for r in receipts_of(w, signed, b)]
        assert statuses == [S.RECEIPT_STATUS_ACCEPTED] + [S.RECEIPT_STATUS_DUPLICATE] * 3
        for signed, b in ((r2, b2), (r3, b3)):
            [o] = check_receipts(signed, local=w.kz, peer=w.uz, batch_id=b.batch_id, sent={mid: envelope_digest(env)})
            assert o.delivered and o.status == S.RECEIPT_STATUS_DUPLICATE

        await wait_until(lambda: len(w.incoming()) >= 1, "the record handed off")
        await asyncio.sleep(0.3)
        files = w.incoming()
        assert len(files) == 1 and files[0].name.endswith(f"-{mid}.json")
        assert incoming_records(w.home) == {item["meta"]["recordId"]: [as_record(item)]}
        assert w.q("SELECT sender, message_id FROM inbox") == [("KZ", mid)]
        assert w.q("SELECT COUNT(*) FROM refused") == [(0,)]

    run_wire(tmp_path, body)


def test_message_id_reused_for_other_content_is_a_conflict(tmp_path: Path) -> None:
    async def body(w: Wire) -> None:
        first_item = declaration("KZ", ["UZ"], 1)
        mid = str(uuid.uuid4())
        first = sealed(w, first_item, message_id=mid)
        other = sealed(w, declaration("KZ", ["UZ"], 2), message_id=mid)
        resealed = sealed(w, first_item, message_id=mid)  # same record, new salt and nonce: other bytes
        b1 = batch(first)
        b2 = batch(other, resealed)
        r1, r2 = await exchange(w.stub, [b1, b2])
        assert [r.status for r in receipts_of(w, r1, b1)] == [S.RECEIPT_STATUS_ACCEPTED]
        conflict = receipts_of(w, r2, b2)
        assert [(r.status, r.reason) for r in conflict] == [
            (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_MESSAGE_ID_CONFLICT)
        ] * 2
        # Inside one batch too: the second envelope under a fresh id conflicts with the first.
        mid2 = str(uuid.uuid4())
        b3 = batch(sealed(w, first_item, message_id=mid2), sealed(w, first_item, message_id=mid2))
        [r3] = await exchange(w.stub, [b3])
        assert [(r.status, r.reason) for r in receipts_of(w, r3, b3)] == [
            (S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED),
            (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_MESSAGE_ID_CONFLICT),
        ]

        inbox = w.q("SELECT message_id, digest FROM inbox ORDER BY seq")
        assert inbox == [(mid, envelope_digest(first)), (mid2, envelope_digest(b3.envelopes[0]))]
        assert w.q("SELECT message_id, reason, digest FROM refused ORDER BY id") == [
            (mid, "REJECT_REASON_MESSAGE_ID_CONFLICT", envelope_digest(other)),
            (mid, "REJECT_REASON_MESSAGE_ID_CONFLICT", envelope_digest(resealed)),
            (mid2, "REJECT_REASON_MESSAGE_ID_CONFLICT", envelope_digest(b3.envelopes[1])),
        ]
        await wait_until(lambda: len(w.incoming()) >= 2, "both accepted records handed off")
        await asyncio.sleep(0.2)
        got = incoming_records(w.home)
        assert got == {first_item["meta"]["recordId"]: [as_record(first_item)] * 2}
        assert len(w.incoming()) == 2

    run_wire(tmp_path, body)


def test_mixed_batch_answers_each_envelope_in_batch_order(tmp_path: Path) -> None:
    async def body(w: Wire) -> None:
        items = [
            declaration("KZ", ["UZ"], 1),
            contact_message("KZ", ["UZ"]),
            declaration("KZ", ["UZ"], 2),
            contact_message("KZ", ["UZ"], "last"),
        ]
        envs = [sealed(w, i) for i in items]
        envs[1] = flipped(envs[1], "body", len(envs[1].body) - 1)
        envs[3] = flipped(envs[3], "signature", 0)
        b = batch(*envs)
        [signed] = await exchange(w.stub, [b])
        receipts = receipts_of(w, signed, b)
        assert [r.message_id for r in receipts] == [header_of(e).message_id for e in envs]
        assert [(r.status, r.reason) for r in receipts] == [
            (S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED),
            (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_DECRYPTION_FAILED),
            (S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED),
            (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_BAD_SIGNATURE),
        ]
        outcomes = check_receipts(
            signed,
            local=w.kz,
            peer=w.uz,
            batch_id=b.batch_id,
            sent={header_of(e).message_id: envelope_digest(e) for e in envs},
        )
        assert [o.delivered for o in outcomes] == [True, False, True, False]

        good = {items[0]["meta"]["recordId"], items[2]["meta"]["recordId"]}
        await wait_until(lambda: set(incoming_records(w.home)) == good, "the two good records handed off")
        await asyncio.sleep(0.2)
        assert len(w.incoming()) == 2
        assert w.q("SELECT message_id FROM inbox ORDER BY seq") == [
            (header_of(envs[0]).message_id,),
            (header_of(envs[2]).message_id,),
        ]
        assert w.q("SELECT reason FROM refused ORDER BY id") == [
            ("REJECT_REASON_DECRYPTION_FAILED",),
            ("REJECT_REASON_BAD_SIGNATURE",),
        ]

    run_wire(tmp_path, body)


def test_receipts_cannot_be_passed_off_for_another_batch(tmp_path: Path) -> None:
    async def body(w: Wire) -> None:
        env = sealed(w, declaration("KZ", ["UZ"]))
        b = batch(env)
        [signed] = await exchange(w.stub, [b])
        mid = header_of(env).message_id
        sent = {mid: envelope_digest(env)}
        check_receipts(signed, local=w.kz, peer=w.uz, batch_id=b.batch_id, sent=sent)
        with pytest.raises(CryptoError):
            check_receipts(signed, local=w.kz, peer=w.uz, batch_id="another-batch", sent=sent)
        with pytest.raises(CryptoError):
            check_receipts(signed, local=w.kz, peer=w.uz, batch_id=b.batch_id, sent={mid: b"\x00" * 32})
        forged = envelope_pb2.SignedReceiptBatch(
            receipt_batch=signed.receipt_batch + b"\x00", signature=signed.signature
        )
        with pytest.raises(CryptoError):
            check_receipts(forged, local=w.kz, peer=w.uz, batch_id=b.batch_id, sent=sent)

    run_wire(tmp_path, body)


def test_oversize_envelope_is_rejected(tmp_path: Path) -> None:
    async def body(w: Wire) -> None:
        small = sealed(w, contact_message("KZ", ["UZ"], "short"))
        item = contact_message("KZ", ["UZ"], "long")
        item["contactPointMessage"]["factsSummary"] = "x" * 5000
        big = sealed(w, item)
        assert small.ByteSize() < 4096 < big.ByteSize()
        b = batch(small, big)
        [signed] = await exchange(w.stub, [b])
        assert [(r.status, r.reason) for r in receipts_of(w, signed, b)] == [
            (S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED),
            (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_OVERSIZE),
        ]
        assert w.q("SELECT message_id FROM inbox") == [(header_of(small).message_id,)]
        assert w.q("SELECT reason FROM refused") == [("REJECT_REASON_OVERSIZE",)]

    run_wire(tmp_path, body, limits={"max_envelope_bytes": 4096})


def test_batches_hold_one_sender_and_dedup_is_per_sender(tmp_path: Path) -> None:
    kg = fake_identity("KG", "KG")

    async def body(w: Wire) -> None:
        uz_for_kg = uz_as_seen_by_a_stranger(w)
        mid = str(uuid.uuid4())
        kz_item, kg_item = declaration("KZ", ["UZ"], 1), declaration("KG", ["UZ"], 2)
        from_kz = sealed(w, kz_item, message_id=mid)
        from_kg = sealed(w, kg_item, local=kg, peer=uz_for_kg, message_id=mid)
        # Two known senders in one batch: the batch is KZ's, KG's envelope is refused.
        mixed = batch(from_kz, from_kg)
        [signed] = await exchange(w.stub, [mixed])
        assert [(r.status, r.reason) for r in receipts_of(w, signed, mixed, sender="KZ")] == [
            (S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED),
            (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_MALFORMED_ENVELOPE),
        ]
        # Alone, KG's envelope with the same message id is accepted: ids are per sender.
        # KG sends on its own connection (with TLS, a node sends only its own envelopes).
        alone = batch(from_kg)
        async with connect(w.node, kg) as kg_channel:
            [signed] = await exchange(exchange_pb2_grpc.ExchangeServiceStub(kg_channel), [alone])
        assert [r.status for r in receipts_of(w, signed, alone, sender="KG")] == [S.RECEIPT_STATUS_ACCEPTED]
        [o] = check_receipts(
            signed, local=kg, peer=uz_for_kg, batch_id=alone.batch_id, sent={mid: envelope_digest(from_kg)}
        )
        assert o.delivered
        assert sorted(w.q("SELECT sender, message_id FROM inbox")) == [("KG", mid), ("KZ", mid)]
        want = {kz_item["meta"]["recordId"], kg_item["meta"]["recordId"]}
        await wait_until(lambda: set(incoming_records(w.home)) == want, "both records handed off")
        assert sorted(p.name.split("-")[0] for p in w.incoming()) == ["KG", "KZ"]

    run_wire(tmp_path, body, also_known=[kg])


# -- identity --------------------------------------------------------------------


def test_get_identity_returns_the_nodes_signed_identity(tmp_path: Path) -> None:
    async def body(w: Wire) -> None:
        resp = await w.stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=WAIT)
        peer = read_identity(resp.identity)
        local = w.node.local
        assert (peer.node_id, peer.country) == ("UZ", "UZ")
        assert peer.authority == "Customs service of UZ"
        assert peer.verify_key == local.signing_key.public
        assert peer.encryption_key == local.encryption_key.public
        assert peer.endpoints == ("127.0.0.1:1",)  # [server] advertise
        ident = identity_pb2.NodeIdentity.FromString(resp.identity.identity)
        assert list(ident.protocol_versions) == [1]
        assert list(ident.crypto_profiles) == [CRYPTO_PROFILE_V1]
        assert list(resp.protocol_versions) == [1]
        assert list(resp.crypto_profiles) == [CRYPTO_PROFILE_V1]
        # It is UZ's own signature: a changed byte does not verify.
        bad = identity_pb2.SignedIdentity()
        bad.CopyFrom(resp.identity)
        bad.identity = bytes([bad.identity[0] ^ 1]) + bad.identity[1:]
        with pytest.raises(CryptoError):
            read_identity(bad)

    run_wire(tmp_path, body)
