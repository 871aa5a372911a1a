"""The fault-injection harness: profiles, records with known content, bounded waits, and the one final check.

Every scenario ends with :func:`check_exactly_once`: each submitted record is in
its recipient's incoming folder exactly once (by recordId and by a hash of its
content), and the sender holds, for each, a delivered outbox row whose signed
receipt verifies with the recipient's own key. It prints the one summary line
``FAULTS scenario=... records=N cycles=C lost=0 duplicated=0 seed=S``.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import random
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pytest
from process.helpers import count_visible, declaration, records_file, visible_files
from tamga.adapters.json_records import JsonAdapter
from tamga.config import load_config
from tamga.crypto import VerifyKey
from tamga.errors import CryptoError
from tamga.home import load_local_identity
from tamga.protocol import RECEIPT_PURPOSE
from tamga.tools.federation import NodeProcess, wait_for
from tamga.v1 import envelope_pb2, records_pb2

PROFILE = os.environ.get("TAMGA_FAULTS_PROFILE", "short")
if PROFILE not in ("short", "full"):
    raise pytest.UsageError(f"TAMGA_FAULTS_PROFILE={PROFILE!r}: expected 'short' (the default) or 'full'")
FULL = PROFILE == "full"

FILE_SIZE = 50  # records per dropped file
STALL = 30.0  # seconds without any progress after which a wait gives up
S = envelope_pb2.ReceiptStatus


def seed() -> int:
    """The run's random seed: TAMGA_FAULTS_SEED replays one, else a fresh one."""
    env = os.environ.get("TAMGA_FAULTS_SEED")
    return int(env) if env else random.SystemRandom().randrange(2**32)


def fast_delivery(**extra: str) -> dict[str, dict[str, str]]:
    """Delivery settings with short polls, backoff caps and timeouts, so faults heal within seconds."""
    delivery = {
        "poll_interval": "50ms",
        "backoff_initial": "100ms",
        "backoff_max": "500ms",
        "idle_close": "1s",
        "receipt_timeout": "3s",
        "connect_timeout": "2s",
    }
    delivery.update(extra)
    return {"delivery": delivery}


def content_hash(record: records_pb2.Record) -> str:
    return hashlib.sha256(record.SerializeToString(deterministic=True)).hexdigest()


@dataclass
class Ledger:
    """What a sender submitted: record id -> content hash, per recipient, and the files dropped."""

    sender: NodeProcess
    tag: str
    expected: dict[str, dict[str, str]] = field(default_factory=dict)
    files: int = 0

    def drop(self, recipient: str, count: int) -> None:
        """Drop ``count`` new distinct records for ``recipient`` into the sender's outgoing folder."""
        adapter = JsonAdapter()
        want = self.expected.setdefault(recipient, {})
        for start in range(0, count, FILE_SIZE):
            items = []
            for _ in range(min(FILE_SIZE, count - start)):
                n = sum(len(v) for v in self.expected.values()) + len(items)
                items.append(
                    declaration(
                        f"{self.tag}/{n:06d}",
                        sender=self.sender.country,
                        receivers=(recipient,),
                        record_id=str(uuid.uuid4()),
                    )
                )
            data = records_file(items)
            name = f"{self.tag}-{self.files:05d}.json"
            for record in adapter.decode(data, source=name):
                want[record.meta.record_id] = content_hash(record)
            self.files += 1
            self.sender.drop(name, data)

    @property
    def total(self) -> int:
        return sum(len(v) for v in self.expected.values())


def scalar(node: NodeProcess, sql: str, params: tuple[object, ...] = ()) -> int:
    return int(node.query(sql, params)[0][0] or 0)


def received(node: NodeProcess, sender: str) -> int:
    return scalar(node, "SELECT COUNT(*) FROM inbox WHERE sender = ?", (sender,))


def errors(node: NodeProcess, n: int = 3) -> list[str]:
    try:
        lines = node.log_path.read_text("utf-8", "replace").splitlines()
    except OSError:
        return []
    return [line[:400] for line in lines if '"level": "error"' in line][-n:]


def state(nodes: list[NodeProcess]) -> str:
    """The nodes' folders, outbox and inbox, and last errors, to explain a failure."""
    parts = []
    for n in nodes:
        try:
            parts.append(
                f"{n.node_id}: outgoing={count_visible(n.outgoing)} incoming={count_visible(n.incoming)}"
                f" outbox={n.outbox_counts()} inbox={scalar(n, 'SELECT COUNT(*) FROM inbox')}"
                f" running={n.running} log={n.log_path}"
            )
        except Exception as exc:  # diagnostics only
            parts.append(f"{n.node_id}: store not readable ({exc})")
        parts += [f"{n.node_id} error: {line}" for line in errors(n)]
    return "\n".join(parts)


def progress(nodes: list[NodeProcess]) -> tuple[int, ...]:
    out: list[int] = []
    for n in nodes:
        try:
            out += [
                count_visible(n.outgoing),
                count_visible(n.incoming),
                scalar(n, "SELECT COUNT(*) FROM outbox WHERE state != 'queued'"),
                scalar(n, "SELECT COUNT(*) FROM inbox"),
            ]
        except Exception:  # a store being created by a restarting node
            out += [-1]
    return tuple(out)


def wait_progressing(nodes: list[NodeProcess], predicate: Callable[[], bool], what: str, timeout: float) -> None:
    """Until ``predicate``; fails after ``timeout`` seconds, or after STALL seconds without any progress."""
    last = [progress(nodes), time.monotonic()]

    def done_or_stalled() -> bool:
        if predicate():
            return True
        now, p = time.monotonic(), progress(nodes)
        if p != last[0]:
            last[:] = [p, now]
        elif now - last[1] > STALL:
            raise TimeoutError(f"{what}: no progress for {STALL:.0f}s")
        return False

    try:
        wait_for(done_or_stalled, timeout, interval=0.05, what=what)
    except TimeoutError as exc:
        pytest.fail(f"{exc}\n{state(nodes)}")


def settled(sender: NodeProcess, recipients: list[NodeProcess]) -> bool:
    """Everything dropped was taken and queued, nothing is queued any more, everything received is handed off."""
    if not sender.running or any(not r.running for r in recipients) or count_visible(sender.outgoing):
        return False
    if scalar(sender, "SELECT COUNT(*) FROM outbox WHERE state = 'queued'"):
        return False
    return all(scalar(r, "SELECT COUNT(*) FROM inbox WHERE handed_off_at IS NULL") == 0 for r in recipients)


def recipient_key(node: NodeProcess) -> VerifyKey:
    """The recipient's own public signing key, read from its node directory."""
    return load_local_identity(load_config(node.home)).signing_key.public


def check_exactly_once(
    scenario: str,
    ledger: Ledger,
    recipients: Mapping[str, NodeProcess],
    *,
    cycles: int,
    seed: int,
    log: list[str],
) -> None:
    """The end of every scenario: nothing lost, nothing duplicated, a verified receipt for everything."""
    sender = ledger.sender
    nodes = [sender, *recipients.values()]
    context = f"\nscenario {scenario}, seed {seed}\nevents: {log}\n{state(nodes)}"
    adapter = JsonAdapter()
    lost = duplicated = 0
    problems: list[str] = []

    for rid, node in recipients.items():
        want = ledger.expected.get(rid, {})
        got: Counter[str] = Counter()
        wrong_content: list[str] = []
        for path in visible_files(node.incoming):
            for record in adapter.decode(path.read_bytes(), source=path.name):
                if record.meta.sender_country != sender.country:
                    continue
                rec_id = record.meta.record_id
                got[rec_id] += 1
                if rec_id in want and content_hash(record) != want[rec_id]:
                    wrong_content.append(f"{path.name}: {rec_id}")
        missing = sorted(set(want) - set(got))
        doubled = {k: c for k, c in got.items() if c > 1}
        unexpected = sorted(set(got) - set(want))
        lost += len(missing)
        duplicated += sum(c - 1 for c in doubled.values())
        if missing:
            problems.append(f"{rid}: {len(missing)} record(s) never arrived, e.g. {missing[:3]}")
        if doubled:
            problems.append(f"{rid}: {len(doubled)} record(s) arrived more than once, e.g. {sorted(doubled)[:3]}")
        if unexpected:
            problems.append(f"{rid}: {len(unexpected)} record(s) arrived that were never sent: {unexpected[:3]}")
        if wrong_content:
            problems.append(f"{rid}: {len(wrong_content)} record(s) arrived with other content: {wrong_content[:3]}")

    print(
        f"FAULTS scenario={scenario} records={ledger.total} cycles={cycles} lost={lost} "
        f"duplicated={duplicated} seed={seed}"
    )
    assert not problems, "\n".join(problems) + context

    # The sender: every file taken, nothing failed, one delivered outbox row per record, with a receipt.
    assert not visible_files(sender.home / "failed"), "a dropped file was refused by intake" + context
    assert len(visible_files(sender.home / "processed")) == ledger.files, context
    assert sender.query("SELECT COUNT(*), SUM(records) FROM intake") == [(ledger.files, ledger.total)], context
    for rid, node in recipients.items():
        want = ledger.expected.get(rid, {})
        key = recipient_key(node)
        rows = sender.query(
            "SELECT o.message_id, o.digest, o.state, o.receipt_status, r.peer, r.receipt_batch, r.signature"
            " FROM outbox o LEFT JOIN receipts r ON r.id = o.receipt_id WHERE o.peer = ?",
            (rid,),
        )
        assert len(rows) == len(want), f"{len(rows)} outbox rows to {rid} for {len(want)} records" + context
        assert Counter(r[2] for r in rows) == {"delivered": len(want)}, context
        batches: dict[bytes, envelope_pb2.ReceiptBatch] = {}
        for message_id, digest, _, status, peer, batch_bytes, signature in rows:
            assert peer == rid and batch_bytes is not None, f"{message_id}: delivered without a kept receipt" + context
            if batch_bytes not in batches:
                try:
                    key.verify(RECEIPT_PURPOSE, signature, batch_bytes)
                except CryptoError as exc:
                    pytest.fail(f"{message_id}: the kept receipt does not verify with {rid}'s key: {exc}" + context)
                batches[batch_bytes] = envelope_pb2.ReceiptBatch.FromString(batch_bytes)
            batch = batches[batch_bytes]
            assert (batch.sender, batch.receiver) == (sender.node_id, rid), context
            mine = [r for r in batch.receipts if r.message_id == message_id]
            assert len(mine) == 1, f"{message_id}: its receipt batch names it {len(mine)} times" + context
            assert mine[0].envelope_digest == digest, f"{message_id}: the receipt is for other bytes" + context
            assert mine[0].status in (S.RECEIPT_STATUS_ACCEPTED, S.RECEIPT_STATUS_DUPLICATE), context
            assert status in ("RECEIPT_STATUS_ACCEPTED", "RECEIPT_STATUS_DUPLICATE"), context

        # The recipient: one inbox row per outbox row, all handed off, nothing refused.
        inbox = node.query("SELECT message_id, handed_off_at FROM inbox WHERE sender = ?", (sender.node_id,))
        assert sorted(r[0] for r in inbox) == sorted(r[0] for r in rows), (
            f"{rid}'s inbox and the outbox differ" + context
        )
        assert all(r[1] is not None for r in inbox), context
        assert scalar(node, "SELECT COUNT(*) FROM refused") == 0, context
        # The sender's numbers for this recipient arrived complete: 1..N, none missing, none reused.
        numbers = node.query(
            "SELECT COUNT(*), COUNT(DISTINCT peer_seq), MIN(peer_seq), MAX(peer_seq) FROM inbox WHERE sender = ?",
            (sender.node_id,),
        )
        assert numbers == [(len(want), len(want), 1, len(want))], f"{rid}: sequence numbers {numbers}" + context
        gaps = node.query("SELECT first, last FROM sequence_gaps WHERE sender = ?", (sender.node_id,))
        assert gaps == [], f"{rid} shows sequence gaps {gaps} from {sender.node_id}" + context


def submission_order_kept(sender: NodeProcess, recipient: NodeProcess) -> list[str]:
    """Messages the recipient took in another order than the sender queued them (empty: order kept)."""
    outbox_seq = dict(sender.query("SELECT message_id, seq FROM outbox WHERE peer = ?", (recipient.node_id,)))
    arrived = [
        m for (m,) in recipient.query("SELECT message_id FROM inbox WHERE sender = ? ORDER BY seq", (sender.node_id,))
    ]
    seqs = [outbox_seq.get(m, -1) for m in arrived]
    return [f"inbox #{i}: outbox seq {b} after {a}" for i, (a, b) in enumerate(itertools.pairwise(seqs)) if b <= a][:5]
