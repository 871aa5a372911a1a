"""The refused log against real SQLite: bounded rows, a per-peer rate, retention, and the upgrade to schema 5."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from tamga import audit
from tamga.audit import AuditSigner
from tamga.crypto import SigningKey
from tamga.store import REFUSED_ROWS_PER_MINUTE, Store
from tamga.store._store import MIGRATIONS, _split_sql

DAY = 86400.0
T0 = 1_700_000_040.0  # the start of a calendar minute
KEEP = 90 * DAY


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return list(conn.execute(sql))
    finally:
        conn.close()


def refusal(peer: str, i: int, **over: Any) -> tuple[Any, ...]:
    r = {
        "peer": peer,
        "message_id": f"m-{i}",
        "reason": "REJECT_REASON_BAD_SIGNATURE",
        "detail": "signature does not verify",
        "digest": i.to_bytes(32, "big"),
        "sequence": 0,
        "claimed": peer,
    }
    r.update(over)
    return tuple(r.values())


def test_every_text_of_a_row_is_cut_and_escaped_whatever_the_caller_passed(tmp_path: Path) -> None:
    db = tmp_path / "t.db"

    async def go() -> None:
        store = await Store.open(db)
        huge = "\x1b[2J" + "x" * 2_000_000
        await store.accept([], [refusal("KZ", 1, message_id=huge, detail=huge, claimed=huge, reason=huge)], now=T0)
        await store.close()

    run(go())
    [(mid, reason, detail, claimed)] = rows(db, "SELECT message_id, reason, detail, claimed FROM refused")
    assert len(mid) + len(reason) + len(detail) + len(claimed) < 800
    assert "\x1b" not in mid + reason + detail + claimed
    [(audit_detail, audit_mid)] = rows(db, "SELECT detail, message_id FROM audit WHERE kind = 'refused'")
    assert len(audit_detail) + len(audit_mid) < 600 and "\x1b" not in audit_detail


def test_refusals_beyond_the_rate_of_a_peer_are_counted_in_one_summary_row(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    n = REFUSED_ROWS_PER_MINUTE + 40

    async def go() -> None:
        store = await Store.open(db)
        half = n // 2
        await store.accept([], [refusal("KZ", i) for i in range(half)], now=T0)
        await store.accept([], [refusal("KZ", i) for i in range(half, n)] + [refusal("TJ", 0)], now=T0 + 30)
        # Each peer has its own budget, and each minute a fresh one.
        await store.accept([], [refusal("KZ", 1000)], now=T0 + 61)
        status = await store.peer_status()
        assert status["KZ"]["refused"] == n + 1 and status["TJ"]["refused"] == 1
        assert (await store.counts())["refused"] == n + 2
        await store.close()

    run(go())
    kz = rows(db, "SELECT reason, count FROM refused WHERE sender = 'KZ' ORDER BY id")
    assert [r for r, _ in kz].count("SUMMARY") == 1
    assert ("SUMMARY", n - REFUSED_ROWS_PER_MINUTE) in kz
    assert len(kz) == REFUSED_ROWS_PER_MINUTE + 2  # the minute's rows, its summary, the next minute's row
    assert rows(db, "SELECT COUNT(*) FROM audit WHERE kind = 'refused' AND peer = 'KZ'") == [
        (REFUSED_ROWS_PER_MINUTE + 2,)
    ]


def test_refused_rows_go_after_the_retention_and_the_purge_is_audited(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    key = SigningKey.generate()

    async def go() -> None:
        store = await Store.open(db)
        store.audit_signer = AuditSigner("UZ", key)
        await store.accept([], [refusal("KZ", 1), refusal("KZ", 2)], now=T0)
        await store.accept([], [refusal("KZ", 3)], now=T0 + 10 * DAY)
        now = T0 + KEEP + 1
        dry = await store.purge(
            now=now, delivered_payloads=KEEP, dedup_horizon=400 * DAY, refused_log=KEEP, dry_run=True
        )
        assert dry.refused_deleted == 2 and (await store.counts())["refused"] == 3
        kept = await store.purge(now=now, delivered_payloads=KEEP, dedup_horizon=400 * DAY)  # no refused_log: kept
        assert kept.refused_deleted == 0
        done = await store.purge(now=now, delivered_payloads=KEEP, dedup_horizon=400 * DAY, refused_log=KEEP)
        assert (done.refused_deleted, done.transactions, done.total) == (2, 1, 2)
        assert (await store.counts())["refused"] == 1
        await store.seal_audit(store.audit_signer, now=now)
        await store.close()

    run(go())
    assert rows(db, "SELECT message_id FROM refused") == [("m-3",)]
    [detail] = [json.loads(d) for (d,) in rows(db, "SELECT detail FROM audit WHERE kind = 'purge'")]
    assert detail["refused_deleted"] == 2 and detail["refused_logged_before"] == "2023-11-14T22:14:01Z"
    rep = audit.verify_entries(audit.read_entries(db), node_id="UZ", verify_key=key.public)
    assert rep.intact, rep.problems


def test_a_store_of_schema_4_keeps_its_refusals_when_upgraded(tmp_path: Path) -> None:
    db = tmp_path / "t.db"
    conn = sqlite3.connect(db, isolation_level=None)
    for number, sql in MIGRATIONS:
        if number <= 4:
            for statement in _split_sql(sql):
                conn.execute(statement)
    conn.execute("PRAGMA user_version = 4")
    conn.execute(
        "INSERT INTO refused (sender, message_id, reason, detail, digest, refused_at) VALUES"
        " ('KZ', 'm', 'REJECT_REASON_STALE', 'old', x'00', 1.0)"
    )
    conn.close()

    async def go() -> None:
        store = await Store.open(db)
        assert await store.schema_version() == 5
        assert (await store.peer_status())["KZ"]["refused"] == 1
        await store.close()

    run(go())
    assert rows(db, "SELECT claimed, count FROM refused") == [("", 1)]


async def _rejected_by_uz(store: Store, reason: int, detail: str) -> None:
    """One record queued for UZ, then UZ's signed receipt rejecting it with ``reason`` and ``detail``."""
    from tamga.protocol import ReceiptOutcome, Sealed
    from tamga.v1 import envelope_pb2

    await store.enqueue([Sealed("m1", "UZ", "declaration_snapshot", b"env", b"d" * 32)], source="f", now=T0)
    await store.settle(
        "UZ",
        batch_id="b",
        signed=envelope_pb2.SignedReceiptBatch(receipt_batch=b"batch", signature=b"s" * 64),
        outcomes=[ReceiptOutcome("m1", envelope_pb2.RECEIPT_STATUS_REJECTED, reason, detail)],
        now=T0,
    )


def test_what_a_peer_wrote_in_a_receipt_or_a_status_is_kept_cut_and_escaped(tmp_path: Path) -> None:
    """A rejection's detail and a delivery error come from the peer: status reads them from the store."""
    from tamga.v1 import envelope_pb2

    db = tmp_path / "t.db"
    hostile = "\x1b[2J\x1b[1;1Hforged line" + "D" * 2_000_000

    async def go() -> None:
        store = await Store.open(db)
        await _rejected_by_uz(store, envelope_pb2.REJECT_REASON_MALFORMED_RECORD, hostile)
        await store.record_failure("UZ", error=f"UNAVAILABLE: {hostile}", now=T0, retry_at=T0 + 1)
        [rejection] = await store.recent_rejections()
        assert len(rejection["detail"]) < 400 and "\x1b" not in rejection["detail"]
        error = (await store.peer_status())["UZ"]["last_error"]
        assert len(error) < 1100 and "\x1b" not in error and error.startswith("UNAVAILABLE: \\x1b[2J")
        await store.close()

    run(go())


def test_a_rejection_with_a_reason_code_this_node_does_not_know_is_settled(tmp_path: Path) -> None:
    """A peer's receipt may carry a reason code newer than this node (or made up): settle it, name it by number."""

    db = tmp_path / "t.db"

    async def go() -> None:
        store = await Store.open(db)
        await _rejected_by_uz(store, 999, "from the future")
        [rejection] = await store.recent_rejections()
        assert rejection["reason"] == "REJECT_REASON_999"
        assert (await store.peer_status())["UZ"]["rejected"] == 1
        await store.close()

    run(go())
