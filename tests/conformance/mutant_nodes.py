"""Deliberately broken nodes for the node suite's self-test: the real node with exactly one behaviour changed.

A mutant is the real ``tamga run`` in its own process, started through this
launcher, which first replaces one function of the node (a monkeypatch kept
here, in the tests; the node's code has no switch for it)::

    python tests/conformance/mutant_nodes.py run MUTANT --home HOME      # run the node (until SIGTERM)
    python tests/conformance/mutant_nodes.py restart MUTANT --home HOME  # stop the node of HOME, start it again

``restart`` is what the self-test gives the suite as ``--restart-command``: it
stops the process named in HOME/run/pid (SIGTERM), waits until that node has
let go of its folder, starts the same mutant again as a detached process and
returns once the new process listens. Whoever started the first process ends
the last one by the pid in HOME/run/pid.

:data:`MUTANTS` names each mutant and what it breaks; the self-test asserts
the exact set of cases each one fails.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

WAIT = 30.0  # seconds: the longest a stop or a start may take


def _accepts_tampered() -> None:
    """Envelope signatures are not checked (identity documents and receipts still are)."""
    from tamga.crypto import VerifyKey
    from tamga.protocol import ENVELOPE_PURPOSE

    verify = VerifyKey.verify

    def lenient(self: VerifyKey, purpose: str, signature: bytes, *parts: bytes) -> None:
        if purpose == ENVELOPE_PURPOSE:
            return
        verify(self, purpose, signature, *parts)

    VerifyKey.verify = lenient  # type: ignore[method-assign]


def _forget_seen(predicate: Callable[[Any], bool]) -> None:
    """Before each commit, drop the inbox rows of envelopes received again for which ``predicate`` holds."""
    from tamga.store import Store

    accept = Store.accept

    async def forgetful(self: Store, items: Any, refused: Any, *, now: float) -> Any:
        again = [i for i in items if predicate(i)]
        if again:
            async with self._txn() as c:
                for i in again:
                    await c.execute(
                        "DELETE FROM inbox WHERE sender = ? AND message_id = ? AND digest = ?",
                        (i.sender, i.message_id, i.digest),
                    )
        return await accept(self, items, refused, now=now)

    Store.accept = forgetful  # type: ignore[method-assign]


def _dedup_off() -> None:
    """An envelope received again is taken as new: accepted and handed to the national system again."""
    _forget_seen(lambda item: True)


def _dedup_forgets_on_restart() -> None:
    """Deduplication only within one process: after a restart a replay is taken as new."""
    seen: set[tuple[str, str]] = set()

    def before_this_process(item: Any) -> bool:
        key = (item.sender, item.message_id)
        known = key in seen
        seen.add(key)
        return not known

    _forget_seen(before_this_process)


def _accepts_stale() -> None:
    """No freshness window: an envelope sealed a year ago, or next week, is opened as fresh."""
    import tamga.protocol._envelope as envelope

    envelope.freshness_problem = lambda *args, **kwargs: None  # type: ignore[assignment]


def _accepts_wrong_digest() -> None:
    """A receipt's digest is not compared with the envelope sent: any digest settles the record as delivered."""
    import tamga.outbound._queue as queue
    from tamga.v1 import envelope_pb2

    check = queue.check_receipts

    def trusting(signed: Any, *, local: Any, peer: Any, batch_id: str, sent: Any) -> Any:
        try:
            receipts = envelope_pb2.ReceiptBatch.FromString(signed.receipt_batch).receipts
        except Exception:
            receipts = []
        named = {r.message_id: r.envelope_digest for r in receipts}
        return check(
            signed, local=local, peer=peer, batch_id=batch_id, sent={m: named.get(m, d) for m, d in sent.items()}
        )

    queue.check_receipts = trusting  # type: ignore[assignment]


def _intake_dedup_off() -> None:
    """Intake does not look for records already queued: the same records handed over again are sent again."""
    from tamga.store import Store

    async def nothing_known(self: Store, keys: Any) -> dict[Any, Any]:
        return {}

    Store.already_queued = nothing_known  # type: ignore[method-assign]


def _trusts_senders_records() -> None:
    """Received records are not checked again: whatever the sender's record holds is stored and handed off."""
    import tamga.inbound as inbound

    inbound._checked = lambda opened: opened  # type: ignore[assignment]


def _trusts_claimed_origin() -> None:
    """A received record's sender and receiver countries are not bound to the authenticated sender and the node."""
    import tamga.inbound as inbound

    inbound._origin_checked = lambda opened, peers, local: opened  # type: ignore[assignment]


def _resends_rejected() -> None:
    """A refusal in a receipt is taken as a failed attempt: the refused envelope stays queued and goes again."""
    from tamga.store import Store

    settle = Store.settle

    async def keeps_refused(self: Store, peer: str, *, batch_id: str, signed: Any, outcomes: Any, now: float) -> None:
        kept = [o for o in outcomes if o.delivered]
        await settle(self, peer, batch_id=batch_id, signed=signed, outcomes=kept, now=now)

    Store.settle = keeps_refused  # type: ignore[method-assign]


def _hides_failures() -> None:
    """Failed delivery attempts are retried but never noted: 'tamga status' shows the peer as healthy."""
    from tamga.store import Store

    async def unnoted(self: Store, peer: str, *, error: str, now: float, retry_at: float) -> None:
        return None

    Store.record_failure = unnoted  # type: ignore[method-assign]


def _forgets_receipt_signatures() -> None:
    """Receipts are verified on arrival but kept without their signature: no evidence remains."""
    from tamga.store import Store
    from tamga.v1 import envelope_pb2

    settle = Store.settle

    async def unsigned(self: Store, peer: str, *, batch_id: str, signed: Any, outcomes: Any, now: float) -> None:
        bare = envelope_pb2.SignedReceiptBatch(receipt_batch=signed.receipt_batch)
        await settle(self, peer, batch_id=batch_id, signed=bare, outcomes=outcomes, now=now)

    Store.settle = unsigned  # type: ignore[method-assign]


def _no_file_limit() -> None:
    """The outgoing folder takes a file of any size: it is read and decoded however large it is."""
    from tamga.intake import DropFolder

    init = DropFolder.__init__

    def unbounded(self: DropFolder, **kwargs: Any) -> None:
        init(self, **{**kwargs, "max_file_bytes": 1 << 62})

    DropFolder.__init__ = unbounded  # type: ignore[method-assign]


def _drop_folder_follows_links() -> None:
    """The outgoing folder is read through links: an entry is typed by what it points to and opened following it."""
    import tamga.intake as intake

    intake._OPEN_FLAGS &= ~os.O_NOFOLLOW
    listed = intake.DropFolder._list

    def following(self: Any) -> list[Any]:
        entries = []
        for e in listed(self):
            if e.kind == "symbolic link":
                try:
                    st = os.stat(self.outgoing / e.name)
                except OSError:
                    pass
                else:
                    e = intake._Entry(e.name, intake._kind_of(st.st_mode), st.st_mtime_ns, None)
            entries.append(e)
        return entries

    intake.DropFolder._list = following  # type: ignore[method-assign]


def _drop_folder_stops_on_error() -> None:
    """A file the adapter cannot decode stops the drop folder: the exception (an AdapterError, a RecursionError,
    an adapter's bug) escapes, the file stays in the outgoing folder and holds up every file after it."""
    from tamga.errors import AdapterError
    from tamga.intake import DropFolder

    prepare = DropFolder._prepare

    async def escaping(self: DropFolder, path: Path) -> Any:
        outcome = await prepare(self, path)
        if outcome.cause is not None:
            raise outcome.cause
        if outcome.error is not None and outcome.error["kind"] == "adapter":
            raise AdapterError(outcome.error["message"], adapter=outcome.error.get("adapter", ""))
        return outcome

    DropFolder._prepare = escaping  # type: ignore[method-assign]


def _refuses_near_the_limit() -> None:
    """Envelopes are refused OVERSIZE from 64 KiB under [limits] max_envelope_bytes (a margin of its own)."""
    from tamga.inbound import Receiver

    init = Receiver.__init__

    def cautious(self: Receiver, **kwargs: Any) -> None:
        init(self, **kwargs)
        self.max_envelope_bytes -= 64 * 1024

    Receiver.__init__ = cautious  # type: ignore[method-assign]


def _naive_xml() -> None:
    """National XML is parsed as it comes: DTDs loaded, entities resolved, the network allowed."""
    import tamga.adapters.eaeu._adapter as eaeu
    from lxml import etree

    def naive(data: bytes, *, adapter: str = "", source: str = "") -> Any:
        parser = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=False, huge_tree=True)
        return etree.fromstring(data, parser)

    eaeu.parse_xml = naive  # type: ignore[assignment]


MUTANTS: dict[str, Callable[[], None]] = {
    "reference": lambda: None,
    "accepts-tampered": _accepts_tampered,
    "dedup-off": _dedup_off,
    "dedup-forgets-on-restart": _dedup_forgets_on_restart,
    "accepts-stale": _accepts_stale,
    "accepts-wrong-digest": _accepts_wrong_digest,
    "intake-dedup-off": _intake_dedup_off,
    "trusts-senders-records": _trusts_senders_records,
    "trusts-claimed-origin": _trusts_claimed_origin,
    "resends-rejected": _resends_rejected,
    "hides-failures": _hides_failures,
    "forgets-receipt-signatures": _forgets_receipt_signatures,
    "no-file-limit": _no_file_limit,
    "drop-folder-follows-links": _drop_folder_follows_links,
    "drop-folder-stops-on-error": _drop_folder_stops_on_error,
    "refuses-near-the-limit": _refuses_near_the_limit,
    "naive-xml": _naive_xml,
}


def run(mutant: str, home: Path) -> int:
    """Patch the node, then run it as ``tamga run --home HOME`` does."""
    MUTANTS[mutant]()
    from tamga.cli import main

    return main(["run", "--home", str(home), "--log-format", "json"])


def start(mutant: str, home: Path, log: Path) -> subprocess.Popen[bytes]:
    """Start the mutant's node as a process of its own session; returns once it listens.

    Raises:
        RuntimeError: it exited or did not listen within :data:`WAIT` seconds.
    """
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "run", mutant, "--home", str(home)],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={k: v for k, v in os.environ.items() if k != "TAMGA_HOME"},
        )
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mutant {mutant} exited with {proc.returncode}; see {log}")
        try:
            if int((home / "run" / "pid").read_text()) == proc.pid and (home / "run" / "listen").read_text().strip():
                return proc
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"mutant {mutant} did not listen within {WAIT:.0f}s; see {log}")


def _released(home: Path) -> bool:
    """Whether no process holds the node folder's lock (the node has stopped)."""
    fd = os.open(home / "run" / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return True
    finally:
        os.close(fd)


def stop(home: Path) -> int | None:
    """SIGTERM the node running in ``home`` (by its run/pid) and wait until it let go; SIGKILL after WAIT.

    Returns:
        The pid that was stopped, or None if no node ran there.
    """
    try:
        pid = int((home / "run" / "pid").read_text().strip())
    except (OSError, ValueError):
        return None
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    deadline = time.monotonic() + WAIT
    while not _released(home):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + WAIT
        time.sleep(0.05)
    return pid


def restart(mutant: str, home: Path) -> int:
    stopped = stop(home)
    proc = start(mutant, home, home / "node.log")
    print(f"restarted {mutant} in {home}: pid {stopped} -> {proc.pid}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("action", choices=["run", "restart"])
    p.add_argument("mutant", choices=sorted(MUTANTS))
    p.add_argument("--home", required=True, type=Path)
    args = p.parse_args(argv)
    if args.action == "run":
        return run(args.mutant, args.home)
    return restart(args.mutant, args.home)


if __name__ == "__main__":
    sys.exit(main())
