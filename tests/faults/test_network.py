"""A bad network: KZ reaches UZ only through a fault proxy that drops, delays, truncates, resets and blackholes.

Two real node processes, TLS on. KZ's peer entry for UZ points at a
:class:`~tamga.tools.faultproxy.FaultProxy` in front of UZ's port. Records
flow in waves; just after each wave is dropped the proxy turns to one fault
for a while, then back to passing. Short profile: 500 records, each of the
five faults once; full: 5,000 records, 20 faults. The seed is printed;
TAMGA_FAULTS_SEED replays the order, the fault parameters and the durations.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest
from tamga.config import load_config
from tamga.home import add_peer
from tamga.tools.faultproxy import FaultProxy
from tamga.tools.federation import LocalFederation

from .helpers import FULL, Ledger, check_exactly_once, fast_delivery, received, seed, settled, wait_progressing

pytestmark = [pytest.mark.slow, pytest.mark.faults]

FAULTS = ("drop", "delay", "truncate", "reset", "blackhole")
ROUNDS = 4 if FULL else 1
RECORDS = 5000 if FULL else 500
WAIT = 240.0 if FULL else 60.0  # seconds: bound of each wait


def test_records_cross_a_faulty_network_exactly_once(tmp_path: Path) -> None:
    s = seed()
    rng = random.Random(s)
    schedule = [f for _ in range(ROUNDS) for f in rng.sample(FAULTS, len(FAULTS))]
    print(f"seed {s} (TAMGA_FAULTS_SEED={s} replays): faults {schedule}")
    per_wave = RECORDS // len(schedule)
    log: list[str] = []
    with LocalFederation(tmp_path / "fed", [("KZ", "KZ"), ("UZ", "UZ")], config=fast_delivery()) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        with FaultProxy(uz.endpoint) as proxy:
            add_peer(load_config(kz.home), tmp_path / "fed" / "UZ.identity.json", endpoint=proxy.address, replace=True)
            ledger = Ledger(kz, f"N{s}")
            fed.start()
            for cycle, fault in enumerate(schedule):
                count = per_wave if cycle < len(schedule) - 1 else RECORDS - per_wave * (len(schedule) - 1)
                ledger.drop("UZ", count)
                time.sleep(rng.uniform(0.0, 0.3))  # the fault strikes at a random moment of the wave
                duration = rng.uniform(2.0, 4.0) if fault == "blackhole" else rng.uniform(0.5, 1.5)
                delay, limit = rng.uniform(0.02, 0.2), rng.randrange(64, 16384)
                at = received(uz, "KZ")
                proxy.set_mode(fault, delay=delay, limit=limit)
                time.sleep(duration)
                during = received(uz, "KZ") - at
                proxy.set_mode("pass")
                detail = {"delay": f" {delay:.3f}s per chunk", "truncate": f" after {limit} bytes"}.get(fault, "")
                log.append(f"cycle {cycle}: {fault}{detail} for {duration:.2f}s, UZ took {during} record(s) meanwhile")
                print(log[-1])
            wait_progressing([kz, uz], lambda: settled(kz, [uz]), "every record delivered and handed off", WAIT)
            log.append(f"proxy: {proxy.connections} connection(s), ended by faults: {proxy.faults}")
            print(log[-1])
            assert proxy.connections > 1, f"KZ never reconnected through the proxy: {log}"
            assert proxy.faults, f"no fault ever hit a connection: {log}"
        check_exactly_once("network", ledger, {"UZ": uz}, cycles=len(schedule), seed=s, log=log)
