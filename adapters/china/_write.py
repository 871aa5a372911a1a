"""Writing a DeclarationSnapshot record as a GACC DecMessage.

The mapping is that of :mod:`tamga.adapters.china._read`, backwards, so a
DecMessage read and written again keeps every field the adapter carries,
with the same text: numbers as written, dates as YYYYMMDD, countries as ISO
alpha-3, units as JGS-20 codes, parties in the DecHead fields of their role.

A record from another country's adapter may hold what a DecMessage cannot
say; the writer leaves that out rather than invent a national code:

- a unit, package kind or transport mode with no JGS-20 equivalent, a party
  id of a foreign scheme in a Chinese party's code fields, a customs office
  code that is not a 4-digit GACC district, documents that are not GACC
  licences or permits (invoices, transport documents);
- an Incoterm GACC lacks is written as the GACC term of its group (FCA ->
  FOB, CPT -> C&F, DAP -> CIF...), as the declaration rules ask;
- a transit declaration gets no IEFlag: a DecMessage is an import or an
  export, and reading the file back says so.

Values the national system derives (the unit price ``DeclPrice``) are
computed: DeclTotal / GQty, to four decimals.
"""

from __future__ import annotations

import re
from datetime import UTC
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from lxml import etree
from tamga.adapters.china import _codes
from tamga.adapters.china._read import CHINA_TIME
from tamga.adapters.sdk.codes import GACC_UNITS, CodeTable, country_alpha3
from tamga.adapters.sdk.xml import Element, serialize, sub
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

__all__ = ["NAMESPACE", "VERSION", "write_declaration"]

NAMESPACE = "http://www.chinaport.gov.cn/dec"
VERSION = "3.1"

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_DISTRICT = re.compile(r"[0-9]{4}")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _tag(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def _put(parent: Element, name: str, value: str) -> None:
    if value:
        sub(parent, _tag(name), value)


def _alpha3(code: str) -> str:
    try:
        return country_alpha3(code) if code else ""
    except AdapterError:
        return ""


def _national(table: CodeTable, code: str) -> str:
    try:
        return table.to_national(code) if code else ""
    except AdapterError:
        return ""


def _chinese_party(head: Element, prefix: str, party: common_pb2.Party) -> None:
    _put(head, f"{prefix}Name", party.name)
    if party.id_scheme == "USCC":
        _put(head, f"{prefix}CodeScc", party.id)
    elif party.id_scheme == "GACC":
        _put(head, f"{prefix}Code", party.id)


def _foreign_party(head: Element, prefix: str, party: common_pb2.Party) -> None:
    if not (party.name or party.id):
        return
    # GACC asks for the AEO number of a partner in a mutual-recognition
    # programme, and "NO" for any other.
    _put(head, f"{prefix}Code", party.id if party.id_scheme == "AEO" and party.id else "NO")
    # The consignor has a Chinese-name field beside the English one; the
    # consignee of an export has the English one only.
    chinese = prefix == "OverseasConsignor" and bool(_CJK.search(party.name))
    _put(head, f"{prefix}{'Cname' if chinese else 'Ename'}", party.name)
    if prefix == "OverseasConsignor":
        _put(head, f"{prefix}Addr", party.address)


def _unit_price(total: str, quantity: str) -> str:
    try:
        qty = Decimal(quantity)
        if not qty:
            return ""
        return str((Decimal(total) / qty).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))
    except (InvalidOperation, ArithmeticError):
        return ""


def _head(root: Element, rec: records_pb2.Record) -> None:
    decl = rec.declaration_snapshot
    export = decl.direction == records_pb2.DIRECTION_EXPORT
    head = sub(root, _tag("DecHead"))
    _put(head, "SeqNo", decl.lrn)
    _put(head, "EntryId", decl.declaration_no)
    flag = {records_pb2.DIRECTION_EXPORT: "E", records_pb2.DIRECTION_IMPORT: "I"}.get(decl.direction, "")
    _put(head, "IEFlag", flag)
    office = decl.customs_office.customs_office_code
    if _DISTRICT.fullmatch(office):
        _put(head, "IEPort", office)
        _put(head, "CustomMaster", office)
    m = _DATE.fullmatch(decl.acceptance_date)
    if m:
        _put(head, "IEDate", "".join(m.groups()))
    # Chinese parties: the consignor or consignee in China, and the declarant.
    trader = decl.exporter if export else decl.consignee
    _chinese_party(head, "Trade", trader)
    _chinese_party(head, "Agent", decl.declarant)
    if export:
        _foreign_party(head, "OverseasConsignee", decl.consignee)
    else:
        _foreign_party(head, "OverseasConsignor", decl.exporter)
    # A supervision mode is a GACC code; another service's procedure code
    # (EAEU "10", say) is not written into it.
    if re.fullmatch(r"\d{4}", decl.procedure_code):
        _put(head, "TradeMode", decl.procedure_code)
    _put(head, "TradeCountry", _alpha3(decl.destination_country if export else decl.dispatch_country))
    _put(head, "TradeAreaCode", _alpha3(decl.trading_country))
    _put(head, "TrafMode", _national(_codes.TRANSPORT_MODES, decl.transport_mode))
    _put(head, "TrafName", decl.transport_means_id)
    _put(head, "BillNo", decl.transport_doc_no)
    _put(head, "TransMode", _codes.INCOTERM_GROUPS.get(decl.incoterm, ""))
    if decl.total_gross_mass.unit == "KGM":
        _put(head, "GrossWet", decl.total_gross_mass.value)
    if decl.HasField("total_packages"):
        if decl.total_packages.count:
            _put(head, "PackNo", str(decl.total_packages.count))
        _put(head, "WrapType", _national(_codes.PACKAGES, decl.total_packages.kind))


def _item(lists: Element, index: int, item: records_pb2.DeclarationItem, destination: str) -> None:
    el = sub(lists, _tag("DecList"))
    _put(el, "GNo", str(item.seq or index + 1))
    code = item.commodity.national_code or item.commodity.hs6
    _put(el, "CodeTS", code)
    _put(el, "GName", item.commodity.description)
    supplementary = item.supplementary_quantity
    g_unit = _national(GACC_UNITS, supplementary.unit)
    if supplementary.value and g_unit:
        _put(el, "GQty", supplementary.value)
        _put(el, "GUnit", g_unit)
    if item.net_mass.value and item.net_mass.unit == "KGM":
        _put(el, "FirstQty", item.net_mass.value)
        _put(el, "FirstUnit", GACC_UNITS.to_national("KGM"))
    elif supplementary.value and g_unit and supplementary.unit != "KGM":
        # The declared unit is taken for the statutory one; a quantity in
        # kilograms is not, as it would read back as a net mass.
        _put(el, "FirstQty", supplementary.value)
        _put(el, "FirstUnit", g_unit)
    money = item.invoice_amount
    if money.amount and money.currency:
        if supplementary.value and g_unit:
            _put(el, "DeclPrice", _unit_price(money.amount, supplementary.value))
        _put(el, "DeclTotal", money.amount)
        _put(el, "TradeCurr", money.currency)
    _put(el, "OriginCountry", _alpha3(item.commodity.origin_country))
    _put(el, "DestinationCountry", destination)


def _documents(root: Element, decl: records_pb2.DeclarationSnapshot) -> None:
    seen: dict[tuple[str, str], None] = {}
    for item in decl.items:
        for doc in item.documents:
            code = _codes.document_code(doc.type)
            if code is not None and doc.number:
                seen.setdefault((code, doc.number), None)
    if not seen:
        return
    docs = sub(root, _tag("DecLicenseDocus"))
    for code, number in seen:
        licence = sub(docs, _tag("LicenseDocu"))
        _put(licence, "DocuCode", code)
        _put(licence, "CertCode", number)


def _signed_at(rec: records_pb2.Record) -> str:
    if not rec.meta.HasField("created_at"):
        return ""
    try:
        moment = rec.meta.created_at.ToDatetime(tzinfo=UTC).astimezone(CHINA_TIME)
    except (ValueError, OverflowError):  # past year 9999 in China's time
        return ""
    stamp = moment.strftime("%Y%m%d%H%M%S")
    if moment.microsecond:
        stamp += f"{moment.microsecond:06d}".rstrip("0")
    return stamp


def write_declaration(rec: records_pb2.Record) -> bytes:
    """One declaration record as a DecMessage, UTF-8."""
    decl = rec.declaration_snapshot
    root = etree.Element(_tag("DecMessage"), {"version": VERSION}, nsmap={None: NAMESPACE})
    _head(root, rec)
    lists = sub(root, _tag("DecLists"))
    destination = _alpha3(decl.destination_country)
    for i, item in enumerate(decl.items):
        _item(lists, i, item, destination)
    if decl.container_ids:
        containers = sub(root, _tag("DecContainers"))
        for number in decl.container_ids:
            _put(sub(containers, _tag("Container")), "ContainerId", number)
    _documents(root, decl)
    sign = sub(root, _tag("DecSign"))
    _put(sign, "SignDate", _signed_at(rec))
    return serialize(root)
