"""From a parsed ICES Bill of Entry or Shipping Bill to a DeclarationSnapshot.

The declaration number is built from what the filer's file says about itself:
``<custom house>/<job no>/<job date>``, e.g. ``INNSA1/4711/20260301``. (The
BE or SB number customs assigns on submission is not in the filed message.)
The job date is the acceptance date; the HREC date and time, Indian Standard
Time (UTC+05:30), are the record's ``created_at``.

Addresses and descriptions spread over several ICES fields are joined with
line breaks, one per field, empty fields kept in place (trailing ones
dropped), so that encoding puts every part back where it was.

An item's quantity goes to ``net_mass`` when its unit is a mass (KGS, TON,
GMS...), to ``supplementary_quantity`` otherwise. Each item lists its
invoice (number and date) among its documents. With several invoices, the
exporter, terms and currency come from the first; the invoice amount is the
sum of those in the first invoice's currency.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import TYPE_CHECKING

from tamga.adapters.icegate.codes import INVOICE_TERMS, MESSAGE_TYPES, TRANSPORT_MODES
from tamga.adapters.icegate.flatfile import IcesFile, Row
from tamga.adapters.icegate.layout import BE, Message
from tamga.adapters.sdk.codes import ICES_UNITS, authority_of, is_country, is_currency
from tamga.adapters.sdk.records import new_record
from tamga.v1 import common_pb2, records_pb2

if TYPE_CHECKING:
    from tamga.adapters.icegate.adapter import IcegateAdapter

__all__ = ["IST", "MASS_UNITS", "join_parts", "source_format_of", "to_record"]

#: Indian Standard Time, the clock of ICES header dates.
IST = timezone(timedelta(hours=5, minutes=30))
#: Rec 20 units of mass: quantities in them are net masses.
MASS_UNITS = frozenset({"KGM", "TNE", "GRM"})

_CUSTOM_HOUSE = re.compile(r"IN[A-Z0-9]{3}[0-9]")
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")
_DIGITS = re.compile(r"[0-9]+")
_TARIFF = re.compile(r"[0-9]{8}")


def source_format_of(message: Message) -> str:
    """``RecordMeta.source_format`` of a message: ``ICES:CACHI01`` or ``ICES:CACHE01``."""
    return f"ICES:{message.message_id}"


def join_parts(parts: list[str]) -> str:
    """Parts of an address or description, one per line, trailing empty ones dropped."""
    while parts and not parts[-1]:
        parts = parts[:-1]
    return "\n".join(parts)


class _Reader:
    """Reads typed values out of rows, with errors that say where."""

    def __init__(self, adapter: IcegateAdapter) -> None:
        self.adapter = adapter

    def fail(self, message: str, row: Row, column: str = "") -> Exception:
        return self.adapter.error(message, **row.where(column))

    def date(self, row: Row, column: str, *, required: bool = False) -> str:
        value = row.get(column)
        if not value and not required:
            return ""
        try:
            if len(value) != 8 or not value.isdigit():
                raise ValueError
            return datetime.strptime(value, "%Y%m%d").date().isoformat()
        except ValueError:
            raise self.fail(f"{column} {value!r} is not a date in the form YYYYMMDD", row, column) from None

    def decimal(self, row: Row, column: str) -> str:
        value = row.get(column)
        if value and not _DECIMAL.fullmatch(value):
            raise self.fail(f"{column} {value!r} is not a decimal number (digits, optional point)", row, column)
        return value

    def country(self, row: Row, column: str, *, required: bool = False) -> str:
        value = row.get(column)
        if not value and not required:
            return ""
        if not is_country(value):
            raise self.fail(f"{column} {value!r} is not an ISO 3166-1 alpha-2 country code", row, column)
        return value

    def currency(self, row: Row, column: str) -> str:
        value = row.get(column)
        if value and not is_currency(value):
            raise self.fail(f"{column} {value!r} is not an ISO 4217 currency code", row, column)
        return value

    def code(self, table: object, row: Row, column: str) -> str:
        value = row.get(column)
        if not value:
            return ""
        with self.adapter.located(**row.where(column)):
            return str(table.to_standard(value))  # type: ignore[attr-defined]

    def number(self, row: Row, column: str) -> int:
        value = row.get(column)
        if not _DIGITS.fullmatch(value) or len(value) > 9:
            raise self.fail(f"{column} {value!r} is not a whole number", row, column)
        return int(value)

    def quantity(self, row: Row, value_col: str, unit_col: str) -> common_pb2.Quantity | None:
        value, unit = self.decimal(row, value_col), row.get(unit_col)
        if not value and not unit:
            return None
        if not value:
            raise self.fail(f"{unit_col} {unit!r} is given without a {value_col}", row, value_col)
        if not unit:
            raise self.fail(f"{value_col} {value!r} is given without a unit", row, unit_col)
        return common_pb2.Quantity(value=value, unit=self.code(ICES_UNITS, row, unit_col))

    def tariff(self, row: Row, column: str) -> common_pb2.Commodity:
        value = row.get(column)
        if not _TARIFF.fullmatch(value):
            raise self.fail(f"{column} {value!r} is not an 8-digit ICES tariff heading (CTH/RITC)", row, column)
        return common_pb2.Commodity(hs6=value[:6], national_code=value)


def to_record(ices: IcesFile, adapter: IcegateAdapter) -> records_pb2.Record:
    """The declaration a parsed file holds.

    Raises:
        AdapterError: a value is missing, malformed or not in its code list.
    """
    r = _Reader(adapter)
    msg = ices.message
    main = ices.rows(msg.main)[0]
    for rows in ices.tables.values():
        for row in rows:
            if row.get("message_type") not in MESSAGE_TYPES:
                raise r.fail(
                    f"message type {row.get('message_type')!r} is unknown (F fresh, A amendment)", row, "message_type"
                )
    custom_house = main.get("custom_house")
    if not _CUSTOM_HOUSE.fullmatch(custom_house):
        raise r.fail(
            f"custom house {custom_house!r} is not an ICES custom house code"
            " (an Indian UN/LOCODE and a digit, e.g. INNSA1)",
            main,
            "custom_house",
        )
    job_no = main.get("job_no")
    if not job_no:
        raise r.fail("the job number is empty", main, "job_no")
    acceptance = r.date(main, "job_date", required=True)
    declaration_no = f"{custom_house}/{job_no}/{main.get('job_date')}"
    created_at = _created_at(ices, adapter)

    decl = records_pb2.DeclarationSnapshot(declaration_no=declaration_no, acceptance_date=acceptance)
    decl.customs_office.unlocode = custom_house[:5]
    decl.customs_office.customs_office_code = custom_house
    decl.customs_office.country = "IN"
    cha = main.get("cha_code")
    if cha:
        decl.declarant.id = cha
        decl.declarant.id_scheme = "CHA"
        decl.declarant.country = "IN"
    if msg is BE:
        _bill_of_entry(r, ices, main, decl)
        sender, receivers = "IN", [decl.dispatch_country]
    else:
        _shipping_bill(r, ices, main, decl)
        sender, receivers = "IN", [decl.destination_country]
    _invoices_and_items(r, ices, decl)
    for row in ices.rows("CONTAINER"):
        if row.get("container_no"):
            decl.container_ids.append(row.get("container_no"))

    rec = new_record(
        source_format=source_format_of(msg),
        source_record_ref=declaration_no,
        record_type="declaration_snapshot",
        sender_country=sender,
        receiver_countries=receivers,
        sender_authority=authority_of(sender),
        created_at=created_at,
        message_function=MESSAGE_TYPES[main.get("message_type")],
    )
    rec.declaration_snapshot.CopyFrom(decl)
    return rec


def _created_at(ices: IcesFile, adapter: IcegateAdapter) -> datetime:
    date, time = ices.header["date"], ices.header["time"]
    try:
        if not (len(date) == 8 and date.isdigit() and len(time) == 4 and time.isdigit()):
            raise ValueError
        local = datetime.strptime(date + time, "%Y%m%d%H%M").replace(tzinfo=IST)
    except ValueError:
        raise adapter.error(
            f"HREC date and time {date!r} {time!r} are not YYYYMMDD and HHMM",
            line=ices.header_line,
            table="HREC",
            field="date",
        ) from None
    return local.astimezone(UTC)


def _bill_of_entry(r: _Reader, ices: IcesFile, be: Row, decl: records_pb2.DeclarationSnapshot) -> None:
    decl.direction = records_pb2.DIRECTION_IMPORT
    decl.procedure_code = be.get("be_type")
    imp = decl.consignee
    imp.name = be.get("importer_name")
    if be.get("iec"):
        imp.id, imp.id_scheme = be.get("iec"), "IEC"
    imp.country = "IN"
    imp.address = join_parts(
        [
            be.get(c)
            for c in ("importer_address1", "importer_address2", "importer_city", "importer_state", "importer_pin")
        ]
    )
    decl.transport_mode = r.code(TRANSPORT_MODES, be, "transport_mode")
    decl.dispatch_country = r.country(be, "country_of_consignment", required=True)
    decl.destination_country = "IN"
    r.country(be, "country_of_origin")


def _shipping_bill(r: _Reader, ices: IcesFile, sb: Row, decl: records_pb2.DeclarationSnapshot) -> None:
    decl.direction = records_pb2.DIRECTION_EXPORT
    exp = decl.exporter
    exp.name = sb.get("exporter_name")
    if sb.get("iec"):
        exp.id, exp.id_scheme = sb.get("iec"), "IEC"
    exp.country = "IN"
    exp.address = join_parts(
        [
            sb.get(c)
            for c in ("exporter_address1", "exporter_address2", "exporter_city", "exporter_state", "exporter_pin")
        ]
    )
    con = decl.consignee
    con.name = sb.get("consignee_name")
    con.address = join_parts([sb.get(f"consignee_address{i}") for i in range(1, 5)])
    con.country = r.country(sb, "consignee_country")
    decl.dispatch_country = "IN"
    decl.destination_country = r.country(sb, "country_of_final_destination", required=True)
    gross = r.quantity(sb, "gross_weight", "weight_unit")
    if gross is not None:
        decl.total_gross_mass.CopyFrom(gross)
    if sb.get("total_packages"):
        decl.total_packages.count = r.number(sb, "total_packages")
    decl.transport_doc_no = sb.get("mawb_no")


def _invoices_and_items(r: _Reader, ices: IcesFile, decl: records_pb2.DeclarationSnapshot) -> None:
    msg = ices.message
    invoices = ices.rows("INVOICE")
    if not invoices:
        line = ices.table_lines.get("INVOICE", ices.end_line)
        raise r.adapter.error(f"a {msg.kind} needs at least one row in table INVOICE", line=line, table="INVOICE")
    by_no: dict[int, Row] = {}
    for row in invoices:
        sr = r.number(row, "invoice_sr_no")
        if sr in by_no:
            raise r.fail(
                f"invoice serial number {sr} is used twice (first at line {by_no[sr].line})", row, "invoice_sr_no"
            )
        by_no[sr] = row
    first = invoices[0]
    currency = r.currency(first, "currency")
    amounts = []
    for row in invoices:
        value = r.decimal(row, "invoice_value")
        if value and r.currency(row, "currency") == currency:
            amounts.append(value)
    if amounts and currency:
        decl.invoice_amount.amount = amounts[0] if len(amounts) == 1 else format(sum(map(Decimal, amounts)), "f")
        decl.invoice_amount.currency = currency
    decl.incoterm = r.code(INVOICE_TERMS, first, "invoice_terms" if msg is BE else "nature_of_contract")
    if msg is BE:
        sup = decl.exporter
        sup.name = first.get("supplier_name")
        sup.address = join_parts([first.get("supplier_address"), first.get("supplier_city")])
        sup.country = r.country(first, "supplier_country")
    for row in ices.rows("EXCHANGE"):
        rate, unit = r.decimal(row, "rate"), r.decimal(row, "unit_in_inr")
        if row.get("currency") == currency and rate and (not unit or Decimal(unit) == 1):
            decl.exchange_rate = rate

    items = ices.rows(msg.items)
    if not items:
        line = ices.table_lines.get(msg.items, ices.end_line)
        raise r.adapter.error(f"a {msg.kind} needs at least one row in table {msg.items}", line=line, table=msg.items)
    header_origin = r.country(ices.rows(msg.main)[0], "country_of_origin") if msg is BE else ""
    for seq, row in enumerate(items, 1):
        invoice = by_no.get(r.number(row, "invoice_sr_no"))
        if invoice is None:
            raise r.fail(
                f"invoice serial number {row.get('invoice_sr_no')!r} is not in table INVOICE", row, "invoice_sr_no"
            )
        r.number(row, "item_sr_no")
        item = decl.items.add(seq=seq)
        if msg is BE:
            item.commodity.CopyFrom(r.tariff(row, "cth"))
            item.commodity.description = row.get("description")
            item.commodity.origin_country = r.country(row, "country_of_origin") or header_origin
        else:
            item.commodity.CopyFrom(r.tariff(row, "ritc"))
            item.commodity.description = join_parts([row.get(f"description{i}") for i in (1, 2, 3)])
            # The export scheme (00 free, 19 drawback, AA advance authorisation...)
            # is the SB's procedure; an item under another scheme says so.
            if seq == 1:
                decl.procedure_code = row.get("scheme_code")
            elif row.get("scheme_code") != decl.procedure_code:
                item.procedure_code = row.get("scheme_code")
        qty = r.quantity(row, "quantity", "unit")
        if qty is not None:
            (item.net_mass if qty.unit in MASS_UNITS else item.supplementary_quantity).CopyFrom(qty)
        if invoice.get("invoice_no") or invoice.get("invoice_date"):
            item.documents.add(type="INVOICE", number=invoice.get("invoice_no"), date=r.date(invoice, "invoice_date"))
