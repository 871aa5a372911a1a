"""Retention: what the store forgets, and when ([retention] in tamga.toml).

A node keeps three kinds of things about an exchanged record, for different
reasons and for different times:

- the **encrypted payload** (the envelope bytes): needed until the record is
  settled (outbox: delivered or rejected, the peer's signed receipt kept) or
  handed off (inbox: written to the incoming folder). After that it is only
  a copy. It is kept ``delivered_payloads`` longer, then replaced by ``x''``
  and the row's ``purged_at`` set. The digest, message id, state, times and
  receipt stay, so the signed receipt still proves what was delivered.
- the **dedup record** of a received envelope (sender, message id, digest):
  it lets the node answer a retry DUPLICATE instead of handing the record
  off twice. A peer retries an envelope at most until it is older than the
  retry horizon (``max_envelope_age`` + ``max_clock_skew``: every receiver
  refuses an older one STALE), so the row is needed for that long after it
  arrived. ``dedup_horizon`` must exceed that (checked when the config
  loads); after it the inbox row is deleted whole, and only if it was handed
  off. A copy of the very same envelope arriving even later is refused STALE.
- the **refused log** (envelopes refused from peers: digests, reason codes,
  cut details): kept ``refused_log`` (default 90 days), then deleted, so a
  hostile peer cannot fill the disk with refusals over time. The audit log
  keeps its own entry of each refusal.
- **receipts and the audit log**: evidence, never purged here.

Queued outbox rows and inbox rows not yet handed off are never touched,
whatever their age: they are work, not history.

Each purge runs as transactions of at most :data:`PURGE_CHUNK` rows, so the
writer is never held for long while peers deliver. Every transaction that
changed something appends one ``purge`` audit entry (counts and cut-off
times) in the same transaction, so the audit log always tells why a payload
or a dedup row is gone; a purge of at most PURGE_CHUNK rows is one entry.

No VACUUM: SQLite reuses the freed pages for new rows, so the file stops
growing once purges keep pace with traffic; it does not shrink.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from tamga import audit
from tamga.audit import AuditEvent, AuditSigner

if TYPE_CHECKING:
    import aiosqlite
    from tamga.store._store import Store

__all__ = ["PURGE_CHUNK", "PurgeResult", "purge", "retention_status"]

PURGE_CHUNK = 5000

# The same terms as the partial indexes of 004_retention.sql, so SQLite uses them.
_OUTBOX_DUE = "state <> 'queued' AND purged_at IS NULL AND settled_at <= ?"
_INBOX_PAYLOAD_DUE = "handed_off_at IS NOT NULL AND purged_at IS NULL AND handed_off_at <= ?"
_INBOX_EXPIRED = "handed_off_at IS NOT NULL AND received_at <= ?"
_REFUSED_EXPIRED = "refused_at <= ?"


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What one purge did (or, with ``dry_run``, would do)."""

    outbox_payloads: int  # settled outbox rows whose envelope was purged
    inbox_payloads: int  # handed-off inbox rows whose envelope was purged (row kept)
    inbox_deleted: int  # handed-off inbox rows past the dedup horizon, deleted
    payload_cutoff: float  # payloads settled or handed off at or before this time
    dedup_cutoff: float  # inbox rows received at or before this time
    transactions: int = 0  # write transactions, each with one 'purge' audit entry
    dry_run: bool = False
    refused_deleted: int = 0  # refused-log rows older than [retention] refused_log, deleted
    refused_cutoff: float | None = None  # refused-log rows written at or before this time (None: kept)

    @property
    def total(self) -> int:
        return self.outbox_payloads + self.inbox_payloads + self.inbox_deleted + self.refused_deleted

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _detail(
    outbox: int,
    inbox: int,
    deleted: int,
    payload_cutoff: float,
    dedup_cutoff: float,
    refused: int = 0,
    refused_cutoff: float | None = None,
) -> str:
    """The audit entry's detail: compact JSON, so tools can read it back."""
    doc: dict[str, Any] = {
        "outbox_payloads": outbox,
        "inbox_payloads": inbox,
        "inbox_deleted": deleted,
        "payloads_settled_before": _iso(payload_cutoff),
        "dedup_received_before": _iso(dedup_cutoff),
    }
    if refused:
        doc["refused_deleted"] = refused
    if refused and refused_cutoff is not None:
        doc["refused_logged_before"] = _iso(refused_cutoff)
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


async def _chunk(
    c: aiosqlite.Connection,
    *,
    now: float,
    payload_cutoff: float,
    dedup_cutoff: float,
    limit: int,
    signer: AuditSigner | None,
    refused_cutoff: float | None = None,
) -> tuple[int, int, int, int]:
    """One transaction's worth (at most ``limit`` rows), inside the caller's open write transaction."""
    # Deleting first: a row past the dedup horizon is counted once, as deleted.
    cur = await c.execute(
        f"DELETE FROM inbox WHERE seq IN (SELECT seq FROM inbox WHERE {_INBOX_EXPIRED} ORDER BY received_at LIMIT ?)",
        (dedup_cutoff, limit),
    )
    deleted = max(cur.rowcount, 0)
    cur = await c.execute(
        "UPDATE outbox SET envelope = x'', purged_at = ? WHERE seq IN"
        f" (SELECT seq FROM outbox WHERE {_OUTBOX_DUE} ORDER BY settled_at LIMIT ?)",
        (now, payload_cutoff, limit - deleted),
    )
    outbox = max(cur.rowcount, 0)
    cur = await c.execute(
        "UPDATE inbox SET envelope = x'', purged_at = ? WHERE seq IN"
        f" (SELECT seq FROM inbox WHERE {_INBOX_PAYLOAD_DUE} ORDER BY handed_off_at LIMIT ?)",
        (now, payload_cutoff, limit - deleted - outbox),
    )
    inbox = max(cur.rowcount, 0)
    refused = 0
    if refused_cutoff is not None and limit - deleted - outbox - inbox > 0:
        cur = await c.execute(
            "DELETE FROM refused WHERE id IN"
            f" (SELECT id FROM refused WHERE {_REFUSED_EXPIRED} ORDER BY refused_at LIMIT ?)",
            (refused_cutoff, limit - deleted - outbox - inbox),
        )
        refused = max(cur.rowcount, 0)
    if deleted or outbox or inbox or refused:
        detail = _detail(outbox, inbox, deleted, payload_cutoff, dedup_cutoff, refused, refused_cutoff)
        await audit.append(c, [AuditEvent("purge", detail=detail)], now=now, signer=signer)
    return outbox, inbox, deleted, refused


async def _count_due(
    store: Store, payload_cutoff: float, dedup_cutoff: float, refused_cutoff: float | None
) -> tuple[int, int, int, int]:
    async def one(sql: str, params: tuple[float, ...]) -> int:
        rows = await store._read("reading what retention would purge", sql, params)
        return int(rows[0][0])

    outbox = await one(f"SELECT COUNT(*) FROM outbox WHERE {_OUTBOX_DUE}", (payload_cutoff,))
    inbox = await one(
        f"SELECT COUNT(*) FROM inbox WHERE {_INBOX_PAYLOAD_DUE} AND received_at > ?", (payload_cutoff, dedup_cutoff)
    )
    deleted = await one(f"SELECT COUNT(*) FROM inbox WHERE {_INBOX_EXPIRED}", (dedup_cutoff,))
    refused = 0
    if refused_cutoff is not None:
        refused = await one(f"SELECT COUNT(*) FROM refused WHERE {_REFUSED_EXPIRED}", (refused_cutoff,))
    return outbox, inbox, deleted, refused


async def purge(
    store: Store,
    *,
    now: float,
    delivered_payloads: float,
    dedup_horizon: float,
    refused_log: float | None = None,
    chunk: int = PURGE_CHUNK,
    dry_run: bool = False,
) -> PurgeResult:
    """Purge what retention allows, in transactions of at most ``chunk`` rows (see the module docstring).

    ``refused_log`` None keeps every refused-log row.

    Raises:
        StoreError: a transaction could not commit; those before it stay committed (each is whole).
    """
    payload_cutoff, dedup_cutoff = now - delivered_payloads, now - dedup_horizon
    refused_cutoff = None if refused_log is None else now - refused_log
    if dry_run:
        o, i, d, r = await _count_due(store, payload_cutoff, dedup_cutoff, refused_cutoff)
        return PurgeResult(
            o, i, d, payload_cutoff, dedup_cutoff, dry_run=True, refused_deleted=r, refused_cutoff=refused_cutoff
        )
    totals = [0, 0, 0, 0]
    transactions = 0

    async def txn() -> tuple[int, int, int, int]:
        async with store._txn() as c:
            return await _chunk(
                c,
                now=now,
                payload_cutoff=payload_cutoff,
                dedup_cutoff=dedup_cutoff,
                limit=chunk,
                signer=store.audit_signer,
                refused_cutoff=refused_cutoff,
            )

    while True:
        done: tuple[int, int, int, int] = await store._run("purging by retention", txn())
        if sum(done):
            transactions += 1
            totals = [a + b for a, b in zip(totals, done, strict=True)]
        if sum(done) < chunk:
            break
        await asyncio.sleep(0)  # let waiting deliveries and hand-offs have the writer between chunks
    o, i, d, r = totals
    return PurgeResult(
        o,
        i,
        d,
        payload_cutoff,
        dedup_cutoff,
        transactions=transactions,
        refused_deleted=r,
        refused_cutoff=refused_cutoff,
    )


async def retention_status(store: Store) -> dict[str, Any]:
    """Payloads purged so far (rows kept, envelope gone) and the last purge that changed something."""
    rows = await store._read(
        "reading status",
        "SELECT (SELECT COUNT(*) FROM outbox WHERE purged_at IS NOT NULL),"
        " (SELECT COUNT(*) FROM inbox WHERE purged_at IS NOT NULL)",
    )
    # The entries of one purge run share its time: their counts add up to the run's.
    last = await store._read(
        "reading status",
        "SELECT at, detail FROM audit WHERE kind = 'purge' AND at ="
        " (SELECT at FROM audit WHERE kind = 'purge' ORDER BY seq DESC LIMIT 1)",
    )
    last_purge: dict[str, Any] | None = None
    if last:
        last_purge = {"at": float(last[0][0]), "outbox_payloads": 0, "inbox_payloads": 0, "inbox_deleted": 0}
        for _, detail in last:
            try:
                doc = json.loads(detail)
            except ValueError:
                continue
            for key in ("outbox_payloads", "inbox_payloads", "inbox_deleted"):
                last_purge[key] += int(doc.get(key, 0))
            last_purge["payloads_settled_before"] = doc.get("payloads_settled_before")
            last_purge["dedup_received_before"] = doc.get("dedup_received_before")
    return {
        "purged_payloads": {"outbox": int(rows[0][0]), "inbox": int(rows[0][1])},
        "last_purge": last_purge,
    }
