"""From the inbox to the national system: the incoming folder.

Each accepted record is decrypted from the stored envelope, encoded by the
adapter and written into the incoming folder atomically (a dot-name, then a
rename), one file per record, named ``SENDER-SEQ-MESSAGEID.ext`` so that a
record written again after a crash overwrites itself instead of appearing
twice. The inbox row is marked only after the file is in place.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

from tamga.adapters import Adapter
from tamga.errors import TamgaError
from tamga.intake import write_files_atomically
from tamga.logging import get_logger
from tamga.protocol import LocalIdentity, PeerDirectory, open_stored
from tamga.store import InboxRow, Store

__all__ = ["Handoff"]

_OUR_TMP = re.compile(r"\..+\.\d+\.tmp")

log = get_logger("tamga.handoff")


class Handoff:
    """Writes accepted records into the incoming folder."""

    def __init__(
        self,
        *,
        local: LocalIdentity,
        peers: PeerDirectory,
        store: Store,
        adapter: Adapter,
        incoming: Path,
        poll_interval: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.local = local
        self.peers = peers
        self.store = store
        self.adapter = adapter
        self.incoming = incoming
        self.poll_interval = poll_interval
        self.clock = clock
        self._wakeup = asyncio.Event()
        self._stuck: set[int] = set()

    def remove_leftovers(self) -> int:
        """Remove temporary files a killed node left in the incoming folder (never finished records)."""
        removed = 0
        for path in self.incoming.glob(".*.tmp"):
            if _OUR_TMP.fullmatch(path.name):
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def wake(self) -> None:
        self._wakeup.set()

    async def run(self) -> None:
        self.incoming.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self.remove_leftovers)
        while True:
            self._wakeup.clear()
            try:
                moved = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # e.g. the incoming folder is full or not writable: retry later
                log.error("handoff_failed", folder=str(self.incoming), error=str(exc) or type(exc).__name__)
                await asyncio.sleep(max(self.poll_interval, 5.0))
                continue
            if not moved:
                try:
                    await asyncio.wait_for(self._wakeup.wait(), self.poll_interval)
                except TimeoutError:
                    pass

    def file_name(self, row: InboxRow) -> str:
        return f"{row.sender}-{row.seq:012d}-{row.message_id}{self.adapter.file_suffix}"

    def _write(self, rows: list[InboxRow]) -> list[tuple[int, str, str, str]]:
        done: list[tuple[int, str, str, str, bytes]] = []
        for row in rows:
            try:
                record = open_stored(row.envelope, local=self.local, peers=self.peers)
                data = self.adapter.encode([record])
            except TamgaError as exc:
                if row.seq not in self._stuck:
                    self._stuck.add(row.seq)
                    log.error(
                        "record_not_handed_off",
                        message_id=row.message_id,
                        peer=row.sender,
                        record_type=row.record_type,
                        error=str(exc),
                    )
                continue
            done.append((row.seq, self.file_name(row), row.message_id, row.sender, data))
        write_files_atomically(self.incoming, [(name, data) for _, name, _, _, data in done])
        return [(seq, name, mid, sender) for seq, name, mid, sender, _ in done]

    async def run_once(self) -> int:
        """Hand off what is pending; returns how many records were written."""
        rows = [r for r in await self.store.pending_handoff(256 + len(self._stuck)) if r.seq not in self._stuck]
        if not rows:
            return 0
        self.incoming.mkdir(parents=True, exist_ok=True)
        done = await asyncio.to_thread(self._write, rows)
        if done:
            await self.store.mark_handed_off([(seq, name) for seq, name, _, _ in done], now=self.clock())
            types = {r.seq: r.record_type for r in rows}
            for seq, name, mid, sender in done:
                log.info("record_handed_off", message_id=mid, peer=sender, record_type=types[seq], file=name)
        return len(done)
