"""Per-peer sequence numbers and exactly-once intake, on two real node processes (KZ -> UZ).

- A national file handed over twice (another name, same records) is sent
  once; a record with a known id and new content is sent as new.
- UZ names incoming files by KZ's sequence numbers (1, 2, 3, ... in KZ's
  stream to UZ), and ``tamga status`` says none is missing.
- A record lost at the sender (its outbox row gone) shows at the receiver as
  a gap, with its number, in ``tamga status`` and ``status --json``.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import uuid
from pathlib import Path

from tamga.tools.federation import LocalFederation, NodeProcess, wait_for

from .helpers import FAST_CONFIG, TAMGA, declaration, describe, records_file, run_tamga, visible_files

WAIT = 60.0


def status(node: NodeProcess) -> dict:
    result = run_tamga("status", "--json", "--home", node.home)
    assert result.returncode == 0, describe(result)
    return json.loads(result.stdout)


def status_text(node: NodeProcess) -> str:
    result = run_tamga("status", "--home", node.home)
    assert result.returncode == 0, describe(result)
    return result.stdout


def incoming_numbers(node: NodeProcess) -> list[int]:
    found = []
    for path in visible_files(node.incoming):
        m = re.fullmatch(r"KZ-(\d{12})-[0-9a-f-]{36}\.json", path.name)
        assert m, f"incoming file name not SENDER-SEQUENCE-MESSAGEID.json: {path.name}"
        found.append(int(m.group(1)))
    return sorted(found)


def test_a_file_handed_over_twice_is_sent_once_and_files_carry_the_senders_numbers(tmp_path: Path) -> None:
    ids = [str(uuid.uuid4()) for _ in range(3)]
    records = [declaration(f"KZ/SEQ/{i}", record_id=ids[i]) for i in range(3)]
    with LocalFederation(tmp_path, [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        fed.start()
        kz.drop("first.json", records_file(records))
        wait_for(lambda: len(visible_files(uz.incoming)) == 3, WAIT, what="3 records at UZ")
        assert incoming_numbers(uz) == [1, 2, 3]

        # The national system hands the same records over again, under another name.
        kz.drop("again.json", records_file(records))
        wait_for(lambda: (kz.home / "processed" / "again.json").exists(), WAIT, what="again.json taken")
        assert kz.query("SELECT COUNT(*) FROM outbox") == [(3,)]
        assert "record_already_queued" in kz.log_path.read_text()

        # One record corrected in place (same id, new content) and one new record: two envelopes, numbers 4 and 5.
        changed = dict(records[1], declarationSnapshot=dict(records[1]["declarationSnapshot"], procedureCode="31"))
        kz.drop("third.json", records_file([changed, records[0], declaration("KZ/SEQ/new")]))
        wait_for(lambda: len(visible_files(uz.incoming)) == 5, WAIT, what="5 records at UZ")
        assert incoming_numbers(uz) == [1, 2, 3, 4, 5]
        assert kz.query("SELECT peer_seq FROM outbox ORDER BY seq") == [(1,), (2,), (3,), (4,), (5,)]
        assert "record_id_reused" in kz.log_path.read_text()

        seq = status(uz)["incoming_sequences"]["KZ"]
        assert (seq["highest"], seq["gaps"], seq["missing"], seq["reused"]) == (5, [], 0, 0)
        assert "from KZ: sequence numbers 1-5, none missing" in status_text(uz)


def test_a_record_lost_at_the_sender_shows_as_a_gap_at_the_receiver(tmp_path: Path) -> None:
    with LocalFederation(tmp_path, [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        kz.start()  # UZ is down: KZ queues
        kz.drop("batch.json", records_file([declaration(f"KZ/GAP/{i}") for i in range(4)]))
        wait_for(lambda: kz.query("SELECT COUNT(*) FROM outbox")[0][0] == 4, WAIT, what="4 queued at KZ")
        kz.stop()
        # Number 2 is lost at the sender (its outbox row gone, as a restored backup would lose it).
        with sqlite3.connect(kz.db_path) as conn:
            assert conn.execute("DELETE FROM outbox WHERE peer_seq = 2").rowcount == 1
        fed.start()
        wait_for(lambda: len(visible_files(uz.incoming)) == 3, WAIT, what="3 records at UZ")
        assert incoming_numbers(uz) == [1, 3, 4]

        seq = status(uz)["incoming_sequences"]["KZ"]
        assert seq["highest"] == 4 and seq["missing"] == 1
        assert [(g["first"], g["last"]) for g in seq["gaps"]] == [(2, 2)]
        text = status_text(uz)
        assert re.search(r"from KZ: sequence numbers 1-4; GAP: 1 never received: 2 \(since [^)]+\)", text), text


def test_tamga_send_beside_the_running_node_numbers_without_a_hole_or_a_repeat(tmp_path: Path) -> None:
    """The running node takes files from its outgoing folder while 'tamga send' queues other files into the
    same store at the same moment: every envelope to UZ gets its own number, 1..N with none skipped."""
    with LocalFederation(tmp_path, [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz, uz = fed["KZ"], fed["UZ"]
        kz.start()  # UZ down for now: everything stays queued at KZ
        sends = []
        for i in range(6):
            kz.drop(f"drop-{i}.json", records_file([declaration(f"KZ/DROP/{i}/{j}") for j in range(40)]))
            path = tmp_path / f"send-{i}.json"
            path.write_bytes(records_file([declaration(f"KZ/SEND/{i}/{j}") for j in range(40)]))
            sends.append(
                subprocess.Popen(
                    [str(TAMGA), "send", str(path), "--home", str(kz.home)],
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    stdin=subprocess.DEVNULL,
                )
            )
        for proc in sends:
            _out, err = proc.communicate(timeout=WAIT)
            assert proc.returncode == 0, err.decode()
        total = 6 * 40 * 2
        wait_for(lambda: kz.query("SELECT COUNT(*) FROM outbox")[0][0] == total, WAIT, what=f"{total} queued at KZ")
        numbers = [n for (n,) in kz.query("SELECT peer_seq FROM outbox WHERE peer = 'UZ' ORDER BY peer_seq")]
        assert numbers == list(range(1, total + 1))
        uz.start()
        wait_for(lambda: len(visible_files(uz.incoming)) == total, WAIT, what=f"{total} records at UZ")
        seq = status(uz)["incoming_sequences"]["KZ"]
        assert (seq["highest"], seq["gaps"], seq["reused"]) == (total, [], 0)
