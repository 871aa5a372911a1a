"""The node's retention task: forget what is no longer needed, on a timer.

Once when the node starts and then every ``[retention] purge_interval``, the
store purges the encrypted payload of records settled or handed off longer
ago than ``delivered_payloads`` and deletes dedup rows older than
``dedup_horizon`` (what is kept, what goes and why: ``tamga.store._retention``).
The node logs ``payloads_purged`` with the counts when a run changed
something, and stays quiet otherwise; the audit log has one ``purge`` entry
per purge transaction.

A failed run (a full disk, a locked file) is logged and tried again at the
next interval: nothing is lost by purging later.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from tamga.config import RetentionConfig
from tamga.errors import StoreError
from tamga.logging import get_logger
from tamga.store import PurgeResult, Store

__all__ = ["Purger"]

log = get_logger("tamga.retention")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Purger:
    """Runs the store's purge with the node's retention settings and clock."""

    def __init__(
        self, *, store: Store, config: RetentionConfig, node_id: str, clock: Callable[[], float] = time.time
    ) -> None:
        self.store = store
        self.config = config
        self.node_id = node_id
        self.clock = clock
        self.last: PurgeResult | None = None

    async def run_once(self) -> PurgeResult:
        """Purge now; log ``payloads_purged`` if anything went.

        Raises:
            StoreError: a purge transaction could not commit (those before it did).
        """
        result = await self.store.purge(
            now=self.clock(),
            delivered_payloads=self.config.delivered_payloads,
            dedup_horizon=self.config.dedup_horizon,
            refused_log=self.config.refused_log,
        )
        self.last = result
        if result.total:
            log.info(
                "payloads_purged",
                node=self.node_id,
                outbox_payloads=result.outbox_payloads,
                inbox_payloads=result.inbox_payloads,
                inbox_deleted=result.inbox_deleted,
                refused_deleted=result.refused_deleted,
                transactions=result.transactions,
                payloads_settled_before=_iso(result.payload_cutoff),
                dedup_received_before=_iso(result.dedup_cutoff),
            )
        return result

    async def run(self) -> None:
        """Purge at once, then every ``purge_interval``, until cancelled."""
        while True:
            try:
                await self.run_once()
            except StoreError as exc:
                log.error("purge_failed", node=self.node_id, error=str(exc))
            await asyncio.sleep(self.config.purge_interval)
