"""Russia's FTS ESADout_CU: the national electronic goods declaration.

FTS systems exchange it wrapped in ``ED_Container/ContainerDoc/DocBody``;
the adapter reads it wrapped or bare and writes it wrapped.

Mapping (local names; any namespace version):

- ``GTDID`` (``CustomsCode``, ``RegistrationDate``, ``GTDNumber``), when
  present, is the registration number: ``declaration_no`` is
  ``code/DDMMYY/number`` (``10702070/160326/3012345``), ``acceptance_date``
  the registration date. The FTS schemas carry the registered number in this
  cat_ru GTDID shape; where it sits in ESADout_CU is Tamga's choice (verify
  against the FTS album in use). Without it, ``DocumentID`` is the
  declaration number, and the date of ``EECEDocHeaderAddInfo/EDocDateTime``
  the acceptance date. ``DocumentID`` is always the ``lrn``.
- ``CustomsProcedure`` ИМ/ЭК/ТТ -> direction, ``CustomsModeCode`` ->
  procedure_code, ``TotalPackageNumber`` -> total packages.
- ``ESADout_CUConsignor`` (the exporter), ``ESADout_CUConsignee``,
  ``ESADout_CUDeclarant``: ``OrganizationName``; the id from the country's
  organisation features (``RFOrganizationFeatures/INN``,
  ``RKOrganizationFeatures/BIN``, ``RBOrganizationFeatures/UNP``,
  ``KGOrganizationFeatures/KGINN``, ``RAOrganizationFeatures/UNN``);
  ``SubjectAddressDetails/CountryCode`` -> country. Addresses otherwise are
  not mapped.
- ``ESADout_CUConsigment`` (the schema's spelling):
  ``DispatchCountryCode``, ``DestinationCountryCode``.
- ``ESADout_CUMainContractTerms``: ``ContractCurrencyCode`` with
  ``TotalInvoiceAmount`` -> invoice amount, ``ContractCurrencyRate`` ->
  exchange rate, ``TradeCountryCode``, ``CUESADDeliveryTerms/
  DeliveryTermsStringCode`` -> incoterm.
- ``ESADout_CUGoods``: ``GoodsNumeric``, ``GoodsDescription`` pieces,
  ``GrossWeightQuantity`` and ``NetWeightQuantity`` (kilograms),
  ``InvoicedCost`` (in the contract currency), ``GoodsTNVEDCode``,
  ``OriginCountryCode``, ``CustomsCost`` (roubles), ``StatisticalCost`` (US
  dollars), ``SupplementaryGoodsQuantity``, ``ESADCustomsProcedure/
  MainCustomsModeCode``, ``ESADout_CUPresentedDocument``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lxml import etree
from tamga.adapters.eaeu._common import (
    Reader,
    Writer,
    declaration_record,
    direction_of,
    doc_kind_code,
    doc_kind_type,
    kilograms,
    kind_of,
    national_code,
    pieces,
    registration_number,
    registration_parts,
    sender_and_receivers,
    tn_ved,
)
from tamga.adapters.sdk.codes import EAEU_UNITS
from tamga.adapters.sdk.xml import Element, children, find, text
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

__all__ = ["NAMESPACES", "SOURCE_FORMAT", "UNMAPPED", "read", "write"]

SOURCE_FORMAT = "FTS:ESADout_CU"

#: Namespaces written (readers match local names only, whatever the version).
NAMESPACES = {
    "ESADout_CU": "urn:customs.ru:Information:CustomsDocuments:ESADout_CU:5.24.0",
    "cat_ru": "urn:customs.ru:CommonAggregateTypes:5.24.0",
    "catESAD_cu": "urn:customs.ru:CUESADCommonAggregateTypesCust:5.24.0",
    "RUScat_ru": "urn:customs.ru:RUSCommonAggregateTypes:5.24.0",
}
CONTAINER_NAMESPACE = "urn:customs.ru:Information:ExchangeDocuments:ED_Container:5.24.0"
_E, _CAT, _ESAD, _RUS = (f"{{{NAMESPACES[p]}}}" for p in ("ESADout_CU", "cat_ru", "catESAD_cu", "RUScat_ru"))
_C = f"{{{CONTAINER_NAMESPACE}}}"

#: The national currency of customs values and the currency of statistical values.
_CUSTOMS_CURRENCY, _STATISTICAL_CURRENCY = "RUB", "USD"

#: Organisation features: (element, id element, id scheme, country).
_FEATURES = (
    ("RFOrganizationFeatures", "INN", "INN", "RU"),
    ("RKOrganizationFeatures", "BIN", "BIN", "KZ"),
    ("RBOrganizationFeatures", "UNP", "UNN", "BY"),
    ("KGOrganizationFeatures", "KGINN", "INN", "KG"),
    ("RAOrganizationFeatures", "UNN", "TIN", "AM"),
)

_ROOT = "ESADout_CU"
_SHIPMENT = f"{_ROOT}/ESADout_CUGoodsShipment"
_GOODS = f"{_SHIPMENT}/ESADout_CUGoods"
_PARTIES = tuple(f"{_SHIPMENT}/ESADout_CU{p}" for p in ("Consignor", "Consignee", "Declarant"))

#: Fields read but not carried into records (so not written back).
UNMAPPED = (
    "ED_Container/*",
    f"{_ROOT}/FilledPerson/*",
    f"{_ROOT}/ElectronicDocumentSign",
    *(f"{p}/SubjectAddressDetails/*" for p in _PARTIES),
    *(f"{p}/ShortName" for p in _PARTIES),
    f"{_SHIPMENT}/OriginCountryName",
    f"{_SHIPMENT}/TotalSheetNumber",
    f"{_SHIPMENT}/TotalCustCost",
    f"{_SHIPMENT}/CustCostCurrencyCode",
    f"{_SHIPMENT}/ESADout_CUGoodsLocation/*",
    f"{_SHIPMENT}/ESADout_CUConsigment/ContainerIndicator",
    f"{_SHIPMENT}/ESADout_CUConsigment/DispatchCountryName",
    f"{_SHIPMENT}/ESADout_CUConsigment/DestinationCountryName",
    f"{_SHIPMENT}/ESADout_CUConsigment/ESADout_CUBorderTransport/*",
    f"{_SHIPMENT}/ESADout_CUConsigment/ESADout_CUDepartureArrivalTransport/*",
    f"{_GOODS}/OriginCountryName",
    f"{_GOODS}/ESADGoodsPackaging/*",
    f"{_GOODS}/SupplementaryGoodsQuantity/MeasureUnitQualifierName",
    f"{_GOODS}/ESADCustomsProcedure/PrecedingCustomsModeCode",
    f"{_GOODS}/ESADCustomsProcedure/GoodsTransferFeature",
    f"{_GOODS}/ESADout_CUPresentedDocument/PrDocumentName",
)


# -- reading -------------------------------------------------------------------


def read(rd: Reader, doc: Element) -> records_pb2.Record:
    """The DeclarationSnapshot of one ESADout_CU document."""
    kind_el = rd.required(doc, "CustomsProcedure")
    direction = direction_of(rd.value(kind_el))
    if direction is None:
        raise rd.error(f"CustomsProcedure {text(kind_el)!r} is not ИМ, ЭК or ТТ", kind_el)
    procedure = rd.value(rd.required(doc, "CustomsModeCode"))
    shipment = rd.required(doc, "ESADout_CUGoodsShipment")
    consignment = rd.required(shipment, "ESADout_CUConsigment")
    dispatch = rd.country(rd.required(consignment, "DispatchCountryCode"))
    destination = rd.country(rd.required(consignment, "DestinationCountryCode"))
    sender, receivers = sender_and_receivers(direction, dispatch, destination)

    doc_id_el = find(doc, "DocumentID")
    doc_id = rd.value(doc_id_el) if doc_id_el is not None else ""
    stamp_el = find(doc, "EECEDocHeaderAddInfo", "EDocDateTime")
    stamp = rd.instant(stamp_el) if stamp_el is not None else None
    gtd = find(doc, "GTDID")
    if gtd is not None:
        code = rd.value(rd.required(gtd, "CustomsCode"))
        accepted = rd.date(rd.required(gtd, "RegistrationDate"))
        serial = rd.value(rd.required(gtd, "GTDNumber"))
        number = registration_number(code, accepted, serial)
    else:
        code = ""
        if not doc_id:
            rd.required(doc, "DocumentID")
        if stamp is None:
            rd.required(doc, "EECEDocHeaderAddInfo", "EDocDateTime")
        number = doc_id
        accepted = stamp.date().isoformat() if stamp else ""
    created = stamp or datetime.fromisoformat(accepted).replace(tzinfo=UTC)

    rec = declaration_record(
        source_format=SOURCE_FORMAT,
        number=number,
        lrn=doc_id,
        direction=direction,
        procedure=procedure,
        accepted=accepted,
        created=created,
        sender=sender,
        receivers=receivers,
        dispatch=dispatch,
        destination=destination,
        office=code,
    )
    decl = rec.declaration_snapshot
    packages = find(shipment, "TotalPackageNumber")
    if packages is not None:
        decl.total_packages.count = rd.count(packages)
    _party(rd, find(shipment, "ESADout_CUConsignor"), decl.exporter, "EXPORTER")
    _party(rd, find(shipment, "ESADout_CUConsignee"), decl.consignee, "CONSIGNEE")
    _party(rd, find(shipment, "ESADout_CUDeclarant"), decl.declarant, "DECLARANT")

    currency = ""
    terms = find(shipment, "ESADout_CUMainContractTerms")
    if terms is not None:
        currency_el = find(terms, "ContractCurrencyCode")
        if currency_el is not None:
            currency = rd.currency(rd.value(currency_el), currency_el)
        total = find(terms, "TotalInvoiceAmount")
        if total is not None:
            decl.invoice_amount.amount = rd.decimal(total)
            decl.invoice_amount.currency = currency or _no_currency(rd, total)
        rate = find(terms, "ContractCurrencyRate")
        if rate is not None:
            decl.exchange_rate = rd.decimal(rate)
        trade = find(terms, "TradeCountryCode")
        if trade is not None:
            decl.trading_country = rd.country(trade)
        decl.incoterm = text(terms, "CUESADDeliveryTerms", "DeliveryTermsStringCode")

    goods = list(children(shipment, "ESADout_CUGoods"))
    if not goods:
        rd.required(shipment, "ESADout_CUGoods")
    for el in goods:
        _goods(rd, el, decl.items.add(), procedure, currency)
    return rec


def _no_currency(rd: Reader, el: Element) -> str:
    raise rd.error(
        f"{etree.QName(el).localname} needs ESADout_CUMainContractTerms/ContractCurrencyCode, which is missing", el
    )


def _party(rd: Reader, el: Element | None, party: common_pb2.Party, role: str) -> None:
    if el is None:
        return
    party.role = role
    party.name = text(el, "OrganizationName")
    country = find(el, "SubjectAddressDetails", "CountryCode")
    if country is not None:
        party.country = rd.country(country)
    for features, id_name, scheme, _country in _FEATURES:
        value = text(el, features, id_name)
        if value:
            party.id, party.id_scheme = value, scheme
            break


def _goods(rd: Reader, el: Element, item: records_pb2.DeclarationItem, procedure: str, currency: str) -> None:
    item.seq = rd.count(rd.required(el, "GoodsNumeric"))
    code_el = rd.required(el, "GoodsTNVEDCode")
    code = rd.value(code_el)
    if not (code.isascii() and code.isdigit() and 6 <= len(code) <= 10):
        raise rd.error(f"GoodsTNVEDCode {code!r} is not a TN VED code (6 to 10 digits)", code_el)
    c = item.commodity
    c.national_code = national_code(code)
    c.hs6 = code[:6]
    c.description = rd.long_text(el, "GoodsDescription")
    origin = find(el, "OriginCountryCode")
    if origin is not None:
        c.origin_country = rd.country(origin)
    for name, quantity in (("GrossWeightQuantity", item.gross_mass), ("NetWeightQuantity", item.net_mass)):
        found = find(el, name)
        if found is not None:
            quantity.value, quantity.unit = rd.decimal(found), "KGM"
    invoiced = find(el, "InvoicedCost")
    if invoiced is not None:
        item.invoice_amount.amount = rd.decimal(invoiced)
        item.invoice_amount.currency = currency or _no_currency(rd, invoiced)
    for name, money, in_currency in (
        ("CustomsCost", item.customs_value, _CUSTOMS_CURRENCY),
        ("StatisticalCost", item.statistical_value, _STATISTICAL_CURRENCY),
    ):
        found = find(el, name)
        if found is not None:
            money.amount, money.currency = rd.decimal(found), in_currency
    extra = find(el, "SupplementaryGoodsQuantity")
    if extra is not None:
        unit_el = rd.required(extra, "MeasureUnitQualifierCode")
        item.supplementary_quantity.unit = rd.unit(rd.value(unit_el), unit_el)
        item.supplementary_quantity.value = rd.decimal(rd.required(extra, "GoodsQuantity"))
    own = text(el, "ESADCustomsProcedure", "MainCustomsModeCode")
    if own and own != procedure:
        item.procedure_code = own
    for doc_el in children(el, "ESADout_CUPresentedDocument"):
        doc = item.documents.add()
        doc.type = doc_kind_type(rd.value(rd.required(doc_el, "PresentedDocumentModeCode")))
        doc.number = text(doc_el, "PrDocumentNumber")
        found = find(doc_el, "PrDocumentDate")
        if found is not None:
            doc.date = rd.date(found)


# -- writing -------------------------------------------------------------------


def write(w: Writer, rec: records_pb2.Record) -> Element:
    """The ESADout_CU document of a DeclarationSnapshot, in its ED_Container."""
    decl = rec.declaration_snapshot
    container = etree.Element(f"{_C}ED_Container", nsmap={None: CONTAINER_NAMESPACE})
    body = w.sub(w.sub(container, f"{_C}ContainerDoc"), f"{_C}DocBody")
    root = etree.SubElement(body, f"{_E}ESADout_CU", {"DocumentModeID": "1006107E"}, nsmap=NAMESPACES)
    w.sub(root, f"{_CAT}DocumentID", decl.lrn or rec.meta.source_record_ref or rec.meta.record_id)
    if rec.meta.HasField("created_at"):
        dt = rec.meta.created_at.ToDatetime()
        stamp = dt.isoformat(timespec="microseconds" if dt.microsecond else "seconds")
        w.sub(w.sub(root, f"{_RUS}EECEDocHeaderAddInfo"), f"{_RUS}EDocDateTime", stamp)
    reg = registration_parts(decl.declaration_no, decl.acceptance_date)
    if reg:
        gtd = w.sub(root, f"{_E}GTDID")
        for name, value in zip(("CustomsCode", "RegistrationDate", "GTDNumber"), reg, strict=True):
            w.sub(gtd, f"{_CAT}{name}", value)
    w.sub(root, f"{_E}CustomsProcedure", kind_of(decl.direction))
    w.opt(root, f"{_E}CustomsModeCode", decl.procedure_code)
    shipment = w.sub(root, f"{_E}ESADout_CUGoodsShipment")
    w.sub(shipment, f"{_ESAD}TotalGoodsNumber", str(len(decl.items)))
    if decl.total_packages.count:
        w.sub(shipment, f"{_ESAD}TotalPackageNumber", str(decl.total_packages.count))
    for name, role in (("Consignor", "exporter"), ("Consignee", "consignee"), ("Declarant", "declarant")):
        if decl.HasField(role):
            _write_party(w, shipment, f"ESADout_CU{name}", getattr(decl, role))
    consignment = w.sub(shipment, f"{_E}ESADout_CUConsigment")
    w.opt(consignment, f"{_ESAD}DispatchCountryCode", decl.dispatch_country)
    w.opt(consignment, f"{_ESAD}DestinationCountryCode", decl.destination_country)

    currency = decl.invoice_amount.currency or next(
        (i.invoice_amount.currency for i in decl.items if i.invoice_amount.currency), ""
    )
    if currency or decl.exchange_rate or decl.trading_country or decl.incoterm:
        terms = w.sub(shipment, f"{_E}ESADout_CUMainContractTerms")
        w.opt(terms, f"{_ESAD}ContractCurrencyCode", currency)
        w.opt(terms, f"{_ESAD}ContractCurrencyRate", decl.exchange_rate)
        if decl.invoice_amount.amount and decl.invoice_amount.currency:
            w.sub(terms, f"{_ESAD}TotalInvoiceAmount", decl.invoice_amount.amount)
        w.opt(terms, f"{_ESAD}TradeCountryCode", decl.trading_country)
        if decl.incoterm:
            w.sub(w.sub(terms, f"{_ESAD}CUESADDeliveryTerms"), f"{_CAT}DeliveryTermsStringCode", decl.incoterm)
    for i, item in enumerate(decl.items):
        _write_goods(w, shipment, item, i + 1, decl.procedure_code, currency, rec.meta.sender_country)
    return container


def _write_party(w: Writer, parent: Element, name: str, party: common_pb2.Party) -> None:
    el = w.sub(parent, f"{_E}{name}")
    w.opt(el, f"{_CAT}OrganizationName", party.name)
    features = _features_for(party)
    if features and party.id:
        w.sub(w.sub(el, f"{_CAT}{features[0]}"), f"{_CAT}{features[1]}", party.id)
    if party.country:
        w.sub(w.sub(el, f"{_RUS}SubjectAddressDetails"), f"{_RUS}CountryCode", party.country)


def _features_for(party: common_pb2.Party) -> tuple[str, str, str, str] | None:
    """Where a party's id goes: by its scheme (and country among equal
    schemes), else by its country; None when the format has no place for it."""
    by_scheme = [f for f in _FEATURES if f[2] == party.id_scheme]
    for f in by_scheme:
        if f[3] == party.country:
            return f
    if by_scheme:
        return by_scheme[0]
    return next((f for f in _FEATURES if f[3] == party.country), None)


def _write_goods(
    w: Writer,
    parent: Element,
    item: records_pb2.DeclarationItem,
    position: int,
    procedure: str,
    currency: str,
    sender: str,
) -> None:
    el = w.sub(parent, f"{_E}ESADout_CUGoods")
    w.sub(el, f"{_ESAD}GoodsNumeric", str(item.seq or position))
    c = item.commodity
    if c.description:
        for piece in pieces(c.description):
            w.sub(el, f"{_ESAD}GoodsDescription", piece)
    w.opt(el, f"{_ESAD}GrossWeightQuantity", kilograms(item.gross_mass))
    w.opt(el, f"{_ESAD}NetWeightQuantity", kilograms(item.net_mass))
    if item.invoice_amount.amount and item.invoice_amount.currency == currency:
        w.sub(el, f"{_ESAD}InvoicedCost", item.invoice_amount.amount)
    w.opt(el, f"{_ESAD}GoodsTNVEDCode", tn_ved(c, sender))
    w.opt(el, f"{_ESAD}OriginCountryCode", c.origin_country)
    if item.customs_value.currency == _CUSTOMS_CURRENCY:
        w.opt(el, f"{_ESAD}CustomsCost", item.customs_value.amount)
    if item.statistical_value.currency == _STATISTICAL_CURRENCY:
        w.opt(el, f"{_ESAD}StatisticalCost", item.statistical_value.amount)
    extra = item.supplementary_quantity
    if extra.value and extra.unit:
        try:
            unit = EAEU_UNITS.to_national(extra.unit)
        except AdapterError:  # a unit list 2016 lacks: the format cannot hold the quantity
            unit = ""
        if unit:
            q = w.sub(el, f"{_E}SupplementaryGoodsQuantity")
            w.sub(q, f"{_CAT}GoodsQuantity", extra.value)
            w.sub(q, f"{_CAT}MeasureUnitQualifierCode", unit)
    if item.procedure_code or procedure:
        w.sub(w.sub(el, f"{_E}ESADCustomsProcedure"), f"{_ESAD}MainCustomsModeCode", item.procedure_code or procedure)
    for doc in item.documents:
        d = w.sub(el, f"{_E}ESADout_CUPresentedDocument")
        w.opt(d, f"{_CAT}PrDocumentNumber", doc.number)
        w.opt(d, f"{_CAT}PrDocumentDate", doc.date)
        w.sub(d, f"{_ESAD}PresentedDocumentModeCode", doc_kind_code(doc.type))
