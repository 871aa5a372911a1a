"""No record content in the clear: not on the wire, not in the store, not in the logs.

KZ sends records full of a distinctive string to UZ through a loopback TCP
proxy that records every byte in both directions. After UZ has handed the
records to its national system (the proxy carried them), the string must
appear nowhere but where the national systems put and take their files:
not in the captured traffic, not in any file of either node directory
(store, WAL, shared memory, logs, run files) while the nodes run and after
they stopped. Positive controls make sure each check could fail: the string
is in UZ's incoming files, and the proxy carried the envelopes. Over TLS (the
default) the proxy sees a TLS handshake and not even the envelopes' message
ids; in development plaintext mode ([server] plaintext = true on both sides)
it sees the message ids in the clear, but still no record content.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import uuid
from pathlib import Path
from types import TracebackType

import pytest
from tamga.config import load_config
from tamga.home import add_peer
from tamga.tools.federation import LocalFederation, NodeProcess, wait_for

from .helpers import FAST_CONFIG, declaration, decode_incoming, records_file, visible_files

pytestmark = pytest.mark.slow

CANARY = "ZEBRA-CANARY-7731"
WAIT = 60.0  # seconds: upper bound of every wait in this file
# Folders where the national system and the node exchange plaintext files by design.
NATIONAL_FOLDERS = {"outgoing", "processed", "failed", "incoming"}


class RecordingProxy:
    """TCP 127.0.0.1:port -> 127.0.0.1:upstream_port, keeping every byte each way."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.1)
        self.port = int(self._listener.getsockname()[1])
        self._to_upstream = bytearray()
        self._from_upstream = bytearray()
        self.connections = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> RecordingProxy:
        self._spawn(self._accept_loop)
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    def captured(self) -> tuple[bytes, bytes]:
        """(client -> upstream, upstream -> client) so far."""
        with self._lock:
            return bytes(self._to_upstream), bytes(self._from_upstream)

    def _spawn(self, target: object, *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        with self._lock:
            self._threads.append(t)
        t.start()

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=5)
            except OSError:
                client.close()
                continue
            client.settimeout(None)
            upstream.settimeout(None)
            with self._lock:
                self.connections += 1
                self._sockets += [client, upstream]
            self._spawn(self._pump, client, upstream, self._to_upstream)
            self._spawn(self._pump, upstream, client, self._from_upstream)

    def _pump(self, src: socket.socket, dst: socket.socket, sink: bytearray) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self._lock:
                    sink.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self._stop.set()
        self._listener.close()
        with self._lock:
            sockets, threads = list(self._sockets), list(self._threads)
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        for t in threads:
            t.join(5)


def canary_records() -> list[dict[str, object]]:
    """Records that carry the canary in many fields, of both record types."""
    first = declaration(
        f"{CANARY}/0001",
        exporter=f"{CANARY} Trading LLP",
        description=f"Widgets stamped {CANARY}",
    )
    snapshot = first["declarationSnapshot"]
    assert isinstance(snapshot, dict)
    snapshot.update(
        consignee={"name": f"Consignee {CANARY}", "address": f"1 {CANARY} Street, Tashkent"},
        transportDocNo=f"CMR-{CANARY}",
        transportMeansId=f"{CANARY} 02",
        containerIds=["MSCU0123450"],  # a container number is 11 characters with a check digit: no room
    )
    second = declaration(
        f"DEC-{CANARY}-0002",
        exporter=f"ТОО «Зебра» {CANARY}",
        description=f"Товар {CANARY}",
    )
    third = {
        "meta": {
            "recordId": str(uuid.uuid4()),
            "senderCountry": "KZ",
            "receiverCountries": ["UZ"],
            "senderAuthority": "State Revenue Committee of the Republic of Kazakhstan",
            "createdAt": "2026-03-01T10:00:00Z",
            "sourceFormat": "TAMGA:JSON",
            "sourceRecordRef": f"ALERT-{CANARY}",
            "messageFunction": "MESSAGE_FUNCTION_ORIGINAL",
            "handling": "HANDLING_LAW_ENFORCEMENT",
        },
        "contactPointMessage": {
            "kind": "CONTACT_POINT_KIND_ALERT",
            "threadId": str(uuid.uuid4()),
            "legalBasis": "SCO 2018 regulation on 24-hour contact points",
            "requestingAuthority": "State Revenue Committee of the Republic of Kazakhstan",
            "requestedAuthority": "Customs Committee of the Republic of Uzbekistan",
            "contactPointId": "KZ-24H-01",
            "priority": "PRIORITY_HIGH",
            "language": "en",
            "subject": f"Alert about {CANARY}",
            "factsSummary": f"Shipments of {CANARY} under-declared",
            "companies": [{"name": CANARY}],
        },
    }
    return [first, second, third]


def files_with_canary(node: NodeProcess) -> dict[str, int]:
    """Files of the node directory outside the national drop folders that hold the canary."""
    needle = CANARY.encode()
    found = {}
    for path in sorted(node.home.rglob("*")):
        rel = path.relative_to(node.home)
        if rel.parts[0] in NATIONAL_FOLDERS or not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except FileNotFoundError:  # a WAL or shm file that went away meanwhile
            continue
        if needle in data:
            found[str(rel)] = data.count(needle)
    return found


def scanned(node: NodeProcess) -> list[str]:
    return sorted(
        str(p.relative_to(node.home))
        for p in node.home.rglob("*")
        if p.is_file() and p.relative_to(node.home).parts[0] not in NATIONAL_FOLDERS
    )


@pytest.mark.parametrize("transport", ["tls", "plaintext"])
def test_no_record_content_on_the_wire_in_the_store_or_in_the_logs(tmp_path: Path, transport: str) -> None:
    records = canary_records()
    fed_root = tmp_path / "fed"
    config = {**FAST_CONFIG, "server": {"plaintext": transport == "plaintext"}}
    with (
        LocalFederation(fed_root, [("KZ", "KZ"), ("UZ", "UZ")], config=config) as fed,
        RecordingProxy(fed["UZ"].port) as proxy,
    ):
        kz, uz = fed["KZ"], fed["UZ"]
        # KZ reaches UZ only through the proxy.
        add_peer(load_config(kz.home), fed_root / "UZ.identity.json", endpoint=proxy.endpoint, replace=True)
        fed.start()
        kz.drop("batch-0001.json", records_file(records))

        wait_for(lambda: len(uz.incoming_files()) == len(records), WAIT, what="records in UZ/incoming")
        wait_for(lambda: kz.outbox_counts() == {"delivered": len(records)}, WAIT, what="receipts at KZ")

        # Positive controls: the records went through the proxy and arrived whole.
        to_uz, to_kz = proxy.captured()
        assert proxy.connections >= 1
        message_ids = [m for (m,) in kz.query("SELECT message_id FROM outbox")]
        if transport == "plaintext":
            for mid in message_ids:
                assert mid.encode() in to_uz, f"envelope {mid} did not pass through the proxy"
                assert mid.encode() in to_kz, f"receipt for {mid} did not pass through the proxy"
        else:
            # TLS from the first byte each way (a handshake record, 0x16 0x03), the envelopes'
            # bytes went through (at least their size), and not even a message id is visible.
            assert to_uz[:2] == b"\x16\x03" and to_kz[:2] == b"\x16\x03", (to_uz[:8], to_kz[:8])
            sent = sum(n for (n,) in kz.query("SELECT length(envelope) FROM outbox"))
            assert len(to_uz) >= sent, f"only {len(to_uz)} bytes to UZ for {sent} bytes of envelopes"
            for mid in message_ids:
                assert mid.encode() not in to_uz + to_kz, f"message id {mid} in the clear through TLS"
        arrived = decode_incoming(uz)
        assert len(arrived) == len(records)
        incoming_text = b"".join(p.read_bytes() for p, _ in arrived)
        assert incoming_text.count(CANARY.encode()) >= 12, "positive control: the canary reached UZ's files"
        assert CANARY.encode() in b"".join(p.read_bytes() for p in visible_files(kz.home / "processed"))

        # Nothing of the records on the wire, either way.
        assert CANARY.encode() not in to_uz, "record content in cleartext on the wire (KZ -> UZ)"
        assert CANARY.encode() not in to_kz, "record content in cleartext on the wire (UZ -> KZ)"

        # Nor in any file of either node while it runs (store, WAL, shm, logs, run files, peers).
        for node in (kz, uz):
            files = scanned(node)
            assert "state/tamga.db" in files and "node.log" in files, files
            assert any(f.startswith("state/tamga.db-wal") for f in files), files
            assert files_with_canary(node) == {}, f"{node.node_id}: record content in {files_with_canary(node)}"

        fed.stop()
        for node in (kz, uz):
            assert not node.running
            assert files_with_canary(node) == {}, f"{node.node_id}: record content in {files_with_canary(node)}"
            assert b"node_stopped" in node.log_path.read_bytes()


def test_a_refused_file_does_not_put_record_content_in_the_log(tmp_path: Path) -> None:
    """The log carries ids and counts, never record contents, also when a file is refused.

    The national IT team gets the details in failed/NAME.error.json, next to the file.
    """
    bad_files = {
        # a value the adapter cannot parse (an enum, an integer)
        "bad-enum.json": [{**declaration("DEC-1"), "declarationSnapshot": {"direction": CANARY}}],
        "bad-int.json": [{**declaration("DEC-2"), "declarationSnapshot": {"items": [{"seq": CANARY}]}}],
        # a value the node's own checks refuse
        "bad-country.json": [declaration("DEC-3", receivers=[CANARY])],
    }
    with LocalFederation(tmp_path / "fed", [("KZ", "KZ"), ("UZ", "UZ")], config=FAST_CONFIG) as fed:
        kz = fed["KZ"]
        fed.start()
        for name, recs in bad_files.items():
            kz.drop(name, records_file(recs))
        failed = kz.home / "failed"
        wait_for(
            lambda: all((failed / f"{name}.error.json").exists() for name in bad_files),
            WAIT,
            what="every bad file refused",
        )
        assert kz.outbox_counts() == {}, "nothing of a refused file is queued"
        # The report is written before the event is logged: wait for the events too.
        wait_for(
            lambda: kz.log_path.read_text("utf-8").count('"file_failed"') >= len(bad_files),
            WAIT,
            what="every refusal logged",
        )
        log = kz.log_path.read_text("utf-8")
        assert log.count('"file_failed"') == len(bad_files), log
        leaking = [line for line in log.splitlines() if CANARY in line]
        assert not leaking, "record content in the node log:\n" + "\n".join(leaking)
