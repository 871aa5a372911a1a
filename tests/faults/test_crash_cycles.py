"""Crash cycles: the sender or the receiver is SIGKILLed at random moments while records flow.

Two real node processes, KZ -> UZ, TLS on. Records are dropped into KZ's
outgoing folder in waves; during each wave a randomly chosen node (KZ or UZ)
is killed with SIGKILL when UZ has taken a random part of the wave, stays
down a random moment, and is started again. At the end every record must be
in UZ's incoming folder exactly once and KZ must hold a verified receipt for
each. Short profile: 1,000 records, 4 cycles; full: 5,000 records, 20 cycles.
The seed is printed; TAMGA_FAULTS_SEED replays a run.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from process.helpers import count_visible
from tamga.tools.federation import LocalFederation, NodeProcess

from .helpers import (
    FULL,
    Ledger,
    check_exactly_once,
    fast_delivery,
    received,
    scalar,
    seed,
    settled,
    wait_progressing,
)

pytestmark = [pytest.mark.slow, pytest.mark.faults]

RECORDS = 5000 if FULL else 1000
CYCLES = 20 if FULL else 4
WAIT = 240.0 if FULL else 60.0  # seconds: bound of each wait


def test_random_sigkills_of_sender_and_receiver_lose_and_double_nothing(tmp_path: Path) -> None:
    s = seed()
    rng = random.Random(s)
    print(f"seed {s} (TAMGA_FAULTS_SEED={s} replays)")
    per_wave = RECORDS // CYCLES
    log: list[str] = []
    with LocalFederation(tmp_path / "fed", [("KZ", "KZ"), ("UZ", "UZ")], config=fast_delivery()) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        ledger = Ledger(kz, f"C{s}")
        fed.start()
        waves = [per_wave] * (CYCLES - 1) + [RECORDS - per_wave * (CYCLES - 1)]
        ledger.drop("UZ", waves[0])
        for cycle in range(CYCLES):
            victim = rng.choice([kz, uz])
            start = sum(waves[:cycle])
            point = start + int(waves[cycle] * rng.uniform(0.05, 0.5))
            down = rng.uniform(0.0, 0.4)
            wait_progressing([kz, uz], lambda p=point: received(uz, "KZ") >= p, f"UZ received {point}", WAIT)
            if cycle + 1 < CYCLES:  # the next wave lands just before the kill: KZ dies mid-intake too
                ledger.drop("UZ", waves[cycle + 1])
            pending = _pending(kz, uz)
            victim.kill()
            log.append(f"cycle {cycle}: SIGKILL {victim.node_id} at UZ received {received(uz, 'KZ')}, {pending}")
            print(log[-1])
            assert "nothing" not in pending, f"cycle {cycle}: the kill came when no record was in flight: {log}"
            time.sleep(down)
            victim.start(wait=WAIT)
        wait_progressing([kz, uz], lambda: settled(kz, [uz]), "every record delivered and handed off", WAIT)
        assert kz.starts + uz.starts == 2 + CYCLES
        check_exactly_once("crash", ledger, {"UZ": uz}, cycles=CYCLES, seed=s, log=log)


def _pending(kz: NodeProcess, uz: NodeProcess) -> str:
    """What is still on its way at this moment."""
    files = count_visible(kz.outgoing)
    queued = scalar(kz, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'")
    unhanded = scalar(uz, "SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NULL")
    if not (files or queued or unhanded):
        return "nothing pending"
    return f"KZ/outgoing {files} file(s), KZ queued {queued}, UZ not yet handed off {unhanded}"
