"""From a DeclarationSnapshot to an ICES Bill of Entry or Shipping Bill.

Imports become a Bill of Entry (CACHI01), exports a Shipping Bill (CACHE01).
The file is what the records hold, laid out as ICES expects; it is meant for
the national system to compare with, not to be filed: the flags ICES needs
for filing (green channel, section 48, first check...) are left empty.

A declaration read from ICES comes back field for field. One from another
country is written as far as ICES can hold it:

- its number goes into the job number (the custom house is its customs
  office code; the job date its acceptance date);
- the tariff heading is its HS6 followed by ``00``: another country's
  national subdivision means nothing in India's tariff;
- the BE type is left empty (its procedure code is in another code list);
- units and transport modes without an ICES equivalent are left out.

The HREC sender is ``TAMGA`` and the control number is the job number.
"""

from __future__ import annotations

import re
from datetime import UTC
from typing import TYPE_CHECKING

from tamga.adapters.icegate.codes import INVOICE_TERMS, MESSAGE_TYPE_CODES, TRANSPORT_MODES
from tamga.adapters.icegate.decode import IST
from tamga.adapters.icegate.flatfile import write
from tamga.adapters.icegate.layout import BE, SB, Message
from tamga.adapters.sdk.codes import ICES_UNITS, CodeTable
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

if TYPE_CHECKING:
    from tamga.adapters.icegate.adapter import IcegateAdapter

__all__ = ["from_record", "split_parts"]

_OWN_NUMBER = re.compile(r"(IN[A-Z0-9]{3}[0-9])/([^/]+)/([0-9]{8})")


def split_parts(text: str, count: int) -> list[str]:
    """``count`` fields from text joined by :func:`~.decode.join_parts`; lines
    beyond the last field are joined into it with spaces."""
    parts = text.split("\n")
    if len(parts) > count:
        parts = [*parts[: count - 1], " ".join(parts[count - 1 :])]
    return parts + [""] * (count - len(parts))


def _national(table: CodeTable, code: str) -> str:
    """The ICES code of a standard one, or empty when ICES has none."""
    if not code:
        return ""
    try:
        return table.to_national(code)
    except AdapterError:  # the table has no equivalent
        return ""


def _quantity(item: records_pb2.DeclarationItem) -> tuple[str, str]:
    """The item's quantity in an ICES unit: the supplementary quantity, else
    the net mass, else the gross mass; empty when none has an ICES unit."""
    for name in ("supplementary_quantity", "net_mass", "gross_mass"):
        if item.HasField(name):
            q: common_pb2.Quantity = getattr(item, name)
            unit = _national(ICES_UNITS, q.unit)
            if q.value and unit:
                return q.value, unit
    return "", ""


def from_record(rec: records_pb2.Record, adapter: IcegateAdapter) -> bytes:
    """The ICES file of one declaration.

    Raises:
        AdapterError: the declaration is neither an import nor an export, or
            it is a cancellation (ICES has no cancellation message here).
    """
    decl = rec.declaration_snapshot
    if decl.direction == records_pb2.DIRECTION_IMPORT:
        msg: Message = BE
    elif decl.direction == records_pb2.DIRECTION_EXPORT:
        msg = SB
    else:
        direction = records_pb2.Direction.Name(decl.direction)
        raise adapter.error(
            f"ICES carries imports (Bill of Entry) and exports (Shipping Bill), not {direction}",
            record=decl.declaration_no or rec.meta.record_id,
        )
    message_type = MESSAGE_TYPE_CODES.get(rec.meta.message_function)
    if message_type is None:
        function = common_pb2.MessageFunction.Name(rec.meta.message_function)
        raise adapter.error(
            f"ICES has no message type for {function}: a cancellation written as a fresh {msg.kind} would"
            " read as a new declaration",
            record=decl.declaration_no or rec.meta.record_id,
        )
    from_ices = rec.meta.source_format.startswith("ICES:")
    own = _OWN_NUMBER.fullmatch(decl.declaration_no)
    if own:
        custom_house, job_no, job_date = own.groups()
    else:
        custom_house = decl.customs_office.customs_office_code or decl.customs_office.unlocode
        job_no = decl.declaration_no or rec.meta.source_record_ref
        job_date = decl.acceptance_date.replace("-", "")
    local = rec.meta.created_at.ToDatetime().replace(tzinfo=UTC).astimezone(IST)
    header = {
        "record": "HREC",
        "sender_qualifier": "ZZ",
        "sender_id": "TAMGA",
        "receiver_qualifier": "ZZ",
        "custom_house": custom_house,
        "version": "ICES1_5",
        "mode": "P",
        "message_id": msg.message_id,
        "control_no": job_no or "1",
        "date": local.strftime("%Y%m%d"),
        "time": local.strftime("%H%M"),
    }
    prefix = {"message_type": message_type, "custom_house": custom_house, "job_no": job_no, "job_date": job_date}

    main = dict(prefix)
    if decl.declarant.id_scheme == "CHA":
        main["cha_code"] = decl.declarant.id
    if msg is BE:
        _bill_of_entry(decl, main, from_ices)
    else:
        _shipping_bill(decl, main)

    invoices, items = _invoices_and_items(decl, prefix, msg, from_ices)
    exchange = []
    if decl.exchange_rate and decl.invoice_amount.currency:
        exchange.append(
            {**prefix, "currency": decl.invoice_amount.currency, "unit_in_inr": "1", "rate": decl.exchange_rate}
        )
    containers = [{**prefix, "container_no": c} for c in decl.container_ids]
    tables = [(msg.main, [main]), ("EXCHANGE", exchange), ("INVOICE", invoices), (msg.items, items)]
    if containers:
        tables.append(("CONTAINER", containers))
    return write(msg, header, [(name, rows) for name, rows in tables if rows])


def _bill_of_entry(decl: records_pb2.DeclarationSnapshot, be: dict[str, str], from_ices: bool) -> None:
    be["be_type"] = decl.procedure_code if from_ices else ""
    imp = decl.consignee
    be["importer_name"] = imp.name
    be["iec"] = imp.id if imp.id_scheme == "IEC" else ""
    cols = ("importer_address1", "importer_address2", "importer_city", "importer_state", "importer_pin")
    be.update(zip(cols, split_parts(imp.address, len(cols)), strict=True))
    be["transport_mode"] = _national(TRANSPORT_MODES, decl.transport_mode)
    be["country_of_consignment"] = decl.dispatch_country
    be["country_of_origin"] = next((i.commodity.origin_country for i in decl.items if i.commodity.origin_country), "")


def _shipping_bill(decl: records_pb2.DeclarationSnapshot, sb: dict[str, str]) -> None:
    exp = decl.exporter
    sb["exporter_name"] = exp.name
    sb["iec"] = exp.id if exp.id_scheme == "IEC" else ""
    cols = ("exporter_address1", "exporter_address2", "exporter_city", "exporter_state", "exporter_pin")
    sb.update(zip(cols, split_parts(exp.address, len(cols)), strict=True))
    con = decl.consignee
    sb["consignee_name"] = con.name
    cols = tuple(f"consignee_address{i}" for i in range(1, 5))
    sb.update(zip(cols, split_parts(con.address, len(cols)), strict=True))
    sb["consignee_country"] = con.country
    sb["country_of_final_destination"] = decl.destination_country
    unit = _national(ICES_UNITS, decl.total_gross_mass.unit)
    if decl.total_gross_mass.value and unit:
        sb["gross_weight"], sb["weight_unit"] = decl.total_gross_mass.value, unit
    if decl.total_packages.count:
        sb["total_packages"] = str(decl.total_packages.count)
    sb["mawb_no"] = decl.transport_doc_no


def _invoice_of(item: records_pb2.DeclarationItem) -> tuple[str, str] | None:
    for doc in item.documents:
        if doc.type == "INVOICE":
            return doc.number, doc.date
    return None


def _invoices_and_items(
    decl: records_pb2.DeclarationSnapshot, prefix: dict[str, str], msg: Message, from_ices: bool
) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    keys: list[tuple[str, str] | None] = list(dict.fromkeys(_invoice_of(i) for i in decl.items)) or [None]
    invoices = []
    for sr, key in enumerate(keys, 1):
        number, date = key or ("", "")
        invoices.append(
            {
                **prefix,
                "invoice_sr_no": str(sr),
                "invoice_no": number,
                "invoice_date": date.replace("-", ""),
                "currency": decl.invoice_amount.currency,
            }
        )
    first = invoices[0]
    first["invoice_value"] = decl.invoice_amount.amount
    terms = _national(INVOICE_TERMS, decl.incoterm)
    if msg is BE:
        first["invoice_terms"] = terms
        sup = decl.exporter
        first["supplier_name"] = sup.name
        first["supplier_address"], first["supplier_city"] = split_parts(sup.address, 2)
        first["supplier_country"] = sup.country
    else:
        first["nature_of_contract"] = terms

    items = []
    counts: dict[int, int] = {}
    for item in decl.items:
        sr = keys.index(_invoice_of(item)) + 1
        counts[sr] = counts.get(sr, 0) + 1
        quantity, unit = _quantity(item)
        c = item.commodity
        tariff = c.national_code if from_ices and len(c.national_code) == 8 else (c.hs6 + "00" if c.hs6 else "")
        row = {**prefix, "invoice_sr_no": str(sr), "item_sr_no": str(counts[sr]), "quantity": quantity, "unit": unit}
        if msg is BE:
            row.update(cth=tariff, description=c.description, country_of_origin=c.origin_country)
        else:
            row["ritc"] = tariff
            if from_ices:
                row["scheme_code"] = item.procedure_code or decl.procedure_code
            row.update(
                zip(("description1", "description2", "description3"), split_parts(c.description, 3), strict=True)
            )
        items.append(row)
    return invoices, items
