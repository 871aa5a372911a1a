"""Retention in the store, against real SQLite files, with the clock given as ``now`` to every call.

Each rule of [retention] separately: settled payloads purged, queued ones
never; handed-off inbox payloads purged, dedup rows deleted after the dedup
horizon and only once handed off; receipts untouched; one audit entry per
purge transaction, and the audit chain still verifies.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from tamga import audit
from tamga.audit import AuditSigner
from tamga.crypto import SigningKey
from tamga.protocol import ReceiptOutcome, Sealed
from tamga.store import AcceptItem, Store
from tamga.store._retention import purge as purge_in_chunks
from tamga.v1 import envelope_pb2

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason
DAY = 86400.0
T0 = 1_700_000_000.0
KEEP, DEDUP = 90 * DAY, 400 * DAY


def sealed(mid: str) -> Sealed:
    return Sealed(mid, "UZ", "declaration_snapshot", b"sealed-envelope-" + mid.encode(), mid.encode().ljust(32, b"."))


def received(mid: str, digest: bytes | None = None) -> AcceptItem:
    d = digest or mid.encode().ljust(32, b".")
    return AcceptItem("KZ", mid, "declaration_snapshot", b"received-envelope-" + mid.encode(), d)


async def settle(store: Store, mids: list[str], *, now: float, status: int = S.RECEIPT_STATUS_ACCEPTED) -> None:
    reason = R.REJECT_REASON_UNSPECIFIED if status != S.RECEIPT_STATUS_REJECTED else R.REJECT_REASON_STALE
    await store.settle(
        "UZ",
        batch_id=f"b-{mids[0]}",
        signed=envelope_pb2.SignedReceiptBatch(receipt_batch=b"batch-" + mids[0].encode(), signature=b"s" * 64),
        outcomes=[ReceiptOutcome(m, status, reason, "") for m in mids],
        now=now,
    )


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def outbox(db: Path) -> dict[str, tuple[Any, ...]]:
    found = rows(db, "SELECT message_id, envelope, purged_at, state, settled_at, receipt_id, digest FROM outbox")
    return {r[0]: r[1:] for r in found}


def inbox(db: Path) -> dict[str, tuple[Any, ...]]:
    found = rows(db, "SELECT message_id, envelope, purged_at, handed_off_at, digest FROM inbox")
    return {r[0]: r[1:] for r in found}


def purge_entries(db: Path) -> list[dict[str, Any]]:
    return [json.loads(d) for (d,) in rows(db, "SELECT detail FROM audit WHERE kind = 'purge' ORDER BY seq")]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_settled_payloads_are_purged_after_the_retention_and_queued_ones_never(tmp_path: Path) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        store = await Store.open(db)
        await store.enqueue([sealed(m) for m in "abcd"], source="f", now=T0)
        await settle(store, ["a"], now=T0)
        await settle(store, ["b"], now=T0 + 10 * DAY, status=S.RECEIPT_STATUS_REJECTED)
        receipts = rows(db, "SELECT * FROM receipts ORDER BY id")
        before = outbox(db)

        nothing = await store.purge(now=T0 + KEEP - 1, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert nothing.total == 0 and nothing.transactions == 0
        assert outbox(db) == before

        first = await store.purge(now=T0 + KEEP, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert (first.outbox_payloads, first.inbox_payloads, first.inbox_deleted) == (1, 0, 0)
        after = outbox(db)
        assert after["a"][0] == b"" and after["a"][1] == T0 + KEEP  # purged, and marked so
        assert after["a"][2:] == before["a"][2:]  # state, settled_at, receipt id, digest kept
        assert after["b"] == before["b"]  # rejected 10 days later: not yet

        # Years later: the rejected row goes too; the queued rows keep their envelopes, whatever their age.
        later = await store.purge(now=T0 + 5 * 365 * DAY, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert later.outbox_payloads == 1
        final = outbox(db)
        assert final["b"][0] == b"" and final["b"][1:2] == (T0 + 5 * 365 * DAY,)
        assert final["b"][2] == "rejected"
        assert final["c"] == before["c"] and final["d"] == before["d"]
        assert [r.envelope for r in await store.queued("UZ", after_seq=0, limit=10, max_bytes=10**6)] == [
            b"sealed-envelope-c",
            b"sealed-envelope-d",
        ]
        assert rows(db, "SELECT * FROM receipts ORDER BY id") == receipts  # evidence untouched
        await store.close()

    run(go())


def test_zero_retention_purges_what_is_settled_at_the_next_run(tmp_path: Path) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        store = await Store.open(db)
        await store.enqueue([sealed("a"), sealed("b")], source="f", now=T0)
        await settle(store, ["a"], now=T0 + 5)
        result = await store.purge(now=T0 + 5, delivered_payloads=0, dedup_horizon=DEDUP)
        assert result.outbox_payloads == 1
        assert outbox(db)["a"][0] == b"" and outbox(db)["b"][0] == b"sealed-envelope-b"
        await store.close()

    run(go())


def test_inbox_payloads_go_after_hand_off_and_rows_after_the_dedup_horizon(tmp_path: Path) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        store = await Store.open(db)
        await store.accept([received("x"), received("y"), received("z")], [], now=T0)
        seqs = {mid: seq for seq, mid in rows(db, "SELECT seq, message_id FROM inbox")}
        await store.mark_handed_off([seqs["x"], seqs["y"]], now=T0 + DAY)  # z is never handed off

        early = await store.purge(now=T0 + KEEP, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert early.total == 0  # handed off a day after arrival: 90 days from then
        result = await store.purge(now=T0 + DAY + KEEP, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert (result.outbox_payloads, result.inbox_payloads, result.inbox_deleted) == (0, 2, 0)
        got = inbox(db)
        assert got["x"][:3] == (b"", T0 + DAY + KEEP, T0 + DAY) and got["y"][0] == b""
        assert got["z"][:2] == (b"received-envelope-z", None)

        # The dedup record outlives the payload: a retry is still DUPLICATE, a reused id still a conflict.
        again = await store.accept([received("x"), received("y", b"other".ljust(32, b"."))], [], now=T0 + 100 * DAY)
        assert [(s, r) for s, r, _ in again] == [
            (S.RECEIPT_STATUS_DUPLICATE, R.REJECT_REASON_UNSPECIFIED),
            (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_MESSAGE_ID_CONFLICT),
        ]
        assert await store.received_digest("KZ", "x") == b"x".ljust(32, b".")

        gone = await store.purge(now=T0 + DEDUP, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert (gone.inbox_payloads, gone.inbox_deleted) == (0, 2)
        got = inbox(db)
        assert set(got) == {"z"}  # never handed off: kept whole, 400 days on
        assert got["z"][0] == b"received-envelope-z"
        assert await store.received_digest("KZ", "x") is None
        # The node no longer knows x: at the store it is new again. (On the wire, a copy this old is refused
        # STALE before it reaches the store: see tests/integration/test_retention.py.)
        [(status, _, _)] = await store.accept([received("x")], [], now=T0 + DEDUP + 1)
        assert status == S.RECEIPT_STATUS_ACCEPTED
        await store.close()

    run(go())


def test_a_row_past_both_horizons_is_counted_once_as_deleted(tmp_path: Path) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        store = await Store.open(db)
        await store.accept([received("x")], [], now=T0)
        await store.mark_handed_off([1], now=T0)
        result = await store.purge(now=T0 + DEDUP + DAY, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert (result.inbox_payloads, result.inbox_deleted) == (0, 1)
        assert inbox(db) == {}
        await store.close()

    run(go())


def test_each_purge_is_one_audit_entry_and_the_chain_still_verifies(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    key = SigningKey.generate()

    async def go() -> None:
        store = await Store.open(db)
        store.audit_signer = AuditSigner("UZ", key)
        await store.enqueue([sealed("a"), sealed("b")], source="f", now=T0)
        await settle(store, ["a", "b"], now=T0)
        await store.accept([received("x")], [], now=T0)
        await store.mark_handed_off([1], now=T0)
        await store.seal_audit(store.audit_signer, now=T0)
        now = T0 + KEEP + 1
        result = await store.purge(now=now, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert (result.outbox_payloads, result.inbox_payloads, result.transactions) == (2, 1, 1)
        nothing = await store.purge(now=now + 60, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert nothing.total == 0
        await store.seal_audit(store.audit_signer, now=now + 60)
        await store.close()

    run(go())
    [entry] = purge_entries(db)
    assert entry == {
        "outbox_payloads": 2,
        "inbox_payloads": 1,
        "inbox_deleted": 0,
        "payloads_settled_before": "2023-11-14T22:13:21Z",  # T0 + 1 s: the purge ran at T0 + 90d + 1 s
        "dedup_received_before": "2023-01-08T22:13:21Z",  # T0 + 1 s - 310d
    }
    kinds = [k for (k,) in rows(db, "SELECT kind FROM audit ORDER BY seq")]
    assert kinds[-2:] == ["purge", "seal"]  # one entry for the purge, none for the run that found nothing
    rep = audit.verify_entries(audit.read_entries(db), node_id="UZ", verify_key=key.public)
    assert rep.intact, rep.problems
    assert rep.sealed_through == len(kinds)


def test_a_large_purge_runs_in_bounded_transactions(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    mids = [f"m{i:02d}" for i in range(12)]

    async def go() -> None:
        store = await Store.open(db)
        await store.enqueue([sealed(m) for m in mids], source="f", now=T0)
        await settle(store, mids, now=T0)
        result = await purge_in_chunks(store, now=T0 + KEEP, delivered_payloads=KEEP, dedup_horizon=DEDUP, chunk=5)
        assert (result.outbox_payloads, result.transactions) == (12, 3)
        await store.close()

    run(go())
    assert [e["outbox_payloads"] for e in purge_entries(db)] == [5, 5, 2]
    assert all(env == b"" for env, *_ in outbox(db).values())


def test_a_dry_run_counts_without_changing_anything(tmp_path: Path) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        store = await Store.open(db)
        await store.enqueue([sealed("a"), sealed("b")], source="f", now=T0)
        await settle(store, ["a"], now=T0)
        await store.accept([received("x"), received("y")], [], now=T0)
        await store.mark_handed_off([1], now=T0 + DAY)
        await store.mark_handed_off([2], now=T0 + 320 * DAY)
        before = rows(db, "SELECT * FROM outbox"), rows(db, "SELECT * FROM inbox"), rows(db, "SELECT * FROM audit")
        now = T0 + DEDUP
        dry = await store.purge(now=now, delivered_payloads=KEEP, dedup_horizon=DEDUP, dry_run=True)
        assert (dry.outbox_payloads, dry.inbox_payloads, dry.inbox_deleted, dry.dry_run) == (1, 0, 2, True)
        assert (rows(db, "SELECT * FROM outbox"), rows(db, "SELECT * FROM inbox"), rows(db, "SELECT * FROM audit")) == (
            before
        )
        real = await store.purge(now=now, delivered_payloads=KEEP, dedup_horizon=DEDUP)
        assert (real.outbox_payloads, real.inbox_payloads, real.inbox_deleted) == (1, 0, 2)
        await store.close()

    run(go())


def test_status_tells_purged_payloads_and_the_last_purge(tmp_path: Path) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        store = await Store.open(db)
        assert await store.retention_status() == {"purged_payloads": {"outbox": 0, "inbox": 0}, "last_purge": None}
        mids = [f"m{i}" for i in range(7)]
        await store.enqueue([sealed(m) for m in mids], source="f", now=T0)
        await settle(store, mids, now=T0)
        await purge_in_chunks(store, now=T0 + KEEP, delivered_payloads=KEEP, dedup_horizon=DEDUP, chunk=4)
        status = await store.retention_status()
        await store.close()
        assert status["purged_payloads"] == {"outbox": 7, "inbox": 0}
        last = status["last_purge"]
        assert last is not None
        assert (last["at"], last["outbox_payloads"], last["inbox_payloads"], last["inbox_deleted"]) == (
            T0 + KEEP,
            7,  # two transactions of one run, added up
            0,
            0,
        )

    run(go())
