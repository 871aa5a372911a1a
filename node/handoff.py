"""From the inbox to the national system: the incoming folder.

Each accepted record is decrypted from the stored envelope, encoded by the
adapter and written into the incoming folder atomically (a dot-name, then a
rename). By default each record gets a file of its own, named
``SENDER-SEQ-MESSAGEID.ext``, where SEQ is the sender's sequence number for
this node (12 digits, from the envelope's signed header; 1, 2, 3, ... in the
order the sender queued them), so the national system can see a number that
never came (``tamga status`` shows such gaps too). With ``[adapter]
records_per_file`` above 1, consecutive records of one sender share a file
named ``SENDER-FIRSTSEQ-LASTSEQ-MSGID8.ext`` (fewer files: creating a file is
the costly part of hand-off on many systems). The file of each record is recorded in the
store before the file is written, so a file written again after a crash has
the same name and the same records: a record is never in two files. The
inbox rows are marked handed off only after the files are flushed to disk.

A record the national format cannot carry (an ODS shipment or a contact
point message reaching a node whose adapter speaks declarations only) is
not held back: it is written as canonical JSON (``.json``, the ``json``
adapter's form) beside the national files, and logged as such.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from pathlib import Path

from tamga.adapters import Adapter
from tamga.adapters.json_records import JsonAdapter
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
        records_per_file: int = 1,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.local = local
        self.records_per_file = records_per_file
        self.peers = peers
        self.store = store
        self.adapter = adapter
        self.incoming = incoming
        self.poll_interval = poll_interval
        self.clock = clock
        self._wakeup = asyncio.Event()
        self._stuck: set[int] = set()
        self._json = JsonAdapter()
        carried = getattr(adapter, "record_types", None)
        self._carried: frozenset[str] | None = frozenset(carried) if carried else None

    def suffix_for(self, record_type: str) -> str:
        """File suffix of a record of this type: the adapter's, or ".json" when
        the national format cannot carry the type."""
        if self._carried is None or record_type in self._carried:
            return self.adapter.file_suffix
        return self._json.file_suffix

    def _encoder(self, record_type: str) -> Adapter:
        if self._carried is None or record_type in self._carried:
            return self.adapter
        return self._json

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

    def _write(self, groups: list[tuple[str, list[InboxRow]]]) -> tuple[list[tuple[str, list[InboxRow]]], list[int]]:
        """Encode and write the planned files; rows that cannot be encoded are left out."""
        written: list[tuple[str, list[InboxRow]]] = []
        stuck: list[int] = []
        files: list[tuple[str, bytes]] = []
        for name, rows in groups:
            records, ok = [], []
            for row in rows:
                try:
                    records.append(open_stored(row.envelope, local=self.local, peers=self.peers))
                    ok.append(row)
                except TamgaError as exc:
                    stuck.append(row.seq)
                    self._log_stuck(row, exc)
            if not ok:
                continue
            try:
                data = self._encoder(ok[0].record_type).encode(records)
            except TamgaError as exc:
                for row in ok:
                    stuck.append(row.seq)
                    self._log_stuck(row, exc)
                continue
            files.append((name, data))
            written.append((name, ok))
        write_files_atomically(self.incoming, files)
        return written, stuck

    def _log_stuck(self, row: InboxRow, exc: Exception) -> None:
        if row.seq not in self._stuck:
            self._stuck.add(row.seq)
            log.error(
                "record_not_handed_off",
                message_id=row.message_id,
                peer=row.sender,
                record_type=row.record_type,
                error=str(exc),
            )

    async def run_once(self) -> int:
        """Hand off what is pending; returns how many records were written."""
        groups = await self.store.plan_handoff(
            limit=256,
            per_file=self.records_per_file,
            suffix=self.suffix_for,
            exclude=frozenset(self._stuck),
        )
        if not groups:
            return 0
        self.incoming.mkdir(parents=True, exist_ok=True)
        written, stuck = await asyncio.to_thread(self._write, groups)
        if stuck:
            await self.store.unplan_handoff(stuck)
        if written:
            await self.store.mark_handed_off([row.seq for _, rows in written for row in rows], now=self.clock())
            for name, rows in written:
                for row in rows:
                    log.info(
                        "record_handed_off",
                        message_id=row.message_id,
                        peer=row.sender,
                        record_type=row.record_type,
                        file=name,
                        format="national" if self._encoder(row.record_type) is self.adapter else "json",
                    )
        return sum(len(rows) for _, rows in written)
