"""Per-peer sequence numbers in the store: the sender's counter and the receiver's gap accounting."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tamga.protocol import Sealed
from tamga.store import AcceptItem, SequenceConflict, Store


def item(n: int, sender: str = "KZ") -> AcceptItem:
    return AcceptItem(sender, f"m{sender}{n}", "declaration_snapshot", b"e", n.to_bytes(32, "big"), n)


def gaps(report: dict[str, dict[str, object]], sender: str = "KZ") -> list[tuple[int, int]]:
    return [(g["first"], g["last"]) for g in report[sender]["gaps"]]  # type: ignore[index,union-attr]


def test_numbers_in_order_leave_no_gap_and_a_skipped_number_is_a_gap_until_it_arrives(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        await store.accept([item(1), item(2), item(3)], [], now=1.0)
        report = await store.sequence_gaps()
        assert report["KZ"]["highest"] == 3 and gaps(report) == [] and report["KZ"]["missing"] == 0
        # 4, 5 and 8 never came; 6, 7 and 9 did.
        await store.accept([item(6), item(7)], [], now=2.0)
        await store.accept([item(9)], [], now=3.0)
        report = await store.sequence_gaps()
        assert gaps(report) == [(4, 5), (8, 8)] and report["KZ"]["missing"] == 3
        assert report["KZ"]["gaps"][0]["noticed_at"] == 2.0  # type: ignore[index]
        # 5 arrives late (a retry after a failed commit): the gap shrinks to 4.
        await store.accept([item(5)], [], now=4.0)
        assert gaps(await store.sequence_gaps()) == [(4, 4), (8, 8)]
        # 8 is refused after its signature verified (stale, say): accounted for, not missing.
        await store.accept([], [("KZ", "mKZ8", "REJECT_REASON_STALE", "too old", b"x" * 32, 8)], now=5.0)
        # 4 arrives: nothing missing any more; the refusal is on record with its number.
        await store.accept([item(4)], [], now=6.0)
        report = await store.sequence_gaps()
        assert gaps(report) == [] and report["KZ"]["highest"] == 9 and report["KZ"]["reused"] == 0
        await store.close()

    asyncio.run(go())


def test_a_replay_is_not_a_reuse_but_another_envelope_with_a_used_number_is(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        await store.accept([item(1), item(2)], [], now=1.0)
        await store.accept([item(2)], [], now=2.0)  # the same envelope again: DUPLICATE, no accounting
        assert (await store.sequence_gaps())["KZ"]["reused"] == 0
        other = AcceptItem("KZ", "another", "declaration_snapshot", b"e", b"z" * 32, 2)
        await store.accept([other], [], now=3.0)  # a new envelope with number 2: kept, and counted
        report = await store.sequence_gaps()
        assert report["KZ"]["reused"] == 1 and gaps(report) == []
        rows = await store._read("t", "SELECT message_id FROM inbox WHERE peer_seq = 2 ORDER BY seq")
        assert [r[0] for r in rows] == ["mKZ2", "another"]
        await store.close()

    asyncio.run(go())


def test_unnumbered_envelopes_and_unverified_refusals_do_not_touch_the_accounting(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        await store.accept([AcceptItem("UZ", "u1", "declaration_snapshot", b"e", b"u" * 32)], [], now=1.0)
        await store.accept([], [("UZ", "u2", "REJECT_REASON_BAD_SIGNATURE", "bad", b"v" * 32)], now=1.0)
        assert await store.sequence_gaps() == {}
        await store.close()

    asyncio.run(go())


def sealed(mid: str, peer: str, n: int) -> Sealed:
    return Sealed(mid, peer, "declaration_snapshot", b"env" + mid.encode(), mid.encode().ljust(32, b"."), n)


def test_the_sender_counter_moves_only_with_a_commit_that_saw_it_unchanged(tmp_path: Path) -> None:
    async def go() -> None:
        store = await Store.open(tmp_path / "t.db")
        assert await store.send_sequences(["UZ", "CN"]) == {"UZ": 0, "CN": 0}
        await store.enqueue(
            [sealed("a", "UZ", 1), sealed("b", "UZ", 2), sealed("c", "CN", 1)],
            source="f1",
            now=1.0,
            origins=[("r1", b"1"), ("r2", b"2"), ("r1", b"1")],
            sequences={"UZ": (0, 2), "CN": (0, 1)},
        )
        assert await store.send_sequences(["UZ", "CN"]) == {"UZ": 2, "CN": 1}
        # Another process numbered from a stale view (it thinks UZ is at 1): refused, nothing queued.
        with pytest.raises(SequenceConflict):
            await store.enqueue(
                [sealed("d", "UZ", 2)], source="f2", now=2.0, origins=[("r3", b"3")], sequences={"UZ": (1, 2)}
            )
        rows = await store.outbox_states()
        assert sorted(r["message_id"] for r in rows) == ["a", "b", "c"]
        assert await store.send_sequences(["UZ"]) == {"UZ": 2}
        # What is queued per (peer, record id): the content hashes, for intake's "already queued" check.
        known = await store.already_queued([("UZ", "r1"), ("UZ", "r2"), ("CN", "r2"), ("UZ", "")])
        assert known == {("UZ", "r1"): {b"1"}, ("UZ", "r2"): {b"2"}}
        await store.close()

    asyncio.run(go())
