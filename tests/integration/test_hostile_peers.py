"""What a hostile peer sends, against a real node on real gRPC (TLS): origin, blame, bounds.

A real UZ node and fake peers with real keys (tests/integration/test_wire.py)
that send crafted, properly signed envelopes over their own pinned TLS
connections. Each attack is checked in the signed receipts, in UZ's store
(read-only), in its incoming folder and in ``tamga status``.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from tamga.adapters.sdk.codes import authority_of
from tamga.cli import main as tamga_main
from tamga.errors import ValidationError
from tamga.logging import configure_logging
from tamga.protocol import MAX_DETAIL_CHARS, envelope_digest
from tamga.store import REFUSED_ROWS_PER_MINUTE
from tamga.v1 import envelope_pb2, exchange_pb2, exchange_pb2_grpc

from .nodes import (
    WAIT,
    db_path,
    declaration,
    incoming_records,
    open_node,
    pair,
    query,
    records_file,
    wait_until,
)
from .test_wire import (
    Wire,
    batch,
    connect,
    exchange,
    fake_identity,
    receipts_of,
    run_wire,
    sealed,
    sealed_with_header,
)

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason


def status_json(home: Path, capsys: pytest.CaptureFixture[str]) -> dict:
    capsys.readouterr()
    assert tamga_main(["status", "--home", str(home), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def peer_refused(doc: dict, peer: str) -> int:
    peers = doc["peers"]
    entry = peers.get(peer) if isinstance(peers, dict) else next((p for p in peers if p.get("id") == peer), None)
    return int(entry.get("refused", 0)) if entry else 0


def store_bytes(home: Path) -> int:
    db = db_path(home)
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*"))


@pytest.fixture(name="log_events")
def _log_events() -> Iterator[Callable[[], list[dict]]]:
    """The node's log as JSON events (structlog and stdlib records, gRPC's included), read on demand."""
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    yield lambda: [json.loads(line) for line in out.getvalue().splitlines() if line.startswith("{")]


@pytest.fixture(name="grpc_errors")
def _grpc_errors() -> Iterator[list[logging.LogRecord]]:
    """Error records of gRPC's own loggers (where a servicer's unhandled exception is logged with its traceback)."""
    found: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                found.append(record)

    handler = Keep()
    logger = logging.getLogger("grpc")
    logger.addHandler(handler)
    try:
        yield found
    finally:
        logger.removeHandler(handler)


# -- origin bound to the authenticated sender (pinned peers) ---------------------------------


def test_a_record_claiming_another_origin_or_not_for_the_receiver_is_refused(tmp_path: Path) -> None:
    """KZ, authenticated by its certificate and signature, sends records claiming CN's origin, CN's
    authority, or addressed to TJ only: each is refused ORIGIN_MISMATCH and nothing is handed off;
    KZ's valid records (its own authority, or its country's registered customs service) are accepted."""

    async def body(w: Wire) -> None:
        claims_cn = declaration("KZ", ["UZ"], 1)
        claims_cn["meta"]["senderCountry"] = "CN"
        claims_cn["meta"]["senderAuthority"] = authority_of("CN")
        cn_authority = declaration("KZ", ["UZ"], 2)
        cn_authority["meta"]["senderAuthority"] = authority_of("CN")
        for_tj = declaration("KZ", ["TJ"], 3)
        own = declaration("KZ", ["UZ"], 4)
        registered = declaration("KZ", ["UZ"], 5)
        registered["meta"]["senderAuthority"] = authority_of("KZ")
        items = [claims_cn, cn_authority, for_tj, own, registered]
        b = batch(*(sealed(w, i) for i in items))
        [signed] = await exchange(w.stub, [b])
        receipts = receipts_of(w, signed, b)
        assert [r.status for r in receipts] == [S.RECEIPT_STATUS_REJECTED] * 3 + [S.RECEIPT_STATUS_ACCEPTED] * 2
        assert all(r.reason == R.REJECT_REASON_ORIGIN_MISMATCH for r in receipts[:3]), receipts
        first, second, third = (r.detail for r in receipts[:3])
        assert "record.meta.sender_country" in first and "CN" in first and "KZ" in first, first
        assert "record.meta.sender_authority" in second, second
        assert "record.meta.receiver_countries" in third and "TJ" in third and "UZ" in third, third
        for r in receipts[:3]:
            assert "10702020" not in r.detail, "the detail quotes record contents"
        await wait_until(lambda: len(incoming_records(w.home)) == 2, "the two valid records handed off")
        await asyncio.sleep(0.2)
        kept = set(incoming_records(w.home))
        assert kept == {own["meta"]["recordId"], registered["meta"]["recordId"]}
        assert w.q("SELECT COUNT(*) FROM inbox") == [(2,)]
        assert w.q("SELECT sender, reason FROM refused ORDER BY id") == [("KZ", "REJECT_REASON_ORIGIN_MISMATCH")] * 3

    run_wire(tmp_path, body)


def test_origin_is_bound_in_manifest_mode_too(tmp_path: Path) -> None:
    """With a federation manifest, the member's country comes from its manifest entry: a member
    sending a record that claims another member's country is refused, nothing stored."""
    from .test_federation import genesis, install, members, quiet, start_nodes, stop_all

    ms = members(tmp_path, [("KZ", "KZ"), ("UZ", "UZ"), ("CN", "CN")])
    install(list(ms.values()), [genesis(ms)])

    async def main() -> None:
        nodes = await start_nodes([ms["UZ"].home])
        quiet(nodes)
        (uz,) = nodes
        try:
            kz = ms["KZ"].local
            async with connect(uz, kz) as channel:
                stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
                w = Wire(uz, ms["UZ"].home, stub, ms["UZ"].peer, kz)
                claims_cn = declaration("KZ", ["UZ"], 1)
                claims_cn["meta"]["senderCountry"] = "CN"
                for_cn = declaration("KZ", ["CN"], 2)
                good = declaration("KZ", ["UZ"], 3)
                b = batch(*(sealed(w, i) for i in (claims_cn, for_cn, good)))
                [signed] = await exchange(stub, [b])
                receipts = receipts_of(w, signed, b)
                assert [r.status for r in receipts] == [S.RECEIPT_STATUS_REJECTED] * 2 + [S.RECEIPT_STATUS_ACCEPTED]
                assert [r.reason for r in receipts[:2]] == [R.REJECT_REASON_ORIGIN_MISMATCH] * 2, receipts
                assert query(db_path(w.home), "SELECT COUNT(*) FROM inbox") == [(1,)]
        finally:
            await stop_all(*nodes)

    asyncio.run(main())


# -- the sender checks the same before queueing -----------------------------------------------


def test_the_sender_refuses_a_file_claiming_another_origin_with_a_located_error(tmp_path: Path) -> None:
    kz_home, _uz_home = pair(tmp_path)
    tj = fake_identity("TJ", "TJ")
    from .test_wire import add_fake_peer

    add_fake_peer(kz_home, tj)

    async def main() -> None:
        kz = await open_node(kz_home)
        try:
            claims_cn = declaration("KZ", ["UZ"])
            claims_cn["meta"]["senderCountry"] = "CN"
            with pytest.raises(ValidationError) as info:
                await kz.submitter.submit(records_file([declaration("KZ", ["UZ"]), claims_cn]), source="a.json")
            assert info.value.problems[0].startswith("records[1].meta.sender_country: "), info.value.problems
            authority = declaration("KZ", ["UZ"])
            authority["meta"]["senderAuthority"] = authority_of("CN")
            with pytest.raises(ValidationError) as info:
                await kz.submitter.submit(records_file([authority]), source="b.json")
            assert info.value.problems[0].startswith("records[0].meta.sender_authority: "), info.value.problems
            # Routed by name to TJ, a record for UZ only: TJ would refuse it; the sender refuses it first.
            with pytest.raises(ValidationError) as info:
                await kz.submitter.submit(records_file([declaration("KZ", ["UZ"])]), source="c.json", to=["TJ"])
            assert info.value.problems[0].startswith("records[0].meta.receiver_countries: "), info.value.problems
            assert "TJ" in info.value.problems[0]
            assert await kz.store.counts() == {**await kz.store.counts(), "queued": 0}
            # The drop folder moves such a file to failed/ with its report.
            await kz.start_work()
            (kz_home / "outgoing" / "forged.json").write_bytes(records_file([claims_cn]))
            report = kz_home / "failed" / "forged.json.error.json"
            await wait_until(report.exists, "the report of the refused file")
            doc = json.loads(report.read_text("utf-8"))
            assert any(p.startswith("records[0].meta.sender_country: ") for p in doc["error"]["problems"]), doc
            assert (await kz.store.counts())["queued"] == 0
        finally:
            await kz.stop()

    asyncio.run(main())


# -- blame: the authenticated peer, never the name a header claims --------------------------


def test_envelopes_naming_another_sender_are_charged_to_the_peer_that_sent_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """TJ, over its own TLS connection, sends envelopes naming KZ as their sender: they are
    refused, and UZ's status charges the refusals to TJ, never to KZ."""
    tj = fake_identity("TJ", "TJ")
    homes: list[Path] = []

    async def body(w: Wire) -> None:
        homes.append(w.home)
        forged = sealed(w, declaration("KZ", ["UZ"]), local=tj)  # signed by TJ's key
        h = envelope_pb2.EnvelopeHeader.FromString(forged.header)
        h.sender = "KZ"
        named_kz = envelope_pb2.Envelope(header=h.SerializeToString(), body=forged.body, signature=forged.signature)
        hostile = envelope_pb2.EnvelopeHeader.FromString(forged.header)
        hostile.sender = "KZ\x1b[2J" + "K" * 100_000
        named_garbage = envelope_pb2.Envelope(header=hostile.SerializeToString(), body=b"x", signature=bytes(64))
        async with connect(w.node, tj) as channel:
            stub = exchange_pb2_grpc.ExchangeServiceStub(channel)
            b = batch(named_kz, named_garbage)
            [signed] = await exchange(stub, [b])
        receipts = receipts_of(w, signed, b, sender=None)
        assert all(r.status == S.RECEIPT_STATUS_REJECTED for r in receipts), receipts
        assert w.q("SELECT sender FROM refused ORDER BY id") == [("TJ",), ("TJ",)]
        claimed = [c for (c,) in w.q("SELECT claimed FROM refused ORDER BY id")]
        assert claimed[0] == "KZ" and len(claimed[1]) < 200 and "\x1b" not in claimed[1], claimed

    run_wire(tmp_path, body, also_known=[tj])
    doc = status_json(homes[0], capsys)
    assert peer_refused(doc, "KZ") == 0, doc["peers"]
    assert peer_refused(doc, "TJ") == 2, doc["peers"]


# -- out-of-range numbers: a receipt with a reason, the batch goes on -----------------------


def test_out_of_range_sequence_and_timestamp_are_refused_with_receipts(tmp_path: Path) -> None:
    """A signed sequence of 2^64-1 and a created_at of 10^13 s are refused per envelope (the
    batch's valid envelope is accepted), not a traceback that ends the batch without a receipt."""

    async def body(w: Wire) -> None:
        huge_seq = sealed_with_header(w, declaration("KZ", ["UZ"], 1), lambda h: setattr(h, "sequence", 2**64 - 1))

        def far(h: envelope_pb2.EnvelopeHeader) -> None:
            h.created_at.seconds = 10**13

        far_future = sealed_with_header(w, declaration("KZ", ["UZ"], 2), far)
        good = sealed(w, declaration("KZ", ["UZ"], 3))
        b = batch(huge_seq, far_future, good)
        [signed] = await exchange(w.stub, [b])
        r1, r2, r3 = receipts_of(w, signed, b)
        assert (r1.status, r1.reason) == (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_SEQUENCE_OUT_OF_RANGE), r1
        assert (r2.status, r2.reason) == (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_MALFORMED_ENVELOPE), r2
        assert "created_at" in r2.detail
        assert r3.status == S.RECEIPT_STATUS_ACCEPTED
        assert w.q("SELECT COUNT(*) FROM inbox") == [(1,)]

    run_wire(tmp_path, body)


def test_a_sequence_jump_beyond_the_window_is_refused_not_recorded_as_a_gap(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    homes: list[Path] = []

    def numbered(w: Wire, n: int, seq: int) -> envelope_pb2.Envelope:
        return sealed_with_header(w, declaration("KZ", ["UZ"], n), lambda h: setattr(h, "sequence", seq))

    async def body(w: Wire) -> None:
        homes.append(w.home)
        b1 = batch(numbered(w, 1, 1), numbered(w, 2, 2**62), numbered(w, 3, 1 + 1_000_001))
        [signed] = await exchange(w.stub, [b1])
        r = receipts_of(w, signed, b1)
        assert [x.status for x in r] == [S.RECEIPT_STATUS_ACCEPTED] + [S.RECEIPT_STATUS_REJECTED] * 2
        assert [x.reason for x in r[1:]] == [R.REJECT_REASON_SEQUENCE_OUT_OF_RANGE] * 2, r
        assert "max_sequence_jump" in r[1].detail
        # Within the window, a jump is a gap as before.
        b2 = batch(numbered(w, 4, 10))
        [signed] = await exchange(w.stub, [b2])
        assert receipts_of(w, signed, b2)[0].status == S.RECEIPT_STATUS_ACCEPTED
        assert w.q("SELECT sender, first, last FROM sequence_gaps") == [("KZ", 2, 9)]
        assert w.q("SELECT highest FROM receive_sequence WHERE sender = 'KZ'") == [(10,)]

    run_wire(tmp_path, body)
    doc = status_json(homes[0], capsys)
    assert "4611686018427387904" not in json.dumps(doc)


# -- the refused log: bounded, rate-limited, charged per peer -------------------------------


def test_megabytes_in_header_fields_grow_the_store_by_a_bounded_amount(tmp_path: Path) -> None:
    """A peer sends 12 envelopes whose header carries a 2 MB recipient (24 MB in all): each is
    refused with a short receipt detail, and the store (refused log and audit log) grows by far
    less than one such field."""

    async def body(w: Wire) -> None:
        before = store_bytes(w.home)
        envelopes = []
        for i in range(12):
            env = sealed(w, declaration("KZ", ["UZ"], i))
            h = envelope_pb2.EnvelopeHeader.FromString(env.header)
            h.recipient = "\x1b[2J" + "U" * (2 * 1024 * 1024)
            h.message_id = "M" * 100_000
            envelopes.append(
                envelope_pb2.Envelope(header=h.SerializeToString(), body=env.body, signature=env.signature)
            )
        sent = [batch(*envelopes[i : i + 3]) for i in range(0, 12, 3)]
        signed = await exchange(w.stub, sent)
        for s, b in zip(signed, sent, strict=True):
            for r in receipts_of(w, s, b):
                assert r.reason == R.REJECT_REASON_WRONG_RECIPIENT
                assert len(r.detail) <= MAX_DETAIL_CHARS + 40 and "\x1b" not in r.detail
                assert len(r.message_id) < 200
        grown = store_bytes(w.home) - before
        assert grown < 512 * 1024, f"the store grew by {grown} bytes for 12 refusals"
        assert w.q("SELECT MAX(LENGTH(detail) + LENGTH(message_id) + LENGTH(claimed)) FROM refused")[0][0] < 600
        assert w.q("SELECT MAX(LENGTH(detail) + LENGTH(message_id)) FROM audit WHERE kind = 'refused'")[0][0] < 600
        assert w.q("SELECT digest FROM refused ORDER BY id") == [(envelope_digest(e),) for e in envelopes]

    run_wire(tmp_path, body)


def test_refusals_beyond_the_rate_are_counted_in_one_row_not_logged_one_by_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], log_events: Callable[[], list[dict]]
) -> None:
    homes: list[Path] = []
    n = REFUSED_ROWS_PER_MINUTE + 90

    async def body(w: Wire) -> None:
        homes.append(w.home)
        bad = [envelope_pb2.Envelope(header=b"\xff" + bytes([i % 256]), body=b"", signature=b"") for i in range(n)]
        b = batch(*bad)
        [signed] = await exchange(w.stub, [b])
        assert all(r.reason == R.REJECT_REASON_MALFORMED_ENVELOPE for r in receipts_of(w, signed, b, sender=None))
        rows = w.q("SELECT COUNT(*) FROM refused")[0][0]
        assert rows <= REFUSED_ROWS_PER_MINUTE + 1, rows
        assert w.q("SELECT SUM(count) FROM refused") == [(n,)]
        assert w.q("SELECT COUNT(*) FROM audit WHERE kind = 'refused'")[0][0] <= REFUSED_ROWS_PER_MINUTE + 1

    run_wire(tmp_path, body)
    events = [e["event"] for e in log_events()]
    assert events.count("record_refused") == REFUSED_ROWS_PER_MINUTE, events.count("record_refused")
    assert events.count("refusals_rate_limited") == 1
    assert peer_refused(status_json(homes[0], capsys), "KZ") == n


# -- undecodable requests: INVALID_ARGUMENT, one log line, no traceback ----------------------


def test_undecodable_requests_get_invalid_argument_without_a_traceback(
    tmp_path: Path, grpc_errors: list[logging.LogRecord], log_events: Callable[[], list[dict]]
) -> None:
    async def body(w: Wire) -> None:
        async with connect(w.node, w.kz) as channel:
            raw = {"request_serializer": None, "response_deserializer": None}
            for payload in (b"\x0a\xff\xff\xff\xff\x0f", b"\x0b" * 50_000 + b"\x0c" * 50_000):
                call = channel.stream_stream("/tamga.v1.ExchangeService/Exchange", **raw)(timeout=WAIT)
                await call.write(payload)
                await call.done_writing()
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    async for _ in call:
                        pass
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value
            for method in ("GetManifest", "GetIdentity"):
                unary = channel.unary_unary(f"/tamga.v1.ExchangeService/{method}", **raw)
                with pytest.raises(grpc.aio.AioRpcError) as info:
                    await unary(b"\x0b" * 50_000, timeout=WAIT)
                assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT, info.value
            # The node still serves this peer.
            resp = await w.stub.GetIdentity(exchange_pb2.GetIdentityRequest(), timeout=WAIT)
            assert resp.identity.identity
        good = batch(sealed(w, declaration("KZ", ["UZ"])))
        [signed] = await exchange(w.stub, [good])
        assert receipts_of(w, signed, good)[0].status == S.RECEIPT_STATUS_ACCEPTED

    run_wire(tmp_path, body)
    assert not grpc_errors, [r.getMessage() for r in grpc_errors]
    events = log_events()
    assert [e["event"] for e in events].count("request_undecodable") == 4
    assert not [e for e in events if e.get("level") == "error" or "exception" in e], events
