"""The node's durable store (SQLite in WAL mode, through aiosqlite)."""

from tamga.store._store import SCHEMA_VERSION, AcceptItem, InboxRow, OutboxRow, Store

__all__ = ["SCHEMA_VERSION", "AcceptItem", "InboxRow", "OutboxRow", "Store"]
