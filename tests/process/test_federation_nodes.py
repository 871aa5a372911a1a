"""Federation with real ``tamga run`` processes on loopback: a sixth member admitted by k = 3 signatures
exchanges only once the new manifest reached its peer by gossip; a removed member is refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tamga.config import load_config
from tamga.federation import (
    Changes,
    FederationState,
    genesis_proposal,
    member_from_identity,
    sign_manifest,
    successor_proposal,
    verify_genesis,
)
from tamga.home import load_local_identity
from tamga.protocol import LocalIdentity
from tamga.tools.federation import LocalFederation, NodeProcess, wait_for
from tamga.v1 import federation_pb2

from .helpers import FAST_CONFIG, declaration, records_file

WAIT = 40.0


def local_of(n: NodeProcess) -> LocalIdentity:
    return load_local_identity(load_config(n.home))


def entry(n: NodeProcess) -> federation_pb2.Member:
    """The node's member entry, carrying its signed identity (as 'tamga federation propose --add' makes it)."""
    return member_from_identity(local_of(n).identity_document([n.endpoint], time.time()))


def signed_by(signed: federation_pb2.SignedManifest, nodes: list[NodeProcess]) -> federation_pb2.SignedManifest:
    for n in nodes:
        signed = sign_manifest(signed, n.node_id, local_of(n).signing_key)
    return signed


def inbox_from(n: NodeProcess, sender: str) -> int:
    return int(n.query("SELECT COUNT(*) FROM inbox WHERE sender = ?", (sender,))[0][0])


def status_json(n: NodeProcess) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "tamga", "status", "--home", str(n.home), "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)  # type: ignore[no-any-return]


def test_sixth_member_by_gossip_and_removed_member_refused_between_processes(tmp_path: Path) -> None:
    nodes = [("KZ", "KZ"), ("UZ", "UZ"), ("KG", "KG"), ("TJ", "TJ"), ("CN", "CN"), ("PK", "PK")]
    with LocalFederation(tmp_path / "fed", nodes, config=FAST_CONFIG) as fed:
        five = [fed[nid] for nid, _ in nodes[:5]]
        pk = fed["PK"]
        v1 = signed_by(
            genesis_proposal(
                federation_id="sco-process-test",
                founders=[entry(n) for n in five],
                threshold=3,
                allow=[("*", "*", ["*"])],
                issued_at=time.time() - 60,
            ),
            five,
        )
        v2 = signed_by(
            successor_proposal(
                verify_genesis(v1),
                Changes(add=[entry(pk)], remove=["CN"], allow=[("PK", "*", ["*"]), ("*", "PK", ["*"])]),
                issued_at=time.time() - 30,
                summary="admit PK, CN leaves",
            ),
            [fed["KZ"], fed["UZ"], fed["TJ"]],
        )
        for n in five:
            FederationState.create(n.home / "federation", v1)
        FederationState.create(pk.home / "federation", v1).offer([v2], source="test")
        fed.start()

        # PK holds version 2, UZ version 1: PK's record does not get in.
        pk.drop("pk.json", records_file([declaration("PK-1", sender="PK", receivers=["UZ"])]))
        wait_for(lambda: pk.outbox_counts().get("queued") == 1, WAIT, what="PK queued its record")
        time.sleep(2.0)
        assert inbox_from(fed["UZ"], "PK") == 0
        assert pk.outbox_counts().get("delivered") is None

        # `tamga federation apply` of version 2 at KZ (the running node reloads its folder);
        # KZ's next batch to UZ names version 2, UZ fetches and adopts it, then PK's record is accepted.
        state = FederationState.load(fed["KZ"].home / "federation")
        assert state.offer([v2], source="apply").adopted == [2]
        wait_for(lambda: status_json(fed["KZ"])["federation"]["version"] == 2, WAIT, what="KZ on version 2")  # type: ignore[index]
        fed["KZ"].drop("kz.json", records_file([declaration("KZ-1", sender="KZ", receivers=["UZ"])]))
        wait_for(lambda: inbox_from(fed["UZ"], "KZ") == 1, WAIT, what="KZ's record at UZ")
        wait_for(lambda: inbox_from(fed["UZ"], "PK") == 1, WAIT, what="PK's record accepted by UZ after gossip")
        wait_for(lambda: pk.outbox_counts().get("delivered") == 1, WAIT, what="PK holds UZ's receipt")
        doc = status_json(fed["UZ"])
        assert doc["federation"]["version"] == 2  # type: ignore[index]
        assert "PK" in doc["peers"] and "CN" not in doc["peers"]  # type: ignore[operator]
        assert (fed["UZ"].home / "federation" / "manifests" / "v000002.pb").read_bytes() == v2.SerializeToString()

        # CN, removed by version 2 (it holds version 1), reaches nobody who holds version 2; it learns
        # its removal from them (a refused delivery, or its periodic pull) and stops.
        fed["CN"].drop("cn.json", records_file([declaration("CN-1", sender="CN", receivers=["UZ"])]))
        wait_for(
            lambda: status_json(fed["CN"])["federation"]["removed_in"] == 2,  # type: ignore[index]
            WAIT,
            interval=0.5,
            what="CN knows it was removed in version 2",
        )
        time.sleep(1.0)
        assert inbox_from(fed["UZ"], "CN") == 0
        assert fed["CN"].outbox_counts().get("delivered") is None
        log = (fed["UZ"].home / "node.log").read_text("utf-8")
        assert '"event": "manifest_adopted"' in log or '"event":"manifest_adopted"' in log
