"""Helpers for in-process integration tests: node directories, nodes, records, bounded waits.

Every node here is a real :class:`tamga.app.Node` with a real SQLite store in
``tmp_path`` and a real grpc.aio server on 127.0.0.1, port 0 unless a test
needs to know the port before the node runs. Tests drive them with
``asyncio.run`` inside ordinary test functions.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

from google.protobuf import json_format
from tamga.adapters.json_records import JsonAdapter
from tamga.app import Node
from tamga.config import Config, load_config
from tamga.home import add_peer, export_identity, init_home, load_local_identity
from tamga.tools.federation import patch_config
from tamga.v1 import records_pb2

WAIT = 20.0  # seconds: upper bound of every wait in these tests

FAST_DELIVERY = {"poll_interval": "50ms", "backoff_initial": "100ms", "backoff_max": "1s", "idle_close": "500ms"}


# -- node directories ------------------------------------------------------------


def make_home(root: Path, node_id: str, country: str, *, listen: str = "127.0.0.1:0") -> Path:
    """A fresh node directory with fast delivery timings and a short stop grace."""
    home = root / node_id.lower()
    init_home(
        home,
        node_id=node_id,
        country=country,
        authority=f"Customs service of {country}",
        listen=listen,
        advertise=["127.0.0.1:1"],
    )
    patch_config(home, "delivery", FAST_DELIVERY)
    patch_config(home, "server", {"grace": "1s"})
    return home


def identity_file(home: Path, out: Path) -> Path:
    """Export the node's identity file (placeholder endpoint; tests set the real one)."""
    cfg = load_config(home)
    out.write_text(export_identity(load_local_identity(cfg), ["127.0.0.1:1"]), "utf-8")
    return out


def peer_up(homes: Sequence[Path], root: Path) -> None:
    """Peer every node directory with every other."""
    files = {h: identity_file(h, root / f"{h.name}.identity.json") for h in homes}
    for h in homes:
        cfg = load_config(h)
        for other, path in files.items():
            if other != h:
                add_peer(cfg, path)


def pair(root: Path, *, uz_listen: str = "127.0.0.1:0") -> tuple[Path, Path]:
    """Node directories KZ and UZ, peered with each other."""
    kz = make_home(root, "KZ", "KZ")
    uz = make_home(root, "UZ", "UZ", listen=uz_listen)
    peer_up([kz, uz], root)
    return kz, uz


async def open_node(home: Path) -> Node:
    return await Node.open(load_config(home))


def point(node: Node, peer_id: str, port: int) -> None:
    """Make ``node`` reach ``peer_id`` at 127.0.0.1:port (before start_work)."""
    peer = node.peers.get(peer_id)
    assert peer is not None, f"{node.local.node_id} has no peer {peer_id}"
    peer.endpoints = (f"127.0.0.1:{port}",)


async def start_nodes(homes: Sequence[Path]) -> list[Node]:
    """Open every node, start every server, point each at the others, then start their work."""
    nodes: list[Node] = []
    try:
        for h in homes:
            nodes.append(await open_node(h))
        for n in nodes:
            await n.start_server()
        for n in nodes:
            for other in nodes:
                if other is not n:
                    point(n, other.local.node_id, other.port)
        for n in nodes:
            await n.start_work()
    except BaseException:
        await stop_all(*nodes)
        raise
    return nodes


async def start_pair(kz_home: Path, uz_home: Path) -> tuple[Node, Node]:
    """Open both nodes, start both servers, point them at each other, start their work."""
    kz, uz = await start_nodes([kz_home, uz_home])
    return kz, uz


async def stop_all(*nodes: Node | None) -> None:
    for n in nodes:
        if n is not None:
            await n.stop()


# -- waiting ---------------------------------------------------------------------


async def wait_until(
    predicate: Callable[[], bool | Awaitable[bool]], what: str, timeout: float = WAIT, interval: float = 0.05
) -> None:
    """Poll ``predicate`` (sync or async) until true; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for: {what}")
        await asyncio.sleep(interval)


# -- reading a node's folders and store ---------------------------------------------


def files_in(folder: Path) -> list[Path]:
    """Visible files of a folder (no dot-names), sorted."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def query(db: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Read a node's store read-only (safe while the node runs)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
    try:
        return list(conn.execute(sql, params))
    finally:
        conn.close()


def db_path(home: Path) -> Path:
    cfg: Config = load_config(home)
    return cfg.path(cfg.store.path)


def incoming_records(home: Path) -> dict[str, list[records_pb2.Record]]:
    """Records in the incoming folder, by record id (a list, to see duplicates)."""
    out: dict[str, list[records_pb2.Record]] = {}
    adapter = JsonAdapter()
    for f in files_in(home / "incoming"):
        for rec in adapter.decode(f.read_bytes(), source=f.name):
            out.setdefault(rec.meta.record_id, []).append(rec)
    return out


# -- records ---------------------------------------------------------------------


def declaration(sender: str, receivers: Sequence[str], n: int = 1) -> dict[str, Any]:
    """A declaration snapshot in canonical JSON."""
    return {
        "meta": {
            "recordId": str(uuid.uuid4()),
            "senderCountry": sender,
            "receiverCountries": list(receivers),
            "senderAuthority": f"Customs service of {sender}",
            "createdAt": "2024-03-01T10:00:00Z",
            "sourceFormat": "EEC:R.036",
            "sourceRecordRef": f"10702020/010324/{n:07d}",
            "messageFunction": "MESSAGE_FUNCTION_ORIGINAL",
            "handling": "HANDLING_RESTRICTED",
        },
        "declarationSnapshot": {
            "declarationNo": f"10702020/010324/{n:07d}",
            "direction": "DIRECTION_EXPORT",
            "procedureCode": "1000",
            "acceptanceDate": "2024-03-01",
            "exporter": {"name": "Ak Zhol LLP", "id": "123456789012", "idScheme": "BIN", "country": sender},
            "consignee": {"name": "Tashkent Trade", "id": "305123456", "idScheme": "TIN", "country": receivers[0]},
            "dispatchCountry": sender,
            "destinationCountry": receivers[0],
            "containerIds": ["MSKU1234565"],
            "invoiceAmount": {"amount": "1250.00", "currency": "USD"},
            "items": [
                {
                    "seq": 1,
                    "commodity": {"hs6": "100199", "description": "Wheat \u2014 \u0431\u0438\u0434\u0430\u0439"},
                    "grossMass": {"value": "20000.5", "unit": "KGM"},
                    "customsValue": {"amount": "1250.00", "currency": "USD"},
                }
            ],
        },
    }


def contact_message(sender: str, receivers: Sequence[str], subject: str = "Verify declaration") -> dict[str, Any]:
    """A contact-point message in canonical JSON."""
    return {
        "meta": {
            "recordId": str(uuid.uuid4()),
            "senderCountry": sender,
            "receiverCountries": list(receivers),
            "senderAuthority": f"Customs service of {sender}",
            "createdAt": "2024-03-01T10:00:00Z",
            "sourceFormat": "TAMGA:JSON",
            "sourceRecordRef": f"{sender}-CP-{subject}",
            "messageFunction": "MESSAGE_FUNCTION_ORIGINAL",
            "handling": "HANDLING_LAW_ENFORCEMENT",
        },
        "contactPointMessage": {
            "kind": "CONTACT_POINT_KIND_REQUEST",
            "threadId": str(uuid.uuid4()),
            "legalBasis": "SCO 2018 regulation on 24-hour contact points",
            "requestingAuthority": f"Customs service of {sender}",
            "requestedAuthority": f"Customs service of {receivers[0]}",
            "contactPointId": f"{sender}-24H-01",
            "priority": "PRIORITY_URGENT",
            "responseDue": "2024-03-02T10:00:00Z",
            "measureRequested": "VERIFY_DECLARATION",
            "subject": subject,
            "reason": "Mirror data mismatch",
            "factsSummary": "Export and import declarations differ in quantity",
            "companies": [{"name": "Ak Zhol LLP", "role": "EXPORTER"}],
            "language": "en",
        },
    }


def records_file(records: Sequence[dict[str, Any]]) -> bytes:
    return json.dumps({"records": list(records)}, ensure_ascii=False).encode("utf-8")


def as_record(item: dict[str, Any]) -> records_pb2.Record:
    rec = records_pb2.Record()
    json_format.ParseDict(item, rec)
    return rec
