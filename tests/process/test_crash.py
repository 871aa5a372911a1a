"""Exactly once across SIGKILL: a node process dies mid-transfer, restarts, nothing is lost or doubled.

Two real node processes, KZ -> UZ, on loopback. 3000 distinct records go
through KZ's outgoing folder as 30 files of 100. While they flow, one node
is killed with SIGKILL (no chance to clean up) three times at random points
and started again. In the end UZ's incoming folder must hold exactly one
file per record, and KZ's outbox must show every record delivered, with
the receipt that proves it.

The kill points come from a seed that is printed; set TAMGA_CRASH_SEED to
replay a run.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from tamga.tools.federation import LocalFederation, NodeProcess, wait_for

from .helpers import FAST_CONFIG, count_visible, declaration, decode_incoming, records_file, visible_files

pytestmark = pytest.mark.slow

FILES = 30
PER_FILE = 100
TOTAL = FILES * PER_FILE
KILLS = 3
PAUSE_AFTER_KILL = 0.5  # seconds the dead node stays down
WAIT = 90.0  # seconds: upper bound of every wait in this file
STALL = 20.0  # seconds without any progress after which a wait gives up early


def _seed() -> int:
    env = os.environ.get("TAMGA_CRASH_SEED")
    return int(env) if env else random.SystemRandom().randrange(2**32)


def _batches(tag: str) -> list[tuple[str, bytes, list[str]]]:
    """FILES files of PER_FILE records; every declarationNo and recordId distinct."""
    out = []
    for f in range(FILES):
        numbers = [f"{tag}/{f:02d}/{i:03d}" for i in range(PER_FILE)]
        out.append((f"batch-{f:02d}.json", records_file(declaration(n) for n in numbers), numbers))
    return out


def _kill_points(rng: random.Random, lo: float, hi: float) -> list[int]:
    """KILLS increasing counts of records received by UZ, in separate slices of [lo, hi) * TOTAL."""
    width = (hi - lo) / KILLS
    return [int(TOTAL * (lo + i * width + rng.random() * width * 0.8)) for i in range(KILLS)]


def _scalar(node: NodeProcess, sql: str) -> int:
    return int(node.query(sql)[0][0] or 0)


def _wait(kz: NodeProcess, uz: NodeProcess, predicate: Callable[[], bool], what: str) -> None:
    """Until ``predicate``; fails after WAIT seconds, or after STALL seconds of no progress at all."""
    last = [_progress(kz, uz), time.monotonic()]

    def done_or_stalled() -> bool:
        if predicate():
            return True
        now, progress = time.monotonic(), _progress(kz, uz)
        if progress != last[0]:
            last[:] = [progress, now]
        elif now - last[1] > STALL:
            raise TimeoutError(f"{what}: no progress for {STALL:.0f}s")
        return False

    try:
        wait_for(done_or_stalled, WAIT, interval=0.02, what=what)
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n{_state(kz, uz)}")


def _progress(kz: NodeProcess, uz: NodeProcess) -> tuple[int, ...]:
    return (
        count_visible(kz.outgoing),
        _scalar(kz, "SELECT COUNT(*) FROM outbox WHERE state != 'queued'"),
        _received(uz),
        count_visible(uz.incoming),
        _scalar(uz, "SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NULL"),
    )


def _errors(node: NodeProcess, n: int = 3) -> list[str]:
    """The node log's last ``n`` error events, for diagnosis."""
    try:
        lines = node.log_path.read_text("utf-8", "replace").splitlines()
    except OSError:
        return []
    return [line[:400] for line in lines if '"level": "error"' in line][-n:]


def _state(kz: NodeProcess, uz: NodeProcess) -> str:
    parts = [f"KZ outgoing={count_visible(kz.outgoing)}", f"UZ incoming={count_visible(uz.incoming)}"]
    try:
        parts.append(f"KZ outbox={kz.outbox_counts()}")
        parts.append(f"UZ inbox={_scalar(uz, 'SELECT COUNT(*) FROM inbox')}")
        parts.append(f"UZ pending={_scalar(uz, 'SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NULL')}")
    except Exception as exc:  # diagnostics only
        parts.append(f"(store not readable: {exc})")
    parts.append(f"logs: {kz.log_path} {uz.log_path}")
    for node in (kz, uz):
        parts += [f"{node.node_id} error: {line}" for line in _errors(node)]
    return "\n".join(parts)


def _received(uz: NodeProcess) -> int:
    """Records UZ has committed to its store (some of them not yet in UZ/incoming)."""
    return _scalar(uz, "SELECT COUNT(*) FROM inbox")


def _settled(kz: NodeProcess, uz: NodeProcess) -> bool:
    """Everything dropped was taken, nothing is queued, everything received is handed off."""
    if count_visible(kz.outgoing) or not kz.running or not uz.running:
        return False
    if _scalar(kz, "SELECT COUNT(*) FROM outbox") == 0:
        return False
    if _scalar(kz, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'"):
        return False
    return _scalar(uz, "SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NULL") == 0


def _kill_and_restart(
    victim: NodeProcess, kz: NodeProcess, uz: NodeProcess, log: list[str], mid_delivery: list[bool]
) -> None:
    at = count_visible(uz.incoming)
    victim.kill()
    outbox = kz.outbox_counts()
    waiting = count_visible(kz.outgoing)
    log.append(
        f"SIGKILL {victim.node_id}: UZ/incoming {at}, UZ received {_received(uz)}, "
        f"KZ outbox {outbox}, KZ/outgoing {waiting} file(s)"
    )
    print(log[-1])
    assert 0 < at < TOTAL, f"not mid-transfer: {log}"
    mid_delivery.append(outbox.get("queued", 0) > 0 or waiting > 0)
    time.sleep(PAUSE_AFTER_KILL)
    victim.start(wait=WAIT)


def _assert_exactly_once(kz: NodeProcess, uz: NodeProcess, expected: set[str], log: list[str]) -> None:
    context = f"\nkills: {log}\n{_state(kz, uz)}"

    # UZ's incoming folder: one file per record, every record once.
    decoded = decode_incoming(uz)
    assert all(len(recs) == 1 for _, recs in decoded), "a hand-off file holds other than one record" + context
    records = [r for _, recs in decoded for r in recs]
    numbers = Counter(r.declaration_snapshot.declaration_no for r in records)
    doubled = {n: c for n, c in numbers.items() if c > 1}
    missing = expected - set(numbers)
    unexpected = set(numbers) - expected
    assert not doubled, f"{len(doubled)} record(s) arrived more than once, e.g. {sorted(doubled.items())[:5]}" + context
    assert not missing, f"{len(missing)} record(s) never arrived, e.g. {sorted(missing)[:5]}" + context
    assert not unexpected, f"unexpected records arrived: {sorted(unexpected)[:5]}" + context
    assert len(decoded) == TOTAL, context
    record_ids = Counter(r.meta.record_id for r in records)
    assert len(record_ids) == TOTAL and max(record_ids.values()) == 1, "a recordId arrived twice" + context

    # KZ: every file taken once, every record queued once, every envelope delivered with a receipt.
    assert len(visible_files(kz.home / "processed")) == FILES, context
    assert not visible_files(kz.home / "failed"), context
    assert kz.query("SELECT COUNT(*), SUM(records) FROM intake") == [(FILES, TOTAL)], context
    rows = kz.query(
        "SELECT o.message_id, o.state, o.receipt_status, o.receipt_id, r.id, r.peer"
        " FROM outbox o LEFT JOIN receipts r ON r.id = o.receipt_id"
    )
    assert len(rows) == TOTAL, f"{len(rows)} outbox rows for {TOTAL} records (queued twice?)" + context
    assert len({r[0] for r in rows}) == TOTAL, "a message id is in the outbox twice" + context
    assert Counter(r[1] for r in rows) == {"delivered": TOTAL}, context
    no_receipt = [r for r in rows if r[3] is None or r[4] is None or r[5] != "UZ"]
    assert not no_receipt, f"{len(no_receipt)} delivered row(s) without a kept receipt, e.g. {no_receipt[:3]}" + context
    statuses = Counter(r[2] for r in rows)
    assert set(statuses) <= {"RECEIPT_STATUS_ACCEPTED", "RECEIPT_STATUS_DUPLICATE"}, f"{statuses}" + context

    # UZ: one inbox row per message, each handed off under the file name that is in the folder.
    inbox = uz.query("SELECT message_id, handed_off_at, handoff_name FROM inbox WHERE sender = 'KZ'")
    assert {r[0] for r in inbox} == {r[0] for r in rows}, "UZ's inbox and KZ's outbox differ" + context
    assert len(inbox) == TOTAL, context
    assert all(r[1] is not None for r in inbox), context
    assert {r[2] for r in inbox} == {p.name for p, _ in decoded}, context
    assert _scalar(uz, "SELECT COUNT(*) FROM refused") == 0, context

    leftovers = [p.name for p in uz.incoming.iterdir() if p.name.startswith(".")]
    if leftovers:
        print(f"note: {len(leftovers)} temporary file(s) left in UZ/incoming by killed writes: {leftovers[:5]}")


def _wait_mid_transfer(kz: NodeProcess, uz: NodeProcess, point: int) -> None:
    """Until UZ has received ``point`` records and has some files in UZ/incoming."""
    _wait(kz, uz, lambda: _received(uz) >= point and count_visible(uz.incoming) > 0, f"{point} records received by UZ")


def test_receiver_killed_mid_transfer_every_record_arrives_once(tmp_path: Path) -> None:
    seed = _seed()
    rng = random.Random(seed)
    points = _kill_points(rng, 0.05, 0.75)
    print(f"seed {seed} (TAMGA_CRASH_SEED={seed} replays): SIGKILL UZ when it has received {points} records")
    batches = _batches(f"R{seed}")
    expected = {n for _, _, numbers in batches for n in numbers}
    log: list[str] = []
    mid_delivery: list[bool] = []
    with LocalFederation(tmp_path / "fed", [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        fed.start()
        for name, data, _ in batches:
            kz.drop(name, data)
        for point in points:
            _wait_mid_transfer(kz, uz, point)
            _kill_and_restart(uz, kz, uz, log, mid_delivery)
        assert any(mid_delivery), f"no kill came while KZ still had records to deliver: {log}"
        _wait(kz, uz, lambda: _settled(kz, uz), "every record delivered and handed off")
        assert uz.starts == 1 + KILLS
        _assert_exactly_once(kz, uz, expected, log)


def test_sender_killed_mid_transfer_every_record_arrives_once(tmp_path: Path) -> None:
    """KZ dies mid-delivery and, a moment after new files were dropped, mid-intake too."""
    seed = _seed()
    rng = random.Random(seed)
    per_wave = FILES // KILLS
    waves = [list(range(w * per_wave, (w + 1) * per_wave)) for w in range(KILLS)]
    # Kill k comes while wave k is being delivered, shortly after wave k+1 was dropped.
    points = [int(PER_FILE * (w[0] + len(w) * rng.uniform(0.05, 0.35))) for w in waves]
    delays = [rng.uniform(0.05, 0.3) for _ in range(KILLS)]
    print(
        f"seed {seed} (TAMGA_CRASH_SEED={seed} replays): SIGKILL KZ when UZ has received {points} records, "
        f"{[round(d, 3) for d in delays]} s after dropping the next files"
    )
    batches = _batches(f"S{seed}")
    expected = {n for _, _, numbers in batches for n in numbers}
    log: list[str] = []
    mid_delivery: list[bool] = []
    with LocalFederation(tmp_path / "fed", [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        fed.start()
        for i in waves[0]:
            kz.drop(batches[i][0], batches[i][1])
        for k, point in enumerate(points):
            _wait_mid_transfer(kz, uz, point)
            if k + 1 < len(waves):
                for i in waves[k + 1]:
                    kz.drop(batches[i][0], batches[i][1])
            time.sleep(delays[k])
            _kill_and_restart(kz, kz, uz, log, mid_delivery)
        assert any(mid_delivery), f"no kill came while KZ still had records to deliver: {log}"
        _wait(kz, uz, lambda: _settled(kz, uz), "every record delivered and handed off")
        assert kz.starts == 1 + KILLS
        _assert_exactly_once(kz, uz, expected, log)
