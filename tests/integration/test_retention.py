"""Retention on real nodes: payloads purged after delivery and hand-off, the dedup record kept beyond them.

Receiving side: a real UZ node (in-process, real gRPC over TLS, real SQLite)
and the conformance suite's fake KZ peer, with UZ's clock moved forward
between runs. A retry of a record whose payload was purged is still answered
DUPLICATE, inside the freshness window and outside it, and never handed off
twice. Past the dedup horizon the row is gone and a copy of that envelope is
refused STALE: no peer can retry an envelope that old, since every receiver
refuses it by the freshness window ([limits] max_envelope_age +
max_clock_skew), which is why the config insists the dedup horizon exceed it.

Sending side: two real nodes with delivered_payloads = 0s purge right after
delivery and hand-off, and go on exchanging.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import pytest
from tamga import audit
from tamga.cli import main as tamga_main
from tamga.config import load_config
from tamga.home import load_local_identity
from tamga.intake import write_atomically
from tamga.tools.federation import patch_config
from tamga.v1 import envelope_pb2

from .nodes import (
    contact_message,
    db_path,
    declaration,
    incoming_records,
    pair,
    query,
    records_file,
    start_pair,
    stop_all,
    wait_until,
)
from .test_envelope_cases import assert_rejected, send_one, uz_home, uz_running
from .test_wire import header_of, sealed

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason
DAY = 86400.0
FAST_PURGE = {"delivered_payloads": "0s", "purge_interval": "100ms"}


def audit_intact(home: Path) -> audit.Report:
    cfg = load_config(home)
    key = load_local_identity(cfg).signing_key.public
    return audit.verify_entries(audit.read_entries(db_path(home)), node_id=cfg.node.id, verify_key=key)


def test_a_retry_after_the_payload_purge_is_duplicate_and_after_the_dedup_horizon_stale(tmp_path: Path) -> None:
    home, kz = uz_home(tmp_path)
    patch_config(home, "retention", FAST_PURGE)
    db = db_path(home)
    state: dict[str, envelope_pb2.Envelope] = {}

    def inbox() -> list[tuple]:
        return query(db, "SELECT message_id, length(envelope), purged_at IS NOT NULL FROM inbox")

    async def main() -> None:
        async with uz_running(home, kz) as w:
            env = state["env"] = sealed(w, contact_message("KZ", ["UZ"], "kept as digest only"))
            mid = header_of(env).message_id
            assert (await send_one(w, env)).status == S.RECEIPT_STATUS_ACCEPTED
            await wait_until(lambda: inbox() == [(mid, 0, 1)], "the handed-off payload purged")
            assert len(w.incoming()) == 1
            # Inside the freshness window: the dedup record answers, without the payload.
            assert (await send_one(w, env)).status == S.RECEIPT_STATUS_DUPLICATE
        env = state["env"]
        # 20 days on: outside the freshness window (14d); the very envelope committed is still DUPLICATE.
        async with uz_running(home, kz, clock=lambda: time.time() + 20 * DAY) as w:
            assert (await send_one(w, env)).status == S.RECEIPT_STATUS_DUPLICATE
        # 401 days on: past the dedup horizon (400d) the purge at start deleted the row; a copy is STALE.
        async with uz_running(home, kz, clock=lambda: time.time() + 401 * DAY) as w:
            await wait_until(lambda: inbox() == [], "the dedup row deleted at start")
            assert_rejected(await send_one(w, env), R.REJECT_REASON_STALE, "max_envelope_age")
            await asyncio.sleep(0.3)  # a second hand-off would show now
            assert len(w.incoming()) == 1

    asyncio.run(main())
    purges = [json.loads(d) for (d,) in query(db, "SELECT detail FROM audit WHERE kind = 'purge' ORDER BY seq")]
    assert [(p["inbox_payloads"], p["inbox_deleted"]) for p in purges] == [(1, 0), (0, 1)]
    rep = audit_intact(home)
    assert rep.intact, rep.problems
    assert rep.sealed_through == rep.last_seq  # the node sealed at stop, over the purge entries too


def test_sending_and_receiving_nodes_purge_after_delivery_and_keep_exchanging(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    kz_home, uz_home_ = pair(tmp_path)
    for home in (kz_home, uz_home_):
        patch_config(home, "retention", FAST_PURGE)
    kz_db, uz_db = db_path(kz_home), db_path(uz_home_)
    first = [declaration("KZ", ["UZ"], 1), declaration("KZ", ["UZ"], 2)]
    second = [contact_message("KZ", ["UZ"], "after the purge")]

    def purged(db: Path, table: str, n: int) -> bool:
        rows = query(db, f"SELECT length(envelope), purged_at IS NOT NULL FROM {table}")
        return len(rows) == n and all(r == (0, 1) for r in rows)

    async def main() -> None:
        kz, uz = await start_pair(kz_home, uz_home_)
        try:
            write_atomically(kz_home / "outgoing" / "first.json", records_file(first))
            await wait_until(lambda: purged(kz_db, "outbox", 2), "KZ's delivered payloads purged")
            await wait_until(lambda: purged(uz_db, "inbox", 2), "UZ's handed-off payloads purged")
            write_atomically(kz_home / "outgoing" / "second.json", records_file(second))
            await wait_until(lambda: purged(kz_db, "outbox", 3), "the next record delivered and purged too")
            await wait_until(lambda: len(incoming_records(uz_home_)) == 3, "three records at UZ")
        finally:
            await stop_all(kz, uz)

    asyncio.run(main())
    assert [s for (s,) in query(kz_db, "SELECT state FROM outbox")] == ["delivered"] * 3
    # Each delivery's evidence stays: the receipt row and the digest it names.
    assert query(kz_db, "SELECT COUNT(*) FROM outbox o JOIN receipts r ON r.id = o.receipt_id") == [(3,)]
    assert all(len(records) == 1 for records in incoming_records(uz_home_).values())
    for home in (kz_home, uz_home_):
        rep = audit_intact(home)
        assert rep.intact, rep.problems

    capsys.readouterr()
    assert tamga_main(["status", "--home", str(kz_home), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)["retention"]
    assert doc["delivered_payloads"] == "0s" and doc["dedup_horizon"] == "400d" and doc["purge_interval"] == "100ms"
    assert doc["retry_horizon"] == "14d 5m"
    assert doc["purged_payloads"] == {"outbox": 3, "inbox": 0}
    assert doc["last_purge"]["outbox_payloads"] >= 1
    assert tamga_main(["status", "--home", str(uz_home_)]) == 0
    out = capsys.readouterr().out
    assert "retention: payloads kept 0s after delivery or hand-off, dedup record 400d" in out
    assert "payloads purged: 0 outgoing, 3 incoming" in out
