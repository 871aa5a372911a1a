"""``tamga doctor``: what is wrong with a node directory, and how to recover.

Every check prints one line, ``OK`` or ``PROBLEM``, naming the file or folder
it looked at; a problem with the store is followed by the facts an operator
needs (which check failed, whether a ``-wal`` file is present, how many outbox
and inbox rows can still be read) and the recovery steps. A row whose payload
retention purged (empty envelope, ``purged_at`` set) is counted as such; an
empty envelope without ``purged_at`` is damage, and a problem.

The doctor changes nothing: the store is opened read-only, and the only
writes are a probe file (a dot-name, removed at once) in each folder the node
writes to. It may run beside a running node.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tamga.errors import TamgaError
from tamga.terminal import safe

__all__ = ["MIN_FREE_BYTES", "Check", "diagnose", "report"]

MIN_FREE_BYTES = 100 * 1024 * 1024
"""Less free space than this on a folder's file system is a problem: SQLite needs room to commit."""

SQLITE_MAGIC = b"SQLite format 3\x00"
MAX_PROBLEMS = 10  # integrity_check messages reported (the check stops after this many)


@dataclass
class Check:
    """One line of the report, with the lines of explanation that follow a problem."""

    name: str
    ok: bool
    detail: str
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = f"{'OK' if self.ok else 'PROBLEM':<8} {self.name}: {self.detail}"
        return [head, *(f"         {n}" for n in self.notes)]


def diagnose(home: Path) -> list[Check]:
    """Every check of the node directory ``home``, in order; never raises for what it finds."""
    from tamga.config import load_config

    try:
        config = load_config(home)
    except TamgaError as exc:
        return [
            Check(
                "config",
                False,
                str(exc),
                ["the other checks need the configuration; fix it (or give --home) and run 'tamga doctor' again"],
            )
        ]
    checks = [Check("config", True, f"{config.config_path} (node {config.node.id}, country {config.node.country})")]
    checks.append(_guard("permissions", lambda: _check_permissions(config)))
    checks.append(_check_store(config.path(config.store.path), running=_running_pid(config)))
    checks.append(_guard("keys", lambda: _check_keys(config)))
    checks.append(_guard("federation", lambda: _check_federation(config)))
    checks.extend(_check_folders(config))
    checks.extend(_check_space(config))
    return checks


def report(home: Path, out: Callable[[str], Any] = print) -> int:
    """Print the checks of ``home``; 0 when every check is OK, 1 otherwise."""
    checks = diagnose(home)
    for check in checks:
        for line in check.lines():
            # A fork alarm, an error or a file name may quote what a peer or a file wrote: escaped.
            out(safe(line))
    problems = sum(1 for c in checks if not c.ok)
    if problems:
        out(f"{problems} problem(s) found in {home}; fix them, then run 'tamga doctor' again")
        return 1
    out(f"all {len(checks)} checks OK for {home}")
    return 0


def _guard(name: str, check: Callable[[], Check]) -> Check:
    """A check that raised is a problem of that check, not a crash of the doctor."""
    try:
        return check()
    except TamgaError as exc:
        return Check(name, False, " ".join(str(exc).split()))
    except OSError as exc:
        return Check(name, False, f"{exc.filename or ''}: {exc.strerror or exc}")


def _running_pid(config: Any) -> int | None:
    try:
        pid = int((config.path(config.folders.run) / "pid").read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return None
    return pid


# -- the store ---------------------------------------------------------------------


def _check_store(path: Path, *, running: int | None) -> Check:
    facts: list[str] = []
    wal = Path(f"{path}-wal")
    if wal.exists():
        facts.append(
            f"{wal} is present ({wal.stat().st_size} bytes): it may hold committed records not yet in the main file; "
            "keep it beside the store and copy it with it"
        )
    else:
        facts.append(f"no {wal.name} file beside the store")
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        return Check(
            "store",
            False,
            f"{path}: missing",
            [
                *facts,
                "the node would start with a new, empty store: every queued record and the record of what was "
                "already received would be gone. Restore the last backup of this file; if there is none, see the "
                "recovery steps below",
                *_recovery(path),
            ],
        )
    except OSError as exc:
        return Check("store", False, f"{path}: cannot read: {exc.strerror}")
    failed = _file_problem(path, size)
    rows: list[str] = []
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error as exc:
        failed = failed or f"SQLite cannot open it: {exc}"
    else:
        try:
            if failed is None:
                failed = _integrity(conn)
            rows, emptied = _readable_rows(conn)
            if failed is None and emptied:
                failed = (
                    f"{emptied} row(s) have an empty envelope that retention did not purge (no purged_at): "
                    "their payload was lost or overwritten"
                )
        finally:
            conn.close()
    if failed is None:
        return Check("store", True, f"{path}: integrity_check ok ({size} bytes); {'; '.join(rows)}")
    notes = [*facts, *rows]
    if running is not None:
        notes.append(f"a node process (pid {running}) is running on this directory: stop it before recovering")
    return Check("store", False, f"{path}: {failed}", [*notes, *_recovery(path)])


def _file_problem(path: Path, size: int) -> str | None:
    """What is wrong with the file itself (empty, header, length), before SQLite reads it."""
    if size == 0:
        return "the file is empty (0 bytes): it was truncated"
    with open(path, "rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(SQLITE_MAGIC):
        return (
            f"the file header is not SQLite's ('file is not a database'): it was overwritten, "
            f"or the file was truncated to {size} bytes"
        )
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        return f"the file header is damaged: page size {page_size} is not a power of two from 512 to 65536"
    if size % page_size:
        return f"the file is truncated: {size} bytes is not a whole number of {page_size}-byte pages"
    if header[24:28] == header[92:96]:
        pages = int.from_bytes(header[28:32], "big")
        if pages and size < pages * page_size:
            return f"the file is truncated: {size // page_size} pages of the {pages} its header counts are present"
    return None


def _integrity(conn: sqlite3.Connection) -> str | None:
    try:
        found = [str(r[0]) for r in conn.execute(f"PRAGMA integrity_check({MAX_PROBLEMS})")]
    except sqlite3.DatabaseError as exc:
        return f"integrity_check cannot run: {exc}"
    if found == ["ok"]:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = sorted({"outbox", "inbox", "receipts", "intake"} - tables)
        if missing:
            return f"not a Tamga store: table(s) {', '.join(missing)} missing"
        return None
    more = f" (and {len(found) - 1} more problem(s), first {MAX_PROBLEMS} shown by integrity_check)"
    return f"integrity_check failed: {found[0]}" + (more if len(found) > 1 else "")


def _readable_rows(conn: sqlite3.Connection) -> tuple[list[str], int]:
    """How many outbox and inbox rows can still be read, scanning each table until it ends or fails.

    Also: how many have an empty envelope that retention did not purge (damage).
    """
    out = []
    emptied = 0
    for table, sql, label in (
        ("outbox", "SELECT state{} FROM outbox", lambda v: str(v)),
        (
            "inbox",
            "SELECT handed_off_at IS NULL{} FROM inbox",
            lambda v: "waiting for hand-off" if v else "handed off",
        ),
    ):
        counts: dict[str, int] = {}
        stopped = ""
        try:
            # Stores before schema 4 have no purged_at (and nothing purged).
            retention = any(r[1] == "purged_at" for r in conn.execute(f"PRAGMA table_info({table})"))
            payload = ", length(envelope) = 0, purged_at IS NOT NULL" if retention else ", 0, 0"
            for value, empty, purged in conn.execute(sql.format(payload)):
                key = label(value)
                if purged:
                    key += ", payload purged by retention"
                elif empty:
                    key += ", EMPTY envelope not purged by retention"
                    emptied += 1
                counts[key] = counts.get(key, 0) + 1
        except sqlite3.DatabaseError as exc:
            stopped = f", then reading stopped: {exc}"
        total = sum(counts.values())
        parts = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
        out.append(f"{table}: {total} row(s) readable" + (f" ({parts})" if parts else "") + stopped)
    return out, emptied


def _recovery(path: Path) -> list[str]:
    return [
        "how to recover:",
        "  1. stop the node (it refuses to start on this store) and any 'tamga send' for it",
        f"  2. keep a copy of the damaged files as they are: cp -p {path}* /somewhere/safe/ "
        "(the -wal file too, if present; do not delete it)",
        f'  3. restore the last backup of {path.name}, or salvage what can be read: sqlite3 {path} ".recover" '
        f'| sqlite3 {path}.recovered ; check it: sqlite3 {path}.recovered "PRAGMA integrity_check" (must say '
        f"ok); then move {path}.recovered to {path} (and remove the old -wal and -shm files, of which you kept copies)",
        "  4. records not yet delivered: a record whose outbox row survived is sent again when the node starts; one "
        "that was lost must be submitted again (its file is in the processed folder: put it back into outgoing or "
        "'tamga send' it). Resending is safe: a peer that already holds a record answers DUPLICATE and keeps one "
        "copy. Records received but lost before hand-off: ask the sending peer to resend them",
        "  5. run 'tamga doctor' again; start the node when every line is OK",
    ]


# -- keys, federation, folders, space ------------------------------------------------


def _check_permissions(config: Any) -> Check:
    """Group or others must not be able to write what decides whom the node trusts ('tamga run' refuses it)."""
    from tamga.config import check_permissions, writable_by_others

    try:
        check_permissions(config)
    except TamgaError as exc:
        found = writable_by_others(config)
        return Check(
            "permissions",
            False,
            " ".join(str(exc).split()).replace("; refusing to start", "; 'tamga run' refuses to start"),
            [f"{path}: mode {mode:04o}, writable by {_who(mode)}" for path, mode in found],
        )
    return Check(
        "permissions",
        True,
        f"{config.home}: the configuration, keys folder, peers and federation folders are writable by their owner only",
    )


def _who(mode: int) -> str:
    import stat

    return " and ".join(w for bit, w in ((stat.S_IWGRP, "group"), (stat.S_IWOTH, "others")) if mode & bit)


def _check_keys(config: Any) -> Check:
    from tamga.crypto import is_encrypted_key_file
    from tamga.home import load_local_identity
    from tamga.transport import is_encrypted_tls_key

    files = [config.path(config.keys.signing), config.path(config.keys.encryption)]
    encrypted = any(is_encrypted_key_file(p) for p in files if p.is_file())
    local = load_local_identity(config)  # checks modes, format, passphrase; never puts key material in messages
    how = "encrypted, the passphrase opens them" if encrypted else "not encrypted (see 'tamga keys encrypt')"
    tls_key = config.path(config.keys.tls_key)
    tls = "with TLS key and certificate" if local.tls_key else "no TLS key"
    if local.tls_key and encrypted:
        if not is_encrypted_tls_key(tls_key):
            # A node made with --encrypt-keys before the TLS key was encrypted too.
            return Check(
                "keys",
                False,
                f"{tls_key}: the TLS key is in the clear while the signing and encryption keys are encrypted; "
                "encrypt it with the same passphrase: tamga keys encrypt",
            )
        tls = "with TLS key (encrypted too) and certificate"
    return Check("keys", True, f"signing and encryption keys of {local.node_id} readable, owner-only; {how}; {tls}")


def _check_federation(config: Any) -> Check:
    from tamga.federation import FederationState
    from tamga.home import load_peers

    folder = config.path(Path("federation"))
    if not FederationState.exists(folder):
        peers = load_peers(config)
        return Check(
            "federation", True, f"no manifest; {len(list(peers))} peer(s) from {config.path(config.folders.peers)}"
        )
    state = FederationState.load(folder)
    current = state.current
    if state.fork:
        message = state.fork.get("message") or f"fork at version {state.fork.get('version')}"
        return Check("federation", False, f"{folder}: {message}")
    from tamga.federation._node import removal, removal_words

    removed_in = removal(state, config.node.id)
    if removed_in is not None:
        return Check(
            "federation",
            False,
            f"{folder}: {removal_words(current.federation_id, removed_in)}",
            [
                "it exchanges with no one: records it had queued were rejected, new ones are refused",
                "to take part again, the members must admit it in a new manifest version (tamga federation apply)",
            ],
        )
    member = "" if config.node.id in current.members else "; THIS NODE IS NOT A MEMBER"
    ok = not member
    return Check(
        "federation",
        ok,
        f"{folder}: chain verifies to version {current.version} of {current.federation_id}, "
        f"{len(current.members)} members{member}",
    )


def _check_folders(config: Any) -> list[Check]:
    f = config.folders
    folders = [f.outgoing, f.processed, f.failed, f.incoming, f.run, config.store.path.parent]
    bad: list[str] = []
    for rel in folders:
        path = config.path(rel)
        probe = path / f".tamga-doctor-{os.getpid()}-{time.monotonic_ns()}"
        try:
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            bad.append(f"{path}: {exc.strerror}")
            continue
        os.close(fd)
        probe.unlink()
    if bad:
        return [Check("folders", False, f"cannot write: {'; '.join(bad)}")]
    return [Check("folders", True, f"{len(folders)} folders writable ({', '.join(str(r) for r in folders)})")]


def _check_space(config: Any) -> list[Check]:
    seen: set[int] = set()
    out = []
    for rel in (config.store.path.parent, config.folders.incoming, config.folders.outgoing):
        path = config.path(rel)
        try:
            dev = path.stat().st_dev
            usage = shutil.disk_usage(path)
        except OSError as exc:
            out.append(Check("disk space", False, f"{path}: {exc.strerror}"))
            continue
        if dev in seen:
            continue
        seen.add(dev)
        mib = usage.free // (1024 * 1024)
        ok = usage.free >= MIN_FREE_BYTES
        detail = f"{path}: {mib} MiB free of {usage.total // (1024 * 1024)} MiB"
        if not ok:
            detail += f"; less than {MIN_FREE_BYTES // (1024 * 1024)} MiB: commits may fail, free some space"
        out.append(Check("disk space", ok, detail))
    return out
