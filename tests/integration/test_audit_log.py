"""The audit log of real node processes exchanging records, checked with the real ``tamga audit`` commands.

KZ sends records to UZ over gRPC on loopback; KZ is then killed with SIGKILL
(no chance to seal) and UZ stopped gracefully (it seals on stop). Each log
must tell exactly what happened, once per record, verify intact, and a range
exported by UZ must verify at another authority with UZ's identity file alone.
Tampering with UZ's store afterwards must make verify exit 2 and name it.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from tamga.tools.federation import LocalFederation, NodeProcess, wait_for

from .nodes import FAST_DELIVERY, declaration, records_file

RECORDS = 12
WAIT = 60.0  # seconds: upper bound of every wait here


def tamga(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tamga", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def kinds(node: NodeProcess) -> Counter[str]:
    return Counter(k for (k,) in node.query("SELECT kind FROM audit"))


@pytest.fixture(scope="module")
def fed(tmp_path_factory: pytest.TempPathFactory) -> LocalFederation:
    root = tmp_path_factory.mktemp("audit")
    with LocalFederation(root / "fed", [("KZ", "KZ"), ("UZ", "UZ")], config={"delivery": FAST_DELIVERY}) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        fed.start()
        kz.drop("batch.json", records_file([declaration("KZ", ["UZ"], n) for n in range(RECORDS)]))

        def done() -> bool:
            delivered = kz.query("SELECT COUNT(*) FROM outbox WHERE state = 'delivered'")[0][0]
            handed = uz.query("SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NOT NULL")[0][0]
            return bool(delivered == RECORDS and handed == RECORDS)

        wait_for(done, WAIT, what=f"{RECORDS} records delivered to UZ and handed off")
        kz.kill()
        assert uz.stop() == 0
    return fed


def test_each_log_records_every_record_once(fed: LocalFederation) -> None:
    kz, uz = fed["KZ"], fed["UZ"]
    assert kinds(kz) == Counter(queued=RECORDS, delivered=RECORDS)  # killed: no seal
    assert kinds(uz) == Counter(accepted=RECORDS, handed_off=RECORDS, seal=1)
    sent = {m for (m,) in kz.query("SELECT message_id FROM outbox")}
    assert {m for (m,) in kz.query("SELECT message_id FROM audit WHERE kind = 'delivered'")} == sent
    assert {m for (m,) in uz.query("SELECT message_id FROM audit WHERE kind = 'accepted'")} == sent
    digests = dict(kz.query("SELECT message_id, digest FROM outbox"))
    assert dict(uz.query("SELECT message_id, digest FROM audit WHERE kind = 'handed_off'")) == digests


def test_a_killed_nodes_log_is_intact_and_can_be_sealed_afterwards(fed: LocalFederation) -> None:
    kz = fed["KZ"]
    r = tamga("audit", "verify", "--home", kz.home)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no good seal yet" in r.stdout and f"entries 1-{2 * RECORDS}" in r.stdout
    r = tamga("audit", "seal", "--home", kz.home)
    assert r.returncode == 0 and f"sealed the audit log at seq {2 * RECORDS + 1}" in r.stdout, r.stderr
    r = tamga("audit", "verify", "--home", kz.home)
    assert r.returncode == 0 and f"sealed through {2 * RECORDS + 1}" in r.stdout, r.stdout + r.stderr


def test_an_exported_range_verifies_with_the_identity_file_alone(fed: LocalFederation, tmp_path: Path) -> None:
    uz = fed["UZ"]
    out = tmp_path / "uz-audit.json"
    r = tamga("audit", "export", "--home", uz.home, "--from", "3", "--to", "7", "-o", out)
    assert r.returncode == 0, r.stderr
    identity = fed.root / "UZ.identity.json"
    r = tamga("audit", "verify", "--export", out, "--identity", identity)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"intact: entries 3-{2 * RECORDS + 1}, 1 seals, sealed through {2 * RECORDS + 1}" in r.stdout

    doc = json.loads(out.read_text())
    doc["entries"][2]["peer"] = "KG"
    out.write_text(json.dumps(doc))
    r = tamga("audit", "verify", "--export", out, "--identity", identity)
    assert r.returncode == 2
    kind = doc["entries"][2]["kind"]
    assert f"TAMPERED: seq 5: edited: the contents of this {kind!r} entry no longer match its hash" in r.stdout
    r = tamga("audit", "verify", "--export", out, "--identity", fed.root / "KZ.identity.json")
    assert r.returncode != 0 and "the export is of node 'UZ', the identity file is of 'KZ'" in r.stderr


def test_tampering_with_the_store_makes_verify_exit_2_and_name_it(fed: LocalFederation, tmp_path: Path) -> None:
    uz = fed["UZ"]
    copy = tmp_path / "uz"
    subprocess.run(["cp", "-a", str(uz.home), str(copy)], check=True)
    conn = sqlite3.connect(copy / "state" / "tamga.db")
    with conn:
        conn.execute("DELETE FROM audit WHERE seq = 4")
    conn.close()
    r = tamga("audit", "verify", "--home", copy)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "TAMPERED: seq 4: removed: entry 4 missing (the log jumps from 3 to 5)" in r.stdout
    assert "NOT intact" in r.stdout
    r = tamga("audit", "verify", "--home", uz.home)  # the original is untouched
    assert r.returncode == 0, r.stdout
