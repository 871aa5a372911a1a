"""A long outage of one peer: its records wait, in order, while the others keep flowing.

Three real node processes, TLS on; KZ sends to UZ and to TJ, with backoff
capped at 500 ms. UZ is killed and stays down (short profile: 6 s, full:
30 s) while KZ keeps taking records for both. TJ's arrive during the
outage; UZ's all wait in KZ's outbox. After UZ is started again KZ resumes
within a few backoff periods and everything queued is delivered, per peer,
in submission order: the recipient's inbox seq follows the sender's outbox
seq. The seed is printed; TAMGA_FAULTS_SEED replays the wave sizes.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from tamga.tools.federation import LocalFederation

from .helpers import (
    FULL,
    Ledger,
    check_exactly_once,
    fast_delivery,
    received,
    scalar,
    seed,
    settled,
    submission_order_kept,
    wait_progressing,
)

pytestmark = [pytest.mark.slow, pytest.mark.faults]

OUTAGE = 30.0 if FULL else 6.0  # seconds UZ stays down
WAVES = 10 if FULL else 4  # drops during the outage
PER_WAVE = 250 if FULL else 100  # records per recipient per wave
RESUME = 8.0  # seconds: delivery to UZ must resume within this (gRPC reconnect cap 2 s + backoff cap 0.5 s + slack)
WAIT = 240.0 if FULL else 60.0  # seconds: bound of each wait


def test_after_a_long_outage_everything_queued_arrives_in_submission_order(tmp_path: Path) -> None:
    s = seed()
    rng = random.Random(s)
    print(f"seed {s} (TAMGA_FAULTS_SEED={s} replays)")
    nodes = [("KZ", "KZ"), ("UZ", "UZ"), ("TJ", "TJ")]
    log: list[str] = []
    with LocalFederation(tmp_path / "fed", nodes, config=fast_delivery()) as fed:
        kz, uz, tj = fed["KZ"], fed["UZ"], fed["TJ"]
        everyone = [kz, uz, tj]
        ledger = Ledger(kz, f"O{s}")
        fed.start()
        ledger.drop("UZ", PER_WAVE)
        ledger.drop("TJ", PER_WAVE)
        wait_progressing(everyone, lambda: settled(kz, [uz, tj]), "the first wave delivered", WAIT)

        uz.kill()
        down_at = time.monotonic()
        before = received(uz, "KZ")
        log.append(f"SIGKILL UZ after {before} record(s); down for {OUTAGE:.0f}s")
        for wave in range(WAVES):
            ledger.drop("UZ", rng.randrange(PER_WAVE // 2, PER_WAVE + 1))
            ledger.drop("TJ", rng.randrange(PER_WAVE // 2, PER_WAVE + 1))
            time.sleep(max(0.0, down_at + OUTAGE * (wave + 1) / WAVES - time.monotonic()))
        for_tj = len(ledger.expected["TJ"])
        wait_progressing(everyone[::2], lambda: received(tj, "KZ") == for_tj, "TJ's records during the outage", WAIT)
        queued_for_uz = scalar(kz, "SELECT COUNT(*) FROM outbox WHERE peer = 'UZ' AND state = 'queued'")
        waiting = len(ledger.expected["UZ"]) - before
        log.append(f"outage over: TJ received all {for_tj}, KZ holds {queued_for_uz} queued for UZ")
        print(log[-1])
        assert queued_for_uz == waiting, f"KZ should hold all {waiting} records for UZ queued: {log}"

        uz.start(wait=WAIT)
        back_at = time.monotonic()
        wait_progressing(everyone, lambda: received(uz, "KZ") > before, "KZ delivering to UZ again", WAIT)
        resumed = time.monotonic() - back_at
        log.append(f"UZ back: KZ delivered again after {resumed:.2f}s")
        print(log[-1])
        assert resumed < RESUME, f"KZ took {resumed:.1f}s to resume delivery to UZ (backoff cap 500 ms): {log}"
        wait_progressing(everyone, lambda: settled(kz, [uz, tj]), "every record delivered and handed off", WAIT)

        for peer in (uz, tj):
            out_of_order = submission_order_kept(kz, peer)
            assert not out_of_order, f"{peer.node_id} received out of submission order: {out_of_order}\n{log}"
        check_exactly_once("outage", ledger, {"UZ": uz, "TJ": tj}, cycles=1, seed=s, log=log)
