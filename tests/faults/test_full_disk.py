"""A full disk on the receiver: no receipt for what it could not commit, the sender retries, nothing is lost.

Two real node processes, KZ -> UZ, TLS on. UZ's whole node directory (store,
WAL, incoming folder, keys) is on a small file system of its own, a tmpfs
mounted for the test. Each cycle a ballast file takes all but a random slack
of its free space, a wave of records is dropped into KZ's outgoing folder and
UZ runs out of space part-way through the wave. (SQLite reuses the space of
its WAL after a checkpoint, so a store on a full disk may still take some
hundreds of records; while UZ takes everything, more are dropped, up to
MAX_WAVE.) While it is full, UZ stays up and logs what failed, where and why;
it answers no batch it could not commit (every record KZ holds as delivered
is in UZ's inbox), and KZ keeps the rest queued and retries, its status naming
UZ's reason. Then space returns without restarting anything (even cycles: the
ballast is deleted; odd cycles: the tmpfs is grown with a remount; each fill
first sets the tmpfs to what it holds plus HEADROOM, so a ballast never takes
more memory than that) and
everything arrives exactly once.

Where mounting is not permitted (not root, or a container without
CAP_SYS_ADMIN) the full disk is a hard file size limit instead: RLIMIT_FSIZE is
set on the running UZ process a random slack past where SQLite writes next,
and raised again with prlimit when space returns. SQLite then reports only a
write error, and the node must still say it is out of space. Where both work,
both run; TAMGA_FAULTS_DISK=tmpfs or rlimit_fsize runs one. The FAULTS line
names the method.

UZ's log is kept off the full disk, as a service manager keeps a log
elsewhere (under the file size limit, through a pipe this process copies to
a file, since the limit would cut a log file as well); a log that cannot be
written at all is tested on its own below. Short profile: two cycles of 250
records or more per method; full: ten cycles of 490 or more (5,000 records at
the least). The seed is printed; TAMGA_FAULTS_SEED replays the slacks.
"""

from __future__ import annotations

import json
import os
import random
import resource
import select
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import TracebackType

import pytest
from process.helpers import count_visible, describe, run_tamga
from tamga.tools.federation import LocalFederation, NodeProcess, wait_for

from .helpers import (
    FULL,
    Ledger,
    check_exactly_once,
    fast_delivery,
    received,
    scalar,
    seed,
    settled,
    state,
    wait_progressing,
)

pytestmark = [pytest.mark.slow, pytest.mark.faults]

CYCLES = 10 if FULL else 2
FIRST = 100  # records of the first wave, on a disk with room
WAVE = 490 if FULL else 250  # records dropped per cycle; more while UZ still takes everything
STEP = 100  # records dropped at a time then
MAX_WAVE = 3000  # records dropped in one cycle, at the most, before UZ must refuse
HOLD = 4.0 if FULL else 1.5  # seconds UZ stays full, at the least
REFUSALS = 3  # batches UZ must refuse while full: KZ retried that often
WAIT = 240.0 if FULL else 60.0  # seconds: bound of each wait
HEADROOM = 32 * 2**20  # bytes free before each fill, and what a remount adds: more than MAX_WAVE records need
CAP_SYS_ADMIN = 21
METHODS = ("tmpfs", "rlimit_fsize")


def _can_mount() -> bool:
    """Whether this process may mount file systems (root, or CAP_SYS_ADMIN in a container)."""
    if shutil.which("mount") is None:
        return False
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return os.geteuid() == 0
    caps = next((line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")), "0")
    return bool(int(caps, 16) >> CAP_SYS_ADMIN & 1)


def _methods() -> list[str]:
    forced = os.environ.get("TAMGA_FAULTS_DISK", "")
    if forced:
        if forced not in METHODS:
            raise pytest.UsageError(f"TAMGA_FAULTS_DISK={forced!r}: expected one of {', '.join(METHODS)}")
        return [forced]
    return list(METHODS) if _can_mount() else ["rlimit_fsize"]


# -- the receiver and its log ---------------------------------------------------------------


class LoggedElsewhere(NodeProcess):
    """A node whose log is kept apart from its node directory.

    ``log_file`` is what the test reads; ``sink``, when set, is what the
    node's process writes to instead (a pipe, /dev/full).
    """

    log_file: Path
    sink: Path | None = None
    _starting: bool = False

    @classmethod
    def of(cls, node: NodeProcess, log_file: Path, sink: Path | None = None) -> LoggedElsewhere:
        new = cls(**{f.name: getattr(node, f.name) for f in fields(node)})
        new.log_file, new.sink = log_file, sink
        return new

    @property
    def log_path(self) -> Path:
        # NodeProcess.start opens log_path for the child's output; everything else reads it.
        return self.sink if self._starting and self.sink is not None else self.log_file

    def start(self, wait: float = 30.0) -> None:
        self._starting = True
        try:
            super().start(wait)
        finally:
            self._starting = False


class LogRelay:
    """A named pipe whose lines this process appends to a file (a log out of reach of the node's limit)."""

    def __init__(self, fifo: Path, target: Path) -> None:
        os.mkfifo(fifo, 0o600)
        self.fifo, self.target = fifo, target
        self._fd = os.open(fifo, os.O_RDWR)  # a reader from now on: the node's open never blocks
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._copy, name="uz-log-relay", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        with open(self.target, "ab") as out:
            while True:
                ready, _, _ = select.select([self._fd], [], [], 0.1)
                if ready:
                    out.write(os.read(self._fd, 1 << 16))
                    out.flush()
                elif self._stop.is_set():
                    return

    def close(self) -> None:
        self._stop.set()
        self._thread.join(10)
        os.close(self._fd)


@dataclass
class LogWatch:
    """The receiver's refusals of batches it could not commit, read from its log as it grows."""

    path: Path
    offset: int = 0
    refusals: list[str] = field(default_factory=list)

    def poll(self) -> int:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return len(self.refusals)
        end = data.rfind(b"\n") + 1
        self.offset += end
        for line in data[:end].decode("utf-8", "replace").splitlines():
            if '"batch_not_committed"' in line:
                self.refusals.append(json.loads(line)["error"])
        return len(self.refusals)


# -- the two ways to fill a disk -------------------------------------------------------------


class DiskUnavailable(Exception):
    """This machine does not allow the method."""


class Tmpfs:
    """The node directory on a tmpfs of its own; a ballast file fills it."""

    name = "tmpfs"

    def __init__(self, mount: Path, size: int) -> None:
        self.mount, self.size = mount, size
        self.ballast = mount / "ballast"

    def __enter__(self) -> Tmpfs:
        self.mount.mkdir(parents=True)
        self._mount("-t", "tmpfs", "-o", f"size={self.size},mode=0755", "tmpfs")
        return self

    def _mount(self, *args: str) -> None:
        done = subprocess.run(["mount", *args, str(self.mount)], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:
            raise DiskUnavailable(f"mount {' '.join(args)} {self.mount}: {done.stderr.strip() or done.returncode}")

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        done = subprocess.run(["umount", str(self.mount)], capture_output=True, text=True, timeout=30)
        if done.returncode != 0:  # still busy: detach it now, the kernel frees it when the last file closes
            subprocess.run(["umount", "-l", str(self.mount)], capture_output=True, timeout=30, check=True)

    def attach(self, node: NodeProcess) -> None:
        pass

    def free_bytes(self) -> int:
        st = os.statvfs(self.mount)
        return st.f_bavail * st.f_frsize

    def fill(self, slack: int) -> str:
        # The file system is first set to what it holds plus HEADROOM, so the ballast never takes more.
        self.ballast.unlink(missing_ok=True)
        st = os.statvfs(self.mount)
        self.size = (st.f_blocks - st.f_bfree) * st.f_frsize + HEADROOM
        self._mount("-o", f"remount,size={self.size}")
        size = self.free_bytes() - slack
        fd = os.open(self.ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.posix_fallocate(fd, 0, size)
        finally:
            os.close(fd)
        return f"ballast of {size:,} bytes leaves {self.free_bytes():,} free"

    def make_room(self, cycle: int) -> str:
        if cycle % 2 == 0:
            self.ballast.unlink()
            return "ballast deleted"
        self.size += HEADROOM
        self._mount("-o", f"remount,size={self.size}")
        return f"tmpfs grown to {self.size:,} bytes by remount"

    def why(self) -> str:
        return "no space left on the disk"


class FileSizeLimit:
    """RLIMIT_FSIZE on the running node: a write past the limit fails with EFBIG (SIGXFSZ is ignored)."""

    name = "rlimit_fsize"

    def __init__(self) -> None:
        self.node: NodeProcess | None = None

    def __enter__(self) -> FileSizeLimit:
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        pass

    def attach(self, node: NodeProcess) -> None:
        assert node.proc is not None
        self.node = node
        status = Path(f"/proc/{node.proc.pid}/status").read_text()
        ignored = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:")), 16)
        if not ignored >> (signal.SIGXFSZ - 1) & 1:
            raise DiskUnavailable(f"{node.node_id} does not ignore SIGXFSZ: a file size limit would kill it")
        try:
            self._limit(resource.RLIM_INFINITY)
        except (PermissionError, ProcessLookupError) as exc:
            raise DiskUnavailable(f"prlimit on {node.node_id}'s process (pid {node.proc.pid}): {exc}") from exc

    def _limit(self, soft: int) -> None:
        assert self.node is not None and self.node.proc is not None
        pid = self.node.proc.pid
        hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)[1]
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (soft, hard))  # the soft limit only: any user may raise it

    def fill(self, slack: int) -> str:
        assert self.node is not None
        limit = _next_write_limit(self.node.db_path, slack)
        self._limit(limit)
        return f"RLIMIT_FSIZE {limit:,} bytes"

    def make_room(self, cycle: int) -> str:
        self._limit(resource.RLIM_INFINITY)
        return "RLIMIT_FSIZE raised to unlimited"

    def why(self) -> str:
        return "RLIMIT_FSIZE"


AUTOCHECKPOINT = 1000  # WAL frames: SQLite's default wal_autocheckpoint, which the node keeps


def _next_write_limit(db: Path, slack: int) -> int:
    """A file size limit that stops the store's writes within ``slack`` bytes of WAL.

    Set past where SQLite writes its next WAL frame (the WAL-index header in
    -shm holds the frame count), not past the end of the files: the WAL is
    reused from its start after a checkpoint, so its size says nothing of
    where the next write goes. And never past the frame that sets off the
    next checkpoint: one that completes would start the WAL over, far below
    the limit.
    """
    header = Path(f"{db}-shm").read_bytes()[:48]
    page = int.from_bytes(header[14:16], sys.byteorder)
    page = 65536 if page == 1 else page
    frames = int.from_bytes(header[16:20], sys.byteorder)
    return min(32 + frames * (page + 24) + slack, 32 + AUTOCHECKPOINT * (page + 24))


# -- the scenario -------------------------------------------------------------------------------


@pytest.mark.parametrize("method", _methods())
def test_a_receiver_out_of_space_answers_nothing_it_did_not_commit_and_loses_nothing(
    tmp_path: Path, method: str
) -> None:
    s = seed()
    rng = random.Random(s)
    print(f"seed {s} (TAMGA_FAULTS_SEED={s} replays), disk={method}")
    root = tmp_path / "fed"
    log: list[str] = []
    relay: LogRelay | None = None
    disk: Tmpfs | FileSizeLimit = Tmpfs(root / "uz", HEADROOM) if method == "tmpfs" else FileSizeLimit()
    try:
        with disk, LocalFederation(root, [("KZ", "KZ"), ("UZ", "UZ")], config=fast_delivery()) as fed:
            kz = fed["KZ"]
            if method == "tmpfs":
                uz = LoggedElsewhere.of(fed["UZ"], tmp_path / "uz.log")
            else:
                relay = LogRelay(tmp_path / "uz.log.pipe", tmp_path / "uz.log")
                uz = LoggedElsewhere.of(fed["UZ"], relay.target, sink=relay.fifo)
            fed.nodes["UZ"] = uz
            ledger = Ledger(kz, f"D{s}")
            fed.start()
            disk.attach(uz)
            watch = LogWatch(uz.log_file)
            ledger.drop("UZ", FIRST)
            wait_progressing([kz, uz], lambda: settled(kz, [uz]), "the first wave delivered", WAIT)
            for cycle in range(CYCLES):
                log.append(f"cycle {cycle}: " + _full_cycle(disk, kz, uz, ledger, watch, rng, cycle))
                print(log[-1])
            assert uz.running and uz.starts == 1, f"UZ stopped or restarted on a full disk: {log}\n{_explain(kz, uz)}"
            leftovers = sorted(p.name for p in uz.incoming.iterdir() if p.name.startswith("."))
            assert not leftovers, f"half-written files left in UZ's incoming folder: {leftovers[:5]}"
            check_exactly_once(f"full_disk disk={method}", ledger, {"UZ": uz}, cycles=CYCLES, seed=s, log=log)
    except DiskUnavailable as exc:
        other = {"tmpfs": "rlimit_fsize", "rlimit_fsize": "tmpfs"}[method]
        pytest.fail(f"cannot fill a disk with {method} on this machine: {exc}; try TAMGA_FAULTS_DISK={other}")
    finally:
        if relay is not None:
            relay.close()


def _full_cycle(
    disk: Tmpfs | FileSizeLimit,
    kz: NodeProcess,
    uz: LoggedElsewhere,
    ledger: Ledger,
    watch: LogWatch,
    rng: random.Random,
    cycle: int,
) -> str:
    """Fill UZ's disk, drop a wave, check everything while UZ is full, make room, wait until all is delivered."""
    nodes = [kz, uz]
    before, refused_before = received(uz, "KZ"), watch.poll()
    filled = disk.fill(rng.randrange(64, 384) * 1024)
    ledger.drop("UZ", WAVE)
    dropped = WAVE

    def refusing() -> bool:
        # SQLite reuses the space of its WAL after a checkpoint, so a store on a full disk may take
        # hundreds of records more before a commit needs a new block: while UZ takes all, drop more.
        nonlocal dropped
        if watch.poll() > refused_before:
            return True
        if dropped >= MAX_WAVE:
            raise TimeoutError(f"UZ took all {dropped} record(s) dropped since its disk was filled")
        if not count_visible(kz.outgoing) and not scalar(kz, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'"):
            ledger.drop("UZ", STEP)
            dropped += STEP
        return False

    try:
        wait_for(refusing, WAIT, what="UZ refusing a batch it could not commit")
    except TimeoutError as exc:
        pytest.fail(f"cycle {cycle} ({filled}): {exc}\n{_explain(kz, uz)}")
    full_at = time.monotonic()
    took = received(uz, "KZ") - before

    def held() -> bool:
        _no_receipt_without_commit(kz, uz, cycle)
        assert uz.running, f"cycle {cycle}: UZ stopped on a full disk\n{_explain(kz, uz)}"
        return watch.poll() >= refused_before + REFUSALS and time.monotonic() - full_at >= HOLD

    try:
        wait_for(held, WAIT, interval=0.2, what=f"KZ retrying {REFUSALS} times while UZ is full")
    except TimeoutError as exc:
        pytest.fail(f"cycle {cycle} ({filled}): {exc}\n{_explain(kz, uz)}")
    line = watch.refusals[-1]
    assert str(uz.db_path) in line and disk.why() in line, f"UZ's log does not say what is full, and where: {line}"

    status = run_tamga("status", "--home", kz.home, "--json")
    assert status.returncode == 0, describe(status)
    to_uz = json.loads(status.stdout)["peers"]["UZ"]
    assert to_uz["queued"] > 0, f"cycle {cycle}: KZ holds nothing queued while UZ is full: {to_uz}"
    assert "no space left for its store" in (to_uz["last_error"] or ""), f"KZ's status: {to_uz}"
    during = received(uz, "KZ") - before
    assert during < dropped, f"cycle {cycle}: UZ took all {dropped} record(s) on a full disk ({filled})"
    refused = watch.poll() - refused_before

    room = disk.make_room(cycle)
    wait_progressing(nodes, lambda: settled(kz, [uz]), f"cycle {cycle}: everything delivered after {room}", WAIT)
    _no_receipt_without_commit(kz, uz, cycle)
    return (
        f"{filled}; full after {took} of {dropped} record(s), {during - took} more taken while full,"
        f" {refused} batch(es) refused, KZ held {to_uz['queued']} queued and retried; {room}"
    )


def _explain(kz: NodeProcess, uz: LoggedElsewhere) -> str:
    """The nodes' state, KZ's view of UZ and the last lines both logged, to explain a failure."""
    lines = [state([kz, uz])]
    try:
        lines.append(f"KZ peer_state: {kz.query('SELECT * FROM peer_state')}")
    except Exception as exc:  # diagnostics only
        lines.append(f"KZ peer_state not readable: {exc}")
    for node in (kz, uz):
        try:
            tail = node.log_path.read_text("utf-8", "replace").splitlines()[-4:]
        except OSError:
            tail = []
        lines += [f"{node.node_id} log: {line[:300]}" for line in tail]
    return "\n".join(lines)


def _no_receipt_without_commit(kz: NodeProcess, uz: NodeProcess, cycle: int) -> None:
    """Every record KZ holds as delivered (a signed receipt came back) is committed in UZ's inbox.

    KZ is read first: a row delivered then was committed by UZ before, and UZ's inbox only grows.
    """
    delivered = {m for (m,) in kz.query("SELECT message_id FROM outbox WHERE peer = 'UZ' AND state = 'delivered'")}
    inbox = {m for (m,) in uz.query("SELECT message_id FROM inbox WHERE sender = 'KZ'")}
    missing = delivered - inbox
    assert not missing, f"cycle {cycle}: KZ holds receipts for {len(missing)} record(s) UZ never committed"


# -- a log that cannot be written -----------------------------------------------------------------


def test_a_receiver_whose_log_cannot_be_written_still_receives_and_hands_off(tmp_path: Path) -> None:
    """UZ's log on a device that is always full (/dev/full): the node must not stop over its own log."""
    s = seed()
    log: list[str] = []
    with LocalFederation(tmp_path / "fed", [("KZ", "KZ"), ("UZ", "UZ")], config=fast_delivery()) as fed:
        kz = fed["KZ"]
        uz = LoggedElsewhere.of(fed["UZ"], tmp_path / "uz.log.none", sink=Path("/dev/full"))
        fed.nodes["UZ"] = uz
        ledger = Ledger(kz, f"L{s}")
        fed.start()
        ledger.drop("UZ", 100)
        wait_progressing([kz, uz], lambda: settled(kz, [uz]), "every record delivered and handed off", WAIT)
        assert uz.running and uz.starts == 1
        log.append("UZ logged to /dev/full throughout")
        check_exactly_once("full_disk_log", ledger, {"UZ": uz}, cycles=1, seed=s, log=log)


_LOG_SCRIPT = """
import resource, sys
from pathlib import Path
from tamga.logging import configure_logging, get_logger
path = Path(sys.argv[1])
configure_logging("info", "json", stream=open(path, "w"))
log = get_logger("tamga.test")
log.info("before_full", detail="x" * 100)
resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 40, resource.RLIM_INFINITY))
for n in range(3):
    log.error("while_full", n=n)
resource.setrlimit(resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
log.info("after_full")
print("still running")
"""


def test_log_lines_that_cannot_be_written_are_counted_and_the_next_lines_are_whole(tmp_path: Path) -> None:
    """The first of the lost lines is cut by the limit mid-line; the log says how many were lost and goes on."""
    path = tmp_path / "node.log"
    done = subprocess.run(
        [sys.executable, "-c", _LOG_SCRIPT, str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout == "still running\n", done.stderr
    lines = path.read_text().splitlines()
    assert len(lines) == 4, lines
    assert json.loads(lines[0])["event"] == "before_full"
    assert lines[1].startswith('{"logger": "tamga.test", "n": 0') and len(lines[1]) == 40, lines[1]
    lost = json.loads(lines[2])
    assert (lost["event"], lost["lines"], lost["level"]) == ("log_lines_lost", 3, "warning"), lost
    assert json.loads(lines[3])["event"] == "after_full"
