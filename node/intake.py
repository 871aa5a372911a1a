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

Hostile by default: whatever is in the outgoing folder, no entry holds up
the others and nothing is read through a link or waited on (a FIFO); any
exception while taking a file is charged to that file. See :class:`DropFolder`.
"""

from __future__ import annotations

import asyncio
import collections
import ctypes
import errno
import hashlib
import json
import os
import stat
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
from tamga.terminal import safe
from tamga.v1 import records_pb2
from tamga.validation import raise_if_invalid

__all__ = [
    "DropFolder",
    "Prepared",
    "Submission",
    "Submitter",
    "fit_name",
    "name_max",
    "read_candidate",
    "unexpected_error",
    "write_atomically",
]

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
    limit = 0
    for name, data in files:
        tmp_name = f".{name}.{os.getpid()}.tmp"
        if len(os.fsencode(tmp_name)) > 128:  # a long name: keep the temporary one within the filesystem's limit
            limit = limit or name_max(folder)
            tmp_name = fit_name(f".{name}", f".{os.getpid()}.tmp", limit)
        tmp = folder / tmp_name
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

REGULAR = "regular file"
"""The only kind of entry of the outgoing folder the node opens."""

_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
"""How a candidate is opened: never through a link, never waiting for a writer (a FIFO), not inherited."""

_PASS_THROUGH: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, asyncio.CancelledError)
"""Exceptions that are not a file's fault and must end what they end; every other one is charged to the file."""

_BUSY_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS})
"""Errors opening or reading a file that say the machine is short of something, not that the file is bad."""

_MESSAGE_LIMIT = 500
"""Characters of an unexpected exception's message kept in a report (escaped)."""

_READ_CHUNK = 16 * 1024 * 1024

_WHOLE_RULE = (
    "A file is accepted whole or not at all: no record of this file was queued. "
    "Correct it and write it to the outgoing folder again."
)
_NOT_REGULAR_RULE = (
    "The node takes regular files only and never follows a link: nothing was read through this entry. "
    "Write the file itself (not a link to it) to the outgoing folder."
)


Stamp = tuple[int, int, int, int, int, int]
"""What identifies one version of one entry: device, inode, mode, size, mtime and ctime (ns).

Device and inode alone are not enough: a file unlinked and replaced at once
may give its inode number to the newcomer (a link, another file)."""


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_dev, st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _report_key(entry: _Entry) -> tuple[str, tuple[int, ...] | None]:
    """An entry of the outgoing folder reported once while it stays: its name and inode (a folder's mtime moves)."""
    return (entry.name, entry.identity[:2] if entry.identity else None)


def _kind_of(mode: int) -> str:
    """What an entry of the outgoing folder is, in words for the operator."""
    if stat.S_ISREG(mode):
        return REGULAR
    if stat.S_ISLNK(mode):
        return "symbolic link"
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISDIR(mode):
        return "folder"
    return "special file"


def name_max(folder: Path) -> int:
    """The longest file name, in bytes, the filesystem of ``folder`` takes (255 where it does not say)."""
    try:
        limit = int(os.pathconf(folder, "PC_NAME_MAX"))
    except (OSError, ValueError):
        return 255
    return limit if limit > 0 else 255


def fit_name(stem: str, tail: str, limit: int) -> str:
    """``stem + tail``, shortened deterministically when its bytes exceed ``limit``.

    The short form is the longest prefix of ``stem`` that fits, ``~``, the
    first 12 hex digits of the SHA-256 of the full name, then ``tail``: the
    same name always gives the same short name, two names that share a long
    prefix give different ones, and a reader still sees how the name began.
    """
    full = stem + tail
    raw = os.fsencode(full)
    if len(raw) <= limit:
        return full
    digest = hashlib.sha256(raw).hexdigest()[:12]
    if len(os.fsencode(tail)) + 13 + 8 > limit:  # a tail too long to keep (a huge "suffix"): shorten the whole
        stem, tail = full, ""
    budget = limit - len(os.fsencode(tail)) - 13
    prefix = stem
    while prefix and len(os.fsencode(prefix)) > budget:
        prefix = prefix[: max(0, min(len(prefix) - 1, budget))]
    return f"{prefix}~{digest}{tail}"


@dataclass(frozen=True, slots=True)
class _Entry:
    """One entry of the outgoing folder, as listed (its type from lstat: a link is a link)."""

    name: str
    kind: str
    mtime_ns: int
    identity: Stamp | None


@dataclass(frozen=True, slots=True)
class _Read:
    """What opening one candidate found: its bytes, or why there are none."""

    data: bytes | None = None
    kind: str = REGULAR
    size: int = 0
    gone: bool = False
    identity: Stamp | None = None


def read_candidate(folder: Path, name: str, limit: int) -> _Read:
    """Open ``folder/name`` once, without following a link or waiting on a FIFO, and read it if it is a regular file.

    The type and the size are taken from the open descriptor (``fstat``), so
    what is read is what was checked, whatever replaces the name meanwhile.
    At most ``limit + 1`` bytes are read: a file that grew past the limit
    after the check is refused as too large. Blocking: call it off the event
    loop.

    Returns:
        The bytes; or ``data=None`` with the kind of a non-regular entry, or
        with the size of a file over the limit; or ``gone=True``.

    Raises:
        OSError: the file could not be opened or read (other than being gone).
    """
    dfd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fd = os.open(name, _OPEN_FLAGS, dir_fd=dfd)
        except FileNotFoundError:
            return _Read(gone=True)
        except OSError:
            # O_NOFOLLOW refuses a link (ELOOP), a socket cannot be opened (ENXIO): say what the entry is.
            try:
                st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
            except FileNotFoundError:
                return _Read(gone=True)
            if not stat.S_ISREG(st.st_mode):
                return _Read(kind=_kind_of(st.st_mode), identity=_stamp(st))
            raise
        try:
            st = os.fstat(fd)
            kind = _kind_of(st.st_mode)
            identity = _stamp(st)
            if kind != REGULAR:
                return _Read(kind=kind, identity=identity)
            if st.st_size > limit:
                return _Read(size=st.st_size, identity=identity)
            chunks: list[bytes] = []
            total = 0
            while total <= limit:
                chunk = os.read(fd, min(limit + 1 - total, _READ_CHUNK))
                if not chunk:
                    break
                chunks.append(chunk)
                total += len(chunk)
            if total > limit:
                return _Read(size=total, identity=identity)
            return _Read(data=b"".join(chunks), size=total, identity=identity)
        finally:
            os.close(fd)
    finally:
        os.close(dfd)


def unexpected_error(exc: BaseException, *, adapter: str, stage: str) -> dict[str, Any]:
    """The report of an exception no check expected (an adapter's bug, RecursionError, MemoryError...).

    Its message is escaped and bounded: it may quote the file.
    """
    kind = type(exc)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    try:
        message = str(exc)
    except Exception:  # an exception whose own __str__ fails still gets its report
        message = ""
    return {
        "kind": "unexpected",
        "exception": safe(name, 200),
        "message": safe(message or name, _MESSAGE_LIMIT),
        "adapter": safe(adapter, 200),
        "stage": stage,
    }


@dataclass(slots=True)
class _Outcome:
    """What preparing one file of the outgoing folder came to."""

    sha256: bytes | None
    prepared: Prepared | None = None
    error: dict[str, Any] | None = None
    cause: BaseException | None = None
    not_regular: str | None = None
    retry: Exception | None = None
    seen: bool = False
    gone: bool = False
    identity: Stamp | None = None


class DropFolder:
    """Watches the outgoing folder and submits each completed file.

    No entry can hold up the others. Each candidate is opened once, without
    following a link and without waiting on a FIFO, its type and size are
    checked on the open descriptor, and it is read from that descriptor, all
    off the event loop. Symbolic links, FIFOs, sockets and devices are never
    opened through: each is moved as it is (the link itself, not what it
    points to) into the failed folder with a report, and logged once
    (``drop_folder_skipped``); a folder is left in place and logged once.
    Any exception while reading, decoding, checking or queueing a file
    (RecursionError, MemoryError, an adapter's bug) moves that file to the
    failed folder with a report naming the exception and the adapter, and
    the next file is taken. Only what is not the file's fault (the store
    cannot commit, the failed folder cannot be written, the machine is out
    of file descriptors) leaves a file where it is, to be taken again.
    """

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
        self._reported: set[tuple[str, tuple[int, ...] | None]] = set()

    @property
    def _adapter_name(self) -> str:
        return str(getattr(self.submitter.adapter, "name", "") or type(self.submitter.adapter).__name__)

    def _list(self) -> list[_Entry]:
        """Entries of the outgoing folder that are complete (no temporary name), with their type. Blocking."""
        found = []
        try:
            scan = os.scandir(self.outgoing)
        except FileNotFoundError:
            return []
        with scan:
            for e in scan:
                if e.name.startswith(".") or e.name.endswith(TEMPORARY_SUFFIXES):
                    continue
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                found.append(_Entry(e.name, _kind_of(st.st_mode), st.st_mtime_ns, _stamp(st)))
        return found

    def ready_files(self) -> list[Path]:
        """Completed regular files waiting in the outgoing folder, oldest first (blocking)."""
        regular = sorted((e.mtime_ns, e.name) for e in self._list() if e.kind == REGULAR)
        return [self.outgoing / name for _, name in regular]

    async def run(self) -> None:
        """Scan forever (until cancelled)."""
        while True:
            try:
                await self.scan_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a folder problem must not stop the node; say it and go on
                log.error("drop_folder_failed", folder=safe(self.outgoing), error=safe(str(exc) or type(exc).__name__))
                await asyncio.sleep(max(self.poll_interval, 5.0))
            await asyncio.sleep(self.poll_interval)

    async def scan_once(self) -> int:
        """Take every ready file once, in order; returns how many were handled.

        Entries that are not regular files are set aside first. The next files
        are read, decoded and sealed while the current one is committed (up to
        ``PREPARE_AHEAD`` files); commits stay in file order.
        """
        entries = await asyncio.to_thread(self._list)
        n = 0
        for entry in entries:
            if entry.kind != REGULAR:
                n += await self._set_aside(entry)
        present = {_report_key(e) for e in entries}
        self._reported &= present
        regular = sorted((e.mtime_ns, e.name) for e in entries if e.kind == REGULAR)
        pending = iter([self.outgoing / name for _, name in regular])
        window: collections.deque[tuple[Path, asyncio.Task[_Outcome]]] = collections.deque()

        def refill() -> None:
            while len(window) < PREPARE_AHEAD:
                path = next(pending, None)
                if path is None:
                    return
                window.append((path, asyncio.create_task(self._prepare(path))))

        refill()
        try:
            while window:
                path, task = window.popleft()
                outcome = await task
                try:
                    await self._finish(path, outcome)
                except StoreError as exc:
                    # Not the file's fault: leave it where it is and try again later.
                    log.error("file_not_queued", source=safe(path.name), error=safe(str(exc)))
                    return n
                except OSError as exc:
                    # Moving it or writing its report failed (the failed folder, the disk): the same.
                    log.error("file_not_moved", source=safe(path.name), error=safe(exc.strerror or type(exc).__name__))
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
            OSError: the file could not be moved or its report written; it stays where it is.
        """
        await self._finish(path, await self._prepare(path))

    async def _set_aside(self, entry: _Entry) -> int:
        """Move a link, FIFO, socket or device into the failed folder as it is, with a report; say so once.

        A folder is left where it is (it may be the national system's own)
        and logged once while it stays; so is an entry that cannot be moved
        (the failed folder is not writable), with the reason. Returns 1 if an
        entry was moved.
        """
        if entry.kind == "folder":
            self._skipped_once(entry, "left in place: the node takes regular files only")
            return 0
        try:
            report = await asyncio.to_thread(self._fail_entry, entry.name, entry.kind, entry.identity)
        except FileNotFoundError:
            return 0
        except OSError as exc:
            self._skipped_once(entry, f"left in place: it could not be moved to the failed folder: {exc.strerror}")
            return 0
        if report is None:
            return 0
        log.warning(
            "drop_folder_skipped",
            source=safe(entry.name, 300),
            entry=entry.kind,
            action="moved to the failed folder unopened",
            report=safe(report),
        )
        return 1

    def _skipped_once(self, entry: _Entry, action: str) -> None:
        """Log an entry left in the outgoing folder, once while it stays there."""
        key = _report_key(entry)
        if key not in self._reported:
            self._reported.add(key)
            log.warning("drop_folder_skipped", source=safe(entry.name, 300), entry=entry.kind, action=action)

    def _fail_entry(self, name: str, kind: str, identity: Stamp | None) -> Path | None:
        """Blocking part of :meth:`_set_aside`: the report, the rename (which never opens or follows the entry)."""
        path = self.outgoing / name
        error: dict[str, Any] = {
            "kind": "not_a_regular_file",
            "entry": kind,
            "message": f"this entry of the outgoing folder is a {kind}, not a regular file: the node takes regular"
            " files only, never follows a link and never opens a FIFO, socket or device; it was moved here as it was,"
            " unread",
        }
        if kind == "symbolic link":
            try:
                error["link_target"] = safe(os.readlink(path), 300)
            except OSError:
                pass
        return self._fail(path, None, error, log_it=False, expect=identity)

    async def _prepare(self, path: Path) -> _Outcome:
        name = path.name
        try:
            read = await asyncio.to_thread(read_candidate, self.outgoing, name, self.max_file_bytes)
        except _PASS_THROUGH:
            raise
        except OSError as exc:
            if exc.errno in _BUSY_ERRNOS:
                return _Outcome(None, retry=exc)
            return _Outcome(None, error={"kind": "unreadable", "message": f"cannot read the file: {exc.strerror}"})
        except BaseException as exc:
            return _Outcome(None, error=unexpected_error(exc, adapter=self._adapter_name, stage="reading"), cause=exc)
        if read.gone:
            return _Outcome(None, gone=True)
        if read.kind != REGULAR:
            return _Outcome(None, not_regular=read.kind, identity=read.identity)
        if read.data is None:
            error = {
                "kind": "too_large",
                "message": f"file of {read.size} bytes exceeds the limit of {self.max_file_bytes} bytes"
                " ([limits] max_file_bytes)",
            }
            return _Outcome(None, error=error, identity=read.identity)
        outcome = await self._decode(path, read.data)
        outcome.identity = read.identity
        return outcome

    async def _decode(self, path: Path, data: bytes) -> _Outcome:
        name = path.name
        sha = hashlib.sha256(data).digest()
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            error = {"kind": "name", "message": "the file name is not valid UTF-8; rename the file and drop it again"}
            return _Outcome(sha, error=error)
        try:
            if await self.submitter.store.intake_seen(name, sha):
                return _Outcome(sha, seen=True)
            prepared = await self.submitter.prepare(data, source=name, intake_sha256=sha)
        except AdapterError as exc:
            return _Outcome(
                sha, error={"kind": "adapter", "message": exc.message, "adapter": exc.adapter, "location": exc.location}
            )
        except ValidationError as exc:
            return _Outcome(sha, error={"kind": "validation", "message": str(exc), "problems": exc.problems})
        except RoutingError as exc:
            return _Outcome(sha, error={"kind": "routing", "message": str(exc)})
        except StoreError as exc:
            return _Outcome(sha, retry=exc)
        except TamgaError as exc:
            return _Outcome(sha, error={"kind": "error", "message": str(exc)})
        except _PASS_THROUGH:
            raise
        except BaseException as exc:  # RecursionError, MemoryError, an adapter's bug: the file's, not the folder's
            error = unexpected_error(exc, adapter=self._adapter_name, stage="decoding and checking")
            return _Outcome(sha, error=error, cause=exc)
        return _Outcome(sha, prepared=prepared)

    async def _finish(self, path: Path, outcome: _Outcome) -> None:
        if outcome.gone:
            return
        if outcome.retry is not None:
            raise outcome.retry
        if outcome.not_regular is not None:
            # It was a regular file when listed and is something else now: set it aside all the same.
            await self._set_aside(_Entry(path.name, outcome.not_regular, 0, outcome.identity))
            return
        if outcome.error is not None:
            await self._fail_async(path, outcome, outcome.error, cause=outcome.cause)
            return
        if outcome.seen:
            log.info("file_already_queued", source=safe(path.name))
            await self._move_taken(path, outcome)
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
            await self._fail_async(path, outcome, error)
            return
        except (StoreError, *_PASS_THROUGH):
            raise
        except BaseException as exc:
            await self._failed_commit(path, outcome, exc)
            return
        log.info("file_accepted", source=safe(path.name), records=sub.records, envelopes=len(sub.sealed))
        await self._move_taken(path, outcome)

    async def _move_taken(self, path: Path, outcome: _Outcome) -> None:
        """Move a file whose records are queued to the processed folder, if it is still the file that was read."""
        if await asyncio.to_thread(self._move, path, self.processed, outcome.identity) is None:
            self._log_replaced(path)

    async def _fail_async(
        self, path: Path, outcome: _Outcome, error: dict[str, Any], *, cause: BaseException | None = None
    ) -> None:
        report = await asyncio.to_thread(self._fail, path, outcome.sha256, error, cause=cause, expect=outcome.identity)
        if report is None:
            self._log_replaced(path)

    @staticmethod
    def _log_replaced(path: Path) -> None:
        log.warning(
            "file_replaced",
            source=safe(path.name),
            detail="the name now holds another entry than the one read; it is left for the next scan",
        )

    async def _failed_commit(self, path: Path, outcome: _Outcome, exc: BaseException) -> None:
        """Sealing or queueing raised what no check expected: the file goes to failed/ unless it was committed."""
        assert outcome.sha256 is not None
        try:
            committed = await self.submitter.store.intake_seen(path.name, outcome.sha256)
        except StoreError:
            committed = False
        if committed:
            log.warning("file_accepted", source=safe(path.name), after_error=type(exc).__name__)
            await self._move_taken(path, outcome)
            return
        error = unexpected_error(exc, adapter=self._adapter_name, stage="sealing and queueing")
        await self._fail_async(path, outcome, error, cause=exc)

    def _move(self, path: Path, folder: Path, expect: Stamp | None = None) -> Path | None:
        """Rename ``path`` into ``folder``, as ``STEM.N.SUFFIX`` if the name is taken; never replaces a file.

        Names that no longer fit the folder's filesystem with the counter are
        shortened with :func:`fit_name`. With ``expect`` (the :data:`Stamp` of
        what was opened), nothing is moved and None returned when the name
        holds another entry by now. Blocking.
        """
        if expect is not None:
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                return None
            if _stamp(st) != expect:
                return None
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        n = 1
        limit = 0
        while os.path.lexists(target):
            limit = limit or name_max(folder)
            target = folder / fit_name(path.stem, f".{n}{path.suffix}", limit)
            n += 1
        os.replace(path, target)
        return target

    def _fail(
        self,
        path: Path,
        sha: bytes | None,
        error: dict[str, Any],
        *,
        cause: BaseException | None = None,
        log_it: bool = True,
        expect: Stamp | None = None,
    ) -> Path | None:
        """Move ``path`` to the failed folder with its report beside it; returns the report's path. Blocking.

        The report is ``NAME.error.json``, or a shortened name (:func:`fit_name`)
        where that would be longer than the filesystem allows; the report
        always holds the full original name (escaped). None if ``expect`` is
        given and the name holds another entry by now (see :meth:`_move`).
        """
        target = self._move(path, self.failed, expect)
        if target is None:
            return None
        report_name = fit_name(target.name, ".error.json", name_max(self.failed))
        report_path = target.with_name(report_name)
        report: dict[str, Any] = {
            "file": safe(path.name),
            "moved_to": safe(str(target)),
            "sha256": sha.hex() if sha else None,
            "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "error": error,
            "rule": _NOT_REGULAR_RULE if error["kind"] == "not_a_regular_file" else _WHOLE_RULE,
        }
        if report_name != target.name + ".error.json":
            report["report_name"] = (
                f"{target.name}.error.json would be longer than the filesystem allows; this report is named"
                " after a prefix of the file's name and a hash of the whole name"
            )
            report["moved_to_name"] = safe(target.name)
        data = json.dumps(report, indent=2, ensure_ascii=False) + "\n"
        write_atomically(report_path, data.encode("utf-8", "backslashreplace"))
        if not log_it:
            return report_path
        # The message may quote values from the file; the log gets the kind and place only,
        # the full explanation is in the error report beside the file.
        extra = {"exception": error["exception"], "adapter": error["adapter"]} if error["kind"] == "unexpected" else {}
        log.warning(
            "file_failed",
            source=safe(path.name),
            kind=error["kind"],
            location=error.get("location"),
            report=safe(report_path),
            **extra,
        )
        if cause is not None:
            log.debug("file_failed_traceback", source=safe(path.name), exc_info=cause)
        return report_path
