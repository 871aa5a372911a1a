"""From the national system to the outbox: decode, check, route, seal, queue.

Two ways in, one path: :class:`Submitter` does the work for ``tamga send``
and for :class:`DropFolder`, which watches the outgoing folder.

Rule for a file: it is accepted whole or not at all. Every record of it is
decoded, checked and routed first; then every envelope of every record is
sealed and committed in one transaction; only then is the file moved to the
processed folder. A file that fails any step is moved to the failed folder
beside a ``NAME.error.json`` report, and nothing of it is queued. A file
picked up again after a crash (committed, not yet moved) is recognised by
its name and SHA-256 and not queued twice.

Backpressure: no peer gets more than ``[limits] max_queued`` records queued
(sealed, not yet answered by a receipt). The limit is per peer, so one peer
that is down does not stop deliveries to the others; it bounds the disk the
outbox of a dead peer can take. A file that would take any recipient past it
is refused whole (counted and refused in the same store transaction as the
insert, so nothing is half-queued): ``tamga send`` fails with the reason, and
the drop folder moves the file to the failed folder with its report. Moved
back to the outgoing folder once the peer has caught up, it is taken again.

Only completed files are taken: the national system writes under a
temporary name (starting with "." or ending in .tmp or .part) and renames.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import hashlib
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tamga.adapters import Adapter
from tamga.errors import AdapterError, QueueFullError, RoutingError, StoreError, TamgaError, ValidationError
from tamga.inbound import member_authorities
from tamga.logging import get_logger
from tamga.protocol import LocalIdentity, Peer, PeerDirectory, Sealed, origin_problem, record_type_of, seal
from tamga.store import SequenceConflict, Store
from tamga.v1 import records_pb2
from tamga.validation import raise_if_invalid

__all__ = ["DropFolder", "Prepared", "Submission", "Submitter", "write_atomically"]

log = get_logger("tamga.intake")

TEMPORARY_SUFFIXES = (".tmp", ".part", ".partial")


@dataclass(frozen=True, slots=True)
class _Outgoing:
    """One record of an input, checked and routed, not sealed yet."""

    data: bytes
    record_type: str
    record_id: str
    sha256: bytes
    message_id: str
    recipients: list[Peer]


@dataclass(frozen=True, slots=True)
class Prepared:
    """Records of one input, checked and routed, not yet numbered, sealed or queued."""

    source: str
    records: int
    outgoing: list[_Outgoing]
    now: float
    intake_sha256: bytes | None


@dataclass(frozen=True, slots=True)
class Submission:
    """What was queued for one input.

    ``skipped`` lists (record id, peer) of records that were already queued
    or delivered to that peer unchanged, and so were not queued again.
    """

    source: str
    records: int
    sealed: list[Sealed]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def write_atomically(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see all of it or nothing."""
    write_files_atomically(path.parent, [(path.name, data)])


def write_files_atomically(folder: Path, files: Sequence[tuple[str, bytes]]) -> None:
    """Write files into ``folder`` so that readers see each whole or not at all.

    Each file is written under a dot-name in the same folder and renamed into
    place; then everything is flushed to disk once, so that when this returns
    every file survives a crash of the machine. On Linux one ``syncfs`` of the
    folder's filesystem does the flush (one barrier for the batch instead of
    one per file); elsewhere each file and the folder are flushed in turn.
    """
    barrier = _syncfs is not None
    for name, data in files:
        tmp = folder / f".{name}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                if not barrier:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, folder / name)
        except BaseException:
            # A full disk, say: take the partial file away now (it is never a record) and give its space back.
            tmp.unlink(missing_ok=True)
            raise
    dfd = os.open(folder, os.O_RDONLY)
    try:
        if barrier and _syncfs is not None and _syncfs(dfd) == 0:
            return
        if barrier:  # syncfs failed: flush file by file after all
            for name, _ in files:
                ffd = os.open(folder / name, os.O_RDONLY)
                try:
                    os.fsync(ffd)
                finally:
                    os.close(ffd)
        os.fsync(dfd)
    finally:
        os.close(dfd)


def _load_syncfs() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.syncfs
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int]
    fn.restype = ctypes.c_int
    return fn  # type: ignore[no-any-return]


_syncfs = _load_syncfs()


def check_records(records: Sequence[records_pb2.Record]) -> None:
    """Refuse records the receiving services could not use, before anything is queued.

    The rules are :mod:`tamga.validation`'s (schema v1: required fields, code
    lists, formats); every problem of every record is listed, so one
    correction of the national file fixes all of them.

    Raises:
        ValidationError: listing every problem with its field path.
    """
    raise_if_invalid(records)


class Submitter:
    """Decodes, checks, routes, seals and queues records for sending."""

    def __init__(
        self,
        *,
        local: LocalIdentity,
        peers: PeerDirectory,
        store: Store,
        adapter: Adapter,
        clock: Callable[[], float] = time.time,
        on_queued: Callable[[set[str]], None] | None = None,
        max_queued: int | None = None,
    ) -> None:
        self.local = local
        self.max_queued = max_queued
        self.peers = peers
        self.store = store
        self.adapter = adapter
        self.clock = clock
        self.on_queued = on_queued
        self._commit_lock = asyncio.Lock()

    def route(self, records: Sequence[records_pb2.Record], to: Sequence[str] | None) -> list[list[Peer]]:
        """Recipients of each record: the peers named by ``to``, else by receiver country.

        Raises:
            RoutingError: an unknown peer, a country without a peer, or no recipient.
        """
        if to:
            chosen = []
            for node_id in to:
                peer = self.peers.get(node_id)
                if peer is None:
                    known = ", ".join(p.node_id for p in self.peers) or "none"
                    raise RoutingError(f"no peer {node_id!r} (known peers: {known}); add it with 'tamga peer add'")
                chosen.append(peer)
            chosen_plan = [list(chosen) for _ in records]
            self._check_agreements(records, chosen_plan)
            return chosen_plan
        plan = []
        for i, rec in enumerate(records):
            recipients: dict[str, Peer] = {}
            for country in rec.meta.receiver_countries:
                found = [p for p in self.peers.by_country(country) if p.node_id != self.local.node_id]
                if not found and country != self.local.country:
                    raise RoutingError(f"records[{i}]: no peer for receiver country {country}")
                for p in found:
                    recipients[p.node_id] = p
            if not recipients:
                raise RoutingError(
                    f"records[{i}]: no recipient; set meta.receiverCountries in the record or name peers with --to"
                )
            plan.append(list(recipients.values()))
        self._check_agreements(records, plan)
        return plan

    def _check_origin(self, records: Sequence[records_pb2.Record], plan: list[list[Peer]]) -> None:
        """Every record comes from this node and is for each peer it goes to (receivers check the same).

        ``meta.sender_country`` must be this node's country, ``meta.sender_authority``
        (when set) its authority or its country's registered customs service
        name, and ``meta.receiver_countries`` must list the country of every
        recipient (a peer named with ``--to`` included).

        Raises:
            ValidationError: one located problem per record (``records[i].meta.sender_country: ...``).
        """
        authorities = member_authorities(self.local)
        problems = []
        for i, (rec, recipients) in enumerate(zip(records, plan, strict=True)):
            found = origin_problem(
                rec,
                sender_id=self.local.node_id,
                sender_country=self.local.country,
                sender_authorities=authorities,
                receiver_countries=list(dict.fromkeys(p.country for p in recipients)),
            )
            if found is not None:
                problems.append(f"records[{i}].{found}")
        if problems:
            raise ValidationError(problems)

    def _check_agreements(self, records: Sequence[records_pb2.Record], plan: list[list[Peer]]) -> None:
        """With a federation manifest: every (recipient, record type) needs an agreement (deny by default).

        Raises:
            RoutingError: naming the record, the manifest version, sender, type and recipient.
        """
        policy = getattr(self.peers, "policy", None)
        if policy is None:  # pinned peers (no manifest): no agreement check
            return
        me = self.local.node_id
        for i, (rec, recipients) in enumerate(zip(records, plan, strict=True)):
            rtype = record_type_of(rec)
            for peer in recipients:
                if not policy.allows(me, peer.node_id, rtype):
                    raise RoutingError(f"records[{i}]: {policy.no_agreement(me, peer.node_id, rtype)}")

    def _seal_all(self, plan: Sequence[tuple[_Outgoing, Peer, int]], now: float) -> list[Sealed]:
        return [
            seal(
                local=self.local,
                peer=peer,
                record_bytes=out.data,
                record_type=out.record_type,
                message_id=out.message_id,
                now=now,
                sequence=number,
            )
            for out, peer, number in plan
        ]

    def _decode_and_check(self, data: bytes, source: str) -> list[records_pb2.Record]:
        """Decode and validate, off the event loop (both are CPU work)."""
        records = self.adapter.decode(data, source=source)
        check_records(records)
        return records

    async def submit(
        self,
        data: bytes,
        *,
        source: str,
        to: Sequence[str] | None = None,
        intake_sha256: bytes | None = None,
    ) -> Submission:
        """Decode ``data`` with the adapter and queue every record for its recipients.

        Raises:
            AdapterError, ValidationError, RoutingError: nothing was queued.
            StoreError: nothing was queued; the store could not commit.
        """
        return await self.commit(await self.prepare(data, source=source, to=to, intake_sha256=intake_sha256))

    async def prepare(
        self,
        data: bytes,
        *,
        source: str,
        to: Sequence[str] | None = None,
        intake_sha256: bytes | None = None,
    ) -> Prepared:
        """Decode, check and route, without touching the store (numbering and sealing come at commit).

        Raises:
            AdapterError, ValidationError, RoutingError: the input cannot be sent.
        """
        records = await asyncio.to_thread(self._decode_and_check, data, source)
        plan = self.route(records, to)
        self._check_origin(records, plan)
        outgoing = []
        for rec, recipients in zip(records, plan, strict=True):
            payload = rec.SerializeToString()
            outgoing.append(
                _Outgoing(
                    data=payload,
                    record_type=record_type_of(rec),
                    record_id=rec.meta.record_id,
                    sha256=hashlib.sha256(payload).digest(),
                    message_id=str(uuid.uuid4()),
                    recipients=recipients,
                )
            )
        return Prepared(
            source=source, records=len(records), outgoing=outgoing, now=self.clock(), intake_sha256=intake_sha256
        )

    async def commit(self, prepared: Prepared) -> Submission:
        """Number, seal and queue the records of :meth:`prepare`, all of it in one transaction.

        Each envelope gets the next sequence number of its recipient, inside
        its signed header. Numbering, sealing and committing happen under one
        lock, so numbers follow the order of commits without a hole; if
        another process (``tamga send`` beside the running node) queued for
        the same peer meanwhile, the store refuses the commit and the records
        are numbered and sealed again.

        A record already queued or delivered to a peer, unchanged (same
        record id, same bytes), is not queued for that peer again: a national
        system that hands over the same file twice sends it once. A record
        with a known id but new content is queued (and logged): it is new
        information, and the receiver decides.

        Raises:
            QueueFullError: a recipient has ``max_queued`` records waiting; nothing was queued.
            StoreError: nothing was queued.
        """
        source = prepared.source
        async with self._commit_lock:
            for _attempt in range(5):
                try:
                    sealed, skipped = await self._number_seal_commit(prepared)
                    break
                except SequenceConflict as exc:
                    log.info("sequence_renumbered", source=source, detail=str(exc))
                    continue
            else:
                raise StoreError(f"{source}: another process keeps queueing for the same peers; try again")
        for s in sealed:
            log.info(
                "record_queued",
                message_id=s.message_id,
                peer=s.recipient,
                record_type=s.record_type,
                sequence=s.sequence,
                source=source,
            )
        for record_id, peer in skipped:
            log.info("record_already_queued", record_id=record_id, peer=peer, source=source)
        if self.on_queued and sealed:
            self.on_queued({s.recipient for s in sealed})
        return Submission(source, prepared.records, sealed, skipped)

    async def _number_seal_commit(self, prepared: Prepared) -> tuple[list[Sealed], list[tuple[str, str]]]:
        pairs = [(peer.node_id, out.record_id) for out in prepared.outgoing for peer in out.recipients]
        known = await self.store.already_queued(sorted(set(pairs)))
        last = await self.store.send_sequences(sorted({p for p, _ in pairs}))
        start = dict(last)
        plan: list[tuple[_Outgoing, Peer, int]] = []
        skipped: list[tuple[str, str]] = []
        for out in prepared.outgoing:
            for peer in out.recipients:
                versions = known.setdefault((peer.node_id, out.record_id), set())
                if out.record_id and out.sha256 in versions:
                    skipped.append((out.record_id, peer.node_id))
                    continue
                if out.record_id and versions:
                    log.warning(
                        "record_id_reused",
                        record_id=out.record_id,
                        peer=peer.node_id,
                        source=prepared.source,
                        detail="a record with this id and other content was queued before; queueing this version too",
                    )
                versions.add(out.sha256)
                last[peer.node_id] += 1
                plan.append((out, peer, last[peer.node_id]))
        sealed = await asyncio.to_thread(self._seal_all, plan, prepared.now) if plan else []
        sequences = {peer: (start[peer], n) for peer, n in last.items() if n != start[peer]}
        try:
            await self.store.enqueue(
                sealed,
                source=prepared.source,
                now=prepared.now,
                intake_sha256=prepared.intake_sha256,
                records=prepared.records,
                max_queued=self.max_queued,
                origins=[(out.record_id, out.sha256) for out, _, _ in plan],
                sequences=sequences,
            )
        except QueueFullError as exc:
            raise QueueFullError(
                self._queue_full_message(exc, prepared.source),
                peer=exc.peer,
                queued=exc.queued,
                adding=exc.adding,
                limit=exc.limit,
                last_delivery_at=exc.last_delivery_at,
            ) from None
        return sealed, skipped

    def _queue_full_message(self, exc: QueueFullError, source: str) -> str:
        me, peer = self.local.node_id, exc.peer
        if exc.last_delivery_at is None:
            since = f"{peer} has not acknowledged any record yet"
        else:
            at = datetime.fromtimestamp(exc.last_delivery_at, UTC).isoformat(timespec="seconds")
            since = f"{peer} has not acknowledged since {at}"
        return (
            f"{source}: {me} has {exc.queued:,} records queued for {peer} (limit [limits] max_queued = {exc.limit:,})"
            f" and this input would add {exc.adding:,}: {since}; refusing new files until it catches up"
            " ('tamga status' shows the peer's last error). Nothing of this input was queued."
        )


PREPARE_AHEAD = 2
"""Files decoded and sealed ahead of the one being committed."""


@dataclass(slots=True)
class _Outcome:
    """What preparing one file of the outgoing folder came to."""

    sha256: bytes | None
    prepared: Prepared | None = None
    error: dict[str, Any] | None = None
    seen: bool = False
    gone: bool = False


class DropFolder:
    """Watches the outgoing folder and submits each completed file."""

    def __init__(
        self,
        *,
        submitter: Submitter,
        outgoing: Path,
        processed: Path,
        failed: Path,
        max_file_bytes: int,
        poll_interval: float,
    ) -> None:
        self.submitter = submitter
        self.outgoing = outgoing
        self.processed = processed
        self.failed = failed
        self.max_file_bytes = max_file_bytes
        self.poll_interval = poll_interval

    def ready_files(self) -> list[Path]:
        """Completed files waiting in the outgoing folder, oldest first."""
        files = []
        try:
            entries = list(os.scandir(self.outgoing))
        except FileNotFoundError:
            return []
        for e in entries:
            if e.name.startswith(".") or e.name.endswith(TEMPORARY_SUFFIXES) or not e.is_file(follow_symlinks=False):
                continue
            try:
                files.append((e.stat().st_mtime_ns, e.name, Path(e.path)))
            except FileNotFoundError:
                continue
        return [p for _, _, p in sorted(files)]

    async def run(self) -> None:
        """Scan forever (until cancelled)."""
        while True:
            try:
                await self.scan_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a folder problem must not stop the node; say it and go on
                log.error("drop_folder_failed", folder=str(self.outgoing), error=str(exc) or type(exc).__name__)
                await asyncio.sleep(max(self.poll_interval, 5.0))
            await asyncio.sleep(self.poll_interval)

    async def scan_once(self) -> int:
        """Take every ready file once, in order; returns how many were handled.

        The next files are read, decoded and sealed while the current one is
        committed (up to ``PREPARE_AHEAD`` files); commits stay in file order.
        """
        pending = iter(self.ready_files())
        window: collections.deque[tuple[Path, asyncio.Task[_Outcome]]] = collections.deque()

        def refill() -> None:
            while len(window) < PREPARE_AHEAD:
                path = next(pending, None)
                if path is None:
                    return
                window.append((path, asyncio.create_task(self._prepare(path))))

        n = 0
        refill()
        try:
            while window:
                path, task = window.popleft()
                outcome = await task
                try:
                    await self._finish(path, outcome)
                except StoreError as exc:
                    # Not the file's fault: leave it where it is and try again later.
                    log.error("file_not_queued", source=path.name, error=str(exc))
                    return n
                n += 1
                refill()
        finally:
            for _, task in window:
                task.cancel()
            await asyncio.gather(*(t for _, t in window), return_exceptions=True)
        return n

    async def take(self, path: Path) -> None:
        """Take one file: queue it whole, or move it to the failed folder with a report.

        Raises:
            StoreError: the store could not commit; the file stays where it is.
        """
        await self._finish(path, await self._prepare(path))

    async def _prepare(self, path: Path) -> _Outcome:
        name = path.name
        try:
            size = path.stat().st_size
            if size > self.max_file_bytes:
                error = {
                    "kind": "too_large",
                    "message": f"file of {size} bytes exceeds the limit of {self.max_file_bytes} bytes"
                    " ([limits] max_file_bytes)",
                }
                return _Outcome(None, error=error)
            data = path.read_bytes()
        except FileNotFoundError:
            return _Outcome(None, gone=True)
        sha = hashlib.sha256(data).digest()
        if await self.submitter.store.intake_seen(name, sha):
            return _Outcome(sha, seen=True)
        try:
            prepared = await self.submitter.prepare(data, source=name, intake_sha256=sha)
        except AdapterError as exc:
            return _Outcome(
                sha, error={"kind": "adapter", "message": exc.message, "adapter": exc.adapter, "location": exc.location}
            )
        except ValidationError as exc:
            return _Outcome(sha, error={"kind": "validation", "message": str(exc), "problems": exc.problems})
        except RoutingError as exc:
            return _Outcome(sha, error={"kind": "routing", "message": str(exc)})
        except TamgaError as exc:
            return _Outcome(sha, error={"kind": "error", "message": str(exc)})
        return _Outcome(sha, prepared=prepared)

    async def _finish(self, path: Path, outcome: _Outcome) -> None:
        if outcome.gone:
            return
        if outcome.error is not None:
            self._fail(path, outcome.sha256, outcome.error)
            return
        if outcome.seen:
            log.info("file_already_queued", source=path.name)
            self._move(path, self.processed)
            return
        assert outcome.prepared is not None
        try:
            sub = await self.submitter.commit(outcome.prepared)
        except QueueFullError as exc:
            error = {
                "kind": "queue_full",
                "message": str(exc),
                "peer": exc.peer,
                "queued": exc.queued,
                "adding": exc.adding,
                "max_queued": exc.limit,
                "action": "move the file back to the outgoing folder once the peer has caught up",
            }
            self._fail(path, outcome.sha256, error)
            return
        self._move(path, self.processed)
        log.info("file_accepted", source=path.name, records=sub.records, envelopes=len(sub.sealed))

    def _move(self, path: Path, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        n = 1
        while target.exists():
            target = folder / f"{path.stem}.{n}{path.suffix}"
            n += 1
        os.replace(path, target)
        return target

    def _fail(self, path: Path, sha: bytes | None, error: dict[str, Any]) -> None:
        target = self._move(path, self.failed)
        report = {
            "file": path.name,
            "moved_to": str(target),
            "sha256": sha.hex() if sha else None,
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "error": error,
            "rule": "A file is accepted whole or not at all: no record of this file was queued. "
            "Correct it and write it to the outgoing folder again.",
        }
        write_atomically(
            target.with_name(target.name + ".error.json"),
            (json.dumps(report, indent=2, ensure_ascii=False) + "\n").encode(),
        )
        # The message may quote values from the file; the log gets the kind and place only,
        # the full explanation is in the error report beside the file.
        log.warning(
            "file_failed",
            source=path.name,
            kind=error["kind"],
            location=error.get("location"),
            report=str(target.with_name(target.name + ".error.json")),
        )
