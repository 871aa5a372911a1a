"""A member removed from the federation is told, with real ``tamga run`` processes on loopback.

Three members, threshold 2: KZ and UZ sign version 2, which removes TJ, and
apply it; TJ never saw it and has records queued for both. TJ's deliveries
are refused; the members still answer its GetManifest (its certificate is
pinned in an earlier version), so TJ learns version 2, verifies it against
its own chain, stops delivering, marks what it had queued rejected with the
reason, and says so in ``tamga status`` and ``tamga doctor`` - without one
unhandled-task traceback in its log.
"""

from __future__ import annotations

import time
from pathlib import Path

from tamga.federation import Changes, FederationState, successor_proposal
from tamga.tools.federation import LocalFederation, wait_for

from .helpers import FAST_CONFIG, declaration, describe, records_file, run_tamga
from .test_federation_nodes import signed_by, status_json

WAIT = 20.0  # seconds: the bound within which the removed node must know


def test_a_removed_member_learns_its_removal_stops_and_rejects_what_it_queued(tmp_path: Path) -> None:
    nodes = [("KZ", "KZ"), ("UZ", "UZ"), ("TJ", "TJ")]
    with LocalFederation(tmp_path / "fed", nodes, config=FAST_CONFIG, membership="manifest", threshold=2) as fed:
        kz, uz, tj = fed["KZ"], fed["UZ"], fed["TJ"]
        v1 = FederationState.load(kz.home / "federation").current
        v2 = signed_by(
            successor_proposal(v1, Changes(remove=["TJ"]), issued_at=time.time(), summary="TJ leaves"),
            [kz, uz],
        )
        for n in (kz, uz):  # what `tamga federation apply` writes
            assert FederationState.load(n.home / "federation").offer([v2], source="apply").adopted == [2]
        kz.start()
        uz.start()

        # TJ still holds version 1: it queues records for both the others.
        tj.drop(
            "tj.json",
            records_file(
                [
                    declaration("TJ-1", sender="TJ", receivers=["KZ"]),
                    declaration("TJ-2", sender="TJ", receivers=["UZ"]),
                    declaration("TJ-3", sender="TJ", receivers=["UZ"]),
                ]
            ),
        )
        tj.start()

        def removed() -> bool:
            return status_json(tj)["federation"].get("removed_in") == 2  # type: ignore[union-attr]

        wait_for(removed, WAIT, interval=0.5, what="TJ's status says it was removed in version 2")
        wait_for(lambda: tj.outbox_counts() == {"rejected": 3}, WAIT, what="TJ's three queued records rejected")
        reason = "this node was removed from federation demo-sco in manifest version 2"
        rows = tj.query("SELECT peer, state, reject_detail FROM outbox ORDER BY peer")
        assert sorted(r[0] for r in rows) == ["KZ", "UZ", "UZ"]
        for _peer, state, detail in rows:
            assert state == "rejected"
            assert reason in (detail or ""), detail
        assert (tj.home / "federation" / "manifests" / "v000002.pb").read_bytes() == v2.SerializeToString()
        assert kz.query("SELECT COUNT(*) FROM inbox")[0][0] == 0
        assert uz.query("SELECT COUNT(*) FROM inbox")[0][0] == 0

        # It stops retrying: no delivery attempt after it knew.
        log_before = tj.log_path.read_text("utf-8")
        time.sleep(3.0)
        log_after = tj.log_path.read_text("utf-8")
        assert log_after[len(log_before) :].count("delivery_failed") == 0, log_after[len(log_before) :]
        assert "Task exception was never retrieved" not in log_after, log_after
        assert "Traceback" not in log_after, log_after
        assert "removed_from_federation" in log_after

        # `tamga status`: a line at the top says so.
        text = run_tamga("status", "--home", tj.home)
        assert text.returncode == 0, describe(text)
        head = text.stdout.splitlines()[:2]
        assert any(reason in line for line in head), describe(text)
        # `tamga doctor`: a PROBLEM line.
        doctor = run_tamga("doctor", "--home", tj.home)
        assert doctor.returncode == 1, describe(doctor)
        problems = [line for line in doctor.stdout.splitlines() if line.startswith("PROBLEM")]
        assert any("federation" in line and reason in line for line in problems), describe(doctor)

        # `tamga send` refuses at once, saying why.
        late = tmp_path / "late.json"
        late.write_bytes(records_file([declaration("TJ-4", sender="TJ", receivers=["KZ"])]))
        send = run_tamga("send", late, "--home", tj.home)
        assert send.returncode != 0, describe(send)
        assert reason in send.stderr and "Traceback" not in send.stderr, describe(send)
        assert tj.outbox_counts() == {"rejected": 3}

        # The members go on exchanging with each other.
        kz.drop("kz.json", records_file([declaration("KZ-1", sender="KZ", receivers=["UZ"])]))
        wait_for(lambda: kz.outbox_counts().get("delivered") == 1, WAIT, what="KZ's record delivered to UZ")
