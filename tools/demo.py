"""``make demo``: five customs services, five national formats, records crossing between them.

Creates five nodes in ``demo-federation/``, each with a different national
adapter, as a customs service would run them:

    KZ  eaeu      EEC R.036 GoodsDeclaration XML
    CN  china     GACC DecMessage XML
    IN  icegate   ICES 1.5 shipping bill / bill of entry flat files
    TJ  asycuda   ASYCUDA World SAD XML
    PK  edifact   UN/EDIFACT CUSDEC D96B

with fresh keys, each its own process on a loopback port, talking gRPC over
TLS with pinned certificates. The five found their federation the way customs
services would: one writes the genesis manifest from the five identity files
(``tamga federation init``), every founder signs it (``tamga federation
sign``) and applies it (``tamga federation apply``); the manifest lists the
members, their keys and certificates, and the agreements. Each node's national system drops one declaration, in its
own format, into the node's outgoing folder; the adapter reads it, the node
routes it to the country on the other side of the movement, seals and sends
it, and the receiving node writes it into its incoming folder in *its* own
national format. A declaration of HCFC-22 also yields an ODS shipment record,
which no declaration format carries: it arrives as canonical JSON.

The demo prints what crossed (file in, file out, formats), verifies every
signed receipt against the recipient's key, stops the nodes and exits 0; it
exits 1 if anything did not arrive within the time bound.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tamga.adapters import load_adapter
from tamga.adapters.sdk import new_record, parse_instant
from tamga.adapters.sdk.codes import authority_of
from tamga.errors import CryptoError
from tamga.federation import FederationState, peers_from_manifest
from tamga.protocol import RECEIPT_PURPOSE
from tamga.tools.federation import LocalFederation, NodeProcess, wait_for
from tamga.v1 import envelope_pb2, records_pb2

#: node id -> (country, adapter)
NODES = {
    "KZ": ("KZ", "eaeu"),
    "CN": ("CN", "china"),
    "IN": ("IN", "icegate"),
    "TJ": ("TJ", "asycuda"),
    "PK": ("PK", "edifact"),
}


@dataclass(frozen=True)
class Item:
    code: str  # national tariff code
    description: str
    origin: str
    gross_kg: str
    net_kg: str
    value: str


@dataclass(frozen=True)
class Declaration:
    sender: str
    receiver: str
    direction: int
    number: str
    date: str
    office: tuple[str, str]  # (UN/LOCODE, customs office code)
    exporter: tuple[str, str, str]  # (name, id, id scheme)
    consignee: tuple[str, str, str]
    currency: str
    items: tuple[Item, ...]


EXPORT, IMPORT = records_pb2.DIRECTION_EXPORT, records_pb2.DIRECTION_IMPORT

#: Each service's own procedure codes for (export, import): EAEU list 2002,
#: GACC supervision modes, ICES scheme codes, ASYCUDA extended procedures.
PROCEDURES = {
    "KZ": ("10", "40"),
    "CN": ("0110", "0110"),
    "IN": ("00", "00"),
    "TJ": ("1000", "4000"),
    "PK": ("10", "40"),
}

DECLARATIONS = (
    Declaration(
        "KZ",
        "CN",
        EXPORT,
        "10702020/020326/0004711",
        "2026-03-02",
        ("KZDOS", "55301"),
        ("ТОО «Шымкент Хим»", "123456789012", "BIN"),
        ("乌鲁木齐制冷设备有限公司", "91650100MA77QQ0X1K", "USCC"),
        "USD",
        (
            Item("2903710000", "ХЛОРДИФТОРМЕТАН (ГХФУ-22), 100 БАЛЛОНОВ", "KZ", "1180", "1000", "4500.00"),
            Item("1001990000", "Пшеница мягкая продовольственная", "KZ", "60150", "60000", "18450.00"),
        ),
    ),
    Declaration(
        "CN",
        "KZ",
        EXPORT,
        "530120260000012345",
        "2026-03-03",
        ("CNURC", "9401"),
        ("新疆丝路电子科技有限公司", "91650100MA78XY1234", "USCC"),
        ("ТОО Алматы Электроникс", "987654321098", "BIN"),
        "USD",
        (Item("8517130000", "智能手机 Smartphones", "CN", "420", "380", "98000.00"),),
    ),
    Declaration(
        "IN",
        "TJ",
        EXPORT,
        "INNSA1/4711/20260304",
        "2026-03-04",
        ("INNSA", "INNSA1"),
        ("Bharat Pharma Exports Pvt Ltd", "0512345678", "IEC"),
        ("ООО Душанбе Фарм", "020012345", "TIN"),
        "USD",
        (Item("30049099", "Paracetamol tablets 500 mg / पैरासिटामोल", "IN", "2300", "2100", "36500.00"),),
    ),
    Declaration(
        "TJ",
        "CN",
        IMPORT,
        "TJ001 2026 C 1523",
        "2026-03-05",
        ("TJDYU", "TJ001"),
        ("URUMQI TRADE CO", "91650100MA79AB5678", "USCC"),
        ("ҶДММ Намуна Савдо", "0100200300", "TIN"),
        "USD",
        (Item("8703231990", "Passenger cars, 1.6 l petrol", "CN", "2600", "2480", "31000.00"),),
    ),
    Declaration(
        "PK",
        "KZ",
        EXPORT,
        "PK-EX-2026-000987",
        "2026-03-06",
        ("PKKHI", "KPEX"),
        ("PAK TEXTILE MILLS LTD", "1234567-8", "NTN"),
        ("KAZ TRADE LLP", "112233445566", "BIN"),
        "USD",
        (Item("520812", "COTTON WOVEN FABRIC UNBLEACHED", "PK", "5400", "5200", "18400.00"),),
    ),
)


def build(decl: Declaration, source_format: str) -> records_pb2.Record:
    """The declaration as a record, for the sender's adapter to write in its national format."""
    rec = new_record(
        source_format=source_format,
        source_record_ref=decl.number,
        record_type="declaration_snapshot",
        sender_country=decl.sender,
        receiver_countries=[decl.receiver],
        sender_authority=authority_of(decl.sender),
        created_at=parse_instant(decl.date + "T09:30:00"),
    )
    d = rec.declaration_snapshot
    d.declaration_no = decl.number
    d.direction = decl.direction  # type: ignore[assignment]
    d.procedure_code = PROCEDURES[decl.sender][0 if decl.direction == EXPORT else 1]
    d.acceptance_date = decl.date
    d.customs_office.unlocode, d.customs_office.customs_office_code = decl.office
    d.customs_office.country = decl.sender
    exporter_country, consignee_country = (
        (decl.sender, decl.receiver) if decl.direction == EXPORT else (decl.receiver, decl.sender)
    )
    for party, (name, pid, scheme), country in (
        (d.exporter, decl.exporter, exporter_country),
        (d.consignee, decl.consignee, consignee_country),
    ):
        party.name, party.id, party.id_scheme, party.country = name, pid, scheme, country
    d.dispatch_country, d.destination_country = exporter_country, consignee_country
    d.trading_country = decl.receiver
    total = sum(float(i.value) for i in decl.items)
    d.invoice_amount.amount, d.invoice_amount.currency = f"{total:.2f}", decl.currency
    for seq, it in enumerate(decl.items, start=1):
        item = d.items.add(seq=seq)
        item.commodity.hs6, item.commodity.national_code = it.code[:6], it.code
        item.commodity.description, item.commodity.origin_country = it.description, it.origin
        item.gross_mass.value, item.gross_mass.unit = it.gross_kg, "KGM"
        item.net_mass.value, item.net_mass.unit = it.net_kg, "KGM"
        item.customs_value.amount, item.customs_value.currency = it.value, decl.currency
    return rec


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
    # The recipient's key as the sender's copy of the federation manifest lists it.
    state = FederationState.load(sender.home / "federation")
    peer = peers_from_manifest(state.current, sender.node_id, revoked=state.revoked()).get(recipient.node_id)
    if peer is None:
        return False
    try:
        peer.verify_key.verify(RECEIPT_PURPOSE, signature, batch_bytes)
    except CryptoError:
        return False
    batch = envelope_pb2.ReceiptBatch.FromString(batch_bytes)
    ok = (envelope_pb2.RECEIPT_STATUS_ACCEPTED, envelope_pb2.RECEIPT_STATUS_DUPLICATE)
    return any(r.message_id == message_id and r.envelope_digest == digest and r.status in ok for r in batch.receipts)


@dataclass
class Crossing:
    """One record on its way: where it left, where it should land."""

    sender: str
    recipient: str
    source: str  # file dropped at the sender
    record_type: str
    label: str
    message_id: str = ""
    sent_at: float | None = None
    received_at: float | None = None
    written_as: str = ""
    verified: bool = False


def _crossings(fed: LocalFederation, dropped: dict[str, tuple[str, dict[str, str]]]) -> list[Crossing]:
    """What each sender queued from the dropped files, and how far each got."""
    out = []
    for sender, (source, labels) in dropped.items():
        s = fed[sender]
        for message_id, peer, record_type, submitted_at in s.query(
            "SELECT message_id, peer, record_type, submitted_at FROM outbox WHERE source = ?", (source,)
        ):
            c = Crossing(sender, peer, source, record_type, labels.get(record_type, ""), message_id, submitted_at)
            inbox = fed[peer].query(
                "SELECT received_at, handoff_name, handed_off_at FROM inbox WHERE sender = ? AND message_id = ?",
                (sender, message_id),
            )
            if inbox and inbox[0][2] and (fed[peer].incoming / inbox[0][1]).exists():
                c.received_at, c.written_as = inbox[0][0], inbox[0][1]
                c.verified = receipt_verified(s, fed[peer], message_id)
            out.append(c)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="demo-federation", help="where to create the nodes (wiped first)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for every record")
    args = parser.parse_args(argv)

    root = Path(args.dir).resolve()
    if root.exists():
        shutil.rmtree(root)
    adapters = {node: load_adapter(adapter) for node, (_, adapter) in NODES.items()}

    print(f"creating nodes {', '.join(NODES)} in {root} (fresh keys and TLS certificates)")
    fed = LocalFederation(
        root,
        [(node, country) for node, (country, _) in NODES.items()],
        adapter={node: adapter for node, (_, adapter) in NODES.items()},
        config={"delivery": {"poll_interval": "100ms", "backoff_initial": "200ms", "backoff_max": "5s"}},
        membership="manifest",
        threshold=3,
    )
    changes = [
        line for line in fed.manifest_log[0].splitlines() if line.startswith("  ") and not line.startswith("    ")
    ]
    print(f"founding the federation: {root / 'genesis.proposal'} written by KZ ('tamga federation init'),")
    print("  signed by all five founders ('tamga federation sign'), applied on each node ('tamga federation apply'):")
    for line in changes[:1] + [c for c in changes if "adds member" in c]:
        print(f"  {line.strip()}")
    print(f"  ... and {sum('allows' in c for c in changes)} agreements (every member may send every record type)")
    with fed:
        for node in fed:
            node.start()
            adapter = adapters[node.node_id]
            print(
                f"  node {node.node_id} running as pid {node.proc.pid if node.proc else '?'} on {node.endpoint},"
                f" adapter {adapter.name} ({adapter.source_format})"  # type: ignore[attr-defined]
            )
        print()
        dropped: dict[str, tuple[str, dict[str, str]]] = {}
        expected = 0
        for decl in DECLARATIONS:
            adapter = adapters[decl.sender]
            data = adapter.encode([build(decl, adapter.source_format)])  # type: ignore[attr-defined]
            name = f"{decl.sender.lower()}-export-{decl.date}{adapter.file_suffix}"
            if decl.direction == IMPORT:
                name = name.replace("export", "import")
            records = adapter.decode(data, source=name)
            labels = {}
            for rec in records:
                kind = rec.WhichOneof("body") or ""
                labels[kind] = (
                    rec.declaration_snapshot.declaration_no
                    if kind == "declaration_snapshot"
                    else f"{rec.ods_shipment.substance.split(' (')[0]} {rec.ods_shipment.odp_tonnes} ODP t"
                    if kind == "ods_shipment"
                    else kind
                )
                expected += len(rec.meta.receiver_countries)
            fed[decl.sender].drop(name, data)
            dropped[decl.sender] = (name, labels)
            print(
                f"  {decl.sender}: dropped {name} ({len(data)} bytes, {adapter.source_format}) into its outgoing folder"
            )  # type: ignore[attr-defined]

        started = time.monotonic()

        def all_arrived() -> bool:
            got = _crossings(fed, dropped)
            return len(got) == expected and all(c.written_as and c.verified for c in got)

        try:
            wait_for(all_arrived, args.timeout, interval=0.2, what="every record delivered")
        except TimeoutError:
            pass
        elapsed = time.monotonic() - started
        rows = _crossings(fed, dropped)

        print()
        header = ("FROM", "DROPPED AS", "RECORD", "TO", "WRITTEN AS", "SENT", "RECEIVED", "RECEIPT")
        table = [
            (
                f"{c.sender} ({adapters[c.sender].name})",
                c.source,
                f"{c.record_type} {c.label}"[:48],
                f"{c.recipient} ({adapters[c.recipient].name})",
                c.written_as or "-",
                _time(c.sent_at),
                _time(c.received_at),
                "verified" if c.verified else "NO",
            )
            for c in sorted(rows, key=lambda c: (c.sender, c.record_type))
        ]
        widths = [max(len(str(x)) for x in col) for col in zip(header, *table, strict=False)]
        print("  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
        for row in table:
            print("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))
        print()
        for c in sorted(rows, key=lambda c: c.sender):
            if c.record_type == "declaration_snapshot" and c.written_as:
                path = fed[c.recipient].incoming / c.written_as
                back = adapters[c.recipient].decode(path.read_bytes(), source=path.name)
                d = back[0].declaration_snapshot
                print(
                    f"  {c.recipient} reads {c.written_as} with its {adapters[c.recipient].name} adapter:"
                    f" {d.declaration_no}, {len(d.items)} item(s), first: {d.items[0].commodity.description[:40]}"
                )
        print()
        missing = [c for c in rows if not c.written_as]
        unverified = [c for c in rows if not c.verified]
        for node in fed:
            node.stop()
        if len(rows) != expected or missing or unverified:
            print(
                f"FAILED: {expected} deliveries expected, {len(rows)} queued, {len(missing)} not written at the"
                f" recipient within {args.timeout:.0f}s, {len(unverified)} without a verified receipt;"
                f" node logs are in {root}/*/node.log"
            )
            return 1
        print(
            f"OK: {len(rows)} deliveries between {len(NODES)} node processes in {elapsed:.1f}s, each read from one"
            " national format and written in another, sealed end to end, sent over TLS to a pinned certificate,"
            " acknowledged by a receipt signed with the key the co-signed manifest lists."
        )
        print(f"The nodes are stopped; their folders, stores and logs stay in {root} to look at.")
        return 0


if __name__ == "__main__":
    sys.exit(main())
