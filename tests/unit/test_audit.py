"""The tamper-evident audit log against real SQLite stores: what it records, and tampering it catches.

Tampering is done the way an insider with the database file would do it:
editing the rows of the ``audit`` table directly with sqlite3.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from tamga import audit
from tamga.audit import AuditSigner, Entry, entry_hash
from tamga.crypto import SigningKey
from tamga.errors import StoreError, TamgaError
from tamga.protocol import ReceiptOutcome, Sealed
from tamga.store import AcceptItem, Store
from tamga.v1 import envelope_pb2

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason
KEY = SigningKey.from_seed(bytes(range(32)))
SIGNER = AuditSigner("KZ", KEY)
COLUMNS = "seq, at, kind, peer, message_id, record_type, digest, detail, prev_hash, hash, signature"


def digest(n: int) -> bytes:
    return hashlib.sha256(f"envelope {n}".encode()).digest()


def sealed(mid: str, n: int, to: str = "UZ") -> Sealed:
    return Sealed(mid, to, "declaration_snapshot", b"ciphertext-" + digest(n), digest(n))


async def _history(db: Path) -> None:
    """A small life of a node: queue, settle, receive (accepted, duplicate, refused), hand off, seal."""
    store = await Store.open(db)
    try:
        await store.enqueue([sealed("m1", 1), sealed("m2", 2), sealed("m1", 1, to="CN")], source="a.json", now=10.0)
        await store.settle(
            "UZ",
            batch_id="b1",
            signed=envelope_pb2.SignedReceiptBatch(receipt_batch=b"rb", signature=b"s" * 64),
            outcomes=[
                ReceiptOutcome("m1", S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED, ""),
                ReceiptOutcome("m2", S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_MALFORMED_RECORD, "bad"),
            ],
            now=11.0,
        )
        item = AcceptItem("UZ", "u1", "declaration_snapshot", b"env-u1", digest(9))
        await store.accept(
            [item, item], [("UZ", "u2", "SIGNATURE_INVALID", "signature does not verify", digest(8))], now=12.0
        )
        [(_name, rows)] = await store.plan_handoff(limit=10, per_file=10, suffix=".json")
        await store.mark_handed_off([r.seq for r in rows], now=13.0)
        await store.mark_handed_off([r.seq for r in rows], now=14.0)  # again (after a crash): logged once
        assert await store.seal_audit(SIGNER, now=15.0) == 10
        assert await store.seal_audit(SIGNER, now=16.0) is None  # nothing new
    finally:
        await store.close()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    asyncio.run(_history(path))
    return path


def verify(db: Path, key: SigningKey = KEY) -> audit.Report:
    return audit.verify_entries(audit.read_entries(db), node_id="KZ", verify_key=key.public)


def rows(db: Path) -> list[Entry]:
    return list(audit.read_entries(db))


def write(db: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute(sql, params)
    conn.close()


def put(db: Path, e: Entry) -> None:
    write(
        db,
        f"INSERT OR REPLACE INTO audit ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (e.seq, e.at, e.kind, e.peer, e.message_id, e.record_type, e.digest, e.detail, e.prev_hash, e.hash,
         e.signature),
    )  # fmt: skip


def renumber(db: Path, delta: int, from_seq: int) -> None:
    conn = sqlite3.connect(db)
    with conn:
        order = "DESC" if delta > 0 else "ASC"
        for (seq,) in conn.execute(
            f"SELECT seq FROM audit WHERE seq >= ? ORDER BY seq {order}", (from_seq,)
        ).fetchall():
            conn.execute("UPDATE audit SET seq = ? WHERE seq = ?", (seq + delta, seq))
    conn.close()


# -- what is recorded ------------------------------------------------------------------


def test_each_state_change_is_one_entry_with_digests_and_no_contents(db: Path) -> None:
    got = [(e.seq, e.kind, e.peer, e.message_id, e.digest) for e in rows(db)]
    assert got == [
        (1, "queued", "UZ", "m1", digest(1)),
        (2, "queued", "UZ", "m2", digest(2)),
        (3, "queued", "CN", "m1", digest(1)),
        (4, "delivered", "UZ", "m1", digest(1)),
        (5, "rejected", "UZ", "m2", digest(2)),
        (6, "accepted", "UZ", "u1", digest(9)),
        (7, "duplicate", "UZ", "u1", digest(9)),
        (8, "refused", "UZ", "u2", digest(8)),
        (9, "handed_off", "UZ", "u1", digest(9)),
        (10, "seal", "KZ", "", b""),
    ]
    entries = rows(db)
    assert entries[4].detail == "RECEIPT_STATUS_REJECTED REJECT_REASON_MALFORMED_RECORD batch b1"
    assert entries[7].detail == "SIGNATURE_INVALID: signature does not verify"
    conn = sqlite3.connect(db)
    dump = b"".join(bytes(str(r), "utf-8") for r in conn.execute("SELECT * FROM audit"))
    assert b"ciphertext" not in dump and b"env-u1" not in dump  # digests only, never envelopes or records
    conn.close()


def test_an_untouched_log_verifies_and_is_sealed_to_the_end(db: Path) -> None:
    rep = verify(db)
    assert rep.intact, rep.problems
    assert (rep.entries, rep.seals, rep.sealed_through) == (10, 1, 10)
    assert rep.notes == []


def test_the_audit_entry_commits_with_its_state_change_or_not_at_all(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "s.db")
        await store.enqueue([sealed("m1", 1)], source="a", now=1.0)
        with pytest.raises(StoreError):  # the same message id twice for one peer: nothing queued
            await store.enqueue([sealed("m3", 3), sealed("m1", 1)], source="b", now=2.0)
        await store.close()

    asyncio.run(go())
    assert [(e.seq, e.message_id) for e in rows(tmp_path / "s.db")] == [(1, "m1")]


def test_the_store_seals_by_itself_every_so_many_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(audit, "SEAL_EVERY", 5)

    async def go() -> None:
        store = await Store.open(tmp_path / "s.db")
        store.audit_signer = SIGNER
        await store.enqueue([sealed(f"m{i}", i) for i in range(7)], source="a", now=1.0)
        await store.enqueue([sealed(f"n{i}", i) for i in range(4)], source="b", now=2.0)
        await store.close()

    asyncio.run(go())
    assert [e.seq for e in rows(tmp_path / "s.db") if e.kind == "seal"] == [6, 12]
    rep = verify(tmp_path / "s.db")
    assert rep.intact and rep.sealed_through == 12 and rep.entries == 13
    assert rep.notes == ["entries 13-13 come after the last good seal (seq 12): chained but not signed yet"]


# -- tampering -------------------------------------------------------------------------


def test_an_edited_entry_is_named(db: Path) -> None:
    write(db, "UPDATE audit SET peer = 'CN' WHERE seq = 4")
    rep = verify(db)
    assert rep.problems[0] == "seq 4: edited: the contents of this 'delivered' entry no longer match its hash"
    assert rep.sealed_through == 0


def test_an_edited_entry_with_its_hash_recomputed_is_named(db: Path) -> None:
    e = rows(db)[5]
    changed = Entry(e.seq, e.at, e.kind, e.peer, "forged-id", e.record_type, e.digest, e.detail, e.prev_hash, b"")
    put(db, Entry(*[getattr(changed, f) for f in Entry.__slots__[:-2]], entry_hash(e.prev_hash, changed), None))
    rep = verify(db)
    assert rep.problems == [
        "seq 6: edited: entry 6 (accepted) was changed and its hash recomputed (entry 7 still names its original hash)"
    ]


def test_rewriting_the_whole_chain_after_an_edit_is_caught_by_the_seal(db: Path) -> None:
    entries = rows(db)
    prev = audit.GENESIS
    for e in entries:
        msg = "forged-id" if e.seq == 2 else e.message_id
        f = Entry(e.seq, e.at, e.kind, e.peer, msg, e.record_type, e.digest, e.detail, prev, b"", e.signature)
        f = Entry(*[getattr(f, n) for n in Entry.__slots__[:-2]], entry_hash(prev, f), e.signature)
        put(db, f)
        prev = f.hash
    rep = verify(db)
    assert len(rep.problems) == 1
    assert rep.problems[0].startswith("seq 10: forged seal: its signature does not verify with KZ's identity key")


def test_a_removed_entry_is_named(db: Path) -> None:
    write(db, "DELETE FROM audit WHERE seq = 5")
    rep = verify(db)
    assert rep.problems == ["seq 5: removed: entry 5 missing (the log jumps from 4 to 6)"]


def test_a_removed_entry_is_named_when_the_later_ones_were_renumbered(db: Path) -> None:
    write(db, "DELETE FROM audit WHERE seq = 5")
    renumber(db, -1, 6)
    rep = verify(db)
    assert rep.problems[0] == (
        "seq 5: removed: 1 entry before this one"
        " (it was written as seq 6; the entries after the removal were renumbered)"
    )
    assert len(rep.problems) == 1


def test_an_inserted_entry_is_named(db: Path) -> None:
    renumber(db, +1, 4)
    e3 = rows(db)[2]
    fake = Entry(4, 11.0, "delivered", "CN", "m1", "declaration_snapshot", digest(1), "forged", e3.hash, b"")
    put(db, Entry(*[getattr(fake, n) for n in Entry.__slots__[:-2]], entry_hash(e3.hash, fake), None))
    rep = verify(db)
    assert rep.problems == [
        "seq 4: inserted: entry 4 (delivered) is not in the chain (entry 5 was chained directly after entry 3)"
    ]


def test_reordered_entries_are_named(db: Path) -> None:
    write(db, "UPDATE audit SET seq = -1 WHERE seq = 6")
    write(db, "UPDATE audit SET seq = 6 WHERE seq = 7")
    write(db, "UPDATE audit SET seq = 7 WHERE seq = -1")
    rep = verify(db)
    assert rep.problems == [
        "seq 6: reordered: this entry (duplicate) was chained after entry seq 7 (accepted) but now comes before it"
    ]


def test_a_forged_seal_is_named(db: Path) -> None:
    other = SigningKey.generate()
    e = rows(db)[-1]
    write(db, "UPDATE audit SET signature = ? WHERE seq = ?", (other.sign(audit.SEAL_PURPOSE, b"x"), e.seq))
    rep = verify(db)
    assert rep.problems[0].startswith(
        "seq 10: forged seal: its signature does not verify with KZ's identity key ed25519"
    )
    assert rep.sealed_through == 0


def test_a_log_checked_with_another_nodes_key_has_no_good_seal(db: Path) -> None:
    rep = verify(db, SigningKey.generate())
    assert not rep.intact and "forged seal" in rep.problems[0]


# -- export ----------------------------------------------------------------------------


def test_an_export_verifies_with_the_public_key_alone(db: Path) -> None:
    doc = json.loads(json.dumps(audit.export_range(db, node_id="KZ", from_seq=4, to_seq=6)))
    assert doc["prev_hash"] == rows(db)[2].hash.hex()
    assert [e["seq"] for e in doc["entries"]] == [4, 5, 6, 7, 8, 9, 10] and doc["seals"] == [10]
    rep = audit.verify_export(doc, node_id="KZ", verify_key=KEY.public, where="x.json")
    assert rep.intact, rep.problems
    assert rep.sealed_through == 10

    doc["entries"][1]["detail"] = "RECEIPT_STATUS_ACCEPTED batch b1"
    rep = audit.verify_export(doc, node_id="KZ", verify_key=KEY.public, where="x.json")
    assert rep.problems[0] == "seq 5: edited: the contents of this 'rejected' entry no longer match its hash"

    doc = audit.export_range(db, node_id="KZ", from_seq=4, to_seq=6)
    doc["prev_hash"] = bytes(32).hex()  # another history before the range
    rep = audit.verify_export(doc, node_id="KZ", verify_key=KEY.public, where="x.json")
    assert not rep.intact and rep.problems[0].startswith("seq 4: chain broken")

    rep = audit.verify_export(doc, node_id="KZ", verify_key=SigningKey.generate().public, where="x.json")
    assert not rep.intact
    with pytest.raises(TamgaError, match="the export is of node 'KZ', the identity file is of 'UZ'"):
        audit.verify_export(doc, node_id="UZ", verify_key=KEY.public, where="x.json")


def test_an_unsealed_range_is_not_exported(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "s.db")
        await store.enqueue([sealed("m1", 1), sealed("m2", 2)], source="a", now=1.0)
        await store.close()

    asyncio.run(go())
    with pytest.raises(TamgaError, match="not sealed yet; run 'tamga audit seal'"):
        audit.export_range(tmp_path / "s.db", node_id="KZ", from_seq=1, to_seq=2)


def test_seals_made_before_a_key_rotation_verify_with_the_key_of_their_time(db: Path) -> None:
    """The node rotates its identity key (ed25519:1 -> ed25519:2) and seals again: with every key it has had,
    all seals verify; with only the new key, the old seal is named as not verifying; a seal by a key the
    node never had stays forged."""
    new_key = SigningKey.from_seed(bytes(range(1, 33)), version=2)

    async def more() -> None:
        store = await Store.open(db)
        try:
            await store.enqueue([sealed("m9", 19)], source="b.json", now=20.0)
            assert await store.seal_audit(AuditSigner("KZ", new_key), now=21.0) == 12
        finally:
            await store.close()

    asyncio.run(more())
    both = audit.verify_entries(audit.read_entries(db), node_id="KZ", verify_key=[new_key.public, KEY.public])
    assert both.intact and (both.seals, both.sealed_through) == (2, 12)
    only_new = audit.verify_entries(audit.read_entries(db), node_id="KZ", verify_key=[new_key.public])
    assert only_new.problems == [
        f"seq 10: forged seal: its signature does not verify with KZ's identity key "
        f"{new_key.key_id} (fingerprint {new_key.public.fingerprint})"
    ]
    stranger = SigningKey.from_seed(bytes(range(2, 34)), version=1)
    forged = audit.verify_entries(audit.read_entries(db), node_id="KZ", verify_key=[stranger.public, new_key.public])
    assert any(p.startswith("seq 10: forged seal") for p in forged.problems)


def test_with_a_partial_key_set_a_seal_by_another_key_id_is_unverified_not_forged(db: Path) -> None:
    """An identity file holds one key: a seal by a later key cannot be checked with it, and says so."""
    new_key = SigningKey.from_seed(bytes(range(1, 33)), version=2)

    async def more() -> None:
        store = await Store.open(db)
        try:
            await store.enqueue([sealed("m9", 19)], source="b.json", now=20.0)
            assert await store.seal_audit(AuditSigner("KZ", new_key), now=21.0) == 12
        finally:
            await store.close()

    asyncio.run(more())
    where = ("this identity file", "verify with --manifest")
    doc = audit.export_range(db, node_id="KZ", from_seq=1, to_seq=12)
    rep = audit.verify_export(doc, node_id="KZ", verify_key=[KEY.public], where="x.json", partial_keys=where)
    assert rep.intact and not rep.verified
    assert rep.problems == []
    assert rep.unverified == [
        "seq 12: seal signed by key ed25519:2, not in this identity file: verify with --manifest",
        "the range 1-12 is not covered by a good seal (sealed through 10)",
    ]
    assert rep.sealed_through == 10  # the seal of the identity file's key still vouches for what it covers
    both = audit.verify_export(
        doc, node_id="KZ", verify_key=[KEY.public, new_key.public], where="x.json", partial_keys=where
    )
    assert both.verified and both.sealed_through == 12
    # A seal naming a key the verifier holds, but not made by it, is still forged.
    forged = audit.export_range(db, node_id="KZ", from_seq=1, to_seq=12)
    forged["entries"][-1]["signature"] = SigningKey.generate().sign(audit.SEAL_PURPOSE, b"x").hex()
    rep = audit.verify_export(
        forged, node_id="KZ", verify_key=[KEY.public, new_key.public], where="x.json", partial_keys=where
    )
    assert any(p.startswith("seq 12: forged seal") for p in rep.problems)
    # Only the range after the identity file's seal is left unchecked: not a pass, not tampering.
    only_new = audit.export_range(db, node_id="KZ", from_seq=11, to_seq=12)
    rep = audit.verify_export(only_new, node_id="KZ", verify_key=[KEY.public], where="x.json", partial_keys=where)
    assert rep.problems == [] and len(rep.unverified) == 2
    assert rep.unverified[1].startswith("the range 11-12 is not covered by a good seal")
