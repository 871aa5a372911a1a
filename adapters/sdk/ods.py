"""Ozone-depleting substances: the shipped ODP table and ODS shipments derived
from declarations.

A declaration whose goods fall under an HS subheading of a Montreal
Protocol controlled substance (HS 2903.14, 2903.19, 2903.41-2903.48,
2903.61, 2903.71-2903.78) yields an :class:`OdsShipment` per such item, so
ODS movements are reported without extra work by the national team:
``with_ods_shipments(records)`` is all an adapter calls after decoding.

ODP tonnes are computed in decimal arithmetic: net mass in tonnes times the
substance's ODP (1,000 kg of HCFC-22 at ODP 0.055 is 0.055 ODP tonnes).
Where a subheading covers several substances (halons, CFCs), the goods
description picks one by keyword; when none matches, the shipment names the
subheading, "substance not identified", and leaves ODP empty rather than guess.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources

from tamga.v1 import common_pb2, records_pb2

__all__ = [
    "ODS_TABLE",
    "OdsSubstance",
    "is_ods_heading",
    "odp_tonnes",
    "ods_shipments_for",
    "substance_for",
    "with_ods_shipments",
    "without_derived",
]


@dataclass(frozen=True)
class OdsSubstance:
    hs6: str
    keywords: tuple[str, ...]
    substance: str
    cas_no: str
    annex_group: str
    odp: str


def _load() -> list[OdsSubstance]:
    text = resources.files("tamga.adapters.sdk").joinpath("data/ods_substances.csv").read_text("utf-8")
    rows = csv.DictReader(io.StringIO("\n".join(line for line in text.splitlines() if not line.startswith("#"))))
    return [
        OdsSubstance(
            hs6=r["hs6"],
            keywords=tuple(k.strip().lower() for k in r["keywords"].split("|") if k.strip()),
            substance=r["substance"],
            cas_no=r["cas_no"],
            annex_group=r["annex_group"],
            odp=r["odp"],
        )
        for r in rows
    ]


#: Every controlled substance with its HS subheading, annex group and ODP.
ODS_TABLE: tuple[OdsSubstance, ...] = tuple(_load())
_BY_HS6: dict[str, list[OdsSubstance]] = {}
for _s in ODS_TABLE:
    _BY_HS6.setdefault(_s.hs6, []).append(_s)


def is_ods_heading(hs6: str) -> bool:
    """Whether goods of this HS subheading are a controlled substance."""
    return hs6 in _BY_HS6


def substance_for(hs6: str, description: str) -> OdsSubstance | None:
    """The substance of goods, or None when the subheading covers several and
    the description names none of them."""
    candidates = _BY_HS6.get(hs6, [])
    if len(candidates) == 1 and not candidates[0].keywords:
        return candidates[0]
    words = description.lower()
    for cand in candidates:
        if any(k in words for k in cand.keywords):
            return cand
    return None


def odp_tonnes(quantity: common_pb2.Quantity, odp: str) -> str:
    """Tonnes times ODP, as a plain decimal string ("0.055")."""
    value = Decimal(quantity.value)
    tonnes = value / 1000 if quantity.unit == "KGM" else value if quantity.unit == "TNE" else None
    if tonnes is None or not odp:
        return ""
    result = (tonnes * Decimal(odp)).normalize()
    return format(result, "f")


def ods_shipments_for(record: records_pb2.Record, *, first_index: int = 0) -> list[records_pb2.Record]:
    """An OdsShipment record for each item of a declaration under an ODS heading."""
    if record.WhichOneof("body") != "declaration_snapshot":
        return []
    from tamga.adapters.sdk.records import record_id_for

    decl = record.declaration_snapshot
    out = []
    for item in decl.items:
        hs6 = item.commodity.hs6
        if not is_ods_heading(hs6):
            continue
        rec = records_pb2.Record()
        rec.meta.CopyFrom(record.meta)
        rec.meta.record_id = record_id_for(
            record.meta.source_format, record.meta.source_record_ref, "ods_shipment", first_index + item.seq
        )
        ods = rec.ods_shipment
        ods.shipment_ref = f"{decl.declaration_no or record.meta.source_record_ref}/{item.seq}"
        ods.status = records_pb2.ODS_STATUS_DECLARED
        ods.direction = decl.direction
        if decl.HasField("exporter"):
            ods.exporter.CopyFrom(decl.exporter)
        if decl.HasField("consignee"):
            ods.importer.CopyFrom(decl.consignee)
        ods.commodity.CopyFrom(item.commodity)
        found = substance_for(hs6, item.commodity.description)
        if found is not None:
            ods.substance = found.substance
            ods.cas_no = found.cas_no
            ods.annex_group = found.annex_group
            ods.odp = found.odp
        else:
            ods.substance = f"substance not identified (HS {hs6[:4]}.{hs6[4:]})"
        ods.state = records_pb2.SUBSTANCE_STATE_VIRGIN
        qty = item.net_mass if item.HasField("net_mass") else item.gross_mass
        if qty.unit in ("KGM", "TNE"):
            ods.quantity.CopyFrom(qty)
            ods.odp_tonnes = odp_tonnes(qty, ods.odp)
        ods.linked_declaration.type = "DECLARATION"
        ods.linked_declaration.number = decl.declaration_no or record.meta.source_record_ref
        ods.linked_declaration.date = decl.acceptance_date
        ods.linked_declaration.issuer_country = record.meta.sender_country
        out.append(rec)
    return out


def with_ods_shipments(records: Sequence[records_pb2.Record]) -> list[records_pb2.Record]:
    """The records, each declaration followed by the ODS shipments it yields."""
    out: list[records_pb2.Record] = []
    for rec in records:
        out.append(rec)
        out.extend(ods_shipments_for(rec))
    return out


def without_derived(records: Sequence[records_pb2.Record]) -> list[records_pb2.Record]:
    """The records minus ODS shipments that ``with_ods_shipments`` would derive
    from a declaration among them: what an encoder writes back. An ODS shipment
    no declaration here yields stays."""
    derived = {
        ods.SerializeToString(deterministic=True)
        for rec in records
        if rec.HasField("declaration_snapshot")
        for ods in ods_shipments_for(rec)
    }
    return [
        r for r in records if not (r.HasField("ods_shipment") and r.SerializeToString(deterministic=True) in derived)
    ]
