"""``make demo``: a three-node federation on this machine, records crossing it.

Creates three nodes (KZ, UZ, CN) in ``demo-federation/`` with fresh keys,
peers them through their identity files, starts each as its own process on a
loopback port, drops the sample files into the senders' outgoing folders,
waits until every record is in each recipient's incoming folder, prints what
crossed, verifies each signed receipt, stops the nodes and exits 0. It exits
1 if anything did not arrive within the time bound.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from tamga.adapters.json_records import JsonAdapter
from tamga.config import load_config
from tamga.errors import CryptoError
from tamga.home import load_peers
from tamga.protocol import RECEIPT_PURPOSE
from tamga.tools.federation import LocalFederation, NodeProcess, wait_for
from tamga.v1 import envelope_pb2

NODES = [("KZ", "KZ"), ("UZ", "UZ"), ("CN", "CN")]
SAMPLES = {
    "KZ": ["kz-export-declarations.json"],
    "UZ": ["uz-contact-point-request.json"],
    "CN": ["cn-contact-point-alert.json"],
}


def _time(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%H:%M:%S.%f")[:-3] if ts else "-"


def receipt_verified(sender: NodeProcess, recipient: NodeProcess, message_id: str) -> bool:
    """Check the sender's kept receipt for ``message_id`` against the recipient's key."""
    rows = sender.query(
        "SELECT o.digest, r.receipt_batch, r.signature FROM outbox o JOIN receipts r ON r.id = o.receipt_id"
        " WHERE o.peer = ? AND o.message_id = ? AND o.state = 'delivered'",
        (recipient.node_id, message_id),
    )
    if not rows:
        return False
    digest, batch_bytes, signature = rows[0]
    peer = load_peers(load_config(sender.home)).get(recipient.node_id)
    assert peer is not None
    try:
        peer.verify_key.verify(RECEIPT_PURPOSE, signature, batch_bytes)
    except CryptoError:
        return False
    batch = envelope_pb2.ReceiptBatch.FromString(batch_bytes)
    ok = (envelope_pb2.RECEIPT_STATUS_ACCEPTED, envelope_pb2.RECEIPT_STATUS_DUPLICATE)
    return any(r.message_id == message_id and r.envelope_digest == digest and r.status in ok for r in batch.receipts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="demo-federation", help="where to create the nodes (wiped first)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for every record")
    args = parser.parse_args(argv)

    root = Path(args.dir).resolve()
    if root.exists():
        shutil.rmtree(root)
    adapter = JsonAdapter()
    samples = resources.files("tamga.adapters") / "samples"

    print(f"creating nodes {', '.join(n for n, _ in NODES)} in {root} (fresh keys, peered by identity files)")
    fed = LocalFederation(
        root,
        NODES,
        config={"delivery": {"poll_interval": "100ms", "backoff_initial": "200ms", "backoff_max": "5s"}},
    )
    with fed:
        for node in fed:
            node.start()
            print(f"  node {node.node_id} running as pid {node.proc.pid if node.proc else '?'} on {node.endpoint}")
        expected: dict[str, tuple[str, str, str]] = {}  # record id -> (type, from, label)
        want: set[tuple[str, str]] = set()  # (record id, recipient)
        for sender_id, files in SAMPLES.items():
            for name in files:
                data = (samples / name).read_bytes()
                for rec in adapter.decode(data, source=name):
                    rid = rec.meta.record_id
                    label = (
                        rec.declaration_snapshot.declaration_no
                        if rec.HasField("declaration_snapshot")
                        else rec.contact_point_message.subject
                    )
                    expected[rid] = (rec.WhichOneof("body") or "", sender_id, label)
                    for country in rec.meta.receiver_countries:
                        want.add((rid, next(n for n, c in NODES if c == country)))
                fed[sender_id].drop(name, data)
                print(f"  {sender_id}: dropped {name} into {fed[sender_id].outgoing}")

        def arrived() -> set[tuple[str, str]]:
            got = set()
            for node in fed:
                for path in node.incoming_files():
                    for rec in adapter.decode(path.read_bytes(), source=path.name):
                        got.add((rec.meta.record_id, node.node_id))
            return got

        started = time.monotonic()
        try:
            wait_for(lambda: want <= arrived(), args.timeout, interval=0.1, what="every record delivered")
        except TimeoutError:
            pass
        got = arrived()
        elapsed = time.monotonic() - started

        def delivered() -> bool:
            return all(
                fed[sender].outbox_counts().get("queued", 0) == 0 for sender in {expected[rid][1] for rid, _ in want}
            )

        try:
            wait_for(delivered, 10, what="receipts held")
        except TimeoutError:
            pass

        rows = []
        for rid, recipient in sorted(want, key=lambda w: (expected[w[0]][1], w[1])):
            rtype, sender, label = expected[rid]
            s, r = fed[sender], fed[recipient]
            marks = ",".join("?" * len(SAMPLES[sender]))
            out = s.query(
                f"SELECT message_id, submitted_at FROM outbox WHERE peer = ? AND source IN ({marks})",
                (recipient, *SAMPLES[sender]),
            )
            sent_at, recv_at, verified = None, None, False
            for message_id, submitted in out:
                inbox = r.query(
                    "SELECT received_at, handoff_name FROM inbox WHERE sender = ? AND message_id = ?",
                    (sender, message_id),
                )
                if inbox and inbox[0][1]:
                    handed = r.incoming / inbox[0][1]
                    if handed.exists() and any(
                        x.meta.record_id == rid for x in adapter.decode(handed.read_bytes(), source=handed.name)
                    ):
                        sent_at, recv_at = submitted, inbox[0][0]
                        verified = receipt_verified(s, r, message_id)
            rows.append(
                (
                    f"{rtype} {label[:34]}",
                    sender,
                    recipient,
                    _time(sent_at),
                    _time(recv_at),
                    "yes" if verified else "NO",
                    (rid, recipient) in got,
                )
            )

        print()
        header = ("RECORD", "FROM", "TO", "SENT (UTC)", "RECEIVED (UTC)", "RECEIPT VERIFIED")
        widths = [max(len(str(x)) for x in col) for col in zip(header, *[r[:6] for r in rows], strict=False)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        for row in rows:
            print("  ".join(str(v).ljust(w) for v, w in zip(row[:6], widths, strict=True)))
        print()
        missing = [r for r in rows if not r[6]]
        unverified = [r for r in rows if r[5] != "yes"]
        for node in fed:
            node.stop()
        if missing or unverified:
            print(
                f"FAILED: {len(missing)} record(s) did not arrive within {args.timeout:.0f}s, "
                f"{len(unverified)} without a verified receipt; node logs are in {root}/*/node.log"
            )
            return 1
        print(
            f"OK: {len(rows)} deliveries between 3 node processes in {elapsed:.1f}s, each sealed end to end, "
            "each acknowledged by a verified signed receipt."
        )
        print(f"The nodes are stopped; their folders, stores and logs stay in {root} to look at.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
