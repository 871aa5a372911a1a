"""Reading an ASYCUDA World SAD into a DeclarationSnapshot record.

Each value is checked where it is read, so an error names the element that
holds the bad value (its line and XPath), not the record field it was meant
for. Empty values (``<null/>`` in ASYCUDA) are simply absent from the record.
"""

from __future__ import annotations

from datetime import UTC, datetime

from tamga.adapters.asycuda._codes import (
    DATE,
    DECIMAL,
    INCOTERMS,
    NATIONAL_CURRENCIES,
    TRANSPORT_MODE,
    DeclarationNumber,
)
from tamga.adapters.sdk import BaseAdapter, new_record
from tamga.adapters.sdk.codes import ASYCUDA_UNITS, authority_of, country_alpha2, currency_code
from tamga.adapters.sdk.xml import Element, children, find, local, text, where
from tamga.errors import AdapterError
from tamga.v1 import common_pb2, records_pb2

__all__ = ["SOURCE_FORMAT", "read_declaration"]

SOURCE_FORMAT = "ASYCUDA"

_DIRECTIONS = {"IM": records_pb2.DIRECTION_IMPORT, "EX": records_pb2.DIRECTION_EXPORT}
_MAX_UINT32 = 2**32 - 1


class _Reader:
    """Reads one SAD; holds what every located error needs."""

    def __init__(self, adapter: BaseAdapter, source: str, country: str, national_currency: str) -> None:
        self.adapter = adapter
        self.source = source
        self.country = country
        self.national_currency = national_currency

    # -- located values ---------------------------------------------------------

    def where(self, el: Element) -> dict[str, object]:
        return where(el, self.source)

    def error(self, message: str, el: Element) -> AdapterError:
        return self.adapter.error(message, **self.where(el))

    def required(self, el: Element, *path: str) -> tuple[str, Element]:
        """Text down ``path``, which the SAD must carry, and its element."""
        node = el
        for depth, name in enumerate(path):
            nxt = find(node, name)
            if nxt is None:
                missing = "/".join(path[depth:])
                raise self.error(f"required element {missing} is missing from {local(node)}", node)
            node = nxt
        value = text(node)
        if not value:
            raise self.error(f"required element {'/'.join(path)} is empty", node)
        return value, node

    def optional(self, el: Element | None, *path: str) -> tuple[str, Element | None]:
        node = find(el, *path)
        return (text(node) if node is not None else ""), node

    def decimal(self, el: Element | None, *path: str) -> str:
        """A decimal kept exactly as written ("4500.00" stays "4500.00")."""
        value, node = self.optional(el, *path)
        if value and not DECIMAL.fullmatch(value):
            assert node is not None
            raise self.error(
                f"{local(node)} {value!r} is not a decimal number (digits, optionally a point and more digits)", node
            )
        return value

    def date(self, el: Element, *path: str) -> str:
        value, node = self.required(el, *path)
        return self._check_date(value, node)

    def _check_date(self, value: str, node: Element) -> str:
        try:
            if not DATE.fullmatch(value):
                raise ValueError
            datetime.strptime(value, "%Y-%m-%d")
        except ValueError:
            raise self.error(f"{local(node)} {value!r} is not a date in the form YYYY-MM-DD", node) from None
        return value

    def country_code(self, el: Element | None, *path: str) -> str:
        value, node = self.optional(el, *path)
        if not value:
            return ""
        assert node is not None
        with self.adapter.located(lambda: self.where(node)):
            return country_alpha2(value)

    def count(self, el: Element | None, *path: str) -> int | None:
        value, node = self.optional(el, *path)
        if not value:
            return None
        assert node is not None
        if not value.isascii() or not value.isdigit() or int(value) > _MAX_UINT32:
            raise self.error(f"{local(node)} {value!r} is not a whole number of packages", node)
        return int(value)

    # -- the declaration --------------------------------------------------------

    def read(self, root: Element) -> records_pb2.Record:
        if local(root) != "ASYCUDA":
            raise self.error(f"root element is <{local(root)}>, not <ASYCUDA>: this is not an ASYCUDA SAD", root)
        ident = find(root, "Identification")
        if ident is None:
            raise self.error("required element Identification is missing from ASYCUDA", root)
        office, office_el = self.required(ident, "Office_segment", "Customs_clearance_office_code")
        kind, kind_el = self.required(ident, "Type", "Type_of_declaration")
        if kind not in _DIRECTIONS:
            raise self.error(
                f"Type_of_declaration {kind!r} is not read by this adapter: it reads imports (IM) and exports (EX)",
                kind_el,
            )
        direction = _DIRECTIONS[kind]
        number, number_el = self.required(ident, "Registration", "Number")
        accepted = self.date(ident, "Registration", "Date")
        serial, serial_el = self.optional(ident, "Registration", "Serial_number")
        for value, el in ((office, office_el), (serial, serial_el), (number, number_el)):
            if el is not None and len(value.split()) > 1:
                # The parts are joined with spaces into the declaration number.
                raise self.error(f"{local(el)} {value!r} contains a space", el)
        declaration_no = str(DeclarationNumber(office, accepted[:4], serial, number))

        country = find(root, "General_information", "Country")
        export_country = self.country_code(country, "Export", "Export_country_code")
        destination_country = self.country_code(country, "Destination", "Destination_country_code")
        # The declaring side is the country of this customs service: the
        # destination of an import, the country of export of an export.
        if direction == records_pb2.DIRECTION_IMPORT:
            destination_country = destination_country or self.country
            declaring, own = destination_country, "destination"
            partner, partner_path = export_country, ("Export", "Export_country_code")
        else:
            export_country = export_country or self.country
            declaring, own = export_country, "export"
            partner, partner_path = destination_country, ("Destination", "Destination_country_code")
        if not declaring:
            raise self.error(
                f"the declaring country is unknown: the {own} country of this {kind} declaration is empty and the"
                " adapter has no 'country' option",
                country if country is not None else root,
            )
        if not partner:
            # Raises, naming the element that should hold the partner country.
            self.required(root, "General_information", "Country", *partner_path)
        self.national_currency = self.national_currency or NATIONAL_CURRENCIES.get(declaring, "")

        rec = new_record(
            source_format=SOURCE_FORMAT,
            source_record_ref=declaration_no,
            record_type="declaration_snapshot",
            sender_country=declaring,
            receiver_countries=[partner],
            sender_authority=authority_of(declaring),
            created_at=datetime.strptime(accepted, "%Y-%m-%d").replace(tzinfo=UTC),
        )
        decl = rec.declaration_snapshot
        decl.declaration_no = declaration_no
        decl.direction = direction
        decl.acceptance_date = accepted
        decl.procedure_code, _ = self.optional(ident, "Type", "Declaration_gen_procedure_code")
        decl.dispatch_country = export_country
        decl.destination_country = destination_country
        decl.trading_country = self.country_code(country, "Trading_country")
        decl.customs_office.customs_office_code = office
        decl.customs_office.name, _ = self.optional(ident, "Office_segment", "Customs_Clearance_office_name")
        decl.customs_office.country = declaring

        traders = find(root, "Traders")
        self.party(decl.exporter, find(traders, "Exporter"), "Exporter")
        self.party(decl.consignee, find(traders, "Consignee"), "Consignee")
        declarant = find(root, "Declarant")
        if declarant is None:
            declarant = find(traders, "Declarant")
        self.party(decl.declarant, declarant, "Declarant")
        decl.lrn, _ = self.optional(declarant, "Reference", "Number")

        self.transport(decl, find(root, "Transport"))
        self.valuation(decl, find(root, "Valuation"))
        packages = self.count(root, "Property", "Nbers", "Total_number_of_packages")
        if packages is not None:
            decl.total_packages.count = packages
        for container in children(root, "Container"):
            ident_value, _ = self.optional(container, "Container_identity")
            if ident_value and ident_value not in decl.container_ids:
                decl.container_ids.append(ident_value)

        items = list(children(root, "Item"))
        if not items:
            raise self.error("the declaration has no Item: a SAD declares at least one goods item", root)
        for seq, item in enumerate(items, start=1):
            self.item(decl.items.add(), item, seq, decl.invoice_amount.currency)
        return rec

    def party(self, party: common_pb2.Party, el: Element | None, role: str) -> None:
        code, _ = self.optional(el, f"{role}_code")
        name, _ = self.optional(el, f"{role}_name")
        if code or name:
            party.id = code
            party.name = name

    def transport(self, decl: records_pb2.DeclarationSnapshot, el: Element | None) -> None:
        border = find(el, "Means_of_transport", "Border_information")
        decl.transport_means_id, _ = self.optional(border, "Identity")
        mode, mode_el = self.optional(border, "Mode")
        if mode and not TRANSPORT_MODE.fullmatch(mode):
            assert mode_el is not None
            raise self.error(f"transport Mode {mode!r} is not a one-digit UNECE Rec 19 mode of transport", mode_el)
        decl.transport_mode = mode
        terms, terms_el = self.optional(el, "Delivery_terms", "Code")
        if terms and terms not in INCOTERMS:
            assert terms_el is not None
            raise self.error(f"delivery terms code {terms!r} is not an Incoterm", terms_el)
        decl.incoterm = terms

    def valuation(self, decl: records_pb2.DeclarationSnapshot, el: Element | None) -> None:
        gross = self.decimal(el, "Weight", "Gross_weight")
        if gross:
            decl.total_gross_mass.value = gross
            decl.total_gross_mass.unit = "KGM"
        invoice = find(el, "Gs_Invoice")
        self.money(decl.invoice_amount, invoice, "")
        decl.exchange_rate = self.decimal(invoice, "Currency_rate")

    def money(self, money: common_pb2.Money, invoice: Element | None, fallback_currency: str) -> None:
        """An invoice amount in foreign currency with its currency code; an
        item's invoice without a code is in the declaration's invoice currency."""
        amount = self.decimal(invoice, "Amount_foreign_currency")
        if not amount:
            return
        assert invoice is not None
        code, code_el = self.optional(invoice, "Currency_code")
        if code:
            assert code_el is not None
            with self.adapter.located(lambda: self.where(code_el)):
                money.currency = currency_code(code)
        elif fallback_currency:
            money.currency = fallback_currency
        else:
            raise self.error("Amount_foreign_currency is given without a Currency_code", invoice)
        money.amount = amount

    def national(self, money: common_pb2.Money, el: Element, name: str) -> None:
        """An amount ASYCUDA keeps in the national currency, which it does not name."""
        amount = self.decimal(el, name)
        if not amount:
            return
        if not self.national_currency:
            node = find(el, name)
            assert node is not None
            raise self.error(
                f"{name} is in the national currency, which is not known for this declaring country;"
                " set the adapter option 'national_currency'",
                node,
            )
        money.amount = amount
        money.currency = self.national_currency

    def item(self, out: records_pb2.DeclarationItem, item: Element, seq: int, currency: str) -> None:
        out.seq = seq
        count = self.count(item, "Packages", "Number_of_packages")
        kind, _ = self.optional(item, "Packages", "Kind_of_packages_code")
        if count is not None:
            out.packages.count = count
        if kind:
            out.packages.kind = kind

        tariff = find(item, "Tarification")
        commodity, commodity_el = self.required(item, "Tarification", "HScode", "Commodity_code")
        precision, precision_el = self.optional(tariff, "HScode", "Precision_1")
        if not (commodity.isascii() and commodity.isdigit() and 6 <= len(commodity) <= 10):
            raise self.error(f"Commodity_code {commodity!r} is not an HS code of 6 to 10 digits", commodity_el)
        if precision and not (precision.isascii() and precision.isdigit() and len(precision) <= 4):
            assert precision_el is not None
            raise self.error(f"Precision_1 {precision!r} is not a national extension of up to 4 digits", precision_el)
        out.commodity.hs6 = commodity[:6]
        national = commodity + precision
        out.commodity.national_code = national if len(national) > 6 else ""

        extended, _ = self.optional(tariff, "Extended_customs_procedure")
        national_cpc, national_cpc_el = self.optional(tariff, "National_customs_procedure")
        if national_cpc and not extended:
            assert national_cpc_el is not None
            raise self.error(
                "National_customs_procedure is given without an Extended_customs_procedure", national_cpc_el
            )
        out.procedure_code = f"{extended} {national_cpc}" if national_cpc else extended

        self.supplementary(out, find(tariff, "Supplementary_unit"))

        goods = find(item, "Goods_description")
        out.commodity.origin_country = self.country_code(goods, "Country_of_origin_code")
        out.commodity.description, _ = self.optional(goods, "Description_of_goods")

        for doc in children(item, "Attached_documents"):
            self.document(out, doc)

        valuation = find(item, "Valuation_item")
        gross = self.decimal(valuation, "Weight_itm", "Gross_weight_itm")
        net = self.decimal(valuation, "Weight_itm", "Net_weight_itm")
        if gross:
            out.gross_mass.value, out.gross_mass.unit = gross, "KGM"
        if net:
            out.net_mass.value, out.net_mass.unit = net, "KGM"
        if valuation is not None:
            self.national(out.customs_value, valuation, "Total_CIF_itm")
            self.national(out.statistical_value, valuation, "Statistical_value")
        self.money(out.invoice_amount, find(valuation, "Item_Invoice"), currency)

    def supplementary(self, out: records_pb2.DeclarationItem, unit: Element | None) -> None:
        """The first supplementary unit (ASYCUDA has up to three; the tariff
        rarely asks for more than one)."""
        quantity = self.decimal(unit, "Suppplementary_unit_quantity")
        if not quantity:
            return
        assert unit is not None
        code, code_el = self.optional(unit, "Suppplementary_unit_code")
        if not code:
            raise self.error("Suppplementary_unit_quantity is given without a Suppplementary_unit_code", unit)
        assert code_el is not None
        with self.adapter.located(lambda: self.where(code_el)):
            out.supplementary_quantity.unit = ASYCUDA_UNITS.to_standard(code)
        out.supplementary_quantity.value = quantity

    def document(self, out: records_pb2.DeclarationItem, el: Element) -> None:
        code, _ = self.optional(el, "Attached_document_code")
        reference, _ = self.optional(el, "Attached_document_reference")
        date, date_el = self.optional(el, "Attached_document_date")
        if date:
            assert date_el is not None
            self._check_date(date, date_el)
        if code or reference or date:
            doc = out.documents.add()
            doc.type, doc.number, doc.date = code, reference, date


def read_declaration(
    adapter: BaseAdapter, root: Element, *, source: str, country: str, national_currency: str
) -> records_pb2.Record:
    """The DeclarationSnapshot of one ASYCUDA SAD.

    Args:
        adapter: For the adapter's name on errors.
        root: The ``<ASYCUDA>`` element.
        source: The file's name, for errors.
        country: Declaring country used when the SAD leaves it empty ("" for none).
        national_currency: Currency of CIF and statistical values; "" to take
            it from the declaring country.

    Raises:
        AdapterError: a required element is missing or a value is not valid;
            the location names the element.
    """
    return _Reader(adapter, source, country, national_currency).read(root)
