"""Records that can never be delivered (this node was removed from the federation) leave the queue
as rejected, with the reason, in the audit log too; against a real SQLite file."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from tamga.protocol import Sealed
from tamga.store import Store
from tamga.store._store import REJECT_CHUNK

REASON = "REMOVED_FROM_FEDERATION"
DETAIL = "this node was removed from federation sco in manifest version 2; not sent"


def sealed(mid: str, peer: str) -> Sealed:
    return Sealed(mid, peer, "declaration_snapshot", b"env-" + mid.encode(), b"d" * 32)


def test_every_queued_row_is_rejected_with_the_reason_and_settled_ones_are_left_alone(tmp_path: Path) -> None:
    many = REJECT_CHUNK + 7  # more than one transaction's worth

    async def queue() -> None:
        store = await Store.open(tmp_path / "t.db")
        try:
            await store.enqueue(
                [sealed(f"uz-{i}", "UZ") for i in range(many)] + [sealed("kz-1", "KZ"), sealed("kg-1", "KG")],
                source="f1",
                now=1.0,
            )
        finally:
            await store.close()

    async def go() -> tuple[int, int]:
        store = await Store.open(tmp_path / "t.db")
        try:
            first = await store.reject_queued(reason=REASON, detail=DETAIL, now=2.0)
            again = await store.reject_queued(reason=REASON, detail=DETAIL, now=3.0)
            return first, again
        finally:
            await store.close()

    asyncio.run(queue())
    with sqlite3.connect(tmp_path / "t.db") as conn:  # KG's row was delivered before: it keeps its state
        conn.execute("UPDATE outbox SET state = 'delivered', settled_at = 1.5 WHERE peer = 'KG'")
    first, again = asyncio.run(go())
    assert (first, again) == (many + 1, 0)
    conn = sqlite3.connect(tmp_path / "t.db")
    states = dict(conn.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
    assert states == {"rejected": many + 1, "delivered": 1}
    rows = conn.execute(
        "SELECT DISTINCT reject_reason, reject_detail, settled_at FROM outbox WHERE state = 'rejected'"
    ).fetchall()
    assert rows == [(REASON, DETAIL, 2.0)]
    audit = conn.execute("SELECT peer, detail FROM audit WHERE kind = 'rejected'").fetchall()
    assert len(audit) == many + 1
    assert {p for p, _ in audit} == {"UZ", "KZ"}
    assert all(DETAIL in d for _, d in audit)


def test_only_the_named_peers_rows_are_rejected(tmp_path: Path) -> None:
    async def go() -> int:
        store = await Store.open(tmp_path / "t.db")
        try:
            await store.enqueue([sealed("a", "UZ"), sealed("b", "KZ")], source="f1", now=1.0)
            return await store.reject_queued(reason=REASON, detail=DETAIL, now=2.0, peers=["UZ"])
        finally:
            await store.close()

    assert asyncio.run(go()) == 1
    conn = sqlite3.connect(tmp_path / "t.db")
    assert sorted(conn.execute("SELECT peer, state FROM outbox")) == [("KZ", "queued"), ("UZ", "rejected")]
