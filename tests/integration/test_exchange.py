"""Two real nodes (KZ, UZ) in-process, on real gRPC and real SQLite, exchanging records.

The national systems' side is the drop folders: files written into
``outgoing``, records coming out in ``incoming``, one file per record.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import pytest
from tamga.app import Node
from tamga.crypto import VerifyKey
from tamga.errors import CryptoError
from tamga.intake import write_atomically
from tamga.protocol import RECEIPT_PURPOSE
from tamga.tools.federation import free_port
from tamga.v1 import envelope_pb2

from .nodes import (
    as_record,
    contact_message,
    db_path,
    declaration,
    files_in,
    incoming_records,
    make_home,
    open_node,
    pair,
    peer_up,
    point,
    query,
    records_file,
    start_nodes,
    start_pair,
    stop_all,
    wait_until,
)

S = envelope_pb2.ReceiptStatus


def all_delivered(home: Path, expected: int) -> bool:
    states = query(db_path(home), "SELECT state FROM outbox")
    return len(states) == expected and all(s == "delivered" for (s,) in states)


def arrived(home: Path, record_ids: set[str]) -> bool:
    return record_ids <= set(incoming_records(home))


def assert_exactly_once(home: Path, sent: list[dict]) -> None:
    """Each sent record is in ``home``'s incoming folder once, equal to what was sent, and nothing else."""
    got = incoming_records(home)
    expected = {item["meta"]["recordId"]: as_record(item) for item in sent}
    assert set(got) == set(expected)
    for rid, records in got.items():
        assert len(records) == 1, f"record {rid} handed off {len(records)} times"
        assert records[0] == expected[rid]
    assert len(files_in(home / "incoming")) == len(sent)


async def check_outbox_and_evidence(sender: Node, receiver: Node, sent: list[dict]) -> None:
    """Every outbox row delivered with a kept receipt that the receiver's key verifies."""
    rows = await sender.store.outbox_states()
    assert len(rows) == len(sent)
    assert Counter(r["record_type"] for r in rows) == Counter(
        "declaration_snapshot" if "declarationSnapshot" in item else "contact_point_message" for item in sent
    )
    receiver_key: VerifyKey = receiver.local.signing_key.public
    for row in rows:
        assert row["peer"] == receiver.local.node_id
        assert row["state"] == "delivered"
        assert row["receipt_status"] == "RECEIPT_STATUS_ACCEPTED"
        assert row["receipt_id"] is not None
        evidence = await sender.store.receipt_evidence(row["receipt_id"])
        assert evidence is not None
        peer, batch_bytes, signature = evidence
        assert peer == receiver.local.node_id
        receiver_key.verify(RECEIPT_PURPOSE, signature, batch_bytes)
        with pytest.raises(CryptoError):
            receiver_key.verify(RECEIPT_PURPOSE, signature, batch_bytes + b"\x00")
        batch = envelope_pb2.ReceiptBatch.FromString(batch_bytes)
        assert batch.receiver == receiver.local.node_id
        assert batch.sender == sender.local.node_id
        assert batch.receiver_signing_key_id == receiver_key.key_id
        mine = [r for r in batch.receipts if r.message_id == row["message_id"]]
        assert len(mine) == 1
        assert mine[0].envelope_digest == row["digest"]
        assert mine[0].status == S.RECEIPT_STATUS_ACCEPTED


def test_records_cross_in_both_directions(tmp_path: Path) -> None:
    kz_home, uz_home = pair(tmp_path)
    kz_sent = [
        declaration("KZ", ["UZ"], 1),
        contact_message("KZ", ["UZ"], "Check consignment MSKU1234565"),
        declaration("KZ", ["UZ"], 2),
        contact_message("KZ", ["UZ"], "Second request"),
    ]
    uz_sent = [contact_message("UZ", ["KZ"], "Reply"), declaration("UZ", ["KZ"], 3)]

    async def scenario() -> None:
        kz, uz = await start_pair(kz_home, uz_home)
        try:
            write_atomically(kz_home / "outgoing" / "kz-0001.json", records_file(kz_sent))
            write_atomically(uz_home / "outgoing" / "uz-0001.json", records_file(uz_sent))
            kz_ids = {i["meta"]["recordId"] for i in kz_sent}
            uz_ids = {i["meta"]["recordId"] for i in uz_sent}
            await wait_until(lambda: arrived(uz_home, kz_ids) and arrived(kz_home, uz_ids), "records in both incoming")
            await wait_until(
                lambda: all_delivered(kz_home, len(kz_sent)) and all_delivered(uz_home, len(uz_sent)),
                "both outboxes delivered",
            )
            await asyncio.sleep(0.3)  # a second hand-off of anything would show now

            assert_exactly_once(uz_home, kz_sent)
            assert_exactly_once(kz_home, uz_sent)
            for home, name in ((kz_home, "kz-0001.json"), (uz_home, "uz-0001.json")):
                assert files_in(home / "outgoing") == []
                assert [p.name for p in files_in(home / "processed")] == [name]
                assert files_in(home / "failed") == []
            # Incoming files are named SENDER-SEQ-MESSAGEID.json after the inbox row they came from.
            inbox = query(db_path(uz_home), "SELECT sender, message_id, handoff_name, handed_off_at FROM inbox")
            assert len(inbox) == len(kz_sent)
            assert {n for _, _, n, _ in inbox} == {p.name for p in files_in(uz_home / "incoming")}
            for sender, mid, name, at in inbox:
                assert sender == "KZ" and at is not None
                assert name.startswith("KZ-") and name.endswith(f"-{mid}.json")

            await check_outbox_and_evidence(kz, uz, kz_sent)
            await check_outbox_and_evidence(uz, kz, uz_sent)
            assert query(db_path(kz_home), "SELECT COUNT(*) FROM refused") == [(0,)]
            assert query(db_path(uz_home), "SELECT COUNT(*) FROM refused") == [(0,)]
        finally:
            await stop_all(kz, uz)

    asyncio.run(scenario())


def test_bad_files_fail_whole_and_temporary_files_are_left_alone(tmp_path: Path) -> None:
    kz_home, _ = pair(tmp_path)
    out = kz_home / "outgoing"
    good_uz = declaration("KZ", ["UZ"], 1)
    unroutable = declaration("KZ", ["TJ"], 2)
    malformed = b'{"records": [\n  {"meta": {"recordId": "r-1"},\n   "declarationSnapshot": {"lrn": }\n  }\n]}\n'
    try:
        json.loads(malformed)
    except json.JSONDecodeError as exc:
        where = (exc.lineno, exc.colno)
    assert where[0] == 3

    async def scenario() -> None:
        kz = await open_node(kz_home)  # UZ stays down: nothing here needs it
        try:
            await kz.start_server()
            await kz.start_work()
            # Files still being written: none of these may be touched.
            (out / ".x.tmp").write_bytes(records_file([declaration("KZ", ["UZ"], 3)]))
            (out / "x.part").write_bytes(records_file([declaration("KZ", ["UZ"], 4)]))
            (out / "y.json.partial").write_bytes(b"{")
            (out / ".hidden.json").write_bytes(records_file([declaration("KZ", ["UZ"], 5)]))
            write_atomically(out / "route.json", records_file([unroutable]))
            # One routable record does not save the file: accepted whole or not at all.
            write_atomically(out / "mixed.json", records_file([good_uz, unroutable]))
            write_atomically(out / "broken.json", malformed)
            write_atomically(out / "lower.json", records_file([declaration("KZ", ["uz"], 6)]))
            write_atomically(out / "ok.json", records_file([good_uz]))

            failed = kz_home / "failed"
            reports = ("route.json", "mixed.json", "broken.json", "lower.json")
            await wait_until(
                lambda: (
                    all((failed / f"{n}.error.json").exists() for n in reports)
                    and (kz_home / "processed" / "ok.json").exists()
                ),
                "every file handled",
            )
            await asyncio.sleep(0.3)  # several more scans of the folder

            assert sorted(p.name for p in out.iterdir()) == [".hidden.json", ".x.tmp", "x.part", "y.json.partial"]
            assert sorted(p.name for p in files_in(failed)) == sorted([*reports, *(f"{n}.error.json" for n in reports)])
            docs = {n: json.loads((failed / f"{n}.error.json").read_text("utf-8")) for n in reports}
            for n, doc in docs.items():
                assert doc["file"] == n
                assert Path(doc["moved_to"]) == failed / n
                assert doc["sha256"] is not None
            for n in ("route.json", "mixed.json"):
                assert docs[n]["error"]["kind"] == "routing"
                assert "TJ" in docs[n]["error"]["message"]
            err = docs["broken.json"]["error"]
            assert err["kind"] == "adapter"
            assert err["adapter"] == "json"
            assert err["location"] == {"line": where[0], "column": where[1]}
            assert docs["lower.json"]["error"]["kind"] == "validation"
            assert any("receiver_countries[0]" in p for p in docs["lower.json"]["error"]["problems"])

            # Only ok.json was queued.
            rows = await kz.store.outbox_states()
            assert [(r["source"], r["peer"], r["state"]) for r in rows] == [("ok.json", "UZ", "queued")]
        finally:
            await kz.stop()

    asyncio.run(scenario())


def test_nothing_is_lost_across_a_sender_restart_while_the_receiver_is_down(tmp_path: Path) -> None:
    uz_port = free_port()  # the receiver's port must be known while it is down
    kz_home, uz_home = pair(tmp_path, uz_listen=f"127.0.0.1:{uz_port}")
    first = [declaration("KZ", ["UZ"], 1), contact_message("KZ", ["UZ"], "first")]
    second = [declaration("KZ", ["UZ"], 2)]
    third = [contact_message("KZ", ["UZ"], "third"), declaration("KZ", ["UZ"], 3)]
    sent = first + second + third
    kz_db = db_path(kz_home)

    async def before_restart() -> None:
        kz = await open_node(kz_home)
        try:
            await kz.start_server()
            point(kz, "UZ", uz_port)
            await kz.start_work()
            write_atomically(kz_home / "outgoing" / "first.json", records_file(first))
            sub = await kz.submitter.submit(records_file(second), source="second.json")
            assert sub.records == 1 and [s.recipient for s in sub.sealed] == ["UZ"]
            await wait_until(lambda: (kz_home / "processed" / "first.json").exists(), "first.json queued")
            await wait_until(
                lambda: query(kz_db, "SELECT consecutive_failures FROM peer_state WHERE peer = 'UZ'") >= [(1,)],
                "a failed delivery attempt to UZ",
            )
        finally:
            await kz.stop()

    async def after_restart() -> None:
        kz: Node | None = None
        uz: Node | None = None
        try:
            kz = await open_node(kz_home)
            await kz.start_server()
            point(kz, "UZ", uz_port)
            await kz.start_work()
            await wait_until(lambda: (kz_home / "processed" / "third.json").exists(), "third.json queued")
            uz = await open_node(uz_home)
            await uz.start_server()
            assert uz.port == uz_port
            point(uz, "KZ", kz.port)
            await uz.start_work()
            ids = {i["meta"]["recordId"] for i in sent}
            await wait_until(lambda: arrived(uz_home, ids), "every record at UZ")
            await wait_until(lambda: all_delivered(kz_home, len(sent)), "KZ outbox delivered")
            await asyncio.sleep(0.3)
            assert_exactly_once(uz_home, sent)
            await check_outbox_and_evidence(kz, uz, sent)
        finally:
            await stop_all(kz, uz)

    asyncio.run(before_restart())
    # Stopped gracefully with the receiver never reached: everything is still queued.
    assert query(kz_db, "SELECT state, COUNT(*) FROM outbox GROUP BY state") == [("queued", len(first) + len(second))]
    assert not (kz_home / "run" / "pid").exists()
    # The national system keeps writing while the node is down.
    write_atomically(kz_home / "outgoing" / "third.json", records_file(third))
    asyncio.run(after_restart())


def test_nothing_is_lost_or_doubled_across_a_receiver_restart(tmp_path: Path) -> None:
    uz_port = free_port()
    kz_home, uz_home = pair(tmp_path, uz_listen=f"127.0.0.1:{uz_port}")
    before = [declaration("KZ", ["UZ"], i) for i in range(1, 4)]
    during = [contact_message("KZ", ["UZ"], f"while UZ is down {i}") for i in range(3)]
    after = [declaration("KZ", ["UZ"], 9)]
    sent = before + during + after

    async def start_uz(kz: Node) -> Node:
        uz = await open_node(uz_home)
        try:
            await uz.start_server()
            assert uz.port == uz_port
            point(uz, "KZ", kz.port)
            await uz.start_work()
        except BaseException:
            await uz.stop()
            raise
        return uz

    async def scenario() -> None:
        kz = await open_node(kz_home)
        uz: Node | None = None
        try:
            await kz.start_server()
            point(kz, "UZ", uz_port)
            await kz.start_work()
            uz = await start_uz(kz)
            write_atomically(kz_home / "outgoing" / "before.json", records_file(before))
            await wait_until(lambda: arrived(uz_home, {i["meta"]["recordId"] for i in before}), "first records")
            await uz.stop()
            uz = None
            await kz.submitter.submit(records_file(during), source="during.json")
            await wait_until(
                lambda: query(kz_db, "SELECT consecutive_failures FROM peer_state WHERE peer = 'UZ'") >= [(1,)],
                "a failed delivery attempt while UZ is down",
            )
            uz = await start_uz(kz)
            write_atomically(kz_home / "outgoing" / "after.json", records_file(after))
            await wait_until(lambda: arrived(uz_home, {i["meta"]["recordId"] for i in sent}), "every record at UZ")
            await wait_until(lambda: all_delivered(kz_home, len(sent)), "KZ outbox delivered")
            await asyncio.sleep(0.3)
            assert_exactly_once(uz_home, sent)
            await check_outbox_and_evidence(kz, uz, sent)
            assert query(kz_db, "SELECT consecutive_failures, last_error FROM peer_state WHERE peer = 'UZ'") == [
                (0, None)
            ]
        finally:
            await stop_all(kz, uz)

    kz_db = db_path(kz_home)
    asyncio.run(scenario())


def test_a_record_for_two_countries_reaches_both_under_one_message_id(tmp_path: Path) -> None:
    homes = [make_home(tmp_path, c, c) for c in ("KZ", "UZ", "TJ")]
    peer_up(homes, tmp_path)
    kz_home, uz_home, tj_home = homes
    both = declaration("KZ", ["UZ", "TJ"], 1)
    uz_only = contact_message("KZ", ["UZ"])
    # A record naming its own sender among the receivers is refused at intake (tamga.validation).
    tj_only = contact_message("KZ", ["TJ"])

    async def scenario() -> None:
        nodes = await start_nodes(homes)
        try:
            write_atomically(kz_home / "outgoing" / "multi.json", records_file([both, uz_only, tj_only]))
            await wait_until(lambda: all_delivered(kz_home, 4), "four envelopes delivered")
            await wait_until(
                lambda: len(files_in(uz_home / "incoming")) >= 2 and len(files_in(tj_home / "incoming")) >= 2,
                "records handed off at UZ and TJ",
            )
            await asyncio.sleep(0.3)
            assert_exactly_once(uz_home, [both, uz_only])
            assert_exactly_once(tj_home, [both, tj_only])
            assert files_in(kz_home / "incoming") == []
            rows = await nodes[0].store.outbox_states()
            by_peer = {(r["peer"], r["record_type"]): r["message_id"] for r in rows}
            assert len(rows) == 4
            assert by_peer[("UZ", "declaration_snapshot")] == by_peer[("TJ", "declaration_snapshot")]
            uz_mids = {m for (m,) in query(db_path(uz_home), "SELECT message_id FROM inbox")}
            tj_mids = {m for (m,) in query(db_path(tj_home), "SELECT message_id FROM inbox")}
            assert uz_mids & tj_mids == {by_peer[("UZ", "declaration_snapshot")]}
        finally:
            await stop_all(*nodes)

    asyncio.run(scenario())


def test_records_can_share_incoming_files_and_each_is_handed_off_once(tmp_path: Path) -> None:
    from tamga.tools.federation import patch_config

    kz_home, uz_home = pair(tmp_path)
    patch_config(uz_home, "adapter", {"records_per_file": 25})
    sent = [declaration("KZ", ["UZ"], n) for n in range(1, 121)]

    async def scenario() -> None:
        kz, uz = await start_pair(kz_home, uz_home)
        try:
            write_atomically(kz_home / "outgoing" / "kz-many.json", records_file(sent))
            await wait_until(lambda: arrived(uz_home, {i["meta"]["recordId"] for i in sent}), "all 120 records")
            await wait_until(lambda: all_delivered(kz_home, len(sent)), "KZ's outbox delivered")
            await asyncio.sleep(0.3)  # a second hand-off of anything would show now
            assert_exactly_once_across_files(uz_home, sent)
            files = files_in(uz_home / "incoming")
            assert 5 <= len(files) < len(sent), [p.name for p in files]
            inbox = query(db_path(uz_home), "SELECT handoff_name, COUNT(*) FROM inbox GROUP BY handoff_name")
            assert sorted(name for name, _ in inbox) == sorted(p.name for p in files)
            assert all(n <= 25 for _, n in inbox)
        finally:
            await stop_all(kz, uz)

    asyncio.run(scenario())


def assert_exactly_once_across_files(home: Path, sent: list[dict]) -> None:
    got = incoming_records(home)
    assert set(got) == {i["meta"]["recordId"] for i in sent}
    for item in sent:
        assert got[item["meta"]["recordId"]] == [as_record(item)]


def test_a_protobuf_node_hands_off_a_stream_of_records_per_file_by_default(tmp_path: Path) -> None:
    from tamga.adapters.protobuf_records import ProtobufAdapter
    from tamga.tools.federation import patch_config

    kz_home, uz_home = pair(tmp_path)
    patch_config(uz_home, "adapter", {"name": "protobuf"})
    sent = [declaration("KZ", ["UZ"], n) for n in range(1, 41)]

    async def scenario() -> None:
        kz, uz = await start_pair(kz_home, uz_home)
        try:
            write_atomically(kz_home / "outgoing" / "kz-40.json", records_file(sent))
            await wait_until(lambda: all_delivered(kz_home, len(sent)), "KZ's outbox delivered")
            await wait_until(
                lambda: query(db_path(uz_home), "SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NULL") == [(0,)],
                "UZ handed everything off",
            )
            files = files_in(uz_home / "incoming")
            assert files and all(p.suffix == ".pb" for p in files)
            assert len(files) < len(sent)  # records share files
            got = [r for p in files for r in ProtobufAdapter().decode(p.read_bytes())]
            assert sorted(r.meta.record_id for r in got) == sorted(i["meta"]["recordId"] for i in sent)
            assert sorted(got, key=lambda r: r.meta.record_id) == sorted(
                (as_record(i) for i in sent), key=lambda r: r.meta.record_id
            )
        finally:
            await stop_all(kz, uz)

    asyncio.run(scenario())
