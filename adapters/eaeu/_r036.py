"""EEC R.036 GoodsDeclaration: the EAEU's cross-border goods declaration.

Mapping (local names; any namespace version):

- ``CustomsDocumentIdDetails`` (``CustomsOfficeCode``, ``DocCreationDate``,
  ``CustomsDocumentId``), when the document holds it, is the registration
  number: ``declaration_no`` is then ``office/DDMMYY/serial`` (the form
  printed on the declaration, e.g. ``55301/020326/0004211``),
  ``acceptance_date`` the registration date and ``customs_office`` the
  office. A declaration not yet registered has none: its ``EDocId`` is then
  the declaration number too, and ``acceptance_date`` the date of
  ``EDocDateTime``. ``EDocId`` is always the ``lrn`` (the declarant's own
  identifier of the electronic document).
- ``DeclarationKindCode`` ИМ/ЭК/ТТ -> direction; ``CustomsProcedureCode``
  (list 2002) -> procedure_code; ``CargoQuantity`` -> total packages;
  ``GoodsQuantity`` is the number of items and is recomputed on encode.
- ``DeclarantDetails``, ``ConsignorDetails`` (the exporter),
  ``ConsigneeDetails``: ``SubjectBriefName``, ``TaxpayerId`` (its scheme
  follows the party's country: BIN in KZ, INN in RU and KG, UNN in BY),
  ``UnifiedCountryCode``. Addresses are not mapped.
- Shipment: departure and destination ``CACountryCode`` (list 2021 is
  alpha-2), ``CAValueAmount@currencyCode`` -> invoice amount,
  ``ExchangeRate``.
- Items: ``ConsignmentItemOrdinal``, ``CommodityCode`` (TN VED, 10 digits;
  hs6 is its first six), ``GoodsDescriptionText`` pieces,
  ``Unified{Gross,Net}MassMeasure@measurementUnitCode`` (list 2016 -> Rec 20),
  origin, ``CustomsProcedureDetails/CustomsProcedureCode`` (kept on the item
  only where it differs from the declaration's), ``CAValueAmount`` (customs
  value), ``StatisticValueAmount``, ``PresentedDocDetails`` (list 2009 kind,
  number, date, validity).
"""

from __future__ import annotations

from datetime import UTC, datetime

from tamga.adapters.eaeu._common import (
    Reader,
    Writer,
    attr,
    declaration_record,
    direction_of,
    doc_kind_code,
    doc_kind_type,
    id_scheme,
    kind_of,
    national_code,
    pieces,
    registration_number,
    registration_parts,
    sender_and_receivers,
    tn_ved,
)
from tamga.adapters.sdk.codes import EAEU_UNITS
from tamga.adapters.sdk.xml import Element, children, find, local, text
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

__all__ = ["NAMESPACES", "SOURCE_FORMAT", "UNMAPPED", "read", "write"]

SOURCE_FORMAT = "EEC:R.036"

#: Namespaces written (readers match local names only, whatever the version).
NAMESPACES = {
    "gd": "urn:EEC:R:036:GoodsDeclaration:v1.1.0",
    "csdo": "urn:EEC:M:SimpleDataObjects:v0.4.10",
    "ccdo": "urn:EEC:M:ComplexDataObjects:v0.4.10",
    "casdo": "urn:EEC:M:CA:SimpleDataObjects:v1.5.1",
    "cacdo": "urn:EEC:M:CA:ComplexDataObjects:v1.5.1",
}
_GD, _CSDO, _CASDO, _CACDO = (f"{{{NAMESPACES[p]}}}" for p in ("gd", "csdo", "casdo", "cacdo"))

_ROOT = "GoodsDeclaration"
_SHIPMENT = f"{_ROOT}/DeclarationGoodsShipmentDetails"
_ITEM = f"{_SHIPMENT}/DeclarationGoodsItemDetails"
_PARTIES = (f"{_ROOT}/DeclarantDetails", f"{_SHIPMENT}/ConsignorDetails", f"{_SHIPMENT}/ConsigneeDetails")

#: Fields read but not carried into records (so not written back).
UNMAPPED = (
    *(f"{p}/SubjectAddressDetails/*" for p in _PARTIES),
    *(f"{p}/SubjectName" for p in _PARTIES),
    f"{_SHIPMENT}/DeclarationConsignmentDetails/*",
    f"{_SHIPMENT}/GoodsLocationDetails/*",
    f"{_ITEM}/CustomsProcedureDetails/PreviousCustomsProcedureModeCode*",
    f"{_ITEM}/CustomsProcedureDetails/GoodsMoveFeatureCode*",
    f"{_ITEM}/PresentedDocDetails/DocName",
)


# -- reading -------------------------------------------------------------------


def read(rd: Reader, doc: Element) -> records_pb2.Record:
    """The DeclarationSnapshot of one R.036 document."""
    kind_el = rd.required(doc, "DeclarationKindCode")
    direction = direction_of(rd.value(kind_el))
    if direction is None:
        raise rd.error(f"declaration kind {text(kind_el)!r} is not ИМ, ЭК or ТТ", kind_el)
    procedure = rd.value(rd.required(doc, "CustomsProcedureCode"))
    shipment = rd.required(doc, "DeclarationGoodsShipmentDetails")
    dispatch = rd.country(rd.required(shipment, "DepartureCountryDetails", "CACountryCode"))
    destination = rd.country(rd.required(shipment, "DestinationCountryDetails", "CACountryCode"))
    sender, receivers = sender_and_receivers(direction, dispatch, destination)

    edoc_id_el = find(doc, "EDocId")
    edoc_id = rd.value(edoc_id_el) if edoc_id_el is not None else ""
    stamp_el = find(doc, "EDocDateTime")
    stamp = rd.instant(stamp_el) if stamp_el is not None else None
    office = ""
    reg = find(doc, "CustomsDocumentIdDetails")
    if reg is not None:
        office = rd.value(rd.required(reg, "CustomsOfficeCode"))
        accepted = rd.date(rd.required(reg, "DocCreationDate"))
        serial = rd.value(rd.required(reg, "CustomsDocumentId"))
        number = registration_number(office, accepted, serial)
    else:
        if not edoc_id:
            rd.required(doc, "EDocId")  # raises: neither a registration number nor a document id
        if stamp is None:
            rd.required(doc, "EDocDateTime")
        number = edoc_id
        accepted = stamp.date().isoformat() if stamp else ""
    created = stamp or datetime.fromisoformat(accepted).replace(tzinfo=UTC)

    rec = declaration_record(
        source_format=SOURCE_FORMAT,
        number=number,
        lrn=edoc_id,
        direction=direction,
        procedure=procedure,
        accepted=accepted,
        created=created,
        sender=sender,
        receivers=receivers,
        dispatch=dispatch,
        destination=destination,
        office=office,
    )
    decl = rec.declaration_snapshot
    cargo = find(doc, "CargoQuantity")
    if cargo is not None:
        decl.total_packages.count = rd.count(cargo)
    _party(rd, find(doc, "DeclarantDetails"), decl.declarant, "DECLARANT", sender)
    _party(rd, find(shipment, "ConsignorDetails"), decl.exporter, "EXPORTER", dispatch)
    _party(rd, find(shipment, "ConsigneeDetails"), decl.consignee, "CONSIGNEE", destination)
    _money(rd, find(shipment, "CAValueAmount"), decl.invoice_amount)
    rate = find(shipment, "ExchangeRate")
    if rate is not None:
        decl.exchange_rate = rd.decimal(rate)
    items = list(children(shipment, "DeclarationGoodsItemDetails"))
    if not items:
        rd.required(shipment, "DeclarationGoodsItemDetails")
    for el in items:
        _item(rd, el, decl.items.add(), procedure)
    return rec


def _party(rd: Reader, el: Element | None, party: common_pb2.Party, role: str, home: str) -> None:
    if el is None:
        return
    party.role = role
    party.name = text(el, "SubjectBriefName") or text(el, "SubjectName")
    country = find(el, "UnifiedCountryCode")
    if country is not None:
        party.country = rd.country(country)
    party.id = text(el, "TaxpayerId")
    if party.id:
        party.id_scheme = id_scheme(party.country or home)


def _money(rd: Reader, el: Element | None, money: common_pb2.Money) -> None:
    if el is None:
        return
    money.amount = rd.decimal(el)
    code = attr(el, "currencyCode")
    if not code:
        raise rd.error(f"{local(el)} has no currencyCode attribute (EAEU list 2022)", el)
    money.currency = rd.currency(code, el)


def _mass(rd: Reader, el: Element | None, quantity: common_pb2.Quantity) -> None:
    if el is None:
        return
    value = rd.decimal(el)
    code = attr(el, "measurementUnitCode")
    if not code:
        raise rd.error("measurementUnitCode attribute (EAEU list 2016) is missing", el)
    quantity.unit = rd.unit(code, el)
    quantity.value = value


def _item(rd: Reader, el: Element, item: records_pb2.DeclarationItem, procedure: str) -> None:
    item.seq = rd.count(rd.required(el, "ConsignmentItemOrdinal"))
    code_el = rd.required(el, "CommodityCode")
    code = rd.value(code_el)
    if not (code.isascii() and code.isdigit() and 6 <= len(code) <= 10):
        raise rd.error(f"CommodityCode {code!r} is not a TN VED code (6 to 10 digits)", code_el)
    c = item.commodity
    c.national_code = national_code(code)
    c.hs6 = code[:6]
    c.description = rd.long_text(el, "GoodsDescriptionText")
    origin = find(el, "OriginCountryDetails", "CACountryCode")
    if origin is not None:
        c.origin_country = rd.country(origin)
    _mass(rd, find(el, "UnifiedGrossMassMeasure"), item.gross_mass)
    _mass(rd, find(el, "UnifiedNetMassMeasure"), item.net_mass)
    own = text(el, "CustomsProcedureDetails", "CustomsProcedureCode")
    if own and own != procedure:
        item.procedure_code = own
    _money(rd, find(el, "CAValueAmount"), item.customs_value)
    _money(rd, find(el, "StatisticValueAmount"), item.statistical_value)
    for doc_el in children(el, "PresentedDocDetails"):
        doc = item.documents.add()
        doc.type = doc_kind_type(rd.value(rd.required(doc_el, "DocKindCode")))
        doc.number = text(doc_el, "DocId")
        for name, field in (("DocCreationDate", "date"), ("DocValidityDate", "valid_until")):
            found = find(doc_el, name)
            if found is not None:
                setattr(doc, field, rd.date(found))


# -- writing -------------------------------------------------------------------


def write(w: Writer, rec: records_pb2.Record) -> Element:
    """The R.036 document of a DeclarationSnapshot."""
    from lxml import etree

    decl = rec.declaration_snapshot
    root = etree.Element(f"{_GD}GoodsDeclaration", nsmap=NAMESPACES)
    w.sub(root, f"{_CSDO}EDocCode", "R.036")
    w.sub(root, f"{_CSDO}EDocId", decl.lrn or rec.meta.source_record_ref or rec.meta.record_id)
    if rec.meta.HasField("created_at"):
        w.sub(root, f"{_CSDO}EDocDateTime", _instant(rec.meta.created_at.ToDatetime()))
    reg = registration_parts(decl.declaration_no, decl.acceptance_date)
    if reg:
        ids = w.sub(root, f"{_CACDO}CustomsDocumentIdDetails")
        w.sub(ids, f"{_CSDO}CustomsOfficeCode", reg[0])
        w.sub(ids, f"{_CSDO}DocCreationDate", reg[1])
        w.sub(ids, f"{_CSDO}CustomsDocumentId", reg[2])
    w.sub(root, f"{_CASDO}DeclarationKindCode", kind_of(decl.direction))
    w.opt(root, f"{_CASDO}CustomsProcedureCode", decl.procedure_code, codeListId="2002")
    w.sub(root, f"{_CASDO}GoodsQuantity", str(len(decl.items)))
    if decl.total_packages.count:
        w.sub(root, f"{_CASDO}CargoQuantity", str(decl.total_packages.count))
    if decl.HasField("declarant"):
        _write_party(w, root, "DeclarantDetails", decl.declarant)
    shipment = w.sub(root, f"{_CACDO}DeclarationGoodsShipmentDetails")
    for name, country in (
        ("DepartureCountryDetails", decl.dispatch_country),
        ("DestinationCountryDetails", decl.destination_country),
    ):
        if country:
            w.sub(w.sub(shipment, f"{_CACDO}{name}"), f"{_CASDO}CACountryCode", country, codeListId="2021")
    _write_money(w, shipment, "CAValueAmount", decl.invoice_amount)
    w.opt(shipment, f"{_CASDO}ExchangeRate", decl.exchange_rate)
    if decl.HasField("exporter"):
        _write_party(w, shipment, "ConsignorDetails", decl.exporter)
    if decl.HasField("consignee"):
        _write_party(w, shipment, "ConsigneeDetails", decl.consignee)
    for i, item in enumerate(decl.items):
        _write_item(w, shipment, item, i + 1, decl.procedure_code, rec.meta.sender_country)
    return root


def _instant(dt: datetime) -> str:
    return dt.isoformat(timespec="microseconds" if dt.microsecond else "seconds")


def _write_party(w: Writer, parent: Element, name: str, party: common_pb2.Party) -> None:
    el = w.sub(parent, f"{_CACDO}{name}")
    w.opt(el, f"{_CSDO}UnifiedCountryCode", party.country, codeListId="2021")
    w.opt(el, f"{_CSDO}SubjectBriefName", party.name)
    w.opt(el, f"{_CSDO}TaxpayerId", party.id)


def _write_money(w: Writer, parent: Element, name: str, money: common_pb2.Money) -> None:
    if money.amount:
        w.sub(parent, f"{_CASDO}{name}", money.amount, currencyCode=money.currency, currencyCodeListId="2022")


def _write_mass(w: Writer, parent: Element, name: str, quantity: common_pb2.Quantity) -> None:
    if quantity.value and quantity.unit:
        try:
            unit = EAEU_UNITS.to_national(quantity.unit)
        except AdapterError:  # a unit list 2016 lacks: the format cannot hold the quantity
            return
        w.sub(parent, f"{_CSDO}{name}", quantity.value, measurementUnitCode=unit, measurementUnitCodeListId="2016")


def _write_item(
    w: Writer, parent: Element, item: records_pb2.DeclarationItem, position: int, procedure: str, sender: str
) -> None:
    el = w.sub(parent, f"{_CACDO}DeclarationGoodsItemDetails")
    w.sub(el, f"{_CASDO}ConsignmentItemOrdinal", str(item.seq or position))
    c = item.commodity
    w.opt(el, f"{_CSDO}CommodityCode", tn_ved(c, sender))
    if c.description:
        for piece in pieces(c.description):
            w.sub(el, f"{_CASDO}GoodsDescriptionText", piece)
    _write_mass(w, el, "UnifiedGrossMassMeasure", item.gross_mass)
    _write_mass(w, el, "UnifiedNetMassMeasure", item.net_mass)
    if c.origin_country:
        w.sub(w.sub(el, f"{_CACDO}OriginCountryDetails"), f"{_CASDO}CACountryCode", c.origin_country, codeListId="2021")
    if item.procedure_code or procedure:
        proc = w.sub(el, f"{_CACDO}CustomsProcedureDetails")
        w.sub(proc, f"{_CASDO}CustomsProcedureCode", item.procedure_code or procedure, codeListId="2002")
    _write_money(w, el, "CAValueAmount", item.customs_value)
    _write_money(w, el, "StatisticValueAmount", item.statistical_value)
    for doc in item.documents:
        d = w.sub(el, f"{_CACDO}PresentedDocDetails")
        w.sub(d, f"{_CSDO}DocKindCode", doc_kind_code(doc.type), codeListId="2009")
        w.opt(d, f"{_CSDO}DocId", doc.number)
        w.opt(d, f"{_CSDO}DocCreationDate", doc.date)
        w.opt(d, f"{_CSDO}DocValidityDate", doc.valid_until)
