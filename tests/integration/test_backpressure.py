"""Backpressure: a peer that does not acknowledge cannot make the sender's outbox grow without bound.

Real nodes on real gRPC and SQLite: KZ queues for UZ while UZ is down, up to
``[limits] max_queued`` records; a file past the limit is refused whole, goes
to the failed folder with its report, and is taken again when moved back once
UZ has caught up.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from tamga.config import load_config
from tamga.errors import ConfigError, QueueFullError
from tamga.intake import write_atomically
from tamga.tools.federation import free_port, patch_config

from .nodes import (
    contact_message,
    db_path,
    declaration,
    incoming_records,
    open_node,
    pair,
    point,
    query,
    records_file,
    stop_all,
    wait_until,
)


def test_max_queued_defaults_to_a_million_and_must_be_a_positive_whole_number(tmp_path: Path) -> None:
    kz, _ = pair(tmp_path)
    assert load_config(kz).limits.max_queued == 1_000_000
    assert "max_queued = 1000000" in (kz / "tamga.toml").read_text("utf-8")
    for bad in (0, -5, "many"):
        with pytest.raises(ConfigError, match=r"\[limits\] max_queued: expected a positive whole number"):
            patch_config(kz, "limits", {"max_queued": bad})  # writes the value, then loads the configuration


def test_a_file_past_max_queued_is_refused_whole_and_taken_again_once_the_peer_catches_up(tmp_path: Path) -> None:
    uz_port = free_port()  # UZ is down at first; KZ must know where it will be
    kz_home, uz_home = pair(tmp_path, uz_listen=f"127.0.0.1:{uz_port}")
    patch_config(kz_home, "limits", {"max_queued": 3})
    kz_db = db_path(kz_home)
    first = [declaration("KZ", ["UZ"], 1), contact_message("KZ", ["UZ"], "first")]
    too_many = [declaration("KZ", ["UZ"], 2), declaration("KZ", ["UZ"], 3)]
    last = [contact_message("KZ", ["UZ"], "fills the queue to the limit exactly")]
    outgoing, failed, processed = (kz_home / d for d in ("outgoing", "failed", "processed"))

    def queued() -> int:
        return int(query(kz_db, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'")[0][0])

    async def scenario() -> None:
        kz = await open_node(kz_home)
        uz = None
        try:
            await kz.start_server()
            point(kz, "UZ", uz_port)
            await kz.start_work()
            write_atomically(outgoing / "first.json", records_file(first))
            await wait_until(lambda: (processed / "first.json").exists(), "first.json queued")
            assert queued() == 2

            # Two more would make 4 > 3: refused whole, nothing of it queued.
            write_atomically(outgoing / "too-many.json", records_file(too_many))
            report_path = failed / "too-many.json.error.json"
            await wait_until(report_path.exists, "too-many.json refused")
            assert (failed / "too-many.json").exists() and not (outgoing / "too-many.json").exists()
            assert queued() == 2
            report = json.loads(report_path.read_text("utf-8"))
            err = report["error"]
            assert err["kind"] == "queue_full"
            assert (err["peer"], err["queued"], err["adding"], err["max_queued"]) == ("UZ", 2, 2, 3)
            msg = err["message"]
            assert "KZ has 2 records queued for UZ (limit [limits] max_queued = 3)" in msg
            assert "UZ has not acknowledged any record yet" in msg
            assert "refusing new files until it catches up" in msg
            assert "no record of this file was queued" in report["rule"]

            # ``tamga send``'s path refuses the same way, and says so.
            with pytest.raises(QueueFullError, match=r"KZ has 2 records queued for UZ") as info:
                await kz.submitter.submit(records_file(too_many), source="by-hand.json")
            assert info.value.peer == "UZ"
            assert queued() == 2

            # Up to the limit exactly is still accepted.
            write_atomically(outgoing / "last.json", records_file(last))
            await wait_until(lambda: (processed / "last.json").exists(), "last.json queued")
            assert queued() == 3

            # UZ comes up and acknowledges everything.
            uz = await open_node(uz_home)
            await uz.start_server()
            assert uz.port == uz_port
            point(uz, "KZ", kz.port)
            await uz.start_work()
            await wait_until(lambda: queued() == 0, "KZ's queue for UZ drained")

            # The operator moves the refused file back: it is taken, whole, once.
            os.replace(failed / "too-many.json", outgoing / "too-many.json")
            await wait_until(lambda: (processed / "too-many.json").exists(), "too-many.json taken again")
            sent = first + last + too_many
            ids = {item["meta"]["recordId"] for item in sent}
            await wait_until(lambda: ids <= set(incoming_records(uz_home)), "every record at UZ")
            await asyncio.sleep(0.3)
            got = incoming_records(uz_home)
            assert set(got) == ids and all(len(v) == 1 for v in got.values())
            rows = query(kz_db, "SELECT state, COUNT(*) FROM outbox GROUP BY state")
            assert rows == [("delivered", len(sent))]
        finally:
            await stop_all(kz, uz)

    asyncio.run(scenario())
