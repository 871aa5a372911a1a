"""Retention at the command line: tamga purge, and tamga doctor telling a purged payload from a lost one."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest
from tamga.cli import main as tamga_main
from tamga.config import load_config
from tamga.doctor import diagnose
from tamga.home import init_home
from tamga.protocol import ReceiptOutcome, Sealed
from tamga.store import AcceptItem, Store
from tamga.v1 import envelope_pb2

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason


def test_doctor_counts_purged_payloads_and_calls_an_unexplained_empty_envelope_a_problem(tmp_path: Path) -> None:
    home = tmp_path / "uz"
    init_home(home, node_id="UZ", country="UZ", authority="Customs", listen="127.0.0.1:0", advertise=["127.0.0.1:1"])
    db = load_config(home).path(load_config(home).store.path)

    async def fill() -> None:
        store = await Store.open(db, create=False)
        await store.enqueue(
            [Sealed(m, "KZ", "declaration_snapshot", b"env", m.encode() * 32) for m in "abc"], source="f", now=1.0
        )
        await store.settle(
            "KZ",
            batch_id="b",
            signed=envelope_pb2.SignedReceiptBatch(receipt_batch=b"batch", signature=b"s" * 64),
            outcomes=[ReceiptOutcome(m, S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED, "") for m in "ab"],
            now=2.0,
        )
        await store.accept([AcceptItem("KZ", "x", "declaration_snapshot", b"env", b"x" * 32)], [], now=2.0)
        await store.mark_handed_off([1], now=3.0)
        await store.purge(now=4.0, delivered_payloads=0, dedup_horizon=400 * 86400.0)
        await store.close()

    asyncio.run(fill())

    def store_check() -> tuple[bool, str]:
        [check] = [c for c in diagnose(home) if c.name == "store"]
        return check.ok, check.detail

    ok, detail = store_check()
    assert ok, detail
    assert "outbox: 3 row(s) readable (2 delivered, payload purged by retention, 1 queued)" in detail
    assert "inbox: 1 row(s) readable (1 handed off, payload purged by retention)" in detail

    # The same empty envelope without the retention mark is damage.
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE outbox SET envelope = x'' WHERE message_id = 'c'")
    conn.close()
    ok, detail = store_check()
    assert not ok
    assert "1 row(s) have an empty envelope that retention did not purge (no purged_at)" in detail


def test_tamga_purge_counts_with_dry_run_then_purges(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = tmp_path / "kz"
    init_home(home, node_id="KZ", country="KZ", authority="Customs", listen="127.0.0.1:0", advertise=["127.0.0.1:1"])
    db = load_config(home).path(load_config(home).store.path)
    settled = time.time() - 91 * 86400.0  # the default keeps payloads 90 days

    async def fill() -> None:
        store = await Store.open(db, create=False)
        await store.enqueue(
            [Sealed(m, "UZ", "declaration_snapshot", b"env", m.encode() * 32) for m in "ab"], source="f", now=settled
        )
        await store.settle(
            "UZ",
            batch_id="b",
            signed=envelope_pb2.SignedReceiptBatch(receipt_batch=b"batch", signature=b"s" * 64),
            outcomes=[ReceiptOutcome("a", S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED, "")],
            now=settled,
        )
        await store.close()

    asyncio.run(fill())

    def envelopes() -> list[tuple[str, bytes]]:
        conn = sqlite3.connect(db)
        try:
            return list(conn.execute("SELECT message_id, envelope FROM outbox ORDER BY seq"))
        finally:
            conn.close()

    capsys.readouterr()
    assert tamga_main(["purge", "--dry-run", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("would purge 1 outgoing payload(s) settled and 0 incoming payload(s) handed off"), out
    assert "0 dedup row(s)" in out and "nothing changed" in out
    assert envelopes() == [("a", b"env"), ("b", b"env")]

    assert tamga_main(["purge", "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("purged 1 outgoing payload(s)") and "in 1 transaction(s)" in out, out
    assert envelopes() == [("a", b""), ("b", b"env")]  # the queued record keeps its payload

    assert tamga_main(["purge", "--home", str(home)]) == 0
    assert capsys.readouterr().out.startswith("purged 0 outgoing payload(s)")
