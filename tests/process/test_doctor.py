"""A corrupt or truncated store, and ``tamga doctor``, with real node folders and the real console script.

Rules under test (node/store/_store.py, node/doctor.py): the node refuses to
start on a damaged store file (truncated, header overwritten, a page in the
middle overwritten) with one line naming the file and pointing at ``tamga
doctor``, and changes nothing: the damaged file is neither repaired nor
recreated. ``tamga doctor`` names the file and what failed, says whether a
-wal file is present and how many outbox rows can still be read, gives the
recovery steps, and exits 1; on a healthy node every line is OK and it exits 0.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from tamga.tools.federation import free_port, wait_for

from .helpers import assert_one_line_error, declaration, describe, records_file, run_tamga, start_tamga_run

pytestmark = pytest.mark.slow

QUEUED = 200  # records queued for UZ in the template node: enough for a store of many pages
RUN_TIMEOUT = 30.0  # seconds: 'tamga run' on a damaged store must refuse well within this
WAIT = 30.0  # seconds: upper bound of every wait for a node process


@dataclass(frozen=True)
class Template:
    home: Path  # KZ with peer UZ and QUEUED records queued for it, not running


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, describe(result)
    return result.stdout


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    root = tmp_path_factory.mktemp("doctor")
    homes = {}
    for node_id in ("KZ", "UZ"):
        homes[node_id] = root / node_id.lower()
        _ok(
            run_tamga(
                "init", homes[node_id], "--id", node_id, "--country", node_id, "--listen", f"127.0.0.1:{free_port()}"
            )
        )
    identity = root / "uz.identity.json"
    _ok(run_tamga("identity", "export", "--home", homes["UZ"], "-o", identity))
    _ok(run_tamga("peer", "add", identity, "--home", homes["KZ"]))
    batch = root / "batch.json"
    batch.write_bytes(records_file(declaration(f"DOC/{i:04d}") for i in range(QUEUED)))
    _ok(run_tamga("send", batch, "--home", homes["KZ"], "--to", "UZ"))
    return Template(homes["KZ"])


@pytest.fixture
def kz(template: Template, tmp_path: Path) -> Path:
    home = tmp_path / "kz"
    shutil.copytree(template.home, home)
    return home


def store_of(home: Path) -> Path:
    return home / "state" / "tamga.db"


def _page_size(db: Path) -> int:
    size = int.from_bytes(db.read_bytes()[16:18], "big")
    return 65536 if size == 1 else size


def truncate_to_half(db: Path) -> str:
    size = db.stat().st_size
    with open(db, "r+b") as f:
        f.truncate(size // 2 + 100)  # mid-page, as a copy cut short or a full disk leaves it
    return "truncated"


def truncate_to_zero(db: Path) -> str:
    db.write_bytes(b"")
    return "empty (0 bytes)"


def overwrite_header(db: Path) -> str:
    with open(db, "r+b") as f:
        f.write(b"\x00" * 100)
    return "header is not SQLite's"


def corrupt_middle_page(db: Path) -> str:
    page = _page_size(db)
    pages = db.stat().st_size // page
    assert pages > 10, f"the template store has only {pages} pages"
    with open(db, "r+b") as f:
        f.seek((pages // 2) * page)
        f.write(b"\xa5" * page)
        f.flush()
        os.fsync(f.fileno())
    return "integrity_check"


DAMAGE: dict[str, Callable[[Path], str]] = {
    "truncated": truncate_to_half,
    "truncated-to-zero": truncate_to_zero,
    "header-overwritten": overwrite_header,
    "page-in-the-middle": corrupt_middle_page,
}


def doctor(home: Path) -> tuple[int, list[str], str]:
    result = run_tamga("doctor", "--home", home)
    assert "Traceback" not in result.stdout + result.stderr, describe(result)
    return result.returncode, result.stdout.splitlines(), describe(result)


def test_a_healthy_node_is_all_ok(kz: Path) -> None:
    code, lines, info = doctor(kz)
    assert code == 0, info
    checks = lines[:-1]
    for name in ("config", "permissions", "store", "keys", "federation", "folders", "disk space"):
        assert any(line.startswith(f"OK       {name}: ") for line in checks), f"no OK line for {name}\n{info}"
    assert all(line.startswith("OK ") for line in checks), info
    store_line = next(line for line in checks if line.startswith("OK       store: "))
    assert str(store_of(kz)) in store_line, info
    assert f"outbox: {QUEUED} row(s) readable ({QUEUED} queued)" in store_line, info
    assert lines[-1].startswith("all 7 checks OK"), info


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_run_refuses_a_damaged_store_and_doctor_explains(kz: Path, damage: str) -> None:
    db = store_of(kz)
    expected = DAMAGE[damage](db)
    before = hashlib.sha256(db.read_bytes()).hexdigest()

    result = run_tamga("run", "--home", kz, timeout=RUN_TIMEOUT)
    line = assert_one_line_error(result, str(db), "damaged", "tamga doctor")
    assert "changed nothing" in line, line
    # Nothing was repaired, dropped or recreated: the damaged file is as it was, and no new store beside it.
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before, f"the store file changed\n{describe(result)}"
    assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith("tamga.db")) in (
        ["tamga.db"],
        ["tamga.db", "tamga.db-shm", "tamga.db-wal"],  # left by SQLite's open; the -wal holds no frame
    )
    if (db.parent / "tamga.db-wal").exists():
        assert (db.parent / "tamga.db-wal").stat().st_size == 0
    # Other commands that open the store refuse it the same way.
    assert_one_line_error(run_tamga("status", "--home", kz), str(db), "damaged", "tamga doctor")

    code, lines, info = doctor(kz)
    assert code == 1, info
    problems = [line for line in lines if line.startswith("PROBLEM")]
    assert len(problems) == 1, info
    assert problems[0].startswith(f"PROBLEM  store: {db}: "), info
    assert expected in problems[0], info
    text = "\n".join(lines)
    assert "tamga.db-wal" in text, info  # whether a -wal file is present is said either way
    assert "outbox: " in text and "row(s) readable" in text, info
    for step in ("stop the node", "keep a copy", '".recover"', "backup", "DUPLICATE", "run 'tamga doctor' again"):
        assert step in text, f"{step!r} missing from the recovery steps\n{info}"
    assert all(line.startswith("OK ") for line in lines if line[:1] in "OP" and not line.startswith("PROBLEM")), info
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before, "tamga doctor changed the store file"


def test_a_wal_left_by_a_killed_node_is_kept_and_reported(kz: Path, tmp_path: Path) -> None:
    """A node killed with SIGKILL leaves its -wal file (committed work); the main file is then damaged.

    Neither the refused start nor doctor may checkpoint or delete that -wal: it is what the operator recovers from.
    """
    proc = start_tamga_run(kz, tmp_path / "kz.log")
    try:
        wait_for(lambda: (kz / "run" / "listen").exists(), WAIT, what="KZ listening")
        # Commit something through the running node's store so that the -wal holds frames.
        db = store_of(kz)
        wait_for(lambda: Path(f"{db}-wal").exists() and Path(f"{db}-wal").stat().st_size > 0, WAIT, what="a -wal")
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(WAIT)
    wal = Path(f"{db}-wal")
    assert wal.exists(), "SIGKILL leaves the -wal file"
    overwrite_header(db)
    wal_before = hashlib.sha256(wal.read_bytes()).hexdigest()

    assert_one_line_error(run_tamga("run", "--home", kz, timeout=RUN_TIMEOUT), str(db), "damaged", "tamga doctor")
    code, lines, info = doctor(kz)
    assert code == 1, info
    assert any(f"{wal} is present" in line for line in lines), info
    assert wal.exists(), "the -wal file was deleted"
    assert hashlib.sha256(wal.read_bytes()).hexdigest() == wal_before, "the -wal file changed"


def test_doctor_names_a_key_file_others_can_read(kz: Path) -> None:
    key = kz / "keys" / "signing.key"
    key.chmod(0o644)
    code, lines, info = doctor(kz)
    assert code == 1, info
    problems = [line for line in lines if line.startswith("PROBLEM")]
    assert len(problems) == 1 and problems[0].startswith("PROBLEM  keys: "), info
    assert str(key) in problems[0], info
    private = key.read_text()
    assert private not in "\n".join(lines), "the private key appears in doctor's output"


def test_doctor_without_a_node_directory_is_one_problem(tmp_path: Path) -> None:
    code, lines, info = doctor(tmp_path)
    assert code == 1, info
    assert lines[0].startswith("PROBLEM  config: "), info
    assert "tamga doctor" in lines[1], info


def test_the_store_read_from_sqlite_is_unchanged_after_doctor(kz: Path) -> None:
    """Doctor opens the store read-only: a healthy store's rows are exactly those before."""
    db = store_of(kz)
    with sqlite3.connect(db) as conn:
        before = conn.execute("SELECT seq, message_id, state FROM outbox ORDER BY seq").fetchall()
    conn.close()
    code, _, info = doctor(kz)
    assert code == 0, info
    with sqlite3.connect(db) as conn:
        after = conn.execute("SELECT seq, message_id, state FROM outbox ORDER BY seq").fetchall()
    conn.close()
    assert after == before and len(after) == QUEUED


def test_run_refuses_a_missing_store_instead_of_starting_with_an_empty_one(kz: Path) -> None:
    """An empty new store would drop every queued record and the dedup history without a word."""
    db = store_of(kz)
    for extra in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        extra.unlink(missing_ok=True)
    result = run_tamga("run", "--home", kz, timeout=RUN_TIMEOUT)
    assert_one_line_error(result, str(db), "missing", "backup", "tamga doctor")
    assert not db.exists(), "a new store was created"
    code, lines, info = doctor(kz)
    assert code == 1 and any(line.startswith("PROBLEM  store: ") for line in lines), info
