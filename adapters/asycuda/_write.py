"""Writing a DeclarationSnapshot as an ASYCUDA World SAD.

The SAD always carries its boxes; ASYCUDA marks an empty one with a
``<null/>`` child rather than leaving the element out, and so does this
writer, so a national import tool sees the layout it expects. Repeated
boxes (``Item``, ``Container``, ``Attached_documents``) appear once per value.

A record from another country's adapter may hold what the SAD has no box for
(lrn-less declarations, amounts in a currency other than the national one):
the writer puts what the SAD can hold and never guesses the rest.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import pycountry
from lxml import etree
from tamga.adapters.asycuda._codes import NATIONAL_CURRENCIES, DeclarationNumber
from tamga.adapters.sdk.codes import ASYCUDA_UNITS
from tamga.adapters.sdk.xml import Element, serialize, sub
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

__all__ = ["write_declaration"]

_KINDS = {
    records_pb2.DIRECTION_IMPORT: ("IM", "I"),
    records_pb2.DIRECTION_EXPORT: ("EX", "E"),
    records_pb2.DIRECTION_TRANSIT: ("TR", "T"),
}


def _put(parent: Element, tag: str, value: str = "") -> Element:
    """A box with its value, or with ``<null/>`` when it is empty."""
    el = sub(parent, tag)
    if not value:
        sub(el, "null")
        return el
    try:
        el.text = value
    except ValueError:  # lxml refuses control characters, which XML 1.0 cannot hold
        raise AdapterError(
            f"{tag} value {value!r} holds characters XML cannot carry (control characters)",
            adapter="asycuda",
            location={"element": tag},
        ) from None
    return el


def _country_name(code: str) -> str:
    found = pycountry.countries.get(alpha_2=code) if len(code) == 2 else None
    return str(found.name) if found is not None else ""


def _declaring_country(decl: records_pb2.DeclarationSnapshot, fallback: str) -> str:
    if decl.direction == records_pb2.DIRECTION_IMPORT:
        return decl.destination_country or fallback
    if decl.direction == records_pb2.DIRECTION_EXPORT:
        return decl.dispatch_country or fallback
    return fallback


def _registration(decl: records_pb2.DeclarationSnapshot) -> tuple[str, str]:
    """Serial and number of the SAD; another country's declaration number
    goes whole into Number."""
    parsed = DeclarationNumber.parse(decl.declaration_no)
    office = decl.customs_office.customs_office_code
    if parsed is not None and parsed.office == office and parsed.year == decl.acceptance_date[:4]:
        return parsed.serial, parsed.number
    return "", decl.declaration_no


def _national_amount(money: common_pb2.Money, currency: str) -> str:
    """An amount for a box kept in the national currency: left empty when the
    record gives it in another currency, as converting it would be a guess."""
    return money.amount if currency and money.currency == currency else ""


def _split_procedure(code: str) -> tuple[str, str]:
    extended, _, national = code.partition(" ")
    return extended, national


def write_declaration(record: records_pb2.Record, *, country: str, national_currency: str) -> bytes:
    """The SAD of one DeclarationSnapshot record, as UTF-8 XML bytes.

    Args:
        record: A record with a ``declaration_snapshot`` body.
        country: Declaring country when the record does not say (the adapter's
            ``country`` option, or "").
        national_currency: Currency of CIF and statistical values, or "" to
            take it from the declaring country.
    """
    decl = record.declaration_snapshot
    declaring = _declaring_country(decl, country)
    currency = national_currency or NATIONAL_CURRENCIES.get(declaring, "")
    kind, flow = _KINDS.get(decl.direction, ("", ""))

    root = etree.Element("ASYCUDA")
    prop = sub(root, "Property")
    _put(prop, "Sad_flow", flow)
    nbers = sub(prop, "Nbers")
    _put(nbers, "Total_number_of_items", str(len(decl.items)))
    _put(nbers, "Total_number_of_packages", str(decl.total_packages.count) if decl.HasField("total_packages") else "")

    ident = sub(root, "Identification")
    office = sub(ident, "Office_segment")
    _put(office, "Customs_clearance_office_code", decl.customs_office.customs_office_code)
    _put(office, "Customs_Clearance_office_name", decl.customs_office.name)
    typ = sub(ident, "Type")
    _put(typ, "Type_of_declaration", kind)
    _put(typ, "Declaration_gen_procedure_code", decl.procedure_code)
    serial, number = _registration(decl)
    reg = sub(ident, "Registration")
    _put(reg, "Serial_number", serial)
    _put(reg, "Number", number)
    _put(reg, "Date", decl.acceptance_date)

    traders = sub(root, "Traders")
    for role, party in (("Exporter", decl.exporter), ("Consignee", decl.consignee)):
        el = sub(traders, role)
        _put(el, f"{role}_code", party.id)
        _put(el, f"{role}_name", party.name)
    declarant = sub(root, "Declarant")
    _put(declarant, "Declarant_code", decl.declarant.id)
    _put(declarant, "Declarant_name", decl.declarant.name)
    _put(declarant, "Declarant_representative")
    _put(sub(declarant, "Reference"), "Number", decl.lrn)

    general = sub(root, "General_information")
    countries = sub(general, "Country")
    _put(countries, "Trading_country", decl.trading_country)
    export = sub(countries, "Export")
    _put(export, "Export_country_code", decl.dispatch_country)
    _put(export, "Export_country_name", _country_name(decl.dispatch_country))
    destination = sub(countries, "Destination")
    _put(destination, "Destination_country_code", decl.destination_country)
    _put(destination, "Destination_country_name", _country_name(decl.destination_country))

    transport = sub(root, "Transport")
    border = sub(sub(transport, "Means_of_transport"), "Border_information")
    _put(border, "Identity", decl.transport_means_id)
    _put(border, "Nationality")
    _put(border, "Mode", decl.transport_mode)
    _put(transport, "Container_flag", "true" if decl.container_ids else "false")
    terms = sub(transport, "Delivery_terms")
    _put(terms, "Code", decl.incoterm)
    _put(terms, "Place")

    valuation = sub(root, "Valuation")
    _put(sub(valuation, "Weight"), "Gross_weight", _kilograms(decl.total_gross_mass))
    invoice = sub(valuation, "Gs_Invoice")
    _put(invoice, "Amount_national_currency")
    _put(invoice, "Amount_foreign_currency", decl.invoice_amount.amount)
    _put(invoice, "Currency_code", decl.invoice_amount.currency)
    _put(invoice, "Currency_rate", decl.exchange_rate)

    for container in decl.container_ids:
        _put(sub(root, "Container"), "Container_identity", container)

    for item in decl.items:
        _item(sub(root, "Item"), item, currency)
    return serialize(root)


def _item(el: Element, item: records_pb2.DeclarationItem, currency: str) -> None:
    packages = sub(el, "Packages")
    _put(packages, "Number_of_packages", str(item.packages.count) if item.HasField("packages") else "")
    _put(packages, "Kind_of_packages_code", item.packages.kind)

    tariff = sub(el, "Tarification")
    hs = sub(tariff, "HScode")
    national = item.commodity.national_code or item.commodity.hs6
    _put(hs, "Commodity_code", national[:8])
    _put(hs, "Precision_1", national[8:])
    extended, national_cpc = _split_procedure(item.procedure_code)
    _put(tariff, "Extended_customs_procedure", extended)
    _put(tariff, "National_customs_procedure", national_cpc)
    unit = sub(tariff, "Supplementary_unit")
    quantity = item.supplementary_quantity
    code = _unit_code(quantity.unit) if quantity.value else ""
    # A unit ASYCUDA has no code for: the quantity is left out with it, since
    # a number without its unit would be read in the tariff's unit.
    _put(unit, "Suppplementary_unit_code", code)
    _put(unit, "Suppplementary_unit_quantity", quantity.value if code else "")

    goods = sub(el, "Goods_description")
    _put(goods, "Country_of_origin_code", item.commodity.origin_country)
    _put(goods, "Description_of_goods", item.commodity.description)

    for doc in item.documents:
        attached = sub(el, "Attached_documents")
        _put(attached, "Attached_document_code", doc.type)
        _put(attached, "Attached_document_reference", doc.number)
        _put(attached, "Attached_document_date", doc.date)

    valuation = sub(el, "Valuation_item")
    weight = sub(valuation, "Weight_itm")
    _put(weight, "Gross_weight_itm", _kilograms(item.gross_mass))
    _put(weight, "Net_weight_itm", _kilograms(item.net_mass))
    _put(valuation, "Total_CIF_itm", _national_amount(item.customs_value, currency))
    _put(valuation, "Statistical_value", _national_amount(item.statistical_value, currency))
    invoice = sub(valuation, "Item_Invoice")
    _put(invoice, "Amount_foreign_currency", item.invoice_amount.amount)
    _put(invoice, "Currency_code", item.invoice_amount.currency)


def _unit_code(unit: str) -> str:
    try:
        return ASYCUDA_UNITS.to_national(unit)
    except AdapterError:
        return ""


#: Kilograms per unit of the masses another adapter may give.
_PER_KILOGRAM = {"KGM": Decimal(1), "TNE": Decimal(1000), "GRM": Decimal("0.001")}


def _kilograms(quantity: common_pb2.Quantity) -> str:
    """A mass in kilograms, ASYCUDA's only mass unit: tonnes and grams are
    converted exactly, in decimal; a mass in another unit is left out rather
    than written as if it were kilograms."""
    if quantity.unit == "KGM" or not quantity.value:
        return quantity.value if quantity.unit == "KGM" else ""
    factor = _PER_KILOGRAM.get(quantity.unit)
    if factor is None:
        return ""
    try:
        kilograms = Decimal(quantity.value) * factor
    except InvalidOperation:
        return ""
    if not kilograms.is_finite() or abs(kilograms.adjusted()) > 30:
        return ""
    return format(kilograms.normalize(), "f")
