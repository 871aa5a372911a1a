"""Writing declaration snapshots as a CUSDEC D96B interchange.

One interchange per call, one CUSDEC message per declaration. The
interchange is written in UNOC (Latin-1, syntax version 3) when every text
fits Latin-1, else in UNOW (UTF-8, syntax version 4), so that Kazakh,
Chinese, Hindi or Persian names reach the national system unchanged. Long
texts are cut into the components D96B gives them (35 characters for names,
70 for free text), never cut off. Fields a record has and CUSDEC as mapped
here does not (procedure code, incoterm, transport...) are not written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, time

from tamga.adapters.edifact import _mapping as m
from tamga.adapters.edifact._syntax import write_interchange
from tamga.v1 import common_pb2, records_pb2

__all__ = ["write_messages"]

Elements = list[list[str]]


def write_messages(records: Sequence[records_pb2.Record]) -> bytes:
    """The interchange carrying these declaration records."""
    messages = [_message(rec, str(n)) for n, rec in enumerate(records, start=1)]
    texts = [c for msg in messages for _tag, els in msg for e in els for c in e]
    unicode = not all(_latin1(t) for t in texts)
    senders = [r.meta.sender_country for r in records if r.meta.sender_country]
    receivers = sorted({c for r in records for c in r.meta.receiver_countries})
    stamp = max((r.meta.created_at.ToDatetime(tzinfo=UTC) for r in records), default=datetime(2000, 1, 1, tzinfo=UTC))
    ref = _control_ref(records)
    unb: Elements = [
        ["UNOW", "4"] if unicode else ["UNOC", "3"],
        [f"{senders[0]}CUSTOMS" if senders else m.HUB, "ZZZ"],
        [f"{receivers[0]}CUSTOMS" if len(receivers) == 1 else m.HUB, "ZZZ"],
        [stamp.strftime("%Y%m%d" if unicode else "%y%m%d"), stamp.strftime("%H%M")],
        [ref],
    ]
    segments: list[tuple[str, Elements]] = [("UNB", unb)]
    for msg in messages:
        segments.extend(msg)
    segments.append(("UNZ", [[str(len(messages))], [ref]]))
    return write_interchange(segments, unicode=unicode)


def _latin1(text: str) -> bool:
    try:
        text.encode("iso-8859-1")
    except UnicodeEncodeError:
        return False
    return True


def _control_ref(records: Sequence[records_pb2.Record]) -> str:
    """An interchange control reference (an..14) that depends only on the records."""
    digest = hashlib.sha256("\x1f".join(r.meta.record_id for r in records).encode()).hexdigest()
    return digest[:14].upper()


def _message(rec: records_pb2.Record, ref: str) -> list[tuple[str, Elements]]:
    decl = rec.declaration_snapshot
    body: list[tuple[str, Elements]] = []
    code = m.DOCUMENT_FOR.get(decl.direction, m.DOCUMENT_FOR[records_pb2.DIRECTION_EXPORT])
    number = decl.declaration_no or rec.meta.source_record_ref
    body.append(("BGM", [[code], [number], [m.FUNCTION_FOR.get(rec.meta.message_function, "9")]]))
    body.append(("DTM", [["137", *_date(rec)]]))
    if decl.procedure_code:
        body.append(("GIS", [[decl.procedure_code]]))
    if decl.ucr:
        body.append(("RFF", [[m.RFF_UCR, decl.ucr]]))
    if decl.dispatch_country:
        body.append(("LOC", [[m.LOC_EXPORTATION], [decl.dispatch_country]]))
    if decl.destination_country:
        body.append(("LOC", [[m.LOC_DESTINATION], [decl.destination_country]]))
    if decl.HasField("total_gross_mass") and decl.total_gross_mass.value:
        body.append(_mea(m.MEA_GROSS, decl.total_gross_mass))
    if decl.HasField("total_packages"):
        body.append(_pac(decl.total_packages))
    if decl.HasField("invoice_amount") and decl.invoice_amount.amount:
        body.append(_moa(m.MOA_INVOICE_TOTAL, decl.invoice_amount))
    for qualifier, name in m.PARTIES.items():
        if decl.HasField(name):  # type: ignore[arg-type]
            body.append(_nad(qualifier, getattr(decl, name)))
    for item in decl.items:
        body.extend(_item(item))
    return [
        ("UNH", [[ref], ["CUSDEC", "D", "96B", "UN"]]),
        *body,
        ("UNT", [[str(len(body) + 2)], [ref]]),
    ]


def _date(rec: records_pb2.Record) -> list[str]:
    """DTM+137: the document's date-time when it falls on the acceptance date
    (format 203), else the acceptance date (102)."""
    created = rec.meta.created_at.ToDatetime(tzinfo=UTC)
    accepted = rec.declaration_snapshot.acceptance_date
    at_midnight = created.time() == time(0)
    if not accepted or (created.date().isoformat() == accepted and not at_midnight):
        if created.second:
            return [created.strftime("%Y%m%d%H%M%S"), "204"]
        if not at_midnight:
            return [created.strftime("%Y%m%d%H%M"), "203"]
        return [created.strftime("%Y%m%d"), "102"]
    return [accepted.replace("-", ""), "102"]


def _item(item: records_pb2.DeclarationItem) -> list[tuple[str, Elements]]:
    c = item.commodity
    out: list[tuple[str, Elements]] = [
        ("CST", [[str(item.seq)], [c.national_code or c.hs6, m.TARIFF_LIST, m.TARIFF_AGENCY]])
    ]
    if c.description:
        out.append(("FTX", [[m.FTX_GOODS], [], [], m.chunks(c.description, m.TEXT_CHUNK, m.TEXT_CHUNKS)]))
    if c.origin_country:
        out.append(("LOC", [[m.LOC_ORIGIN], [c.origin_country]]))
    if item.HasField("gross_mass") and item.gross_mass.value:
        out.append(_mea(m.MEA_GROSS, item.gross_mass))
    if item.HasField("net_mass") and item.net_mass.value:
        out.append(_mea(m.MEA_NET, item.net_mass))
    if item.HasField("packages"):
        out.append(_pac(item.packages))
    if item.HasField("invoice_amount") and item.invoice_amount.amount:
        out.append(_moa(m.MOA_INVOICE_ITEM, item.invoice_amount))
    if item.HasField("customs_value") and item.customs_value.amount:
        out.append(_moa(m.MOA_CUSTOMS_VALUE, item.customs_value))
    return out


def _mea(attribute: str, q: common_pb2.Quantity) -> tuple[str, Elements]:
    return ("MEA", [[m.MEA_WEIGHT], [attribute], [q.unit, q.value]])


def _pac(p: common_pb2.Packages) -> tuple[str, Elements]:
    return ("PAC", [[str(p.count)], [], [p.kind]])


def _moa(qualifier: str, money: common_pb2.Money) -> tuple[str, Elements]:
    return ("MOA", [[qualifier, money.amount, money.currency]])


def _nad(qualifier: str, p: common_pb2.Party) -> tuple[str, Elements]:
    return (
        "NAD",
        [
            [qualifier],
            [p.id, p.id_scheme] if p.id else [],
            [],
            m.chunks(p.name, m.NAME_CHUNK, m.NAME_CHUNKS) if p.name else [],
            m.chunks(p.address, m.STREET_CHUNK, m.STREET_CHUNKS) if p.address else [],
            [],
            [],
            [],
            [p.country],
        ],
    )
