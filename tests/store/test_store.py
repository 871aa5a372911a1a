"""The store against real SQLite files."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from tamga.errors import StoreError
from tamga.protocol import Sealed
from tamga.store import SCHEMA_VERSION, AcceptItem, Store
from tamga.v1 import envelope_pb2

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason


def item(mid: str, digest: bytes = b"d" * 32) -> AcceptItem:
    return AcceptItem("KZ", mid, "declaration_snapshot", b"envelope-" + digest, digest)


def test_a_new_store_is_in_wal_mode_at_the_current_schema(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        assert await store.schema_version() == SCHEMA_VERSION
        await store.close()

    asyncio.run(go())
    conn = sqlite3.connect(tmp_path / "t.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_store_from_a_newer_tamga_is_refused(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "t.db")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this Tamga"):
        asyncio.run(Store.open(tmp_path / "t.db"))


def test_a_file_that_is_not_a_database_is_refused_clearly(tmp_path: Path) -> None:
    (tmp_path / "t.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="damaged or not a Tamga database"):
        asyncio.run(Store.open(tmp_path / "t.db"))


def test_a_missing_store_is_not_created_when_asked_not_to(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="missing"):
        asyncio.run(Store.open(tmp_path / "t.db", create=False))
    assert not (tmp_path / "t.db").exists()


def test_dedup_on_sender_and_message_id_survives_reopening(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        first = await store.accept([item("m1"), item("m1")], [], now=1.0)
        await store.close()
        store = await Store.open(tmp_path / "t.db")
        again = await store.accept([item("m1"), item("m1", b"e" * 32), item("m2")], [], now=2.0)
        counts = await store.counts()
        await store.close()
        assert [s for s, _, _ in first] == [S.RECEIPT_STATUS_ACCEPTED, S.RECEIPT_STATUS_DUPLICATE]
        assert [(s, r) for s, r, _ in again] == [
            (S.RECEIPT_STATUS_DUPLICATE, R.REJECT_REASON_UNSPECIFIED),
            (S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_MESSAGE_ID_CONFLICT),
            (S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED),
        ]
        assert counts["received"] == 2
        assert counts["refused"] == 1

    asyncio.run(go())


def test_a_caller_cancelled_mid_transaction_leaves_the_store_usable(tmp_path: Path) -> None:
    # A peer that disconnects mid-batch cancels the coroutine waiting on the store.
    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        for delay_steps in range(6):
            task = asyncio.create_task(store.accept([item(f"c{delay_steps}")], [], now=1.0))
            for _ in range(delay_steps):
                await asyncio.sleep(0)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            # The next transactions work, and the cancelled one either committed whole or not at all.
            await store.accept([item(f"n{delay_steps}")], [], now=1.0)
            await store.mark_handed_off([], now=1.0)
        counts = await store.counts()
        await store.close()
        assert 6 <= counts["received"] <= 12

    asyncio.run(go())


def test_enqueue_is_all_or_nothing(tmp_path: Path) -> None:
    def sealed(mid: str) -> Sealed:
        return Sealed(mid, "UZ", "declaration_snapshot", b"env", b"d" * 32)

    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        await store.enqueue([sealed("a")], source="f1", now=1.0, intake_sha256=b"1" * 32, records=1)
        with pytest.raises(StoreError):
            # "a" is already queued for UZ: the whole file is refused, "b" included.
            await store.enqueue([sealed("b"), sealed("a")], source="f2", now=1.0, intake_sha256=b"2" * 32)
        rows = await store.outbox_states()
        assert [r["message_id"] for r in rows] == ["a"]
        assert await store.intake_seen("f1", b"1" * 32)
        assert not await store.intake_seen("f2", b"2" * 32)
        await store.close()

    asyncio.run(go())


def test_hand_off_plans_files_per_sender_and_plans_them_again_the_same_after_a_crash(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        # KZ numbers its envelopes 41..45 (its stream to this node); UZ's come without numbers.
        items = [AcceptItem("KZ", f"k{i}", "declaration_snapshot", b"e", bytes([i]) * 32, 41 + i) for i in range(5)]
        items += [AcceptItem("UZ", f"u{i}", "declaration_snapshot", b"e", bytes([i]) * 32) for i in range(2)]
        await store.accept(items, [], now=1.0)
        groups = await store.plan_handoff(limit=100, per_file=2, suffix=".json")
        names = [name for name, _ in groups]
        assert [[r.message_id for r in rows] for _, rows in groups] == [
            ["k0", "k1"],
            ["k2", "k3"],
            ["k4"],
            ["u0", "u1"],
        ]
        # Named by the sender's sequence numbers; a shared file adds its first message id's start.
        assert names[0] == "KZ-000000000041-000000000042-k0.json"
        assert names[2] == "KZ-000000000045-k4.json"
        # Without a sender's number, this node's inbox number, marked "x".
        assert names[3] == "UZ-x000000000006-x000000000007-u0.json"
        # The node dies before marking anything: the same files with the same records come back.
        await store.close()
        store = await Store.open(tmp_path / "t.db")
        again = await store.plan_handoff(limit=100, per_file=3, suffix=".json")
        assert [(n, [r.seq for r in rows]) for n, rows in again] == [(n, [r.seq for r in rows]) for n, rows in groups]
        await store.mark_handed_off([r.seq for _, rows in again for r in rows], now=2.0)
        assert await store.plan_handoff(limit=100, per_file=3, suffix=".json") == []
        assert (await store.counts())["pending_handoff"] == 0
        await store.close()

    asyncio.run(go())


def test_a_row_taken_out_of_its_file_is_planned_alone_later(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        await store.accept([item(f"m{i}", bytes([i]) * 32) for i in range(3)], [], now=1.0)
        ((_, rows),) = await store.plan_handoff(limit=10, per_file=10, suffix=".json")
        stuck = rows[1].seq
        await store.unplan_handoff([stuck])
        await store.mark_handed_off([rows[0].seq, rows[2].seq], now=2.0)
        assert await store.plan_handoff(limit=10, per_file=10, suffix=".json", exclude=frozenset({stuck})) == []
        later = await store.plan_handoff(limit=10, per_file=10, suffix=".json")
        assert [[r.seq for r in rs] for _, rs in later] == [[stuck]]
        await store.close()

    asyncio.run(go())
