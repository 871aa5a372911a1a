"""The node's durable store (SQLite in WAL mode, through aiosqlite)."""

from tamga.store._retention import PURGE_CHUNK, PurgeResult
from tamga.store._store import (
    REFUSED_ROWS_PER_MINUTE,
    SCHEMA_VERSION,
    AcceptItem,
    InboxRow,
    OutboxRow,
    SequenceConflict,
    Store,
)

__all__ = [
    "PURGE_CHUNK",
    "REFUSED_ROWS_PER_MINUTE",
    "SCHEMA_VERSION",
    "AcceptItem",
    "InboxRow",
    "OutboxRow",
    "PurgeResult",
    "SequenceConflict",
    "Store",
]
