"""The node's SQLite store: outbox per peer, inbox, receipts, dedup, intake.

One SQLite file in WAL mode with ``synchronous=FULL``: a transaction that
has committed survives a crash of the process or of the machine, which is
what lets the node say "accepted" to the national system and send a receipt
to a peer. Work is committed in groups (one transaction per envelope batch,
per receipt batch, per intake file), never one row per transaction.

Every public coroutine runs exactly one transaction. The connection is shared
by the node's coroutines, so transactions are serialized by a lock; other
processes (``tamga send``, ``tamga status``) may open the same file.
"""

from __future__ import annotations

import asyncio
import resource
import shutil
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import aiosqlite
from tamga import audit
from tamga.audit import AuditEvent, AuditSigner
from tamga.errors import QueueFullError, StoreError, StoreFullError
from tamga.protocol import (
    DEFAULT_MAX_SEQUENCE_JUMP,
    MAX_DETAIL_CHARS,
    MAX_FIELD_CHARS,
    ReceiptOutcome,
    Sealed,
    clip,
    reason_name,
    sequence_jump_problem,
)
from tamga.store import _retention
from tamga.store._retention import PurgeResult
from tamga.v1 import envelope_pb2

__all__ = [
    "SCHEMA_VERSION",
    "AcceptItem",
    "InboxRow",
    "OutboxRow",
    "SequenceConflict",
    "Store",
]

S = envelope_pb2.ReceiptStatus
R = envelope_pb2.RejectReason

REFUSED_ROWS_PER_MINUTE = 60
"""Most refused-log rows (and audit entries) written per peer and minute; the rest are counted in one SUMMARY row."""
MAX_LAST_ERROR_CHARS = 1000
"""Most characters of a delivery error kept for status (it may quote a peer's gRPC status message)."""
SUMMARY = "SUMMARY"
"""The reason of a refused-log row that counts the refusals of a peer and minute beyond the rate."""


def _migrations() -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("tamga.store").joinpath("schema").iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
    return sorted(found)


MIGRATIONS = _migrations()
SCHEMA_VERSION = MIGRATIONS[-1][0]

# The end of every error about a damaged store: the node never repairs, drops or recreates one itself.
_DOCTOR = (
    "the node does not use a damaged store and changed nothing; run 'tamga doctor' to see what is wrong and how to "
    "recover"
)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    seq: int
    message_id: str
    record_type: str
    envelope: bytes
    digest: bytes


@dataclass(frozen=True, slots=True)
class InboxRow:
    seq: int
    sender: str
    message_id: str
    record_type: str
    envelope: bytes
    sequence: int = 0  # the sender's number for this envelope (0 = not numbered)


@dataclass(frozen=True, slots=True)
class AcceptItem:
    """An envelope that passed every check, to be committed to the inbox."""

    sender: str
    message_id: str
    record_type: str
    envelope: bytes
    digest: bytes
    sequence: int = 0


class SequenceConflict(StoreError):
    """Another process queued for a peer between numbering and committing; number and seal again."""


class Store:
    """The store of one node. Open with :meth:`open`, close with :meth:`close`."""

    def __init__(self, conn: aiosqlite.Connection, path: Path) -> None:
        self._conn = conn
        self._lock = asyncio.Lock()
        self._pending: set[asyncio.Task[Any]] = set()
        self.path = path
        self.audit_signer: AuditSigner | None = None  # set by the node: seals the audit log every SEAL_EVERY entries
        # Set by the node from [limits]: a received sequence number further than this beyond the
        # sender's highest is refused SEQUENCE_OUT_OF_RANGE, never recorded as a gap.
        self.max_sequence_jump = DEFAULT_MAX_SEQUENCE_JUMP
        self.refused_rows_per_minute = REFUSED_ROWS_PER_MINUTE

    # -- opening ---------------------------------------------------------------

    @classmethod
    async def open(cls, path: Path, *, create: bool = True) -> Store:
        """Open (and if needed create or migrate) the store at ``path``.

        Raises:
            StoreError: the file is missing (``create=False``), not a database,
                corrupt, or from a newer version of Tamga.
        """
        if not create and not path.exists():
            raise StoreError(
                f"{path}: the node's store is missing; is --home the node directory made by 'tamga init'? If it is,"
                f" restore the store from your backup rather than start with none; {_DOCTOR}"
            )
        try:
            empty = path.stat().st_size == 0
        except FileNotFoundError:
            empty = False
        except OSError as exc:
            raise StoreError(f"{path}: cannot open the store: {exc.strerror}") from exc
        if empty:
            # SQLite would silently make a new, empty store of it: every queued record and the dedup history lost.
            raise StoreError(f"{path}: the store is damaged: the file is empty (0 bytes), truncated; {_DOCTOR}")
        if path.exists():
            await asyncio.to_thread(_check_intact, path)
        try:
            conn = await aiosqlite.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{path}: cannot open the store: {exc}") from exc
        store = cls(conn, path)
        try:
            await store._setup()
        except sqlite3.DatabaseError as exc:
            await conn.close()
            raise StoreError(f"{path}: the store is damaged or not a Tamga database: {exc}; {_DOCTOR}") from exc
        except BaseException:
            await conn.close()
            raise
        return store

    async def _setup(self) -> None:
        c = self._conn
        await c.execute("PRAGMA busy_timeout = 10000")
        mode = await self._scalar("PRAGMA journal_mode = WAL")
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: cannot switch the store to WAL mode (got {mode})")
        await c.execute("PRAGMA synchronous = FULL")
        await c.execute("PRAGMA foreign_keys = ON")
        version = int(await self._scalar("PRAGMA user_version"))
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path}: store schema version {version} is newer than this Tamga "
                f"understands ({SCHEMA_VERSION}); upgrade Tamga"
            )
        for number, sql in MIGRATIONS:
            if number <= version:
                continue
            await c.execute("BEGIN IMMEDIATE")
            try:
                for statement in _split_sql(sql):
                    await c.execute(statement)
                await c.execute(f"PRAGMA user_version = {number}")
                await c.execute("COMMIT")
            except BaseException:
                await c.execute("ROLLBACK")
                raise

    async def close(self) -> None:
        """Let running transactions finish, then close the database."""
        await asyncio.gather(*list(self._pending), return_exceptions=True)
        await self._conn.close()

    async def schema_version(self) -> int:
        return int(await self._scalar("PRAGMA user_version"))

    async def _scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        async with self._conn.execute(sql, params) as cur:
            row = await cur.fetchone()
        return None if row is None else row[0]

    async def _fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._conn.execute(sql, params) as cur:
            return list(await cur.fetchall())

    class _Txn:
        def __init__(self, store: Store) -> None:
            self.store = store

        async def __aenter__(self) -> aiosqlite.Connection:
            await self.store._lock.acquire()
            try:
                if self.store._conn.in_transaction:  # never build on a transaction left open
                    await self.store._conn.execute("ROLLBACK")
                await self.store._conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.store._lock.release()
                raise
            return self.store._conn

        async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            conn = self.store._conn
            try:
                if exc_type is None:
                    try:
                        await conn.execute("COMMIT")
                    except BaseException:
                        if conn.in_transaction:
                            await conn.execute("ROLLBACK")
                        raise
                elif conn.in_transaction:
                    await conn.execute("ROLLBACK")
            finally:
                self.store._lock.release()

    def _txn(self) -> Store._Txn:
        return Store._Txn(self)

    async def _run(self, what: str, coro: Any) -> Any:
        """Run one unit of work on the connection to its end.

        The unit runs as its own task, shielded from the caller's cancellation:
        a peer that disconnects mid-batch must not leave a transaction half
        done on the shared connection. A cancelled caller stops waiting; the
        unit still commits or rolls back.
        """
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._unit_done)
        try:
            return await asyncio.shield(task)
        except sqlite3.Error as exc:
            space = _space_problem(exc, self.path)
            if space:
                name = getattr(exc, "sqlite_errorname", "")
                raise StoreFullError(f"{self.path}: {what} failed: {exc} ({name}); {space}") from exc
            raise StoreError(f"{self.path}: {what} failed: {exc}") from exc

    def _unit_done(self, task: asyncio.Task[Any]) -> None:
        self._pending.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved here when the caller stopped waiting

    async def _locked_fetchall(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        async with self._lock:
            return await self._fetchall(sql, params)

    async def _read(self, what: str, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        result: list[sqlite3.Row] = await self._run(what, self._locked_fetchall(sql, params))
        return result

    async def received_digest(self, sender: str, message_id: str) -> bytes | None:
        """Digest of the envelope accepted earlier from ``sender`` under ``message_id``, if any."""
        rows = await self._read(
            "reading the inbox",
            "SELECT digest FROM inbox WHERE sender = ? AND message_id = ?",
            (sender, message_id),
        )
        return bytes(rows[0][0]) if rows else None

    # -- outbox ----------------------------------------------------------------

    async def intake_seen(self, source: str, sha256: bytes) -> bool:
        """True if this file (name and content) was already accepted."""
        rows = await self._read(
            "reading the intake log", "SELECT 1 FROM intake WHERE source = ? AND sha256 = ?", (source, sha256)
        )
        return bool(rows)

    async def enqueue(
        self,
        sealed: Sequence[Sealed],
        *,
        source: str,
        now: float,
        intake_sha256: bytes | None = None,
        records: int = 0,
        max_queued: int | None = None,
        origins: Sequence[tuple[str, bytes]] | None = None,
        sequences: Mapping[str, tuple[int, int]] | None = None,
    ) -> None:
        """Commit sealed envelopes to the outbox, all or none, in one transaction.

        ``origins`` gives, per envelope, the record's id and the SHA-256 of its
        bytes (see :meth:`already_queued`). ``sequences`` gives, per peer, the
        last sequence number before these envelopes and the last one they use:
        the commit goes through only if the first still holds (another process
        may have queued for that peer meanwhile; then :class:`SequenceConflict`
        is raised, nothing is queued, and the caller numbers and seals again).

        With ``intake_sha256`` the file is recorded as accepted in the same
        transaction, so that a crash before it is moved aside cannot queue it twice.

        With ``max_queued``, no peer may end up with more than that many queued
        envelopes: the count is taken inside the same write transaction, so two
        submitters cannot both slip under the limit.

        Raises:
            QueueFullError: a recipient's queue would pass ``max_queued``; nothing was queued.
            StoreError: nothing was queued; the store could not commit.
        """
        adding: dict[str, int] = {}
        for s in sealed:
            adding[s.recipient] = adding.get(s.recipient, 0) + 1

        async def txn() -> None:
            async with self._txn() as c:
                if max_queued is not None:
                    for peer in sorted(adding):
                        async with c.execute(
                            "SELECT COUNT(*) FROM outbox WHERE peer = ? AND state = 'queued'", (peer,)
                        ) as cur:
                            row = await cur.fetchone()
                        queued = int(row[0]) if row else 0
                        if queued + adding[peer] > max_queued:
                            async with c.execute(
                                "SELECT last_delivery_at FROM peer_state WHERE peer = ?", (peer,)
                            ) as cur:
                                row = await cur.fetchone()
                            raise QueueFullError(
                                f"{queued:,} records queued for {peer}, {adding[peer]:,} more would pass"
                                f" [limits] max_queued = {max_queued:,}",
                                peer=peer,
                                queued=queued,
                                adding=adding[peer],
                                limit=max_queued,
                                last_delivery_at=row[0] if row else None,
                            )
                for peer, (before, after) in sorted((sequences or {}).items()):
                    async with c.execute("SELECT last FROM send_sequence WHERE peer = ?", (peer,)) as cur:
                        row = await cur.fetchone()
                    if (int(row[0]) if row else 0) != before:
                        raise SequenceConflict(f"{peer}: sequence moved from {before} to {row[0] if row else 0}")
                    await c.execute(
                        "INSERT INTO send_sequence (peer, last) VALUES (?, ?)"
                        " ON CONFLICT (peer) DO UPDATE SET last = excluded.last",
                        (peer, after),
                    )
                origin = origins if origins is not None else [("", b"")] * len(sealed)
                await c.executemany(
                    "INSERT INTO outbox (peer, message_id, record_type, envelope, digest,"
                    " source, submitted_at, peer_seq, record_id, record_sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (s.recipient, s.message_id, s.record_type, s.envelope, s.digest, source, now, s.sequence, *o)
                        for s, o in zip(sealed, origin, strict=True)
                    ],
                )
                events = [
                    AuditEvent("queued", s.recipient, s.message_id, s.record_type, s.digest, source) for s in sealed
                ]
                await audit.append(c, events, now=now, signer=self.audit_signer)
                if intake_sha256 is not None:
                    await c.execute(
                        "INSERT INTO intake (source, sha256, records, accepted_at) VALUES (?, ?, ?, ?)",
                        (source, intake_sha256, records, now),
                    )

        await self._run("queueing records", txn())

    async def send_sequences(self, peers: Sequence[str]) -> dict[str, int]:
        """The last sequence number given to an envelope for each of ``peers`` (0 = none yet)."""
        out = dict.fromkeys(peers, 0)
        if peers:
            rows = await self._read(
                "reading sequence numbers",
                f"SELECT peer, last FROM send_sequence WHERE peer IN ({','.join('?' * len(peers))})",
                tuple(peers),
            )
            out.update({r[0]: int(r[1]) for r in rows})
        return out

    async def already_queued(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], set[bytes]]:
        """For (peer, record id) pairs: the SHA-256 of each version of that record
        already queued or delivered to that peer (a rejected one does not count:
        handing it over again is how a national team sends it after a fix)."""
        found: dict[tuple[str, str], set[bytes]] = {}
        for start in range(0, len(keys), 400):
            chunk = [k for k in keys[start : start + 400] if k[1]]
            if not chunk:
                continue
            where = " OR ".join(["(peer = ? AND record_id = ?)"] * len(chunk))
            rows = await self._read(
                "reading queued records",
                f"SELECT peer, record_id, record_sha256 FROM outbox WHERE ({where}) AND state != 'rejected'",
                tuple(v for k in chunk for v in k),
            )
            for peer, rid, sha in rows:
                found.setdefault((peer, rid), set()).add(bytes(sha))
        return found

    async def sequence_gaps(self) -> dict[str, dict[str, Any]]:
        """Per sender: the highest sequence number received, the numbers never
        received below it (ranges, oldest first, with when each was noticed),
        and how many envelopes reused a number."""
        out: dict[str, dict[str, Any]] = {}
        for sender, highest, reused in await self._read(
            "reading sequence numbers", "SELECT sender, highest, reused FROM receive_sequence ORDER BY sender"
        ):
            out[sender] = {"highest": int(highest), "reused": int(reused), "gaps": [], "missing": 0}
        for sender, first, last, noticed in await self._read(
            "reading sequence gaps", "SELECT sender, first, last, noticed_at FROM sequence_gaps ORDER BY sender, first"
        ):
            entry = out.setdefault(sender, {"highest": 0, "reused": 0, "gaps": [], "missing": 0})
            entry["gaps"].append({"first": int(first), "last": int(last), "noticed_at": noticed})
            entry["missing"] += int(last) - int(first) + 1
        return out

    async def queued(self, peer: str, *, after_seq: int, limit: int, max_bytes: int) -> list[OutboxRow]:
        """The next queued envelopes for ``peer`` after ``after_seq``, in submission order."""
        rows = await self._read(
            "reading the outbox",
            "SELECT seq, message_id, record_type, envelope, digest FROM outbox"
            " WHERE peer = ? AND state = 'queued' AND seq > ? ORDER BY seq LIMIT ?",
            (peer, after_seq, limit),
        )
        out: list[OutboxRow] = []
        size = 0
        for r in rows:
            size += len(r[3])
            if out and size > max_bytes:
                break
            out.append(OutboxRow(r[0], r[1], r[2], r[3], r[4]))
        return out

    async def settle(
        self,
        peer: str,
        *,
        batch_id: str,
        signed: envelope_pb2.SignedReceiptBatch,
        outcomes: Sequence[ReceiptOutcome],
        now: float,
    ) -> None:
        """Keep a verified receipt batch and settle the envelopes it answers."""

        async def txn() -> None:
            async with self._txn() as c:
                cur = await c.execute(
                    "INSERT INTO receipts (peer, batch_id, receipt_batch, signature, received_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (peer, batch_id, signed.receipt_batch, signed.signature, now),
                )
                receipt_id = cur.lastrowid
                settling = await _queued_rows(c, peer, [o.message_id for o in outcomes])
                await c.executemany(
                    "UPDATE outbox SET state = ?, settled_at = ?, receipt_id = ?, receipt_status = ?,"
                    " reject_reason = ?, reject_detail = ? WHERE peer = ? AND message_id = ?"
                    " AND state = 'queued'",
                    [
                        (
                            "delivered" if o.delivered else "rejected",
                            now,
                            receipt_id,
                            S.Name(o.status),
                            reason_name(o.reason) if not o.delivered else None,
                            # The peer wrote it: escaped and cut before it is kept (the signed batch keeps it whole).
                            clip(o.detail, MAX_DETAIL_CHARS) if o.detail else None,
                            peer,
                            o.message_id,
                        )
                        for o in outcomes
                    ],
                )
                await c.execute(
                    "INSERT INTO peer_state (peer, last_delivery_at, last_attempt_at,"
                    " consecutive_failures, last_error, retry_at) VALUES (?, ?, ?, 0, NULL, NULL)"
                    " ON CONFLICT (peer) DO UPDATE SET last_delivery_at = excluded.last_delivery_at,"
                    " last_attempt_at = excluded.last_attempt_at, consecutive_failures = 0,"
                    " last_error = NULL, retry_at = NULL",
                    (peer, now, now),
                )
                events = []
                for o in outcomes:
                    row = settling.pop(o.message_id, None)
                    if row is not None:
                        kind, status = ("delivered" if o.delivered else "rejected"), S.Name(o.status)
                        detail = status if o.delivered else f"{status} {reason_name(o.reason)}"
                        events.append(
                            AuditEvent(kind, peer, o.message_id, row[0], row[1], f"{detail} batch {batch_id}")
                        )
                await audit.append(c, events, now=now, signer=self.audit_signer)

        await self._run("settling receipts", txn())

    async def reject_queued(self, *, reason: str, detail: str, now: float, peers: Sequence[str] | None = None) -> int:
        """Settle every still-queued outbox row (of ``peers``, or of every peer) as rejected by this node.

        For records that can never be delivered (this node was removed from
        the federation): they leave the queue, keep their envelope as any
        settled row until retention, and the audit log says why. Rows are
        settled in transactions of :data:`REJECT_CHUNK`, so a long queue does
        not hold the store (or the event loop) in one piece. Returns how many
        rows were rejected.
        """
        where, params = "state = 'queued'", []
        if peers is not None:
            where += f" AND peer IN ({','.join('?' * len(peers))})"
            params = list(peers)

        async def txn() -> int:
            async with self._txn() as c:
                async with c.execute(
                    f"SELECT seq, peer, message_id, record_type, digest FROM outbox WHERE {where} ORDER BY seq LIMIT ?",
                    [*params, REJECT_CHUNK],
                ) as cur:
                    rows = list(await cur.fetchall())
                if not rows:
                    return 0
                await c.executemany(
                    "UPDATE outbox SET state = 'rejected', settled_at = ?, reject_reason = ?, reject_detail = ?"
                    " WHERE seq = ? AND state = 'queued'",
                    [(now, reason, detail, r[0]) for r in rows],
                )
                events = [AuditEvent("rejected", r[1], r[2], r[3], bytes(r[4]), f"{reason}: {detail}") for r in rows]
                await audit.append(c, events, now=now, signer=self.audit_signer)
                return len(rows)

        total = 0
        while n := int(await self._run("rejecting queued records", txn())):
            total += n
        return total

    async def record_failure(self, peer: str, *, error: str, now: float, retry_at: float) -> None:
        """Note a failed delivery attempt to ``peer`` (for status)."""

        async def txn() -> None:
            async with self._txn() as c:
                await c.execute(
                    "INSERT INTO peer_state (peer, last_attempt_at, consecutive_failures, last_error,"
                    " retry_at) VALUES (?, ?, 1, ?, ?) ON CONFLICT (peer) DO UPDATE SET"
                    " last_attempt_at = excluded.last_attempt_at,"
                    " consecutive_failures = peer_state.consecutive_failures + 1,"
                    " last_error = excluded.last_error, retry_at = excluded.retry_at",
                    (peer, now, clip(error, MAX_LAST_ERROR_CHARS), retry_at),
                )

        await self._run("recording a delivery failure", txn())

    # -- inbox -----------------------------------------------------------------

    async def accept(
        self, items: Sequence[AcceptItem], refused: Sequence[tuple[Any, ...]], *, now: float
    ) -> list[tuple[int, int, str]]:
        """Commit verified envelopes to the inbox in one transaction, deduplicating.

        Args:
            items: Envelopes that passed every check.
            refused: (peer, message_id, reason, detail, digest[, sequence[, claimed]])
                of refused envelopes, logged in the same transaction: ``peer``
                is the peer the refusal is charged to (the one the connection
                authenticated), ``claimed`` the sender the header named; the
                sequence number only where the signature verified. Texts are
                escaped and cut before they are written, and at most
                ``refused_rows_per_minute`` rows a minute are written per peer
                (the rest are counted in one SUMMARY row; see 005_refused_bounds.sql).
            now: Clock value.

        Returns:
            Per item: (ReceiptStatus, RejectReason, detail). A message id seen
            before with the same digest is DUPLICATE; with another digest it is
            REJECTED with MESSAGE_ID_CONFLICT and nothing is stored; a sequence
            number further than ``max_sequence_jump`` beyond the sender's
            highest is REJECTED with SEQUENCE_OUT_OF_RANGE and nothing is stored.

        Raises:
            StoreError: nothing was committed (for example, the disk is full);
                no receipt may be sent.
        """

        async def txn() -> list[tuple[int, int, str]]:
            results: list[tuple[int, int, str]] = []
            log = list(refused)
            events: list[AuditEvent] = []
            async with self._txn() as c:
                seen: dict[tuple[str, str], bytes] = {}
                keys = [(i.sender, i.message_id) for i in items]
                for chunk_start in range(0, len(keys), 400):
                    chunk = keys[chunk_start : chunk_start + 400]
                    where = " OR ".join(["(sender = ? AND message_id = ?)"] * len(chunk))
                    params = [v for k in chunk for v in k]
                    async with c.execute(f"SELECT sender, message_id, digest FROM inbox WHERE {where}", params) as cur:
                        for s, m, d in await cur.fetchall():
                            seen[(s, m)] = d
                new_rows = []
                numbered: list[tuple[str, int, bool]] = []  # (sender, sequence, a new envelope)
                highest = await _highest_sequences(c, {i.sender for i in items if i.sequence})
                for item in items:
                    key = (item.sender, item.message_id)
                    prior = seen.get(key)
                    jump = sequence_jump_problem(
                        item.sequence, highest=highest.get(item.sender, 0), max_jump=self.max_sequence_jump
                    )
                    if jump is not None and prior != item.digest:
                        results.append((S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_SEQUENCE_OUT_OF_RANGE, jump))
                        log.append(
                            (
                                item.sender,
                                item.message_id,
                                R.Name(R.REJECT_REASON_SEQUENCE_OUT_OF_RANGE),
                                jump,
                                item.digest,
                            )
                        )
                        continue
                    if item.sequence > highest.get(item.sender, 0):
                        highest[item.sender] = item.sequence
                    if prior is None or prior != item.digest:
                        numbered.append((item.sender, item.sequence, prior is None))
                    if prior is None:
                        seen[key] = item.digest
                        new_rows.append((*key, item.record_type, item.envelope, item.digest, now, item.sequence))
                        results.append((S.RECEIPT_STATUS_ACCEPTED, R.REJECT_REASON_UNSPECIFIED, ""))
                        events.append(AuditEvent("accepted", *key, item.record_type, item.digest))
                    elif prior == item.digest:
                        results.append((S.RECEIPT_STATUS_DUPLICATE, R.REJECT_REASON_UNSPECIFIED, ""))
                        events.append(AuditEvent("duplicate", *key, item.record_type, item.digest))
                    else:
                        detail = "message id already used by this sender for a different envelope"
                        results.append((S.RECEIPT_STATUS_REJECTED, R.REJECT_REASON_MESSAGE_ID_CONFLICT, detail))
                        log.append(
                            (
                                item.sender,
                                item.message_id,
                                R.Name(R.REJECT_REASON_MESSAGE_ID_CONFLICT),
                                detail,
                                item.digest,
                            )
                        )
                await c.executemany(
                    "INSERT INTO inbox (sender, message_id, record_type, envelope, digest, received_at, peer_seq)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    new_rows,
                )
                numbered += [(r[0], r[5], False) for r in refused if len(r) > 5 and r[5]]
                await _note_sequences(c, numbered, now=now, max_jump=self.max_sequence_jump)
                if log:
                    events.extend(await _log_refused(c, log, now=now, per_minute=self.refused_rows_per_minute))
                await audit.append(c, events, now=now, signer=self.audit_signer)
            return results

        return await self._run("committing received envelopes", txn())

    async def plan_handoff(
        self,
        *,
        limit: int,
        per_file: int,
        suffix: str | Callable[[str], str],
        exclude: frozenset[int] = frozenset(),
    ) -> list[tuple[str, list[InboxRow]]]:
        """Group accepted envelopes into the files that will hand them to the national system.

        The file of each envelope is recorded before the file is written, so a
        group planned before a crash is planned again with the same rows and
        the same name, and a record can never land in two files. Groups hold
        consecutive envelopes of one sender, at most ``per_file`` of them.

        Args:
            limit: Most envelopes to plan at once.
            per_file: Most records in one file.
            suffix: File name suffix of the adapter (".json"), or a function of
                the record type giving it; records of different suffixes
                never share a file.
            exclude: Inbox rows not to plan (they cannot be handed off now).

        Returns:
            (file name, rows) per file, oldest first.
        """

        suffix_of: Callable[[str], str] = suffix if callable(suffix) else (lambda _t: suffix)  # type: ignore[assignment]

        async def txn() -> list[tuple[str, list[InboxRow]]]:
            columns = "seq, sender, message_id, record_type, envelope, peer_seq, handoff_name"
            async with self._txn() as c:
                async with c.execute(
                    f"SELECT {columns} FROM inbox WHERE handed_off_at IS NULL AND handoff_name IS NOT NULL ORDER BY seq"
                ) as cur:
                    planned = [r for r in await cur.fetchall() if r[0] not in exclude]
                if planned:
                    groups: dict[str, list[InboxRow]] = {}
                    for r in planned:
                        groups.setdefault(r[6], []).append(InboxRow(*r[:6]))
                    return list(groups.items())
                async with c.execute(
                    f"SELECT {columns} FROM inbox WHERE handed_off_at IS NULL AND handoff_name IS NULL"
                    " ORDER BY seq LIMIT ?",
                    (limit + len(exclude),),
                ) as cur:
                    rows = [InboxRow(*r[:6]) for r in await cur.fetchall() if r[0] not in exclude][:limit]
                chunks: list[list[InboxRow]] = []
                for row in rows:
                    if (
                        chunks
                        and chunks[-1][0].sender == row.sender
                        and len(chunks[-1]) < per_file
                        and suffix_of(chunks[-1][0].record_type) == suffix_of(row.record_type)
                    ):
                        chunks[-1].append(row)
                    else:
                        chunks.append([row])
                out = []
                for chunk in chunks:
                    first, last = chunk[0], chunk[-1]
                    ext = suffix_of(first.record_type)
                    if len(chunk) == 1:
                        name = f"{first.sender}-{_number(first)}-{first.message_id}{ext}"
                    else:
                        name = f"{first.sender}-{_number(first)}-{_number(last)}-{first.message_id[:8]}{ext}"
                    out.append((name, chunk))
                await c.executemany(
                    "UPDATE inbox SET handoff_name = ? WHERE seq = ?",
                    [(name, row.seq) for name, chunk in out for row in chunk],
                )
                return out

        result: list[tuple[str, list[InboxRow]]] = await self._run("planning hand-off", txn())
        return result

    async def mark_handed_off(self, seqs: Sequence[int], *, now: float) -> None:
        """Mark inbox rows as written to the incoming folder (their files are flushed)."""

        async def txn() -> None:
            async with self._txn() as c:
                events = []
                for start in range(0, len(seqs), 400):
                    chunk = list(seqs[start : start + 400])
                    async with c.execute(
                        "SELECT sender, message_id, record_type, digest, handoff_name FROM inbox"
                        f" WHERE handed_off_at IS NULL AND seq IN ({','.join('?' * len(chunk))}) ORDER BY seq",
                        chunk,
                    ) as cur:
                        events += [AuditEvent("handed_off", *r[:4], r[4] or "") for r in await cur.fetchall()]
                await c.executemany("UPDATE inbox SET handed_off_at = ? WHERE seq = ?", [(now, seq) for seq in seqs])
                await audit.append(c, events, now=now, signer=self.audit_signer)

        await self._run("marking hand-off", txn())

    async def unplan_handoff(self, seqs: Sequence[int]) -> None:
        """Take rows that could not be written out of their planned files."""

        async def txn() -> None:
            async with self._txn() as c:
                await c.executemany("UPDATE inbox SET handoff_name = NULL WHERE seq = ?", [(seq,) for seq in seqs])

        await self._run("re-planning hand-off", txn())

    # -- audit log -------------------------------------------------------------

    async def seal_audit(self, signer: AuditSigner, *, now: float) -> int | None:
        """Seal the audit log now (signed by ``signer``); the seal's seq, or None if nothing new to seal."""

        async def txn() -> int | None:
            async with self._txn() as c:
                return await audit.seal(c, signer, now=now)

        result: int | None = await self._run("sealing the audit log", txn())
        return result

    # -- retention -------------------------------------------------------------

    async def purge(
        self,
        *,
        now: float,
        delivered_payloads: float,
        dedup_horizon: float,
        refused_log: float | None = None,
        dry_run: bool = False,
    ) -> PurgeResult:
        """Purge settled payloads, expired dedup rows and old refused-log rows ([retention]).

        See :mod:`tamga.store._retention`; ``refused_log`` None keeps the refused log whole.

        Raises:
            StoreError: a transaction could not commit; those before it stay committed (each is whole).
        """
        return await _retention.purge(
            self,
            now=now,
            delivered_payloads=delivered_payloads,
            dedup_horizon=dedup_horizon,
            refused_log=refused_log,
            dry_run=dry_run,
        )

    async def retention_status(self) -> dict[str, Any]:
        """Payloads purged so far and the last purge (for status)."""
        return await _retention.retention_status(self)

    # -- status ----------------------------------------------------------------

    async def peer_status(self) -> dict[str, dict[str, Any]]:
        """Per peer: queue depth, delivered, rejected, last delivery, failures."""
        out: dict[str, dict[str, Any]] = {}

        def entry(peer: str) -> dict[str, Any]:
            return out.setdefault(
                peer,
                {
                    "queued": 0,
                    "delivered": 0,
                    "rejected": 0,
                    "last_delivery_at": None,
                    "consecutive_failures": 0,
                    "last_error": None,
                    "retry_at": None,
                    "received": 0,
                    "refused": 0,
                },
            )

        for peer, state, n in await self._read(
            "reading status", "SELECT peer, state, COUNT(*) FROM outbox GROUP BY peer, state"
        ):
            entry(peer)[state] = n
        for peer, last, fails, err, retry in await self._read(
            "reading status",
            "SELECT peer, last_delivery_at, consecutive_failures, last_error, retry_at FROM peer_state",
        ):
            e = entry(peer)
            e.update(last_delivery_at=last, consecutive_failures=fails, last_error=err, retry_at=retry)
        for sender, n in await self._read("reading status", "SELECT sender, COUNT(*) FROM inbox GROUP BY sender"):
            entry(sender)["received"] = n
        for sender, n in await self._read("reading status", "SELECT sender, SUM(count) FROM refused GROUP BY sender"):
            entry(sender)["refused"] = int(n)
        return out

    async def counts(self) -> dict[str, int]:
        """Totals: queued, delivered, rejected, received, pending hand-off, refused."""
        q = {
            "queued": "SELECT COUNT(*) FROM outbox WHERE state = 'queued'",
            "delivered": "SELECT COUNT(*) FROM outbox WHERE state = 'delivered'",
            "rejected": "SELECT COUNT(*) FROM outbox WHERE state = 'rejected'",
            "received": "SELECT COUNT(*) FROM inbox",
            "pending_handoff": "SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NULL",
            "refused": "SELECT COALESCE(SUM(count), 0) FROM refused",
        }
        return {k: int((await self._read("reading status", sql))[0][0]) for k, sql in q.items()}

    async def recent_rejections(self, limit: int = 10) -> list[dict[str, Any]]:
        """Our envelopes that peers rejected, newest first."""
        rows = await self._read(
            "reading status",
            "SELECT peer, message_id, record_type, reject_reason, reject_detail, settled_at FROM outbox"
            " WHERE state = 'rejected' ORDER BY settled_at DESC LIMIT ?",
            (limit,),
        )
        keys = ("peer", "message_id", "record_type", "reason", "detail", "at")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    async def outbox_states(self) -> list[dict[str, Any]]:
        """Every outbox row without its envelope (for tools and tests)."""
        rows = await self._read(
            "reading status",
            "SELECT seq, peer, message_id, record_type, state, receipt_status, receipt_id, source,"
            " submitted_at, settled_at, digest FROM outbox ORDER BY seq",
        )
        keys = (
            "seq",
            "peer",
            "message_id",
            "record_type",
            "state",
            "receipt_status",
            "receipt_id",
            "source",
            "submitted_at",
            "settled_at",
            "digest",
        )
        return [dict(zip(keys, r, strict=True)) for r in rows]

    async def receipt_evidence(self, receipt_id: int) -> tuple[str, bytes, bytes] | None:
        """(peer, receipt_batch bytes, signature) of a kept receipt batch."""
        rows = await self._read(
            "reading status", "SELECT peer, receipt_batch, signature FROM receipts WHERE id = ?", (receipt_id,)
        )
        return (rows[0][0], rows[0][1], rows[0][2]) if rows else None


REJECT_CHUNK = 2000
"""Outbox rows settled per transaction by :meth:`Store.reject_queued`."""


def _number(row: InboxRow) -> str:
    """The number in a hand-off file name: the sender's sequence number (12
    digits, so names sort in the sender's order), or for an envelope that came
    without one, this node's own inbox number marked with an "x"."""
    return f"{row.sequence:012d}" if row.sequence else f"x{row.seq:012d}"


async def _highest_sequences(c: aiosqlite.Connection, senders: set[str]) -> dict[str, int]:
    """The highest sequence number received so far from each of ``senders`` (absent: none yet)."""
    out: dict[str, int] = {}
    for sender in sorted(senders):
        async with c.execute("SELECT highest FROM receive_sequence WHERE sender = ?", (sender,)) as cur:
            row = await cur.fetchone()
        if row is not None:
            out[sender] = int(row[0])
    return out


async def _log_refused(
    c: aiosqlite.Connection, log: Sequence[tuple[Any, ...]], *, now: float, per_minute: int
) -> list[AuditEvent]:
    """Write refused-log rows, bounded and rate-limited per peer; return their audit entries.

    Every text a peer chose is escaped and cut here, whatever the caller did.
    Per peer, at most ``per_minute`` rows are written in a calendar minute;
    the refusals beyond are added to that peer's SUMMARY row of the minute
    (one row, one audit entry when it is made), whose ``count`` says how many.
    """
    minute = now - now % 60
    events: list[AuditEvent] = []
    by_peer: dict[str, list[tuple[Any, ...]]] = {}
    for r in log:
        by_peer.setdefault(clip(r[0]), []).append(r)
    for peer, rows in by_peer.items():
        async with c.execute(
            "SELECT COUNT(*) FROM refused WHERE sender = ? AND refused_at >= ? AND reason <> ?",
            (peer, minute, SUMMARY),
        ) as cur:
            row = await cur.fetchone()
        room = max(per_minute - (int(row[0]) if row else 0), 0)
        kept, over = rows[:room], len(rows) - room
        values = []
        for r in kept:
            message_id, reason, detail = clip(r[1]), clip(r[2]), clip(r[3], MAX_DETAIL_CHARS)
            claimed = clip(r[6] if len(r) > 6 else r[0], MAX_FIELD_CHARS)
            sequence = r[5] if len(r) > 5 else 0
            values.append((peer, message_id, reason, detail, bytes(r[4])[:64], now, sequence, claimed))
            events.append(AuditEvent("refused", peer, message_id, "", bytes(r[4])[:64], f"{reason}: {detail}"))
        await c.executemany(
            "INSERT INTO refused (sender, message_id, reason, detail, digest, refused_at, peer_seq, claimed)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        if over > 0:
            cur = await c.execute(
                "UPDATE refused SET count = count + ? WHERE sender = ? AND reason = ? AND refused_at >= ?",
                (over, peer, SUMMARY, minute),
            )
            if cur.rowcount <= 0:
                detail = (
                    f"refusals of this peer beyond {per_minute} a minute: counted here, not logged one by one "
                    "(each got its receipt)"
                )
                await c.execute(
                    "INSERT INTO refused (sender, message_id, reason, detail, digest, refused_at, claimed, count)"
                    " VALUES (?, '', ?, ?, x'', ?, '', ?)",
                    (peer, SUMMARY, detail, now, over),
                )
                events.append(AuditEvent("refused", peer, "", "", b"", f"{SUMMARY}: {detail}"))
    return events


async def _note_sequences(
    c: aiosqlite.Connection,
    numbered: Sequence[tuple[str, int, bool]],
    *,
    now: float,
    max_jump: int = DEFAULT_MAX_SEQUENCE_JUMP,
) -> None:
    """Account for the sequence numbers of envelopes just received (or refused after their signature verified).

    A number past the sender's highest + 1 opens a gap (the numbers between
    were never seen); a number inside a gap closes that part of it (it came
    late, or again after a failed attempt); any other number at or below the
    highest was already used by another envelope, which is counted as reused.
    A number further than ``max_jump`` beyond the highest is not accounted at
    all (its envelope was refused SEQUENCE_OUT_OF_RANGE): no gap of 10^18.
    """
    by_sender: dict[str, list[int]] = {}
    for sender, seq, _new in numbered:
        if seq > 0:
            by_sender.setdefault(sender, []).append(seq)
    for sender, seqs in by_sender.items():
        async with c.execute("SELECT highest, reused FROM receive_sequence WHERE sender = ?", (sender,)) as cur:
            row = await cur.fetchone()
        highest, reused = (int(row[0]), int(row[1])) if row else (0, 0)
        for seq in sorted(set(seqs)):
            if sequence_jump_problem(seq, highest=highest, max_jump=max_jump) is not None:
                continue
            if seq == highest + 1:
                highest = seq
            elif seq > highest + 1:
                await c.execute(
                    "INSERT INTO sequence_gaps (sender, first, last, noticed_at) VALUES (?, ?, ?, ?)",
                    (sender, highest + 1, seq - 1, now),
                )
                highest = seq
            else:
                async with c.execute(
                    "SELECT first, last, noticed_at FROM sequence_gaps WHERE sender = ? AND first <= ? AND last >= ?",
                    (sender, seq, seq),
                ) as cur:
                    gap = await cur.fetchone()
                if gap is None:
                    reused += 1
                    continue
                first, last, noticed = int(gap[0]), int(gap[1]), gap[2]
                await c.execute("DELETE FROM sequence_gaps WHERE sender = ? AND first = ?", (sender, first))
                parts = [(first, seq - 1), (seq + 1, last)]
                await c.executemany(
                    "INSERT INTO sequence_gaps (sender, first, last, noticed_at) VALUES (?, ?, ?, ?)",
                    [(sender, a, b, noticed) for a, b in parts if a <= b],
                )
        await c.execute(
            "INSERT INTO receive_sequence (sender, highest, reused) VALUES (?, ?, ?)"
            " ON CONFLICT (sender) DO UPDATE SET highest = excluded.highest, reused = excluded.reused",
            (sender, highest, reused),
        )


async def _queued_rows(c: aiosqlite.Connection, peer: str, message_ids: Sequence[str]) -> dict[str, tuple[str, bytes]]:
    """(record_type, digest) of the still-queued outbox rows of ``peer`` among ``message_ids``."""
    out: dict[str, tuple[str, bytes]] = {}
    for start in range(0, len(message_ids), 400):
        chunk = list(message_ids[start : start + 400])
        async with c.execute(
            "SELECT message_id, record_type, digest FROM outbox WHERE peer = ? AND state = 'queued'"
            f" AND message_id IN ({','.join('?' * len(chunk))})",
            [peer, *chunk],
        ) as cur:
            for m, t, d in await cur.fetchall():
                out[m] = (t, bytes(d))
    return out


_LOW_SPACE = 1 << 20  # bytes: a failed write with less than this free beside the store is a full disk


def _space_problem(exc: sqlite3.Error, path: Path) -> str | None:
    """Why a write of the store failed for lack of space, in an operator's words; None if it did not.

    SQLite says SQLITE_FULL for a full disk, but only "disk I/O error" when a
    file size limit (RLIMIT_FSIZE, 'ulimit -f') stops a write or the -shm
    file cannot grow; so the free space and the limit are looked up here.
    """
    name = getattr(exc, "sqlite_errorname", "")
    if name != "SQLITE_FULL" and not name.startswith("SQLITE_IOERR"):
        return None
    limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    if limit != resource.RLIM_INFINITY:
        largest = 0
        for suffix in ("", "-wal", "-shm"):
            try:
                largest = max(largest, path.with_name(path.name + suffix).stat().st_size)
            except OSError:
                pass
        if largest + _LOW_SPACE >= limit:
            return (
                f"the node may write files of at most {limit:,} bytes (RLIMIT_FSIZE, 'ulimit -f') and the store's"
                f" largest file has {largest:,}; raise the limit of the node's service"
            )
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        return None
    if name == "SQLITE_FULL" or free < _LOW_SPACE:
        return f"no space left on the disk: {free:,} bytes free on the file system of {path.parent}; make room there"
    return None


def _check_intact(path: Path) -> None:
    """Refuse a damaged store file before it is opened for writing.

    The check reads only: a connection that may write would, on closing,
    checkpoint the -wal file into the damaged file and delete it (with a
    damaged header SQLite deletes the -wal outright), destroying what the
    operator needs to recover.

    Raises:
        StoreError: the header is not SQLite's, SQLite cannot read the file, or quick_check finds a problem.
    """
    try:
        with open(path, "rb") as f:
            header = f.read(16)
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the store: {exc.strerror}") from exc
    if header != b"SQLite format 3\x00":
        raise StoreError(
            f"{path}: the store is damaged or not a Tamga database: its header is not SQLite's "
            f"(file is not a database); {_DOCTOR}"
        )
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            problems = [str(r[0]) for r in conn.execute("PRAGMA quick_check(10)")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path}: the store is damaged: {exc}; {_DOCTOR}") from exc
    if problems != ["ok"]:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise StoreError(f"{path}: the store is damaged: quick_check found {problems[0]}{more}; {_DOCTOR}")


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (no semicolons inside strings)."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
